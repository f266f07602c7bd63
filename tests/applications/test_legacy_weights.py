"""Keras's legacy HDF5 weights (the layout of the ImageNet files) load into
polykeras models: a Keras-written file with layers matched in order or by
name, a whole-model ``.h5`` (weights under ``model_weights``), and clear
refusals that name the layer and the shapes when the file does not fit."""

from __future__ import annotations

import numpy as np
import pytest

import polykeras
from polykeras import layers
from polykeras.saving.safety import WeightsError


X = np.random.default_rng(0).standard_normal((3, 4)).astype("float32")


def _keras_file(path: str, whole_model: bool) -> np.ndarray:
    keras = pytest.importorskip("keras")
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(5, activation="relu", name="hidden")(inputs)
    norm = keras.layers.BatchNormalization(name="norm")(hidden)
    model = keras.Model(inputs, keras.layers.Dense(2, name="out")(norm))
    rng = np.random.default_rng(1)
    model.set_weights([rng.uniform(0.5, 1.5, w.shape).astype("float32") for w in model.weights])
    if whole_model:
        legacy_h5_format.save_model_to_hdf5(model, path)
    else:
        with h5py.File(path, "w") as f:
            legacy_h5_format.save_weights_to_hdf5_group(f, model)
    return np.asarray(model(X))


def _model(width: int = 5, name: str = "hidden") -> polykeras.Model:
    inputs = polykeras.Input((4,))
    hidden = layers.Dense(width, activation="relu", name=name)(inputs)
    norm = layers.BatchNormalization(name="norm")(hidden)
    return polykeras.Model(inputs, layers.Dense(2, name="out")(norm))


@pytest.mark.parametrize("whole_model", [False, True])
def test_keras_legacy_file_loads(engine, tmp_path, whole_model):
    path = str(tmp_path / "legacy.h5")
    expected = _keras_file(path, whole_model)
    model = _model()
    model.load_weights(path)
    np.testing.assert_allclose(polykeras.ops.convert_to_numpy(model(X)), expected, rtol=1e-5, atol=1e-5)


def test_keras_legacy_file_by_name_and_mismatches(engine, tmp_path):
    path = str(tmp_path / "legacy.h5")
    expected = _keras_file(path, False)
    renamed = _model(name="other")  # in order: fits; by name: "other" is not in the file and is left alone
    renamed.load_weights(path)
    np.testing.assert_allclose(polykeras.ops.convert_to_numpy(renamed(X)), expected, rtol=1e-5, atol=1e-5)
    by_name = _model(name="other")
    before = polykeras.ops.convert_to_numpy(by_name.get_layer("other").kernel)
    by_name.load_weights(path, by_name=True)
    np.testing.assert_array_equal(polykeras.ops.convert_to_numpy(by_name.get_layer("other").kernel), before)
    np.testing.assert_allclose(polykeras.ops.convert_to_numpy(by_name.get_layer("out").kernel),
                               np.asarray(_read(path, "out", "out/kernel")), rtol=0)
    wide = _model(width=6)
    before_all = [np.array(w) for w in wide.get_weights()]
    with pytest.raises(WeightsError, match=r"layer 'hidden': weight 'kernel' expected shape \(4, 6\).*\(4, 5\)"):
        wide.load_weights(path)
    for after, saved in zip(wide.get_weights(), before_all, strict=True):  # nothing was loaded
        np.testing.assert_array_equal(after, saved)
    inputs = polykeras.Input((4,))
    short = polykeras.Model(inputs, layers.Dense(5, name="hidden")(inputs))
    with pytest.raises(WeightsError, match="the model has 1 layers with weights, the file 3"):
        short.load_weights(path)


def _read(path: str, layer: str, weight: str) -> np.ndarray:
    import h5py

    with h5py.File(path, "r") as f:
        return np.asarray(f[layer][weight])
