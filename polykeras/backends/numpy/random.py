"""NumPy engine, part 5: seeded random draws.

A seed tensor of two int32 values seeds a ``numpy.random.Generator`` (PCG64
through a ``SeedSequence``, so nearby seeds give unrelated streams). Draws are
made in float64 and cast once to the requested dtype.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from polykeras.backends.base import Shape, Tensor, op_error
from polykeras.backends.dtypes import is_float, standardize_dtype

_UINT32 = 0xFFFFFFFF


if TYPE_CHECKING:  # Backend plus the helpers the NumPy mixins share
    from polykeras.backends.numpy.host import NumpyHost as _Host
else:
    _Host = object


def seed_words(op: str, seed: Any) -> tuple[int, int]:
    """The two 32-bit words of a seed tensor (any array-like of two ints)."""
    values = np.asarray(seed).ravel()
    if values.shape != (2,) or values.dtype.kind not in "iu":
        raise op_error(op, "a seed tensor of two int32 values",
                       f"{values.dtype} values of shape {np.asarray(seed).shape}")
    return int(values[0]) & _UINT32, int(values[1]) & _UINT32


def float_dtype(op: str, dtype: Any) -> str:
    """``dtype`` standardised, refusing non-float dtypes for a float draw."""
    name = standardize_dtype(dtype)
    if not is_float(name):
        raise op_error(op, "a float dtype (float16, bfloat16, float32 or float64)", repr(dtype))
    return name


class NumpyRandom(_Host):
    """Seeded random draws of the NumPy engine (see
    :class:`polykeras.backends.numpy.NumpyBackend`)."""

    def _generator(self, op: str, seed: Tensor) -> np.random.Generator:
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed_words(op, seed))))

    def random_normal(self, shape: Shape, seed: Tensor, mean: float = 0.0, stddev: float = 1.0,
                      dtype: str = "float32") -> Tensor:
        native = self._native_dtype(float_dtype("random_normal", dtype))
        draw = self._generator("random_normal", seed).standard_normal(tuple(shape))
        return np.asarray(draw * stddev + mean).astype(native)

    def random_uniform(self, shape: Shape, seed: Tensor, minval: float = 0.0, maxval: float = 1.0,
                       dtype: str = "float32") -> Tensor:
        native = self._native_dtype(float_dtype("random_uniform", dtype))
        draw = self._generator("random_uniform", seed).uniform(minval, maxval, tuple(shape))
        out = np.asarray(draw).astype(native)
        # Rounding to a narrower dtype may reach maxval; keep the interval half-open.
        below = np.nextafter(np.asarray(maxval, native), np.asarray(minval, native))
        return np.where(out >= np.asarray(maxval, native), below, out).astype(native)

    def truncated_normal(self, shape: Shape, seed: Tensor, mean: float = 0.0, stddev: float = 1.0,
                         dtype: str = "float32") -> Tensor:
        native = self._native_dtype(float_dtype("truncated_normal", dtype))
        rng = self._generator("truncated_normal", seed)
        draw = rng.standard_normal(tuple(shape))
        outside = np.abs(draw) > 2.0
        while outside.any():
            draw[outside] = rng.standard_normal(int(outside.sum()))
            outside = np.abs(draw) > 2.0
        return np.asarray(draw * stddev + mean).astype(native)

    def categorical(self, logits: Tensor, num_samples: int, seed: Tensor, dtype: str = "int32") -> Tensor:
        logits = np.asarray(self._floating(logits), dtype=np.float64)
        if logits.ndim != 2:
            raise op_error("categorical", "logits of shape (batch, classes)", f"shape {logits.shape}")
        gumbel = self._generator("categorical", seed).gumbel(size=(logits.shape[0], num_samples, logits.shape[1]))
        # Gumbel-max: argmax(logits + Gumbel noise) is a draw from softmax(logits).
        return np.argmax(logits[:, None, :] + gumbel, axis=-1).astype(self._native_dtype(dtype))

    def shuffle(self, x: Tensor, seed: Tensor, axis: int = 0) -> Tensor:
        x = self._tensor(x)
        order = self._generator("shuffle", seed).permutation(x.shape[axis])
        return np.take(x, order, axis=axis)

    def randint(self, shape: Shape, seed: Tensor, minval: int, maxval: int, dtype: str = "int32") -> Tensor:
        draw = self._generator("randint", seed).integers(int(minval), int(maxval), tuple(shape))
        return np.asarray(draw).astype(self._native_dtype(dtype))

    def random_gamma(self, shape: Shape, seed: Tensor, alpha: Any, dtype: str = "float32") -> Tensor:
        native = self._native_dtype(float_dtype("random_gamma", dtype))
        alpha = np.broadcast_to(np.asarray(alpha, np.float64), tuple(shape))
        return np.asarray(self._generator("random_gamma", seed).standard_gamma(alpha)).astype(native)

    def random_binomial(self, shape: Shape, seed: Tensor, counts: Any, probabilities: Any,
                        dtype: str = "float32") -> Tensor:
        counts = np.broadcast_to(np.asarray(counts, np.float64), tuple(shape)).astype(np.int64)
        probabilities = np.broadcast_to(np.asarray(probabilities, np.float64), tuple(shape))
        draw = self._generator("random_binomial", seed).binomial(counts, probabilities)
        return np.asarray(draw).astype(self._native_dtype(dtype))
