"""Portable control flow: ``cond``, ``switch``, ``while_loop``, ``fori_loop``,
``associative_scan``, ``map`` and ``vectorized_map`` as Python on concrete
values, the way an eager engine (NumPy, PyTorch) runs them.

Compiling engines override them with their own primitives when traced (JAX
``jax.lax.*``, TensorFlow ``tf.cond``/``tf.while_loop``...; see
``backends/<engine>/control_flow.py``): a Python ``if`` on a traced value
cannot choose a branch. Nested structures are tensors inside lists and tuples
(:func:`polykeras.backends.recurrent.tree_flatten`).

Example:
    >>> import polykeras.backends as B
    >>> engine = B.get("numpy")
    >>> engine.to_numpy(engine.fori_loop(0, 4, lambda i, s: s + i, engine.zeros(())))
    array(6., dtype=float32)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from polykeras.backends.recurrent import tree_flatten, tree_unflatten

if TYPE_CHECKING:  # the Backend primitives these composites are written with
    from polykeras.backends.host import EngineHost as _Host
else:
    _Host = object


Tensor = Any


def as_tuple(loop_vars: Any) -> tuple[tuple[Any, ...], bool]:
    """``loop_vars`` as a tuple, and whether it was a list or tuple (Keras's
    ``while_loop`` returns the shape it was given)."""
    if isinstance(loop_vars, (list, tuple)):
        return tuple(loop_vars), True
    return (loop_vars,), False


def body_tuple(out: Any, is_tuple: bool) -> tuple[Any, ...]:
    """A loop body's result as a tuple, whatever shape it came back in."""
    if is_tuple:
        return tuple(out)
    return tuple(out) if isinstance(out, (list, tuple)) and len(out) == 1 else (out,)


class ControlFlowComposites(_Host):
    """Control flow written as Python over concrete values: correct on every
    eager engine, and what the compiled engines fall back to eagerly."""

    def _cf_bool(self, pred: Any) -> bool:
        return bool(self.to_numpy(pred)) if self.is_tensor(pred) else bool(pred)

    def cond(self, pred: Any, true_fn: Callable[[], Any], false_fn: Callable[[], Any]) -> Any:
        """``true_fn()`` if ``pred`` else ``false_fn()``; both must return the same structure."""
        return true_fn() if self._cf_bool(pred) else false_fn()

    def switch(self, index: Any, branches: Sequence[Callable[..., Any]], *operands: Any) -> Any:
        """``branches[index](*operands)``, ``index`` clamped to the valid range (as Keras)."""
        i = int(self.to_numpy(index)) if self.is_tensor(index) else int(index)
        return branches[min(max(i, 0), len(branches) - 1)](*operands)

    def while_loop(self, cond: Callable[..., Any], body: Callable[..., Any], loop_vars: Any,
                   maximum_iterations: int | None = None) -> Any:
        """Repeat ``loop_vars = body(*loop_vars)`` while ``cond(*loop_vars)``
        (at most ``maximum_iterations`` times)."""
        values, is_tuple = as_tuple(loop_vars)
        count = 0
        while (maximum_iterations is None or count < maximum_iterations) and self._cf_bool(cond(*values)):
            values = body_tuple(body(*values), is_tuple)
            count += 1
        return values if is_tuple else values[0]

    def fori_loop(self, lower: Any, upper: Any, body_fun: Callable[[Any, Any], Any], init_val: Any) -> Any:
        """``val = body_fun(i, val)`` for ``i`` in ``range(lower, upper)``."""
        lo = int(self.to_numpy(lower)) if self.is_tensor(lower) else int(lower)
        hi = int(self.to_numpy(upper)) if self.is_tensor(upper) else int(upper)
        value = init_val
        for i in range(lo, hi):
            value = body_fun(self.convert_to_tensor(i, "int32"), value)
        return value

    def associative_scan(self, f: Callable[[Any, Any], Any], elems: Any, reverse: bool = False,
                         axis: int = 0) -> Any:
        """Inclusive prefix combination ``f(...f(f(e0, e1), e2)..., ek)`` along
        ``axis`` of every tensor of ``elems`` (a tensor or nested structure).
        Portable: a sequential pass (``f`` associative, so the result is the
        same as a parallel tree's up to rounding)."""
        leaves, structure = tree_flatten(elems)
        length = self.shape(leaves[0])[axis]
        for leaf in leaves[1:]:
            if self.shape(leaf)[axis] != length:
                raise ValueError(f"associative_scan: expected every tensor of elems with length {length} along "
                                 f"axis {axis}, received shape {self.shape(leaf)}.")
        parts = [[self.expand_dims(self.take(leaf, self.convert_to_tensor(t, "int32"), axis=axis), axis)
                  for t in range(length)] for leaf in leaves]
        order = range(length - 1, -1, -1) if reverse else range(length)
        outs: list[Any] = [None] * length
        running = None
        for t in order:
            current = tree_unflatten(structure, [p[t] for p in parts])
            running = current if running is None else (f(current, running) if reverse else f(running, current))
            outs[t] = tree_flatten(running)[0]
        stacked = [self.concatenate([outs[t][k] for t in range(length)], axis=axis) for k in range(len(leaves))]
        return tree_unflatten(structure, stacked)

    def map(self, f: Callable[[Any], Any], xs: Any) -> Any:
        """``f`` applied to each slice of ``xs`` along its leading axis, the
        results stacked (``xs`` and the results may be nested)."""
        leaves, structure = tree_flatten(xs)
        length = self.shape(leaves[0])[0]
        if not length:
            raise ValueError(f"map: expected xs with a known, non-zero leading length, "
                             f"received shape {self.shape(leaves[0])}.")
        slices = [[self.squeeze(p, 0) for p in self.split(leaf, length, axis=0)] for leaf in leaves]
        results = [tree_flatten(f(tree_unflatten(structure, [s[t] for s in slices]))) for t in range(length)]
        out_structure = results[0][1]
        stacked = [self.stack([r[0][k] for r in results], axis=0) for k in range(len(results[0][0]))]
        return tree_unflatten(out_structure, stacked)

    def vectorized_map(self, function: Callable[[Any], Any], elements: Any) -> Any:
        """``function`` over the leading axis of ``elements``; engines with a
        vectorising transform (``jax.vmap``, ``tf.vectorized_map``) batch it."""
        return self.map(function, elements)

    def custom_gradient(self, f: Callable[..., tuple[Any, Callable[..., Any]]]) -> Callable[..., Any]:
        """``f`` (returning ``(output, grad_fn)``) as a function whose gradient
        is ``grad_fn(upstream)``. Here, for engines that do not differentiate
        (NumPy), it returns the output alone; differentiating engines override it."""
        if self.differentiable:
            raise NotImplementedError(f"custom_gradient: the {self.name!r} engine does not implement custom gradients.")
        return lambda *args: f(*args)[0]
