"""HDF5 weights by layer path: round trips, by_name into a different but
compatible model, skip_mismatch, and refusals that name the layer, the
weight and what was expected and received, with nothing assigned."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from conformance.tolerances import assert_close
from polykeras import Input, Model, Sequential, layers
from polykeras.saving import WeightsError, save_weights

from ._models import KINDS, build, data, weights


def _assert_unchanged(model: Model, before: list[np.ndarray]) -> None:
    for old, new in zip(before, weights(model)):
        np.testing.assert_array_equal(old, new)


@pytest.mark.parametrize("kind", KINDS)
def test_round_trip_restores_every_weight(engine, tmp_path, kind):
    source, target = build(kind, seed=1), build(kind, seed=2)
    path = tmp_path / "m.weights.h5"
    source.save_weights(path)
    target.load_weights(path)
    for a, b in zip(weights(source), weights(target)):
        np.testing.assert_array_equal(a, b)
    with h5py.File(path) as f:  # stored by layer path, with names and class
        first = f.attrs["layers"][0]
        assert set(f[first].attrs["weight_names"]) <= set(f[first])


class Reordered(Model):
    """The Sequential model's layers, by the same names, created in another order."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.d2 = layers.Dense(2, name="d2")
        self.bn = layers.BatchNormalization(name="bn")
        self.d1 = layers.Dense(5, activation="tanh", name="d1")
        self.drop = layers.Dropout(0.1)

    def call(self, x, training=None):
        return self.d2(self.drop(self.bn(self.d1(x), training=training), training=training))


def test_by_name_loads_into_a_different_but_compatible_model(engine, tmp_path):
    path = tmp_path / "m.weights.h5"
    source = build("sequential", seed=1)
    source.save_weights(path)
    other = Reordered()
    other.build((None, 4))
    before = weights(other)
    with pytest.raises(WeightsError, match=r"layer 'd2': weight 'kernel' expected shape \(5, 2\), received"):
        other.load_weights(path)  # by structure, the first layer of the file meets d2
    _assert_unchanged(other, before)
    other.load_weights(path, by_name=True)
    for name in ("d1", "bn", "d2"):
        for a, b in zip(source.get_layer(name).get_weights(), getattr(other, name).get_weights()):
            np.testing.assert_array_equal(a, b)
    x, _ = data("sequential", n=3)
    assert_close(other.predict(x, verbose=0), source.predict(x, verbose=0), "layer")


def _seq(*stack: layers.Layer) -> Sequential:
    return Sequential([Input((4,)), *stack], name="seq")


def _retype_kernel(path) -> None:
    with h5py.File(path, "r+") as f:
        kernel = f["d1/kernel"][()]
        del f["d1/kernel"]
        f["d1/kernel"] = kernel.astype("int64")


CASES = {
    "missing layer": (lambda: _seq(layers.Dense(5, name="d1"), layers.BatchNormalization(name="bn"),
                                   layers.Dense(2, name="d2"), layers.Dense(2, name="d3")),
                      r"the model has 4 layers with weights .* the file 3"),
    "extra layer": (lambda: _seq(layers.Dense(5, name="d1"), layers.Dense(2, name="d2")),
                    r"the model has 2 layers with weights .* the file 3"),
    "wrong shape": (lambda: _seq(layers.Dense(6, name="d1"), layers.BatchNormalization(name="bn"),
                                 layers.Dense(2, name="d2")),
                    r"layer 'd1': weight 'kernel' expected shape \(4, 6\), received \(4, 5\)"),
    "wrong class": (lambda: _seq(layers.Dense(5, name="d1"), layers.LayerNormalization(name="bn"),
                                 layers.Dense(2, name="d2")),
                    r"layer 'bn' is a LayerNormalization but the file's layer 'bn' is a BatchNormalization"),
    "wrong dtype": (lambda: _seq(layers.Dense(5, name="d1"), layers.BatchNormalization(name="bn"),
                                 layers.Dense(2, name="d2")),
                    r"layer 'd1': weight 'kernel' expected dtype float32, received int64"),
    "missing weight": (lambda: _seq(layers.Dense(5, name="d1"), layers.BatchNormalization(name="bn", center=False),
                                    layers.Dense(2, name="d2")),
                       r"layer 'bn': the file has weights the layer lacks: \{'beta': \(5,\)\}"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_every_mismatch_is_named_and_nothing_is_assigned(engine, tmp_path, case):
    path = tmp_path / "m.weights.h5"
    build("sequential", seed=1).save_weights(path)
    if case == "wrong dtype":
        _retype_kernel(path)
    make, match = CASES[case]
    model = make()
    before = weights(model)
    with pytest.raises(WeightsError, match=match) as info:
        model.load_weights(path)
    assert str(path) in str(info.value) and "nothing was loaded" in str(info.value)
    _assert_unchanged(model, before)


def test_by_name_reports_missing_and_extra_layers(engine, tmp_path):
    path = tmp_path / "m.weights.h5"
    build("sequential", seed=1).save_weights(path)
    model = Sequential([Input((4,)), layers.Dense(5, name="d1"), layers.Dense(2, name="other")])
    before = weights(model)
    with pytest.raises(WeightsError, match=r"layer 'other' is not in the file[\s\S]*layers the model lacks: "
                                           r"\['bn', 'd2'\]"):
        model.load_weights(path, by_name=True)
    _assert_unchanged(model, before)


def test_skip_mismatch_loads_what_fits_and_leaves_misfit_layers_whole(engine, tmp_path):
    path = tmp_path / "m.weights.h5"
    source = build("sequential", seed=1)
    source.save_weights(path)
    model = Sequential([Input((4,)), layers.Dense(5, activation="tanh", name="d1"),
                        layers.BatchNormalization(name="bn"), layers.Dense(3, name="d2")])
    d2_before = model.get_layer("d2").get_weights()
    with pytest.warns(UserWarning, match=r"skip_mismatch=True left these alone[\s\S]*'d2': weight 'kernel'"):
        model.load_weights(path, skip_mismatch=True)
    for a, b in zip(source.get_layer("d1").get_weights(), model.get_layer("d1").get_weights()):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(d2_before, model.get_layer("d2").get_weights()):  # bias (2,) vs (3,): kernel untouched too
        np.testing.assert_array_equal(a, b)


def test_unbuilt_model_gets_a_hint(engine, tmp_path):
    path = tmp_path / "m.weights.h5"
    build("sequential").save_weights(path)
    lazy = Sequential([layers.Dense(5, name="d1")])
    with pytest.raises(WeightsError, match=r"has no weights to load into.*not built: call model.build"):
        lazy.load_weights(path)


def test_overwrite_false_and_archives_are_refused(engine, tmp_path):
    path = tmp_path / "m.weights.h5"
    model = build("sequential")
    save_weights(model, path)
    with pytest.raises(FileExistsError, match="pass overwrite=True"):
        model.save_weights(path, overwrite=False)
    model.save(tmp_path / "m.pkeras")
    with pytest.raises(WeightsError, match="whole-model archive; use polykeras.saving.load_model"):
        model.load_weights(tmp_path / "m.pkeras")
    (tmp_path / "junk.h5").write_bytes(b"not hdf5 at all")
    with pytest.raises(WeightsError, match=r"junk\.h5 is not a readable HDF5 file"):
        model.load_weights(tmp_path / "junk.h5")


def test_duplicate_layer_paths_are_refused_when_saving(engine, tmp_path):
    class Twins(Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.a = layers.Dense(2, name="same")
            self.b = layers.Dense(2, name="same")

        def call(self, x):
            return self.b(self.a(x))

    model = Twins()
    model.build((None, 2))
    with pytest.raises(WeightsError, match=r"two layers at path 'same' .*unique names"):
        model.save_weights(tmp_path / "t.weights.h5")
    assert not (tmp_path / "t.weights.h5").exists()


def test_predictions_survive_a_round_trip(engine, tmp_path):
    model = build("functional", seed=3)
    model.save_weights(tmp_path / "f.weights.h5")
    other = build("functional", seed=4)
    other.load_weights(tmp_path / "f.weights.h5")
    x, _ = data("functional", n=4)
    np.testing.assert_array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))


def test_keras_only_saving_options_are_named_not_ignored(engine, tmp_path):
    from polykeras.saving import load_weights, save_model, save_weights

    model = build("sequential", seed=1)
    with pytest.raises(NotImplementedError, match=r"save_weights: max_shard_size .* received max_shard_size=2"):
        save_weights(model, tmp_path / "w.weights.h5", max_shard_size=2)
    with pytest.raises(NotImplementedError, match=r"save_model: zipped=False"):
        save_model(model, tmp_path / "m.keras", zipped=False)
    with pytest.raises(TypeError, match=r"save_model: unexpected argument\(s\) \['include_optimizer'\]"):
        model.save(tmp_path / "m.keras", include_optimizer=False)
    assert list(tmp_path.iterdir()) == []
    model.save(tmp_path / "m.keras", zipped=True)  # Keras' default spelled out
    model.save_weights(tmp_path / "w.weights.h5", max_shard_size=None)
    with pytest.raises(TypeError, match=r"load_weights: unexpected argument\(s\) \['strict'\]"):
        load_weights(model, tmp_path / "w.weights.h5", strict=True)
    model.load_weights(tmp_path / "w.weights.h5", skip_mismatch=False)
