"""Adafactor: second moments factored into row and column averages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from polykeras import ops
from polykeras.optimizers.optimizer import Optimizer
from polykeras.variables import Variable

Tensor = Any


class Adafactor(Optimizer):
    """Adafactor (Keras 3 rule). At step ``t``, with ``s = g**2 + epsilon_1``
    and ``b = 1 - t**beta_2_decay``: a variable of rank >= 2 keeps the row
    means ``r = b * r + (1 - b) * mean(s, -1)`` and column means
    ``c = b * c + (1 - b) * mean(s, -2)`` and ``v = (r / mean(r, -1))[..., None] * c[..., None, :]``;
    a variable of rank < 2 keeps ``v = b * v + (1 - b) * s``. Then
    ``u = g / sqrt(v)``, ``u /= max(1, rms(u) / clip_threshold)`` and
    ``w -= max(epsilon_2, rms(w)) * min(lr, 1 / sqrt(t)) * u``.

    State, per variable and in Keras 3's order: ``row`` and ``column`` (for a
    variable of rank < 2 two int32 scalar placeholders, as Keras keeps), then
    ``velocity``, so a Keras file's optimizer state loads unchanged.

    Args:
        learning_rate: default 0.001. beta_2_decay: default -0.8.
        epsilon_1: default 1e-30. epsilon_2: default 1e-3.
        clip_threshold: default 1.0. relative_step: default True (the step
            size is ``min(lr, 1 / sqrt(t))`` either way, as in Keras 3).
        The rest: the :class:`Optimizer` arguments.

    Example: ``Adafactor(learning_rate=0.01)``
    """

    def __init__(self, learning_rate: Any = 0.001, beta_2_decay: float = -0.8, epsilon_1: float = 1e-30,
                 epsilon_2: float = 1e-3, clip_threshold: float = 1.0, relative_step: bool = True,
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
        if not isinstance(clip_threshold, (int, float)) or isinstance(clip_threshold, bool) or clip_threshold <= 0:
            raise ValueError(f"Adafactor: expected `clip_threshold` to be a float > 0, received "
                             f"clip_threshold={clip_threshold!r}.")
        self.beta_2_decay = float(beta_2_decay)
        self.epsilon_1 = float(epsilon_1)
        self.epsilon_2 = float(epsilon_2)
        self.clip_threshold = float(clip_threshold)
        self.relative_step = bool(relative_step)

    def _factor(self, variable: Variable, kind: str, shape: tuple[int, ...], dtype: str) -> Variable:
        # Keras 3 names the row and column factors after the variable alone
        return self._slot(variable, kind, variable.name, np.zeros(shape, dtype), dtype)

    def build(self, variables: Sequence[Variable]) -> None:
        """Creates ``row``, ``column`` and ``velocity`` slots per variable.
        Example: ``opt.build(model.trainable_variables)``"""
        if self.built:
            return
        super().build(variables)
        self._rows: list[Variable] = []
        self._columns: list[Variable] = []
        self._velocities: list[Variable] = []
        for variable in variables:
            shape = tuple(variable.shape)
            if len(shape) < 2:
                self._rows.append(self._factor(variable, "row", (), "int32"))
                self._columns.append(self._factor(variable, "column", (), "int32"))
            else:
                self._rows.append(self._factor(variable, "row", shape[:-1], variable.dtype))
                self._columns.append(self._factor(variable, "column", shape[:-2] + shape[-1:], variable.dtype))
            self._velocities.append(self.add_variable_from_reference(variable, "velocity"))

    @staticmethod
    def _rms(x: Tensor) -> Tensor:
        return ops.sqrt(ops.mean(ops.square(x)))

    def update_step(self, gradient: Tensor, variable: Variable, learning_rate: Tensor) -> None:
        """One variable's update. Example: ``opt.update_step(g, w, lr)``"""
        dtype = variable.dtype
        index = self._get_variable_index(variable)
        velocity = self._velocities[index]
        step = self._step_number(dtype)
        lr = self._lr_for(learning_rate, dtype)
        rho = ops.minimum(lr, ops.divide(1.0, ops.sqrt(step)))
        alpha = ops.multiply(ops.maximum(ops.convert_to_tensor(self.epsilon_2, dtype), self._rms(variable.value)),
                             rho)
        squares = ops.add(ops.square(gradient), self.epsilon_1)
        decay = ops.subtract(1.0, ops.power(step, self.beta_2_decay))
        keep = ops.subtract(1.0, decay)

        def average(old: Tensor, new: Tensor) -> Tensor:
            return ops.add(ops.multiply(decay, old), ops.multiply(keep, new))

        if len(variable.shape) >= 2:
            row, column = self._rows[index], self._columns[index]
            new_row = average(row.value, ops.mean(squares, axis=-1))
            new_column = average(column.value, ops.mean(squares, axis=-2))
            self.assign(row, new_row)
            self.assign(column, new_column)
            row_share = ops.divide(new_row, ops.mean(new_row, axis=-1, keepdims=True))
            new_velocity = ops.multiply(ops.expand_dims(row_share, -1), ops.expand_dims(new_column, -2))
        else:
            new_velocity = average(velocity.value, squares)
        self.assign(velocity, new_velocity)
        u = ops.divide(gradient, ops.sqrt(new_velocity))
        u = ops.divide(u, ops.maximum(1.0, ops.divide(self._rms(u), self.clip_threshold)))
        self.assign_sub(variable, ops.multiply(alpha, u))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_2_decay": self.beta_2_decay, "epsilon_1": self.epsilon_1,
                "epsilon_2": self.epsilon_2, "clip_threshold": self.clip_threshold,
                "relative_step": self.relative_step}
