"""Random draws. ``seed`` is an int, a ``polykeras.random.SeedGenerator`` (the
form that works inside compiled steps), a seed tensor of two int32 values, or
None (a fresh draw from the global generator, see ``polykeras.random.set_seed``).
The same seed gives the same numbers on the same engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from polykeras.backends import active
from polykeras.ops._dispatch import check, op

Tensor = Any

_global = np.random.default_rng()


def set_global_seed(seed: int | None) -> None:
    """Reseed the generator behind ``seed=None`` draws. Example: ``set_global_seed(0)``"""
    global _global
    _global = np.random.default_rng(seed)


def seed_tensor(seed: Any) -> Tensor:
    """The engine seed tensor (two int32 values) for any accepted ``seed``.

    Example: ``ops.random.seed_tensor(42)``
    """
    engine = active()
    if seed is None:
        return engine.convert_to_tensor(_global.integers(0, 2**31 - 1, size=2, dtype=np.int64).astype(np.int32))
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return engine.convert_to_tensor(np.array([int(seed) % (2**31), 0], dtype=np.int32))
    if hasattr(seed, "next"):
        return seed.next()
    if engine.is_tensor(seed) or isinstance(seed, np.ndarray):
        return engine.convert_to_tensor(seed, "int32")
    raise TypeError(f"seed: expected an int, a SeedGenerator, a seed tensor or None, received {seed!r}.")


def _shape(name: str, shape: Sequence[int]) -> tuple[int, ...]:
    shape = tuple(shape)
    check(all(isinstance(d, (int, np.integer)) and d >= 0 for d in shape), name,
          "a shape of non-negative ints", repr(shape))
    return tuple(int(d) for d in shape)


@op("a shape of non-negative ints", body=True)
def normal(shape: Sequence[int], mean: float = 0.0, stddev: float = 1.0, dtype: str = "float32", seed: Any = None) -> Tensor:
    """Normal draws. Example: ``ops.random.normal((2, 3), seed=0)``"""
    return active().random_normal(_shape("normal", shape), seed_tensor(seed), mean, stddev, dtype)


@op("a shape of non-negative ints and minval < maxval", body=True)
def uniform(shape: Sequence[int], minval: float = 0.0, maxval: float = 1.0, dtype: str = "float32", seed: Any = None) -> Tensor:
    """Uniform draws in ``[minval, maxval)``. Example: ``ops.random.uniform((4,), seed=1)``"""
    check(minval < maxval, "uniform", "minval < maxval", f"minval={minval}, maxval={maxval}")
    return active().random_uniform(_shape("uniform", shape), seed_tensor(seed), minval, maxval, dtype)


@op("a shape of non-negative ints", body=True)
def truncated_normal(shape: Sequence[int], mean: float = 0.0, stddev: float = 1.0, dtype: str = "float32", seed: Any = None) -> Tensor:
    """Normal draws within two standard deviations. Example: ``ops.random.truncated_normal((3,), seed=2)``"""
    return active().truncated_normal(_shape("truncated_normal", shape), seed_tensor(seed), mean, stddev, dtype)


@op("logits of shape (batch, classes)", body=True)
def categorical(logits: Tensor, num_samples: int, dtype: str = "int32", seed: Any = None) -> Tensor:
    """Class draws from logits. Example: ``ops.random.categorical(logits, 5, seed=0)``"""
    check(len(active().shape(logits)) == 2, "categorical", "logits of rank 2 (batch, classes)",
          f"shape {active().shape(logits)}")
    return active().categorical(logits, num_samples, seed_tensor(seed), dtype)


@op("a rate in [0, 1)", body=True)
def dropout(x: Tensor, rate: float, noise_shape: Sequence[int] | None = None, seed: Any = None) -> Tensor:
    """Randomly zero entries and rescale the rest. Example: ``ops.random.dropout(x, 0.5, seed=0)``"""
    check(0.0 <= rate < 1.0, "dropout", "a rate in [0, 1)", repr(rate))
    if rate == 0.0:
        return x
    return active().dropout(x, rate, seed_tensor(seed), None if noise_shape is None else tuple(noise_shape))


@op("a tensor and an axis within its rank", body=True)
def shuffle(x: Tensor, axis: int = 0, seed: Any = None) -> Tensor:
    """Permute along ``axis``. Example: ``ops.random.shuffle(x, seed=0)``"""
    return active().shuffle(x, seed_tensor(seed), axis)
