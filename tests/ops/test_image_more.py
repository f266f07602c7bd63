"""``polykeras.ops.image`` ops added after the first family (sobel_edges,
ssim, extract_patches_3d, ...) on every engine against Keras 3's
``keras.ops.image`` on its NumPy backend; symbolic shapes, gradients and
errors naming the op."""

from __future__ import annotations

import numpy as np
import pytest

from conformance.tolerances import assert_close
from polykeras import ops
from polykeras.ops import image
from tests.layers.keras_reference import import_keras  # noqa: F401 - sets KERAS_BACKEND=numpy before Keras loads
from tests.layers.helpers import keras_numpy

#: forward checks here; gradients: conformance/checks/ops_image.py (run by test_gradients)
COVERED = {"image.sobel_edges", "image.ssim", "image.extract_patches_3d", "image.scale_and_translate",
           "image.perspective_transform", "image.elastic_transform"}

_RNG = np.random.default_rng(3)
_X = _RNG.random((2, 7, 9, 3)).astype("float32")
_Y = np.clip(_X + _RNG.normal(0, 0.1, _X.shape), 0, 1).astype("float32")
_V = _RNG.random((2, 5, 6, 7, 2)).astype("float32")


def _ours(name: str, *args: np.ndarray, **kwargs) -> np.ndarray:
    tensors = [ops.convert_to_tensor(a) for a in args]
    return np.asarray(ops.to_numpy(getattr(image, name)(*tensors, **kwargs)))


def _cf(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(x, -1, 1))


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_sobel_edges_matches_keras(engine, data_format):
    x = _X if data_format == "channels_last" else _cf(_X)
    ours = _ours("sobel_edges", x, data_format=data_format)
    assert ours.shape == x.shape + (2,)
    assert_close(ours, keras_numpy("ops.image.sobel_edges", x, data_format=data_format), "layer")


def test_sobel_edges_of_a_vertical_step(engine):
    x = np.zeros((1, 4, 6, 1), "float32")
    x[:, :, 3:] = 1.0
    edges = _ours("sobel_edges", x)
    np.testing.assert_array_equal(edges[..., 0], 0.0)
    np.testing.assert_array_equal(edges[0, :, :, 0, 1], [[0, 0, 4, 4, 0, 0]] * 4)
    assert _ours("sobel_edges", _X[0]).shape == (7, 9, 3, 2)


@pytest.mark.parametrize("kwargs", [dict(), dict(filter_size=5, filter_sigma=0.8, max_val=2.0, k1=0.02, k2=0.05),
                                    dict(filter_size=3, data_format="channels_first")], ids=str)
def test_ssim_matches_keras(engine, kwargs):
    x, y = (_X, _Y) if kwargs.get("data_format") != "channels_first" else (_cf(_X), _cf(_Y))
    size = kwargs.get("filter_size", 11)
    if size > 7:
        x, y = np.tile(x, (1, 2, 2, 1)), np.tile(y, (1, 2, 2, 1))
    ours = _ours("ssim", x, y, **kwargs)
    assert ours.shape == (2,)
    assert_close(ours, keras_numpy("ops.image.ssim", x, y, **kwargs), "layer")
    np.testing.assert_allclose(_ours("ssim", x[0], x[0], **kwargs), 1.0, rtol=1e-5)


@pytest.mark.parametrize("kwargs", [dict(size=2), dict(size=(2, 3, 2), strides=(1, 2, 3)),
                                    dict(size=2, padding="same"), dict(size=2, strides=1, dilation_rate=2),
                                    dict(size=(1, 2, 3), data_format="channels_first")], ids=str)
def test_extract_patches_3d_matches_keras(engine, kwargs):
    v = _V if kwargs.get("data_format") != "channels_first" else _cf(_V)
    assert_close(_ours("extract_patches_3d", v, **kwargs), keras_numpy("ops.image.extract_patches_3d", v, **kwargs),
                 "layer")
    assert _ours("extract_patches_3d", _V[0], size=2).shape == (2, 3, 3, 16)


SCALES = [dict(output_shape=(2, 11, 5, 3), scale=[1.6, 0.55], translation=[0.3, -0.7], spatial_dims=(1, 2),
               method="linear"),
          dict(output_shape=(2, 4, 13, 3), scale=[0.6, 1.4], translation=[0.0, 1.2], spatial_dims=(1, 2),
               method="bicubic", antialias=False),
          dict(output_shape=(2, 5, 6, 3), scale=[0.7, 0.66], translation=[0.5, 0.0], spatial_dims=(1, 2),
               method="lanczos3"),
          dict(output_shape=(2, 7, 12, 3), scale=[1.3], translation=[-1.0], spatial_dims=(-2,), method="lanczos5"),
          dict(output_shape=(2, 3, 9, 3), scale=[0.5], translation=[0.2], spatial_dims=(1,), method="tricubic",
               antialias=False)]


@pytest.mark.parametrize("kwargs", SCALES, ids=lambda k: k["method"])
def test_scale_and_translate_matches_keras(engine, kwargs):
    assert_close(_ours("scale_and_translate", _X, **kwargs), keras_numpy("ops.image.scale_and_translate", _X, **kwargs),
                 "layer")


def test_scale_and_translate_integer_images_and_gradient(engine):
    xi = (_X * 255).astype("uint8")
    kwargs = SCALES[0]
    y = _ours("scale_and_translate", xi, **kwargs)
    assert y.dtype == np.uint8
    np.testing.assert_array_equal(y, keras_numpy("ops.image.scale_and_translate", xi, **kwargs))
    if not engine.differentiable:
        return
    x = ops.convert_to_tensor(_X[:1])
    # scaling by 2 with no antialias: every output weight row sums to 1 inside, so d(sum)/dx sums to the output size
    _, grad = ops.value_and_grad(lambda t: ops.sum(image.scale_and_translate(
        t, (1, 14, 18, 3), [2.0, 2.0], [0.0, 0.0], (1, 2), "linear")))(x)
    np.testing.assert_allclose(float(np.sum(ops.to_numpy(grad))), 14 * 18 * 3, rtol=1e-5)


_START = np.array([[0, 0], [8, 0], [0, 6], [8, 6]], "float32")
_END = np.array([[[0.5, 1.0], [7.2, 0.3], [1.1, 5.6], [8.4, 6.2]],
                 [[1.1, 0.9], [7.3, 1.2], [0.8, 5.3], [7.1, 5.4]]], "float32")


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_perspective_transform_matches_keras(engine, interpolation, data_format):
    x = _X if data_format == "channels_last" else _cf(_X)
    start = np.stack([_START, _START])
    kwargs = dict(interpolation=interpolation, fill_value=0.25, data_format=data_format)
    assert_close(_ours("perspective_transform", x, start, _END, **kwargs),
                 keras_numpy("ops.image.perspective_transform", x, start, _END, **kwargs), "layer")


def test_perspective_transform_shift_single_image_and_gradient(engine):
    x = np.arange(12, dtype="float32").reshape(3, 4, 1)
    shifted = _ours("perspective_transform", x, _START, _START + np.array([1, 0], "float32"))
    np.testing.assert_allclose(shifted[:, :, 0], [[0, 0, 1, 2], [0, 4, 5, 6], [0, 8, 9, 10]], atol=1e-4)
    if not engine.differentiable:
        return
    _, grad = ops.value_and_grad(lambda t: ops.sum(image.perspective_transform(
        t, _START, _START + np.array([0.5, 0.0], "float32"))))(ops.convert_to_tensor(_X[:1]))
    assert np.all(np.isfinite(ops.to_numpy(grad))) and float(np.sum(ops.to_numpy(grad))) > 0


def test_elastic_transform_alpha_zero_is_identity_as_keras(engine):
    for data_format, x in (("channels_last", _X), ("channels_first", _cf(_X))):
        kwargs = dict(alpha=0.0, sigma=1.0, seed=3, data_format=data_format)
        assert_close(_ours("elastic_transform", x, **kwargs), keras_numpy("ops.image.elastic_transform", x, **kwargs),
                     "layer")
        assert_close(_ours("elastic_transform", x, **kwargs), x, "layer")


def test_elastic_transform_displacement_scale_matches_keras(engine):
    # on a ramp (value = column) the output minus the input is the horizontal displacement alpha * dx:
    # its spread must match Keras's (the draws differ, their distribution does not)
    ramp = np.broadcast_to(np.arange(48, dtype="float32")[None, None, :, None], (2, 48, 48, 1)).copy()
    kwargs = dict(alpha=6.0, sigma=2.0, fill_mode="nearest", seed=5)

    def spread(y: np.ndarray) -> float:
        return float(np.std((y - ramp)[:, 8:-8, 8:-8]))

    ours = spread(_ours("elastic_transform", ramp, **kwargs))
    keras = spread(keras_numpy("ops.image.elastic_transform", ramp, **kwargs))
    assert 0.7 < ours / keras < 1.4, (ours, keras)


def test_elastic_transform_seeds(engine):
    from polykeras.random import SeedGenerator

    x = ops.convert_to_tensor(_X)
    a = ops.to_numpy(image.elastic_transform(x, 4.0, 1.5, seed=7))
    np.testing.assert_array_equal(a, ops.to_numpy(image.elastic_transform(x, 4.0, 1.5, seed=7)))
    assert not np.allclose(a, ops.to_numpy(image.elastic_transform(x, 4.0, 1.5, seed=8)))
    generator = SeedGenerator(1)
    first = ops.to_numpy(image.elastic_transform(x, 4.0, 1.5, seed=generator))
    assert not np.allclose(first, ops.to_numpy(image.elastic_transform(x, 4.0, 1.5, seed=generator)))
    # one field per image, shared by the channels: a grey image stays grey
    grey = np.repeat(_X[..., :1], 3, axis=-1)
    y = _ours("elastic_transform", grey, alpha=4.0, sigma=1.5, interpolation="nearest", seed=2)
    np.testing.assert_array_equal(y[..., 0], y[..., 2])
    yi = _ours("elastic_transform", (_X * 255).astype("uint8"), alpha=3.0, sigma=1.0, seed=2)
    assert yi.dtype == np.uint8 and yi.shape == _X.shape
    assert _ours("elastic_transform", _X[0], seed=1).shape == _X[0].shape


def test_symbolic_shapes(engine):
    from polykeras.layers import Input

    assert tuple(image.sobel_edges(Input((7, 9, 3))).shape) == (None, 7, 9, 3, 2)
    assert tuple(image.ssim(Input((12, 12, 3)), Input((12, 12, 3))).shape) == (None,)
    assert tuple(image.extract_patches_3d(Input((4, 6, 6, 2)), 2).shape) == (None, 2, 3, 3, 16)
    assert tuple(image.scale_and_translate(Input((7, 9, 3), batch_size=2), (2, 3, 4, 3), [0.5, 0.5], [0.0, 0.0],
                                           (1, 2), "linear").shape) == (2, 3, 4, 3)
    assert tuple(image.perspective_transform(Input((7, 9, 3)), _START, _START + 1.0).shape) == (None, 7, 9, 3)
    assert tuple(image.elastic_transform(Input((7, 9, 3), batch_size=2), seed=1).shape) == (2, 7, 9, 3)


def test_gradients_flow(engine):
    if not engine.differentiable:
        return
    x, y = ops.convert_to_tensor(_X[:1]), ops.convert_to_tensor(_Y[:1])
    _, grad = ops.value_and_grad(lambda t: ops.sum(image.ssim(t, y, filter_size=3)))(x)
    assert np.all(np.isfinite(ops.to_numpy(grad))) and np.abs(ops.to_numpy(grad)).sum() > 0


def test_errors_name_the_op(engine):
    x = ops.convert_to_tensor(_X)
    with pytest.raises(ValueError, match="image.sobel_edges.*rank 3.*\\(7, 9\\)"):
        image.sobel_edges(ops.convert_to_tensor(_X[0, :, :, 0]))
    with pytest.raises(ValueError, match="image.ssim.*one shape.*\\(2, 7, 9, 3\\).*\\(1, 7, 9, 3\\)"):
        image.ssim(x, ops.convert_to_tensor(_X[:1]))
    with pytest.raises(ValueError, match="image.ssim.*at least filter_size=11"):
        image.ssim(x, x)
    with pytest.raises(ValueError, match="image.extract_patches_3d.*rank 4.*\\(7, 9, 3\\)"):
        image.extract_patches_3d(ops.convert_to_tensor(_X[0]), 2)
    with pytest.raises(ValueError, match="image.extract_patches_3d.*size.*\\(2, 2\\)"):
        image.extract_patches_3d(ops.convert_to_tensor(_V), (2, 2))
    with pytest.raises(ValueError, match="image.scale_and_translate.*method.*'area'"):
        image.scale_and_translate(x, (2, 4, 4, 3), [1.0, 1.0], [0.0, 0.0], (1, 2), "area")
    with pytest.raises(ValueError, match="image.scale_and_translate.*scale and translation of shape \\(2,\\)"):
        image.scale_and_translate(x, (2, 4, 4, 3), [1.0], [0.0], (1, 2), "linear")
    with pytest.raises(ValueError, match="image.scale_and_translate.*output_shape\\[3\\]=4"):
        image.scale_and_translate(x, (2, 4, 4, 4), [1.0, 1.0], [0.0, 0.0], (1, 2), "linear")
    with pytest.raises(ValueError, match="image.perspective_transform.*start_points of shape \\(4, 2\\).*\\(3, 2\\)"):
        image.perspective_transform(x, _START[:3], _START[:3])
    with pytest.raises(ValueError, match="image.perspective_transform.*one shape"):
        image.perspective_transform(x, _START, _END)
    with pytest.raises(ValueError, match="image.perspective_transform.*interpolation.*'bicubic'"):
        image.perspective_transform(x, _START, _START, interpolation="bicubic")
    with pytest.raises(ValueError, match="image.elastic_transform.*fill_mode.*'edge'"):
        image.elastic_transform(x, fill_mode="edge")
    with pytest.raises(ValueError, match="image.elastic_transform.*positive sigma.*sigma=0"):
        image.elastic_transform(x, sigma=0)
