"""NumPy engine (and, through ``xp``, the JAX engine): native kernels for
the ``keras.ops.numpy`` families where the array module has them: the
bitwise kernel hook and the inverse trigonometric/hyperbolic functions, cube
root and logarithms in other bases (``backends/numpy_family`` holds the
portable forms the other ops use).

Example:
    >>> engine.bitwise_kernel("xor", engine.convert_to_tensor([5]), engine.convert_to_tensor([3]))  # [6]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # Backend plus the helpers the NumPy mixins share
    from polykeras.backends.numpy.host import NumpyHost as _Host
else:
    _Host = object


Tensor = Any

_BITWISE = {"and": "bitwise_and", "or": "bitwise_or", "xor": "bitwise_xor", "left_shift": "left_shift",
            "right_shift": "right_shift"}


class NumpyFamilyKernels(_Host):
    """Array-module kernels for the families' ops (see :mod:`polykeras.backends.numpy_family`)."""

    def bitwise_kernel(self, kind: str, x1: Tensor, x2: Tensor | None = None) -> Tensor:
        if kind == "not":
            return self.xp.invert(x1)
        return getattr(self.xp, _BITWISE[kind])(x1, x2)

    def arcsin(self, x: Tensor) -> Tensor:
        return self._float_op(self.xp.arcsin, x)

    def arccos(self, x: Tensor) -> Tensor:
        return self._float_op(self.xp.arccos, x)

    def arcsinh(self, x: Tensor) -> Tensor:
        return self._float_op(self.xp.arcsinh, x)

    def arccosh(self, x: Tensor) -> Tensor:
        return self._float_op(self.xp.arccosh, x)

    def arctanh(self, x: Tensor) -> Tensor:
        return self._float_op(self.xp.arctanh, x)

    def cbrt(self, x: Tensor) -> Tensor:
        return self._float_op(self.xp.cbrt, x)

    def log2(self, x: Tensor) -> Tensor:
        return self._float_op(self.xp.log2, x)

    def log10(self, x: Tensor) -> Tensor:
        return self._float_op(self.xp.log10, x)
