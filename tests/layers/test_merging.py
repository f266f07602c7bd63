"""Merge layers on every engine: the standard checks against NumPy,
broadcasting and rank expansion, Dot's axes and normalisation, masks
combined as in Keras 3, and shape errors that name the layer and the shapes."""

from __future__ import annotations

import numpy as np
import pytest

from conformance.tolerances import assert_close, tolerance
from polykeras import layers, ops

from .helpers import check_layer, layer_outputs

TOL = dict(zip(("rtol", "atol"), tolerance("layer")))


def _xs(*shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype("float32") for s in shapes]


ELEMENTWISE = [
    (layers.Add, lambda xs: sum(xs)),
    (layers.Subtract, lambda xs: xs[0] - xs[1]),
    (layers.Multiply, lambda xs: np.prod(xs, axis=0)),
    (layers.Average, lambda xs: np.mean(xs, axis=0)),
    (layers.Maximum, lambda xs: np.max(xs, axis=0)),
    (layers.Minimum, lambda xs: np.min(xs, axis=0)),
]


@pytest.mark.parametrize("cls, reference", ELEMENTWISE, ids=lambda v: getattr(v, "__name__", ""))
def test_elementwise_merges(engine, cls, reference):
    n = 2 if cls is layers.Subtract else 3
    shapes = [(2, 3, 4)] * n
    layer = check_layer(lambda: cls(), shapes, zero_grad_ok=["input 0", "input 1", "input 2"], **TOL)
    xs = _xs(*shapes, seed=1)
    assert_close(layer_outputs(layer, xs), reference(np.stack(xs).astype(np.float64)), "elementwise")
    assert layer.compute_output_shape(shapes) == (2, 3, 4)


def test_merge_broadcasts_and_expands_lower_ranks(engine):
    a, b, c = _xs((2, 3, 4), (2, 1, 4), (2, 4))
    out = layer_outputs(layers.Add(), [a, b, c])
    assert_close(out, a + b + c[:, None, :].astype(np.float64), "elementwise")
    assert layers.Add().compute_output_shape([(None, 3, 4), (None, 1, 4)]) == (None, 3, 4)
    assert layers.Multiply().compute_output_shape([(None, 3, 4), (5, 3, None)]) == (5, 3, None)  # as Keras


def test_concatenate(engine):
    shapes = [(2, 3, 4), (2, 3, 2)]
    layer = check_layer(lambda: layers.Concatenate(), shapes, **TOL)
    xs = _xs(*shapes, seed=2)
    np.testing.assert_array_equal(layer_outputs(layer, xs), np.concatenate(xs, axis=-1))
    ys = _xs((2, 1, 4), (2, 3, 4))
    np.testing.assert_array_equal(layer_outputs(layers.Concatenate(axis=1), ys), np.concatenate(ys, axis=1))
    assert layers.Concatenate(axis=1).compute_output_shape([(None, 1, 4), (None, None, 4)]) == (None, None, 4)
    assert layers.Concatenate(axis=1).get_config()["axis"] == 1


@pytest.mark.parametrize("axes, shapes", [
    (1, [(2, 4), (2, 4)]),
    (2, [(2, 3, 4), (2, 5, 4)]),
    ((1, 2), [(2, 4, 3), (2, 5, 4)]),
    (-1, [(2, 3, 4), (2, 4)]),
], ids=str)
def test_dot(engine, axes, shapes):
    normalize = axes in (2, -1)
    layer = check_layer(lambda: layers.Dot(axes=axes, normalize=normalize), shapes, **TOL)
    x, y = (a.astype(np.float64) for a in _xs(*shapes, seed=3))
    a1, a2 = (axes, axes) if isinstance(axes, int) else axes
    a1, a2 = a1 % x.ndim, a2 % y.ndim
    if normalize:
        x = x / np.linalg.norm(x, axis=a1, keepdims=True)
        y = y / np.linalg.norm(y, axis=a2, keepdims=True)
    expected = np.stack([np.tensordot(x[i], y[i], axes=(a1 - 1, a2 - 1)) for i in range(2)])
    expected = expected.reshape(2, -1) if expected.ndim == 1 else expected
    assert_close(layer_outputs(layer, _xs(*shapes, seed=3)), expected, "matmul")


def test_merge_masks_combine_like_keras(engine):
    x = np.array([[[1.0], [0.0], [3.0]]], "float32")
    y = np.array([[[2.0], [5.0], [0.0]]], "float32")
    mx, my = layers.Masking()(x), layers.Masking()(y)
    np.testing.assert_array_equal(ops.to_numpy(layers.get_mask(layers.Add()([mx, my]))), [[True, True, True]])
    assert layers.get_mask(layers.Add()([mx, ops.convert_to_tensor(y)])) is None
    concat = layers.Concatenate(axis=1)([mx, ops.convert_to_tensor(y)])
    np.testing.assert_array_equal(ops.to_numpy(layers.get_mask(concat)), [[True, False, True, True, True, True]])
    features = layers.Concatenate()([mx, my])
    np.testing.assert_array_equal(ops.to_numpy(layers.get_mask(features)), [[True, True, True]])
    # masked entries are the identity of Multiply and never win Maximum/Minimum
    np.testing.assert_array_equal(ops.to_numpy(layers.Multiply()([mx, my])), [[[2.0], [5.0], [3.0]]])
    np.testing.assert_array_equal(ops.to_numpy(layers.Minimum()([mx, my])), [[[1.0], [5.0], [3.0]]])
    np.testing.assert_array_equal(ops.to_numpy(layers.Maximum()([mx, my])), [[[2.0], [5.0], [3.0]]])
    assert layers.get_mask(layers.Dot(axes=2)([mx, my])) is None


def test_merge_shape_errors_name_the_layer_and_the_shapes(engine):
    a, b = _xs((2, 3), (2, 4))
    with pytest.raises(ValueError, match=r"Add 'add_bad'.*incompatible shapes.*\(2, 3\).*\(2, 4\)"):
        layers.Add(name="add_bad")([a, b])
    with pytest.raises(ValueError, match=r"Subtract 'sub'.*exactly 2 inputs.*3"):
        layers.Subtract(name="sub")([a, a, a])
    with pytest.raises(ValueError, match=r"Add 'single'.*list of input tensors"):
        layers.Add(name="single")(a)
    with pytest.raises(ValueError, match=r"Concatenate 'cat'.*except on the concatenation axis -1.*\(2, 3\).*\(3, 4\)"):
        layers.Concatenate(name="cat")([a, _xs((3, 4))[0]])
    with pytest.raises(ValueError, match=r"Concatenate 'cat2'.*same rank"):
        layers.Concatenate(name="cat2")([a, _xs((2, 3, 1))[0]])
    with pytest.raises(ValueError, match=r"Dot 'dot'.*dot axes.*\(2, 3\).*\(2, 4\).*3 != 4"):
        layers.Dot(axes=1, name="dot")([a, b])
    with pytest.raises(ValueError, match=r"Dot 'dot0'.*non-batch axes"):
        layers.Dot(axes=0, name="dot0")([a, a])
    with pytest.raises(ValueError, match=r"Dot.*axes"):
        layers.Dot(axes=(1, 2, 3))
    with pytest.raises(ValueError, match=r"Add 'batch'.*same batch size"):
        layers.Add(name="batch")([a, _xs((3, 3))[0]])
