"""LAMB: Adam's step scaled per variable by a trust ratio."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polykeras import ops
from polykeras.optimizers.adam import _check_betas
from polykeras.optimizers.optimizer import Optimizer
from polykeras.variables import Variable

Tensor = Any


class Lamb(Optimizer):
    """LAMB (Keras 3 rule): Adam's moments ``m``, ``v`` and bias-corrected
    step ``u = m_hat / (sqrt(v_hat) + epsilon)``, scaled by the trust ratio
    ``||w|| / ||u||`` (1 when either norm is 0): ``w -= ratio * lr * u``.

    Args:
        learning_rate: default 0.001. beta_1: default 0.9. beta_2: default 0.999.
        epsilon: default 1e-7. The rest: the :class:`Optimizer` arguments.

    Example: ``Lamb(learning_rate=0.01, weight_decay=0.01)``
    """

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None, use_ema: bool = False,
                 ema_momentum: float = 0.99, ema_overwrite_frequency: int | None = None,
                 loss_scale_factor: float | None = None, gradient_accumulation_steps: int | None = None,
                 name: str | None = None, **kwargs: Any):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)
        _check_betas("Lamb", beta_1=beta_1, beta_2=beta_2)
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)

    def build(self, variables: Sequence[Variable]) -> None:
        """Creates ``momentum`` and ``velocity`` slots. Example: ``opt.build(vs)``"""
        if self.built:
            return
        super().build(variables)
        self._momentums, self._velocities = self.add_optimizer_variables(variables, ["momentum", "velocity"])

    def update_step(self, gradient: Tensor, variable: Variable, learning_rate: Tensor) -> None:
        """One variable's update. Example: ``opt.update_step(g, w, lr)``"""
        dtype = variable.dtype
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        step = self._step_number(dtype)
        beta_1_power = ops.power(ops.convert_to_tensor(self.beta_1, dtype), step)
        beta_2_power = ops.power(ops.convert_to_tensor(self.beta_2, dtype), step)
        new_m = ops.add(m.value, ops.multiply(ops.subtract(gradient, m.value), 1.0 - self.beta_1))
        new_v = ops.add(v.value, ops.multiply(ops.subtract(ops.square(gradient), v.value), 1.0 - self.beta_2))
        self.assign(m, new_m)
        self.assign(v, new_v)
        update = ops.divide(ops.divide(new_m, ops.subtract(1.0, beta_1_power)),
                            ops.add(ops.sqrt(ops.divide(new_v, ops.subtract(1.0, beta_2_power))), self.epsilon))
        w_norm = ops.sqrt(ops.sum(ops.square(variable.value)))
        u_norm = ops.sqrt(ops.sum(ops.square(update)))
        both = ops.logical_and(ops.greater(w_norm, 0.0), ops.greater(u_norm, 0.0))
        ratio = ops.where(both, ops.divide(w_norm, ops.where(both, u_norm, 1.0)), 1.0)
        lr = self._lr_for(learning_rate, dtype)
        self.assign_sub(variable, ops.multiply(ops.multiply(ratio, lr), update))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}
