"""``JaxLayer`` and ``FlaxLayer``: a JAX function (or a Flax linen module) as
a polykeras layer, as Keras 3's. ``params`` become trainable variables and
``state`` non-trainable ones, one per array leaf of the pytree (other leaves
stay configuration); ``call_fn`` runs with the variables' values, so ``fit``,
``jax.jit`` and ``stateless_call`` see a pure function.

The layer reaches JAX only through the engine's ``interop("jax", ...)``
bridge: natively on the jax engine, through NumPy on the NumPy engine
(forward only); on torch and tensorflow a ``NotImplementedError`` names the
layer (Keras runs JaxLayer on TensorFlow through jax2tf; not built here).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from polykeras import backends, registry
from polykeras.layers.convolutional.arguments import describe_layer
from polykeras.layers.interop._common import add_weight_from
from polykeras.layers.layer import Layer
from polykeras.random import SeedGenerator, make_default_seed

__all__ = ["FlaxLayer", "JaxLayer"]

_CALL_ARGUMENTS = ("params", "state", "rng", "inputs", "training")
_INIT_ARGUMENTS = ("rng", "inputs", "training")


def _arguments(fn: Any, fn_name: str, allowed: tuple[str, ...], who: str) -> list[str]:
    if not callable(fn):
        raise TypeError(f"{who}: expected {fn_name} to be a function, received {type(fn).__name__} ({fn!r:.80}).")
    names = list(inspect.signature(fn).parameters)
    if "inputs" not in names:
        raise ValueError(f"{who}: expected {fn_name} to take an `inputs` argument, received a function of "
                         f"({', '.join(names)}).")
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise ValueError(f"{who}: {fn_name} takes unsupported argument(s) {unknown}; the supported arguments "
                         f"are {list(allowed)}.")
    return names


class JaxLayer(Layer):
    """A JAX function as a layer: ``call_fn(params, state, rng, inputs,
    training)`` (only ``inputs`` required; return ``(outputs, new_state)``
    when it takes ``state``), its weights from ``params``/``state`` or from
    ``init_fn(rng, inputs, training)`` at build.

    Args:
        call_fn: the forward function.
        init_fn: makes ``params`` (or ``(params, state)``) from example inputs.
        params: a pytree of the trainable weights.
        state: a pytree of the non-trainable weights.
        seed: seed of the ``rng`` passed to ``call_fn`` in training.
        native_serialization_platforms: Keras's jax2tf option for running on
            TensorFlow; kept in the config, unused here (JaxLayer runs on the
            jax engine, and through NumPy on the NumPy engine).

    Example:
        >>> def call_fn(params, inputs):
        ...     return inputs @ params["w"] + params["b"]
        >>> layer = JaxLayer(call_fn, params={"w": np.ones((4, 2), "float32"), "b": np.zeros(2, "float32")})
    """

    def __init__(self, call_fn: Callable[..., Any], init_fn: Callable[..., Any] | None = None, params: Any = None,
                 state: Any = None, seed: Any = None, native_serialization_platforms: Any = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.native_serialization_platforms = native_serialization_platforms
        who = describe_layer(self)
        self._bridge = backends.active().interop("jax", who)
        self.call_fn, self.init_fn, self.seed = call_fn, init_fn, seed
        self.call_fn_arguments = _arguments(call_fn, "call_fn", _CALL_ARGUMENTS, who)
        takes_weights = "params" in self.call_fn_arguments or "state" in self.call_fn_arguments
        if takes_weights and init_fn is None and params is None and state is None:
            raise ValueError(f"{who}: call_fn takes `params`/`state`, so expected params, state or an init_fn; "
                             "received none of them.")
        self.init_fn_arguments = _arguments(init_fn, "init_fn", _INIT_ARGUMENTS, who) if init_fn else []
        self.seed_generator = SeedGenerator(seed) if "rng" in self.call_fn_arguments else None
        self._trees: dict[str, Any] = {"params": None, "state": None}
        if params is not None or state is not None:
            self._create_weights(params, state)
            self.built = True

    # -- weights -------------------------------------------------------
    def _create_weights(self, params: Any, state: Any) -> None:
        for kind, tree, trainable in (("params", params, True), ("state", state, False)):
            if tree is None:
                continue
            leaves, treedef = self._bridge.flatten(tree)
            slots = []
            for i, leaf in enumerate(leaves):
                if self._bridge.is_leaf_value(leaf):
                    slots.append(add_weight_from(self, f"{kind}_{i}", self._bridge.host_value(leaf), trainable))
                else:
                    slots.append(leaf)  # configuration, kept as given
            self._trees[kind] = (treedef, slots)

    def _tree(self, kind: str) -> Any:
        held = self._trees[kind]
        if held is None:
            return None
        treedef, slots = held
        return self._bridge.unflatten(treedef, [s.value if hasattr(s, "assign") else s for s in slots])

    @property
    def params(self) -> Any:
        """The params pytree, its leaves the variables' current values."""
        return self._tree("params")

    @property
    def state(self) -> Any:
        """The state pytree, its leaves the variables' current values."""
        return self._tree("state")

    def _split_variables(self, variables: Any) -> tuple[Any, Any]:
        return variables, None

    def _init_seed(self) -> Any:
        return self._bridge.key([0, make_default_seed()])

    def _init_rng(self) -> Any:
        return self._init_seed()

    def _call_rng(self, training: Any) -> Any:
        if not training or self.seed_generator is None:
            return None
        return self._bridge.key(self.seed_generator.next())

    def build(self, input_shape: Any) -> None:
        if self.init_fn is None or self._trees["params"] is not None or self._trees["state"] is not None:
            return
        import numpy as np

        from polykeras.tree import map_shape_structure

        inputs = map_shape_structure(lambda s: np.ones([1 if d is None else d for d in s], "float32"), input_shape)
        args = {"rng": self._init_rng(), "inputs": inputs, "training": True}
        result = self.init_fn(*[args[n] for n in self.init_fn_arguments])
        if "state" in self.call_fn_arguments:
            params, state = result
        else:
            params, state = result, None
        self._create_weights(params, state)

    # -- call ----------------------------------------------------------
    def call(self, inputs: Any, training: bool = False) -> Any:
        engine = backends.active()
        given = {"params": self.params, "state": self.state, "inputs": inputs, "training": training}
        if "rng" in self.call_fn_arguments:
            given["rng"] = self._call_rng(training)
        names = self.call_fn_arguments
        result = self._bridge.call(engine, self.call_fn, [given[n] for n in names])
        if "state" not in names:
            return result
        outputs, new_state = result
        treedef, slots = self._trees["state"]
        new_leaves, _ = self._bridge.flatten(new_state)
        if len(new_leaves) != len(slots):
            raise ValueError(f"{describe_layer(self)}: call_fn returned a state of {len(new_leaves)} leaves; "
                             f"expected the {len(slots)} of the state it was given.")
        for slot, value in zip(slots, new_leaves):
            if hasattr(slot, "assign"):
                slot.assign(value)
        return outputs

    # -- config --------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        who = describe_layer(self)
        for key in ("call_fn", "init_fn"):
            config[key] = registry.serialize(getattr(self, key), f"{who} {key}")
        config["seed"] = self.seed
        config["native_serialization_platforms"] = self.native_serialization_platforms
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Mapping[str, Any] | None = None) -> JaxLayer:
        """The functions come back by their registered names. Example: ``JaxLayer.from_config(cfg)``"""
        config = dict(config)
        for key in ("call_fn", "init_fn"):
            name = config.get(key)
            if isinstance(name, str):
                config[key] = _registered(name, key, custom_objects, f"{cls.__name__} '{config.get('name')}'")
        return cls(**config)


def _registered(name: str, key: str, custom_objects: Mapping[str, Any] | None, who: str) -> Any:
    found = registry.get_registered_object(name, custom_objects)
    if found is None:
        raise registry.SerializationError(f"{who}: unknown {key} {name!r}; register it with "
                                          "@polykeras.saving.register_keras_serializable(package) or pass "
                                          "custom_objects.")
    return found


class FlaxLayer(JaxLayer):
    """A ``flax.linen.Module`` as a layer: ``params`` trainable, the other
    variable collections (``batch_stats``...) non-trainable; ``training`` is
    passed when the method takes it; ``rngs`` get ``dropout`` in training.

    Args:
        module: the linen module.
        method: the method to apply (default ``__call__``), or its name.
        variables: the module's variables as ``module.init`` returns them
            (default: ``init`` at build).

    Example:
        >>> layer = FlaxLayer(flax.linen.Dense(3))
        >>> layer(np.ones((2, 4), "float32")).shape
        (2, 3)
    """

    def __init__(self, module: Any, method: Any = None, variables: Any = None, **kwargs: Any):
        for key in ("call_fn", "init_fn", "params", "state"):
            kwargs.pop(key, None)
        who = f"FlaxLayer '{kwargs.get('name') or 'flax_layer'}'"
        call_fn, init_fn = backends.active().interop("jax", who).flax_functions(module, method, who, self)
        self.module, self.method = module, method
        params, state = self._split_variables(variables)
        super().__init__(call_fn, init_fn=init_fn, params=params, state=state, **kwargs)

    def _split_variables(self, variables: Any) -> tuple[Any, Any]:
        if variables is None:
            return None, None
        if "params" not in variables:
            return {}, dict(variables)
        state = {k: v for k, v in variables.items() if k != "params"}
        return {"params": variables["params"]}, state

    def _init_rng(self) -> Any:
        return {"params": self._init_seed(), "dropout": self._init_seed()}

    def _call_rng(self, training: Any) -> Any:
        if not training or self.seed_generator is None:
            return {}
        return {"dropout": self._bridge.key(self.seed_generator.next())}

    def get_config(self) -> dict[str, Any]:
        config = Layer.get_config(self)
        who = describe_layer(self)
        config["module"] = registry.serialize(self.module, f"{who} module")
        method = self.method
        if callable(method) and getattr(method, "__self__", None) is self.module:
            method = method.__name__
        config["method"] = method if method is None or isinstance(method, str) else registry.serialize(
            method, f"{who} method")
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Mapping[str, Any] | None = None) -> FlaxLayer:
        """The module comes back from its registered class's config, the
        method by name. Example: ``FlaxLayer.from_config(cfg)``"""
        config = dict(config)
        who = f"FlaxLayer '{config.get('name')}'"
        config["module"] = registry.deserialize(config["module"], custom_objects) if isinstance(
            config.get("module"), dict) else config.get("module")
        method = config.get("method")
        if isinstance(method, str) and not hasattr(config["module"], method):
            config["method"] = _registered(method, "method", custom_objects, who)
        return cls(**config)
