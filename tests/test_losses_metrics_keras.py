"""The losses and metrics added for Keras 3 parity (Dice, Tversky, Circle,
CategoricalGeneralizedCrossEntropy, CTC; R2Score, the correlations, the
at-constraint confusion metrics, BinaryIoU and the one-hot IoUs, the ignore_class
of SparseCategoricalCrossentropy) against Keras 3 running on the same engine
with the same data: values (plain and weighted; metrics after three
``update_state`` calls with and without sample weights), state variable names,
shapes and order, configs; round trips, lookups, compile/fit and bad inputs."""

from __future__ import annotations

import json
import sys
import warnings

import numpy as np
import pytest

from conformance.tolerances import assert_close
from layers.helpers import run_keras  # tests/ is on sys.path (no __init__.py)
from polykeras import losses, metrics, ops

N = 8


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype("float32")


def _data() -> dict[str, np.ndarray]:
    r = np.random.default_rng(7)
    d: dict[str, np.ndarray] = {}
    for i in range(3):
        d[f"reg_t{i}"], d[f"reg_p{i}"] = r.standard_normal((N, 3)).astype("float32"), \
            r.standard_normal((N, 3)).astype("float32")
        d[f"bin_t{i}"], d[f"bin_p{i}"] = r.integers(0, 2, N).astype("float32"), r.uniform(0, 1, N).astype("float32")
        d[f"hot_t{i}"] = np.eye(3, dtype="float32")[r.integers(0, 3, N)]
        d[f"hot_p{i}"] = r.dirichlet(np.ones(3), N).astype("float32")
        d[f"ids_t{i}"], d[f"ids_p{i}"] = r.integers(-1, 3, N).astype("int32"), \
            r.standard_normal((N, 3)).astype("float32")
        d[f"cls_t{i}"], d[f"cls_p{i}"] = r.integers(0, 2, (N, 2)).astype("float32"), \
            r.uniform(0, 1, (N, 2)).astype("float32")
    d["w1"], d["w2"] = r.uniform(0, 2, N).astype("float32"), r.integers(0, 3, N).astype("float32")
    d["mask_t"] = r.integers(0, 2, (N, 2, 3)).astype("float32")
    d["mask_p"] = r.uniform(0, 1, (N, 2, 3)).astype("float32")
    d["emb_t"], d["emb_p"] = np.array([0, 1, 0, 1, 2, 2, 3, 0], "int32"), _unit(r.standard_normal((N, 5)))
    d["gce_t"], d["gce_p"] = r.integers(0, 4, N).astype("int32"), r.dirichlet(np.ones(4), N).astype("float32")
    d["ctc_t"] = np.array([[1, 2, 0], [3, 3, 1], [2, 0, 0], [1, 3, 2], [3, 0, 0], [2, 1, 0], [1, 1, 0], [3, 2, 1]],
                          "int32")
    d["ctc_p"] = r.standard_normal((N, 7, 4)).astype("float32")
    return d


DATA = _data()

#: loss class -> (constructor kwargs, data prefix, function name, function kwargs)
LOSSES = {
    "Dice": ({"axis": (1, 2)}, "mask", "dice", {"axis": (1, 2)}),
    "Tversky": ({"alpha": 0.7, "beta": 0.3, "axis": (1, 2)}, "mask", "tversky", {"alpha": 0.2, "beta": 0.8}),
    "Circle": ({"gamma": 16.0, "margin": 0.25}, "emb", "circle", {"remove_diagonal": False}),
    "CategoricalGeneralizedCrossEntropy": ({"q": 0.3}, "gce", "categorical_generalized_cross_entropy", {"q": 0.6}),
    "CTC": ({"reduction": "sum"}, "ctc", "ctc", {}),
}
#: metric class -> (constructor kwargs, data prefix)
METRICS = {
    "R2Score": ({}, "reg"),
    "R2Score-weighted": ({"class_aggregation": "variance_weighted_average", "num_regressors": 2, "name": "r2w"},
                         "reg"),
    "R2Score-raw": ({"class_aggregation": None, "name": "r2_raw"}, "reg"),
    "PearsonCorrelation": ({}, "reg"),
    "ConcordanceCorrelation": ({"axis": -1}, "reg"),
    "PrecisionAtRecall": ({"recall": 0.6}, "bin"),
    "RecallAtPrecision": ({"precision": 0.5, "num_thresholds": 7}, "bin"),
    "SensitivityAtSpecificity": ({"specificity": 0.4}, "bin"),
    "SpecificityAtSensitivity": ({"sensitivity": 0.7, "num_thresholds": 1}, "bin"),
    "PrecisionAtRecall-class": ({"recall": 0.5, "class_id": 1, "name": "p_at_r"}, "cls"),
    "BinaryIoU": ({"threshold": 0.4}, "bin"),
    "BinaryIoU-one": ({"target_class_ids": [1], "dtype": "float32", "name": "iou1"}, "bin"),
    "OneHotIoU": ({"num_classes": 3, "target_class_ids": [0, 2]}, "hot"),
    "OneHotMeanIoU": ({"num_classes": 3, "dtype": "float32"}, "hot"),
    "SparseCategoricalCrossentropy": ({"from_logits": True, "ignore_class": -1}, "ids"),
}

_KERAS_CODE = """
import json
spec = json.loads(SPEC)
for name, (kwargs, prefix, fn, fn_kwargs) in spec["losses"].items():
    loss = getattr(keras.losses, name)(**{k: tuple(v) if k == "axis" and isinstance(v, list) else v
                                         for k, v in kwargs.items()})
    t, p = keras.ops.convert_to_tensor(data[prefix + "_t"]), keras.ops.convert_to_tensor(data[prefix + "_p"])
    out[f"loss:{name}"] = np.stack([keras.ops.convert_to_numpy(loss(t, p)),
                                    keras.ops.convert_to_numpy(loss(t, p, sample_weight=data["w1"]))])
    fn_kwargs = {k: tuple(v) if k == "axis" and isinstance(v, list) else v for k, v in fn_kwargs.items()}
    out[f"fn:{fn}"] = keras.ops.convert_to_numpy(getattr(keras.losses, fn)(t, p, **fn_kwargs))
    out[f"config:loss:{name}"] = json.loads(json.dumps(loss.get_config()))
for key, (kwargs, prefix) in spec["metrics"].items():
    metric = getattr(keras.metrics, key.split("-")[0])(**kwargs)
    results = []
    for i, w in enumerate([None, data["w1"], data["w2"]]):
        metric.update_state(data[f"{prefix}_t{i}"], data[f"{prefix}_p{i}"], sample_weight=w)
        results.append(np.asarray(keras.ops.convert_to_numpy(metric.result()), dtype="float64"))
    out[f"metric:{key}"] = np.stack(results)
    out[f"vars:{key}"] = [[v.path, list(v.shape), str(v.dtype)] for v in metric.variables]
    out[f"config:metric:{key}"] = json.loads(json.dumps(metric.get_config()))
for fn in ("pearson_correlation", "concordance_correlation"):
    args = [keras.ops.convert_to_tensor(data[k]) for k in ("reg_t0", "reg_p0")]
    out[f"fn:{fn}"] = keras.ops.convert_to_numpy(getattr(keras.metrics, fn)(*args))
"""

_CACHE: dict[str, dict] = {}


def keras_results(engine_name: str) -> dict:
    """Every case computed by Keras 3 on ``engine_name`` (one subprocess per engine, cached)."""
    if engine_name not in _CACHE:
        code = f"SPEC = {json.dumps({'losses': LOSSES, 'metrics': METRICS})!r}\n" + _KERAS_CODE
        loaded = sys.modules.get("keras")
        if engine_name == "numpy" and (loaded is None or loaded.backend.backend() == "numpy"):
            keras = pytest.importorskip("keras")  # conftest picks Keras's NumPy backend for this process
            out: dict = {}
            with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                exec(code, {"keras": keras, "np": np, "data": DATA, "out": out})
            _CACHE[engine_name] = json.loads(json.dumps({k: v for k, v in out.items() if k.startswith(("config",
                                                                                                       "vars"))}))
            _CACHE[engine_name].update({k: np.asarray(v) for k, v in out.items()
                                        if not k.startswith(("config", "vars"))})
        else:
            _CACHE[engine_name] = run_keras(code, DATA, backend=engine_name)
    return _CACHE[engine_name]


def _tuple_axis(kwargs: dict) -> dict:
    return {k: tuple(v) if k == "axis" and isinstance(v, list) else v for k, v in kwargs.items()}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_matches_keras_on_the_same_engine(engine, name):
    kwargs, prefix, fn, fn_kwargs = LOSSES[name]
    expected = keras_results(engine.name)
    t, p = DATA[prefix + "_t"], DATA[prefix + "_p"]
    loss = getattr(losses, name)(**_tuple_axis(kwargs))
    got = np.stack([ops.to_numpy(loss(t, p)), ops.to_numpy(loss(t, p, sample_weight=DATA["w1"]))])
    assert_close(got, expected[f"loss:{name}"], "loss")
    assert_close(ops.to_numpy(getattr(losses, fn)(t, p, **_tuple_axis(fn_kwargs))), expected[f"fn:{fn}"], "loss")
    assert json.loads(json.dumps(loss.get_config())) == expected[f"config:loss:{name}"]


@pytest.mark.parametrize("key", sorted(METRICS))
def test_metric_matches_keras_on_the_same_engine(engine, key):
    kwargs, prefix = METRICS[key]
    expected = keras_results(engine.name)
    metric = getattr(metrics, key.split("-")[0])(**kwargs)
    results = []
    for i, w in enumerate([None, DATA["w1"], DATA["w2"]]):
        metric.update_state(DATA[f"{prefix}_t{i}"], DATA[f"{prefix}_p{i}"], sample_weight=w)
        results.append(np.asarray(ops.to_numpy(metric.result()), np.float64))
    assert_close(np.stack(results), expected[f"metric:{key}"], "loss", "float32")
    # Keras's IoU default dtype "int" is int64 on TensorFlow, int32 elsewhere; polykeras counts in int32 everywhere.
    int32 = {"int64": "int32"}
    keras_vars = [[path, shape, int32.get(dtype, dtype)] for path, shape, dtype in expected[f"vars:{key}"]]
    assert [[v.path, list(v.shape), str(v.dtype)] for v in metric.variables] == keras_vars
    keras_config = expected[f"config:metric:{key}"]
    assert json.loads(json.dumps(metric.get_config())) == {**keras_config,
                                                          "dtype": int32.get(keras_config["dtype"],
                                                                             keras_config["dtype"])}
    metric.reset_state()
    assert all(not np.any(v.numpy()) for v in metric.variables)


@pytest.mark.parametrize("fn", ["pearson_correlation", "concordance_correlation"])
def test_metric_functions_match_keras(engine, fn):
    got = getattr(metrics, fn)(DATA["reg_t0"], DATA["reg_p0"])
    assert_close(ops.to_numpy(got), keras_results(engine.name)[f"fn:{fn}"], "loss")


def test_metrics_exports_the_loss_functions_keras_does():
    keras = pytest.importorskip("keras")
    shared = [n for n in dir(keras.metrics) if not n.startswith("_") and getattr(keras.metrics, n)
              is getattr(keras.losses, n, None)]
    assert "mean_squared_error" in shared and "sparse_categorical_crossentropy" in shared
    for name in shared:
        assert getattr(metrics, name) is getattr(losses, name), name


@pytest.mark.parametrize("obj", [
    losses.Dice(axis=(1, 2)), losses.Tversky(alpha=0.1, beta=0.9), losses.Circle(gamma=3.0, remove_diagonal=False),
    losses.CategoricalGeneralizedCrossEntropy(q=0.25), losses.CTC(reduction="sum", name="c"),
], ids=lambda o: type(o).__name__)
def test_loss_config_round_trip(obj):
    text = json.dumps(losses.serialize(obj))
    clone = losses.deserialize(json.loads(text))
    assert type(clone) is type(obj) and clone.get_config() == obj.get_config()
    assert losses.deserialize(name=losses.serialize(obj)).get_config() == obj.get_config()  # Keras's keyword
    assert isinstance(losses.get(type(obj).__name__), type(obj))


@pytest.mark.parametrize("key", sorted(METRICS))
def test_metric_config_round_trip(key):
    kwargs, _ = METRICS[key]
    metric = getattr(metrics, key.split("-")[0])(**kwargs)
    clone = metrics.deserialize(json.loads(json.dumps(metrics.serialize(metric))))
    assert type(clone) is type(metric) and clone.get_config() == metric.get_config()


def test_lookups_by_name():
    assert losses.get("dice") is losses.dice and losses.get("ctc") is losses.ctc
    assert losses.deserialize("tversky") is losses.tversky
    assert isinstance(metrics.get("R2Score"), metrics.R2Score)
    assert isinstance(metrics.get("pearson_correlation"), metrics.PearsonCorrelation)
    assert metrics.FUNCTIONS["concordance_correlation"] is metrics.concordance_correlation


def test_bad_inputs_name_the_loss_or_metric(engine):
    with pytest.raises(ValueError, match="CategoricalGeneralizedCrossEntropy: expected q in \\(0, 1\\), received q=1.5"
                       ):
        losses.CategoricalGeneralizedCrossEntropy(q=1.5)
    with pytest.raises(ValueError, match="Dice.*same shape.*\\(4, 3\\).*\\(4, 2\\)"):
        losses.Dice()(np.zeros((4, 3)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="dice: expected axis None, an int or a tuple.*axis=5"):
        losses.dice(np.zeros((4, 3)), np.zeros((4, 3)), axis=5)
    with pytest.raises(ValueError, match="ctc: expected integer labels y_true of shape \\(batch, max_length\\)"):
        losses.ctc(np.zeros((4,)), np.zeros((4, 5, 3)))
    with pytest.raises(ValueError, match="CTC \\(name=.ctc.\\): expected logits y_pred of shape \\(batch, steps, "):
        losses.CTC()(np.zeros((4, 2)), np.zeros((4, 5)))
    with pytest.raises(ValueError, match="circle: expected y_pred embeddings of shape \\(batch, dim\\)"):
        losses.circle(np.zeros((4,)), np.zeros((4, 2, 2)))
    with pytest.raises(ValueError, match="circle: expected integer y_true of shape \\(4,\\)"):
        losses.circle(np.zeros((3,)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="PrecisionAtRecall: expected recall in \\[0, 1\\], received recall=1.2"):
        metrics.PrecisionAtRecall(1.2)
    with pytest.raises(ValueError, match="SensitivityAtSpecificity: expected an int num_thresholds > 0"):
        metrics.SensitivityAtSpecificity(0.5, num_thresholds=0)
    with pytest.raises(ValueError, match="R2Score: expected class_aggregation in"):
        metrics.R2Score(class_aggregation="median")
    with pytest.raises(ValueError, match="R2Score: expected y_true and y_pred of shape \\(batch, outputs\\)"):
        metrics.R2Score().update_state(np.zeros((2, 3, 1)), np.zeros((2, 3, 1)))
    with pytest.raises(ValueError, match="RecallAtPrecision: expected y_true and y_pred of the same shape"):
        metrics.RecallAtPrecision(0.5).update_state(np.zeros((4,)), np.zeros((5,)))
    with pytest.raises(ValueError, match="PearsonCorrelation.*same shape"):
        metrics.PearsonCorrelation().update_state(np.zeros((4, 3)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="OneHotIoU: expected target_class_ids in \\[0, 3\\)"):
        metrics.OneHotIoU(num_classes=3, target_class_ids=[3])
    with pytest.raises(ValueError, match="BinaryIoU: expected a float threshold"):
        metrics.BinaryIoU(threshold="high")


def test_circle_mean_is_over_the_samples_with_a_loss(engine):
    # label 3 appears once: with remove_diagonal it has no positive pair, its loss is 0 and it is left out.
    labels, embeddings = np.array([0, 0, 1, 1, 3], "int32"), _unit(np.random.default_rng(3).standard_normal((5, 4)))
    per_sample = ops.to_numpy(losses.circle(labels, embeddings))
    assert per_sample[-1] == 0.0 and np.all(per_sample[:-1] > 0)
    assert_close(ops.to_numpy(losses.Circle()(labels, embeddings)), per_sample[:-1].mean(), "loss")


def test_compile_and_fit_with_the_new_losses_and_metrics(diff_engine):
    from polykeras import layers, models

    r = np.random.default_rng(0)
    x = r.standard_normal((32, 4)).astype("float32")
    y = (1 / (1 + np.exp(-x @ r.standard_normal((4, 3))))).astype("float32")  # targets in (0, 1)
    model = models.Sequential([layers.Input((4,)), layers.Dense(3, activation="sigmoid")])
    model.compile(optimizer="sgd", loss=losses.Dice(axis=-1),
                  metrics=[metrics.R2Score(), metrics.PearsonCorrelation(), "concordance_correlation",
                           metrics.PrecisionAtRecall(0.5), metrics.BinaryIoU(), metrics.mean_squared_error])
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    logs = {k: v[-1] for k, v in history.history.items()}
    assert {"loss", "r2_score", "pearson_correlation", "concordance_correlation", "precision_at_recall",
            "binary_io_u", "mean_squared_error"} <= set(logs)
    assert all(np.isfinite(v) for v in logs.values())
    assert history.history["loss"][1] < history.history["loss"][0] + 1e-6
    evaluated = model.evaluate(x, y, batch_size=32, verbose=0, return_dict=True)
    r2 = metrics.R2Score()
    r2.update_state(y, model.predict(x, verbose=0))
    assert_close(np.float32(evaluated["r2_score"]), ops.to_numpy(r2.result()), "loss")


def test_ctc_trains_under_compile(diff_engine):
    from polykeras import layers, models

    r = np.random.default_rng(1)
    x = r.standard_normal((8, 6, 3)).astype("float32")
    labels = DATA["ctc_t"]
    model = models.Sequential([layers.Input((6, 3)), layers.Dense(4)])
    model.compile(optimizer="adam", loss="ctc")
    history = model.fit(x, labels, batch_size=4, epochs=3, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert history.history["loss"][-1] < history.history["loss"][0]


_KERAS_FILE_CODE = """
import os
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="sigmoid")])
model.compile(optimizer="adam", loss=keras.losses.Tversky(alpha=0.7, beta=0.3, axis=-1),
              metrics=[keras.metrics.R2Score(), keras.metrics.PrecisionAtRecall(0.5),
                       keras.metrics.OneHotMeanIoU(num_classes=3), "pearson_correlation",
                       keras.metrics.BinaryIoU(threshold=0.3)])
model.fit(data["x"], data["y"], epochs=1, verbose=0)
model.save(os.path.join(str(data["folder"]), "model.keras"))
out["logs"] = {k: float(v) for k, v in model.evaluate(data["x"], data["y"], verbose=0, return_dict=True).items()}
"""


def test_keras_file_compiled_with_the_new_loss_and_metrics_loads(engine, tmp_path_factory):
    from polykeras import saving

    folder = tmp_path_factory.getbasetemp() / "new_losses_metrics_file"
    r = np.random.default_rng(0)
    x, y = r.standard_normal((16, 4)).astype("float32"), r.uniform(0, 1, (16, 3)).astype("float32")
    if not (folder / "model.keras").exists():
        folder.mkdir(exist_ok=True)
        _CACHE["file_logs"] = run_keras(_KERAS_FILE_CODE, {"x": x, "y": y, "folder": np.array(str(folder))},
                                        backend="jax")["logs"]
    model = saving.load_model(str(folder / "model.keras"))
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    expected = _CACHE["file_logs"]
    assert set(logs) == set(expected)
    for key, value in expected.items():
        assert_close(np.float32(logs[key]), np.float32(value), "layer", err_msg=key)
