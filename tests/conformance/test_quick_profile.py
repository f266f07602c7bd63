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

#: Checks of each kind: elementwise, contraction, reduction, sorting, nn,
#: conv/pool, indexing, linalg, random; gradients; dense, conv, normalization,
#: recurrent, attention, embedding, resizing layers and two models as layers;
#: three trained models.
JAX_SLICE = ",".join([
    "add", "exp", "matmul", "einsum", "mean", "cumsum", "sort", "top_k", "softmax", "one_hot", "batch_normalization",
    "categorical_crossentropy", "conv", "conv_transpose", "max_pool", "take", "where", "linalg.inv",
    "random.normal", "random.dropout",
    "add:grad", "exp:grad", "mean:grad", "matmul:grad", "softmax:grad", "conv:grad", "max_pool:grad",
    "linalg.inv:grad",
    "Dense", "Conv2D", "Conv1DTranspose", "BatchNormalization", "GroupNormalization", "LSTM", "GRU",
    "MultiHeadAttention", "Attention", "Embedding", "UpSampling2D", "Resizing", "Functional", "Sequential",
    "mlp", "cnn", "recurrent",
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
