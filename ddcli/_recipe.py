"""The training recipe being distilled (METHOD.md section 2), on streamed sufficient statistics.

Every pass over data is a sum of per-chunk statistics, so memory never grows with n:

* pass 1, all rows:     alpha = mean(y), beta = mean(y x)
* pass 2, stage-1 rows: G = -(1/n1) sum_i y~_i (a * 1{W0 x_i > 0}) x_i^T
* pass 3, stage-2 rows: Phi^T Phi and Phi^T y~ with Phi = relu(W1 x + b)

Products run in float32 on whole chunks (torch BLAS); sums are kept in float64.
Neurons come in pairs (w, a), (w, -a): their masks are equal and their gradients
opposite, so stage 1 computes only the first half of the neurons.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
import torch

from . import _prng
from ._types import Progress
from ._errors import InvalidParameterError, UsageError
from ._network import Network, Recipe

ChunkIter = Callable[[], Iterator[tuple[np.ndarray, np.ndarray]]]

# ---------------------------------------------------------------- initialisation
def initial_half(width: int, d: int, seed: int, init: str = "sphere") -> tuple[np.ndarray, np.ndarray]:
    """First-layer weights and head signs of the first ``width/2`` neurons.

    The second half is ``(w_j, -a_j)``, so the network is identically zero at init.
    """
    half = width // 2
    gaussian = _prng.normal(seed, _prng.STREAM_INIT_DIRECTIONS, (half, d))
    if init == "sphere":
        weights = gaussian / np.linalg.norm(gaussian, axis=1, keepdims=True)
    else:
        weights = gaussian / math.sqrt(d)
    head = _prng.signs(seed, _prng.STREAM_INIT_SIGNS, half) / width
    return weights, head


def stage2_biases(width: int, seed: int) -> np.ndarray:
    return _prng.normal(seed, _prng.STREAM_BIASES, width)


def full_from_half(weights_half: np.ndarray) -> np.ndarray:
    return np.concatenate([weights_half, weights_half])


# ---------------------------------------------------------------- streaming passes
def _device(device: str) -> torch.device:
    if device != "cpu" and not re.fullmatch(r"cuda(:[0-9]+)?", device):
        raise InvalidParameterError("device", device, "cpu or cuda")
    if device.startswith("cuda"):
        index = int(device.partition(":")[2] or 0)
        if not torch.cuda.is_available() or index >= torch.cuda.device_count():
            raise InvalidParameterError("device", device, f"cpu, or one of the {torch.cuda.device_count()} CUDA device(s) here")
    return torch.device(device)


def _tensor(array: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array)).to(device)


def _report(progress: Progress | None, label: str, done: int, total: int) -> None:
    if progress is not None:
        progress(label, done, total)


def linear_part(chunks: ChunkIter, total: int, d: int, *, device: str = "cpu", progress: Progress | None = None) -> tuple[float, np.ndarray, int]:
    """alpha = mean(y), beta = mean(y x); float32 chunk products summed in float64."""
    dev = _device(device)
    y_sum = 0.0
    xy = torch.zeros(d, dtype=torch.float64, device=dev)
    count = 0
    for x, y in chunks():
        xt = _tensor(x, dev)
        xy += (xt.T @ _tensor(y.astype(np.float32), dev)).double()
        y_sum += float(y.sum())
        count += x.shape[0]
        _report(progress, "linear part", count, total)
    if count == 0:
        raise UsageError("no samples to train on")
    return y_sum / count, (xy / count).cpu().numpy(), count


def _residual(xt: torch.Tensor, y: np.ndarray, alpha: float, beta32: torch.Tensor) -> torch.Tensor:
    return (_tensor(y, xt.device) - alpha - (xt @ beta32).double()).float()


def stage1_gradients(chunks: ChunkIter, total: int, weights_half: np.ndarray, alpha: float, beta: np.ndarray, *,
                     device: str = "cpu", progress: Progress | None = None, label: str = "stage 1 (gradient)",
                     with_mean: bool = False):
    """sum_i y~_i 1{W x_i > 0} x_i^T / n for every row of ``weights_half`` (any number of inits stacked).

    Multiply row j by -a_j to get the gradient of neuron j. With ``with_mean`` also returns
    mean(y~ x) over these rows: half of it is the part every neuron's moment shares.
    """
    dev = _device(device)
    w = _tensor(weights_half.astype(np.float32), dev)
    beta32 = _tensor(beta.astype(np.float32), dev)
    acc = torch.zeros(w.shape, dtype=torch.float64, device=dev)
    mean = torch.zeros(w.shape[1], dtype=torch.float64, device=dev)
    count = 0
    for x, y in chunks():
        xt = _tensor(x, dev)
        residual = _residual(xt, y, alpha, beta32)
        active = (xt @ w.T) > 0
        acc += (active.float().mul_(residual[:, None]).T @ xt).double()
        if with_mean:
            mean += (xt.T @ residual).double()
        count += x.shape[0]
        _report(progress, label, count, total)
    if count == 0:
        raise UsageError("no samples for stage 1")
    if with_mean:
        return (acc / count).cpu().numpy(), count, (mean / count).cpu().numpy()
    return (acc / count).cpu().numpy(), count


def stage2_statistics(chunks: ChunkIter, total: int, weights: np.ndarray, biases: np.ndarray, alpha: float, beta: np.ndarray, *,
                      holdout_every: int = 0, device: str = "cpu", progress: Progress | None = None,
                      label: str = "stage 2 (Gram)") -> dict:
    """Gram Phi^T Phi, Phi^T y~, sum y~^2 and counts; with ``holdout_every`` > 0 every k-th row goes to validation."""
    dev = _device(device)
    w = _tensor(weights.astype(np.float32), dev)
    b = _tensor(biases.astype(np.float32), dev)
    beta32 = _tensor(beta.astype(np.float32), dev)
    width = w.shape[0]
    parts = ("train", "validation") if holdout_every else ("train",)
    stats = {p: {"gram": torch.zeros((width, width), dtype=torch.float64, device=dev),
                 "rhs": torch.zeros(width, dtype=torch.float64, device=dev), "yy": 0.0, "count": 0} for p in parts}
    row0 = 0
    for x, y in chunks():
        xt = _tensor(x, dev)
        residual = _residual(xt, y, alpha, beta32)
        features = torch.relu(torch.addmm(b, xt, w.T))
        if holdout_every:
            held = (torch.arange(row0, row0 + x.shape[0], device=dev) % holdout_every) == 0
            groups = (("train", ~held), ("validation", held))
        else:
            groups = (("train", None),)
        for part, mask in groups:
            f, r = (features, residual) if mask is None else (features[mask], residual[mask])
            s = stats[part]
            s["gram"] += (f.T @ f).double()
            s["rhs"] += (f.T @ r).double()
            s["yy"] += float((r.double() ** 2).sum())
            s["count"] += int(f.shape[0])
        row0 += x.shape[0]
        _report(progress, label, row0, total)
    if stats["train"]["count"] == 0:
        raise UsageError("no samples for stage 2")
    return {p: {k: (v.cpu().numpy() if torch.is_tensor(v) else v) for k, v in s.items()} for p, s in stats.items()}


# ---------------------------------------------------------------- heads
def ridge_head(gram: np.ndarray, rhs: np.ndarray, count: int, ridge: float) -> np.ndarray:
    """a = (Phi^T Phi / N + ridge I)^-1 Phi^T y~ / N, in float64."""
    system = gram / count + ridge * np.eye(gram.shape[0])
    try:
        factor = np.linalg.cholesky(system)
        return np.linalg.solve(factor.T, np.linalg.solve(factor, rhs / count))
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(system, rhs / count, rcond=None)[0]


def gd_head(stats: dict, ridge: float, steps: int) -> np.ndarray:
    """Gradient descent on the ridge objective from zero, stopped at the best validation loss.

    Both losses are quadratics in the head, evaluated from the streamed statistics.
    """
    train, valid = stats["train"], stats["validation"]
    gram = train["gram"] / train["count"]
    rhs = train["rhs"] / train["count"]
    rate = 1.0 / (np.linalg.eigvalsh(gram)[-1] + ridge)
    head = np.zeros_like(rhs)
    best, best_loss = head.copy(), math.inf
    vg = valid["gram"] / max(valid["count"], 1)
    vr = valid["rhs"] / max(valid["count"], 1)
    for _ in range(steps):
        head -= rate * (gram @ head - rhs + ridge * head)
        loss = head @ vg @ head - 2 * head @ vr
        if valid["count"] == 0 or loss < best_loss:
            best, best_loss = head.copy(), loss
    return best


# ---------------------------------------------------------------- the recipe
@dataclass
class Stage:
    """Rows for one stage: a chunk-iterator factory and its row count."""

    chunks: ChunkIter
    count: int


def first_layer(stage1: Stage, d: int, recipe: Recipe, alpha: float, beta: np.ndarray, *, device: str = "cpu",
                progress: Progress | None = None) -> np.ndarray:
    """Stage 1: W1 = -eta * grad (weight decay 1/eta cancels W0), rows renormalised; or W0 if skipped."""
    weights_half, head_half = initial_half(recipe.width, d, recipe.seed, recipe.init)
    if recipe.feature_learning:
        moments, _ = stage1_gradients(stage1.chunks, stage1.count, weights_half, alpha, beta, device=device, progress=progress)
        # gradient row j = -a_j * moments_j, so W1 row j is along +a_j * moments_j.
        weights_half = normalise_rows(head_half[:, None] * moments)
    return np.concatenate([weights_half, -weights_half if recipe.feature_learning else weights_half]).astype(np.float32)


def normalise_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0)


def fit(stage1: Stage, stage2: Stage, d: int, recipe: Recipe, alpha: float, beta: np.ndarray, *, device: str = "cpu",
        progress: Progress | None = None, provenance: dict | None = None) -> Network:
    """Stages 1 and 2 given the linear part already removed from the labels' reference."""
    recipe.validate()
    weights = first_layer(stage1, d, recipe, alpha, beta, device=device, progress=progress)
    biases = stage2_biases(recipe.width, recipe.seed)
    holdout = max(2, round(1 / recipe.validation_fraction)) if recipe.head == "gd" else 0
    stats = stage2_statistics(stage2.chunks, stage2.count, weights, biases, alpha, beta, holdout_every=holdout,
                              device=device, progress=progress)
    if recipe.head == "gd":
        head = gd_head(stats, recipe.ridge, recipe.gd_steps)
    else:
        train = stats["train"]
        head = ridge_head(train["gram"], train["rhs"], train["count"], recipe.ridge)
    return Network(weights, biases, head, float(alpha), np.asarray(beta, dtype=np.float64), recipe, dict(provenance or {}))


def split(n: int, stage1_fraction: float) -> int:
    """Rows [0, n1) feed stage 1 and [n1, n) stage 2."""
    n1 = int(round(n * stage1_fraction))
    if n1 < 1 or n - n1 < 1:
        raise InvalidParameterError("stage1_fraction", stage1_fraction, f"a fraction that leaves both stages at least one of the {n} samples")
    return n1


def train_on_source(source, recipe: Recipe, *, device: str = "cpu", progress: Progress | None = None, rows: int | None = None,
                    linear: tuple[float, np.ndarray] | None = None) -> Network:
    """The full recipe on a data source: linear part, stage 1 and stage 2 on disjoint rows.

    ``linear`` = (alpha, beta) of this same source, when already computed, saves a pass.
    """
    recipe.validate()
    n = source.n
    n1 = split(n, recipe.stage1_fraction)
    if linear is None:
        alpha, beta, _ = linear_part(lambda: source.chunks(0, n, rows), n, source.d, device=device, progress=progress)
    else:
        alpha, beta = linear
    stage1 = Stage(lambda: source.chunks(0, n1, rows), n1)
    stage2 = Stage(lambda: source.chunks(n1, n, rows), n - n1)
    provenance = {"source": source.description, "n": n, "n_stage1": n1, "n_stage2": n - n1, "trained_on": "data"}
    return fit(stage1, stage2, source.d, recipe, alpha, beta, device=device, progress=progress, provenance=provenance)
