"""A fake model and a fake fit loop, so the callbacks are tested on their own.

``FakeModel`` has what callbacks use: weights as NumPy arrays, ``save``,
``save_weights``, ``load_weights``, ``stop_training`` and an optimizer with a
settable ``learning_rate`` and path-named ``variables``. ``simulate_fit``
drives a :class:`CallbackList` exactly as the trainer does.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from polykeras.callbacks import CallbackList, consume_resume_epoch


class FakeVariable:
    """An optimizer state variable: a path, ``numpy()`` and ``assign``."""

    def __init__(self, value: Any, path: str) -> None:
        self._value = np.array(value, dtype="float32")
        self.path = path

    @property
    def shape(self) -> tuple[int, ...]:
        return self._value.shape

    def numpy(self) -> np.ndarray:
        return self._value.copy()

    def assign(self, value: Any) -> None:
        self._value[...] = value


class FakeOptimizer:
    def __init__(self, learning_rate: float = 0.01) -> None:
        self.learning_rate: Any = learning_rate
        self.variables = [FakeVariable(0.0, "sgd/iteration"), FakeVariable(np.zeros(3), "sgd/dense_kernel_momentum")]


class SaveFailure(OSError):
    """What the fake saver raises when told to fail."""


class FakeModel:
    """Weights are NumPy arrays; saves write an .npz of them to the given path."""

    def __init__(self, learning_rate: float = 0.01) -> None:
        self._weights = [np.arange(3, dtype="float32"), np.ones((2, 2), "float32")]
        self.stop_training = False
        self.optimizer = FakeOptimizer(learning_rate)
        self.built = True
        self.history: Any = None
        self.metrics: list[Any] = []
        self.fail_saves = 0  # the next N saves write a partial file, then raise
        self.saved_paths: list[str] = []

    def get_weights(self) -> list[np.ndarray]:
        return [w.copy() for w in self._weights]

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        self._weights = [np.array(w, "float32") for w in weights]

    def bump(self, amount: float = 1.0) -> None:
        """Change the weights, as a training step would."""
        self._weights = [w + amount for w in self._weights]

    def _write(self, path: str) -> None:
        self.saved_paths.append(path)
        if self.fail_saves:
            self.fail_saves -= 1
            with open(path, "wb") as handle:
                handle.write(b"PARTIAL")
            raise SaveFailure(f"disk full while writing {path}")
        buffer = io.BytesIO()
        np.savez(buffer, *self._weights)
        with open(path, "wb") as handle:
            handle.write(buffer.getvalue())

    def save(self, path: str) -> None:
        self._write(path)

    def save_weights(self, path: str) -> None:
        self._write(path)

    def load_weights(self, path: str) -> None:
        self._weights = list(read_weights(path))


def read_weights(path: str) -> list[np.ndarray]:
    with np.load(path, allow_pickle=False) as archive:
        return [archive[f"arr_{i}"] for i in range(len(archive.files))]


def simulate_fit(model: FakeModel, callbacks: Any, epoch_logs: Sequence[dict[str, float]], steps: int = 2,
                 batch_loss: Callable[[int, int], float] | None = None, initial_epoch: int = 0,
                 verbose: int = 0, interrupt_at: int | None = None, validation: bool = False) -> Any:
    """Drive ``callbacks`` like ``fit(epochs=len(epoch_logs))``: batches bump the
    weights by 1; epoch ``e`` ends with ``epoch_logs[e]``. ``interrupt_at``
    raises KeyboardInterrupt at the start of that epoch. Returns model.history."""
    epochs = len(epoch_logs)
    model.stop_training = False
    cbs = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=model,
                       verbose=verbose, epochs=epochs, steps=steps)
    cbs.on_train_begin()
    start = consume_resume_epoch(model, initial_epoch)
    for epoch in range(start, epochs):
        if interrupt_at == epoch:
            raise KeyboardInterrupt(f"interrupted at epoch {epoch}")
        cbs.on_epoch_begin(epoch)
        for batch in range(steps):
            cbs.on_train_batch_begin(batch)
            model.bump()
            loss = batch_loss(epoch, batch) if batch_loss else epoch_logs[epoch].get("loss", 0.0)
            cbs.on_train_batch_end(batch, {"loss": np.float32(loss)})
            if model.stop_training:
                break
        if validation:
            cbs.on_test_begin()
            for batch in range(steps):
                cbs.on_test_batch_begin(batch)
                cbs.on_test_batch_end(batch, {"loss": 0.0})
            cbs.on_test_end({"loss": epoch_logs[epoch].get("val_loss", 0.0)})
        cbs.on_epoch_end(epoch, dict(epoch_logs[epoch]))
        if model.stop_training:
            break
    cbs.on_train_end()
    return model.history
