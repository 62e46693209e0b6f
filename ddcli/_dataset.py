"""The ddcli dataset file (format ``ddcli-dataset``), specified in formats/dataset.md."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from ._types import Progress
from ._errors import InvalidFileError, InvalidParameterError
from ._hdf5 import set_attr, atomic_output, open_untrusted, read_array, read_attr, read_format, write_root
from ._teacher import Teacher

FORMAT = "ddcli-dataset"
VERSION = (1, 0)
_CHUNK_BYTES = 1 << 20



@dataclass(frozen=True)
class DatasetInfo:
    path: str
    n: int
    d: int
    teacher: Teacher | None
    seed: int | None
    uuid: str | None = None


def read_header(path: Path, fh: h5py.File) -> DatasetInfo:
    read_format(path, fh, FORMAT, *VERSION)
    for name in ("x", "y"):
        if name not in fh or not isinstance(fh[name], h5py.Dataset):
            raise InvalidFileError(path, f"dataset '/{name}' is missing")
    x_shape, y_shape = fh["x"].shape, fh["y"].shape
    if len(x_shape) != 2 or len(y_shape) != 1 or x_shape[0] != y_shape[0] or x_shape[0] < 1:
        raise InvalidFileError(path, f"'/x' has shape {x_shape} and '/y' {y_shape}; expected (n, d) and (n,)")
    n, d = int(x_shape[0]), int(x_shape[1])
    teacher, seed = None, None
    if "teacher" in fh:
        group = fh["teacher"]
        attrs = {name: read_attr(path, group, name, kind) for name, kind in
                 (("d", int), ("r", int), ("link", str), ("task_seed", int), ("noise", float), ("sample_seed", int))}
        try:
            teacher = Teacher(d=attrs["d"], r=attrs["r"], link=attrs["link"], task_seed=attrs["task_seed"], noise=attrs["noise"])
        except InvalidParameterError as exc:
            raise InvalidFileError(path, f"teacher attribute '{exc.name}' is {exc.value!r}, expected {exc.expected}") from None
        if teacher.d != d:
            raise InvalidFileError(path, f"teacher has d = {teacher.d} but '/x' has {d} columns")
        basis = read_array(path, fh, "teacher/basis", ndim=2)
        if basis.shape != (d, teacher.r) or not np.allclose(basis, teacher.basis, atol=1e-6):
            raise InvalidFileError(path, "'/teacher/basis' does not match the teacher's task_seed")
        seed = attrs["sample_seed"]
    uuid = read_attr(path, fh, "uuid", str) if "uuid" in fh.attrs else None
    return DatasetInfo(str(path), n, d, teacher, seed, uuid)


def write_dataset(source, output: str | os.PathLike, *, force: bool = False, command: str | None = None,
                  progress: Progress | None = None) -> Path:
    """Stream ``source`` into a dataset file, atomically. Returns the final path."""
    n, d = source.n, source.d
    rows_per_chunk = max(1, min(n, _CHUNK_BYTES // (4 * d)))
    with atomic_output(output, force, validate=_validate) as tmp:
        with h5py.File(tmp, "w", libver=("v110", "latest")) as fh:
            write_root(fh, FORMAT, f"{VERSION[0]}.{VERSION[1]}", command)
            set_attr(fh, "n", n)
            set_attr(fh, "d", d)
            xs = fh.create_dataset("x", shape=(n, d), dtype="<f4", chunks=(rows_per_chunk, d))
            ys = fh.create_dataset("y", shape=(n,), dtype="<f4", chunks=(min(n, 1 << 16),))
            teacher = getattr(source, "teacher", None)
            if teacher is not None:
                group = fh.create_group("teacher")
                for key, value in teacher.to_dict().items():
                    set_attr(group, key, value)
                set_attr(group, "sample_seed", source.seed)
                group.create_dataset("basis", data=teacher.basis.astype("<f8"))
            done = 0
            for x, y in source.chunks():
                rows = x.shape[0]
                xs[done : done + rows] = x
                ys[done : done + rows] = y.astype(np.float32)
                done += rows
                if progress:
                    progress("writing samples", done, n)
    return Path(output)


def _validate(path: Path) -> None:
    with open_untrusted(path) as fh:
        read_header(path, fh)


@dataclass(frozen=True)
class GenerateResult:
    output: str
    n: int
    d: int
    r: int
    link: str
    noise: float
    task_seed: int
    seed: int
    file_bytes: int
    seconds: float

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def generate(*, d: int, r: int, n: int, output: str | os.PathLike, link: str = "he2", noise: float = 0.0,
             task_seed: int = 0, seed: int = 0, force: bool = False, command: str | None = None,
             progress: Progress | None = None) -> GenerateResult:
    """Draw ``n`` samples of a multi-index teacher and write them as a dataset file."""
    from ._sources import teacher_source

    start = time.perf_counter()
    source = teacher_source(d=d, r=r, n=n, link=link, noise=noise, task_seed=task_seed, seed=seed)
    path = write_dataset(source, output, force=force, command=command, progress=progress)
    return GenerateResult(str(path), n, d, r, source.teacher.link, float(noise), task_seed, seed,
                          path.stat().st_size, time.perf_counter() - start)
