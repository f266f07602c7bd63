"""Linear algebra on the last two axes (batched over the rest).

Each op has a shape rule (``spec``), so a graph node of it needs no
evaluation: decompositions of zeros would fail or mean nothing.
"""

from __future__ import annotations

from typing import Any

from polykeras.ops._dispatch import OpSpec, check, describe, op

Tensor = Any


def _float(x: Any) -> str:
    from polykeras.ops.core import dtype

    name = dtype(x)
    return name if name.startswith(("float", "bfloat", "complex")) else "float32"


def _matrices(name: str, x: Any, square: bool = True) -> tuple[Any, ...]:
    shape = tuple(x.shape)
    check(len(shape) >= 2, name, "matrices: a tensor of rank 2 or more", describe(x))
    m, n = shape[-2:]
    check(not square or m is None or n is None or m == n, name, "square matrices (equal last two sizes)", describe(x))
    return shape


def _same(name: str) -> Any:
    def rule(x: Any, *args: Any, **kwargs: Any) -> OpSpec:
        return OpSpec(_matrices(name, x), _float(x))

    return rule


def _min(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else min(a, b)


def _solve_spec(a: Any, b: Any) -> OpSpec:
    shape = _matrices("solve", a)
    b_shape = tuple(b.shape)
    check(len(b_shape) >= 1 and (shape[-1] is None or b_shape[-2 if len(b_shape) >= 2 else -1] in (None, shape[-1])),
          "solve", "b with as many rows as a has columns", f"a {describe(a)}, b {describe(b)}")
    return OpSpec(b_shape, _float(a))


def _qr_spec(x: Any, mode: str = "reduced") -> tuple[OpSpec, OpSpec]:
    *batch, m, n = _matrices("qr", x, square=False)
    k = m if mode == "complete" else _min(m, n)
    return OpSpec((*batch, m, k), _float(x)), OpSpec((*batch, k, n), _float(x))


def _svd_spec(x: Any, full_matrices: bool = True, compute_uv: bool = True) -> Any:
    *batch, m, n = _matrices("svd", x, square=False)
    k = _min(m, n)
    s = OpSpec((*batch, k), _float(x))
    if not compute_uv:
        return s
    u, v = (m, n) if full_matrices else (k, k)
    return OpSpec((*batch, m, u), _float(x)), s, OpSpec((*batch, v, n), _float(x))


def _det_spec(x: Any) -> OpSpec:
    return OpSpec(_matrices("det", x)[:-2], _float(x))


@op("square, invertible matrices", spec=_same("inv"))
def inv(x: Tensor) -> Tensor:
    """Matrix inverse. Example: ``ops.linalg.inv(a)``"""


@op("a square matrix a and b with a matching leading axis", spec=_solve_spec)
def solve(a: Tensor, b: Tensor) -> Tensor:
    """``x`` with ``a @ x == b``. Example: ``ops.linalg.solve(a, b)``"""


@op("symmetric positive-definite matrices", spec=_same("cholesky"))
def cholesky(x: Tensor) -> Tensor:
    """Lower Cholesky factor. Example: ``ops.linalg.cholesky(a)``"""


@op("matrices and mode reduced or complete", spec=_qr_spec)
def qr(x: Tensor, mode: str = "reduced") -> tuple[Tensor, Tensor]:
    """QR decomposition. Example: ``q, r = ops.linalg.qr(a)``"""


@op("matrices", spec=_svd_spec)
def svd(x: Tensor, full_matrices: bool = True, compute_uv: bool = True) -> Any:
    """Singular value decomposition ``(u, s, vh)`` or ``s``. Example: ``ops.linalg.svd(a, compute_uv=False)``"""


@op("square matrices", spec=_det_spec)
def det(x: Tensor) -> Tensor:
    """Determinant. Example: ``ops.linalg.det(a)``"""
