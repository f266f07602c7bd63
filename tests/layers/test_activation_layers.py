"""Activation layers (ReLU, LeakyReLU, PReLU, ELU, Softmax) and the merge
helpers (add, concatenate, dot, ...) against Keras 3: the same arguments,
defaults, weights (PReLU's alpha layout), outputs, masks and configs, on
every engine."""

from __future__ import annotations

import numpy as np
import pytest

import polykeras
from polykeras import layers, ops

from _keras_api import assert_same_api
from .helpers import check_layer
from .keras_reference import assert_matches_keras, import_keras

X3 = np.random.default_rng(0).standard_normal((2, 5, 3)).astype("float32") * 3
X4 = np.random.default_rng(1).standard_normal((2, 4, 4, 3)).astype("float32") * 3

CASES = [
    ("ReLU", {}, X3),
    ("ReLU", {"max_value": 2.0, "negative_slope": 0.1, "threshold": 0.5}, X3),
    ("LeakyReLU", {}, X3),
    ("LeakyReLU", {"negative_slope": 0.05}, X3),
    ("ELU", {}, X3),
    ("ELU", {"alpha": 0.5}, X3),
    ("Softmax", {}, X3),
    ("Softmax", {"axis": 1}, X3),
    ("PReLU", {}, X3),
    ("PReLU", {"shared_axes": [1]}, X3),
    ("PReLU", {"shared_axes": [1, 2]}, X4),
]

NAMES = ["ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax", "add", "subtract", "multiply", "average", "maximum",
         "minimum", "concatenate", "dot"]


def test_names_and_signatures_match_keras(engine):
    assert_same_api(layers, import_keras().layers, NAMES)


@pytest.mark.parametrize("class_name, kwargs, x", CASES, ids=[f"{c}{k}" for c, k, _ in CASES])
def test_outputs_and_weights_match_keras(engine, class_name, kwargs, x):
    layer = assert_matches_keras(lambda: getattr(layers, class_name)(**kwargs), class_name, kwargs, x)
    keras_config = getattr(import_keras().layers, class_name)(**kwargs).get_config()
    config = layer.get_config()
    assert set(keras_config) <= set(config), (set(keras_config) - set(config))
    for key, value in keras_config.items():
        if key not in ("name", "dtype", "alpha_initializer"):
            assert config[key] == value, (key, config[key], value)


@pytest.mark.parametrize("factory, shape", [
    (lambda: layers.ReLU(max_value=6.0), (2, 5)),
    (lambda: layers.LeakyReLU(), (2, 5)),
    (lambda: layers.ELU(), (2, 5)),
    (lambda: layers.Softmax(axis=[1, 2]), (2, 3, 4)),
    (lambda: layers.PReLU(alpha_initializer="ones", shared_axes=[1]), (2, 3, 4)),
])
def test_standard_layer_checks(engine, factory, shape):
    check_layer(factory, shape)


def test_softmax_over_several_axes_normalises_them_together(engine):
    out = ops.to_numpy(layers.Softmax(axis=[1, 2])(X3))
    expected = np.exp(X3) / np.exp(X3).sum(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_softmax_mask_matches_keras(engine):
    keras = import_keras()
    mask = np.random.default_rng(2).random((2, 5, 3)) > 0.4
    mask[0, 0] = False  # a fully masked row gives zeros
    theirs = np.asarray(keras.layers.Softmax()(X3, mask=mask))
    ours = ops.to_numpy(layers.Softmax()(ops.convert_to_tensor(X3), mask=ops.convert_to_tensor(mask)))
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    assert np.all(ours[0, 0] == 0.0)
    float_mask = ops.convert_to_tensor(mask.astype("float32"))
    np.testing.assert_allclose(ops.to_numpy(layers.Softmax()(ops.convert_to_tensor(X3), mask=float_mask)), theirs,
                               rtol=1e-5, atol=1e-6)


def test_softmax_mask_broadcasts_as_keras_and_refuses_what_keras_refuses(engine):
    keras = import_keras()
    mask = np.random.default_rng(4).random((2, 1, 3)) > 0.3
    theirs = np.asarray(keras.layers.Softmax(axis=1)(X3, mask=mask))
    ours = ops.to_numpy(layers.Softmax(axis=1)(ops.convert_to_tensor(X3), mask=ops.convert_to_tensor(mask)))
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    sequence_mask = np.ones((2, 5), bool)
    with pytest.raises(ValueError):
        keras.layers.Softmax()(X3, mask=sequence_mask)
    with pytest.raises(ValueError, match=r"expected a mask that broadcasts to the inputs .* received inputs of "
                                         r"shape \(2, 5, 3\) and a mask of shape \(2, 5\)"):
        layers.Softmax()(ops.convert_to_tensor(X3), mask=ops.convert_to_tensor(sequence_mask))


def test_prelu_alpha_layout_and_leaky_alpha_alias(engine):
    layer = layers.PReLU(shared_axes=[1, 2])
    layer.build((None, 4, 4, 3))
    assert [(w.name, tuple(w.shape)) for w in layer.weights] == [("alpha", (1, 1, 3))]
    assert layer.input_spec.axes == {3: 3} and layer.input_spec.ndim == 4
    with pytest.warns(UserWarning, match="alpha"):
        assert layers.LeakyReLU(alpha=0.1).negative_slope == 0.1
    x = polykeras.Input((6, 3))
    assert layers.PReLU(shared_axes=1)(x).shape == (None, 6, 3)


@pytest.mark.parametrize("factory, message", [
    (lambda: layers.ReLU(max_value=-1.0),
     "expected max_value to be None or a non-negative number, received max_value=-1.0"),
    (lambda: layers.ReLU(negative_slope=-0.1), "expected negative_slope to be a non-negative number"),
    (lambda: layers.ReLU(threshold=None), "expected threshold to be a non-negative number, received threshold=None"),
    (lambda: layers.LeakyReLU(negative_slope=None), "expected negative_slope to be a non-negative number"),
    (lambda: layers.ELU(alpha="big"), "expected alpha to be a number, received alpha='big'"),
    (lambda: layers.Softmax(axis="last"), "expected axis as an int or a list of ints, received axis='last'"),
    (lambda: layers.PReLU(shared_axes="all"), "expected shared_axes as None, an int or a list of ints"),
    (lambda: layers.PReLU(shared_axes=[3]).build((None, 4, 2)), "expected shared_axes between 1 and 2"),
    (lambda: layers.PReLU().build((None, None, 2)), "the non-shared axes need known sizes"),
])
def test_bad_arguments_name_the_layer(engine, factory, message):
    with pytest.raises(ValueError, match=r"^\w+ '\w+': " + message.replace("(", r"\(").replace(")", r"\)")):
        factory()


MERGES = [("add", {}), ("subtract", {}), ("multiply", {}), ("average", {}), ("maximum", {}), ("minimum", {}),
          ("concatenate", {}), ("concatenate", {"axis": 1}), ("dot", {"axes": 2}),
          ("dot", {"axes": 1, "normalize": True})]


@pytest.mark.parametrize("name, kwargs", MERGES, ids=[f"{n}{k}" for n, k in MERGES])
def test_merge_helpers_match_keras_on_data_and_graphs(engine, name, kwargs):
    keras = import_keras()
    rng = np.random.default_rng(3)
    a, b = (rng.standard_normal((2, 4, 3)).astype("float32") for _ in range(2))
    theirs = np.asarray(getattr(keras.layers, name)([a, b], **kwargs))
    ours = ops.to_numpy(getattr(layers, name)([ops.convert_to_tensor(a), ops.convert_to_tensor(b)], **kwargs))
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)
    k_in, p_in = [keras.Input((4, 3)) for _ in range(2)], [polykeras.Input((4, 3)) for _ in range(2)]
    assert (tuple(getattr(layers, name)(p_in, **kwargs).shape)
            == tuple(getattr(keras.layers, name)(k_in, **kwargs).shape))
    named = getattr(layers, name)(p_in, name=f"merge_{name}", **kwargs)
    assert named.node.layer.name == f"merge_{name}"
