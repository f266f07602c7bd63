"""Adagrad and Adadelta: per-coordinate rates from accumulated squares."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polykeras import ops
from polykeras.optimizers.optimizer import Optimizer
from polykeras.variables import Variable

Tensor = Any


class Adagrad(Optimizer):
    """Adagrad (Keras 3 rule): ``a += g**2``; ``w -= lr * g / sqrt(a + epsilon)``,
    the accumulator starting at ``initial_accumulator_value``.

    Args:
        learning_rate: default 0.001. initial_accumulator_value: default 0.1.
        epsilon: default 1e-7. **kwargs: the :class:`Optimizer` arguments.

    Example: ``Adagrad(learning_rate=0.01)``
    """

    def __init__(self, learning_rate: Any = 0.001, initial_accumulator_value: float = 0.1, epsilon: float = 1e-7,
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
        if not isinstance(initial_accumulator_value, (int, float)) or initial_accumulator_value < 0:
            raise ValueError("Adagrad: expected `initial_accumulator_value` to be a float >= 0, received "
                             f"initial_accumulator_value={initial_accumulator_value!r}.")
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.epsilon = float(epsilon)

    def build(self, variables: Sequence[Variable]) -> None:
        """Creates ``accumulator`` slots."""
        if self.built:
            return
        super().build(variables)
        self._square_sums = self.add_optimizer_variables(variables, "accumulator",
                                                       initializer=self.initial_accumulator_value)

    def update_step(self, gradient: Tensor, variable: Variable, learning_rate: Tensor) -> None:
        """One variable's update. Example: ``opt.update_step(g, w, lr)``"""
        accumulator = self._square_sums[self._get_variable_index(variable)]
        new_a = ops.add(accumulator.value, ops.square(gradient))
        self.assign(accumulator, new_a)
        lr = self._lr_for(learning_rate, variable.dtype)
        self.assign_sub(variable, ops.divide(ops.multiply(lr, gradient), ops.sqrt(ops.add(new_a, self.epsilon))))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


class Adadelta(Optimizer):
    """Adadelta (Keras 3 rule): ``G = rho * G + (1 - rho) * g**2``;
    ``d = -sqrt(D + epsilon) * g / sqrt(G + epsilon)``;
    ``D = rho * D + (1 - rho) * d**2``; ``w += lr * d``.

    Args:
        learning_rate: default 0.001. rho: default 0.95. epsilon: default 1e-7.
        **kwargs: the :class:`Optimizer` arguments.

    Example: ``Adadelta(learning_rate=1.0, rho=0.95)``
    """

    def __init__(self, learning_rate: Any = 0.001, rho: float = 0.95, epsilon: float = 1e-7,
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
        if not isinstance(rho, (int, float)) or isinstance(rho, bool) or not 0.0 <= rho <= 1.0:
            raise ValueError(f"Adadelta: expected `rho` in [0, 1], received rho={rho!r}.")
        self.rho = float(rho)
        self.epsilon = float(epsilon)

    def build(self, variables: Sequence[Variable]) -> None:
        """Creates ``accumulated_grad`` and ``accumulated_delta_var`` slots."""
        if self.built:
            return
        super().build(variables)
        self._accumulated_grads, self._accumulated_delta_vars = self.add_optimizer_variables(
            variables, ["accumulated_grad", "accumulated_delta_var"])

    def update_step(self, gradient: Tensor, variable: Variable, learning_rate: Tensor) -> None:
        """One variable's update. Example: ``opt.update_step(g, w, lr)``"""
        index = self._get_variable_index(variable)
        grad_acc, delta_acc = self._accumulated_grads[index], self._accumulated_delta_vars[index]
        rho = self.rho
        new_g = ops.add(ops.multiply(grad_acc.value, rho), ops.multiply(ops.square(gradient), 1.0 - rho))
        self.assign(grad_acc, new_g)
        delta = ops.negative(ops.divide(ops.multiply(ops.sqrt(ops.add(delta_acc.value, self.epsilon)), gradient),
                                        ops.sqrt(ops.add(new_g, self.epsilon))))
        self.assign(delta_acc, ops.add(ops.multiply(delta_acc.value, rho), ops.multiply(ops.square(delta), 1.0 - rho)))
        self.assign_add(variable, ops.multiply(delta, self._lr_for(learning_rate, variable.dtype)))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}
