"""Keras 3's other names for polykeras ops: ``ops.convert_to_numpy``."""

from __future__ import annotations

import numpy as np

from polykeras import ops

from _keras_api import assert_same_signature
from layers.keras_reference import import_keras

COVERED = {"convert_to_numpy"}


def test_convert_to_numpy_is_to_numpy_with_keras_signature(engine):
    keras = import_keras()
    assert_same_signature(ops.convert_to_numpy, keras.ops.convert_to_numpy, "ops.convert_to_numpy")
    out = ops.convert_to_numpy(ops.convert_to_tensor([[1.0, 2.0]]))
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    np.testing.assert_array_equal(out, np.asarray(keras.ops.convert_to_numpy(np.array([[1.0, 2.0]], np.float32))))
