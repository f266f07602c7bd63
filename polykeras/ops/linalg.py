"""Linear algebra on the last two axes (batched over the rest)."""

from __future__ import annotations

from typing import Any

from polykeras.ops._dispatch import op

Tensor = Any


@op("square, invertible matrices")
def inv(x: Tensor) -> Tensor:
    """Matrix inverse. Example: ``ops.linalg.inv(a)``"""


@op("a square matrix a and b with a matching leading axis")
def solve(a: Tensor, b: Tensor) -> Tensor:
    """``x`` with ``a @ x == b``. Example: ``ops.linalg.solve(a, b)``"""


@op("symmetric positive-definite matrices")
def cholesky(x: Tensor) -> Tensor:
    """Lower Cholesky factor. Example: ``ops.linalg.cholesky(a)``"""


@op("matrices and mode reduced or complete")
def qr(x: Tensor, mode: str = "reduced") -> tuple[Tensor, Tensor]:
    """QR decomposition. Example: ``q, r = ops.linalg.qr(a)``"""


@op("matrices")
def svd(x: Tensor, full_matrices: bool = True, compute_uv: bool = True) -> Any:
    """Singular value decomposition ``(u, s, vh)`` or ``s``. Example: ``ops.linalg.svd(a, compute_uv=False)``"""


@op("square matrices")
def det(x: Tensor) -> Tensor:
    """Determinant. Example: ``ops.linalg.det(a)``"""
