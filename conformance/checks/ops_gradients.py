"""Gradient cases: for each differentiable public op, a call on engine
tensors, the float64 reference of the same call and inputs away from kinks
(so central finite differences of the reference mean something). Ops without
a gradient case say why in :data:`NOT_DIFFERENTIABLE`.

A case's loss is ``sum_i sum(output_i * weight_i)`` with fixed random weights,
so every output entry counts with its own factor.

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

__all__ = ["CASES", "NOT_DIFFERENTIABLE", "GradCase"]

Arrays = list[np.ndarray]


@dataclasses.dataclass(frozen=True)
class GradCase:
    """``call`` (engine tensors -> tensor or tuple) and ``reference`` (float64
    arrays -> array or tuple) of one op, with ``inputs(rng)`` the points to
    differentiate at. ``gradient(*inputs, weights=, dtype=)`` (float64
    inputs, the loss's output weights, the engine dtype -> exact gradients)
    replaces finite differences where those cannot see the
    op (``stop_gradient``, ``dropout``).

    Example: ``GradCase("exp", ops.exp, np.exp, uniform((2, 3)))``
    """

    op: str
    call: Callable[..., Any]
    reference: Callable[..., Any]
    inputs: Callable[[np.random.Generator], Arrays]
    gradient: Callable[..., Arrays] | None = None


def uniform(*shapes: tuple[int, ...], low: float = -2.0, high: float = 2.0) -> Callable[[np.random.Generator], Arrays]:
    """Independent uniform draws. Example: ``uniform((2, 3), (3,))``"""
    return lambda rng: [rng.uniform(low, high, s) for s in shapes]


def away_from_zero(shape: tuple[int, ...], low: float = 0.2,
                   high: float = 2.0) -> Callable[[np.random.Generator], Arrays]:
    """``|x|`` in ``[low, high]`` with random signs (kinks at 0 avoided)."""
    return lambda rng: [rng.uniform(low, high, shape) * rng.choice([-1.0, 1.0], shape)]


def distinct(*shapes: tuple[int, ...]) -> Callable[[np.random.Generator], Arrays]:
    """Values with no ties (max, sort, pooling): a shuffled grid, jittered."""
    def make(rng: np.random.Generator) -> Arrays:
        out = []
        for shape in shapes:
            n = int(np.prod(shape))
            out.append(rng.permutation(np.linspace(-2.0, 2.0, n)).reshape(shape) + rng.uniform(-0.01, 0.01, shape))
        return out
    return make


def _const(x: Any, dtype: str | None = None) -> Any:
    return ops.convert_to_tensor(np.asarray(x), dtype)


CASES: dict[str, GradCase] = {}


def _add(label: str, call: Any, reference: Any, inputs: Any, op: str | None = None, gradient: Any = None) -> None:
    CASES[label] = GradCase(op or label.split("(")[0], call, reference, inputs, gradient)


# ------------------------------------------------------------ elementwise
_UNARY: list[tuple[str, Any, Any]] = [
    ("negative", np.negative, uniform((2, 3))), ("abs", np.abs, away_from_zero((2, 3))),
    ("square", np.square, uniform((2, 3))), ("reciprocal", lambda x: 1.0 / x, away_from_zero((2, 3), 0.5)),
    ("exp", np.exp, uniform((2, 3))), ("expm1", np.expm1, uniform((2, 3))),
    ("log", np.log, uniform((2, 3), low=0.3, high=3.0)), ("log1p", np.log1p, uniform((2, 3), low=-0.5, high=3.0)),
    ("sqrt", np.sqrt, uniform((2, 3), low=0.3, high=3.0)),
    ("rsqrt", lambda x: 1.0 / np.sqrt(x), uniform((2, 3), low=0.3, high=3.0)),
    ("sin", np.sin, uniform((2, 3))), ("cos", np.cos, uniform((2, 3))),
    ("tan", np.tan, uniform((2, 3), low=-1.0, high=1.0)), ("arctan", np.arctan, uniform((2, 3))),
    ("sinh", np.sinh, uniform((2, 3))), ("cosh", np.cosh, uniform((2, 3))), ("tanh", np.tanh, uniform((2, 3))),
    ("erf", ref.erf, uniform((2, 3))), ("relu", ref.relu, away_from_zero((2, 3))),
    ("relu6", ref.relu6, lambda rng: [np.concatenate([rng.uniform(-3, -0.2, 3), rng.uniform(0.2, 5.8, 3),
                                                      rng.uniform(6.2, 8, 2)])]),
    ("leaky_relu", ref.leaky_relu, away_from_zero((2, 3))), ("elu", ref.elu, away_from_zero((2, 3))),
    ("selu", ref.selu, away_from_zero((2, 3))), ("gelu", ref.gelu, uniform((2, 3), low=-3.0, high=3.0)),
    ("silu", ref.silu, uniform((2, 3), low=-4.0, high=4.0)), ("mish", ref.mish, uniform((2, 3), low=-4.0, high=4.0)),
    ("sigmoid", ref.sigmoid, uniform((2, 3), low=-4.0, high=4.0)),
    ("hard_sigmoid", ref.hard_sigmoid, uniform((2, 3), low=-2.5, high=2.5)),
    ("hard_silu", ref.hard_silu, uniform((2, 3), low=-2.5, high=2.5)),
    ("softplus", ref.softplus, uniform((2, 3), low=-4.0, high=4.0)), ("softsign", ref.softsign, away_from_zero((2, 3))),
]
for _name, _ref, _inputs in _UNARY:
    _add(_name, lambda x, _n=_name: getattr(ops, _n)(x), _ref, _inputs)
_add("gelu(approximate=False)", lambda x: ops.gelu(x, approximate=False), lambda x: ref.gelu(x, False),
     uniform((2, 3), low=-3.0, high=3.0))
_add("stop_gradient", lambda x: ops.multiply(ops.stop_gradient(x), x), lambda x: x * x, uniform((2, 3)),
     # d/dx sum(w * sg(x) * x) = w * x: half of what finite differences see
     gradient=lambda x, weights, dtype: [weights[0] * x])

for _name, _ref, _inputs in [
    ("add", np.add, uniform((2, 3), (3,))), ("subtract", np.subtract, uniform((2, 3), (3,))),
    ("multiply", np.multiply, uniform((2, 3), (2, 1))),
    ("divide", np.divide, lambda rng: [rng.uniform(-2, 2, (2, 3)), rng.uniform(0.5, 2, (3,))]),
    ("power", np.power, lambda rng: [rng.uniform(0.5, 2, (2, 3)), rng.uniform(-2, 2, (3,))]),
    ("maximum", np.maximum, distinct((2, 3), (2, 3))), ("minimum", np.minimum, distinct((2, 3), (2, 3))),
    ("arctan2", np.arctan2, lambda rng: [rng.uniform(-2, 2, (2, 3)), rng.uniform(0.5, 2, (2, 3))]),
    ("mod", np.mod, lambda rng: [rng.uniform(0.1, 0.9, (2, 3)) + rng.integers(-2, 3, (2, 3)), np.full((3,), 1.0)]),
]:
    _add(_name, lambda a, b, _n=_name: getattr(ops, _n)(a, b), _ref, _inputs)

_CONDITION = np.array([[True, False, True], [False, False, True]])
_add("where", lambda a, b: ops.where(_const(_CONDITION), a, b), lambda a, b: np.where(_CONDITION, a, b),
     uniform((2, 3), (3,)))
_add("clip", lambda x: ops.clip(x, -1.0, 1.0), lambda x: np.clip(x, -1.0, 1.0),
     lambda rng: [np.array([[-2.0, -0.5, 0.3], [0.9, 1.5, -1.2]]) + rng.uniform(-0.05, 0.05, (2, 3))])
_add("cast", lambda x: ops.cast(ops.cast(x, "float64" if ops.dtype(x) == "float32" else "float32"), ops.dtype(x)),
     lambda x: x, uniform((2, 3)))

# ------------------------------------------------------------- reductions
for _name, _ref in [("sum", np.sum), ("mean", np.mean), ("var", np.var), ("std", np.std),
                    ("logsumexp", ref.logsumexp), ("prod", np.prod)]:
    _low = 0.5 if _name == "prod" else -2.0
    _add(_name, lambda x, _n=_name: getattr(ops, _n)(x, axis=1), lambda x, _r=_ref: _r(x, axis=1),
         uniform((2, 3, 2), low=_low))
    _add(f"{_name}(axis=None)", lambda x, _n=_name: getattr(ops, _n)(x), lambda x, _r=_ref: _r(x),
         uniform((2, 3), low=_low))
for _name, _ref in [("max", np.max), ("min", np.min)]:
    _add(_name, lambda x, _n=_name: getattr(ops, _n)(x, axis=(0, 2)), lambda x, _r=_ref: _r(x, axis=(0, 2)),
         distinct((2, 3, 2)))
for _name, _ref in [("cumsum", np.cumsum), ("cumprod", np.cumprod)]:
    _add(_name, lambda x, _n=_name: getattr(ops, _n)(x, axis=1), lambda x, _r=_ref: _r(x, axis=1),
         away_from_zero((2, 4), 0.5, 1.5))

# ----------------------------------------------------------- contractions
_add("matmul", ops.matmul, np.matmul, uniform((2, 2, 3), (3, 4)))
_add("dot", ops.dot, np.dot, uniform((2, 3), (3, 2)))
_add("tensordot", lambda a, b: ops.tensordot(a, b, axes=([0, 2], [1, 0])),
     lambda a, b: np.tensordot(a, b, axes=([0, 2], [1, 0])), uniform((2, 3, 2), (2, 2, 3)))
_add("einsum", lambda a, b: ops.einsum("bij,jk->bik", a, b), lambda a, b: np.einsum("bij,jk->bik", a, b),
     uniform((2, 2, 3), (3, 2)))

# ----------------------------------------------------------------- shapes
_add("reshape", lambda x: ops.reshape(x, (3, -1)), lambda x: x.reshape(3, -1), uniform((2, 3)))
_add("transpose", lambda x: ops.transpose(x, (2, 0, 1)), lambda x: x.transpose(2, 0, 1), uniform((2, 3, 2)))
_add("moveaxis", lambda x: ops.moveaxis(x, 0, -1), lambda x: np.moveaxis(x, 0, -1), uniform((2, 3, 2)))
_add("expand_dims", lambda x: ops.expand_dims(x, 1), lambda x: np.expand_dims(x, 1), uniform((2, 3)))
_add("squeeze", lambda x: ops.squeeze(x, 1), lambda x: np.squeeze(x, 1), uniform((2, 1, 3)))
_add("concatenate", lambda a, b: ops.concatenate([a, b], axis=1), lambda a, b: np.concatenate([a, b], axis=1),
     uniform((2, 3), (2, 2)))
_add("stack", lambda a, b: ops.stack([a, b], axis=-1), lambda a, b: np.stack([a, b], axis=-1), uniform((2, 3), (2, 3)))
_add("split", lambda x: tuple(ops.split(x, [1, 3], axis=1)), lambda x: tuple(np.split(x, [1, 3], axis=1)),
     uniform((2, 4)))
_add("pad", lambda x: ops.pad(x, [(1, 0), (0, 2)]), lambda x: np.pad(x, [(1, 0), (0, 2)]), uniform((2, 3)))
_add("pad(reflect)", lambda x: ops.pad(x, [(1, 1), (2, 0)], mode="reflect"),
     lambda x: np.pad(x, [(1, 1), (2, 0)], mode="reflect"), uniform((2, 3)))
_add("tile", lambda x: ops.tile(x, (2, 2)), lambda x: np.tile(x, (2, 2)), uniform((2, 3)))
_add("repeat", lambda x: ops.repeat(x, 2, axis=1), lambda x: np.repeat(x, 2, axis=1), uniform((2, 3)))
_add("broadcast_to", lambda x: ops.broadcast_to(x, (2, 4, 3)), lambda x: np.broadcast_to(x, (2, 4, 3)),
     uniform((4, 1)))
_add("flip", lambda x: ops.flip(x, axis=1), lambda x: np.flip(x, axis=1), uniform((2, 3)))

_IDS = np.array([[2, 0], [0, -1]], np.int32)
_add("take", lambda x: ops.take(x, _const(_IDS), axis=1), lambda x: np.take(x, _IDS, axis=1), uniform((2, 3)))
_ORDER = np.array([[2, 0, 1], [1, 1, 0]], np.int32)
_add("take_along_axis", lambda x: ops.take_along_axis(x, _const(_ORDER), axis=1),
     lambda x: np.take_along_axis(x, _ORDER, axis=1), uniform((2, 3)))
_add("get_item", lambda x: ops.get_item(x, (slice(None), None, slice(1, 3))), lambda x: x[:, None, 1:3],
     uniform((2, 3)))
_add("get_item(gathered)", lambda x: ops.get_item(x, (Ellipsis, slice(None, None, -2))), lambda x: x[..., ::-2],
     uniform((2, 3)))
_POINTS = np.array([[0, 1], [2, 0], [0, 1]], np.int32)


def _scatter_reference(values: np.ndarray) -> np.ndarray:
    out = np.zeros((3, 2))
    np.add.at(out, tuple(_POINTS.T), values)
    return out


def _scatter_update_reference(x: np.ndarray, updates: np.ndarray) -> np.ndarray:
    out = x.copy()
    out[tuple(_POINTS[:2].T)] = updates
    return out


def _slice_update_reference(x: np.ndarray, block: np.ndarray) -> np.ndarray:
    out = x.copy()
    out[1:3, 0:2] = block
    return out


_add("scatter", lambda v: ops.scatter(_const(_POINTS), v, (3, 2)), _scatter_reference, uniform((3,)))
_add("scatter_update", lambda x, u: ops.scatter_update(x, _const(_POINTS[:2]), u), _scatter_update_reference,
     uniform((3, 2), (2,)))
_add("slice", lambda x: ops.slice(x, (1, 0), (2, 2)), lambda x: x[1:3, 0:2], uniform((3, 3)))
_add("slice_update", lambda x, b: ops.slice_update(x, (1, 0), b), _slice_update_reference, uniform((3, 3), (2, 2)))
_add("sort", lambda x: ops.sort(x, axis=-1), lambda x: np.sort(x, axis=-1), distinct((2, 4)))
_add("top_k", lambda x: ops.top_k(x, 2)[0], lambda x: ref.top_k(x, 2)[0], distinct((2, 4)))

# --------------------------------------------------------------------- nn
_add("softmax", lambda x: ops.softmax(x, axis=0), lambda x: ref.softmax(x, axis=0), uniform((3, 2)))
_add("log_softmax", ops.log_softmax, ref.log_softmax, uniform((2, 4)))
_add("moments", lambda x: ops.moments(x, [0, 2]), lambda x: ref.moments(x, [0, 2]), uniform((2, 3, 2)))
_add("batch_normalization", lambda x, m, v, o, s: ops.batch_normalization(x, m, v, axis=-1, offset=o, scale=s),
     lambda x, m, v, o, s: ref.batch_normalization(x, m, v, -1, o, s),
     lambda rng: [rng.uniform(-2, 2, (2, 3)), rng.uniform(-1, 1, 3), rng.uniform(0.5, 2, 3), rng.uniform(-1, 1, 3),
                  rng.uniform(0.5, 2, 3)])
_TARGET = np.array([[0.0, 1.0, 0.0], [0.2, 0.3, 0.5]])
_add("categorical_crossentropy", lambda p: ops.categorical_crossentropy(_const(_TARGET, ops.dtype(p)), p),
     lambda p: ref.categorical_crossentropy(_TARGET, p), uniform((2, 3), low=0.1, high=1.0))
_add("categorical_crossentropy(from_logits=True)",
     lambda x: ops.categorical_crossentropy(_const(_TARGET, ops.dtype(x)), x, from_logits=True),
     lambda x: ref.categorical_crossentropy(_TARGET, x, True), uniform((2, 3)))
_CLASSES = np.array([2, 0], np.int32)
_add("sparse_categorical_crossentropy",
     lambda x: ops.sparse_categorical_crossentropy(_const(_CLASSES), x, from_logits=True),
     lambda x: ref.sparse_categorical_crossentropy(_CLASSES, x, True), uniform((2, 3)))
_BINARY = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.3]])
_add("binary_crossentropy", lambda p: ops.binary_crossentropy(_const(_BINARY, ops.dtype(p)), p),
     lambda p: ref.binary_crossentropy(_BINARY, p), uniform((2, 3), low=0.1, high=0.9))
_add("binary_crossentropy(from_logits=True)",
     lambda x: ops.binary_crossentropy(_const(_BINARY, ops.dtype(x)), x, from_logits=True),
     lambda x: ref.binary_crossentropy(_BINARY, x, True), uniform((2, 3), low=-4, high=4))

# --------------------------------------------------------- conv and pool
_add("conv", lambda x, k: ops.conv(x, k, strides=2, padding="same"), lambda x, k: ref.conv(x, k, 2, "same"),
     uniform((1, 5, 4, 2), (3, 2, 2, 3), low=-1, high=1))
_add("conv(groups, channels_first)", lambda x, k: ops.conv(x, k, data_format="channels_first", dilation_rate=2),
     lambda x, k: ref.conv(x, k, 1, "valid", "channels_first", 2), uniform((1, 4, 6), (2, 2, 4), low=-1, high=1))
_add("depthwise_conv", lambda x, k: ops.depthwise_conv(x, k, padding="same"),
     lambda x, k: ref.depthwise_conv(x, k, 1, "same"), uniform((1, 4, 4, 2), (3, 3, 2, 2), low=-1, high=1))
_add("conv_transpose", lambda x, k: ops.conv_transpose(x, k, strides=2, padding="same"),
     lambda x, k: ref.conv_transpose(x, k, 2, "same"), uniform((1, 3, 3, 2), (3, 3, 2, 2), low=-1, high=1))
_add("max_pool", lambda x: ops.max_pool(x, 2, strides=1, padding="same"), lambda x: ref.max_pool(x, 2, 1, "same"),
     distinct((1, 4, 4, 2)))
_add("average_pool", lambda x: ops.average_pool(x, 3, strides=2, padding="same"),
     lambda x: ref.average_pool(x, 3, 2, "same"), uniform((1, 5, 5, 2)))

# ----------------------------------------------------------------- linalg
def _square(rng: np.random.Generator) -> Arrays:
    return [rng.uniform(-0.5, 0.5, (2, 3, 3)) + 2.0 * np.eye(3)]


_add("linalg.inv", ops.linalg.inv, np.linalg.inv, _square)
_add("linalg.det", ops.linalg.det, np.linalg.det, _square)
_add("linalg.solve", ops.linalg.solve, np.linalg.solve, lambda rng: [_square(rng)[0], rng.uniform(-1, 1, (2, 3, 2))])
_add("linalg.cholesky",
     lambda a: ops.linalg.cholesky(ops.add(ops.matmul(a, ops.moveaxis(a, -1, -2)),
                                           ops.multiply(ops.eye(3, dtype=ops.dtype(a)), 3.0))),
     lambda a: np.linalg.cholesky(a @ np.swapaxes(a, -1, -2) + 3.0 * np.eye(3)), uniform((2, 3, 3), low=-1, high=1))
_add("linalg.svd", lambda a: ops.linalg.svd(a, compute_uv=False), lambda a: np.linalg.svd(a, compute_uv=False),
     lambda rng: [np.diag([3.0, 2.0, 1.0])[:, :2] + rng.uniform(-0.2, 0.2, (3, 2))])
_add("linalg.qr", lambda a: ops.abs(ops.linalg.qr(a)[1]), lambda a: np.abs(np.linalg.qr(a)[1]),
     lambda rng: [np.eye(3) * 2 + rng.uniform(-0.5, 0.5, (3, 3))])


# ---------------------------------------------------------------- random
_RATE, _SEED = 0.4, 3


def _dropout(x: Any) -> Any:
    return ops.random.dropout(x, _RATE, seed=_SEED)  # the same seed draws the same mask


def _dropout_gradient(x: np.ndarray, weights: Arrays, dtype: str) -> Arrays:
    kept = np.asarray(ops.to_numpy(_dropout(ops.ones(x.shape, dtype)))) != 0
    return [weights[0] * kept / (1.0 - _RATE)]


_add("random.dropout", _dropout, lambda x: x, uniform((8, 8), low=0.5, high=2.0), gradient=_dropout_gradient)

#: Public ops with no gradient case, and why.
NOT_DIFFERENTIABLE: dict[str, str] = {
    **dict.fromkeys(["convert_to_tensor", "to_numpy", "is_tensor", "shape", "dtype", "zeros", "ones", "full",
                     "zeros_like", "ones_like", "arange", "eye", "one_hot", "convert_to_numpy"],
                    "creation, conversion or introspection: no tensor input to differentiate"),
    **dict.fromkeys(["value_and_grad", "jit"], "the autodiff and compile machinery itself (forward-checked)"),
    **dict.fromkeys(["sign", "floor", "ceil", "round", "floor_divide", "equal", "not_equal", "less", "less_equal",
                     "greater", "greater_equal", "logical_and", "logical_or", "logical_xor", "logical_not", "isnan",
                     "isinf", "isfinite", "any", "all", "argmax", "argmin", "argsort"],
                    "piecewise constant or boolean: the gradient is zero or undefined"),
    **dict.fromkeys(["random.normal", "random.uniform", "random.truncated_normal", "random.categorical",
                     "random.shuffle", "random.seed_tensor", "random.set_global_seed", "random.randint", "random.gamma",
                     "random.beta", "random.binomial"],
                    "a random draw: no input to differentiate"),
}

# ------------------------------------- keras.ops.numpy's further families
from conformance.checks import ops_numpy_family as _numpy_family  # noqa: E402 - needs GradCase above

for _label, (_call, _reference, _inputs) in _numpy_family.GRADIENTS.items():
    _add(_label, _call, _reference, _inputs)
NOT_DIFFERENTIABLE.update(_numpy_family.NOT_DIFFERENTIABLE)

# ------------------------------- control flow and the further keras.ops.nn
from conformance.checks import ops_control_flow as _control_flow  # noqa: E402 - needs GradCase above
from conformance.checks import ops_linalg_extra as _linalg_extra  # noqa: E402
from conformance.checks import ops_nn_extra as _nn_extra  # noqa: E402
from conformance.checks import ops_signal as _signal  # noqa: E402

for _family in (_control_flow, _nn_extra, _linalg_extra, _signal):
    for _label, (_call, _reference, _inputs) in _family.GRADIENTS.items():
        _add(_label, _call, _reference, _inputs)
    NOT_DIFFERENTIABLE.update(_family.NOT_DIFFERENTIABLE)
_add("custom_gradient", _control_flow._custom, np.square, uniform((2, 3)),
     gradient=lambda x, weights, dtype: [np.clip(weights[0] * 2.0 * x, -1.0, 1.0)])  # the custom rule, not d(x**2)

# ------------------------------- counting and selection, rearrange, Keras 3's further core parameters
from conformance.checks import ops_counting as _counting  # noqa: E402 - needs GradCase above

for _label, (_call, _reference, _inputs) in _counting.GRADIENTS.items():
    _add(_label, _call, _reference, _inputs)
NOT_DIFFERENTIABLE.update(_counting.NOT_DIFFERENTIABLE)
