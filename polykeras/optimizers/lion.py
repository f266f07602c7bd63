"""Lion: sign updates from an interpolated momentum."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polykeras import ops
from polykeras.optimizers.optimizer import Optimizer
from polykeras.variables import Variable

Tensor = Any


class Lion(Optimizer):
    """Lion (Keras 3 rule): ``w -= lr * sign(beta_1 * g + (1 - beta_1) * m)``,
    then ``m = beta_2 * m + (1 - beta_2) * g``.

    Args:
        learning_rate: default 0.001. beta_1: default 0.9, in (0, 1].
        beta_2: default 0.99. **kwargs: the :class:`Optimizer` arguments.

    Example: ``Lion(learning_rate=1e-4, weight_decay=0.1)``
    """

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.99,
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
        if not isinstance(beta_1, (int, float)) or isinstance(beta_1, bool) or not 0.0 < beta_1 <= 1.0:
            raise ValueError("Lion: expected `beta_1` in (0, 1] (at 0 Lion degenerates to SignSGD), received "
                             f"beta_1={beta_1!r}.")
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)

    def build(self, variables: Sequence[Variable]) -> None:
        """Creates ``momentum`` slots."""
        if self.built:
            return
        super().build(variables)
        self._momentums = self.add_optimizer_variables(variables, "momentum")

    def update_step(self, gradient: Tensor, variable: Variable, learning_rate: Tensor) -> None:
        """One variable's update. Example: ``opt.update_step(g, w, lr)``"""
        m = self._momentums[self._get_variable_index(variable)]
        lr = self._lr_for(learning_rate, variable.dtype)
        direction = ops.sign(ops.add(ops.multiply(m.value, 1.0 - self.beta_1), ops.multiply(gradient, self.beta_1)))
        self.assign_sub(variable, ops.multiply(lr, direction))
        self.assign(m, ops.add(ops.multiply(m.value, self.beta_2), ops.multiply(gradient, 1.0 - self.beta_2)))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2}
