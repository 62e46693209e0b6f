"""Multi-index teachers y = g(U^T x) + noise, and streaming samples from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterator

import numpy as np

from . import _prng
from ._errors import InvalidParameterError, check_positive_int, check_seed
from ._links import Link, parse_link

# Samples are drawn in fixed blocks so that any row range can be produced without
# drawing the rows before it, and the data never depend on a consumer's chunk size.
SAMPLE_BLOCK_ROWS = 4096


@dataclass(frozen=True)
class Teacher:
    """A multi-index teacher ``(d, r, link, task_seed, noise)``.

    ``basis`` (d x r, orthonormal columns) is U, drawn from ``task_seed`` with the
    counter-based generator of :mod:`ddcli._prng` and orthonormalised by QR.
    """

    d: int
    r: int
    link: str = "he2"
    task_seed: int = 0
    noise: float = 0.0
    _link: Link = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_positive_int("d", self.d, 2)
        check_positive_int("r", self.r, 1)
        if self.r >= self.d:
            raise InvalidParameterError("r", self.r, f"an integer < d = {self.d}")
        check_seed("task_seed", self.task_seed)
        if not np.isfinite(self.noise) or self.noise < 0:
            raise InvalidParameterError("noise", self.noise, "a finite number >= 0")
        object.__setattr__(self, "_link", parse_link(self.link, self.r))

    @cached_property
    def basis(self) -> np.ndarray:
        gaussian = _prng.normal(self.task_seed, _prng.STREAM_TEACHER_BASIS, (self.d, self.r))
        q, upper = np.linalg.qr(gaussian)
        # Fix QR's sign freedom so U does not depend on the LAPACK build.
        return q * np.where(np.diag(upper) < 0, -1.0, 1.0)

    def labels(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        z = (x @ self.basis.astype(x.dtype)).astype(np.float64)
        y = self._link(z)
        finite = np.isfinite(y)
        if not finite.all():
            row = int(np.flatnonzero(~finite)[0])
            raise InvalidParameterError("link", self.link, f"a link that is finite on the samples; it gives {y[row]} "
                                        f"at z = {np.round(z[row], 3).tolist()}")
        if self.noise > 0 and rng is not None:
            y = y + self.noise * rng.standard_normal(y.shape[0])
        return y

    def block(self, seed: int, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Sample block ``index`` (``SAMPLE_BLOCK_ROWS`` rows) of the sample stream ``seed``."""
        x_rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, index, 0])))
        noise_rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, index, 1])))
        x = x_rng.standard_normal((SAMPLE_BLOCK_ROWS, self.d), dtype=np.float32)
        return x, self.labels(x, noise_rng)

    def samples(self, seed: int, start: int, stop: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Rows ``start:stop`` of the sample stream, one block-aligned piece at a time."""
        row = start
        while row < stop:
            index, offset = divmod(row, SAMPLE_BLOCK_ROWS)
            x, y = self.block(seed, index)
            take = min(SAMPLE_BLOCK_ROWS - offset, stop - row)
            yield x[offset : offset + take], y[offset : offset + take]
            row += take

    def alignment(self, basis_rows: np.ndarray) -> float:
        """``||B U||_F^2 / r`` for a basis B with orthonormal rows (1 = same subspace)."""
        overlap = np.asarray(basis_rows, dtype=np.float64) @ self.basis
        return float((overlap**2).sum() / self.r)

    def to_dict(self) -> dict:
        return {"d": self.d, "r": self.r, "link": self.link, "task_seed": self.task_seed, "noise": self.noise}
