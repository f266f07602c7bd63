"""Constraints: Keras 3 formulas (checked against Keras 3 itself), axis
defaults, configs, custom subclasses, and application after updates."""

from __future__ import annotations

import json

import numpy as np
import pytest

from polykeras import constraints, ops
from polykeras.variables import StatelessScope, Variable

from layers.helpers import run_keras  # tests/ is on sys.path (no __init__.py)

W = (np.random.default_rng(0).standard_normal((4, 3, 5)) * 2).astype("float32")
CASES = {
    "max_norm": (constraints.MaxNorm(1.5), "keras.constraints.MaxNorm(1.5)"),
    "max_norm_axes": (constraints.MaxNorm(1.0, axis=[0, 1]), "keras.constraints.MaxNorm(1.0, axis=[0, 1])"),
    "min_max": (constraints.MinMaxNorm(0.5, 1.5, rate=0.7), "keras.constraints.MinMaxNorm(0.5, 1.5, rate=0.7)"),
    "non_neg": (constraints.NonNeg(), "keras.constraints.NonNeg()"),
    "unit_norm": (constraints.UnitNorm(axis=-1), "keras.constraints.UnitNorm(axis=-1)"),
}


@pytest.fixture(scope="module")
def keras_numbers():
    code = "w = ops.convert_to_tensor(data['w'])\n"  # a tensor: Keras' NumPy path differs
    code += "".join(f"out[{k!r}] = np.asarray({expr}(w))\n" for k, (_, expr) in CASES.items())
    code += "for n in ['MaxNorm', 'MinMaxNorm', 'NonNeg', 'UnitNorm']:\n"
    code += "    out['config_' + n] = getattr(keras.constraints, n)().get_config()\n"
    return run_keras(code, {"w": W})


@pytest.mark.parametrize("case", list(CASES))
def test_formulas_match_keras_3(engine, case, keras_numbers):
    constraint, _ = CASES[case]
    ours = ops.to_numpy(constraint(ops.convert_to_tensor(W)))
    np.testing.assert_allclose(ours, keras_numbers[case], rtol=1e-5, atol=1e-6)


def test_defaults_and_configs_match_keras_3(keras_numbers):
    for name in ("MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm"):
        assert getattr(constraints, name)().get_config() == keras_numbers["config_" + name], name


@pytest.mark.parametrize("constraint, holds", [
    (constraints.MaxNorm(2.0), lambda w: np.linalg.norm(w, axis=0).max() <= 2.0 + 1e-5),
    (constraints.UnitNorm(), lambda w: np.allclose(np.linalg.norm(w, axis=0), 1.0, atol=1e-5)),
    (constraints.NonNeg(), lambda w: w.min() >= 0.0),
    (constraints.MinMaxNorm(1.0, 2.0), lambda w: np.all(np.abs(np.linalg.norm(w, axis=0) - 1.5) <= 0.5 + 1e-5)),
], ids=["max_norm", "unit_norm", "non_neg", "min_max_norm"])
def test_constraint_holds_after_assignment_update(engine, constraint, holds):
    v = Variable(np.zeros((3, 4), "float32"), constraint=constraint, name="kernel")
    for step in range(3):
        update = np.random.default_rng(step).standard_normal((3, 4)).astype("float32") * 5
        v.assign_sub(update)  # an optimizer-like update ...
        v.apply_constraint()  # ... then the projection
        assert holds(v.numpy())


def test_apply_constraint_inside_stateless_scope(engine):
    v = Variable(np.ones((2, 2), "float32") * 3, constraint=constraints.MaxNorm(1.0))
    with StatelessScope() as scope:
        v.apply_constraint()
    np.testing.assert_allclose(np.linalg.norm(ops.to_numpy(scope.get_current_value(v)), axis=0), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(v.numpy(), np.full((2, 2), 3.0))


def test_get_serialize_custom_and_errors():
    assert type(constraints.get("max_norm")) is constraints.MaxNorm
    assert type(constraints.get("non_neg")) is constraints.NonNeg
    c = constraints.MinMaxNorm(0.1, 0.9, 0.5, axis=1)
    clone = constraints.deserialize(json.loads(json.dumps(constraints.serialize(c))))
    assert clone.get_config() == c.get_config()

    class Halve(constraints.Constraint):
        def __call__(self, w):
            return w * 0.5

    with pytest.raises(ValueError, match="Unknown constraint 'Halve'"):
        constraints.deserialize(constraints.serialize(Halve()))
    assert type(constraints.deserialize(constraints.serialize(Halve()), {"Halve": Halve})) is Halve
    with pytest.raises(TypeError, match="callable constraint"):
        Variable(0.0, constraint=3)
