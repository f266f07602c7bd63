"""Python operators on symbolic tensors, each mapped onto its public op, and
the registration that makes every op record a graph node when given one.

A class that derives from :class:`SymbolicOperators` is registered with the
one op dispatch (``polykeras.ops._dispatch.register_symbolic_type``): an op
given one of its instances, directly or inside a list, tuple or dict
argument, records an :class:`~polykeras.layers.op_layer.OpLayer` node instead
of computing. The operators below are that same dispatch, so ``x + 1`` and
``ops.add(x, 1)`` record the same node.

As in Keras 3, ``==`` keeps Python's identity meaning (symbolic tensors stay
hashable and usable in sets and dicts): compare elementwise with
``ops.equal``. ``!=`` is ``ops.not_equal``, as Keras has it.

Example:
    >>> x = polykeras.Input((4,))
    >>> y = (-x[:, :2] + 1) * 2       # four graph nodes: get_item, negative, add, multiply
    >>> y.shape
    (None, 2)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from polykeras import ops
from polykeras.ops._dispatch import register_symbolic_type

__all__ = ["SymbolicOperators"]


def _record(op: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
    # The graph floor: loaded on the first symbolic op.
    from polykeras.layers.op_layer import record_op

    return record_op(op, args, kwargs)


def _binary(name: str) -> tuple[Callable[[Any, Any], Any], Callable[[Any, Any], Any]]:
    def forward(self: Any, other: Any) -> Any:
        return getattr(ops, name)(self, other)

    def reflected(self: Any, other: Any) -> Any:
        return getattr(ops, name)(other, self)

    forward.__doc__ = f"``ops.{name}(self, other)``"
    reflected.__doc__ = f"``ops.{name}(other, self)``"
    return forward, reflected


def _unary(name: str) -> Callable[[Any], Any]:
    def method(self: Any) -> Any:
        return getattr(ops, name)(self)

    method.__doc__ = f"``ops.{name}(self)``"
    return method


class SymbolicOperators:
    """Tensor operators for a symbolic tensor class (needs ``shape`` and
    ``dtype``); subclasses are registered with the op dispatch.

    Example:
        >>> class MySymbolic(SymbolicOperators): ...   # ops given one record nodes
    """

    #: NumPy defers to the reflected operator (``array + x`` calls ``x.__radd__``).
    __array_ufunc__ = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        register_symbolic_type(cls, _record)

    __add__, __radd__ = _binary("add")
    __sub__, __rsub__ = _binary("subtract")
    __mul__, __rmul__ = _binary("multiply")
    __truediv__, __rtruediv__ = _binary("true_divide")  # Keras 3 records x / y as TrueDivide
    __floordiv__, __rfloordiv__ = _binary("floor_divide")
    __mod__, __rmod__ = _binary("mod")
    __pow__, __rpow__ = _binary("power")
    __matmul__, __rmatmul__ = _binary("matmul")
    __and__, __rand__ = _binary("logical_and")
    __or__, __ror__ = _binary("logical_or")
    __xor__, __rxor__ = _binary("logical_xor")
    __lt__ = _binary("less")[0]
    __le__ = _binary("less_equal")[0]
    __gt__ = _binary("greater")[0]
    __ge__ = _binary("greater_equal")[0]
    __ne__ = _binary("not_equal")[0]
    __hash__ = object.__hash__  # ``__eq__`` is identity, as Keras 3's KerasTensor
    __neg__ = _unary("negative")
    __abs__ = _unary("abs")
    __invert__ = _unary("logical_not")

    def __pos__(self) -> Any:
        """``+x`` is ``x``."""
        return self

    def __round__(self, ndigits: int | None = None) -> Any:
        """``ops.round(self)``; rounding to digits is not an op."""
        if ndigits is not None:
            raise TypeError(f"round: expected round(x) without ndigits on a symbolic tensor, "
                            f"received ndigits={ndigits!r}.")
        return ops.round(self)

    def __getitem__(self, key: Any) -> Any:
        """``ops.get_item(self, key)``: ints, slices, None, ``...`` and one integer tensor."""
        return ops.get_item(self, key)

    def __iter__(self) -> Any:
        raise TypeError(f"A symbolic tensor ({getattr(self, 'name', '?')}) cannot be iterated: its values are not "
                        "known while the graph is built. Index it (x[0]) or use ops.split.")

    def astype(self, dtype: Any) -> Any:
        """``ops.cast(self, dtype)``. Example: ``x.astype("int32")``"""
        return ops.cast(self, dtype)
