"""Initializers: drawn on the host, so the same seed gives bit-identical
weights on every engine; Keras 3 names, defaults, configs and statistics."""

from __future__ import annotations

import json

import numpy as np
import pytest

import polykeras.backends as B
from polykeras import initializers, ops
from polykeras.layers import Layer
from polykeras.random import set_seed
from polykeras.variables import Variable

from layers.helpers import run_keras  # tests/ is on sys.path (no __init__.py)

SEEDED = [
    initializers.RandomNormal(seed=1), initializers.RandomUniform(seed=2), initializers.TruncatedNormal(seed=3),
    initializers.VarianceScaling(seed=4), initializers.GlorotUniform(seed=5), initializers.GlorotNormal(seed=6),
    initializers.HeUniform(seed=7), initializers.HeNormal(seed=8), initializers.LecunUniform(seed=9),
    initializers.LecunNormal(seed=10), initializers.Orthogonal(seed=11),
    initializers.Zeros(), initializers.Ones(), initializers.Constant(0.3), initializers.Identity(2.0),
]
NAMES = [type(i).__name__ for i in SEEDED]


@pytest.mark.parametrize("init", SEEDED, ids=NAMES)
def test_engine_values_equal_host_values_bit_for_bit(engine, init):
    shape = (4, 4) if isinstance(init, initializers.Identity) else (3, 5, 4)
    if isinstance(init, initializers.Identity):
        shape = (4, 4)
    host = init.host_values(shape)
    variable = Variable(init, shape=shape)
    assert variable.numpy().tobytes() == host.tobytes()
    assert ops.to_numpy(init(shape)).tobytes() == host.tobytes()


def test_same_seed_same_layer_weights_on_every_engine():
    class Two(Layer):
        def build(self, shape):
            self.k = self.add_weight(shape=(shape[-1], 6), initializer=initializers.HeNormal(seed=42), name="k")
            self.u = self.add_weight(shape=(6,), initializer="glorot_uniform", name="u")

    weights = {}
    for name in B.installed():
        with B.use(name):
            set_seed(2024)
            layer = Two()
            layer.build((None, 5))
            weights[name] = [w.tobytes() for w in layer.get_weights()]
    reference = next(iter(weights.values()))
    assert all(w == reference for w in weights.values()), f"engines differ: {list(weights)}"


def test_seeded_initializer_repeats_unseeded_draws_from_global(engine):
    init = initializers.RandomNormal(seed=5)
    np.testing.assert_array_equal(init.host_values((3,)), init.host_values((3,)))
    set_seed(1)
    a = initializers.RandomNormal().host_values((3,))
    b = initializers.RandomNormal().host_values((3,))
    assert not np.array_equal(a, b)
    set_seed(1)
    np.testing.assert_array_equal(initializers.RandomNormal().host_values((3,)), a)


@pytest.mark.parametrize("name, cls", [
    ("glorot_uniform", initializers.GlorotUniform), ("GlorotNormal", initializers.GlorotNormal),
    ("he_normal", initializers.HeNormal), ("lecun_uniform", initializers.LecunUniform),
    ("zeros", initializers.Zeros), ("ones", initializers.Ones), ("uniform", initializers.RandomUniform),
    ("normal", initializers.RandomNormal), ("orthogonal", initializers.Orthogonal),
    ("truncated_normal", initializers.TruncatedNormal), ("identity", initializers.Identity),
    ("variance_scaling", initializers.VarianceScaling), ("constant", initializers.Constant),
])
def test_get_by_name(name, cls):
    assert type(initializers.get(name)) is cls


def test_get_forms_and_errors():
    init = initializers.Constant(2.0)
    assert initializers.get(init) is init and initializers.get(None) is None
    assert type(initializers.get(initializers.serialize(init))) is initializers.Constant
    fn = lambda shape, dtype=None: np.ones(shape)  # noqa: E731
    assert initializers.get(fn) is fn
    with pytest.raises(ValueError, match="Unknown initializer 'glorot'"):
        initializers.get("glorot")
    with pytest.raises(ValueError, match="scale"):
        initializers.VarianceScaling(scale=0.0)
    with pytest.raises(ValueError, match="distribution"):
        initializers.VarianceScaling(distribution="cauchy")
    with pytest.raises(ValueError, match="2-D"):
        initializers.Identity().host_values((2, 2, 2))
    with pytest.raises(ValueError, match="floating-point"):
        initializers.GlorotUniform().host_values((2, 2), "int32")


def test_formulas_statistics():
    shape = (400, 300)
    fan_in, fan_out = shape
    glorot = initializers.GlorotUniform(seed=0).host_values(shape)
    assert np.abs(glorot).max() <= np.sqrt(6 / (fan_in + fan_out))
    np.testing.assert_allclose(glorot.std(), np.sqrt(2 / (fan_in + fan_out)), rtol=0.02)
    he = initializers.HeNormal(seed=0).host_values(shape)
    np.testing.assert_allclose(he.std(), np.sqrt(2 / fan_in), rtol=0.02)
    assert np.abs(he).max() <= 2 * np.sqrt(2 / fan_in) / 0.87962566103423978 + 1e-6
    trunc = initializers.TruncatedNormal(stddev=1.0, seed=0).host_values(shape)
    assert np.abs(trunc).max() <= 2.0
    ortho = initializers.Orthogonal(seed=0).host_values((6, 4))
    np.testing.assert_allclose(ortho.T @ ortho, np.eye(4), atol=1e-5)
    conv = initializers.Orthogonal(seed=0).host_values((3, 3, 2, 5))
    flat = conv.reshape(-1, 5)
    np.testing.assert_allclose(flat.T @ flat, np.eye(5), atol=1e-5)
    assert initializers.compute_fans((3, 3, 16, 32)) == (144, 288)
    np.testing.assert_array_equal(initializers.Identity(2.0).host_values((2, 3)), [[2, 0, 0], [0, 2, 0]])


def test_configs_round_trip_through_json():
    for init in SEEDED:
        config = json.loads(json.dumps(initializers.serialize(init)))
        clone = initializers.deserialize(config)
        assert type(clone) is type(init) and clone.get_config() == init.get_config()
        if hasattr(init, "seed"):
            np.testing.assert_array_equal(clone.host_values((3, 3)), init.host_values((3, 3)))


def test_configs_match_keras_3():
    names = ["RandomNormal", "RandomUniform", "TruncatedNormal", "VarianceScaling", "GlorotUniform",
             "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform", "LecunNormal", "Orthogonal", "Zeros",
             "Ones", "Constant", "Identity"]
    code = "for n in " + repr(names) + ":\n    out[n] = getattr(keras.initializers, n)().get_config()\n"
    keras_configs = run_keras(code, backend="numpy")  # configs: the same on every backend
    for name in names:
        ours = getattr(initializers, name)().get_config()
        theirs = keras_configs[name]
        if name == "Constant":  # Keras keeps the value as a float
            theirs["value"] = float(theirs["value"])
        # Keras 3's Identity forgets its gain; ours keeps it, otherwise the same.
        extra = {"gain"} if name == "Identity" else set()
        assert {k: v for k, v in ours.items() if k not in extra} == theirs, f"{name}: {ours} != Keras {theirs}"
