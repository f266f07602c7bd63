"""The time loop of the JAX engine: ``jax.lax.scan`` when staged.

Inside ``jax.jit`` ``scan`` is ``jax.lax.scan``: the step is traced once,
whatever the number of steps, so compiling stays fast. Eagerly (concrete
arrays, or eager ``grad``/``vmap`` tracers wrapping concrete values) the
protocol's Python loop runs instead: ``lax.scan`` would compile its body on
every call, which costs more than the loop it saves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from polykeras.backends.recurrent import tree_flatten


def _staged(leaf: Any) -> bool:
    """True when ``leaf`` is a tracer of a computation being staged out for
    compilation (``jit``), not one wrapping a concrete array (eager
    ``grad``/``vmap``)."""
    if not isinstance(leaf, jax.core.Tracer):
        return False
    while isinstance(leaf, jax.core.Tracer):
        leaf = getattr(leaf, "primal", getattr(leaf, "val", None))
    return not isinstance(leaf, (jax.Array, np.ndarray))


class JaxRecurrent:
    """``scan`` of the JAX engine (see :class:`polykeras.backends.jax.JaxBackend`).

    Example: ``carry, ys = B.get("jax").scan(step, init, xs)``
    """

    def scan(self, fn: Callable[[Any, Any], tuple[Any, Any]], init: Any, xs: Any, reverse: bool = False,
             unroll: bool = False) -> tuple[Any, Any]:
        leaves = tree_flatten(xs)[0] + tree_flatten(init)[0]
        if not any(_staged(leaf) for leaf in leaves):
            return super().scan(fn, init, xs, reverse=reverse, unroll=unroll)  # type: ignore[misc]
        return jax.lax.scan(fn, init, xs, reverse=reverse, unroll=bool(unroll) or 1)
