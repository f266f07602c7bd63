"""Learning-rate schedules (Keras 3 names, arguments and formulas).

A schedule maps the optimizer's step counter to a learning rate. It is
evaluated with :mod:`polykeras.ops` on the ``iterations`` tensor (no Python
branching on its value), so it runs inside a compiled step and on every engine.

Example:
    >>> from polykeras.optimizers import SGD, schedules
    >>> lr = schedules.ExponentialDecay(0.1, decay_steps=100, decay_rate=0.5)
    >>> opt = SGD(learning_rate=lr)          # 0.1 at step 0, 0.05 at step 100
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from polykeras import ops
from polykeras.variables import Variable

Tensor = Any

__all__ = [
    "CosineDecay",
    "CosineDecayRestarts",
    "ExponentialDecay",
    "InverseTimeDecay",
    "LearningRateSchedule",
    "PiecewiseConstantDecay",
    "PolynomialDecay",
    "deserialize",
    "serialize",
]


class LearningRateSchedule:
    """Base class: ``schedule(step) -> learning rate`` (a float32 tensor).

    Subclasses implement ``__call__`` with ops and ``get_config``.

    Example:
        >>> class Halving(LearningRateSchedule):
        ...     def __init__(self, rate):
        ...         self.rate = rate
        ...     def __call__(self, step):
        ...         return ops.multiply(self.rate, ops.power(0.5, _float_step(step)))
        ...     def get_config(self):
        ...         return {"rate": self.rate}
    """

    def __call__(self, step: Any) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.__call__: expected a subclass implementation.")

    #: The built-in schedules' constructor arguments in Keras 3's config order,
    #: each kept as an attribute of the same name (what :meth:`get_config` returns).
    _config_keys: tuple[str, ...] = ()

    def get_config(self) -> dict[str, Any]:
        if not self._config_keys:
            raise NotImplementedError(f"{type(self).__name__}.get_config: expected a subclass implementation.")
        return {key: getattr(self, key) for key in self._config_keys}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LearningRateSchedule:
        """The schedule from :meth:`get_config`'s output. Example: ``ExponentialDecay.from_config(c)``"""
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _step_tensor(step: Any) -> Tensor:
    if isinstance(step, Variable):
        step = step.value
    return ops.convert_to_tensor(step)


def _float_step(step: Any) -> Tensor:
    """``step`` (tensor, Variable or int) as a float32 tensor."""
    return ops.cast(_step_tensor(step), "float32")


def _positive(owner: str, arg: str, value: Any) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{owner}: expected `{arg}` > 0, received {arg}={value!r}.")


class _StaircaseDecay(LearningRateSchedule):
    """Decay driven by ``step / decay_steps``, floored with ``staircase``."""

    _config_keys = ("initial_learning_rate", "decay_steps", "decay_rate", "staircase", "name")

    def __init__(self, initial_learning_rate: float, decay_steps: float, decay_rate: float,
                 staircase: bool = False, name: str | None = None):
        _positive(type(self).__name__, "decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = type(self).__name__ if name is None else name

    def _progress(self, step: Any) -> Tensor:
        p = ops.divide(_float_step(step), float(self.decay_steps))
        return ops.floor(p) if self.staircase else p


class ExponentialDecay(_StaircaseDecay):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)``; with
    ``staircase`` the exponent is floored.

    Example: ``ExponentialDecay(0.1, decay_steps=1000, decay_rate=0.96)``
    """

    def __init__(self, initial_learning_rate: float, decay_steps: float, decay_rate: float,
                 staircase: bool = False, name: str = "ExponentialDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step: Any) -> Tensor:
        return ops.multiply(float(self.initial_learning_rate), ops.power(float(self.decay_rate), self._progress(step)))


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[i]`` while
    ``boundaries[i-1] < step <= boundaries[i]``, ``values[-1]`` after.

    Example: ``PiecewiseConstantDecay([100, 200], [1.0, 0.5, 0.1])``
    """

    _config_keys = ("boundaries", "values", "name")

    def __init__(self, boundaries: Sequence[Any], values: Sequence[Any], name: str = "PiecewiseConstant"):
        boundaries, values = list(boundaries), list(values)
        if len(boundaries) != len(values) - 1 or not boundaries:
            raise ValueError(f"{type(self).__name__}: expected one more value than boundaries (and at least one "
                             f"boundary), received boundaries={boundaries} ({len(boundaries)}) and values={values} "
                             f"({len(values)}).")
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step: Any) -> Tensor:
        x = _step_tensor(step)
        exact = all(isinstance(b, int) for b in self.boundaries) and ops.dtype(x).startswith(("int", "uint"))
        bounds = list(self.boundaries) if exact else [float(b) for b in self.boundaries]
        if not exact:
            x = ops.cast(x, "float32")

        def mask(condition: Tensor) -> Tensor:
            return ops.cast(condition, "float32")

        result = ops.multiply(mask(ops.less_equal(x, bounds[0])), float(self.values[0]))
        result = ops.add(result, ops.multiply(mask(ops.greater(x, bounds[-1])), float(self.values[-1])))
        for low, high, value in zip(bounds[:-1], bounds[1:], self.values[1:-1]):
            inside = ops.logical_and(ops.greater(x, low), ops.less_equal(x, high))
            result = ops.add(result, ops.multiply(mask(inside), float(value)))
        return result



class PolynomialDecay(LearningRateSchedule):
    """``(initial - end) * (1 - step / decay_steps) ** power + end``, the step
    held at ``decay_steps`` (or, with ``cycle``, ``decay_steps`` stretched to
    the next multiple above the step).

    Example: ``PolynomialDecay(0.1, decay_steps=1000, end_learning_rate=0.01, power=0.5)``
    """

    _config_keys = ("initial_learning_rate", "decay_steps", "end_learning_rate", "power", "cycle", "name")

    def __init__(self, initial_learning_rate: float, decay_steps: int, end_learning_rate: float = 0.0001,
                 power: float = 1.0, cycle: bool = False, name: str = "PolynomialDecay"):
        _positive(type(self).__name__, "decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def __call__(self, step: Any) -> Tensor:
        x = _float_step(step)
        decay_steps: Any = float(self.decay_steps)
        if self.cycle:
            multiplier = ops.where(ops.equal(x, 0.0), ops.ones_like(x), ops.ceil(ops.divide(x, decay_steps)))
            decay_steps = ops.multiply(multiplier, decay_steps)
        else:
            x = ops.minimum(x, decay_steps)
        # 1 - step / decay_steps, written so that it is exactly 0 at the end even
        # where a compiler turns the division into a multiply by the reciprocal.
        remaining = ops.divide(ops.subtract(decay_steps, x), decay_steps)
        span = float(self.initial_learning_rate) - float(self.end_learning_rate)
        return ops.add(ops.multiply(span, ops.power(remaining, float(self.power))),
                       float(self.end_learning_rate))



class InverseTimeDecay(_StaircaseDecay):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)``; with
    ``staircase`` the ratio is floored.

    Example: ``InverseTimeDecay(0.1, decay_steps=1.0, decay_rate=0.5)``
    """

    def __init__(self, initial_learning_rate: float, decay_steps: float, decay_rate: float,
                 staircase: bool = False, name: str = "InverseTimeDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step: Any) -> Tensor:
        decay = ops.multiply(float(self.decay_rate), self._progress(step))
        return ops.divide(float(self.initial_learning_rate), ops.add(1.0, decay))


class CosineDecay(LearningRateSchedule):
    """Cosine decay from ``initial_learning_rate`` (or, after a linear warmup
    of ``warmup_steps`` steps to ``warmup_target``, from ``warmup_target``) to
    ``alpha`` times that rate over ``decay_steps`` steps.

    Example: ``CosineDecay(0.0, decay_steps=1000, warmup_target=0.1, warmup_steps=100)``
    """

    _config_keys = ("initial_learning_rate", "decay_steps", "alpha", "name", "warmup_target", "warmup_steps")

    def __init__(self, initial_learning_rate: float, decay_steps: int, alpha: float = 0.0,
                 name: str = "CosineDecay", warmup_target: float | None = None, warmup_steps: int = 0):
        _positive(type(self).__name__, "decay_steps", decay_steps)
        if not isinstance(warmup_steps, (int, float)) or warmup_steps < 0:
            raise ValueError(f"{type(self).__name__}: expected `warmup_steps` >= 0, received "
                             f"warmup_steps={warmup_steps!r}.")
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_target = warmup_target
        self.warmup_steps = warmup_steps

    def _decay(self, x: Tensor, start: Any) -> Tensor:
        fraction = ops.divide(x, float(self.decay_steps))
        cosine = ops.multiply(0.5, ops.add(1.0, ops.cos(ops.multiply(math.pi, fraction))))
        alpha = float(self.alpha)
        return ops.multiply(start, ops.add(ops.multiply(1.0 - alpha, cosine), alpha))

    def __call__(self, step: Any) -> Tensor:
        x = _float_step(step)
        initial = float(self.initial_learning_rate)
        if self.warmup_target is None:
            return self._decay(ops.minimum(x, float(self.decay_steps)), initial)
        target, warmup = float(self.warmup_target), float(self.warmup_steps)
        x = ops.minimum(x, float(self.decay_steps) + warmup)
        warming = ops.add(ops.multiply(target - initial, ops.divide(x, max(warmup, 1.0))), initial)
        decaying = self._decay(ops.subtract(x, warmup), target)
        return ops.where(ops.less(x, warmup), warming, decaying)



class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR): periods of
    ``first_decay_steps * t_mul ** i`` steps, each starting at
    ``initial_learning_rate * m_mul ** i``.

    Example: ``CosineDecayRestarts(0.1, first_decay_steps=100, t_mul=2.0, m_mul=0.9)``
    """

    _config_keys = ("initial_learning_rate", "first_decay_steps", "t_mul", "m_mul", "alpha", "name")

    def __init__(self, initial_learning_rate: float, first_decay_steps: int, t_mul: float = 2.0,
                 m_mul: float = 1.0, alpha: float = 0.0, name: str = "SGDRDecay"):
        _positive(type(self).__name__, "first_decay_steps", first_decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self.t_mul = t_mul
        self.m_mul = m_mul
        self.alpha = alpha
        self.name = name

    def __call__(self, step: Any) -> Tensor:
        fraction = ops.divide(_float_step(step), float(self.first_decay_steps))
        t_mul, m_mul, alpha = float(self.t_mul), float(self.m_mul), float(self.alpha)
        if t_mul == 1.0:
            restart = ops.floor(fraction)
            fraction = ops.subtract(fraction, restart)
        else:
            restart = ops.floor(ops.divide(ops.log(ops.subtract(1.0, ops.multiply(fraction, 1.0 - t_mul))),
                                           math.log(t_mul)))
            done = ops.divide(ops.subtract(1.0, ops.power(t_mul, restart)), 1.0 - t_mul)
            fraction = ops.divide(ops.subtract(fraction, done), ops.power(t_mul, restart))
        scale = ops.power(m_mul, restart)
        cosine = ops.multiply(ops.multiply(0.5, scale), ops.add(1.0, ops.cos(ops.multiply(math.pi, fraction))))
        decayed = ops.add(ops.multiply(1.0 - alpha, cosine), alpha)
        return ops.multiply(float(self.initial_learning_rate), decayed)



_BUILTINS: dict[str, type[LearningRateSchedule]] = {
    cls.__name__: cls for cls in (ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay, InverseTimeDecay,
                                  CosineDecay, CosineDecayRestarts)
}


def serialize(learning_rate_schedule: LearningRateSchedule) -> dict[str, Any]:
    """``{"module", "class_name", "config", "registered_name"}`` for a schedule.

    Example: ``serialize(ExponentialDecay(0.1, 10, 0.5))["class_name"]`` -> ``'ExponentialDecay'``
    """
    from polykeras import registry

    if not isinstance(learning_rate_schedule, LearningRateSchedule):
        raise TypeError(f"schedules.serialize: expected a LearningRateSchedule, received {learning_rate_schedule!r}.")
    return registry.serialize(learning_rate_schedule)


def deserialize(config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> LearningRateSchedule:
    """A schedule from :func:`serialize`'s output: built-ins, registered
    classes and ``custom_objects`` only.

    Example: ``deserialize({"class_name": "ExponentialDecay", "config": {...}})``
    """
    from polykeras import registry

    schedule = registry.deserialize(config, custom_objects, _BUILTINS, kind="learning rate schedule")
    if not isinstance(schedule, LearningRateSchedule):
        raise TypeError(f"schedules.deserialize: expected a LearningRateSchedule config, received {config!r}.")
    return schedule
