"""``TFSMLayer``: an endpoint of a TensorFlow SavedModel as an inference
layer, as Keras 3's. The endpoint's variables become the layer's weights
(names with ``/`` as ``_``).

Keras runs it on the TensorFlow backend only; here it runs on every engine:
on tensorflow the endpoint is called on the engine's tensors and its own
``tf.Variable``s are the layer's handles (one storage); on torch, jax and
numpy the inputs cross to TensorFlow and the outputs back through NumPy at
each call (a host copy each way: cheap next to the call for small batches,
and no gradient crosses it; under ``jax.jit`` the call is a
``jax.pure_callback``). The weights there are copies, written into the
endpoint's variables before each call (one more host copy of the weights).

The config holds the path; loading it runs the SavedModel's graphs, so
``from_config`` is refused in safe mode.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from polykeras import backends
from polykeras.layers.convolutional.arguments import describe_layer
from polykeras.layers.interop._common import add_weight_from, refuse_in_safe_mode
from polykeras.layers.layer import Layer

__all__ = ["TFSMLayer"]


class TFSMLayer(Layer):
    """Calls an endpoint of a SavedModel (for instance one written by
    ``model.export``) as a layer, for inference.

    Args:
        filepath: the SavedModel directory.
        call_endpoint: the endpoint called (an attribute or signature name).
        call_training_endpoint: an endpoint called when ``training=True``.
        trainable: whether the endpoint's trainable variables count as trainable weights.
        name: the layer's name.
        dtype: the layer's dtype.

    Example:
        >>> layer = TFSMLayer("exported_model", call_endpoint="serve")
        >>> outputs = layer(x)
    """

    def __init__(self, filepath: str, call_endpoint: str = "serve", call_training_endpoint: str | None = None,
                 trainable: bool = True, name: str | None = None, dtype: Any = None):
        super().__init__(trainable=trainable, name=name, dtype=dtype)
        who = describe_layer(self)
        self._bridge = backends.active().interop("tensorflow", who)
        self.filepath = str(filepath)
        self.call_endpoint = call_endpoint
        self.call_training_endpoint = call_training_endpoint
        loaded = self._bridge.load(self.filepath, call_endpoint, who)
        self._endpoint = self._bridge.endpoint(loaded, call_endpoint, who, "call_endpoint")
        fns = [self._endpoint]
        self._training_endpoint = None
        if call_training_endpoint:
            self._training_endpoint = self._bridge.endpoint(loaded, call_training_endpoint, who,
                                                            "call_training_endpoint")
            fns.append(self._training_endpoint)
        self._loaded = loaded
        trainable_vars, frozen_vars = self._bridge.variables(fns)
        self._targets = [*trainable_vars, *frozen_vars]
        for tf_variable in [*trainable_vars, *frozen_vars]:
            name_, value, is_trainable = self._bridge.describe(tf_variable)
            taken = {v.name for v in self.variables}
            unique = name_ if name_ not in taken else next(f"{name_}_{i}" for i in range(1, len(taken) + 2)
                                                           if f"{name_}_{i}" not in taken)
            variable = add_weight_from(self, unique, value, is_trainable)
            if not self._bridge.host:
                variable._set_storage(tf_variable)  # one storage with the endpoint's own variable
        self.built = True

    def call(self, inputs: Any, training: bool = False, **kwargs: Any) -> Any:
        fn = self._training_endpoint if training and self._training_endpoint is not None else self._endpoint
        weights = None if not self._bridge.host else [(t, v.value) for t, v in zip(self._targets, self.variables)]
        return self._bridge.call(backends.active(), fn, inputs, kwargs, weights)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"filepath": self.filepath, "call_endpoint": self.call_endpoint,
                       "call_training_endpoint": self.call_training_endpoint})
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Mapping[str, Any] | None = None,
                    safe_mode: bool | None = None) -> TFSMLayer:
        """Refused in safe mode: the SavedModel at the path runs its own graphs.
        Example: ``with safe_mode(False): TFSMLayer.from_config(cfg)``"""
        who = f"TFSMLayer '{config.get('name', 'tfsm_layer')}'"
        refuse_in_safe_mode(who, f"the SavedModel at {config.get('filepath')!r}", safe_mode)
        config = {k: v for k, v in config.items() if k in ("filepath", "call_endpoint", "call_training_endpoint",
                                                            "trainable", "name", "dtype")}
        return cls(**config)
