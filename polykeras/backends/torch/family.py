"""PyTorch engine: native kernels for the ``keras.ops.numpy`` families: the
bitwise kernel hook (``torch.bitwise_*``); the other ops use the portable
forms of ``backends/numpy_family``.

Example:
    >>> engine.bitwise_kernel("and", engine.convert_to_tensor([12]), engine.convert_to_tensor([6]))  # [4]
"""

from __future__ import annotations

from typing import Any

import torch

Tensor = Any

_BITWISE = {"and": torch.bitwise_and, "or": torch.bitwise_or, "xor": torch.bitwise_xor,
            "left_shift": torch.bitwise_left_shift, "right_shift": torch.bitwise_right_shift}


class TorchFamilyKernels:
    """torch kernels for the families' ops (see :mod:`polykeras.backends.numpy_family`)."""

    def bitwise_kernel(self, kind: str, x1: Tensor, x2: Tensor | None = None) -> Tensor:
        if kind == "not":
            return torch.bitwise_not(x1)
        if x2 is None:
            raise ValueError(f"bitwise_kernel: expected a second operand for {kind!r}, received None")
        return _BITWISE[kind](x1, x2)
