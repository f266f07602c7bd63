"""The multi-tensor rules (``Backend.sgd_update`` / ``adam_update`` /
``rmsprop_update``): an engine's own kernels (in place where it has them) give
the numbers of the portable definitions, forced with
``polykeras.backends.composite()``, through whole optimizer steps."""

from __future__ import annotations

import numpy as np
import pytest

import polykeras.backends as B
from conformance.tolerances import assert_close
from polykeras import ops

from .test_rules import fixed_data, make

FUSED = [
    ("sgd", "SGD", {"learning_rate": 0.1}),
    ("sgd-momentum", "SGD", {"learning_rate": 0.1, "momentum": 0.9}),
    ("sgd-nesterov", "SGD", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}),
    ("adam", "Adam", {"learning_rate": 0.01}),
    ("adam-amsgrad", "Adam", {"learning_rate": 0.01, "amsgrad": True}),
    ("adamw", "AdamW", {"learning_rate": 0.01, "weight_decay": 0.1}),
    ("rmsprop", "RMSprop", {"learning_rate": 0.01}),
    ("rmsprop-momentum-centered", "RMSprop", {"learning_rate": 0.01, "momentum": 0.5, "centered": True}),
    ("sgd-momentum-accumulate", "SGD", {"learning_rate": 0.1, "momentum": 0.9, "gradient_accumulation_steps": 3}),
    ("adam-accumulate-ema", "Adam", {"learning_rate": 0.01, "gradient_accumulation_steps": 2, "use_ema": True,
                                     "ema_overwrite_frequency": 2}),
]


def _train(name, kwargs, weights, grads):
    opt, variables = make(name, kwargs, weights)
    for step in grads:
        opt.apply([ops.convert_to_tensor(g) for g in step], variables)
    return [v.numpy() for v in variables + opt.variables]


@pytest.mark.parametrize("case", FUSED, ids=[c[0] for c in FUSED])
def test_native_rule_matches_portable(engine, case):
    _, name, kwargs = case
    weights, grads = fixed_data(5)
    native = _train(name, kwargs, weights, grads)
    with B.composite():
        portable = _train(name, kwargs, weights, grads)
    for got, want in zip(native, portable):
        assert_close(got, want.astype(np.float64), "transcendental", str(want.dtype),
                     err_msg=f"{name}: native vs portable")


def test_update_step_runs_the_rule_on_one_variable(engine):
    weights, grads = fixed_data(6)
    opt, variables = make("Adam", {"learning_rate": 0.1}, weights)
    opt.build(variables)
    lr = ops.convert_to_tensor(np.float32(0.1))
    opt.update_step(ops.convert_to_tensor(grads[0][1]), variables[1], lr)
    # first Adam step: w -= lr * m / (sqrt(v) + eps) * sqrt(1 - b2) / (1 - b1) ~= lr * sign(g)
    expected = weights[1] - 0.1 * np.sign(grads[0][1]) * (
        np.abs(grads[0][1]) / (np.abs(grads[0][1]) + 1e-7 / np.sqrt(1e-3)))
    assert_close(variables[1].numpy(), expected.astype(np.float64), "transcendental", "float32")
    np.testing.assert_array_equal(variables[0].numpy(), weights[0])


@pytest.mark.parametrize("amsgrad", [False, True], ids=["adam", "amsgrad"])
def test_adam_on_transposed_gradients_matches_portable(engine, amsgrad):
    # A transposed view is not contiguous on every engine: the fused kernels
    # walk memory in order, so they must copy it first (or not take it).
    weights, grads = fixed_data(7, shapes=[(3, 4), (4, 2)])

    def train():
        opt, variables = make("Adam", {"learning_rate": 0.01, "amsgrad": amsgrad}, weights)
        for step in grads:
            opt.apply([ops.transpose(ops.convert_to_tensor(np.ascontiguousarray(g.T))) for g in step], variables)
        return [v.numpy() for v in variables + opt.variables]

    native = train()
    with B.composite():
        portable = train()
    for got, want in zip(native, portable):
        assert_close(got, want.astype(np.float64), "transcendental", str(want.dtype), err_msg="transposed grads")
