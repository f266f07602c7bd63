"""Learning-rate schedules: values at several steps against NumPy formulas
(Keras 3's), for int tensors, Python ints and Variables as the step, inside a
compiled function, and their config round trips."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from conformance.tolerances import assert_close
from polykeras import ops
from polykeras.optimizers import schedules
from polykeras.variables import Variable

STEPS = [0, 1, 5, 10, 25, 99, 100, 101, 150, 250, 1000]


def exponential(step, lr0, decay_steps, rate, staircase=False):
    p = step / decay_steps
    return lr0 * rate ** (math.floor(p) if staircase else p)


def piecewise(step, boundaries, values):
    for bound, value in zip(boundaries, values):
        if step <= bound:
            return value
    return values[-1]


def polynomial(step, lr0, decay_steps, end=1e-4, power=1.0, cycle=False):
    if cycle:
        decay_steps = decay_steps * (1.0 if step == 0 else math.ceil(step / decay_steps))
    else:
        step = min(step, decay_steps)
    return (lr0 - end) * (1 - step / decay_steps) ** power + end


def inverse_time(step, lr0, decay_steps, rate, staircase=False):
    p = step / decay_steps
    return lr0 / (1 + rate * (math.floor(p) if staircase else p))


def cosine(step, lr0, decay_steps, alpha=0.0, warmup_target=None, warmup_steps=0):
    def decay(s, start):
        return start * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * s / decay_steps)) + alpha)

    if warmup_target is None:
        return decay(min(step, decay_steps), lr0)
    step = min(step, decay_steps + warmup_steps)
    if step < warmup_steps:
        return lr0 + (warmup_target - lr0) * step / warmup_steps
    return decay(step - warmup_steps, warmup_target)


def restarts(step, lr0, first, t_mul=2.0, m_mul=1.0, alpha=0.0):
    period, start, restart = first, 0, 0
    while step >= start + period:
        start += period
        period *= t_mul
        restart += 1
    fraction = (step - start) / period
    return lr0 * ((1 - alpha) * 0.5 * m_mul**restart * (1 + math.cos(math.pi * fraction)) + alpha)


CASES = [
    ("exponential", schedules.ExponentialDecay(0.1, 100, 0.5), lambda s: exponential(s, 0.1, 100, 0.5)),
    ("exponential-staircase", schedules.ExponentialDecay(0.1, 100, 0.5, staircase=True),
     lambda s: exponential(s, 0.1, 100, 0.5, True)),
    ("piecewise", schedules.PiecewiseConstantDecay([10, 100, 250], [1.0, 0.5, 0.1, 0.01]),
     lambda s: piecewise(s, [10, 100, 250], [1.0, 0.5, 0.1, 0.01])),
    ("piecewise-float-bounds", schedules.PiecewiseConstantDecay([9.5, 100.5], [1.0, 0.5, 0.1]),
     lambda s: piecewise(s, [9.5, 100.5], [1.0, 0.5, 0.1])),
    ("polynomial", schedules.PolynomialDecay(0.1, 100, end_learning_rate=0.01, power=0.5),
     lambda s: polynomial(s, 0.1, 100, 0.01, 0.5)),
    ("polynomial-cycle", schedules.PolynomialDecay(0.1, 100, power=2.0, cycle=True),
     lambda s: polynomial(s, 0.1, 100, 1e-4, 2.0, True)),
    ("inverse-time", schedules.InverseTimeDecay(0.1, 10, 0.5), lambda s: inverse_time(s, 0.1, 10, 0.5)),
    ("inverse-time-staircase", schedules.InverseTimeDecay(0.1, 10, 0.5, staircase=True),
     lambda s: inverse_time(s, 0.1, 10, 0.5, True)),
    ("cosine", schedules.CosineDecay(0.1, 200, alpha=0.1), lambda s: cosine(s, 0.1, 200, 0.1)),
    ("cosine-warmup", schedules.CosineDecay(0.0, 200, warmup_target=0.2, warmup_steps=100),
     lambda s: cosine(s, 0.0, 200, 0.0, 0.2, 100)),
    ("cosine-restarts", schedules.CosineDecayRestarts(0.1, 10, t_mul=2.0, m_mul=0.5, alpha=0.01),
     lambda s: restarts(s, 0.1, 10, 2.0, 0.5, 0.01)),
    ("cosine-restarts-fixed-period", schedules.CosineDecayRestarts(0.1, 20, t_mul=1.0),
     lambda s: restarts(s, 0.1, 20, 1.0)),
]
IDS = [c[0] for c in CASES]


def check(value, expected, what):
    assert ops.dtype(value) == "float32", what
    # float32 step arithmetic (step / decay_steps, cos, power) before the rate.
    assert_close(ops.to_numpy(value), np.float64(expected), "transcendental", "float32", err_msg=what)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_values_at_steps(engine, case):
    name, schedule, formula = case
    for step in STEPS:
        check(schedule(ops.convert_to_tensor(np.int32(step))), formula(step), f"{name} at int32 step {step}")
    for step in (0, 7, 300):
        check(schedule(step), formula(step), f"{name} at Python step {step}")
    counter = Variable(np.int32(42), name="iteration", trainable=False)
    check(schedule(counter), formula(42), f"{name} at a Variable step")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_values_inside_jit(diff_engine, case):
    name, schedule, formula = case
    compiled = ops.jit(lambda step: schedule(step))
    for step in (0, 10, 101, 260):
        check(compiled(ops.convert_to_tensor(np.int32(step))), formula(step), f"{name} compiled at step {step}")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_config_round_trip(case):
    _, schedule, _ = case
    config = json.loads(json.dumps(schedules.serialize(schedule)))
    assert config["class_name"] == type(schedule).__name__
    clone = schedules.deserialize(config)
    assert type(clone) is type(schedule) and clone.get_config() == schedule.get_config()
    assert type(schedule).from_config(schedule.get_config()).get_config() == schedule.get_config()


def test_keras3_names_and_defaults():
    assert schedules.ExponentialDecay(0.1, 10, 0.9).get_config() == {
        "initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.9, "staircase": False,
        "name": "ExponentialDecay"}
    assert schedules.PiecewiseConstantDecay([1], [1.0, 0.5]).name == "PiecewiseConstant"
    assert schedules.PolynomialDecay(0.1, 10).get_config() == {
        "initial_learning_rate": 0.1, "decay_steps": 10, "end_learning_rate": 0.0001, "power": 1.0,
        "cycle": False, "name": "PolynomialDecay"}
    assert schedules.CosineDecay(0.1, 10).get_config() == {
        "initial_learning_rate": 0.1, "decay_steps": 10, "alpha": 0.0, "name": "CosineDecay",
        "warmup_target": None, "warmup_steps": 0}
    assert schedules.CosineDecayRestarts(0.1, 10).get_config() == {
        "initial_learning_rate": 0.1, "first_decay_steps": 10, "t_mul": 2.0, "m_mul": 1.0, "alpha": 0.0,
        "name": "SGDRDecay"}


def test_custom_schedule_through_custom_objects(engine):
    class Halving(schedules.LearningRateSchedule):
        def __init__(self, rate):
            self.rate = rate

        def __call__(self, step):
            return ops.multiply(self.rate, ops.power(0.5, ops.cast(step, "float32")))

        def get_config(self):
            return {"rate": self.rate}

    clone = schedules.deserialize(schedules.serialize(Halving(0.8)), custom_objects={"Halving": Halving})
    check(clone(3), 0.1, "custom schedule")


def test_bad_arguments():
    with pytest.raises(ValueError, match="ExponentialDecay: expected `decay_steps` > 0, received decay_steps=0"):
        schedules.ExponentialDecay(0.1, 0, 0.5)
    with pytest.raises(ValueError, match=r"PiecewiseConstantDecay: expected one more value than boundaries.*"
                                         r"received boundaries=\[1, 2\] \(2\) and values=\[1.0, 0.5\] \(2\)"):
        schedules.PiecewiseConstantDecay([1, 2], [1.0, 0.5])
    with pytest.raises(ValueError, match="CosineDecay: expected `warmup_steps` >= 0"):
        schedules.CosineDecay(0.1, 10, warmup_target=0.2, warmup_steps=-1)
    with pytest.raises(Exception, match="Unknown learning rate schedule 'Mystery'"):
        schedules.deserialize({"class_name": "Mystery", "config": {}})
