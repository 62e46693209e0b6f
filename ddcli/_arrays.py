"""An in-memory data source, for distilled points, small subsets and tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from ._sources import Chunk, default_chunk_rows
from ._teacher import Teacher


@dataclass
class ArraySource:
    x: np.ndarray
    y: np.ndarray
    description: str = "arrays"
    teacher: Teacher | None = None
    sample_seed = None
    uuid = None

    def __post_init__(self) -> None:
        self.x = np.ascontiguousarray(self.x, dtype=np.float32)
        self.y = np.asarray(self.y, dtype=np.float64).reshape(-1)
        if self.x.ndim != 2 or self.x.shape[0] != self.y.shape[0]:
            raise ValueError(f"x {self.x.shape} and y {self.y.shape} do not match")

    @property
    def n(self) -> int:
        return int(self.x.shape[0])

    @property
    def d(self) -> int:
        return int(self.x.shape[1])

    def chunks(self, start: int = 0, stop: int | None = None, rows: int | None = None) -> Iterator[Chunk]:
        stop = self.n if stop is None else min(stop, self.n)
        rows = rows or default_chunk_rows(self.d)
        for row in range(start, stop, rows):
            end = min(row + rows, stop)
            yield self.x[row:end], self.y[row:end]
