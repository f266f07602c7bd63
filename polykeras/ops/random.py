"""Random draws (Keras 3's ``keras.random``; ``polykeras.random`` re-exports
them beside ``SeedGenerator``). ``seed`` is an int, a ``polykeras.random.SeedGenerator`` (the
form that works inside compiled steps), a seed tensor of two int32 values, or
None (a fresh draw from the global generator, see ``polykeras.random.set_seed``).
The same seed gives the same numbers on the same engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from polykeras.backends import active
from polykeras.backends.dtypes import is_float, is_int, standardize_dtype
from polykeras.ops._dispatch import OpSpec, check, op

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


def _shape(name: str, shape: Sequence[int]) -> tuple[Any, ...]:
    """``shape`` checked: ints, or scalar tensors for sizes known only at run
    time (``ops.shape`` of a traced tensor on TensorFlow, as in Keras 3)."""
    shape = tuple(shape)
    engine = active()
    check(all((isinstance(d, (int, np.integer)) and d >= 0) or (engine.is_tensor(d) and not engine.shape(d))
              for d in shape), name, "a shape of non-negative ints", repr(shape))
    return tuple(int(d) if isinstance(d, (int, np.integer)) else d for d in shape)


@op("a shape of non-negative ints", body=True)
def normal(shape: Sequence[int], mean: float = 0.0, stddev: float = 1.0, dtype: str | None = None,
           seed: Any = None) -> Tensor:
    """Normal draws (``dtype`` None: ``config.floatx()``). Example: ``ops.random.normal((2, 3), seed=0)``"""
    return active().random_normal(_shape("normal", shape), seed_tensor(seed), mean, stddev, standardize_dtype(dtype))


@op("a shape of non-negative ints and minval < maxval", body=True)
def uniform(shape: Sequence[int], minval: float = 0.0, maxval: float = 1.0, dtype: str | None = None,
            seed: Any = None) -> Tensor:
    """Uniform draws in ``[minval, maxval)``. Example: ``ops.random.uniform((4,), seed=1)``"""
    check(minval < maxval, "uniform", "minval < maxval", f"minval={minval}, maxval={maxval}")
    return active().random_uniform(_shape("uniform", shape), seed_tensor(seed), minval, maxval,
                                   standardize_dtype(dtype))


@op("a shape of non-negative ints", body=True)
def truncated_normal(shape: Sequence[int], mean: float = 0.0, stddev: float = 1.0, dtype: str | None = None,
                     seed: Any = None) -> Tensor:
    """Normal draws within two standard deviations. Example: ``ops.random.truncated_normal((3,), seed=2)``"""
    return active().truncated_normal(_shape("truncated_normal", shape), seed_tensor(seed), mean, stddev,
                                     standardize_dtype(dtype))


def _like_x(x: Any, *args: Any, **kwargs: Any) -> OpSpec:
    """The shape rule of draws shaped like their input (no abstract
    evaluation: an engine's random kernels may read their seed's value)."""
    from polykeras.ops.core import dtype

    return OpSpec(tuple(x.shape), dtype(x))


def _categorical_spec(logits: Any, num_samples: int, dtype: str = "int32", seed: Any = None) -> OpSpec:
    check(len(logits.shape) == 2, "categorical", "logits of rank 2 (batch, classes)", f"shape {tuple(logits.shape)}")
    return OpSpec((logits.shape[0], int(num_samples)), dtype)


@op("logits of shape (batch, classes)", body=True, spec=_categorical_spec)
def categorical(logits: Tensor, num_samples: int, dtype: str = "int32", seed: Any = None) -> Tensor:
    """Class draws from logits. Example: ``ops.random.categorical(logits, 5, seed=0)``"""
    check(len(active().shape(logits)) == 2, "categorical", "logits of rank 2 (batch, classes)",
          f"shape {active().shape(logits)}")
    return active().categorical(logits, num_samples, seed_tensor(seed), dtype)


@op("a rate in [0, 1)", body=True, spec=_like_x)
def dropout(inputs: Tensor, rate: float, noise_shape: Sequence[int] | None = None, seed: Any = None) -> Tensor:
    """Randomly zero entries and rescale the rest. Example: ``ops.random.dropout(x, 0.5, seed=0)``"""
    check(0.0 <= rate < 1.0, "dropout", "a rate in [0, 1)", repr(rate))
    if rate == 0.0:
        return inputs
    return active().dropout(inputs, rate, seed_tensor(seed), None if noise_shape is None else tuple(noise_shape))


@op("a tensor and an axis within its rank", body=True, spec=_like_x)
def shuffle(x: Tensor, axis: int = 0, seed: Any = None) -> Tensor:
    """Permute along ``axis``. Example: ``ops.random.shuffle(x, seed=0)``"""
    return active().shuffle(x, seed_tensor(seed), axis)


def _int_bound(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


@op("a shape of non-negative ints, int bounds minval < maxval and an integer dtype", body=True)
def randint(shape: Sequence[int], minval: int, maxval: int, dtype: str = "int32", seed: Any = None) -> Tensor:
    """Integers drawn uniformly from ``[minval, maxval)``.

    Example: ``ops.random.randint((2, 3), 0, 10, seed=0)``
    """
    name = standardize_dtype(dtype)
    check(is_int(name), "randint", "an integer dtype", f"dtype={dtype!r}")
    check(_int_bound(minval) and _int_bound(maxval) and minval < maxval, "randint", "int bounds minval < maxval",
          f"minval={minval!r}, maxval={maxval!r}")
    return active().randint(_shape("randint", shape), seed_tensor(seed), int(minval), int(maxval), name)


def _positive(name: str, what: str, value: Any) -> None:
    if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        check(value > 0, name, f"a positive {what}", f"{what}={value!r}")


def _float_dtype(name: str, dtype: Any) -> str:
    found = standardize_dtype(dtype)
    check(is_float(found), name, "a float dtype", f"dtype={dtype!r}")
    return found


@op("a shape of non-negative ints, a positive alpha and a float dtype", body=True)
def gamma(shape: Sequence[int], alpha: Any, dtype: str | None = None, seed: Any = None) -> Tensor:
    """Gamma draws with concentration ``alpha`` (a scalar or a tensor that
    broadcasts to ``shape``) and scale 1.

    Example: ``ops.random.gamma((1000,), alpha=2.0, seed=0)``
    """
    _positive("gamma", "alpha", alpha)
    return active().random_gamma(_shape("gamma", shape), seed_tensor(seed), alpha, _float_dtype("gamma", dtype))


@op("a shape of non-negative ints, positive alpha and beta and a float dtype", body=True)
def beta(shape: Sequence[int], alpha: Any, beta: Any, dtype: str | None = None, seed: Any = None) -> Tensor:
    """Beta draws in ``[0, 1]`` with concentrations ``alpha`` and ``beta``
    (scalars or tensors that broadcast to ``shape``).

    Example: ``ops.random.beta((1000,), alpha=2.0, beta=5.0, seed=0)``
    """
    _positive("beta", "alpha", alpha)
    _positive("beta", "beta", beta)
    return active().random_beta(_shape("beta", shape), seed_tensor(seed), alpha, beta, _float_dtype("beta", dtype))


@op("a shape of non-negative ints, counts >= 0 and probabilities in [0, 1]", body=True)
def binomial(shape: Sequence[int], counts: Any, probabilities: Any, dtype: str | None = None,
             seed: Any = None) -> Tensor:
    """Successes in ``counts`` trials of probability ``probabilities`` (each a
    scalar or a tensor that broadcasts to ``shape``), as ``dtype``
    (None: ``config.floatx()``).

    Example: ``ops.random.binomial((4,), counts=10, probabilities=0.3, seed=0)``
    """
    if isinstance(counts, (int, float, np.number)) and not isinstance(counts, bool):
        check(counts >= 0, "binomial", "counts >= 0", f"counts={counts!r}")
    if isinstance(probabilities, (int, float, np.number)) and not isinstance(probabilities, bool):
        check(0.0 <= probabilities <= 1.0, "binomial", "probabilities in [0, 1]", f"probabilities={probabilities!r}")
    return active().random_binomial(_shape("binomial", shape), seed_tensor(seed), counts, probabilities,
                                    standardize_dtype(dtype))
