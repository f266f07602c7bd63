"""JAX-native views of polykeras objects (``NativeHooks``): a layer as a pure
function over a params pytree, for ``jax.grad``, ``jax.jit`` and optax loops,
and foreign code called from inside ``jax.jit`` (``jax.pure_callback``).

JAX arrays are immutable, so "sharing the weights" means: the params the
module hands out are the variables' own arrays (no copy), and a loop hands
its new params back with :meth:`JaxModule.update` (the variables then hold
those very arrays).

Example:
    >>> module = engine.native_module(model)
    >>> loss, grads = jax.value_and_grad(lambda p: loss_fn(y, module.apply(p, x)))(module.params)
    >>> module.update(optax.apply_updates(module.params, updates))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jax
import numpy as np

__all__ = ["JaxModule", "JaxNative"]


class JaxModule:
    """A built polykeras layer as ``apply(params, x, training)``: ``params``
    maps each trainable variable's path to its value, ``state`` each
    non-trainable one's. ``apply`` is pure (``layer.stateless_call``): the
    variables are read from the arguments and never written.

    Example:
        >>> module = JaxModule(model)
        >>> y = jax.jit(module.apply, static_argnames="training")(module.params, x, training=False)
    """

    def __init__(self, layer: Any):
        self.layer = layer

    @property
    def params(self) -> dict[str, Any]:
        """The trainable variables' own arrays, by path (a pytree)."""
        return {v.path: v.value for v in self.layer.trainable_variables}

    @property
    def state(self) -> dict[str, Any]:
        """The non-trainable variables' own arrays, by path."""
        return {v.path: v.value for v in self.layer.non_trainable_variables}

    def _ordered(self, given: Mapping[str, Any] | None, variables: Sequence[Any], kind: str) -> list[Any]:
        if given is None:
            return [v.value for v in variables]
        if not isinstance(given, Mapping) or set(given) != {v.path for v in variables}:
            keys = sorted(given) if isinstance(given, Mapping) else type(given).__name__
            raise ValueError(f"JaxModule of '{self.layer.name}': expected {kind} keyed by the variable paths "
                             f"{[v.path for v in variables]}, received {keys}.")
        return [given[v.path] for v in variables]

    def apply(self, params: Mapping[str, Any], *args: Any, training: bool = False,
              state: Mapping[str, Any] | None = None, return_state: bool = False, **kwargs: Any) -> Any:
        """The layer's outputs with ``params`` (and ``state``, default the
        variables' values) as its weights; with ``return_state``, also the new
        state (BatchNormalization's moving statistics)."""
        trainable = self._ordered(params, self.layer.trainable_variables, "params")
        frozen = self._ordered(state, self.layer.non_trainable_variables, "state")
        outputs, new_state = self.layer.stateless_call(trainable, frozen, *args, training=training, **kwargs)
        if return_state:
            return outputs, {v.path: s for v, s in zip(self.layer.non_trainable_variables, new_state)}
        return outputs

    __call__ = apply

    def update(self, params: Mapping[str, Any] | None = None, state: Mapping[str, Any] | None = None) -> None:
        """Hand new params (and state) back: each variable then holds the given array."""
        if params is not None:
            for v, value in zip(self.layer.trainable_variables,
                                self._ordered(params, self.layer.trainable_variables, "params")):
                v.assign(value)
        if state is not None:
            for v, value in zip(self.layer.non_trainable_variables,
                                self._ordered(state, self.layer.non_trainable_variables, "state")):
                v.assign(value)

    def __repr__(self) -> str:
        return f"JaxModule(layer={self.layer.name!r}, params={len(self.params)}, state={len(self.state)})"


class JaxNative:
    """``native_module`` and ``run_on_host`` for the JAX engine."""

    native_framework = "jax"
    host_frameworks = frozenset({"tensorflow"})

    def native_module(self, layer: Any) -> JaxModule:
        if not layer.built:
            raise ValueError(f"native_module: expected a built layer, received '{layer.name}' unbuilt; call it "
                             "on data or build() it first (the params pytree lists its variables).")
        return JaxModule(layer)

    def run_on_host(self, fn: Any, args: Sequence[Any], result_specs: Any = None) -> Any:
        def leaf(s: Any) -> bool:
            return hasattr(s, "shape") and hasattr(s, "dtype")

        flat = jax.tree_util.tree_leaves(result_specs, is_leaf=leaf)
        traced = any(isinstance(a, jax.core.Tracer) for a in args)
        if not traced or result_specs is None or any(d is None for s in flat for d in s.shape):
            # eager (or shapes unknown): a plain host call; pure_callback only stages it inside jax.jit
            return super().run_on_host(fn, args, result_specs)  # type: ignore[misc]
        shapes = jax.tree_util.tree_map(lambda s: jax.ShapeDtypeStruct(tuple(s.shape), s.dtype), result_specs,
                                        is_leaf=leaf)

        def host(*arrays: Any) -> Any:
            return jax.tree_util.tree_map(np.asarray, fn(*[np.asarray(a) for a in arrays]))

        return jax.pure_callback(host, shapes, *args)
