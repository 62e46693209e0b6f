"""``evaluate``: test error of a model, or of a distilled set against full data and baselines."""

from __future__ import annotations

import json
import os
import time
import warnings
from dataclasses import dataclass, replace

import numpy as np

from . import _prng
from ._arrays import ArraySource
from ._ddh5 import DistilledSet, read_ddh5
from ._distill import train_distilled
from ._errors import InvalidFileError, InvalidParameterError, UsageError, check_positive_int
from ._metrics import nmse
from ._model import read_model
from ._recipe import linear_part, train_on_source
from ._sources import DataSource, open_source
from ._train import is_ddh5


@dataclass(frozen=True)
class ModelEvaluation:
    model: str
    nmse: float
    n_test: int
    width: int
    d: int

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _open(data, x_key=None, y_key=None) -> DataSource:
    return data if not isinstance(data, (str, os.PathLike)) else open_source(data, x_key, y_key)


def evaluate_model(model: str | os.PathLike, data, *, x_key: str | None = None, y_key: str | None = None,
                   device: str = "cpu", progress=None) -> ModelEvaluation:
    net = read_model(model)
    source = _open(data, x_key, y_key)
    if source.d != net.d:
        raise InvalidFileError(getattr(source, "path", data), f"has d = {source.d} but the model expects d = {net.d}")
    (value,), count = nmse([net], source, device=device, progress=progress)
    return ModelEvaluation(str(model), value, count, net.width, net.d)


# ---------------------------------------------------------------- distilled sets
BASELINES = ("random-subset", "random-features", "kcenter")
KCENTER_POOL = 8192


class DataWarning(UserWarning):
    """The test data are from another teacher, or overlap the training data."""


@dataclass
class SetEvaluation:
    distilled: dict
    full: dict | None
    baselines: dict
    alignment: float | None
    memory: dict
    n_test: int
    warnings: list
    seconds: float
    test: str
    train: str | None

    def to_dict(self) -> dict:
        return {"test": self.test, "train": self.train, "distilled": self.distilled, "full": self.full, "baselines": self.baselines,
                "alignment": self.alignment, **self.memory, "n_test": self.n_test, "warnings": self.warnings,
                "seconds": self.seconds}


def fresh_seeds(distilled: DistilledSet, count: int) -> list[int]:
    """Seeds never used while distilling: after the stored seed and the distillation inits."""
    used = int(distilled.provenance.get("inits", 1))
    return [distilled.recipe.seed + used + k for k in range(count)]


def _subsets(source, count: int, seeds: range, limit: int | None = None) -> list[ArraySource]:
    """For each seed, ``count`` distinct random rows of ``source``, gathered in one streamed pass.

    Rows are drawn as floor(u * n) from the seed's stream until ``count`` are distinct, so
    memory depends on ``count``, not on n.
    """
    wanted = {}
    for seed in seeds:
        draws = np.floor(_prng.uniform(seed, _prng.STREAM_SUBSET, 64 * count + 64) * (limit or source.n)).astype(np.int64)
        _, first = np.unique(draws, return_index=True)
        wanted[seed] = np.sort(draws[np.sort(first)][:count])
    last = max(int(rows[-1]) for rows in wanted.values())
    parts: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {seed: [] for seed in seeds}
    row = 0
    for x, y in source.chunks(0, last + 1):
        for seed, rows in wanted.items():
            local = rows[(rows >= row) & (rows < row + x.shape[0])] - row
            parts[seed].append((x[local], y[local]))
        row += x.shape[0]
    return [ArraySource(np.concatenate([p[0] for p in parts[seed]]), np.concatenate([p[1] for p in parts[seed]]),
                        f"random subset of {count} rows (seed {seed})") for seed in seeds]


def _kcenter(source, count: int) -> ArraySource:
    """Greedy k-center in input space over the first KCENTER_POOL rows (a coreset baseline)."""
    xs, ys = [], []
    for x, y in source.chunks(0, min(source.n, KCENTER_POOL)):
        xs.append(x)
        ys.append(y)
    pool_x, pool_y = np.concatenate(xs).astype(np.float64), np.concatenate(ys)
    chosen = [int(np.argmax(np.linalg.norm(pool_x - pool_x.mean(0), axis=1)))]
    distance = np.linalg.norm(pool_x - pool_x[chosen[0]], axis=1)
    while len(chosen) < count:
        nxt = int(np.argmax(distance))
        chosen.append(nxt)
        distance = np.minimum(distance, np.linalg.norm(pool_x - pool_x[nxt], axis=1))
    return ArraySource(pool_x[chosen], pool_y[chosen], f"k-center coreset of {count} rows")


def _stored_teacher(distilled: DistilledSet) -> dict | None:
    stored = distilled.provenance.get("teacher")
    try:
        stored = json.loads(stored) if isinstance(stored, str) else stored
    except ValueError:
        return None
    return stored if isinstance(stored, dict) else None


def _same_task(teacher: dict | None, source) -> bool | None:
    other = getattr(source, "teacher", None)
    if not teacher or other is None:
        return None
    return all(teacher.get(k) == other.to_dict()[k] for k in ("d", "r", "link", "task_seed"))


def _data_warnings(distilled: DistilledSet, test, train) -> list[str]:
    """What would make the numbers mean something else than the user thinks."""
    notes = []
    stored = _stored_teacher(distilled)
    if _same_task(stored, test) is False:
        theirs = test.teacher.to_dict()
        differ = ", ".join(f"{k} {stored.get(k)!r} vs {theirs[k]!r}" for k in ("d", "r", "link", "task_seed")
                           if stored.get(k) != theirs[k])
        notes.append(f"the test data come from another teacher than the set's source ({differ}); the NMSE measures transfer, not fit")
    source_uuid, source_seed = distilled.provenance.get("source_uuid"), distilled.provenance.get("sample_seed")
    test_seed = getattr(test, "sample_seed", None)
    if source_uuid and getattr(test, "uuid", None) == source_uuid:
        notes.append("the test data are the file the set was distilled from; the NMSE is a training error")
    elif _same_task(stored, test) and source_seed is not None and test_seed == source_seed:
        notes.append(f"the test data are the set's source samples (same teacher, sample seed {test_seed}); the NMSE is a training error")
    if train is not None:
        same_file = getattr(train, "uuid", None) is not None and train.uuid == getattr(test, "uuid", None)
        same_draw = (train.teacher is not None and test.teacher is not None and train.teacher == test.teacher
                     and train.sample_seed is not None and train.sample_seed == test_seed)
        if same_file or same_draw:
            notes.append("--train and --data hold the same samples; the full-data and baseline NMSE are training errors")
    return notes


def _stats(values: list[float]) -> dict:
    a = np.asarray(values, dtype=np.float64)
    return {"nmse_mean": float(a.mean()), "nmse_std": float(a.std()), "nmse_min": float(a.min()),
            "nmse_max": float(a.max()), "nmse_per_init": [float(v) for v in a]}


# Baselines trained on a handful of rows get their ridge and linear part chosen on held-out
# training rows (never the test set): the recipe's own defaults interpolate a few rows and
# estimate beta from them, which would make a strawman of the baseline.
BASELINE_RIDGES = (1e-4, 1e-2, 1.0, 1e2, 1e4)
VALIDATION_ROWS = 4096


def _tuned(data: ArraySource, recipe, validation: ArraySource, device: str) -> tuple[object, dict]:
    """The recipe on ``data`` with the (ridge, linear part) that does best on ``validation``."""
    candidates = []
    fitted = linear_part(data.chunks, data.n, data.d, device=device)[:2]
    offset_only = (float(data.y.mean()), np.zeros(data.d))
    for ridge in BASELINE_RIDGES:
        for name, linear in (("fitted", fitted), ("offset only", offset_only)):
            net = train_on_source(data, replace(recipe, ridge=ridge), device=device, linear=linear)
            candidates.append((net, {"ridge": ridge, "linear_part": name}))
    scores, _ = nmse([net for net, _ in candidates], validation, device=device)
    best = int(np.argmin(scores))
    return candidates[best][0], {**candidates[best][1], "validation_nmse": scores[best]}


def evaluate_set(distilled_path, test, *, train=None, inits: int = 3, baselines: tuple[str, ...] = BASELINES,
                 subset_seeds: int = 3, x_key=None, y_key=None, device: str = "cpu", progress=None) -> SetEvaluation:
    """METHOD.md section 4: the set on its stored init and ``inits`` fresh ones, against the full
    data (when ``train`` is given) and baselines at the same payload. The test set chooses nothing."""
    start = time.perf_counter()
    check_positive_int("inits", inits, 1)
    check_positive_int("subset_seeds", subset_seeds, 1)
    for name in baselines:
        if name not in BASELINES:
            raise InvalidParameterError("baselines", name, "a comma-separated list of " + ", ".join(BASELINES))
    distilled = read_ddh5(distilled_path)
    test_source = _open(test, x_key, y_key)
    train_source = _open(train, x_key, y_key) if train is not None else None
    for role, src in (("test", test_source), ("train", train_source)):
        if src is not None and src.d != distilled.d:
            raise InvalidFileError(getattr(src, "path", role), f"has d = {src.d} but the distilled set has d = {distilled.d}; expected {role} data of the same task")
    notes = _data_warnings(distilled, test_source, train_source)
    for note in notes:
        warnings.warn(note, DataWarning, stacklevel=2)

    recipe = distilled.recipe
    seeds = [recipe.seed] + fresh_seeds(distilled, inits)
    networks = [train_distilled(distilled, recipe.with_seed(s), device=device) for s in seeds]
    memory = distilled.memory()
    payload = memory["payload_floats"]
    subset_size = payload // (distilled.d + 1)

    named: list[tuple[str, object]] = [("distilled", net) for net in networks]
    tuning: dict[str, list[dict]] = {}
    validation_rows = 0
    if train_source is not None:
        alpha, beta, _ = linear_part(train_source.chunks, train_source.n, train_source.d, device=device, progress=progress)
        named.append(("full", train_on_source(train_source, recipe, device=device, progress=progress, linear=(alpha, beta))))
        if "random-features" in baselines:
            named.append(("random-features", train_on_source(train_source, replace(recipe, feature_learning=False),
                                                             device=device, progress=progress, linear=(alpha, beta))))
        small = [b for b in baselines if b in ("random-subset", "kcenter")]
        validation_rows = min(VALIDATION_ROWS, train_source.n // 4)
        if small and subset_size >= 2 and validation_rows >= 2:
            pool = train_source.n - validation_rows
            validation = ArraySource(*map(np.concatenate, zip(*train_source.chunks(pool, train_source.n))))
            for name in small:
                picks = (_subsets(train_source, subset_size, range(subset_seeds), limit=pool) if name == "random-subset"
                         else [_kcenter(train_source, subset_size)])
                for data in picks:
                    net, choice = _tuned(data, recipe, validation, device)
                    named.append((name, net))
                    tuning.setdefault(name, []).append(choice)
    values, count = nmse([net for _, net in named], test_source, device=device, progress=progress)
    scores: dict[str, list[float]] = {}
    for (name, _), value in zip(named, values):
        scores.setdefault(name, []).append(value)

    distilled_stats = {**_stats(scores["distilled"]), "seeds": seeds, "payload_floats": payload}
    full = None
    if "full" in scores:
        full = {"nmse": scores["full"][0], "payload_floats": train_source.n * (train_source.d + 1), "n": train_source.n}
        distilled_stats["ratio_to_full"] = distilled_stats["nmse_mean"] / full["nmse"]
    baseline_stats = {}
    for name in baselines:
        key = name.replace("-", "_")
        if name in scores:
            per = scores[name]
            stats = {"nmse": float(np.mean(per)), "nmse_std": float(np.std(per)), "nmse_per_seed": per}
            if name == "random-features":
                stats.update(payload_floats=recipe.width + distilled.d + 1, trained_on_rows=train_source.n)
            else:
                stats.update(payload_floats=subset_size * (distilled.d + 1), trained_on_rows=subset_size,
                             tuned_on=f"{validation_rows} held-out training rows", chosen=tuning[name])
            baseline_stats[key] = stats
        else:
            reason = ("needs --train" if train_source is None else
                      f"payload {payload} floats buys fewer than 2 rows of d + 1 = {distilled.d + 1}")
            baseline_stats[key] = {"nmse": None, "skipped": reason}
    return SetEvaluation(distilled_stats, full, baseline_stats, distilled.provenance.get("alignment"), memory, count,
                         notes, time.perf_counter() - start, str(test) if not hasattr(test, "chunks") else test.description,
                         None if train is None else (str(train) if not hasattr(train, "chunks") else train.description))


def pyplot():
    """matplotlib's pyplot on the Agg backend, or a clear usage error when it is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError("--plot needs matplotlib: pip install 'ddcli[plot]'") from None
    return plt


def write_plot(evaluation: SetEvaluation, output, force: bool = False) -> None:
    """Error per method against memory (floats, log axis) as a PNG, written atomically."""
    from pathlib import Path

    from ._hdf5 import atomic_output

    plt = pyplot()
    d, f = evaluation.distilled, evaluation.full
    points = [("distilled", d["payload_floats"], d["nmse_per_init"])]
    if f:
        points.append(("full data", f["payload_floats"], [f["nmse"]]))
    for name, stats in evaluation.baselines.items():
        if stats.get("nmse") is not None:
            points.append((name.replace("_", " "), stats["payload_floats"], stats["nmse_per_seed"]))
    figure, axis = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    for label, floats, values in points:
        mean = float(np.mean(values))
        spread = [[mean - min(values)], [max(values) - mean]]
        axis.errorbar([floats], [mean], yerr=spread, fmt="o", capsize=3, label=f"{label}: {mean:.3g}")
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.axhline(1.0, color="grey", lw=0.8, ls="--", label="predicting the mean")
    axis.set_xlabel("memory (floats stored, log)")
    axis.set_ylabel("test NMSE (log; bars: min to max over inits/seeds)")
    axis.set_title(f"test error against memory ({evaluation.n_test:,} test samples)")
    axis.legend(fontsize=8)
    figure.tight_layout()
    with atomic_output(Path(output), force=force, option="plot") as tmp:
        figure.savefig(tmp, format="png")
    plt.close(figure)


def evaluate(target, data, **options):
    """Evaluate a model file (-> ModelEvaluation) or a distilled .ddh5 (-> SetEvaluation) on test data."""
    if is_ddh5(target):
        return evaluate_set(target, data, **options)
    return evaluate_model(target, data, **{k: v for k, v in options.items() if k in ("x_key", "y_key", "device", "progress")})
