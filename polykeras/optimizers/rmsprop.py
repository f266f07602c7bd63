"""RMSprop, plain, centered and with momentum."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polykeras.optimizers.optimizer import Optimizer
from polykeras.variables import Variable

Tensor = Any


class RMSprop(Optimizer):
    """RMSprop (Keras 3 rule): ``v = rho * v + (1 - rho) * g**2``;
    ``step = lr * g / sqrt(v + epsilon)`` (centered: ``a = rho * a + (1 - rho) * g``
    and ``sqrt(v - a**2 + epsilon)``); with momentum ``m = momentum * m + step``
    and ``w -= m``, else ``w -= step``.

    Args:
        learning_rate: default 0.001. rho: default 0.9. momentum: default 0.0.
        epsilon: default 1e-7. centered: default False.
        **kwargs: the :class:`Optimizer` arguments.

    Example:
        >>> opt = RMSprop(learning_rate=1e-3, momentum=0.9, centered=True)
    """

    def __init__(self, learning_rate: Any = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False,
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
        for arg, value in (("rho", rho), ("momentum", momentum)):
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                raise ValueError(f"RMSprop: expected `{arg}` to be a float >= 0, received {arg}={value!r}.")
        self.rho = float(rho)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.centered = bool(centered)

    def build(self, variables: Sequence[Variable]) -> None:
        """Creates ``velocity`` (and ``momentum``, ``average_gradient``) slots."""
        if self.built:
            return
        super().build(variables)
        self._velocities = self.add_optimizer_variables(variables, "velocity")
        self._momentums = self.add_optimizer_variables(variables, "momentum") if self.momentum > 0 else []
        self._average_gradients = (self.add_optimizer_variables(variables, "average_gradient")
                                   if self.centered else [])

    def _update_step_all(self, grads: list[Tensor], variables: list[Variable], learning_rate: Tensor) -> None:
        index = [self._get_variable_index(v) for v in variables]
        velocities = [self._velocities[i] for i in index]
        momentums = [self._momentums[i] for i in index] if self.momentum > 0 else []
        averages = [self._average_gradients[i] for i in index] if self.centered else []
        new_w, new_v, new_m, new_a = self._engine_rule("rmsprop")(
            [v.value for v in variables], grads, [v.value for v in velocities], [m.value for m in momentums],
            [a.value for a in averages], learning_rate, rho=self.rho, momentum=self.momentum, epsilon=self.epsilon,
            centered=self.centered, inplace=self._may_update_in_place())
        self._write_back((variables, new_w), (velocities, new_v), (momentums, new_m), (averages, new_a))

    def update_step(self, gradient: Tensor, variable: Variable, learning_rate: Tensor) -> None:
        """One variable's update (the engine's ``rmsprop_update`` on one tensor).
        Example: ``opt.update_step(g, w, lr)``"""
        self._update_step_all([gradient], [variable], learning_rate)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                "centered": self.centered}
