"""Test error of one or many networks, in one streamed pass over the test data."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from ._types import Progress
from ._errors import InvalidFileError, UsageError
from ._recipe import Network, _device, _tensor



def nmse(networks: Sequence[Network], source, *, device: str = "cpu", progress: Progress | None = None,
         label: str = "test error") -> tuple[list[float], int]:
    """mean((f(x) - y)^2) / var(y) for every network, and the number of test rows."""
    if not networks:
        return [], source.n
    for net in networks:
        if net.d != source.d:
            raise UsageError(f"the test data have d = {source.d} but the model expects d = {net.d}")
    dev = _device(device)
    # All first layers side by side: one matmul per chunk serves every network.
    weights = _tensor(np.concatenate([n.weights for n in networks]).astype(np.float32), dev)
    biases = _tensor(np.concatenate([n.biases for n in networks]).astype(np.float32), dev)
    betas = _tensor(np.stack([n.beta for n in networks], axis=1).astype(np.float32), dev)
    alphas = torch.tensor([n.alpha for n in networks], dtype=torch.float64, device=dev)
    offsets = np.cumsum([0] + [n.width for n in networks])
    heads = torch.zeros((weights.shape[0], len(networks)), dtype=torch.float32, device=dev)
    for k, net in enumerate(networks):
        heads[offsets[k] : offsets[k + 1], k] = _tensor(net.head.astype(np.float32), dev)
    squared = torch.zeros(len(networks), dtype=torch.float64, device=dev)
    # Label moments about the first chunk's mean: no cancellation when mean(y) >> std(y).
    y_sum = y_sq = 0.0
    shift = None
    count = 0
    for x, y in source.chunks():
        xt = _tensor(x, dev)
        hidden = torch.relu(torch.addmm(biases, xt, weights.T))
        pred = (hidden @ heads).double() + (xt @ betas).double() + alphas
        yt = _tensor(y, dev)
        squared += ((pred - yt[:, None]) ** 2).sum(0)
        shift = float(y.mean()) if shift is None else shift
        centred = y - shift
        y_sum += float(centred.sum())
        y_sq += float((centred * centred).sum())
        count += x.shape[0]
        if progress:
            progress(label, count, source.n)
    variance = y_sq / count - (y_sum / count) ** 2
    if count < 2 or variance <= 0:
        where = getattr(source, "path", None) or source.description
        raise InvalidFileError(where, "has test labels with zero variance (or fewer than 2 rows); NMSE is undefined")
    return [float(v) / count / variance for v in squared.cpu().numpy()], count
