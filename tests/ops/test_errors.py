"""Bad inputs are refused the same way on every engine: the error names the op,
what it expected and the shapes (or values) it received."""

from __future__ import annotations

import re

import numpy as np
import pytest

from polykeras import ops
from polykeras.backends.dtypes import DTYPES
from polykeras.ops import OpError


def _shape_text(shape: tuple[int, ...]) -> str:
    return re.escape(str(tuple(shape)))


def _raises_naming(op: str, *shapes: tuple[int, ...], error=(OpError, ValueError, TypeError)):
    """``pytest.raises`` for an error whose message starts with the op name and
    shows each received shape."""
    pattern = "".join(f"(?=.*{_shape_text(s)})" for s in shapes)
    return pytest.raises(error, match=rf"(?s)^{op}\b{pattern}")


@pytest.mark.parametrize("name", ["add", "subtract", "multiply", "divide", "maximum", "equal", "power"])
def test_incompatible_broadcast(engine, name):
    with _raises_naming(name, (2, 3), (4,)) as info:
        getattr(ops, name)(ops.ones((2, 3)), ops.ones((4,)))
    assert "broadcast" in str(info.value)


def test_where_incompatible_broadcast(engine):
    with _raises_naming("where", (2,), (3,)):
        ops.where(ops.ones((2,), "bool"), ops.ones((3,)), 0.0)


@pytest.mark.parametrize(("a", "b"), [((2, 3), (4, 5)), ((3,), (2,)), ((2, 2, 3), (2, 4, 1))])
def test_matmul_mismatch(engine, a, b):
    with _raises_naming("matmul", a, b):
        ops.matmul(ops.ones(a), ops.ones(b))


def test_dot_and_einsum_mismatch(engine):
    with _raises_naming("dot", (2, 3), (4, 5)):
        ops.dot(ops.ones((2, 3)), ops.ones((4, 5)))
    with _raises_naming("einsum", (2, 3), (4, 5)):
        ops.einsum("ij,jk->ik", ops.ones((2, 3)), ops.ones((4, 5)))
    with _raises_naming("tensordot", (2, 3), (4, 5)):
        ops.tensordot(ops.ones((2, 3)), ops.ones((4, 5)), axes=1)


@pytest.mark.parametrize("target", [(4, 2), (-1, 4), (7,)])
def test_reshape_to_wrong_size(engine, target):
    with _raises_naming("reshape", (2, 3), target):
        ops.reshape(ops.ones((2, 3)), target)


def test_concatenate_mismatch(engine):
    with _raises_naming("concatenate", (2, 3), (2, 4)):
        ops.concatenate([ops.ones((2, 3)), ops.ones((2, 4))], axis=0)


@pytest.mark.parametrize("make", [
    lambda bad: ops.zeros((2,), bad),
    lambda bad: ops.ones((2,), dtype=bad),
    lambda bad: ops.full((2,), 1.0, bad),
    lambda bad: ops.cast(ops.ones((2,)), bad),
    lambda bad: ops.convert_to_tensor([1.0], bad),
    lambda bad: ops.arange(3, dtype=bad),
], ids=["zeros", "ones", "full", "cast", "convert_to_tensor", "arange"])
def test_unknown_dtype_lists_valid_ones(engine, make):
    with pytest.raises((OpError, ValueError, TypeError), match="float31") as info:
        make("float31")
    message = str(info.value)
    assert all(name in message for name in DTYPES), f"the error should list the valid dtypes: {message}"


def test_conv_wrong_rank(engine):
    with _raises_naming("conv", (1, 5, 3)):
        ops.conv(ops.ones((1, 5, 3)), ops.ones((3, 3, 3, 4)))
    with _raises_naming("depthwise_conv", (1, 5, 5, 5, 3)):
        ops.depthwise_conv(ops.ones((1, 5, 5, 5, 3)), ops.ones((3, 3, 3, 1)))
    with _raises_naming("max_pool", (5, 3)):
        ops.max_pool(ops.ones((5, 3)), 2)


def test_conv_wrong_channels(engine):
    with _raises_naming("conv", (1, 5, 5, 3), (3, 3, 2, 4)):
        ops.conv(ops.ones((1, 5, 5, 3)), ops.ones((3, 3, 2, 4)))
    with _raises_naming("conv", (1, 5, 5, 4), (3, 3, 2, 3)):
        ops.conv(ops.ones((1, 5, 5, 4)), ops.ones((3, 3, 2, 3)))  # 2 groups cannot share 3 filters
    with _raises_naming("depthwise_conv", (1, 5, 5, 3), (3, 3, 4, 1)):
        ops.depthwise_conv(ops.ones((1, 5, 5, 3)), ops.ones((3, 3, 4, 1)))
    with _raises_naming("conv_transpose", (1, 5, 5, 3), (3, 3, 2, 4)):
        ops.conv_transpose(ops.ones((1, 5, 5, 3)), ops.ones((3, 3, 2, 4)))


@pytest.mark.parametrize("call", [
    lambda: ops.conv(ops.ones((1, 5, 5, 3)), ops.ones((3, 3, 3, 4)), padding="full"),
    lambda: ops.conv(ops.ones((1, 5, 5, 3)), ops.ones((3, 3, 3, 4)), padding="SAME"),
    lambda: ops.depthwise_conv(ops.ones((1, 5, 5, 3)), ops.ones((3, 3, 3, 1)), padding="full"),
    lambda: ops.conv_transpose(ops.ones((1, 5, 5, 3)), ops.ones((3, 3, 4, 3)), padding="causal"),
    lambda: ops.max_pool(ops.ones((1, 5, 5, 3)), 2, padding="full"),
    lambda: ops.average_pool(ops.ones((1, 5, 5, 3)), 2, padding="full"),
], ids=["conv-full", "conv-SAME", "depthwise-full", "transpose-causal", "max_pool-full", "average_pool-full"])
def test_bad_padding_string(engine, call):
    with pytest.raises(OpError, match=r"(?s)^(conv|depthwise_conv|conv_transpose|max_pool|average_pool)\b.*padding"):
        call()


def test_bad_data_format(engine):
    with pytest.raises(OpError, match=r"(?s)^conv\b.*data_format.*'NHWC'"):
        ops.conv(ops.ones((1, 5, 5, 3)), ops.ones((3, 3, 3, 4)), data_format="NHWC")


def test_conv_kernel_larger_than_input(engine):
    with _raises_naming("conv", (1, 2, 2, 1), (3, 3, 1, 1)):
        ops.conv(ops.ones((1, 2, 2, 1)), ops.ones((3, 3, 1, 1)), padding="valid")


def test_random_arguments(engine):
    with pytest.raises(OpError, match=r"^uniform\b.*minval < maxval"):
        ops.random.uniform((2,), minval=1.0, maxval=0.0)
    with pytest.raises(OpError, match=r"^dropout\b.*rate"):
        ops.random.dropout(ops.ones((2,)), 1.5)
    with pytest.raises(OpError, match=r"^normal\b.*\(2, -1\)"):
        ops.random.normal((2, -1))
    with pytest.raises(TypeError, match=r"seed.*'abc'"):
        ops.random.normal((2,), seed="abc")


def test_numpy_engine_has_no_autodiff_or_compiler(engine):
    """The reference engine refuses, rather than silently running eagerly."""
    if engine.differentiable:
        pytest.skip(f"{engine.name} differentiates and compiles")
    with pytest.raises(NotImplementedError, match="value_and_grad"):
        ops.value_and_grad(lambda params: ops.sum(params[0]))([ops.ones((2,))])
    with pytest.raises(NotImplementedError, match="jit"):
        ops.jit(lambda x: x)


def test_errors_are_engine_neutral(engine):
    """Messages describe tensors as ``tensor(shape=..., dtype=...)``, not in
    the framework's own repr."""
    with pytest.raises(OpError) as info:
        ops.add(ops.ones((2, 3)), ops.ones((4,)))
    assert "tensor(shape=(2, 3), dtype=float32)" in str(info.value)
    for framework in ("torch.Size", "TensorShape", "tf.Tensor", "Array(", "ndarray"):
        assert framework not in str(info.value)


@pytest.mark.parametrize(("name", "call"), [
    ("take", lambda: ops.take(ops.ones((3,)), ops.convert_to_tensor(np.array([5], np.int32)))),
    ("top_k", lambda: ops.top_k(ops.ones((2, 3)), 4)),
    ("split", lambda: ops.split(ops.ones((5,)), 2)),
    ("squeeze", lambda: ops.squeeze(ops.ones((2, 3)), axis=0)),
    ("transpose", lambda: ops.transpose(ops.ones((2, 3)), (0, 0))),
    ("sum", lambda: ops.sum(ops.ones((2, 3)), axis=2)),
    ("expand_dims", lambda: ops.expand_dims(ops.ones((2, 3)), 4)),
    ("broadcast_to", lambda: ops.broadcast_to(ops.ones((2, 3)), (4, 3))),
    ("stack", lambda: ops.stack([ops.ones((2,)), ops.ones((3,))])),
    ("inv", lambda: ops.linalg.inv(ops.ones((2, 3)))),
])
def test_other_refused_inputs(engine, name, call):
    """Out-of-range indices and impossible shapes raise (never a silent clamp)."""
    with pytest.raises((OpError, ValueError, TypeError, IndexError), match=rf"^{name}\b"):
        call()
