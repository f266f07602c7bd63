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


def _moving(data: Callable[[dict[str, Any]], Any]) -> Callable[..., Any]:
    """A rule for data movement: NumPy's function on probes; the result's
    dtype is the promoted dtype of the ``data(arguments)`` arrays."""

    def rule(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        bound = _bound(func, args, kwargs)
        arrays = data(bound.arguments)
        dtype = np.result_type(*(_dtype(a) for a in arrays)) if arrays else np.dtype("float64")
        probed = {key: _probed(value) for key, value in bound.arguments.items()}
        return _abstract(_call(func, bound, probed), dtype)

    return rule


def _probed(value: Any) -> Any:
    if isinstance(value, (ShapedArray, np.ndarray)):
        return _probe(value)
    if isinstance(value, (list, tuple)) and any(isinstance(v, (ShapedArray, np.ndarray)) for v in value):
        return type(value)(_probe(v) if _is_array(v) else v for v in value)
    return value


def _first(bound: dict[str, Any]) -> list[Any]:
    return [next(iter(bound.values()))]


# Views: NumPy's own function on probes, at no cost whatever the sizes.
_rule(np.reshape, np.transpose, np.expand_dims, np.squeeze, np.moveaxis, np.swapaxes, np.flip, np.broadcast_to,
      np.split, np.array_split, np.ravel, np.diagonal, np.rot90, np.atleast_1d, np.atleast_2d,
      np.atleast_3d)(_moving(_first))


# Copies: shape rules (a copy of a probe still walks its elements).
@_rule(np.concatenate)
def _concatenate(func: Callable[..., Any], arrays: Sequence[Any], axis: Any = 0, out: Any = None,
                 **kwargs: Any) -> ShapedArray:
    shapes = [_shape(a) for a in arrays]
    dtype = kwargs.get("dtype") or np.result_type(*(_sample(a, 0) for a in arrays))
    if axis is None:
        return ShapedArray((sum(math.prod(s) for s in shapes),), dtype)
    first = shapes[0]
    if not first:
        raise ValueError("zero-dimensional arrays cannot be concatenated")
    axis = _axes(axis, len(first))[0]
    for shape in shapes[1:]:
        if len(shape) != len(first) or any(a != b for i, (a, b) in enumerate(zip(shape, first)) if i != axis):
            raise ValueError(f"all the input array dimensions except for the concatenation axis must match "
                             f"exactly: shapes {shapes} along axis {axis}")
    return ShapedArray((*first[:axis], sum(s[axis] for s in shapes), *first[axis + 1:]), dtype)


@_rule(np.stack)
def _stack(func: Callable[..., Any], arrays: Sequence[Any], axis: int = 0, out: Any = None,
           **kwargs: Any) -> ShapedArray:
    shapes = {_shape(a) for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"all input arrays must have the same shape, received {sorted(shapes)}")
    shape = shapes.pop()
    axis = _axes(axis, len(shape) + 1)[0]
    dtype = kwargs.get("dtype") or np.result_type(*(_sample(a, 0) for a in arrays))
    return ShapedArray((*shape[:axis], len(arrays), *shape[axis:]), dtype)


@_rule(np.tile)
def _tile(func: Callable[..., Any], a: Any, reps: Any) -> ShapedArray:
    if isinstance(reps, ShapedArray):
        raise _no_values("numpy.tile with repetitions given as a tensor")
    reps = (int(reps),) if np.ndim(reps) == 0 else tuple(int(r) for r in reps)
    shape = _shape(a)
    ndim = max(len(shape), len(reps))
    shape = (1,) * (ndim - len(shape)) + shape
    reps = (1,) * (ndim - len(reps)) + reps
    return ShapedArray(tuple(d * r for d, r in zip(shape, reps)), _dtype(a))


@_rule(np.repeat)
def _repeat(func: Callable[..., Any], a: Any, repeats: Any, axis: int | None = None) -> ShapedArray:
    if isinstance(repeats, ShapedArray):
        raise _no_values("numpy.repeat with repeats given as a tensor")
    shape = (math.prod(_shape(a)),) if axis is None else _shape(a)
    axis = 0 if axis is None else _axes(axis, len(shape))[0]
    counts = np.broadcast_to(np.asarray(repeats), (shape[axis],))
    return ShapedArray((*shape[:axis], int(counts.sum()), *shape[axis + 1:]), _dtype(a))


@_rule(np.pad)
def _pad(func: Callable[..., Any], array: Any, pad_width: Any, mode: Any = "constant", **kwargs: Any) -> Any:
    shape = _shape(array)
    widths = np.asarray(pad_width, dtype=np.int64)
    widths = np.broadcast_to(widths.reshape(-1, 2) if widths.ndim > 1 else widths, (len(shape), 2))
    return ShapedArray(tuple(int(d + before + after) for d, (before, after) in zip(shape, widths)), _dtype(array))


@_rule(np.roll, np.copy)
def _same(func: Callable[..., Any], a: Any, *args: Any, **kwargs: Any) -> ShapedArray:
    return ShapedArray(_shape(a), _dtype(a))


@_rule(np.take)
def _take(func: Callable[..., Any], a: Any, indices: Any, axis: int | None = None, out: Any = None,
          mode: str = "raise") -> ShapedArray:
    shape = _shape(a)
    if axis is None:
        return ShapedArray(_shape(indices), _dtype(a))
    axis = _axes(axis, len(shape))[0]
    return ShapedArray((*shape[:axis], *_shape(indices), *shape[axis + 1:]), _dtype(a))


@_rule(np.take_along_axis)
def _take_along_axis(func: Callable[..., Any], arr: Any, indices: Any, axis: int | None = -1) -> ShapedArray:
    shape, index = list(_shape(arr)), list(_shape(indices))
    if axis is None:
        return ShapedArray(tuple(index), _dtype(arr))
    if len(shape) != len(index):
        raise ValueError(f"`indices` and `arr` must have the same number of dimensions: {tuple(index)} vs "
                         f"{tuple(shape)}")
    axis = _axes(axis, len(shape))[0]
    size = index[axis]
    shape[axis] = index[axis] = 1
    out = list(np.broadcast_shapes(tuple(shape), tuple(index)))
    out[axis] = size
    return ShapedArray(tuple(out), _dtype(arr))


def _reduction(dtype_of_axis: bool = False) -> Callable[..., Any]:
    def rule(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        bound = _bound(func, args, kwargs)
        name = next(iter(bound.arguments))
        x = bound.arguments[name]
        shape = _shape(x)
        axes = _axes(bound.arguments.get("axis"), len(shape))
        keep = bool(bound.arguments.get("keepdims", False))
        with np.errstate(all="ignore"):
            sample = _call(func, bound, {name: _sample(x)})
        out = tuple(1 if i in axes else d for i, d in enumerate(shape) if keep or i not in axes)
        return ShapedArray(out, np.asarray(sample).dtype)

    return rule


_rule(np.sum, np.mean, np.max, np.min, np.amax, np.amin, np.prod, np.any, np.all, np.argmax, np.argmin, np.std,
      np.var, np.median, np.nansum, np.nanmean, np.nanmax, np.nanmin, np.count_nonzero, np.ptp, np.average,
      np.nanprod, np.nanstd, np.nanvar, np.nanargmax, np.nanargmin, np.quantile, np.percentile)(_reduction())


@_rule(np.cumsum, np.cumprod, np.sort, np.argsort, np.nancumsum, np.nancumprod)
def _along(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    bound = _bound(func, args, kwargs)
    name = next(iter(bound.arguments))
    x = bound.arguments[name]
    default = -1 if func in (np.sort, np.argsort) else None
    axis = bound.arguments.get("axis", default)
    shape = (math.prod(_shape(x)),) if axis is None else _shape(x)
    if axis is not None:
        _axes(axis, len(shape))
    sample = _call(func, bound, {name: _sample(x)})
    return ShapedArray(shape, sample.dtype)


def _elementwise(arrays: Callable[[dict[str, Any]], list[Any]]) -> Callable[..., Any]:
    """A rule for functions whose result has the broadcast shape of ``arrays(arguments)``."""

    def rule(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        bound = _bound(func, args, kwargs)
        shape = np.broadcast_shapes(*(_shape(a) for a in arrays(bound.arguments)))
        with np.errstate(all="ignore"):
            sample = _call(func, bound, {k: _sample(v) for k, v in bound.arguments.items() if _is_array(v)})
        if isinstance(sample, tuple):
            return tuple(ShapedArray(shape, np.asarray(s).dtype) for s in sample)
        return ShapedArray(shape, np.asarray(sample).dtype)

    return rule


def _array_values(bound: dict[str, Any]) -> list[Any]:
    return [v for v in bound.values() if _is_array(v) or isinstance(v, (int, float, bool, complex))]


_rule(np.clip, np.round, np.around, np.real, np.imag, np.nan_to_num, np.tril, np.triu, np.isclose, np.angle,
      np.fix, np.sinc, np.i0, np.heaviside)(_elementwise(_array_values))


@_rule(np.where)
def _where(func: Callable[..., Any], condition: Any, *values: Any) -> Any:
    if not values:
        raise _no_values("numpy.where(condition) (its size depends on the values)")
    return _elementwise(_array_values)(func, condition, *values)


@_rule(np.zeros_like, np.ones_like, np.empty_like, np.full_like)
def _like(func: Callable[..., Any], a: Any, *args: Any, **kwargs: Any) -> Any:
    bound = _bound(func, (a, *args), kwargs).arguments
    shape = bound.get("shape")
    dtype = bound.get("dtype")
    return ShapedArray(_shape(a) if shape is None else ((shape,) if isinstance(shape, int) else shape),
                       _dtype(a) if dtype is None else dtype)


@_rule(np.shape)
def _np_shape(func: Callable[..., Any], a: Any) -> tuple[int, ...]:
    return _shape(a)


@_rule(np.ndim)
def _np_ndim(func: Callable[..., Any], a: Any) -> int:
    return len(_shape(a))


@_rule(np.size)
def _np_size(func: Callable[..., Any], a: Any, axis: int | None = None) -> int:
    return math.prod(_shape(a)) if axis is None else _shape(a)[axis]


@_rule(np.result_type)
def _result_type(func: Callable[..., Any], *arrays_and_dtypes: Any) -> np.dtype:
    return np.result_type(*(_sample(a, 0) if _is_array(a) else a for a in arrays_and_dtypes))


@_rule(np.iscomplexobj, np.isrealobj)
def _kind_test(func: Callable[..., Any], x: Any) -> bool:
    return func(np.empty((), _dtype(x)))


@_rule(np.broadcast_arrays)
def _broadcast_arrays(func: Callable[..., Any], *args: Any, **kwargs: Any) -> list[ShapedArray]:
    shape = np.broadcast_shapes(*(_shape(a) for a in args))
    return [ShapedArray(shape, _dtype(a)) for a in args]


# --------------------------------------------------------- contractions
def _promoted(*arrays: Any) -> np.dtype:
    return np.result_type(*(_sample(a, 0) for a in arrays))


@_rule(np.dot)
def _dot(func: Callable[..., Any], a: Any, b: Any, out: Any = None) -> ShapedArray:
    sa, sb = _shape(a), _shape(b)
    if not sa or not sb:
        shape = sa or sb
    elif len(sb) == 1:
        if sa[-1] != sb[0]:
            raise ValueError(f"shapes {sa} and {sb} not aligned: {sa[-1]} (dim {len(sa) - 1}) != {sb[0]} (dim 0)")
        shape = sa[:-1]
    else:
        if sa[-1] != sb[-2]:
            raise ValueError(f"shapes {sa} and {sb} not aligned: {sa[-1]} (dim {len(sa) - 1}) != "
                             f"{sb[-2]} (dim {len(sb) - 2})")
        shape = sa[:-1] + sb[:-2] + sb[-1:]
    return ShapedArray(shape, _promoted(a, b))


@_rule(np.matmul)
def _np_matmul(func: Callable[..., Any], a: Any, b: Any, **kwargs: Any) -> ShapedArray:
    return ShapedArray(_matmul_shape(_shape(a), _shape(b)), _promoted(a, b))


@_rule(np.tensordot)
def _tensordot(func: Callable[..., Any], a: Any, b: Any, axes: Any = 2) -> ShapedArray:
    sa, sb = _shape(a), _shape(b)
    if isinstance(axes, (int, np.integer)):
        first: Any = range(len(sa) - int(axes), len(sa))
        second: Any = range(int(axes))
    else:
        first, second = axes
    axes_a = [int(i) % len(sa) for i in np.atleast_1d(first)]
    axes_b = [int(i) % len(sb) for i in np.atleast_1d(second)]
    if len(axes_a) != len(axes_b) or any(sa[i] != sb[j] for i, j in zip(axes_a, axes_b)):
        raise ValueError(f"shape-mismatch for sum: tensordot of shapes {sa} and {sb} over axes {axes}")
    shape = tuple(d for i, d in enumerate(sa) if i not in axes_a) + tuple(d for i, d in enumerate(sb)
                                                                         if i not in axes_b)
    return ShapedArray(shape, _promoted(a, b))


@_rule(np.einsum)
def _einsum(func: Callable[..., Any], subscripts: Any, *operands: Any, **kwargs: Any) -> ShapedArray:
    if not isinstance(subscripts, str):
        raise NotImplementedError("numpy.einsum in sublist form has no shape rule for the shape-only evaluation")
    spec = subscripts.replace(" ", "")
    inputs, arrow, output = spec.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(operands):
        raise ValueError(f"einsum: {len(terms)} operands in the subscripts {subscripts!r}, received {len(operands)}")
    sizes: dict[str, int] = {}
    ellipses = []
    for term, operand in zip(terms, operands):
        shape = _shape(operand)
        before, dots, after = term.partition("...")
        count = len(shape) - len(before) - len(after) if dots else 0
        if count < 0 or (not dots and len(term) != len(shape)):
            raise ValueError(f"einsum: operand of shape {shape} does not fit subscripts {term!r}")
        ellipses.append(shape[len(before):len(before) + count])
        for letter, size in zip(before + after, shape[:len(before)] + shape[len(shape) - len(after):]):
            known = sizes.setdefault(letter, size)
            if known != size and 1 not in (known, size):
                raise ValueError(f"einsum: subscript {letter!r} has sizes {known} and {size}")
            sizes[letter] = max(known, size) if 1 in (known, size) else size
    ellipsis = np.broadcast_shapes(*ellipses)
    if not arrow:
        letters = "".join(terms).replace(".", "")
        output = ("..." if any("..." in t for t in terms) else "") + "".join(
            sorted(c for c in set(letters) if letters.count(c) == 1))
    before, dots, after = output.partition("...")
    shape = tuple(sizes[c] for c in before) + (tuple(ellipsis) if dots else ()) + tuple(sizes[c] for c in after)
    return ShapedArray(shape, _promoted(*operands))


@_rule(np.outer)
def _outer(func: Callable[..., Any], a: Any, b: Any, out: Any = None) -> ShapedArray:
    return ShapedArray((math.prod(_shape(a)), math.prod(_shape(b))), _promoted(a, b))


@_rule(np.linalg.inv, np.linalg.cholesky, np.linalg.matrix_power)
def _square(func: Callable[..., Any], a: Any, *args: Any, **kwargs: Any) -> ShapedArray:
    shape = _shape(a)
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise np.linalg.LinAlgError(f"Last 2 dimensions of the array must be square, received shape {shape}")
    return ShapedArray(shape, func(np.eye(1, dtype=_dtype(a)), *args, **kwargs).dtype)


@_rule(np.linalg.det)
def _det(func: Callable[..., Any], a: Any) -> ShapedArray:
    shape = _shape(a)
    return ShapedArray(shape[:-2], func(np.eye(1, dtype=_dtype(a))).dtype)


@_rule(np.linalg.solve)
def _solve(func: Callable[..., Any], a: Any, b: Any) -> ShapedArray:
    sb = _shape(b)
    batch = np.broadcast_shapes(_shape(a)[:-2], sb[:-2] if len(sb) > 1 else ())
    return ShapedArray((*batch, *sb[-2:]) if len(sb) > 1 else sb, _promoted(a, b))


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
