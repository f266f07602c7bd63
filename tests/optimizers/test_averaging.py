"""Keras 3's gradient accumulation (``gradient_accumulation_steps``) and weight
EMA (``use_ema``, ``ema_momentum``, ``ema_overwrite_frequency``) on every
engine: the NumPy statement of ``BaseOptimizer.apply`` after every call,
eagerly and inside each engine's compiled step, the state layout, the bad
arguments, ``finalize_variable_values`` at the end of ``fit`` and saving."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

import polykeras as pk
from conformance.tolerances import assert_close
from polykeras import layers, ops, optimizers
from polykeras.callbacks import Callback
from polykeras.optimizers import schedules
from polykeras.saving import load_model
from polykeras.trainers.step import compile_step
from polykeras.variables import Variable, name_scope

from ._reference import SLOTS, run_averaged
from .test_compiled import jit_against_eager
from .test_rules import fixed_data, make

CALLS = 7
SHAPES = [(3, 2), (2,)]

#: (case id, class name, constructor kwargs, the schedule as lr_at(calls) or None)
CASES = [
    ("sgd-momentum-accumulate3", "SGD", {"learning_rate": 0.05, "momentum": 0.9, "gradient_accumulation_steps": 3},
     None),
    ("adam-accumulate3", "Adam", {"learning_rate": 0.01, "gradient_accumulation_steps": 3}, None),
    ("nadam-accumulate2", "Nadam", {"learning_rate": 0.01, "gradient_accumulation_steps": 2}, None),
    ("lion-accumulate2", "Lion", {"learning_rate": 0.01, "gradient_accumulation_steps": 2}, None),
    ("sgd-schedule-accumulate3", "SGD",
     {"learning_rate": schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5), "momentum": 0.5,
      "gradient_accumulation_steps": 3}, lambda calls: 0.1 * 0.5 ** (calls / 2)),
    ("adam-ema", "Adam", {"learning_rate": 0.01, "use_ema": True, "ema_momentum": 0.9}, None),
    ("sgd-ema-overwrite3", "SGD",
     {"learning_rate": 0.1, "momentum": 0.5, "use_ema": True, "ema_momentum": 0.8, "ema_overwrite_frequency": 3},
     None),
    ("adamw-accumulate2-ema-overwrite2", "AdamW",
     {"learning_rate": 0.02, "weight_decay": 0.05, "gradient_accumulation_steps": 2, "use_ema": True,
      "ema_momentum": 0.7, "ema_overwrite_frequency": 2}, None),
    ("rmsprop-accumulate3-ema", "RMSprop",
     {"learning_rate": 0.01, "momentum": 0.5, "gradient_accumulation_steps": 3, "use_ema": True,
      "ema_momentum": 0.6}, None),
]
IDS = [c[0] for c in CASES]
EXTRA_ARGS = ("gradient_accumulation_steps", "use_ema", "ema_momentum", "ema_overwrite_frequency")


def data(seed: int = 0, calls: int = CALLS) -> tuple[list[np.ndarray], list[list[np.ndarray]]]:
    return fixed_data(seed + 101, calls, SHAPES)


def count(value) -> int:
    """A counter (Variable or tensor) as a Python int."""
    return int(value.numpy() if isinstance(value, Variable) else ops.to_numpy(value))


def check_state(opt, variables, want, what):
    """Weights, rule slots, accumulators, averages and both counters against one reference entry."""
    close = lambda got, exp, label: assert_close(got, exp, "transcendental", "float32",  # noqa: E731
                                                 err_msg=f"{what}: {label}")
    name = type(opt).__name__
    rule_kwargs = {k: v for k, v in opt.get_config().items() if k not in EXTRA_ARGS}
    for i, v in enumerate(variables):
        close(v.numpy(), want["weights"][i], f"w{i}")
        slots = opt.slots_for(v)
        expected_slots = set(SLOTS[name](rule_kwargs))
        expected_slots |= {"gradient_accumulator"} if opt.gradient_accumulation_steps else set()
        expected_slots |= {"average"} if opt.use_ema else set()
        assert set(slots) == expected_slots, what
        for slot, value in want["slots"][i].items():
            close(slots[slot].numpy(), value, f"{slot} of w{i}")
        if opt.gradient_accumulation_steps:
            close(slots["gradient_accumulator"].numpy(), want["accumulators"][i], f"gradient_accumulator of w{i}")
        if opt.use_ema:
            close(slots["average"].numpy(), want["averages"][i], f"average of w{i}")
    assert count(opt.variables[0]) == want["calls"], what
    assert count(opt.iterations) == want["updates"], what


# ------------------------------------------------------------------- eager
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_matches_the_numpy_statement_after_every_call(engine, case):
    case_id, name, kwargs, lr_at = case
    weights, grads = data()
    opt, variables = make(name, kwargs, weights)
    expected = run_averaged(name, kwargs, weights, grads, lr_at)
    for call, step_grads in enumerate(grads):
        opt.apply([ops.convert_to_tensor(g) for g in step_grads], variables)
        check_state(opt, variables, expected[call], f"{case_id} call {call + 1}")


def test_accumulation_holds_the_weights_until_the_nth_call(engine):
    weights, grads = data()
    opt, variables = make("SGD", {"learning_rate": 0.5, "gradient_accumulation_steps": 3}, weights)
    for call, step_grads in enumerate(grads[:3]):
        opt.apply([ops.convert_to_tensor(g) for g in step_grads], variables)
        if call < 2:
            np.testing.assert_array_equal(variables[0].numpy(), weights[0])
    mean = (grads[0][0].astype(np.float64) + grads[1][0] + grads[2][0]) / 3
    assert_close(variables[0].numpy(), weights[0] - 0.5 * mean, "transcendental", "float32")
    np.testing.assert_array_equal(opt.slots_for(variables[0])["gradient_accumulator"].numpy(),
                                  np.zeros(SHAPES[0], "float32"))


def test_missing_gradients_leave_their_accumulator_and_the_update_zeroes_all(engine):
    weights, grads = data()
    opt, variables = make("SGD", {"learning_rate": 0.1, "gradient_accumulation_steps": 2}, weights)
    with pytest.warns(UserWarning, match=r"no gradients for variables \['w1'\]"):
        opt.apply([ops.convert_to_tensor(grads[0][0]), None], variables)
    accumulator = opt.slots_for(variables[1])["gradient_accumulator"]
    np.testing.assert_array_equal(accumulator.numpy(), np.zeros(2, "float32"))
    assert_close(opt.slots_for(variables[0])["gradient_accumulator"].numpy(), grads[0][0].astype(np.float64),
                 "elementwise", "float32")
    opt.apply([ops.convert_to_tensor(g) for g in grads[1]], variables)  # the update: w1 moves by g1 / 2
    assert_close(variables[1].numpy(), weights[1] - 0.1 * grads[1][1].astype(np.float64) / 2,
                 "transcendental", "float32")
    for v in variables:
        np.testing.assert_array_equal(opt.slots_for(v)["gradient_accumulator"].numpy(), np.zeros(v.shape, "f4"))


# ---------------------------------------------------------------- compiled
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_inside_jit_through_a_stateless_scope(diff_engine, case):
    case_id, name, kwargs, lr_at = case
    weights, grads = data(1)
    opt, variables, state_vars, state = jit_against_eager(name, kwargs, weights, grads, case_id)
    for v, value in zip(state_vars, state):
        v.assign(value)
    check_state(opt, variables, run_averaged(name, kwargs, weights, grads, lr_at)[-1], f"{case_id} compiled")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_in_the_engines_own_compiled_step(diff_engine, case):
    """``compile_step``: tf.function assigning in place, torch eager with its
    fused kernels, JAX functionalised; the numbers of the NumPy statement."""
    case_id, name, kwargs, lr_at = case
    weights, grads = data(2)
    opt, variables = make(name, kwargs, weights)
    opt.build(variables)

    def step(step_grads):
        opt.apply(step_grads, variables)
        return {"calls": opt.variables[0].value}

    compiled = compile_step(step, variables + opt.variables)
    expected = run_averaged(name, kwargs, weights, grads, lr_at)
    for call, step_grads in enumerate(grads):
        logs = compiled([ops.convert_to_tensor(g) for g in step_grads])
        assert count(logs["calls"]) == call + 1
        check_state(opt, variables, expected[call], f"{case_id} compiled call {call + 1}")


def test_stateless_apply_in_jit_with_accumulation_and_ema(diff_engine):
    kwargs = {"learning_rate": 0.01, "gradient_accumulation_steps": 2, "use_ema": True,
              "ema_overwrite_frequency": 2, "ema_momentum": 0.5}
    weights, grads = data(3)
    opt, variables = make("Adam", kwargs, weights)
    opt.build(variables)
    compiled = ops.jit(lambda trainable, state, g: opt.stateless_apply(state, g, trainable))
    trainable, state = [v.value for v in variables], [v.value for v in opt.variables]
    for step_grads in grads:
        trainable, state = compiled(trainable, state, [ops.convert_to_tensor(g) for g in step_grads])
    want = run_averaged("Adam", kwargs, weights, grads)[-1]
    for got, expected in zip(trainable, want["weights"]):
        assert_close(ops.to_numpy(got), expected, "transcendental", "float32", err_msg="stateless_apply")
    assert count(state[0]) == CALLS


# ------------------------------------------------------------------ layout
def test_state_layout_follows_keras3(engine):
    with name_scope("dense"):
        kernel = Variable(np.ones((3, 2), "float32"), name="kernel")
        bias = Variable(np.zeros((2,), "float32"), name="bias")
    opt = optimizers.Adam(use_ema=True, gradient_accumulation_steps=2)
    opt.build([kernel, bias])
    # Keras 3: iteration, learning_rate, the averages, the accumulators, then the rule's slots.
    assert [v.path for v in opt.variables] == [
        "adam/iteration", "adam/learning_rate",
        "adam/dense_kernel_average", "adam/dense_bias_average",
        "adam/dense_kernel_gradient_accumulator", "adam/dense_bias_gradient_accumulator",
        "adam/dense_kernel_momentum", "adam/dense_kernel_velocity",
        "adam/dense_bias_momentum", "adam/dense_bias_velocity",
    ]
    assert sorted(opt.slots_for(kernel)) == ["average", "gradient_accumulator", "momentum", "velocity"]
    assert all(not v.trainable for v in opt.variables)
    average = opt.slots_for(kernel)["average"]
    assert average.shape == (3, 2) and average.dtype == "float32"
    plain = optimizers.Adam()
    plain.build([kernel, bias])
    assert len(plain.variables) == 6
    assert isinstance(plain.iterations, Variable)


# ----------------------------------------------------------------- config
@pytest.mark.parametrize("kwargs", [
    {"use_ema": True, "ema_momentum": 0.9, "ema_overwrite_frequency": 5},
    {"gradient_accumulation_steps": 4},
    {"use_ema": True, "gradient_accumulation_steps": 2, "ema_momentum": 0.0},
])
def test_config_round_trip(kwargs):
    opt = optimizers.SGD(learning_rate=0.1, momentum=0.9, **kwargs)
    config = json.loads(json.dumps(opt.get_config()))
    for key, value in kwargs.items():
        assert config[key] == value
    clone = optimizers.deserialize(json.loads(json.dumps(optimizers.serialize(opt))))
    assert type(clone) is optimizers.SGD and clone.get_config() == opt.get_config()


@pytest.mark.parametrize("steps", [None, 0, 1])
def test_no_accumulation_for_none_zero_and_one(engine, steps):
    opt = optimizers.SGD(gradient_accumulation_steps=steps)
    assert opt.gradient_accumulation_steps is None and opt.get_config()["gradient_accumulation_steps"] is None
    w = Variable(np.zeros((1,), "float32"), name="w")
    opt.apply([ops.ones((1,))], [w])
    assert [v.path for v in opt.variables] == ["sgd/iteration", "sgd/learning_rate"]
    assert_close(w.numpy(), np.array([-0.01]), "elementwise", "float32")


STEPS_EXPECTED = r"an integer >= 2 \(or None, 0 or 1 for no accumulation\)"


OVERWRITE_EXPECTED = re.escape("an integer >= 1 (or None or 0: never)")


def test_an_overwrite_frequency_of_0_means_never_as_in_keras():
    assert optimizers.Adam(use_ema=True, ema_overwrite_frequency=0).ema_overwrite_frequency is None


@pytest.mark.parametrize("kwargs, arg, expected", [
    ({"gradient_accumulation_steps": -1}, "gradient_accumulation_steps", STEPS_EXPECTED),
    ({"gradient_accumulation_steps": 1.5}, "gradient_accumulation_steps", STEPS_EXPECTED),
    ({"gradient_accumulation_steps": "2"}, "gradient_accumulation_steps", STEPS_EXPECTED),
    ({"gradient_accumulation_steps": True}, "gradient_accumulation_steps", STEPS_EXPECTED),
    ({"use_ema": True, "ema_momentum": -0.1}, "ema_momentum", r"a float in \[0, 1\]"),
    ({"use_ema": True, "ema_momentum": 1.5}, "ema_momentum", r"a float in \[0, 1\]"),
    ({"use_ema": True, "ema_momentum": "high"}, "ema_momentum", r"a float in \[0, 1\]"),
    ({"use_ema": True, "ema_overwrite_frequency": -1}, "ema_overwrite_frequency", OVERWRITE_EXPECTED),
    ({"use_ema": True, "ema_overwrite_frequency": 2.5}, "ema_overwrite_frequency", OVERWRITE_EXPECTED),
    ({"use_ema": "yes"}, "use_ema", "a bool"),
])
def test_bad_arguments_name_the_optimizer_and_the_argument(kwargs, arg, expected):
    received = re.escape(f"{arg}={kwargs[arg]!r}")
    with pytest.raises(ValueError, match=rf"^Adam: expected `{arg}` to be {expected}, received {received}\.$"):
        optimizers.Adam(**kwargs)


# ------------------------------------------------------------ finalize/fit
def test_finalize_variable_values(engine):
    weights, grads = data()
    opt, variables = make("SGD", {"learning_rate": 0.1, "use_ema": True, "ema_momentum": 0.5}, weights)
    opt.finalize_variable_values(variables)  # not built yet: nothing to do
    for step_grads in grads[:3]:
        opt.apply([ops.convert_to_tensor(g) for g in step_grads], variables)
    averages = [opt.slots_for(v)["average"].numpy() for v in variables]
    assert not np.allclose(variables[0].numpy(), averages[0])
    opt.finalize_variable_values(variables[1:])
    np.testing.assert_array_equal(variables[1].numpy(), averages[1])
    opt.finalize_variable_values(variables)
    np.testing.assert_array_equal(variables[0].numpy(), averages[0])
    stranger = Variable(np.zeros(2, "float32"), name="stranger")
    with pytest.raises(ValueError, match=r"sgd.finalize_variable_values: expected variables the optimizer was "
                                         r"built with \(2 variables\), received Variable 'stranger'"):
        opt.finalize_variable_values([stranger])
    plain, plain_vars = make("SGD", {"learning_rate": 0.1}, weights)
    plain.apply([ops.convert_to_tensor(g) for g in grads[0]], plain_vars)
    before = [v.numpy() for v in plain_vars]
    plain.finalize_variable_values(plain_vars)  # no EMA: a no-op
    for v, b in zip(plain_vars, before):
        np.testing.assert_array_equal(v.numpy(), b)


def _regression(n=16, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4)).astype("float32")
    y = (x @ rng.standard_normal((4, 2)) + 0.1).astype("float32")
    return x, y


def _dense(optimizer, seed=3):
    pk.random.set_seed(seed)
    inputs = pk.Input((4,))
    model = pk.Model(inputs, layers.Dense(2)(layers.Dense(5, activation="tanh")(inputs)))
    model.compile(optimizer, "mse")
    return model


class _Recorder(Callback):
    def __init__(self):
        super().__init__()
        self.weights = []

    def on_train_batch_end(self, batch, logs=None):
        self.weights.append(self.model.get_weights())


def test_fit_ends_with_the_ema_weights(diff_engine):
    x, y = _regression()
    plain, recorder = _dense(optimizers.Adam(0.05)), _Recorder()
    plain.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=[recorder])
    model = _dense(optimizers.Adam(0.05, use_ema=True, ema_momentum=0.6))
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    # EMA without overwrite leaves the trajectory alone: the averages of the plain run's weights.
    expected = [w.astype(np.float64) for w in recorder.weights[0]]
    for step_weights in recorder.weights[1:]:
        expected = [0.6 * e + 0.4 * w for e, w in zip(expected, step_weights)]
    for got, want, last in zip(model.get_weights(), expected, recorder.weights[-1]):
        assert_close(got, want, "model", "float32", err_msg="weights after fit vs EMA of the plain run")
        assert not np.allclose(got, last)
    for v in model.trainable_variables:
        np.testing.assert_array_equal(v.numpy(), model.optimizer.slots_for(v)["average"].numpy())


def test_fit_with_accumulation_equals_larger_batches(diff_engine):
    """Adam over 2 accumulated batches of 4 = Adam over batches of 8: the mean
    gradient, and Adam's bias correction counting updates, not calls."""
    x, y = _regression()
    big = _dense(optimizers.Adam(0.05))
    big.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    small = _dense(optimizers.Adam(0.05, gradient_accumulation_steps=2))
    small.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0)
    assert count(small.optimizer.iterations) == count(big.optimizer.iterations) == 6
    assert count(small.optimizer.variables[0]) == 12
    for got, want in zip(small.get_weights(), big.get_weights()):
        assert_close(got, want.astype(np.float64), "model", "float32", err_msg="accumulated vs larger batches")


# ------------------------------------------------------------------ saving
def test_save_and_load_restore_averages_and_accumulators(diff_engine, tmp_path):
    x, y = _regression()
    make_optimizer = lambda: optimizers.Adam(0.02, use_ema=True, ema_momentum=0.9,  # noqa: E731
                                             gradient_accumulation_steps=2)
    first = _dense(make_optimizer())
    first.fit(x[:12], y[:12], batch_size=4, epochs=1, shuffle=False, verbose=0)  # 3 calls: mid-accumulation
    state = {v.path: v.numpy() for v in first.optimizer.variables}
    kernel = first.trainable_variables[0].path.replace("/", "_")
    assert np.any(state[f"adam/{kernel}_gradient_accumulator"] != 0)
    first.save(tmp_path / "ema.pkeras")
    resumed = load_model(tmp_path / "ema.pkeras")
    assert resumed.optimizer.get_config() == first.optimizer.get_config()
    assert [v.path for v in resumed.optimizer.variables] == list(state)
    for v in resumed.optimizer.variables:
        np.testing.assert_array_equal(v.numpy(), state[v.path], err_msg=v.path)
    for got, want in zip(resumed.get_weights(), first.get_weights()):  # the EMA weights fit left
        np.testing.assert_array_equal(got, want)
    # finalize_variable_values swapped the weights for their averages at the end of each fit, in both
    # runs alike; resuming from the file continues as the straight run after its first epoch.
    resumed.fit(x[:12], y[:12], batch_size=4, epochs=1, shuffle=False, verbose=0)
    twice = _dense(make_optimizer())
    for _ in range(2):
        twice.fit(x[:12], y[:12], batch_size=4, epochs=1, shuffle=False, verbose=0)
    for got, want in zip(resumed.get_weights(), twice.get_weights()):
        assert_close(got, want.astype(np.float64), "model", "float32", err_msg="resumed vs two fits")
    for a, b in zip(resumed.optimizer.variables, twice.optimizer.variables):
        assert_close(a.numpy(), b.numpy().astype(np.float64), "model", a.dtype, err_msg=a.path)
