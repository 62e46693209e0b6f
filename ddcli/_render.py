"""All terminal output of the CLI: progress on stderr, results on stdout, JSON documents."""

from __future__ import annotations

import contextlib
import json
import math
import sys
from typing import Callable, Iterator

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

SCHEMA_VERSION = 1


def stdout_console() -> Console:
    # Piped output is not cut to rich's default 80 columns: tables stay whole in logs.
    return Console(file=sys.stdout, highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 120)


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


def report(document: dict, *, as_json: bool, quiet: bool, headline: str, show: Callable[[dict], None]) -> None:
    """The one way a command prints its result: JSON, the headline alone (-q), or a table."""
    if as_json:
        emit_json(document)
    elif quiet:
        click.echo(headline)
    else:
        show(document)


def error(message: str) -> None:
    stderr_console().print(f"[bold red]Error:[/] {escape(message)}", markup=True, highlight=False)


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
    table = Table(title=escape(title), show_header=False, title_justify="left", box=None, pad_edge=False)
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
    return escape(str(value))


def print_table(table: Table) -> None:
    stdout_console().print(table)


def print_generate(result: dict) -> None:
    print_table(key_value_table(f"wrote {result['output']}", [
        ("samples", result["n"]), ("d", result["d"]), ("r", result["r"]), ("link", result["link"]),
        ("noise", result["noise"]), ("task seed", result["task_seed"]), ("sample seed", result["seed"]),
        ("size", human_bytes(result["file_bytes"])), ("seconds", round(result["seconds"], 2)),
    ]))


def print_model_evaluation(result: dict) -> None:
    print_table(key_value_table(f"model {result['model']}", [
        ("test NMSE", result["nmse"]), ("test samples", result["n_test"]), ("width", result["width"]), ("d", result["d"])]))


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


def _memory_rows(info: dict) -> list[tuple[str, object]]:
    rows = [
        ("payload", f"{info['payload_floats']:,} floats = {human_bytes(info['payload_bytes'])}"),
        ("bound r²d + L", f"{info['bound_floats']:,} floats (payload is {info['payload_to_bound']:.2f}× the bound)"),
    ]
    if info.get("source_floats"):
        rows.append(("source n(d+1)", f"{info['source_floats']:,} floats; compression {info['compression']:,.0f}×"))
    return rows


def print_distill(summary: dict) -> None:
    spectrum = ", ".join(f"{v:.3g}" for v in summary["spectrum"][: summary["r"] + 3])
    rows = [
        ("source", summary["provenance"]["source"]),
        ("r / d", f"{summary['r']} / {summary['d']}"),
        ("stage-1 points m", summary["m"]),
        ("stage-2 points L₂", summary["stage2_points"]),
        *_memory_rows(summary),
        ("file", human_bytes(summary["file_bytes"])),
        ("teacher alignment", "unknown (no teacher)" if summary["alignment"] is None else f"{summary['alignment']:.4f}"),
        ("gradient spectrum", spectrum + ", …"),
        ("method", f"{summary['provenance']['method']} ({summary['method_seconds']:.3g} s)"),
        ("seconds", round(summary["seconds"], 2)),
    ]
    print_table(key_value_table(f"wrote {summary['output']}", rows))


def print_inspect(info: dict) -> None:
    fmt = info["format"]
    rows: list[tuple[str, object]] = [("format", f"{fmt} {info['format_version']}"), ("file size", human_bytes(info["file_bytes"]))]
    if fmt == "ddh5":
        prov = info["provenance"]
        rows += [
            ("r / d", f"{info['r']} / {info['d']}"),
            ("stage-1 points m", info["m"]),
            ("stage-2 points L₂", f"{info['stage2_points']} ({info['stage2_design']} design)"),
            *_memory_rows(info),
            ("basis orthonormality", f"max |BBᵀ − I| = {info['orthonormality_error']:.1e}"),
            ("teacher alignment", "unknown" if info.get("alignment") is None else f"{info['alignment']:.4f}"),
            ("recipe", ", ".join(f"{k}={v}" for k, v in info["recipe"].items())),
            ("source", f"{prov.get('source')} (n = {prov.get('n')})"),
            ("method", f"{prov.get('method')}, {prov.get('inits')} init(s), stage-2 labels {prov.get('stage2_labels')}"),
        ]
    elif fmt == "ddcli-model":
        prov = info["provenance"]
        rows += [
            ("width / d", f"{info['width']} / {info['d']}"),
            ("parameters", f"{info['parameters']:,}"),
            ("recipe", ", ".join(f"{k}={v}" for k, v in info["recipe"].items())),
            ("trained on", f"{prov.get('source')} (n = {prov.get('n')})"),
        ]
    else:
        teacher = info.get("teacher")
        rows += [
            ("samples n / d", f"{info['n']:,} / {info['d']}"),
            ("x chunks", info.get("x_chunks")),
            ("teacher", "unknown" if not teacher else ", ".join(f"{k}={v}" for k, v in teacher.items())),
            ("sample seed", info.get("sample_seed")),
        ]
    rows += [("written by", f"ddcli {info.get('ddcli_version')} at {info.get('created')}"), ("command", info.get("command") or "-"),
             ("uuid", info.get("uuid"))]
    print_table(key_value_table(info["file"], rows))


def print_evaluation(name: str, result: dict) -> None:
    distilled, full = result["distilled"], result["full"]
    table = Table(title=f"{escape(name)}: test NMSE on {result['n_test']:,} samples (1.0 = predicting the mean)", title_justify="left")
    for column in ("method", "trained on", "floats", "bytes", "NMSE", "±std", "/full"):
        table.add_column(column, justify="left" if column in ("method", "trained on") else "right")
    runs = len(distilled["nmse_per_init"])
    rows = [("distilled", f"the set; {runs} inits", distilled["payload_floats"], distilled["nmse_mean"], distilled["nmse_std"])]
    if full:
        rows.append(("full data", f"{full['n']:,} rows", full["payload_floats"], full["nmse"], None))
    skipped = []
    for key, stats in result["baselines"].items():
        label = key.replace("_", "-")
        if stats.get("nmse") is None:
            skipped.append(f"{label} skipped: {stats.get('skipped')}")
            continue
        draws = len(stats["nmse_per_seed"])
        trained = f"{stats['trained_on_rows']:,} rows" + (f" × {draws} draws" if draws > 1 else "")
        rows.append((label, trained, stats["payload_floats"], stats["nmse"], stats.get("nmse_std")))
    best = min(r[3] for r in rows)
    for label, run, floats, value, spread in rows:
        shown = f"{value:.4g}"
        if value == best:
            label, shown = f"[bold green]{label}[/]", f"[bold green]{shown}[/]"
        table.add_row(label, run, f"{floats:,}", human_bytes(4 * floats), shown, "-" if not spread else f"{spread:.2g}",
                      f"{value / full['nmse']:.3g}×" if full else "-")
    console = stdout_console()
    console.print(table)
    winner = min(rows, key=lambda r: r[3])[0]
    lines = [f"best: {winner}"] + skipped
    tuned = [stats["tuned_on"] for stats in result["baselines"].values() if stats.get("tuned_on")]
    if tuned:
        lines.append(f"subset baselines: ridge and linear part chosen on {tuned[0]} (never on the test set)")
    if full:
        ratio = f"distilled / full NMSE = {distilled['ratio_to_full']:.2f}"
        lines.append(ratio + (f" at {result['compression']:,.0f}× less memory" if result.get("compression") else ""))
    if result.get("alignment") is not None:
        lines.append(f"teacher alignment {result['alignment']:.4f}")
    lines.append(f"payload {result['payload_floats']:,} floats vs bound r²d + L = {result['bound_floats']:,}")
    lines += [f"warning: {w}" for w in result.get("warnings", [])]
    for line in lines:
        console.print(line, highlight=False, markup=False)
