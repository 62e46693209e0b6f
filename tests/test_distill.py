from __future__ import annotations

import json

import numpy as np
import pytest

from ddcli._ddh5 import read_ddh5
from ddcli._distill import distill, train_distilled
from ddcli._metrics import nmse
from ddcli._recipe import Recipe, train_on_source
from ddcli._sources import teacher_source

from .conftest import assert_one_line_error, leftover_files

SMALL = dict(d=32, r=2, n=4096)


@pytest.fixture(scope="module")
def small_case():
    train = teacher_source(**SMALL, seed=0)
    test = teacher_source(d=32, r=2, n=4096, seed=1)
    recipe = Recipe(width=128)
    return train, test, recipe, distill(train, r=2, recipe=recipe)


def test_distilled_set_shapes_and_memory(small_case):
    train, _, recipe, result = small_case
    ds = result.distilled
    assert ds.basis.shape == (2, 32) and ds.stage1_coefficients.shape == (16, 2) and ds.stage1_labels.shape == (16,)
    assert ds.stage2_labels.shape == (128,) and ds.stage2_coefficients is None
    np.testing.assert_allclose(ds.basis @ ds.basis.T, np.eye(2), atol=1e-6)
    memory = ds.memory()
    assert memory["payload_floats"] == 2 * 32 + 16 * 3 + 128 + 2 + 1
    assert memory["payload_bytes"] == 4 * memory["payload_floats"]
    assert memory["bound_floats"] == 4 * 32 + 128
    assert memory["source_floats"] == 4096 * 33
    assert memory["compression"] == pytest.approx(4096 * 33 / memory["payload_floats"])
    assert result.alignment == pytest.approx(train.teacher.alignment(ds.basis))


def test_distilled_set_trains_as_well_as_the_full_data(small_case):
    """The claim, at a small size: stored init and 3 fresh inits beat the full-data model."""
    train, test, recipe, result = small_case
    assert result.alignment >= 0.95
    nets = [train_distilled(result.distilled)] + [train_distilled(result.distilled, recipe.with_seed(10 + k)) for k in range(3)]
    full = train_on_source(train, recipe)
    errors, _ = nmse(nets + [full], test)
    distilled, full_error = errors[:4], errors[4]
    assert max(distilled) <= full_error
    assert max(distilled) < 0.12
    # The distilled model lives in the basis: its first layer has no component outside span(B).
    w = nets[1].weights.astype(np.float64)
    outside = w - (w @ result.distilled.basis.T) @ result.distilled.basis
    assert np.abs(outside).max() < 1e-5


def test_gradient_matching_is_within_20_percent_of_closed_form(small_case):
    train, test, recipe, result = small_case
    gm = distill(train, r=2, recipe=recipe, method="gm", gm_steps=600)
    assert gm.distilled.provenance["method"] == "gm"
    nets = [train_distilled(result.distilled), train_distilled(gm.distilled)]
    (closed, matched), _ = nmse(nets, test)
    assert matched <= 1.2 * closed


def test_inits_and_stored_stage2(small_case):
    train, test, recipe, _ = small_case
    result = distill(train, r=2, recipe=recipe, inits=3, store_stage2=True, points=20, stage2_points=64)
    ds = result.distilled
    assert ds.provenance["inits"] == 3 and ds.m == 20 and ds.stage2_coefficients.shape == (64, 2)
    assert ds.memory()["payload_floats"] == 2 * 32 + 20 * 3 + 64 + 64 * 2 + 3
    (error,), _ = nmse([train_distilled(ds, recipe.with_seed(50))], test)
    assert error < 0.2


def test_exact_stage2_labels_reproduce_the_head_at_the_stored_init(small_case):
    """Ridge on the exact labels returns a*, the head fitted on the real stage-2 rows, up to
    the directions the stage-2 points cannot see (the feature matrix there is rank-deficient):
    the two heads predict the same on fresh inputs."""
    from ddcli._recipe import linear_part, ridge_head, split, stage2_statistics

    train, _, recipe, result = small_case
    exact = distill(train, r=2, recipe=recipe, stage2_labels="exact")
    assert exact.distilled.provenance["stage2_labels"] == "exact"
    np.testing.assert_array_equal(exact.distilled.stage1_labels, result.distilled.stage1_labels)
    net = train_distilled(exact.distilled)
    alpha, beta, _ = linear_part(train.chunks, train.n, train.d)
    n1 = split(train.n, recipe.stage1_fraction)
    stats = stage2_statistics(lambda: train.chunks(n1, train.n), train.n - n1, net.weights, net.biases, alpha, beta)["train"]
    target = ridge_head(stats["gram"], stats["rhs"], stats["count"], recipe.ridge)
    x, _ = next(teacher_source(d=32, r=2, n=2000, seed=7).chunks())
    features = np.maximum(x @ net.weights.T + net.biases, 0).astype(np.float64)
    retrained, fitted = features @ net.head, features @ target
    assert np.linalg.norm(retrained - fitted) <= 0.02 * np.linalg.norm(fitted)
    assert np.abs(exact.distilled.stage2_labels - result.distilled.stage2_labels).max() > 1e-3


@pytest.mark.parametrize("link, r, chosen", [("he2", 3, 3), ("chain", 3, 2)])
def test_r_auto_picks_the_gap(link, r, chosen):
    """chain with odd r has E[Hessian] of rank r - 1: the gap is where the signal is."""
    result = distill(teacher_source(d=32, r=r, n=4096, link=link), r="auto", recipe=Recipe(width=128))
    assert result.distilled.r == chosen
    assert result.alignment >= (chosen / r) * 0.9


def test_cli_teacher_stream_equals_generated_file(ddcli, tmp_path):
    args = ["--d", 24, "--n", 4096, "--width", 64, "--r", 2]
    run = ddcli("distill", *args, "-o", "stream.ddh5", "--json")
    assert run.code == 0, run
    doc = json.loads(run.stdout)
    for key in ("schema_version", "output", "payload_floats", "compression", "alignment", "spectrum", "seconds"):
        assert key in doc
    assert doc["output"] == "stream.ddh5" and doc["payload_floats"] == 2 * 24 + 16 * 3 + 64 + 3
    assert doc["alignment"] > 0.9 and len(doc["spectrum"]) >= 3
    assert ddcli("generate", "--d", 24, "--r", 2, "--n", 4096, "-o", "data.h5", "-q").code == 0
    run = ddcli("distill", "--data", "data.h5", "--r", 2, "--width", 64, "-q")
    assert run.code == 0 and run.stdout.strip() == "data.ddh5", run
    a, b = read_ddh5(tmp_path / "stream.ddh5"), read_ddh5(tmp_path / "data.ddh5")
    np.testing.assert_allclose(np.abs(a.basis @ b.basis.T), np.eye(2), atol=1e-3)
    assert b.provenance["alignment"] == pytest.approx(a.provenance["alignment"], abs=1e-3)


def test_cli_train_from_set_stored_and_fresh_init(ddcli, tmp_path):
    assert ddcli("distill", "--d", 24, "--r", 2, "--n", 4096, "--width", 32, "-o", "s.ddh5", "-q").code == 0
    run = ddcli("train", "--data", "s.ddh5", "-o", "m.h5", "--json")
    assert run.code == 0, run
    doc = json.loads(run.stdout)
    assert doc["width"] == 32 and doc["recipe"]["seed"] == 0 and doc["provenance"]["trained_on"] == "ddh5"
    run = ddcli("train", "--data", "s.ddh5", "-o", "m2.h5", "--seed", 9, "--json")
    assert run.code == 0 and json.loads(run.stdout)["recipe"]["seed"] == 9, run
    run = ddcli("train", "--data", "s.ddh5", "-o", "m3.h5", "--width", 64)
    assert_one_line_error(run, 2, "'--width'", "stored in the distilled set")


def test_default_output_name_and_no_overwrite(ddcli, tmp_path):
    args = ["distill", "--d", 16, "--r", 1, "--n", 2048, "--width", 16]
    run = ddcli(*args, "-q")
    assert run.code == 0 and run.stdout.strip() == "he2-d16-r1.ddh5", run
    before = (tmp_path / "he2-d16-r1.ddh5").read_bytes()
    run = ddcli(*args)
    assert_one_line_error(run, 2, "exists", "--force")
    assert (tmp_path / "he2-d16-r1.ddh5").read_bytes() == before


@pytest.mark.parametrize("args, code, fragments", [
    (["--d", "8", "--r", "8"], 2, ["'--r'", "< d = 8"]),
    (["--d", "8", "--r", "0"], 2, ["'--r'", ">= 1"]),
    (["--d", "8", "--r", "two"], 2, ["'--r'", "not an integer or 'auto'"]),
    (["--d", "8", "--r", "auto"], 2, ["--r auto needs --data"]),
    (["--d", "16", "--r", "auto", "--teacher-r", "2", "--link", "0*z0", "--noise", "1"], 2, ["'--r'", "no gap"]),
    (["--d", "8", "--r", "2", "--width", "33"], 2, ["'--width'", "even"]),
    (["--d", "8", "--r", "2", "--points", "1"], 2, ["'--points'", ">= r = 2"]),
    (["--d", "8", "--r", "2", "--inits", "0"], 2, ["'--inits'", ">= 1"]),
    (["--d", "8", "--r", "2", "--teacher-r", "9"], 2, ["'--teacher-r'", "< d = 8"]),
    (["--d", "8", "--r", "5", "--width", "8"], 2, ["'--r'", "at most inits * width / 2 = 4"]),
    (["--data", "data.h5", "--seed", "3"], 2, ["--seed", "--init-seed"]),
    (["--data", "missing.h5"], 3, ["missing.h5", "no such file"]),
    (["--data", "only_x.npz"], 3, ["only_x.npz", "no array 'y'"]),
    (["--data", "data.h5", "--d", "16"], 2, ["--d", "cannot be combined with --data"]),
    (["--data", "data.h5", "--link", "abs", "--seed", "3"], 2, ["--link, --seed", "cannot be combined with --data"]),
])
def test_bad_distill_input(ddcli, tmp_path, args, code, fragments):
    np.savez(tmp_path / "only_x.npz", x=np.zeros((10, 4), dtype=np.float32))
    assert ddcli("generate", "--d", 8, "--r", 2, "--n", 500, "-o", "data.h5", "-q").code == 0
    before = leftover_files(tmp_path)
    run = ddcli("distill", "-o", "out.ddh5", *args, *([] if "--data" in args else ["--n", 2048]))
    assert_one_line_error(run, code, *fragments)
    assert leftover_files(tmp_path) == before


def test_readme_main_job(ddcli, tmp_path):
    """The README's main command, as a user runs it: defaults, d = 512, r = 3."""
    run = ddcli("distill", "--r", 3, "--d", 512, "--json")
    assert run.code == 0, run
    doc = json.loads(run.stdout)
    assert doc["output"] == "he2-d512-r3.ddh5" and (tmp_path / doc["output"]).exists()
    assert doc["r"] == 3 and doc["d"] == 512 and doc["m"] == 36 and doc["stage2_points"] == 1024
    assert doc["payload_floats"] == 3 * 512 + 36 * 4 + 1024 + 4
    assert doc["alignment"] >= 0.9 and doc["compression"] > 10_000
    assert doc["file_bytes"] <= 4 * doc["payload_floats"] + 8192
