"""NumPy engine, part 1: dtypes, conversion, tensor creation, variables, devices
and the autodiff/compile stubs.

Everything is written against ``self.xp`` (the array module) and
``self.array_type`` (its concrete array class), so an engine whose arrays follow
the NumPy API (JAX) subclasses this one and overrides only what differs.

The dtype rules of the protocol that NumPy does not follow by itself live here:
Python floats/ints become float32/int32, a Python scalar is "weak" (it takes the
dtype of the tensor it meets; an int/bool tensor meeting a float becomes
float32), and two tensors of different dtypes promote with
:func:`polykeras.backends.dtypes.result_type`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from polykeras.backends.base import Shape, Tensor, op_error
from polykeras.backends.dtypes import DTYPES, FLOATX, result_type, standardize_dtype

if TYPE_CHECKING:  # Backend plus the helpers the NumPy mixins share
    from polykeras.backends.numpy.host import NumpyHost as _Host
else:
    _Host = object

#: Python scalar types that are "weak": they take the dtype of the tensor they meet.
WEAK_SCALARS = frozenset({bool, int, float, complex})
_KNOWN = frozenset(DTYPES)
_INT32 = np.iinfo(np.int32)
_NAMES: dict[Any, str] = {}  # native dtype -> protocol name
_NO_AUTODIFF = (
    "the numpy engine is for inference and reference only: {} needs an engine with "
    "autodiff, e.g. torch, jax or tensorflow"
)


def host_array(x: Any) -> np.ndarray:
    """A NumPy array from any array-like, including other frameworks' tensors
    (found by duck typing, so no framework is imported here)."""
    if isinstance(x, (np.ndarray, np.generic)):
        return np.asarray(x)
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # a torch tensor
        x = x.detach().cpu()
    if hasattr(x, "numpy") and callable(x.numpy):  # torch / eager tf tensors, tf.Variable
        x = x.numpy()
    array = np.asarray(x)
    if array.dtype.name not in _KNOWN:
        raise TypeError(
            f"expected an array-like of numbers or bools, received {type(x).__name__} "
            f"giving dtype {array.dtype}"
        )
    return array


def python_array(x: Any) -> np.ndarray:
    """A NumPy array from a Python scalar or nested list with the protocol's
    defaults: floats -> float32, ints -> int32 (int64 only when a value does not
    fit), complex -> complex64, bools -> bool."""
    array = np.asarray(x)
    name = array.dtype.name
    if name == "float64":
        return array.astype(np.float32)
    if name == "int64":
        if array.size == 0 or (_INT32.min <= array.min() and array.max() <= _INT32.max):
            return array.astype(np.int32)
        return array
    if name == "complex128":
        return array.astype(np.complex64)
    if name not in _KNOWN:
        raise TypeError(f"expected numbers, bools or nested lists of them, received {x!r:.80}")
    return array


def float_dtype_for(name: str) -> str:
    """The dtype a float-valued op (divide, exp, mean, ...) gives for an input of
    dtype ``name``: floats keep theirs, int64 gives float64, other ints and bool
    float32.

    Example: ``float_dtype_for("int32")`` -> ``'float32'``
    """
    if name in ("float16", "bfloat16", "float32", "float64", "complex64", "complex128"):
        return name
    return "float64" if name == "int64" else FLOATX


class NumpyCore(_Host):
    """Tensors, dtypes, variables, devices and the autodiff stubs of the NumPy
    engine (see :class:`polykeras.backends.numpy.NumpyBackend`)."""

    xp: Any = np
    array_type: type[Any] = np.ndarray
    differentiable = False
    _dtype_cache: dict[Any, Any] = {}

    # ------------------------------------------------------------ dtypes
    def _native_dtype(self, dtype: Any) -> Any:
        """The array module's dtype for a protocol dtype (string or object)."""
        try:
            return self._dtype_cache[dtype]
        except (KeyError, TypeError):
            native = self._make_native_dtype(standardize_dtype(dtype))
            try:
                self._dtype_cache[dtype] = native
            except TypeError:
                pass
            return native

    def _make_native_dtype(self, name: str) -> Any:
        if name == "bfloat16":
            try:
                import ml_dtypes
            except ImportError as err:
                raise ValueError(
                    "bfloat16 on the numpy engine needs the ml_dtypes package; install it "
                    "with: pip install ml_dtypes"
                ) from err
            return np.dtype(ml_dtypes.bfloat16)
        return np.dtype(name)

    def _dtype_name(self, native: Any) -> str:
        try:
            return _NAMES[native]
        except KeyError:
            name = native.name
            name = _NAMES[native] = name if name in _KNOWN else standardize_dtype(native)
            return name

    # ------------------------------------------------------ conversion
    def _tensor(self, x: Any) -> Tensor:
        """``x`` as an engine tensor, free when it already is one."""
        if type(x) is self.array_type:
            return x
        return self.convert_to_tensor(x)

    def _floating(self, x: Any) -> Tensor:
        """``x`` as a tensor of a float dtype (see :func:`float_dtype_for`)."""
        x = self._tensor(x)
        if x.dtype.kind in "biu":
            return x.astype(self._native_dtype(float_dtype_for(x.dtype.name)))
        return x

    def _with_scalar(self, x: Tensor, scalar: Any) -> tuple[Tensor, Any]:
        """A tensor and a weak Python scalar made ready for a binary op."""
        kind = x.dtype.kind
        kind_of_scalar = type(scalar)
        if kind_of_scalar is float:
            if kind in "biu":
                x = x.astype(self._native_dtype(FLOATX))
        elif kind_of_scalar is int:
            if kind == "b":
                x = x.astype(self._native_dtype("int32"))
        elif kind_of_scalar is complex and kind != "c":
            x = x.astype(self._native_dtype("complex128" if x.dtype.name == "float64" else "complex64"))
        if x.dtype.kind == "V":  # bfloat16: NumPy would widen a bare scalar
            scalar = np.asarray(scalar, dtype=x.dtype)
        return x, scalar

    def _promote(self, *xs: Tensor) -> list[Tensor]:
        """Tensors cast to their common dtype (``dtypes.result_type``)."""
        dtypes = {x.dtype for x in xs}
        if len(dtypes) == 1:
            return list(xs)
        target = self._native_dtype(result_type(*(self._dtype_name(d) for d in dtypes)))
        return [x if x.dtype == target else x.astype(target) for x in xs]

    def _operands(self, x1: Any, x2: Any) -> tuple[Any, Any]:
        """Two operands of a binary op with the protocol's promotion applied."""
        weak1, weak2 = type(x1) in WEAK_SCALARS, type(x2) in WEAK_SCALARS
        if weak1 and weak2:
            x1, weak1 = self.convert_to_tensor(x1), False
        if weak2:
            return self._with_scalar(self._tensor(x1), x2)
        if weak1:
            x2, x1 = self._with_scalar(self._tensor(x2), x1)
            return x1, x2
        x1, x2 = self._tensor(x1), self._tensor(x2)
        if x1.dtype != x2.dtype:
            x1, x2 = self._promote(x1, x2)
        return x1, x2

    def _binary(self, fn: Callable[[Any, Any], Tensor], x1: Any, x2: Any) -> Tensor:
        array = self.array_type
        if type(x1) is array and type(x2) is array and x1.dtype == x2.dtype:
            return fn(x1, x2)
        x1, x2 = self._operands(x1, x2)
        return fn(x1, x2)

    #: Comparisons: NumPy itself compares a narrow int tensor with any Python int.
    _compare = _binary

    # ------------------------------------------------------------- meta
    def version(self) -> str:
        return np.__version__

    def list_devices(self) -> list[str]:
        return ["cpu:0"]

    def device_scope(self, device: str) -> contextlib.AbstractContextManager:
        if not isinstance(device, str) or device.lower() not in ("cpu", "cpu:0", "/cpu:0"):
            raise op_error("device_scope", "a device of this engine: 'cpu:0'", repr(device))
        return contextlib.nullcontext()

    # ---------------------------------------------------------- tensors
    def is_tensor(self, x: Any) -> bool:
        return isinstance(x, (np.ndarray, np.generic))

    def convert_to_tensor(self, x: Any, dtype: str | None = None) -> Tensor:
        native = None if dtype is None else self._native_dtype(dtype)
        if not isinstance(x, (np.ndarray, np.generic)):
            if type(x) in WEAK_SCALARS or isinstance(x, (list, tuple)):
                x = python_array(x) if native is None else np.asarray(x, dtype=native)
            else:
                x = host_array(x)
        return x if native is None or x.dtype == native else x.astype(native)

    def to_numpy(self, x: Tensor) -> np.ndarray:
        return np.array(self._tensor(x))

    def shape(self, x: Tensor) -> Shape:
        if type(x) is not self.array_type:
            x = self.convert_to_tensor(x)
        return tuple(x.shape)

    def dtype(self, x: Tensor) -> str:
        if type(x) is not self.array_type:
            x = self.convert_to_tensor(x)
        return self._dtype_name(x.dtype)

    def cast(self, x: Tensor, dtype: str) -> Tensor:
        native = self._native_dtype(dtype)
        if type(x) in (int, float, bool):  # a Python number, made at the target dtype (not through float32)
            return self.xp.asarray(x, dtype=native)
        x = self._tensor(x)
        return x if x.dtype == native else x.astype(native)

    def zeros(self, shape: Shape, dtype: str = "float32") -> Tensor:
        return self.xp.zeros(shape, dtype=self._native_dtype(dtype))

    def ones(self, shape: Shape, dtype: str = "float32") -> Tensor:
        return self.xp.ones(shape, dtype=self._native_dtype(dtype))

    def full(self, shape: Shape, fill_value: Any, dtype: str = "float32") -> Tensor:
        return self.xp.full(shape, fill_value, dtype=self._native_dtype(dtype))

    def zeros_like(self, x: Tensor, dtype: str | None = None) -> Tensor:
        x = self._tensor(x)
        return self.xp.zeros(x.shape, dtype=x.dtype if dtype is None else self._native_dtype(dtype))

    def ones_like(self, x: Tensor, dtype: str | None = None) -> Tensor:
        x = self._tensor(x)
        return self.xp.ones(x.shape, dtype=x.dtype if dtype is None else self._native_dtype(dtype))

    def arange(self, start: Any, stop: Any = None, step: Any = 1, dtype: str | None = None) -> Tensor:
        if dtype is None:
            values = [v for v in (start, stop, step) if v is not None]
            integral = all(
                isinstance(v, (int, np.integer)) or (hasattr(v, "dtype") and v.dtype.kind in "iu")
                for v in values
            )
            dtype = "int32" if integral else FLOATX
        if stop is None:
            start, stop = 0, start
        return self.xp.arange(start, stop, step, dtype=self._native_dtype(dtype))

    def eye(self, n: int, m: int | None = None, dtype: str = "float32") -> Tensor:
        return self.xp.eye(n, m, dtype=self._native_dtype(dtype))

    # -------------------------------------------------------- variables
    def variable(self, value: Any, dtype: str, trainable: bool, name: str) -> Any:
        return self.xp.array(self.convert_to_tensor(value), dtype=self._native_dtype(dtype))

    def assign(self, handle: Any, value: Tensor) -> Any:
        value = self.convert_to_tensor(value, self._dtype_name(handle.dtype))
        if value.shape != handle.shape:
            raise op_error("assign", f"a value of the variable's shape {tuple(handle.shape)}",
                           f"shape {tuple(value.shape)}")
        return self.xp.array(value)

    # ------------------------------------------------- autodiff, compile
    def stop_gradient(self, x: Tensor) -> Tensor:
        return self._tensor(x)

    def value_and_grad(self, fn: Callable[..., Any], has_aux: bool = False) -> Callable[..., Any]:
        raise NotImplementedError(_NO_AUTODIFF.format("value_and_grad"))

    def jit(self, fn: Callable[..., Any], donate_argnums: tuple[int, ...] = (),
            jit_compile: Any = "auto") -> Callable[..., Any]:
        raise NotImplementedError(_NO_AUTODIFF.format("jit"))
