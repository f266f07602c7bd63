"""``keras.ops.numpy``'s bitwise ops on integer and bool tensors
(``bitwise_and``... and the shifts, through each engine's bitwise kernel), and
``gcd``/``lcm``.

Example:
    >>> from polykeras import ops
    >>> ops.to_numpy(ops.bitwise_and(ops.convert_to_tensor([12, 10]), 6))
    array([4, 2], dtype=int32)
"""

from __future__ import annotations

from typing import Any

from polykeras.ops._dispatch import op

Tensor = Any

_PAIR = "two integer or bool tensors whose shapes broadcast together"
_SHIFT = "two integer tensors whose shapes broadcast together"


@op(_PAIR, broadcast=True)
def bitwise_and(x: Tensor, y: Tensor) -> Tensor:
    """Bitwise AND. Example: ``ops.bitwise_and(flags, 4)``"""


@op(_PAIR, broadcast=True)
def bitwise_or(x: Tensor, y: Tensor) -> Tensor:
    """Bitwise OR. Example: ``ops.bitwise_or(flags, 4)``"""


@op(_PAIR, broadcast=True)
def bitwise_xor(x: Tensor, y: Tensor) -> Tensor:
    """Bitwise XOR. Example: ``ops.bitwise_xor(a, b)``"""


@op("an integer or bool tensor")
def bitwise_invert(x: Tensor) -> Tensor:
    """Bitwise NOT (``~x``). Example: ``ops.bitwise_invert(x)``"""


@op("an integer or bool tensor")
def bitwise_not(x: Tensor) -> Tensor:
    """``bitwise_invert``, NumPy's other name. Example: ``ops.bitwise_not(x)``"""


@op(_SHIFT, broadcast=True)
def bitwise_left_shift(x: Tensor, y: Tensor) -> Tensor:
    """``x << y``. Example: ``ops.bitwise_left_shift(x, 2)``"""


@op(_SHIFT, broadcast=True)
def bitwise_right_shift(x: Tensor, y: Tensor) -> Tensor:
    """``x >> y`` (arithmetic for signed integers). Example: ``ops.bitwise_right_shift(x, 1)``"""


@op(_SHIFT, broadcast=True)
def left_shift(x: Tensor, y: Tensor) -> Tensor:
    """``bitwise_left_shift``, NumPy's other name. Example: ``ops.left_shift(x, 2)``"""


@op(_SHIFT, broadcast=True)
def right_shift(x: Tensor, y: Tensor) -> Tensor:
    """``bitwise_right_shift``, NumPy's other name. Example: ``ops.right_shift(x, 1)``"""


@op(_SHIFT, broadcast=True)
def gcd(x1: Tensor, x2: Tensor) -> Tensor:
    """Greatest common divisor (non-negative; ``gcd(0, 0) == 0``). Example: ``ops.gcd(a, 12)``"""


@op(_SHIFT, broadcast=True)
def lcm(x1: Tensor, x2: Tensor) -> Tensor:
    """Least common multiple (non-negative). Example: ``ops.lcm(a, 4)``"""


# Every op defined above (tests/ops/test_exports.py checks the list), written out so type checkers see
# what `from polykeras.ops.bitwise import *` brings into polykeras.ops.
__all__ = [
    "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_invert", "bitwise_not", "bitwise_left_shift",
    "bitwise_right_shift", "left_shift", "right_shift", "gcd", "lcm",
]
