"""Gradients and compilation for the PyTorch engine.

``value_and_grad`` runs ``fn`` eagerly under autograd and asks
``torch.autograd.grad`` for the gradients of the parameters only: no ``.grad``
fields are touched, no graph is kept afterwards (value, aux and grads come back
detached). Parameters that already are leaf tensors requiring grad (the engine's
variable handles) are used as they are, without a copy.

``jit`` keeps ``fn`` eager by default (on CPU eager torch is the fast path, see DESIGN.md)
but runs it under ``torch.no_grad()``: like a JAX-compiled function, it never
leaves an autograd graph behind, so predict/evaluate steps and optimizer
updates on trainable variables record nothing. Gradients still flow where
they are asked for: ``value_and_grad`` turns grad mode back on inside, and a
jitted function called *inside* ``value_and_grad`` runs with grad mode as is.

``jit(fn, jit_compile=True)`` (a pure ``fn``) is ``torch.compile`` over
``fn``'s whole program, gradients and optimizer update included: ``make_fx``
first records the ATen ops ``fn`` runs (Python runs as usual, so polykeras's
own machinery is traced through, as ``jax.jit`` traces it), once per input
signature, and Inductor compiles that graph.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Sequence
from typing import Any

import torch

from polykeras.backends.torch.core import INEXACT, FROM_TORCH, T, to_tensor


#: True while ``value_and_grad`` runs its function: jitted code must then keep
#: recording the graph.
_differentiating: contextvars.ContextVar[bool] = contextvars.ContextVar("polykeras_torch_grad", default=False)

#: True while ``make_fx`` records a step for ``torch.compile``.
_tracing: contextvars.ContextVar[bool] = contextvars.ContextVar("polykeras_torch_tracing", default=False)


def compiling() -> bool:
    """Whether the running ops are being recorded for ``torch.compile`` (a
    ``jit_compile=True`` step, or a user's own ``torch.compile``), where a
    formulation Inductor fuses well can beat ATen's eager kernel.

    Example: ``compiling()`` -> ``False`` (outside any compiled step)
    """
    return _tracing.get() or torch.compiler.is_compiling()


def _prepare(param: Any) -> T:
    """A leaf tensor requiring grad standing for ``param``."""
    if type(param) is not T and not isinstance(param, T):
        param = to_tensor(param)
    if param.dtype not in INEXACT:
        raise TypeError(
            f"value_and_grad: expected parameters of a float dtype, received a parameter "
            f"of shape {tuple(param.shape)} and dtype {FROM_TORCH[param.dtype]}"
        )
    if param.requires_grad and param.is_leaf:
        return param
    return param.detach().requires_grad_(True)


def detach_tree(tree: Any) -> Any:
    """``tree`` (tensors in lists, tuples and dicts) with every tensor detached."""
    if isinstance(tree, T):
        return tree.detach()
    if isinstance(tree, list):
        return [detach_tree(item) for item in tree]
    if isinstance(tree, tuple):
        items = [detach_tree(item) for item in tree]
        return type(tree)(*items) if hasattr(tree, "_fields") else tuple(items)
    if isinstance(tree, dict):
        return type(tree)((key, detach_tree(value)) for key, value in tree.items())
    return tree


class AutodiffMixin:
    """Autodiff and compilation of :class:`TorchBackend`.

    Example: ``value, grads = B.get("torch").value_and_grad(loss)([w, b], x)``
    """

    def stop_gradient(self, x: Any) -> T:
        if type(x) is not T:
            x = to_tensor(x)
        return x.detach()

    def value_and_grad(self, fn: Callable[..., Any], has_aux: bool = False) -> Callable[..., Any]:
        @functools.wraps(fn)
        def value_and_grad_fn(params: Any, *args: Any, **kwargs: Any) -> Any:
            leaves = [_prepare(p) for p in params]
            token = _differentiating.set(True)
            try:
                with torch.enable_grad():
                    out = fn(leaves, *args, **kwargs)
            finally:
                _differentiating.reset(token)
            value, aux = out if has_aux else (out, None)
            if not isinstance(value, T):
                value = to_tensor(value)
            if value.numel() != 1:
                raise ValueError(
                    f"value_and_grad: expected fn to return a scalar, received a value of shape "
                    f"{tuple(value.shape)}"
                )
            raw: Sequence[torch.Tensor | None]
            if value.requires_grad:
                raw = torch.autograd.grad(value, leaves, allow_unused=True)
            else:  # fn does not depend on the parameters
                raw = (None,) * len(leaves)
            grads = [torch.zeros_like(p) if g is None else g for g, p in zip(raw, leaves)]
            value = value.detach()
            if has_aux:
                return (value, detach_tree(aux)), grads
            return value, grads

        return value_and_grad_fn

    def jit_is_stateful(self, jit_compile: Any) -> bool:
        return jit_compile is not True  # torch.compile's path traces pure functions

    def jit(self, fn: Callable[..., Any], donate_argnums: tuple[int, ...] = (),
            jit_compile: Any = "auto") -> Callable[..., Any]:
        if jit_compile is True:
            return _graph_compiled(fn, donated=0 in donate_argnums)

        @functools.wraps(fn)
        def compiled(*args: Any, **kwargs: Any) -> Any:
            if _differentiating.get():
                return fn(*args, **kwargs)
            with torch.no_grad():
                return fn(*args, **kwargs)

        return compiled


def _signature(leaf: Any) -> Any:
    if isinstance(leaf, T):
        return (tuple(leaf.shape), leaf.dtype, leaf.device)
    return (type(leaf).__name__, repr(leaf))


def _graph_compiled(fn: Callable[..., Any], donated: bool = False) -> Callable[..., Any]:
    """``fn`` traced to an ATen graph per input signature (shapes, dtypes and
    the pytree structure), each graph compiled by ``torch.compile``.

    With ``donated`` (the first argument's buffers are given up, as with
    ``jax.jit``'s ``donate_argnums=(0,)``), an ``fn`` whose first output
    mirrors its first argument (a step's ``(new_state, logs)``) writes the new
    values into the donated tensors inside the graph, where Inductor fuses
    each write into the kernel computing the value, and returns those very
    tensors: no copy pass over the state after the call."""
    from torch.utils import _pytree

    graphs: dict[Any, Callable[..., Any]] = {}

    @functools.wraps(fn)
    def compiled(*args: Any) -> Any:
        leaves, structure = _pytree.tree_flatten(args)
        key = (structure, tuple(_signature(leaf) for leaf in leaves))
        graph = graphs.get(key)
        with torch.no_grad():
            if graph is None:
                graph = graphs[key] = torch.compile(_traced(fn, args, donated), dynamic=False)
            return graph(*args)

    return compiled


def _traced(fn: Callable[..., Any], args: tuple[Any, ...], donated: bool) -> Any:
    """``make_fx``'s graph of ``fn`` on ``args``. The trace runs the ops on the
    real tensors, so a writing ``fn`` is traced on copies of the state it
    writes: tracing must not take a step."""
    from torch.fx.experimental.proxy_tensor import make_fx

    token = _tracing.set(True)
    try:
        if not donated:
            return make_fx(fn)(*args)
        state = args[0]
        copies = type(state)(t.clone() if isinstance(t, T) else t for t in state) \
            if isinstance(state, (list, tuple)) else state
        return make_fx(_writing(fn))(copies, *args[1:])
    finally:
        _tracing.reset(token)


def _writing(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` writing its first output into its first argument, in place,
    where the two have the same layout (checked while tracing)."""

    def write(*args: Any) -> Any:
        out = fn(*args)
        state = args[0] if args else None
        if not (isinstance(out, tuple) and out and isinstance(state, (list, tuple))
                and isinstance(out[0], (list, tuple)) and len(out[0]) == len(state)
                and all(isinstance(old, T) and isinstance(new, T) and old.shape == new.shape
                        and old.dtype == new.dtype for old, new in zip(state, out[0]))):
            return out
        for old, new in zip(state, out[0]):
            if new is not old:
                old.copy_(new)
        return (state, *out[1:])

    return write
