"""Saving: architectures (JSON/YAML), weights (HDF5), whole-model archives,
Keras 3 files, safe loading and atomic writes.

Example:
    >>> model.save("model.pkeras")
    >>> model = polykeras.saving.load_model("model.pkeras")
"""

from polykeras.saving.archive import ArchiveError, load_model, save_model
from polykeras.saving.registry import (
    custom_object_scope, deserialize, get_registered_name, get_registered_object, register_serializable, serialize,
)
from polykeras.saving.safe_mode import in_safe_mode, safe_mode
from polykeras.saving.serialization import (
    load_from_file, model_from_config, model_from_json, model_from_yaml, save_to_file, to_json, to_yaml,
)
from polykeras.saving.weights import WeightsError, load_weights, save_weights

__all__ = [
    "ArchiveError", "WeightsError", "custom_object_scope", "deserialize", "get_registered_name",
    "get_registered_object", "in_safe_mode", "load_from_file", "load_model", "load_weights", "model_from_config",
    "model_from_json", "model_from_yaml", "register_serializable", "safe_mode", "save_model", "save_to_file",
    "save_weights", "serialize", "to_json", "to_yaml",
]
