"""TensorFlow-native views of polykeras objects (``NativeHooks``).

A polykeras ``Variable`` follows ``tf.nest``'s custom-structure protocol
(``__tf_flatten__``): its one component is the engine's ``tf.Variable``. So
``tape.gradient(loss, model.trainable_weights)`` and ``tape.watch(variable)``
reach the ``tf.Variable`` the model read, eagerly and inside
``tf.function``, and the gradients come back in the variables' places.

A user's ``@tf.function`` runs polykeras code as it is, never rewritten by
AutoGraph (as TensorFlow does for its own and Keras' code): the ops are
already graph-safe, and a rewrite would only warn or change Python branches.

A layer's native module is a ``tf.Module`` (:class:`LayerTFModule`) whose
variables are the layer's own ``tf.Variable`` handles: ``GradientTape``,
``tf.train.Checkpoint`` and ``tf.saved_model.save`` see them.

Example:
    >>> with tf.GradientTape() as tape:
    ...     loss = loss_fn(y, model(x, training=True))
    >>> grads = tape.gradient(loss, model.trainable_weights)   # tf.Tensors
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf
from tensorflow.python.autograph.core import config as _autograph_config

__all__ = ["LayerTFModule", "TensorflowNative"]

if not any(getattr(rule, "_prefix", None) == "polykeras" for rule in _autograph_config.CONVERSION_RULES):
    _autograph_config.CONVERSION_RULES = (_autograph_config.DoNotConvert("polykeras"),
                                          *_autograph_config.CONVERSION_RULES)


def _tf_flatten(self: Any) -> tuple[None, tuple[Any]]:
    return None, (self.value,)


def _tf_unflatten(cls: type, metadata: None, components: tuple[Any, ...]) -> Any:
    # A structure of values comes back: the value stands where the variable stood.
    return components[0]


class LayerTFModule(tf.Module):
    """A built polykeras layer seen as a ``tf.Module``: its ``variables``
    (``trainable_variables``) are the layer's ``tf.Variable`` handles, not
    copies; calling it calls the layer. ``serving_function(spec)`` gives a
    ``tf.function`` to save as a SavedModel signature.

    Example:
        >>> module = LayerTFModule(model)
        >>> tf.saved_model.save(module, path, signatures=module.serving_function(tf.TensorSpec([None, 8])))
    """

    def __init__(self, layer: Any):
        super().__init__(name=None)
        object.__setattr__(self, "_pk_layer", layer)  # untracked: its weights are listed below
        self.layer_weights = [v.handle for v in layer.variables]

    @property
    def layer(self) -> Any:
        return self._pk_layer

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._pk_layer(*args, **kwargs)

    def serving_function(self, *input_signature: Any) -> Any:
        """A ``tf.function`` of the layer in inference mode over ``input_signature``."""
        layer = self._pk_layer
        function = tf.function(lambda *xs: layer(*xs, training=False), input_signature=list(input_signature),
                               autograph=False)
        self.serve = function
        return function


class TensorflowNative:
    """``expose_variable_class`` and ``native_module`` for the TensorFlow
    engine: variables are ``tf.nest`` structures of one ``tf.Variable``."""

    native_framework = "tensorflow"

    def native_module(self, layer: Any) -> LayerTFModule:
        if not layer.built:
            raise ValueError(f"native_module: expected a built layer, received '{layer.name}' unbuilt; call it "
                             "on data or build() it first (a tf.Module lists its variables when made).")
        return LayerTFModule(layer)

    def expose_variable_class(self, cls: type) -> None:
        # tf.nest's protocol hooks, added to the class at run time.
        cls.__tf_flatten__ = _tf_flatten  # type: ignore[attr-defined]
        cls.__tf_unflatten__ = classmethod(_tf_unflatten)  # type: ignore[attr-defined]
