"""Forward and gradient cases of the further ``keras.ops.linalg`` ops
(``norm``, ``pinv``, ``lstsq``, ``matrix_rank``, ``solve_triangular``,
``cholesky_inverse``) and of ``keras.ops.math``'s ``erfc``, ``logdet``,
segment reductions and ``extract_sequences`` (``polykeras/ops/math_extra.py``),
each against NumPy in float64.

``CASES`` join :data:`conformance.checks.ops.FORWARD_CASES`; ``GRADIENTS``
and ``NOT_DIFFERENTIABLE`` join :mod:`conformance.checks.ops_gradients`.

Example:
    >>> sorted({case.op for case in CASES})[:2]
    ['erfc', 'extract_sequences']
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from conformance import reference as ref
from conformance.checks.opcase import NUMERIC, OpCase, fixed, unary
from polykeras import ops

__all__ = ["CASES", "GRADIENTS", "NOT_DIFFERENTIABLE"]

CASES: list[OpCase] = []
GRADIENTS: dict[str, tuple[Any, Any, Any]] = {}
NOT_DIFFERENTIABLE: dict[str, str] = {
    "linalg.matrix_rank": "an integer count of singular values: piecewise constant",
    "linalg.jvp": "the autodiff machinery itself (forward-checked)",
}

_RNG = np.random.default_rng(11)
_A = _RNG.normal(size=(2, 4, 3))
_SQUARE = _RNG.normal(size=(2, 3, 3))
_LOWER = np.tril(_SQUARE) + 3.0 * np.eye(3)
_SPD = _SQUARE @ np.swapaxes(_SQUARE, -1, -2) + 3.0 * np.eye(3)
_B = _RNG.normal(size=(2, 3, 2))


def _norm(ord_: Any, axis: Any) -> Any:
    return (lambda x: ops.linalg.norm(x, ord=ord_, axis=axis),
            lambda x: np.linalg.norm(x, ord=ord_, axis=axis))


for _label, _ord, _axis in [("norm", None, None), ("norm(ord=1, axis=-1)", 1, -1), ("norm(ord=3, axis=1)", 3, 1),
                            ("norm(ord=inf, axis=-1)", np.inf, -1), ("norm(ord=0, axis=-1)", 0, -1),
                            ("norm(fro)", "fro", (-2, -1)), ("norm(nuc)", "nuc", (-2, -1)),
                            ("norm(ord=2, matrix)", 2, (1, 2)), ("norm(ord=-1, matrix)", -1, (-2, -1)),
                            ("norm(ord=inf, matrix)", np.inf, (2, 1))]:
    _call, _ref = _norm(_ord, _axis)
    CASES.append(OpCase("linalg.norm", fixed(_A), _call, _ref, "linalg", label=f"linalg.{_label}"))
CASES += [
    OpCase("linalg.pinv", fixed(_A), ops.linalg.pinv, np.linalg.pinv, "linalg"),
    OpCase("linalg.lstsq", fixed(_A[0], _A[1][:, :2]), ops.linalg.lstsq,
           lambda a, b: np.linalg.lstsq(a, b, rcond=None)[0], "linalg"),
    OpCase("linalg.matrix_rank", fixed(np.stack([_SQUARE[0], np.outer([1.0, 2, 3], [1.0, -1, 2])])),
           ops.linalg.matrix_rank, np.linalg.matrix_rank, "linalg", out="int32"),
    OpCase("linalg.solve_triangular", fixed(_LOWER + np.triu(_SQUARE, 1), _B),
           lambda a, b: ops.linalg.solve_triangular(a, b, lower=True),
           lambda a, b: np.linalg.solve(np.tril(a), b), "linalg"),
    OpCase("linalg.solve_triangular", fixed(np.swapaxes(_LOWER, -1, -2), _B), ops.linalg.solve_triangular,
           lambda a, b: np.linalg.solve(np.triu(a), b), "linalg", label="linalg.solve_triangular(upper)"),
    OpCase("linalg.cholesky_inverse", fixed(_LOWER), ops.linalg.cholesky_inverse,
           lambda low: np.linalg.inv(low @ np.swapaxes(low, -1, -2)), "linalg"),
    OpCase("linalg.cholesky_inverse", fixed(np.swapaxes(_LOWER, -1, -2)),
           lambda u: ops.linalg.cholesky_inverse(u, upper=True),
           lambda u: np.linalg.inv(np.swapaxes(u, -1, -2) @ u), "linalg", label="linalg.cholesky_inverse(upper)"),
    OpCase("erfc", unary(min_value=-3.0, max_value=3.0), ops.erfc, lambda x: 1.0 - ref.erf(x), "transcendental"),
    OpCase("logdet", fixed(_SPD), ops.logdet, lambda a: np.linalg.slogdet(a)[1], "linalg"),
    OpCase("extract_sequences", fixed(_RNG.normal(size=(2, 11))), lambda x: ops.extract_sequences(x, 4, 3),
           lambda x: np.stack([x[:, i:i + 4] for i in range(0, 8, 3)], axis=1), "elementwise"),
]

_SYM = _SQUARE + np.swapaxes(_SQUARE, -1, -2)


def _eigh_invariants(x: Any) -> Any:
    """Eigenvalues and ``V diag(w) V^T``: what does not depend on each eigenvector's sign."""
    w, v = ops.linalg.eigh(x)
    return w, ops.matmul(ops.multiply(v, ops.expand_dims(w, -2)), ops.moveaxis(v, -1, -2))


CASES += [
    OpCase("linalg.eigh", fixed(_SYM), _eigh_invariants, lambda a: (np.linalg.eigvalsh(a), a), "linalg"),
    OpCase("linalg.cholesky", fixed(_SPD), lambda a: ops.linalg.cholesky(a, upper=True),
           lambda a: np.swapaxes(np.linalg.cholesky(a), -1, -2), "linalg", label="linalg.cholesky(upper=True)"),
]

CASES.append(OpCase(
    "linalg.jvp", unary(min_value=-3.0, max_value=3.0),
    lambda x: ops.linalg.jvp(lambda a, b: ops.sin(a) * b, (x, ops.exp(x)), (ops.ones_like(x), ops.ones_like(x))),
    lambda x: (np.sin(x) * np.exp(x), np.cos(x) * np.exp(x) + np.sin(x)), "transcendental"))

_DATA = _RNG.normal(size=(6, 3))
_IDS = np.array([0, 0, 2, 2, 2, 3], np.int32)
_FULL = np.array([0, 0, 1, 1, 1, 2], np.int32)  # no empty segment: an empty max is -inf


def _segment_ref(kind: str, data: np.ndarray, ids: np.ndarray, count: int) -> np.ndarray:
    fill = {"sum": 0.0, "prod": 1.0, "max": -np.inf, "min": np.inf}[kind]
    reduce = {"sum": np.sum, "prod": np.prod, "max": np.max, "min": np.min}[kind]
    return np.stack([reduce(data[ids == s], axis=0) if np.any(ids == s) else np.full(data.shape[1:], fill)
                     for s in range(count)])


for _kind in ("sum", "prod", "max", "min"):
    CASES.append(OpCase(f"segment_{_kind}", fixed(_DATA, _IDS),
                        functools.partial(lambda d, i, _k: getattr(ops, f"segment_{_k}")(d, i, num_segments=5),
                                          _k=_kind),
                        functools.partial(lambda d, i, _k: _segment_ref(_k, d, i, 5), _k=_kind), "reduction",
                        dtypes=NUMERIC if _kind in ("sum", "prod") else ("float32", "float64")))  # an empty max is -inf

_U = lambda *shapes: (lambda rng: [rng.uniform(-2.0, 2.0, s) for s in shapes])  # noqa: E731
GRADIENTS.update({
    "linalg.eigh": (lambda a: ops.linalg.eigh(ops.divide(ops.add(a, ops.moveaxis(a, -1, -2)), 2.0))[0],
                    lambda a: np.linalg.eigvalsh((a + np.swapaxes(a, -1, -2)) / 2),
                    lambda rng: [np.diag([3.0, 1.0, -1.5]) + rng.uniform(-0.3, 0.3, (3, 3))]),
    "linalg.norm": (lambda x: ops.linalg.norm(x, axis=-1), lambda x: np.linalg.norm(x, axis=-1), _U((2, 3))),
    "linalg.norm(fro)": (lambda x: ops.linalg.norm(x, "fro", (-2, -1)), lambda x: np.linalg.norm(x, "fro", (-2, -1)),
                         _U((2, 3, 3))),
    "linalg.pinv": (ops.linalg.pinv, np.linalg.pinv,
                    lambda rng: [np.diag([3.0, 2.0, 1.0])[:, :2] + rng.uniform(-0.2, 0.2, (3, 2))]),
    "linalg.lstsq": (ops.linalg.lstsq, lambda a, b: np.linalg.lstsq(a, b, rcond=None)[0],
                     lambda rng: [np.diag([3.0, 2.0, 1.0])[:, :2] + rng.uniform(-0.2, 0.2, (3, 2)),
                                  rng.uniform(-1, 1, (3, 2))]),
    "linalg.solve_triangular": (lambda a, b: ops.linalg.solve_triangular(a, b, lower=True),
                                lambda a, b: np.linalg.solve(np.tril(a), b),
                                lambda rng: [np.eye(3) * 3 + rng.uniform(-1, 1, (3, 3)), rng.uniform(-1, 1, (3, 2))]),
    "linalg.cholesky_inverse": (ops.linalg.cholesky_inverse, lambda low: np.linalg.inv(np.tril(low) @ np.tril(low).T),
                                lambda rng: [np.eye(3) * 2 + np.tril(rng.uniform(-0.5, 0.5, (3, 3)))]),
    "erfc": (ops.erfc, lambda x: 1.0 - ref.erf(x), _U((2, 3))),
    "logdet": (ops.logdet, lambda a: np.linalg.slogdet((a + np.swapaxes(a, -1, -2)) / 2)[1],
               lambda rng: [np.eye(3) * 3 + (lambda m: m + m.T)(rng.uniform(-0.5, 0.5, (3, 3)))]),
    "extract_sequences": (lambda x: ops.extract_sequences(x, 3, 2),
                          lambda x: np.stack([x[..., i:i + 3] for i in (0, 2, 4)], axis=-2), _U((2, 7))),
    "segment_sum": (lambda d: ops.segment_sum(d, ops.convert_to_tensor(_IDS), 4),
                    lambda d: _segment_ref("sum", d, _IDS, 4), _U((6, 3))),
    "segment_prod": (lambda d: ops.segment_prod(d, ops.convert_to_tensor(_IDS), 4),
                     lambda d: _segment_ref("prod", d, _IDS, 4), lambda rng: [rng.uniform(0.5, 1.5, (6, 3))]),
    "segment_max": (lambda d: ops.segment_max(d, ops.convert_to_tensor(_FULL), 3),
                    lambda d: _segment_ref("max", d, _FULL, 3),
                    lambda rng: [rng.permutation(np.linspace(-2, 2, 18)).reshape(6, 3)]),
    "segment_min": (lambda d: ops.segment_min(d, ops.convert_to_tensor(_FULL), 3),
                    lambda d: _segment_ref("min", d, _FULL, 3),
                    lambda rng: [rng.permutation(np.linspace(-2, 2, 18)).reshape(6, 3)]),
})
