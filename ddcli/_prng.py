"""A counter-based normal generator whose stream is defined by a few lines of text.

Anything a ``.ddh5`` file (or a teacher given by its seed) needs to rebuild is drawn
here rather than from a library PRNG, whose streams may change between versions.
The definition, repeated in ``formats/ddh5.md``:

* ``mix(z)`` is the SplitMix64 finaliser on 64-bit unsigned integers:
  ``z ^= z >> 30; z *= 0xBF58476D1CE4E5B9; z ^= z >> 27; z *= 0x94D049BB133111EB; z ^= z >> 31``.
* the key of ``(seed, stream)`` is ``mix(mix(seed + GAMMA) ^ stream)`` with
  ``GAMMA = 0x9E3779B97F4A7C15`` (all arithmetic modulo 2**64);
* word ``i`` (from 0) is ``mix(key + (i + 1) * GAMMA)``;
* uniform ``i`` is ``((word_i >> 11) + 0.5) / 2**53``, in (0, 1);
* normals come in pairs from uniforms ``(u0, u1) = (2j, 2j+1)``:
  ``sqrt(-2 ln u0) * cos(2 pi u1)`` then ``sqrt(-2 ln u0) * sin(2 pi u1)``;
  an array of shape S takes the first ``prod(S)`` normals in C order.
"""

from __future__ import annotations

import math

import numpy as np

GAMMA = 0x9E3779B97F4A7C15
_MASK = (1 << 64) - 1

# Stream labels: one per quantity, so that adding a quantity never shifts another.
STREAM_TEACHER_BASIS = 1
STREAM_INIT_DIRECTIONS = 2
STREAM_INIT_SIGNS = 3
STREAM_BIASES = 4
STREAM_STAGE1_COEFFICIENTS = 5
STREAM_SUBSET = 6


def _mix_int(z: int) -> int:
    z &= _MASK
    z ^= z >> 30
    z = (z * 0xBF58476D1CE4E5B9) & _MASK
    z ^= z >> 27
    z = (z * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def _mix(z: np.ndarray) -> np.ndarray:
    z = z ^ (z >> np.uint64(30))
    z = z * np.uint64(0xBF58476D1CE4E5B9)
    z = z ^ (z >> np.uint64(27))
    z = z * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def key(seed: int, stream: int) -> int:
    return _mix_int(_mix_int(int(seed) + GAMMA) ^ int(stream))


def words(seed: int, stream: int, count: int, offset: int = 0) -> np.ndarray:
    """``count`` 64-bit words of the stream, starting at word ``offset``."""
    k = np.uint64(key(seed, stream))
    i = np.arange(offset + 1, offset + count + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        return _mix(k + i * np.uint64(GAMMA))


def uniform(seed: int, stream: int, count: int) -> np.ndarray:
    w = words(seed, stream, count)
    return ((w >> np.uint64(11)).astype(np.float64) + 0.5) * (1.0 / 2**53)


def normal(seed: int, stream: int, shape: tuple[int, ...] | int) -> np.ndarray:
    """Standard normals (float64) of the given shape."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    count = math.prod(shape)
    u = uniform(seed, stream, 2 * ((count + 1) // 2)).reshape(-1, 2)
    radius = np.sqrt(-2.0 * np.log(u[:, 0]))
    angle = 2.0 * np.pi * u[:, 1]
    z = np.empty((u.shape[0], 2))
    z[:, 0] = radius * np.cos(angle)
    z[:, 1] = radius * np.sin(angle)
    return z.reshape(-1)[:count].reshape(shape)


def signs(seed: int, stream: int, count: int) -> np.ndarray:
    """+1 or -1 from the top bit of each word (1 -> -1)."""
    top = (words(seed, stream, count) >> np.uint64(63)).astype(np.float64)
    return 1.0 - 2.0 * top
