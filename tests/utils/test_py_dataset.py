"""PyDataset: Keras' interface, and model.fit/evaluate/predict reading one
on every engine (threads and processes)."""

from __future__ import annotations

import itertools
import math
import threading

import numpy as np
import pytest

import polykeras as pk
from polykeras import layers
from polykeras.utils import PyDataset, Sequence


class Batches(PyDataset):
    """x -> 2x + 1 in batches, recording what was read and the epoch hooks."""

    def __init__(self, size=40, batch_size=8, **kwargs):
        super().__init__(**kwargs)
        rng = np.random.default_rng(0)
        self.x = rng.normal(size=(size, 3)).astype("float32")
        self.y = (self.x.sum(axis=1, keepdims=True) * 2 + 1).astype("float32")
        self.batch_size = batch_size
        self.events: list = []
        self.lock = threading.Lock()

    def __len__(self):
        return math.ceil(len(self.x) / self.batch_size)

    def __getitem__(self, index):
        with self.lock:
            self.events.append(("get", index))
        part = slice(index * self.batch_size, (index + 1) * self.batch_size)
        return self.x[part], self.y[part]

    def on_epoch_begin(self):
        self.events.append("begin")

    def on_epoch_end(self):
        self.events.append("end")


class Endless(PyDataset):
    @property
    def num_batches(self):
        return None

    def __getitem__(self, index):
        return np.full((2, 3), index, "float32"), np.zeros((2, 1), "float32")


class NoSuper(PyDataset):
    def __init__(self):  # forgets super().__init__(), as Keras allows
        self.data = np.arange(6, dtype="float32").reshape(3, 2)

    def __len__(self):
        return 3

    def __getitem__(self, index):
        return self.data[index:index + 1]


def _model():
    x = pk.Input((3,))
    model = pk.Model(x, layers.Dense(1)(x))
    model.compile(optimizer="adam", loss="mse")
    return model


def test_keras_interface():
    data = Batches()
    assert (data.workers, data.use_multiprocessing, data.max_queue_size) == (1, False, 10)
    assert data.num_batches == len(data) == 5
    batches = list(data)
    assert len(batches) == 5 and batches[-1][0].shape == (8, 3)
    assert "begin" not in data.events  # iterating directly calls no epoch hooks, as in Keras
    assert Sequence is PyDataset
    assert NoSuper().workers == 1 and NoSuper().max_queue_size == 10 and len(list(NoSuper())) == 3
    assert [int(b[0][0, 0]) for b in itertools.islice(Endless(), 4)] == [0, 1, 2, 3]
    assert Endless().num_batches is None


def test_bad_settings_are_clear():
    with pytest.raises(ValueError, match="workers >= 1"):
        Batches(workers=0)
    with pytest.raises(ValueError, match="max_queue_size >= 1"):
        Batches(max_queue_size=0)
    with pytest.raises(NotImplementedError, match="must define __getitem__"):
        PyDataset()[0]
    with pytest.raises(NotImplementedError, match="must define __len__"):
        len(PyDataset())


@pytest.mark.parametrize("settings", [{}, {"workers": 3, "max_queue_size": 2}])
def test_fit_reads_a_py_dataset(diff_engine, settings):
    data = Batches(**settings)
    model = _model()
    history = model.fit(data, epochs=3, verbose=0, shuffle=False)
    assert len(history.history["loss"]) == 3
    assert history.history["loss"][-1] < history.history["loss"][0]
    reads = [e[1] for e in data.events if isinstance(e, tuple)]
    assert sorted(reads) == sorted(list(range(5)) * 3)  # every batch once per epoch
    # as Keras 3: one on_epoch_end when training starts (a reshuffle before the first epoch), then one per epoch
    assert [e for e in data.events if isinstance(e, str)][:3] == ["end", "begin", "end"]
    assert data.events.count("end") == 4 and data.events.count("begin") == 3


@pytest.mark.parametrize("settings", [{}, {"workers": 2}])
def test_evaluate_and_predict_read_a_py_dataset(engine, settings):
    data = Batches(**settings)
    model = _model()
    expected = model.predict(data.x, verbose=0)
    np.testing.assert_allclose(model.predict(data, verbose=0), expected, rtol=1e-5, atol=1e-6)
    loss = model.evaluate(data, verbose=0)
    np.testing.assert_allclose(loss, np.mean((expected - data.y) ** 2), rtol=1e-4)
    # predict reads one epoch; evaluate starts with an on_epoch_end as Keras 3 does, then reads one
    assert [e for e in data.events if isinstance(e, str)] == ["begin", "end", "end", "begin", "end"]


def test_fit_reads_a_py_dataset_in_processes(diff_engine):
    data = Batches(workers=2, use_multiprocessing=True)
    history = _model().fit(data, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"][-1])


def test_fit_reads_an_endless_py_dataset_with_steps(diff_engine):
    history = _model().fit(Endless(), epochs=2, steps_per_epoch=3, verbose=0)
    assert len(history.history["loss"]) == 2
