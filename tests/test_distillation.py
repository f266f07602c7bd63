"""``polykeras.distillation``: Distiller, LogitsDistillation, FeatureDistillation
and DistillationLoss against Keras 3's ``keras.distillation`` on the same
engine, with the same weights and data: losses before training, and the
logged losses and student weights after SGD steps."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

import polykeras
from polykeras import layers, losses, ops, optimizers
from polykeras.distillation import DistillationLoss, Distiller, FeatureDistillation, LogitsDistillation

from conformance.keras_signatures import Entry, compare
from layers.helpers import run_keras  # tests/ is on sys.path (no __init__.py)
from layers.keras_reference import import_keras

X = np.random.default_rng(0).standard_normal((24, 4)).astype("float32")
Y = (np.arange(24) % 3).astype("int32")

#: Runs under Keras 3 with data = weights and x, y: two distillers, evaluated
#: before training and, where the engine differentiates, after 3 SGD steps.
_KERAS = """
from keras import layers
from keras.distillation import Distiller, LogitsDistillation, FeatureDistillation

def models():
    ti = keras.Input((4,))
    f = layers.Dense(5, activation="relu", name="feat")(layers.Dense(6, activation="relu", name="t1")(ti))
    teacher = keras.Model(ti, layers.Dense(3, name="logits")(f), name="teacher")
    si = keras.Input((4,))
    student = keras.Model(si, layers.Dense(3, name="s_logits")(layers.Dense(5, activation="relu", name="feat_s")(si)),
                          name="student")
    teacher.set_weights([data[f"t{i}"] for i in range(6)])
    student.set_weights([data[f"s{i}"] for i in range(4)])
    return teacher, student

SPECS = {
    "logits_and_features": lambda: ([LogitsDistillation(2.0), FeatureDistillation(teacher_layer_name="feat",
                                     student_layer_name="feat_s")], [1.0, 0.5], 0.3),
    "kl_instance": lambda: (LogitsDistillation(3.0, keras.losses.KLDivergence()), None, 0.5),
    "final_features_only": lambda: ([FeatureDistillation("mae")], None, 0.0),
}
for key, spec in SPECS.items():
    distillation_losses, weights, w = spec()
    teacher, student = models()
    d = Distiller(teacher, student, distillation_losses, weights, w)
    d.compile(keras.optimizers.SGD(0.1), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"], run_eagerly=True)  # eager: tracing three distillers costs more than 6 steps
    out[key + "_before"] = d.evaluate(data["x"], data["y"], batch_size=8, verbose=0, return_dict=True)
    if keras.backend.backend() != "numpy":
        out[key + "_history"] = d.fit(data["x"], data["y"], batch_size=8, epochs=1, shuffle=False, verbose=0).history
        for i, v in enumerate(student.get_weights()):
            out[f"{key}_s{i}"] = np.asarray(v)
out["metrics"] = [m.name for m in d.metrics]
"""

_CACHE: dict[str, dict] = {}


def _models():
    ti = polykeras.Input((4,))
    f = layers.Dense(5, activation="relu", name="feat")(layers.Dense(6, activation="relu", name="t1")(ti))
    teacher = polykeras.Model(ti, layers.Dense(3, name="logits")(f), name="teacher")
    si = polykeras.Input((4,))
    hidden = layers.Dense(5, activation="relu", name="feat_s")(si)
    student = polykeras.Model(si, layers.Dense(3, name="s_logits")(hidden), name="student")
    rng = np.random.default_rng(1)
    teacher.set_weights([(rng.standard_normal(w.shape) * 0.7).astype("float32") for w in teacher.get_weights()])
    student.set_weights([(rng.standard_normal(w.shape) * 0.7).astype("float32") for w in student.get_weights()])
    return teacher, student


SPECS = {
    "logits_and_features": lambda: ([LogitsDistillation(2.0), FeatureDistillation(
        teacher_layer_name="feat", student_layer_name="feat_s")], [1.0, 0.5], 0.3),
    "kl_instance": lambda: (LogitsDistillation(3.0, losses.KLDivergence()), None, 0.5),
    "final_features_only": lambda: ([FeatureDistillation("mae")], None, 0.0),
}


def _distiller(key: str) -> Distiller:
    teacher, student = _models()
    distillation_losses, weights, w = SPECS[key]()
    d = Distiller(teacher, student, distillation_losses, weights, w)
    d.compile(optimizers.SGD(0.1), loss=losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return d


def _keras(engine_name: str) -> dict:
    if engine_name not in _CACHE:
        teacher, student = _models()
        data = {"x": X, "y": Y, **{f"t{i}": w for i, w in enumerate(teacher.get_weights())},
                **{f"s{i}": w for i, w in enumerate(student.get_weights())}}
        loaded = sys.modules.get("keras")
        if engine_name == "numpy" and (loaded is None or loaded.backend.backend() == "numpy"):
            out: dict = {}  # Keras on NumPy is this process's in-process reference (tests/conftest.py)
            exec(_KERAS, {"keras": import_keras(), "np": np, "data": data, "out": out})  # noqa: S102
            _CACHE[engine_name] = out
        else:
            _CACHE[engine_name] = run_keras(_KERAS, data, backend=engine_name)
    return _CACHE[engine_name]


LOGGED = ("loss", "student_loss", "distillation_loss", "total_loss", "accuracy")


@pytest.mark.parametrize("key", list(SPECS))
def test_losses_before_training_match_keras(engine, key):
    keras = _keras(engine.name)
    ours = _distiller(key).evaluate(X, Y, batch_size=8, verbose=0, return_dict=True)
    assert set(ours) == set(keras[key + "_before"])
    for name in LOGGED:
        np.testing.assert_allclose(ours[name], keras[key + "_before"][name], rtol=1e-5, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("key", list(SPECS))
def test_sgd_steps_match_keras(engine, key):
    d = _distiller(key)
    if not engine.differentiable:
        with pytest.raises(NotImplementedError, match="value_and_grad"):
            d.fit(X, Y, batch_size=8, epochs=1, shuffle=False, verbose=0)
        return
    keras = _keras(engine.name)
    teacher_before = d.teacher.get_weights()
    history = d.fit(X, Y, batch_size=8, epochs=1, shuffle=False, verbose=0).history
    for name in LOGGED:
        np.testing.assert_allclose(history[name], keras[key + "_history"][name], rtol=1e-4, atol=1e-5, err_msg=name)
    for i, w in enumerate(d.student.get_weights()):
        np.testing.assert_allclose(w, keras[f"{key}_s{i}"], rtol=1e-4, atol=1e-5)
    for before, after in zip(teacher_before, d.teacher.get_weights()):
        np.testing.assert_array_equal(before, after)  # the teacher is frozen
    assert [m.name for m in d.metrics] == keras["metrics"]
    assert len(d.trainable_weights) == 4 and not d.teacher.trainable


def test_signatures_match_keras():
    keras = import_keras()
    import keras.distillation as kd

    for name in ("Distiller", "DistillationLoss", "LogitsDistillation", "FeatureDistillation"):
        assert compare(Entry.of(getattr(kd, name)), getattr(polykeras.distillation, name)) == ("ok", ""), name
    assert compare(Entry.of(kd.Distiller.compile), Distiller.compile) == ("ok", "")
    assert compare(Entry.of(kd.Distiller.compute_loss), Distiller.compute_loss) == ("ok", "")
    assert LogitsDistillation().get_config()["temperature"] == kd.LogitsDistillation().get_config()["temperature"]
    assert keras.distillation is kd


def test_config_round_trips_through_json(engine):
    d = _distiller("logits_and_features")
    config = json.loads(json.dumps(d.get_config()))
    clone = Distiller.from_config(config)
    assert [type(loss) for loss in clone.distillation_losses] == [LogitsDistillation, FeatureDistillation]
    assert clone.distillation_loss_weights == [1.0, 0.5] and clone.student_loss_weight == 0.3
    clone.teacher.set_weights(d.teacher.get_weights())  # a config carries no weights
    clone.student.set_weights(d.student.get_weights())
    clone.compile(optimizers.SGD(0.1), loss=losses.SparseCategoricalCrossentropy(from_logits=True))
    x, y = ops.convert_to_tensor(X), ops.convert_to_tensor(Y)
    np.testing.assert_allclose(ops.to_numpy(clone.compute_loss(x, y, clone(x))),
                               ops.to_numpy(d.compute_loss(x, y, d(x))), rtol=1e-6)
    for loss in (LogitsDistillation(4.0, ["kl_divergence", None]), FeatureDistillation(losses.Huber(2.0), "a", "b")):
        again = type(loss).from_config(json.loads(json.dumps(loss.get_config())))
        assert again.get_config() == loss.get_config()


@pytest.mark.parametrize("suffix", [".pkeras", ".keras"])
def test_a_saved_distiller_reloads_compiled(diff_engine, tmp_path, suffix):
    d = _distiller("logits_and_features")
    d.fit(X, Y, batch_size=8, epochs=1, verbose=0)
    d.save(tmp_path / f"distiller{suffix}")
    again = polykeras.saving.load_model(tmp_path / f"distiller{suffix}")
    assert type(again) is Distiller and again.compiled
    assert [type(loss) for loss in again.distillation_losses] == [LogitsDistillation, FeatureDistillation]
    np.testing.assert_allclose(again.predict(X, verbose=0), d.predict(X, verbose=0), rtol=1e-6)
    for model in (d, again):  # the same next step: optimizer state and student loss came back
        model.fit(X, Y, batch_size=len(X), epochs=1, shuffle=False, verbose=0)
    for ours, theirs in zip(again.get_weights(), d.get_weights()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_a_custom_distillation_loss(engine):
    class MeanGap(DistillationLoss):
        def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
            return ops.mean(ops.abs(ops.subtract(teacher_outputs, student_outputs)))

    teacher, student = _models()
    d = Distiller(teacher, student, MeanGap(), student_loss_weight=0.0)
    d.compile(loss="mse")
    x = ops.convert_to_tensor(X)
    expected = np.abs(ops.to_numpy(teacher(x)) - ops.to_numpy(student(x))).mean()
    np.testing.assert_allclose(ops.to_numpy(d.compute_loss(x, None, d(x))), expected, rtol=1e-5)
    np.testing.assert_allclose(ops.to_numpy(d.student_loss_tracker.result()), 0.0)

    class PerSample(DistillationLoss):
        def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
            return ops.abs(teacher_outputs - student_outputs)

    d = Distiller(*_models(), PerSample())
    d.compile(loss="mse")
    with pytest.raises(ValueError, match="PerSample.compute_loss must return a scalar, returned shape \\(24, 3\\)"):
        d.compute_loss(x, None, d(x))


def test_bad_arguments_are_refused_by_name(engine):
    teacher, student = _models()
    logits = LogitsDistillation()
    with pytest.raises(ValueError, match="student_loss_weight between 0.0 and 1.0, received 1.5"):
        Distiller(teacher, student, logits, student_loss_weight=1.5)
    with pytest.raises(ValueError, match="received None"):
        Distiller(teacher, student, None)
    with pytest.raises(ValueError, match="one distillation_loss_weight per distillation loss \\(2\\), received 1"):
        Distiller(teacher, student, [logits, logits], [1.0])
    with pytest.raises(ValueError, match="expected the teacher to be a Model, received Dense"):
        Distiller(layers.Dense(3), student, logits)
    with pytest.raises(ValueError, match="DistillationLoss instances.*'mse'"):
        Distiller(teacher, student, ["mse"])
    x = polykeras.Input((4,))
    wide = polykeras.Model(x, layers.Dense(7)(x))
    with pytest.raises(ValueError, match="output shapes that match, received teacher \\(None, 3\\) and student "
                                         "\\(None, 7\\)"):
        Distiller(teacher, wide, logits)
    with pytest.raises(ValueError, match="in the teacher model: .*no layer named 'nope'"):
        Distiller(teacher, student, FeatureDistillation(teacher_layer_name="nope"))

    class Sub(polykeras.Model):
        def call(self, x):
            return x

    with pytest.raises(ValueError, match="student_layer_name needs a functional or Sequential student"):
        Distiller(teacher, Sub(), FeatureDistillation(student_layer_name="feat_s"))
    with pytest.raises(ValueError, match="positive temperature, received temperature=0"):
        LogitsDistillation(0)
    with pytest.raises(ValueError, match="at least one loss that is not None"):
        FeatureDistillation([None, None])
    with pytest.raises(ValueError, match="unknown loss 'msqe'"):
        LogitsDistillation(loss="msqe")
    d = Distiller(teacher, student, logits)
    with pytest.raises(ValueError, match="compile\\(\\) needs the student's loss"):
        d.compile("sgd")
    with pytest.raises(ValueError, match="metrics as a list or tuple, received 'accuracy'"):
        d.compile("sgd", loss="mse", metrics="accuracy")
    with pytest.raises(ValueError, match="one loss per output"):
        LogitsDistillation(loss=["mse", "mae"]).validate_outputs(ops.ones((2, 3)), ops.ones((2, 3)))
