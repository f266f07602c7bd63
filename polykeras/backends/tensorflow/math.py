"""TensorFlow engine, part 2: elementwise math, reductions and sorting.

Each elementwise op first hands its inputs straight to the raw op (native
tensors and Python scalars; the raw op converts a scalar to the tensor's dtype
and raises on a dtype clash), and only on failure takes the slow path that
promotes by the protocol's rules. Float-valued functions of int/bool inputs
give float32 (float64 for int64); sums, products and cumulative ops of
bool/int8/int16/uint8 give int32, as in the NumPy reference engine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tensorflow as tf

from polykeras.backends.base import Axis, Tensor
from polykeras.backends.tensorflow.core import (
    BOOL, DIRECT, ERRORS, FLOAT32, INEXACT, INT32, KIND, TENSORS, EagerTensor, R, accumulator_of, all_axes,
    floating, ints, promote, scalar, tensor,
)


# ------------------------------------------------------------ factories
Raw = Callable[..., Tensor]


def _binary(raw: Raw, on_bool: Raw | None = None, on_int: Raw | None = None) -> Callable[..., Tensor]:
    """A protocol method for a raw op ``raw(x=, y=)``. ``on_bool``/``on_int``
    (same signature) stand in for bool/integer operands; with ``on_int`` the
    fast path takes float tensors only (TF's integer kernels raise where NumPy
    does not)."""

    def method(self: Any, x1: Tensor, x2: Tensor) -> Tensor:
        if type(x1) in DIRECT and type(x2) in DIRECT and (
            on_int is None or (type(x1) in TENSORS and x1.dtype in INEXACT)
        ):
            try:
                return raw(x=x1, y=x2)
            except ERRORS:
                pass
        x1, x2 = promote(x1, x2)
        kind = KIND[x1.dtype]
        if kind == 0 and on_bool is not None:
            return on_bool(x=x1, y=x2)
        if kind <= 1 and on_int is not None:
            return on_int(x=x1, y=x2)
        return raw(x=x1, y=x2)

    return method


def _in(dtype: tf.DType, raw: Raw, back: tf.DType | None = None) -> Raw:
    """``raw`` computed with both operands cast to ``dtype`` (the result cast to ``back``)."""

    def run(x: Tensor, y: Tensor) -> Tensor:
        out = raw(x=R.Cast(x=x, DstT=dtype), y=R.Cast(x=y, DstT=dtype))
        return out if back is None else R.Cast(x=out, DstT=back)

    return run


def _safe_int(raw: Raw) -> Raw:
    """Integer ``//`` and ``%``: by zero they give 0, as NumPy (TF raises)."""

    def run(x: Tensor, y: Tensor) -> Tensor:
        if x.dtype == BOOL:
            x, y = R.Cast(x=x, DstT=tf.int8), R.Cast(x=y, DstT=tf.int8)
        is_zero = R.Equal(x=y, y=scalar(0, y.dtype))
        out = raw(x=x, y=R.SelectV2(condition=is_zero, t=scalar(1, y.dtype), e=y))
        return R.SelectV2(condition=is_zero, t=scalar(0, out.dtype), e=out)

    return run


def _int_power(x: Tensor, y: Tensor) -> Tensor:
    """TF has no uint8/bool ``Pow``: computed in int32, wrapped back like NumPy."""
    if x.dtype in (tf.uint8, BOOL):
        return _in(INT32, R.Pow, tf.uint8 if x.dtype == tf.uint8 else tf.int8)(x, y)
    return R.Pow(x=x, y=y)


def _float_binary(raw: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """A float-valued binary op: int/bool operands are made floats first."""

    def method(self: Any, x1: Tensor, x2: Tensor) -> Tensor:
        if type(x1) is EagerTensor and x1.dtype in INEXACT and (type(x2) in DIRECT or type(x2) is int):
            try:
                return raw(x1, x2)
            except ERRORS:
                pass
        x1, x2 = promote(x1, x2)
        if x1.dtype not in INEXACT:
            x1, x2 = floating(x1), floating(x2)
        return raw(x1, x2)

    return method


def _unary(raw: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """A dtype-preserving unary op ``raw(x=)``."""

    def method(self: Any, x: Tensor) -> Tensor:
        if type(x) in TENSORS:
            return raw(x=x)
        return raw(x=tensor(x))

    return method


def _float_unary(raw: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """A float-valued unary op ``raw(x=)``: int/bool inputs are made floats."""

    def method(self: Any, x: Tensor) -> Tensor:
        if type(x) in TENSORS:
            try:
                return raw(x=x)
            except ERRORS:
                pass
        return raw(x=floating(x))

    return method


def _rounding(raw: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """floor/ceil/round: integers are already whole and come back unchanged (as NumPy)."""

    def method(self: Any, x: Tensor) -> Tensor:
        x = tensor(x)
        return raw(x=x) if x.dtype in INEXACT else x

    return method


def _test(raw: Callable[..., Tensor], on_exact: bool) -> Callable[..., Tensor]:
    """isnan/isinf/isfinite: integers are never NaN nor infinite."""

    def method(self: Any, x: Tensor) -> Tensor:
        x = tensor(x)
        return raw(x=x) if x.dtype in INEXACT else tf.fill(tf.shape(x), on_exact)

    return method


def _as_bool(x: Any) -> Tensor:
    x = tensor(x)
    return x if x.dtype == BOOL else R.NotEqual(x=x, y=scalar(0, x.dtype))


def _real_div(x1: Tensor, x2: Tensor) -> Tensor:
    return R.RealDiv(x=x1, y=x2)


def _atan2(x1: Tensor, x2: Tensor) -> Tensor:
    return R.Atan2(y=x1, x=x2)


def _reduce(raw: Callable[..., Tensor], x: Tensor, axis: Axis, keepdims: bool) -> Tensor:
    if axis is None:
        axis = all_axes(x)
    elif not isinstance(axis, int):
        axis = ints(x, axis)
    return raw(input=x, axis=axis, keep_dims=keepdims)


def _flat(x: Tensor) -> Tensor:
    return R.Reshape(tensor=x, shape=ints(x, (-1,)))


class TensorflowMath:
    """Elementwise ops, reductions and sorting of the TensorFlow engine (see
    :class:`polykeras.backends.tensorflow.TensorflowBackend`)."""

    # ----------------------------------------------- binary elementwise
    add = _binary(R.AddV2, on_bool=R.LogicalOr)
    subtract = _binary(R.Sub)
    multiply = _binary(R.Mul, on_bool=R.LogicalAnd)
    floor_divide = _binary(R.FloorDiv, on_int=_safe_int(R.FloorDiv))
    mod = _binary(R.FloorMod, on_int=_safe_int(R.FloorMod))
    power = _binary(R.Pow, on_int=_int_power)
    maximum = _binary(R.Maximum, on_bool=R.LogicalOr)
    minimum = _binary(R.Minimum, on_bool=R.LogicalAnd)
    equal = _binary(R.Equal)
    not_equal = _binary(R.NotEqual)
    less = _binary(R.Less, on_bool=_in(INT32, R.Less))
    less_equal = _binary(R.LessEqual, on_bool=_in(INT32, R.LessEqual))
    greater = _binary(R.Greater, on_bool=_in(INT32, R.Greater))
    greater_equal = _binary(R.GreaterEqual, on_bool=_in(INT32, R.GreaterEqual))
    divide = _float_binary(_real_div)
    arctan2 = _float_binary(_atan2)

    def logical_and(self, x1: Tensor, x2: Tensor) -> Tensor:
        return R.LogicalAnd(x=_as_bool(x1), y=_as_bool(x2))

    def logical_or(self, x1: Tensor, x2: Tensor) -> Tensor:
        return R.LogicalOr(x=_as_bool(x1), y=_as_bool(x2))

    def logical_xor(self, x1: Tensor, x2: Tensor) -> Tensor:
        return R.NotEqual(x=_as_bool(x1), y=_as_bool(x2))

    # ------------------------------------------------ unary elementwise
    square = _unary(R.Square)
    exp = _float_unary(R.Exp)
    log = _float_unary(R.Log)
    log1p = _float_unary(R.Log1p)
    expm1 = _float_unary(R.Expm1)
    sqrt = _float_unary(R.Sqrt)
    rsqrt = _float_unary(R.Rsqrt)
    sin = _float_unary(R.Sin)
    cos = _float_unary(R.Cos)
    tan = _float_unary(R.Tan)
    arctan = _float_unary(R.Atan)
    sinh = _float_unary(R.Sinh)
    cosh = _float_unary(R.Cosh)
    tanh = _float_unary(R.Tanh)
    erf = _float_unary(R.Erf)
    floor = _rounding(R.Floor)
    ceil = _rounding(R.Ceil)
    round = _rounding(R.Round)  # half to even, as NumPy
    isnan = _test(R.IsNan, False)
    isinf = _test(R.IsInf, False)
    isfinite = _test(R.IsFinite, True)

    def negative(self, x: Tensor) -> Tensor:
        if type(x) is not EagerTensor:
            x = tensor(x)
        if x.dtype == tf.uint8:  # wraps around, as NumPy
            return R.Cast(x=R.Neg(x=R.Cast(x=x, DstT=INT32)), DstT=tf.uint8)
        return R.Neg(x=x)

    def abs(self, x: Tensor) -> Tensor:
        if type(x) is not EagerTensor:
            x = tensor(x)
        return x if x.dtype in (BOOL, tf.uint8) else R.Abs(x=x)

    def sign(self, x: Tensor) -> Tensor:
        if type(x) is not EagerTensor:
            x = tensor(x)
        if x.dtype == tf.uint8:
            return R.Cast(x=R.Greater(x=x, y=scalar(0, tf.uint8)), DstT=tf.uint8)
        return R.Sign(x=x)

    def reciprocal(self, x: Tensor) -> Tensor:
        x = tensor(x)  # ``1.0 / x``: a weak float, so every int gives float32
        return R.Reciprocal(x=x if x.dtype in INEXACT else R.Cast(x=x, DstT=FLOAT32))

    def logical_not(self, x: Tensor) -> Tensor:
        return R.LogicalNot(x=_as_bool(x))

    def where(self, condition: Tensor, x1: Tensor, x2: Tensor) -> Tensor:
        if type(condition) is EagerTensor and type(x1) in DIRECT and type(x2) in DIRECT:
            try:
                return R.SelectV2(condition=condition, t=x1, e=x2)
            except ERRORS:
                pass
        x1, x2 = promote(x1, x2)
        return R.SelectV2(condition=_as_bool(condition), t=x1, e=x2)

    # -------------------------------------------------------- reductions
    def sum(self, x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
        x = tensor(x)
        wide = accumulator_of(x.dtype)
        if wide is not None:
            x = R.Cast(x=x, DstT=wide)
        return _reduce(R.Sum, x, axis, keepdims)

    def prod(self, x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
        x = tensor(x)
        wide = accumulator_of(x.dtype)
        if wide is not None:
            x = R.Cast(x=x, DstT=wide)
        return _reduce(R.Prod, x, axis, keepdims)

    def mean(self, x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
        x = tensor(x)
        if x.dtype not in INEXACT:
            # Summed in float64 so large ints average exactly, as the reference does.
            out = _reduce(R.Mean, R.Cast(x=x, DstT=tf.float64), axis, keepdims)
            return R.Cast(x=out, DstT=FLOAT32)
        return _reduce(R.Mean, x, axis, keepdims)

    def max(self, x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
        x = tensor(x)
        return _reduce(R.Any if x.dtype == BOOL else R.Max, x, axis, keepdims)

    def min(self, x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
        x = tensor(x)
        return _reduce(R.All if x.dtype == BOOL else R.Min, x, axis, keepdims)

    def any(self, x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return _reduce(R.Any, _as_bool(x), axis, keepdims)

    def all(self, x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return _reduce(R.All, _as_bool(x), axis, keepdims)

    def _arg(self, raw: Callable[..., Tensor], x: Tensor, axis: int | None, keepdims: bool) -> Tensor:
        x = tensor(x)
        if x.dtype == BOOL:
            x = R.Cast(x=x, DstT=INT32)
        rank = x.shape.rank
        if axis is None:
            x, axis = _flat(x), 0
        out = raw(input=x, dimension=axis, output_type=INT32)
        if x.dtype in INEXACT:  # NumPy: the first NaN wins (TF's kernels skip NaNs)
            nan = R.IsNan(x=x)
            out = R.SelectV2(condition=R.Any(input=nan, axis=axis, keep_dims=False),
                             t=R.ArgMax(input=nan, dimension=axis, output_type=INT32), e=out)
        if not keepdims:
            return out
        if rank is not None and x.shape.rank != rank:  # axis=None: one entry per original axis
            return R.Reshape(tensor=out, shape=[1] * rank)
        return R.ExpandDims(input=out, axis=axis)

    def argmax(self, x: Tensor, axis: int | None = None, keepdims: bool = False) -> Tensor:
        return self._arg(R.ArgMax, x, axis, keepdims)

    def argmin(self, x: Tensor, axis: int | None = None, keepdims: bool = False) -> Tensor:
        return self._arg(R.ArgMin, x, axis, keepdims)

    def _cumulative(self, raw: Callable[..., Tensor], x: Tensor, axis: int | None) -> Tensor:
        x = tensor(x)
        wide = accumulator_of(x.dtype)
        if wide is not None:
            x = R.Cast(x=x, DstT=wide)
        if axis is None:
            x, axis = _flat(x), 0
        return raw(x=x, axis=axis, exclusive=False, reverse=False)

    def cumsum(self, x: Tensor, axis: int | None = None) -> Tensor:
        return self._cumulative(R.Cumsum, x, axis)

    def cumprod(self, x: Tensor, axis: int | None = None) -> Tensor:
        return self._cumulative(R.Cumprod, x, axis)

    # ------------------------------------------------------------ sorting
    def sort(self, x: Tensor, axis: int = -1) -> Tensor:
        x = tensor(x)
        if x.dtype == BOOL:
            return R.Cast(x=tf.sort(R.Cast(x=x, DstT=INT32), axis=axis), DstT=BOOL)
        return tf.sort(x, axis=axis)

    def argsort(self, x: Tensor, axis: int = -1) -> Tensor:
        x = tensor(x)
        if x.dtype == BOOL:
            x = R.Cast(x=x, DstT=INT32)
        return tf.argsort(x, axis=axis, stable=True)

    def top_k(self, x: Tensor, k: int, sorted: bool = True) -> tuple[Tensor, Tensor]:
        x = tensor(x)
        if x.dtype == BOOL:
            values, indices = tf.math.top_k(R.Cast(x=x, DstT=INT32), k=k, sorted=sorted)
            return R.Cast(x=values, DstT=BOOL), indices
        values, indices = tf.math.top_k(x, k=k, sorted=sorted)
        return values, indices
