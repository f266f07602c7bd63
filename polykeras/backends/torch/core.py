"""Tensors, dtypes, devices and variables for the PyTorch engine, plus the
conversion and promotion helpers every other module of the engine uses.

The happy path of an op is "native tensors of one dtype": it is recognised with
``type(x) is torch.Tensor`` and a dtype identity check, and goes straight to the
torch kernel. Everything else (NumPy arrays, Python scalars, nested lists, mixed
dtypes) goes through :func:`pair` / :func:`to_tensor`, which implement the
protocol's conversion and promotion rules (Python scalars are weak; two tensors
promote with :func:`polykeras.backends.dtypes.result_type`).
"""

from __future__ import annotations

import contextlib
import contextvars
import sys
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeGuard

import numpy as np
import torch

if TYPE_CHECKING:
    from torch.distributed.tensor import DTensor

from polykeras.backends import dtypes as _dtypes
from polykeras.backends.base import Spec, abstract_evaluation, in_abstract_evaluation

T = torch.Tensor
#: canonical dtype string -> torch dtype, and back.
TO_TORCH: dict[str, torch.dtype] = {name: getattr(torch, name) for name in _dtypes.DTYPES}
FROM_TORCH: dict[torch.dtype, str] = {value: key for key, value in TO_TORCH.items()}
FLOATS = frozenset({torch.float16, torch.bfloat16, torch.float32, torch.float64})
INEXACT = FLOATS | {torch.complex64, torch.complex128}
INTS = frozenset({torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64})
_SCALARS = (bool, int, float, complex)
_INT32 = np.iinfo(np.int32)

#: Device new tensors are placed on (None: torch's default, the CPU).
_device: contextvars.ContextVar[torch.device | None] = contextvars.ContextVar("polykeras_torch_device", default=None)


def torch_dtype(dtype: Any) -> torch.dtype:
    """The torch dtype for a dtype string, NumPy dtype or torch dtype.

    Example: ``torch_dtype("float32")`` -> ``torch.float32``
    """
    try:
        return TO_TORCH[dtype]
    except (KeyError, TypeError):
        return TO_TORCH[_dtypes.standardize_dtype(dtype)]


def float_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype a float-valued op returns for inputs of ``dtype``: floats keep
    theirs, int64 gives float64, other ints and bool float32."""
    if dtype in INEXACT:
        return dtype
    return torch.float64 if dtype is torch.int64 else torch.float32


def _from_python(x: Any) -> np.ndarray:
    """Python data (scalars, nested lists) as NumPy with the protocol's defaults:
    floats float32, ints int32 (int64 when a value does not fit), bools bool."""
    array = np.asarray(x)
    if array.dtype == np.float64:
        return array.astype(np.float32)
    if array.dtype == np.complex128:
        return array.astype(np.complex64)
    if array.dtype.kind == "i" and array.dtype != np.int32:
        if array.size == 0 or (array.min() >= _INT32.min and array.max() <= _INT32.max):
            return array.astype(np.int32)
        return array.astype(np.int64)
    return array


def _from_numpy(array: np.ndarray) -> T:
    if array.dtype.name == "bfloat16":  # ml_dtypes
        return torch.from_numpy(array.view(np.int16).copy()).view(torch.bfloat16).to(device=_device.get())
    if array.dtype.kind not in "biufc":
        raise TypeError(f"expected numeric data, received an array of dtype {array.dtype}")
    # A C-ordered copy: torch refuses negative strides, and the tensor must not
    # share memory with an array the caller may still write.
    out = torch.from_numpy(np.array(array, order="C", copy=True))
    device = _device.get()
    return out if device is None else out.to(device)


def _dtensor() -> Any:
    """``torch.distributed.tensor`` if imported (a fully sharded run imports it), else None."""
    return sys.modules.get("torch.distributed.tensor")


def is_dtensor(x: Any) -> TypeGuard[DTensor]:
    """True for a ``DTensor`` (a shard of a fully sharded run's variable)."""
    module = _dtensor()
    return module is not None and isinstance(x, module.DTensor)


def to_tensor(x: Any, dtype: Any = None) -> T:
    """A torch tensor from a tensor, array, scalar or nested list (see
    ``Backend.convert_to_tensor``).

    Example: ``to_tensor([1, 2]).dtype`` -> ``torch.int32``
    """
    if type(x) is T or isinstance(x, T):
        return x if dtype is None else x.to(torch_dtype(dtype))
    if dtype is not None:
        dtype = torch_dtype(dtype)
    if isinstance(x, np.ndarray) or isinstance(x, np.generic):
        out = _from_numpy(np.asarray(x))
    elif type(x) in _SCALARS:
        if dtype is not None:
            return torch.tensor(x, dtype=dtype, device=_device.get())
        out = _from_numpy(_from_python(x))
    elif isinstance(x, (list, tuple)) and _holds_tensor(x):
        parts = [to_tensor(item) for item in x]
        common = torch_dtype(_dtypes.result_type(*(FROM_TORCH[p.dtype] for p in parts)))
        out = torch.stack([p.to(common) for p in parts])
    elif isinstance(x, (list, tuple)):
        out = _from_numpy(_from_python(x))
    elif hasattr(x, "__array__") or hasattr(x, "__array_interface__"):
        out = _from_numpy(np.asarray(x))  # another framework's tensor
    else:
        raise TypeError(f"expected a tensor, array, scalar or nested list, received {type(x).__name__}")
    return out if dtype is None else out.to(dtype)


def _holds_tensor(items: Sequence[Any]) -> bool:
    return any(isinstance(item, T) or (isinstance(item, (list, tuple)) and _holds_tensor(item)) for item in items)


#: The range of each integer dtype, to refuse Python ints that do not fit (as NumPy does).
_INT_RANGE = {dtype: (torch.iinfo(dtype).min, torch.iinfo(dtype).max) for dtype in INTS}


def _fit(dtype: torch.dtype, scalar: int, widen: bool) -> torch.dtype:
    """``dtype``, or a wider one when ``widen`` and the Python int does not fit
    it; raises ``OverflowError`` (NumPy's error) when it does not fit otherwise."""
    low, high = _INT_RANGE[dtype]
    if low <= scalar <= high:
        return dtype
    if widen:
        return torch.int64 if -(2**63) <= scalar < 2**63 else torch.float64
    raise OverflowError(f"Python integer {scalar} out of bounds for {FROM_TORCH[dtype]}")


def _weak(dtype: torch.dtype, scalar: Any) -> torch.dtype:
    """The dtype a tensor of ``dtype`` takes when it meets a Python scalar."""
    kind = type(scalar)
    if kind is float:
        return dtype if dtype in INEXACT else torch.float32
    if kind is int:
        return torch.int32 if dtype is torch.bool else dtype
    if kind is complex:
        if dtype.is_complex:
            return dtype
        return torch.complex128 if dtype is torch.float64 else torch.complex64
    return dtype


def _scalar_pair(x1: Any, x2: Any) -> tuple[T, T]:
    kinds = {type(x1), type(x2)}
    kind = complex if complex in kinds else float if float in kinds else int if int in kinds else bool
    dtype = {complex: torch.complex64, float: torch.float32, int: torch.int32, bool: torch.bool}[kind]
    return to_tensor(x1, dtype), to_tensor(x2, dtype)


def pair(x1: Any, x2: Any, scalars: bool = True, widen: bool = False) -> tuple[Any, Any]:
    """Two operands ready for a torch binary kernel, following the protocol's
    promotion: a Python scalar is weak (the tensor keeps its dtype unless the
    scalar's kind is higher); two tensors promote with ``result_type``.
    With ``scalars=False`` a Python scalar comes back as a tensor too. A Python
    int outside an integer tensor's range raises ``OverflowError`` as in NumPy,
    or (``widen=True``, for comparisons) widens the tensor.

    Example: ``pair(torch.ones(2, dtype=torch.int32), 2.5)`` -> (float32 tensor, 2.5)
    """
    s1, s2 = type(x1) in _SCALARS, type(x2) in _SCALARS
    if s1 and s2:
        return _scalar_pair(x1, x2)
    if s1 or s2:
        tensor, scalar = (to_tensor(x2), x1) if s1 else (to_tensor(x1), x2)
        dtype = _weak(tensor.dtype, scalar)
        if type(scalar) is bool and dtype is not torch.bool:
            scalar = int(scalar)  # torch refuses bools in arithmetic; NumPy reads them as 0/1
        if type(scalar) is int and dtype in INTS:
            dtype = _fit(dtype, scalar, widen)
        if dtype is not tensor.dtype:
            tensor = tensor.to(dtype)
        if not scalars:
            scalar = torch.tensor(scalar, dtype=dtype, device=tensor.device)
        return (scalar, tensor) if s1 else (tensor, scalar)
    x1, x2 = to_tensor(x1), to_tensor(x2)
    if x1.dtype is not x2.dtype:
        dtype = promote(x1.dtype, x2.dtype)
        x1, x2 = x1.to(dtype), x2.to(dtype)
    return x1, x2


_PROMOTED: dict[tuple[torch.dtype, ...], torch.dtype] = {}


def promote(*dtypes: torch.dtype) -> torch.dtype:
    """``result_type`` on torch dtypes (cached). Example: ``promote(torch.int64, torch.float32)`` -> float64"""
    try:
        return _PROMOTED[dtypes]
    except KeyError:
        out = _PROMOTED[dtypes] = TO_TORCH[_dtypes.result_type(*(FROM_TORCH[d] for d in dtypes))]
        return out


def tensors(xs: Sequence[Any]) -> list[T]:
    """A sequence of array-likes as tensors of one promoted dtype."""
    parts = [x if type(x) is T else to_tensor(x) for x in xs]
    if not parts:
        return parts
    first = parts[0].dtype
    if any(p.dtype is not first for p in parts):
        common = promote(*{p.dtype for p in parts})
        parts = [p.to(common) for p in parts]
    return parts


def floating(x: Any) -> T:
    """``x`` as a tensor of a float dtype (see :func:`float_dtype`)."""
    if type(x) is not T:
        x = to_tensor(x)
    if x.dtype in INEXACT:
        return x
    return x.to(float_dtype(x.dtype))


def axes(axis: Any, ndim: int) -> tuple[int, ...]:
    """``axis`` (int, sequence or None) as a tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (list, tuple)):
        out = tuple(int(a) + ndim if int(a) < 0 else int(a) for a in axis)
    else:
        axis = int(axis)
        out = (axis + ndim if axis < 0 else axis,)
    for a in out:
        if not 0 <= a < max(ndim, 1):
            raise ValueError(f"axis {axis!r} is out of range for a tensor of rank {ndim}")
    if len(set(out)) != len(out):
        raise ValueError(f"axis {axis!r} repeats an axis")
    return out


def to_int(value: Any) -> int:
    """A Python int from an int, NumPy scalar or 0-d tensor; a symbolic size
    (``torch.SymInt``, a dynamic dimension under ``torch.export``) stays symbolic."""
    if type(value) is int:
        return value
    if isinstance(value, torch.SymInt):
        return value  # type: ignore[return-value]
    return int(value.item()) if isinstance(value, T) else int(value)


def shape_tuple(shape: Any) -> tuple[int, ...]:
    """A shape (int, sequence of ints or of 0-d tensors) as a tuple of ints."""
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    if isinstance(shape, T):
        return tuple(int(d) for d in shape.tolist())
    return tuple(to_int(d) for d in shape)


def parse_device(device: str) -> torch.device:
    """A torch device from a polykeras device name ("cpu:0", "gpu:1", "cuda:0",
    "/device:CPU:0"); refuses devices this machine does not have.

    Example: ``parse_device("gpu:0")`` -> ``device(type='cuda', index=0)``
    """
    name = str(device).lower().removeprefix("/").removeprefix("device:")
    kind, _, index = name.partition(":")
    kind = {"gpu": "cuda"}.get(kind, kind)
    present = CoreMixin.list_devices(None)  # type: ignore[arg-type]
    label = f"{'gpu' if kind == 'cuda' else kind}:{index or 0}"
    if label not in present or not (index or "0").isdigit():
        raise ValueError(f"Unknown device {device!r}. Expected one of: {', '.join(present)}.")
    if kind == "cpu":
        return torch.device("cpu")
    return torch.device(kind, int(index or 0))


class CoreMixin:
    """Meta, tensors, creation and variables of :class:`TorchBackend`.

    Example: ``B.get("torch").variable([1.0, 2.0], "float32", True, "w").requires_grad`` -> True
    """

    def version(self) -> str:
        return torch.__version__

    def list_devices(self) -> list[str]:
        out = ["cpu:0"]
        if torch.cuda.is_available():
            out += [f"gpu:{i}" for i in range(torch.cuda.device_count())]
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            out.append("mps:0")
        return out

    @contextlib.contextmanager
    def device_scope(self, device: str) -> Iterator[None]:
        token = _device.set(parse_device(device))
        try:
            yield
        finally:
            _device.reset(token)

    # ---------------------------------------------------------------- tensors
    def is_tensor(self, x: Any) -> bool:
        return isinstance(x, T)

    def convert_to_tensor(self, x: Any, dtype: str | None = None) -> T:
        if type(x) is T and dtype is None:
            return x
        return to_tensor(x, dtype)

    def to_numpy(self, x: Any) -> np.ndarray:
        if not isinstance(x, T):
            return np.asarray(to_tensor(x).numpy())
        x = x.detach()
        if is_dtensor(x):  # a shard: every rank gathers the whole value
            x = x.full_tensor().detach()
        if x.device.type != "cpu":
            x = x.cpu()
        if x.dtype is torch.bfloat16:
            try:
                import ml_dtypes
            except ImportError:
                return x.float().numpy()
            return x.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
        return x.resolve_conj().numpy().copy()  # a copy: variables are written in place

    def shape(self, x: Any) -> tuple[int, ...]:
        if not isinstance(x, T):
            x = to_tensor(x)
        return tuple(x.shape)

    def dtype(self, x: Any) -> str:
        if not isinstance(x, T):
            x = to_tensor(x)
        return FROM_TORCH[x.dtype]

    def cast(self, x: Any, dtype: str) -> T:
        if type(x) in (int, float, bool):  # a Python number, made at the target dtype (not through float32)
            return torch.tensor(x, dtype=torch_dtype(dtype), device=_device.get())
        if type(x) is not T:
            x = to_tensor(x)
        return x.to(torch_dtype(dtype))

    # --------------------------------------------------------------- creation
    def zeros(self, shape: Any, dtype: str = "float32") -> T:
        return torch.zeros(shape_tuple(shape), dtype=torch_dtype(dtype), device=_device.get())

    def ones(self, shape: Any, dtype: str = "float32") -> T:
        return torch.ones(shape_tuple(shape), dtype=torch_dtype(dtype), device=_device.get())

    def full(self, shape: Any, fill_value: Any, dtype: str = "float32") -> T:
        shape = shape_tuple(shape)
        if isinstance(fill_value, (T, np.ndarray, list, tuple)):
            value = to_tensor(fill_value, dtype)
            return torch.broadcast_to(value, shape).clone()
        return torch.full(shape, fill_value, dtype=torch_dtype(dtype), device=_device.get())

    def zeros_like(self, x: Any, dtype: str | None = None) -> T:
        x = x if type(x) is T else to_tensor(x)
        return torch.zeros_like(x, dtype=None if dtype is None else torch_dtype(dtype))

    def ones_like(self, x: Any, dtype: str | None = None) -> T:
        x = x if type(x) is T else to_tensor(x)
        return torch.ones_like(x, dtype=None if dtype is None else torch_dtype(dtype))

    def arange(self, start: Any, stop: Any = None, step: Any = 1, dtype: str | None = None) -> T:
        start, stop, step = (v.item() if isinstance(v, T) else v for v in (start, stop, step))
        if stop is None:
            start, stop = 0, start
        if dtype is None:
            values = (start, stop, step)
            dtype = "float32" if any(isinstance(v, (float, np.floating)) for v in values) else "int32"
        native = torch_dtype(dtype)
        # Computed in float64 (as NumPy does) then cast, so lengths and values match NumPy.
        work = torch.float64 if native in FLOATS else torch.int64
        if step != 0 and (stop - start) * step <= 0:  # an empty range, as NumPy (torch raises)
            return torch.empty((0,), dtype=native, device=_device.get())
        out = torch.arange(start, stop, step, dtype=work, device=_device.get())
        return out.to(native)

    def eye(self, n: int, m: int | None = None, dtype: str = "float32") -> T:
        n = to_int(n)
        m = n if m is None else to_int(m)
        return torch.eye(n, m, dtype=torch_dtype(dtype), device=_device.get())

    # --------------------------------------------------------------- variables
    def variable(self, value: Any, dtype: str, trainable: bool, name: str) -> T:
        if in_abstract_evaluation():  # a real tensor, not a fake one of the shape evaluation
            from torch._subclasses.fake_tensor import unset_fake_temporarily

            with unset_fake_temporarily():
                return self._variable(value, dtype, trainable)
        return self._variable(value, dtype, trainable)

    def _variable(self, value: Any, dtype: str, trainable: bool) -> T:
        tensor = to_tensor(value, dtype).detach().clone()
        if trainable and tensor.dtype in INEXACT:
            tensor.requires_grad_(True)
        # ``isinstance(tensor, nn.Parameter)`` holds while its type stays
        # torch.Tensor (the fast paths' test): torch.optim and nn.Module take it.
        tensor._is_param = True
        return tensor

    # --------------------------------------------------------- shape inference
    def compute_output_spec(self, fn: Any, specs: Any) -> list[Any]:
        # Fake tensors carry shape, dtype and device and run no kernel; real
        # tensors met on the way (variable handles, constants) are faked on
        # entry, so reads of existing variables need no special care.
        from torch._subclasses.fake_tensor import FakeTensorMode

        with abstract_evaluation(), FakeTensorMode(allow_non_fake_inputs=True), torch.no_grad():
            inputs = [torch.empty(tuple(s.shape), dtype=torch_dtype(s.dtype), device=_device.get()) for s in specs]
            outputs = fn(inputs)
            return [Spec(tuple(o.shape), FROM_TORCH[o.dtype]) if isinstance(o, T) else o for o in outputs]

    def assign(self, handle: T, value: Any) -> T:
        if value is handle:  # written in place already (a compiled step's donated state)
            return handle
        if type(value) is not T:
            value = to_tensor(value)
        if value.shape != handle.shape:
            raise ValueError(
                f"assign: expected a value of shape {tuple(handle.shape)} (the variable's), "
                f"received shape {tuple(value.shape)}"
            )
        with torch.no_grad():
            if is_dtensor(handle):  # a shard (fully sharded data parallelism): write its rows
                if not is_dtensor(value):
                    value = _dtensor().distribute_tensor(value, handle.device_mesh, handle.placements,
                                                         src_data_rank=None)
                handle.to_local().copy_(value.to_local())
            else:
                handle.copy_(value)
        return handle
