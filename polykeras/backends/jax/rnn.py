"""The time loop of the JAX engine: ``jax.lax.scan`` when traced.

Inside ``jax.jit`` (or any transformation that hands the loop traced
sequences) ``scan`` is ``jax.lax.scan``: the step is traced once, whatever
the number of steps, so compiling stays fast. On concrete arrays the
protocol's Python loop runs instead: ``lax.scan`` would compile its body on
every eager call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

from polykeras.backends.recurrent import tree_flatten


class JaxRecurrent:
    """``scan`` of the JAX engine (see :class:`polykeras.backends.jax.JaxBackend`).

    Example: ``carry, ys = B.get("jax").scan(step, init, xs)``
    """

    def scan(self, fn: Callable[[Any, Any], tuple[Any, Any]], init: Any, xs: Any, reverse: bool = False,
             unroll: bool = False) -> tuple[Any, Any]:
        leaves = tree_flatten(xs)[0] + tree_flatten(init)[0]
        if not any(isinstance(leaf, jax.core.Tracer) for leaf in leaves):
            return super().scan(fn, init, xs, reverse=reverse, unroll=unroll)  # type: ignore[misc]
        return jax.lax.scan(fn, init, xs, reverse=reverse, unroll=bool(unroll) or 1)
