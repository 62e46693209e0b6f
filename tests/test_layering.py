"""The core never imports the CLI's libraries, and the public API is importable as documented."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import ddcli

PACKAGE = Path(ddcli.__file__).parent
CLI_ONLY = {"_cli.py", "_render.py"}


def test_core_modules_do_not_import_click_or_rich():
    offenders = []
    for module in sorted(PACKAGE.glob("*.py")):
        if module.name in CLI_ONLY:
            continue
        for number, line in enumerate(module.read_text().splitlines(), 1):
            if re.match(r"\s*(import|from)\s+(click|rich)\b", line) or re.match(r"\s*from\s+\.(_cli|_render)\b", line):
                offenders.append(f"{module.name}:{number}: {line.strip()}")
    assert offenders == []


def test_public_api_names_resolve():
    for name in ddcli.__all__:
        assert getattr(ddcli, name) is not None, name
    from ddcli import distill, evaluate, read_ddh5, train  # the names CONVENTIONS.md promises

    assert callable(distill) and callable(evaluate) and callable(read_ddh5) and callable(train)


def test_import_is_light():
    code = "import sys, ddcli; print(sorted(m for m in ('torch', 'click', 'rich', 'h5py') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
