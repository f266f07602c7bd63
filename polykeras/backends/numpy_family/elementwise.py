"""Elementwise composites: inverse trigonometric and hyperbolic functions,
logs and exponentials in other bases, ``hypot``, ``fmod``, NaN-aware extrema
and predicates, each with Keras 3's dtype rule (float-valued functions of
integers give float32, float64 for int64).

Example:
    >>> engine.arcsinh(engine.convert_to_tensor([0.5]))  # log1p-based, accurate near 0
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # the Backend primitives these composites are written with
    from polykeras.backends.host import EngineHost as _Host
else:
    _Host = object


Tensor = Any

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_WEAK = (bool, int, float)


class ElementwiseComposites(_Host):
    """Elementwise ops of ``keras.ops.numpy`` composed from the primitives."""

    # ------------------------------------------------------------ helpers
    def _nf_tensor(self, x: Any) -> Tensor:
        return x if self.is_tensor(x) else self.convert_to_tensor(x)

    def _nf_is_float(self, x: Tensor) -> bool:
        return self.dtype(x).startswith(("float", "bfloat"))

    def _nf_float(self, x: Any) -> Tensor:
        """``x`` as a tensor of a float dtype (int64 -> float64, other ints and bool -> float32)."""
        x = self._nf_tensor(x)
        dtype = self.dtype(x)
        if dtype.startswith(("float", "bfloat")):
            return x
        return self.cast(x, "float64" if dtype in ("int64", "uint64", "uint32") else "float32")

    def _nf_float_pair(self, x1: Any, x2: Any) -> tuple[Any, Any]:
        """Both operands as floats; Python scalars stay weak."""
        return (x1 if type(x1) in _WEAK else self._nf_float(x1), x2 if type(x2) in _WEAK else self._nf_float(x2))

    # ----------------------------------------------------------- aliases
    def absolute(self, x: Tensor) -> Tensor:
        return self.abs(x)

    def fabs(self, x: Tensor) -> Tensor:
        return self.abs(self._nf_float(x))

    def true_divide(self, x1: Tensor, x2: Tensor) -> Tensor:
        return self.divide(x1, x2)

    def _nf_complex_parts(self, x: Tensor) -> tuple[Tensor, Tensor] | None:
        """(real, imag) of a complex tensor (through the engine's ``view_as_real``); None for a real one."""
        if not self.dtype(x).startswith("complex"):
            return None
        pairs = self.view_as_real(x)
        return pairs[..., 0], pairs[..., 1]

    def conj(self, x: Tensor) -> Tensor:
        x = self._nf_tensor(x)
        parts = self._nf_complex_parts(x)
        if parts is None:
            return x
        return self.view_as_complex(self.stack([parts[0], self.negative(parts[1])], axis=-1))

    def conjugate(self, x: Tensor) -> Tensor:
        return self.conj(x)

    def real(self, x: Tensor) -> Tensor:
        x = self._nf_tensor(x)
        parts = self._nf_complex_parts(x)
        return x if parts is None else parts[0]

    def imag(self, x: Tensor) -> Tensor:
        x = self._nf_tensor(x)
        parts = self._nf_complex_parts(x)
        return self.zeros_like(x) if parts is None else parts[1]

    def copy(self, x: Tensor) -> Tensor:
        x = self._nf_tensor(x)
        return self.where(self.ones((), "bool"), x, x)  # a new tensor on every engine, on the gradient path

    # --------------------------------------------- inverse trigonometric
    def arcsin(self, x: Tensor) -> Tensor:
        x = self._nf_float(x)
        return self.arctan2(x, self.sqrt(self.multiply(self.subtract(1.0, x), self.add(1.0, x))))

    def arccos(self, x: Tensor) -> Tensor:
        x = self._nf_float(x)
        return self.arctan2(self.sqrt(self.multiply(self.subtract(1.0, x), self.add(1.0, x))), x)

    def arcsinh(self, x: Tensor) -> Tensor:
        x = self._nf_float(x)
        a = self.abs(x)
        a2 = self.square(a)
        # asinh(a) = log1p(a + a^2 / (1 + sqrt(1 + a^2))): no cancellation near 0
        return self.multiply(self.sign(x),
                             self.log1p(self.add(a, self.divide(a2, self.add(1.0, self.sqrt(self.add(1.0, a2)))))))

    def arccosh(self, x: Tensor) -> Tensor:
        t = self.subtract(self._nf_float(x), 1.0)
        return self.log1p(self.add(t, self.sqrt(self.multiply(t, self.add(t, 2.0)))))

    def arctanh(self, x: Tensor) -> Tensor:
        x = self._nf_float(x)
        return self.multiply(0.5, self.log1p(self.divide(self.multiply(2.0, x), self.subtract(1.0, x))))

    # ----------------------------------------------- powers and logarithms
    def cbrt(self, x: Tensor) -> Tensor:
        x = self._nf_float(x)
        return self.multiply(self.sign(x), self.power(self.abs(x), 1.0 / 3.0))

    def exp2(self, x: Tensor) -> Tensor:
        x = self._nf_float(x)
        return self.power(self.cast(self.convert_to_tensor(2.0), self.dtype(x)), x)

    def log2(self, x: Tensor) -> Tensor:
        return self.divide(self.log(self._nf_float(x)), _LN2)

    def log10(self, x: Tensor) -> Tensor:
        return self.divide(self.log(self._nf_float(x)), _LN10)

    def logaddexp(self, x1: Tensor, x2: Tensor) -> Tensor:
        x1, x2 = self._nf_float_pair(x1, x2)
        top = self.maximum(x1, x2)
        return self.add(top, self.log1p(self.exp(self.negative(self.abs(self.subtract(x1, x2))))))

    def logaddexp2(self, x1: Tensor, x2: Tensor) -> Tensor:
        x1, x2 = self._nf_float_pair(x1, x2)
        top = self.maximum(x1, x2)
        return self.add(top, self.divide(self.log1p(self.exp2(self.negative(self.abs(self.subtract(x1, x2))))), _LN2))

    def ldexp(self, x1: Tensor, x2: Tensor) -> Tensor:
        x2 = self._nf_tensor(x2)
        if self.dtype(x2).startswith(("float", "bfloat", "bool")):
            raise TypeError(f"ldexp: the exponent must have an integer dtype, received {self.dtype(x2)}")
        x1 = self._nf_float(x1)
        return self.multiply(x1, self.exp2(self.cast(x2, self.dtype(x1))))

    def deg2rad(self, x: Tensor) -> Tensor:
        return self.multiply(self._nf_float(x), math.pi / 180.0)

    def rad2deg(self, x: Tensor) -> Tensor:
        return self.multiply(self._nf_float(x), 180.0 / math.pi)

    def hypot(self, x1: Tensor, x2: Tensor) -> Tensor:
        x1, x2 = self._nf_float_pair(x1, x2)
        return self.sqrt(self.add(self.square(x1), self.square(x2)))

    def sinc(self, x: Tensor) -> Tensor:
        x = self._nf_float(x)
        zero = self.equal(x, 0.0)
        px = self.multiply(self.where(zero, self.ones_like(x), x), math.pi)
        return self.where(zero, self.ones_like(x), self.divide(self.sin(px), px))

    # ------------------------------------------------------- rounding, signs
    def trunc(self, x: Tensor) -> Tensor:
        x = self._nf_tensor(x)
        if not self._nf_is_float(x):
            return x
        return self.where(self.less(x, 0.0), self.ceil(x), self.floor(x))

    def signbit(self, x: Tensor) -> Tensor:
        x = self._nf_tensor(x)
        if self.dtype(x) == "bool":
            return self.zeros_like(x, "bool")
        negative = self.less(x, 0)
        if not self._nf_is_float(x):
            return negative
        # -0.0 has its sign bit set: 1 / -0.0 is -inf
        zero = self.equal(x, 0.0)
        return self.logical_or(negative, self.logical_and(
            zero, self.less(self.reciprocal(self.where(zero, x, self.ones_like(x))), 0.0)))

    def heaviside(self, x1: Tensor, x2: Tensor) -> Tensor:
        x1, x2 = self._nf_float_pair(x1, x2)
        x1, x2 = self._nf_tensor(x1), self._nf_tensor(x2)
        dtype = self.dtype(self.add(x1, x2))
        one, zero = self.ones((), dtype), self.zeros((), dtype)
        return self.where(self.less(x1, 0.0), zero, self.where(self.greater(x1, 0.0), one, self.cast(x2, dtype)))

    # ------------------------------------------------------------- divisions
    def fmod(self, x1: Tensor, x2: Tensor) -> Tensor:
        # fmod takes the sign of x1: the remainder of the magnitudes, signed. (Correcting mod's result,
        # which takes x2's sign, by adding x2 cancels catastrophically: fmod(0.2, -100) lost 4 digits.)
        x1, x2 = self._nf_tensor(x1), self._nf_tensor(x2)
        return self.multiply(self.sign(x1), self.mod(self.abs(x1), self.abs(x2)))

    def divide_no_nan(self, x1: Tensor, x2: Tensor) -> Tensor:
        x1, x2 = self._nf_float_pair(x1, x2)
        x2 = self._nf_tensor(x2)
        zero = self.equal(x2, 0.0)
        quotient = self.divide(x1, self.where(zero, 1.0, x2))
        return self.where(zero, 0.0, quotient)

    # ------------------------------------------------------- NaN-aware extrema
    def fmax(self, x1: Tensor, x2: Tensor) -> Tensor:
        return self._nf_nan_extremum(self.maximum, x1, x2)

    def fmin(self, x1: Tensor, x2: Tensor) -> Tensor:
        return self._nf_nan_extremum(self.minimum, x1, x2)

    def _nf_nan_extremum(self, fn: Any, x1: Tensor, x2: Tensor) -> Tensor:
        out = fn(x1, x2)
        if not self._nf_is_float(out):
            return out
        x1, x2 = self.cast(self._nf_tensor(x1), self.dtype(out)), self.cast(self._nf_tensor(x2), self.dtype(out))
        return self.where(self.isnan(x1), x2, self.where(self.isnan(x2), x1, out))

    # -------------------------------------------------------------- predicates
    def isclose(self, x1: Tensor, x2: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
                equal_nan: bool = False) -> Tensor:
        x1, x2 = self._nf_tensor(x1), self._nf_tensor(x2)
        same = self.equal(x1, x2)
        if not (self._nf_is_float(x1) or self._nf_is_float(x2)):
            x1, x2 = self._nf_float(x1), self._nf_float(x2)
        gap = self.abs(self.subtract(x1, x2))
        close = self.less_equal(gap, self.add(atol, self.multiply(rtol, self.abs(x2))))
        finite = self.logical_and(self.isfinite(x1), self.isfinite(x2))
        out = self.logical_or(same, self.logical_and(finite, close))
        if equal_nan:
            out = self.logical_or(out, self.logical_and(self.isnan(x1), self.isnan(x2)))
        return out

    def isposinf(self, x: Tensor) -> Tensor:
        x = self._nf_tensor(x)
        if not self._nf_is_float(x):
            return self.zeros_like(x, "bool")
        return self.logical_and(self.isinf(x), self.greater(x, 0.0))

    def isneginf(self, x: Tensor) -> Tensor:
        x = self._nf_tensor(x)
        if not self._nf_is_float(x):
            return self.zeros_like(x, "bool")
        return self.logical_and(self.isinf(x), self.less(x, 0.0))

    def isreal(self, x: Tensor) -> Tensor:
        x = self._nf_tensor(x)
        parts = self._nf_complex_parts(x)
        return self.ones_like(x, "bool") if parts is None else self.equal(parts[1], 0.0)

    def nan_to_num(self, x: Tensor, nan: float = 0.0, posinf: float | None = None,
                   neginf: float | None = None) -> Tensor:
        x = self._nf_tensor(x)
        if not self._nf_is_float(x):
            return x
        dtype = self.dtype(x)
        info = np.finfo(np.float32 if dtype == "bfloat16" else dtype)
        high = float(info.max) if posinf is None else posinf
        low = float(info.min) if neginf is None else neginf

        def const(value: float) -> Tensor:
            return self.full(self.shape(x), value, dtype)

        out = self.where(self.isnan(x), const(nan), x)
        out = self.where(self.logical_and(self.isinf(x), self.greater(x, 0.0)), const(high), out)
        return self.where(self.logical_and(self.isinf(x), self.less(x, 0.0)), const(low), out)

    def allclose(self, x1: Tensor, x2: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
                 equal_nan: bool = False) -> Tensor:
        return self.all(self.isclose(x1, x2, rtol, atol, equal_nan))

    def isin(self, x1: Tensor, x2: Tensor, assume_unique: bool = False, invert: bool = False) -> Tensor:
        x1, x2 = self._nf_tensor(x1), self._nf_tensor(x2)
        found = self.any(self.equal(self.expand_dims(x1, -1), self.reshape(x2, (-1,))), axis=-1)
        return self.logical_not(found) if invert else found

    def angle(self, x: Tensor) -> Tensor:
        parts = self._nf_complex_parts(self._nf_tensor(x))
        if parts is not None:
            return self.arctan2(parts[1], parts[0])
        x = self._nf_float(x)
        return self.arctan2(self.zeros_like(x), x)  # real x: 0, or pi where x < 0 (and at -0.0)
