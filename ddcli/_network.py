"""What a trained learner is and how it was configured: plain numpy, no torch.

Kept apart from the training math so that reading and validating files stays light.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np

from ._errors import InvalidParameterError, check_positive_int, check_seed

INITS = ("sphere", "gaussian")
HEADS = ("ridge", "gd")


@dataclass(frozen=True)
class Recipe:
    """Hyperparameters of the learner. Only stores values; ``validate`` checks them."""

    width: int = 1024
    seed: int = 0
    ridge: float = 1e-4
    stage1_fraction: float = 0.5
    feature_learning: bool = True
    init: str = "sphere"
    head: str = "ridge"
    gd_steps: int = 2000
    validation_fraction: float = 0.2
    activation: str = "relu"

    def validate(self) -> "Recipe":
        check_positive_int("width", self.width, 2)
        if self.width % 2:
            raise InvalidParameterError("width", self.width, "an even integer >= 2 (neurons come in symmetric pairs)")
        check_seed("seed", self.seed)
        if not (math.isfinite(self.ridge) and self.ridge >= 0):
            raise InvalidParameterError("ridge", self.ridge, "a finite number >= 0")
        if not (0 < self.stage1_fraction < 1):
            raise InvalidParameterError("stage1_fraction", self.stage1_fraction, "a number strictly between 0 and 1")
        if self.init not in INITS:
            raise InvalidParameterError("init", self.init, " or ".join(INITS))
        if self.head not in HEADS:
            raise InvalidParameterError("head", self.head, " or ".join(HEADS))
        check_positive_int("gd_steps", self.gd_steps, 1)
        if not (0 < self.validation_fraction < 1):
            raise InvalidParameterError("validation_fraction", self.validation_fraction, "a number strictly between 0 and 1")
        if self.activation != "relu":
            raise InvalidParameterError("activation", self.activation, "relu")
        return self

    def with_seed(self, seed: int) -> "Recipe":
        return replace(self, seed=seed)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Network:
    """A trained two-layer ReLU network with its linear part.

    f(x) = alpha + beta.x + sum_j head_j relu(weights_j.x + biases_j)
    """

    weights: np.ndarray  # (L, d) float32, unit rows after stage 1
    biases: np.ndarray  # (L,)
    head: np.ndarray  # (L,)
    alpha: float
    beta: np.ndarray  # (d,)
    recipe: Recipe
    provenance: dict

    @property
    def width(self) -> int:
        return int(self.weights.shape[0])

    @property
    def d(self) -> int:
        return int(self.weights.shape[1])

    def predict(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        hidden = np.maximum(x @ self.weights.T + self.biases.astype(np.float32), 0)
        return self.alpha + (x @ self.beta.astype(np.float32)).astype(np.float64) + hidden.astype(np.float64) @ self.head
