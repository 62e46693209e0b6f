"""The .ddh5 format v1.0: one reader, one writer, one validator (formats/ddh5.md)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from ._design import halton_normal
from ._errors import InvalidFileError
from ._hdf5 import atomic_output, create_group, set_attr, digest, open_untrusted, read_array, read_attr, read_format, write_root
from ._model import read_provenance, read_recipe
from ._network import Recipe

FORMAT = "ddh5"
VERSION = (1, 0)
DESIGNS = ("stored", "halton-normal")
ORTHONORMAL_TOLERANCE = 1e-4
MAX_DIMENSION = 1 << 24
HEADER_KEYS = ("ddcli_version", "created", "uuid", "command")


@dataclass
class DistilledSet:
    """A distilled set: inputs are ``coefficients @ basis``, labels are residual labels.

    The linear part (alpha, B beta) is removed from the labels and restored by the model.
    """

    basis: np.ndarray  # (r, d) orthonormal rows
    stage1_coefficients: np.ndarray  # (m, r)
    stage1_labels: np.ndarray  # (m,)
    stage2_labels: np.ndarray  # (L2,)
    stage2_coefficients: np.ndarray | None  # (L2, r), None: defined by the halton-normal design
    alpha: float
    linear: np.ndarray  # (r,) = B beta
    recipe: Recipe
    provenance: dict = field(default_factory=dict)
    # Root attributes of the file it was read from (ddcli_version, created, uuid, command);
    # written back unchanged so that read-then-write reproduces the file. Empty for a new set.
    header: dict = field(default_factory=dict)

    @property
    def r(self) -> int:
        return int(self.basis.shape[0])

    @property
    def d(self) -> int:
        return int(self.basis.shape[1])

    @property
    def m(self) -> int:
        return int(self.stage1_labels.shape[0])

    @property
    def stage2_count(self) -> int:
        return int(self.stage2_labels.shape[0])

    @property
    def design(self) -> str:
        return "halton-normal" if self.stage2_coefficients is None else "stored"

    def stage2_design(self) -> np.ndarray:
        if self.stage2_coefficients is not None:
            return self.stage2_coefficients
        return halton_normal(self.stage2_count, self.r).astype(np.float32)

    def stage1_inputs(self) -> np.ndarray:
        return self.stage1_coefficients.astype(np.float32) @ self.basis.astype(np.float32)

    def stage2_inputs(self) -> np.ndarray:
        return self.stage2_design().astype(np.float32) @ self.basis.astype(np.float32)

    @property
    def beta(self) -> np.ndarray:
        return self.basis.astype(np.float64).T @ self.linear.astype(np.float64)

    def payload(self) -> list[np.ndarray]:
        """The stored arrays, in the order the digest covers them."""
        arrays = [self.basis, self.stage1_coefficients, self.stage1_labels, self.stage2_labels]
        if self.stage2_coefficients is not None:
            arrays.append(self.stage2_coefficients)
        arrays += [np.asarray(self.alpha), self.linear]
        return [np.asarray(a, dtype="<f4") for a in arrays]

    def memory(self) -> dict:
        """Payload floats and bytes, the r^2 d + L bound, and the source size n (d + 1)."""
        payload_floats = int(sum(a.size for a in self.payload()))
        n = self.provenance.get("n")
        source_floats = int(n) * (self.d + 1) if isinstance(n, (int, np.integer)) and n > 0 else None
        bound = self.r**2 * self.d + self.recipe.width
        return {
            "payload_floats": payload_floats,
            "payload_bytes": 4 * payload_floats,
            "bound_floats": bound,
            "payload_to_bound": payload_floats / bound,
            "source_floats": source_floats,
            "compression": source_floats / payload_floats if source_floats else None,
        }


_ATTRIBUTE_KINDS = {"source": str, "source_uuid": str, "sample_seed": int, "n": int, "d": int, "alignment": float, "teacher": str, "method": str,
                    "inits": int, "stage2_labels": str}


def write_ddh5(distilled: DistilledSet, output: str | os.PathLike, *, force: bool = False, command: str | None = None) -> Path:
    """Write atomically: a temporary file beside ``output``, validated by the reader, then renamed."""
    with atomic_output(output, force, validate=read_ddh5) as tmp:
        with h5py.File(tmp, "w", libver=("v110", "latest")) as fh:
            write_root(fh, FORMAT, f"{VERSION[0]}.{VERSION[1]}", command)
            for key, value in distilled.header.items():
                set_attr(fh, key, value)
            payload = distilled.payload()
            set_attr(fh, "digest", digest(payload))
            for group in ("stage1", "stage2", "linear"):
                create_group(fh, group)
            fh.create_dataset("basis", data=payload[0])
            fh.create_dataset("stage1/coefficients", data=payload[1])
            fh.create_dataset("stage1/labels", data=payload[2])
            fh.create_dataset("stage2/labels", data=payload[3])
            set_attr(fh["stage2"], "design", distilled.design)
            if distilled.stage2_coefficients is not None:
                fh.create_dataset("stage2/coefficients", data=payload[4])
            fh.create_dataset("linear/offset", data=payload[-2])
            fh.create_dataset("linear/coefficients", data=payload[-1])
            recipe = create_group(fh, "recipe")
            for key, value in distilled.recipe.to_dict().items():
                set_attr(recipe, key, value)
            provenance = create_group(fh, "provenance")
            for key, value in distilled.provenance.items():
                if value is None:
                    continue
                if isinstance(value, (list, tuple, np.ndarray)):
                    set_attr(provenance, key, np.asarray(value, dtype="<f8"))
                elif isinstance(value, dict):
                    set_attr(provenance, key, json.dumps(value))
                else:
                    set_attr(provenance, key, value)
    return Path(output)


def _shape(path: Path, name: str, array: np.ndarray, expected: tuple[int, ...], why: str) -> None:
    if array.shape != expected:
        raise InvalidFileError(path, f"dataset '/{name}' has shape {array.shape}, expected {expected} ({why})")


def read_ddh5(path: str | os.PathLike) -> DistilledSet:
    """Read and validate a .ddh5 file; every failure names the path and what was expected."""
    path = Path(path)
    with open_untrusted(path) as fh:
        read_format(path, fh, FORMAT, *VERSION)
        basis = read_array(path, fh, "basis", ndim=2)
        r, d = basis.shape
        if not (1 <= r < d <= MAX_DIMENSION):
            raise InvalidFileError(path, f"dataset '/basis' has shape {basis.shape}, expected (r, d) with 1 <= r < d")
        coefficients = read_array(path, fh, "stage1/coefficients", ndim=2)
        m = coefficients.shape[0]
        _shape(path, "stage1/coefficients", coefficients, (m, r), "r from '/basis'")
        labels = read_array(path, fh, "stage1/labels", ndim=1)
        _shape(path, "stage1/labels", labels, (m,), "m from '/stage1/coefficients'")
        stage2_labels = read_array(path, fh, "stage2/labels", ndim=1)
        count = stage2_labels.shape[0]
        design = read_attr(path, fh["stage2"], "design", str)
        if design not in DESIGNS:
            raise InvalidFileError(path, f"stage-2 design {design!r} is unknown, expected one of {', '.join(DESIGNS)}")
        stage2_coefficients = None
        if design == "stored":
            stage2_coefficients = read_array(path, fh, "stage2/coefficients", ndim=2)
            _shape(path, "stage2/coefficients", stage2_coefficients, (count, r), "L2 from '/stage2/labels', r from '/basis'")
        elif "stage2/coefficients" in fh:
            raise InvalidFileError(path, "'/stage2/coefficients' is present but the design is 'halton-normal'")
        offset = read_array(path, fh, "linear/offset", ndim=0)
        linear = read_array(path, fh, "linear/coefficients", ndim=1)
        _shape(path, "linear/coefficients", linear, (r,), "r from '/basis'")
        if m < 1 or count < 1 or max(m, count) > MAX_DIMENSION:
            raise InvalidFileError(path, f"has {m} stage-1 and {count} stage-2 points, expected between 1 and {MAX_DIMENSION}")
        error = orthonormality_error(basis)
        if error > ORTHONORMAL_TOLERANCE:
            raise InvalidFileError(path, f"'/basis' rows are not orthonormal (max |B B^T - I| = {error:.2e} > {ORTHONORMAL_TOLERANCE:g})")
        if "recipe" not in fh:
            raise InvalidFileError(path, "group '/recipe' is missing")
        recipe = read_recipe(path, fh["recipe"])
        provenance = read_provenance(path, fh.get("provenance"))
        for key, kind in _ATTRIBUTE_KINDS.items():
            if key in provenance:
                read_attr(path, fh["provenance"], key, kind)
        _check_provenance(path, provenance, d)
        if isinstance(provenance.get("teacher"), str):
            try:
                provenance["teacher"] = json.loads(provenance["teacher"])
            except ValueError:
                raise InvalidFileError(path, "provenance attribute 'teacher' is not JSON") from None
        distilled = DistilledSet(basis, coefficients, labels, stage2_labels, stage2_coefficients, float(offset), linear,
                                 recipe, provenance)
        if read_attr(path, fh, "digest", str) != digest(distilled.payload()):
            raise InvalidFileError(path, "digest mismatch: the payload was changed or corrupted after writing")
        distilled.header = {key: read_attr(path, fh, key, str) for key in HEADER_KEYS if key in fh.attrs}
        return distilled


def _check_provenance(path: Path, provenance: dict, d: int) -> None:
    def bad(key: str, expected: str) -> InvalidFileError:
        return InvalidFileError(path, f"provenance attribute '{key}' is {provenance[key]!r}, expected {expected}")

    if "inits" in provenance and not 1 <= provenance["inits"] <= MAX_DIMENSION:
        raise bad("inits", "an integer >= 1")
    if "n" in provenance and not provenance["n"] >= 1:
        raise bad("n", "an integer >= 1")
    if "d" in provenance and provenance["d"] != d:
        raise bad("d", f"{d}, the basis' number of columns")
    if "alignment" in provenance and not 0.0 <= provenance["alignment"] <= 1.0 + 1e-6:
        raise bad("alignment", "a number in [0, 1]")


def orthonormality_error(basis: np.ndarray) -> float:
    b = basis.astype(np.float64)
    return float(np.abs(b @ b.T - np.eye(b.shape[0])).max())
