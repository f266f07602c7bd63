"""The same optimizers, gradients and steps in Keras 3 itself (NumPy backend, in
a subprocess so Keras never shares this process) give the same weights."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from conformance.tolerances import assert_close
from polykeras import ops

from ._reference import CASES
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


@pytest.fixture(scope="module")
def keras_results(tmp_path_factory):
    weights, grads = fixed_data(2)
    folder = tmp_path_factory.mktemp("keras")
    arrays = {f"w{i}": w for i, w in enumerate(weights)}
    arrays.update({f"g{t}_{i}": g for t, step in enumerate(grads) for i, g in enumerate(step)})
    np.savez(folder / "in.npz", n_vars=len(weights), steps=len(grads), **arrays)
    env = {**os.environ, "KERAS_BACKEND": "numpy", "TF_CPP_MIN_LOG_LEVEL": "3"}
    schedule_cases = [(name, type(s).__name__, s.get_config(), STEPS) for name, s, _ in SCHEDULES]
    subprocess.run([sys.executable, "-c", SCRIPT, str(folder / "in.npz"), json.dumps(CASES + EXTRA),
                    str(folder / "out.npz"), json.dumps(schedule_cases)],
                   check=True, env=env, capture_output=True, timeout=300)
    return weights, grads, dict(np.load(folder / "out.npz"))


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
