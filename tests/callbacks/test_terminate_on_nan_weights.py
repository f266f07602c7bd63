"""TerminateOnNaN gives the stopped model its last finite weights, on every
differentiable engine: the bad step's update is undone."""

from __future__ import annotations

import numpy as np
import pytest

import polykeras as pk
from polykeras import layers, ops
from polykeras.callbacks import Callback, InvalidLossError, TerminateOnNaN


class WeightsBeforeEachBatch(Callback):
    def on_train_batch_begin(self, batch, logs=None):
        self.seen = getattr(self, "seen", []) + [[w.copy() for w in self.model.get_weights()]]


def _model(loss="mse", optimizer=None):
    pk.random.set_seed(0)
    x = pk.Input((4,))
    h = layers.Dense(8, activation="relu")(x)
    model = pk.Model(x, layers.Dense(1)(layers.BatchNormalization()(h)))
    model.compile(optimizer or pk.optimizers.Adam(0.01), loss)
    return model


def _data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 4)).astype("float32")
    return x, rng.standard_normal((16, 1)).astype("float32")


def _assert_weights(model, expected):
    for new, old in zip(model.get_weights(), expected):
        assert np.isfinite(new).all()
        np.testing.assert_array_equal(new, old)


@pytest.mark.parametrize("raise_error", [False, True])
def test_a_nan_loss_leaves_the_weights_from_before_the_bad_step(diff_engine, raise_error):
    x, y = _data()
    x[8:12] = np.nan  # batch 2 of 4
    model, record = _model(), WeightsBeforeEachBatch()
    callbacks = [record, TerminateOnNaN(raise_error=raise_error)]
    if raise_error:
        with pytest.raises(InvalidLossError, match="weights restored from before batch 2"):
            model.fit(x, y, batch_size=4, shuffle=False, verbose=0, callbacks=callbacks)
    else:
        model.fit(x, y, batch_size=4, shuffle=False, verbose=0, callbacks=callbacks)
    assert len(record.seen) == 3
    _assert_weights(model, record.seen[2])
    assert int(ops.to_numpy(model.optimizer.iterations)) == 2  # the bad step's optimizer update is undone too
    model.fit(x[:8], y[:8], batch_size=4, verbose=0)  # and training goes on from there
    assert all(np.isfinite(w).all() for w in model.get_weights())


def test_weights_turned_nan_by_a_finite_loss_are_undone_too(diff_engine):
    # sqrt(0 * y_pred): the loss is 0, its gradient 0 * inf = NaN, so the
    # first step turns the weights NaN while its loss is finite; the next
    # loss is NaN. The stopped model has the weights from before the first step.
    def hidden_nan(y_true, y_pred):
        return ops.mean(ops.sqrt(y_pred * 0.0)) + ops.mean(ops.square(y_true - y_pred)) * 0.0

    x, y = _data()
    model, record = _model(hidden_nan, pk.optimizers.SGD(0.1)), WeightsBeforeEachBatch()
    model.fit(x, y, batch_size=4, shuffle=False, verbose=0, callbacks=[record, TerminateOnNaN()])
    assert not np.isfinite(record.seen[1][0]).all()  # the weights did go NaN after a finite loss
    _assert_weights(model, record.seen[0])


def test_restore_weights_false_keeps_the_bad_step(diff_engine):
    x, y = _data()
    x[4:8] = np.nan
    model = _model()
    model.fit(x, y, batch_size=4, shuffle=False, verbose=0, callbacks=[TerminateOnNaN(restore_weights=False)])
    assert not all(np.isfinite(w).all() for w in model.get_weights())


def test_a_compiled_dense_relu_keeps_nan(diff_engine):
    # TensorFlow's graph optimiser fuses MatMul + BiasAdd + Relu into a kernel
    # that turns NaN into 0: the loss looked finite while the weights went NaN.
    kernel, bias = ops.ones((2, 2)), ops.zeros((2,))
    dense_relu = diff_engine.jit(lambda x: ops.relu(ops.add(ops.matmul(x, kernel), bias)))
    out = ops.to_numpy(dense_relu(ops.convert_to_tensor(np.array([[np.nan, 1.0], [1.0, -3.0]], "float32"))))
    assert np.isnan(out[0]).all()
    np.testing.assert_array_equal(out[1], [0.0, 0.0])


CHAINS = {
    # the contraction + bias (+ residual) chains the guard covers, and a relu after
    # a normalisation, which the optimiser cannot fuse and which runs unguarded
    "conv_bias": lambda x, k, b: ops.add(ops.conv(x, k, padding="same"), b),
    "conv_bias_residual": lambda x, k, b: ops.add(ops.add(ops.conv(x, k, padding="same"), b), x),
    "normalised": lambda x, k, b: ops.batch_normalization(ops.conv(x, k, padding="same"), b, ops.ones((2,)),
                                                          axis=-1),
}


@pytest.mark.parametrize("chain", sorted(CHAINS))
def test_a_compiled_conv_relu_keeps_nan(diff_engine, chain):
    kernel, bias = ops.ones((1, 1, 2, 2)), ops.zeros((2,))
    step = diff_engine.jit(lambda x: ops.relu(CHAINS[chain](x, kernel, bias)))
    x = np.ones((1, 2, 2, 2), "float32")
    x[0, 0, 0, 0] = np.nan
    out = ops.to_numpy(step(ops.convert_to_tensor(x)))
    assert np.isnan(out[0, 0, 0]).all()
    assert np.isfinite(out[0, 1]).all() and (out[0, 1] >= 0).all()
