"""Bitwise and integer composites: ``bitwise_and``/``or``/``xor``/``not``
and the shifts, on integer and bool tensors, each through one engine kernel
hook, :meth:`BitwiseComposites.bitwise_kernel`; ``gcd`` and ``lcm`` are
portable (Euclid's algorithm for a fixed number of steps).

Example:
    >>> engine.bitwise_and(engine.convert_to_tensor([12, 10]), 6)  # [4, 2]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the Backend primitives these composites are written with
    from polykeras.backends.host import EngineHost as _Host
else:
    _Host = object


Tensor = Any

#: Euclid's algorithm needs at most ~1.44 * log2(n) + 2 steps: 48 cover int32 (46 for 2**31 - 1).
_EUCLID_STEPS = 48
_KINDS = ("and", "or", "xor", "not", "left_shift", "right_shift")


class BitwiseComposites(_Host):
    """Bitwise ops of ``keras.ops.numpy`` over one engine kernel hook."""

    def bitwise_kernel(self, kind: str, x1: Tensor, x2: Tensor | None = None) -> Tensor:
        """The engine's bitwise kernel: ``kind`` one of ``and``, ``or``,
        ``xor``, ``not`` (``x2`` None), ``left_shift``, ``right_shift`` on
        integer (or, for the first four, bool) tensors of one dtype. An
        engine without bitwise kernels keeps this default, which refuses."""
        raise NotImplementedError(f"The {self.name!r} engine has no bitwise kernels (bitwise_kernel), so "
                                  f"bitwise {kind} is unavailable on it.")

    def _nf_integers(self, op: str, *xs: Any) -> list[Tensor]:
        """Integer or bool tensors of one dtype; Python ints take the tensor's dtype."""
        tensors = [x for x in xs if self.is_tensor(x) or not isinstance(x, (bool, int))]
        dtype = self.dtype(self._nf_common(tensors)[0]) if tensors else "int32"
        if dtype.startswith(("float", "bfloat", "complex")):
            raise TypeError(f"{op}: expected integer or bool tensors, received dtype {dtype}")
        return [self.cast(self._nf_tensor(x), dtype) if not self.is_tensor(x) or self.dtype(x) != dtype else x
                for x in xs]

    def bitwise_and(self, x: Tensor, y: Tensor) -> Tensor:
        return self.bitwise_kernel("and", *self._nf_integers("bitwise_and", x, y))

    def bitwise_or(self, x: Tensor, y: Tensor) -> Tensor:
        return self.bitwise_kernel("or", *self._nf_integers("bitwise_or", x, y))

    def bitwise_xor(self, x: Tensor, y: Tensor) -> Tensor:
        return self.bitwise_kernel("xor", *self._nf_integers("bitwise_xor", x, y))

    def bitwise_invert(self, x: Tensor) -> Tensor:
        return self.bitwise_kernel("not", *self._nf_integers("bitwise_invert", x))

    def bitwise_not(self, x: Tensor) -> Tensor:
        return self.bitwise_invert(x)

    def _nf_shift(self, op: str, kind: str, x: Tensor, y: Tensor) -> Tensor:
        x, y = self._nf_integers(op, x, y)
        if self.dtype(x) == "bool":
            raise TypeError(f"{op}: expected integer tensors, received dtype bool")
        return self.bitwise_kernel(kind, x, y)

    def bitwise_left_shift(self, x: Tensor, y: Tensor) -> Tensor:
        return self._nf_shift("bitwise_left_shift", "left_shift", x, y)

    def bitwise_right_shift(self, x: Tensor, y: Tensor) -> Tensor:
        return self._nf_shift("bitwise_right_shift", "right_shift", x, y)

    def left_shift(self, x: Tensor, y: Tensor) -> Tensor:
        return self._nf_shift("left_shift", "left_shift", x, y)

    def right_shift(self, x: Tensor, y: Tensor) -> Tensor:
        return self._nf_shift("right_shift", "right_shift", x, y)

    def gcd(self, x1: Tensor, x2: Tensor) -> Tensor:
        a, b = self._nf_integers("gcd", x1, x2)
        if self.dtype(a) == "bool":
            raise TypeError("gcd: expected integer tensors, received dtype bool")
        a, b = self.abs(a), self.abs(b)
        a, b = self.add(a, self.zeros_like(b)), self.add(b, self.zeros_like(a))  # broadcast both
        for _ in range(_EUCLID_STEPS):
            nonzero = self.not_equal(b, 0)
            a, b = (self.where(nonzero, b, a),
                    self.where(nonzero, self.mod(a, self.where(nonzero, b, self.ones_like(b))), b))
        return a

    def lcm(self, x1: Tensor, x2: Tensor) -> Tensor:
        a, b = self._nf_integers("lcm", x1, x2)
        divisor = self.gcd(a, b)
        safe = self.where(self.equal(divisor, 0), self.ones_like(divisor), divisor)
        return self.abs(self.multiply(self.floor_divide(a, safe), b))
