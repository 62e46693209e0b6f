from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from ddcli import Teacher, generate, open_source, teacher_source
from ddcli._teacher import SAMPLE_BLOCK_ROWS

from .conftest import assert_one_line_error, leftover_files, read_xy


def test_same_seed_same_arrays_other_seed_same_teacher(ddcli, tmp_path):
    for name, seed in (("a.h5", 1), ("b.h5", 1), ("c.h5", 2)):
        run = ddcli("generate", "--d", 64, "--r", 2, "--n", 5000, "--seed", seed, "-o", name, "-q")
        assert run.code == 0, run
        assert run.stdout.strip() == name
    xa, ya = read_xy(tmp_path / "a.h5")
    xb, yb = read_xy(tmp_path / "b.h5")
    xc, yc = read_xy(tmp_path / "c.h5")
    assert xa.shape == (5000, 64) and xa.dtype == np.float32 and ya.shape == (5000,) and ya.dtype == np.float32
    np.testing.assert_array_equal(xa, xb)
    np.testing.assert_array_equal(ya, yb)
    assert np.abs(xa - xc).max() > 1.0
    with h5py.File(tmp_path / "a.h5") as fa, h5py.File(tmp_path / "c.h5") as fc:
        np.testing.assert_array_equal(fa["teacher/basis"][()], fc["teacher/basis"][()])
        assert fa.attrs["format"].decode() == "ddcli-dataset" and fa.attrs["format_version"].decode() == "1.0"
        assert fa["teacher"].attrs["sample_seed"] == 1 and fc["teacher"].attrs["sample_seed"] == 2
        assert fa["x"].chunks is not None


def test_other_task_seed_gives_other_teacher():
    u0 = Teacher(d=32, r=3, task_seed=0).basis
    u1 = Teacher(d=32, r=3, task_seed=1).basis
    np.testing.assert_allclose(u0.T @ u0, np.eye(3), atol=1e-12)
    assert np.abs(u0 - u1).max() > 0.1


def test_json_document(ddcli):
    run = ddcli("generate", "--d", 16, "--r", 1, "--n", 100, "--link", "abs", "-o", "d.h5", "--json")
    assert run.code == 0, run
    doc = json.loads(run.stdout)
    assert doc["schema_version"] == 1
    assert (doc["output"], doc["n"], doc["d"], doc["r"], doc["link"]) == ("d.h5", 100, 16, 1, "abs")


def test_he2_statistics_recover_the_teacher(tmp_path):
    """mean(y) ~ 0, and the top-r eigenvectors of mean(y (x x^T - I)) span U."""
    result = generate(d=32, r=3, n=20000, seed=3, output=tmp_path / "s.h5")
    x, y = read_xy(result.output)
    x, y = x.astype(np.float64), y.astype(np.float64)
    assert abs(y.mean()) < 0.05
    assert y.var() == pytest.approx(1.0, rel=0.1)  # he2 is normalised to unit variance
    moment = (x * y[:, None]).T @ x / len(y) - y.mean() * np.eye(32)
    eigenvalues, vectors = np.linalg.eigh(moment)
    top = vectors[:, np.argsort(-np.abs(eigenvalues))[:3]]
    with h5py.File(result.output) as fh:
        u = fh["teacher/basis"][()]
    alignment = np.sum((u.T @ top) ** 2) / 3
    assert alignment >= 0.9


@pytest.mark.parametrize("link, expected", [
    ("chain", lambda z: z[:, 0] * z[:, 1] + z[:, 1] * z[:, 2]),
    ("abs", lambda z: np.abs(z).sum(1) - 3 * np.sqrt(2 / np.pi)),
    ("tanh(z0**2 - 1) + z1*z2", lambda z: np.tanh(z[:, 0] ** 2 - 1) + z[:, 1] * z[:, 2]),
    ("he3(z0)/sqrt(6) - 2*relu(-z2)", lambda z: (z[:, 0] ** 3 - 3 * z[:, 0]) / np.sqrt(6) - 2 * np.maximum(-z[:, 2], 0)),
])
def test_labels_follow_the_link(link, expected):
    source = teacher_source(d=20, r=3, n=300, link=link, seed=5)
    x, y = next(source.chunks())
    z = x.astype(np.float64) @ source.teacher.basis
    np.testing.assert_allclose(y, expected(z), rtol=1e-4, atol=1e-4)


def test_noise_has_the_requested_scale():
    clean = np.concatenate([y for _, y in teacher_source(d=8, r=2, n=20000, seed=0).chunks()])
    noisy = np.concatenate([y for _, y in teacher_source(d=8, r=2, n=20000, seed=0, noise=0.5).chunks()])
    assert np.std(noisy - clean) == pytest.approx(0.5, rel=0.03)


def test_rows_do_not_depend_on_chunking():
    source = teacher_source(d=8, r=2, n=3 * SAMPLE_BLOCK_ROWS + 5, seed=9)
    whole = np.concatenate([x for x, _ in source.chunks(rows=10**6)])
    pieces = np.concatenate([x for x, _ in source.chunks(rows=1000)])
    middle = np.concatenate([x for x, _ in source.chunks(4000, 9000, rows=777)])
    np.testing.assert_array_equal(whole, pieces)
    np.testing.assert_array_equal(whole[4000:9000], middle)


def test_file_source_streams_the_same_rows(tmp_path):
    result = generate(d=16, r=2, n=10000, seed=4, output=tmp_path / "f.h5")
    src = open_source(result.output)
    assert (src.n, src.d) == (10000, 16) and src.teacher is not None and src.teacher.r == 2
    x_file = np.concatenate([x for x, _ in src.chunks(rows=3000)])
    x_stream = np.concatenate([x for x, _ in teacher_source(d=16, r=2, n=10000, seed=4).chunks()])
    np.testing.assert_array_equal(x_file, x_stream)


@pytest.mark.parametrize("args, fragments", [
    (["--r", "0"], ["'--r'", "0", ">= 1"]),
    (["--d", "8", "--r", "9"], ["'--r'", "9", "< d = 8"]),
    (["--r", "8", "--d", "8"], ["'--r'", "< d = 8"]),
    (["--n", "0"], ["'--n'", ">= 1"]),
    (["--noise", "-1"], ["'--noise'", ">= 0"]),
    (["--link", "quadratic"], ["'--link'", "'quadratic' is not a built-in link"]),
    (["--r", "3", "--link", "z5 + z0"], ["'--link'", "'z5' does not exist when r = 3"]),
    (["--link", "z0.real"], ["'--link'", "attribute access"]),
    (["--link", "__import__('os').system('true')"], ["'--link'", "not allowed"]),
    (["--link", "__import__"], ["'--link'"]),
    (["--link", "open(z0)"], ["'--link'", "function 'open' is not allowed"]),
    (["--link", "[z0][0]"], ["'--link'", "not allowed"]),
    (["--link", "lambda: 1"], ["'--link'", "not allowed"]),
    (["--link", "z0 +"], ["'--link'", "syntax error"]),
    (["--link", "'text'"], ["'--link'", "not a number"]),
    (["--link", "1/0"], ["'--link'", "finite on the samples"]),
    (["--link", "z0**1e9"], ["'--link'", "finite on the samples"]),
    (["--link", "-" * 3000 + "z0"], ["'--link'", "longer than 1000"]),
    (["--link", "-" * 990 + "z0"], ["'--link'"]),
])
def test_bad_options_exit_2_with_one_line_and_no_file(ddcli, tmp_path, args, fragments):
    run = ddcli("generate", "--n", 50, "--d", 16, *args, "-o", "out.h5")
    assert_one_line_error(run, 2, *fragments)
    assert leftover_files(tmp_path) == []


def test_existing_output_is_kept_without_force(ddcli, tmp_path):
    target = tmp_path / "keep.h5"
    target.write_bytes(b"precious")
    run = ddcli("generate", "--d", 8, "--r", 1, "--n", 10, "-o", "keep.h5")
    assert_one_line_error(run, 2, "keep.h5 exists", "--force")
    assert target.read_bytes() == b"precious"
    run = ddcli("generate", "--d", 8, "--r", 1, "--n", 10, "-o", "keep.h5", "--force", "-q")
    assert run.code == 0, run
    assert target.read_bytes()[:8] == b"\x89HDF\r\n\x1a\n"
    assert leftover_files(tmp_path) == ["keep.h5"]


def test_output_in_missing_folder(ddcli, tmp_path):
    run = ddcli("generate", "--d", 8, "--r", 1, "--n", 10, "-o", "nowhere/x.h5")
    assert_one_line_error(run, 2, "'--output'", "does not exist")


def test_version_and_env_prefix(ddcli, tmp_path):
    from ddcli import __version__

    run = ddcli("--version")
    assert run.code == 0 and __version__ in run.stdout
    run = ddcli("generate", "--d", 8, "--r", 1, "-o", "e.h5", "--json", env={"DDCLI_GENERATE_N": "123"})
    assert run.code == 0, run
    assert json.loads(run.stdout)["n"] == 123
