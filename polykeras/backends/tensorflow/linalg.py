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


_MATMUL_FLOATS = frozenset({tf.float16, tf.bfloat16, tf.float32, tf.float64})


def _einsum_as_matmul(subscripts: str, x: Tensor, y: Tensor) -> Tensor | None:
    """A two-operand einsum as one (batched) matmul between transposes and
    reshapes, or ``None`` where it is not one (an ellipsis, a repeated
    index, an index summed within one operand, sizes that disagree). TF's
    ``Einsum`` kernel and its gradients run about a third slower on the CPU
    than the matmul they amount to (attention and ``EinsumDense``; Keras 3
    rewrites the same equations).

    Indices in both operands and the output are batch axes (B), in both but
    not the output contracted (C), in one operand and the output free (F for
    ``x``, G for ``y``): ``x`` as ``B F C`` times ``y`` as ``B C G`` gives
    ``B F G``. An operand already laid out as ``B C F`` (or ``B G C``) is
    read transposed by the matmul itself instead of being transposed."""
    spec = subscripts.replace(" ", "")
    if "->" not in spec or "." in spec:
        return None
    ins, out = spec.split("->")
    terms = ins.split(",")
    if len(terms) != 2:
        return None
    a, b = terms
    if len(set(a)) != len(a) or len(set(b)) != len(b) or len(set(out)) != len(out) or not set(out) <= set(a + b):
        return None
    if x.shape.rank != len(a) or y.shape.rank != len(b):
        return None
    if any(c not in out and c not in b for c in a) or any(c not in out and c not in a for c in b):
        return None  # summed within one operand
    batch = [c for c in a if c in b and c in out]
    contracted = [c for c in a if c in b and c not in out]
    free_x = [c for c in a if c not in b]
    free_y = [c for c in b if c not in a]
    sizes: dict[str, Any] = {}
    for term, operand in ((a, x), (b, y)):
        for axis, c in enumerate(term):
            static = operand.shape[axis]
            if c in sizes and static is not None and isinstance(sizes[c], int) and sizes[c] != static:
                return None  # unequal sizes (or broadcasting): tf.einsum decides
            if static is not None or c not in sizes:
                sizes[c] = static if static is not None else tf.shape(operand)[axis]

    def size(letters: list[str]) -> Any:
        total: Any = 1
        for c in letters:
            total = total * sizes[c]
        return total

    def arrange(operand: Tensor, term: str, first: list[str], second: list[str]) -> tuple[Tensor, bool]:
        """``operand`` as ``[*B, |first|, |second|]``, or transposed (``True``)."""
        if list(term) == batch + second + first:
            return tf.reshape(operand, [sizes[c] for c in batch] + [size(second), size(first)]), True
        order = batch + first + second
        if list(term) != order:
            operand = R.Transpose(x=operand, perm=[term.index(c) for c in order])
        return tf.reshape(operand, [sizes[c] for c in batch] + [size(first), size(second)]), False

    lhs, adj_x = arrange(x, a, free_x, contracted)
    rhs, adj_y = arrange(y, b, contracted, free_y)
    if batch:
        product = R.BatchMatMulV2(x=lhs, y=rhs, adj_x=adj_x, adj_y=adj_y)
    else:
        product = R.MatMul(a=lhs, b=rhs, transpose_a=adj_x, transpose_b=adj_y)
    order = batch + free_x + free_y
    product = tf.reshape(product, [sizes[c] for c in order])
    if list(out) != order:
        product = R.Transpose(x=product, perm=[order.index(c) for c in out])
    return product


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
        elif x2.shape.rank == 2 and x1.dtype in _MATMUL_FLOATS and x1.shape.rank <= 12:
            # (..., k) @ (k, n) as one 2-D product (Dense on sequences): a
            # BatchMatMul broadcasting x2 computes x2's gradient as one product
            # per batch entry, summed afterwards
            lead = "abcdefghijkl"[:x1.shape.rank - 1]
            out = _einsum_as_matmul(f"{lead}y,yz->{lead}z", x1, x2)
            if out is None:  # sizes that disagree: the kernel's own error
                out = R.BatchMatMulV2(x=x1, y=x2)
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
        if len(promoted) == 2 and promoted[0].dtype in _MATMUL_FLOATS:
            out = _einsum_as_matmul(subscripts, *promoted)
            if out is not None:
                return out
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
