"""The ``Metric`` base class: state in non-trainable variables, and the
stateless forms a compiled training step uses.

A metric keeps its running state in non-trainable :class:`~polykeras.variables.Variable`
objects made by :meth:`Metric.add_variable` and listed by ``metric.variables``.
``update_state`` only reads ``variable.value`` and calls ``assign``, so inside a
:class:`~polykeras.variables.StatelessScope` it becomes a pure function of the
state: :meth:`Metric.stateless_update_state` takes the state values and returns
the new ones, which is how the trainer carries metrics through ``jit``.

Metrics whose state shape depends on the data (``F1Score``, ``AUC(multi_label=True)``
without ``num_labels``) make their variables in :meth:`Metric.build`, called by
the first ``update_state``; a trainer that compiles its step calls
``metric.build(y_true_shape, y_pred_shape)`` first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from polykeras import ops
from polykeras.losses.loss import snake_case
from polykeras.variables import StatelessScope, Variable, name_scope, value_of

Tensor = Any


class Metric:
    """Base class of stateful metrics: subclasses make their state with
    :meth:`add_variable` and implement ``update_state`` and ``result``.

    Args:
        name: Name of the metric (defaults to the snake-case class name).
        dtype: dtype of the state and the result, ``"float32"`` by default.

    Example:
        >>> class Count(Metric):
        ...     def __init__(self, name="count", dtype=None):
        ...         super().__init__(name=name, dtype=dtype)
        ...         self.total = self.add_variable((), "zeros", name="total")
        ...     def update_state(self, values, sample_weight=None):
        ...         self.total.assign_add(float(ops.shape(values)[0]))
        ...     def result(self):
        ...         return self.total.value
        >>> m = Count(); m.update_state(ops.ones((3,))); m.result()   # 3.0
    """

    #: Setting or deleting a layer's attribute that holds a metric refreshes
    #: the layer's cached :attr:`~polykeras.layers.Layer.metrics`.
    _held_by_layers = True

    def __init__(self, dtype: str | None = None, name: str | None = None):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"{type(self).__name__}: expected a string name, received {name!r}.")
        self.name = name or snake_case(type(self).__name__)
        self._dtype = dtype or "float32"
        self._variables: list[Variable] = []
        self.built = True

    @property
    def dtype(self) -> str:
        """dtype of the state and the result."""
        return self._dtype

    @property
    def variables(self) -> list[Variable]:
        """The state variables, in creation order."""
        return list(self._variables)

    def add_variable(
        self, shape: Sequence[int], initializer: Any = "zeros", dtype: str | None = None,
        aggregation: str = "sum", name: str | None = None,
    ) -> Variable:
        """A non-trainable state variable, listed in :attr:`variables`.

        Example: ``self.total = self.add_variable((), "zeros", name="total")``
        """
        if not hasattr(self, "_variables"):
            raise RuntimeError(f"{type(self).__name__}: call super().__init__() before add_variable().")
        dtype = dtype or self._dtype
        shape = tuple(int(d) for d in shape)
        if isinstance(initializer, str) and initializer in ("zeros", "ones"):
            initializer = (np.zeros if initializer == "zeros" else np.ones)(shape, dtype=dtype)
        with name_scope(self.name.replace("/", ">")):
            variable = Variable(
                initializer, shape=shape, dtype=dtype, trainable=False, name=name or "variable",
                aggregation=aggregation, synchronization="on_read",
            )
        self._variables.append(variable)
        return variable

    def add_weight(self, shape: Sequence[int] = (), initializer: Any = None, dtype: str | None = None,
                   name: str | None = None) -> Variable:
        """:meth:`add_variable` in Keras 3's ``add_weight`` order: a scalar of
        zeros by default. Example: ``self.total = self.add_weight(name="total")``"""
        return self.add_variable(shape, "zeros" if initializer is None else initializer, dtype=dtype, name=name)

    def build(self, y_true_shape: Sequence[int | None], y_pred_shape: Sequence[int | None]) -> None:
        """Make state that depends on the data's shapes (no-op by default)."""
        self.built = True

    def update_state(self, *args: Any, **kwargs: Any) -> None:
        """Fold a batch into the state; subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__}: subclasses of Metric must implement update_state().")

    def result(self) -> Tensor:
        """The metric value from the current state; subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__}: subclasses of Metric must implement result().")

    def reset_state(self) -> None:
        """Set every state variable back to zeros."""
        for variable in self._variables:
            variable.assign(np.zeros(variable.shape, dtype=variable.dtype))

    def __call__(self, *args: Any, **kwargs: Any) -> Tensor:
        """``update_state(...)`` then ``result()``."""
        self.update_state(*args, **kwargs)
        return self.result()

    # ------------------------------------------------------- stateless forms
    def _mapping(self, metric_variables: Sequence[Any], who: str) -> list[tuple[Variable, Any]]:
        if not self.built:
            raise RuntimeError(
                f"{type(self).__name__}.{who}: the metric has no state yet; call "
                f"metric.build(y_true_shape, y_pred_shape) or update_state() once first."
            )
        if len(metric_variables) != len(self._variables):
            raise ValueError(
                f"{type(self).__name__}.{who}: expected {len(self._variables)} values, one per variable in "
                f"metric.variables, received {len(metric_variables)}."
            )
        return list(zip(self._variables, metric_variables))

    def stateless_update_state(self, metric_variables: Sequence[Any], *args: Any, **kwargs: Any) -> list[Any]:
        """The new state values after ``update_state(*args)``, computed from
        ``metric_variables`` without touching the variables.

        Example: ``state = metric.stateless_update_state(state, y_true, y_pred)``
        """
        with StatelessScope(self._mapping(metric_variables, "stateless_update_state")) as scope:
            self.update_state(*args, **kwargs)
        return [_current(scope, v, old) for v, old in zip(self._variables, metric_variables)]

    def stateless_result(self, metric_variables: Sequence[Any]) -> Tensor:
        """``result()`` computed from ``metric_variables``.

        Example: ``value = metric.stateless_result(state)``
        """
        with StatelessScope(self._mapping(metric_variables, "stateless_result")):
            return self.result()

    def stateless_reset_state(self) -> list[Any]:
        """The state values ``reset_state()`` would set.

        Example: ``state = metric.stateless_reset_state()``
        """
        with StatelessScope() as scope:
            self.reset_state()
        return [_current(scope, v, v.value) for v in self._variables]

    # ---------------------------------------------------------------- config
    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, as JSON-safe data."""
        return {"name": self.name, "dtype": self._dtype}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Metric:
        """A metric from :meth:`get_config`'s output."""
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"


def _current(scope: StatelessScope, variable: Variable, default: Any) -> Any:
    value = scope.get_current_value(variable)
    return default if value is None else value


def to_float(x: Any, dtype: str = "float32") -> Tensor:
    """``x`` as a tensor of ``dtype``.

    Example: ``to_float([1, 0, 1])``
    """
    x = value_of(x)
    if not ops.is_tensor(x):
        x = ops.convert_to_tensor(x)
    return x if ops.dtype(x) == dtype else ops.cast(x, dtype)
