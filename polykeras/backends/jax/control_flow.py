"""Control flow of the JAX engine: ``jax.lax`` primitives when staged.

Inside ``jax.jit`` a Python ``if`` cannot read a traced predicate, so
``cond``, ``switch``, ``while_loop``, ``fori_loop`` and ``associative_scan``
become ``jax.lax.cond`` / ``switch`` / ``while_loop`` / ``fori_loop`` /
``associative_scan``, and ``map`` / ``vectorized_map`` become ``jax.lax.map``
/ ``jax.vmap`` always. On concrete values the protocol's Python versions
run (no compile per call). ``fori_loop`` with Python-int bounds is a scan in
JAX, so it is reverse-differentiable; ``while_loop`` is forward-only there,
as in JAX.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax

from polykeras.backends.control_flow import as_tuple, body_tuple
from polykeras.backends.jax.rnn import _staged
from polykeras.backends.recurrent import tree_flatten


def _any_staged(*trees: Any) -> bool:
    return any(_staged(leaf) for tree in trees for leaf in tree_flatten(tree)[0])


class JaxControlFlow:
    """``jax.lax`` control flow (see :class:`polykeras.backends.jax.JaxBackend`).

    Example: ``B.get("jax").cond(x > 0, lambda: x, lambda: -x)``
    """

    def cond(self, pred: Any, true_fn: Callable[[], Any], false_fn: Callable[[], Any]) -> Any:
        if not _staged(pred):
            return super().cond(pred, true_fn, false_fn)  # type: ignore[misc]
        return jax.lax.cond(pred, true_fn, false_fn)

    def switch(self, index: Any, branches: Sequence[Callable[..., Any]], *operands: Any) -> Any:
        if not _staged(index):
            return super().switch(index, branches, *operands)  # type: ignore[misc]
        return jax.lax.switch(index, list(branches), *operands)

    def while_loop(self, cond: Callable[..., Any], body: Callable[..., Any], loop_vars: Any,
                   maximum_iterations: int | None = None) -> Any:
        values, is_tuple = as_tuple(loop_vars)
        if not _any_staged(values):
            probe = cond(*values)
            if not _staged(probe):
                return super().while_loop(cond, body, loop_vars, maximum_iterations)  # type: ignore[misc]
        if maximum_iterations is None:
            out = jax.lax.while_loop(lambda v: cond(*v), lambda v: body_tuple(body(*v), is_tuple), values)
        else:
            def keep_going(state: Any) -> Any:
                count, v = state
                return jax.numpy.logical_and(count < maximum_iterations, cond(*v))

            _, out = jax.lax.while_loop(keep_going, lambda s: (s[0] + 1, body_tuple(body(*s[1]), is_tuple)),
                                        (0, values))
        return tuple(out) if is_tuple else out[0]

    def fori_loop(self, lower: Any, upper: Any, body_fun: Callable[[Any, Any], Any], init_val: Any) -> Any:
        if not _any_staged(lower, upper, init_val):
            return super().fori_loop(lower, upper, body_fun, init_val)  # type: ignore[misc]
        return jax.lax.fori_loop(lower, upper, body_fun, init_val)

    def associative_scan(self, f: Callable[[Any, Any], Any], elems: Any, reverse: bool = False,
                         axis: int = 0) -> Any:
        return jax.lax.associative_scan(f, elems, reverse=reverse, axis=axis)

    def map(self, f: Callable[[Any], Any], xs: Any) -> Any:
        return jax.lax.map(f, xs)

    def vectorized_map(self, function: Callable[[Any], Any], elements: Any) -> Any:
        return jax.vmap(function)(elements)

    def custom_gradient(self, f: Callable[..., tuple[Any, Callable[..., Any]]]) -> Callable[..., Any]:
        def forward(*args: Any) -> Any:
            out, grad_fn = f(*args)

            def vjp(upstream: Any) -> tuple[Any, ...]:
                grads = grad_fn(upstream)
                return tuple(grads) if isinstance(grads, (list, tuple)) else (grads,)

            return out, vjp

        return jax.custom_gradient(forward)

    def jvp(self, fun: Callable[..., Any], primals: Any, tangents: Any, has_aux: bool = False) -> tuple[Any, ...]:
        return jax.jvp(fun, tuple(primals), tuple(tangents), has_aux=has_aux)
