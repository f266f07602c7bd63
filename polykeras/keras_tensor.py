"""``KerasTensor``: Keras 3's name and constructor for a symbolic tensor.

``polykeras.KerasTensor(shape, dtype)`` makes a
:class:`~polykeras.symbolic.SymbolicTensor` (what ``compute_output_spec``
returns), and ``isinstance(x, KerasTensor)`` is true for every symbolic tensor,
including those ``Input`` and layers make.

Example:
    >>> spec = KerasTensor((None, 4), dtype="float32")
    >>> isinstance(polykeras.Input((4,)), KerasTensor)
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polykeras.symbolic import SymbolicTensor

__all__ = ["KerasTensor"]


class _AnySymbolic(type):
    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, SymbolicTensor)

    def __subclasscheck__(cls, subclass: type) -> bool:
        return issubclass(subclass, SymbolicTensor)


class KerasTensor(SymbolicTensor, metaclass=_AnySymbolic):
    """A symbolic tensor with Keras 3's constructor. Dense tensors only:
    ``sparse=True`` or ``ragged=True`` raise ``NotImplementedError``.

    Example:
        >>> KerasTensor((2, 3), "int32").shape
        (2, 3)
    """

    def __init__(self, shape: Sequence[int | None], dtype: Any = "float32", sparse: bool = False,
                 ragged: bool = False, record_history: bool = True, name: str | None = None, **kwargs: Any):
        for argument, value in (("sparse", sparse), ("ragged", ragged)):
            if value:
                raise NotImplementedError(f"KerasTensor: {argument}=True is not supported (dense tensors only).")
        unknown = sorted(set(kwargs) - {"ragged_rank", "row_splits_dtype"})
        if unknown:
            raise TypeError(f"KerasTensor: unexpected arguments {unknown}.")
        super().__init__(shape, dtype, name=name)
