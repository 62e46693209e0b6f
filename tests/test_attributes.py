"""Attributes of untrusted files: only strings and finite numbers, read without crashing."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from .conftest import assert_one_line_error

GOLDEN = Path(__file__).parent / "golden" / "he2-d16-r2.ddh5"


def _copy(tmp_path) -> Path:
    target = tmp_path / "set.ddh5"
    shutil.copy(GOLDEN, target)
    return target


def test_invalid_utf8_strings_are_read_with_replacement(ddcli, tmp_path):
    target = _copy(tmp_path)
    with h5py.File(target, "a") as fh:
        fh["provenance"].attrs.create("note", np.array(b"\xff\xfe", dtype="S2"))
        del fh.attrs["command"]
        fh.attrs.create("command", np.array(b"ddcli \xff", dtype="S7"))
    run = ddcli("inspect", target, "--json")
    assert run.code == 0, run
    assert "\ufffd" in run.stdout or "\\ufffd" in run.stdout
    assert ddcli("inspect", target, "--check").code == 0


@pytest.mark.parametrize("make, fragment", [
    (lambda fh: fh["provenance"].attrs.create("ref", fh["basis"].ref), "attribute 'ref'"),
    (lambda fh: fh["provenance"].attrs.create("pair", np.zeros(2, dtype=[("a", "<f4"), ("b", "<f4")])), "attribute 'pair'"),
    (lambda fh: fh["provenance"].attrs.__setitem__("spectrum", np.array([1.0, np.nan])), "'spectrum'"),
])
def test_unsupported_attribute_types_are_refused(ddcli, tmp_path, make, fragment):
    target = _copy(tmp_path)
    with h5py.File(target, "a") as fh:
        make(fh)
    for args in (("inspect", target, "--json"), ("inspect", target, "--check"), ("train", "--data", target, "-o", "m.h5")):
        run = ddcli(*args)
        assert_one_line_error(run, 3, fragment)
    assert not (tmp_path / "m.h5").exists()
