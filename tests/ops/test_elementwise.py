"""Elementwise ops: unary and binary (with broadcasting), predicates, dtype
promotion and Python-scalar weak typing, on every engine against NumPy."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from conformance import reference as ref
from conformance import strategies as cs
from polykeras import ops
from polykeras.backends.dtypes import result_type

from ._helpers import check, f64, need, numpy, tensor


@dataclasses.dataclass(frozen=True)
class Case:
    ref: Callable[..., Any]
    family: str = "elementwise"
    dtypes: tuple[str, ...] = ("float32", "float64")
    domain: dict = dataclasses.field(default_factory=dict)
    out: str | None = None  # result dtype when it is not the input's


_NUM = ("float32", "float64", "int32")
_WIDE = {"min_value": -100.0, "max_value": 100.0}

UNARY: dict[str, Case] = {
    "negative": Case(np.negative, dtypes=_NUM, domain=_WIDE),
    "abs": Case(np.abs, dtypes=_NUM, domain=_WIDE),
    "sign": Case(np.sign, dtypes=_NUM, domain=_WIDE),
    "square": Case(np.square, dtypes=_NUM, domain=_WIDE),
    "floor": Case(np.floor),
    "ceil": Case(np.ceil),
    "round": Case(np.round),
    "reciprocal": Case(lambda x: 1.0 / x, domain={"min_magnitude": 1e-2, **_WIDE}),
    "exp": Case(np.exp, "transcendental", domain={"min_value": -20.0, "max_value": 20.0}),
    "expm1": Case(np.expm1, "transcendental"),
    "log": Case(np.log, "transcendental", domain={"min_value": 1e-3, "max_value": 100.0}),
    "log1p": Case(np.log1p, "transcendental", domain={"min_value": -0.99, "max_value": 100.0}),
    "sqrt": Case(np.sqrt, "transcendental", domain={"min_value": 0.0, "max_value": 100.0}),
    "rsqrt": Case(lambda x: 1.0 / np.sqrt(x), "transcendental", domain={"min_value": 1e-2, "max_value": 100.0}),
    "sin": Case(np.sin, "transcendental"),
    "cos": Case(np.cos, "transcendental"),
    "tan": Case(np.tan, "transcendental", domain={"min_value": -1.4, "max_value": 1.4}),
    "arctan": Case(np.arctan, "transcendental", domain=_WIDE),
    "sinh": Case(np.sinh, "transcendental"),
    "cosh": Case(np.cosh, "transcendental"),
    "tanh": Case(np.tanh, "transcendental", domain={"min_value": -20.0, "max_value": 20.0}),
    "erf": Case(ref.erf, "transcendental", domain={"min_value": -5.0, "max_value": 5.0}),
    "isnan": Case(np.isnan, domain={"allow_nan": True, "allow_inf": True}, out="bool"),
    "isinf": Case(np.isinf, domain={"allow_nan": True, "allow_inf": True}, out="bool"),
    "isfinite": Case(np.isfinite, domain={"allow_nan": True, "allow_inf": True}, out="bool"),
    "logical_not": Case(np.logical_not, dtypes=("bool",), out="bool"),
}


def _not_near_integer_quotient(x: np.ndarray, y: np.ndarray) -> bool:
    q = f64(x) / f64(y)
    return bool(np.all(np.abs(q - np.round(q)) > 1e-4 * np.maximum(1.0, np.abs(q))))


BINARY: dict[str, Case] = {
    "add": Case(np.add, dtypes=_NUM, domain=_WIDE),
    "subtract": Case(np.subtract, dtypes=_NUM, domain=_WIDE),
    "multiply": Case(np.multiply, dtypes=_NUM, domain=_WIDE),
    "maximum": Case(np.maximum, dtypes=_NUM, domain=_WIDE),
    "minimum": Case(np.minimum, dtypes=_NUM, domain=_WIDE),
    "divide": Case(np.divide, dtypes=_NUM, domain={"min_magnitude": 1e-2, **_WIDE}),
    "floor_divide": Case(np.floor_divide, dtypes=_NUM, domain={"min_magnitude": 0.1, **_WIDE}),
    "mod": Case(np.mod, dtypes=_NUM, domain={"min_magnitude": 0.1, **_WIDE}),
    "power": Case(np.power, "transcendental", domain={"min_value": 0.1, "max_value": 4.0}),
    "arctan2": Case(np.arctan2, "transcendental"),
    "equal": Case(np.equal, dtypes=_NUM, out="bool"),
    "not_equal": Case(np.not_equal, dtypes=_NUM, out="bool"),
    "less": Case(np.less, dtypes=_NUM, out="bool"),
    "less_equal": Case(np.less_equal, dtypes=_NUM, out="bool"),
    "greater": Case(np.greater, dtypes=_NUM, out="bool"),
    "greater_equal": Case(np.greater_equal, dtypes=_NUM, out="bool"),
    "logical_and": Case(np.logical_and, dtypes=("bool",), out="bool"),
    "logical_or": Case(np.logical_or, dtypes=("bool",), out="bool"),
    "logical_xor": Case(np.logical_xor, dtypes=("bool",), out="bool"),
}

COVERED = set(UNARY) | set(BINARY) | {"where", "clip"}


def _result_dtype(case: Case, name: str, dtype: str) -> str:
    if case.out:
        return case.out
    if name == "divide" and dtype == "int32":
        return "float32"  # integer true division gives float32
    return dtype


def _params(table: dict[str, Case]) -> list:
    return [pytest.param(name, dtype, id=f"{name}-{dtype}") for name, case in table.items() for dtype in case.dtypes]


@pytest.mark.parametrize(("name", "dtype"), _params(UNARY))
def test_unary(engine, name, dtype):
    need(dtype)
    case = UNARY[name]

    @given(x=cs.arrays(dtype, cs.shapes(), **case.domain))
    def prop(x):
        out = getattr(ops, name)(tensor(x))
        expected = case.ref(x if dtype in ("bool", "int32") else f64(x))
        out_dtype = _result_dtype(case, name, dtype)
        check(out, np.asarray(expected).astype(out_dtype), case.family, out_dtype, what=f"{name}({dtype})")

    prop()


@pytest.mark.parametrize(("name", "dtype"), _params(BINARY))
def test_binary_broadcasting(engine, name, dtype):
    need(dtype)
    case = BINARY[name]

    @given(data=st.data(), shapes=cs.broadcast_shapes())
    def prop(data, shapes):
        domain = dict(case.domain)
        x1 = data.draw(cs.arrays(dtype, shapes[0], **{k: v for k, v in domain.items() if k != "min_magnitude"}))
        x2 = data.draw(cs.arrays(dtype, shapes[1], **domain))
        if name in ("floor_divide", "mod") and dtype != "int32":
            # float32 rounding of x1 / x2 legitimately moves the floor at integer quotients
            assume(_not_near_integer_quotient(*np.broadcast_arrays(x1, x2)))
        if name == "power" and dtype == "int32":
            x2 = np.abs(x2)
        out = getattr(ops, name)(tensor(x1), tensor(x2))
        exact = dtype in ("bool", "int32")
        expected = case.ref(x1 if exact else f64(x1), x2 if exact else f64(x2))
        out_dtype = _result_dtype(case, name, dtype)
        check(out, np.asarray(expected).astype(out_dtype), case.family, out_dtype, what=f"{name}{shapes}")

    prop()


def test_int_power(engine):
    base = np.array([[-3, -1, 0, 2, 5]], dtype=np.int32)
    exponent = np.array([[0], [1], [3]], dtype=np.int32)
    check(ops.power(tensor(base), tensor(exponent)), np.power(base, exponent), "elementwise", "int32", what="power")


def test_round_half_to_even(engine):
    x = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5], dtype=np.float32)
    check(ops.round(tensor(x)), np.array([-2, -2, -0, 0, 2, 2, 4], np.float32), "elementwise", "float32", what="round")


def test_special_values(engine):
    """Where an op defines NaN / inf / signed zero, every engine agrees."""
    x = np.array([0.0, -1.0, np.inf, -np.inf, np.nan], dtype=np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        check(ops.log(tensor(x)), np.log(x), "transcendental", "float32", what="log")
        check(ops.sqrt(tensor(x)), np.sqrt(x), "transcendental", "float32", what="sqrt")
        check(ops.exp(tensor(x)), np.exp(x), "transcendental", "float32", what="exp")
        check(ops.reciprocal(tensor(x)), 1.0 / x, "elementwise", "float32", what="reciprocal")
        check(ops.tanh(tensor(x)), np.tanh(x), "transcendental", "float32", what="tanh")
    check(ops.divide(tensor(np.float32([1.0, -1.0, 0.0])), tensor(np.float32([0.0, 0.0, 0.0]))),
          np.float32([np.inf, -np.inf, np.nan]), "elementwise", "float32", what="divide by zero")
    check(ops.maximum(tensor(np.float32([np.nan, 1.0])), tensor(np.float32([1.0, np.nan]))),
          np.float32([np.nan, np.nan]), "elementwise", "float32", what="maximum propagates NaN")
    assert np.signbit(numpy(ops.negative(tensor(np.float32([0.0])))))[0], "negative(0.0) must be -0.0"


@pytest.mark.parametrize(("a", "b"), [("int32", "float32"), ("float32", "float64"), ("int32", "float64"),
                                      ("bool", "int32"), ("bool", "float32")])
def test_dtype_promotion(engine, a, b):
    need(a)
    need(b)
    x1, x2 = np.ones((2, 3), a), np.full((3,), 2, b)
    expected_dtype = result_type(a, b)
    check(ops.add(tensor(x1), tensor(x2)), (x1.astype("float64") + x2).astype(expected_dtype),
          "elementwise", expected_dtype, what=f"add({a}, {b})")
    check(ops.multiply(tensor(x2), tensor(x1)), (x1.astype("float64") * x2).astype(expected_dtype),
          "elementwise", expected_dtype, what=f"multiply({b}, {a})")


@pytest.mark.parametrize(("dtype", "scalar", "expected"), [
    ("float32", 2, "float32"), ("float32", 2.5, "float32"), ("int32", 2, "int32"),
    ("float64", 2.5, "float64"), ("int32", 2.5, "float32"),
])
def test_python_scalars_are_weak(engine, dtype, scalar, expected):
    need(dtype)
    x = np.arange(4).astype(dtype)
    for name, fn in [("add", np.add), ("multiply", np.multiply), ("subtract", np.subtract)]:
        check(getattr(ops, name)(tensor(x), scalar), fn(x.astype("float64"), scalar).astype(expected),
              "elementwise", expected, what=f"{name}({dtype}, {scalar!r})")
        check(getattr(ops, name)(scalar, tensor(x)), fn(scalar, x.astype("float64")).astype(expected),
              "elementwise", expected, what=f"{name}({scalar!r}, {dtype})")


def test_integer_division(engine):
    x, y = np.array([7, -7, 6], np.int32), np.array([2, 2, -4], np.int32)
    check(ops.divide(tensor(x), tensor(y)), np.float32([3.5, -3.5, -1.5]), "elementwise", "float32", what="divide")
    check(ops.floor_divide(tensor(x), tensor(y)), np.floor_divide(x, y), "elementwise", "int32", what="floor_divide")
    check(ops.mod(tensor(x), tensor(y)), np.mod(x, y), "elementwise", "int32", what="mod")


@given(data=st.data(), shapes=cs.broadcast_shapes(num_shapes=3))
def _where_prop(data, shapes):
    condition = data.draw(cs.arrays("bool", shapes[0]))
    x1 = data.draw(cs.arrays("float32", shapes[1]))
    x2 = data.draw(cs.arrays("float32", shapes[2]))
    out = ops.where(tensor(condition), tensor(x1), tensor(x2))
    check(out, np.where(condition, x1, x2), "elementwise", "float32", what=f"where{shapes}")


def test_where(engine):
    _where_prop()
    check(ops.where(tensor(np.array([True, False])), 1.0, 0.0), np.float32([1, 0]), "elementwise", "float32",
          what="where with Python scalars")


@given(x=cs.arrays("float32", cs.shapes(), min_value=-100.0, max_value=100.0),
       bounds=st.tuples(st.floats(-50, 0, width=32), st.floats(0, 50, width=32)))
def _clip_prop(x, bounds):
    low, high = bounds
    check(ops.clip(tensor(x), low, high), np.clip(x, low, high), "elementwise", "float32", what=f"clip{bounds}")


def test_clip(engine):
    _clip_prop()
    x = np.array([-5, 0, 5], np.int32)
    check(ops.clip(tensor(x), -1, 2), np.clip(x, -1, 2), "elementwise", "int32", what="clip int32")
