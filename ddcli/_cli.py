"""The command line: parse options, call the core, hand results to :mod:`ddcli._render`."""

from __future__ import annotations

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
                    render.error(f"internal error: {type(exc).__name__}: {exc} (run 'ddcli --debug …' or set DDCLI_DEBUG=1 for a traceback)")
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
    render.report(result.to_dict(), as_json=as_json, quiet=quiet, headline=result.output, show=render.print_generate)


def data_options(fn):
    fn = click.option("--y-key", default=None, help="Name of y in a foreign HDF5 file or .npz (default y).")(fn)
    fn = click.option("--x-key", default=None, help="Name of x in a foreign HDF5 file or .npz (default x).")(fn)
    return fn


def device_option(fn):
    return click.option("--device", default="cpu", show_default=True, help="torch device: cpu or cuda.")(fn)


@cli.command()
@click.option("--data", required=True, type=click.Path(),
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
    render.report(summary, as_json=as_json, quiet=quiet, headline=str(path), show=render.print_train)


def _evaluate_model(model, data, x_key, y_key, device, as_json, quiet, max_nmse):
    from ._evaluate import evaluate_model

    with render.progress_reporter(quiet) as progress:
        result = evaluate_model(model, data, x_key=x_key, y_key=y_key, device=device, progress=progress)
    render.report(result.to_dict(), as_json=as_json, quiet=quiet, headline=f"{result.nmse:.6g}",
                  show=render.print_model_evaluation)
    _gate(result.nmse, max_nmse)


def _gate(value: float, max_nmse: float | None) -> None:
    from ._errors import QualityGateError

    if max_nmse is not None and value > max_nmse:
        raise QualityGateError(f"NMSE {value:.4g} exceeds --max-nmse {max_nmse:g}")


class _Rank(click.ParamType):
    name = "INTEGER|auto"

    def convert(self, value, param, ctx):
        if isinstance(value, int) or value == "auto":
            return value
        try:
            return int(value)
        except ValueError:
            self.fail(f"{value!r} is not an integer or 'auto'", param, ctx)


_TEACHER_PARAMS = ("d", "teacher_r", "n", "link", "noise", "task_seed", "seed")


@cli.command()
@click.option("--data", type=click.Path(), default=None,
              help="Real data to distil (dataset, .npz, HDF5). Without it a built-in teacher is streamed.")
@click.option("--r", "r", type=_Rank(), default=3, show_default=True, help="Rank of the distilled basis, or auto (from the spectral gap).")
@click.option("--d", "d", type=int, default=512, show_default=True, help="Teacher: input dimension.")
@click.option("--teacher-r", type=int, default=None, help="Teacher: index dimension. [default: --r]")
@click.option("--n", "n", type=int, default=None, help="Teacher: samples streamed. [default: 256*d]")
@teacher_options
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="The .ddh5 to write. [default: <link>-d<d>-r<r>.ddh5 or <data stem>.ddh5]")
@click.option("--points", type=int, default=None, help="Stage-1 points m. [default: 4 r^2]")
@click.option("--stage2-points", type=int, default=None, help="Stage-2 points L2. [default: the width]")
@click.option("--inits", type=int, default=1, show_default=True, help="Initialisations K whose gradients are matched.")
@click.option("--method", type=click.Choice(["closed-form", "gm"]), default="closed-form", show_default=True,
              help="Stage-1 labels by least squares, or by gradient matching with Adam.")
@click.option("--gm-steps", type=int, default=1000, show_default=True, help="Adam steps of --method gm.")
@click.option("--stage2-labels", type=click.Choice(["predict", "exact"]), default="predict", show_default=True,
              help="Prediction labels (any init), or labels exact for the stored init only.")
@click.option("--store-stage2", is_flag=True, help="Store stage-2 coefficients instead of the format's Halton design.")
@click.option("--width", type=int, default=1024, show_default=True, help="Hidden width L of the recipe.")
@click.option("--init-seed", type=int, default=0, show_default=True, help="Seed of the stored initialisation.")
@click.option("--ridge", type=float, default=1e-4, show_default=True, help="Ridge lambda_2 of the head.")
@click.option("--stage1-fraction", type=float, default=0.5, show_default=True, help="Share of rows for stage 1.")
@data_options
@device_option
@output_options
def distill(data, r, d, teacher_r, n, link, noise, task_seed, seed, output, points, stage2_points, inits, method, gm_steps,
            stage2_labels, store_stage2, width, init_seed, ridge, stage1_fraction, x_key, y_key, device, force, as_json, quiet):
    """Distil data (or a streamed teacher) into a .ddh5: basis, coefficients and labels."""
    from pathlib import Path

    from ._ddh5 import write_ddh5
    from ._distill import distill as run
    from ._errors import UsageError
    from ._hdf5 import check_output_path
    from ._recipe import Recipe
    from ._sources import open_source, teacher_source

    ctx = click.get_current_context()
    if data is not None:
        given = [p for p in _TEACHER_PARAMS if ctx.get_parameter_source(p) not in (click.core.ParameterSource.DEFAULT, None)]
        if given:
            options = ", ".join("--" + p.replace("_", "-") for p in given)
            hint = "; the initialisation seed is --init-seed" if "seed" in given else ""
            raise UsageError(f"teacher option(s) {options} cannot be combined with --data (the data define the task){hint}")
        source = open_source(data, x_key, y_key)
        default_name = Path(data).stem + ".ddh5"
    else:
        if teacher_r is None and r == "auto":
            raise UsageError("--r auto needs --data, or --teacher-r to define the built-in teacher")
        t_r = teacher_r if teacher_r is not None else r
        try:
            source = teacher_source(d=d, r=t_r, n=256 * d if n is None else n, link=link, noise=noise,
                                    task_seed=task_seed, seed=seed)
        except InvalidParameterError as exc:
            if exc.name == "r" and teacher_r is not None:
                exc.name = "teacher_r"
            raise
        name = link if link in ("he2", "chain", "abs") else "custom"
        default_name = f"{name}-d{d}-r{t_r}.ddh5"
    recipe = Recipe(width=width, seed=init_seed, ridge=ridge, stage1_fraction=stage1_fraction).validate()
    output = output or default_name
    check_output_path(output, force)
    with render.progress_reporter(quiet) as progress:
        result = run(source, r=r, points=points, stage2_points=stage2_points, inits=inits, method=method,
                     stage2_labels=stage2_labels, store_stage2=store_stage2, recipe=recipe, gm_steps=gm_steps,
                     device=device, progress=progress)
    path = write_ddh5(result.distilled, output, force=force, command=_command_line())
    summary = {"output": str(path), "file_bytes": path.stat().st_size, **result.summary()}
    render.report(summary, as_json=as_json, quiet=quiet, headline=str(path), show=render.print_distill)


@cli.command()
@click.argument("target", type=click.Path())
@click.option("--data", required=True, type=click.Path(), help="Test data file.")
@click.option("--train", "train_data", type=click.Path(), default=None,
              help="Training data of the set's source: adds the full-data model and the baselines.")
@click.option("--inits", type=int, default=3, show_default=True, help="Fresh initialisations K besides the stored one.")
@click.option("--baselines", default="random-subset,random-features,kcenter", show_default=True,
              help="Comma-separated baselines at the same payload (needs --train); '' for none.")
@click.option("--subset-seeds", type=int, default=3, show_default=True, help="Draws of the random-subset baseline.")
@click.option("--plot", type=click.Path(dir_okay=False), default=None, help="Write a PNG of error against memory.")
@click.option("--force", is_flag=True, help="Overwrite an existing --plot file.")
@click.option("--max-nmse", type=float, default=None, help="Exit 5 when the (mean) test NMSE exceeds this.")
@data_options
@device_option
@reporting_options
def evaluate(target, data, train_data, inits, baselines, subset_seeds, plot, force, max_nmse, x_key, y_key, device,
             as_json, quiet):
    """Measure test NMSE of a model file, or of a distilled .ddh5 against full data and baselines."""
    from ._errors import UsageError
    from ._evaluate import evaluate_set, pyplot, write_plot
    from ._hdf5 import check_output_path
    from ._train import is_ddh5

    if not is_ddh5(target):
        ctx = click.get_current_context()
        set_only = [p for p in ("train_data", "inits", "baselines", "subset_seeds", "plot", "force")
                    if ctx.get_parameter_source(p) not in (click.core.ParameterSource.DEFAULT, None)]
        if set_only:
            options = ", ".join("--" + ("train" if p == "train_data" else p.replace("_", "-")) for p in set_only)
            raise UsageError(f"{options} apply to a distilled .ddh5 set; {target} is a model file")
        _evaluate_model(target, data, x_key, y_key, device, as_json, quiet, max_nmse)
        return
    if plot is not None:
        check_output_path(plot, force, "plot")
        pyplot()
    names = tuple(b.strip() for b in baselines.split(",") if b.strip())
    with render.progress_reporter(quiet) as progress:
        result = evaluate_set(target, data, train=train_data, inits=inits, baselines=names, subset_seeds=subset_seeds,
                              x_key=x_key, y_key=y_key, device=device, progress=progress)
    if plot is not None:
        write_plot(result, plot, force=force)
    document = {"set": str(target), **result.to_dict(), "plot": plot}
    render.report(document, as_json=as_json, quiet=quiet, headline=f"{result.distilled['nmse_mean']:.6g}",
                  show=lambda doc: render.print_evaluation(str(target), doc))
    _gate(result.distilled["nmse_mean"], max_nmse)


@cli.command()
@click.argument("target", type=click.Path())
@click.option("--check", is_flag=True, help="Only validate: exit 0 (valid), 3 (invalid) or 4 (unsupported version).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")
def inspect(target, check, as_json):
    """Show what a .ddh5 (or a dataset or model file) holds and what it costs."""
    from ._inspect import check_file, inspect_file

    if check:
        with render.progress_reporter(as_json) as progress:
            info = check_file(target, progress)
    else:
        info = inspect_file(target)
    if check:
        if as_json:
            render.emit_json({"file": str(target), "valid": True, "format": info["format"],
                              "format_version": info["format_version"]})
        else:
            click.echo(f"{target}: valid {info['format']} {info['format_version']}")
    elif as_json:
        render.emit_json(info)
    else:
        render.print_inspect(info)


def main() -> None:
    cli.main(prog_name="ddcli")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
