"""TensorFlow engine, part 1: the framework handle, dtype tables, conversion and
the protocol's promotion rules, then tensors, variables, autodiff, compilation
and devices.

The hot path of every op is a ``type(x) is EagerTensor`` check followed by a
``tf.raw_ops`` call: the raw op skips the name scopes and conversions of the
``tf.math`` wrappers (about half their cost). Anything else (Python scalars,
NumPy arrays, mixed dtypes) goes through :func:`convert` and :func:`promote`,
which apply the protocol's rules: Python floats/ints become float32/int32, a
Python scalar is "weak" (it takes the dtype of the tensor it meets), two
tensors of different dtypes meet at ``dtypes.result_type``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import tensorflow as tf
from tensorflow.python.framework import ops as tf_ops
from tensorflow.python.ops.resource_variable_ops import ResourceVariable

from polykeras.backends.base import Shape, Spec, Tensor, abstract_evaluation, in_abstract_evaluation, op_error
from polykeras.backends.dtypes import DTYPES, result_type, standardize_dtype

R = tf.raw_ops

# ----------------------------------------------------------------- types
# Named, not probed with ``type(tf.constant(0))``: importing the engine must not
# start TensorFlow's runtime, which multi-worker training configures first.
EagerTensor = tf_ops.EagerTensor
GraphTensor = tf_ops.SymbolicTensor
Variable = ResourceVariable
#: Mirrored variables (``tf.distribute``) and per-replica values.
DistributedValues = tf.distribute.DistributedValues
#: Native values the raw ops take as they are.
TENSORS = frozenset({EagerTensor, GraphTensor, Variable})
#: Python scalar types that are "weak", with their kind (bool < int < float < complex).
WEAK = {bool: 0, int: 1, float: 2, complex: 3}
#: What a raw op may be handed directly: it raises on a dtype clash, then the slow path promotes.
#: Python ints are not among them: TF wraps an int outside the tensor's dtype (int8 + 300)
#: where NumPy raises, so they take the checked path (:func:`promote`).
DIRECT = frozenset(TENSORS | {bool, float})
#: A raw op's complaint about its inputs' dtypes (eager, traced, or a missing kernel).
ERRORS = (TypeError, ValueError, tf.errors.InvalidArgumentError, tf.errors.NotFoundError)

# ---------------------------------------------------------------- dtypes
TF_DTYPES: dict[str, tf.DType] = {name: tf.as_dtype(name) for name in DTYPES}
NAMES: dict[tf.DType, str] = {native: name for name, native in TF_DTYPES.items()}
_KIND = {"bool": 0, "complex64": 3, "complex128": 3}
KIND: dict[tf.DType, int] = {
    native: _KIND.get(name, 2 if name.startswith(("float", "bfloat")) else 1)
    for name, native in TF_DTYPES.items()
}
INEXACT = frozenset(native for native, kind in KIND.items() if kind >= 2)
FLOAT32, INT32, BOOL = tf.float32, tf.int32, tf.bool
_SMALL_INTS = frozenset({tf.bool, tf.int8, tf.int16, tf.uint8})
_INT_BOUNDS = {native: (native.min, native.max) for native, kind in KIND.items() if kind == 1}
_INT32 = np.iinfo(np.int32)


def tf_dtype(dtype: Any) -> tf.DType:
    """The ``tf.DType`` of a protocol dtype (string, NumPy or TF dtype).

    Example: ``tf_dtype("float32")`` -> ``tf.float32``
    """
    native = TF_DTYPES.get(dtype) if type(dtype) is str else None
    return native if native is not None else TF_DTYPES[standardize_dtype(dtype)]


def name_of(native: tf.DType) -> str:
    """The protocol dtype string of a ``tf.DType``. Example: ``name_of(tf.int32)`` -> ``'int32'``"""
    name = NAMES.get(native)
    return name if name is not None else standardize_dtype(native)


def float_of(native: tf.DType) -> tf.DType:
    """The dtype a float-valued op (divide, exp, linalg, ...) gives for an input
    of dtype ``native``: inexact dtypes keep theirs, int64 gives float64, other
    ints and bool float32."""
    if native in INEXACT:
        return native
    return tf.float64 if native == tf.int64 else FLOAT32


def accumulator_of(native: tf.DType) -> tf.DType | None:
    """The dtype sums, products and cumulative ops of ``native`` give: int32 for
    bool and 8/16-bit ints (None: their own)."""
    return INT32 if native in _SMALL_INTS else None


# ------------------------------------------------------------ conversion
def _python_array(x: Any) -> np.ndarray:
    """Python data as NumPy with the protocol's defaults (float32, int32 when it fits)."""
    array = np.asarray(x)
    kind = array.dtype.kind
    if kind == "f" and array.dtype != np.float32:
        return array.astype(np.float32)
    if kind == "i" and array.dtype == np.int64:
        if array.size == 0 or (_INT32.min <= array.min() and array.max() <= _INT32.max):
            return array.astype(np.int32)
        return array
    if kind == "c" and array.dtype == np.complex128:
        return array.astype(np.complex64)
    if array.dtype.name not in TF_DTYPES:
        raise TypeError(f"expected numbers, bools or nested lists of them, received {x!r:.80}")
    return array


def convert(x: Any, dtype: tf.DType | None = None) -> Tensor:
    """``x`` as a TF tensor (variables pass through), cast to ``dtype`` if given.

    Example: ``convert(2.0)`` -> a float32 scalar tensor
    """
    kind = type(x)
    if kind in TENSORS or isinstance(x, (tf.Tensor, tf.Variable)):
        if dtype is None or x.dtype == dtype:
            return x
        return R.Cast(x=x, DstT=dtype)
    if kind in WEAK:
        if dtype is None:
            if kind is int and not _INT32.min <= x <= _INT32.max:
                return tf.constant(x, tf.int64)
            return tf.constant(x, (BOOL, INT32, FLOAT32, tf.complex64)[WEAK[kind]])
        if WEAK[kind] > KIND[dtype]:
            return R.Cast(x=convert(x), DstT=dtype)
        return tf.constant(int(x) if kind is bool and dtype != BOOL else x, dtype)
    if isinstance(x, (np.ndarray, np.generic)):
        array = np.asarray(x)
    elif isinstance(x, (list, tuple)):
        if any(tf.is_tensor(item) for item in x):
            out = tf.stack([convert(item) for item in x])
            return out if dtype is None else convert(out, dtype)
        array = _python_array(x)
    else:
        array = _host_array(x)
    if array.dtype.name not in TF_DTYPES:
        raise TypeError(f"expected an array-like of numbers or bools, received {type(x).__name__} "
                        f"with dtype {array.dtype}")
    out = tf.constant(array)
    return out if dtype is None or out.dtype == dtype else R.Cast(x=out, DstT=dtype)


def _host_array(x: Any) -> np.ndarray:
    """Another framework's tensor (duck-typed, so nothing is imported) as NumPy."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # torch
        x = x.detach().cpu()
    if hasattr(x, "numpy") and callable(x.numpy):
        x = x.numpy()
    return np.asarray(x)


def tensor(x: Any) -> Tensor:
    """``x`` as a TF tensor or variable, free when it already is one."""
    if type(x) in TENSORS:
        return x
    return convert(x)


def in_replica_function() -> bool:
    """True inside ``strategy.run``: there a mirrored variable's ``handle`` is
    this replica's own copy, which kernels may update in place (outside, an
    update must go through ``assign`` to reach every copy)."""
    return tf.distribute.has_strategy() and tf.distribute.get_replica_context() is not None


def in_place(variable: Any) -> bool:
    """True when kernels may update ``variable`` through its handle."""
    return not isinstance(variable, DistributedValues) or in_replica_function()


def floating(x: Any) -> Tensor:
    """``x`` as a tensor of a float dtype (see :func:`float_of`)."""
    x = tensor(x)
    if x.dtype in INEXACT:
        return x
    return R.Cast(x=x, DstT=float_of(x.dtype))


def _check_bounds(value: int, native: tf.DType) -> None:
    """NumPy's refusal of a Python int outside an integer dtype (TF would wrap it)."""
    bounds = _INT_BOUNDS.get(native)
    if bounds is not None and not bounds[0] <= value <= bounds[1]:
        raise OverflowError(f"Python integer {value} out of bounds for {name_of(native)}")


def _meet(x: Tensor, value: Any) -> tuple[Tensor, Tensor]:
    """A tensor and a weak Python scalar, both in the dtype they meet at."""
    native = x.dtype
    scalar_kind, kind = WEAK[type(value)], KIND[native]
    if scalar_kind > kind:
        native = (BOOL, INT32, FLOAT32, tf.complex64)[scalar_kind]
        if scalar_kind == 3 and x.dtype == tf.float64:
            native = tf.complex128
        x = R.Cast(x=x, DstT=native)
    if scalar_kind == 1:
        _check_bounds(value, native)
    if scalar_kind == 3:
        return x, convert(value, native)
    return x, scalar(int(value) if scalar_kind == 0 and native != BOOL else value, native)


def promote(x1: Any, x2: Any) -> tuple[Tensor, Tensor]:
    """The two operands of a binary op as tensors of one dtype, by the
    protocol's rules (weak Python scalars, ``result_type`` for tensors).

    Example: ``promote(int32_tensor, 2.5)`` -> two float32 tensors
    """
    weak1, weak2 = type(x1) in WEAK, type(x2) in WEAK
    if weak1 and weak2:
        kind = max(WEAK[type(x1)], WEAK[type(x2)])
        return _meet(convert(x1), x2) if WEAK[type(x1)] == kind else _meet(convert(x2), x1)[::-1]
    if weak2:
        return _meet(tensor(x1), x2)
    if weak1:
        x2, x1 = _meet(tensor(x2), x1)
        return x1, x2
    x1, x2 = tensor(x1), tensor(x2)
    if x1.dtype != x2.dtype:
        target = tf_dtype(result_type(name_of(x1.dtype), name_of(x2.dtype)))
        x1, x2 = convert(x1, target), convert(x2, target)
    return x1, x2


def promote_all(xs: Sequence[Any]) -> list[Tensor]:
    """Tensors (weak scalars included) converted to their common dtype."""
    strong = [tensor(x) for x in xs if type(x) not in WEAK]
    if not strong:
        strong = [convert(x) for x in xs]
        xs = strong
    names = {x.dtype for x in strong}
    target = strong[0].dtype if len(names) == 1 else tf_dtype(result_type(*(name_of(d) for d in names)))
    weak_kind = max((WEAK[type(x)] for x in xs if type(x) in WEAK), default=-1)
    if weak_kind > KIND[target]:
        target = (BOOL, INT32, FLOAT32, tf.complex64)[weak_kind]
    return [convert(x, target) for x in xs]


# ------------------------------------------------------ int constants
_CONSTANTS: dict[tuple, Tensor] = {}


def ints(x: Any, values: Sequence[int]) -> Any:
    """``values`` (a shape, axes, a permutation) ready for a raw op on ``x``:
    on the eager path a cached int32 tensor (turning a Python list into a tensor
    costs a raw op ~20 us), while tracing the list itself (static shapes)."""
    if type(x) is not EagerTensor and (type(x) is GraphTensor or not tf.executing_eagerly()):
        return list(values)
    key = tuple(values)
    cached = _CONSTANTS.get(key)
    if cached is None:
        if len(_CONSTANTS) > 4096:
            _CONSTANTS.clear()
        cached = _CONSTANTS[key] = tf.constant(key, INT32, shape=(len(key),))
    return cached


_SCALARS: dict[tuple[Any, tf.DType], Tensor] = {}


def scalar(value: Any, dtype: tf.DType) -> Tensor:
    """A scalar constant of ``dtype``, cached on the eager path (``tf.zeros(())``
    costs ~80 us there)."""
    if not tf.executing_eagerly():
        return tf.constant(value, dtype)
    key = (value, dtype)
    cached = _SCALARS.get(key)
    if cached is None:
        if len(_SCALARS) > 1024:
            _SCALARS.clear()
        cached = _SCALARS[key] = tf.constant(value, dtype)
    return cached


def all_axes(x: Tensor) -> Any:
    """Every axis of ``x``, for a reduction with ``axis=None``."""
    rank = x.shape.rank
    if rank is None:
        return R.Range(start=0, limit=R.Rank(input=x), delta=1)
    return ints(x, range(rank))


def _fill(shape: Sequence[Any], value: Any, native: tf.DType) -> Tensor:
    """A tensor of ``shape`` filled with ``value`` (``tf.zeros`` costs ~80 us
    eagerly; a raw ``Fill`` of cached constants a quarter of that)."""
    try:
        dims = ints(None, tuple(int(d) for d in shape))
    except TypeError:  # a traced dimension
        dims = tf.stack([convert(d, INT32) for d in shape])
    kind = type(value)
    if kind is int:
        _check_bounds(value, native)
    if kind in WEAK and kind is not complex and WEAK[kind] <= KIND[native]:
        value = scalar(int(value) if kind is bool and native != BOOL else value, native)
    else:
        value = convert(value, native)
    return R.Fill(dims=dims, value=value)


# ------------------------------------------------------------- devices
def _device_name(device: str) -> str:
    """"cpu:0" / "/device:GPU:1" -> "/device:CPU:0" / "/device:GPU:1"."""
    name = device.lower().removeprefix("/").removeprefix("device:")
    kind, _, index = name.partition(":")
    return f"/device:{kind.upper()}:{index or 0}"


def _short_name(device: str) -> str:
    kind, _, index = device.removeprefix("/device:").partition(":")
    return f"{kind.lower()}:{index}"


class TensorflowCore:
    """Tensors, dtypes, variables, autodiff, compilation and devices of the
    TensorFlow engine (see :class:`polykeras.backends.tensorflow.TensorflowBackend`)."""

    # ------------------------------------------------------------- meta
    def version(self) -> str:
        return tf.__version__

    def list_devices(self) -> list[str]:
        return [_short_name(d.name) for d in tf.config.list_logical_devices()]

    def device_scope(self, device: str) -> contextlib.AbstractContextManager:
        devices = self.list_devices()
        if not isinstance(device, str) or _short_name(_device_name(device)) not in devices:
            raise op_error("device_scope", f"a device of this engine, one of {devices}", repr(device))
        return tf.device(_device_name(device))

    # ---------------------------------------------------------- tensors
    def is_tensor(self, x: Any) -> bool:
        # NumPy arrays answer first: tf.is_tensor's protocol check takes 13 us on
        # one, and fit asks it of every batch.
        return type(x) in TENSORS or (type(x) is not np.ndarray and (tf.is_tensor(x) or isinstance(x, tf.Variable)))

    def convert_to_tensor(self, x: Any, dtype: str | None = None) -> Tensor:
        if type(x) is EagerTensor and dtype is None:
            return x
        out = convert(x, None if dtype is None else tf_dtype(dtype))
        if isinstance(out, tf.Variable):
            out = out.value()
        return out

    def to_numpy(self, x: Tensor) -> np.ndarray:
        x = tensor(x)
        if isinstance(x, tf.Tensor) and type(x) is not EagerTensor:
            raise op_error("to_numpy", "a concrete tensor (to_numpy cannot run inside jit)", f"{x!r:.80}")
        return np.asarray(x.numpy())  # .numpy() already copies

    def shape(self, x: Tensor) -> Shape:
        if type(x) not in TENSORS:
            x = tensor(x)
        if x.shape.rank is None:
            # As Keras 3: a shape is a tuple, so the rank must be known (a step
            # retraced for inputs of several ranks sees an unknown one).
            raise op_error("shape", "a tensor of statically known rank", "a tensor of unknown rank "
                           f"(dtype {name_of(x.dtype)}); inputs of different ranks reached one traced function")
        static = tuple(x.shape)
        if type(x) is EagerTensor or None not in static:
            return static
        # As Keras 3's TF backend: a size unknown while tracing (a retraced
        # step's batch) is a scalar tensor, so ops shaped by it still run.
        dynamic = R.Shape(input=x, out_type=INT32)
        return tuple(tf.gather(dynamic, i) if n is None else n for i, n in enumerate(static))

    def dtype(self, x: Tensor) -> str:
        if type(x) not in TENSORS:
            x = tensor(x)
        return name_of(x.dtype)

    def cast(self, x: Tensor, dtype: str) -> Tensor:
        native = TF_DTYPES.get(dtype) if type(dtype) is str else None
        if native is None:
            native = tf_dtype(dtype)
        if type(x) is EagerTensor:
            return x if x.dtype == native else R.Cast(x=x, DstT=native)
        x = convert(x, native)
        return x.value() if isinstance(x, tf.Variable) else x

    def zeros(self, shape: Shape, dtype: str = "float32") -> Tensor:
        return _fill(shape, 0, tf_dtype(dtype))

    def ones(self, shape: Shape, dtype: str = "float32") -> Tensor:
        return _fill(shape, 1, tf_dtype(dtype))

    def full(self, shape: Shape, fill_value: Any, dtype: str = "float32") -> Tensor:
        native = tensor(fill_value).dtype if dtype is None else tf_dtype(dtype)
        return _fill(shape, fill_value, native)

    def zeros_like(self, x: Tensor, dtype: str | None = None) -> Tensor:
        x = tensor(x)
        if dtype is None or tf_dtype(dtype) == x.dtype:
            return R.ZerosLike(x=x)
        return _fill(x.shape, 0, tf_dtype(dtype)) if x.shape.is_fully_defined() else \
            tf.zeros_like(x, tf_dtype(dtype))

    def ones_like(self, x: Tensor, dtype: str | None = None) -> Tensor:
        x = tensor(x)
        if dtype is None or tf_dtype(dtype) == x.dtype:
            return R.OnesLike(x=x)
        return _fill(x.shape, 1, tf_dtype(dtype)) if x.shape.is_fully_defined() else \
            tf.ones_like(x, tf_dtype(dtype))

    def arange(self, start: Any, stop: Any = None, step: Any = 1, dtype: str | None = None) -> Tensor:
        bounds = [v for v in (start, stop, step) if v is not None]
        if any(tf.is_tensor(v) for v in bounds):
            native = tf_dtype(dtype) if dtype is not None else promote_all(bounds)[0].dtype
            start, stop = (0, start) if stop is None else (start, stop)
            work = tf.float64 if native in INEXACT else tf.int64
            out = R.Range(start=convert(start, work), limit=convert(stop, work), delta=convert(step, work))
            return R.Cast(x=out, DstT=native)
        if dtype is None:
            integral = all(isinstance(v, (int, np.integer)) for v in bounds)
            dtype = "int32" if integral else "float32"
        dtype = standardize_dtype(dtype)
        if stop is None:
            start, stop = 0, start
        values = np.arange(start, stop, step, dtype=np.float64 if dtype == "bfloat16" else dtype)
        return convert(values, tf_dtype(dtype))

    def eye(self, n: int, m: int | None = None, dtype: str = "float32") -> Tensor:
        return tf.eye(n, m, dtype=tf_dtype(dtype))

    # -------------------------------------------------------- variables
    def variable(self, value: Any, dtype: str, trainable: bool, name: str) -> Any:
        native = tf_dtype(dtype)
        if in_abstract_evaluation():  # eager, outside the graph of the shape evaluation
            with tf.init_scope():
                return tf.Variable(convert(value, native), dtype=native, trainable=trainable, name=name)
        return tf.Variable(convert(value, native), dtype=native, trainable=trainable, name=name)

    def assign(self, handle: Any, value: Tensor) -> Any:
        if not isinstance(handle, tf.Variable):  # a plain tensor: immutable, hand back the new value
            return convert(value, tensor(handle).dtype)
        value = convert(value, handle.dtype)
        if value.shape.is_fully_defined() and handle.shape != value.shape:
            raise op_error("assign", f"a value of the variable's shape {tuple(handle.shape)}",
                           f"shape {tuple(value.shape)}")
        if isinstance(handle, DistributedValues) and in_replica_function():
            R.AssignVariableOp(resource=handle.handle, value=value)  # this replica's copy
        else:
            handle.assign(value, read_value=False)
        return handle

    # ------------------------------------------------- autodiff, compile
    def stop_gradient(self, x: Tensor) -> Tensor:
        return R.StopGradient(input=tensor(x))

    def value_and_grad(self, fn: Callable[..., Any], has_aux: bool = False) -> Callable[..., Any]:
        def value_and_grad_fn(params: Sequence[Any], *args: Any, **kwargs: Any) -> Any:
            params = [p if type(p) in TENSORS or isinstance(p, tf.Variable) else convert(p) for p in params]
            with tf.GradientTape(watch_accessed_variables=False) as tape:
                for p in params:
                    if p.dtype in INEXACT:
                        tape.watch(p)
                out = fn(params, *args, **kwargs)
                value = out[0] if has_aux else out
            grads = tape.gradient(value, params, unconnected_gradients=tf.UnconnectedGradients.ZERO)
            grads = [
                tf.zeros_like(p) if g is None else tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g
                for p, g in zip(params, grads)
            ]  # a gather's gradient comes as IndexedSlices: dense, like every other engine's
            return out, grads

        value_and_grad_fn.__name__ = f"value_and_grad_{getattr(fn, '__name__', 'fn')}"
        return value_and_grad_fn

    def jit(self, fn: Callable[..., Any], donate_argnums: tuple[int, ...] = (),
            jit_compile: Any = "auto") -> Callable[..., Any]:
        # ``donate_argnums`` has no TF counterpart: tf.function reuses buffers itself.
        # No AutoGraph: Python control flow on traced values fails here as under
        # jax.jit, so a step that compiles on one engine compiles on all.
        # ``jit_compile=True`` asks for XLA; "auto" and False run the graph
        # without it (on CPU TensorFlow's own kernels are as fast, and XLA
        # lacks some ops polykeras uses: see bench/train_step.py).
        return tf.function(fn, reduce_retracing=True, autograph=False, jit_compile=jit_compile is True)

    # ------------------------------------------------------ shape inference
    def compute_output_spec(self, fn: Callable[[list[Tensor]], list[Any]], specs: Any) -> list[Any]:
        # A trace into a scratch graph on placeholders: TensorFlow's static
        # shape inference answers, no kernel runs and the graph is dropped.
        # Eager variables and constants are captured as in tf.function.
        with abstract_evaluation(), tf.__internal__.FuncGraph("polykeras_output_spec").as_default():
            inputs = [tf.compat.v1.placeholder(tf_dtype(s.dtype), tuple(s.shape)) for s in specs]
            outputs = fn(inputs)
            return [Spec(tuple(o.shape), self.dtype(o)) if self.is_tensor(o) else o for o in outputs]
