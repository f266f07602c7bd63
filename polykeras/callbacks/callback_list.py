"""The :class:`CallbackList` the trainer drives: one object that forwards each
hook to every callback, with the default History and progress bar added."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from polykeras.callbacks._utils import pythonify_logs
from polykeras.callbacks.callback import Callback, Logs
from polykeras.callbacks.history import History
from polykeras.callbacks.progbar_logger import ProgbarLogger

#: Each hook, and the base-class methods that, when overridden, mean a
#: callback implements it (the train batch hooks call the older aliases).
_HOOKS: dict[str, tuple[str, ...]] = {
    "on_train_begin": ("on_train_begin",),
    "on_train_end": ("on_train_end",),
    "on_epoch_begin": ("on_epoch_begin",),
    "on_epoch_end": ("on_epoch_end",),
    "on_train_batch_begin": ("on_train_batch_begin", "on_batch_begin"),
    "on_train_batch_end": ("on_train_batch_end", "on_batch_end"),
    "on_test_begin": ("on_test_begin",),
    "on_test_end": ("on_test_end",),
    "on_test_batch_begin": ("on_test_batch_begin",),
    "on_test_batch_end": ("on_test_batch_end",),
    "on_predict_begin": ("on_predict_begin",),
    "on_predict_end": ("on_predict_end",),
    "on_predict_batch_begin": ("on_predict_batch_begin",),
    "on_predict_batch_end": ("on_predict_batch_end",),
}


def _implements(callback: Callback, hook: str) -> bool:
    if isinstance(callback, CallbackList):
        return True
    for name in _HOOKS[hook]:
        if name in vars(callback) or getattr(type(callback), name) is not getattr(Callback, name):
            return True
    return False


def _flatten(callbacks: Any) -> list[Callback]:
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback):
        return [callbacks]
    if not isinstance(callbacks, Iterable):
        raise TypeError(f"CallbackList: expected a Callback or a list of Callbacks, received {callbacks!r}.")
    flat: list[Callback] = []
    for item in callbacks:
        if isinstance(item, (list, tuple)):
            flat.extend(_flatten(item))
        elif isinstance(item, Callback):
            flat.append(item)
        else:
            raise TypeError(f"CallbackList: expected each callback to be a polykeras.callbacks.Callback, "
                            f"received {item!r} of type {type(item).__name__}.")
    return flat


class CallbackList(Callback):
    """The callbacks of one ``fit``/``evaluate``/``predict`` run, driven as one.

    Each hook converts the logs once to a dict of Python floats (the step's
    logs stay on the device until then) and hands the SAME dict to every
    callback in order, so a callback may add an entry (as
    :class:`ReduceLROnPlateau` adds ``learning_rate``) that later ones, such
    as :class:`History`, see. Batch hooks go only to callbacks that override
    them, so an idle list costs nearly nothing per step; a callback whose
    ``reads_logs_lazily`` is true (the progress bar) gets a batch's logs as
    they are and converts them only when it shows them.

    Args:
        callbacks: a Callback or a (nested) list of them.
        add_history: append a :class:`History` unless one is given; it is
            attached as ``model.history``.
        add_progbar: append a :class:`ProgbarLogger` unless one is given.
        model: the model the callbacks act on.
        **params: the run's parameters, e.g. ``verbose``, ``epochs``, ``steps``.

    Example:
        >>> callbacks = CallbackList([EarlyStopping()], add_history=True, add_progbar=True,
        ...                          model=model, verbose=1, epochs=10, steps=32)
        >>> callbacks.on_train_begin()
        >>> callbacks.on_epoch_begin(0)
        >>> callbacks.on_train_batch_end(0, {"loss": 0.7})
        >>> callbacks.on_epoch_end(0, {"loss": 0.7, "val_loss": 0.8})
        >>> callbacks.on_train_end()
        >>> model.history.history["loss"]
        [0.7]
    """

    def __init__(self, callbacks: Any = None, add_history: bool = False, add_progbar: bool = False,
                 model: Any = None, **params: Any) -> None:
        super().__init__()
        self.callbacks: list[Callback] = _flatten(callbacks)
        self._history: History | None = next((c for c in self.callbacks if isinstance(c, History)), None)
        self._progbar: ProgbarLogger | None = next(
            (c for c in self.callbacks if isinstance(c, ProgbarLogger)), None)
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        if self._progbar is None and add_progbar:
            self._progbar = ProgbarLogger()
            self.callbacks.append(self._progbar)
        self._table: dict[str, list[Callback]] = {}
        self._refresh()
        if model is not None:
            self.set_model(model)
        if params:
            self.set_params(params)

    # ------------------------------------------------------------ structure
    def _refresh(self) -> None:
        """Rebuild which callbacks each hook calls (also run at every begin
        hook, so a list edited in place is honoured)."""
        self._table = {hook: [c for c in self.callbacks if _implements(c, hook)] for hook in _HOOKS}

    def append(self, callback: Callback) -> None:
        """Add a callback at the end. Example: ``callbacks.append(CSVLogger("log.csv"))``"""
        (item,) = _flatten([callback])
        self.callbacks.append(item)
        if self._model is not None:
            item.set_model(self._model)
        if self.params:
            item.set_params(self.params)
        self._refresh()

    def __iter__(self) -> Iterator[Callback]:
        return iter(self.callbacks)

    def __len__(self) -> int:
        return len(self.callbacks)

    def set_params(self, params: dict[str, Any]) -> None:
        super().set_params(params)
        for callback in self.callbacks:
            callback.set_params(params)

    def set_model(self, model: Any) -> None:
        super().set_model(model)
        if self._history is not None:
            model.history = self._history
        for callback in self.callbacks:
            callback.set_model(model)

    # ---------------------------------------------------------------- hooks
    def _call(self, hook: str, *args: Any, logs: Logs | None) -> None:
        targets = self._table[hook]
        if not targets:
            return
        floats: Logs | None = None
        lazy = hook.endswith("_batch_end")  # epoch hooks share one dict (callbacks add entries)
        for callback in targets:
            if lazy and getattr(callback, "reads_logs_lazily", False):
                getattr(callback, hook)(*args, logs if floats is None else floats)
                continue
            if floats is None:
                floats = pythonify_logs(logs)
            getattr(callback, hook)(*args, floats)

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self._refresh()
        self._call("on_train_begin", logs=logs)

    def on_train_end(self, logs: Logs | None = None) -> None:
        self._call("on_train_end", logs=logs)

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        self._call("on_epoch_begin", epoch, logs=logs)

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        self._call("on_epoch_end", epoch, logs=logs)

    def on_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        self._call("on_train_batch_begin", batch, logs=logs)

    def on_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        self._call("on_train_batch_end", batch, logs=logs)

    def on_train_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        self._call("on_train_batch_begin", batch, logs=logs)

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        self._call("on_train_batch_end", batch, logs=logs)

    def on_test_begin(self, logs: Logs | None = None) -> None:
        self._refresh()
        self._call("on_test_begin", logs=logs)

    def on_test_end(self, logs: Logs | None = None) -> None:
        self._call("on_test_end", logs=logs)

    def on_test_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        self._call("on_test_batch_begin", batch, logs=logs)

    def on_test_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        self._call("on_test_batch_end", batch, logs=logs)

    def on_predict_begin(self, logs: Logs | None = None) -> None:
        self._refresh()
        self._call("on_predict_begin", logs=logs)

    def on_predict_end(self, logs: Logs | None = None) -> None:
        self._call("on_predict_end", logs=logs)

    def on_predict_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        self._call("on_predict_batch_begin", batch, logs=logs)

    def on_predict_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        self._call("on_predict_batch_end", batch, logs=logs)
