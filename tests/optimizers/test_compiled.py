"""The optimizer inside a compiled pure step: ``ops.jit`` of a function that
runs ``apply`` in a StatelessScope (the form the trainer uses on JAX) gives
the eager numbers, leaves the handles untouched, and ``stateless_apply``
matches it, on every differentiable engine."""

from __future__ import annotations

import numpy as np
import pytest

from conformance.tolerances import assert_close
from polykeras import ops, optimizers
from polykeras.optimizers import schedules
from polykeras.variables import StatelessScope, Variable

from ._reference import CASES, run
from .test_rules import fixed_data, make

EXTRA = [
    ("adamw-clipnorm", "AdamW", {"learning_rate": 0.01, "clipnorm": 0.5}),
    ("sgd-global-clipnorm-schedule", "SGD",
     {"learning_rate": schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5), "global_clipnorm": 1.0}),
]
ALL = CASES + EXTRA


def pure_step(opt, variables):
    """``step(state, grads) -> state`` over the trainable and optimizer values."""
    state_vars = list(variables) + opt.variables

    def step(state, grads):
        with StatelessScope(list(zip(state_vars, state))) as scope:
            opt.apply(grads, variables)
        return [scope.get_current_value(v) for v in state_vars]

    return state_vars, step


def jit_against_eager(name, kwargs, weights, grads, label):
    """``opt.apply`` compiled through a StatelessScope (:func:`pure_step`) and
    eagerly on a twin optimizer: every state value agrees in dtype and
    numbers, the state paths match, and the compiled run never wrote a
    handle. Returns ``(opt, variables, state_vars, state)``.

    Example: ``opt, variables, state_vars, state = jit_against_eager("SGD", {}, weights, grads, "sgd")``
    """
    opt, variables = make(name, kwargs, weights)
    eager_opt, eager_vars = make(name, kwargs, weights)
    opt.build(variables)
    state_vars, step = pure_step(opt, variables)
    compiled = ops.jit(step)
    state = [v.value for v in state_vars]
    initial = [v.numpy() for v in state_vars]
    for step_grads in grads:
        tensors = [ops.convert_to_tensor(g) for g in step_grads]
        state = compiled(state, tensors)
        eager_opt.apply(tensors, eager_vars)
    # the same state under each optimizer's own name (the twin's is numbered: sgd, sgd_1)
    assert [v.path.split("/", 1)[1] for v in eager_opt.variables] == [v.path.split("/", 1)[1] for v in opt.variables]
    for v, got, want in zip(state_vars, state, eager_vars + eager_opt.variables):
        assert ops.dtype(got) == v.dtype, v.path
        assert_close(ops.to_numpy(got), want.numpy().astype(np.float64), "transcendental", v.dtype,
                     err_msg=f"{label}: {v.path} compiled vs eager")
    for v, before in zip(state_vars, initial):  # the handles were never written
        np.testing.assert_array_equal(v.numpy(), before, err_msg=v.path)
    return opt, variables, state_vars, state


@pytest.mark.parametrize("case", ALL, ids=[c[0] for c in ALL])
def test_apply_in_jit_through_stateless_scope(diff_engine, case):
    _, name, kwargs = case
    weights, grads = fixed_data(3)
    _, variables, _, state = jit_against_eager(name, kwargs, weights, grads, name)
    assert int(ops.to_numpy(state[len(variables)])) == len(grads)  # iterations


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_stateless_apply_in_jit_matches_the_numpy_rule(diff_engine, case):
    _, name, kwargs = case
    weights, grads = fixed_data(4)
    opt, variables = make(name, kwargs, weights)
    opt.build(variables)

    def step(trainable, optimizer_state, grads):
        return opt.stateless_apply(optimizer_state, grads, trainable)

    compiled = ops.jit(step)
    trainable = [v.value for v in variables]
    optimizer_state = [v.value for v in opt.variables]
    for step_grads in grads:
        trainable, optimizer_state = compiled(trainable, optimizer_state,
                                              [ops.convert_to_tensor(g) for g in step_grads])
    expected_w, _ = run(name, kwargs, weights, grads)[-1]
    for got, want in zip(trainable, expected_w):
        assert_close(ops.to_numpy(got), want, "transcendental", "float32", err_msg=f"{name} stateless_apply")
    np.testing.assert_array_equal(variables[0].numpy(), weights[0])


def test_stateless_apply_checks_its_inputs(diff_engine):
    weights, _ = fixed_data()
    opt, variables = make("Adam", {}, weights)
    with pytest.raises(ValueError, match="stateless_apply: expected a built optimizer"):
        opt.stateless_apply([], [], [])
    opt.build(variables)
    with pytest.raises(ValueError, match=r"adam.stateless_apply: expected 6 optimizer values and 2 trainable "
                                         r"values, received 1 and 2"):
        opt.stateless_apply([opt.variables[0].value], [None, None], [v.value for v in variables])


def test_constraint_inside_jit(diff_engine):
    w = Variable(np.array([0.5, 2.0], "float32"), name="w", constraint=lambda x: ops.maximum(x, 0.0))
    opt = optimizers.SGD(learning_rate=1.0)
    opt.build([w])
    state_vars, step = pure_step(opt, [w])
    state = ops.jit(step)([v.value for v in state_vars], [ops.convert_to_tensor(np.float32([1.0, 1.0]))])
    assert_close(ops.to_numpy(state[0]), np.array([0.0, 1.0]), "elementwise", "float32")
