"""``train``: the recipe on a data file, a data source or a distilled set."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace

from ._errors import InvalidParameterError
from ._ddh5 import read_ddh5
from ._distill import train_distilled
from ._hdf5 import file_format
from ._recipe import Network, Progress, Recipe, train_on_source
from ._sources import DataSource, open_source


def is_ddh5(path: str | os.PathLike) -> bool:
    """True when ``path`` is an HDF5 file declaring format 'ddh5'; a corrupt HDF5 file raises."""
    return file_format(path) == "ddh5"


@dataclass(frozen=True)
class TrainResult:
    network: Network
    seconds: float

    def summary(self) -> dict:
        net = self.network
        return {"width": net.width, "d": net.d, "recipe": net.recipe.to_dict(), "provenance": net.provenance,
                "seconds": self.seconds}


def train(data: str | os.PathLike | DataSource, *, width: int | None = None, seed: int | None = None,
          ridge: float | None = None, stage1_fraction: float | None = None, feature_learning: bool | None = None,
          head: str | None = None, init: str | None = None, x_key: str | None = None, y_key: str | None = None,
          device: str = "cpu", progress: Progress | None = None) -> TrainResult:
    """Train the recipe on ``data``. Unset options take the recipe defaults, or for a ``.ddh5``
    the recipe stored in it (``seed`` then selects a fresh initialisation)."""
    start = time.perf_counter()
    overrides = {k: v for k, v in dict(width=width, seed=seed, ridge=ridge, stage1_fraction=stage1_fraction,
                                        feature_learning=feature_learning, head=head, init=init).items() if v is not None}
    if isinstance(data, (str, os.PathLike)) and is_ddh5(data):
        distilled = read_ddh5(data)
        for key in ("width", "stage1_fraction", "init", "feature_learning"):
            if key in overrides and overrides[key] != getattr(distilled.recipe, key):
                raise InvalidParameterError(key, overrides[key], f"the value stored in the distilled set ({getattr(distilled.recipe, key)!r}); a .ddh5 fixes it")
        recipe = replace(distilled.recipe, **overrides).validate()
        network = train_distilled(distilled, recipe, device=device, progress=progress)
        network.provenance.update(source=f"distilled set {data}", set_uuid=distilled.header.get("uuid", ""))
    else:
        source = data if not isinstance(data, (str, os.PathLike)) else open_source(data, x_key, y_key)
        recipe = Recipe(**overrides).validate()
        network = train_on_source(source, recipe, device=device, progress=progress)
    return TrainResult(network, time.perf_counter() - start)
