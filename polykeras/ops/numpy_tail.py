"""More of ``keras.ops.numpy``: ``i0`` (the modified Bessel function of
order 0), ``nextafter``, the bitwise ``view`` and ``vectorize``. Each
dispatches to the engine (``backends/long_tail.py`` and the engines'
kernels) and has a shape rule for symbolic tensors.

Example:
    >>> from polykeras import ops
    >>> ops.to_numpy(ops.nextafter(ops.convert_to_tensor([1.0]), ops.convert_to_tensor([2.0])))
    array([1.0000001], dtype=float32)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from polykeras.backends import active
from polykeras.backends.dtypes import standardize_dtype
from polykeras.ops._dispatch import OpError, OpSpec, check, describe, op

Tensor = Any

__all__ = ["i0", "nextafter", "vectorize", "view"]


def _dtype_name(x: Any) -> str:
    dtype = getattr(x, "dtype", None)
    if isinstance(dtype, str):
        return dtype
    from polykeras.ops.core import dtype as dtype_of

    return dtype_of(x)


def _float_name(name: str) -> str:
    return name if name.startswith(("float", "bfloat")) else ("float64" if name == "int64" else "float32")


def _unary_float_spec(x: Any) -> OpSpec:
    return OpSpec(tuple(x.shape), _float_name(_dtype_name(x)))


@op("a real tensor", spec=_unary_float_spec)
def i0(x: Tensor) -> Tensor:
    """The modified Bessel function of the first kind, order 0, elementwise
    (integers give float32). Example: ``ops.i0(x)``"""


def _nextafter_spec(x1: Any, x2: Any) -> OpSpec:
    shapes = [tuple(getattr(v, "shape", ())) for v in (x1, x2)]
    rank = max(len(s) for s in shapes)
    padded = [(1,) * (rank - len(s)) + s for s in shapes]
    out = []
    for a, b in zip(*padded):
        check(a is None or b is None or a == b or 1 in (a, b), "nextafter", "two tensors whose shapes broadcast",
              f"{describe(x1)}, {describe(x2)}")
        out.append(b if a == 1 else a if b == 1 else (a if a is not None else b))
    names = [_float_name(_dtype_name(v)) for v in (x1, x2) if hasattr(v, "shape")]
    return OpSpec(tuple(out), "float64" if "float64" in names else names[0])


@op("two real tensors whose shapes broadcast together", broadcast=True, spec=_nextafter_spec)
def nextafter(x1: Tensor, x2: Tensor) -> Tensor:
    """The next representable float after ``x1`` in the direction of ``x2``
    (``x1`` itself where they are equal). Example: ``ops.nextafter(x, ops.full_like(x, np.inf))``"""


def _view_shape(shape: tuple[int | None, ...], source: str, target: str) -> tuple[int | None, ...]:
    have, want = np.dtype(_numpy_name(source)).itemsize, np.dtype(_numpy_name(target)).itemsize
    if have == want:
        return shape
    if not shape:
        raise OpError(f"view: expected a tensor of rank 1 or more to view {source} as {target}, received a scalar.")
    last = shape[-1]
    if last is None:
        return shape
    if (last * have) % want:
        raise OpError(f"view: expected a last axis of {source} whose size in bytes divides into {target} items, "
                      f"received shape {shape}.")
    return (*shape[:-1], last * have // want)


def _numpy_name(name: str) -> str:
    return "float16" if name == "bfloat16" else name  # only the item size counts here


def _view_spec(x: Any, dtype: Any = None) -> OpSpec:
    source = _dtype_name(x)
    target = source if dtype is None else standardize_dtype(dtype)
    return OpSpec(_view_shape(tuple(x.shape), source, target), target)


@op("a tensor and a dtype whose item size divides its last axis in bytes", body=True, spec=_view_spec)
def view(x: Tensor, dtype: Any = None) -> Tensor:
    """The same bits read as ``dtype`` (NumPy's ``ndarray.view``): the last
    axis grows or shrinks by the ratio of the item sizes.

    Example: ``ops.view(ops.convert_to_tensor([1.0]), "int32")``  # [1065353216]
    """
    e = active()
    x = e.convert_to_tensor(x)
    if dtype is None:
        return x
    target = standardize_dtype(dtype)
    _view_shape(tuple(e.shape(x)), e.dtype(x), target)  # refuses a size mismatch by name
    return e.view(x, target)


def vectorize(pyfunc: Callable[..., Any], *, excluded: set[int] | None = None,
              signature: str | None = None) -> Callable[..., Any]:
    """``pyfunc`` made to map over the leading (batch) axes of its arguments,
    as ``numpy.vectorize``: by default it gets scalars; with a generalized
    ufunc ``signature`` (``"(m,n),(n)->(m)"``) it gets the core blocks.
    Arguments at the positions in ``excluded`` pass unchanged. The engine
    active when the vectorized function is called maps it (``jnp.vectorize``
    on JAX, one call per index stacked elsewhere).

    Example:
        >>> add = ops.vectorize(lambda a, b: ops.add(a, b))
        >>> ops.to_numpy(add(ops.convert_to_tensor([1, 2, 3]), 2))
        array([3, 4, 5], dtype=int32)
    """
    check(callable(pyfunc), "vectorize", "a callable pyfunc", describe(pyfunc))
    check(excluded is None or (isinstance(excluded, (set, frozenset, list, tuple))
                               and all(isinstance(i, int) for i in excluded)), "vectorize",
          "excluded None or a set of argument positions", f"excluded={excluded!r}")
    check(signature is None or isinstance(signature, str), "vectorize", "signature None or a string",
          f"signature={signature!r}")
    if signature is not None:
        from polykeras.backends.long_tail import parse_signature

        try:
            parse_signature(signature)
        except ValueError as err:
            raise OpError(str(err)) from None

    def vectorized(*args: Any) -> Any:
        return active().vectorize(pyfunc, excluded=set(excluded or ()), signature=signature)(*args)

    vectorized.__name__ = getattr(pyfunc, "__name__", "vectorized")
    vectorized.__doc__ = getattr(pyfunc, "__doc__", None)
    return vectorized
