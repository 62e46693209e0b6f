"""Types shared across the core."""

from __future__ import annotations

from typing import Callable

# progress(description, done, total): how the core reports long work; the CLI draws it.
Progress = Callable[[str, int, int], None]
