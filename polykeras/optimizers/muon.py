"""Muon: orthogonalized momentum for matrices, AdamW for everything else."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from polykeras import ops
from polykeras.optimizers.optimizer import Optimizer
from polykeras.variables import Variable

Tensor = Any


class Muon(Optimizer):
    """Muon (Keras 3 rule). A 2-D variable (not an embedding when
    ``exclude_embeddings``, its path matching none of ``exclude_layers``)
    keeps ``m = momentum * m + g`` and moves by ``lr`` times the Newton-Schulz
    orthogonalization (``ns_steps`` quintic steps with ``muon_a, muon_b,
    muon_c``) of ``g + momentum * m`` (``nesterov``) or ``m``, scaled by
    ``sqrt(max(rows, columns)) * rms_rate`` (unless ``rms_rate`` is None).
    Every other variable takes AdamW's step with ``adam_beta_1``,
    ``adam_beta_2``, ``epsilon`` at ``lr * adam_lr_ratio``. Weight decay
    ``w -= w * wd * lr`` uses ``weight_decay`` for Muon variables and
    ``adam_weight_decay`` for the others.

    State per variable, in Keras 3's order: ``momentum``, then ``velocity``
    for the AdamW variables only.

    Args:
        learning_rate: default 0.001. adam_beta_1, adam_beta_2: default 0.9, 0.999.
        adam_weight_decay: default 0.004. epsilon: default 1e-7.
        weight_decay: default 0.004. exclude_layers: regexes searched in
        variable paths (default none). exclude_embeddings: default True.
        muon_a, muon_b, muon_c: default 3.4445, -4.775, 2.0315.
        adam_lr_ratio: default 1. momentum: default 0.95. ns_steps: default 5.
        nesterov: default True. rms_rate: default 0.2.
        The rest: the :class:`Optimizer` arguments.

    Example: ``Muon(learning_rate=0.02, exclude_layers=["head"])``
    """

    def __init__(self, learning_rate: Any = 0.001, adam_beta_1: float = 0.9, adam_beta_2: float = 0.999,
                 adam_weight_decay: float | None = 0.004, epsilon: float = 1e-7,
                 weight_decay: float | None = 0.004, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None, use_ema: bool = False,
                 ema_momentum: float = 0.99, ema_overwrite_frequency: int | None = None,
                 loss_scale_factor: float | None = None, gradient_accumulation_steps: int | None = None,
                 name: str | None = None, exclude_layers: Sequence[str] | None = None,
                 exclude_embeddings: bool = True, muon_a: float = 3.4445, muon_b: float = -4.775,
                 muon_c: float = 2.0315, adam_lr_ratio: float = 1, momentum: float = 0.95, ns_steps: int = 5,
                 nesterov: bool = True, rms_rate: float | None = 0.2, **kwargs: Any):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)
        if not isinstance(ns_steps, int) or isinstance(ns_steps, bool) or ns_steps < 0:
            raise ValueError(f"Muon: expected `ns_steps` to be an int >= 0, received ns_steps={ns_steps!r}.")
        if adam_weight_decay is not None and (not isinstance(adam_weight_decay, (int, float))
                                              or isinstance(adam_weight_decay, bool) or adam_weight_decay < 0):
            raise ValueError("Muon: expected `adam_weight_decay` to be a non-negative float or None, received "
                             f"adam_weight_decay={adam_weight_decay!r}.")
        if isinstance(exclude_layers, str):
            raise TypeError(f"Muon: expected `exclude_layers` to be a list of regexes, received the string "
                            f"{exclude_layers!r}; write [{exclude_layers!r}].")
        self.adam_beta_1 = float(adam_beta_1)
        self.adam_beta_2 = float(adam_beta_2)
        self.adam_weight_decay = None if adam_weight_decay is None else float(adam_weight_decay)
        self.epsilon = float(epsilon)
        self.exclude_layers = list(exclude_layers or [])
        self.exclude_embeddings = bool(exclude_embeddings)
        self.muon_a, self.muon_b, self.muon_c = float(muon_a), float(muon_b), float(muon_c)
        self.adam_lr_ratio = adam_lr_ratio
        self.momentum = float(momentum)
        self.ns_steps = ns_steps
        self.nesterov = bool(nesterov)
        self.rms_rate = None if rms_rate is None else float(rms_rate)

    def _uses_adamw(self, variable: Variable) -> bool:
        """AdamW for every variable that is not a matrix, an embedding
        (``exclude_embeddings``) or matched by ``exclude_layers``."""
        if len(variable.shape) != 2:
            return True
        if self.exclude_embeddings and "embedding" in variable.path.lower():
            return True
        return any(re.search(pattern, variable.path) for pattern in self.exclude_layers)

    def build(self, variables: Sequence[Variable]) -> None:
        """Creates a ``momentum`` slot per variable and a ``velocity`` slot
        after it for the AdamW ones. Example: ``opt.build(model.trainable_variables)``"""
        if self.built:
            return
        super().build(variables)
        self._momentums: list[Variable] = []
        self._velocities: list[Variable | None] = []
        for variable in variables:
            self._momentums.append(self.add_variable_from_reference(variable, "momentum"))
            self._velocities.append(self.add_variable_from_reference(variable, "velocity")
                                    if self._uses_adamw(variable) else None)

    def _decays_weights(self) -> bool:
        return bool(self.weight_decay) or bool(self.adam_weight_decay)

    def _apply_weight_decay(self, plan: list[tuple[Variable, bool]], learning_rate: Tensor) -> None:
        for variable, decays in plan:
            rate = self.adam_weight_decay if self._uses_adamw(variable) else self.weight_decay
            if decays and rate:
                value = variable.value
                lr = self._lr_for(learning_rate, variable.dtype)
                variable.assign(ops.subtract(value, ops.multiply(value, ops.multiply(lr, rate))))

    def update_step(self, gradient: Tensor, variable: Variable, learning_rate: Tensor) -> None:
        """One variable's update. Example: ``opt.update_step(g, w, lr)``"""
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        lr = self._lr_for(learning_rate, variable.dtype)
        if v is not None:
            self._adamw_step(gradient, variable, ops.multiply(lr, self.adam_lr_ratio), m, v)
            return
        new_m = ops.add(ops.multiply(m.value, self.momentum), gradient)
        self.assign(m, new_m)
        direction = ops.add(gradient, ops.multiply(self.momentum, new_m)) if self.nesterov else new_m
        update = ops.multiply(lr, self._orthogonalize(direction))
        if self.rms_rate is not None:
            rows, columns = variable.shape
            update = ops.multiply(update, math.sqrt(max(rows, columns)) * self.rms_rate)
        self.assign_sub(variable, update)

    def _adamw_step(self, gradient: Tensor, variable: Variable, lr: Tensor, m: Variable, v: Variable) -> None:
        dtype = variable.dtype
        step = self._step_number(dtype)
        beta_1_power = ops.power(ops.convert_to_tensor(self.adam_beta_1, dtype), step)
        beta_2_power = ops.power(ops.convert_to_tensor(self.adam_beta_2, dtype), step)
        alpha = ops.divide(ops.multiply(lr, ops.sqrt(ops.subtract(1.0, beta_2_power))),
                           ops.subtract(1.0, beta_1_power))
        new_m = ops.add(m.value, ops.multiply(ops.subtract(gradient, m.value), 1.0 - self.adam_beta_1))
        new_v = ops.add(v.value, ops.multiply(ops.subtract(ops.square(gradient), v.value), 1.0 - self.adam_beta_2))
        self.assign(m, new_m)
        self.assign(v, new_v)
        self.assign_sub(variable, ops.divide(ops.multiply(new_m, alpha), ops.add(ops.sqrt(new_v), self.epsilon)))

    def _orthogonalize(self, x: Tensor) -> Tensor:
        """The quintic Newton-Schulz iteration toward ``U V^T`` of ``x``'s SVD
        (run on the wide orientation)."""
        rows, columns = ops.shape(x)[-2:]
        tall = rows > columns
        if tall:
            x = ops.swapaxes(x, -2, -1)
        norm = ops.sqrt(ops.sum(ops.square(x), axis=(-2, -1), keepdims=True))
        x = ops.divide(x, ops.add(norm, 1e-7))
        for _ in range(self.ns_steps):
            gram = ops.matmul(x, ops.swapaxes(x, -2, -1))
            polynomial = ops.add(ops.multiply(self.muon_b, gram), ops.matmul(ops.multiply(self.muon_c, gram), gram))
            x = ops.add(ops.multiply(self.muon_a, x), ops.matmul(polynomial, x))
        return ops.swapaxes(x, -2, -1) if tall else x

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "adam_beta_1": self.adam_beta_1, "adam_beta_2": self.adam_beta_2,
                "epsilon": self.epsilon, "exclude_layers": self.exclude_layers, "muon_a": self.muon_a,
                "muon_b": self.muon_b, "muon_c": self.muon_c, "adam_lr_ratio": self.adam_lr_ratio,
                "momentum": self.momentum, "ns_steps": self.ns_steps, "nesterov": self.nesterov,
                "exclude_embeddings": self.exclude_embeddings, "adam_weight_decay": self.adam_weight_decay,
                "rms_rate": self.rms_rate}
