"""Ftrl, Lamb and Adafactor, and the shared arguments (loss scaling,
gradient accumulation, EMA) on the optimizers the other Keras comparisons do
not cover, against Keras 3 itself run on the same engine (in a subprocess):
the same weights and gradients give the same weights and the same
``optimizer.variables``, value by value and in Keras's order; each new
optimizer also trains a model through ``fit`` on every engine."""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import subprocess
import sys
import textwrap
from typing import Any

import numpy as np
import pytest

from conformance.tolerances import assert_close
from polykeras import backends, layers, ops, optimizers
from polykeras import models as pk_models
from polykeras.variables import Variable

from .test_rules import fixed_data

pytestmark = pytest.mark.skipif(importlib.util.find_spec("keras") is None, reason="needs keras")

SHAPES = [(3, 2), (2,), (2, 3, 2), (2, 4)]
STEPS = 5

CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("ftrl", "Ftrl", {"learning_rate": 0.05}),
    ("ftrl-regularized", "Ftrl", {"learning_rate": 0.1, "learning_rate_power": -0.7, "initial_accumulator_value": 0.0,
                                  "l1_regularization_strength": 0.05, "l2_regularization_strength": 0.1,
                                  "l2_shrinkage_regularization_strength": 0.02, "beta": 0.3}),
    ("lamb", "Lamb", {"learning_rate": 0.01}),
    ("lamb-decay-clipnorm", "Lamb", {"learning_rate": 0.02, "beta_1": 0.8, "weight_decay": 0.1, "clipnorm": 1.0}),
    ("adafactor", "Adafactor", {"learning_rate": 0.05}),
    ("adafactor-clip", "Adafactor", {"learning_rate": 0.5, "clip_threshold": 0.5, "beta_2_decay": -0.5,
                                     "epsilon_2": 0.01}),
    ("schedule-free", "ScheduleFreeAdamW", {}),
    ("schedule-free-warmup", "ScheduleFreeAdamW", {"learning_rate": 0.01, "beta_1": 0.8, "warmup_steps": 3,
                                                   "weight_decay": 0.05}),
    ("muon", "Muon", {"learning_rate": 0.02}),
    ("muon-exclude-plain", "Muon", {"learning_rate": 0.02, "exclude_layers": ["w3"], "nesterov": False,
                                    "rms_rate": None, "adam_lr_ratio": 0.5, "weight_decay": 0.1,
                                    "adam_weight_decay": None, "momentum": 0.8, "ns_steps": 3}),
    # the shared arguments acting as in Keras
    ("schedule-free-accumulate2-ema", "ScheduleFreeAdamW", {"gradient_accumulation_steps": 2, "use_ema": True}),
    ("ftrl-accumulate2-ema", "Ftrl", {"learning_rate": 0.05, "gradient_accumulation_steps": 2, "use_ema": True,
                                      "ema_momentum": 0.8}),
    ("lamb-loss-scale", "Lamb", {"learning_rate": 0.01, "loss_scale_factor": 8.0}),
    ("adafactor-accumulate2-overwrite", "Adafactor", {"learning_rate": 0.05, "gradient_accumulation_steps": 2,
                                                      "use_ema": True, "ema_overwrite_frequency": 2}),
    ("adagrad-accumulate2", "Adagrad", {"learning_rate": 0.05, "gradient_accumulation_steps": 2}),
    ("adadelta-ema-loss-scale", "Adadelta", {"learning_rate": 1.0, "use_ema": True, "ema_momentum": 0.5,
                                             "loss_scale_factor": 4.0}),
    ("adamax-accumulate3-decay", "Adamax", {"learning_rate": 0.01, "gradient_accumulation_steps": 3,
                                            "weight_decay": 0.1}),
    ("nadam-global-clipnorm-ema", "Nadam", {"learning_rate": 0.01, "global_clipnorm": 1.0, "use_ema": True}),
    ("rmsprop-loss-scale-clipvalue", "RMSprop", {"learning_rate": 0.01, "loss_scale_factor": 2.0, "clipvalue": 0.5}),
]
IDS = [c[0] for c in CASES]

SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import keras
    data = np.load(sys.argv[1])
    out = {}
    for case_id, name, kwargs in json.loads(sys.argv[2]):
        variables = [keras.Variable(data[f"w{i}"], name=f"w{i}") for i in range(int(data["n_vars"]))]
        opt = getattr(keras.optimizers, name)(**kwargs)
        for t in range(int(data["steps"])):
            opt.apply([keras.ops.convert_to_tensor(data[f"g{t}_{i}"]) for i in range(len(variables))], variables)
        for i, v in enumerate(variables):
            out[f"{case_id}/w{i}"] = np.asarray(keras.ops.convert_to_numpy(v.value))
        for j, v in enumerate(opt.variables):
            out[f"{case_id}/opt{j}"] = np.asarray(keras.ops.convert_to_numpy(v.value))
        out[f"{case_id}/names"] = np.array([v.name for v in opt.variables])
    np.savez(sys.argv[3], **out)
""")

_RESULTS: dict[str, dict[str, np.ndarray]] = {}


def keras_results(folder: Any, engine_name: str) -> dict[str, np.ndarray]:
    """Keras 3 on ``engine_name`` (its backend of that name), once per engine."""
    if engine_name not in _RESULTS:
        weights, grads = fixed_data(7, STEPS, SHAPES)
        arrays = {f"w{i}": w for i, w in enumerate(weights)}
        arrays.update({f"g{t}_{i}": g for t, step in enumerate(grads) for i, g in enumerate(step)})
        np.savez(folder / "in.npz", n_vars=len(weights), steps=len(grads), **arrays)
        env = {**os.environ, "KERAS_BACKEND": engine_name, "JAX_PLATFORMS": "cpu", "CUDA_VISIBLE_DEVICES": "",
               "TF_CPP_MIN_LOG_LEVEL": "3"}
        done = subprocess.run([sys.executable, "-c", SCRIPT, str(folder / "in.npz"), json.dumps(CASES),
                               str(folder / "out.npz")], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        _RESULTS[engine_name] = dict(np.load(folder / "out.npz"))
    return _RESULTS[engine_name]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_matches_keras3_on_the_same_engine(engine, tmp_path, case):
    case_id, name, kwargs = case
    reference = backends.active().name
    if name == "ScheduleFreeAdamW" and reference in ("torch", "tensorflow"):
        # Keras 3 on torch and TensorFlow reads the old z through a view of the variable it has just assigned,
        # so its update there differs from its own on JAX and NumPy (by ~1e-3 after two steps); polykeras makes
        # JAX's update on every engine (conformance/checks/optimizers.py compares the engines).
        reference = "jax"
    expected = keras_results(tmp_path, reference)
    weights, grads = fixed_data(7, STEPS, SHAPES)
    variables = [Variable(w, name=f"w{i}") for i, w in enumerate(weights)]
    opt = getattr(optimizers, name)(**kwargs)
    for step in grads:
        opt.apply([ops.convert_to_tensor(g) for g in step], variables)
    for i, v in enumerate(variables):
        assert_close(v.numpy(), expected[f"{case_id}/w{i}"], "transcendental", "float32",
                     err_msg=f"{case_id} w{i} vs Keras 3")
    keras_state = [expected[f"{case_id}/opt{j}"] for j in range(len(opt.variables) + 1)
                   if f"{case_id}/opt{j}" in expected]
    assert len(opt.variables) == len(keras_state), [v.path for v in opt.variables]
    # Keras 3's names ("w0_momentum"), but for Nadam's product of momentum factors, which Keras 3 makes
    # with the default name "variable"
    names = [str(n) for n in expected[f"{case_id}/names"]]
    ours = [v.name for v in opt.variables]
    differing = [(a, b) for a, b in zip(ours, names) if a != b]
    assert all(a == "u_product" and b == "variable" for a, b in differing), differing
    for j, (v, want) in enumerate(zip(opt.variables, keras_state)):
        # Counters are int32 here on every engine (Keras on TensorFlow keeps int64).
        same_kind = np.dtype(v.dtype) == want.dtype or np.dtype(v.dtype).kind == want.dtype.kind == "i"
        assert v.shape == want.shape and same_kind, (v.path, j, want.shape, want.dtype)
        assert_close(v.numpy(), want, "transcendental", v.dtype,
                     err_msg=f"{case_id} {v.path} vs Keras 3 optimizer.variables[{j}]")


KERAS_SIGNATURES = {  # Keras 3.15's arguments before the shared ones, with their defaults
    "Ftrl": {"learning_rate": 0.001, "learning_rate_power": -0.5, "initial_accumulator_value": 0.1,
             "l1_regularization_strength": 0.0, "l2_regularization_strength": 0.0,
             "l2_shrinkage_regularization_strength": 0.0, "beta": 0.0},
    "Lamb": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
    "Adafactor": {"learning_rate": 0.001, "beta_2_decay": -0.8, "epsilon_1": 1e-30, "epsilon_2": 1e-3,
                  "clip_threshold": 1.0, "relative_step": True},
    "ScheduleFreeAdamW": {"learning_rate": 0.0025, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-8,
                          "warmup_steps": 0},
}
MUON = {"learning_rate": 0.001, "adam_beta_1": 0.9, "adam_beta_2": 0.999, "adam_weight_decay": 0.004,
        "epsilon": 1e-7, "weight_decay": 0.004, "clipnorm": None, "clipvalue": None, "global_clipnorm": None,
        "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None, "loss_scale_factor": None,
        "gradient_accumulation_steps": None, "name": None, "exclude_layers": None, "exclude_embeddings": True,
        "muon_a": 3.4445, "muon_b": -4.775, "muon_c": 2.0315, "adam_lr_ratio": 1, "momentum": 0.95, "ns_steps": 5,
        "nesterov": True, "rms_rate": 0.2}
SHARED = {"weight_decay": None, "clipnorm": None, "clipvalue": None, "global_clipnorm": None, "use_ema": False,
          "ema_momentum": 0.99, "ema_overwrite_frequency": None, "loss_scale_factor": None,
          "gradient_accumulation_steps": None, "name": None}


@pytest.mark.parametrize("name", [*sorted(KERAS_SIGNATURES), "Muon"])
def test_keras3_signature_and_config(name):
    cls = getattr(optimizers, name)
    parameters = inspect.signature(cls).parameters
    expected = MUON if name == "Muon" else {**KERAS_SIGNATURES[name], **SHARED}
    assert list(parameters) == [*expected, "kwargs"]
    assert {k: p.default for k, p in parameters.items() if k != "kwargs"} == expected
    opt = cls(learning_rate=0.01)
    default_name = {"ScheduleFreeAdamW": "schedule_free_adam_w"}.get(name, name.lower())  # Keras's snake case
    assert opt.name == default_name
    assert optimizers.get(name.lower()).name == f"{default_name}_1"  # the second of its kind
    again = optimizers.deserialize(optimizers.serialize(opt))
    assert type(again) is cls and again.get_config() == opt.get_config()


def test_adafactor_state_layout(engine):
    """Per variable: row and column means (int32 scalar placeholders under
    rank 2), then the velocity, as Keras 3 lays them out."""
    kernel, bias = Variable(np.ones((3, 4), "float32"), name="kernel"), Variable(np.ones((4,), "float32"), name="b")
    opt = optimizers.Adafactor()
    opt.build([kernel, bias])
    got = [(v.path, v.shape, v.dtype) for v in opt.variables]
    assert got == [("adafactor/iteration", (), "int32"), ("adafactor/learning_rate", (), "float32"),
                   ("adafactor/kernel", (3,), "float32"), ("adafactor/kernel", (4,), "float32"),
                   ("adafactor/kernel_velocity", (3, 4), "float32"), ("adafactor/b", (), "int32"),
                   ("adafactor/b", (), "int32"), ("adafactor/b_velocity", (4,), "float32")]
    assert sorted(opt.slots_for(kernel)) == ["column", "row", "velocity"]


def test_muon_sends_matrices_to_newton_schulz_and_the_rest_to_adamw(engine):
    """Matrices get Muon's single ``momentum`` slot; vectors, embeddings and
    ``exclude_layers`` matches get AdamW's ``momentum`` and ``velocity``."""
    shapes = {"dense/kernel": (3, 4), "dense/bias": (4,), "token_embedding/embeddings": (5, 3), "head/kernel": (4, 2)}
    variables = []
    for path, shape in shapes.items():
        variable = Variable(np.ones(shape, "float32"), name=path.split("/")[1])
        variable._path = path
        variables.append(variable)
    opt = optimizers.Muon(exclude_layers=["head"])
    opt.build(variables)
    assert [sorted(opt.slots_for(v)) for v in variables] == [["momentum"]] + [["momentum", "velocity"]] * 3
    kept = optimizers.Muon(exclude_embeddings=False)
    kept.build(variables)
    assert sorted(kept.slots_for(variables[2])) == ["momentum"]
    with pytest.raises(TypeError, match=r"Muon: expected `exclude_layers` to be a list of regexes"):
        optimizers.Muon(exclude_layers="head")


@pytest.mark.parametrize("arguments, message", [
    ({"learning_rate_power": 0.5}, r"Ftrl: expected `learning_rate_power` to be a float <= 0, received "),
    ({"l1_regularization_strength": -1.0}, r"Ftrl: expected `l1_regularization_strength` to be a float >= 0"),
    ({"initial_accumulator_value": -0.1}, r"Ftrl: expected `initial_accumulator_value` to be a float >= 0"),
])
def test_ftrl_rejects_bad_arguments(arguments, message):
    with pytest.raises(ValueError, match=message):
        optimizers.Ftrl(**arguments)


def test_bad_arguments_name_the_optimizer():
    with pytest.raises(ValueError, match=r"Lamb: expected `beta_1` in \[0, 1\), received beta_1=1.5"):
        optimizers.Lamb(beta_1=1.5)
    with pytest.raises(ValueError, match=r"Adafactor: expected `clip_threshold` to be a float > 0, received"):
        optimizers.Adafactor(clip_threshold=0.0)
    with pytest.raises(ValueError, match=r"ScheduleFreeAdamW: expected `warmup_steps` to be an int >= 0, received"):
        optimizers.ScheduleFreeAdamW(warmup_steps=-1)
    with pytest.raises(ValueError, match=r"Ftrl: argument\(s\) not recognized: \['momentum'\]"):
        optimizers.Ftrl(momentum=0.9)


@pytest.mark.parametrize("name, kwargs", [("Ftrl", {"learning_rate": 0.5}), ("Lamb", {"learning_rate": 0.02}),
                                          ("Adafactor", {"learning_rate": 0.1}),
                                          ("ScheduleFreeAdamW", {"learning_rate": 0.05}),
                                          ("Muon", {"learning_rate": 0.05})])
def test_fit_trains_with_each_new_optimizer(diff_engine, name, kwargs):
    """The compiled training step of every engine runs the rule: the loss falls."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4)).astype("float32")
    y = (x @ rng.normal(size=(4, 2))).astype("float32")
    model = pk_models.Sequential([layers.Input((4,)), layers.Dense(8, activation="tanh"), layers.Dense(2)])
    model.compile(getattr(optimizers, name)(**kwargs), "mse")
    history = model.fit(x, y, batch_size=8, epochs=6, shuffle=False, verbose=0).history["loss"]
    assert np.all(np.isfinite(history)) and history[-1] < 0.8 * history[0], (name, history)
    assert int(ops.to_numpy(ops.convert_to_tensor(model.optimizer.iterations))) == 24


KERAS_FILE_WRITER = textwrap.dedent("""
    import sys, numpy as np, keras
    out = sys.argv[1]
    for name in ("Ftrl", "Lamb", "Adafactor", "ScheduleFreeAdamW", "Muon"):
        keras.utils.set_random_seed(0)
        rng = np.random.default_rng(0)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="tanh"), keras.layers.Dense(2)])
        model.compile(getattr(keras.optimizers, name)(0.05, gradient_accumulation_steps=2), "mse")
        x, y = rng.normal(size=(12, 4)).astype("float32"), rng.normal(size=(12, 2)).astype("float32")
        model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
        model.save(f"{out}/{name}.keras")
        np.savez(f"{out}/{name}.npz", **{f"opt{j}": np.asarray(v.numpy()) for j, v in
                                          enumerate(model.optimizer.variables)})
""")


@pytest.fixture(scope="module")
def keras_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keras_optimizer_files")
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", KERAS_FILE_WRITER, str(folder)], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return folder


@pytest.mark.parametrize("name", ["Ftrl", "Lamb", "Adafactor", "ScheduleFreeAdamW", "Muon"])
def test_a_keras_archive_restores_the_optimizer_state(engine, keras_files, name):
    """A ``.keras`` file Keras 3 wrote after training: its optimizer state
    lands on ours position by position."""
    from polykeras.saving import load_model

    state = dict(np.load(keras_files / f"{name}.npz"))
    opt = load_model(keras_files / f"{name}.keras").optimizer
    assert type(opt) is getattr(optimizers, name) and opt.gradient_accumulation_steps == 2
    assert len(opt.variables) == len(state)
    for j, v in enumerate(opt.variables):
        np.testing.assert_array_equal(v.numpy(), state[f"opt{j}"], err_msg=f"{v.path} vs Keras variables[{j}]")
