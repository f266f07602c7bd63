"""to_categorical, normalize and pad_sequences against Keras 3, and their
engine-tensor paths on every engine."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from polykeras import ops
from polykeras.utils import normalize, pad_sequences, to_categorical


@pytest.fixture(scope="module")
def keras_utils():
    return pytest.importorskip("keras").utils


@pytest.mark.parametrize("x,num_classes", [([0, 1, 2, 3], None), ([[1], [2], [0]], 4), ([[0, 2], [1, 1]], 3),
                                           (np.array([1.0, 2.0]), None), (np.arange(6).reshape(2, 3, 1), 6)])
def test_to_categorical_matches_keras(keras_utils, x, num_classes):
    expected = keras_utils.to_categorical(x if isinstance(x, list) else x.tolist(), num_classes)
    ours = to_categorical(x, num_classes)
    assert ours.shape == expected.shape and ours.dtype == np.float64
    np.testing.assert_array_equal(ours, expected)


def test_to_categorical_on_engine_tensors(engine):
    labels = ops.convert_to_tensor(np.array([[2], [0], [1]], dtype="int32"))
    result = to_categorical(labels)
    # NumPy in gives Keras' NumPy result (float64); the NumPy engine's tensors are NumPy arrays
    assert ops.is_tensor(result) and ops.dtype(result) == ("float64" if isinstance(labels, np.ndarray) else "float32")
    np.testing.assert_array_equal(ops.to_numpy(result), np.eye(3)[[2, 0, 1]])
    np.testing.assert_array_equal(ops.to_numpy(to_categorical(labels, 5)), np.eye(5)[[2, 0, 1]])


def test_to_categorical_errors():
    with pytest.raises(ValueError, match=r"class ids in \[0, 2\)"):
        to_categorical([0, 3], num_classes=2)
    with pytest.raises(ValueError, match="positive integer num_classes"):
        to_categorical([0, 1], num_classes=0)
    with pytest.raises(ValueError, match="integer class ids"):
        to_categorical(["cat"])


@pytest.mark.parametrize("axis,order", [(-1, 2), (1, 2), (-1, 1), (1, 3)])
def test_normalize_matches_keras(keras_utils, axis, order):
    x = np.random.default_rng(0).normal(size=(4, 5))
    x[1] = 0.0  # a zero row stays zero
    np.testing.assert_allclose(normalize(x, axis, order), keras_utils.normalize(x, axis, order), rtol=1e-12)


def test_normalize_along_axis_0():
    # Keras 3.15 reads axis=0 as -1 ("axis or -1") and fails on a non-square array; polykeras honours it
    x = np.array([[3.0, 1.0, 0.0], [4.0, 0.0, 0.0]])
    np.testing.assert_allclose(normalize(x, axis=0), [[0.6, 1.0, 0.0], [0.8, 0.0, 0.0]])


def test_normalize_on_engine_tensors(engine):
    x = np.random.default_rng(1).normal(size=(3, 4)).astype("float32")
    x[0] = 0.0
    for order in (1, 2):
        result = normalize(ops.convert_to_tensor(x), order=order)
        assert ops.is_tensor(result)
        np.testing.assert_allclose(ops.to_numpy(result), normalize(x.astype("float64"), order=order), atol=1e-6)
    with pytest.raises(ValueError, match="positive integer order"):
        normalize(x, order=0)


PAD_CASES = [
    ([[1, 2, 3], [4], [5, 6]], {}),
    ([[1, 2, 3], [4], [5, 6]], {"maxlen": 2}),
    ([[1, 2, 3], [4], [5, 6]], {"maxlen": 2, "padding": "post", "truncating": "post"}),
    ([[1, 2, 3], [4], []], {"maxlen": 4, "value": -1, "padding": "post"}),
    ([[0.5, 1.5], [2.5]], {"dtype": "float32", "value": 9.0}),
    ([[[1, 2], [3, 4]], [[5, 6]]], {}),
    ([["a", "bb"], ["c"]], {"dtype": object, "value": "x"}),
    ([[1, 2, 3], [4, 5]], {"maxlen": 1, "truncating": "post"}),
]


@pytest.mark.parametrize("sequences,kwargs", PAD_CASES)
def test_pad_sequences_matches_keras(keras_utils, sequences, kwargs):
    expected = keras_utils.pad_sequences(sequences, **kwargs)
    ours = pad_sequences(sequences, **kwargs)
    assert ours.dtype == expected.dtype and ours.shape == expected.shape
    np.testing.assert_array_equal(ours, expected)


def test_pad_sequences_is_where_keras_has_it():
    import polykeras
    from polykeras.utils import sequence_utils

    assert polykeras.utils.pad_sequences is sequence_utils.pad_sequences


def test_pad_sequences_errors():
    with pytest.raises(ValueError, match="padding='pre' or 'post'"):
        pad_sequences([[1]], padding="middle")
    with pytest.raises(ValueError, match="every entry to be a sequence"):
        pad_sequences([[1], 2])
    with pytest.raises(ValueError, match="needs dtype=object"):
        pad_sequences([[1]], value="x")
    with pytest.raises(ValueError, match=r"items of shape \(3,\)"):
        pad_sequences([[[1, 2]], [[1, 2, 3]]])


@given(sequences=st.lists(st.lists(st.integers(-50, 50), max_size=6), min_size=1, max_size=5),
       maxlen=st.one_of(st.none(), st.integers(1, 7)), padding=st.sampled_from(["pre", "post"]),
       truncating=st.sampled_from(["pre", "post"]), value=st.integers(-3, 3))
def test_pad_sequences_matches_keras_on_random_lists(sequences, maxlen, padding, truncating, value):
    keras = pytest.importorskip("keras")
    if maxlen is None and not any(sequences):
        return  # Keras cannot pad to an empty maximum length
    kwargs = dict(maxlen=maxlen, padding=padding, truncating=truncating, value=value)
    np.testing.assert_array_equal(pad_sequences(sequences, **kwargs), keras.utils.pad_sequences(sequences, **kwargs))
