"""Forward and gradient cases of the ``keras.ops.numpy`` families beyond the
core (``polykeras/ops/elementwise.py``, ``arrays.py``, ``statistics.py``):
each op against its NumPy float64 reference, with the strategies of
:mod:`conformance.checks.opcase` and the tolerances of the one table.

``CASES`` join :data:`conformance.checks.ops.FORWARD_CASES`; ``GRADIENTS``
and ``NOT_DIFFERENTIABLE`` join those of :mod:`conformance.checks.ops_gradients`.

Example:
    >>> [case.name for case in CASES][:2]
    ['absolute', 'fabs']
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from hypothesis import strategies as st

from conformance import strategies as cs
from conformance.checks.base import Profile
from conformance.checks.opcase import FLOATS, NUMERIC, Example, OpCase, binary, fixed, unary, with_axis
from polykeras import ops

__all__ = ["CASES", "GRADIENTS", "NOT_DIFFERENTIABLE"]

CASES: list[OpCase] = []
#: label -> (call, reference, inputs): made into ``GradCase`` by ops_gradients.
GRADIENTS: dict[str, tuple[Any, Any, Any]] = {}
NOT_DIFFERENTIABLE: dict[str, str] = {}

_WIDE = {"min_value": -100.0, "max_value": 100.0}
_SPECIAL = {"allow_nan": True, "allow_inf": True}


def _op(name: str) -> Any:
    return getattr(ops, name)


def _float_of(dtype: str) -> str:
    """Keras 3's float-valued result dtype for a drawn dtype."""
    return dtype if dtype.startswith("float") else "float32"


def _uniform(*shapes: tuple[int, ...], low: float = -2.0, high: float = 2.0) -> Any:
    return lambda rng: [rng.uniform(low, high, s) for s in shapes]


# ------------------------------------------------------------- elementwise
for _name, _ref, _family, _dtypes, _domain, _out in [
    ("absolute", np.absolute, "elementwise", NUMERIC, _WIDE, None),
    ("fabs", np.fabs, "elementwise", NUMERIC, _WIDE, _float_of),
    ("arcsin", np.arcsin, "transcendental", FLOATS, {"min_value": -0.99, "max_value": 0.99}, None),
    ("arccos", np.arccos, "transcendental", FLOATS, {"min_value": -0.99, "max_value": 0.99}, None),
    ("arcsinh", np.arcsinh, "transcendental", NUMERIC, _WIDE, _float_of),
    ("arccosh", np.arccosh, "transcendental", FLOATS, {"min_value": 1.01, "max_value": 100.0}, None),
    ("arctanh", np.arctanh, "transcendental", FLOATS, {"min_value": -0.99, "max_value": 0.99}, None),
    ("cbrt", np.cbrt, "transcendental", NUMERIC, _WIDE, _float_of),
    ("exp2", np.exp2, "transcendental", FLOATS, {"min_value": -20.0, "max_value": 20.0}, None),
    ("log2", np.log2, "transcendental", FLOATS, {"min_value": 1e-3, "max_value": 100.0}, None),
    ("log10", np.log10, "transcendental", FLOATS, {"min_value": 1e-3, "max_value": 100.0}, None),
    ("deg2rad", np.deg2rad, "elementwise", NUMERIC, _WIDE, _float_of),
    ("rad2deg", np.rad2deg, "elementwise", NUMERIC, _WIDE, _float_of),
    ("sinc", np.sinc, "transcendental", FLOATS, {"min_value": -2.0, "max_value": 2.0}, None),
    ("trunc", np.trunc, "elementwise", NUMERIC, _WIDE, None),
    ("conj", np.conj, "elementwise", NUMERIC, _WIDE, None),
    ("conjugate", np.conjugate, "elementwise", NUMERIC, _WIDE, None),
    ("real", np.real, "elementwise", NUMERIC, _WIDE, None),
    ("imag", lambda x: np.zeros_like(x), "elementwise", NUMERIC, _WIDE, None),
    ("copy", np.copy, "elementwise", (*NUMERIC, "bool"), _WIDE, None),
]:
    CASES.append(OpCase(_name, unary(**_domain), _op(_name), _ref, _family, _dtypes, out=_out))

for _name, _ref in [("signbit", np.signbit), ("isposinf", np.isposinf), ("isneginf", np.isneginf),
                    ("isreal", np.isreal)]:
    CASES.append(OpCase(_name, unary(**_SPECIAL), _op(_name), _ref, dtypes=NUMERIC, out="bool"))
CASES.append(OpCase("nan_to_num", unary(**_SPECIAL), ops.nan_to_num, np.nan_to_num, dtypes=NUMERIC))
CASES.append(OpCase("nan_to_num", unary(**_SPECIAL), functools.partial(ops.nan_to_num, nan=1.5, posinf=9.0, neginf=-9.0),
                    functools.partial(np.nan_to_num, nan=1.5, posinf=9.0, neginf=-9.0), label="nan_to_num(nan=1.5, ...)"))


def _fmod_keep(x1: np.ndarray, x2: np.ndarray) -> bool:
    if x1.dtype.kind != "f":
        return True  # an exact remainder
    q = np.asarray(x1, np.float64) / np.asarray(x2, np.float64)
    return bool(np.all(np.abs(q - np.round(q)) > 1e-4 * np.maximum(1.0, np.abs(q))))


_NONZERO = {"min_magnitude": 0.1}
for _name, _ref, _family, _dtypes, _domain, _second, _keep, _out in [
    ("logaddexp", np.logaddexp, "transcendental", FLOATS, _WIDE, None, None, None),
    ("logaddexp2", np.logaddexp2, "transcendental", FLOATS, _WIDE, None, None, None),
    ("hypot", np.hypot, "transcendental", FLOATS, _WIDE, None, None, None),
    ("heaviside", np.heaviside, "elementwise", FLOATS, {"min_value": -2.0, "max_value": 2.0}, None, None, None),
    ("true_divide", np.true_divide, "elementwise", NUMERIC, _WIDE, {"min_magnitude": 1e-2}, None, _float_of),
    ("fmod", np.fmod, "elementwise", NUMERIC, _WIDE, _NONZERO, _fmod_keep, None),
    ("divide_no_nan", lambda a, b: np.where(b == 0, 0.0, a / np.where(b == 0, 1.0, b)), "elementwise", NUMERIC,
     {"min_value": -3.0, "max_value": 3.0}, None, None, _float_of),
    ("fmax", np.fmax, "elementwise", NUMERIC, {**_WIDE, "allow_nan": True}, None, None, None),
    ("fmin", np.fmin, "elementwise", NUMERIC, {**_WIDE, "allow_nan": True}, None, None, None),
]:
    CASES.append(OpCase(_name, binary(second=_second, keep=_keep, **_domain), _op(_name), _ref, _family, _dtypes,
                        out=_out))
CASES.append(OpCase("isclose", binary(min_value=-3.0, max_value=3.0, **_SPECIAL), ops.isclose, np.isclose,
                    dtypes=FLOATS, out="bool"))
CASES.append(OpCase("isclose", binary(min_value=-3.0, max_value=3.0, **_SPECIAL),
                    functools.partial(ops.isclose, rtol=0.5, atol=0.1, equal_nan=True),
                    functools.partial(np.isclose, rtol=0.5, atol=0.1, equal_nan=True), dtypes=FLOATS, out="bool",
                    label="isclose(rtol=0.5, atol=0.1, equal_nan=True)"))


@st.composite
def _ldexp(draw: Any, dtype: str, profile: Profile) -> Example:
    shapes = draw(cs.broadcast_shapes(max_side=profile.max_side))
    return Example((draw(cs.arrays(dtype, shapes[0], min_value=-10.0, max_value=10.0)),
                    draw(cs.arrays("int32", shapes[1], min_value=-8, max_value=8))))


CASES.append(OpCase("ldexp", lambda d, p: _ldexp(d, p), ops.ldexp, lambda x1, x2: np.ldexp(x1, x2.astype(np.int32)),
                    dtypes=FLOATS))

for _name, _ref, _inputs in [
    ("absolute", np.absolute, lambda rng: [rng.uniform(0.2, 2, (2, 3)) * rng.choice([-1.0, 1.0], (2, 3))]),
    ("fabs", np.fabs, lambda rng: [rng.uniform(0.2, 2, (2, 3)) * rng.choice([-1.0, 1.0], (2, 3))]),
    ("arcsin", np.arcsin, _uniform((2, 3), low=-0.9, high=0.9)),
    ("arccos", np.arccos, _uniform((2, 3), low=-0.9, high=0.9)),
    ("arcsinh", np.arcsinh, _uniform((2, 3))), ("arccosh", np.arccosh, _uniform((2, 3), low=1.2, high=3.0)),
    ("arctanh", np.arctanh, _uniform((2, 3), low=-0.9, high=0.9)),
    ("cbrt", np.cbrt, lambda rng: [rng.uniform(0.3, 2, (2, 3)) * rng.choice([-1.0, 1.0], (2, 3))]),
    ("exp2", np.exp2, _uniform((2, 3))), ("log2", np.log2, _uniform((2, 3), low=0.3, high=3.0)),
    ("log10", np.log10, _uniform((2, 3), low=0.3, high=3.0)), ("deg2rad", np.deg2rad, _uniform((2, 3))),
    ("rad2deg", np.rad2deg, _uniform((2, 3))), ("sinc", np.sinc, _uniform((2, 3), low=0.1, high=1.9)),
    ("conj", np.conj, _uniform((2, 3))), ("conjugate", np.conjugate, _uniform((2, 3))),
    ("real", np.real, _uniform((2, 3))), ("copy", np.copy, _uniform((2, 3))),
]:
    GRADIENTS[_name] = (lambda x, _n=_name: getattr(ops, _n)(x), _ref, _inputs)
for _name, _ref, _inputs in [
    ("logaddexp", np.logaddexp, _uniform((2, 3), (3,))), ("logaddexp2", np.logaddexp2, _uniform((2, 3), (3,))),
    ("hypot", np.hypot, _uniform((2, 3), (3,), low=0.5, high=2.0)),
    ("true_divide", np.true_divide, lambda rng: [rng.uniform(-2, 2, (2, 3)), rng.uniform(0.5, 2, (3,))]),
    ("divide_no_nan", np.divide, lambda rng: [rng.uniform(-2, 2, (2, 3)), rng.uniform(0.5, 2, (3,))]),
    ("fmod", np.fmod, lambda rng: [rng.uniform(0.1, 0.9, (2, 3)) + rng.integers(-2, 3, (2, 3)), np.full((3,), 1.0)]),
    ("fmax", np.fmax, lambda rng: [rng.uniform(-2, 2, (2, 3)), rng.uniform(-2, 2, (2, 3)) + 0.01]),
    ("fmin", np.fmin, lambda rng: [rng.uniform(-2, 2, (2, 3)), rng.uniform(-2, 2, (2, 3)) + 0.01]),
]:
    GRADIENTS[_name] = (lambda a, b, _n=_name: getattr(ops, _n)(a, b), _ref, _inputs)
GRADIENTS["ldexp"] = (lambda x: ops.ldexp(x, ops.convert_to_tensor(np.array([1, -2, 3], np.int32))),
                      lambda x: np.ldexp(x, np.array([1, -2, 3])), _uniform((2, 3)))
GRADIENTS["nan_to_num"] = (lambda x: ops.nan_to_num(x), np.nan_to_num, _uniform((2, 3)))

NOT_DIFFERENTIABLE.update(dict.fromkeys(
    ["trunc", "signbit", "heaviside", "isclose", "isposinf", "isneginf", "isreal", "imag"],
    "piecewise constant or boolean: the gradient is zero or undefined"))
