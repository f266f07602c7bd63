"""Shape-only arrays: the NumPy engine's abstract evaluation runs no kernel.

NumPy has no abstract arrays of its own (JAX has tracers, torch fake tensors).
:class:`ShapedArray` is one: a shape and a dtype, no data. NumPy hands every
function and ufunc it meets to the array's ``__array_function__`` /
``__array_ufunc__`` (NEP 18 / NEP 13), and the engine's code, written against
``numpy``, runs unchanged on it while each NumPy call only works out its
result's shape and dtype:

- ufuncs (``np.add``, ``np.exp``, comparisons, the operators): the inputs'
  broadcast shape; the dtype from the same ufunc on 0-d samples, so NumPy's
  promotion rules (weak Python scalars included) decide it;
- reductions (``np.sum``, ``np.max``, ``np.argmax`` ...): the kept axes; the
  dtype from a call on a one-element sample;
- data movement (``reshape``, ``concatenate``, ``take``, ``pad``, indexing
  ...): NumPy's own function on a *probe*, a zero-stride view of an element
  that takes no bytes (``np.dtype([])``), so NumPy's own shape rules and
  errors apply and nothing is copied;
- contractions (``matmul``, ``dot``, ``tensordot``, ``einsum``): their shape
  rules here.

What needs values (``bool(x)``, ``int(x)``, ``np.asarray(x)``, a boolean
mask's size) raises :class:`AbstractValueError`, as a JAX tracer does. A
NumPy function without a rule raises ``NotImplementedError`` naming it.

Example:
    >>> x = ShapedArray((8192, 8192), "float32")
    >>> y = np.tanh(x @ x)[:, :10].sum(axis=0)
    >>> y.shape, y.dtype
    ((10,), dtype('float32'))
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

__all__ = ["AbstractValueError", "ShapedArray", "abstract_like"]

#: A dtype whose elements take no bytes: probes of any shape cost nothing.
_EMPTY = np.dtype([])


class AbstractValueError(TypeError):
    """An abstract array's values were asked for (``bool``, ``int``,
    ``np.asarray``) during a shape-only evaluation."""


def _no_values(what: str) -> AbstractValueError:
    return AbstractValueError(
        f"{what} needs the values of a tensor, but a shape-only evaluation (a symbolic call on the numpy "
        "engine) has shapes and dtypes only. Compute with polykeras.ops on tensors instead of Python "
        "values, or give the layer a compute_output_shape."
    )


class ShapedArray(NDArrayOperatorsMixin):
    """A shape and a dtype standing in for a NumPy array during the numpy
    engine's abstract evaluation (see the module docstring).

    Example:
        >>> ShapedArray((2, 3), "int32").astype("float32").T.shape
        (3, 2)
    """

    __slots__ = ("shape", "dtype")
    __array_priority__ = 1000

    def __init__(self, shape: Sequence[int], dtype: Any):
        self.shape: tuple[int, ...] = tuple(int(d) for d in shape)
        self.dtype: np.dtype = np.dtype(dtype)

    # ------------------------------------------------------ attributes
    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def itemsize(self) -> int:
        return self.dtype.itemsize

    @property
    def T(self) -> ShapedArray:  # noqa: N802 - NumPy's name
        return ShapedArray(self.shape[::-1], self.dtype)

    def __repr__(self) -> str:
        return f"ShapedArray(shape={self.shape}, dtype={self.dtype.name})"

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d array")
        return self.shape[0]

    def __iter__(self) -> Any:
        return (self[i] for i in range(len(self)))

    # ------------------------------------------------ values: none here
    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise _no_values("Converting a tensor to a NumPy array")

    def __bool__(self) -> bool:
        raise _no_values("bool() of a tensor (a Python if/while on it)")

    def __int__(self) -> int:
        raise _no_values("int() of a tensor")

    def __float__(self) -> float:
        raise _no_values("float() of a tensor")

    def __complex__(self) -> complex:
        raise _no_values("complex() of a tensor")

    def __index__(self) -> int:
        raise _no_values("Using a tensor as a Python index")

    def item(self, *args: Any) -> Any:
        raise _no_values("item() of a tensor")

    def tolist(self) -> Any:
        raise _no_values("tolist() of a tensor")

    # ------------------------------------------------------- methods
    def astype(self, dtype: Any, order: str = "K", casting: str = "unsafe", subok: bool = True,
               copy: bool = True) -> ShapedArray:
        return ShapedArray(self.shape, dtype)

    def copy(self, order: str = "C") -> ShapedArray:
        return ShapedArray(self.shape, self.dtype)

    def view(self, dtype: Any = None) -> ShapedArray:
        if dtype is not None and np.dtype(dtype).itemsize != self.dtype.itemsize:
            raise NotImplementedError("shape-only evaluation: view() as a dtype of another item size")
        return ShapedArray(self.shape, self.dtype if dtype is None else dtype)

    def reshape(self, *shape: Any, order: str = "C") -> Any:
        return np.reshape(self, shape[0] if len(shape) == 1 else shape)

    def transpose(self, *axes: Any) -> Any:
        return np.transpose(self, axes[0] if len(axes) == 1 else (axes or None))

    def __getitem__(self, index: Any) -> ShapedArray:
        probe = _probe(self)[_index_probe(index)]
        return ShapedArray(np.shape(probe), self.dtype)

    def __setitem__(self, index: Any, value: Any) -> None:
        target = _probe(self)[_index_probe(index)]
        np.broadcast_shapes(_shape(value), np.shape(target))  # what NumPy would check; no values kept

    def __getattr__(self, name: str) -> Any:
        method = _METHODS.get(name)
        if method is None:
            raise AttributeError(f"'ShapedArray' object has no attribute {name!r}")
        return functools.partial(method, self)

    # ----------------------------------------------- NumPy protocols
    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        return _ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Callable[..., Any], types: Any, args: tuple, kwargs: dict) -> Any:
        rule = _RULES.get(func)
        if rule is None:
            name = getattr(func, "__module__", "numpy").replace("._core", "").replace("numpy.lib.", "numpy.")
            raise NotImplementedError(
                f"{name}.{func.__name__} has no shape rule for the numpy engine's shape-only evaluation "
                "(polykeras.backends.numpy.abstract); give the layer a compute_output_shape.")
        return rule(func, *args, **kwargs)


def abstract_like(value: Any) -> bool:
    """True for a :class:`ShapedArray` (or a list/tuple holding one)."""
    if isinstance(value, ShapedArray):
        return True
    return isinstance(value, (list, tuple)) and any(abstract_like(v) for v in value)


# ------------------------------------------------------------- helpers
def _is_array(x: Any) -> bool:
    return isinstance(x, (ShapedArray, np.ndarray, np.generic))


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(x.shape) if _is_array(x) else np.shape(x)


def _dtype(x: Any) -> np.dtype:
    return x.dtype if _is_array(x) else np.asarray(x).dtype


def _probe(x: Any) -> np.ndarray:
    """A zero-stride, zero-byte array of ``x``'s shape: NumPy's data movement
    on it costs nothing and keeps NumPy's shape rules."""
    return np.broadcast_to(np.empty((), _EMPTY), _shape(x))


def _sample(x: Any, ndim: int | None = None) -> Any:
    """A one-element stand-in of ``x``'s dtype (Python scalars stay as they
    are: NumPy treats them as weak)."""
    if isinstance(x, ShapedArray) or isinstance(x, np.ndarray):
        return np.ones((1,) * (x.ndim if ndim is None else ndim), x.dtype)
    return x


def _index_probe(index: Any) -> Any:
    """An index with abstract integer arrays replaced by zero probes (valid
    indices of the same shape); abstract boolean masks need values."""
    if isinstance(index, tuple):
        return tuple(_index_probe(i) for i in index)
    if isinstance(index, ShapedArray):
        if index.dtype.kind == "b":
            raise _no_values("Indexing with a boolean mask (its size depends on the values)")
        if index.dtype.kind not in "iu":
            raise IndexError(f"arrays used as indices must be of integer (or boolean) type, not {index.dtype}")
        return np.broadcast_to(np.zeros((), np.intp), index.shape)
    return index


def _abstract(results: Any, dtype: Any) -> Any:
    """Probe results (arrays, lists, tuples of them) as ShapedArrays of ``dtype``."""
    if isinstance(results, (list, tuple)):
        return type(results)(_abstract(r, dtype) for r in results)
    return ShapedArray(np.shape(results), dtype)


@functools.cache
def _signature(func: Callable[..., Any]) -> inspect.Signature:
    return inspect.signature(func)


def _bound(func: Callable[..., Any], args: tuple, kwargs: dict) -> inspect.BoundArguments:
    return _signature(func).bind(*args, **kwargs)


def _call(func: Callable[..., Any], bound: inspect.BoundArguments, changes: dict[str, Any]) -> Any:
    """``func`` called with ``bound``'s arguments, some replaced."""
    again = inspect.BoundArguments(bound.signature, {**bound.arguments, **changes})
    return func(*again.args, **again.kwargs)


def _axes(axis: Any, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    out = []
    for a in axes:
        a = int(a)
        if not -ndim <= a < max(ndim, 1):
            raise np.exceptions.AxisError(a, ndim)
        out.append(a % ndim if ndim else 0)
    return tuple(out)


# --------------------------------------------------------------- ufuncs
def _matmul_shape(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    if not a or not b:
        raise ValueError("matmul: Input operand does not have enough dimensions")
    a1, b1 = len(a) == 1, len(b) == 1
    a2, b2 = (1, *a) if a1 else a, (*b, 1) if b1 else b
    if a2[-1] != b2[-2]:
        raise ValueError(f"matmul: Input operand 1 has a mismatch in its core dimension 0, with gufunc signature "
                         f"(n?,k),(k,m?)->(n?,m?) (size {b2[-2]} is different from {a2[-1]})")
    out = (*np.broadcast_shapes(a2[:-2], b2[:-2]), a2[-2], b2[-1])
    if b1:
        out = out[:-1]
    if a1:
        out = out[:-2] + out[-1:] if not b1 else out[:-1]
    return out


def _ufunc(ufunc: np.ufunc, method: str, inputs: tuple, kwargs: dict) -> Any:
    out = kwargs.pop("out", None)
    with np.errstate(all="ignore"):
        if method == "__call__":
            if ufunc.signature is not None and ufunc is not np.matmul:
                raise NotImplementedError(f"numpy.{ufunc.__name__} has no shape rule for the numpy engine's "
                                          "shape-only evaluation")
            if ufunc is np.matmul:
                shape = _matmul_shape(_shape(inputs[0]), _shape(inputs[1]))
                samples = [np.ones((1, 1), _dtype(x)) for x in inputs]
            else:
                where = kwargs.get("where", True)
                shape = np.broadcast_shapes(*(_shape(x) for x in inputs), _shape(where))
                samples = [_sample(x, 0) for x in inputs]
                if "where" in kwargs:
                    kwargs["where"] = _sample(where, 0)
            found = ufunc(*samples, **kwargs, out=None) if "where" in kwargs else ufunc(*samples, **kwargs)
            results = tuple(ShapedArray(shape, r.dtype) for r in (found if ufunc.nout > 1 else (found,)))
        elif method in ("reduce", "accumulate"):
            x, axis = inputs[0], kwargs.get("axis", inputs[1] if len(inputs) > 1 else 0)
            sample = getattr(ufunc, method)(_sample(x), **{**kwargs, "axis": axis})
            if method == "accumulate":
                results = (ShapedArray(_shape(x), sample.dtype),)
            else:
                keep = kwargs.get("keepdims", False)
                axes = _axes(axis, len(_shape(x)))
                shape = tuple(1 if i in axes else d for i, d in enumerate(_shape(x)) if keep or i not in axes)
                results = (ShapedArray(shape, np.asarray(sample).dtype),)
        elif method == "outer":
            sample = ufunc.outer(_sample(inputs[0], 0), _sample(inputs[1], 0), **kwargs)
            results = (ShapedArray(_shape(inputs[0]) + _shape(inputs[1]), np.asarray(sample).dtype),)
        elif method == "at":
            return None  # an in-place update: no values to update
        else:
            raise NotImplementedError(f"numpy.{ufunc.__name__}.{method} has no shape rule for the numpy engine's "
                                      "shape-only evaluation")
    if out is not None:
        return out[0] if len(out) == 1 else out
    return results[0] if len(results) == 1 else results


# ------------------------------------------------------ function rules
_RULES: dict[Callable[..., Any], Callable[..., Any]] = {}


def _rule(*funcs: Callable[..., Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(rule: Callable[..., Any]) -> Callable[..., Any]:
        for func in funcs:
            _RULES[func] = rule
        return rule

    return register


# ------------------------------------------------ ndarray method table
def _method(func: Callable[..., Any]) -> Callable[..., Any]:
    def call(self: ShapedArray, *args: Any, **kwargs: Any) -> Any:
        return func(self, *args, **kwargs)

    return call


_METHODS: dict[str, Callable[..., Any]] = {
    name: _method(getattr(np, name)) for name in (
        "sum", "mean", "max", "min", "prod", "any", "all", "argmax", "argmin", "std", "var", "cumsum", "cumprod",
        "squeeze", "swapaxes", "ravel", "clip", "round", "repeat", "take", "sort", "argsort", "diagonal", "ptp",
        "dot", "nonzero",
    )
}
_METHODS["flatten"] = _method(np.ravel)

# The function rules register themselves in _RULES (kept apart to keep files short).
from polykeras.backends.numpy import shape_rules as _shape_rules  # noqa: E402,F401
