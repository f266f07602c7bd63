"""RMSprop, plain, centered and with momentum."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polykeras import ops
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
                 epsilon: float = 1e-7, centered: bool = False, name: str = "rmsprop", **kwargs: Any):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
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

    def update_step(self, gradient: Tensor, variable: Variable, learning_rate: Tensor) -> None:
        """One variable's update. Example: ``opt.update_step(g, w, lr)``"""
        lr = self._lr_for(learning_rate, variable.dtype)
        index = self._get_variable_index(variable)
        rho = self.rho
        velocity = self._velocities[index]
        new_v = ops.add(ops.multiply(velocity.value, rho), ops.multiply(ops.square(gradient), 1.0 - rho))
        self.assign(velocity, new_v)
        if self.centered:
            average = self._average_gradients[index]
            new_a = ops.add(ops.multiply(average.value, rho), ops.multiply(gradient, 1.0 - rho))
            self.assign(average, new_a)
            denominator = ops.add(ops.subtract(new_v, ops.square(new_a)), self.epsilon)
        else:
            denominator = ops.add(new_v, self.epsilon)
        increment = ops.divide(ops.multiply(gradient, lr), ops.sqrt(denominator))
        if self.momentum > 0:
            momentum = self._momentums[index]
            new_m = ops.add(ops.multiply(momentum.value, self.momentum), increment)
            self.assign(momentum, new_m)
            self.assign_sub(variable, new_m)
        else:
            self.assign_sub(variable, increment)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                "centered": self.centered}
