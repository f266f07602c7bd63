"""The Layer base on every engine, calls: training flow, positional
arguments, masks, stateless calls inside compiled steps, gradients, symbolic
calls."""

from __future__ import annotations

import numpy as np

from polykeras import ops
from polykeras.layers import Layer, get_mask, set_mask
from polykeras.variables import StatelessScope

from ._toy_layers import Counter, Linear, Outer
from ._toy_layers import sample as _x


# ------------------------------------------------------------------ training
def test_training_flows_from_outer_call_and_defaults(engine):
    outer = Outer()
    outer(_x(), training=True)
    outer(_x())
    assert outer.probe.seen == [True, False]  # call's default when nobody says


# ------------------------------------------------------------------- masks
def test_mask_propagation(engine):
    class MaskMaker(Layer):
        def call(self, x):
            return x

        def compute_mask(self, inputs, previous_mask=None):
            return ops.not_equal(inputs[..., 0], 0.0)

    class MaskUser(Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True
            self.received = None

        def call(self, x, mask=None):
            self.received = mask
            return x * 2.0

    x = np.array([[[1.0], [0.0], [2.0]]], "float32")
    y = MaskMaker()(x)
    user = MaskUser()
    z = user(y)
    np.testing.assert_array_equal(ops.to_numpy(user.received), [[True, False, True]])
    np.testing.assert_array_equal(ops.to_numpy(get_mask(z)), [[True, False, True]])
    t = ops.ones((2,))
    set_mask(t, None)
    assert get_mask(t) is None


# ------------------------------------------------------- stateless + compile
def test_stateless_call_records_state_updates(engine):
    layer = Counter()
    layer(_x(), training=False)
    values = [ops.convert_to_tensor(v.numpy()) for v in layer.variables]
    with StatelessScope(list(zip(layer.variables, values))) as scope:
        layer(_x(), training=True)
    assert float(layer.count.numpy()) == 0.0  # untouched
    assert float(ops.to_numpy(scope.get_current_value(layer.count))) == 1.0
    assert {id(v) for v, _ in scope.updates} == {id(layer.count), id(layer.moving_mean)}


def test_stateless_scope_inside_jit(diff_engine):
    layer = Counter()
    x = _x((4, 3))
    layer(x)
    variables = layer.variables

    def step(values, batch):
        with StatelessScope(list(zip(variables, values))) as scope:
            y = layer(batch, training=True)
        return y, [scope.get_current_value(v) for v in variables]

    compiled = ops.jit(step)
    values = [ops.convert_to_tensor(v.numpy()) for v in variables]
    for _ in range(3):
        y, values = compiled(values, ops.convert_to_tensor(x))
    by_name = {v.name: ops.to_numpy(val) for v, val in zip(variables, values)}
    assert float(by_name["count"]) == 3.0
    expected = np.zeros(3)
    for _ in range(3):
        expected = expected * 0.9 + x.mean(axis=0) * 0.1
    np.testing.assert_allclose(by_name["moving_mean"], expected, rtol=1e-5)
    assert float(layer.count.numpy()) == 0.0  # the layer's own state is untouched
    np.testing.assert_allclose(ops.to_numpy(y), x, rtol=1e-6)


def test_gradients_through_stateless_scope(diff_engine):
    layer = Linear(2)
    x = _x((3, 4))
    layer(x)
    trainable = layer.trainable_weights

    def loss(values):
        with StatelessScope(list(zip(trainable, values))):
            return ops.sum(layer(x) ** 2)

    value, grads = ops.value_and_grad(loss)([ops.convert_to_tensor(v.numpy()) for v in trainable])
    kernel, bias = layer.get_weights()
    y = x @ kernel + bias
    np.testing.assert_allclose(ops.to_numpy(grads[0]), x.T @ (2 * y), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ops.to_numpy(grads[1]), (2 * y).sum(0), rtol=1e-4, atol=1e-5)


def test_compute_output_shape_default_traces_without_state_change(engine):
    layer = Counter()
    assert layer.compute_output_shape((None, 3)) == (None, 3)
    assert float(layer.count.numpy()) == 0.0 and layer.losses == []


def test_symbolic_call_leaves_state_untouched(engine):
    from polykeras.layers import Input

    layer = Counter()
    out = layer(Input((3,)), training=True)
    assert tuple(out.shape) == (None, 3) and layer.built
    assert float(layer.count.numpy()) == 0.0 and layer.losses == []


def test_training_and_mask_passed_by_position(engine):
    class Positional(Layer):
        def call(self, x, training=None, mask=None):
            self.got = (training, mask)
            return x

    layer = Positional()
    layer(_x(), True)
    assert layer.got == (True, None)
    outer = Outer()
    outer(_x(), True)
    assert outer.probe.seen == [True]
