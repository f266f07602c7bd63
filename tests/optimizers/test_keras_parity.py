"""The same optimizers, gradients and steps in Keras 3 itself (NumPy backend, in
a subprocess so Keras never shares this process) give the same weights."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from typing import Any

import numpy as np
import pytest

from conformance.tolerances import assert_close
from polykeras import ops

from ._reference import CASES
from .test_averaging import CASES as AVERAGING
from .test_averaging import data as averaging_data
from .test_rules import fixed_data, make
from .test_schedules import CASES as SCHEDULES
from .test_schedules import STEPS

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("keras") is None,
    reason="needs keras",
)

EXTRA = [  # the shared arguments, through Keras' own code
    ("adam-clipnorm", "Adam", {"learning_rate": 0.01, "clipnorm": 1.0}),
    ("sgd-global-clipnorm", "SGD", {"learning_rate": 0.1, "global_clipnorm": 1.5}),
    ("rmsprop-clipvalue", "RMSprop", {"learning_rate": 0.01, "clipvalue": 0.5}),
    ("lion-weight-decay", "Lion", {"learning_rate": 0.01, "weight_decay": 0.1}),
]

SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import keras
    data = np.load(sys.argv[1])
    cases = json.loads(sys.argv[2])
    n_vars = int(data["n_vars"]); steps = int(data["steps"])
    out = {}
    for case_id, name, kwargs in cases:
        variables = [keras.Variable(data[f"w{i}"]) for i in range(n_vars)]
        opt = getattr(keras.optimizers, name)(**kwargs)
        for t in range(steps):
            opt.apply([keras.ops.convert_to_tensor(data[f"g{t}_{i}"]) for i in range(n_vars)], variables)
        for i, v in enumerate(variables):
            out[f"{case_id}/{i}"] = np.asarray(v.numpy())
    for case_id, name, config, steps in json.loads(sys.argv[4]):
        schedule = getattr(keras.optimizers.schedules, name)(**config)
        out[f"schedule/{case_id}"] = np.array([float(schedule(s)) for s in steps])
    np.savez(sys.argv[3], **out)
""")


def run_keras(folder: Any, script: str, weights: list[np.ndarray], grads: list[list[np.ndarray]], count: str,
              *args: Any) -> dict[str, np.ndarray]:
    """Run ``script`` under Keras 3 (NumPy backend) on the weights and
    gradients (written to ``in.npz``, their number of steps as ``count``);
    ``args`` follow as JSON; returns the arrays it wrote to ``out.npz``."""
    arrays = {f"w{i}": w for i, w in enumerate(weights)}
    arrays.update({f"g{t}_{i}": g for t, step in enumerate(grads) for i, g in enumerate(step)})
    np.savez(folder / "in.npz", n_vars=len(weights), **{count: len(grads)}, **arrays)
    env = {**os.environ, "KERAS_BACKEND": "numpy", "TF_CPP_MIN_LOG_LEVEL": "3"}
    first, *rest = args
    subprocess.run([sys.executable, "-c", script, str(folder / "in.npz"), json.dumps(first), str(folder / "out.npz"),
                    *map(json.dumps, rest)], check=True, env=env, capture_output=True, timeout=300)
    return dict(np.load(folder / "out.npz"))


@pytest.fixture(scope="module")
def keras_results(tmp_path_factory):
    weights, grads = fixed_data(2)
    schedule_cases = [(name, type(s).__name__, s.get_config(), STEPS) for name, s, _ in SCHEDULES]
    out = run_keras(tmp_path_factory.mktemp("keras"), SCRIPT, weights, grads, "steps", CASES + EXTRA, schedule_cases)
    return weights, grads, out


@pytest.mark.parametrize("case", CASES + EXTRA, ids=[c[0] for c in CASES + EXTRA])
def test_matches_keras3(engine, keras_results, case):
    case_id, name, kwargs = case
    weights, grads, expected = keras_results
    opt, variables = make(name, kwargs, weights)
    for step in grads:
        opt.apply([ops.convert_to_tensor(g) for g in step], variables)
    for i, v in enumerate(variables):
        assert_close(v.numpy(), expected[f"{case_id}/{i}"], "transcendental", "float32",
                     err_msg=f"{case_id} w{i} vs Keras 3")


@pytest.mark.parametrize("case", SCHEDULES, ids=[c[0] for c in SCHEDULES])
def test_schedule_matches_keras3(engine, keras_results, case):
    name, schedule, _ = case
    got = np.array([float(ops.to_numpy(schedule(ops.convert_to_tensor(np.int32(s))))) for s in STEPS])
    assert_close(got.astype("float32"), keras_results[2][f"schedule/{name}"], "transcendental", "float32",
                 err_msg=f"{name} vs Keras 3 at steps {STEPS}")


# ---------------------------------------------- gradient accumulation and EMA
AVERAGING_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import keras
    data = np.load(sys.argv[1])
    n_vars = int(data["n_vars"]); calls = int(data["calls"])
    out = {}
    for case_id, name, kwargs in json.loads(sys.argv[2]):
        if isinstance(kwargs.get("learning_rate"), dict):
            schedule = kwargs["learning_rate"]
            kwargs["learning_rate"] = getattr(keras.optimizers.schedules, schedule["class_name"])(**schedule["config"])
        variables = [keras.Variable(data[f"w{i}"]) for i in range(n_vars)]
        opt = getattr(keras.optimizers, name)(**kwargs)
        for t in range(calls):
            opt.apply([keras.ops.convert_to_tensor(data[f"g{t}_{i}"]) for i in range(n_vars)], variables)
            for i, v in enumerate(variables):
                out[f"{case_id}/{t}/w{i}"] = np.asarray(v.numpy())
            for j, v in enumerate(opt.variables):
                out[f"{case_id}/{t}/opt{j}"] = np.asarray(v.numpy())
            out[f"{case_id}/{t}/iterations"] = np.asarray(opt.iterations)
        opt.finalize_variable_values(variables)
        for i, v in enumerate(variables):
            out[f"{case_id}/final/w{i}"] = np.asarray(v.numpy())
    np.savez(sys.argv[3], **out)
""")


def _keras_kwargs(kwargs):
    lr = kwargs.get("learning_rate")
    if hasattr(lr, "get_config"):
        return {**kwargs, "learning_rate": {"class_name": type(lr).__name__, "config": lr.get_config()}}
    return kwargs


@pytest.fixture(scope="module")
def keras_averaging(tmp_path_factory):
    weights, grads = averaging_data(4)
    cases = [(case_id, name, _keras_kwargs(kwargs)) for case_id, name, kwargs, _ in AVERAGING]
    out = run_keras(tmp_path_factory.mktemp("keras_averaging"), AVERAGING_SCRIPT, weights, grads, "calls", cases)
    return weights, grads, out


@pytest.mark.parametrize("case", AVERAGING, ids=[c[0] for c in AVERAGING])
def test_accumulation_and_ema_match_keras3(engine, keras_averaging, case):
    """Weights, every optimizer variable in Keras 3's order (averages,
    accumulators, slots), ``iterations`` after each call, and the weights
    after ``finalize_variable_values``."""
    case_id, name, kwargs, _ = case
    weights, grads, expected = keras_averaging
    opt, variables = make(name, kwargs, weights)
    for t, step in enumerate(grads):
        opt.apply([ops.convert_to_tensor(g) for g in step], variables)
        for i, v in enumerate(variables):
            assert_close(v.numpy(), expected[f"{case_id}/{t}/w{i}"], "transcendental", "float32",
                         err_msg=f"{case_id} call {t + 1} w{i} vs Keras 3")
        assert len(opt.variables) == len([k for k in expected if k.startswith(f"{case_id}/{t}/opt")])
        for j, v in enumerate(opt.variables):
            assert_close(v.numpy(), expected[f"{case_id}/{t}/opt{j}"], "transcendental", v.dtype,
                         err_msg=f"{case_id} call {t + 1} {v.path} vs Keras 3 optimizer.variables[{j}]")
        assert int(ops.to_numpy(ops.convert_to_tensor(opt.iterations))) == int(expected[f"{case_id}/{t}/iterations"])
    opt.finalize_variable_values(variables)
    for i, v in enumerate(variables):
        assert_close(v.numpy(), expected[f"{case_id}/final/w{i}"], "transcendental", "float32",
                     err_msg=f"{case_id} w{i} after finalize_variable_values vs Keras 3")


KERAS_FILE_WRITER = textwrap.dedent("""
    import sys, numpy as np, keras
    out = sys.argv[1]
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="tanh"), keras.layers.Dense(2)])
    model.compile(keras.optimizers.Adam(0.01, use_ema=True, ema_momentum=0.9, gradient_accumulation_steps=2), "mse")
    x, y = rng.normal(size=(12, 4)).astype("float32"), rng.normal(size=(12, 2)).astype("float32")
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)  # 3 calls: one update, one accumulated
    model.save(f"{out}/ema.keras")
    np.savez(f"{out}/state.npz", iterations=np.asarray(model.optimizer.iterations),
             **{f"opt{j}": np.asarray(v.numpy()) for j, v in enumerate(model.optimizer.variables)},
             **{f"w{i}": np.asarray(w) for i, w in enumerate(model.get_weights())})
""")


@pytest.fixture(scope="module")
def keras_ema_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keras_ema_file")
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", KERAS_FILE_WRITER, str(folder)], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return folder


def test_a_keras_archive_restores_averages_and_accumulators(diff_engine, keras_ema_file):
    """A ``.keras`` file from Keras 3 (its JAX backend) trained with EMA and
    accumulation: Keras' optimizer variables land on ours position by
    position (averages, accumulators, moments), and the counters agree."""
    from polykeras.saving import load_model

    folder = keras_ema_file
    state = dict(np.load(folder / "state.npz"))
    model = load_model(folder / "ema.keras")
    opt = model.optimizer
    assert (opt.use_ema, opt.ema_momentum, opt.gradient_accumulation_steps) == (True, 0.9, 2)
    assert len(opt.variables) == len([k for k in state if k.startswith("opt")])
    for j, v in enumerate(opt.variables):
        np.testing.assert_array_equal(v.numpy(), state[f"opt{j}"], err_msg=f"{v.path} vs Keras variables[{j}]")
    assert int(opt.iterations) == int(state["iterations"]) == 1
    assert np.any(opt.slots_for(model.trainable_variables[0])["gradient_accumulator"].numpy() != 0)
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_array_equal(w, state[f"w{i}"])
