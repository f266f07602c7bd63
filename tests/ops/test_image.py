"""``polykeras.ops.image`` on every engine against Keras 3's
``keras.ops.image`` (run on its NumPy backend): resize (every interpolation,
antialias, crop/pad to aspect ratio, integer images, both data formats),
crop_images, pad_images and the colour conversions; errors name the op."""

from __future__ import annotations

import numpy as np
import pytest

from conformance.tolerances import assert_close
from polykeras import ops
from polykeras.ops import image
from tests.layers.keras_reference import import_keras  # noqa: F401 - sets KERAS_BACKEND=numpy before Keras loads
from tests.layers.helpers import keras_numpy, run_keras

#: the ops this module checks forward (their gradients: conformance/checks/ops_image.py, run by test_gradients)
COVERED = {f"image.{name}" for name in image.__all__}

_X = np.random.default_rng(0).random((2, 7, 9, 3)).astype("float32")
_CACHE: dict[str, np.ndarray] = {}


def keras_image(name: str, x: np.ndarray, **kwargs) -> np.ndarray:
    """``keras.ops.image.<name>(x, **kwargs)`` on Keras' NumPy backend (cached)."""
    key = f"{name}{sorted(kwargs.items())}{x.shape}{x.dtype}{x.tobytes()[:64]!r}"
    if key not in _CACHE:
        _CACHE[key] = keras_numpy(f"ops.image.{name}", x, **kwargs)
    return _CACHE[key]


def _ours(name: str, x: np.ndarray, **kwargs) -> np.ndarray:
    return np.asarray(ops.to_numpy(getattr(image, name)(ops.convert_to_tensor(x), **kwargs)))


RESIZE_CASES = [
    dict(size=(4, 5)), dict(size=(11, 13)), dict(size=(4, 5), interpolation="nearest"),
    dict(size=(11, 13), interpolation="nearest"), dict(size=(4, 5), interpolation="bicubic"),
    dict(size=(11, 13), interpolation="bicubic"), dict(size=(4, 5), interpolation="lanczos3", antialias=True),
    dict(size=(4, 5), antialias=True), dict(size=(3, 6), interpolation="bicubic", antialias=True),
    dict(size=(4, 5), crop_to_aspect_ratio=True), dict(size=(5, 4), pad_to_aspect_ratio=True, fill_value=0.5),
    dict(size=(8, 3), interpolation="lanczos5", pad_to_aspect_ratio=True),
]


@pytest.mark.parametrize("kwargs", RESIZE_CASES, ids=lambda k: "-".join(f"{a}={b}" for a, b in k.items()))
def test_resize_matches_keras(engine, kwargs):
    assert_close(_ours("resize", _X, **kwargs), keras_image("resize", _X, **kwargs), "layer")


def test_resize_integer_images_channels_first_and_rank3(engine):
    xi = (_X * 255).astype("uint8")
    y = _ours("resize", xi, size=(4, 5))
    assert y.dtype == np.uint8
    np.testing.assert_array_equal(y, keras_image("resize", xi, size=(4, 5)))
    xc = np.ascontiguousarray(_X.transpose(0, 3, 1, 2))
    assert_close(_ours("resize", xc, size=(4, 5), data_format="channels_first"),
                  keras_image("resize", xc, size=(4, 5), data_format="channels_first"), "layer")
    assert _ours("resize", _X[0], size=(3, 3)).shape == (3, 3, 3)


def test_resize_gradient(engine):
    np.testing.assert_allclose(_ours("resize", np.ones((1, 7, 9, 3), "float32"), size=(4, 5)), 1.0, rtol=1e-6)
    if not engine.differentiable:
        return
    x = ops.convert_to_tensor(_X[:1])
    _, grad = ops.value_and_grad(lambda t: ops.sum(image.resize(t, (4, 5))))(x)
    # bilinear downscaling: the weights of each output pixel sum to 1, so the input gradient sums to 20
    np.testing.assert_allclose(float(np.sum(ops.to_numpy(grad))), 4 * 5 * 3, rtol=1e-5)


CROP_PAD = [
    dict(top_cropping=1, left_cropping=2, target_height=4, target_width=5),
    dict(bottom_cropping=1, right_cropping=2, target_height=4, target_width=5),
    dict(top_cropping=1, bottom_cropping=2, left_cropping=0, right_cropping=3),
]


@pytest.mark.parametrize("kwargs", CROP_PAD)
def test_crop_and_pad_match_keras(engine, kwargs):
    assert_close(_ours("crop_images", _X, **kwargs), keras_image("crop_images", _X, **kwargs), "layer")
    pad = {k.replace("cropping", "padding"): v for k, v in kwargs.items()}
    pad = {k: v + 6 if k.startswith("target") else v for k, v in pad.items()}
    assert_close(_ours("pad_images", _X, **pad), keras_image("pad_images", _X, **pad), "layer")


@pytest.mark.parametrize("name", ["rgb_to_grayscale", "rgb_to_hsv", "hsv_to_rgb"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_colour_conversions_match_keras(engine, name, data_format):
    x = _X if data_format == "channels_last" else np.ascontiguousarray(_X.transpose(0, 3, 1, 2))
    assert_close(_ours(name, x, data_format=data_format), keras_image(name, x, data_format=data_format), "layer")


def test_hsv_round_trip(engine):
    assert_close(_ours("hsv_to_rgb", _ours("rgb_to_hsv", _X)), _X, "layer")


def test_errors_name_the_op(engine):
    x = ops.convert_to_tensor(_X)
    with pytest.raises(ValueError, match="image.resize.*interpolation.*'cubic'"):
        image.resize(x, (2, 2), interpolation="cubic")
    with pytest.raises(ValueError, match="image.resize.*size"):
        image.resize(x, 4)
    with pytest.raises(ValueError, match="image.resize.*rank 3.*shape \\(7, 9\\)"):
        image.resize(ops.convert_to_tensor(_X[0, :, :, 0]), (2, 2))
    with pytest.raises(ValueError, match="image.rgb_to_grayscale.*3 channels"):
        image.rgb_to_grayscale(ops.convert_to_tensor(_X[..., :2]))
    with pytest.raises(ValueError, match="image.crop_images.*inside the image size 7"):
        image.crop_images(x, top_cropping=5, left_cropping=0, target_height=4, target_width=4)
    with pytest.raises(ValueError, match="image.pad_images.*non-negative"):
        image.pad_images(x, top_padding=1, left_padding=0, target_height=4, target_width=12)
    with pytest.raises(ValueError, match="image.rgb_to_hsv.*data_format"):
        image.rgb_to_hsv(x, data_format="nhwc")


_T = np.array([[0.93, 0.17, -1.3, -0.11, 1.07, 0.6, 0.0, 0.0], [1.21, 0.0, -2.7, 0.0, 0.83, 1.9, 0.0, 0.0]],
              "float32")


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
@pytest.mark.parametrize("fill_mode", ["constant", "nearest", "wrap", "mirror", "reflect"])
def test_affine_transform_matches_keras(engine, interpolation, fill_mode):
    kwargs = dict(interpolation=interpolation, fill_mode=fill_mode, fill_value=0.5)
    assert_close(_ours("affine_transform", _X, transform=_T, **kwargs),
                 keras_image("affine_transform", _X, transform=_T, **kwargs), "layer")


def test_affine_transform_projective_shift_and_formats(engine):
    x = np.arange(12, dtype="float32").reshape(1, 3, 4, 1)
    shifted = _ours("affine_transform", x, transform=np.array([1, 0, 1, 0, 1, 0, 0, 0], "float32"))
    np.testing.assert_array_equal(shifted[0, :, :, 0], [[1, 2, 3, 0], [5, 6, 7, 0], [9, 10, 11, 0]])
    # the projective terms divide: k = c0 x + c1 y + 1 (TensorFlow's ImageProjectiveTransform)
    t = np.array([2, 0, 0, 0, 2, 0, 1, 0], "float32")
    y = _ours("affine_transform", x, transform=t, interpolation="nearest")
    cols = np.arange(4)
    expected_cols = np.round(2 * cols / (cols + 1.0))
    np.testing.assert_array_equal(y[0, 0, :, 0], x[0, 0, expected_cols.astype(int), 0])
    xc = np.ascontiguousarray(_X.transpose(0, 3, 1, 2))
    cf = _ours("affine_transform", xc, transform=_T, data_format="channels_first")
    assert_close(cf.transpose(0, 2, 3, 1), _ours("affine_transform", _X, transform=_T), "layer")
    assert _ours("affine_transform", _X[0], transform=_T[0]).shape == _X[0].shape


@pytest.mark.parametrize("order", [0, 1])
@pytest.mark.parametrize("fill_mode", ["constant", "nearest", "wrap", "mirror", "reflect"])
def test_map_coordinates_matches_keras(engine, order, fill_mode):
    rng = np.random.default_rng(1)
    values = rng.random((5, 6)).astype("float32")
    coordinates = (rng.random((2, 4, 3)) * 10 - 2).astype("float32")
    ours = np.asarray(ops.to_numpy(image.map_coordinates(ops.convert_to_tensor(values),
                                                         ops.convert_to_tensor(coordinates), order,
                                                         fill_mode=fill_mode, fill_value=0.5)))
    import sys

    keras = sys.modules.get("keras")
    if keras is None or keras.backend.backend() == "numpy":
        keras = pytest.importorskip("keras")
        ref = np.asarray(keras.ops.image.map_coordinates(values, coordinates, order, fill_mode=fill_mode,
                                                         fill_value=0.5))
    else:
        ref = run_keras(f"out['y'] = np.asarray(keras.ops.image.map_coordinates(data['v'], data['c'], {order}, "
                        f"fill_mode={fill_mode!r}, fill_value=0.5))", {"v": values, "c": coordinates},
                        backend="numpy")["y"]
    assert_close(ours, ref, "layer")


def test_warp_errors(engine):
    x = ops.convert_to_tensor(_X)
    with pytest.raises(ValueError, match="image.affine_transform.*shape \\(8,\\) or \\(batch, 8\\).*\\(6,\\)"):
        image.affine_transform(x, ops.convert_to_tensor(np.zeros(6, "float32")))
    with pytest.raises(ValueError, match="image.affine_transform.*fill_mode.*'edge'"):
        image.affine_transform(x, ops.convert_to_tensor(_T), fill_mode="edge")
    with pytest.raises(ValueError, match="image.map_coordinates.*order 0 or 1.*3"):
        image.map_coordinates(x, ops.convert_to_tensor(np.zeros((4, 2), "float32")), 3)
    with pytest.raises(ValueError, match="image.map_coordinates.*input rank 4.*\\(2, 2\\)"):
        image.map_coordinates(x, ops.convert_to_tensor(np.zeros((2, 2), "float32")), 1)


PATCHES = [dict(size=3), dict(size=(2, 3), strides=(1, 2)), dict(size=2, padding="same"),
           dict(size=(2, 2), strides=1, dilation_rate=2)]


@pytest.mark.parametrize("kwargs", PATCHES, ids=str)
def test_extract_patches_matches_keras(engine, kwargs):
    assert_close(_ours("extract_patches", _X, **kwargs), keras_image("extract_patches", _X, **kwargs), "layer")


@pytest.mark.parametrize("kwargs", [dict(), dict(kernel_size=(5, 3), sigma=(1.5, 0.7)),
                                    dict(kernel_size=(4, 4), sigma=(2.0, 2.0), data_format="channels_first")],
                         ids=str)
def test_gaussian_blur_matches_keras(engine, kwargs):
    x = _X if kwargs.get("data_format") != "channels_first" else np.ascontiguousarray(_X.transpose(0, 3, 1, 2))
    assert_close(_ours("gaussian_blur", x, **kwargs), keras_image("gaussian_blur", x, **kwargs), "layer")


def test_patches_and_blur_shapes_and_errors(engine):
    assert _ours("extract_patches", _X[0], size=3).shape == (2, 3, 27)
    flat = _ours("gaussian_blur", np.ones((1, 6, 6, 2), "float32"), kernel_size=(3, 3), sigma=(1.0, 1.0))
    np.testing.assert_allclose(flat[0, 2:4, 2:4], 1.0, rtol=1e-6)  # weights sum to 1 away from the edges
    with pytest.raises(ValueError, match="image.extract_patches.*size.*0"):
        image.extract_patches(ops.convert_to_tensor(_X), 0)
    with pytest.raises(ValueError, match="image.gaussian_blur.*sigma.*two positive numbers"):
        image.gaussian_blur(ops.convert_to_tensor(_X), sigma=1.0)
