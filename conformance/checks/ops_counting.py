"""Forward and gradient cases of the counting and selection ops
(``bincount``, ``histogram``, ``unique``, ``nonzero``, ``argpartition``,
``in_top_k``: ``polykeras/ops/counting.py``), of ``rearrange`` and of the
Keras 3 parameters the core ops act on (``max``/``min``'s ``initial``,
``cumsum``/``cumprod``/``prod``'s ``dtype``, ``round``'s ``decimals``,
``eye``'s ``k``, ``scatter_update``'s ``reduction``, ``pad``'s
``constant_values``, ``take_along_axis`` without an axis, ``moments``
synchronized), each against NumPy.

``CASES`` join :data:`conformance.checks.ops.FORWARD_CASES`; ``GRADIENTS``
and ``NOT_DIFFERENTIABLE`` join :mod:`conformance.checks.ops_gradients`.

Example:
    >>> sorted({case.op for case in CASES})[:2]
    ['argpartition', 'bincount']
"""

from __future__ import annotations

from typing import Any

import numpy as np

from conformance.checks.opcase import NUMERIC, OpCase, fixed, unary, with_axis
from polykeras import ops

__all__ = ["CASES", "GRADIENTS", "NOT_DIFFERENTIABLE"]

CASES: list[OpCase] = []
GRADIENTS: dict[str, tuple[Any, Any, Any]] = {}
NOT_DIFFERENTIABLE: dict[str, str] = {
    **dict.fromkeys(["histogram", "unique", "nonzero", "argpartition", "in_top_k"],
                    "counts, indices or booleans: piecewise constant"),
}

_RNG = np.random.default_rng(23)
_IDS = np.array([1, 4, 1, 0, 4, 4, 2], np.int32)
_REPEATS = np.array([[3.0, 1.0, 2.0], [1.0, 3.0, 3.0], [0.5, 2.0, 1.0]])


def _unique_ref(x: np.ndarray, size: int | None = None, fill: float = 0) -> tuple[np.ndarray, ...]:
    values, index, inverse, counts = np.unique(x, return_index=True, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(x.shape)
    if size is not None:
        have = len(values)
        values = np.pad(values[:size], (0, max(size - have, 0)), constant_values=fill)
        index = np.pad(index[:size], (0, max(size - have, 0)), constant_values=1)
        counts = np.pad(counts[:size], (0, max(size - have, 0)), constant_values=0)
    return values, index, inverse, counts


def _histogram_ref(x: np.ndarray, bins: int, range_: Any = None) -> tuple[np.ndarray, np.ndarray]:
    counts, edges = np.histogram(x, bins=bins, range=range_)
    return counts, edges


def _partitioned(x: Any, kth: int) -> Any:
    """What every partition around ``kth`` shares: the entries in partition
    order, as the kth value, the sorted ones before it and those after."""
    idx = ops.argpartition(x, kth, axis=-1)
    taken = ops.take_along_axis(x, idx, axis=-1)
    return ops.sort(taken[..., :kth]), taken[..., kth], ops.sort(taken[..., kth + 1:])


def _partitioned_ref(x: np.ndarray, kth: int) -> Any:
    ordered = np.sort(x, axis=-1)
    return ordered[..., :kth], ordered[..., kth], ordered[..., kth + 1:]


def _top_k_ref(targets: np.ndarray, predictions: np.ndarray, k: int) -> np.ndarray:
    picked = predictions[np.arange(len(targets)), targets]
    return ((predictions > picked[:, None]).sum(axis=1) < k) & np.isfinite(picked)


CASES += [
    OpCase("bincount", fixed(_IDS), ops.bincount, lambda x: np.bincount(x), dtypes=("int32",), out="int32"),
    OpCase("bincount", fixed(_IDS, np.linspace(0.5, 2.0, 7)), lambda x, w: ops.bincount(x, w, minlength=7),
           lambda x, w: np.bincount(x, w, minlength=7), "reduction", dtypes=("float32", "float64"),
           label="bincount(weights, minlength)"),
    OpCase("histogram", unary(min_rank=1, max_rank=3, min_value=-5.0, max_value=5.0),
           lambda x: ops.histogram(x, bins=4), lambda x: _histogram_ref(x, 4), "reduction", dtypes=("float32",)),
    OpCase("histogram", fixed(np.array([0.0, 1.0, 1.5, 3.0, 10.0, -1.0])),
           lambda x: ops.histogram(x, bins=4, range=(0, 4)), lambda x: _histogram_ref(x, 4, (0, 4)), "reduction",
           label="histogram(range)"),
    OpCase("unique", fixed(_REPEATS),
           lambda x: ops.unique(x, return_index=True, return_inverse=True, return_counts=True), _unique_ref,
           dtypes=NUMERIC, out=(None, "int32", "int32", "int32")),
    OpCase("unique", fixed(_REPEATS),
           lambda x: ops.unique(x, return_index=True, return_inverse=True, return_counts=True, size=7, fill_value=-1),
           lambda x: _unique_ref(x, 7, -1), dtypes=NUMERIC, out=(None, "int32", "int32", "int32"),
           label="unique(size, padded)"),
    OpCase("unique", fixed(_REPEATS), lambda x: ops.unique(x, return_counts=True, size=2),
           lambda x: (_unique_ref(x, 2)[0], _unique_ref(x, 2)[3]), dtypes=NUMERIC, out=(None, "int32"),
           label="unique(size, cut)"),
    OpCase("nonzero", fixed(np.array([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]])), ops.nonzero, np.nonzero,
           dtypes=NUMERIC, out="int32"),
    OpCase("argpartition", fixed(_RNG.permutation(24).reshape(2, 3, 4) * 0.5),
           lambda x: _partitioned(x, 2), lambda x: _partitioned_ref(x, 2), dtypes=NUMERIC),
    OpCase("in_top_k", fixed(np.array([1, 0, 2, 2], np.int32),
                             np.array([[0.1, 0.5, 0.4], [0.3, 0.3, 0.4], [0.3, 0.3, 0.3], [0.9, 0.05, 0.05]])),
           lambda t, p: ops.in_top_k(t, p, 2), lambda t, p: _top_k_ref(t, p, 2), out="bool"),
    OpCase("rearrange", fixed(_RNG.normal(size=(4, 3, 6))),
           lambda x: ops.rearrange(x, "(b1 b) h (w c) -> b (h b1) c w", b1=2, c=3),
           lambda x: x.reshape(2, 2, 3, 2, 3).transpose(1, 2, 0, 4, 3).reshape(2, 6, 3, 2), dtypes=NUMERIC),
]

# the Keras 3 parameters of the core ops
_X = _RNG.uniform(-3.0, 3.0, (3, 4))
CASES += [
    OpCase("max", with_axis(axis="single_or_none", min_rank=1, max_rank=3, min_value=-5.0, max_value=5.0),
           lambda x, axis, keepdims: ops.max(x, axis=axis, keepdims=keepdims, initial=1.0),
           lambda x, axis, keepdims: np.max(x, axis=axis, keepdims=keepdims, initial=1.0), "reduction",
           dtypes=NUMERIC, label="max(initial)"),
    OpCase("min", fixed(np.zeros((0, 3))), lambda x: ops.min(x, axis=0, initial=-2.0),
           lambda x: np.min(x, axis=0, initial=-2.0), "reduction", label="min(initial, empty)"),
    OpCase("cumsum", fixed(_X), lambda x: ops.cumsum(x, axis=1, dtype="int32"),
           lambda x: np.cumsum(x.astype("int32"), axis=1), out="int32", label="cumsum(dtype)"),
    OpCase("cumprod", fixed(np.array([[1, 2, 3], [4, -1, 2]])), lambda x: ops.cumprod(x, dtype="float32"),
           lambda x: np.cumprod(x.astype(np.float64)), dtypes=("int32",), out="float32", label="cumprod(dtype)"),
    OpCase("prod", fixed(_X), lambda x: ops.prod(x, axis=0, dtype="int32"),
           lambda x: np.prod(x.astype("int32"), axis=0), out="int32", label="prod(dtype)"),
    OpCase("round", fixed(np.array([1.25, 2.35, -0.55, 123.4567])), lambda x: ops.round(x, decimals=2),
           lambda x: np.round(x, 2), label="round(decimals=2)"),
    OpCase("round", fixed(np.array([15, 25, 123, -35], np.int32)), lambda x: ops.round(x, decimals=-1),
           lambda x: np.round(x, -1), dtypes=("int32",), label="round(decimals=-1)"),
    OpCase("eye", fixed(), lambda: ops.eye(3, 5, k=2, dtype="int32"), lambda: np.eye(3, 5, k=2),
           dtypes=("float32",), out="int32", label="eye(k=2)"),
    OpCase("eye", fixed(), lambda: ops.eye(4, k=-1), lambda: np.eye(4, k=-1), dtypes=("float32",), label="eye(k=-1)"),
    OpCase("scatter_update", fixed(_X, np.array([[1], [2], [1]], np.int32), _RNG.uniform(-1, 1, (3, 4))),
           lambda x, i, u: ops.scatter_update(x, i, u, reduction="add"),
           lambda x, i, u: _scatter_ref(x, i, u, np.add), label="scatter_update(add)"),
    OpCase("scatter_update", fixed(_X, np.array([[1, 0], [2, 3], [1, 0]], np.int32), np.array([9.0, -9.0, 4.0])),
           lambda x, i, u: ops.scatter_update(x, i, u, reduction="max"),
           lambda x, i, u: _scatter_ref(x, i, u, np.maximum), label="scatter_update(max)"),
    OpCase("scatter_update", fixed(_X, np.array([[0, 0], [0, 0]], np.int32), np.array([2.0, -3.0])),
           lambda x, i, u: ops.scatter_update(x, i, u, reduction="mul"),
           lambda x, i, u: _scatter_ref(x, i, u, np.multiply), label="scatter_update(mul)"),
    OpCase("pad", fixed(_X), lambda x: ops.pad(x, [(1, 0), (0, 2)], constant_values=-7),
           lambda x: np.pad(x, [(1, 0), (0, 2)], constant_values=-7), dtypes=NUMERIC, label="pad(constant_values)"),
    OpCase("take_along_axis", fixed(_X, np.array([11, 0, 5], np.int32)), ops.take_along_axis,
           lambda x, i: np.take_along_axis(x.ravel(), i, axis=0), label="take_along_axis(axis=None)"),
    OpCase("moments", fixed(_X), lambda x: ops.moments(x, axes=[0], synchronized=True),
           lambda x: (x.mean(0), x.var(0)), "reduction", label="moments(synchronized)"),
    OpCase("einsum", fixed(_X, _X.T, _X), lambda a, b, c: ops.einsum("ij,jk,kl->il", a, b, c, optimize="greedy"),
           lambda a, b, c: a @ b @ c, "matmul", label="einsum(optimize)"),
]


def _scatter_ref(x: np.ndarray, indices: np.ndarray, updates: np.ndarray, combine: Any) -> np.ndarray:
    out = x.copy()
    for index, update in zip(indices, updates):
        out[tuple(index)] = combine(out[tuple(index)], update)
    return out


_W = np.array([1, 3, 1, 0, 3], np.int32)
GRADIENTS.update({
    "bincount": (lambda w: ops.bincount(ops.convert_to_tensor(_W), weights=w, minlength=5),
                 lambda w: np.bincount(_W, w, minlength=5), lambda rng: [rng.uniform(-2.0, 2.0, (5,))]),
    "rearrange": (lambda x: ops.rearrange(x, "a (b c) -> (c a) b", c=2),
                  lambda x: x.reshape(2, 3, 2).transpose(2, 0, 1).reshape(4, 3),
                  lambda rng: [rng.uniform(-2, 2, (2, 6))]),
    "max(initial)": (lambda x: ops.max(x, axis=1, initial=-0.5), lambda x: np.max(x, axis=1, initial=-0.5),
                     lambda rng: [rng.permutation(np.linspace(-2.0, 2.0, 12)).reshape(3, 4)]),
    "scatter_update(add)": (lambda x, u: ops.scatter_update(x, np.array([[1], [0], [1]], np.int32), u, reduction="add"),
                            lambda x, u: _scatter_ref(x, np.array([[1], [0], [1]]), u, np.add),
                            lambda rng: [rng.uniform(-2, 2, (3, 2)), rng.uniform(-2, 2, (3, 2))]),
    "moments(synchronized)": (lambda x: ops.moments(x, axes=0, synchronized=True), lambda x: (x.mean(0), x.var(0)),
                              lambda rng: [rng.uniform(-2, 2, (4, 3))]),
})
