"""The command line: parse options, call the core, hand results to :mod:`ddcli._render`."""

from __future__ import annotations

import functools
import shlex
import sys
import traceback
import warnings

import click

from . import _render as render
from ._errors import DdcliError, ExitCode, InvalidParameterError
from ._version import __version__


class _Group(click.Group):
    """Turns ddcli's errors into one line and an exit code; shows warnings on stderr."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["ddcli.command"] = "ddcli " + " ".join(shlex.quote(a) for a in args)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context):
        debug = False

        def show(message, category, filename, lineno, file=None, line=None):
            render.warning(str(message))

        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.showwarning = show
            try:
                debug = bool(ctx.params.get("debug"))
                return super().invoke(ctx)
            except DdcliError as exc:
                if debug:
                    traceback.print_exc()
                message = exc.cli_message() if isinstance(exc, InvalidParameterError) else str(exc)
                render.error(message)
                ctx.exit(int(exc.exit_code))
            except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
                raise
            except KeyboardInterrupt:
                render.error("interrupted; no output file was written")
                ctx.exit(130)
            except Exception as exc:  # noqa: BLE001 - the one place that catches everything
                if debug:
                    traceback.print_exc()
                    render.error(f"internal error: {type(exc).__name__}: {exc}")
                else:
                    render.error(f"internal error: {type(exc).__name__}: {exc} (run with --debug for a traceback)")
                ctx.exit(int(ExitCode.INTERNAL))


@click.group(cls=_Group, context_settings={"auto_envvar_prefix": "DDCLI", "help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="ddcli")
@click.option("-v", "--debug", is_flag=True, help="Show tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Distil multi-index regression data into tiny .ddh5 sets that train a two-layer network.

    \b
    Exit codes: 0 ok, 1 internal error, 2 usage error, 3 invalid or unsafe input file,
    4 unsupported format version, 5 quality gate failed.
    Every option can also be set as DDCLI_<COMMAND>_<OPTION>, e.g. DDCLI_DISTILL_WIDTH=512.
    """
    ctx.ensure_object(dict)


def output_options(fn):
    """--json, -q/--quiet and --force, shared by every command that writes a file."""
    fn = click.option("--force", is_flag=True, help="Overwrite an existing output file.")(fn)
    return reporting_options(fn)


def reporting_options(fn):
    fn = click.option("-q", "--quiet", is_flag=True, help="No progress; print only the output path (or headline).")(fn)
    fn = click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")(fn)
    return fn


def _command_line() -> str:
    ctx = click.get_current_context()
    return ctx.find_root().meta.get("ddcli.command", "ddcli")


def teacher_options(fn):
    fn = click.option("--seed", type=int, default=0, show_default=True, help="Sample seed (which samples are drawn).")(fn)
    fn = click.option("--task-seed", type=int, default=0, show_default=True, help="Teacher seed (defines U).")(fn)
    fn = click.option("--noise", type=float, default=0.0, show_default=True, help="Label noise standard deviation.")(fn)
    fn = click.option("--link", default="he2", show_default=True,
                      help="he2, chain, abs, or an expression over z0..z{r-1}, e.g. 'tanh(z0**2-1)+z1*z2'.")(fn)
    return fn


@cli.command()
@click.option("--d", "d", type=int, default=512, show_default=True, help="Input dimension.")
@click.option("--r", "r", type=int, default=3, show_default=True, help="Index-subspace dimension.")
@click.option("--n", "n", type=int, default=131072, show_default=True, help="Number of samples.")
@teacher_options
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Dataset file to write (.h5).")
@output_options
def generate(d, r, n, link, noise, task_seed, seed, output, force, as_json, quiet):
    """Write a dataset drawn from a multi-index teacher y = g(U^T x) + noise."""
    from ._dataset import generate as run

    with render.progress_reporter(quiet) as progress:
        result = run(d=d, r=r, n=n, link=link, noise=noise, task_seed=task_seed, seed=seed, output=output,
                     force=force, command=_command_line(), progress=progress)
    if as_json:
        render.emit_json(result.to_dict())
    elif quiet:
        click.echo(result.output)
    else:
        render.print_table(render.key_value_table(f"wrote {result.output}", [
            ("samples", result.n), ("d", result.d), ("r", result.r), ("link", result.link), ("noise", result.noise),
            ("task seed", result.task_seed), ("sample seed", result.seed), ("size", render.human_bytes(result.file_bytes)),
            ("seconds", round(result.seconds, 2)),
        ]))


def data_options(fn):
    fn = click.option("--y-key", default=None, help="Name of y in a foreign HDF5 file or .npz (default y).")(fn)
    fn = click.option("--x-key", default=None, help="Name of x in a foreign HDF5 file or .npz (default x).")(fn)
    return fn


def device_option(fn):
    return click.option("--device", default="cpu", show_default=True, help="torch device: cpu or cuda.")(fn)


@cli.command()
@click.option("--data", required=True, type=click.Path(dir_okay=False),
              help="Training data: a ddcli dataset, an .npz with x and y, a foreign HDF5 file, or a .ddh5 set.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Model file to write (.h5).")
@click.option("--width", type=int, default=None, help="Hidden width L (even). [default: 1024, or the set's]")
@click.option("--seed", type=int, default=None, help="Initialisation seed. [default: 0, or the set's stored init]")
@click.option("--ridge", type=float, default=None, help="Ridge lambda_2 of the head. [default: 1e-4, or the set's]")
@click.option("--stage1-fraction", type=float, default=None, help="Share of rows for stage 1. [default: 0.5]")
@click.option("--no-feature-learning", is_flag=True, help="Skip stage 1 (random-features baseline).")
@click.option("--head", type=click.Choice(["ridge", "gd"]), default=None, help="Closed-form ridge or early-stopped GD. [default: ridge]")
@data_options
@device_option
@output_options
def train(data, output, width, seed, ridge, stage1_fraction, no_feature_learning, head, x_key, y_key, device, force, as_json, quiet):
    """Train the two-layer recipe on data or on a distilled set, and write the model."""
    from ._hdf5 import check_output_path
    from ._model import write_model
    from ._train import train as run

    check_output_path(output, force)
    with render.progress_reporter(quiet) as progress:
        result = run(data, width=width, seed=seed, ridge=ridge, stage1_fraction=stage1_fraction,
                     feature_learning=False if no_feature_learning else None, head=head, x_key=x_key, y_key=y_key,
                     device=device, progress=progress)
    path = write_model(result.network, output, force=force, command=_command_line())
    summary = {"output": str(path), **result.summary()}
    if as_json:
        render.emit_json(summary)
    elif quiet:
        click.echo(str(path))
    else:
        render.print_train(summary)


def _evaluate_model(model, data, x_key, y_key, device, as_json, quiet, max_nmse):
    from ._evaluate import evaluate_model

    with render.progress_reporter(quiet) as progress:
        result = evaluate_model(model, data, x_key=x_key, y_key=y_key, device=device, progress=progress)
    if as_json:
        render.emit_json(result.to_dict())
    elif quiet:
        click.echo(f"{result.nmse:.6g}")
    else:
        render.print_table(render.key_value_table(f"model {model} on {data}", [
            ("test NMSE", result.nmse), ("test samples", result.n_test), ("width", result.width), ("d", result.d)]))
    _gate(result.nmse, max_nmse)


def _gate(value: float, max_nmse: float | None) -> None:
    from ._errors import QualityGateError

    if max_nmse is not None and value > max_nmse:
        raise QualityGateError(f"NMSE {value:.4g} exceeds --max-nmse {max_nmse:g}")


@cli.command()
@click.argument("target", type=click.Path(dir_okay=False))
@click.option("--data", required=True, type=click.Path(dir_okay=False), help="Test data file.")
@click.option("--max-nmse", type=float, default=None, help="Exit 5 when the (mean) test NMSE exceeds this.")
@data_options
@device_option
@reporting_options
def evaluate(target, data, max_nmse, x_key, y_key, device, as_json, quiet):
    """Measure test NMSE of a model file (or of a distilled .ddh5 set)."""
    _evaluate_model(target, data, x_key, y_key, device, as_json, quiet, max_nmse)


def main() -> None:
    cli.main(prog_name="ddcli")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
