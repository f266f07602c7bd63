"""Sequential models on every engine."""

from __future__ import annotations

import numpy as np
import pytest

import polykeras as pk
from polykeras import layers, ops
from polykeras.models import Sequential


def test_with_input_is_built_at_once(engine):
    model = Sequential([pk.Input((8,)), layers.Dense(4, activation="relu"), layers.Dense(2)])
    assert model.built
    assert model.output_shape == (None, 2)
    assert model.count_params() == 8 * 4 + 4 + 4 * 2 + 2
    assert len(model.layers) == 2


def test_without_input_builds_on_first_call(engine, rng):
    model = Sequential([layers.Dense(3)])
    assert not model.built
    out = model(rng.standard_normal((2, 5)).astype("float32"))
    assert ops.shape(out) == (2, 3)
    assert model.built and model.count_params() == 5 * 3 + 3


def test_add_pop_and_build(engine):
    model = Sequential()
    model.add(layers.Dense(4))
    model.add(layers.Dense(2))
    model.build((None, 6))
    assert model.output_shape == (None, 2)
    popped = model.pop()
    assert isinstance(popped, layers.Dense) and model.output_shape == (None, 4)


def test_sequential_inside_a_functional_model(engine, rng):
    block = Sequential([pk.Input((4,)), layers.Dense(3)])
    x = pk.Input((4,))
    model = pk.Model(x, layers.Dense(1)(block(x)))
    assert ops.shape(model(rng.standard_normal((2, 4)).astype("float32"))) == (2, 1)
    assert model.count_params() == 4 * 3 + 3 + 3 + 1


def test_config_round_trip(engine, rng):
    model = Sequential([pk.Input((5,)), layers.Dense(3, activation="tanh"), layers.Dense(1)])
    clone = Sequential.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    data = rng.standard_normal((4, 5)).astype("float32")
    np.testing.assert_allclose(ops.to_numpy(clone(data)), ops.to_numpy(model(data)), rtol=1e-6, atol=1e-6)


def test_bad_additions(engine):
    model = Sequential([layers.Dense(2)])
    with pytest.raises(ValueError, match="input first"):
        model.add(pk.Input((3,)))
    with pytest.raises(TypeError, match="expected a Layer"):
        model.add("dense")
    with pytest.raises(ValueError, match="pop"):
        Sequential().pop()
