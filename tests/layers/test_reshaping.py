"""Reshaping layers on every engine: the standard checks against NumPy
reshapes, output shapes, channels-first ordering, masks and bad arguments."""

from __future__ import annotations

import numpy as np
import pytest

from polykeras import layers, ops

from .helpers import check_layer, layer_outputs


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


# ---------------------------------------------------------------- Flatten
def test_flatten(engine):
    x = _x((2, 3, 4, 2))
    layer = check_layer(lambda: layers.Flatten(), x.shape)
    np.testing.assert_array_equal(layer_outputs(layer, x), x.reshape(2, -1))
    first = layer_outputs(layers.Flatten(data_format="channels_first"), np.transpose(x, (0, 3, 1, 2)))
    np.testing.assert_array_equal(first, x.reshape(2, -1))  # same feature order as channels last
    np.testing.assert_array_equal(layer_outputs(layers.Flatten(), x[:, 0, 0, 0]), x[:, :1, 0, 0])
    assert layers.Flatten().compute_output_shape((None, 3, 4)) == (None, 12)
    assert layers.Flatten().compute_output_shape((5, None, 4)) == (5, None)
    with pytest.raises(ValueError, match=r"Flatten 'f'.*data_format"):
        layers.Flatten(data_format="NCHW", name="f")
    with pytest.raises(ValueError, match=r"'flat0'.*min_ndim=1"):
        layers.Flatten(name="flat0")(ops.convert_to_tensor(np.float32(3.0)))
