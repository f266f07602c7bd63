"""``SwapEMAWeights`` (Keras 3.15): evaluate, predict and (optionally)
checkpoint with the optimizer's moving averages instead of the raw weights."""

from __future__ import annotations

from typing import Any

from polykeras import ops
from polykeras.callbacks.callback import Callback, Logs


def _ema_optimizers(optimizer: Any) -> list[Any]:
    """The optimizers whose averages are swapped: the model's optimizer, or
    the sub-optimizers of a MultiOptimizer that keep averages."""
    if hasattr(optimizer, "optimizers"):
        chosen = [o for o in optimizer.optimizers if getattr(o, "use_ema", False)]
        if not chosen:
            raise ValueError("SwapEMAWeights: expected at least one sub-optimizer of the MultiOptimizer with "
                             "use_ema=True, received sub-optimizers all with use_ema=False.")
        return chosen
    if not getattr(optimizer, "use_ema", False):
        raise ValueError("SwapEMAWeights: expected an optimizer with use_ema=True, received "
                         f"{type(optimizer).__name__} with use_ema={getattr(optimizer, 'use_ema', None)}.")
    return [optimizer]


class SwapEMAWeights(Callback):
    """Swap the model's weights with the optimizer's exponential moving
    averages (``use_ema=True``) while evaluating or predicting, and back
    afterwards. With ``swap_on_epoch=True`` the averages are also swapped in at
    each epoch end (so callbacks after this one, e.g. ``ModelCheckpoint``,
    see them) and out at the next epoch's start.

    Args:
        swap_on_epoch: also swap at epoch ends (place this callback before
            the checkpoint callbacks that should save the averages).

    Example:
        >>> model.compile(optimizer=optimizers.SGD(use_ema=True), loss="mse")
        >>> model.fit(x, y, validation_data=(vx, vy), callbacks=[SwapEMAWeights(swap_on_epoch=True)])
    """

    def __init__(self, swap_on_epoch: bool = False) -> None:
        super().__init__()
        self.swap_on_epoch = swap_on_epoch
        self._ema_weights_in_model = False

    def _pairs(self) -> list[tuple[Any, Any]]:
        pairs: list[tuple[Any, Any]] = []
        for optimizer in _ema_optimizers(self.model.optimizer):
            if optimizer.built:
                pairs.extend(zip(optimizer._trainable_variables, optimizer._averages))
        return pairs

    def _swap(self) -> None:
        for variable, average in self._pairs():
            held = ops.convert_to_numpy(variable.value)
            variable.assign(average.value)
            average.assign(held)

    def _finalize(self) -> None:
        for variable, average in self._pairs():
            average.assign(variable.value)

    def _swap_in(self) -> None:
        if not self._ema_weights_in_model:
            self._swap()
            self._ema_weights_in_model = True

    def _swap_out(self) -> None:
        if self._ema_weights_in_model:
            self._swap()
            self._ema_weights_in_model = False

    def on_train_begin(self, logs: Logs | None = None) -> None:
        _ema_optimizers(self.model.optimizer)  # a clear error before the first step

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        if self.swap_on_epoch:
            self._swap_out()

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if self.swap_on_epoch and not self._ema_weights_in_model:
            self._swap_in()
            if epoch == self.params.get("epochs", 0) - 1:
                self._finalize()  # training ends with the averages in the model, as fit's own finalize

    def on_test_begin(self, logs: Logs | None = None) -> None:
        self._swap_in()

    def on_test_end(self, logs: Logs | None = None) -> None:
        self._swap_out()

    def on_predict_begin(self, logs: Logs | None = None) -> None:
        self._swap_in()

    def on_predict_end(self, logs: Logs | None = None) -> None:
        self._swap_out()
