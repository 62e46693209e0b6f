"""The README's commands stay true: its CI smoke gate runs as written."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def _block_after(heading: str) -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index(heading):]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line.split("#")[0].strip() for line in block.splitlines() if line.split("#")[0].strip()]


def test_readme_first_screen_shows_setup_main_job_and_tests():
    lines = _block_after("# ddcli")
    assert lines[0].startswith("python3 -m venv .venv") and "pip install -r requirements-cpu.txt" in lines[0]
    assert lines[1] == "ddcli distill --r 3 --d 512"
    assert lines[2] == "python -m pytest -q"
    ci = (README.parent / ".ci" / "run").read_text()
    assert "pip install -r requirements-cpu.txt" in ci and "pip install -e '.[test]'" in ci and "python -m pytest -q" in ci


def test_readme_ci_gate_runs_as_written(ddcli, tmp_path):
    lines = _block_after("## A CI smoke gate")
    assert len(lines) == 3 and "--max-nmse" in lines[-1]
    for line in lines:
        args = shlex.split(line)
        assert args[0] == "ddcli"
        run = ddcli(*args[1:])
        assert run.code == 0, (line, run)
    measured = float(run.stdout)
    gate = float(args[args.index("--max-nmse") + 1])
    assert measured <= gate
    failing = args[1:args.index("--max-nmse") + 1] + [str(measured * 0.9)]
    assert ddcli(*failing).code == 5
