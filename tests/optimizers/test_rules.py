"""Every optimizer's first updates on fixed gradients match the NumPy
statement of its Keras 3 rule, on every engine; the Keras 3 defaults hold."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from conformance.tolerances import assert_close
from polykeras import ops, optimizers
from polykeras.variables import Variable

from ._reference import CASES, SLOTS, run

STEPS = 4
SHAPES = [(3, 2), (2,)]


def fixed_data(seed: int = 0, steps: int = STEPS, shapes: list[tuple[int, ...]] = SHAPES,
               ) -> tuple[list[np.ndarray], list[list[np.ndarray]]]:
    """Weights of ``shapes`` and ``steps`` lists of their gradients."""
    rng = np.random.default_rng(seed)
    weights = [rng.uniform(-1.0, 1.0, s).astype("float32") for s in shapes]
    # Entries kept away from 0 so that Lion's sign(...) is not decided by rounding.
    grads = [[(rng.choice([-1.0, 1.0], s) * rng.uniform(0.2, 2.0, s)).astype("float32") for s in shapes]
             for _ in range(steps)]
    return weights, grads


def make(name: str, kwargs: dict, weights: list[np.ndarray]) -> tuple[optimizers.Optimizer, list[Variable]]:
    variables = [Variable(w, name=f"w{i}") for i, w in enumerate(weights)]
    return getattr(optimizers, name)(**kwargs), variables


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_updates_match_numpy_rule(engine, case):
    _, name, kwargs = case
    weights, grads = fixed_data()
    opt, variables = make(name, kwargs, weights)
    expected = run(name, kwargs, weights, grads)
    for step, step_grads in enumerate(grads):
        opt.apply([ops.convert_to_tensor(g) for g in step_grads], variables)
        want_w, want_slots = expected[step]
        for i, v in enumerate(variables):
            assert v.dtype == "float32"
            assert_close(v.numpy(), want_w[i], "transcendental", "float32", err_msg=f"{name} step {step + 1} w{i}")
            slots = opt.slots_for(v)
            assert sorted(slots) == sorted(SLOTS[name](kwargs))
            for slot, value in want_slots[i].items():
                assert_close(slots[slot].numpy(), value, "transcendental", "float32",
                             err_msg=f"{name} step {step + 1} {slot} of w{i}")
        assert int(opt.iterations.numpy()) == step + 1


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_apply_gradients_equals_apply(engine, case):
    _, name, kwargs = case
    weights, grads = fixed_data(1)
    opt_a, vars_a = make(name, kwargs, weights)
    opt_b, vars_b = make(name, kwargs, weights)
    for step_grads in grads[:2]:
        tensors = [ops.convert_to_tensor(g) for g in step_grads]
        opt_a.apply(tensors, vars_a)
        opt_b.apply_gradients(zip(tensors, vars_b))
    for a, b in zip(vars_a, vars_b):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


SHARED = ["weight_decay", "clipnorm", "clipvalue", "global_clipnorm", "use_ema", "ema_momentum",
          "ema_overwrite_frequency", "loss_scale_factor", "gradient_accumulation_steps", "name"]

KERAS_DEFAULTS = {
    "SGD": {"learning_rate": 0.01, "momentum": 0.0, "nesterov": False, "name": "sgd"},
    "Adam": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": False,
             "name": "adam"},
    "AdamW": {"learning_rate": 0.001, "weight_decay": 0.004, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
              "amsgrad": False, "name": "adam_w"},
    "Adamax": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "name": "adamax"},
    "Nadam": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "name": "nadam"},
    "RMSprop": {"learning_rate": 0.001, "rho": 0.9, "momentum": 0.0, "epsilon": 1e-7, "centered": False,
                "name": "rm_sprop"},
    "Adagrad": {"learning_rate": 0.001, "initial_accumulator_value": 0.1, "epsilon": 1e-7, "name": "adagrad"},
    "Adadelta": {"learning_rate": 0.001, "rho": 0.95, "epsilon": 1e-7, "name": "adadelta"},
    "Lion": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.99, "name": "lion"},
}


def test_default_names_are_keras_3_names():
    """Each optimizer's default name is Keras 3's: the class name in snake
    case, numbered from the second instance on (Keras's own counter has run
    in this process, so its number is dropped before comparing)."""
    import re

    keras = pytest.importorskip("keras")
    names = sorted(n for n, cls in vars(keras.optimizers).items() if isinstance(cls, type)
                   and issubclass(cls, keras.optimizers.Optimizer)
                   and n not in ("Optimizer", "LossScaleOptimizer", "MultiOptimizer"))
    assert {"Adam", "AdamW", "RMSprop", "ScheduleFreeAdamW", "SGD"} <= set(names)
    for name in names:
        keras_name = re.sub(r"_\d+$", "", getattr(keras.optimizers, name)().name)
        first, second = getattr(optimizers, name)(), getattr(optimizers, name)()
        assert (first.name, second.name) == (keras_name, f"{keras_name}_1"), name
    assert optimizers.LossScaleOptimizer(optimizers.SGD()).name == "loss_scale_optimizer"


@pytest.mark.parametrize("name", sorted(KERAS_DEFAULTS))
def test_keras3_defaults(name):
    signature = inspect.signature(getattr(optimizers, name))
    expected = dict(KERAS_DEFAULTS[name])
    assert getattr(optimizers, name)().name == expected.pop("name")
    for arg, value in expected.items():
        assert signature.parameters[arg].default == value, (name, arg)
    # Keras 3's shared arguments close every signature, in its order, name=None.
    shared = [a for a in SHARED if name != "AdamW" or a != "weight_decay"]
    assert list(signature.parameters)[-len(shared) - 1:] == [*shared, "kwargs"], name
    assert signature.parameters["name"].default is None
    for arg in ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm", "loss_scale_factor"):
        if name != "AdamW" or arg != "weight_decay":
            assert getattr(getattr(optimizers, name)(), arg) is None


def test_default_learning_rate_is_a_float32_variable(engine):
    opt = optimizers.Adam()
    assert isinstance(opt.learning_rate, Variable)
    assert opt.learning_rate.dtype == "float32"
    np.testing.assert_allclose(opt.learning_rate.numpy(), 0.001, rtol=1e-7)
