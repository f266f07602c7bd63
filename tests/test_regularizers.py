"""Regularizers: Keras 3 formulas (checked against Keras 3 itself), defaults,
get/serialize, and their use through layers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from polykeras import ops, regularizers
from polykeras.variables import Variable

from layers.helpers import run_keras  # tests/ is on sys.path (no __init__.py)

W = np.random.default_rng(0).standard_normal((5, 3)).astype("float32")
CASES = {
    "l1": (regularizers.L1(0.3), "keras.regularizers.L1(0.3)"),
    "l2": (regularizers.L2(0.2), "keras.regularizers.L2(0.2)"),
    "l1l2": (regularizers.L1L2(0.1, 0.4), "keras.regularizers.L1L2(0.1, 0.4)"),
    "ortho_rows": (regularizers.OrthogonalRegularizer(0.5), "keras.regularizers.OrthogonalRegularizer(0.5)"),
    "ortho_cols": (regularizers.OrthogonalRegularizer(0.5, "columns"),
                   "keras.regularizers.OrthogonalRegularizer(0.5, 'columns')"),
}


@pytest.fixture(scope="module")
def keras_numbers():
    code = "w = ops.convert_to_tensor(data['w'])\n"  # a tensor: Keras' NumPy path differs
    code += "".join(f"out[{k!r}] = np.asarray({expr}(w))\n" for k, (_, expr) in CASES.items())
    code += "for n in ['L1', 'L2', 'L1L2', 'OrthogonalRegularizer']:\n"
    code += "    out['config_' + n] = getattr(keras.regularizers, n)().get_config()\n"
    return run_keras(code, {"w": W})


@pytest.mark.parametrize("case", list(CASES))
def test_formulas_match_keras_3(engine, case, keras_numbers):
    reg, _ = CASES[case]
    ours = float(ops.to_numpy(reg(ops.convert_to_tensor(W))))
    np.testing.assert_allclose(ours, float(keras_numbers[case]), rtol=1e-5)
    np.testing.assert_allclose(float(ops.to_numpy(reg(Variable(W)))), ours, rtol=1e-6)  # variables too


def test_numpy_formulas(engine):
    x = ops.convert_to_tensor(W)
    np.testing.assert_allclose(float(ops.to_numpy(regularizers.L1L2(0.1, 0.4)(x))),
                               0.1 * np.abs(W).sum() + 0.4 * (W**2).sum(), rtol=1e-5)
    assert float(ops.to_numpy(regularizers.L1L2()(x))) == 0.0
    eye = ops.convert_to_tensor(np.eye(3, dtype="float32"))
    assert float(ops.to_numpy(regularizers.OrthogonalRegularizer(1.0)(eye))) == pytest.approx(0.0, abs=1e-7)


def test_defaults_and_configs_match_keras_3(keras_numbers):
    for name in ("L1", "L2", "L1L2", "OrthogonalRegularizer"):
        ours, theirs = getattr(regularizers, name)().get_config(), keras_numbers["config_" + name]
        assert set(ours) == set(theirs), name
        for key, value in ours.items():  # Keras stores penalties as float32
            assert value == (pytest.approx(theirs[key], rel=1e-6) if isinstance(value, float) else theirs[key])


def test_get_serialize_and_errors():
    assert type(regularizers.get("l2")) is regularizers.L2
    assert type(regularizers.get("l1_l2")) is regularizers.L1L2
    assert regularizers.get(None) is None
    reg = regularizers.L1L2(l1=0.5)
    clone = regularizers.deserialize(json.loads(json.dumps(regularizers.serialize(reg))))
    assert type(clone) is regularizers.L1L2 and clone.get_config() == {"l1": 0.5, "l2": 0.0}
    with pytest.raises(ValueError, match=r"non-negative float l2, received l2=-1"):
        regularizers.L2(-1)
    with pytest.raises(ValueError, match="mode"):
        regularizers.OrthogonalRegularizer(mode="diagonal")
    with pytest.raises(ValueError, match=r"2-D weight, received shape \(2, 2, 2\)"):
        regularizers.OrthogonalRegularizer()(ops.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="Unknown regularizer 'l3'"):
        regularizers.get("l3")


def test_custom_callable_regularizer_on_a_layer(engine):
    from polykeras.layers import Layer

    class Holder(Layer):
        def build(self, shape):
            self.w = self.add_weight(shape=(2,), initializer="ones", regularizer=lambda x: ops.sum(x) * 3.0)

    h = Holder()
    h.build(None)
    assert float(ops.to_numpy(h.losses[0])) == 6.0
