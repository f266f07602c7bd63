"""CI runs the quick conformance profile (ops, layers, models) in-process and
requires exit status 0.

Every check runs on NumPy, PyTorch and TensorFlow (those installed). JAX
compiles each primitive for each new shape on its first eager call (~50 ms on
two cores), which puts its full quick run near five CPU-minutes, so CI runs a
representative slice of every family there; ``python -m conformance
--backends jax`` runs the rest.
"""

from __future__ import annotations

import pytest

import polykeras.backends as B
from conformance.runner import main

#: One or more checks of each kind: elementwise, contraction, reduction, nn,
#: conv/pool, indexing, random; gradients; dense, conv, normalization,
#: recurrent, attention, embedding layers and a model; two trained models.
JAX_SLICE = ",".join([
    "add", "exp", "matmul", "einsum", "mean", "softmax", "conv", "max_pool", "take", "where", "random.normal",
    "add:grad", "matmul:grad", "softmax:grad", "conv:grad",
    "Dense", "Conv2D", "BatchNormalization", "LSTM", "MultiHeadAttention", "Embedding", "Functional",
    "mlp", "cnn",
])


def _run(capsys, *args: str) -> None:
    code = main(["--profile", "quick", "--only", "ops,layers,models", "--plain", *args])
    out = capsys.readouterr().out
    failures = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert code == 0, "\n".join(failures) or out[-5000:]


def test_quick_profile_on_numpy_torch_tensorflow(capsys):
    engines = [e for e in ("numpy", "torch", "tensorflow") if e in B.installed()]
    _run(capsys, "--backends", ",".join(engines))


def test_quick_profile_slice_on_jax(capsys):
    if "jax" not in B.installed():
        pytest.skip("jax is not installed")
    _run(capsys, "--backends", "jax", "--select", JAX_SLICE)
