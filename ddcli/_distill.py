"""Gradient-based distillation into a basis, coefficients and labels (METHOD.md section 3).

One pass computes alpha and beta; one pass over the stage-1 rows computes the first-layer
gradients at K initialisations at once; one pass over the stage-2 rows fits the head
whose predictions label the stage-2 points. Memory does not depend on n.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np
import torch

from . import _prng
from ._arrays import ArraySource
from ._ddh5 import DistilledSet
from ._errors import InvalidParameterError, check_positive_int
from ._sources import open_source
from ._recipe import (Network, Progress, Recipe, Stage, first_layer, fit, initial_half, linear_part, ridge_head,
                      split, stage1_gradients, stage2_biases, stage2_statistics)

METHODS = ("closed-form", "gm")
STAGE2_LABELS = ("predict", "exact")
# A singular-value ratio at least this large counts as a gap for --r auto; the noise
# bulk of the stacked gradients has neighbouring ratios within a few per cent of 1.
GAP_THRESHOLD = 1.5
AUTO_MAX_RANK = 8


@dataclass
class DistillResult:
    distilled: DistilledSet
    spectrum: list[float]
    alignment: float | None
    seconds: float
    method_seconds: float

    def summary(self) -> dict:
        memory = self.distilled.memory()
        return {"r": self.distilled.r, "d": self.distilled.d, "m": self.distilled.m,
                "stage2_points": self.distilled.stage2_count, **memory, "alignment": self.alignment,
                "spectrum": self.spectrum, "seconds": self.seconds, "method_seconds": self.method_seconds,
                "recipe": self.distilled.recipe.to_dict(), "provenance": self.distilled.provenance}


def init_seeds(recipe: Recipe, inits: int) -> list[int]:
    """Initialisations used by distillation: the stored seed and the ones after it."""
    return [recipe.seed + k for k in range(inits)]


def choose_rank(spectrum: np.ndarray, d: int) -> int:
    """The r with the largest ratio s_r / s_{r+1}; raise when no ratio reaches GAP_THRESHOLD."""
    top = min(AUTO_MAX_RANK, d - 1, len(spectrum) - 1)
    ratios = spectrum[:top] / np.maximum(spectrum[1 : top + 1], 1e-300)
    best = int(np.argmax(ratios))
    if ratios[best] < GAP_THRESHOLD:
        shown = ", ".join(f"{v:.3g}" for v in spectrum[: top + 1])
        raise InvalidParameterError("r", "auto", f"an explicit rank: the gradient spectrum has no gap "
                                    f"(largest ratio {ratios[best]:.2f} < {GAP_THRESHOLD}; top singular values {shown})")
    return best + 1


def _stage1_design(weights_in_basis: np.ndarray, signs: np.ndarray, coefficients: np.ndarray) -> np.ndarray:
    """Matrix A with A @ labels = synthetic update directions; rows (neuron, coordinate), columns points.

    Neuron j's direction is sign_j * (1/m) sum_i label_i 1{w_j . x_i > 0} c_i in basis coordinates.
    """
    m = coefficients.shape[0]
    active = (weights_in_basis @ coefficients.T > 0).astype(np.float64) * signs[:, None]  # (neurons, m)
    design = active[:, None, :] * coefficients.T[None, :, :] / m  # (neurons, r, m)
    return design.reshape(-1, m)


def closed_form_labels(targets: np.ndarray, weights_in_basis: np.ndarray, signs: np.ndarray,
                       coefficients: np.ndarray) -> np.ndarray:
    """Least squares: labels whose synthetic gradient matches the projected real one at every init."""
    design = _stage1_design(weights_in_basis, signs, coefficients)
    labels, *_ = np.linalg.lstsq(design, targets.reshape(-1), rcond=None)
    return labels


def gradient_matching(targets: np.ndarray, weights_in_basis: np.ndarray, signs: np.ndarray, coefficients: np.ndarray, *,
                      steps: int, learning_rate: float, progress: Progress | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Adam on coefficients and labels, minimising sum_k ||G_syn^(k) - G^(k)||^2 through autograd.

    The activation pattern is piecewise constant in the coefficients, so their gradient flows
    through the outer product only; the pattern is recomputed every step.
    """
    w = torch.from_numpy(weights_in_basis)
    sign = torch.from_numpy(signs)[:, None]
    target = torch.from_numpy(targets)
    scale = target.pow(2).sum()
    coeff = torch.from_numpy(coefficients.copy()).requires_grad_(True)
    labels = torch.zeros(coefficients.shape[0], dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.Adam([coeff, labels], lr=learning_rate)
    m = coefficients.shape[0]
    for step in range(steps):
        optimiser.zero_grad()
        active = (w @ coeff.detach().T > 0).double() * sign
        synthetic = (active * labels[None, :]) @ coeff / m
        loss = (synthetic - target).pow(2).sum() / scale
        loss.backward()
        optimiser.step()
        if progress and (step % 50 == 0 or step == steps - 1):
            progress("gradient matching", step + 1, steps)
    return coeff.detach().numpy(), labels.detach().numpy()


def train_distilled(distilled: DistilledSet, recipe: Recipe | None = None, *, device: str = "cpu",
                    progress: Progress | None = None) -> Network:
    """The recipe on a distilled set: stage 1 on the stage-1 points, stage 2 on the stage-2 points.

    The labels are residual labels, so no linear part is estimated; the stored one is restored.
    """
    recipe = (recipe or distilled.recipe).validate()
    zero = np.zeros(distilled.d)
    stage1 = ArraySource(distilled.stage1_inputs(), distilled.stage1_labels)
    stage2 = ArraySource(distilled.stage2_inputs(), distilled.stage2_labels)
    net = fit(Stage(stage1.chunks, stage1.n), Stage(stage2.chunks, stage2.n), distilled.d, recipe, 0.0, zero,
              device=device, provenance={"source": "distilled set", "n": stage1.n + stage2.n,
                                         "n_stage1": stage1.n, "n_stage2": stage2.n, "trained_on": "ddh5"})
    net.alpha, net.beta = float(distilled.alpha), distilled.beta
    return net


def distill(source, *, r: int | str = 3, points: int | None = None, stage2_points: int | None = None, inits: int = 1,
            method: str = "closed-form", stage2_labels: str = "predict", store_stage2: bool = False,
            recipe: Recipe | None = None, gm_steps: int = 1000, gm_learning_rate: float = 0.02,
            device: str = "cpu", progress: Progress | None = None, rows: int | None = None) -> DistillResult:
    """Distil ``source`` (a data source, or the path of a data file) into a :class:`DistilledSet`."""
    start = time.perf_counter()
    if isinstance(source, (str, os.PathLike)):
        source = open_source(source)
    recipe = (recipe or Recipe()).validate()
    if not recipe.feature_learning:
        raise InvalidParameterError("feature_learning", False, "True: distillation encodes the stage-1 step")
    if r != "auto":
        check_positive_int("r", r, 1)
        if r >= source.d:
            raise InvalidParameterError("r", r, f"an integer < d = {source.d}, or auto")
    inits = check_positive_int("inits", inits, 1)
    if method not in METHODS:
        raise InvalidParameterError("method", method, " or ".join(METHODS))
    if stage2_labels not in STAGE2_LABELS:
        raise InvalidParameterError("stage2_labels", stage2_labels, " or ".join(STAGE2_LABELS))
    stage2_points = recipe.width if stage2_points is None else check_positive_int("stage2_points", stage2_points, 1)
    if points is not None:
        check_positive_int("points", points, 1)
        if r != "auto" and points < r:
            raise InvalidParameterError("points", points, f"an integer >= r = {r}")
    if r != "auto" and r > inits * recipe.width // 2:
        raise InvalidParameterError("r", r, f"at most inits * width / 2 = {inits * recipe.width // 2} (the stacked gradients' rank)")
    check_positive_int("gm_steps", gm_steps, 1)
    n, d = source.n, source.d
    n1 = split(n, recipe.stage1_fraction)

    # Pass 1: the linear part over all rows.
    alpha, beta, _ = linear_part(lambda: source.chunks(0, n, rows), n, d, device=device, progress=progress)
    # Pass 2: first-layer moments at every init in one stacked matmul.
    seeds = init_seeds(recipe, inits)
    halves = [initial_half(recipe.width, d, s, recipe.init) for s in seeds]
    weights0 = np.concatenate([w for w, _ in halves])
    signs = np.concatenate([a for _, a in halves]) * recipe.width
    moments, _, common = stage1_gradients(lambda: source.chunks(0, n1, rows), n1, weights0, alpha, beta, device=device,
                                          progress=progress, label="gradient statistics", with_mean=True)
    # 1{w.x > 0} = 1/2 + sign(w.x)/2: the 1/2 gives every neuron the same moment, half of
    # mean(y~ x) over these rows. It is sampling noise (zero in expectation after the linear
    # part is removed) yet forms one strong direction across neurons, so it is removed before
    # the SVD. Rows then point along the stage-1 update a_j * moments_j (|a_j| = 1/L).
    directions = signs[:, None] * (moments - 0.5 * common[None, :])
    _, singular_values, right = np.linalg.svd(directions, full_matrices=False)
    if r == "auto":
        r = choose_rank(singular_values, d)
    if r > min(directions.shape):
        raise InvalidParameterError("r", r, f"at most {min(directions.shape)} (the stacked gradients' rank)")
    basis = right[:r]
    m = points if points is not None else 4 * r * r
    if m < r:
        raise InvalidParameterError("points", m, f"an integer >= r = {r}")

    # Stage-1 points: coefficients and labels that reproduce the projected gradients.
    method_start = time.perf_counter()
    targets = directions @ basis.T  # (K L/2, r)
    weights_in_basis = weights0 @ basis.T
    coefficients = _prng.normal(recipe.seed, _prng.STREAM_STAGE1_COEFFICIENTS, (m, r))
    if method == "closed-form":
        labels = closed_form_labels(targets, weights_in_basis, signs, coefficients)
    else:
        coefficients, labels = gradient_matching(targets, weights_in_basis, signs, coefficients,
                                                 steps=gm_steps, learning_rate=gm_learning_rate, progress=progress)
    method_seconds = time.perf_counter() - method_start

    # Stage 2: retrain stage 1 from the synthetic points exactly as a reader of the file will
    # (float32 payload), fit the head on real stage-2 rows, and label the stage-2 points with
    # that model's residual predictions.
    f32 = lambda a: np.asarray(a, dtype=np.float32)  # noqa: E731
    stored = DistilledSet(f32(basis), f32(coefficients), f32(labels), np.zeros(stage2_points, np.float32), None,
                          float(alpha), f32(basis @ beta), recipe)
    synthetic = ArraySource(stored.stage1_inputs(), stored.stage1_labels)
    weights1 = first_layer(Stage(synthetic.chunks, synthetic.n), d, recipe, 0.0, np.zeros(d), device=device)
    biases = stage2_biases(recipe.width, recipe.seed)
    stats = stage2_statistics(lambda: source.chunks(n1, n, rows), n - n1, weights1, biases, alpha, beta,
                              device=device, progress=progress, label="stage-2 head")["train"]
    head = ridge_head(stats["gram"], stats["rhs"], stats["count"], recipe.ridge)
    design = stored.stage2_design()
    features = np.maximum(stored.stage2_inputs().astype(np.float64) @ weights1.T.astype(np.float64) + biases, 0)
    if stage2_labels == "predict":
        stage2 = features @ head
    else:
        # Labels for which ridge on these points returns this head (stored init only).
        count = features.shape[0]
        rhs = (features.T @ features / count + recipe.ridge * np.eye(recipe.width)) @ head * count
        stage2 = np.linalg.lstsq(features.T, rhs, rcond=None)[0]

    teacher = getattr(source, "teacher", None)
    alignment = teacher.alignment(basis) if teacher is not None else None
    spectrum = [float(v) for v in singular_values[: min(len(singular_values), 2 * AUTO_MAX_RANK)]]
    provenance = {"source": source.description, "source_uuid": getattr(source, "uuid", None),
                  "sample_seed": getattr(source, "sample_seed", None), "n": n, "d": d, "alignment": alignment,
                  "teacher": teacher.to_dict() if teacher is not None else None, "method": method, "inits": inits,
                  "stage2_labels": stage2_labels, "spectrum": spectrum}
    stored.stage2_labels = f32(stage2)
    stored.stage2_coefficients = f32(design) if store_stage2 else None
    stored.provenance = provenance
    distilled = stored
    return DistillResult(distilled, spectrum, alignment, time.perf_counter() - start, method_seconds)
