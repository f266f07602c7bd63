"""Models refuse two layers of one name when they are built, as Keras 3 does:
weights are saved and loaded by layer name, so a model that accepted them
would save a file it cannot load (its config check refuses duplicates)."""

from __future__ import annotations

import pytest

import polykeras as pk
from polykeras import layers


def _keras_refuses(build) -> str:
    keras = pytest.importorskip("keras")
    with pytest.raises(ValueError) as caught:
        build(keras)
    return str(caught.value)


def _functional(lib):
    x = lib.Input((4,))
    y = lib.layers.Dense(3, name="d")(lib.layers.Dense(3, name="d")(x))
    return lib.Model(x, y)


def _sequential(lib):
    return lib.Sequential([lib.Input((4,)), lib.layers.Dense(3, name="d"), lib.layers.Dense(3, name="d")])


@pytest.mark.parametrize("build", [_functional, _sequential], ids=["functional", "sequential"])
def test_duplicate_layer_names_refused_like_keras(engine, build):
    assert "d" in _keras_refuses(build)
    with pytest.raises(ValueError, match=r"unique names.*'d'"):
        build(pk)


def test_sequential_add_refuses_a_taken_name_and_keeps_the_model(engine):
    model = pk.Sequential([pk.Input((4,)), layers.Dense(3, name="d")])
    with pytest.raises(ValueError, match="second layer named 'd'"):
        model.add(layers.Dense(2, name="d"))
    assert [layer.name for layer in model.layers] == ["d"]
    assert model.output.shape == (None, 3)


def test_a_shared_layer_is_one_name_not_two(engine):
    x = pk.Input((4,))
    shared = layers.Dense(4, name="shared")
    model = pk.Model(x, shared(shared(x)))
    assert [layer.name for layer in model.layers].count("shared") == 1
