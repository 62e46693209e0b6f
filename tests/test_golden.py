"""Every golden file in tests/golden stays readable: reader, ``inspect`` and the spec rebuild agree."""

from __future__ import annotations

import json
import os
from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from ddcli._cli import cli
from ddcli._ddh5 import read_ddh5
from tests.test_ddh5_spec import assert_matches_reader, rebuild_from_spec, spec_text

GOLDEN = Path(__file__).parent / "golden"
FILES = sorted(GOLDEN.glob("*.ddh5"))
INSPECT_KEYS = ("schema_version", "format", "format_version", "r", "d", "payload_floats", "payload_bytes",
                "file_bytes", "bound_floats", "source_floats")


def _expected(path: Path) -> dict:
    """The inspect figures of ``path``, worked out from the file with h5py and the spec's formulas."""
    with h5py.File(path, "r") as fh:
        r, d = fh["basis"].shape
        m = fh["stage1/labels"].shape[0]
        count = fh["stage2/labels"].shape[0]
        stored = spec_text(fh["stage2"].attrs["design"]) == "stored"
        width = int(fh["recipe"].attrs["width"])
        n = int(fh["provenance"].attrs["n"])
        version = spec_text(fh.attrs["format_version"])
    payload = r * d + m * (r + 1) + count + r + 1 + (count * r if stored else 0)
    return {"schema_version": 1, "format": "ddh5", "format_version": version, "r": r, "d": d,
            "payload_floats": payload, "payload_bytes": 4 * payload, "file_bytes": os.path.getsize(path),
            "bound_floats": r * r * d + width, "source_floats": n * (d + 1)}


def test_golden_files_exist_and_are_documented():
    names = {p.name for p in FILES}
    assert {"he2-d16-r2.ddh5", "he2-d16-r2-stored.ddh5"} <= names
    readme = (GOLDEN / "README.md").read_text(encoding="utf-8")
    for path in FILES:
        with h5py.File(path, "r") as fh:
            command = spec_text(fh.attrs["command"])
            version = spec_text(fh.attrs["ddcli_version"])
        assert command.startswith("ddcli distill ") and f"tests/golden/{path.name}" in command
        assert f"`{command}`" in readme, path.name
        assert version in readme, path.name


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_golden_reads(path):
    ds = read_ddh5(path)
    expected = _expected(path)
    assert (ds.r, ds.d) == (expected["r"], expected["d"])
    assert ds.memory()["payload_floats"] == expected["payload_floats"]
    with h5py.File(path, "r") as fh:
        assert ds.recipe.width == int(fh["recipe"].attrs["width"])
        assert ds.recipe.seed == int(fh["recipe"].attrs["seed"])
        assert ds.header == {key: spec_text(fh.attrs[key]) for key in ("ddcli_version", "created", "uuid", "command")}
        np.testing.assert_array_equal(ds.basis, fh["basis"][()])
    assert ds.design == ("stored" if path.stem.endswith("-stored") else "halton-normal")


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_golden_inspect_json(path):
    result = CliRunner().invoke(cli, ["inspect", str(path), "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    expected = _expected(path)
    for key in INSPECT_KEYS:
        assert key in info, key
        assert info[key] == expected[key], key
    assert info["format_version"] == "1.0"
    assert info["stage2_design"] == ("stored" if path.stem.endswith("-stored") else "halton-normal")


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_golden_inspect_check(path):
    result = CliRunner().invoke(cli, ["inspect", str(path), "--check"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"{path}: valid ddh5 1.0"
    assert result.stderr == ""


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_golden_datasets_are_plain(path):
    seen = []
    with h5py.File(path, "r") as fh:
        def walk(group):
            for name in group:
                link = group.get(name, getlink=True)
                assert isinstance(link, h5py.HardLink), (group.name, name, link)
                obj = group[name]
                if isinstance(obj, h5py.Group):
                    walk(obj)
                else:
                    assert isinstance(obj, h5py.Dataset), obj.name
                    assert not obj.is_virtual and obj.external is None, obj.name
                    assert obj.dtype == np.dtype("<f4") and obj.compression is None, obj.name
                    seen.append(obj.name)
        walk(fh)
    expected = {"/basis", "/stage1/coefficients", "/stage1/labels", "/stage2/labels", "/linear/offset",
                "/linear/coefficients"}
    if path.stem.endswith("-stored"):
        expected.add("/stage2/coefficients")
    assert set(seen) == expected


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_golden_spec_rebuild_matches(path):
    spec = assert_matches_reader(path)
    assert spec["payload_floats"] == _expected(path)["payload_floats"]
    with h5py.File(path, "r") as fh:
        m, d = fh["stage1/labels"].shape[0], fh["basis"].shape[1]
    assert rebuild_from_spec(path)["stage1_inputs"].shape == (m, d)


OTHER_FILES = {"dataset-d8-r2.h5": "ddcli-dataset", "model-he2-d16-r2.h5": "ddcli-model"}


def test_every_golden_h5_is_listed():
    assert {p.name for p in GOLDEN.glob("*.h5")} == set(OTHER_FILES)
    readme = (GOLDEN / "README.md").read_text(encoding="utf-8")
    for name in OTHER_FILES:
        with h5py.File(GOLDEN / name, "r") as fh:
            assert f"`{spec_text(fh.attrs['command'])}`" in readme, name


@pytest.mark.parametrize("name", sorted(OTHER_FILES))
def test_golden_dataset_and_model_files_read(name):
    from ddcli._model import read_model
    from ddcli._sources import open_source

    path = GOLDEN / name
    runner = CliRunner()
    result = runner.invoke(cli, ["inspect", str(path), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["format"] == OTHER_FILES[name] and doc["format_version"] == "1.0"
    assert runner.invoke(cli, ["inspect", str(path), "--check"]).exit_code == 0
    if OTHER_FILES[name] == "ddcli-dataset":
        source = open_source(path)
        x, y = next(source.chunks())
        assert (doc["n"], doc["d"]) == (64, 8) == x.shape
        assert source.teacher.r == 2 and doc["teacher"]["link"] == "he2"
        z = x.astype(np.float64) @ source.teacher.basis
        np.testing.assert_allclose(y, ((z**2 - 1).sum(1)) / 2.0, rtol=1e-5, atol=1e-5)
    else:
        net = read_model(path)
        assert (doc["width"], doc["d"]) == (net.width, net.d) == (32, 16)
        assert net.provenance["trained_on"] == "ddh5"
        np.testing.assert_allclose(np.linalg.norm(net.weights, axis=1), 1.0, rtol=1e-5)
        x = np.random.default_rng(0).standard_normal((5, 16)).astype(np.float32)
        assert np.isfinite(net.predict(x)).all()
