"""The protocol's promises about native variable handles, on every engine:
``engine.variable`` handles go into every kind of op as they are, ``assign``
writes them, ``value_and_grad`` differentiates with respect to them (inside
``jit`` too), and gradients come back dense, shaped like their parameters."""

from __future__ import annotations

import numpy as np
import pytest

from polykeras import ops

RNG = np.random.default_rng(7)
W = RNG.standard_normal((3, 4)).astype("float32")
X = RNG.standard_normal((2, 3)).astype("float32")
B = RNG.standard_normal((4,)).astype("float32")


def _np_conv1d(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Valid 1-D cross-correlation, channels_last, kernel (taps, in, out)."""
    taps = k.shape[0]
    steps = x.shape[1] - taps + 1
    return np.stack([np.einsum("btc,tcf->bf", x[:, i:i + taps], k) for i in range(steps)], axis=1)


# name -> (call on the handle h, the same on the NumPy array w)
OPS = {
    "add": (lambda h: ops.add(h, 1.0), lambda w: w + 1.0),
    "multiply": (lambda h: ops.multiply(2.0, h), lambda w: 2.0 * w),
    "matmul": (lambda h: ops.matmul(ops.convert_to_tensor(X), h), lambda w: X @ w),
    "sum": (lambda h: ops.sum(h, axis=-1), lambda w: w.sum(-1)),
    "mean": (lambda h: ops.mean(h, axis=(0, 1), keepdims=True), lambda w: w.mean((0, 1), keepdims=True)),
    "max": (lambda h: ops.max(h, axis=0), lambda w: w.max(0)),
    "reshape": (lambda h: ops.reshape(h, (-1,)), lambda w: w.reshape(-1)),
    "transpose": (lambda h: ops.transpose(h), lambda w: w.T),
    "take": (lambda h: ops.take(h, [2, 0, -1], axis=1), lambda w: w[:, [2, 0, -1]]),
    "concatenate": (lambda h: ops.concatenate([h, h], axis=0), lambda w: np.concatenate([w, w], 0)),
    "where": (lambda h: ops.where(ops.greater(h, 0.0), h, 0.0), lambda w: np.where(w > 0, w, 0.0)),
    "relu": (lambda h: ops.relu(h), lambda w: np.maximum(w, 0.0)),
    "softmax": (lambda h: ops.softmax(h), lambda w: np.exp(w) / np.exp(w).sum(-1, keepdims=True)),
    "cast": (lambda h: ops.cast(h, "float64"), lambda w: w.astype("float64")),
    "conv": (lambda h: ops.conv(ops.ones((1, 5, 4)), ops.reshape(h, (3, 4, 1))),
             lambda w: _np_conv1d(np.ones((1, 5, 4), "float32"), w.reshape(3, 4, 1))),
    "slice": (lambda h: ops.slice(h, (1, 1), (2, 2)), lambda w: w[1:3, 1:3]),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_ops_take_variable_handles(engine, name):
    handle = engine.variable(W, "float32", True, "w")
    call, expected = OPS[name]
    out = call(handle)
    want = expected(W)
    got = ops.to_numpy(out)
    assert got.shape == want.shape, f"{name} on a handle: shape {got.shape}, expected {want.shape}"
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=f"{name} on a {engine.name} handle")


def test_shape_dtype_and_numpy_of_a_handle(engine):
    handle = engine.variable(np.arange(6).reshape(2, 3), "int32", False, "count")
    assert ops.shape(handle) == (2, 3) and ops.dtype(handle) == "int32" and ops.is_tensor(handle)
    np.testing.assert_array_equal(ops.to_numpy(handle), np.arange(6).reshape(2, 3))


def test_assign_writes_the_value(engine):
    handle = engine.variable(W, "float32", True, "w")
    kept = engine.assign(handle, np.full((3, 4), 2.0))
    np.testing.assert_array_equal(ops.to_numpy(kept), np.full((3, 4), 2.0, "float32"))
    assert ops.dtype(kept) == "float32"
    kept = engine.assign(kept, ops.multiply(kept, 3.0))
    np.testing.assert_array_equal(ops.to_numpy(kept), np.full((3, 4), 6.0, "float32"))


def _loss(params, x):
    w, b = params
    return ops.sum(ops.square(ops.add(ops.matmul(x, w), b)))


def _expected_grads(w, b, x):
    residual = 2.0 * (x @ w + b)
    return x.T @ residual, residual.sum(0)


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "jit"])
def test_value_and_grad_with_respect_to_handles(diff_engine, compiled):
    w = diff_engine.variable(W, "float32", True, "w")
    b = diff_engine.variable(B, "float32", True, "b")
    step = ops.value_and_grad(_loss)
    if compiled:
        step = ops.jit(step)
    value, grads = step([w, b], ops.convert_to_tensor(X))
    want_w, want_b = _expected_grads(W, B, X)
    np.testing.assert_allclose(ops.to_numpy(value), np.sum((X @ W + B) ** 2), rtol=1e-5)
    np.testing.assert_allclose(ops.to_numpy(grads[0]), want_w, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ops.to_numpy(grads[1]), want_b, rtol=1e-5, atol=1e-5)


def test_value_and_grad_of_a_non_trainable_handle(diff_engine):
    stat = diff_engine.variable(B, "float32", False, "moving_mean")
    _, (grad,) = ops.value_and_grad(lambda p: ops.sum(ops.square(p[0])))([stat])
    np.testing.assert_allclose(ops.to_numpy(grad), 2.0 * B, rtol=1e-6)


def test_unconnected_parameters_get_zero_gradients(diff_engine):
    used, unused = ops.ones((2,)), ops.ones((3,))
    (value, aux), grads = ops.value_and_grad(lambda p: (ops.sum(p[0]), "aux"), has_aux=True)([used, unused])
    assert aux == "aux"
    np.testing.assert_array_equal(ops.to_numpy(grads[0]), np.ones(2, "float32"))
    np.testing.assert_array_equal(ops.to_numpy(grads[1]), np.zeros(3, "float32"))


def test_gather_gradient_is_dense(diff_engine):
    table = diff_engine.variable(W, "float32", True, "embeddings")
    ids = ops.convert_to_tensor(np.array([[0, 2], [2, 2]], "int32"))
    _, (grad,) = ops.value_and_grad(lambda p: ops.sum(ops.take(p[0], ids, axis=0)))([table])
    want = np.zeros_like(W)
    np.add.at(want, np.array([0, 2, 2, 2]), 1.0)
    assert ops.shape(grad) == W.shape
    np.testing.assert_array_equal(ops.to_numpy(ops.add(grad, 0.0)), want)
