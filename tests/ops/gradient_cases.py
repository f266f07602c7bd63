"""The gradient matrix: for each differentiable public op, how to call it on
engine tensors, the float64 reference of the same call, and inputs away from
kinks (so central finite differences are meaningful).

A case's loss is ``sum_i sum(output_i * weight_i)`` with fixed random weights,
so every output entry contributes with its own factor.

Example:
    >>> case = CASES["conv"]
    >>> arrays = case.inputs(np.random.default_rng(0))
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from conformance import reference as ref
from polykeras import ops

Arrays = list[np.ndarray]


@dataclasses.dataclass(frozen=True)
class GradCase:
    op: str  # the public op it covers
    call: Callable[..., Any]  # engine tensors -> tensor or tuple of tensors
    reference: Callable[..., Any]  # float64 arrays -> array or tuple of arrays
    inputs: Callable[[np.random.Generator], Arrays]


def _away_from_zero(shape, low=0.2, high=2.0):
    def make(rng):
        return [rng.uniform(low, high, shape) * rng.choice([-1.0, 1.0], shape)]
    return make


def _uniform(*shapes, low=-2.0, high=2.0):
    def make(rng):
        return [rng.uniform(low, high, shape) for shape in shapes]
    return make


def _distinct(*shapes):
    """Values with no ties (max, sort, pooling): a shuffled grid."""
    def make(rng):
        out = []
        for shape in shapes:
            n = int(np.prod(shape))
            out.append(rng.permutation(np.linspace(-2.0, 2.0, n)).reshape(shape) + rng.uniform(-0.01, 0.01, shape))
        return out
    return make


def _const(x, dtype=None):
    return ops.convert_to_tensor(np.asarray(x), dtype)


CASES: dict[str, GradCase] = {}


def _add(name: str, call, reference, inputs, op: str | None = None) -> None:
    CASES[name] = GradCase(op or name.split("(")[0], call, reference, inputs)


# ------------------------------------------------------------- elementwise
for _name, _ref, _inputs in [
    ("negative", np.negative, _uniform((2, 3))),
    ("abs", np.abs, _away_from_zero((2, 3))),
    ("square", np.square, _uniform((2, 3))),
    ("reciprocal", lambda x: 1.0 / x, _away_from_zero((2, 3), 0.5)),
    ("exp", np.exp, _uniform((2, 3))),
    ("expm1", np.expm1, _uniform((2, 3))),
    ("log", np.log, _uniform((2, 3), low=0.3, high=3.0)),
    ("log1p", np.log1p, _uniform((2, 3), low=-0.5, high=3.0)),
    ("sqrt", np.sqrt, _uniform((2, 3), low=0.3, high=3.0)),
    ("rsqrt", lambda x: 1.0 / np.sqrt(x), _uniform((2, 3), low=0.3, high=3.0)),
    ("sin", np.sin, _uniform((2, 3))),
    ("cos", np.cos, _uniform((2, 3))),
    ("tan", np.tan, _uniform((2, 3), low=-1.0, high=1.0)),
    ("arctan", np.arctan, _uniform((2, 3))),
    ("sinh", np.sinh, _uniform((2, 3))),
    ("cosh", np.cosh, _uniform((2, 3))),
    ("tanh", np.tanh, _uniform((2, 3))),
    ("erf", ref.erf, _uniform((2, 3))),
    ("relu", ref.relu, _away_from_zero((2, 3))),
    ("relu6", ref.relu6, _uniform((2, 3), low=-3.0, high=8.0)),
    ("leaky_relu", ref.leaky_relu, _away_from_zero((2, 3))),
    ("elu", ref.elu, _away_from_zero((2, 3))),
    ("selu", ref.selu, _away_from_zero((2, 3))),
    ("gelu", ref.gelu, _uniform((2, 3), low=-3.0, high=3.0)),
    ("silu", ref.silu, _uniform((2, 3), low=-4.0, high=4.0)),
    ("mish", ref.mish, _uniform((2, 3), low=-4.0, high=4.0)),
    ("sigmoid", ref.sigmoid, _uniform((2, 3), low=-4.0, high=4.0)),
    ("hard_sigmoid", ref.hard_sigmoid, _uniform((2, 3), low=-2.5, high=2.5)),
    ("hard_silu", ref.hard_silu, _uniform((2, 3), low=-2.5, high=2.5)),
    ("softplus", ref.softplus, _uniform((2, 3), low=-4.0, high=4.0)),
    ("softsign", ref.softsign, _away_from_zero((2, 3))),
]:
    _add(_name, lambda x, _n=_name: getattr(ops, _n)(x), _ref, _inputs)

_add("gelu(approximate=False)", lambda x: ops.gelu(x, approximate=False), lambda x: ref.gelu(x, False),
     _uniform((2, 3), low=-3.0, high=3.0))

for _name, _ref, _inputs in [
    ("add", np.add, _uniform((2, 3), (3,))),
    ("subtract", np.subtract, _uniform((2, 3), (3,))),
    ("multiply", np.multiply, _uniform((2, 3), (2, 1))),
    ("divide", np.divide, lambda rng: [rng.uniform(-2, 2, (2, 3)), rng.uniform(0.5, 2, (3,))]),
    ("power", np.power, lambda rng: [rng.uniform(0.5, 2, (2, 3)), rng.uniform(-2, 2, (3,))]),
    ("maximum", np.maximum, _distinct((2, 3), (2, 3))),
    ("minimum", np.minimum, _distinct((2, 3), (2, 3))),
    ("arctan2", np.arctan2, lambda rng: [rng.uniform(-2, 2, (2, 3)), rng.uniform(0.5, 2, (2, 3))]),
    ("mod", np.mod, lambda rng: [np.array([[0.3, 1.7, -2.2], [3.1, -0.4, 0.9]]), np.array([1.5, 1.5, 1.0])]),
]:
    _add(_name, lambda a, b, _n=_name: getattr(ops, _n)(a, b), _ref, _inputs)

_CONDITION = np.array([[True, False, True], [False, False, True]])
_add("where", lambda a, b: ops.where(_const(_CONDITION), a, b), lambda a, b: np.where(_CONDITION, a, b),
     _uniform((2, 3), (3,)))
_add("clip", lambda x: ops.clip(x, -1.0, 1.0), lambda x: np.clip(x, -1.0, 1.0),
     lambda rng: [np.array([[-2.0, -0.5, 0.3], [0.9, 1.5, -1.2]])])
_add("cast", lambda x: ops.cast(ops.cast(x, "float64" if ops.dtype(x) == "float32" else "float32"), ops.dtype(x)),
     lambda x: x, _uniform((2, 3)))

# -------------------------------------------------------------- reductions
for _name, _ref in [("sum", np.sum), ("mean", np.mean), ("var", np.var), ("std", np.std),
                    ("logsumexp", ref.logsumexp), ("prod", np.prod)]:
    _add(_name, lambda x, _n=_name: getattr(ops, _n)(x, axis=1), lambda x, _r=_ref: _r(x, axis=1),
         _uniform((2, 3, 2), low=0.5, high=2.0) if _name == "prod" else _uniform((2, 3, 2)))
    _add(f"{_name}(axis=None)", lambda x, _n=_name: getattr(ops, _n)(x), lambda x, _r=_ref: _r(x),
         _uniform((2, 3), low=0.5, high=2.0) if _name == "prod" else _uniform((2, 3)))
for _name, _ref in [("max", np.max), ("min", np.min)]:
    _add(_name, lambda x, _n=_name: getattr(ops, _n)(x, axis=(0, 2)), lambda x, _r=_ref: _r(x, axis=(0, 2)),
         _distinct((2, 3, 2)))
for _name, _ref in [("cumsum", np.cumsum), ("cumprod", np.cumprod)]:
    _add(_name, lambda x, _n=_name: getattr(ops, _n)(x, axis=1), lambda x, _r=_ref: _r(x, axis=1),
         _away_from_zero((2, 4), 0.5, 1.5))

# -------------------------------------------------------------- contractions
_add("matmul", ops.matmul, np.matmul, _uniform((2, 2, 3), (3, 4)))
_add("dot", ops.dot, np.dot, _uniform((2, 3), (3, 2)))
_add("tensordot", lambda a, b: ops.tensordot(a, b, axes=([0, 2], [1, 0])),
     lambda a, b: np.tensordot(a, b, axes=([0, 2], [1, 0])), _uniform((2, 3, 2), (2, 2, 3)))
_add("einsum", lambda a, b: ops.einsum("bij,jk->bik", a, b), lambda a, b: np.einsum("bij,jk->bik", a, b),
     _uniform((2, 2, 3), (3, 2)))

# ------------------------------------------------------------------ shapes
_add("reshape", lambda x: ops.reshape(x, (3, -1)), lambda x: x.reshape(3, -1), _uniform((2, 3)))
_add("transpose", lambda x: ops.transpose(x, (2, 0, 1)), lambda x: x.transpose(2, 0, 1), _uniform((2, 3, 2)))
_add("moveaxis", lambda x: ops.moveaxis(x, 0, -1), lambda x: np.moveaxis(x, 0, -1), _uniform((2, 3, 2)))
_add("expand_dims", lambda x: ops.expand_dims(x, 1), lambda x: np.expand_dims(x, 1), _uniform((2, 3)))
_add("squeeze", lambda x: ops.squeeze(x, 1), lambda x: np.squeeze(x, 1), _uniform((2, 1, 3)))
_add("concatenate", lambda a, b: ops.concatenate([a, b], axis=1), lambda a, b: np.concatenate([a, b], axis=1),
     _uniform((2, 3), (2, 2)))
_add("stack", lambda a, b: ops.stack([a, b], axis=-1), lambda a, b: np.stack([a, b], axis=-1),
     _uniform((2, 3), (2, 3)))
_add("split", lambda x: tuple(ops.split(x, [1, 3], axis=1)), lambda x: tuple(np.split(x, [1, 3], axis=1)),
     _uniform((2, 4)))
_add("pad", lambda x: ops.pad(x, [(1, 0), (0, 2)]), lambda x: np.pad(x, [(1, 0), (0, 2)]), _uniform((2, 3)))
_add("pad(reflect)", lambda x: ops.pad(x, [(1, 1), (2, 0)], mode="reflect"),
     lambda x: np.pad(x, [(1, 1), (2, 0)], mode="reflect"), _uniform((2, 3)))
_add("tile", lambda x: ops.tile(x, (2, 2)), lambda x: np.tile(x, (2, 2)), _uniform((2, 3)))
_add("repeat", lambda x: ops.repeat(x, 2, axis=1), lambda x: np.repeat(x, 2, axis=1), _uniform((2, 3)))
_add("broadcast_to", lambda x: ops.broadcast_to(x, (2, 4, 3)), lambda x: np.broadcast_to(x, (2, 4, 3)),
     _uniform((4, 1)))
_add("flip", lambda x: ops.flip(x, axis=1), lambda x: np.flip(x, axis=1), _uniform((2, 3)))

_IDS = np.array([[2, 0], [0, -1]], np.int32)
_add("take", lambda x: ops.take(x, _const(_IDS), axis=1), lambda x: np.take(x, _IDS, axis=1), _uniform((2, 3)))
_ORDER = np.array([[2, 0, 1], [1, 1, 0]], np.int32)
_add("take_along_axis", lambda x: ops.take_along_axis(x, _const(_ORDER), axis=1),
     lambda x: np.take_along_axis(x, _ORDER, axis=1), _uniform((2, 3)))
_POINTS = np.array([[0, 1], [2, 0], [0, 1]], np.int32)


def _scatter_ref(values):
    out = np.zeros((3, 2))
    np.add.at(out, tuple(_POINTS.T), values)
    return out


def _scatter_update_ref(x, updates):
    out = x.copy()
    out[tuple(_POINTS[:2].T)] = updates
    return out


def _slice_update_ref(x, block):
    out = x.copy()
    out[1:3, 0:2] = block
    return out


_add("scatter", lambda v: ops.scatter(_const(_POINTS), v, (3, 2)), _scatter_ref, _uniform((3,)))
_add("scatter_update", lambda x, u: ops.scatter_update(x, _const(_POINTS[:2]), u), _scatter_update_ref,
     _uniform((3, 2), (2,)))
_add("slice", lambda x: ops.slice(x, (1, 0), (2, 2)), lambda x: x[1:3, 0:2], _uniform((3, 3)))
_add("slice_update", lambda x, b: ops.slice_update(x, (1, 0), b), _slice_update_ref, _uniform((3, 3), (2, 2)))
_add("sort", lambda x: ops.sort(x, axis=-1), lambda x: np.sort(x, axis=-1), _distinct((2, 4)))
_add("top_k", lambda x: ops.top_k(x, 2)[0], lambda x: ref.top_k(x, 2)[0], _distinct((2, 4)))

# ---------------------------------------------------------------------- nn
_add("softmax", lambda x: ops.softmax(x, axis=0), lambda x: ref.softmax(x, axis=0), _uniform((3, 2)))
_add("log_softmax", ops.log_softmax, ref.log_softmax, _uniform((2, 4)))
_add("moments", lambda x: ops.moments(x, [0, 2]), lambda x: ref.moments(x, [0, 2]), _uniform((2, 3, 2)))
_add("batch_normalization",
     lambda x, m, v, o, s: ops.batch_normalization(x, m, v, axis=-1, offset=o, scale=s),
     lambda x, m, v, o, s: ref.batch_normalization(x, m, v, -1, o, s),
     lambda rng: [rng.uniform(-2, 2, (2, 3)), rng.uniform(-1, 1, 3), rng.uniform(0.5, 2, 3),
                  rng.uniform(-1, 1, 3), rng.uniform(0.5, 2, 3)])
_TARGET = np.array([[0.0, 1.0, 0.0], [0.2, 0.3, 0.5]])
_add("categorical_crossentropy", lambda p: ops.categorical_crossentropy(_const(_TARGET, ops.dtype(p)), p),
     lambda p: ref.categorical_crossentropy(_TARGET, p), _uniform((2, 3), low=0.1, high=1.0))
_add("categorical_crossentropy(from_logits=True)",
     lambda x: ops.categorical_crossentropy(_const(_TARGET, ops.dtype(x)), x, from_logits=True),
     lambda x: ref.categorical_crossentropy(_TARGET, x, True), _uniform((2, 3)))
_CLASSES = np.array([2, 0], np.int32)
_add("sparse_categorical_crossentropy",
     lambda x: ops.sparse_categorical_crossentropy(_const(_CLASSES), x, from_logits=True),
     lambda x: ref.sparse_categorical_crossentropy(_CLASSES, x, True), _uniform((2, 3)))
_BINARY = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.3]])
_add("binary_crossentropy", lambda p: ops.binary_crossentropy(_const(_BINARY, ops.dtype(p)), p),
     lambda p: ref.binary_crossentropy(_BINARY, p), _uniform((2, 3), low=0.1, high=0.9))
_add("binary_crossentropy(from_logits=True)",
     lambda x: ops.binary_crossentropy(_const(_BINARY, ops.dtype(x)), x, from_logits=True),
     lambda x: ref.binary_crossentropy(_BINARY, x, True), _uniform((2, 3), low=-4, high=4))

# ------------------------------------------------------------ conv and pool
_add("conv", lambda x, k: ops.conv(x, k, strides=2, padding="same"),
     lambda x, k: ref.conv(x, k, 2, "same"), _uniform((1, 5, 4, 2), (3, 2, 2, 3), low=-1, high=1))
_add("conv(groups, channels_first)", lambda x, k: ops.conv(x, k, data_format="channels_first", dilation_rate=2),
     lambda x, k: ref.conv(x, k, 1, "valid", "channels_first", 2), _uniform((1, 4, 6), (2, 2, 4), low=-1, high=1))
_add("depthwise_conv", lambda x, k: ops.depthwise_conv(x, k, padding="same"),
     lambda x, k: ref.depthwise_conv(x, k, 1, "same"), _uniform((1, 4, 4, 2), (3, 3, 2, 2), low=-1, high=1))
_add("conv_transpose", lambda x, k: ops.conv_transpose(x, k, strides=2, padding="same"),
     lambda x, k: ref.conv_transpose(x, k, 2, "same"), _uniform((1, 3, 3, 2), (3, 3, 2, 2), low=-1, high=1))
_add("max_pool", lambda x: ops.max_pool(x, 2, strides=1, padding="same"),
     lambda x: ref.max_pool(x, 2, 1, "same"), _distinct((1, 4, 4, 2)))
_add("average_pool", lambda x: ops.average_pool(x, 3, strides=2, padding="same"),
     lambda x: ref.average_pool(x, 3, 2, "same"), _uniform((1, 5, 5, 2)))

# ------------------------------------------------------------------ linalg
def _square(rng):
    return [rng.uniform(-0.5, 0.5, (2, 3, 3)) + 2.0 * np.eye(3)]


def _gram(a):
    """A symmetric positive-definite function of a free matrix."""
    return a @ np.swapaxes(a, -1, -2) + 3.0 * np.eye(a.shape[-1])


_add("linalg.inv", ops.linalg.inv, np.linalg.inv, _square)
_add("linalg.det", ops.linalg.det, np.linalg.det, _square)
_add("linalg.solve", ops.linalg.solve, np.linalg.solve,
     lambda rng: [_square(rng)[0], rng.uniform(-1, 1, (2, 3, 2))])
_add("linalg.cholesky",
     lambda a: ops.linalg.cholesky(ops.add(ops.matmul(a, ops.moveaxis(a, -1, -2)), ops.multiply(ops.eye(3, dtype=ops.dtype(a)), 3.0))),
     lambda a: np.linalg.cholesky(_gram(a)), _uniform((2, 3, 3), low=-1, high=1))
_add("linalg.svd", lambda a: ops.linalg.svd(a, compute_uv=False), lambda a: np.linalg.svd(a, compute_uv=False),
     lambda rng: [np.diag([3.0, 2.0, 1.0])[:, :2] + rng.uniform(-0.2, 0.2, (3, 2))])
_add("linalg.qr", lambda a: ops.abs(ops.linalg.qr(a)[1]), lambda a: np.abs(np.linalg.qr(a)[1]),
     lambda rng: [np.eye(3) * 2 + rng.uniform(-0.5, 0.5, (3, 3))])

#: Public ops with no gradient test, and why.
NOT_DIFFERENTIABLE = {
    # creation, conversion and introspection: no tensor input to differentiate
    "convert_to_tensor", "to_numpy", "is_tensor", "shape", "dtype", "zeros", "ones", "full", "zeros_like",
    "ones_like", "arange", "eye", "one_hot",
    # the autodiff machinery itself (tested in test_core.py)
    "value_and_grad", "jit", "stop_gradient",
    # piecewise constant or boolean: the gradient is zero or undefined
    "sign", "floor", "ceil", "round", "floor_divide", "equal", "not_equal", "less", "less_equal", "greater",
    "greater_equal", "logical_and", "logical_or", "logical_xor", "logical_not", "isnan", "isinf", "isfinite",
    "any", "all", "argmax", "argmin", "argsort",
    # random draws (dropout's gradient is checked in test_gradients.py)
    "random.normal", "random.uniform", "random.truncated_normal", "random.categorical", "random.shuffle",
    "random.seed_tensor", "random.set_global_seed",
}
