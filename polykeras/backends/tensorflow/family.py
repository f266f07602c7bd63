"""TensorFlow engine: native kernels for the ``keras.ops.numpy`` families:
the bitwise kernel hook (``tf.bitwise``, and the logical ops for bool, which
``tf.bitwise`` does not take); the other ops use the portable forms of
``backends/numpy_family``.

Example:
    >>> engine.bitwise_kernel("or", engine.convert_to_tensor([8]), engine.convert_to_tensor([1]))  # [9]
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

Tensor = Any

_BITWISE = {"and": tf.bitwise.bitwise_and, "or": tf.bitwise.bitwise_or, "xor": tf.bitwise.bitwise_xor,
            "left_shift": tf.bitwise.left_shift, "right_shift": tf.bitwise.right_shift}
_LOGICAL = {"and": tf.logical_and, "or": tf.logical_or, "xor": tf.math.logical_xor}


class TensorflowFamilyKernels:
    """TensorFlow kernels for the families' ops (see :mod:`polykeras.backends.numpy_family`)."""

    def bitwise_kernel(self, kind: str, x1: Tensor, x2: Tensor | None = None) -> Tensor:
        if x1.dtype == tf.bool:
            return tf.logical_not(x1) if kind == "not" else _LOGICAL[kind](x1, x2)
        if kind == "not":
            return tf.bitwise.invert(x1)
        return _BITWISE[kind](x1, x2)
