"""The Adam family: Adam (with AMSGrad), AdamW, Adamax and Nadam."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polykeras import ops
from polykeras.optimizers.optimizer import Optimizer
from polykeras.variables import Variable

Tensor = Any


def _check_betas(owner: str, **betas: float) -> None:
    for arg, value in betas.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0.0 <= value < 1.0:
            raise ValueError(f"{owner}: expected `{arg}` in [0, 1), received {arg}={value!r}.")


class Adam(Optimizer):
    """Adam (Keras 3 rule): with ``t = iterations + 1``,
    ``m += (g - m) * (1 - beta_1)``, ``v += (g**2 - v) * (1 - beta_2)``,
    ``w -= m * lr * sqrt(1 - beta_2**t) / (1 - beta_1**t) / (sqrt(v) + epsilon)``;
    ``amsgrad`` uses the running maximum of ``v``.

    Args:
        learning_rate: default 0.001. beta_1: default 0.9. beta_2: default 0.999.
        epsilon: default 1e-7. amsgrad: default False.
        **kwargs: the :class:`Optimizer` arguments.

    Example:
        >>> opt = Adam(learning_rate=1e-3)
        >>> opt.apply(grads, model.trainable_variables)
        >>> opt.slots_for(model.trainable_variables[0])["momentum"].path
        'adam/dense_kernel_momentum'
    """

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False,
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
        _check_betas(type(self).__name__, beta_1=beta_1, beta_2=beta_2)
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)
        self.amsgrad = bool(amsgrad)

    def build(self, variables: Sequence[Variable]) -> None:
        """Creates ``momentum`` and ``velocity`` (and ``velocity_hat``) slots."""
        if self.built:
            return
        super().build(variables)
        self._momentums, self._velocities = self.add_optimizer_variables(variables, ["momentum", "velocity"])
        if self.amsgrad:
            self._velocity_hats = self.add_optimizer_variables(variables, "velocity_hat")

    def _update_step_all(self, grads: list[Tensor], variables: list[Variable], learning_rate: Tensor) -> None:
        index = [self._get_variable_index(v) for v in variables]
        momentums = [self._momentums[i] for i in index]
        velocities = [self._velocities[i] for i in index]
        hats = [self._velocity_hats[i] for i in index] if self.amsgrad else []
        new_w, new_m, new_v, new_hat = self._engine_rule("adam")(
            [v.value for v in variables], grads, [m.value for m in momentums], [v.value for v in velocities],
            learning_rate, ops.add(self._update_count(), 1), beta_1=self.beta_1, beta_2=self.beta_2,
            epsilon=self.epsilon, velocity_hats=[h.value for h in hats] if self.amsgrad else None,
            inplace=self._may_update_in_place())
        self._write_back((variables, new_w), (momentums, new_m), (velocities, new_v), (hats, new_hat))

    def update_step(self, gradient: Tensor, variable: Variable, learning_rate: Tensor) -> None:
        """One variable's update (the engine's ``adam_update`` on one tensor).
        Example: ``opt.update_step(g, w, lr)``"""
        self._update_step_all([gradient], [variable], learning_rate)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay (default 0.004): before each update
    ``w -= w * weight_decay * lr``, then the Adam rule.

    Example:
        >>> opt = AdamW(learning_rate=1e-3, weight_decay=0.01)
        >>> opt.exclude_from_weight_decay(var_names=["bias"])
    """

    def __init__(self, learning_rate: Any = 0.001, weight_decay: float = 0.004, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, amsgrad: bool = False, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None, use_ema: bool = False,
                 ema_momentum: float = 0.99, ema_overwrite_frequency: int | None = None,
                 loss_scale_factor: float | None = None, gradient_accumulation_steps: int | None = None,
                 name: str | None = None, **kwargs: Any):
        if weight_decay is None:
            raise ValueError("AdamW: expected `weight_decay` to be a float, received weight_decay=None.")
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                         amsgrad=amsgrad, weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema, ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency, loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)


class Adamax(Optimizer):
    """Adamax, Adam with the infinity norm (Keras 3 rule):
    ``m += (g - m) * (1 - beta_1)``, ``u = max(beta_2 * u, |g|)``,
    ``w -= lr * m / ((1 - beta_1**t) * (u + epsilon))``.

    Example: ``Adamax(learning_rate=0.002)``
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
        _check_betas(type(self).__name__, beta_1=beta_1, beta_2=beta_2)
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)

    def build(self, variables: Sequence[Variable]) -> None:
        """Creates ``momentum`` and ``norm`` slots."""
        if self.built:
            return
        super().build(variables)
        self._m, self._u = self.add_optimizer_variables(variables, ["momentum", "norm"])

    def update_step(self, gradient: Tensor, variable: Variable, learning_rate: Tensor) -> None:
        """One variable's update. Example: ``opt.update_step(g, w, lr)``"""
        dtype = variable.dtype
        index = self._get_variable_index(variable)
        m, u = self._m[index], self._u[index]
        beta_1_power = ops.power(ops.convert_to_tensor(self.beta_1, dtype), self._step_number(dtype))
        new_m = ops.add(m.value, ops.multiply(ops.subtract(gradient, m.value), 1.0 - self.beta_1))
        new_u = ops.maximum(ops.multiply(u.value, self.beta_2), ops.abs(gradient))
        self.assign(m, new_m)
        self.assign(u, new_u)
        denominator = ops.multiply(ops.subtract(1.0, beta_1_power), ops.add(new_u, self.epsilon))
        self.assign_sub(variable, ops.divide(ops.multiply(self._lr_for(learning_rate, dtype), new_m), denominator))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class Nadam(Optimizer):
    """Nesterov Adam with the momentum schedule
    ``u_t = beta_1 * (1 - 0.5 * 0.96 ** t)`` (Keras 3's rule: no 0.004 factor
    in the exponent, unlike the paper and Keras 2); the
    running product of ``u_t`` is the state variable ``nadam/u_product``.

    Example: ``Nadam(learning_rate=0.001)``
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
        _check_betas(type(self).__name__, beta_1=beta_1, beta_2=beta_2)
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)
        self._factors: dict[str, tuple[Tensor, ...]] | None = None

    def build(self, variables: Sequence[Variable]) -> None:
        """Creates ``momentum`` and ``velocity`` slots and ``u_product``."""
        if self.built:
            return
        super().build(variables)
        self._momentums, self._velocities = self.add_optimizer_variables(variables, ["momentum", "velocity"])
        dtype = variables[0].dtype if variables else "float32"
        self._u_product = self.add_variable((), initializer=1.0, dtype=dtype, name="u_product")

    def _u(self, dtype: str, offset: int) -> Tensor:
        decay = ops.power(ops.convert_to_tensor(0.96, dtype), self._step_number(dtype, offset))
        return ops.multiply(self.beta_1, ops.subtract(1.0, ops.multiply(0.5, decay)))

    def _update_step_all(self, grads: list[Tensor], variables: list[Variable], learning_rate: Tensor) -> None:
        dtype = self._u_product.dtype
        self.assign(self._u_product, ops.multiply(self._u_product.value, self._u(dtype, 1)))
        self._factors = {}
        try:
            super()._update_step_all(grads, variables, learning_rate)
        finally:
            self._factors = None

    def _factors_for(self, dtype: str) -> tuple[Tensor, ...]:
        cache = self._factors
        factors = None if cache is None else cache.get(dtype)
        if factors is None:
            u_t, u_next = self._u(dtype, 1), self._u(dtype, 2)
            u_product = self._u_product.value
            if self._u_product.dtype != dtype:
                u_product = ops.cast(u_product, dtype)
            beta_2_power = ops.power(ops.convert_to_tensor(self.beta_2, dtype), self._step_number(dtype))
            factors = (u_t, u_next, u_product, ops.multiply(u_product, u_next), beta_2_power)
            if cache is not None:
                cache[dtype] = factors
        return factors

    def update_step(self, gradient: Tensor, variable: Variable, learning_rate: Tensor) -> None:
        """One variable's update. Example: ``opt.update_step(g, w, lr)``"""
        dtype = variable.dtype
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        u_t, u_next, u_product, u_product_next, beta_2_power = self._factors_for(dtype)
        new_m = ops.add(m.value, ops.multiply(ops.subtract(gradient, m.value), 1.0 - self.beta_1))
        new_v = ops.add(v.value, ops.multiply(ops.subtract(ops.square(gradient), v.value), 1.0 - self.beta_2))
        self.assign(m, new_m)
        self.assign(v, new_v)
        m_hat = ops.add(ops.divide(ops.multiply(u_next, new_m), ops.subtract(1.0, u_product_next)),
                        ops.divide(ops.multiply(ops.subtract(1.0, u_t), gradient), ops.subtract(1.0, u_product)))
        v_hat = ops.divide(new_v, ops.subtract(1.0, beta_2_power))
        update = ops.divide(ops.multiply(m_hat, self._lr_for(learning_rate, dtype)),
                            ops.add(ops.sqrt(v_hat), self.epsilon))
        self.assign_sub(variable, update)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}
