"""Forward and gradient cases of Keras 3's core control flow
(``polykeras/ops/control_flow.py``): each loop or branch against the same
computation written in NumPy. Compiled runs (``jax.jit``, ``tf.function``)
are checked in ``tests/ops/test_control_flow.py``.

``CASES`` join :data:`conformance.checks.ops.FORWARD_CASES`; ``GRADIENTS``
and ``NOT_DIFFERENTIABLE`` join :mod:`conformance.checks.ops_gradients`.

Example:
    >>> sorted({case.op for case in CASES})[:2]
    ['associative_scan', 'cond']
"""

from __future__ import annotations

from typing import Any

import numpy as np

from conformance.checks.opcase import NUMERIC, OpCase, unary
from polykeras import ops

__all__ = ["CASES", "GRADIENTS", "NOT_DIFFERENTIABLE"]

CASES: list[OpCase] = []
GRADIENTS: dict[str, tuple[Any, Any, Any]] = {}
NOT_DIFFERENTIABLE: dict[str, str] = {
    "while_loop": "a loop with a data-dependent trip count: JAX cannot reverse-differentiate it (nor Keras's)",
    "saturate_cast": "a dtype conversion (clip then cast)",
}


def _cond(x: Any) -> Any:
    return ops.cond(ops.greater(ops.sum(x), 0.0), lambda: ops.multiply(x, x), lambda: ops.negative(x))


def _cond_ref(x: np.ndarray) -> np.ndarray:
    return x * x if x.sum() > 0 else -x


def _switch(x: Any) -> Any:
    index = ops.cast(ops.clip(ops.sum(x), -1.0, 3.0), "int32")
    return ops.switch(index, [lambda a: a + 1.0, lambda a: a * 2.0, lambda a: ops.sin(a)], x)


def _switch_ref(x: np.ndarray) -> np.ndarray:
    index = min(max(int(np.clip(x.sum(), -1.0, 3.0)), 0), 2)
    return [x + 1.0, x * 2.0, np.sin(x)][index]


def _while(x: Any) -> Any:
    return ops.while_loop(lambda i, v: ops.less(i, 3), lambda i, v: (ops.add(i, 1), ops.multiply(v, 0.5) + 1.0),
                          (ops.convert_to_tensor(0, "int32"), x))[1]


def _while_ref(x: np.ndarray) -> np.ndarray:
    for _ in range(3):
        x = x * 0.5 + 1.0
    return x


def _fori(x: Any) -> Any:
    return ops.fori_loop(0, 3, lambda i, v: ops.sin(v) + ops.cast(i, ops.dtype(v)), x)


def _fori_ref(x: np.ndarray) -> np.ndarray:
    for i in range(3):
        x = np.sin(x) + i
    return x


def _scan(x: Any) -> Any:
    return ops.scan(lambda c, v: (c * 0.5 + v, ops.tanh(c)), ops.zeros_like(x[0]), x)


def _scan_ref(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    carry, ys = np.zeros_like(x[0]), []
    for v in x:
        ys.append(np.tanh(carry))
        carry = carry * 0.5 + v
    return carry, np.stack(ys)


def _scan_reverse(x: Any) -> Any:
    return ops.scan(lambda c, v: (c + v, c * v), ops.zeros_like(x[0]), x, reverse=True)


def _scan_reverse_ref(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    carry, ys = np.zeros_like(x[0]), [None] * len(x)
    for t in range(len(x) - 1, -1, -1):
        ys[t] = carry * x[t]
        carry = carry + x[t]
    return carry, np.stack(ys)


def _custom(x: Any) -> Any:
    @ops.custom_gradient
    def clipped_square(v: Any) -> Any:
        return ops.square(v), lambda upstream: ops.clip(ops.multiply(upstream, 2.0 * v), -1.0, 1.0)
    return clipped_square(x)


_LEADING = {"min_rank": 1, "max_rank": 3, "min_value": -3.0, "max_value": 3.0}
CASES += [
    OpCase("cond", unary(min_value=-3.0, max_value=3.0), _cond, _cond_ref, "elementwise"),
    OpCase("switch", unary(min_value=-3.0, max_value=3.0), _switch, _switch_ref, "transcendental"),
    OpCase("while_loop", unary(min_value=-3.0, max_value=3.0), _while, _while_ref, "elementwise"),
    OpCase("fori_loop", unary(min_value=-3.0, max_value=3.0), _fori, _fori_ref, "transcendental"),
    OpCase("scan", unary(**_LEADING), _scan, _scan_ref, "transcendental"),
    OpCase("scan", unary(**_LEADING), _scan_reverse, _scan_reverse_ref, "reduction", label="scan(reverse=True)"),
    OpCase("scan", unary(min_value=-3.0, max_value=3.0), lambda x: ops.scan(lambda c, _: (c * 0.5 + 1.0, c), x,
                                                                            length=3),
           lambda x: (x * 0.125 + 1.75, np.stack([x, x * 0.5 + 1.0, x * 0.25 + 1.5])), "elementwise",
           label="scan(length=3)"),
    OpCase("associative_scan", unary(**_LEADING), lambda x: ops.associative_scan(ops.add, x),
           lambda x: np.cumsum(x, 0), "reduction", dtypes=NUMERIC),
    OpCase("associative_scan", unary(**_LEADING), lambda x: ops.associative_scan(ops.maximum, x, reverse=True),
           lambda x: np.flip(np.maximum.accumulate(np.flip(x, 0), 0), 0), "elementwise",
           label="associative_scan(maximum, reverse)"),
    OpCase("map", unary(**_LEADING), lambda x: ops.map(lambda v: ops.sum(ops.square(v)), x),
           lambda x: np.sum(x.reshape(len(x), -1) ** 2, -1), "reduction", dtypes=NUMERIC),
    OpCase("vectorized_map", unary(**_LEADING), lambda x: ops.vectorized_map(lambda v: ops.sin(v) * 2.0, x),
           lambda x: np.sin(x) * 2.0, "transcendental"),
    OpCase("unstack", unary(**_LEADING), lambda x: tuple(ops.unstack(x)), lambda x: tuple(x), "elementwise",
           dtypes=NUMERIC),
    OpCase("saturate_cast", unary(min_value=-400.0, max_value=400.0), lambda x: ops.saturate_cast(x, "uint8"),
           lambda x: np.clip(x, 0, 255).astype(np.uint8), "elementwise", out="uint8"),
    OpCase("saturate_cast", unary(min_value=-400.0, max_value=400.0), lambda x: ops.saturate_cast(x, "int8"),
           lambda x: np.clip(x, -128, 127).astype(np.int8), "elementwise", dtypes=NUMERIC, out="int8",
           label="saturate_cast(int8)"),
    OpCase("custom_gradient", unary(min_value=-3.0, max_value=3.0), _custom, np.square, "elementwise"),
]

_U = lambda *shapes: (lambda rng: [rng.uniform(-2.0, 2.0, s) for s in shapes])  # noqa: E731
GRADIENTS.update({
    "cond": (_cond, _cond_ref, _U((2, 3))),
    "switch": (_switch, _switch_ref, lambda rng: [rng.uniform(0.1, 0.3, (2, 3))]),
    "fori_loop": (_fori, _fori_ref, _U((2, 3))),
    "scan": (_scan, _scan_ref, _U((4, 3))),
    "scan(reverse=True)": (_scan_reverse, _scan_reverse_ref, _U((4, 2))),
    "associative_scan": (lambda x: ops.associative_scan(ops.multiply, x), lambda x: np.cumprod(x, 0), _U((4, 3))),
    "map": (lambda x: ops.map(lambda v: ops.sum(ops.sin(v)), x), lambda x: np.sum(np.sin(x), -1), _U((3, 4))),
    "vectorized_map": (lambda x: ops.vectorized_map(lambda v: ops.sin(v) * v, x), lambda x: np.sin(x) * x, _U((3, 4))),
    "unstack": (lambda x: tuple(ops.unstack(x, axis=1)), lambda x: tuple(np.moveaxis(x, 1, 0)), _U((2, 3))),
})
