"""NumPy engine, part 2: elementwise math, reductions, sorting and linear algebra,
written against ``self.xp`` so the JAX engine reuses them unchanged.

The dtype rules beyond NumPy's own: float-valued functions (divide, exp, sqrt,
mean, linalg, ...) of int/bool inputs give float32 (float64 for int64); sums,
products and cumulative ops of bool/int8/int16/uint8 give int32; argmax/argmin/
argsort/top_k indices are int32.
"""

from __future__ import annotations

import math as _math
import sys
from typing import TYPE_CHECKING, Any

import numpy as np

from polykeras.backends.base import Axis, Tensor, op_error
from polykeras.backends.numpy.core import WEAK_SCALARS


if TYPE_CHECKING:  # Backend plus the helpers the NumPy mixins share
    from polykeras.backends.numpy.host import NumpyHost as _Host
else:
    _Host = object


def _axis(axis: Axis | list[int]) -> Axis:
    return tuple(axis) if isinstance(axis, list) else axis


class NumpyMath(_Host):
    """Elementwise ops, reductions, sorting and linear algebra of the NumPy
    engine (see :class:`polykeras.backends.numpy.NumpyBackend`)."""

    # ------------------------------------------------------ helpers
    def _float_op(self, fn: Any, x: Any) -> Tensor:
        if type(x) is self.array_type and x.dtype.kind == "f":
            return fn(x)
        return fn(self._floating(x))

    def _float_binary(self, fn: Any, x1: Any, x2: Any) -> Tensor:
        x1, x2 = self._operands(x1, x2)
        if type(x1) not in WEAK_SCALARS:
            x1 = self._floating(x1)
        if type(x2) not in WEAK_SCALARS:
            x2 = self._floating(x2)
        return fn(x1, x2)

    def _argsort(self, x: Tensor, axis: int) -> Tensor:
        """Stable ascending argsort (the keyword differs between array modules)."""
        return self.xp.argsort(x, axis=axis, kind="stable")

    def _accumulator(self, x: Tensor) -> Any:
        """The dtype sums/products of ``x`` accumulate in (None: its own)."""
        if x.dtype.kind not in "biu":
            return None
        return x.dtype if x.dtype.name == "int64" else self._native_dtype("int32")

    # ----------------------------------------------- binary elementwise
    def add(self, x1: Tensor, x2: Tensor) -> Tensor:
        return self._binary(self.xp.add, x1, x2)

    def subtract(self, x1: Tensor, x2: Tensor) -> Tensor:
        return self._binary(self.xp.subtract, x1, x2)

    def multiply(self, x1: Tensor, x2: Tensor) -> Tensor:
        return self._binary(self.xp.multiply, x1, x2)

    def divide(self, x1: Tensor, x2: Tensor) -> Tensor:
        array = self.array_type
        if type(x1) is array and type(x2) is array and x1.dtype == x2.dtype and x1.dtype.kind == "f":
            return self.xp.true_divide(x1, x2)
        return self._float_binary(self.xp.true_divide, x1, x2)

    def floor_divide(self, x1: Tensor, x2: Tensor) -> Tensor:
        return self._binary(self.xp.floor_divide, x1, x2)

    def mod(self, x1: Tensor, x2: Tensor) -> Tensor:
        return self._binary(self.xp.mod, x1, x2)

    def power(self, x1: Tensor, x2: Tensor) -> Tensor:
        return self._binary(self.xp.power, x1, x2)

    def maximum(self, x1: Tensor, x2: Tensor) -> Tensor:
        return self._binary(self.xp.maximum, x1, x2)

    def minimum(self, x1: Tensor, x2: Tensor) -> Tensor:
        return self._binary(self.xp.minimum, x1, x2)

    def arctan2(self, x1: Tensor, x2: Tensor) -> Tensor:
        return self._float_binary(self.xp.arctan2, x1, x2)

    def equal(self, x1: Tensor, x2: Tensor) -> Tensor:
        return self._compare(self.xp.equal, x1, x2)

    def not_equal(self, x1: Tensor, x2: Tensor) -> Tensor:
        return self._compare(self.xp.not_equal, x1, x2)

    def less(self, x1: Tensor, x2: Tensor) -> Tensor:
        return self._compare(self.xp.less, x1, x2)

    def less_equal(self, x1: Tensor, x2: Tensor) -> Tensor:
        return self._compare(self.xp.less_equal, x1, x2)

    def greater(self, x1: Tensor, x2: Tensor) -> Tensor:
        return self._compare(self.xp.greater, x1, x2)

    def greater_equal(self, x1: Tensor, x2: Tensor) -> Tensor:
        return self._compare(self.xp.greater_equal, x1, x2)

    def logical_and(self, x1: Tensor, x2: Tensor) -> Tensor:
        return self._binary(self.xp.logical_and, x1, x2)

    def logical_or(self, x1: Tensor, x2: Tensor) -> Tensor:
        return self._binary(self.xp.logical_or, x1, x2)

    def logical_xor(self, x1: Tensor, x2: Tensor) -> Tensor:
        return self._binary(self.xp.logical_xor, x1, x2)

    # ------------------------------------------------ unary elementwise
    def negative(self, x: Tensor) -> Tensor:
        return self.xp.negative(self._tensor(x))

    def abs(self, x: Tensor) -> Tensor:
        return self.xp.abs(self._tensor(x))

    def sign(self, x: Tensor) -> Tensor:
        return self.xp.sign(self._tensor(x))

    def square(self, x: Tensor) -> Tensor:
        return self.xp.square(self._tensor(x))

    def exp(self, x: Tensor) -> Tensor:
        return self._float_op(self.xp.exp, x)

    def log(self, x: Tensor) -> Tensor:
        return self._float_op(self.xp.log, x)

    def log1p(self, x: Tensor) -> Tensor:
        return self._float_op(self.xp.log1p, x)

    def expm1(self, x: Tensor) -> Tensor:
        return self._float_op(self.xp.expm1, x)

    def sqrt(self, x: Tensor) -> Tensor:
        return self._float_op(self.xp.sqrt, x)

    def sin(self, x: Tensor) -> Tensor:
        return self._float_op(self.xp.sin, x)

    def cos(self, x: Tensor) -> Tensor:
        return self._float_op(self.xp.cos, x)

    def tan(self, x: Tensor) -> Tensor:
        return self._float_op(self.xp.tan, x)

    def arctan(self, x: Tensor) -> Tensor:
        return self._float_op(self.xp.arctan, x)

    def sinh(self, x: Tensor) -> Tensor:
        return self._float_op(self.xp.sinh, x)

    def cosh(self, x: Tensor) -> Tensor:
        return self._float_op(self.xp.cosh, x)

    def tanh(self, x: Tensor) -> Tensor:
        return self._float_op(self.xp.tanh, x)

    def floor(self, x: Tensor) -> Tensor:
        x = self._tensor(x)
        return x if x.dtype.kind in "biu" else self.xp.floor(x)

    def ceil(self, x: Tensor) -> Tensor:
        x = self._tensor(x)
        return x if x.dtype.kind in "biu" else self.xp.ceil(x)

    def round(self, x: Tensor) -> Tensor:
        x = self._tensor(x)
        return x if x.dtype.kind in "biu" else self.xp.round(x)

    def erf(self, x: Tensor) -> Tensor:
        x = self._floating(x)
        return _erf(np.asarray(x, dtype=np.float64)).astype(x.dtype)

    def logical_not(self, x: Tensor) -> Tensor:
        return self.xp.logical_not(self._tensor(x))

    def isnan(self, x: Tensor) -> Tensor:
        return self.xp.isnan(self._tensor(x))

    def isinf(self, x: Tensor) -> Tensor:
        return self.xp.isinf(self._tensor(x))

    def isfinite(self, x: Tensor) -> Tensor:
        return self.xp.isfinite(self._tensor(x))

    def where(self, condition: Tensor, x1: Tensor, x2: Tensor) -> Tensor:
        condition = self._tensor(condition)
        if condition.dtype.kind != "b":
            condition = condition.astype(bool)
        x1, x2 = self._operands(x1, x2)
        return self.xp.where(condition, x1, x2)

    # -------------------------------------------------------- reductions
    def sum(self, x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
        x = self._tensor(x)
        return self.xp.sum(x, axis=_axis(axis), keepdims=keepdims, dtype=self._accumulator(x))

    def prod(self, x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
        x = self._tensor(x)
        return self.xp.prod(x, axis=_axis(axis), keepdims=keepdims, dtype=self._accumulator(x))

    def mean(self, x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
        x = self._tensor(x)
        if x.dtype.kind in "biu":
            out = self.xp.mean(x, axis=_axis(axis), keepdims=keepdims, dtype=self._native_dtype("float64"))
            return out.astype(self._native_dtype("float32"))
        return self.xp.mean(x, axis=_axis(axis), keepdims=keepdims)

    def max(self, x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return self.xp.max(self._tensor(x), axis=_axis(axis), keepdims=keepdims)

    def min(self, x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return self.xp.min(self._tensor(x), axis=_axis(axis), keepdims=keepdims)

    def any(self, x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return self.xp.any(self._tensor(x), axis=_axis(axis), keepdims=keepdims)

    def all(self, x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return self.xp.all(self._tensor(x), axis=_axis(axis), keepdims=keepdims)

    def argmax(self, x: Tensor, axis: int | None = None, keepdims: bool = False) -> Tensor:
        out = self.xp.argmax(self._tensor(x), axis=axis, keepdims=keepdims)
        return out.astype(self._native_dtype("int32"))

    def argmin(self, x: Tensor, axis: int | None = None, keepdims: bool = False) -> Tensor:
        out = self.xp.argmin(self._tensor(x), axis=axis, keepdims=keepdims)
        return out.astype(self._native_dtype("int32"))

    def cumsum(self, x: Tensor, axis: int | None = None) -> Tensor:
        x = self._tensor(x)
        return self.xp.cumsum(x, axis=axis, dtype=self._accumulator(x))

    def cumprod(self, x: Tensor, axis: int | None = None) -> Tensor:
        x = self._tensor(x)
        return self.xp.cumprod(x, axis=axis, dtype=self._accumulator(x))

    # ------------------------------------------------------------ sorting
    def sort(self, x: Tensor, axis: int = -1) -> Tensor:
        return self.xp.sort(self._tensor(x), axis=axis)

    def argsort(self, x: Tensor, axis: int = -1) -> Tensor:
        out = self._argsort(self._tensor(x), axis)
        return out.astype(self._native_dtype("int32"))

    def top_k(self, x: Tensor, k: int, sorted: bool = True) -> tuple[Tensor, Tensor]:
        xp = self.xp
        x = self._tensor(x)
        n = self._check_top_k(x, k)
        # Stable ascending order of the reversed axis, reversed again: values
        # descending, ties in increasing index order.
        order = xp.flip(self._argsort(xp.flip(x, -1), -1), -1)[..., :k]
        indices = (n - 1 - order).astype(self._native_dtype("int32"))
        return xp.take_along_axis(x, indices, axis=-1), indices

    def _check_top_k(self, x: Tensor, k: int) -> int:
        n = x.shape[-1] if x.ndim else 0
        if not 0 <= k <= n:
            raise op_error("top_k", f"k between 0 and the last axis' length {n}", f"k={k} for shape {tuple(x.shape)}")
        return n

    # ------------------------------------------------------ linear algebra
    def matmul(self, x1: Tensor, x2: Tensor) -> Tensor:
        x1, x2 = self._operands(x1, x2)
        out = self.xp.matmul(x1, x2)
        if x1.dtype.kind == "V" and out.dtype != x1.dtype:
            out = out.astype(x1.dtype)  # ml_dtypes' bfloat16 matmul answers in float32
        return out

    def tensordot(self, x1: Tensor, x2: Tensor, axes: Any = 2) -> Tensor:
        x1, x2 = self._operands(self._tensor(x1), self._tensor(x2))
        return self.xp.tensordot(x1, x2, axes=axes)

    def einsum(self, subscripts: str, *operands: Tensor, optimize: Any = None) -> Tensor:
        if optimize is not None:  # NumPy searches contraction orders only when asked
            return self.xp.einsum(subscripts, *self._promote(*(self._tensor(x) for x in operands)), optimize=optimize)
        promoted = self._promote(*(self._tensor(x) for x in operands))
        if promoted and promoted[0].dtype.kind == "V" and self.xp is np:  # NumPy's einsum refuses ml_dtypes' bfloat16
            wide = self.xp.einsum(subscripts, *(x.astype(np.float32) for x in promoted))
            return wide.astype(promoted[0].dtype)
        return self.xp.einsum(subscripts, *promoted)

    def dot(self, x1: Tensor, x2: Tensor) -> Tensor:
        x1, x2 = self._operands(self._tensor(x1), self._tensor(x2))
        return self.xp.dot(x1, x2)

    def inv(self, x: Tensor) -> Tensor:
        return self.xp.linalg.inv(self._floating(x))

    def solve(self, a: Tensor, b: Tensor) -> Tensor:
        a, b = self._promote(self._floating(a), self._floating(b))
        return self.xp.linalg.solve(a, b)

    def cholesky(self, x: Tensor) -> Tensor:
        return self.xp.linalg.cholesky(self._floating(x))

    def eigh(self, x: Tensor) -> tuple[Tensor, Tensor]:
        w, v = self.xp.linalg.eigh(self._floating(x))
        return w, v

    def qr(self, x: Tensor, mode: str = "reduced") -> tuple[Tensor, Tensor]:
        q, r = self.xp.linalg.qr(self._floating(x), mode=mode)
        return q, r

    def svd(self, x: Tensor, full_matrices: bool = True, compute_uv: bool = True) -> Any:
        out = self.xp.linalg.svd(self._floating(x), full_matrices=full_matrices, compute_uv=compute_uv)
        return tuple(out) if compute_uv else out

    def det(self, x: Tensor) -> Tensor:
        return self.xp.linalg.det(self._floating(x))


def _erf(x: np.ndarray) -> np.ndarray:
    """The Gauss error function in float64: SciPy's kernel when SciPy is already
    loaded, else the C library's ``erf`` elementwise (SciPy's import alone costs
    more than most reference computations)."""
    special = sys.modules.get("scipy.special")
    if special is not None:
        return special.erf(x)
    return np.asarray(_ERF(x), dtype=np.float64)


_ERF = np.frompyfunc(_math.erf, 1, 1)
