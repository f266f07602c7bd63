"""Tensor creation, conversion, casting, autodiff and compile entry points on
every engine."""

from __future__ import annotations

import numpy as np
import pytest

from conformance.tolerances import assert_close
from polykeras import ops

from ._helpers import check, need, numpy, tensor

COVERED = {
    "convert_to_tensor", "to_numpy", "is_tensor", "shape", "dtype", "cast", "zeros", "ones", "full",
    "zeros_like", "ones_like", "arange", "eye", "stop_gradient", "value_and_grad", "jit",
}


@pytest.mark.parametrize(("value", "dtype", "expected"), [
    (1.5, "float32", np.float32(1.5)),
    (3, "int32", np.int32(3)),
    (True, "bool", np.bool_(True)),
    ([1.0, 2.0], "float32", np.float32([1, 2])),
    ([[1, 2], [3, 4]], "int32", np.int32([[1, 2], [3, 4]])),
    (np.arange(3, dtype=np.float64), "float64", np.arange(3.0)),
    (np.arange(3, dtype=np.int64), "int64", np.arange(3)),
    (np.arange(3, dtype=np.uint8), "uint8", np.arange(3, dtype=np.uint8)),
    (np.float32(2.0), "float32", np.float32(2.0)),
])
def test_convert_to_tensor_dtypes(engine, value, dtype, expected):
    need(dtype)
    out = ops.convert_to_tensor(value)
    assert ops.is_tensor(out)
    check(out, expected, "elementwise", dtype, what=f"convert_to_tensor({value!r})")


@pytest.mark.parametrize(("source", "dtype"), [("float64", "float32"), ("int32", "float32"), ("float32", "int32"),
                                               ("float32", "float16"), ("int32", "bool")])
def test_convert_to_tensor_with_dtype(engine, source, dtype):
    need(dtype)
    x = np.array([0, 1, 2], source)
    check(ops.convert_to_tensor(x, dtype), x.astype(dtype), "elementwise", dtype,
          what=f"convert_to_tensor(..., {dtype})")


@pytest.mark.parametrize("view", ["reversed", "transposed", "strided", "broadcast"])
def test_convert_to_tensor_of_array_views(engine, view):
    """Any NumPy array converts, whatever its memory layout."""
    base = np.arange(12, dtype=np.float32).reshape(3, 4)
    x = {"reversed": base[:, ::-1], "transposed": base.T, "strided": base[::2, 1::2],
         "broadcast": np.broadcast_to(base[0], (2, 4))}[view]
    check(ops.convert_to_tensor(x), np.array(x), "elementwise", "float32", what=f"convert_to_tensor({view} view)")


def test_convert_to_tensor_passes_tensors_through(engine):
    x = ops.ones((2,))
    y = ops.convert_to_tensor(x)
    assert ops.is_tensor(y) and ops.shape(y) == (2,) and ops.dtype(y) == "float32"


def test_is_tensor(engine):
    assert ops.is_tensor(ops.zeros((1,)))
    assert not ops.is_tensor([1.0, 2.0])
    assert not ops.is_tensor(1.0)


def test_to_numpy_shape_dtype(engine):
    x = ops.convert_to_tensor(np.arange(6, dtype=np.int32).reshape(2, 3))
    host = ops.to_numpy(x)
    assert isinstance(host, np.ndarray) and host.dtype == np.int32 and host.shape == (2, 3)
    shape = ops.shape(x)
    assert shape == (2, 3) and isinstance(shape, tuple) and all(type(d) is int for d in shape), shape
    assert ops.dtype(x) == "int32"
    assert ops.shape(ops.convert_to_tensor(1.0)) == ()


@pytest.mark.parametrize(("value", "target"), [(0.1, "float64"), (2.7, "int32"), (-3, "float32"), (0.5, "bool")])
def test_cast_of_a_python_number_keeps_its_digits(engine, value, target):
    need(target)
    out = ops.cast(value, target)
    assert ops.dtype(out) == target
    expected = np.asarray(value).astype(target)
    assert numpy(out) == expected, (numpy(out), expected)


@pytest.mark.parametrize(("source", "target"), [
    ("float32", "int32"), ("float32", "float64"), ("float32", "bool"), ("bool", "float32"), ("int32", "float32"),
    ("float64", "float32"), ("float32", "float16"), ("float32", "bfloat16"), ("int32", "int64"), ("int32", "uint8"),
])
def test_cast(engine, source, target):
    need(source)
    need(target)
    values = np.array([-2.7, -1.0, -0.5, 0.0, 0.5, 1.0, 2.7], np.float64)
    if source == "bool" or target == "uint8":
        values = np.abs(values)
    x = values.astype(source)
    out = ops.cast(tensor(x), target)
    assert ops.dtype(out) == target
    # float -> int truncates toward zero; -> bool is "non-zero"; bfloat16 compares as float64
    host = numpy(out)
    if target == "bfloat16":
        host, expected = host.astype(np.float64), x.astype(np.float64)
    else:
        expected = x.astype(target)
    assert_close(host, expected, "elementwise", target, err_msg=f"cast {source} -> {target}")


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "bool"])
def test_zeros_ones_full(engine, dtype):
    need(dtype)
    shape = (2, 3)
    check(ops.zeros(shape, dtype), np.zeros(shape, dtype), "elementwise", dtype, what="zeros")
    check(ops.ones(shape, dtype), np.ones(shape, dtype), "elementwise", dtype, what="ones")
    check(ops.full(shape, 1, dtype), np.full(shape, 1, dtype), "elementwise", dtype, what="full")
    base = tensor(np.zeros((4,), dtype))
    check(ops.zeros_like(base), np.zeros((4,), dtype), "elementwise", dtype, what="zeros_like")
    check(ops.ones_like(base), np.ones((4,), dtype), "elementwise", dtype, what="ones_like")


def test_creation_defaults(engine):
    assert ops.dtype(ops.zeros((2,))) == "float32"
    assert ops.dtype(ops.ones(())) == "float32"
    assert ops.dtype(ops.full((2,), 7.0)) == "float32"
    check(ops.full((2, 2), 7.5), np.full((2, 2), 7.5, np.float32), "elementwise", "float32", what="full")
    check(ops.zeros_like(ops.ones((2,), "int32"), dtype="float32"), np.zeros(2, np.float32), "elementwise", "float32",
          what="zeros_like(dtype=float32)")
    assert ops.shape(ops.zeros((0, 3))) == (0, 3)


@pytest.mark.parametrize(("args", "kwargs", "expected"), [
    ((5,), {}, np.arange(5, dtype=np.int32)),
    ((2, 10, 3), {}, np.arange(2, 10, 3, dtype=np.int32)),
    ((5, 0, -2), {}, np.arange(5, 0, -2, dtype=np.int32)),
    ((0.0, 1.0, 0.25), {}, np.arange(0.0, 1.0, 0.25, dtype=np.float32)),
    ((3.0,), {}, np.arange(3.0, dtype=np.float32)),
    ((4,), {"dtype": "float32"}, np.arange(4, dtype=np.float32)),
    ((1, 4), {"dtype": "float64"}, np.arange(1, 4, dtype=np.float64)),
])
def test_arange(engine, args, kwargs, expected):
    need(expected.dtype.name)
    check(ops.arange(*args, **kwargs), expected, "elementwise", expected.dtype.name, what=f"arange{args}")


@pytest.mark.parametrize(("n", "m", "dtype"), [(3, None, "float32"), (2, 4, "float32"), (3, 2, "int32")])
def test_eye(engine, n, m, dtype):
    check(ops.eye(n, m, dtype=dtype), np.eye(n, m, dtype=dtype), "elementwise", dtype, what=f"eye({n}, {m})")


def test_stop_gradient_forward(engine):
    x = np.array([1.0, -2.0], np.float32)
    check(ops.stop_gradient(tensor(x)), x, "elementwise", "float32", what="stop_gradient")


# ------------------------------------------------------------- autodiff / jit
def test_value_and_grad_basics(diff_engine):
    def loss(params, scale):
        w, b = params
        return ops.sum(ops.square(ops.add(ops.multiply(w, scale), b)))

    w, b = tensor(np.float32([1.0, 2.0])), tensor(np.float32(0.5))
    value, grads = ops.value_and_grad(loss)([w, b], 3.0)
    assert isinstance(grads, (list, tuple)) and len(grads) == 2
    assert_close(numpy(value), np.float64(3.5**2 + 6.5**2), "gradient", "float32", err_msg="value")
    assert_close(numpy(grads[0]), 2 * 3.0 * np.array([3.5, 6.5]), "gradient", "float32", err_msg="d/dw")
    assert_close(numpy(grads[1]), np.float64(2 * (3.5 + 6.5)), "gradient", "float32", err_msg="d/db")
    assert ops.shape(grads[1]) == ()


def test_value_and_grad_has_aux(diff_engine):
    def loss(params):
        y = ops.multiply(params[0], 2.0)
        return ops.sum(y), {"y": y}

    (value, aux), grads = ops.value_and_grad(loss, has_aux=True)([tensor(np.float32([1.0, 2.0]))])
    assert_close(numpy(value), np.float64(6.0), "gradient", "float32")
    assert_close(numpy(aux["y"]), np.array([2.0, 4.0]), "gradient", "float32")
    assert_close(numpy(grads[0]), np.array([2.0, 2.0]), "gradient", "float32")


def test_stop_gradient_blocks_gradient(diff_engine):
    def loss(params):
        x = params[0]
        return ops.sum(ops.multiply(x, ops.stop_gradient(x)))

    _, (grad,) = ops.value_and_grad(loss)([tensor(np.float32([3.0, -1.0]))])
    assert_close(numpy(grad), np.array([3.0, -1.0]), "gradient", "float32", err_msg="d/dx x * stop(x)")


def test_jit_matches_eager(diff_engine):
    def step(state, batch):
        w = state["w"]
        y = ops.matmul(batch[0], w)
        return {"w": ops.subtract(w, 0.1)}, [ops.sum(y), ops.relu(y)]

    w = tensor(np.float32([[1.0, -1.0], [0.5, 2.0]]))
    x = tensor(np.float32([[1.0, 2.0], [3.0, 4.0], [-1.0, 0.0]]))
    eager_state, eager_logs = step({"w": w}, (x,))
    fast = ops.jit(step)
    for _ in range(2):  # the second call reuses the compiled function
        state, logs = fast({"w": w}, (x,))
        assert_close(numpy(state["w"]), numpy(eager_state["w"]), "layer", "float32", err_msg="jit state")
        for got, want in zip(logs, eager_logs):
            assert_close(numpy(got), numpy(want), "layer", "float32", err_msg="jit logs")


def test_value_and_grad_inside_jit(diff_engine):
    grad_fn = ops.value_and_grad(lambda params, x: ops.sum(ops.square(ops.multiply(params[0], x))))
    fast = ops.jit(lambda params, x: grad_fn(params, x))
    value, (grad,) = fast([tensor(np.float32([1.0, 2.0]))], tensor(np.float32([3.0, 1.0])))
    assert_close(numpy(value), np.float64(13.0), "gradient", "float32")
    assert_close(numpy(grad), np.array([18.0, 4.0]), "gradient", "float32")
