"""Saving: architectures (JSON/YAML), weights (HDF5), whole-model archives,
Keras 3 files, safe loading and atomic writes. See README.md.

Example:
    >>> model.save("model.pkeras")
    >>> model = polykeras.saving.load_model("model.pkeras")
"""

from polykeras.allocation import MemoryLimitError, memory_limit
from polykeras.saving.archive import archive_bytes, load_model, load_model_bytes, save_model
from polykeras.saving.file_editor import KerasFileEditor
from polykeras.saving.registry import (
    CustomObjectScope, SerializationError, custom_object_scope, deserialize, get_custom_objects, get_registered_name,
    get_registered_object, register_serializable, serialize,
)
from polykeras.saving import safe_mode  # the module: safe_mode.safe_mode(False), safe_mode.in_safe_mode()
from polykeras.saving.safe_mode import in_safe_mode
from polykeras.saving.safety import ArchiveError, WeightsError
from polykeras.saving.serialization import (
    load_from_file, model_from_config, model_from_json, model_from_yaml, save_to_file, to_json, to_yaml,
)
from polykeras.saving.weights import load_weights, save_weights
from polykeras.layers.preprocessing.feature_space import set_archive_writer as _set_archive_writer

_set_archive_writer(save_model)  # FeatureSpace.save writes through this floor

register_keras_serializable = register_serializable  # Keras 3's name

#: Keras 3 names defined with ``keras.utils``' (loaded on first use: that package sits above this one).
_FROM_UTILS = ("serialize_keras_object", "deserialize_keras_object")


def __getattr__(name: str):  # type: ignore[no-untyped-def]
    if name in _FROM_UTILS:
        from polykeras.utils import general

        return getattr(general, name)
    raise AttributeError(f"module 'polykeras.saving' has no attribute {name!r}")


def load_keras_weights(model, filepath, skip_mismatch=False):  # type: ignore[no-untyped-def]
    """Load a Keras 3 ``.weights.h5`` into ``model`` (see :mod:`.keras_files`).
    Example: ``load_keras_weights(model, "keras.weights.h5")``"""
    from polykeras.saving.keras_files import load_keras_weights as load

    return load(model, filepath, skip_mismatch=skip_mismatch)


def load_keras_model(filepath, custom_objects=None, safe_mode=True, compile=True):  # type: ignore[no-untyped-def]
    """Load a Keras 3 ``.keras`` archive as a polykeras model (see :mod:`.keras_files`).
    Example: ``model = load_keras_model("model.keras")``"""
    from polykeras.saving.keras_files import load_keras_model as load

    return load(filepath, custom_objects=custom_objects, safe_mode=safe_mode, compile=compile)


__all__ = [
    "ArchiveError", "CustomObjectScope", "MemoryLimitError", "SerializationError", "WeightsError", "archive_bytes",
    "custom_object_scope", "deserialize", "deserialize_keras_object", "get_custom_objects", "get_registered_name",
    "get_registered_object", "in_safe_mode", "register_keras_serializable", "serialize_keras_object",
    "load_from_file", "load_keras_model", "load_keras_weights", "load_model", "load_model_bytes",
    "load_weights", "memory_limit", "model_from_config", "model_from_json", "model_from_yaml",
    "register_serializable", "safe_mode", "save_model", "save_to_file", "save_weights", "serialize", "to_json",
    "to_yaml", "KerasFileEditor",
]
