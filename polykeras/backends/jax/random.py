"""JAX engine, part 3: seeded random draws.

The seed tensor's two int32 values are the raw data of a threefry2x32 key, so a
traced seed works inside ``jit`` and the same seed always gives the same draw.
Each draw is one compiled kernel per (shape, dtype), so an eager call costs one
dispatch.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from polykeras.backends.base import Shape, Tensor, op_error
from polykeras.backends.numpy.random import float_dtype


def _key(seed: Tensor) -> jax.Array:
    return jax.random.wrap_key_data(seed.astype(jnp.uint32), impl="threefry2x32")


@partial(jax.jit, static_argnums=(1, 2))
def _normal(seed: Tensor, shape: Shape, dtype: jnp.dtype, mean: float, stddev: float) -> Tensor:
    return jax.random.normal(_key(seed), shape, dtype=dtype) * stddev + mean


@partial(jax.jit, static_argnums=(1, 2))
def _uniform(seed: Tensor, shape: Shape, dtype: jnp.dtype, minval: float, maxval: float) -> Tensor:
    draw = jax.random.uniform(_key(seed), shape, dtype=dtype, minval=minval, maxval=maxval)
    # In float16/bfloat16 a draw may round up to maxval; keep the interval half-open.
    top = jnp.asarray(maxval, dtype)
    return jnp.where(draw >= top, jnp.nextafter(top, jnp.asarray(minval, dtype)), draw)


@partial(jax.jit, static_argnums=(1, 2))
def _truncated_normal(seed: Tensor, shape: Shape, dtype: jnp.dtype, mean: float, stddev: float) -> Tensor:
    return jax.random.truncated_normal(_key(seed), -2.0, 2.0, shape, dtype=dtype) * stddev + mean


@partial(jax.jit, static_argnums=(1, 3))
def _categorical(seed: Tensor, num_samples: int, logits: Tensor, dtype: jnp.dtype) -> Tensor:
    draws = jax.random.categorical(_key(seed), logits, axis=-1, shape=(num_samples, logits.shape[0]))
    return draws.T.astype(dtype)


@partial(jax.jit, static_argnums=(2,))
def _shuffle(seed: Tensor, x: Tensor, axis: int) -> Tensor:
    return jax.random.permutation(_key(seed), x, axis=axis, independent=False)


class JaxRandom:
    """Seeded random draws of the JAX engine (see
    :class:`polykeras.backends.jax.JaxBackend`)."""

    def _seed(self, op: str, seed: Tensor) -> Tensor:
        seed = self._tensor(seed)
        if seed.shape != (2,) or seed.dtype.kind not in "iu":
            raise op_error(op, "a seed tensor of two int32 values", f"{seed.dtype} values of shape {tuple(seed.shape)}")
        return seed

    def random_normal(self, shape: Shape, seed: Tensor, mean: float = 0.0, stddev: float = 1.0,
                      dtype: str = "float32") -> Tensor:
        native = self._native_dtype(float_dtype("random_normal", dtype))
        return _normal(self._seed("random_normal", seed), tuple(shape), native, mean, stddev)

    def random_uniform(self, shape: Shape, seed: Tensor, minval: float = 0.0, maxval: float = 1.0,
                       dtype: str = "float32") -> Tensor:
        native = self._native_dtype(float_dtype("random_uniform", dtype))
        return _uniform(self._seed("random_uniform", seed), tuple(shape), native, minval, maxval)

    def truncated_normal(self, shape: Shape, seed: Tensor, mean: float = 0.0, stddev: float = 1.0,
                         dtype: str = "float32") -> Tensor:
        native = self._native_dtype(float_dtype("truncated_normal", dtype))
        return _truncated_normal(self._seed("truncated_normal", seed), tuple(shape), native, mean, stddev)

    def categorical(self, logits: Tensor, num_samples: int, seed: Tensor, dtype: str = "int32") -> Tensor:
        logits = self._floating(logits)
        if logits.ndim != 2:
            raise op_error("categorical", "logits of shape (batch, classes)", f"shape {tuple(logits.shape)}")
        return _categorical(self._seed("categorical", seed), int(num_samples), logits, self._native_dtype(dtype))

    def shuffle(self, x: Tensor, seed: Tensor, axis: int = 0) -> Tensor:
        return _shuffle(self._seed("shuffle", seed), self._tensor(x), int(axis))
