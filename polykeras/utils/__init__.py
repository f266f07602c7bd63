"""Utilities, as ``keras.utils``: data (``PyDataset``, ``to_categorical``,
``pad_sequences``, ``*_dataset_from_directory``, ``split_dataset``,
``timeseries_dataset_from_array``), files (``get_file`` with safe
extraction), images (``load_img`` and friends, through Pillow), ``Progbar``,
``plot_model``, ``set_random_seed`` and the serialization helpers.

Where Keras returns a ``tf.data.Dataset``, polykeras returns an
:class:`IndexedDataset` (a ``PyDataset`` of NumPy batches that ``fit`` reads
on every engine); see ``README.md`` beside this file for every difference.

Example:
    >>> from polykeras.utils import to_categorical, pad_sequences
    >>> to_categorical([0, 2], num_classes=3).shape
    (2, 3)
"""

from typing import Any

from polykeras.backends.dtypes import standardize_dtype
from polykeras.random import set_seed as set_random_seed
from polykeras.utils.config import Config
from polykeras.utils.dataset_utils import IndexedDataset, split_dataset, timeseries_dataset_from_array
from polykeras.utils.directory import (
    audio_dataset_from_directory, image_dataset_from_directory, text_dataset_from_directory,
)
from polykeras.utils.file_utils import UnsafeArchiveError, extract_archive, get_file, validate_file
from polykeras.utils.general import (
    CustomObjectScope, custom_object_scope, deserialize_keras_object, get_custom_objects, get_registered_name,
    get_registered_object, get_source_inputs, model_to_dot, pack_x_y_sample_weight, plot_model,
    register_keras_serializable, serialize_keras_object, unpack_x_y_sample_weight,
)
from polykeras.utils.image_utils import array_to_img, img_to_array, load_img, save_img
from polykeras.utils.numerical import normalize, to_categorical
from polykeras.utils.progbar import Progbar
from polykeras.utils.py_dataset import PyDataset, Sequence
from polykeras.utils.sequence_utils import pad_sequences

#: Keras' ``keras.utils`` names that live elsewhere in polykeras: name -> module.
_ELSEWHERE = {
    "clear_session": "polykeras.backend", "is_keras_tensor": "polykeras.backend",
    "enable_interactive_logging": "polykeras.config", "disable_interactive_logging": "polykeras.config",
    "is_interactive_logging_enabled": "polykeras.config",
    "native_module": "polykeras.layers.native",  # polykeras's own: a model as its engine's module object
    "FeatureSpace": "polykeras.layers.preprocessing.feature_space",
}


def __getattr__(name: str) -> Any:
    if name in _ELSEWHERE:
        import importlib

        return getattr(importlib.import_module(_ELSEWHERE[name]), name)
    if name == "bounding_boxes":  # a subpackage (box utilities), loaded on first use
        import importlib

        return importlib.import_module("polykeras.utils.bounding_boxes")
    raise AttributeError(f"module 'polykeras.utils' has no attribute {name!r}")


__all__ = [
    "Config", "CustomObjectScope", "IndexedDataset", "Progbar", "PyDataset", "Sequence", "UnsafeArchiveError",
    "array_to_img", "audio_dataset_from_directory", "custom_object_scope", "deserialize_keras_object",
    "extract_archive", "get_custom_objects", "get_file", "get_registered_name",
    "get_registered_object", "get_source_inputs", "image_dataset_from_directory", "img_to_array",
    "load_img", "model_to_dot", "normalize", "pack_x_y_sample_weight",
    "pad_sequences", "plot_model", "register_keras_serializable", "save_img", "serialize_keras_object",
    "set_random_seed", "split_dataset", "standardize_dtype", "text_dataset_from_directory",
    "timeseries_dataset_from_array", "to_categorical", "unpack_x_y_sample_weight", "validate_file",
    # forwarded by __getattr__ (_ELSEWHERE)
    "FeatureSpace", "clear_session", "disable_interactive_logging", "enable_interactive_logging",
    "is_interactive_logging_enabled", "is_keras_tensor",
]
