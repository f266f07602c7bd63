"""The JAX side of ``JaxLayer`` and ``FlaxLayer``: pytrees flattened to
leaves and rebuilt, PRNG keys made from seeds, a function called on the jax
engine's arrays (``host=False``) or on NumPy arrays through the NumPy engine
(``host=True``, no gradient), and Flax linen modules turned into the
``call_fn``/``init_fn`` pair ``JaxLayer`` takes.

Example:
    >>> bridge = engine.interop("jax", "JaxLayer 'j'")
    >>> leaves, treedef = bridge.flatten({"w": np.ones(2), "b": np.zeros(1)})
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

__all__ = ["JaxBridge", "bridge"]


def _to_numpy(x: Any) -> Any:
    return np.asarray(x) if isinstance(x, jax.Array) else x


def _to_jax(x: Any) -> Any:
    return jax.numpy.asarray(x) if isinstance(x, np.ndarray) else x


class JaxBridge:
    """Pytrees, keys and calls for the JAX-function layers.

    Example: ``JaxBridge(host=False).flatten({"w": w})``
    """

    def __init__(self, host: bool):
        self.host = host

    def is_leaf_value(self, x: Any) -> bool:
        """Whether a pytree leaf holds an array (a weight), not configuration."""
        return isinstance(x, (jax.Array, np.ndarray, np.generic, bool, int, float))

    def flatten(self, tree: Any) -> tuple[list[Any], Any]:
        """``(leaves, treedef)`` of ``tree`` by JAX's own rules (registered classes included)."""
        return jax.tree_util.tree_flatten(tree)

    def unflatten(self, treedef: Any, leaves: list[Any]) -> Any:
        return jax.tree_util.tree_unflatten(treedef, leaves)

    def host_value(self, x: Any) -> Any:
        """A leaf as a NumPy value (a variable's initial value)."""
        return np.asarray(x) if isinstance(x, (jax.Array, np.ndarray, np.generic)) else x

    def key(self, seed: Any) -> Any:
        """A raw ``uint32[2]`` PRNG key from a polykeras seed (2 integers)."""
        return jax.numpy.asarray(seed, dtype=jax.numpy.uint32).reshape((2,))

    def call(self, engine: Any, fn: Callable[..., Any], args: list[Any]) -> Any:
        """``fn(*args)``: on jax arrays directly, or through NumPy (``host``),
        where pytree arguments are flattened to cross the boundary."""
        if not self.host:
            return fn(*args)
        leaves, treedef = jax.tree_util.tree_flatten(args, is_leaf=lambda x: x is None)

        def run(*arrays: Any) -> Any:
            # float64 stays float64 (the NumPy engine's float64 layers), as JAX does with x64 on
            with jax.enable_x64(any(getattr(a, "dtype", None) == np.float64 for a in arrays)):
                rebuilt = jax.tree_util.tree_unflatten(treedef, [_to_jax(a) for a in arrays])
                return jax.tree_util.tree_map(_to_numpy, fn(*rebuilt))

        return engine.run_on_host(run, leaves)

    def flax_functions(self, module: Any, method: Any, who: str, layer: Any) -> tuple[Callable, Callable]:
        """``(call_fn, init_fn)`` applying a ``flax.linen.Module``; its
        variables are split into ``params`` (trainable) and the other
        collections (state), as Keras's ``FlaxLayer`` does."""
        from flax.linen import DenyList, Module

        if not isinstance(module, Module):
            raise TypeError(f"{who}: expected module to be a flax.linen.Module, received "
                            f"{type(module).__name__} ({module!r:.80}).")
        mutable = DenyList(["params"])

        def variables_of(params: Any, state: Any) -> dict:
            return {**(params or {}), **(state or {})}

        def split(variables: Any) -> tuple[Any, Any]:
            return layer._split_variables(variables)

        def apply_training(params: Any, state: Any, rng: Any, inputs: Any, training: Any) -> Any:
            return module.apply(variables_of(params, state), inputs, rngs=rng, method=method, mutable=mutable,
                                training=training)

        def apply_plain(params: Any, state: Any, rng: Any, inputs: Any) -> Any:
            return module.apply(variables_of(params, state), inputs, rngs=rng, method=method, mutable=mutable)

        def init_training(rng: Any, inputs: Any, training: Any) -> Any:
            return split(module.init(rng, inputs, method=method, training=training))

        def init_plain(rng: Any, inputs: Any) -> Any:
            return split(module.init(rng, inputs, method=method))

        target = method if callable(method) else (getattr(module, method) if method else module.__call__)
        if "training" in inspect.signature(target).parameters:
            return apply_training, init_training
        return apply_plain, init_plain


def bridge(host: bool) -> JaxBridge:
    """The JAX bridge (``host``: through NumPy). Example: ``bridge(host=False)``"""
    return JaxBridge(host)
