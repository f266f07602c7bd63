"""Training behaviours Keras 3 programs depend on, each run as one program
(``_scenarios``) through polykeras and through Keras 3 itself on the same
engine (in a subprocess, so Keras never shares this process)."""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import polykeras as pk
from polykeras import layers, ops

from . import _scenarios

needs_keras = pytest.mark.skipif(importlib.util.find_spec("keras") is None, reason="needs keras")

_KERAS_RUNS: dict[tuple[str, tuple[str, ...]], dict[str, Any]] = {}


def keras_side(engine: str, names: tuple[str, ...]) -> dict[str, Any]:
    """The named scenarios run by Keras 3 with ``KERAS_BACKEND=engine`` (cached)."""
    key = (engine, names)
    if key not in _KERAS_RUNS:
        script = ("import json, sys; sys.path.insert(0, sys.argv[1]); import _scenarios; "
                  "print(json.dumps(_scenarios.run_keras_side(sys.argv[2].split(','))))")
        env = {**os.environ, "KERAS_BACKEND": engine, "TF_CPP_MIN_LOG_LEVEL": "3"}
        done = subprocess.run([sys.executable, "-c", script, str(Path(__file__).parent), ",".join(names)],
                              env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        _KERAS_RUNS[key] = json.loads(done.stdout.strip().splitlines()[-1])
    return _KERAS_RUNS[key]


# Every scenario of one engine in one Keras run.
_PER_ENGINE = ("dict_targets", "callback_events", "batch_sequence", "weighted_metrics", "metric_bookkeeping",
               "state_tree", "model_surface")


def _close(ours: Any, theirs: Any, what: str) -> None:
    np.testing.assert_allclose(np.asarray(ours, "float64"), np.asarray(theirs, "float64"), rtol=2e-5, atol=2e-6,
                               err_msg=what)


# ------------------------------------------------ 1. dict targets by output name
@needs_keras
def test_dict_targets_pair_with_list_outputs_by_name(diff_engine):
    ours = _scenarios.dict_targets(pk)
    theirs = keras_side(diff_engine.name, _PER_ENGINE)["dict_targets"]
    for when in ("before", "after"):
        assert sorted(ours[when]) == sorted(theirs[when])
        for key in theirs[when]:
            if key.endswith("_out_loss"):
                # Keras weighs these per-output batch means by y_pred's static
                # batch size, unknown inside tf.function, so on TensorFlow it
                # averages batches unweighted; we weigh by rows on every engine,
                # as Keras does on JAX and torch. Checked below through the total.
                continue
            else:
                _close(ours[when][key], theirs[when][key], f"{when} {key} vs Keras 3")
        parts = 2.0 * ours[when]["z_out_loss"] + 0.5 * ours[when]["a_out_loss"]
        np.testing.assert_allclose(ours[when]["loss"], parts, rtol=1e-5)
    for i, (a, b) in enumerate(zip(ours["weights"], theirs["weights"])):
        _close(a, b, f"weight {i} after fit vs Keras 3")


def test_dict_targets_with_an_unknown_key_name_the_keys(diff_engine):
    model = _scenarios.two_outputs(pk)
    model.compile("sgd", loss={"a_out": "mae", "z_out": "mse"})
    x = np.ones((4, 3), "float32")
    with pytest.raises(ValueError, match=r"output names \['z_out', 'a_out'\].*'zz_out'"):
        model.evaluate(x, {"zz_out": np.zeros((4, 1)), "a_out": np.zeros((4, 1))}, verbose=0)
    with pytest.raises(ValueError, match=r"losses names outputs \['b_out'\].*\['z_out', 'a_out'\]"):
        model.compile("sgd", loss={"a_out": "mae", "b_out": "mse"})


def test_dict_targets_may_leave_out_an_output_without_loss(diff_engine):
    model = _scenarios.two_outputs(pk)
    model.compile("sgd", loss={"a_out": "mae"})
    x = np.ones((4, 3), "float32")
    logs = model.evaluate(x, {"a_out": np.full((4, 1), 3.0, "float32")}, verbose=0, return_dict=True)
    expected = np.mean(np.abs(3.0 - model.predict(x, verbose=0)[1]))
    np.testing.assert_allclose(logs["loss"], expected, rtol=1e-5)
    model.compile("sgd", loss={"a_out": "mae", "z_out": "mse"})
    with pytest.raises(ValueError, match="target for output 'z_out'"):
        model.evaluate(x, {"a_out": np.zeros((4, 1))}, verbose=0)


@needs_keras
def test_weighted_metrics_apply_sample_and_class_weights_and_metrics_do_not(diff_engine):
    ours = _scenarios.weighted_metrics(pk)
    theirs = keras_side(diff_engine.name, _PER_ENGINE)["weighted_metrics"]
    for key in ("weighted", "history", "class_weight", "two_outputs"):
        assert sorted(ours[key]) == sorted(theirs[key]), key
        for name in theirs[key]:
            _close(ours[key][name], theirs[key][name], f"{key} {name} vs Keras 3")
    assert ours["weighted"]["mae"] != ours["weighted"]["weighted_mae"]  # the weights change one, not the other
    for i, (a, b) in enumerate(zip(ours["weights"], theirs["weights"])):
        _close(a, b, f"weight {i} after fit vs Keras 3")
    assert ours["config"] == theirs["config"] == ["mae"]


@needs_keras
def test_metrics_variables_and_results_track_keras(diff_engine):
    ours = _scenarios.metric_bookkeeping(pk)
    theirs = keras_side(diff_engine.name, _PER_ENGINE)["metric_bookkeeping"]
    assert ours == theirs
    assert ours["compiled result"] == "ValueError"  # compiled metrics build on the first batch


def test_layer_metrics_follow_attribute_changes(engine):
    """``Layer.metrics``, read on every step, is cached: setting, replacing or
    deleting an attribute that holds a metric, on the layer or a sub-layer
    added later, shows at the next read."""
    outer, inner = layers.Dense(2), layers.Dense(3)
    assert outer.metrics == []
    first, second, third = pk.metrics.Mean(name="first"), pk.metrics.Sum(name="second"), pk.metrics.Mean(name="third")
    outer.tracker = first
    assert [m.name for m in outer.metrics] == ["first"]
    outer.tracker = second
    assert [m.name for m in outer.metrics] == ["second"]
    outer._hidden = first  # any attribute, private ones too
    assert [m.name for m in outer.metrics] == ["second", "first"]
    inner.extra = third
    outer.child = inner
    assert [m.name for m in outer.metrics] == ["second", "first", "third"]
    del outer.tracker
    inner.extra = None
    assert [m.name for m in outer.metrics] == ["first"]
    listed = outer.metrics
    listed.clear()  # a fresh list each read
    assert [m.name for m in outer.metrics] == ["first"]


@needs_keras
def test_state_trees_and_stateless_loss_as_keras(diff_engine):
    ours = _scenarios.state_tree(pk)
    theirs = keras_side(diff_engine.name, _PER_ENGINE)["state_tree"]
    assert ours["loss_arg"] == theirs["loss_arg"] == "mse"
    # the same paths (optimizer slots as Keras names them: "adam/d_kernel_momentum"), in the same order
    assert ours["shapes"] == theirs["shapes"]
    assert json.dumps(ours["shapes"]) == json.dumps(theirs["shapes"])
    assert len(ours["values"]["optimizer_variables"]) == 12
    for group, values in theirs["values"].items():
        for i, (a, b) in enumerate(zip(ours["values"][group], values)):
            _close(a, b, f"{group} leaf {i} vs Keras 3")
    assert ours["bias_after_set"] == theirs["bias_after_set"] == [3.0]
    _close(ours["stateless_loss"], theirs["stateless_loss"], "stateless_compute_loss vs Keras 3")
    assert ours["stateless_counts"] == theirs["stateless_counts"]


def test_state_tree_refuses_what_names_no_variable(diff_engine):
    model = _scenarios.two_outputs(pk)
    with pytest.raises(ValueError, match=r"value_format.*'torch'"):
        model.get_state_tree("torch")
    with pytest.raises(ValueError, match=r"groups among.*'bogus'"):
        model.set_state_tree({"bogus": {}})
    with pytest.raises(ValueError, match=r"trainable_variables has no variable 'hidden/nope'"):
        model.set_state_tree({"trainable_variables": {"hidden": {"nope": np.zeros(4)}}})
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"'hidden/bias' expected shape \(4,\), received \(5,\)"):
        model.set_state_tree({"trainable_variables": {"hidden": {"kernel": np.ones((3, 4), "float32"),
                                                                 "bias": np.ones(5, "float32")}}})
    for a, b in zip(model.get_weights(), before):  # nothing was written, the good kernel included
        np.testing.assert_array_equal(a, b)
    assert "optimizer_variables" not in model.get_state_tree()  # not compiled yet
    with pytest.raises(ValueError, match=r"stateless_compute_loss: expected 6 trainable_variables values, "
                                         r"received 1"):
        model.stateless_compute_loss([np.zeros(1)], [], [])


def test_weighted_metrics_survive_saving(diff_engine, tmp_path):
    x, y, _ = _scenarios._data()
    inputs = pk.Input((3,))
    model = pk.Model(inputs, layers.Dense(1)(inputs))
    model.compile("sgd", "mse", metrics=["mae"], weighted_metrics=["mae"])
    model.save(tmp_path / "m.keras")
    loaded = pk.saving.load_model(tmp_path / "m.keras")
    logs = loaded.evaluate(x, y, sample_weight=np.arange(len(x), dtype="float32"), verbose=0, return_dict=True)
    assert sorted(logs) == ["loss", "mae", "weighted_mae"]
    assert logs["mae"] != logs["weighted_mae"]


# ------------------------------------------------ 2. validation's test hooks
@needs_keras
def test_fit_validation_calls_the_test_hooks_as_keras(diff_engine):
    ours = _scenarios.callback_events(pk)
    theirs = keras_side(diff_engine.name, _PER_ENGINE)["callback_events"]
    assert ours["fit"] == theirs["fit"]
    assert ours["evaluate"] == theirs["evaluate"]
    assert ["on_test_begin", []] in ours["fit"]  # the pin: validation inside fit fires them


# ------------------------------------------------ 3. what a custom step receives
@needs_keras
def test_custom_steps_receive_the_batch_as_the_data_gives_it(diff_engine):
    # Keras' JAX trainer gives custom steps (state, data); its torch trainer
    # passes the data exactly as the adapters give it: the reference here.
    theirs = keras_side("torch", ("step_data",))["step_data"]
    ours = _scenarios.step_data(pk)
    assert ours == theirs
    assert ["train", "T"] in ours and ["train", ["T", "T"]] in ours  # x alone; (x, y)


def test_custom_train_step_unpacking_x_y_trains(diff_engine):
    class Guide(pk.Model):
        def __init__(self) -> None:
            super().__init__()
            self.dense = layers.Dense(1)

        def call(self, inputs: Any) -> Any:
            return self.dense(inputs)

        def train_step(self, data: Any) -> Any:
            x, y = data
            return super().train_step((x, y))

    x, y, _ = _scenarios._data(64)
    model = Guide()
    model.compile(pk.optimizers.SGD(0.1), loss="mse")
    history = model.fit(x, y, batch_size=16, epochs=5, verbose=0)
    assert history.history["loss"][-1] < 0.2 * history.history["loss"][0]


# ------------------------------------------------ 4. plain functions as losses
def plain_loss(y_true: Any, y_pred: Any) -> Any:
    return ops.mean(ops.square(y_true - y_pred), axis=-1)


def plain_metric(y_true: Any, y_pred: Any) -> Any:
    return ops.mean(ops.abs(y_true - y_pred), axis=-1)


def test_unregistered_functions_compile_and_train_but_not_save(diff_engine, tmp_path):
    x, y, _ = _scenarios._data(32)
    inputs = pk.Input((3,))
    model = pk.Model(inputs, layers.Dense(1)(inputs))
    model.compile(pk.optimizers.SGD(0.1), loss=plain_loss, metrics=[plain_metric])
    history = model.fit(x, y, batch_size=8, epochs=3, verbose=0)
    assert set(history.history) == {"loss", "plain_metric"}
    assert history.history["loss"][-1] < history.history["loss"][0]
    with pytest.raises(Exception, match="plain_loss.*register"):
        model.save(tmp_path / "m.pkeras")
    assert not (tmp_path / "m.pkeras").exists()


# ------------------------------------------------ 5. signatures
@needs_keras
@pytest.mark.parametrize("name", ["compile", "fit", "evaluate", "predict", "train_on_batch", "test_on_batch",
                                  "predict_on_batch"])
def test_trainer_signatures_match_keras(name):
    os.environ.setdefault("KERAS_BACKEND", "numpy")
    keras = pytest.importorskip("keras")
    theirs = inspect.signature(getattr(keras.Model, name)).parameters
    ours = inspect.signature(getattr(pk.Model, name)).parameters
    assert [(p.name, p.kind, p.default) for p in ours.values()] == \
        [(p.name, p.kind, p.default) for p in theirs.values()]


@needs_keras
def test_load_model_signature_matches_keras():
    os.environ.setdefault("KERAS_BACKEND", "numpy")
    keras = pytest.importorskip("keras")
    theirs = inspect.signature(keras.saving.load_model).parameters
    ours = inspect.signature(pk.saving.load_model).parameters
    assert [(p.name, p.default) for p in ours.values()] == [(p.name, p.default) for p in theirs.values()]


def test_evaluate_refuses_unknown_keywords(engine):
    inputs = pk.Input((3,))
    model = pk.Model(inputs, layers.Dense(1)(inputs))
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="not recognized.*bogus"):
        model.evaluate(np.ones((2, 3)), np.ones((2, 1)), bogus=1)


# ------------------------------------------------ 6. PyDataset-style objects
@needs_keras
def test_batch_sequence_reads_as_keras(diff_engine):
    ours = _scenarios.batch_sequence(pk, object)
    theirs = keras_side(diff_engine.name, _PER_ENGINE)["batch_sequence"]
    # Keras first reads a batch or two to build, then calls on_epoch_end once before the first epoch (ours
    # builds without reading, then makes the same call): compare that call and the two epochs.
    assert ours["fit"][-8:] == theirs["fit"][-8:] == [0, 1, 2, "end"] * 2
    assert ours["fit"][:-8] == ["end"] and theirs["fit"][-9] == "end"
    for key in ("losses", "evaluate", "predict"):
        _close(ours[key], theirs[key], f"{key} vs Keras 3")
    for i, (a, b) in enumerate(zip(ours["weights"], theirs["weights"])):
        _close(a, b, f"weight {i} vs Keras 3")


class _Indexed:
    """Batches by index, with Keras' PyDataset settings as attributes."""

    def __init__(self, batches: int, workers: int = 1) -> None:
        self.batches, self.workers, self.max_queue_size = batches, workers, 2
        self.read: list[int] = []
        self.epochs_ended = 0

    def __len__(self) -> int:
        return self.batches

    def __getitem__(self, index: int) -> Any:
        self.read.append(index)
        x = np.full((2, 3), index, "float32")
        return x, x[:, :1]

    def on_epoch_end(self) -> None:
        self.epochs_ended += 1


def test_batch_sequence_shuffles_batch_order_per_epoch(engine):
    from polykeras.trainers.data import adapt

    data = _Indexed(8)
    adapter = adapt(data, shuffle=True)
    orders = []
    for _ in range(4):
        orders.append([int(ops.to_numpy(x)[0, 0]) for x, _ in adapter.epoch()])
    assert all(sorted(order) == list(range(8)) for order in orders)
    assert len({tuple(order) for order in orders}) > 1
    assert data.epochs_ended == 4
    assert [int(ops.to_numpy(x)[0, 0]) for x, _ in adapt(data, shuffle=False).epoch()] == list(range(8))


def test_batch_sequence_workers_keep_the_order(engine):
    from polykeras.trainers.data import adapt

    data = _Indexed(7, workers=3)
    seen = [int(ops.to_numpy(x)[0, 0]) for x, _ in adapt(data).epoch()]
    assert seen == list(range(7)) and sorted(data.read) == list(range(7))


def test_batch_sequence_refuses_separate_targets(engine):
    inputs = pk.Input((3,))
    model = pk.Model(inputs, layers.Dense(1)(inputs))
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="y inside the batches of the _Indexed"):
        model.evaluate(_Indexed(2), np.ones((4, 1)), verbose=0)


# ------------------------------------------------ 7. sizes known only at run time
class NoisyRows(layers.Layer):
    """Reads the batch size in ``call`` and shapes new tensors with it."""

    def call(self, x: Any) -> Any:
        batch = ops.shape(x)[0]
        noise = pk.ops.random.normal((batch, 4), seed=1)
        first = ops.take_along_axis(x, ops.zeros((batch, 1), "int32"), axis=1)
        return x + 0.0 * noise + 0.0 * ops.ones((batch, 4)) + 0.0 * first


def test_layers_shape_tensors_by_the_run_time_batch(diff_engine):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(11, 4)).astype("float32")
    y = (x[:, :1] > 0).astype("float32")
    inputs = pk.Input((4,))
    model = pk.Model(inputs, layers.Dense(1, activation="sigmoid")(NoisyRows()(inputs)))
    model.compile(pk.optimizers.SGD(0.1), "binary_crossentropy", metrics=[pk.metrics.AUC(), "accuracy"])
    for batch_size in (4, 3, 5):  # a short last batch each time: the step sees several batch sizes
        history = model.fit(x, y, batch_size=batch_size, epochs=2, verbose=0, validation_split=0.2)
        assert np.isfinite(history.history["loss"]).all() and np.isfinite(history.history["val_auc"]).all()
    assert model.predict(x, batch_size=4, verbose=0).shape == (11, 1)


# ------------------------------------------- layer and model members of Keras 3
@needs_keras
def test_layer_and_model_members_as_keras(diff_engine):
    # compute_output_spec, symbolic_call, input_dtype, metrics held by a
    # layer, add_metric refused, output_names, the compiled-step attributes
    ours = _scenarios.model_surface(pk)
    theirs = keras_side(diff_engine.name, _PER_ENGINE)["model_surface"]
    for key in theirs:
        if key != "weights":
            assert ours[key] == theirs[key], key
    for a, b in zip(ours["weights"], theirs["weights"]):
        _close(a, b, "weights after fit with the train function made, cleared and made again")


def test_make_functions_run_one_step_as_fit(diff_engine):
    x, y, _ = _scenarios._data(8)
    stepped, fitted = (_scenarios.two_outputs(pk) for _ in range(2))
    for model in (stepped, fitted):
        model.compile(pk.optimizers.SGD(0.1), "mse")
    logs = stepped.make_train_function()((x, [y, y], None))
    fitted.fit(x, [y, y], batch_size=8, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(stepped.get_weights(), fitted.get_weights()):
        _close(a, b, "one step of make_train_function against one batch of fit")
    assert set(logs) >= {"loss"}
    made = stepped.make_train_function()
    assert made is stepped.train_function
    assert stepped.make_train_function(force=True) is not made
    stepped.reset_metrics()  # the trackers carry the train step's loss, as in Keras
    test_logs = stepped.make_test_function()((x, [y, y], None))
    np.testing.assert_allclose(float(test_logs["loss"]), stepped.evaluate(x, [y, y], verbose=0)[0], rtol=1e-5)
    predicted = stepped.make_predict_function()((x,))
    np.testing.assert_allclose(ops.to_numpy(predicted[0]), stepped.predict(x, verbose=0)[0], rtol=1e-5)


def test_make_functions_need_compile_and_add_metric_is_removed(engine):
    model = _scenarios.two_outputs(pk)
    with pytest.raises(RuntimeError, match="compile"):
        model.make_train_function()
    with pytest.raises(RuntimeError, match="compile"):
        model.make_test_function()
    with pytest.raises(NotImplementedError, match="add_metric.*compile"):
        model.layers[1].add_metric(1.0)


def test_optimizer_set_weights_refuses_what_does_not_fit(diff_engine):
    model = _scenarios.two_outputs(pk)
    optimizer = pk.optimizers.Adam()
    with pytest.raises(ValueError, match="not built"):
        optimizer.set_weights([])
    optimizer.build(model.trainable_variables)
    before = [v.numpy().copy() for v in optimizer.variables]
    arrays = [np.ones(v.shape, v.dtype) for v in optimizer.variables]
    with pytest.raises(ValueError, match=f"expected {len(arrays)} arrays.*received {len(arrays) - 1}"):
        optimizer.set_weights(arrays[:-1])
    with pytest.raises(ValueError, match=r"expected shape \(3, 4\).*received an array of shape \(4, 3\)"):
        optimizer.set_weights(arrays[:2] + [np.ones((4, 3), "float32")] + arrays[3:])
    for variable, value in zip(optimizer.variables, before):  # nothing written by a refused call
        np.testing.assert_array_equal(variable.numpy(), value)
    with pytest.warns(UserWarning, match="Skipping variable loading"):
        optimizer.load_own_variables({"0": np.zeros(())})
