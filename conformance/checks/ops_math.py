"""Forward cases of the math ops: elementwise (unary, binary with
broadcasting, predicates), activations, reductions, arg-reductions and
cumulative ops, ``where``, ``clip`` and ``cast``.

Example:
    >>> [case.name for case in CASES][:3]
    ['negative', 'abs', 'sign']
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from hypothesis import strategies as st

from conformance import reference as ref
from conformance import strategies as cs
from conformance.checks.base import Profile
from conformance.checks.opcase import FLOATS, NUMERIC, Example, OpCase, binary, unary, with_axis
from polykeras import ops

__all__ = ["CASES"]

_WIDE = {"min_value": -100.0, "max_value": 100.0}
_SPECIAL = {"allow_nan": True, "allow_inf": True}

CASES: list[OpCase] = []


def _op(name: str) -> Any:
    return getattr(ops, name)


# ---------------------------------------------------------------- unary
for _name, _ref, _family, _dtypes, _domain in [
    ("negative", np.negative, "elementwise", NUMERIC, _WIDE),
    ("abs", np.abs, "elementwise", NUMERIC, _WIDE),
    ("sign", np.sign, "elementwise", NUMERIC, _WIDE),
    ("square", np.square, "elementwise", NUMERIC, _WIDE),
    ("floor", np.floor, "elementwise", FLOATS, {}),
    ("ceil", np.ceil, "elementwise", FLOATS, {}),
    ("round", np.round, "elementwise", FLOATS, {}),
    ("reciprocal", lambda x: 1.0 / x, "elementwise", FLOATS, {"min_magnitude": 1e-2, **_WIDE}),
    ("exp", np.exp, "transcendental", FLOATS, {"min_value": -20.0, "max_value": 20.0}),
    ("expm1", np.expm1, "transcendental", FLOATS, {}),
    ("log", np.log, "transcendental", FLOATS, {"min_value": 1e-3, "max_value": 100.0}),
    ("log1p", np.log1p, "transcendental", FLOATS, {"min_value": -0.99, "max_value": 100.0}),
    ("sqrt", np.sqrt, "transcendental", FLOATS, {"min_value": 0.0, "max_value": 100.0}),
    ("rsqrt", lambda x: 1.0 / np.sqrt(x), "transcendental", FLOATS, {"min_value": 1e-2, "max_value": 100.0}),
    ("sin", np.sin, "transcendental", FLOATS, {}),
    ("cos", np.cos, "transcendental", FLOATS, {}),
    ("tan", np.tan, "transcendental", FLOATS, {"min_value": -1.4, "max_value": 1.4}),
    ("arctan", np.arctan, "transcendental", FLOATS, _WIDE),
    ("sinh", np.sinh, "transcendental", FLOATS, {}),
    ("cosh", np.cosh, "transcendental", FLOATS, {}),
    ("tanh", np.tanh, "transcendental", FLOATS, {"min_value": -20.0, "max_value": 20.0}),
    ("erf", ref.erf, "transcendental", FLOATS, {"min_value": -5.0, "max_value": 5.0}),
]:
    CASES.append(OpCase(_name, unary(**_domain), _op(_name), _ref, _family, _dtypes))

for _name, _ref in [("isnan", np.isnan), ("isinf", np.isinf), ("isfinite", np.isfinite)]:
    CASES.append(OpCase(_name, unary(**_SPECIAL), _op(_name), _ref, out="bool"))
CASES.append(OpCase("logical_not", unary(), ops.logical_not, np.logical_not, dtypes=("bool",), out="bool"))


# ---------------------------------------------------------------- binary
def _not_near_integer_quotient(x1: np.ndarray, x2: np.ndarray) -> bool:
    """float32 rounding of x1 / x2 legitimately moves the floor at integer quotients."""
    if x1.dtype.kind != "f":
        return True
    q = np.asarray(x1, np.float64) / np.asarray(x2, np.float64)
    return bool(np.all(np.abs(q - np.round(q)) > 1e-4 * np.maximum(1.0, np.abs(q))))


_NONZERO = {"min_magnitude": 0.1}
for _name, _ref, _family, _dtypes, _domain, _second, _keep, _out in [
    ("add", np.add, "elementwise", NUMERIC, _WIDE, None, None, None),
    ("subtract", np.subtract, "elementwise", NUMERIC, _WIDE, None, None, None),
    ("multiply", np.multiply, "elementwise", NUMERIC, _WIDE, None, None, None),
    ("maximum", np.maximum, "elementwise", NUMERIC, _WIDE, None, None, None),
    ("minimum", np.minimum, "elementwise", NUMERIC, _WIDE, None, None, None),
    ("divide", np.divide, "elementwise", NUMERIC, _WIDE, {"min_magnitude": 1e-2}, None,
     lambda d: "float32" if d == "int32" else d),
    ("floor_divide", np.floor_divide, "elementwise", NUMERIC, _WIDE, _NONZERO, _not_near_integer_quotient, None),
    ("mod", np.mod, "elementwise", NUMERIC, _WIDE, _NONZERO, _not_near_integer_quotient, None),
    ("power", np.power, "transcendental", FLOATS, {"min_value": 0.1, "max_value": 4.0}, None, None, None),
    ("arctan2", np.arctan2, "transcendental", FLOATS, {}, None, None, None),
]:
    CASES.append(OpCase(_name, binary(second=_second, keep=_keep, **_domain), _op(_name), _ref, _family, _dtypes,
                        out=_out))

for _name, _ref in [("equal", np.equal), ("not_equal", np.not_equal), ("less", np.less),
                    ("less_equal", np.less_equal), ("greater", np.greater), ("greater_equal", np.greater_equal)]:
    CASES.append(OpCase(_name, binary(min_value=-3.0, max_value=3.0), _op(_name), _ref, dtypes=NUMERIC, out="bool"))
for _name, _ref in [("logical_and", np.logical_and), ("logical_or", np.logical_or),
                    ("logical_xor", np.logical_xor)]:
    CASES.append(OpCase(_name, binary(), _op(_name), _ref, dtypes=("bool",), out="bool"))


@st.composite
def _where(draw: Any, dtype: str, profile: Profile) -> Example:
    shapes = draw(cs.broadcast_shapes(num_shapes=3, max_side=profile.max_side))
    return Example((draw(cs.arrays("bool", shapes[0])), draw(cs.arrays(dtype, shapes[1])),
                    draw(cs.arrays(dtype, shapes[2]))))


CASES.append(OpCase("where", lambda d, p: _where(d, p), ops.where, np.where, dtypes=NUMERIC))


@st.composite
def _clip(draw: Any, dtype: str, profile: Profile) -> Example:
    x = draw(cs.arrays(dtype, cs.shapes(max_side=profile.max_side), min_value=-100.0, max_value=100.0))
    low = draw(st.integers(-50, 0) if dtype == "int32" else st.floats(-50, 0, width=32))
    high = draw(st.integers(0, 50) if dtype == "int32" else st.floats(0, 50, width=32))
    return Example((x,), {"x_min": low, "x_max": high})


CASES.append(OpCase("clip", lambda d, p: _clip(d, p), ops.clip, lambda x, x_min, x_max: np.clip(x, x_min, x_max),
                    dtypes=NUMERIC))

_CASTS = {"float32": ("int32", "float64", "bool"), "float64": ("float32",), "int32": ("float32", "bool"),
          "bool": ("float32", "int32")}


@st.composite
def _cast(draw: Any, dtype: str, profile: Profile) -> Example:
    x = draw(cs.arrays(dtype, cs.shapes(max_side=profile.max_side), min_value=-100.0, max_value=100.0))
    return Example((x,), {"dtype": draw(st.sampled_from(_CASTS[dtype]))})


def _cast_reference(x: np.ndarray, dtype: str) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.asarray(x).astype(dtype)  # float -> int truncates toward zero, as every engine


CASES.append(OpCase("cast", lambda d, p: _cast(d, p), lambda x, dtype: ops.cast(x, dtype), _cast_reference,
                    dtypes=("float32", "float64", "int32", "bool"), out="$dtype"))


# ----------------------------------------------------------- activations
for _name, _ref in [("relu", ref.relu), ("relu6", ref.relu6), ("leaky_relu", ref.leaky_relu), ("elu", ref.elu),
                    ("selu", ref.selu), ("gelu", ref.gelu), ("silu", ref.silu), ("mish", ref.mish),
                    ("sigmoid", ref.sigmoid), ("hard_sigmoid", ref.hard_sigmoid), ("hard_silu", ref.hard_silu),
                    ("softplus", ref.softplus), ("softsign", ref.softsign)]:
    CASES.append(OpCase(_name, unary(min_value=-30.0, max_value=30.0), _op(_name), _ref, "nn"))
for _label, _name, _kwargs, _ref in [
    ("gelu(approximate=False)", "gelu", {"approximate": False}, functools.partial(ref.gelu, approximate=False)),
    ("leaky_relu(negative_slope=0.01)", "leaky_relu", {"negative_slope": 0.01},
     functools.partial(ref.leaky_relu, negative_slope=0.01)),
    ("elu(alpha=0.5)", "elu", {"alpha": 0.5}, functools.partial(ref.elu, alpha=0.5)),
]:
    CASES.append(OpCase(_name, unary(min_value=-30.0, max_value=30.0), functools.partial(_op(_name), **_kwargs),
                        _ref, "nn", label=_label))

for _name in ("softmax", "log_softmax"):
    CASES.append(OpCase(_name, with_axis(axis="single", keepdims=False, min_rank=1, min_value=-50.0, max_value=50.0),
                        _op(_name), getattr(ref, _name), "nn"))


# ------------------------------------------------------------ reductions
def _axis(axis: Any) -> Any:
    return tuple(axis) if isinstance(axis, list) else axis


def _reduce_out(name: str) -> Any:
    def out(dtype: str) -> str:
        if name in ("any", "all"):
            return "bool"
        if dtype == "int32":
            return "float32" if name == "mean" else "int32"
        return dtype
    return out


for _name, _ref, _dtypes, _bound in [
    ("sum", np.sum, NUMERIC, 2.0), ("mean", np.mean, NUMERIC, 2.0), ("max", np.max, NUMERIC, 10.0),
    ("min", np.min, NUMERIC, 10.0), ("prod", np.prod, NUMERIC, 1.5), ("var", np.var, FLOATS, 2.0),
    ("std", np.std, FLOATS, 2.0), ("logsumexp", ref.logsumexp, FLOATS, 10.0),
    ("any", np.any, ("bool", "float32"), 1.0), ("all", np.all, ("bool", "float32"), 1.0),
]:
    _rank = 3 if _name == "prod" else 4  # products stay within float32 and int32: <= 27 factors
    CASES.append(OpCase(
        _name, with_axis(max_rank=_rank, min_value=-_bound, max_value=_bound),
        _op(_name), lambda x, axis, keepdims, _r=_ref: _r(x, axis=_axis(axis), keepdims=keepdims),
        "elementwise" if _name in ("any", "all") else "reduction", _dtypes, out=_reduce_out(_name)))

for _name, _ref in [("argmax", np.argmax), ("argmin", np.argmin)]:
    CASES.append(OpCase(_name, with_axis(axis="single_or_none", min_rank=1, min_value=-3.0, max_value=3.0),
                        _op(_name), lambda x, axis, keepdims, _r=_ref: _r(x, axis=axis, keepdims=keepdims),
                        dtypes=("float32", "int32"), out="int32"))
for _name, _ref in [("cumsum", np.cumsum), ("cumprod", np.cumprod)]:
    CASES.append(OpCase(_name, with_axis(axis="single_or_none", keepdims=False, max_rank=3, min_value=-2.0,
                                         max_value=2.0),
                        _op(_name), lambda x, axis, _r=_ref: _r(x, axis=axis), "reduction", NUMERIC))
