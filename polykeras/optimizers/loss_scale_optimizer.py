"""``LossScaleOptimizer``: dynamic loss scaling for float16 training.

float16 gradients underflow to zero below ~6e-8; scaling the loss by a large
factor (``dynamic_scale``, 2**15 at first) before differentiating keeps them
representable, and dividing the gradients by the same factor before the
update undoes it. The scale adapts (Keras 3's rule): after
``dynamic_growth_steps`` steps in a row with finite gradients it doubles;
a step with any non-finite gradient halves it and is skipped: the inner
optimizer's weights, slots and ``iterations`` stay untouched.

The decision is a Python ``if`` where the finiteness flag can be read
(eager steps: the inner optimizer keeps its fused in-place kernels) and,
inside a compiled step (``tf.function``, ``jax.jit``), the inner update runs
in a nested :class:`~polykeras.variables.StatelessScope` and every variable
it would change is assigned ``where(finite, new, old)``.

The trainer asks the optimizer for :meth:`scale_loss` before
differentiating; ``model.compile`` wraps the optimizer in one under a
``mixed_float16`` policy (``auto_scale_loss=True``), as Keras 3 does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from polykeras import ops, registry
from polykeras.optimizers.averaging import known
from polykeras.optimizers.optimizer import Optimizer, Tensor, _label
from polykeras.variables import StatelessScope, Variable

__all__ = ["LossScaleOptimizer"]


class LossScaleOptimizer(Optimizer):
    """Wraps an optimizer with dynamic loss scaling (Keras 3's ``LossScaleOptimizer``).

    Args:
        inner_optimizer: the optimizer that makes the updates.
        initial_scale: the first loss scale (default ``2**15``).
        dynamic_growth_steps: finite steps in a row before the scale doubles.
        name: default ``"loss_scale_optimizer"``.

    State (Keras 3's names and order): ``iteration``, ``learning_rate``
    (unused placeholders, as Keras keeps them), ``step_counter`` (int32),
    ``dynamic_scale`` (float32), then the inner optimizer's variables.
    ``iterations`` and ``learning_rate`` are the inner optimizer's.

    Example:
        >>> opt = LossScaleOptimizer(optimizers.Adam(1e-3))
        >>> model.compile(opt, "mse")          # the trainer scales the loss
        >>> float(opt.dynamic_scale)
        32768.0
    """

    def __init__(self, inner_optimizer: Optimizer, initial_scale: float = 2.0 ** 15,
                 dynamic_growth_steps: int = 2000, name: str | None = None, **kwargs: Any):
        if not isinstance(inner_optimizer, Optimizer):
            raise ValueError(f"LossScaleOptimizer: expected `inner_optimizer` to be an Optimizer instance, "
                             f"received {_label(inner_optimizer)}.")
        if isinstance(initial_scale, bool) or not isinstance(initial_scale, (int, float, np.number)) \
                or not math.isfinite(float(initial_scale)) or initial_scale <= 0:
            raise ValueError(f"LossScaleOptimizer: expected `initial_scale` to be a positive finite number, "
                             f"received initial_scale={initial_scale!r}.")
        if isinstance(dynamic_growth_steps, bool) or not isinstance(dynamic_growth_steps, (int, np.integer)) \
                or dynamic_growth_steps < 1:
            raise ValueError(f"LossScaleOptimizer: expected `dynamic_growth_steps` to be an integer >= 1, "
                             f"received dynamic_growth_steps={dynamic_growth_steps!r}.")
        kwargs.pop("learning_rate", None)  # Keras writes no rate of its own; a config may still carry one
        self.inner_optimizer = inner_optimizer
        self.initial_scale = float(initial_scale)
        self.dynamic_growth_steps = int(dynamic_growth_steps)
        super().__init__(learning_rate=0.0, name=name, **kwargs)
        self.step_counter: Variable | None = None
        self.dynamic_scale: Variable | None = None

    # ------------------------------------------------------------------ state
    def build(self, variables: Sequence[Variable]) -> None:
        """Create ``step_counter`` and ``dynamic_scale``, then build the inner
        optimizer. Example: ``opt.build(model.trainable_variables)``"""
        if self.built:
            return
        super().build(variables)
        self.step_counter = self.add_variable((), initializer="zeros", dtype="int32", name="step_counter")
        self.dynamic_scale = self.add_variable((), initializer=self.initial_scale, dtype="float32",
                                               name="dynamic_scale")
        if not self.inner_optimizer.built:
            self.inner_optimizer.build(variables)

    @property
    def variables(self) -> list[Variable]:
        """Its own four variables, then the inner optimizer's."""
        return list(self._variables) + list(self.inner_optimizer.variables)

    @property
    def iterations(self) -> Any:
        """The inner optimizer's step counter (skipped steps do not count)."""
        return self.inner_optimizer.iterations

    @property
    def learning_rate(self) -> Any:
        """The inner optimizer's learning rate (settable)."""
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        self.inner_optimizer.learning_rate = value

    # ------------------------------------------------------------------ steps
    def scale_loss(self, loss: Tensor) -> Tensor:
        """``loss * dynamic_scale`` (the initial scale before the build).
        Example: ``grads = grad(lambda w: opt.scale_loss(loss_fn(w)))``"""
        scale = self.dynamic_scale.value if self.dynamic_scale is not None else self.initial_scale
        return ops.multiply(loss, ops.cast(scale, ops.dtype(loss)) if self.dynamic_scale is not None else scale)

    def check_finite(self, grads: Sequence[Tensor | None]) -> Tensor:
        """A bool scalar: every gradient is finite. Example: ``opt.check_finite(grads)``"""
        flags = [ops.all(ops.isfinite(g)) for g in grads if g is not None]
        if not flags:
            return ops.convert_to_tensor(True)
        return ops.all(ops.stack(flags))

    def apply(self, grads: Sequence[Tensor | None], trainable_variables: Sequence[Variable] | None = None) -> None:
        """Unscale ``grads`` and let the inner optimizer apply them when all are
        finite (counting toward a doubling of the scale); otherwise halve the
        scale and change nothing else.

        Example: ``opt.apply(grads, model.trainable_variables)``
        """
        grads = list(grads)
        if not grads:
            return
        if trainable_variables is None:
            if not self.built:
                raise ValueError(f"{self.name}.apply: expected `trainable_variables` or a built optimizer, "
                                 "received gradients only. Call optimizer.build(variables) first.")
            trainable_variables = self._trainable_variables
        trainable_variables = list(trainable_variables)
        if not self.built:
            self.build(trainable_variables)
        assert self.step_counter is not None and self.dynamic_scale is not None
        finite = self.check_finite(grads)
        scale = self.dynamic_scale.value
        unscaled = [None if g is None else ops.divide(g, ops.cast(scale, ops.dtype(g))) for g in grads]
        flag = known(finite)
        if flag is None:  # inside a compiled step: compute the update, keep it only where finite
            with StatelessScope() as scope:
                self.inner_optimizer.apply(unscaled, trainable_variables)
            for variable, new in scope.updates:
                variable.assign(ops.where(finite, new, variable.value))
        elif flag:
            self.inner_optimizer.apply(unscaled, trainable_variables)
        self._update_scale(finite)

    def _update_scale(self, finite: Tensor) -> None:
        """Keras 3's rule: finite steps count up to ``dynamic_growth_steps``,
        where the scale doubles and the count restarts; a non-finite step
        halves the scale and restarts the count."""
        assert self.step_counter is not None and self.dynamic_scale is not None
        count, scale = self.step_counter.value, self.dynamic_scale.value
        grow = ops.logical_and(finite, ops.equal(count, self.dynamic_growth_steps - 1))
        zero = ops.zeros_like(count)
        self.step_counter.assign(ops.where(finite, ops.where(grow, zero, ops.add(count, 1)), zero))
        factor = ops.where(grow, 2.0, ops.where(finite, 1.0, 0.5))
        self.dynamic_scale.assign(ops.multiply(scale, ops.cast(factor, "float32")))

    def finalize_variable_values(self, var_list: Any) -> None:
        """The inner optimizer's (EMA overwrite)."""
        self.inner_optimizer.finalize_variable_values(var_list)

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        """Keras 3's: ``name``, ``inner_optimizer`` (serialized), ``initial_scale``, ``dynamic_growth_steps``."""
        return {"name": self.name,
                "inner_optimizer": registry.serialize(self.inner_optimizer, f"LossScaleOptimizer {self.name!r}"),
                "initial_scale": self.initial_scale, "dynamic_growth_steps": self.dynamic_growth_steps}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None
                    ) -> LossScaleOptimizer:
        """A LossScaleOptimizer from :meth:`get_config`'s output (or Keras 3's)."""
        from polykeras import optimizers

        config = dict(config)
        inner = config.pop("inner_optimizer")
        if not isinstance(inner, Optimizer):
            inner = optimizers.deserialize(inner, custom_objects)
        known_keys = {"name", "initial_scale", "dynamic_growth_steps"}
        return cls(inner, **{k: v for k, v in config.items() if k in known_keys})
