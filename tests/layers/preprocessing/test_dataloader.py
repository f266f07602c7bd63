"""Preprocessing layers inside torch ``DataLoader`` workers, on every engine.

With the "fork" start method the workers inherit the parent's layers and
engine: their outputs equal the layer called directly, and a seeded random
layer gives each worker the parent's random stream. On the JAX engine a forked
worker refuses with a clear error (JAX's runtime is not fork-safe; see
:mod:`polykeras.backends.jax.fork`) and "spawn" workers run the layer.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
torch = pytest.importorskip("torch")

from torch.utils.data import DataLoader, Dataset  # noqa: E402

import polykeras.backends as B  # noqa: E402
from polykeras import layers, ops  # noqa: E402

#: Engines whose runtime does not survive a fork once started: their forked workers raise.
FORK_UNSAFE = {"jax"}
FORKED_ERROR = r"jax engine cannot run in this process: it was forked .*multiprocessing_context='spawn'"

rng = np.random.default_rng(0)
X = rng.normal(size=(16, 3)).astype("float32")
WORDS = np.array([["lyon"], ["oslo"], ["kyiv"], ["rome"]] * 4)
IMAGES = rng.random((16, 4, 4, 1)).astype("float32")
SIZE = 4  # rows per batch: 4 batches, alternating between the two workers


class Batches(Dataset):
    """Batch ``i`` of ``data`` through ``layer`` under the named engine (a
    spawned worker starts on the default engine, so the worker names it)."""

    def __init__(self, layer: layers.Layer, data: np.ndarray, engine: str, training: bool = False):
        self.layer, self.data, self.engine, self.training = layer, data, engine, training

    def __len__(self) -> int:
        return len(self.data) // SIZE

    def __getitem__(self, i: int) -> np.ndarray:
        with B.use(self.engine):
            return ops.convert_to_numpy(self.layer(self.data[SIZE * i:SIZE * (i + 1)], training=self.training))


def _load(dataset: Dataset, context: str, workers: int = 2) -> list[np.ndarray]:
    batches = iter(DataLoader(dataset, batch_size=None, num_workers=workers, multiprocessing_context=context,
                              timeout=120))
    try:
        return [batch.numpy() for batch in batches]
    except Exception as err:  # noqa: BLE001 - re-raised below
        error = err
    # A worker's error, raised with its traceback, keeps the iterator alive, and torch's garbage-collected
    # iterator then waits 5 s per worker to stop: drop both, so the workers stop now.
    del batches
    raise error.with_traceback(None)


def _adapted_normalization() -> layers.Layer:
    norm = layers.Normalization()
    norm.adapt(X)
    return norm


@pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")  # JAX's own note when this process forks
@pytest.mark.parametrize("make, data", [
    (_adapted_normalization, X),
    (lambda: layers.StringLookup(vocabulary=["lyon", "oslo", "kyiv"]), WORDS),
    (lambda: layers.RandomFlip("horizontal", seed=7), IMAGES),
], ids=["normalization_adapted", "string_lookup", "random_flip_at_inference"])
def test_forked_workers_equal_the_direct_call(engine, make, data):
    layer = make()
    dataset = Batches(layer, data, engine.name)
    ops.convert_to_numpy(ops.add(ops.ones((1,)), 1))  # the parent computes on the engine before forking
    if engine.name in FORK_UNSAFE:
        with pytest.raises(RuntimeError, match=FORKED_ERROR):
            _load(dataset, "fork")
        return
    expected = ops.convert_to_numpy(layer(data, training=False))
    got = np.concatenate(_load(dataset, "fork"))
    np.testing.assert_array_equal(got, expected)


@pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")
def test_forked_workers_draw_the_parents_random_stream(engine):
    flip = layers.RandomFlip("horizontal", seed=7)
    dataset = Batches(flip, IMAGES, engine.name, training=True)
    ops.convert_to_numpy(ops.add(ops.ones((1,)), 1))  # the parent computes on the engine before forking
    if engine.name in FORK_UNSAFE:
        with pytest.raises(RuntimeError, match=FORKED_ERROR):
            _load(dataset, "fork")
        return
    got = _load(dataset, "fork")
    batches = [IMAGES[SIZE * i:SIZE * (i + 1)] for i in range(len(got))]
    # Batch i goes to worker i % 2; each worker starts from the seed generator's state at the fork,
    # so its k-th batch is what a fresh layer with the same seed gives on its k-th call.
    for worker in (0, 1):
        fresh = layers.RandomFlip.from_config(flip.get_config())
        for i in range(worker, len(got), 2):
            np.testing.assert_array_equal(got[i], ops.convert_to_numpy(fresh(batches[i], training=True)))
    out = np.concatenate(got)
    assert all(np.array_equal(o, image) or np.array_equal(o, image[:, ::-1])
               for o, image in zip(out, IMAGES))  # every image is itself or its left-right mirror
    assert not np.array_equal(out, IMAGES)  # and some were flipped


@pytest.mark.skipif("jax" not in B.installed(), reason="jax not installed")
def test_spawned_worker_runs_the_jax_engine():
    # A spawned worker starts a fresh interpreter (and JAX runtime): it imports this module to unpickle
    # the dataset, so one worker and one small layer keep the cost down.
    with B.use("jax") as jax_engine:
        norm = _adapted_normalization()
        expected = ops.convert_to_numpy(norm(X))
        got = np.concatenate(_load(Batches(norm, X, jax_engine.name), "spawn", workers=1))
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
