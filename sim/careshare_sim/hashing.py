"""Counter-based random numbers: a draw depends only on (seed, stream, key, counter).

Rendering a day never consumes a shared generator, so a file's bytes do not depend on which
other days were rendered before it, and any (location, day) can be recomputed on its own.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MUL1 = np.uint64(0xBF58476D1CE4E5B9)
_MUL2 = np.uint64(0x94D049BB133111EB)
_UNIT = 2.0**-53


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, a bijection on uint64 with full avalanche."""
    with np.errstate(over="ignore"):
        x = x ^ (x >> np.uint64(30))
        x = x * _MUL1
        x = x ^ (x >> np.uint64(27))
        x = x * _MUL2
        return x ^ (x >> np.uint64(31))


@lru_cache(maxsize=4096)
def stable_key(*parts: object) -> int:
    """A 64-bit key from any printable parts, stable across processes (unlike hash())."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def uniform(stream: int, keys: np.ndarray, counter: int | np.ndarray = 0) -> np.ndarray:
    """Uniform [0, 1) draws, one per key, for `stream` at `counter` (usually a day ordinal)."""
    keys = np.asarray(keys, dtype=np.uint64)
    counters = np.broadcast_to(np.asarray(counter, dtype=np.int64), keys.shape).astype(np.uint64)
    with np.errstate(over="ignore"):
        salt = _mix(counters * _GOLDEN + np.uint64(stream))
    return (_mix(keys ^ salt) >> np.uint64(11)).astype(np.float64) * _UNIT


class Draws:
    """Named streams of per-(key, counter) draws under one seed."""

    def __init__(self, seed: int, *scope: object):
        self.seed = int(seed)  # numpy integers would repr, and so hash, differently
        self.scope = scope

    def stream(self, name: str) -> int:
        return stable_key(self.seed, *self.scope, name)

    def uniform(self, name: str, keys: np.ndarray, counter: int | np.ndarray = 0) -> np.ndarray:
        return uniform(self.stream(name), keys, counter)

    def normal(self, name: str, keys: np.ndarray, counter: int | np.ndarray = 0) -> np.ndarray:
        u1 = 1.0 - self.uniform(name + "#1", keys, counter)
        u2 = self.uniform(name + "#2", keys, counter)
        return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)

    def poisson(self, name: str, keys: np.ndarray, mean: np.ndarray, counter: int | np.ndarray = 0) -> np.ndarray:
        return poisson_from_uniform(self.uniform(name, keys, counter), mean)

    def choice(
        self, name: str, keys: np.ndarray, probabilities: np.ndarray, counter: int | np.ndarray = 0
    ) -> np.ndarray:
        return choice_from_uniform(self.uniform(name, keys, counter), probabilities)

    def scoped(self, *more: object) -> Draws:
        return Draws(self.seed, *self.scope, *more)


_POISSON_EXACT_BELOW = 30.0


def poisson_from_uniform(u: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Inverse-CDF Poisson for small means, a rounded normal approximation for large ones."""
    mean = np.broadcast_to(np.asarray(mean, dtype=np.float64), u.shape)
    result = np.zeros(u.shape, dtype=np.int64)
    small = mean < _POISSON_EXACT_BELOW
    if small.any():
        lam, uu = mean[small], u[small]
        term = np.exp(-lam)
        cumulative = term.copy()
        k = np.zeros(lam.shape, dtype=np.int64)
        for step in range(1, int(_POISSON_EXACT_BELOW * 3) + 1):
            below = uu >= cumulative
            if not below.any():
                break
            k += below
            term = term * lam / step
            cumulative = cumulative + term
        result[small] = k
    large = ~small
    if large.any():
        z = _normal_quantile(u[large])
        result[large] = np.maximum(0, np.rint(mean[large] + np.sqrt(mean[large]) * z)).astype(np.int64)
    return result


def choice_from_uniform(u: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """Index of the category per draw; `probabilities` is (k,) or (n, k), rows summing to 1."""
    cumulative = np.cumsum(np.asarray(probabilities, dtype=np.float64), axis=-1)
    if cumulative.ndim == 1:
        return np.minimum(np.searchsorted(cumulative, u, side="right"), len(cumulative) - 1)
    return np.minimum((u[:, None] >= cumulative).sum(axis=1), cumulative.shape[1] - 1)


def _normal_quantile(u: np.ndarray) -> np.ndarray:
    """The logistic approximation of the normal quantile: ample for simulated counts."""
    u = np.clip(u, 1e-12, 1 - 1e-12)
    return np.log(u / (1.0 - u)) * 0.5513
