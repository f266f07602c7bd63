"""Reductions (axis None / int / tuple, keepdims), arg-reductions and
cumulative ops on every engine, against NumPy and the reference."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance import reference as ref
from conformance import strategies as cs
from polykeras import ops

from ._helpers import check, f64, need, numpy, tensor

# name -> (reference, input dtypes, result dtype for int32 input, value range)
REDUCTIONS: dict[str, tuple[Callable, tuple[str, ...], str | None, float]] = {
    "sum": (np.sum, ("float32", "float64", "int32"), "int32", 2.0),
    "mean": (np.mean, ("float32", "float64", "int32"), "float32", 2.0),
    "max": (np.max, ("float32", "float64", "int32"), "int32", 10.0),
    "min": (np.min, ("float32", "float64", "int32"), "int32", 10.0),
    "prod": (np.prod, ("float32", "float64", "int32"), "int32", 1.5),
    "var": (np.var, ("float32", "float64"), None, 2.0),
    "std": (np.std, ("float32", "float64"), None, 2.0),
    "logsumexp": (ref.logsumexp, ("float32", "float64"), None, 10.0),
    "any": (np.any, ("bool", "float32"), None, 1.0),
    "all": (np.all, ("bool", "float32"), None, 1.0),
}
ARG_REDUCTIONS = {"argmax": np.argmax, "argmin": np.argmin}
CUMULATIVE = {"cumsum": np.cumsum, "cumprod": np.cumprod}

COVERED = set(REDUCTIONS) | set(ARG_REDUCTIONS) | set(CUMULATIVE)


def _np_axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def _reduced_dtype(name: str, dtype: str) -> str:
    if name in ("any", "all"):
        return "bool"
    if dtype == "int32":
        return REDUCTIONS[name][2]
    return dtype


def _shape_for(name: str) -> st.SearchStrategy:
    # Products stay within float32 and int32 range: at most 27 factors.
    return cs.shapes(max_rank=3, max_side=3) if name == "prod" else cs.shapes()


@pytest.mark.parametrize(("name", "dtype"),
                         [pytest.param(n, d, id=f"{n}-{d}") for n, v in REDUCTIONS.items() for d in v[1]])
def test_reduction(engine, name, dtype):
    need(dtype)
    reference, _, _, bound = REDUCTIONS[name]
    family = "reduction" if dtype != "bool" else "elementwise"

    @given(data=st.data(), shape=_shape_for(name), keepdims=st.booleans())
    def prop(data, shape, keepdims):
        x = data.draw(cs.arrays(dtype, shape, min_value=-bound, max_value=bound))
        axis = data.draw(cs.axes(len(shape)))
        out = getattr(ops, name)(tensor(x), axis=axis, keepdims=keepdims)
        source = x if dtype in ("int32", "bool") else f64(x)
        expected = reference(source, axis=_np_axis(axis), keepdims=keepdims)
        out_dtype = _reduced_dtype(name, dtype)
        check(out, np.asarray(expected).astype(out_dtype), family, out_dtype,
              what=f"{name}({dtype}{shape}, axis={axis}, keepdims={keepdims})")

    prop()


@pytest.mark.parametrize("name", sorted(ARG_REDUCTIONS))
@pytest.mark.parametrize("dtype", ["float32", "int32"])
def test_arg_reduction(engine, name, dtype):
    reference = ARG_REDUCTIONS[name]

    @given(data=st.data(), shape=cs.shapes(min_rank=1), keepdims=st.booleans())
    def prop(data, shape, keepdims):
        x = data.draw(cs.arrays(dtype, shape, min_value=-3, max_value=3))  # ties: the first index wins
        axis = data.draw(st.one_of(st.none(), cs.single_axis(len(shape))))
        out = getattr(ops, name)(tensor(x), axis=axis, keepdims=keepdims)
        expected = reference(x, axis=axis, keepdims=keepdims)
        check(out, np.asarray(expected).astype("int32"), "elementwise", "int32",
              what=f"{name}({shape}, axis={axis}, keepdims={keepdims})")

    prop()


@pytest.mark.parametrize("name", sorted(CUMULATIVE))
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
def test_cumulative(engine, name, dtype):
    need(dtype)
    reference = CUMULATIVE[name]

    @given(data=st.data(), shape=cs.shapes(max_rank=3, max_side=4))
    def prop(data, shape):
        x = data.draw(cs.arrays(dtype, shape, min_value=-2, max_value=2))
        axis = data.draw(st.one_of(st.none(), cs.single_axis(len(shape)))) if shape else None
        out = getattr(ops, name)(tensor(x), axis=axis)
        expected = reference(x if dtype == "int32" else f64(x), axis=axis)
        check(out, np.asarray(expected).astype(dtype), "reduction", dtype, what=f"{name}({shape}, axis={axis})")

    prop()


def test_logsumexp_infinities(engine):
    x = np.array([[-np.inf, -np.inf], [0.0, -np.inf], [np.inf, 1.0]], np.float32)
    check(ops.logsumexp(tensor(x), axis=1), np.float32([-np.inf, 0.0, np.inf]), "reduction", "float32",
          what="logsumexp with infinities")


def test_logsumexp_large_values_are_stable(engine):
    x = np.array([1000.0, 1000.0], np.float32)
    check(ops.logsumexp(tensor(x)), np.float32(1000.0 + np.log(2.0)), "reduction", "float32", what="logsumexp")


def test_reduction_of_nan_propagates(engine):
    x = np.array([1.0, np.nan, 3.0], np.float32)
    for name in ("sum", "mean", "max", "min"):
        assert np.isnan(numpy(getattr(ops, name)(tensor(x)))), f"{name} must propagate NaN"
