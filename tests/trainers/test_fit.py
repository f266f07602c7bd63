"""compile/fit/evaluate/predict on every differentiable engine."""

from __future__ import annotations

import numpy as np
import pytest

import polykeras as pk
from polykeras import layers, ops
from polykeras.callbacks import Callback


def _blobs(n=256, features=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((classes, features)) * 3
    y = rng.integers(0, classes, n)
    x = (centres[y] + rng.standard_normal((n, features))).astype("float32")
    return x, y.astype("int32")


def _classifier(features=6, classes=3, seed=1):
    pk.random.set_seed(seed)
    x = pk.Input((features,))
    h = layers.Dense(16, activation="relu")(x)
    return pk.Model(x, layers.Dense(classes)(h))


def test_fit_learns_and_reports(diff_engine):
    x, y = _blobs()
    model = _classifier()
    model.compile(pk.optimizers.Adam(0.02), pk.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    history = model.fit(x, y, batch_size=32, epochs=8, verbose=0, validation_split=0.25)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert history.history["loss"][-1] < history.history["loss"][0] * 0.5
    loss, accuracy = model.evaluate(x, y, verbose=0)
    assert accuracy > 0.9 and loss < 0.5
    logits = model.predict(x[:10], batch_size=4, verbose=0)
    assert logits.shape == (10, 3)
    np.testing.assert_allclose(logits, ops.to_numpy(model(x[:10])), rtol=1e-5, atol=1e-5)


def test_two_outputs_with_dict_losses_and_weights(diff_engine):
    x, y = _blobs(n=128)
    inputs = pk.Input((6,))
    h = layers.Dense(8, activation="relu")(inputs)
    cls = layers.Dense(3, name="cls")(h)
    reg = layers.Dense(1, name="reg")(h)
    model = pk.Model(inputs, {"cls": cls, "reg": reg})
    model.compile("adam", loss={"cls": pk.losses.SparseCategoricalCrossentropy(from_logits=True), "reg": "mse"},
                  loss_weights={"cls": 1.0, "reg": 0.5}, metrics={"cls": ["accuracy"]})
    target = {"cls": y, "reg": x[:, :1]}
    logs = model.evaluate(x, target, verbose=0, return_dict=True)
    assert {"loss", "cls_loss", "reg_loss", "cls_accuracy"} <= set(logs)
    np.testing.assert_allclose(logs["loss"], logs["cls_loss"] + 0.5 * logs["reg_loss"], rtol=1e-4)
    model.fit(x, target, epochs=3, batch_size=32, verbose=0)


def test_regularization_losses_join_the_total(diff_engine):
    x, y = _blobs(n=64)
    inputs = pk.Input((6,))
    model = pk.Model(inputs, layers.Dense(3, kernel_regularizer=pk.regularizers.L2(1.0))(inputs))
    model.compile("sgd", pk.losses.SparseCategoricalCrossentropy(from_logits=True))
    plain = pk.losses.SparseCategoricalCrossentropy(from_logits=True)(y, model(x))
    penalty = float(np.sum(model.layers[1].kernel.numpy() ** 2))
    total = model.evaluate(x, y, batch_size=64, verbose=0)
    np.testing.assert_allclose(total, float(ops.to_numpy(plain)) + penalty, rtol=1e-4)


def test_sample_and_class_weights(diff_engine):
    x, y = _blobs(n=64)
    model = _classifier()
    model.compile("sgd", pk.losses.SparseCategoricalCrossentropy(from_logits=True))
    base = model.evaluate(x, y, batch_size=64, verbose=0)
    doubled = model.evaluate(x, y, sample_weight=np.full(64, 2.0, "float32"), batch_size=64, verbose=0)
    np.testing.assert_allclose(doubled, 2 * base, rtol=1e-5)
    model.fit(x, y, class_weight={0: 1.0, 1: 2.0, 2: 0.5}, epochs=1, verbose=0)


def test_generator_and_iterable_data(diff_engine):
    x, y = _blobs(n=96)
    model = _classifier()
    model.compile("adam", pk.losses.SparseCategoricalCrossentropy(from_logits=True))

    def batches():
        while True:
            for i in range(0, 96, 32):
                yield x[i:i + 32], y[i:i + 32]

    history = model.fit(batches(), steps_per_epoch=3, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    class Batches:  # a re-iterable source, like a DataLoader
        def __iter__(self):
            return ((x[i:i + 32], y[i:i + 32]) for i in range(0, 96, 32))

    assert np.isfinite(model.evaluate(Batches(), verbose=0))
    model.fit(Batches(), epochs=2, verbose=0)


def test_train_and_test_on_batch(diff_engine):
    x, y = _blobs(n=32)
    model = _classifier()
    model.compile("adam", pk.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    first = model.train_on_batch(x, y, return_dict=True)
    for _ in range(20):
        last = model.train_on_batch(x, y, return_dict=True)
    assert last["loss"] < first["loss"]
    assert set(model.test_on_batch(x, y, return_dict=True)) == {"loss", "accuracy"}
    assert model.predict_on_batch(x).shape == (32, 3)


def test_custom_train_step(diff_engine):
    calls = []

    class Counting(pk.Model):
        def train_step(self, data):
            calls.append(1)
            return super().train_step(data)

    x, y = _blobs(n=64)
    inputs = pk.Input((6,))
    model = Counting(inputs, layers.Dense(3)(inputs))
    model.compile("sgd", pk.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    assert calls  # traced or run at least once


def test_custom_training_loop(diff_engine):
    x, y = _blobs(n=64)
    model = _classifier()
    model(x[:1])
    optimizer = pk.optimizers.Adam(0.05)
    loss_fn = pk.losses.SparseCategoricalCrossentropy(from_logits=True)
    weights = model.trainable_variables
    losses = []
    for _ in range(30):
        def compute(values):
            with pk.variables.StatelessScope(zip(weights, values)):
                return loss_fn(y, model(x, training=True))

        loss, grads = ops.value_and_grad(compute)([w.value for w in weights])
        optimizer.apply(grads, weights)
        losses.append(float(ops.to_numpy(loss)))
    assert losses[-1] < losses[0] * 0.5


def test_callbacks_see_the_model_and_can_stop(diff_engine):
    x, y = _blobs(n=64)
    model = _classifier()
    model.compile("adam", pk.losses.SparseCategoricalCrossentropy(from_logits=True))

    class StopAfterTwo(Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                self.model.stop_training = True

    history = model.fit(x, y, epochs=10, verbose=0, callbacks=[StopAfterTwo()])
    assert len(history.history["loss"]) == 2


def test_bad_inputs_stop_before_the_first_step(diff_engine):
    x, y = _blobs(n=32)
    model = _classifier()
    model.compile("adam", pk.losses.SparseCategoricalCrossentropy(from_logits=True))
    with pytest.raises(ValueError, match="same number of samples.*32.*31"):
        model.fit(x, y[:31], verbose=0)
    with pytest.raises(ValueError, match="empty"):
        model.fit(x[:0], y[:0], verbose=0)
    with pytest.raises(ValueError, match=r"labels in \[0, 3\).*7"):
        model.fit(x, np.full(32, 7, "int32"), verbose=0)
    with pytest.raises(ValueError, match=r"expected shape \(None, 6\)"):
        model.fit(x[:, :5], y, verbose=0)
    with pytest.raises(RuntimeError, match="compile"):
        _classifier().fit(x, y, verbose=0)


def test_a_variable_assigned_another_ones_value_trains_on_its_own(diff_engine):
    """Tied by assignment (JAX then shares one buffer between the two, which a
    compiled step cannot donate twice): both train, each from its own gradient."""
    model = pk.Sequential([layers.Input((4,)), layers.Dense(4), layers.Dense(4)])
    model.compile(pk.optimizers.SGD(0.1), "mse")
    first, second = model.layers[0].kernel, model.layers[1].kernel
    second.assign(first.value)
    x = np.random.default_rng(0).normal(size=(8, 4)).astype("float32")
    model.fit(x, x, batch_size=8, epochs=2, verbose=0)
    assert np.abs(first.numpy() - second.numpy()).max() > 1e-4  # they no longer move together
    assert np.isfinite(model.evaluate(x, x, verbose=0))
