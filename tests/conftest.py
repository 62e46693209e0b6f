from __future__ import annotations

import os

import numpy as np
import pytest
from click.testing import CliRunner

from ddcli._cli import cli


class Run:
    def __init__(self, result):
        self.code = result.exit_code
        self.stdout = result.stdout
        self.stderr = result.stderr
        self.exception = result.exception

    def __repr__(self) -> str:
        return f"Run(code={self.code}, stdout={self.stdout[-400:]!r}, stderr={self.stderr[-400:]!r})"


@pytest.fixture
def ddcli(tmp_path, monkeypatch):
    """Run the CLI in ``tmp_path``; returns exit code, stdout and stderr apart."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def run(*args: str, env: dict | None = None) -> Run:
        return Run(runner.invoke(cli, [str(a) for a in args], env=env, catch_exceptions=True))

    return run


def assert_one_line_error(run: Run, code: int, *fragments: str) -> None:
    """Exit ``code``, nothing on stdout, one 'Error:' line naming each fragment, no traceback."""
    assert run.code == code, run
    assert run.stdout == "", run
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    error_lines = [line for line in lines if line.startswith("Error")]
    assert len(error_lines) == 1, run
    assert "Traceback" not in run.stderr, run
    for fragment in fragments:
        assert fragment in run.stderr, (fragment, run)


def leftover_files(folder) -> list[str]:
    return sorted(os.listdir(folder))


@pytest.fixture(scope="session")
def small_data(tmp_path_factory):
    """A small he2 train/test pair as dataset files: d=32, r=2."""
    from ddcli import generate

    folder = tmp_path_factory.mktemp("data")
    train = generate(d=32, r=2, n=16384, seed=0, output=folder / "train.h5")
    test = generate(d=32, r=2, n=4096, seed=1, output=folder / "test.h5")
    return folder, train.output, test.output


def read_xy(path):
    import h5py

    with h5py.File(path, "r") as fh:
        return np.asarray(fh["x"]), np.asarray(fh["y"])
