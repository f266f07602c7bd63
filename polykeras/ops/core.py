"""Tensors, autodiff and compilation: the engine-facing basics."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from polykeras.backends import active
from polykeras.backends.dtypes import floatx
from polykeras.ops._dispatch import op

Tensor = Any


@op("an array-like (tensor, NumPy array, scalar or nested list) and a known dtype", body=True)
def convert_to_tensor(x: Any, dtype: str | None = None, sparse: bool | None = None,
                      ragged: bool | None = None) -> Tensor:
    """An engine tensor from array-like data. ``sparse=True`` and
    ``ragged=True`` (Keras 3's sparse and ragged results) are refused by name:
    polykeras's tensors are dense; ``False``/``None`` give a dense tensor.

    Example: ``ops.convert_to_tensor([1.0, 2.0])``
    """
    _refuse_sparse("convert_to_tensor", sparse=sparse, ragged=ragged)
    return active().convert_to_tensor(x, dtype)


def _refuse_sparse(op_name: str, **flags: Any) -> None:
    """Refuse a Keras 3 request for a sparse or ragged tensor (``sparse=True``,
    ``ragged=True``) by name: every polykeras tensor is dense, on every engine.

    Example: ``_refuse_sparse("one_hot", sparse=sparse)``
    """
    for flag, value in flags.items():
        if value:
            raise NotImplementedError(
                f"{op_name}: {flag}=True asks for a {flag} tensor; polykeras's tensors are dense on every engine "
                f"(pass {flag}=False).")


def _dims(shape: Sequence[int] | int) -> tuple[int, ...]:
    """A shape as the engines take it: a tuple (a bare int is one axis)."""
    return (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(shape)


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


@op("a shape tuple of non-negative ints and a known dtype", body=True)
def zeros(shape: Sequence[int], dtype: str | None = None) -> Tensor:
    """Zeros (of ``floatx()`` unless ``dtype`` is given). Example: ``ops.zeros((2, 3))``"""
    return active().zeros(_dims(shape), dtype or floatx())


@op("a shape tuple of non-negative ints and a known dtype", body=True)
def ones(shape: Sequence[int], dtype: str | None = None) -> Tensor:
    """Ones (of ``floatx()`` unless ``dtype`` is given). Example: ``ops.ones((2, 3))``"""
    return active().ones(_dims(shape), dtype or floatx())


@op("a shape tuple, a scalar fill value and a known dtype", body=True)
def full(shape: Sequence[int], fill_value: Any, dtype: str | None = None) -> Tensor:
    """Constant tensor (of ``floatx()`` unless ``dtype`` is given, whatever
    the fill value, as Keras 3). Example: ``ops.full((2,), 7.0)``"""
    return active().full(_dims(shape), fill_value, dtype or floatx())


@op("a tensor")
def zeros_like(x: Tensor, dtype: str | None = None) -> Tensor:
    """Zeros shaped like ``x``. Example: ``ops.zeros_like(x)``"""


@op("a tensor")
def ones_like(x: Tensor, dtype: str | None = None) -> Tensor:
    """Ones shaped like ``x``. Example: ``ops.ones_like(x)``"""


@op("numeric start/stop/step", body=True)
def arange(start: Any, stop: Any = None, step: Any = None, dtype: str | None = None) -> Tensor:
    """NumPy's ``arange`` (``step`` 1 when None; int32 for int arguments,
    ``floatx()`` otherwise). Example: ``ops.arange(5)``"""
    return active().arange(start, stop, 1 if step is None else step, dtype)


@op("non-negative matrix sizes and an integer diagonal offset", body=True)
def eye(N: int, M: int | None = None, k: int = 0, dtype: str | None = None) -> Tensor:  # noqa: N803 - Keras's names
    """``N x M`` matrix with ones on the ``k``-th diagonal (above the main
    one for ``k > 0``), of ``floatx()`` unless ``dtype`` is given.

    Example: ``ops.eye(3, 4, k=1)``"""
    engine, dtype = active(), dtype or floatx()
    if not k:
        return engine.eye(N, M, dtype=dtype)
    columns = N if M is None else M
    rows = engine.expand_dims(engine.arange(0, N, 1, dtype="int32"), -1)
    return engine.cast(engine.equal(engine.add(rows, int(k)), engine.arange(0, columns, 1, dtype="int32")), dtype)


@op("a tensor", body=True)
def stop_gradient(variable: Tensor) -> Tensor:
    """``variable`` (a tensor or Variable), with no gradient flowing back
    through it. Example: ``ops.stop_gradient(x)``"""
    return active().stop_gradient(variable)


def value_and_grad(fn: Callable[..., Any], has_aux: bool = False) -> Callable[..., Any]:
    """``fn``'s value and its gradient w.r.t. its first argument, a list of
    tensors, on the active engine.

    Example:
        >>> f = ops.value_and_grad(lambda ws: ops.sum(ws[0] ** 2))
        >>> value, (g,) = f([ops.ones((2,))])   # g == [2., 2.]
    """
    return active().value_and_grad(fn, has_aux=has_aux)


def jit(fn: Callable[..., Any], donate_argnums: tuple[int, ...] = (), jit_compile: Any = "auto") -> Callable[..., Any]:
    """The active engine's compiled form of a pure function; ``jit_compile``
    picks the compiler where the engine has a choice (``True``: XLA on
    TensorFlow, ``torch.compile`` on torch; ``False``: the plain form).

    Example: ``fast = ops.jit(lambda x: ops.sum(x * x))``
    """
    return active().jit(fn, donate_argnums=donate_argnums, jit_compile=jit_compile)
