"""All terminal output of the CLI: progress on stderr, results on stdout, JSON documents."""

from __future__ import annotations

import contextlib
import json
import math
import sys
from typing import Callable, Iterator

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

SCHEMA_VERSION = 1


def stdout_console() -> Console:
    return Console(file=sys.stdout, highlight=False, soft_wrap=True)


def stderr_console() -> Console:
    return Console(file=sys.stderr, highlight=False, soft_wrap=True)


def emit_json(document: dict) -> None:
    """One JSON document on stdout, written with json.dumps (never through rich markup)."""
    payload = {"schema_version": SCHEMA_VERSION, **document}
    click.echo(json.dumps(_plain(payload), indent=2, allow_nan=False))


def _plain(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        return value.item()
    return value


def error(message: str) -> None:
    stderr_console().print(f"[bold red]Error:[/] {message}", markup=True, highlight=False)


def warning(message: str) -> None:
    click.echo(f"Warning: {message}", err=True)


@contextlib.contextmanager
def progress_reporter(quiet: bool) -> Iterator[Callable[[str, int, int], None] | None]:
    """A ``progress(description, done, total)`` callback drawing rich bars on stderr.

    Yields None (no bars at all) with --quiet or when stderr is not a terminal.
    """
    stream = sys.stderr
    if quiet or not stream.isatty():
        yield None
        return
    bars = Progress(
        TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TimeRemainingColumn(), console=Console(file=stream), transient=False,
    )
    tasks: dict[str, int] = {}

    def update(description: str, done: int, total: int) -> None:
        if description not in tasks:
            tasks[description] = bars.add_task(description, total=total)
        bars.update(tasks[description], completed=done, total=total)

    with bars:
        yield update


def human_bytes(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(count) < 1024 or unit == "TiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} TiB"


def key_value_table(title: str, rows: list[tuple[str, object]]) -> Table:
    table = Table(title=title, show_header=False, title_justify="left", box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for key, value in rows:
        table.add_row(key, _fmt(value))
    return table


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def print_table(table: Table) -> None:
    stdout_console().print(table)


def print_train(summary: dict) -> None:
    recipe, provenance = summary["recipe"], summary["provenance"]
    print_table(key_value_table(f"wrote {summary['output']}", [
        ("trained on", provenance.get("source")),
        ("samples", provenance.get("n")),
        ("stage 1 / stage 2 rows", f"{provenance.get('n_stage1')} / {provenance.get('n_stage2')}"),
        ("width", summary["width"]), ("d", summary["d"]), ("seed", recipe["seed"]), ("ridge", recipe["ridge"]),
        ("feature learning", recipe["feature_learning"]), ("head", recipe["head"]),
        ("seconds", round(summary["seconds"], 2)),
    ]))
