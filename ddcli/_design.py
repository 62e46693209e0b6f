"""Stage-2 inputs defined by the format itself: Halton points through the inverse normal CDF.

Point i (i = 1 ... count) has coordinate k equal to Phi^-1(radical_inverse(i, p_k)),
p_k the k-th prime (2, 3, 5, ...). Nothing is drawn from a PRNG, so the words of
formats/ddh5.md alone rebuild the points.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np


def primes(count: int) -> list[int]:
    found: list[int] = []
    candidate = 2
    while len(found) < count:
        if all(candidate % p for p in found if p * p <= candidate):
            found.append(candidate)
        candidate += 1
    return found


def radical_inverse(index: np.ndarray, base: int) -> np.ndarray:
    index = np.asarray(index, dtype=np.int64).copy()
    result = np.zeros(index.shape)
    scale = 1.0 / base
    while np.any(index > 0):
        index, digit = np.divmod(index, base)
        result += digit * scale
        scale /= base
    return result


def halton_normal(count: int, dim: int) -> np.ndarray:
    """(count, dim) quasi-random standard-normal coefficients."""
    index = np.arange(1, count + 1)
    inverse_cdf = np.vectorize(NormalDist().inv_cdf, otypes=[float])
    return np.stack([inverse_cdf(radical_inverse(index, p)) for p in primes(dim)], axis=1) if dim else np.zeros((count, 0))
