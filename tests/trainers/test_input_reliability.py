"""Hostile and broken training inputs are refused with errors that name the
model, the input, what was expected and what was received, on every engine,
also after a compiled step was traced for good inputs."""

from __future__ import annotations

import numpy as np
import pytest

import polykeras as pk
from polykeras import layers
from polykeras.ops._dispatch import describe


def _model(name="net", loss="mse"):
    pk.random.set_seed(0)
    x = pk.Input((4,), name="feats")
    model = pk.Model(x, layers.Dense(3)(x), name=name)
    model.compile("sgd", loss)
    return model


X = np.ones((10, 4), "float32")
Y = np.ones((10, 3), "float32")


@pytest.mark.parametrize("bad_x, received", [(np.ones((10, 4, 2), "float32"), "(4, 4, 2)"),
                                             (np.ones((10, 5), "float32"), "(4, 5)")])
def test_wrong_input_after_a_traced_evaluate_names_the_input(engine, bad_x, received):
    # Batches of 4 then 2 make TensorFlow retrace with relaxed (unknown) sizes;
    # the bad input must still be stopped by the model's check, not crash in
    # the error's formatting or surface as a shape error deep in the step.
    model = _model()
    model.evaluate(X, Y, batch_size=4, verbose=0)
    with pytest.raises(ValueError, match=rf"Model 'net': input 'feats' expected shape \(None, 4\), received "
                                         rf"shape {received.replace('(', '[(]').replace(')', '[)]')}"):
        model.evaluate(bad_x, Y, batch_size=4, verbose=0)


@pytest.mark.parametrize("bad_x", [np.ones((10, 4, 2), "float32"), np.ones((10, 5), "float32")])
def test_wrong_input_after_a_good_fit_names_the_input(diff_engine, bad_x):
    model = _model()
    model.fit(X, Y, batch_size=4, verbose=0)
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError, match=r"Model 'net': input 'feats' expected shape \(None, 4\), received shape"):
        model.fit(bad_x, Y, batch_size=4, verbose=0)
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)


def test_a_traced_function_given_another_rank_names_the_input(diff_engine):
    model = _model()
    step = diff_engine.jit(lambda x: model(x))
    step(np.ones((4, 4), "float32"))
    step(np.ones((2, 4), "float32"))
    with pytest.raises(ValueError, match=r"Model 'net': input 'feats' expected shape \(None, 4\), received"):
        step(np.ones((3, 4, 2), "float32"))


def test_describing_a_shape_of_unknown_rank_does_not_fail():
    class UnknownRank:
        dtype = "float32"

        @property
        def shape(self):
            class Shape:
                def __iter__(self):
                    raise ValueError("Cannot iterate over a shape with unknown rank.")
            return Shape()

    assert describe(UnknownRank()) == "tensor(shape=<unknown rank>, dtype=float32)"


@pytest.mark.parametrize("bad, kind", [(np.array([["a"] * 4] * 10), "U1"),
                                       (np.array([[1, 2, 3, "a"]] * 10, dtype=object), "O")])
def test_string_and_object_inputs_name_the_input_and_dtypes(engine, bad, kind):
    with pytest.raises(ValueError, match=rf"numeric or bool arrays for x \(input 'feats'\), received dtype {kind}"):
        _model().fit(bad, Y, verbose=0)
    pk.random.set_seed(0)
    a, b = pk.Input((4,), name="a"), pk.Input((4,), name="b")
    two = pk.Model([a, b], layers.Add()([a, b]))
    two.compile("sgd", "mse")
    with pytest.raises(ValueError, match=rf"x\[1\] \(input 'b'\), received dtype {kind}"):
        two.fit([X, bad], np.ones((10, 4), "float32"), verbose=0)
    with pytest.raises(ValueError, match=rf"for y, received dtype {kind}"):
        _model().evaluate(X, bad[:, :3], verbose=0)


def test_string_batches_from_a_generator_are_refused(engine):
    batches = [(np.array([["a"] * 4] * 2), Y[:2])]
    with pytest.raises(ValueError, match=r"for a batch's x, received dtype U1"):
        _model().evaluate(iter(batches), verbose=0)


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, "8", True])
def test_batch_size_must_be_a_positive_int(engine, batch_size):
    model = _model()
    for call in (lambda: model.fit(X, Y, batch_size=batch_size, verbose=0),
                 lambda: model.evaluate(X, Y, batch_size=batch_size, verbose=0),
                 lambda: model.predict(X, batch_size=batch_size, verbose=0)):
        with pytest.raises(ValueError, match=rf"batch_size should be a positive integer value, but got "
                                             rf"batch_size={batch_size!r}"):
            call()


def test_numpy_integer_batch_size_is_accepted(engine):
    assert _model().predict(X, batch_size=np.int64(4), verbose=0).shape == (10, 3)


@pytest.mark.parametrize("labels", [np.full((10,), 3), np.full((10,), -1), np.arange(10)])
def test_sparse_labels_out_of_range_are_refused_before_training(engine, labels):
    model = _model(loss="sparse_categorical_crossentropy")
    before = [w.copy() for w in model.get_weights()] if model.built else None
    with pytest.raises(ValueError, match=r"Model 'net': expected sparse labels in \[0, 3\)"):
        model.fit(X, labels, verbose=0)
    if before is not None:
        for old, new in zip(before, model.get_weights()):
            np.testing.assert_array_equal(old, new)


def test_sparse_labels_are_checked_on_every_call_not_only_the_first(engine):
    model = _model(loss="sparse_categorical_crossentropy")
    model.evaluate(X, np.full((10,), 2), verbose=0)
    with pytest.raises(ValueError, match=r"Model 'net': expected sparse labels in \[0, 3\) for output of shape "
                                         r"\(None, 3\), received label 5"):
        model.evaluate(X, np.full((10,), 5), verbose=0)


def test_later_fits_and_validation_data_check_sparse_labels(diff_engine):
    model = _model(loss="sparse_categorical_crossentropy")
    model.fit(X, np.full((10,), 1), verbose=0)
    before = [w.copy() for w in model.get_weights()]
    for bad in ({"x": X, "y": np.full((10,), 7)},
                {"x": X, "y": np.full((10,), 1), "validation_data": (X, np.full((10,), -2))}):
        with pytest.raises(ValueError, match=r"expected sparse labels in \[0, 3\)"):
            model.fit(**bad, verbose=0)
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)
    model.compile("sgd", "mse")  # another loss: the old label range no longer applies
    model.fit(X, Y * 7, verbose=0)
