"""EarlyStopping and ReduceLROnPlateau decide exactly as Keras 3 does, on
many monitored sequences and argument sets (Keras runs in a subprocess on its
NumPy backend, with the same fake model)."""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from polykeras.callbacks import EarlyStopping, ReduceLROnPlateau

pytestmark = pytest.mark.skipif(importlib.util.find_spec("keras") is None, reason="needs keras")

# Values on a 1/8 grid and deltas on a 1/16 grid: exact in float32 and float64,
# so no comparison sits on a rounding boundary.
_RNG = np.random.default_rng(7)
SEQUENCES = [[float(v) for v in _RNG.integers(0, 8, size=12) / 8] for _ in range(12)]
SEQUENCES += [[1.0] * 12, [float(v) for v in np.linspace(1, 0, 12).round(3) // 0.125 * 0.125]]

ES_CASES = [dict(patience=p, min_delta=d, baseline=b, start_from_epoch=s, mode=m, restore_best_weights=True)
            for p, d, b, s, m in itertools.product((0, 1, 3), (0.0, 0.0625), (None, 0.5), (0, 2), ("min", "max"))]
RL_CASES = [dict(patience=p, cooldown=c, min_delta=d, factor=f, min_lr=lo, mode=m)
            for p, c, d, f, lo, m in itertools.product((0, 1, 3), (0, 2), (1e-4, 0.0625), (0.5,), (0.0, 0.1),
                                                       ("min", "max"))]

DRIVER = textwrap.dedent("""
    import numpy as np

    class Optimizer:
        def __init__(self):
            self.learning_rate = 1.0

    class Model:
        def __init__(self):
            self.weights = [np.zeros(1)]
            self.stop_training = False
            self.optimizer = Optimizer()
        def get_weights(self):
            return [w.copy() for w in self.weights]
        def set_weights(self, weights):
            self.weights = [np.array(w) for w in weights]

    def drive(callback, values):
        model = Model()
        callback.set_model(model)
        callback.on_train_begin({})
        epochs, rates = [], []
        for epoch, value in enumerate(values):
            model.weights = [np.array([float(epoch)])]
            callback.on_epoch_end(epoch, {"val_loss": value})
            epochs.append(epoch)
            rates.append(float(model.optimizer.learning_rate))
            if model.stop_training:
                break
        callback.on_train_end({})
        return {"epochs": epochs, "rates": rates, "weights": float(model.weights[0][0])}
""")

KERAS_SCRIPT = DRIVER + textwrap.dedent("""
    import json, sys
    import keras
    sequences, es_cases, rl_cases = json.loads(sys.argv[1])
    out = {"es": [[drive(keras.callbacks.EarlyStopping(**case), s) for s in sequences] for case in es_cases],
           "rl": [[drive(keras.callbacks.ReduceLROnPlateau(**case), s) for s in sequences] for case in rl_cases]}
    print(json.dumps(out))
""")


@pytest.fixture(scope="module")
def keras_results():
    env = {**os.environ, "KERAS_BACKEND": "numpy", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", KERAS_SCRIPT, json.dumps([SEQUENCES, ES_CASES, RL_CASES])],
                          check=True, env=env, capture_output=True, text=True, timeout=300)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _ours(callback_class, case, sequence):
    namespace: dict = {}
    exec(DRIVER, namespace)  # the very driver Keras ran
    return namespace["drive"](callback_class(**case), sequence)


@pytest.mark.parametrize("index", range(len(ES_CASES)))
def test_early_stopping_matches_keras3(keras_results, index):
    case = ES_CASES[index]
    for sequence, expected in zip(SEQUENCES, keras_results["es"][index]):
        assert _ours(EarlyStopping, case, sequence) == expected, (case, sequence)


@pytest.mark.parametrize("index", range(len(RL_CASES)))
def test_reduce_lr_on_plateau_matches_keras3(keras_results, index):
    case = RL_CASES[index]
    for sequence, expected in zip(SEQUENCES, keras_results["rl"][index]):
        got = _ours(ReduceLROnPlateau, case, sequence)
        assert got["epochs"] == expected["epochs"], (case, sequence)
        np.testing.assert_allclose(got["rates"], expected["rates"], rtol=1e-6, err_msg=str((case, sequence)))
