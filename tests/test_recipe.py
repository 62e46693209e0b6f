from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import torch

from ddcli._arrays import ArraySource
from ddcli._metrics import nmse
from ddcli._model import read_model
from ddcli._recipe import (Recipe, Stage, first_layer, initial_half, linear_part, ridge_head, stage1_gradients,
                           stage2_biases, stage2_statistics, train_on_source)
from ddcli._sources import teacher_source

from .conftest import assert_one_line_error, leftover_files


def _data(n=3000, d=12, r=2, seed=0, link="he2"):
    source = teacher_source(d=d, r=r, n=n, seed=seed, link=link)
    x, y = next(source.chunks(rows=n))
    return source, x.astype(np.float64), y


def test_symmetric_init_is_identically_zero():
    weights_half, head_half = initial_half(8, 5, seed=3)
    np.testing.assert_allclose(np.linalg.norm(weights_half, axis=1), 1.0)
    assert set(np.abs(head_half * 8).round(12)) == {1.0}
    weights = np.concatenate([weights_half, weights_half])
    head = np.concatenate([head_half, -head_half])
    x = np.random.default_rng(0).standard_normal((50, 5))
    np.testing.assert_allclose(np.maximum(x @ weights.T, 0) @ head, 0.0, atol=1e-15)


def test_stage1_gradient_matches_autograd():
    """G = grad_W of (1/2n) sum (f(x) - y~)^2 at the symmetric init, with f0 = 0."""
    source, x, y = _data(n=2000, d=10, r=2)
    alpha, beta, _ = linear_part(lambda: source.chunks(rows=300), source.n, source.d)
    np.testing.assert_allclose(alpha, y.mean(), atol=1e-9)
    np.testing.assert_allclose(beta, (y[:, None] * x).mean(0), atol=1e-6)
    width = 16
    weights_half, head_half = initial_half(width, 10, seed=1)
    moments, count = stage1_gradients(lambda: source.chunks(rows=300), source.n, weights_half, alpha, beta)
    assert count == 2000

    w = torch.tensor(np.concatenate([weights_half, weights_half]), requires_grad=True)
    a = torch.tensor(np.concatenate([head_half, -head_half]))
    xt = torch.tensor(x)
    residual = torch.tensor(y - alpha - x @ beta)
    loss = 0.5 * ((torch.relu(xt @ w.T) @ a - residual) ** 2).mean()
    loss.backward()
    grad = w.grad.numpy()
    expected_half = -head_half[:, None] * moments
    np.testing.assert_allclose(grad[: width // 2], expected_half, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(grad[width // 2 :], -expected_half, rtol=1e-4, atol=1e-7)


def test_first_layer_rows_are_unit_and_antipodal_pairs():
    source, _, _ = _data()
    alpha, beta, _ = linear_part(source.chunks, source.n, source.d)
    recipe = Recipe(width=20, seed=4)
    weights = first_layer(Stage(source.chunks, source.n), source.d, recipe, alpha, beta)
    assert weights.shape == (20, 12) and weights.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(weights, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(weights[10:], -weights[:10])
    skipped = first_layer(Stage(source.chunks, source.n), source.d, Recipe(width=20, seed=4, feature_learning=False), alpha, beta)
    np.testing.assert_array_equal(skipped[10:], skipped[:10])


def test_ridge_head_matches_explicit_features():
    source, x, y = _data(n=1500)
    weights = np.random.default_rng(1).standard_normal((6, 12)).astype(np.float32)
    biases = stage2_biases(6, seed=2)
    alpha, beta = 0.3, np.linspace(-0.1, 0.1, 12)
    stats = stage2_statistics(lambda: source.chunks(rows=400), source.n, weights, biases, alpha, beta)["train"]
    phi = np.maximum(x @ weights.T.astype(np.float64) + biases, 0)
    residual = y - alpha - x @ beta
    np.testing.assert_allclose(stats["gram"], phi.T @ phi, rtol=1e-4)
    head = ridge_head(stats["gram"], stats["rhs"], stats["count"], 1e-3)
    expected = np.linalg.solve(phi.T @ phi / 1500 + 1e-3 * np.eye(6), phi.T @ residual / 1500)
    np.testing.assert_allclose(head, expected, rtol=1e-3)


def test_chunk_size_does_not_change_the_model():
    source = teacher_source(d=16, r=2, n=5000, seed=2)
    recipe = Recipe(width=32)
    one = train_on_source(source, recipe, rows=5000)
    many = train_on_source(source, recipe, rows=777)
    np.testing.assert_allclose(one.weights, many.weights, atol=2e-5)
    np.testing.assert_allclose(one.head, many.head, rtol=1e-3, atol=1e-4)


def test_feature_learning_learns_and_random_features_do_not():
    train = teacher_source(d=32, r=2, n=8192, seed=0)
    test = teacher_source(d=32, r=2, n=4096, seed=1)
    learned = train_on_source(train, Recipe(width=128))
    random = train_on_source(train, Recipe(width=128, feature_learning=False))
    gd = train_on_source(train, Recipe(width=128, head="gd"))
    (e_learned, e_random, e_gd), count = nmse([learned, random, gd], test)
    assert count == 4096
    assert e_learned < 0.1
    assert e_random > 0.85
    assert e_gd < 0.2
    # The learned first layer lies close to the teacher subspace.
    energy = np.mean(np.sum((learned.weights.astype(np.float64) @ train.teacher.basis) ** 2, axis=1))
    assert energy > 0.5


def test_predict_agrees_with_streamed_nmse():
    train = teacher_source(d=16, r=2, n=4000, seed=0)
    test = teacher_source(d=16, r=2, n=1000, seed=1)
    net = train_on_source(train, Recipe(width=32))
    x, y = next(test.chunks(rows=1000))
    direct = np.mean((net.predict(x) - y) ** 2) / np.var(y)
    (streamed,), _ = nmse([net], test)
    assert streamed == pytest.approx(direct, rel=1e-4)


def test_cli_train_and_evaluate(ddcli, small_data, tmp_path):
    _, train, test = small_data
    run = ddcli("train", "--data", train, "-o", "m.h5", "--width", 64, "--json")
    assert run.code == 0, run
    doc = json.loads(run.stdout)
    assert doc["schema_version"] == 1 and doc["output"] == "m.h5" and doc["width"] == 64 and doc["d"] == 32
    assert doc["recipe"]["seed"] == 0 and doc["provenance"]["n"] == 16384 and doc["provenance"]["n_stage1"] == 8192
    run = ddcli("evaluate", "m.h5", "--data", test, "--json")
    assert run.code == 0, run
    doc = json.loads(run.stdout)
    assert doc["schema_version"] == 1 and doc["n_test"] == 4096 and 0 < doc["nmse"] < 0.2
    run = ddcli("train", "--data", train, "-o", "rf.h5", "--width", 64, "--no-feature-learning", "-q")
    assert run.code == 0 and run.stdout.strip() == "rf.h5", run
    run = ddcli("evaluate", "rf.h5", "--data", test, "-q")
    assert run.code == 0 and float(run.stdout) > 0.85, run


def test_same_seeds_identical_model_arrays(ddcli, small_data, tmp_path):
    _, train, _ = small_data
    for name, seed in (("a.h5", 5), ("b.h5", 5), ("c.h5", 6)):
        assert ddcli("train", "--data", train, "-o", name, "--width", 16, "--seed", seed, "-q").code == 0
    a, b, c = (read_model(tmp_path / n) for n in ("a.h5", "b.h5", "c.h5"))
    for name in ("weights", "biases", "head", "beta"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.alpha == b.alpha
    assert np.abs(a.weights - c.weights).max() > 0.1
    with h5py.File(tmp_path / "a.h5") as fh:
        assert fh.attrs["format"].decode() == "ddcli-model"
        assert fh["recipe"].attrs["seed"] == 5 and fh["weights"].shape == (16, 32)


def test_npz_and_foreign_hdf5_sources_train_like_the_dataset(ddcli, small_data, tmp_path):
    _, train, _ = small_data
    with h5py.File(train) as fh:
        x, y = fh["x"][:4000], fh["y"][:4000]
    np.savez(tmp_path / "d.npz", x=x, y=y)
    with h5py.File(tmp_path / "foreign.h5", "w") as fh:
        fh["inputs"] = x
        fh["targets"] = y
    assert ddcli("train", "--data", "d.npz", "-o", "a.h5", "--width", 16, "-q").code == 0
    run = ddcli("train", "--data", "foreign.h5", "--x-key", "inputs", "--y-key", "targets", "-o", "b.h5", "--width", 16, "-q")
    assert run.code == 0, run
    a, b = read_model(tmp_path / "a.h5"), read_model(tmp_path / "b.h5")
    np.testing.assert_array_equal(a.weights, b.weights)
    direct = ArraySource(x, y)
    c = train_on_source(direct, Recipe(width=16))
    np.testing.assert_allclose(a.head, c.head, rtol=1e-6)


@pytest.mark.parametrize("args, fragments", [
    (["--width", "31"], ["'--width'", "even"]),
    (["--width", "1"], ["'--width'", ">= 2"]),
    (["--ridge", "-1"], ["'--ridge'", ">= 0"]),
    (["--stage1-fraction", "0"], ["'--stage1-fraction'", "between 0 and 1"]),
    (["--stage1-fraction", "1.5"], ["'--stage1-fraction'", "between 0 and 1"]),
    (["--device", "tpu"], ["'--device'", "cpu or cuda"]),
    (["--device", "cuda:3"], ["'--device'"]),
])
def test_bad_train_options(ddcli, small_data, tmp_path, args, fragments):
    _, train, _ = small_data
    run = ddcli("train", "--data", train, "-o", "m.h5", *args)
    assert_one_line_error(run, 2, *fragments)
    assert leftover_files(tmp_path) == []


def test_nmse_is_stable_under_a_large_label_offset():
    train = teacher_source(d=16, r=2, n=4000, seed=0)
    test = teacher_source(d=16, r=2, n=3000, seed=1)
    x, y = next(test.chunks(rows=3000))
    net = train_on_source(train, Recipe(width=32))
    (plain,), _ = nmse([net], ArraySource(x, y))
    net.alpha += 1e6
    (shifted,), _ = nmse([net], ArraySource(x, y + 1e6))
    assert shifted == pytest.approx(plain, rel=1e-3)
