"""TensorFlow engine, part 3: products and linear algebra.

``matmul`` follows NumPy: batch axes broadcast, a 1-D operand is promoted to a
matrix and its axis dropped again. Decompositions of int inputs run in float32
(float64 for int64).
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from polykeras.backends.base import Tensor
from polykeras.backends.tensorflow.core import (
    BOOL, ERRORS, INEXACT, INT32, TENSORS, R, floating, promote, promote_all,
)


def _floats(a: Any, b: Any) -> tuple[Tensor, Tensor]:
    a, b = promote(a, b)
    if a.dtype not in INEXACT:
        a, b = floating(a), floating(b)
    return a, b


class TensorflowLinalg:
    """Products and linear algebra of the TensorFlow engine (see
    :class:`polykeras.backends.tensorflow.TensorflowBackend`)."""

    def matmul(self, x1: Tensor, x2: Tensor) -> Tensor:
        if type(x1) in TENSORS and type(x2) in TENSORS and x1.shape.rank == 2 == x2.shape.rank:
            try:
                return R.MatMul(a=x1, b=x2)
            except ERRORS:
                pass
        x1, x2 = promote(x1, x2)
        if x1.dtype == BOOL:
            return R.Cast(x=self.matmul(R.Cast(x=x1, DstT=INT32), R.Cast(x=x2, DstT=INT32)), DstT=BOOL)
        rank1, rank2 = x1.shape.rank, x2.shape.rank
        if rank1 == 0 or rank2 == 0:
            raise ValueError(f"matmul needs operands of rank >= 1, received shapes {tuple(x1.shape)} "
                             f"and {tuple(x2.shape)}")
        if rank1 == 1:
            x1 = R.ExpandDims(input=x1, axis=0)
        if rank2 == 1:
            x2 = R.ExpandDims(input=x2, axis=-1)
        if x1.shape.rank == 2 and x2.shape.rank == 2:
            out = R.MatMul(a=x1, b=x2)
        else:
            out = R.BatchMatMulV2(x=x1, y=x2)
        if rank2 == 1:
            out = R.Squeeze(input=out, axis=[-1])
        if rank1 == 1:
            out = R.Squeeze(input=out, axis=[-2 if rank2 != 1 else -1])
        return out

    def tensordot(self, x1: Tensor, x2: Tensor, axes: Any = 2) -> Tensor:
        x1, x2 = promote(x1, x2)
        if not isinstance(axes, int):
            axes = [[a] if isinstance(a, int) else list(a) for a in axes]
        return tf.tensordot(x1, x2, axes=axes)

    def einsum(self, subscripts: str, *operands: Tensor, optimize: Any = None) -> Tensor:
        # ``optimize``: TensorFlow orders contractions itself (greedy); the result is the same
        promoted = promote_all(operands)
        if promoted[0].dtype == BOOL:
            out = tf.einsum(subscripts, *(R.Cast(x=x, DstT=INT32) for x in promoted))
            return R.Cast(x=out, DstT=BOOL)
        return tf.einsum(subscripts, *promoted)

    def inv(self, x: Tensor) -> Tensor:
        return tf.linalg.inv(floating(x))

    def solve(self, a: Tensor, b: Tensor) -> Tensor:
        a, b = _floats(a, b)
        if b.shape.rank == 1:  # a vector right-hand side, as NumPy
            return R.Squeeze(input=tf.linalg.solve(a, R.ExpandDims(input=b, axis=-1)), axis=[-1])
        return tf.linalg.solve(a, b)

    def cholesky(self, x: Tensor) -> Tensor:
        return tf.linalg.cholesky(floating(x))

    def eigh(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return tf.linalg.eigh(floating(x))

    def qr(self, x: Tensor, mode: str = "reduced") -> tuple[Tensor, Tensor]:
        if mode not in ("reduced", "complete"):
            raise ValueError(f"qr: expected mode 'reduced' or 'complete', received {mode!r}.")
        q, r = tf.linalg.qr(floating(x), full_matrices=mode == "complete")
        return q, r

    def svd(self, x: Tensor, full_matrices: bool = True, compute_uv: bool = True) -> Any:
        x = floating(x)
        if not compute_uv:
            return tf.linalg.svd(x, full_matrices=full_matrices, compute_uv=False)
        s, u, v = tf.linalg.svd(x, full_matrices=full_matrices, compute_uv=True)
        return u, s, tf.linalg.adjoint(v)

    def det(self, x: Tensor) -> Tensor:
        return tf.linalg.det(floating(x))
