from __future__ import annotations

import json

import pytest

from .conftest import assert_one_line_error, leftover_files


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A small he2 task: train and test files and a set distilled from the train file."""
    from click.testing import CliRunner

    from ddcli._cli import cli

    folder = tmp_path_factory.mktemp("eval")
    runner = CliRunner()
    for args in (["generate", "--d", "32", "--r", "2", "--n", "4096", "-o", folder / "train.h5"],
                 ["generate", "--d", "32", "--r", "2", "--n", "4096", "--seed", "1", "-o", folder / "test.h5"],
                 ["generate", "--d", "32", "--r", "2", "--n", "1000", "--seed", "1", "--task-seed", "7", "-o", folder / "other.h5"],
                 ["generate", "--d", "16", "--r", "2", "--n", "1000", "-o", folder / "d16.h5"],
                 ["distill", "--data", folder / "train.h5", "--r", "2", "--width", "128", "-o", folder / "set.ddh5"]):
        result = runner.invoke(cli, [str(a) for a in args])
        assert result.exit_code == 0, result.output
    return folder


def _evaluate(ddcli, workspace, *extra):
    return ddcli("evaluate", workspace / "set.ddh5", "--data", workspace / "test.h5", *extra)


def test_json_reports_distilled_full_and_baselines(ddcli, workspace):
    run = _evaluate(ddcli, workspace, "--train", workspace / "train.h5", "--json")
    assert run.code == 0, run
    doc = json.loads(run.stdout)
    assert doc["schema_version"] == 1 and doc["n_test"] == 4096
    distilled, full, baselines = doc["distilled"], doc["full"], doc["baselines"]
    assert len(distilled["nmse_per_init"]) == 4 and distilled["seeds"] == [0, 1, 2, 3]
    assert distilled["nmse_mean"] == pytest.approx(sum(distilled["nmse_per_init"]) / 4)
    assert distilled["nmse_min"] <= distilled["nmse_mean"] <= distilled["nmse_max"] and distilled["nmse_std"] >= 0
    # The claim: the distilled set (a few KB) trains as well as the full data, baselines do not.
    assert distilled["nmse_mean"] <= full["nmse"]
    assert distilled["ratio_to_full"] == pytest.approx(distilled["nmse_mean"] / full["nmse"])
    # Fair baselines: tuned on held-out training rows, they land near the trivial predictor,
    # not at the thousands an untuned 8-row fit gives.
    subset, kcenter = baselines["random_subset"], baselines["kcenter"]
    assert 0.9 <= subset["nmse"] <= 1.6 and len(subset["nmse_per_seed"]) == 3
    assert 0.9 <= baselines["random_features"]["nmse"] <= 1.1
    assert baselines["random_features"]["trained_on_rows"] == 4096
    assert 0.9 <= kcenter["nmse"] <= 2.5  # extreme points: their label mean is biased
    for stats in (subset, kcenter):
        assert stats["trained_on_rows"] == doc["payload_floats"] // 33
        assert stats["tuned_on"] == "1024 held-out training rows"
        assert all(c["ridge"] in (1e-4, 1e-2, 1.0, 1e2, 1e4) and c["linear_part"] in ("fitted", "offset only")
                   for c in stats["chosen"])
    assert doc["test"].endswith("test.h5") and doc["train"].endswith("train.h5")
    assert doc["alignment"] >= 0.95
    assert doc["payload_floats"] == 2 * 32 + 16 * 3 + 128 + 3
    assert baselines["random_subset"]["payload_floats"] == (doc["payload_floats"] // 33) * 33
    assert doc["compression"] == pytest.approx(4096 * 33 / doc["payload_floats"])
    assert doc["warnings"] == []


def test_same_seeds_same_numbers(ddcli, workspace):
    first = json.loads(_evaluate(ddcli, workspace, "--json", "--inits", 2).stdout)
    second = json.loads(_evaluate(ddcli, workspace, "--json", "--inits", 2).stdout)
    assert first["distilled"] == second["distilled"]
    assert first["full"] is None and first["baselines"]["random_subset"]["nmse"] is None
    assert "needs --train" in first["baselines"]["random_subset"]["skipped"]


def test_max_nmse_gate(ddcli, workspace):
    measured = float(_evaluate(ddcli, workspace, "-q", "--inits", 1).stdout)
    above = _evaluate(ddcli, workspace, "--inits", 1, "--max-nmse", measured * 1.01, "-q")
    assert above.code == 0, above
    below = _evaluate(ddcli, workspace, "--inits", 1, "--max-nmse", measured * 0.99, "-q")
    assert below.code == 5, below
    assert "exceeds --max-nmse" in below.stderr


def test_text_table_names_the_winner(ddcli, workspace):
    run = _evaluate(ddcli, workspace, "--train", workspace / "train.h5", "--baselines", "random-features")
    assert run.code == 0, run
    assert "best: distilled" in run.stdout and "random-features" in run.stdout and "full data" in run.stdout
    assert "teacher alignment" in run.stdout


def test_plot_is_written(ddcli, workspace, tmp_path):
    pytest.importorskip("matplotlib")
    run = _evaluate(ddcli, workspace, "--inits", 1, "--plot", "error.png", "-q")
    assert run.code == 0, run
    assert (tmp_path / "error.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    again = _evaluate(ddcli, workspace, "--inits", 1, "--plot", "error.png", "-q")
    assert_one_line_error(again, 2, "exists", "--force")


def test_other_teacher_gives_a_warning_not_a_silent_number(ddcli, workspace):
    run = ddcli("evaluate", workspace / "set.ddh5", "--data", workspace / "other.h5", "--json", "--inits", 1)
    assert run.code == 0, run
    doc = json.loads(run.stdout)
    assert len(doc["warnings"]) == 1 and "task_seed 0 vs 7" in doc["warnings"][0]
    assert "Warning:" in run.stderr and "another teacher" in run.stderr


@pytest.mark.parametrize("args, code, fragments", [
    (["--data", "{w}/d16.h5"], 3, ["d16.h5", "d = 16", "d = 32"]),
    (["--data", "{w}/test.h5", "--inits", "0"], 2, ["'--inits'", ">= 1"]),
    (["--data", "{w}/test.h5", "--train", "{w}/train.h5", "--baselines", "herding"], 2, ["'--baselines'", "'herding'"]),
    (["--data", "{w}/test.h5", "--plot", "missing/plot.png"], 2, ["'--plot'", "does not exist"]),
    (["--data", "{w}/nothing.h5"], 3, ["nothing.h5", "no such file"]),
])
def test_bad_evaluate_input(ddcli, workspace, tmp_path, args, code, fragments):
    run = ddcli("evaluate", workspace / "set.ddh5", *[a.format(w=workspace) for a in args])
    assert_one_line_error(run, code, *fragments)
    assert leftover_files(tmp_path) == []


def test_training_samples_as_test_data_are_flagged(ddcli, workspace):
    run = ddcli("evaluate", workspace / "set.ddh5", "--data", workspace / "train.h5", "--json", "--inits", 1)
    assert run.code == 0, run
    assert any("the file the set was distilled from" in w for w in json.loads(run.stdout)["warnings"])
    run = ddcli("evaluate", workspace / "set.ddh5", "--data", workspace / "test.h5", "--train", workspace / "test.h5",
                "--json", "--inits", 1, "--baselines", "")
    assert run.code == 0, run
    assert any("--train and --data hold the same samples" in w for w in json.loads(run.stdout)["warnings"])
    assert "Warning:" in run.stderr


def test_set_only_options_on_a_model_are_refused(ddcli, workspace, tmp_path):
    assert ddcli("train", "--data", workspace / "train.h5", "-o", "m.h5", "--width", 16, "-q").code == 0
    run = ddcli("evaluate", "m.h5", "--data", workspace / "test.h5", "--plot", "p.png", "--inits", 2)
    assert_one_line_error(run, 2, "--inits, --plot", "model file")
    assert not (tmp_path / "p.png").exists()


def test_constant_test_labels_name_the_file(ddcli, workspace, tmp_path):
    import numpy as np

    np.savez(tmp_path / "flat.npz", x=np.ones((50, 32), dtype=np.float32), y=np.zeros(50))
    run = ddcli("evaluate", workspace / "set.ddh5", "--data", "flat.npz", "--inits", 1)
    assert_one_line_error(run, 3, "flat.npz", "zero variance")


def test_model_file_still_evaluates(ddcli, workspace):
    assert ddcli("train", "--data", workspace / "set.ddh5", "-o", "m.h5", "-q").code == 0
    run = ddcli("evaluate", "m.h5", "--data", workspace / "test.h5", "--json")
    assert run.code == 0, run
    doc = json.loads(run.stdout)
    assert set(doc) >= {"schema_version", "nmse", "n_test"} and doc["nmse"] < 0.15


def test_plot_without_matplotlib_says_how_to_get_it(ddcli, workspace, tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    run = _evaluate(ddcli, workspace, "--inits", 1, "--plot", "error.png", "-q")
    assert_one_line_error(run, 2, "--plot needs matplotlib", "pip install 'ddcli[plot]'")
    assert not (tmp_path / "error.png").exists()
