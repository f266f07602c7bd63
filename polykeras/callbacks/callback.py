"""The :class:`Callback` base class: hooks the trainer calls during
``fit``, ``evaluate`` and ``predict`` (Keras 3 API)."""

from __future__ import annotations

from typing import Any

Logs = dict[str, Any]


class Callback:
    """Base class for objects that react to training events.

    The trainer calls the hooks through a
    :class:`~polykeras.callbacks.CallbackList`: ``on_train_begin``, then per
    epoch ``on_epoch_begin``, ``on_train_batch_begin/end`` per step, the
    validation run (``on_test_begin``, ``on_test_batch_begin/end``,
    ``on_test_end``), ``on_epoch_end``; finally ``on_train_end``.
    ``evaluate`` and ``predict`` call the ``test`` and ``predict`` hooks.
    Logs are dicts of Python floats: per batch the running averages, per epoch
    the epoch's results with validation results prefixed by ``val_``.

    Set ``self.model.stop_training = True`` to stop ``fit`` after the current
    batch's checks (the trainer looks at it after every batch and epoch).

    Attributes:
        params: the run's parameters, e.g. ``{"verbose": 1, "epochs": 10, "steps": 32}``.
        model: the model being trained (set by :meth:`set_model`).

    Example:
        >>> class PrintLoss(Callback):
        ...     def on_epoch_end(self, epoch, logs=None):
        ...         print(f"epoch {epoch}: loss={logs['loss']:.3f}")
        >>> model.fit(x, y, epochs=2, callbacks=[PrintLoss()])
    """

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}
        self._model: Any = None

    def set_params(self, params: dict[str, Any]) -> None:
        """Receive the run's parameters (``verbose``, ``epochs``, ``steps``)."""
        self.params = dict(params)

    def set_model(self, model: Any) -> None:
        """Attach the model the hooks act on."""
        self._model = model

    @property
    def model(self) -> Any:
        """The model being trained, evaluated or run."""
        return self._model

    # Batch hooks of the training loop. ``on_batch_begin``/``on_batch_end``
    # are the older names: the train hooks call them by default.
    def on_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        """Alias kept for compatibility: called by :meth:`on_train_batch_begin`."""

    def on_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        """Alias kept for compatibility: called by :meth:`on_train_batch_end`."""

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        """At the start of epoch ``epoch`` (0-based) of ``fit``."""

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        """At the end of epoch ``epoch`` of ``fit``; ``logs`` holds the
        epoch's training results and the ``val_``-prefixed validation results."""

    def on_train_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        """Before training step ``batch`` (0-based within the epoch)."""
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        """After training step ``batch``; ``logs`` holds the running results."""
        self.on_batch_end(batch, logs)

    def on_test_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        """Before evaluation step ``batch`` (in ``evaluate`` and validation)."""

    def on_test_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        """After evaluation step ``batch``."""

    def on_predict_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        """Before prediction step ``batch``."""

    def on_predict_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        """After prediction step ``batch``."""

    def on_train_begin(self, logs: Logs | None = None) -> None:
        """At the start of ``fit``."""

    def on_train_end(self, logs: Logs | None = None) -> None:
        """At the end of ``fit`` (not called when training raised)."""

    def on_test_begin(self, logs: Logs | None = None) -> None:
        """At the start of ``evaluate`` or of a validation run."""

    def on_test_end(self, logs: Logs | None = None) -> None:
        """At the end of ``evaluate`` or of a validation run."""

    def on_predict_begin(self, logs: Logs | None = None) -> None:
        """At the start of ``predict``."""

    def on_predict_end(self, logs: Logs | None = None) -> None:
        """At the end of ``predict``."""
