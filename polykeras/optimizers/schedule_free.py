"""Schedule-free AdamW: an Adam step on an auxiliary sequence, the weights
interpolating between it and its running average."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polykeras import ops
from polykeras.optimizers.optimizer import Optimizer
from polykeras.variables import Variable

Tensor = Any


class ScheduleFreeAdamW(Optimizer):
    """Schedule-free AdamW (Keras 3 rule). The ``momentum`` slot ``z`` starts
    at the variable; at step ``t``, with ``lr`` scaled by ``min(t / warmup_steps, 1)``:
    ``v += (g**2 - v) * (1 - beta_2)``; ``z -= lr * g / (sqrt(v / (1 - beta_2**t)) + epsilon)``;
    the average ``x = (w - (1 - beta_1) * z_old) / beta_1`` moves to
    ``(1 - 1/t) * x + z / t`` and ``w = (1 - beta_1) * z + beta_1 * x``.

    Args:
        learning_rate: default 0.0025. beta_1: default 0.9. beta_2: default 0.999.
        epsilon: default 1e-8. warmup_steps: int >= 0; default 0.
        The rest: the :class:`Optimizer` arguments.

    Example: ``ScheduleFreeAdamW(learning_rate=0.01, warmup_steps=100)``
    """

    def __init__(self, learning_rate: Any = 0.0025, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, warmup_steps: int = 0, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, use_ema: bool = False, ema_momentum: float = 0.99,
                 ema_overwrite_frequency: int | None = None, loss_scale_factor: float | None = None,
                 gradient_accumulation_steps: int | None = None, name: str | None = None, **kwargs: Any):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)
        for arg, value in (("beta_1", beta_1), ("beta_2", beta_2)):
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0.0 < value < 1.0:
                raise ValueError(f"ScheduleFreeAdamW: expected `{arg}` in (0, 1), received {arg}={value!r}.")
        if not isinstance(warmup_steps, int) or isinstance(warmup_steps, bool) or warmup_steps < 0:
            raise ValueError(f"ScheduleFreeAdamW: expected `warmup_steps` to be an int >= 0, received "
                             f"warmup_steps={warmup_steps!r}.")
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)
        self.warmup_steps = warmup_steps

    def build(self, variables: Sequence[Variable]) -> None:
        """Creates ``momentum`` (starting at the variable) and ``velocity``
        slots. Example: ``opt.build(model.trainable_variables)``"""
        if self.built:
            return
        super().build(variables)
        self._momentums, self._velocities = self.add_optimizer_variables(variables, ["momentum", "velocity"])
        for momentum, variable in zip(self._momentums, variables):
            self.assign(momentum, variable.value)

    def update_step(self, gradient: Tensor, variable: Variable, learning_rate: Tensor) -> None:
        """One variable's update. Example: ``opt.update_step(g, w, lr)``"""
        dtype = variable.dtype
        index = self._get_variable_index(variable)
        z, v = self._momentums[index], self._velocities[index]
        step = self._step_number(dtype)
        lr = self._lr_for(learning_rate, dtype)
        if self.warmup_steps > 0:
            lr = ops.multiply(lr, ops.minimum(ops.divide(step, float(self.warmup_steps)), 1.0))
        beta_2_power = ops.power(ops.convert_to_tensor(self.beta_2, dtype), step)
        old_z = z.value
        new_v = ops.add(v.value, ops.multiply(ops.subtract(ops.square(gradient), v.value), 1.0 - self.beta_2))
        self.assign(v, new_v)
        denominator = ops.add(ops.sqrt(ops.divide(new_v, ops.subtract(1.0, beta_2_power))), self.epsilon)
        new_z = ops.subtract(old_z, ops.divide(ops.multiply(lr, gradient), denominator))
        weight = ops.divide(1.0, step)
        average = ops.divide(ops.subtract(variable.value, ops.multiply(1.0 - self.beta_1, old_z)), self.beta_1)
        average = ops.add(ops.multiply(ops.subtract(1.0, weight), average), ops.multiply(weight, new_z))
        # z is assigned only after its old value's last use: an engine may update a variable in place, and
        # old_z may be a view of it (torch, TensorFlow)
        self.assign(z, new_z)
        self.assign(variable, ops.add(ops.multiply(1.0 - self.beta_1, new_z), ops.multiply(self.beta_1, average)))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "warmup_steps": self.warmup_steps}
