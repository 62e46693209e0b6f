"""``evaluate``: test error of a model, or of a distilled set against full data and baselines."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ._metrics import nmse
from ._model import read_model
from ._sources import DataSource, open_source


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
    (value,), count = nmse([net], source, device=device, progress=progress)
    return ModelEvaluation(str(model), value, count, net.width, net.d)
