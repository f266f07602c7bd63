"""Stochastic gradient descent, with optional (Nesterov) momentum."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polykeras.optimizers.optimizer import Optimizer
from polykeras.variables import Variable

Tensor = Any


class SGD(Optimizer):
    """Gradient descent (Keras 3 rule). Without momentum ``w -= lr * g``;
    with momentum ``m = momentum * m - lr * g`` then ``w += m`` (or, with
    ``nesterov``, ``w += momentum * m - lr * g``).

    Args:
        learning_rate: float, schedule or callable; default 0.01.
        momentum: float >= 0; default 0.0 (no ``momentum`` slots).
        nesterov: Nesterov momentum; default False.
        **kwargs: the :class:`Optimizer` arguments (clipping, weight decay, name).

    Example:
        >>> opt = SGD(learning_rate=0.1, momentum=0.9, nesterov=True)
        >>> opt.apply(grads, model.trainable_variables)
    """

    def __init__(self, learning_rate: Any = 0.01, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None, use_ema: bool = False,
                 ema_momentum: float = 0.99, ema_overwrite_frequency: int | None = None,
                 loss_scale_factor: float | None = None, gradient_accumulation_steps: int | None = None,
                 name: str | None = None, **kwargs: Any):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)
        if not isinstance(momentum, (int, float)) or isinstance(momentum, bool) or momentum < 0:
            raise ValueError(f"SGD: expected `momentum` to be a float >= 0, received momentum={momentum!r}.")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def build(self, variables: Sequence[Variable]) -> None:
        """Creates ``momentum`` slots when momentum > 0. Example: ``opt.build(vs)``"""
        if self.built:
            return
        super().build(variables)
        self.momentums = self.add_optimizer_variables(variables, "momentum") if self.momentum else []

    def _update_step_all(self, grads: list[Tensor], variables: list[Variable], learning_rate: Tensor) -> None:
        momentums = [self.momentums[self._get_variable_index(v)] for v in variables] if self.momentum else []
        new_w, new_m = self._engine_rule("sgd")(
            [v.value for v in variables], grads, [m.value for m in momentums], learning_rate,
            momentum=self.momentum, nesterov=self.nesterov, inplace=self._may_update_in_place())
        self._write_back((variables, new_w), (momentums, new_m))

    def update_step(self, gradient: Tensor, variable: Variable, learning_rate: Tensor) -> None:
        """One variable's update (the engine's ``sgd_update`` on one tensor).
        Example: ``opt.update_step(g, w, lr)``"""
        self._update_step_all([gradient], [variable], learning_rate)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}
