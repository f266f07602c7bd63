"""More of ``keras.ops.numpy``'s elementwise math: inverse trigonometric and
hyperbolic functions, logs in other bases, ``hypot``, ``fmod``, NaN-aware
extrema and predicates. Each dispatches to the engine method of its name (a
portable composite in ``backends/numpy_family/elementwise.py`` unless the
engine has its own kernel).

Example:
    >>> from polykeras import ops
    >>> ops.to_numpy(ops.log2(ops.convert_to_tensor([1.0, 8.0])))
    array([0., 3.], dtype=float32)
"""

from __future__ import annotations

from typing import Any

from polykeras.ops._dispatch import op

Tensor = Any

_UNARY = "a tensor"
_BINARY = "two tensors whose shapes broadcast together"


@op(_UNARY)
def absolute(x: Tensor) -> Tensor:
    """``abs(x)``, NumPy's other name. Example: ``ops.absolute(x)``"""


@op(_UNARY)
def fabs(x: Tensor) -> Tensor:
    """Absolute value as a float (integers give float32). Example: ``ops.fabs(x)``"""


@op(_UNARY)
def arcsin(x: Tensor) -> Tensor:
    """Inverse sine, in ``[-pi/2, pi/2]``; NaN outside ``[-1, 1]``. Example: ``ops.arcsin(x)``"""


@op(_UNARY)
def arccos(x: Tensor) -> Tensor:
    """Inverse cosine, in ``[0, pi]``; NaN outside ``[-1, 1]``. Example: ``ops.arccos(x)``"""


@op(_UNARY)
def arcsinh(x: Tensor) -> Tensor:
    """Inverse hyperbolic sine. Example: ``ops.arcsinh(x)``"""


@op(_UNARY)
def arccosh(x: Tensor) -> Tensor:
    """Inverse hyperbolic cosine; NaN below 1. Example: ``ops.arccosh(x)``"""


@op(_UNARY)
def arctanh(x: Tensor) -> Tensor:
    """Inverse hyperbolic tangent; NaN outside ``[-1, 1]``. Example: ``ops.arctanh(x)``"""


@op(_UNARY)
def cbrt(x: Tensor) -> Tensor:
    """Real cube root (negative for negative ``x``). Example: ``ops.cbrt(x)``"""


@op(_UNARY)
def exp2(x: Tensor) -> Tensor:
    """``2 ** x``. Example: ``ops.exp2(x)``"""


@op(_UNARY)
def log2(x: Tensor) -> Tensor:
    """Base-2 logarithm. Example: ``ops.log2(x)``"""


@op(_UNARY)
def log10(x: Tensor) -> Tensor:
    """Base-10 logarithm. Example: ``ops.log10(x)``"""


@op(_BINARY, broadcast=True)
def logaddexp(x1: Tensor, x2: Tensor) -> Tensor:
    """``log(exp(x1) + exp(x2))``, computed stably. Example: ``ops.logaddexp(a, b)``"""


@op(_BINARY, broadcast=True)
def logaddexp2(x1: Tensor, x2: Tensor) -> Tensor:
    """``log2(2**x1 + 2**x2)``, computed stably. Example: ``ops.logaddexp2(a, b)``"""


@op("a tensor and integer exponents whose shapes broadcast together", broadcast=True)
def ldexp(x1: Tensor, x2: Tensor) -> Tensor:
    """``x1 * 2 ** x2`` with integer ``x2``. Example: ``ops.ldexp(x, 3)``"""


@op(_UNARY)
def deg2rad(x: Tensor) -> Tensor:
    """Degrees to radians. Example: ``ops.deg2rad(x)``"""


@op(_UNARY)
def rad2deg(x: Tensor) -> Tensor:
    """Radians to degrees. Example: ``ops.rad2deg(x)``"""


@op(_BINARY, broadcast=True)
def hypot(x1: Tensor, x2: Tensor) -> Tensor:
    """``sqrt(x1**2 + x2**2)``. Example: ``ops.hypot(x, y)``"""


@op(_UNARY)
def sinc(x: Tensor) -> Tensor:
    """Normalised sinc, ``sin(pi x) / (pi x)`` (1 at 0). Example: ``ops.sinc(x)``"""


@op(_UNARY)
def trunc(x: Tensor) -> Tensor:
    """Round toward zero (integers unchanged). Example: ``ops.trunc(x)``"""


@op(_UNARY)
def signbit(x: Tensor) -> Tensor:
    """True where the sign bit is set (negative numbers and -0.0). Example: ``ops.signbit(x)``"""


@op(_BINARY, broadcast=True)
def heaviside(x1: Tensor, x2: Tensor) -> Tensor:
    """0 where ``x1 < 0``, 1 where ``x1 > 0``, ``x2`` where ``x1 == 0``. Example: ``ops.heaviside(x, 0.5)``"""


@op(_BINARY, broadcast=True)
def true_divide(x1: Tensor, x2: Tensor) -> Tensor:
    """``divide``, NumPy's other name. Example: ``ops.true_divide(x, 2)``"""


@op(_BINARY, broadcast=True)
def fmod(x1: Tensor, x2: Tensor) -> Tensor:
    """C's remainder: the sign of ``x1`` (``mod`` takes that of ``x2``). Example: ``ops.fmod(x, 3)``"""


@op(_BINARY, broadcast=True)
def divide_no_nan(x1: Tensor, x2: Tensor) -> Tensor:
    """``x1 / x2``, and 0 where ``x2`` is 0. Example: ``ops.divide_no_nan(total, count)``"""


@op(_BINARY, broadcast=True)
def fmax(x1: Tensor, x2: Tensor) -> Tensor:
    """Elementwise maximum that ignores a NaN beside a number. Example: ``ops.fmax(x, y)``"""


@op(_BINARY, broadcast=True)
def fmin(x1: Tensor, x2: Tensor) -> Tensor:
    """Elementwise minimum that ignores a NaN beside a number. Example: ``ops.fmin(x, y)``"""


@op(_BINARY, broadcast=True)
def isclose(x1: Tensor, x2: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
    """``|x1 - x2| <= atol + rtol * |x2|`` (infinities equal only to themselves).
    Example: ``ops.isclose(x, y, atol=1e-6)``"""


@op(_UNARY)
def isposinf(x: Tensor) -> Tensor:
    """True at +inf. Example: ``ops.isposinf(x)``"""


@op(_UNARY)
def isneginf(x: Tensor) -> Tensor:
    """True at -inf. Example: ``ops.isneginf(x)``"""


@op(_UNARY)
def isreal(x: Tensor) -> Tensor:
    """True where the imaginary part is 0 (everywhere for real dtypes). Example: ``ops.isreal(x)``"""


@op("a tensor and finite replacement values")
def nan_to_num(x: Tensor, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Tensor:
    """NaN, +inf and -inf replaced (by 0 and the dtype's largest finite
    numbers unless given). Example: ``ops.nan_to_num(x, nan=0.0)``"""


@op(_UNARY)
def conj(x: Tensor) -> Tensor:
    """Complex conjugate: ``x`` itself for real dtypes. Example: ``ops.conj(x)``"""


@op(_UNARY)
def conjugate(x: Tensor) -> Tensor:
    """``conj``, NumPy's other name. Example: ``ops.conjugate(x)``"""


@op(_UNARY)
def real(x: Tensor) -> Tensor:
    """Real part: ``x`` itself for real dtypes. Example: ``ops.real(x)``"""


@op(_UNARY)
def imag(x: Tensor) -> Tensor:
    """Imaginary part: zeros for real dtypes. Example: ``ops.imag(x)``"""


@op(_UNARY)
def copy(x: Tensor) -> Tensor:
    """A new tensor with ``x``'s values. Example: ``y = ops.copy(x)``"""



@op(_BINARY, broadcast=True)
def allclose(x1: Tensor, x2: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
    """Whether ``isclose`` holds everywhere (a boolean scalar). Example: ``ops.allclose(x, y)``"""


@op("two tensors")
def isin(x1: Tensor, x2: Tensor, assume_unique: bool = False, invert: bool = False) -> Tensor:
    """True where an entry of ``x1`` occurs in ``x2``. Example: ``ops.isin(labels, [0, 3])``"""


@op(_UNARY)
def angle(x: Tensor) -> Tensor:
    """Argument of a number: 0 for positive reals, pi for negative. Example: ``ops.angle(x)``"""


# Every op defined above (tests/ops/test_exports.py checks the list), written out so type checkers see
# what `from polykeras.ops.elementwise import *` brings into polykeras.ops.
__all__ = [
    "absolute", "fabs", "arcsin", "arccos", "arcsinh", "arccosh", "arctanh", "cbrt", "exp2", "log2", "log10",
    "logaddexp", "logaddexp2", "ldexp", "deg2rad", "rad2deg", "hypot", "sinc", "trunc", "signbit", "heaviside",
    "true_divide", "fmod", "divide_no_nan", "fmax", "fmin", "isclose", "isposinf", "isneginf", "isreal", "nan_to_num",
    "conj", "conjugate", "real", "imag", "copy", "allclose", "isin", "angle",
]
