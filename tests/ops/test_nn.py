"""Activations, softmax, one_hot, moments, batch normalisation and the
cross-entropies on every engine, against the float64 reference."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance import reference as ref
from conformance import strategies as cs
from polykeras import ops

from ._helpers import check, f64, need, numpy, tensor

ACTIVATIONS = {
    "relu": ref.relu,
    "relu6": ref.relu6,
    "leaky_relu": ref.leaky_relu,
    "elu": ref.elu,
    "selu": ref.selu,
    "gelu": ref.gelu,
    "silu": ref.silu,
    "mish": ref.mish,
    "sigmoid": ref.sigmoid,
    "hard_sigmoid": ref.hard_sigmoid,
    "hard_silu": ref.hard_silu,
    "softplus": ref.softplus,
    "softsign": ref.softsign,
}
# Non-default arguments, checked as their own cases.
VARIANTS = {
    "gelu(approximate=False)": ("gelu", {"approximate": False}, functools.partial(ref.gelu, approximate=False)),
    "leaky_relu(negative_slope=0.01)": ("leaky_relu", {"negative_slope": 0.01},
                                        functools.partial(ref.leaky_relu, negative_slope=0.01)),
    "elu(alpha=0.5)": ("elu", {"alpha": 0.5}, functools.partial(ref.elu, alpha=0.5)),
}

COVERED = set(ACTIVATIONS) | {"softmax", "log_softmax", "one_hot", "moments", "batch_normalization",
                              "categorical_crossentropy", "sparse_categorical_crossentropy", "binary_crossentropy"}


def _cases():
    for name, reference in ACTIVATIONS.items():
        yield pytest.param(name, {}, reference, id=name)
    for label, (name, kwargs, reference) in VARIANTS.items():
        yield pytest.param(name, kwargs, reference, id=label)


@pytest.mark.parametrize(("name", "kwargs", "reference"), list(_cases()))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_activation(engine, name, kwargs, reference, dtype):
    need(dtype)

    @given(x=cs.arrays(dtype, cs.shapes(), min_value=-30.0, max_value=30.0))
    def prop(x):
        check(getattr(ops, name)(tensor(x), **kwargs), reference(f64(x)), "nn", dtype, what=f"{name}{x.shape}")

    prop()


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax(engine, name, dtype):
    need(dtype)

    @given(data=st.data(), shape=cs.shapes(min_rank=1))
    def prop(data, shape):
        x = data.draw(cs.arrays(dtype, shape, min_value=-50.0, max_value=50.0))
        axis = data.draw(cs.single_axis(len(shape)))
        check(getattr(ops, name)(tensor(x), axis=axis), getattr(ref, name)(f64(x), axis=axis), "nn", dtype,
              what=f"{name}({shape}, axis={axis})")

    prop()


def test_softmax_is_stable(engine):
    x = np.array([[1000.0, 0.0, -1000.0]], np.float32)
    check(ops.softmax(tensor(x)), ref.softmax(f64(x)), "nn", "float32", what="softmax of large logits")
    check(ops.log_softmax(tensor(x)), ref.log_softmax(f64(x)), "nn", "float32", what="log_softmax of large logits")


@pytest.mark.parametrize("axis", [-1, 0, 1])
@pytest.mark.parametrize("dtype", ["float32", "int32"])
def test_one_hot(engine, axis, dtype):
    ids = np.array([[0, 2, -1], [3, 1, 4]], np.int32)  # -1 and 4 are out of range: all zeros
    out = ops.one_hot(tensor(ids), 4, axis=axis, dtype=dtype)
    check(out, ref.one_hot(ids, 4, axis=axis).astype(dtype), "nn", dtype, what=f"one_hot(axis={axis})")


def test_one_hot_default_dtype(engine):
    assert ops.dtype(ops.one_hot(tensor(np.array([1, 0], np.int32)), 3)) == "float32"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_moments(engine, dtype):
    need(dtype)

    @given(data=st.data(), shape=cs.shapes(min_rank=1), keepdims=st.booleans())
    def prop(data, shape, keepdims):
        x = data.draw(cs.arrays(dtype, shape, min_value=-5.0, max_value=5.0))
        axes = data.draw(cs.axes(len(shape), allow_none=False))
        axes = [axes] if isinstance(axes, int) else list(axes)
        mean, variance = ops.moments(tensor(x), axes, keepdims=keepdims)
        want_mean, want_var = ref.moments(f64(x), axes, keepdims=keepdims)
        check(mean, want_mean, "reduction", dtype, what=f"moments mean ({shape}, axes={axes})")
        check(variance, want_var, "reduction", dtype, what=f"moments variance ({shape}, axes={axes})")

    prop()


@pytest.mark.parametrize("axis", [-1, 1])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_normalization(engine, rng, axis, affine):
    x = rng.uniform(-3, 3, (2, 3, 4, 3)).astype("float32")
    size = x.shape[axis]
    mean = rng.uniform(-1, 1, size).astype("float32")
    variance = rng.uniform(0.1, 2, size).astype("float32")
    offset = rng.uniform(-1, 1, size).astype("float32") if affine else None
    scale = rng.uniform(0.5, 2, size).astype("float32") if affine else None
    out = ops.batch_normalization(tensor(x), tensor(mean), tensor(variance), axis,
                                  offset=None if offset is None else tensor(offset),
                                  scale=None if scale is None else tensor(scale), epsilon=1e-3)
    check(out, ref.batch_normalization(x, mean, variance, axis, offset, scale, 1e-3), "nn", "float32",
          what=f"batch_normalization(axis={axis}, affine={affine})")


def _probabilities(rng, shape):
    p = rng.uniform(0.0, 1.0, shape)
    p[0, 0] = 0.0  # the clip at 1e-7 matters
    return p.astype("float32")


@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("axis", [-1, 1])
def test_categorical_crossentropy(engine, rng, from_logits, axis):
    shape = (4, 5, 3)
    output = rng.uniform(-4, 4, shape).astype("float32") if from_logits else _probabilities(rng, shape)
    ids = rng.integers(0, shape[axis], (4, 3) if axis == 1 else (4, 5))
    target = ref.one_hot(ids, shape[axis], axis=axis).astype("float32")
    out = ops.categorical_crossentropy(tensor(target), tensor(output), from_logits=from_logits, axis=axis)
    check(out, ref.categorical_crossentropy(target, output, from_logits, axis, "float32"), "loss", "float32",
          what=f"categorical_crossentropy(from_logits={from_logits}, axis={axis})")
    out = ops.sparse_categorical_crossentropy(tensor(ids.astype("int32")), tensor(output), from_logits=from_logits,
                                              axis=axis)
    check(out, ref.sparse_categorical_crossentropy(ids, output, from_logits, axis, "float32"), "loss", "float32",
          what=f"sparse_categorical_crossentropy(from_logits={from_logits}, axis={axis})")


def test_sparse_categorical_crossentropy_trailing_axis(engine, rng):
    output = rng.uniform(-4, 4, (6, 4)).astype("float32")
    ids = rng.integers(0, 4, (6, 1)).astype("int32")
    out = ops.sparse_categorical_crossentropy(tensor(ids), tensor(output), from_logits=True)
    check(out, ref.sparse_categorical_crossentropy(ids, output, True), "loss", "float32",
          what="sparse_categorical_crossentropy with (batch, 1) ids")


@pytest.mark.parametrize("from_logits", [False, True])
def test_binary_crossentropy(engine, rng, from_logits):
    target = rng.integers(0, 2, (3, 5)).astype("float32")
    target[0, 0] = 0.3  # soft labels are allowed
    if from_logits:
        output = np.array([-100.0, -5.0, 0.0, 5.0, 100.0] * 3, np.float32).reshape(3, 5)
    else:
        output = _probabilities(rng, (3, 5))
        output[1, 1] = 1.0
    out = ops.binary_crossentropy(tensor(target), tensor(output), from_logits=from_logits)
    check(out, ref.binary_crossentropy(target, output, from_logits, "float32"), "loss", "float32",
          what=f"binary_crossentropy(from_logits={from_logits})")
    assert np.all(np.isfinite(numpy(out)))
