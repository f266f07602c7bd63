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


@op("symmetric positive-definite matrices", body=True, spec=_same("cholesky"))
def cholesky(x: Tensor, upper: bool = False) -> Tensor:
    """Lower Cholesky factor ``L`` (``a = L L^T``), or with ``upper=True``
    the upper factor ``U = L^T``. Example: ``ops.linalg.cholesky(a)``"""
    from polykeras.backends import active

    factor = active().cholesky(x)
    return active().moveaxis(factor, -1, -2) if upper else factor


@op("matrices and mode reduced or complete", spec=_qr_spec)
def qr(x: Tensor, mode: str = "reduced") -> tuple[Tensor, Tensor]:
    """QR decomposition. Example: ``q, r = ops.linalg.qr(a)``"""


@op("matrices", spec=_svd_spec)
def svd(x: Tensor, full_matrices: bool = True, compute_uv: bool = True) -> Any:
    """Singular value decomposition ``(u, s, vh)`` or ``s``. Example: ``ops.linalg.svd(a, compute_uv=False)``"""


@op("square matrices", spec=_det_spec)
def det(x: Tensor) -> Tensor:
    """Determinant. Example: ``ops.linalg.det(a)``"""


# ------------------------------------------------- composites of the above
def _engine_float(x: Any) -> Any:
    from polykeras.backends import active

    e = active()
    x = e.convert_to_tensor(x)
    return e, (x if e.dtype(x).startswith(("float", "bfloat", "complex")) else e.cast(x, "float32"))


def _transpose(e: Any, x: Any) -> Any:
    return e.moveaxis(x, -1, -2)


def _norm_spec(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> OpSpec:
    shape = tuple(x.shape)
    axes = tuple(range(len(shape))) if axis is None else ((axis,) if isinstance(axis, int) else tuple(axis))
    axes = tuple(a % len(shape) for a in axes)
    out = tuple(1 if i in axes else d for i, d in enumerate(shape)) if keepdims else \
        tuple(d for i, d in enumerate(shape) if i not in axes)
    return OpSpec(out, _float(x))


_VECTOR_ORDS = "None, 'fro' (matrices), 'nuc' (matrices), a number, inf or -inf"


@op(f"a tensor, ord in {_VECTOR_ORDS} and one axis (vector) or two axes (matrix)", body=True, spec=_norm_spec)
def norm(x: Tensor, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A002 - Keras's name
    """Vector or matrix norm, as ``numpy.linalg.norm``: with ``axis=None``
    the 2-norm of the flattened tensor (``ord`` None) or of a vector/matrix
    by rank; ``axis`` an int for vector norms, a pair for matrix norms.

    Example: ``ops.linalg.norm(x, ord="fro", axis=(-2, -1))``
    """
    e, x = _engine_float(x)
    ndim = len(e.shape(x))
    if axis is None:
        if ord is None:
            out = e.sqrt(e.sum(e.square(e.abs(x))))
            return e.reshape(out, (1,) * ndim) if keepdims else out
        check(ndim in (1, 2), "norm", "a vector or matrix when ord is given and axis is None", describe(x))
        axis = tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    axes = tuple(a % ndim for a in axes)
    check(len(axes) in (1, 2) and len(set(axes)) == len(axes), "norm", "one or two distinct axes", f"axis={axis!r}")
    inf = float("inf")
    if len(axes) == 1:
        a = axes[0]
        magnitude = e.abs(x)
        if ord is None or ord == 2:
            return e.sqrt(e.sum(e.square(magnitude), axis=a, keepdims=keepdims))
        check(not isinstance(ord, str), "norm", "a numeric ord for a vector norm", f"ord={ord!r}")
        if ord == inf:
            return e.max(magnitude, axis=a, keepdims=keepdims)
        if ord == -inf:
            return e.min(magnitude, axis=a, keepdims=keepdims)
        if ord == 0:
            return e.sum(e.cast(e.not_equal(x, 0.0), e.dtype(x)), axis=a, keepdims=keepdims)
        if ord == 1:
            return e.sum(magnitude, axis=a, keepdims=keepdims)
        return e.power(e.sum(e.power(magnitude, float(ord)), axis=a, keepdims=keepdims), 1.0 / float(ord))
    row, col = axes
    check(ord in (None, "fro", "nuc", 1, -1, 2, -2, inf, -inf), "norm",
          "a matrix ord in None, 'fro', 'nuc', 1, -1, 2, -2, inf, -inf", f"ord={ord!r}")
    if ord in (None, "fro"):
        return e.sqrt(e.sum(e.square(e.abs(x)), axis=axes, keepdims=keepdims))
    if ord in ("nuc", 2, -2):
        if (row, col) != (ndim - 2, ndim - 1):  # the two axes last, in order
            x = e.transpose(x, [i for i in range(ndim) if i not in axes] + [row, col])
        s = e.svd(x, compute_uv=False)
        out = e.sum(s, axis=-1) if ord == "nuc" else (e.max(s, axis=-1) if ord == 2 else e.min(s, axis=-1))
        if keepdims:
            for a in sorted(axes):
                out = e.expand_dims(out, a)
        return out
    summed, reduce_axis = (row, col) if ord in (1, -1) else (col, row)
    sums = e.sum(e.abs(x), axis=summed, keepdims=True)
    pick = e.max if ord in (1, inf) else e.min
    out = pick(sums, axis=reduce_axis, keepdims=True)
    return out if keepdims else e.squeeze(out, axis=axes)


def _pinv_spec(x: Any, rcond: Any = None) -> OpSpec:
    *batch, m, n = _matrices("pinv", x, square=False)
    return OpSpec((*batch, n, m), _float(x))


def _singular_cutoff(e: Any, s: Any, m: int, n: int, rcond: Any) -> Any:
    import numpy as np

    if rcond is None:
        rcond = float(np.finfo("float32" if e.dtype(s) != "float64" else "float64").eps) * max(m, n)
    return e.multiply(e.max(s, axis=-1, keepdims=True), float(rcond))


@op("matrices", body=True, spec=_pinv_spec)
def pinv(x: Tensor, rcond: float | None = None) -> Tensor:
    """Moore-Penrose pseudo-inverse by SVD; singular values below
    ``rcond * max(s)`` (default ``eps * max(m, n)``) count as zero.
    Example: ``ops.linalg.pinv(a)``"""
    e, x = _engine_float(x)
    *_, m, n = e.shape(x)
    u, s, vh = e.svd(x, full_matrices=False)
    keep = e.greater(s, _singular_cutoff(e, s, m, n, rcond))
    s_inv = e.where(keep, e.divide(1.0, e.where(keep, s, e.ones_like(s))), e.zeros_like(s))
    return e.matmul(_transpose(e, vh), e.multiply(e.expand_dims(s_inv, -1), _transpose(e, u)))


def _lstsq_spec(a: Any, b: Any, rcond: Any = None) -> OpSpec:
    *_, m, n = _matrices("lstsq", a, square=False)
    b_shape = tuple(b.shape)
    return OpSpec((n,) if len(b_shape) == 1 else (n, *b_shape[1:]), _float(a))


@op("a matrix a (m, n) and b (m,) or (m, k)", body=True, spec=_lstsq_spec)
def lstsq(a: Tensor, b: Tensor, rcond: float | None = None) -> Tensor:
    """The least-squares solution ``x`` of ``a @ x ~= b`` (minimum norm when
    ``a`` is rank-deficient), through the pseudo-inverse.
    Example: ``ops.linalg.lstsq(a, b)``"""
    e, a = _engine_float(a)
    b = e.cast(e.convert_to_tensor(b), e.dtype(a))
    check(len(e.shape(a)) == 2 and len(e.shape(b)) in (1, 2) and e.shape(b)[0] == e.shape(a)[0], "lstsq",
          "a matrix a (m, n) and b (m,) or (m, k)", f"a {describe(a)}, b {describe(b)}")
    pseudo = pinv(a, rcond)
    return e.squeeze(e.matmul(pseudo, e.expand_dims(b, -1)), -1) if len(e.shape(b)) == 1 else e.matmul(pseudo, b)


def _rank_spec(x: Any, tol: Any = None) -> OpSpec:
    return OpSpec(_matrices("matrix_rank", x, square=False)[:-2], "int32")


@op("matrices", body=True, spec=_rank_spec)
def matrix_rank(x: Tensor, tol: float | None = None) -> Tensor:
    """The number of singular values above ``tol`` (default
    ``max(s) * max(m, n) * eps``), as int32. Example: ``ops.linalg.matrix_rank(a)``"""
    e, x = _engine_float(x)
    *_, m, n = e.shape(x)
    s = e.svd(x, compute_uv=False)
    cutoff = _singular_cutoff(e, s, m, n, None) if tol is None else tol
    return e.cast(e.sum(e.cast(e.greater(s, cutoff), "int32"), axis=-1), "int32")


def _triangular_spec(a: Any, b: Any, lower: bool = False) -> OpSpec:
    return _solve_spec(a, b)


@op("a square triangular matrix a and b with a matching leading axis", body=True, spec=_triangular_spec)
def solve_triangular(a: Tensor, b: Tensor, lower: bool = False) -> Tensor:
    """``x`` with ``a @ x == b`` reading only the lower (``lower=True``) or
    upper triangle of ``a``. Example: ``ops.linalg.solve_triangular(l, b, lower=True)``"""
    e, a = _engine_float(a)
    n = e.shape(a)[-1]
    rows = e.expand_dims(e.arange(n, dtype="int32"), 1)
    cols = e.expand_dims(e.arange(n, dtype="int32"), 0)
    triangle = e.greater_equal(rows, cols) if lower else e.less_equal(rows, cols)
    return e.solve(e.where(triangle, a, e.zeros_like(a)), e.cast(e.convert_to_tensor(b), e.dtype(a)))


@op("a square (lower, or upper with upper=True) Cholesky factor", body=True, spec=_same("cholesky_inverse"))
def cholesky_inverse(x: Tensor, upper: bool = False) -> Tensor:
    """The inverse of ``A`` from its Cholesky factor (``A = L L^T``, or
    ``U^T U`` with ``upper=True``). Example: ``ops.linalg.cholesky_inverse(l)``"""
    e, x = _engine_float(x)
    factor = _transpose(e, x) if upper else x
    n = e.shape(x)[-1]
    identity = e.broadcast_to(e.eye(n, dtype=e.dtype(x)), e.shape(x))
    l_inv = solve_triangular(factor, identity, lower=True)
    return e.matmul(_transpose(e, l_inv), l_inv)


def _eigh_spec(x: Any) -> tuple[OpSpec, OpSpec]:
    shape = _matrices("eigh", x)
    return OpSpec(shape[:-1], _float(x)), OpSpec(shape, _float(x))


@op("symmetric matrices", spec=_eigh_spec)
def eigh(x: Tensor) -> tuple[Tensor, Tensor]:
    """Eigenvalues (ascending) and eigenvectors (as columns) of symmetric
    matrices; each eigenvector's sign is the engine's. Example: ``w, v = ops.linalg.eigh(a)``"""


def _eig_spec(x: Any) -> tuple[OpSpec, OpSpec]:
    from polykeras.backends.signal import COMPLEX_OF

    shape = _matrices("eig", x)
    dtype = COMPLEX_OF.get(_float(x), _float(x))
    return OpSpec(shape[:-1], dtype), OpSpec(shape, dtype)


@op("square matrices", body=True, spec=_eig_spec)
def eig(x: Tensor) -> tuple[Tensor, Tensor]:
    """Eigenvalues and eigenvectors (as columns, unit length) of general
    square matrices, always complex (complex64 for float32); their order and
    each eigenvector's phase are the engine's. Example: ``w, v = ops.linalg.eig(a)``"""
    from polykeras.backends import active

    e = active()
    x = e.convert_to_tensor(x)
    _matrices("eig", x)
    return e.eig(x)


def _lu_spec(x: Any) -> tuple[OpSpec, OpSpec]:
    *batch, m, n = _matrices("lu_factor", x, square=False)
    return OpSpec((*batch, m, n), _float(x)), OpSpec((*batch, _min(m, n)), "int32")


@op("matrices (..., m, n)", body=True, spec=_lu_spec)
def lu_factor(x: Tensor) -> tuple[Tensor, Tensor]:
    """LU decomposition with partial pivoting, as ``scipy.linalg.lu_factor``:
    ``L`` (unit diagonal, not stored) and ``U`` packed in one matrix, and the
    0-based int32 pivots (row ``i`` was swapped with row ``pivots[i]``).

    Example: ``lu, pivots = ops.linalg.lu_factor(a)``
    """
    from polykeras.backends import active

    e = active()
    x = e.convert_to_tensor(x)
    _matrices("lu_factor", x, square=False)
    return e.lu_factor(x)


def jvp(fun: Any, primals: Any, tangents: Any, has_aux: bool = False) -> tuple[Any, ...]:
    """Forward-mode derivative of ``fun`` at ``primals`` along ``tangents``
    (tuples of tensors): ``(fun(*primals), tangent_out)``, plus ``aux`` when
    ``fun`` returns ``(output, aux)`` and ``has_aux``. The NumPy engine
    raises NotImplementedError.

    Example: ``y, dy = ops.linalg.jvp(ops.sin, (x,), (ops.ones_like(x),))``  # dy == cos(x)
    """
    from polykeras.backends import active

    check(callable(fun) and isinstance(primals, (list, tuple)) and isinstance(tangents, (list, tuple))
          and len(primals) == len(tangents), "jvp", "a callable and tuples of primals and tangents of one length",
          f"fun={describe(fun)}, primals={describe(primals)}, tangents={describe(tangents)}")
    return active().jvp(fun, tuple(primals), tuple(tangents), has_aux=has_aux)


jvp.op_key = "linalg.jvp"  # type: ignore[attr-defined]
