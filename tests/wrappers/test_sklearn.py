"""The scikit-learn wrappers pass scikit-learn's own estimator checks (with the
expected-failure list Keras 3.15's own tests use) on every engine that trains,
pickle through a polykeras archive, and fit and predict as Keras's wrappers
do on the same data and weights (Keras run on the same engine)."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import textwrap
import unittest

import numpy as np
import pytest

from polykeras import Input, Model, layers, optimizers, utils
from polykeras.wrappers import SKLearnClassifier, SKLearnRegressor, SKLearnTransformer

sklearn = pytest.importorskip("sklearn")
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402


def dynamic_model(X, y, loss, out_activation_function="softmax", layers_=(8,), learning_rate=0.01,
                  run_eagerly=False):
    """A small MLP sized from the data (Keras's test builds the same shape).
    Seeded, so that two fits on the same data agree (the checks that refit
    and compare need it)."""
    utils.set_random_seed(0)
    inputs = Input((X.shape[1],))
    hidden = inputs
    for units in layers_:
        hidden = layers.Dense(units, activation="relu")(hidden)
    outputs = layers.Dense(y.shape[1] if y.ndim > 1 else 1, activation=out_activation_function)(hidden)
    model = Model(inputs, outputs)
    model.compile(loss=loss, optimizer=optimizers.Adam(learning_rate), run_eagerly=run_eagerly)
    return model


class _Named:
    """A model-building function with a repr of its name: scikit-learn names each check after the
    estimator's repr, and a function's repr holds its address, which differs between pytest-xdist's
    workers (they must collect the same test names)."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, *args, **kwargs):
        return self.fn(*args, **kwargs)

    def __repr__(self):
        return self.fn.__name__


#: Keras 3.15's own list (keras/src/wrappers/sklearn_test.py), with its reasons.
EXPECTED_FAILED_CHECKS = {
    "SKLearnClassifier": {
        "check_classifiers_regression_target": "not an issue in sklearn>=1.6",
        "check_parameters_default_constructible": "not an issue in sklearn>=1.6",
        "check_classifiers_one_label_sample_weights": "0 sample weight is not ignored",
        "check_classifiers_classes": "with small test cases the estimator returns not all classes sometimes",
        "check_classifier_data_not_an_array": "This test assumes reproducibility in fit.",
        "check_supervised_y_2d": "This test assumes reproducibility in fit.",
        "check_fit_idempotent": "This test assumes reproducibility in fit.",
        "check_classifiers_train": "decision_function can return both probabilities and logits",
    },
    "SKLearnRegressor": {"check_parameters_default_constructible": "not an issue in sklearn>=1.6"},
    "SKLearnTransformer": {"check_parameters_default_constructible": "not an issue in sklearn>=1.6"},
}

# The checks fit hundreds of tiny models: run eagerly, so no step is compiled per fit (the suite's time).
ESTIMATORS = [
    SKLearnClassifier(model=_Named(dynamic_model),
                      model_kwargs={"loss": "categorical_crossentropy", "run_eagerly": True},
                      fit_kwargs={"epochs": 2, "verbose": 0}),
    # a linear output trained long enough for check_regressors_train's R^2 > 0.5
    SKLearnRegressor(model=_Named(dynamic_model), model_kwargs={"loss": "mse", "out_activation_function": "linear",
                                                        "layers_": (), "learning_rate": 0.1, "run_eagerly": True},
                     fit_kwargs={"epochs": 10, "batch_size": 64, "verbose": 0}),
    SKLearnTransformer(model=_Named(dynamic_model), model_kwargs={"loss": "mse", "run_eagerly": True},
                       fit_kwargs={"verbose": 0}),
]


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=lambda e: EXPECTED_FAILED_CHECKS[type(e).__name__])
def test_sklearn_estimator_checks(engine, estimator, check):
    if engine.differentiable:
        check(estimator)
        return
    # The NumPy engine computes no gradients: every check that fits raises by name (pinned); the
    # checks that never reach fit pass.
    try:
        check(estimator)
    except unittest.SkipTest:
        raise  # scikit-learn's own skips, the same on every engine
    except NotImplementedError as exc:
        assert "numpy" in str(exc)
    except Exception as exc:  # sklearn wraps some errors in its own messages
        assert "NotImplementedError" in repr(exc) or "numpy" in str(exc), exc


def _xy(n=40, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5)).astype("float32")
    return X, (np.abs(X[:, 0] * 2).astype(int) % classes)


def test_classifier_round_trip_and_errors(diff_engine):
    X, y = _xy()
    clf = SKLearnClassifier(model=dynamic_model, model_kwargs={"loss": "categorical_crossentropy"},
                            fit_kwargs={"epochs": 1, "verbose": 0})
    clf.fit(X, y)
    assert list(clf.classes_) == [0, 1, 2] and clf.predict(X).shape == (40,)
    assert clf.decision_function(X).shape == (40, 3) and clf.epoch_ == [0]
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(again.decision_function(X), clf.decision_function(X), rtol=1e-6)
    with pytest.raises(ValueError, match="expected at least two classes"):
        clf.fit(X, np.zeros(40, int))
    with pytest.raises(ValueError, match="only binary and multiclass"):
        clf.fit(X, X[:, 0])
    uncompiled = SKLearnRegressor(model=lambda X, y: Model(inp := Input((5,)), layers.Dense(1)(inp)))
    with pytest.raises(RuntimeError, match="expected a compiled model"):
        uncompiled.fit(X, y.astype("float32"))


def test_model_instance_is_cloned_unless_warm_start(diff_engine):
    X, y = _xy()
    model = dynamic_model(X, y.reshape(-1, 1).astype("float32"), "mse", "linear")
    before = [w.copy() for w in model.get_weights()]
    reg = SKLearnRegressor(model=model, fit_kwargs={"verbose": 0}).fit(X, y.astype("float32"))
    assert reg.model_ is not model
    for w, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(w, b)
    warm = SKLearnRegressor(model=model, warm_start=True, fit_kwargs={"verbose": 0}).fit(X, y.astype("float32"))
    assert warm.model_ is model
    warm.fit(X, y.astype("float32"))
    assert warm.model_ is model


KERAS_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import keras
    from keras.wrappers import SKLearnClassifier, SKLearnRegressor
    data = np.load(sys.argv[1])
    X, yc, yr = data["X"], data["yc"], data["yr"]
    out = {}
    for kind, y, cls, loss, act in (("classifier", yc, SKLearnClassifier, "categorical_crossentropy", "softmax"),
                                    ("regressor", yr, SKLearnRegressor, "mse", "linear")):
        def build(X, y):
            inputs = keras.Input((X.shape[1],))
            h = keras.layers.Dense(6, activation="tanh")(inputs)
            m = keras.Model(inputs, keras.layers.Dense(y.shape[1] if y.ndim > 1 else 1, activation=act)(h))
            m.set_weights([data[f"{kind}_w{i}"] for i in range(4)])
            m.compile(loss=loss, optimizer=keras.optimizers.SGD(0.1))
            return m
        est = cls(model=build, fit_kwargs={"epochs": 2, "batch_size": 8, "shuffle": False, "verbose": 0}).fit(X, y)
        out[kind] = np.asarray(est.predict(X)).tolist()
        if kind == "classifier":
            out["decision"] = np.asarray(est.decision_function(X)).tolist()
    print(json.dumps(out))
""")


def test_matches_keras_wrappers_on_the_same_engine(diff_engine, tmp_path):
    X, yc = _xy(n=24)
    yr = (X @ np.arange(1, 6, dtype="float32") / 5).astype("float32")
    rng = np.random.default_rng(3)
    weights = {"classifier": [rng.normal(size=s).astype("float32") * 0.5 for s in ((5, 6), (6,), (6, 3), (3,))],
               "regressor": [rng.normal(size=s).astype("float32") * 0.5 for s in ((5, 6), (6,), (6, 1), (1,))]}
    np.savez(tmp_path / "data.npz", X=X, yc=yc, yr=yr,
             **{f"{k}_w{i}": w for k, ws in weights.items() for i, w in enumerate(ws)})
    env = dict(os.environ, KERAS_BACKEND=diff_engine.name, TF_CPP_MIN_LOG_LEVEL="3")
    run = subprocess.run([sys.executable, "-c", KERAS_SCRIPT, str(tmp_path / "data.npz")], env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    keras_out = json.loads(run.stdout.strip().splitlines()[-1])

    ours = {}
    for kind, y, cls, loss, act in (("classifier", yc, SKLearnClassifier, "categorical_crossentropy", "softmax"),
                                    ("regressor", yr, SKLearnRegressor, "mse", "linear")):
        def build(X, y, kind=kind, loss=loss, act=act):
            inputs = Input((X.shape[1],))
            h = layers.Dense(6, activation="tanh")(inputs)
            m = Model(inputs, layers.Dense(y.shape[1] if y.ndim > 1 else 1, activation=act)(h))
            m.set_weights(weights[kind])
            m.compile(loss=loss, optimizer=optimizers.SGD(0.1))
            return m

        est = cls(model=build, fit_kwargs={"epochs": 2, "batch_size": 8, "shuffle": False, "verbose": 0}).fit(X, y)
        ours[kind] = est.predict(X)
        if kind == "classifier":
            ours["decision"] = est.decision_function(X)
    np.testing.assert_array_equal(ours["classifier"], np.asarray(keras_out["classifier"]))
    np.testing.assert_allclose(ours["decision"], np.asarray(keras_out["decision"]), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours["regressor"], np.asarray(keras_out["regressor"]), rtol=1e-4, atol=1e-5)


def test_transformer_outputs_the_model(engine):
    X, y = _xy()
    trs = SKLearnTransformer(model=dynamic_model, model_kwargs={"loss": "mse"})
    with pytest.raises(sklearn.exceptions.NotFittedError):
        trs.transform(X)
    assert isinstance(trs, sklearn.base.TransformerMixin) and trs.get_params()["model_kwargs"] == {"loss": "mse"}
