"""Elementwise math, reductions and sorting for the PyTorch engine.

Each op first tries the happy path (native tensors of one dtype) and only then
falls back to :func:`~polykeras.backends.torch.core.pair` for scalars, arrays
and mixed dtypes. Where torch and NumPy disagree the NumPy result wins: integer
sums stay 32-bit (torch widens to int64), ``sign(nan)`` is NaN, ``top_k``
breaks ties by the lower index.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from polykeras.backends.base import Backend
from polykeras.backends.torch.core import (
    FLOATS, INEXACT, INTS, T, axes, float_dtype, floating, pair, to_int, to_tensor,
)

_SCALARS = (bool, int, float)
#: Accumulator dtype of integer sums and products: narrow ints and bool sum to
#: int32 (as Keras); torch's own default would be int64.
_ACC = {
    torch.bool: torch.int32, torch.uint8: torch.int32, torch.int8: torch.int32,
    torch.int16: torch.int32, torch.int32: torch.int32,
}


def _binary(kernel: Callable[[Any, Any], T], name: str, widen: bool = False) -> Callable[..., T]:
    """A protocol method for a torch binary kernel that takes a Python scalar
    as its second operand. ``widen``: see :func:`pair`."""

    def method(self: Any, x1: Any, x2: Any) -> T:
        if type(x1) is T:
            kind = type(x2)
            if kind is T:
                if x1.dtype is x2.dtype:
                    return kernel(x1, x2)
            elif (kind is float or kind is int) and x1.dtype in FLOATS:
                return kernel(x1, x2)  # a weak scalar meeting a float tensor
        x1, x2 = pair(x1, x2, scalars=type(x1) not in _SCALARS, widen=widen)
        return kernel(x1, x2)

    method.__name__ = method.__qualname__ = name
    return method


def _int_arithmetic(kernel: Callable[[Any, Any], T]) -> Callable[[Any, Any], T]:
    """``kernel`` with bool tensors read as int8 (NumPy's loop for bool // bool,
    bool % bool, bool ** bool); torch has no bool kernel for these."""

    def run(x1: T, x2: Any) -> T:
        if x1.dtype is torch.bool:
            x1 = x1.to(torch.int8)
            x2 = x2.to(torch.int8) if type(x2) is T else int(x2)
        return kernel(x1, x2)

    return run


def _power(x1: T, x2: Any) -> T:
    """``torch.pow`` refusing negative integer exponents of integers, as NumPy
    (torch silently gives 0)."""
    if x1.dtype in INTS:
        negative = bool((x2 < 0).any()) if type(x2) is T else x2 < 0
        if negative:
            raise ValueError("integers to negative integer powers are not allowed; cast to a float dtype first")
    return torch.pow(x1, x2)


def _unary(kernel: Callable[[T], T], name: str) -> Callable[..., T]:
    """A dtype-preserving unary op."""

    def method(self: Any, x: Any) -> T:
        if type(x) is not T:
            x = to_tensor(x)
        return kernel(x)

    method.__name__ = method.__qualname__ = name
    return method


def _unary_float(kernel: Callable[[T], T], name: str) -> Callable[..., T]:
    """A float-valued unary op: integer inputs are cast first (see ``float_dtype``)."""

    def method(self: Any, x: Any) -> T:
        if type(x) is not T or x.dtype not in INEXACT:
            x = floating(x)
        return kernel(x)

    method.__name__ = method.__qualname__ = name
    return method


def _exact_ints(kernel: Callable[[T], T]) -> Callable[[T], T]:
    """A rounding kernel that leaves int and bool tensors as they are."""

    def run(x: T) -> T:
        return kernel(x) if x.dtype in INEXACT else x

    return run


def _float_operands(x1: Any, x2: Any) -> tuple[Any, Any]:
    """Operands of a float-valued binary op: the weak-scalar promotion first
    (an int tensor meeting a Python float becomes float32), then any integer
    tensor left becomes a float (see ``float_dtype``)."""
    s1, s2 = type(x1) in _SCALARS, type(x2) in _SCALARS
    if s1 != s2:  # cast the tensor first, so no Python int is squeezed into an int dtype
        tensor, scalar = (to_tensor(x2), x1) if s1 else (to_tensor(x1), x2)
        if tensor.dtype not in INEXACT:
            tensor = tensor.to(torch.float32 if type(scalar) is float else float_dtype(tensor.dtype))
        x1, x2 = (scalar, tensor) if s1 else (tensor, scalar)
    x1, x2 = pair(x1, x2, scalars=True)
    dtype = x1.dtype if isinstance(x1, T) else x2.dtype  # isinstance: a DTensor shard is a tensor too
    if dtype not in INEXACT:
        dtype = float_dtype(dtype)
        x1 = x1.to(dtype) if isinstance(x1, T) else x1
        x2 = x2.to(dtype) if isinstance(x2, T) else x2
    return x1, x2


def _bool_binary(kernel: Callable[[T, T], T], name: str) -> Callable[..., T]:
    def method(self: Any, x1: Any, x2: Any) -> T:
        if type(x1) is not T:
            x1 = to_tensor(x1)
        if type(x2) is not T:
            x2 = to_tensor(x2)
        return kernel(x1, x2)

    method.__name__ = method.__qualname__ = name
    return method


def _reduce_dims(axis: Any) -> Any:
    """``axis`` as torch's ``dim``: None stays None, lists become tuples."""
    if isinstance(axis, list):
        return tuple(axis)
    return axis


def _keep_all(out: T, ndim: int) -> T:
    """A full reduction's result reshaped to ``(1,) * ndim`` (keepdims)."""
    return out.reshape((1,) * ndim)


class MathMixin:
    """Elementwise math, reductions and sorting of :class:`TorchBackend`.

    Example: ``B.get("torch").top_k([1.0, 3.0, 3.0], 2)`` -> (values [3, 3], indices [1, 2])
    """

    # ------------------------------------------------------ binary elementwise
    add = _binary(torch.add, "add")
    subtract = _binary(torch.sub, "subtract")
    multiply = _binary(torch.mul, "multiply")
    floor_divide = _binary(_int_arithmetic(torch.floor_divide), "floor_divide")
    mod = _binary(_int_arithmetic(torch.remainder), "mod")
    power = _binary(_int_arithmetic(_power), "power")
    equal = _binary(torch.eq, "equal", widen=True)
    not_equal = _binary(torch.ne, "not_equal", widen=True)
    less = _binary(torch.lt, "less", widen=True)
    less_equal = _binary(torch.le, "less_equal", widen=True)
    greater = _binary(torch.gt, "greater", widen=True)
    greater_equal = _binary(torch.ge, "greater_equal", widen=True)
    logical_and = _bool_binary(torch.logical_and, "logical_and")
    logical_or = _bool_binary(torch.logical_or, "logical_or")
    logical_xor = _bool_binary(torch.logical_xor, "logical_xor")

    def divide(self, x1: Any, x2: Any) -> T:
        if type(x1) is T and type(x2) is T and x1.dtype is x2.dtype and x1.dtype in INEXACT:
            return torch.div(x1, x2)
        return torch.div(*_float_operands(x1, x2))

    def maximum(self, x1: Any, x2: Any) -> T:
        if type(x1) is T and type(x2) is T and x1.dtype is x2.dtype:
            return torch.maximum(x1, x2)
        if type(x1) in _SCALARS:  # commutative: keep the scalar second
            x1, x2 = x2, x1
        x1, x2 = pair(x1, x2, scalars=x1.dtype is not torch.bool if type(x1) is T else True)
        if type(x2) is T:
            return torch.maximum(x1, x2)
        return torch.clamp_min(x1, x2)

    def minimum(self, x1: Any, x2: Any) -> T:
        if type(x1) is T and type(x2) is T and x1.dtype is x2.dtype:
            return torch.minimum(x1, x2)
        if type(x1) in _SCALARS:
            x1, x2 = x2, x1
        x1, x2 = pair(x1, x2, scalars=x1.dtype is not torch.bool if type(x1) is T else True)
        if type(x2) is T:
            return torch.minimum(x1, x2)
        return torch.clamp_max(x1, x2)

    def arctan2(self, x1: Any, x2: Any) -> T:
        x1, x2 = _float_operands(x1, x2)
        if type(x1) is not T:
            x1 = torch.tensor(x1, dtype=x2.dtype, device=x2.device)
        elif type(x2) is not T:
            x2 = torch.tensor(x2, dtype=x1.dtype, device=x1.device)
        return torch.atan2(x1, x2)

    # ------------------------------------------------------- unary elementwise
    negative = _unary(torch.neg, "negative")
    floor = _unary(_exact_ints(torch.floor), "floor")
    ceil = _unary(_exact_ints(torch.ceil), "ceil")
    round = _unary(_exact_ints(torch.round), "round")  # half to even, as NumPy
    logical_not = _unary(torch.logical_not, "logical_not")
    isnan = _unary(torch.isnan, "isnan")
    isinf = _unary(torch.isinf, "isinf")
    isfinite = _unary(torch.isfinite, "isfinite")
    exp = _unary_float(torch.exp, "exp")
    log = _unary_float(torch.log, "log")
    log1p = _unary_float(torch.log1p, "log1p")
    expm1 = _unary_float(torch.expm1, "expm1")
    sqrt = _unary_float(torch.sqrt, "sqrt")
    rsqrt = _unary_float(torch.rsqrt, "rsqrt")
    sin = _unary_float(torch.sin, "sin")
    cos = _unary_float(torch.cos, "cos")
    tan = _unary_float(torch.tan, "tan")
    arctan = _unary_float(torch.atan, "arctan")
    sinh = _unary_float(torch.sinh, "sinh")
    cosh = _unary_float(torch.cosh, "cosh")
    tanh = _unary_float(torch.tanh, "tanh")
    erf = _unary_float(torch.erf, "erf")

    def abs(self, x: Any) -> T:
        if type(x) is not T:
            x = to_tensor(x)
        return x.clone() if x.dtype is torch.bool else torch.abs(x)

    def sign(self, x: Any) -> T:
        if type(x) is not T:
            x = to_tensor(x)
        out = torch.sign(x)
        if x.dtype in FLOATS:  # torch gives 0 for NaN; NumPy keeps NaN
            out = torch.where(torch.isnan(x), x, out)
        return out

    def square(self, x: Any) -> T:
        if type(x) is not T:
            x = to_tensor(x)
        if x.dtype is torch.bool:
            x = x.to(torch.int8)  # NumPy's bool * bool loop
        return torch.square(x)

    def reciprocal(self, x: Any) -> T:
        if type(x) is not T:
            x = to_tensor(x)
        if x.dtype not in INEXACT:
            x = x.to(torch.float32)  # 1.0 / x: a weak float makes ints float32
        return torch.reciprocal(x)

    def where(self, condition: Any, x1: Any, x2: Any) -> T:
        if type(condition) is not T or condition.dtype is not torch.bool:
            condition = to_tensor(condition).to(torch.bool)
        if type(x1) is T and type(x2) is T and x1.dtype is x2.dtype:
            return torch.where(condition, x1, x2)
        x1, x2 = pair(x1, x2)
        return torch.where(condition, x1, x2)

    def clip(self, x: Any, x_min: Any, x_max: Any) -> T:
        if type(x) is T and type(x_min) in _SCALARS and type(x_max) in _SCALARS:
            if x.dtype in FLOATS or (x.dtype in INTS and type(x_min) is int and type(x_max) is int):
                return torch.clamp(x, x_min, x_max)
        return Backend.clip(self, x, x_min, x_max)  # type: ignore[arg-type]

    # -------------------------------------------------------------- reductions
    def sum(self, x: Any, axis: Any = None, keepdims: bool = False) -> T:
        if type(x) is not T:
            x = to_tensor(x)
        acc = _ACC.get(x.dtype)
        if axis is None and not keepdims:
            return torch.sum(x) if acc is None else torch.sum(x, dtype=acc)
        if axis == ():
            return x if acc is None else x.to(acc)
        return torch.sum(x, dim=_reduce_dims(axis), keepdim=keepdims, dtype=acc)

    def mean(self, x: Any, axis: Any = None, keepdims: bool = False) -> T:
        if type(x) is not T:
            x = to_tensor(x)
        if x.dtype not in INEXACT:
            x = x.to(torch.float32)
        if axis is None and not keepdims:
            return torch.mean(x)
        if axis == ():
            return x
        return torch.mean(x, dim=_reduce_dims(axis), keepdim=keepdims)

    def max(self, x: Any, axis: Any = None, keepdims: bool = False) -> T:
        if type(x) is not T:
            x = to_tensor(x)
        if axis == ():
            return x
        return torch.amax(x, dim=() if axis is None else _reduce_dims(axis), keepdim=keepdims)

    def min(self, x: Any, axis: Any = None, keepdims: bool = False) -> T:
        if type(x) is not T:
            x = to_tensor(x)
        if axis == ():
            return x
        return torch.amin(x, dim=() if axis is None else _reduce_dims(axis), keepdim=keepdims)

    def prod(self, x: Any, axis: Any = None, keepdims: bool = False) -> T:
        if type(x) is not T:
            x = to_tensor(x)
        dtype = _ACC.get(x.dtype)
        if axis is None:
            out = torch.prod(x, dtype=dtype)
            return _keep_all(out, x.ndim) if keepdims else out
        if isinstance(axis, int):
            return torch.prod(x, dim=axis, keepdim=keepdims, dtype=dtype)
        dims = axes(axis, x.ndim)
        out = x.to(dtype) if dtype is not None else x
        for dim in sorted(dims, reverse=True):
            out = torch.prod(out, dim=dim, keepdim=True, dtype=out.dtype)
        return out if keepdims else out.squeeze(dims) if dims else out

    def any(self, x: Any, axis: Any = None, keepdims: bool = False) -> T:
        if type(x) is not T:
            x = to_tensor(x)
        if axis == ():
            return x.to(torch.bool)
        out = torch.any(x, dim=_reduce_dims(axis), keepdim=keepdims)
        return out if x.dtype is not torch.uint8 else out.to(torch.bool)  # torch keeps uint8

    def all(self, x: Any, axis: Any = None, keepdims: bool = False) -> T:
        if type(x) is not T:
            x = to_tensor(x)
        if axis == ():
            return x.to(torch.bool)
        out = torch.all(x, dim=_reduce_dims(axis), keepdim=keepdims)
        return out if x.dtype is not torch.uint8 else out.to(torch.bool)  # torch keeps uint8

    def _arg(self, kernel: Callable[..., T], x: Any, axis: Any, keepdims: bool) -> T:
        if type(x) is not T:
            x = to_tensor(x)
        if x.dtype is torch.bool:
            x = x.to(torch.uint8)
        if axis is None:
            out = kernel(x.reshape(-1), 0)
            return (_keep_all(out, x.ndim) if keepdims else out).to(torch.int32)
        return kernel(x, to_int(axis), keepdim=keepdims).to(torch.int32)

    def argmax(self, x: Any, axis: int | None = None, keepdims: bool = False) -> T:
        return self._arg(torch.argmax, x, axis, keepdims)

    def argmin(self, x: Any, axis: int | None = None, keepdims: bool = False) -> T:
        return self._arg(torch.argmin, x, axis, keepdims)

    def cumsum(self, x: Any, axis: int | None = None) -> T:
        if type(x) is not T:
            x = to_tensor(x)
        if axis is None:
            x, axis = x.reshape(-1), 0
        return torch.cumsum(x, dim=axis, dtype=_ACC.get(x.dtype, x.dtype))

    def cumprod(self, x: Any, axis: int | None = None) -> T:
        if type(x) is not T:
            x = to_tensor(x)
        if axis is None:
            x, axis = x.reshape(-1), 0
        return torch.cumprod(x, dim=axis, dtype=_ACC.get(x.dtype, x.dtype))

    def logsumexp(self, x: Any, axis: Any = None, keepdims: bool = False) -> T:
        x = floating(x)
        dims = axes(axis, x.ndim)
        if not dims:
            return x if x.ndim else torch.logsumexp(x.reshape(1), 0)
        return torch.logsumexp(x, dim=dims, keepdim=keepdims)

    def var(self, x: Any, axis: Any = None, keepdims: bool = False) -> T:
        x = floating(x)
        if axis == ():
            return torch.zeros_like(x)
        return torch.var(x, dim=_reduce_dims(axis), correction=0, keepdim=keepdims)

    def std(self, x: Any, axis: Any = None, keepdims: bool = False) -> T:
        x = floating(x)
        if axis == ():
            return torch.zeros_like(x)
        return torch.std(x, dim=_reduce_dims(axis), correction=0, keepdim=keepdims)

    # ----------------------------------------------------------------- sorting
    def sort(self, x: Any, axis: int = -1) -> T:
        if type(x) is not T:
            x = to_tensor(x)
        if axis is None:
            x, axis = x.reshape(-1), 0
        return torch.sort(x, dim=axis, stable=True).values

    def argsort(self, x: Any, axis: int = -1) -> T:
        if type(x) is not T:
            x = to_tensor(x)
        if axis is None:
            x, axis = x.reshape(-1), 0
        if x.dtype is torch.bool:
            x = x.to(torch.uint8)
        return torch.argsort(x, dim=axis, stable=True).to(torch.int32)

    def top_k(self, x: Any, k: int, sorted: bool = True) -> tuple[T, T]:
        if type(x) is not T:
            x = to_tensor(x)
        k = to_int(k)
        if not 0 <= k <= (x.shape[-1] if x.ndim else 0):
            raise ValueError(f"top_k: expected k in [0, {x.shape[-1] if x.ndim else 0}], received k={k}")
        # A stable descending sort keeps equal values in index order, so ties
        # go to the lower index (torch.topk leaves their order unspecified).
        values, indices = torch.sort(x, dim=-1, descending=True, stable=True)
        return values[..., :k], indices[..., :k].to(torch.int32)
