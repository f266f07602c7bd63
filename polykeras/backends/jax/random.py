"""JAX engine, part 3: seeded random draws.

The seed tensor's two int32 values are the raw data of a threefry2x32 key, so a
traced seed works inside ``jit`` and the same seed always gives the same draw.
Each draw is one compiled kernel per (shape, dtype), so an eager call costs one
dispatch.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp

from polykeras.backends.base import Shape, Tensor, op_error
from polykeras.backends.numpy.random import float_dtype


if TYPE_CHECKING:  # the NumPy engine these JAX mixins specialise
    from polykeras.backends.numpy import NumpyBackend as _Host
else:
    _Host = object


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


@partial(jax.jit, static_argnums=(1, 2))
def _randint(seed: Tensor, shape: Shape, dtype: jnp.dtype, minval: int, maxval: int) -> Tensor:
    return jax.random.randint(_key(seed), shape, minval, maxval, dtype=dtype)


@partial(jax.jit, static_argnums=(1,))
def _gamma(seed: Tensor, shape: Shape, alpha: Tensor) -> Tensor:
    return jax.random.gamma(_key(seed), alpha, shape, dtype=alpha.dtype)


@partial(jax.jit, static_argnums=(1,))
def _binomial(seed: Tensor, shape: Shape, counts: Tensor, probabilities: Tensor) -> Tensor:
    return jax.random.binomial(_key(seed), counts, probabilities, shape, dtype=counts.dtype)


class JaxRandom(_Host):
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

    def randint(self, shape: Shape, seed: Tensor, minval: int, maxval: int, dtype: str = "int32") -> Tensor:
        return _randint(self._seed("randint", seed), tuple(shape), self._native_dtype(dtype), minval, maxval)

    # Gamma and binomial draws compile a rejection loop (seconds on a CPU), so
    # their kernels are keyed by shape and float width only: parameters are
    # broadcast and the result cast outside the kernel.
    def random_gamma(self, shape: Shape, seed: Tensor, alpha: Any, dtype: str = "float32") -> Tensor:
        native = self._native_dtype(float_dtype("random_gamma", dtype))
        work = jnp.float64 if native == jnp.float64 else jnp.float32
        alpha = jnp.broadcast_to(jnp.asarray(self._tensor(alpha), work), tuple(shape))
        return _gamma(self._seed("random_gamma", seed), tuple(shape), alpha).astype(native)

    def random_binomial(self, shape: Shape, seed: Tensor, counts: Any, probabilities: Any,
                        dtype: str = "float32") -> Tensor:
        native = self._native_dtype(dtype)
        work = jnp.float64 if native == jnp.float64 else jnp.float32
        counts = jnp.broadcast_to(jnp.asarray(self._tensor(counts), work), tuple(shape))
        probabilities = jnp.broadcast_to(jnp.asarray(self._tensor(probabilities), work), tuple(shape))
        return _binomial(self._seed("random_binomial", seed), tuple(shape), counts, probabilities).astype(native)
