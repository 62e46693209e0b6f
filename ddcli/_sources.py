"""Data sources: everything ddcli learns from is read as (x, y) chunks through here.

A source knows ``n`` and ``d`` up front and yields ``x`` as float32 (rows x d) and
``y`` as float64 for any row range, so every pass streams with bounded memory.
Readers check each chunk for non-finite values and name the first bad row.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Protocol

import h5py
import numpy as np

from . import _dataset
from ._errors import InvalidFileError, check_positive_int, check_seed
from ._hdf5 import HDF5_SIGNATURE, file_signature, format_attribute, open_untrusted
from ._teacher import Teacher

Chunk = tuple[np.ndarray, np.ndarray]
_TARGET_CHUNK_BYTES = 16 << 20


def default_chunk_rows(d: int) -> int:
    """Rows per chunk: about 16 MB of float32 x, at least 1024 rows."""
    return max(1024, _TARGET_CHUNK_BYTES // (4 * d))


class DataSource(Protocol):
    n: int
    d: int
    description: str
    teacher: Teacher | None

    def chunks(self, start: int = 0, stop: int | None = None, rows: int | None = None) -> Iterator[Chunk]: ...


def _span(source: DataSource, start: int, stop: int | None, rows: int | None) -> tuple[int, int, int]:
    stop = source.n if stop is None else min(stop, source.n)
    return start, stop, rows or default_chunk_rows(source.d)


def _check_finite(path: str, x: np.ndarray, y: np.ndarray, row0: int, x_name: str, y_name: str) -> None:
    for name, values in ((x_name, x), (y_name, y)):
        finite = np.isfinite(values)
        if not finite.all():
            bad = np.flatnonzero(~finite.reshape(values.shape[0], -1).all(axis=1))[0]
            raise InvalidFileError(path, f"dataset '{name}' has a non-finite value (NaN or inf) in row {row0 + int(bad)}")


@dataclass
class TeacherSource:
    """Samples streamed from a teacher; nothing is stored."""

    teacher: Teacher
    n: int
    seed: int = 0

    def __post_init__(self) -> None:
        check_positive_int("n", self.n, 1)
        check_seed("seed", self.seed)

    @property
    def d(self) -> int:
        return self.teacher.d

    @property
    def sample_seed(self) -> int:
        return self.seed

    uuid = None

    @property
    def description(self) -> str:
        t = self.teacher
        return f"teacher stream (link={t.link}, d={t.d}, r={t.r}, task_seed={t.task_seed}, noise={t.noise}, seed={self.seed}, n={self.n})"

    def chunks(self, start: int = 0, stop: int | None = None, rows: int | None = None) -> Iterator[Chunk]:
        start, stop, rows = _span(self, start, stop, rows)
        xs: list[np.ndarray] = []
        ys: list[np.ndarray] = []
        held = 0
        for x, y in self.teacher.samples(self.seed, start, stop):
            xs.append(x)
            ys.append(y)
            held += x.shape[0]
            if held >= rows:
                yield np.concatenate(xs), np.concatenate(ys)
                xs, ys, held = [], [], 0
        if xs:
            yield np.concatenate(xs), np.concatenate(ys)


@dataclass
class HDF5Source:
    """x and y datasets of an HDF5 file: ddcli's dataset format or a foreign file with keys."""

    path: str
    x_key: str
    y_key: str
    n: int
    d: int
    teacher: Teacher | None
    sample_seed: int | None
    description: str
    uuid: str | None = None

    def chunks(self, start: int = 0, stop: int | None = None, rows: int | None = None) -> Iterator[Chunk]:
        start, stop, rows = _span(self, start, stop, rows)
        with open_untrusted(self.path) as fh:
            xs, ys = fh[self.x_key], fh[self.y_key]
            for row in range(start, stop, rows):
                end = min(row + rows, stop)
                try:
                    x = np.asarray(xs[row:end], dtype=np.float32)
                    y = np.asarray(ys[row:end], dtype=np.float64).reshape(-1)
                except (OSError, RuntimeError) as exc:
                    raise InvalidFileError(self.path, f"rows {row}:{end} cannot be read ({exc})") from None
                _check_finite(self.path, x, y, row, self.x_key, self.y_key)
                yield x, y


@dataclass
class NpzSource:
    """Arrays ``x`` and ``y`` of a ``.npz``, streamed from the zip member without loading it."""

    path: str
    n: int
    d: int
    x_key: str = "x"
    y_key: str = "y"
    teacher: Teacher | None = None
    sample_seed = None
    uuid = None

    @property
    def description(self) -> str:
        return f"npz file {self.path}"

    def chunks(self, start: int = 0, stop: int | None = None, rows: int | None = None) -> Iterator[Chunk]:
        start, stop, rows = _span(self, start, stop, rows)
        with zipfile.ZipFile(self.path) as archive:
            with archive.open(self.x_key + ".npy") as xf, archive.open(self.y_key + ".npy") as yf:
                x_dtype = _npy_header(self.path, xf, self.x_key)[1]
                y_dtype = _npy_header(self.path, yf, self.y_key)[1]
                _skip(xf, start * self.d * x_dtype.itemsize)
                _skip(yf, start * y_dtype.itemsize)
                for row in range(start, stop, rows):
                    end = min(row + rows, stop)
                    x = _read_exact(self.path, xf, (end - row) * self.d, x_dtype).reshape(end - row, self.d)
                    y = _read_exact(self.path, yf, end - row, y_dtype)
                    x, y = x.astype(np.float32), y.astype(np.float64)
                    _check_finite(self.path, x, y, row, self.x_key, self.y_key)
                    yield x, y


def _skip(stream, count: int) -> None:
    while count > 0:
        count -= len(stream.read(min(count, 1 << 24)))


def _read_exact(path: str, stream, count: int, dtype: np.dtype) -> np.ndarray:
    data = stream.read(count * dtype.itemsize)
    if len(data) != count * dtype.itemsize:
        raise InvalidFileError(path, "is truncated")
    return np.frombuffer(data, dtype=dtype)


def _npy_header(path: str, stream, key: str) -> tuple[tuple[int, ...], np.dtype]:
    try:
        version = np.lib.format.read_magic(stream)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read_header(stream, max_header_size=10000)
    except (ValueError, OSError) as exc:
        raise InvalidFileError(path, f"array '{key}' has an unreadable .npy header ({exc})") from None
    if dtype.hasobject or dtype.kind not in "fiub":
        raise InvalidFileError(path, f"array '{key}' has dtype {dtype}, expected a numeric dtype (ddcli never unpickles)")
    if fortran and len(shape) > 1:
        raise InvalidFileError(path, f"array '{key}' is in Fortran order; save it C-contiguous")
    return shape, dtype


def _open_npz(path: str, x_key: str, y_key: str) -> NpzSource:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InvalidFileError(path, f"is not a readable .npz file ({exc})") from None
    with archive:
        names = set(archive.namelist())
        shapes = {}
        for key in (x_key, y_key):
            if key + ".npy" not in names:
                have = ", ".join(sorted(n.removesuffix(".npy") for n in names)) or "none"
                raise InvalidFileError(path, f"has no array '{key}' (arrays: {have})")
            with archive.open(key + ".npy") as member:
                shapes[key] = _npy_header(path, member, key)[0]
    return NpzSource(path, *_check_xy_shapes(path, shapes[x_key], shapes[y_key], x_key, y_key), x_key, y_key)


def _check_xy_shapes(path: str, x_shape: tuple, y_shape: tuple, x_key: str, y_key: str) -> tuple[int, int]:
    if len(x_shape) != 2:
        raise InvalidFileError(path, f"'{x_key}' has shape {tuple(x_shape)}, expected (n, d)")
    if len(y_shape) not in (1, 2) or (len(y_shape) == 2 and y_shape[1] != 1):
        raise InvalidFileError(path, f"'{y_key}' has shape {tuple(y_shape)}, expected (n,)")
    n, d = int(x_shape[0]), int(x_shape[1])
    if int(y_shape[0]) != n:
        raise InvalidFileError(path, f"'{x_key}' has {n} rows but '{y_key}' has {int(y_shape[0])}; expected the same length")
    if n < 1 or d < 1:
        raise InvalidFileError(path, f"'{x_key}' is empty (shape {tuple(x_shape)})")
    return n, d


def _open_hdf5(path: str, x_key: str | None, y_key: str | None) -> HDF5Source:
    with open_untrusted(path) as fh:
        fmt = format_attribute(Path(path), fh)
        if fmt == _dataset.FORMAT and x_key is None and y_key is None:
            info = _dataset.read_header(Path(path), fh)
            return HDF5Source(path, "x", "y", info.n, info.d, info.teacher, info.seed, f"dataset {path}", info.uuid)
        if fmt is not None and x_key is None and y_key is None:
            raise InvalidFileError(path, f"is a '{fmt}' file, not a dataset (expected a ddcli dataset, an .npz with x and y, or an HDF5 file with --x-key/--y-key)")
        x_key, y_key = x_key or "x", y_key or "y"
        for key in (x_key, y_key):
            if key not in fh or not isinstance(fh[key], h5py.Dataset):
                raise InvalidFileError(path, f"has no dataset '{key}' (pass --x-key/--y-key to name the arrays)")
        n, d = _check_xy_shapes(path, fh[x_key].shape, fh[y_key].shape, x_key, y_key)
        return HDF5Source(path, x_key, y_key, n, d, None, None, f"HDF5 file {path} ({x_key}, {y_key})")


def open_source(path: str | os.PathLike, x_key: str | None = None, y_key: str | None = None) -> DataSource:
    """Open a data file of any supported kind, detected by its content."""
    path = str(path)
    signature = file_signature(Path(path))
    if not signature:
        raise InvalidFileError(path, "is empty, expected a dataset")
    if signature == HDF5_SIGNATURE:
        return _open_hdf5(path, x_key, y_key)
    if signature.startswith(b"PK"):
        return _open_npz(path, x_key or "x", y_key or "y")
    raise InvalidFileError(path, "is neither HDF5 nor .npz (expected a ddcli dataset, an .npz with x and y, or an HDF5 file)")


def teacher_source(*, d: int, r: int, n: int, link: str = "he2", noise: float = 0.0, task_seed: int = 0, seed: int = 0) -> TeacherSource:
    return TeacherSource(Teacher(d=d, r=r, link=link, task_seed=task_seed, noise=noise), n=n, seed=seed)


