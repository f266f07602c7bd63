"""JAX engine, part 3: seeded random draws.

The seed tensor's two int32 values are the raw data of a threefry2x32 key, so a
traced seed works inside ``jit`` and the same seed always gives the same draw.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from polykeras.backends.base import Shape, Tensor, op_error
from polykeras.backends.numpy.random import float_dtype


class JaxRandom:
    """Seeded random draws of the JAX engine (see
    :class:`polykeras.backends.jax.JaxBackend`)."""

    def _key(self, op: str, seed: Tensor) -> jax.Array:
        seed = self._tensor(seed)
        if seed.shape != (2,) or seed.dtype.kind not in "iu":
            raise op_error(op, "a seed tensor of two int32 values", f"{seed.dtype} values of shape {tuple(seed.shape)}")
        return jax.random.wrap_key_data(seed.astype(jnp.uint32), impl="threefry2x32")

    def random_normal(self, shape: Shape, seed: Tensor, mean: float = 0.0, stddev: float = 1.0,
                      dtype: str = "float32") -> Tensor:
        native = self._native_dtype(float_dtype("random_normal", dtype))
        draw = jax.random.normal(self._key("random_normal", seed), tuple(shape), dtype=native)
        return draw * stddev + mean

    def random_uniform(self, shape: Shape, seed: Tensor, minval: float = 0.0, maxval: float = 1.0,
                       dtype: str = "float32") -> Tensor:
        native = self._native_dtype(float_dtype("random_uniform", dtype))
        return jax.random.uniform(self._key("random_uniform", seed), tuple(shape), dtype=native,
                                  minval=minval, maxval=maxval)

    def truncated_normal(self, shape: Shape, seed: Tensor, mean: float = 0.0, stddev: float = 1.0,
                         dtype: str = "float32") -> Tensor:
        native = self._native_dtype(float_dtype("truncated_normal", dtype))
        draw = jax.random.truncated_normal(self._key("truncated_normal", seed), -2.0, 2.0, tuple(shape), dtype=native)
        return draw * stddev + mean

    def categorical(self, logits: Tensor, num_samples: int, seed: Tensor, dtype: str = "int32") -> Tensor:
        logits = self._floating(logits)
        if logits.ndim != 2:
            raise op_error("categorical", "logits of shape (batch, classes)", f"shape {tuple(logits.shape)}")
        draws = jax.random.categorical(self._key("categorical", seed), logits, axis=-1,
                                       shape=(num_samples, logits.shape[0]))
        return draws.T.astype(self._native_dtype(dtype))

    def shuffle(self, x: Tensor, seed: Tensor, axis: int = 0) -> Tensor:
        return jax.random.permutation(self._key("shuffle", seed), self._tensor(x), axis=axis, independent=False)
