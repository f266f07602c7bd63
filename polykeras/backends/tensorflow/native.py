"""TensorFlow-native views of polykeras objects (``NativeHooks``).

A polykeras ``Variable`` follows ``tf.nest``'s custom-structure protocol
(``__tf_flatten__``): its one component is the engine's ``tf.Variable``. So
``tape.gradient(loss, model.trainable_weights)`` and ``tape.watch(variable)``
reach the ``tf.Variable`` the model read, eagerly and inside
``tf.function``, and the gradients come back in the variables' places.

A user's ``@tf.function`` runs polykeras code as it is, never rewritten by
AutoGraph (as TensorFlow does for its own and Keras' code): the ops are
already graph-safe, and a rewrite would only warn or change Python branches.

Example:
    >>> with tf.GradientTape() as tape:
    ...     loss = loss_fn(y, model(x, training=True))
    >>> grads = tape.gradient(loss, model.trainable_weights)   # tf.Tensors
"""

from __future__ import annotations

from typing import Any

from tensorflow.python.autograph.core import config as _autograph_config

__all__ = ["TensorflowNative"]

if not any(getattr(rule, "_prefix", None) == "polykeras" for rule in _autograph_config.CONVERSION_RULES):
    _autograph_config.CONVERSION_RULES = (_autograph_config.DoNotConvert("polykeras"),
                                          *_autograph_config.CONVERSION_RULES)


def _tf_flatten(self: Any) -> tuple[None, tuple[Any]]:
    return None, (self.value,)


def _tf_unflatten(cls: type, metadata: None, components: tuple[Any, ...]) -> Any:
    # A structure of values comes back: the value stands where the variable stood.
    return components[0]


class TensorflowNative:
    """``expose_variable_class`` for the TensorFlow engine: variables are
    ``tf.nest`` structures of one ``tf.Variable``."""

    def expose_variable_class(self, cls: type) -> None:
        # tf.nest's protocol hooks, added to the class at run time.
        cls.__tf_flatten__ = _tf_flatten  # type: ignore[attr-defined]
        cls.__tf_unflatten__ = classmethod(_tf_unflatten)  # type: ignore[attr-defined]
