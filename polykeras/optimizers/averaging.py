"""Gradient accumulation and the moving average of the weights (EMA): the
two step-dependent parts of Keras 3's optimizer, shared by every optimizer.

Both decide something from the step counter: is this call the n-th one, the
one that updates? Is this update the k-th, the one that overwrites the
weights with their averages? Where the counter can be read (eager torch,
NumPy, eager TensorFlow and JAX, ``stateless_apply`` outside ``jit``) the
decision is a Python ``if``: the rule, with an engine's fused in-place
kernels, runs only on real updates. Inside a compiled step (a ``tf.function``
graph, a ``jax.jit`` trace) the counter is symbolic: both outcomes are
computed and :func:`select` keeps one with ``ops.where``, as Keras 3's JAX
optimizer does. Values there are immutable tensors, so a value read before
the update (:func:`snapshot`) is still the old one after it.

Example:
    >>> flag = ops.equal(ops.mod(ops.add(opt.iterations.value, 1), 3), 0)
    >>> known(flag)            # True/False eagerly, None inside jit
    False
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from polykeras import ops
from polykeras.variables import Variable

Tensor = Any

__all__ = ["AveragingMixin", "check_arguments", "is_multiple_step", "known", "select", "snapshot"]


class AveragingMixin:
    """Gradient accumulation and EMA for :class:`~polykeras.optimizers.Optimizer`
    (which owns the state: ``_iterations``, ``_trainable_variables``,
    ``_averages``, ``_accumulators``, and ``_update`` / ``_update_count``).

    Example:
        >>> opt = optimizers.SGD(0.1, use_ema=True, gradient_accumulation_steps=2)
        >>> opt.apply(grads, weights)   # accumulates; the second call updates
        >>> opt.finalize_variable_values(weights)
    """

    _iterations: Variable
    _trainable_variables: list[Variable]
    _variables: list[Variable]
    _learning_rate: Any
    _averages: list[Variable]
    _accumulators: list[Variable]
    _index: dict[int, int]
    _in_place: bool
    name: str
    built: bool
    use_ema: bool
    ema_momentum: float
    ema_overwrite_frequency: int | None
    gradient_accumulation_steps: int | None

    def _update(self, grads: list[Tensor], variables: list[Variable], indices: list[int]) -> None:
        raise NotImplementedError  # the Optimizer's

    def _update_count(self) -> Tensor:
        raise NotImplementedError  # the Optimizer's

    def _accumulate(self, grads: list[Tensor], variables: list[Variable], indices: list[int]) -> None:
        """Keras 3's gradient accumulation: every n-th call updates with
        ``(accumulated + gradient) / n`` and zeroes every accumulator; the other
        calls add the gradients to their accumulators. Eagerly a Python branch;
        traced, both outcomes and a select (see :mod:`.averaging`)."""
        steps = self.gradient_accumulation_steps
        assert steps is not None  # only an optimizer that accumulates calls this
        grads = [g if ops.dtype(g) == v.dtype else ops.cast(g, v.dtype) for g, v in zip(grads, variables)]
        present = {i: g for i, g in zip(indices, grads)}
        is_update = is_multiple_step(self._iterations.value, steps)
        decided = known(is_update)
        if decided is False:
            for i, grad in present.items():
                accumulator = self._accumulators[i]
                accumulator.assign(ops.add(grad, accumulator.value))
            return
        means = [ops.divide(ops.add(g, self._accumulators[i].value), steps) for i, g in zip(indices, grads)]
        if decided:
            self._update(means, variables, indices)
            for accumulator in self._accumulators:
                accumulator.assign(ops.zeros_like(accumulator.value))
            return
        # Symbolic counter: update out of place, then keep the update's values or the old ones.
        kept = {id(v) for v in (self._iterations, self._learning_rate, *self._averages, *self._accumulators)}
        touched = variables + [v for v in self._variables if id(v) not in kept]
        old, old_accumulators = snapshot(touched), snapshot(self._accumulators)
        self._in_place = False
        try:
            self._update(means, variables, indices)
        finally:
            self._in_place = True
        select(is_update, touched, old)
        for i, (accumulator, value) in enumerate(zip(self._accumulators, old_accumulators)):
            added = ops.add(present[i], value) if i in present else value
            accumulator.assign(ops.where(is_update, ops.zeros_like(value), added))

    def _update_averages(self) -> None:
        """Keras 3's EMA after an update: ``average = m * average + (1 - m) * variable``
        (``m = 0`` on the first update), then, every ``ema_overwrite_frequency``
        updates, ``variable = average``."""
        count = self._update_count()
        not_first = ops.not_equal(count, 0)
        momenta: dict[str, Tensor] = {}
        for variable, average in zip(self._trainable_variables, self._averages):
            dtype = variable.dtype
            momentum = momenta.get(dtype)
            if momentum is None:
                momentum = momenta[dtype] = ops.multiply(ops.cast(not_first, dtype), self.ema_momentum)
            average.assign(ops.add(ops.multiply(momentum, average.value),
                                   ops.multiply(ops.subtract(1.0, momentum), variable.value)))
        if not self.ema_overwrite_frequency:
            return
        overwrite = is_multiple_step(count, self.ema_overwrite_frequency)
        decided = known(overwrite)
        for variable, average in zip(self._trainable_variables, self._averages):
            if decided is None:
                variable.assign(ops.where(overwrite, average.value, variable.value))
            elif decided:
                variable.assign(average.value)

    def finalize_variable_values(self, var_list: Sequence[Variable]) -> None:
        """With ``use_ema``, overwrite each variable of ``var_list`` (variables
        the optimizer was built with) by its moving average; else nothing.
        ``fit`` calls it at the end of training, as Keras 3 does.

        Example: ``opt.finalize_variable_values(model.trainable_variables)``
        """
        if not self.use_ema or not self.built:
            return
        for variable in var_list:
            index = self._index.get(id(variable))
            if index is None:
                raise ValueError(f"{self.name}.finalize_variable_values: expected variables the optimizer was "
                                 f"built with ({len(self._index)} variables), received {_path(variable)}.")
            variable.assign(self._averages[index].value)


def check_arguments(owner: str, use_ema: Any, ema_momentum: Any, ema_overwrite_frequency: Any,
                    gradient_accumulation_steps: Any) -> tuple[bool, float, int | None, int | None]:
    """The EMA and accumulation arguments checked and normalised:
    ``(use_ema, ema_momentum, ema_overwrite_frequency, gradient_accumulation_steps)``.
    ``gradient_accumulation_steps`` of None, 0 or 1 means no accumulation
    and becomes None (so a saved config loads in Keras 3, which refuses 1);
    ``ema_overwrite_frequency`` of 0 means never, as in Keras 3, and becomes None.

    Example: ``check_arguments("Adam", True, 0.99, None, 4)`` -> ``(True, 0.99, None, 4)``
    """
    if not isinstance(use_ema, (bool, np.bool_)):
        raise ValueError(f"{owner}: expected `use_ema` to be a bool, received use_ema={use_ema!r}.")
    if not _is_real(ema_momentum) or not 0.0 <= float(ema_momentum) <= 1.0:
        raise ValueError(f"{owner}: expected `ema_momentum` to be a float in [0, 1], received "
                         f"ema_momentum={ema_momentum!r}.")
    if ema_overwrite_frequency is not None and (not _is_int(ema_overwrite_frequency) or ema_overwrite_frequency < 0):
        raise ValueError(f"{owner}: expected `ema_overwrite_frequency` to be an integer >= 1 (or None or 0: "
                         f"never), received ema_overwrite_frequency={ema_overwrite_frequency!r}.")
    steps = gradient_accumulation_steps
    if steps is not None and (not _is_int(steps) or steps < 0):
        raise ValueError(f"{owner}: expected `gradient_accumulation_steps` to be an integer >= 2 (or None, 0 or "
                         f"1 for no accumulation), received gradient_accumulation_steps={steps!r}.")
    return (bool(use_ema), float(ema_momentum),
            int(ema_overwrite_frequency) if ema_overwrite_frequency else None,
            int(steps) if steps is not None and steps >= 2 else None)


def is_multiple_step(count: Tensor, every: int) -> Tensor:
    """``(count + 1) % every == 0``: the bool tensor "this is the every-th step".
    Example: ``is_multiple_step(opt.iterations.value, 3)``"""
    return ops.equal(ops.mod(ops.add(count, 1), every), 0)


def known(flag: Tensor) -> bool | None:
    """``flag``'s value as a Python bool, or None when it is symbolic (inside a
    compiled step), where reading it is impossible.

    Example: ``known(ops.convert_to_tensor(True))`` -> ``True``
    """
    try:
        return bool(ops.to_numpy(flag))
    except Exception:  # a traced value: each engine says so with its own error type
        return None


def snapshot(variables: Sequence[Variable]) -> list[Tensor]:
    """The variables' current values as tensors (a TensorFlow variable is read
    here, in program order, not later). Example: ``old = snapshot(slots)``"""
    return [ops.convert_to_tensor(v.value) for v in variables]


def select(flag: Tensor, variables: Sequence[Variable], old_values: Sequence[Tensor]) -> None:
    """Keep each variable's new value where ``flag`` is true, else restore its
    ``old_values`` entry. Example: ``select(is_update, weights, old)``"""
    for variable, old in zip(variables, old_values):
        variable.assign(ops.where(flag, variable.value, old))


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _path(value: Any) -> str:
    return f"Variable {value.path!r}" if isinstance(value, Variable) else f"{type(value).__name__} {value!r:.80}"
