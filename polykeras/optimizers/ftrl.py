"""FTRL-Proximal: follow the regularized leader with L1/L2 shrinkage."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polykeras import ops
from polykeras.optimizers.optimizer import Optimizer
from polykeras.variables import Variable

Tensor = Any


class Ftrl(Optimizer):
    """FTRL-Proximal (Keras 3 rule). Per variable, with ``p = -learning_rate_power``,
    ``n`` the ``accumulator`` and ``z`` the ``linear`` slot:
    ``g' = g + 2 * l2_shrinkage * w``; ``n' = n + g**2``;
    ``z += g' - (n'**p - n**p) / lr * w``;
    ``w = (clip(z, -l1, l1) - z) / (n'**p / lr + 2 * (l2 + beta / (2 * lr)))``.

    Args:
        learning_rate: default 0.001. learning_rate_power: <= 0; default -0.5.
        initial_accumulator_value: >= 0, the accumulators' start; default 0.1.
        l1_regularization_strength, l2_regularization_strength,
        l2_shrinkage_regularization_strength: >= 0; default 0.0.
        beta: default 0.0. The rest: the :class:`Optimizer` arguments.

    Example: ``Ftrl(learning_rate=0.05, l1_regularization_strength=0.01)``
    """

    def __init__(self, learning_rate: Any = 0.001, learning_rate_power: float = -0.5,
                 initial_accumulator_value: float = 0.1, l1_regularization_strength: float = 0.0,
                 l2_regularization_strength: float = 0.0, l2_shrinkage_regularization_strength: float = 0.0,
                 beta: float = 0.0, weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None, use_ema: bool = False,
                 ema_momentum: float = 0.99, ema_overwrite_frequency: int | None = None,
                 loss_scale_factor: float | None = None, gradient_accumulation_steps: int | None = None,
                 name: str | None = None, **kwargs: Any):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)
        for arg, value, sign in (("initial_accumulator_value", initial_accumulator_value, 1),
                                 ("learning_rate_power", learning_rate_power, -1),
                                 ("l1_regularization_strength", l1_regularization_strength, 1),
                                 ("l2_regularization_strength", l2_regularization_strength, 1),
                                 ("l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength, 1),
                                 ("beta", beta, 0)):
            if not isinstance(value, (int, float)) or isinstance(value, bool) or sign * value < 0:
                wanted = {1: "a float >= 0", -1: "a float <= 0", 0: "a float"}[sign]
                raise ValueError(f"Ftrl: expected `{arg}` to be {wanted}, received {arg}={value!r}.")
        self.learning_rate_power = float(learning_rate_power)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.l1_regularization_strength = float(l1_regularization_strength)
        self.l2_regularization_strength = float(l2_regularization_strength)
        self.l2_shrinkage_regularization_strength = float(l2_shrinkage_regularization_strength)
        self.beta = float(beta)

    def build(self, variables: Sequence[Variable]) -> None:
        """Creates ``accumulator`` and ``linear`` slots, interleaved per variable
        (Keras 3's order). Example: ``opt.build(model.trainable_variables)``"""
        if self.built:
            return
        super().build(variables)
        self._accumulators_n: list[Variable] = []
        self._linears: list[Variable] = []
        for variable in variables:
            self._accumulators_n.append(self.add_variable_from_reference(
                variable, "accumulator", initializer=self.initial_accumulator_value))
            self._linears.append(self.add_variable_from_reference(variable, "linear"))

    def update_step(self, gradient: Tensor, variable: Variable, learning_rate: Tensor) -> None:
        """One variable's update. Example: ``opt.update_step(g, w, lr)``"""
        index = self._get_variable_index(variable)
        accumulator, linear = self._accumulators_n[index], self._linears[index]
        lr = self._lr_for(learning_rate, variable.dtype)
        power = -self.learning_rate_power
        w, n = variable.value, accumulator.value
        l2 = ops.add(self.l2_regularization_strength, ops.divide(self.beta, ops.multiply(2.0, lr)))
        shrunk = ops.add(gradient, ops.multiply(2.0 * self.l2_shrinkage_regularization_strength, w))
        new_n = ops.add(n, ops.square(gradient))
        new_n_power = ops.power(new_n, power)
        sigma = ops.divide(ops.subtract(new_n_power, ops.power(n, power)), lr)
        new_z = ops.add(linear.value, ops.subtract(shrunk, ops.multiply(sigma, w)))
        quadratic = ops.add(ops.divide(new_n_power, lr), ops.multiply(2.0, l2))
        l1 = self.l1_regularization_strength
        self.assign(linear, new_z)
        self.assign(variable, ops.divide(ops.subtract(ops.clip(new_z, -l1, l1), new_z), quadratic))
        self.assign(accumulator, new_n)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "learning_rate_power": self.learning_rate_power,
                "initial_accumulator_value": self.initial_accumulator_value,
                "l1_regularization_strength": self.l1_regularization_strength,
                "l2_regularization_strength": self.l2_regularization_strength,
                "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
                "beta": self.beta}
