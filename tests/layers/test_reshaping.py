"""Reshaping layers on every engine: the standard checks against NumPy
reshapes, output shapes, channels-first ordering, masks and bad arguments."""

from __future__ import annotations

import numpy as np
import pytest

from conformance.tolerances import assert_close
from polykeras import layers, ops

from .helpers import check_layer, layer_outputs
from .keras_reference import keras_reference


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


# ------------------------------------------------- Reshape, Permute, Repeat
@pytest.mark.parametrize("target", [(4, 6), (-1, 3)], ids=str)
def test_reshape(engine, target):
    x = _x((2, 3, 8))
    layer = check_layer(lambda: layers.Reshape(target), x.shape)
    np.testing.assert_array_equal(layer_outputs(layer, x), x.reshape(2, *target))
    assert layer.compute_output_shape((None, 3, 8)) == (None, *x.reshape(2, *target).shape[1:])
    assert layers.Reshape((-1, 2)).compute_output_shape((None, None, 4)) == (None, None, 2)


def test_permute_and_repeat_vector(engine):
    x = _x((2, 3, 4, 5))
    layer = check_layer(lambda: layers.Permute((3, 1, 2)), x.shape)
    np.testing.assert_array_equal(layer_outputs(layer, x), np.transpose(x, (0, 3, 1, 2)))
    assert layer.compute_output_shape((None, 3, 4, 5)) == (None, 5, 3, 4)
    v = _x((2, 4))
    repeat = check_layer(lambda: layers.RepeatVector(3), v.shape)
    np.testing.assert_array_equal(layer_outputs(repeat, v), np.repeat(v[:, None], 3, axis=1))
    assert repeat.compute_output_shape((None, 4)) == (None, 3, 4)


def test_reshaping_errors_name_the_layer(engine):
    with pytest.raises(ValueError, match=r"Reshape 'r'.*\(2, 3, 8\).*\(5, 5\)"):
        layers.Reshape((5, 5), name="r")(_x((2, 3, 8)))
    with pytest.raises(ValueError, match=r"Reshape.*at most one -1"):
        layers.Reshape((-1, -1))
    with pytest.raises(ValueError, match=r"Permute 'p'.*permutation.*\(1, 3\)"):
        layers.Permute((1, 3), name="p")
    with pytest.raises(ValueError, match=r"'p2'.*ndim=3.*\(2, 3\)"):
        layers.Permute((2, 1), name="p2")(_x((2, 3)))
    with pytest.raises(ValueError, match=r"'rv'.*ndim=2.*\(2, 3, 4\)"):
        layers.RepeatVector(2, name="rv")(_x((2, 3, 4)))
    with pytest.raises(ValueError, match=r"RepeatVector.*n=0"):
        layers.RepeatVector(0)


# ------------------------------------------------------------ ZeroPadding
@pytest.mark.parametrize("cls, padding, shape, widths", [
    (layers.ZeroPadding1D, (0, 3), (2, 3, 4), [(0, 0), (0, 3), (0, 0)]),
    (layers.ZeroPadding2D, (1, 2), (2, 3, 3, 2), [(0, 0), (1, 1), (2, 2), (0, 0)]),
    (layers.ZeroPadding2D, ((1, 0), (0, 2)), (2, 3, 3, 2), [(0, 0), (1, 0), (0, 2), (0, 0)]),
], ids=str)
def test_zero_padding(engine, cls, padding, shape, widths):
    x = _x(shape)
    layer = check_layer(lambda: cls(padding), shape)
    np.testing.assert_array_equal(layer_outputs(layer, x), np.pad(x, widths))


def test_zero_padding_channels_first_config_and_errors(engine):
    x = _x((1, 2, 3, 3))
    out = layer_outputs(layers.ZeroPadding2D(1, data_format="channels_first"), x)
    np.testing.assert_array_equal(out, np.pad(x, [(0, 0), (0, 0), (1, 1), (1, 1)]))
    assert layers.ZeroPadding2D(((1, 0), (0, 2))).get_config()["padding"] == ((1, 0), (0, 2))
    assert layers.ZeroPadding1D(1).get_config()["padding"] == (1, 1)
    assert layers.ZeroPadding2D(1).compute_output_shape((None, None, 4, 3)) == (None, None, 6, 3)
    with pytest.raises(ValueError, match=r"ZeroPadding2D 'zp'.*padding.*-1"):
        layers.ZeroPadding2D(-1, name="zp")
    with pytest.raises(ValueError, match=r"ZeroPadding1D.*padding.*\(1, 2, 3\)"):
        layers.ZeroPadding1D((1, 2, 3))
    with pytest.raises(ValueError, match=r"'zp1'.*ndim=3"):
        layers.ZeroPadding1D(name="zp1")(_x((2, 3)))


# ------------------------------------------------------------- UpSampling
def test_up_sampling_nearest(engine):
    x = _x((2, 3, 4))
    layer = check_layer(lambda: layers.UpSampling1D(3), x.shape)
    np.testing.assert_array_equal(layer_outputs(layer, x), np.repeat(x, 3, axis=1))
    image = _x((2, 2, 3, 2))
    layer = check_layer(lambda: layers.UpSampling2D((2, 3)), image.shape)
    np.testing.assert_array_equal(layer_outputs(layer, image), np.repeat(np.repeat(image, 2, 1), 3, 2))
    first = layer_outputs(layers.UpSampling2D(2, data_format="channels_first"), np.moveaxis(image, -1, 1))
    np.testing.assert_array_equal(first, np.moveaxis(np.repeat(np.repeat(image, 2, 1), 2, 2), -1, 1))
    assert layers.UpSampling2D((2, 3)).compute_output_shape((None, 4, None, 2)) == (None, 8, None, 2)


def test_up_sampling_bilinear_matches_half_pixel_interpolation(engine):
    image = _x((1, 2, 3, 2))
    layer = check_layer(lambda: layers.UpSampling2D(2, interpolation="bilinear"), image.shape)
    out = layer_outputs(layer, image)
    # half-pixel centres: output pixel i samples input coordinate (i + 0.5) / 2 - 0.5, clamped
    def interp(n_in, n_out):
        src = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        lo = np.floor(src).astype(int)
        hi = np.minimum(lo + 1, n_in - 1)
        m = np.zeros((n_out, n_in))
        m[np.arange(n_out), lo] += 1 - (src - lo)
        m[np.arange(n_out), hi] += src - lo
        return m
    expected = np.einsum("bhwc,Hh,Ww->bHWc", image.astype(np.float64), interp(2, 4), interp(3, 6))
    assert_close(out, expected, "layer")
    np.testing.assert_allclose(out[0, :, 0, 0], [image[0, 0, 0, 0], 0.75 * image[0, 0, 0, 0] + 0.25 *
                                                 image[0, 1, 0, 0], 0.25 * image[0, 0, 0, 0] + 0.75 *
                                                 image[0, 1, 0, 0], image[0, 1, 0, 0]], rtol=1e-5, atol=1e-6)


def test_up_sampling_bilinear_matches_keras(engine):
    image = _x((1, 3, 2, 2))
    ref = keras_reference("UpSampling2D", {"size": (2, 3), "interpolation": "bilinear"}, image)
    assert_close(layer_outputs(layers.UpSampling2D((2, 3), interpolation="bilinear"), image), ref["y"], "layer")


def test_up_sampling_errors_name_the_layer(engine):
    with pytest.raises(ValueError, match=r"UpSampling2D 'up'.*interpolation.*'area'"):
        layers.UpSampling2D(interpolation="area", name="up")
    with pytest.raises(ValueError, match=r"UpSampling1D.*size.*0"):
        layers.UpSampling1D(0)
    with pytest.raises(ValueError, match=r"'up1'.*ndim=3"):
        layers.UpSampling1D(name="up1")(_x((2, 3)))
