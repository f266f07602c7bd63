"""``Operation``: Keras 3's base of a computation that has no weights.

In Keras 3 ``Layer`` subclasses ``Operation``; a program subclasses
``keras.Operation`` to write its own op: ``call`` computes on tensors,
``compute_output_spec`` says what comes out for symbolic tensors, and calling
the instance runs ``call`` on tensors or records a graph node on
``KerasTensor`` inputs (``symbolic_call``).

Here an ``Operation`` is a weightless :class:`~polykeras.layers.Layer` that
takes its name by position and casts nothing: it rides the layers' one
calling path (eager call, and on symbolic inputs the graph node of
``polykeras.symbolic.symbolic_call``), so a functional model over it runs,
trains and moves between engines like any other. Every ``Layer`` counts as an
``Operation`` (``isinstance(Dense(2), Operation)``), as in Keras 3; an
``Operation`` in a functional model is listed in ``model.operations`` but not
in ``model.layers``, as in Keras 3.

Example:
    >>> class Scale(polykeras.Operation):
    ...     def __init__(self, factor, name=None):
    ...         super().__init__(name=name)
    ...         self.factor = factor
    ...     def call(self, x):
    ...         return ops.multiply(x, self.factor)
    ...     def compute_output_spec(self, x):
    ...         return polykeras.KerasTensor(x.shape, x.dtype)
    >>> Scale(2.0)(np.ones((2,), "float32"))          # a tensor: [2., 2.]
    >>> Scale(2.0)(polykeras.Input((3,))).shape       # a graph node: (None, 3)
"""

from __future__ import annotations

from typing import Any

from polykeras.backends.dtypes import floatx
from polykeras.layers.layer import Layer
from polykeras.layers.lifecycle import LayerMeta
from polykeras.symbolic import Spec, SymbolicTensor, map_structure, trace_output_spec

__all__ = ["Operation"]


class _OperationMeta(LayerMeta):
    """``isinstance(layer, Operation)`` holds for every layer, as in Keras 3
    where ``Layer`` subclasses ``Operation``; subclasses of ``Operation``
    check as usual."""

    def __instancecheck__(cls, instance: Any) -> bool:
        if cls is Operation:
            return isinstance(instance, Layer)
        return super().__instancecheck__(instance)

    def __subclasscheck__(cls, subclass: type) -> bool:
        if cls is Operation:
            return isinstance(subclass, type) and issubclass(subclass, Layer)
        return super().__subclasscheck__(subclass)


class Operation(Layer, metaclass=_OperationMeta):
    """A computation without weights, written as Keras 3's ``Operation``:
    override ``call`` (and, for symbolic inputs, ``compute_output_spec``;
    by default an abstract evaluation of ``call`` answers).

    Args:
        name: the operation's name (default: its class name in snake_case,
            made unique).
        **kwargs: ``Layer``'s keyword arguments (``dtype``, ``trainable``, ...).

    Example:
        >>> class Add(polykeras.Operation):
        ...     def call(self, x, y):
        ...         return ops.add(x, y)
        >>> x = polykeras.Input((4,))
        >>> model = polykeras.Model(x, Add()(x, x))
    """

    _listed_in_layers = False  # an operation, not a layer: model.operations lists it, model.layers does not

    def __init__(self, name: str | None = None, **kwargs: Any):
        kwargs.setdefault("autocast", False)  # an Operation computes on its inputs as given
        super().__init__(name=name, **kwargs)
        self.built = True  # nothing to build

    def call(self, *args: Any, **kwargs: Any) -> Any:
        """The computation on tensors; subclasses override it."""
        raise NotImplementedError(f"Operation {type(self).__name__} ('{self.name}') does not implement call().")

    def compute_output_spec(self, *args: Any, **kwargs: Any) -> Any:
        """The outputs as ``KerasTensor``\\ s for symbolic ``args``: by default
        an abstract evaluation of :meth:`call` on the active engine (no kernel
        runs). Subclasses override it with their shape rule.

        Example: ``Add().compute_output_spec(KerasTensor((2, 3)), KerasTensor((2, 3))).shape`` -> ``(2, 3)``
        """
        specs = trace_output_spec(lambda structure: self.call(*structure[0], **structure[1]), (args, kwargs))
        return map_structure(lambda s: SymbolicTensor(s.shape, s.dtype) if isinstance(s, Spec) else s, specs)

    def get_config(self) -> dict[str, Any]:
        """The name and the constructor's arguments, as Keras 3's
        ``Operation.get_config``; the layer settings an ``Operation`` has
        beside them (``trainable``, ``dtype``) only where not the defaults.

        Example: ``Scale(2.0).get_config()`` -> ``{'name': 'scale', 'factor': 2.0}``
        """
        config = super().get_config()
        if config.get("trainable") is True:
            del config["trainable"]
        if config.get("dtype") == floatx():
            del config["dtype"]
        return config

    def symbolic_call(self, *args: Any, **kwargs: Any) -> Any:
        """Record this operation as a graph node on symbolic inputs and
        return its symbolic outputs (what calling it on ``KerasTensor``\\ s does).

        Example: ``y = op.symbolic_call(polykeras.Input((3,)))``
        """
        return self._symbolic_call(*args, **kwargs)
