"""JAX engine, part 1: what differs from the NumPy engine in tensors, variables,
devices, autodiff, compilation and indexing.

JAX arrays are immutable, so the in-place writes of the NumPy engine become
``.at[...]`` updates and ``lax.dynamic_(update_)slice`` (which take traced start
indices, so they work inside ``jit``). Without ``jax_enable_x64`` JAX has no
64-bit types: float64/int64/complex128 requests map to float32/int32/complex64.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial, wraps
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import multihost_utils

from polykeras.backends.base import Shape, Spec, Tensor, abstract_evaluation, in_abstract_evaluation, op_error
from polykeras.backends.numpy import NumpyBackend
from polykeras.backends.numpy.core import WEAK_SCALARS, NumpyCore, host_array, python_array

# Named, not probed with ``type(jnp.zeros(()))``: importing the engine must not
# start JAX's runtime, which a multi-process run initialises first.
def _array_impl() -> type[Any]:
    try:
        from jax._src.array import ArrayImpl
    except ImportError:  # pragma: no cover - a JAX that moved it: probe (starts the runtime)
        return type(jnp.zeros(()))
    return ArrayImpl


ArrayImpl = _array_impl()

if TYPE_CHECKING:  # the NumPy engine these JAX mixins specialise
    _Host = NumpyBackend
else:
    _Host = object


_NARROW = {"float64": "float32", "int64": "int32", "complex128": "complex64"}


class JaxCore(_Host):
    """Tensors, variables, devices, autodiff, compile and indexing of the JAX
    engine (see :class:`polykeras.backends.jax.JaxBackend`)."""

    xp: Any = jnp
    array_type: type[Any] = ArrayImpl
    differentiable = True
    _dtype_cache: dict[Any, Any] = {}

    def _make_native_dtype(self, name: str) -> Any:
        # jax.config's flags are attributes made at run time, absent from its type stubs.
        if not jax.config.jax_enable_x64:  # type: ignore[attr-defined]
            name = _NARROW.get(name, name)
        return jnp.dtype(name)

    # ------------------------------------------------------------- meta
    def version(self) -> str:
        return jax.__version__

    def list_devices(self) -> list[str]:
        out: list[str] = []
        for platform in dict.fromkeys([jax.default_backend(), "cpu"]):
            out.extend(f"{platform}:{i}" for i in range(len(jax.devices(platform))))
        return out

    def _device(self, device: str) -> Any:
        platform, _, index = str(device).lower().lstrip("/").partition(":")
        try:
            return jax.devices(platform)[int(index or 0)]
        except (RuntimeError, ValueError, IndexError) as err:
            raise op_error("device_scope", f"one of this engine's devices {self.list_devices()}",
                           repr(device)) from err

    def device_scope(self, device: str) -> Any:
        return jax.default_device(self._device(device))

    # ---------------------------------------------------------- tensors
    def is_tensor(self, x: Any) -> bool:
        return isinstance(x, jax.Array)

    def convert_to_tensor(self, x: Any, dtype: str | None = None) -> Tensor:
        native = None if dtype is None else self._native_dtype(dtype)
        if isinstance(x, jax.Array):
            return x if native is None or x.dtype == native else x.astype(native)
        if type(x) in WEAK_SCALARS or isinstance(x, (list, tuple)):
            if isinstance(x, (list, tuple)) and any(isinstance(v, jax.Array) for v in x):
                return jnp.asarray(x, dtype=native)  # may hold traced values
            x = python_array(x) if native is None else np.asarray(x, dtype=native)
        elif not isinstance(x, (np.ndarray, np.generic)):
            x = host_array(x)
        return jnp.asarray(x, dtype=native)

    def to_numpy(self, x: Tensor) -> np.ndarray:
        if isinstance(x, ArrayImpl) and not (x.is_fully_addressable or x.is_fully_replicated):
            # Split over several processes (FullyShardedDataParallel): an
            # all-gather that every process makes.
            return np.array(multihost_utils.process_allgather(x, tiled=True))
        return np.array(self._tensor(x))

    def shape(self, x: Tensor) -> Shape:
        return tuple(self._tensor(x).shape)

    # ----------------------------------------------- NumPy's integer rules
    def _with_scalar(self, x: Tensor, scalar: Any) -> tuple[Tensor, Any]:
        # JAX would wrap a Python int that the tensor's dtype cannot hold.
        if type(scalar) is int and x.dtype.kind in "iu" and not _fits(scalar, x.dtype):
            raise OverflowError(f"Python integer {scalar} out of bounds for {x.dtype.name}")
        return super()._with_scalar(x, scalar)

    def _compare(self, fn: Callable[[Any, Any], Tensor], x1: Any, x2: Any) -> Tensor:
        # NumPy compares a narrow int tensor with a Python int outside its range.
        if type(x2) is int and type(x1) is not int:
            x1 = self._widen_for(self._tensor(x1), x2)
        elif type(x1) is int and type(x2) is not int:
            x2 = self._widen_for(self._tensor(x2), x1)
        return self._binary(fn, x1, x2)

    def _widen_for(self, x: Tensor, scalar: int) -> Tensor:
        if x.dtype.kind in "iu" and not _fits(scalar, x.dtype) and _fits(scalar, np.dtype(np.int32)):
            return x.astype(jnp.int32)
        return x

    def power(self, x1: Tensor, x2: Tensor) -> Tensor:
        x1, x2 = self._operands(x1, x2)
        if isinstance(x2, jax.Array) and x2.dtype.kind in "iu" and not isinstance(x2, jax.core.Tracer) \
                and x2.size and int(_extremes(x2)[0]) < 0:
            raise ValueError("Integers to negative integer powers are not allowed.")
        return jnp.power(x1, x2)

    def floor_divide(self, x1: Tensor, x2: Tensor) -> Tensor:
        x1, x2 = self._operands(x1, x2)
        out = jnp.floor_divide(x1, x2)
        if out.dtype.kind in "iu":  # NumPy gives 0 for an integer division by zero
            out = jnp.where(x2 == 0, jnp.zeros((), out.dtype), out)
        return out

    # -------------------------------------------------------- variables
    def variable(self, value: Any, dtype: str, trainable: bool, name: str) -> Any:
        if in_abstract_evaluation():  # a concrete array, not a tracer of the shape evaluation
            with jax.ensure_compile_time_eval():
                return super().variable(value, dtype, trainable, name)
        return super().variable(value, dtype, trainable, name)

    def assign(self, handle: Any, value: Tensor) -> Any:
        value = self.convert_to_tensor(value, self._dtype_name(handle.dtype))
        if value.shape != handle.shape:
            raise op_error("assign", f"a value of the variable's shape {tuple(handle.shape)}",
                           f"shape {tuple(value.shape)}")
        return value

    # ------------------------------------------------- autodiff, compile
    def stop_gradient(self, x: Tensor) -> Tensor:
        return jax.lax.stop_gradient(self._tensor(x))

    def value_and_grad(self, fn: Callable[..., Any], has_aux: bool = False) -> Callable[..., Any]:
        grad_fn = jax.value_and_grad(fn, has_aux=has_aux)

        def value_and_grad_fn(params: Sequence[Tensor], *args: Any, **kwargs: Any) -> tuple[Any, list[Tensor]]:
            return grad_fn(list(params), *args, **kwargs)

        return value_and_grad_fn

    def jit(self, fn: Callable[..., Any], donate_argnums: tuple[int, ...] = (),
            jit_compile: Any = "auto") -> Callable[..., Any]:
        if jit_compile is False:  # as Keras 3's JAX trainer: the step runs op by op
            return fn
        return jax.jit(fn, donate_argnums=tuple(donate_argnums))

    # ------------------------------------------------------ shape inference
    def compute_output_spec(self, fn: Callable[[list[Tensor]], list[Any]], specs: Any) -> list[Any]:
        # jax.eval_shape traces ``fn`` without running it; what ``fn`` returns
        # besides arrays (None, Python numbers) is handed back as it is.
        outputs: list[Any] = []

        def arrays_only(inputs: list[Any]) -> list[Any]:
            outputs.extend(fn(list(inputs)))
            return [o for o in outputs if self.is_tensor(o)]

        structs = [jax.ShapeDtypeStruct(tuple(s.shape), self._native_dtype(s.dtype)) for s in specs]
        with abstract_evaluation():
            found = iter(jax.eval_shape(arrays_only, structs))
        return [self._spec(next(found)) if self.is_tensor(o) else o for o in outputs]

    def _spec(self, struct: Any) -> Spec:
        return Spec(tuple(struct.shape), self._dtype_name(struct.dtype))

    # ------------------------------------------------------ math hooks
    def _argsort(self, x: Tensor, axis: int) -> Tensor:
        return jnp.argsort(x, axis=axis, stable=True)

    def abs(self, x: Tensor) -> Tensor:
        x = self._tensor(x)
        if jnp.issubdtype(x.dtype, jnp.floating):
            return x * jnp.sign(x)  # gradient sign(x): 0 at 0, as on the other engines
        return jnp.abs(x)

    def erf(self, x: Tensor) -> Tensor:
        return jax.lax.erf(self._floating(x))

    def top_k(self, x: Tensor, k: int, sorted: bool = True) -> tuple[Tensor, Tensor]:
        x = self._tensor(x)
        self._check_top_k(x, k)
        values, indices = jax.lax.top_k(x, k)
        return values, indices.astype(jnp.int32)

    # ------------------------------------------------- creation, einsum
    def zeros(self, shape: Shape, dtype: str = "float32") -> Tensor:
        return _full(tuple(shape), 0, self._native_dtype(dtype))

    def ones(self, shape: Shape, dtype: str = "float32") -> Tensor:
        return _full(tuple(shape), 1, self._native_dtype(dtype))

    def full(self, shape: Shape, fill_value: Any, dtype: str = "float32") -> Tensor:
        return _full(tuple(shape), fill_value, self._native_dtype(dtype))

    def zeros_like(self, x: Tensor, dtype: str | None = None) -> Tensor:
        x = self._tensor(x)
        return _full(x.shape, 0, x.dtype if dtype is None else self._native_dtype(dtype))

    def ones_like(self, x: Tensor, dtype: str | None = None) -> Tensor:
        x = self._tensor(x)
        return _full(x.shape, 1, x.dtype if dtype is None else self._native_dtype(dtype))

    def arange(self, start: Any, stop: Any = None, step: Any = 1, dtype: str | None = None) -> Tensor:
        # NumPy's own arange on the host (the reference numbers), then one transfer.
        return jnp.asarray(NumpyCore.arange(_HOST, start, stop, step, dtype),
                           dtype=None if dtype is None else self._native_dtype(dtype))

    # Matrix products in full float32 precision (no TF32 on GPUs), unless the
    # user chose a default with jax.config's jax_default_matmul_precision.
    def matmul(self, x1: Tensor, x2: Tensor) -> Tensor:
        if not (type(x1) is ArrayImpl and type(x2) is ArrayImpl and x1.dtype == x2.dtype):
            x1, x2 = self._operands(x1, x2)
        return jnp.matmul(x1, x2, precision=precision())

    def dot(self, x1: Tensor, x2: Tensor) -> Tensor:
        x1, x2 = self._operands(self._tensor(x1), self._tensor(x2))
        return jnp.dot(x1, x2, precision=precision())

    def tensordot(self, x1: Tensor, x2: Tensor, axes: Any = 2) -> Tensor:
        x1, x2 = self._operands(self._tensor(x1), self._tensor(x2))
        return jnp.tensordot(x1, x2, axes=axes, precision=precision())

    def einsum(self, subscripts: str, *operands: Tensor, optimize: Any = None) -> Tensor:
        if optimize is not None:  # JAX's own search unless asked for another
            return _einsum(subscripts, *self._promote(*(self._tensor(x) for x in operands)), precision=precision(),
                           optimize=optimize)
        promoted = self._promote(*(self._tensor(x) for x in operands))
        return _einsum(subscripts, *promoted, precision=precision())

    # ---------------------------------------------------------- indexing
    def _check_bounds(self, op: str, indices: Tensor, length: int) -> None:
        """Refuse out-of-range indices where their values are known (outside
        ``jit``; inside, JAX fills out-of-range gathers)."""
        if isinstance(indices, jax.core.Tracer) or indices.size == 0:
            return
        low, high = (int(v) for v in np.asarray(_extremes(indices)))
        if low < -length or high >= length:
            raise op_error(op, f"indices in [-{length}, {length})", f"indices from {low} to {high}")

    def take(self, x: Tensor, indices: Tensor, axis: int | None = None) -> Tensor:
        x, indices = self._tensor(x), self._tensor(indices)
        self._check_bounds("take", indices, x.size if axis is None else x.shape[axis])
        return _take(x, indices, axis)

    def take_along_axis(self, x: Tensor, indices: Tensor, axis: int) -> Tensor:
        x, indices = self._tensor(x), self._tensor(indices)
        self._check_bounds("take_along_axis", indices, x.shape[axis])
        return _take_along_axis(x, indices, axis)

    def scatter(self, indices: Tensor, values: Tensor, shape: Sequence[int]) -> Tensor:
        shape = tuple(int(d) for d in shape)
        indices = self._indices(indices, len(shape), "scatter")
        return _scatter_add(indices, self._tensor(values), shape)

    def scatter_update(self, x: Tensor, indices: Tensor, updates: Tensor) -> Tensor:
        x = self._tensor(x)
        indices = self._indices(indices, x.ndim, "scatter_update")
        return _scatter_set(x, indices, self.cast(updates, self._dtype_name(x.dtype)))

    def _starts(self, x: Tensor, start_indices: Sequence[Any], block: Sequence[int], op: str) -> tuple:
        if len(start_indices) != x.ndim or len(block) != x.ndim:
            raise op_error(op, f"{x.ndim} start indices and block sizes (one per axis)",
                           f"{len(start_indices)} start indices and block shape {tuple(block)}")
        return tuple(s.astype(jnp.int32) if isinstance(s, jax.Array) else int(s) for s in start_indices)

    def slice(self, x: Tensor, start_indices: Sequence[Any], shape: Sequence[int]) -> Tensor:
        x = self._tensor(x)
        shape = tuple(int(d) for d in shape)
        return _dynamic_slice(x, self._starts(x, start_indices, shape, "slice"), shape)

    def slice_update(self, x: Tensor, start_indices: Sequence[Any], updates: Tensor) -> Tensor:
        x = self._tensor(x)
        updates = self.cast(updates, self._dtype_name(x.dtype))
        return _dynamic_update_slice(x, updates, self._starts(x, start_indices, updates.shape, "slice_update"))


def kernel(fn: Callable[..., Any] | None = None, **options: Any) -> Any:
    """``fn`` compiled by ``jax.jit(fn, **options)`` for eager calls, and
    ``fn`` itself when a positional argument is being traced (tensors go by
    position; keyword arguments are static settings).

    Eagerly, the compiled kernel is one XLA dispatch instead of one per
    primitive. Under an enclosing trace a nested jit would stay one opaque
    call that JAX differentiates as a unit, and the backward pass it builds
    runs slower than the same code inlined (a small convolution network's
    gradient: about 7% slower on the CPU with its convolutions nested).

    Example:
        >>> @kernel(static_argnums=1)
        ... def _sum(x, axis): return jnp.sum(x, axis)
    """
    if fn is None:
        return partial(kernel, **options)
    compiled = jax.jit(fn, **options)

    @wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        for arg in args:
            if isinstance(arg, jax.core.Tracer):
                return fn(*args, **kwargs)
        return compiled(*args, **kwargs)

    return call


def precision() -> Any:
    """The precision of matrix products and convolutions: HIGHEST (true
    float32, as the other engines compute) unless the user set JAX's
    ``jax_default_matmul_precision``, which then rules.

    Example: ``jnp.matmul(a, b, precision=precision())``
    """
    # jax.config's flags are attributes made at run time, absent from its type stubs.
    return None if jax.config.jax_default_matmul_precision else jax.lax.Precision.HIGHEST  # type: ignore[attr-defined]


_HOST = NumpyBackend()
_einsum = kernel(jnp.einsum, static_argnums=0, static_argnames=("precision", "optimize"))
_take = kernel(jnp.take, static_argnums=2)
_take_along_axis = kernel(jnp.take_along_axis, static_argnums=2)


def _fits(value: int, dtype: Any) -> bool:
    info = _IINFO.get(dtype)
    if info is None:
        info = _IINFO[dtype] = np.iinfo(dtype)
    return info.min <= value <= info.max


_IINFO: dict[Any, Any] = {}


@jax.jit
def _extremes(indices: Tensor) -> Tensor:
    return jnp.stack([jnp.min(indices), jnp.max(indices)])


@partial(jax.jit, static_argnums=(0, 2))
def _full(shape: Shape, fill_value: Any, dtype: Any) -> Tensor:
    return jnp.full(shape, fill_value, dtype)


def _index(indices: Tensor) -> tuple:
    return tuple(indices[..., i] for i in range(indices.shape[-1]))


@kernel(static_argnums=2)
def _scatter_add(indices: Tensor, values: Tensor, shape: Shape) -> Tensor:
    return jnp.zeros(shape, values.dtype).at[_index(indices)].add(values)


@kernel
def _scatter_set(x: Tensor, indices: Tensor, updates: Tensor) -> Tensor:
    return x.at[_index(indices)].set(updates)


@kernel(static_argnums=2)
def _dynamic_slice(x: Tensor, starts: tuple, shape: Shape) -> Tensor:
    return jax.lax.dynamic_slice(x, starts, shape)


@kernel
def _dynamic_update_slice(x: Tensor, updates: Tensor, starts: tuple) -> Tensor:
    return jax.lax.dynamic_update_slice(x, updates, starts)
