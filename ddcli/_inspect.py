"""``inspect``: what a ddcli file holds and what it costs, as plain data."""

from __future__ import annotations

import os
from pathlib import Path

from . import _dataset, _ddh5, _model
from ._errors import InvalidFileError
from ._hdf5 import format_attribute, open_untrusted, read_attributes


def _format_of(path: Path) -> str:
    with open_untrusted(path) as fh:  # raises the precise reason: missing, empty, not HDF5, unsafe
        fmt = format_attribute(path, fh)
    if fmt not in (_ddh5.FORMAT, _dataset.FORMAT, _model.FORMAT):
        shown = f"'{fmt}'" if isinstance(fmt, str) else "no 'format' attribute"
        raise InvalidFileError(path, f"has {shown}; ddcli inspects ddh5, ddcli-dataset and ddcli-model files")
    return fmt


def _root(path: Path) -> dict:
    with open_untrusted(path) as fh:
        attrs = read_attributes(path, fh)
    return {k: v for k, v in attrs.items() if k in ("format_version", "ddcli_version", "created", "uuid", "command")}


def inspect_file(path: str | os.PathLike) -> dict:
    """Validate ``path`` fully and describe it. Raises InvalidFileError / UnsupportedVersionError."""
    path = Path(path)
    fmt = _format_of(path)
    info: dict = {"file": str(path), "format": fmt, "file_bytes": path.stat().st_size}
    if fmt == _ddh5.FORMAT:
        ds = _ddh5.read_ddh5(path)
        info.update(_root(path))
        info.update({"r": ds.r, "d": ds.d, "m": ds.m, "stage2_points": ds.stage2_count, "stage2_design": ds.design,
                     **ds.memory(), "orthonormality_error": _ddh5.orthonormality_error(ds.basis),
                     "alignment": ds.provenance.get("alignment"), "recipe": ds.recipe.to_dict(),
                     "provenance": ds.provenance})
    elif fmt == _model.FORMAT:
        net = _model.read_model(path)
        info.update(_root(path))
        info.update({"width": net.width, "d": net.d, "parameters": net.width * (net.d + 2) + net.d + 1,
                     "recipe": net.recipe.to_dict(), "provenance": net.provenance})
    else:
        with open_untrusted(path) as fh:
            header = _dataset.read_header(path, fh)
            chunks = fh["x"].chunks
        info.update(_root(path))
        info.update({"n": header.n, "d": header.d, "x_chunks": list(chunks) if chunks else None,
                     "teacher": header.teacher.to_dict() if header.teacher else None, "sample_seed": header.seed})
    info["format_version"] = info.get("format_version")
    return info


def check_file(path: str | os.PathLike, progress=None) -> dict:
    """Validate fully: for a dataset that includes streaming every row for non-finite values."""
    info = inspect_file(path)
    if info["format"] == _dataset.FORMAT:
        from ._sources import open_source

        source = open_source(path)
        done = 0
        for x, _ in source.chunks():
            done += x.shape[0]
            if progress:
                progress("checking rows", done, source.n)
    return info
