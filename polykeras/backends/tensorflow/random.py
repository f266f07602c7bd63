"""TensorFlow engine, part 6: random draws from TF's stateless generators.

The seed (two int32 values, or uint32 from ``SeedGenerator``) goes straight to
``tf.random.stateless_*``: the same seed gives the same numbers, and a traced
seed works inside ``tf.function``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from polykeras.backends.base import Shape, Tensor
from polykeras.backends.tensorflow.core import INEXACT, INT32, R, floating, tensor, tf_dtype


def _seed(seed: Any) -> Tensor:
    if not tf.is_tensor(seed):
        seed = tf.constant(np.asarray(seed).astype(np.int64))  # uint32 values fit in int64
    if seed.dtype not in (INT32, tf.int64):
        seed = R.Cast(x=seed, DstT=tf.int64)  # uint32 values fit in int64
    return seed


def _float(dtype: str, op: str) -> tf.DType:
    native = tf_dtype(dtype)
    if native not in INEXACT or native.is_complex:
        raise ValueError(f"{op}: expected a float dtype, received {dtype!r}.")
    return native


class TensorflowRandom:
    """Random draws of the TensorFlow engine (see
    :class:`polykeras.backends.tensorflow.TensorflowBackend`)."""

    def random_normal(self, shape: Shape, seed: Tensor, mean: float = 0.0, stddev: float = 1.0,
                      dtype: str = "float32") -> Tensor:
        return tf.random.stateless_normal(tuple(shape), _seed(seed), mean, stddev,
                                          dtype=_float(dtype, "random_normal"))

    def random_uniform(self, shape: Shape, seed: Tensor, minval: float = 0.0, maxval: float = 1.0,
                       dtype: str = "float32") -> Tensor:
        native = tf_dtype(dtype)
        if native in INEXACT:
            return tf.random.stateless_uniform(tuple(shape), _seed(seed), minval, maxval, dtype=native)
        # Integers: uniform over [minval, maxval) drawn as int32/int64, then cast.
        work = tf.int64 if native in (tf.int64, tf.uint32, tf.uint64) else INT32
        out = tf.random.stateless_uniform(tuple(shape), _seed(seed), int(minval), int(maxval), dtype=work)
        return out if native == work else R.Cast(x=out, DstT=native)

    def dropout(self, x: Tensor, rate: float, seed: Tensor, noise_shape: Shape | None = None) -> Tensor:
        """The portable dropout, with the noise shaped at run time so a step
        traced for an unknown batch size works."""
        x = floating(tensor(x))
        dynamic = tf.shape(x)
        if noise_shape is None:
            shape = dynamic
        else:
            shape = tf.stack([dynamic[i] if d is None else d for i, d in enumerate(noise_shape)])
        keep = tf.random.stateless_uniform(shape, _seed(seed), dtype=x.dtype) >= rate
        return tf.where(keep, x / tf.cast(1.0 - rate, x.dtype), tf.zeros_like(x))

    def truncated_normal(self, shape: Shape, seed: Tensor, mean: float = 0.0, stddev: float = 1.0,
                         dtype: str = "float32") -> Tensor:
        return tf.random.stateless_truncated_normal(tuple(shape), _seed(seed), mean, stddev,
                                                    dtype=_float(dtype, "truncated_normal"))

    def categorical(self, logits: Tensor, num_samples: int, seed: Tensor, dtype: str = "int32") -> Tensor:
        native = tf_dtype(dtype)
        work = native if native in (INT32, tf.int64) else tf.int64
        out = tf.random.stateless_categorical(floating(logits), int(num_samples), _seed(seed), dtype=work)
        return out if native == work else R.Cast(x=out, DstT=native)

    def randint(self, shape: Shape, seed: Tensor, minval: int, maxval: int, dtype: str = "int32") -> Tensor:
        native = tf_dtype(dtype)
        work = tf.int64 if native in (tf.int64, tf.uint32, tf.uint64) else INT32
        out = tf.random.stateless_uniform(tuple(shape), _seed(seed), int(minval), int(maxval), dtype=work)
        return out if native == work else R.Cast(x=out, DstT=native)

    def random_gamma(self, shape: Shape, seed: Tensor, alpha: Any, dtype: str = "float32") -> Tensor:
        native = _float(dtype, "random_gamma")
        work = tf.float64 if native == tf.float64 else tf.float32
        alpha = tf.broadcast_to(tf.cast(alpha, work), tuple(shape))
        out = tf.random.stateless_gamma(tuple(shape), _seed(seed), alpha=alpha, dtype=work)
        return out if native == work else R.Cast(x=out, DstT=native)

    def random_binomial(self, shape: Shape, seed: Tensor, counts: Any, probabilities: Any,
                        dtype: str = "float32") -> Tensor:
        native = tf_dtype(dtype)
        work = tf.float64 if native == tf.float64 else tf.float32
        counts = tf.broadcast_to(tf.cast(counts, work), tuple(shape))
        probabilities = tf.broadcast_to(tf.cast(probabilities, work), tuple(shape))
        out = tf.random.stateless_binomial(tuple(shape), _seed(seed), counts, probabilities, output_dtype=work)
        return out if native == work else R.Cast(x=out, DstT=native)

    def shuffle(self, x: Tensor, seed: Tensor, axis: int = 0) -> Tensor:
        x = tensor(x)
        length = x.shape[axis] if x.shape[axis] is not None else tf.shape(x)[axis]
        order = tf.random.experimental.stateless_shuffle(tf.range(length), _seed(seed))
        return R.GatherV2(params=x, indices=order, axis=axis, batch_dims=0)
