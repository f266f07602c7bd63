"""``save_own_variables``/``load_own_variables``: Keras 3's hooks for a
layer to lay out its own saved state. The defaults give Keras's store; an
override decides what every saving format writes and reads for the layer,
and files move between polykeras and Keras 3 either way."""

from __future__ import annotations

import numpy as np
import pytest

import polykeras as pk
from conformance.tolerances import assert_close
from polykeras import layers
from polykeras.saving import load_model

from tests.layers.helpers import run_keras

# A layer with state that is no variable (a lookup table filled by adapt())
# beside its kernel, saved under its own keys. Written once against the Keras
# API: it runs in polykeras and, as text, in Keras 3.
_TABLE_LAYER = r'''
@keras.saving.register_keras_serializable(package="own_store")
class TableScale(keras.layers.Layer):
    """y = x @ kernel + table (the table is set by adapt, not trained)."""

    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.table = np.zeros((units,), "float32")

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")

    def adapt(self, values):
        self.table = np.asarray(values, "float32")

    def call(self, x):
        return keras.ops.matmul(x, self.kernel) + keras.ops.convert_to_tensor(self.table)

    def save_own_variables(self, store):
        store["kernel"] = self.kernel
        store["table"] = self.table

    def load_own_variables(self, store):
        self.kernel.assign(store["kernel"])
        self.table = np.asarray(store["table"], "float32")

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def table_model():
    inputs = keras.Input((4,))
    return keras.Model(inputs, TableScale(name="scale")(inputs))
'''

_KERAS_SIDE = _TABLE_LAYER + r'''
folder = str(data["folder"])
loaded = keras.saving.load_model(folder + "/ours.keras")
out["ours_keras"] = np.asarray(loaded.predict(data["x"], verbose=0))
target = table_model()
target.load_weights(folder + "/ours.weights.h5")
out["ours_weights"] = np.asarray(target.predict(data["x"], verbose=0))
made = table_model()
made.layers[1].kernel.assign(data["kernel"])
made.layers[1].adapt(data["table"])
made.save(folder + "/keras_made.keras")
made.save_weights(folder + "/keras_made.weights.h5")
out["keras_y"] = np.asarray(made.predict(data["x"], verbose=0))
store = {}
keras.layers.Dense(2).save_own_variables(store)  # unbuilt: nothing
dense = keras.layers.Dense(2)
dense.build((None, 3))
dense.save_own_variables(store)
out["dense_store"] = [[key, list(np.shape(value))] for key, value in store.items()]
'''


def _table_module():
    namespace = {"keras": pk, "np": np}
    exec(_TABLE_LAYER, namespace)  # noqa: S102
    return namespace


def test_a_layer_store_moves_between_keras_and_polykeras(engine, tmp_path):
    mod = _table_module()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 4)).astype("float32")
    kernel = rng.normal(size=(4, 3)).astype("float32")
    table = np.array([1.0, -2.0, 0.5], "float32")
    model = mod["table_model"]()
    model.layers[1].kernel.assign(kernel)
    model.layers[1].adapt(table)
    y = np.asarray(model.predict(x, verbose=0))
    np.testing.assert_allclose(y, x @ kernel + table, rtol=1e-5, atol=1e-5)
    model.save(tmp_path / "ours.keras")
    model.save_weights(tmp_path / "ours.weights.h5")
    model.save(tmp_path / "ours.pkeras")

    theirs = run_keras(_KERAS_SIDE, {"folder": np.asarray(str(tmp_path)), "x": x, "kernel": kernel, "table": table},
                       backend="numpy")
    assert_close(theirs["keras_y"], y, "layer", err_msg="the same layer in Keras 3")
    assert_close(theirs["ours_keras"], y, "layer", err_msg="our .keras loaded by Keras 3 (table from the store)")
    assert_close(theirs["ours_weights"], y, "layer", err_msg="our .weights.h5 loaded by Keras 3")

    custom = {"TableScale": mod["TableScale"]}
    for name in ("keras_made.keras", "ours.pkeras", "ours.keras"):
        loaded = load_model(tmp_path / name, custom_objects=custom)
        np.testing.assert_array_equal(loaded.layers[1].table, table, err_msg=f"the table read back from {name}")
        assert_close(np.asarray(loaded.predict(x, verbose=0)), y, "layer", err_msg=name)
    for name in ("keras_made.weights.h5", "ours.weights.h5"):
        target = mod["table_model"]()
        target.load_weights(tmp_path / name)
        np.testing.assert_array_equal(target.layers[1].table, table, err_msg=f"the table read back from {name}")

    dense = layers.Dense(2)
    dense.build((None, 3))
    store: dict = {}
    dense.save_own_variables(store)
    assert [[key, list(np.shape(value))] for key, value in store.items()] == theirs["dense_store"]


def test_default_store_round_trip_and_refusals(engine):
    dense = layers.Dense(2)
    dense.build((None, 3))
    store: dict = {}
    dense.save_own_variables(store)
    other = layers.Dense(2, name="other")
    other.build((None, 3))
    other.load_own_variables({key: np.asarray(value.numpy()) for key, value in store.items()})
    for a, b in zip(dense.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)
    before = [w.copy() for w in other.get_weights()]
    with pytest.raises(ValueError, match=r"Layer 'other' expected 2 variables \['kernel', 'bias'\].*received 1"):
        other.load_own_variables({"0": np.zeros((3, 2), "float32")})
    with pytest.raises(ValueError, match=r"Layer 'other': expected shape \(2,\) for weight 'bias', received \(3,\)"):
        other.load_own_variables({"0": np.zeros((3, 2), "float32"), "1": np.zeros((3,), "float32")})
    for a, b in zip(before, other.get_weights()):  # nothing assigned by a refused load
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="not built"):
        layers.Dense(2, name="late").load_own_variables({"0": np.zeros((3, 2), "float32")})
