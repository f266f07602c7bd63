"""TensorBoard through a real fit: the event files, read back, hold Keras 3's
tags with the History's values at Keras's steps."""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import pytest

from polykeras import callbacks, layers, optimizers
from polykeras.models import Sequential

from ._events import histogram_count, read_events, scalars, tags_of_kind

pytest.importorskip("tensorboardX")


def _fit(tmp_path, **kwargs):
    model = Sequential([layers.Input((4,)), layers.Dense(3, name="hidden"), layers.Dense(1, name="out")])
    model.compile(optimizer=optimizers.SGD(0.01), loss="mse", metrics=["mae"])
    x = np.random.default_rng(0).normal(size=(48, 4)).astype("float32")
    board = callbacks.TensorBoard(str(tmp_path), **kwargs)
    history = model.fit(x, x.sum(axis=1, keepdims=True), epochs=3, batch_size=8, validation_split=0.25,
                        shuffle=False, verbose=0, callbacks=[board])
    return model, history.history


def test_scalars_histograms_images_and_graph_match_history(diff_engine, tmp_path):
    model, history = _fit(tmp_path, histogram_freq=2, write_images=True, update_freq=2)
    train, val = scalars(tmp_path / "train"), scalars(tmp_path / "validation")
    for name in ("loss", "mae"):
        assert [s for s, _ in train[f"epoch_{name}"]] == [0, 1, 2]
        np.testing.assert_allclose([v for _, v in train[f"epoch_{name}"]], history[name], rtol=1e-6)
        np.testing.assert_allclose([v for _, v in val[f"epoch_{name}"]], history[f"val_{name}"], rtol=1e-6)
        # after each validation run, at the optimizer's step count (36 samples / 8 = 5 steps an epoch)
        assert [s for s, _ in val[f"evaluation_{name}_vs_iterations"]] == [5, 10, 15]
        np.testing.assert_allclose([v for _, v in val[f"evaluation_{name}_vs_iterations"]],
                                   history[f"val_{name}"], rtol=1e-6)
    np.testing.assert_allclose([v for _, v in train["epoch_learning_rate"]], [0.01] * 3, rtol=1e-6)
    assert [s for s, _ in train["batch_loss"]] == [2, 4, 6, 8, 10, 12, 14]  # every 2nd of 15 global batches
    assert set(train) == {"epoch_loss", "epoch_mae", "epoch_learning_rate", "batch_loss", "batch_mae"}
    histograms = tags_of_kind(tmp_path / "train", "histo")
    paths = [w.path for w in model.weights]
    assert sorted(histograms) == sorted(f"{p}/histogram" for p in paths)
    assert all(steps == [0, 2] for steps in histograms.values())
    assert histogram_count(tmp_path / "train", "hidden/kernel/histogram") == 12
    # out/bias (one number) squeezes to a scalar, which Keras does not draw either
    assert sorted(tags_of_kind(tmp_path / "train", "image")) == sorted(f"{p}/image" for p in paths
                                                                       if p != "out/bias")
    graph = [v for e in read_events(tmp_path / "train") for v in e.summary.value if v.tag == "keras"]
    assert len(graph) == 1 and graph[0].metadata.plugin_data.plugin_name == "graph_keras_model"
    assert json.loads(graph[0].tensor.string_val[0])["class_name"] == "Sequential"


def test_epoch_only_and_steps_per_second(diff_engine, tmp_path):
    _, history = _fit(tmp_path, write_graph=False, write_steps_per_second=True)
    train = scalars(tmp_path / "train")
    assert set(train) == {"epoch_loss", "epoch_mae", "epoch_learning_rate", "epoch_steps_per_second"}
    assert all(v > 0 for _, v in train["epoch_steps_per_second"])
    assert "keras" not in tags_of_kind(tmp_path / "train", "tensor")


def test_embeddings_checkpoints_and_projector_config(diff_engine, tmp_path):
    model = Sequential([layers.Input((3,), dtype="int32"), layers.Embedding(10, 4, name="emb"), layers.Flatten(),
                        layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    board = callbacks.TensorBoard(str(tmp_path), embeddings_freq=1, embeddings_metadata={"emb": "meta.tsv"})
    x = np.random.default_rng(0).integers(0, 10, size=(8, 3)).astype("int32")
    model.fit(x, np.ones((8, 1), "float32"), epochs=2, verbose=0, callbacks=[board])
    assert os.path.exists(tmp_path / "train" / "keras_embedding.ckpt-1.weights.h5")
    config = (tmp_path / "projector_config.pbtxt").read_text()
    assert 'metadata_path: "meta.tsv"' in config and config.startswith("embeddings {")


def test_bad_arguments_and_profiler(engine, tmp_path):
    with pytest.raises(ValueError, match="update_freq"):
        callbacks.TensorBoard(str(tmp_path), update_freq="often")
    with pytest.raises(ValueError, match="profile_batch"):
        callbacks.TensorBoard(str(tmp_path), profile_batch=(3, 1))
    # Profiling runs where the engine has a profiler polykeras drives (jax, tensorflow), as Keras 3;
    # torch and NumPy refuse it by name (Keras: "not yet available with the torch backend").
    if engine.name in ("torch", "numpy"):
        with pytest.raises(NotImplementedError, match=f"'{engine.name}' engine has no profiler"):
            callbacks.TensorBoard(str(tmp_path), profile_batch=2)
    else:
        assert callbacks.TensorBoard(str(tmp_path), profile_batch="2,3")._stop_batch == 3


def test_import_does_not_load_torch():
    """tensorboardX imports torch when it can; the callback keeps it out."""
    import subprocess

    code = ("import sys; from polykeras.callbacks.tensorboard import import_tensorboardx; import_tensorboardx(); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
