"""Training scenarios written once against the Keras 3 API: each function takes
the ``keras`` module to run (Keras itself, in a subprocess on the same engine,
or ``polykeras``) and returns JSON-safe results, so a test can compare the two
runs of one program.

Example:
    >>> import polykeras
    >>> dict_targets(polykeras)["before"]["loss"]
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _fill(model: Any) -> None:
    """Deterministic weights, the same on both sides (same layout as Keras)."""
    model.set_weights([np.linspace(-1.0, 1.0, w.size, dtype="float32").reshape(w.shape) * (i + 1)
                       for i, w in enumerate(model.get_weights())])


def _data(n: int = 20, features: int = 3) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(n, features)).astype("float32")
    return x, x.sum(axis=1, keepdims=True), (x[:, :1] * 3.0 + 1.0).astype("float32")


def _floats(logs: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in logs.items()}


def two_outputs(keras: Any) -> Any:
    """A model whose outputs are a list, named so sorted names reverse them."""
    inputs = keras.Input((3,))
    hidden = keras.layers.Dense(4, activation="tanh", name="hidden")(inputs)
    z_out = keras.layers.Dense(1, name="z_out")(hidden)
    a_out = keras.layers.Dense(1, name="a_out")(hidden)
    model = keras.Model(inputs, [z_out, a_out])
    _fill(model)
    return model


def dict_targets(keras: Any) -> dict[str, Any]:
    """List outputs, dict targets/losses/weights/metrics: paired by output name."""
    x, yz, ya = _data()
    model = two_outputs(keras)
    model.compile(keras.optimizers.SGD(0.05), loss={"a_out": "mae", "z_out": "mse"},
                  loss_weights={"a_out": 0.5, "z_out": 2.0}, metrics={"z_out": ["mae"]})
    targets = {"z_out": yz, "a_out": ya}
    before = _floats(model.evaluate(x, targets, batch_size=8, verbose=0, return_dict=True))
    model.fit(x, targets, batch_size=8, epochs=2, shuffle=False, verbose=0)
    after = _floats(model.evaluate(x, targets, batch_size=8, verbose=0, return_dict=True))
    return {"before": before, "after": after, "weights": [w.tolist() for w in model.get_weights()]}


def callback_events(keras: Any) -> dict[str, Any]:
    """Every hook fit and evaluate call, with its argument and log keys."""
    x, y, _ = _data()

    class Recorder(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.events: list[list[Any]] = []

    hooks = ["on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_train_batch_begin",
             "on_train_batch_end", "on_test_begin", "on_test_end", "on_test_batch_begin", "on_test_batch_end"]

    def recorder() -> Any:
        def method(hook: str) -> Any:
            def record(self: Any, *args: Any, **kwargs: Any) -> None:
                *index, logs = (*args, kwargs.get("logs")) if "logs" in kwargs or not args else args
                self.events.append([hook, *index, sorted(logs or {})])
            return record

        kind = type("Recording", (Recorder,), {hook: method(hook) for hook in hooks})
        return kind()

    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    model.compile(keras.optimizers.SGD(0.01), loss="mse", metrics=["mae"])
    fit_recorder, evaluate_recorder = recorder(), recorder()
    model.fit(x[:12], y[:12], batch_size=5, epochs=2, shuffle=False, verbose=0,
              validation_data=(x[12:], y[12:]), callbacks=[fit_recorder])
    model.evaluate(x, y, batch_size=8, verbose=0, callbacks=[evaluate_recorder])
    return {"fit": fit_recorder.events, "evaluate": evaluate_recorder.events}


def weighted_metrics(keras: Any) -> dict[str, Any]:
    """``metrics`` ignore sample and class weights, ``weighted_metrics`` apply
    them; a weighted metric named as an unweighted one becomes ``weighted_<name>``."""
    x, y, _ = _data()
    weights = np.linspace(0.0, 2.0, len(x)).astype("float32")
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    _fill(model)
    model.compile(keras.optimizers.SGD(0.01), loss="mse", metrics=["mae", "mse"], weighted_metrics=["mae"])
    weighted = _floats(model.evaluate(x, y, sample_weight=weights, batch_size=8, verbose=0, return_dict=True))
    history = model.fit(x, y, sample_weight=weights, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    config = model.get_compile_config()

    labels = (x[:, :1] > 0).astype("float32")
    classifier = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(inputs))
    _fill(classifier)
    classifier.compile(keras.optimizers.SGD(0.01), loss="binary_crossentropy", metrics=["accuracy"],
                       weighted_metrics=[keras.metrics.BinaryAccuracy(name="accuracy")])
    by_class = classifier.fit(x, labels, class_weight={0: 0.2, 1: 3.0}, batch_size=8, epochs=1, shuffle=False,
                              verbose=0).history

    model = two_outputs(keras)
    model.compile(keras.optimizers.SGD(0.01), loss=["mse", "mae"], metrics=[["mae"], ["mse"]],
                  weighted_metrics={"z_out": ["mae", "mse"], "a_out": "mse"})
    _, yz, ya = _data()
    # batches of equal size: Keras on TensorFlow averages the per-output losses of unequal ones unweighted
    two = _floats(model.evaluate(x, [yz, ya], sample_weight=[weights, weights[::-1].copy()], batch_size=10,
                                 verbose=0, return_dict=True))
    return {"weighted": weighted, "history": {k: [float(v) for v in vs] for k, vs in history.items()},
            "weights": [w.tolist() for w in model.get_weights()], "config": config["weighted_metrics"],
            "class_weight": {k: [float(v) for v in vs] for k, vs in by_class.items()}, "two_outputs": two}


def metric_bookkeeping(keras: Any) -> dict[str, Any]:
    """What ``model.metrics``, ``metrics_variables`` and ``get_metrics_result``
    hold from compile to after fit, with and without compiled metrics."""
    x, yz, ya = _data()
    out: dict[str, Any] = {}

    def record(tag: str, model: Any) -> None:
        out[f"{tag} metrics"] = [m.name for m in model.metrics]
        out[f"{tag} variables"] = [v.name for v in model.metrics_variables]
        try:
            out[f"{tag} result"] = sorted(model.get_metrics_result())
        except ValueError:
            out[f"{tag} result"] = "ValueError"

    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    record("uncompiled", model)
    model.compile("sgd", "mse")
    record("no metrics", model)
    model.compile("sgd", "mse", metrics=["mae"])
    record("compiled", model)
    model.fit(x, yz, epochs=1, verbose=0)
    record("fitted", model)
    model.reset_metrics()
    out["reset"] = {k: float(v) for k, v in model.get_metrics_result().items()}
    model.compile("sgd", "mse", metrics=["mae"])
    record("recompiled", model)
    two = two_outputs(keras)
    two.compile("sgd", ["mse", "mse"], metrics=[["mae"], []])
    record("two compiled", two)
    two.fit(x, [yz, ya], epochs=1, verbose=0)
    record("two fitted", two)
    return out


def state_tree(keras: Any) -> dict[str, Any]:
    """``get_state_tree`` / ``set_state_tree`` / ``stateless_compute_loss``
    and ``model.loss`` on a trained model with moving statistics."""
    x, y, _ = _data()
    inputs = keras.Input((3,))
    hidden = keras.layers.BatchNormalization(name="bn")(keras.layers.Dense(4, use_bias=False, name="d")(inputs))
    model = keras.Model(inputs, keras.layers.Dense(1, name="head")(hidden), name="net")
    _fill(model)
    model.compile(keras.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    out: dict[str, Any] = {"loss_arg": model.loss}
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)

    def shapes(tree: Any) -> Any:
        return {k: shapes(v) for k, v in tree.items()} if isinstance(tree, dict) else list(np.shape(tree))

    tree = model.get_state_tree("numpy_array")
    out["shapes"] = shapes(tree)
    out["values"] = {group: [np.asarray(v).tolist() for v in _leaf_values(tree[group])] for group in tree}
    tree["trainable_variables"]["head"]["bias"] = np.full((1,), 3.0, "float32")
    model.set_state_tree({"trainable_variables": tree["trainable_variables"]})
    out["bias_after_set"] = np.asarray(model.get_weights()[-1]).tolist()

    values = [[v.value for v in group] for group in (model.trainable_variables, model.non_trainable_variables,
                                                       model.metrics_variables)]
    loss, (_, non_trainable, metric_state) = model.stateless_compute_loss(*values, x=x, y=y, y_pred=model(x))
    out["stateless_loss"] = float(np.asarray(keras.ops.convert_to_numpy(loss)))
    out["stateless_counts"] = [len(non_trainable), len(metric_state)]
    return out


def _leaf_values(tree: Any) -> list[Any]:
    if isinstance(tree, dict):
        return [leaf for key in tree for leaf in _leaf_values(tree[key])]
    return [tree]


def describe(data: Any) -> Any:
    """The structure of a batch: "T" for a tensor, lists for lists and tuples, dicts by key."""
    if isinstance(data, dict):
        return {key: describe(value) for key, value in sorted(data.items())}
    if isinstance(data, (list, tuple)):
        return [describe(item) for item in data]
    return "T"


def step_data(keras: Any) -> list[Any]:
    """What an overridden train_step/test_step/predict_step receives."""
    x, y, _ = _data()
    seen: list[Any] = []

    class Probe(keras.Model):
        def __init__(self) -> None:
            super().__init__()
            self.dense = keras.layers.Dense(1)

        def call(self, inputs: Any) -> Any:
            return self.dense(inputs)

        def train_step(self, data: Any) -> Any:
            seen.append(["train", describe(data)])
            if isinstance(data, tuple):
                x, y = data[:2]  # the guides' unpacking
                return super().train_step(data)
            return {}

        def test_step(self, data: Any) -> Any:
            seen.append(["test", describe(data)])
            return super().test_step(data)

        def predict_step(self, data: Any) -> Any:
            seen.append(["predict", describe(data)])
            return super().predict_step(data)

    model = Probe()
    model.compile(keras.optimizers.SGD(0.01), loss="mse")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    model.fit(x, y, sample_weight=np.ones(len(x), "float32"), batch_size=8, epochs=1, verbose=0)
    model.fit(x, batch_size=8, epochs=1, verbose=0)
    model.evaluate(x, y, batch_size=8, verbose=0)
    model.predict(x, batch_size=8, verbose=0)
    unique: list[Any] = []
    for item in seen:
        if item not in unique:
            unique.append(item)
    return unique


def batch_sequence(keras: Any, base: type) -> dict[str, Any]:
    """A PyDataset-style object (``base`` is Keras' ``PyDataset`` there, a
    plain ``object`` here): indices read, epoch hooks, results."""
    x, y, _ = _data(n=10)
    log: list[Any] = []

    class Batches(base):  # type: ignore[misc, valid-type]
        def __init__(self, with_targets: bool) -> None:
            if base is not object:
                super().__init__()
            self.with_targets = with_targets

        def __len__(self) -> int:
            return 3

        def __getitem__(self, index: int) -> Any:
            log.append(index)
            part = slice(index * 4, (index + 1) * 4)
            return (x[part], y[part]) if self.with_targets else x[part]

        def on_epoch_end(self) -> None:
            log.append("end")

    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    _fill(model)
    model.compile(keras.optimizers.SGD(0.05), loss="mse")
    history = model.fit(Batches(True), epochs=2, shuffle=False, verbose=0)
    fit_log = list(log)
    log.clear()
    loss = model.evaluate(Batches(True), verbose=0)
    predicted = model.predict(Batches(False), verbose=0)
    return {"fit": fit_log, "losses": history.history["loss"], "evaluate": float(loss),
            "predict": predicted.tolist(), "weights": [w.tolist() for w in model.get_weights()]}


def model_surface(keras: Any) -> dict[str, Any]:
    """Layer and model members Keras 3 programs reach for: output specs, input
    dtypes, metrics held by layers, output names and the compiled steps."""
    dense = keras.layers.Dense(3)
    spec = dense.compute_output_spec(keras.KerasTensor((None, 4)))
    called = keras.layers.Dense(2).symbolic_call(keras.KerasTensor((5, 4)))

    class Counting(keras.layers.Layer):
        def __init__(self) -> None:
            super().__init__(name="counting")
            self.seen = keras.metrics.Sum(name="seen")

        def call(self, x: Any) -> Any:
            self.seen.update_state(keras.ops.sum(x))
            return x

    inputs = keras.Input((3,))
    counting = Counting()
    head = keras.layers.Dense(1, name="head")(counting(inputs))
    side = keras.layers.Dense(2, name="side")(inputs)
    model = keras.Model(inputs, {"z": head, "a": side})
    try:
        counting.add_metric(1.0)
        removed = "no error"
    except NotImplementedError:
        removed = "NotImplementedError"
    x, y, _ = _data()
    plain = keras.Model(inputs, keras.layers.Dense(1, name="out")(inputs))
    _fill(plain)
    plain.compile(keras.optimizers.SGD(0.1), "mse")
    before = plain.train_function is None
    plain.make_train_function()
    made = plain.train_function is not None
    plain.train_function = None
    cleared = plain.train_function is None
    plain.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    store: dict[str, Any] = {}
    plain.optimizer.save_own_variables(store)
    fresh = keras.optimizers.SGD(0.1)
    fresh.build(plain.trainable_variables)
    fresh.load_own_variables(store)
    copied = keras.optimizers.SGD(0.1)
    copied.build(plain.trainable_variables)
    copied.set_weights([np.asarray(v) for v in store.values()])
    return {"optimizer_store": [[key, list(np.shape(value)), float(np.sum(value))] for key, value in store.items()],
            "optimizer_loaded": [float(np.sum(np.asarray(v))) for v in fresh.variables],
            "optimizer_set": [float(np.sum(np.asarray(v))) for v in copied.variables],
            "spec": [list(spec.shape), spec.dtype], "symbolic_call": list(called.shape),
            "input_dtype": [dense.input_dtype, keras.layers.Dense(2, dtype="mixed_float16").input_dtype],
            "layer_metrics": [m.name for m in counting.metrics],
            "layer_metric_variables": [v.name for v in counting.metrics_variables],
            "model_metrics": [m.name for m in model.metrics],
            "output_names": [model.output_names, keras.Model(inputs, [side, head]).output_names],
            "add_metric": removed, "train_function": [before, made, cleared, plain.train_function is not None],
            "weights": [w.tolist() for w in plain.get_weights()]}


SCENARIOS = {"dict_targets": dict_targets, "callback_events": callback_events, "step_data": step_data,
             "weighted_metrics": weighted_metrics, "metric_bookkeeping": metric_bookkeeping, "state_tree": state_tree,
             "model_surface": model_surface}


def run_keras_side(names: list[str]) -> dict[str, Any]:
    """Run the named scenarios (and ``batch_sequence``) with Keras itself."""
    import keras

    out: dict[str, Any] = {name: SCENARIOS[name](keras) for name in names if name in SCENARIOS}
    if "batch_sequence" in names:
        out["batch_sequence"] = batch_sequence(keras, keras.utils.PyDataset)
    return out
