"""The serialization registry, under its saving-floor name: every name here is
:mod:`polykeras.registry`'s (the one registry, which lives on the utilities
floor so that layers, initializers, losses and metrics need not load saving).

Example:
    >>> from polykeras.saving.registry import register_serializable, serialize, deserialize
"""

from polykeras.registry import (
    CustomObjectScope, SerializationError, custom_object_scope, deserialize, get_custom_objects, get_object,
    get_registered_name, get_registered_object, is_serialized_object, register_builtin, register_keras_serializable,
    register_serializable, serialize, to_json_safe,
)

__all__ = [
    "CustomObjectScope", "SerializationError", "custom_object_scope", "deserialize", "get_custom_objects",
    "get_object", "get_registered_name", "get_registered_object", "is_serialized_object", "register_builtin",
    "register_keras_serializable", "register_serializable", "serialize", "to_json_safe",
]
