"""Tensors, autodiff and compilation: the engine-facing basics."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from polykeras.backends import active
from polykeras.ops._dispatch import op

Tensor = Any


@op("an array-like (tensor, NumPy array, scalar or nested list) and a known dtype")
def convert_to_tensor(x: Any, dtype: str | None = None) -> Tensor:
    """An engine tensor from array-like data.

    Example: ``ops.convert_to_tensor([1.0, 2.0])``
    """


def _no_value(x: Any) -> Any:
    raise TypeError(f"to_numpy: expected a tensor with values, received the symbolic tensor {x!r}; "
                    "a graph's values exist only when a model runs on data.")


@op("a tensor of the active engine", symbolic=_no_value)
def to_numpy(x: Tensor) -> np.ndarray:
    """A NumPy copy of ``x``. Example: ``ops.to_numpy(ops.ones((2,)))``"""


@op("an array-like", symbolic=lambda x: False)
def is_tensor(x: Any) -> bool:
    """True for the active engine's tensors. Example: ``ops.is_tensor(ops.ones(()))``"""


@op("a tensor", symbolic=lambda x: x.shape)
def shape(x: Tensor) -> tuple[int, ...]:
    """Static shape as a tuple. Example: ``ops.shape(ops.ones((2, 3)))`` -> ``(2, 3)``"""


@op("a tensor", symbolic=lambda x: x.dtype)
def dtype(x: Tensor) -> str:
    """dtype string. Example: ``ops.dtype(ops.ones(()))`` -> ``'float32'``"""


@op("a tensor and a known dtype")
def cast(x: Tensor, dtype: str) -> Tensor:
    """``x`` as ``dtype``. Example: ``ops.cast(ops.ones((2,)), "int32")``"""


@op("a shape tuple of non-negative ints and a known dtype")
def zeros(shape: Sequence[int], dtype: str = "float32") -> Tensor:
    """Zeros. Example: ``ops.zeros((2, 3))``"""


@op("a shape tuple of non-negative ints and a known dtype")
def ones(shape: Sequence[int], dtype: str = "float32") -> Tensor:
    """Ones. Example: ``ops.ones((2, 3))``"""


@op("a shape tuple, a scalar fill value and a known dtype")
def full(shape: Sequence[int], fill_value: Any, dtype: str = "float32") -> Tensor:
    """Constant tensor. Example: ``ops.full((2,), 7.0)``"""


@op("a tensor")
def zeros_like(x: Tensor, dtype: str | None = None) -> Tensor:
    """Zeros shaped like ``x``. Example: ``ops.zeros_like(x)``"""


@op("a tensor")
def ones_like(x: Tensor, dtype: str | None = None) -> Tensor:
    """Ones shaped like ``x``. Example: ``ops.ones_like(x)``"""


@op("numeric start/stop/step")
def arange(start: Any, stop: Any = None, step: Any = 1, dtype: str | None = None) -> Tensor:
    """NumPy's ``arange``. Example: ``ops.arange(5)``"""


@op("a positive matrix size")
def eye(n: int, m: int | None = None, dtype: str = "float32") -> Tensor:
    """Identity matrix. Example: ``ops.eye(3)``"""


@op("a tensor")
def stop_gradient(x: Tensor) -> Tensor:
    """``x``, with no gradient flowing back through it. Example: ``ops.stop_gradient(x)``"""


def value_and_grad(fn: Callable[..., Any], has_aux: bool = False) -> Callable[..., Any]:
    """``fn``'s value and its gradient w.r.t. its first argument, a list of
    tensors, on the active engine.

    Example:
        >>> f = ops.value_and_grad(lambda ws: ops.sum(ws[0] ** 2))
        >>> value, (g,) = f([ops.ones((2,))])   # g == [2., 2.]
    """
    return active().value_and_grad(fn, has_aux=has_aux)


def jit(fn: Callable[..., Any], donate_argnums: tuple[int, ...] = ()) -> Callable[..., Any]:
    """The active engine's compiled form of a pure function.

    Example: ``fast = ops.jit(lambda x: ops.sum(x * x))``
    """
    return active().jit(fn, donate_argnums=donate_argnums)
