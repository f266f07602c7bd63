"""The backend protocol: the typed contract every tensor engine implements.

An engine subclasses :class:`Backend` and implements every ``@abstractmethod``
(the primitives). The concrete methods here are *composites*: portable
definitions written with the primitives. An engine may override a composite with
a native kernel; ``polykeras.backends.composite()`` forces the definitions below
so the conformance suite can compare the two.

Conventions, shared by every method:

* Tensors in, tensors out. Inputs may also be NumPy arrays, Python scalars or
  nested lists; an engine converts them with ``convert_to_tensor``. Python
  scalars are "weak": they take the dtype of the tensor they meet.
* dtypes are the strings of :mod:`polykeras.backends.dtypes` at this boundary.
* Shapes are tuples of ints. ``axis`` may be an int, a tuple of ints or None
  (all axes) and accepts negative values; ``keepdims`` as in NumPy.
* Spatial ops are channels_last unless ``data_format="channels_first"``.
  Kernels follow Keras 3: ``spatial... + (in_channels // groups, filters)``.
  ``padding`` is ``"valid"`` or ``"same"`` (``"causal"`` is handled by
  ``polykeras.ops``); "same" pads like TensorFlow (the extra cell at the end).
* A ``seed`` is an engine tensor of two uint32 values (see
  ``polykeras.random.SeedGenerator``); the same seed gives the same draw on the
  same engine, and a traced seed works inside ``jit``.
* Bad input raises ``ValueError``/``TypeError`` naming the op, what it expected
  and what it received (see :func:`op_error`); never a silent wrong result.
"""

from __future__ import annotations

import abc
import contextlib
import contextvars
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from polykeras.backends import recurrent as _recurrent
from polykeras.backends.attention import AttentionComposites
from polykeras.backends.control_flow import ControlFlowComposites
from polykeras.backends.exporting import ExportHooks
from polykeras.backends.linalg_extra import LinalgExtraComposites
from polykeras.backends.long_tail import LongTailComposites
from polykeras.backends.numpy_family import NumpyFamily
from polykeras.backends.signal import SignalComposites
from polykeras.backends.training_hooks import TrainingHooks

Tensor = Any
Shape = tuple[int, ...]
Axis = int | tuple[int, ...] | None


@dataclass(frozen=True)
class Spec:
    """The shape and dtype of a tensor without its values (a leaf, unlike a
    tuple). ``None`` in ``shape`` is an unknown size.

    Example: ``Spec((None, 8), "float32")``
    """

    shape: tuple[int | None, ...]
    dtype: str


_abstract: contextvars.ContextVar[bool] = contextvars.ContextVar("polykeras_abstract", default=False)


def in_abstract_evaluation() -> bool:
    """True inside :meth:`Backend.compute_output_spec`: engines then create
    variables on the host, outside the abstract trace (a layer built lazily
    during the evaluation gets real weights).

    Example: ``if in_abstract_evaluation(): ...``
    """
    return _abstract.get()


@contextlib.contextmanager
def abstract_evaluation() -> Iterator[None]:
    """Mark the block as an abstract evaluation (see :func:`in_abstract_evaluation`).

    Example:
        >>> with abstract_evaluation():
        ...     outputs = fn(abstract_inputs)
    """
    token = _abstract.set(True)
    try:
        yield
    finally:
        _abstract.reset(token)


class EngineUnusableError(RuntimeError):
    """The engine cannot run in this process as it stands (JAX in a process
    forked after its runtime started); the message says why and what to do
    instead. Ops pass it through unchanged.

    Example: ``raise EngineUnusableError("The jax engine cannot run in this process: ...")``
    """


def op_error(op: str, expected: str, received: str) -> ValueError:
    """The one shape of an op's input error: what it expected, what it got."""
    return ValueError(f"{op}: expected {expected}, received {received}.")


def replica_reduced_state(state: Sequence[Any]) -> tuple[list[Any], list[Any]]:
    """The step state that data-parallel replicas reduce after each step:
    ``(summed, averaged)``. Metric state (``aggregation="sum"``) is summed;
    other non-trainable float state that is not kept equal by identical
    updates (``synchronization="on_write"``, as optimizer slots), such as
    BatchNormalization's moving statistics, is averaged.

    Example: ``summed, averaged = replica_reduced_state(model.variables)``
    """
    summed, averaged = [], []
    for v in state:
        if v.trainable:
            continue
        if v.aggregation == "sum":
            summed.append(v)
        elif (v.aggregation in ("none", "mean") and v.synchronization != "on_write"
              and v.dtype.startswith(("float", "bfloat"))):
            averaged.append(v)
    return summed, averaged


def reduce_present(grads: list[Any], reduce: Callable[[list[Any]], list[Any]],
                   reduced: Callable[[Any], bool] | None = None) -> list[Any]:
    """``grads`` with its entries that are not None replaced, in order, by
    ``reduce`` of them (a variable without a gradient keeps None, and so does
    a gradient for which ``reduced(g)`` says it is reduced already).

    Example: ``reduce_present([g0, None, g2], all_reduce)`` -> ``[r0, None, r2]``
    """
    present = [i for i, g in enumerate(grads) if g is not None and (reduced is None or not reduced(g))]
    out = list(grads)
    for i, g in zip(present, reduce([grads[i] for i in present]) if present else []):
        out[i] = g
    return out


class DistributionHooks:
    """Data-parallel hooks an engine may implement (``polykeras.distribution``
    calls them; the trainer calls :meth:`distribute_step` and
    :meth:`all_reduce_gradients`). Kept out of :class:`Backend`'s own namespace
    so they are not listed as op composites. The defaults mean "one process,
    no distribution": identity hooks, and a clear ``NotImplementedError`` for
    what the engine cannot do.
    """

    name: str = ""

    def distribution_devices(self, device_type: str | None = None) -> list[str]:
        """Devices a distribution may use, e.g. ``["cpu:0", "cpu:1"]``: those of
        ``device_type``, else of the default type (the accelerators when there
        are any, else the CPUs), never a mix, as Keras 3's ``list_devices``."""
        devices = self.list_devices()  # type: ignore[attr-defined]
        if device_type is None:
            accelerators = [d for d in devices if d.split(":")[0] != "cpu"]
            return accelerators or [d for d in devices if d.split(":")[0] == "cpu"]
        return [d for d in devices if d.split(":")[0] == device_type.lower()]

    def distribute_tensor(self, value: Any, devices: np.ndarray, axis_names: Sequence[str],
                          axes: Sequence[str | None]) -> Any:
        """``value`` laid out over the device mesh ``devices`` (an array of
        device names, one mesh axis per dimension, named ``axis_names``): each
        tensor dimension ``i`` split over mesh axis ``axes[i]``, replicated
        where it is None. Inside a compiled function, a constraint on the
        layout. The default places it on a mesh of one device (every layout of
        one device is the whole value there) and raises ``NotImplementedError``
        for a mesh of several.

        Example: ``engine.distribute_tensor(x, np.array(["cpu:0"]), ("batch",), ("batch", None))``
        """
        names = [str(d) for d in np.ravel(devices)]
        if len(names) != 1:
            raise NotImplementedError(
                f"The {self.name!r} engine cannot lay a tensor out over a mesh of {len(names)} devices "
                f"(polykeras.distribution.distribute_tensor over {names}); it places tensors on one device. "
                "Use the jax engine for sharded tensors.")
        known = self.list_devices()  # type: ignore[attr-defined]
        if names[0] not in known:
            raise ValueError(f"distribute_tensor: expected a mesh of this engine's devices {known}, "
                             f"received {names}.")
        with self.device_scope(names[0]):  # type: ignore[attr-defined]
            return self.convert_to_tensor(value)  # type: ignore[attr-defined]

    def native_mesh(self, devices: np.ndarray, axis_names: Sequence[str]) -> Any:
        """The framework's own device mesh (``DeviceMesh.backend_mesh``): JAX's
        ``jax.sharding.Mesh``. Engines without one raise ``NotImplementedError``."""
        raise NotImplementedError(f"The {self.name!r} engine has no native device mesh "
                                  "(polykeras.distribution.DeviceMesh.backend_mesh); use the jax engine.")

    def native_layout(self, devices: np.ndarray, axis_names: Sequence[str], axes: Sequence[str | None]) -> Any:
        """The framework's own sharding of a layout (``TensorLayout.backend_layout``):
        JAX's ``NamedSharding``. Engines without one raise ``NotImplementedError``."""
        raise NotImplementedError(f"The {self.name!r} engine has no native tensor layout "
                                  "(polykeras.distribution.TensorLayout.backend_layout); use the jax engine.")

    def enter_model_parallel(self, devices: np.ndarray, axis_names: Sequence[str], batch_axis: str,
                             variable_axes: Callable[[Any], Sequence[str | None] | None]) -> Any:
        """Make model-parallel training active (``ModelParallel``): the mesh
        ``devices`` with ``axis_names``; every batch split on ``batch_axis``;
        each variable laid out as ``variable_axes(variable)`` says (None:
        replicated). Returns a token for :meth:`exit_data_parallel`."""
        raise NotImplementedError(f"The {self.name!r} engine does not support model parallelism "
                                  "(polykeras.distribution.ModelParallel); use the jax engine.")

    def distribution_initialize(self, coordinator_address: str, num_processes: int, process_id: int,
                                timeout: float, job_addresses: Sequence[str] | None = None) -> None:
        """Join a multi-process run (blocks until every peer joined or ``timeout`` seconds).
        ``job_addresses``: every process's address when the user gave them all
        (process 0's is ``coordinator_address``)."""
        raise NotImplementedError(f"The {self.name!r} engine does not support multi-process distribution "
                                  "(polykeras.distribution.initialize); use the jax or torch engine.")

    def distribution_shutdown(self) -> None:
        """Leave the multi-process run joined by :meth:`distribution_initialize`."""

    def distribution_barrier(self) -> None:
        """Block until every process of the run reached this call (no-op when alone)."""

    def process_index(self) -> int:
        """This process's rank in a multi-process run (0 when alone)."""
        return 0

    def process_count(self) -> int:
        """The number of processes in the run (1 when alone)."""
        return 1

    def enter_data_parallel(self, devices: Sequence[str], sharded: bool = False) -> Any:
        """Make data-parallel training over ``devices`` active; returns a token for
        :meth:`exit_data_parallel`. ``sharded=True`` (fully sharded data
        parallelism): each replica stores only its shard of the trainable
        variables and optimizer slots."""
        what = "FullyShardedDataParallel" if sharded else "DataParallel"
        raise NotImplementedError(f"The {self.name!r} engine does not support data-parallel training "
                                  f"(polykeras.distribution.{what}); use the jax or torch engine.")

    def exit_data_parallel(self, token: Any) -> None:
        """Undo :meth:`enter_data_parallel` (restore what ``token`` names)."""

    def distribute_step(self, fn: Callable[[Any], Any], state: Sequence[Any],
                        refresh_logs: Callable[[Any], Any] | None = None,
                        gather_outputs: bool = False) -> Callable[[Any], Any]:
        """``fn(batch) -> logs`` wrapped to run data-parallel while a distribution
        is active: the batch (the global batch) split or sharded over replicas,
        ``state`` kept replicated, metric state (``aggregation="sum"``) summed and
        other non-trainable state averaged across replicas, then the logs passed
        through ``refresh_logs``. ``gather_outputs=True`` (predict): ``fn``
        returns rows of the batch; the replicas' rows are concatenated in batch
        order, and every process gets the whole batch's outputs. Identity by
        default."""
        return fn

    def replica_weight(self) -> float | None:
        """Inside a data-parallel step, this replica's share of the global batch
        times the number of replicas: the weight that makes per-replica means
        (the loss tracker's) sum to the global batch's mean. None (weight 1) by
        default and where the compiler reduces."""
        return None

    def replica_sum(self, tensors: list[Any]) -> list[Any]:
        """Inside a data-parallel step, each tensor summed over the replicas,
        differentiably (synchronised BatchNormalization's statistics). Identity
        by default, and where the step already sees the global batch (JAX)."""
        return tensors

    def holds_part(self, value: Any) -> bool:
        """True for a value this process holds only a part of (fully sharded
        data parallelism): reading it whole is a collective.

        Example: ``engine.holds_part(layer.kernel.value)`` -> ``False`` outside such a run
        """
        return False

    def gather_whole(self, values: list[Any]) -> list[Any]:
        """The whole of each of ``values`` (parts, as :meth:`holds_part` says):
        a collective every process makes, in the same order.

        Example: ``[kernel] = engine.gather_whole([layer.kernel.value])``
        """
        raise NotImplementedError(f"The {self.name!r} engine stores no value in parts (gather_whole).")

    def all_reduce_gradients(self, grads: list[Any]) -> list[Any]:
        """Gradients of the loss averaged over the *global* batch, from this
        replica's gradients of its local mean loss. Identity by default (and
        where the compiler already reduces, as JAX's sharded ``jit``)."""
        return grads


class NativeHooks:
    """What an engine contributes so its framework's own tools see polykeras
    objects as its own (the engine-native training loops of Keras 3's
    guides). The variable and layer floors ask these hooks; they never test
    which engine is active. Kept out of :class:`Backend`'s own namespace, as
    :class:`DistributionHooks` are.

    Example:
        >>> module = engine.native_module(model)   # torch: an nn.Module over the model's weights
    """

    name: str = ""
    #: Public attribute names a layer lends from its :meth:`native_module`
    #: when it has none of its own (torch: ``parameters``, ``zero_grad``...).
    native_module_names: frozenset[str] = frozenset()

    def expose_variable_class(self, cls: type) -> None:
        """Make the framework treat instances of ``cls`` (polykeras
        ``Variable`` or a subclass) as its own where it needs to: TensorFlow
        takes them as ``tf.nest`` structures of one ``tf.Variable``, so
        ``GradientTape`` watches and differentiates them. Called once per
        engine and class, before the first such variable is made. No-op by
        default: torch's handle already is an ``nn.Parameter``; JAX's guide
        loop threads values, and registering variables as pytrees would turn
        a variable returned through a JAX transform into a bare value.

        Example: ``engine.expose_variable_class(Variable)``
        """

    def native_module(self, layer: Any) -> Any:
        """``layer`` as the framework's own module object, sharing its
        weights without a copy (torch: an ``nn.Module`` whose parameters are
        the variables' own tensors). The layer floor caches it per layer.

        Example: ``torch.optim.Adam(engine.native_module(model).parameters())``
        """
        raise NotImplementedError(f"The {self.name!r} engine offers no native module of a layer "
                                  "(native_module): use the torch, jax or tensorflow engine for "
                                  "framework-native loops.")

    #: The framework whose own code this engine runs on its tensors, with
    #: gradients ("torch", "jax", "tensorflow"; "" for NumPy).
    native_framework: str = ""
    #: Frameworks whose code this engine runs by converting through NumPy at
    #: the boundary (forward only: no gradient crosses it).
    host_frameworks: frozenset[str] = frozenset()

    def interop(self, framework: str, who: str) -> Any:
        """The bridge that runs ``framework``'s own objects (a torch
        ``nn.Module``, a JAX function, a TensorFlow SavedModel) inside layer
        ``who`` on this engine: natively when it is this engine's framework,
        through NumPy when it is one of :attr:`host_frameworks`, else a
        ``NotImplementedError`` naming the layer, the framework and the engine.
        The bridges live in ``polykeras/backends/<framework>/interop.py``.

        Example: ``bridge = engine.interop("torch", "TorchModuleWrapper 'tmw'")``
        """
        import importlib

        if framework != self.native_framework and framework not in self.host_frameworks:
            where = {"torch": "the torch engine", "jax": "the jax engine",
                     "tensorflow": "any engine but this one"}.get(framework, f"the {framework} engine")
            raise NotImplementedError(
                f"{who} runs {framework} code, which the {self.name!r} engine cannot call (interop): "
                f"use {where}.")
        try:
            module = importlib.import_module(f"polykeras.backends.{framework}.interop")
        except ImportError as error:
            raise NotImplementedError(f"{who} needs {framework} installed (interop): {error}") from error
        return module.bridge(host=framework != self.native_framework)

    def run_on_host(self, fn: Any, args: Sequence[Any], result_specs: Any = None) -> Any:
        """``fn`` (NumPy arrays in, a structure of NumPy arrays out) called on
        this engine's tensors ``args``, its results made this engine's
        tensors: the boundary a foreign framework's code is crossed at (one
        copy each way; no gradient). ``result_specs`` (a structure of
        ``(shape, dtype)``) lets compiled engines stage the call.

        Example: ``y = engine.run_on_host(lambda x: x * 2, [engine.ones((2,))])``
        """
        from polykeras import tree

        engine: Any = self  # a Backend: NativeHooks is one of its bases
        if in_abstract_evaluation():  # shapes only: run on zeros of the inputs' shapes, keep the results' shapes
            zeros = [None if a is None else np.zeros(tuple(a.shape), engine.dtype(a)) for a in args]
            return tree.map_structure(lambda r: engine.zeros(np.shape(r), np.asarray(r).dtype.name), fn(*zeros))
        arrays = [None if a is None else np.asarray(engine.to_numpy(a)) for a in args]
        return tree.map_structure(lambda r: engine.convert_to_tensor(np.asarray(r)), fn(*arrays))


class Backend(DistributionHooks, NativeHooks, ExportHooks, TrainingHooks, NumpyFamily, ControlFlowComposites,
              AttentionComposites, LinalgExtraComposites, SignalComposites, LongTailComposites, abc.ABC):
    """A tensor engine. Subclass it, implement the abstract methods, and
    register the class (built-in, or the entry-point group
    ``polykeras.backends``).

    Example:
        >>> import polykeras.backends as B
        >>> engine = B.get("numpy")
        >>> engine.to_numpy(engine.add(engine.ones((2,)), 1.0))
        array([2., 2.], dtype=float32)
    """

    #: The registry name ("torch", "jax", ...).
    name: str = ""
    #: ``True`` where ``value_and_grad`` and ``jit`` work.
    differentiable: bool = True

    # ------------------------------------------------------------------ meta
    @abc.abstractmethod
    def version(self) -> str:
        """The framework's version string."""

    @abc.abstractmethod
    def list_devices(self) -> list[str]:
        """Devices this engine can place tensors on, e.g. ``["cpu:0"]``."""

    @abc.abstractmethod
    def device_scope(self, device: str) -> contextlib.AbstractContextManager:
        """Context manager placing new tensors on ``device`` ("cpu:0", "gpu:1")."""

    # --------------------------------------------------------------- tensors
    @abc.abstractmethod
    def is_tensor(self, x: Any) -> bool:
        """True when ``x`` is this engine's native tensor (or variable)."""

    @abc.abstractmethod
    def convert_to_tensor(self, x: Any, dtype: str | None = None) -> Tensor:
        """An engine tensor from a tensor, array, scalar or nested list.
        Python floats become float32, Python ints int32; NumPy arrays keep
        their dtype unless ``dtype`` is given."""

    @abc.abstractmethod
    def to_numpy(self, x: Tensor) -> np.ndarray:
        """A NumPy copy of ``x`` (host memory)."""

    @abc.abstractmethod
    def shape(self, x: Tensor) -> Shape:
        """Static shape as a tuple of ints."""

    @abc.abstractmethod
    def dtype(self, x: Tensor) -> str:
        """dtype as a canonical string."""

    @abc.abstractmethod
    def cast(self, x: Tensor, dtype: str) -> Tensor:
        """``x`` converted to ``dtype``."""

    @abc.abstractmethod
    def zeros(self, shape: Shape, dtype: str = "float32") -> Tensor:
        """A tensor of zeros."""

    @abc.abstractmethod
    def ones(self, shape: Shape, dtype: str = "float32") -> Tensor:
        """A tensor of ones."""

    @abc.abstractmethod
    def full(self, shape: Shape, fill_value: Any, dtype: str = "float32") -> Tensor:
        """A tensor filled with ``fill_value``."""

    @abc.abstractmethod
    def arange(self, start: Any, stop: Any = None, step: Any = 1, dtype: str | None = None) -> Tensor:
        """Evenly spaced values, NumPy's ``arange`` (int32 for int arguments)."""

    @abc.abstractmethod
    def eye(self, n: int, m: int | None = None, dtype: str = "float32") -> Tensor:
        """Identity matrix of shape ``(n, m or n)``."""

    def zeros_like(self, x: Tensor, dtype: str | None = None) -> Tensor:
        return self.zeros(self.shape(x), dtype or self.dtype(x))

    def ones_like(self, x: Tensor, dtype: str | None = None) -> Tensor:
        return self.ones(self.shape(x), dtype or self.dtype(x))

    # ------------------------------------------------------------- variables
    @abc.abstractmethod
    def variable(self, value: Any, dtype: str, trainable: bool, name: str) -> Any:
        """A native mutable handle holding ``value`` (tf.Variable, a torch tensor
        with ``requires_grad=trainable``, a plain array for JAX/NumPy)."""

    @abc.abstractmethod
    def assign(self, handle: Any, value: Tensor) -> Any:
        """Write ``value`` into ``handle``; returns the handle to keep (engines
        with immutable arrays return the new array)."""

    # ------------------------------------------------- elementwise: binary
    @abc.abstractmethod
    def add(self, x1: Tensor, x2: Tensor) -> Tensor: ...
    @abc.abstractmethod
    def subtract(self, x1: Tensor, x2: Tensor) -> Tensor: ...
    @abc.abstractmethod
    def multiply(self, x1: Tensor, x2: Tensor) -> Tensor: ...
    @abc.abstractmethod
    def divide(self, x1: Tensor, x2: Tensor) -> Tensor:
        """True division; integer inputs give float32 (float64 for int64)."""
    @abc.abstractmethod
    def floor_divide(self, x1: Tensor, x2: Tensor) -> Tensor: ...
    @abc.abstractmethod
    def mod(self, x1: Tensor, x2: Tensor) -> Tensor:
        """Python/NumPy modulo: the result has the sign of ``x2``."""
    @abc.abstractmethod
    def power(self, x1: Tensor, x2: Tensor) -> Tensor: ...
    @abc.abstractmethod
    def maximum(self, x1: Tensor, x2: Tensor) -> Tensor: ...
    @abc.abstractmethod
    def minimum(self, x1: Tensor, x2: Tensor) -> Tensor: ...
    @abc.abstractmethod
    def arctan2(self, x1: Tensor, x2: Tensor) -> Tensor: ...
    @abc.abstractmethod
    def equal(self, x1: Tensor, x2: Tensor) -> Tensor: ...
    @abc.abstractmethod
    def not_equal(self, x1: Tensor, x2: Tensor) -> Tensor: ...
    @abc.abstractmethod
    def less(self, x1: Tensor, x2: Tensor) -> Tensor: ...
    @abc.abstractmethod
    def less_equal(self, x1: Tensor, x2: Tensor) -> Tensor: ...
    @abc.abstractmethod
    def greater(self, x1: Tensor, x2: Tensor) -> Tensor: ...
    @abc.abstractmethod
    def greater_equal(self, x1: Tensor, x2: Tensor) -> Tensor: ...
    @abc.abstractmethod
    def logical_and(self, x1: Tensor, x2: Tensor) -> Tensor: ...
    @abc.abstractmethod
    def logical_or(self, x1: Tensor, x2: Tensor) -> Tensor: ...

    def logical_xor(self, x1: Tensor, x2: Tensor) -> Tensor:
        return self.not_equal(self.cast(x1, "bool"), self.cast(x2, "bool"))

    # -------------------------------------------------- elementwise: unary
    @abc.abstractmethod
    def negative(self, x: Tensor) -> Tensor: ...
    @abc.abstractmethod
    def abs(self, x: Tensor) -> Tensor: ...
    @abc.abstractmethod
    def sign(self, x: Tensor) -> Tensor: ...
    @abc.abstractmethod
    def exp(self, x: Tensor) -> Tensor: ...
    @abc.abstractmethod
    def log(self, x: Tensor) -> Tensor: ...
    @abc.abstractmethod
    def log1p(self, x: Tensor) -> Tensor: ...
    @abc.abstractmethod
    def expm1(self, x: Tensor) -> Tensor: ...
    @abc.abstractmethod
    def sqrt(self, x: Tensor) -> Tensor: ...
    @abc.abstractmethod
    def sin(self, x: Tensor) -> Tensor: ...
    @abc.abstractmethod
    def cos(self, x: Tensor) -> Tensor: ...
    @abc.abstractmethod
    def tan(self, x: Tensor) -> Tensor: ...
    @abc.abstractmethod
    def arctan(self, x: Tensor) -> Tensor: ...
    @abc.abstractmethod
    def sinh(self, x: Tensor) -> Tensor: ...
    @abc.abstractmethod
    def cosh(self, x: Tensor) -> Tensor: ...
    @abc.abstractmethod
    def tanh(self, x: Tensor) -> Tensor: ...
    @abc.abstractmethod
    def floor(self, x: Tensor) -> Tensor: ...
    @abc.abstractmethod
    def ceil(self, x: Tensor) -> Tensor: ...
    @abc.abstractmethod
    def round(self, x: Tensor) -> Tensor:
        """Round half to even, as NumPy."""
    @abc.abstractmethod
    def erf(self, x: Tensor) -> Tensor: ...
    @abc.abstractmethod
    def logical_not(self, x: Tensor) -> Tensor: ...
    @abc.abstractmethod
    def isnan(self, x: Tensor) -> Tensor: ...
    @abc.abstractmethod
    def isinf(self, x: Tensor) -> Tensor: ...

    def isfinite(self, x: Tensor) -> Tensor:
        return self.logical_not(self.logical_or(self.isnan(x), self.isinf(x)))

    def square(self, x: Tensor) -> Tensor:
        return self.multiply(x, x)

    def reciprocal(self, x: Tensor) -> Tensor:
        return self.divide(1.0, x)

    def rsqrt(self, x: Tensor) -> Tensor:
        return self.reciprocal(self.sqrt(x))

    @abc.abstractmethod
    def where(self, condition: Tensor, x1: Tensor, x2: Tensor) -> Tensor:
        """Elementwise select with broadcasting."""

    def clip(self, x: Tensor, x_min: Any, x_max: Any) -> Tensor:
        """``x`` limited to ``[x_min, x_max]``; at a bound the gradient passes
        through (1), as TensorFlow and PyTorch."""
        x = self.convert_to_tensor(x)
        clipped = self.minimum(self.maximum(x, x_min), x_max)
        inside = self.logical_and(self.greater_equal(x, x_min), self.less_equal(x, x_max))
        return self.where(inside, x, clipped)

    # ------------------------------------------------------------ reductions
    @abc.abstractmethod
    def sum(self, x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor: ...
    @abc.abstractmethod
    def mean(self, x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor: ...
    @abc.abstractmethod
    def max(self, x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor: ...
    @abc.abstractmethod
    def min(self, x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor: ...
    @abc.abstractmethod
    def prod(self, x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor: ...
    @abc.abstractmethod
    def any(self, x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor: ...
    @abc.abstractmethod
    def all(self, x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor: ...
    @abc.abstractmethod
    def argmax(self, x: Tensor, axis: int | None = None, keepdims: bool = False) -> Tensor:
        """Index (int32) of the first maximum; ``axis=None`` flattens."""
    @abc.abstractmethod
    def argmin(self, x: Tensor, axis: int | None = None, keepdims: bool = False) -> Tensor: ...
    @abc.abstractmethod
    def cumsum(self, x: Tensor, axis: int | None = None) -> Tensor:
        """Cumulative sum; ``axis=None`` flattens first."""
    @abc.abstractmethod
    def cumprod(self, x: Tensor, axis: int | None = None) -> Tensor: ...

    def var(self, x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
        centred = self.subtract(x, self.mean(x, axis=axis, keepdims=True))
        return self.mean(self.square(centred), axis=axis, keepdims=keepdims)

    def std(self, x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return self.sqrt(self.var(x, axis=axis, keepdims=keepdims))

    def logsumexp(self, x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
        peak = self.stop_gradient(self.max(x, axis=axis, keepdims=True))
        peak = self.where(self.isfinite(peak), peak, self.zeros_like(peak))
        total = self.sum(self.exp(self.subtract(x, peak)), axis=axis, keepdims=True)
        out = self.add(self.log(total), peak)
        if not keepdims:
            out = self.squeeze(out, axis=axis)
        return out

    # --------------------------------------------------------- sorting
    @abc.abstractmethod
    def sort(self, x: Tensor, axis: int = -1) -> Tensor: ...
    @abc.abstractmethod
    def argsort(self, x: Tensor, axis: int = -1) -> Tensor:
        """Stable ascending order, int32 indices."""
    @abc.abstractmethod
    def top_k(self, x: Tensor, k: int, sorted: bool = True) -> tuple[Tensor, Tensor]:
        """Largest ``k`` along the last axis: ``(values, int32 indices)``;
        ties go to the lower index."""

    # --------------------------------------------------------- linear algebra
    @abc.abstractmethod
    def matmul(self, x1: Tensor, x2: Tensor) -> Tensor:
        """NumPy ``matmul`` (batched, broadcasting, 1-D promotion)."""
    def matmul_bias(self, x: Tensor, kernel: Tensor, bias: Tensor) -> Tensor:
        """``x @ kernel + bias`` for a 2-D ``kernel`` and a ``bias`` over its
        columns (the dense layers' call): an engine whose matrix product adds
        the bias itself overrides it, and saves a pass over the output.

        Example: ``engine.matmul_bias(x, kernel, bias)`` (x ``(batch, ..., in)``, kernel ``(in, out)``, bias ``(out,)``)
        """
        return self.add(self.matmul(x, kernel), bias)

    @abc.abstractmethod
    def tensordot(self, x1: Tensor, x2: Tensor, axes: Any = 2) -> Tensor: ...
    @abc.abstractmethod
    def einsum(self, subscripts: str, *operands: Tensor, optimize: Any = None) -> Tensor:
        """Einstein summation; ``optimize`` (False, True, "greedy", "optimal";
        None: the engine's default) is how an engine that searches contraction
        orders searches them: it never changes the result."""
    @abc.abstractmethod
    def inv(self, x: Tensor) -> Tensor: ...
    @abc.abstractmethod
    def solve(self, a: Tensor, b: Tensor) -> Tensor: ...
    @abc.abstractmethod
    def cholesky(self, x: Tensor) -> Tensor:
        """Lower-triangular factor."""
    @abc.abstractmethod
    def qr(self, x: Tensor, mode: str = "reduced") -> tuple[Tensor, Tensor]: ...
    @abc.abstractmethod
    def svd(self, x: Tensor, full_matrices: bool = True, compute_uv: bool = True) -> Any: ...
    @abc.abstractmethod
    def det(self, x: Tensor) -> Tensor: ...

    def dot(self, x1: Tensor, x2: Tensor) -> Tensor:
        if len(self.shape(x1)) == 0 or len(self.shape(x2)) == 0:
            return self.multiply(x1, x2)
        if len(self.shape(x2)) <= 2:
            return self.matmul(x1, x2)
        return self.tensordot(x1, x2, axes=([-1], [-2]))

    # ---------------------------------------------------------- shapes
    @abc.abstractmethod
    def reshape(self, x: Tensor, shape: Sequence[int]) -> Tensor:
        """One entry may be -1."""
    @abc.abstractmethod
    def transpose(self, x: Tensor, axes: Sequence[int] | None = None) -> Tensor: ...
    @abc.abstractmethod
    def expand_dims(self, x: Tensor, axis: int) -> Tensor: ...
    @abc.abstractmethod
    def squeeze(self, x: Tensor, axis: Axis = None) -> Tensor: ...
    @abc.abstractmethod
    def concatenate(self, xs: Sequence[Tensor], axis: int = 0) -> Tensor: ...
    @abc.abstractmethod
    def stack(self, xs: Sequence[Tensor], axis: int = 0) -> Tensor: ...
    @abc.abstractmethod
    def split(self, x: Tensor, indices_or_sections: int | Sequence[int], axis: int = 0) -> list[Tensor]:
        """NumPy ``split``: a section count or split indices."""
    @abc.abstractmethod
    def pad(self, x: Tensor, pad_width: Sequence[tuple[int, int]], mode: str = "constant",
            constant_values: Any = 0) -> Tensor:
        """``mode`` in constant, reflect, symmetric; one (before, after) per axis."""
    @abc.abstractmethod
    def tile(self, x: Tensor, repeats: Sequence[int]) -> Tensor: ...
    @abc.abstractmethod
    def repeat(self, x: Tensor, repeats: int, axis: int | None = None) -> Tensor: ...
    @abc.abstractmethod
    def broadcast_to(self, x: Tensor, shape: Sequence[int]) -> Tensor: ...
    @abc.abstractmethod
    def flip(self, x: Tensor, axis: Axis = None) -> Tensor: ...

    def moveaxis(self, x: Tensor, source: int, destination: int) -> Tensor:
        order = list(range(len(self.shape(x))))
        order.insert(destination % len(order), order.pop(source % len(order)))
        return self.transpose(x, order)

    # -------------------------------------------------------- indexing
    @abc.abstractmethod
    def take(self, x: Tensor, indices: Tensor, axis: int | None = None) -> Tensor:
        """NumPy ``take``; negative indices count from the end."""
    @abc.abstractmethod
    def take_along_axis(self, x: Tensor, indices: Tensor, axis: int) -> Tensor: ...
    @abc.abstractmethod
    def scatter(self, indices: Tensor, values: Tensor, shape: Sequence[int]) -> Tensor:
        """Zeros of ``shape`` with ``values`` added at ``indices`` (shape
        ``(n, len(shape))``); duplicates accumulate."""
    @abc.abstractmethod
    def scatter_update(self, x: Tensor, indices: Tensor, updates: Tensor) -> Tensor:
        """``x`` with the entries at ``indices`` (``(n, ndim)``) replaced."""
    @abc.abstractmethod
    def slice(self, x: Tensor, start_indices: Sequence[Any], shape: Sequence[int]) -> Tensor:
        """The block of ``shape`` at ``start_indices`` (which may be tensors,
        so it works inside ``jit``)."""
    @abc.abstractmethod
    def slice_update(self, x: Tensor, start_indices: Sequence[Any], updates: Tensor) -> Tensor:
        """``x`` with the block at ``start_indices`` replaced by ``updates``."""

    # ----------------------------------------------------------- nn
    @abc.abstractmethod
    def relu(self, x: Tensor) -> Tensor: ...
    @abc.abstractmethod
    def sigmoid(self, x: Tensor) -> Tensor: ...
    @abc.abstractmethod
    def softplus(self, x: Tensor) -> Tensor: ...
    @abc.abstractmethod
    def softmax(self, x: Tensor, axis: int = -1) -> Tensor: ...
    @abc.abstractmethod
    def log_softmax(self, x: Tensor, axis: int = -1) -> Tensor: ...

    def relu6(self, x: Tensor) -> Tensor:
        return self.clip(x, 0.0, 6.0)

    def leaky_relu(self, x: Tensor, negative_slope: float = 0.2) -> Tensor:
        # At 0 the gradient is negative_slope, as TensorFlow and PyTorch.
        return self.where(self.greater(x, 0.0), x, self.multiply(x, negative_slope))

    def elu(self, x: Tensor, alpha: float = 1.0) -> Tensor:
        negative = self.multiply(self.expm1(self.minimum(x, 0.0)), alpha)
        return self.where(self.greater(x, 0.0), x, negative)

    def selu(self, x: Tensor) -> Tensor:
        alpha, scale = 1.6732632423543772, 1.0507009873554805
        return self.multiply(self.elu(x, alpha), scale)

    def gelu(self, x: Tensor, approximate: bool = True) -> Tensor:
        if approximate:
            inner = self.multiply(
                self.add(x, self.multiply(self.power(x, 3.0), 0.044715)), 0.7978845608028654
            )
            return self.multiply(self.multiply(x, 0.5), self.add(self.tanh(inner), 1.0))
        return self.multiply(self.multiply(x, 0.5), self.add(self.erf(self.multiply(x, 0.7071067811865476)), 1.0))

    def silu(self, x: Tensor) -> Tensor:
        return self.multiply(x, self.sigmoid(x))

    def mish(self, x: Tensor) -> Tensor:
        return self.multiply(x, self.tanh(self.softplus(x)))

    def hard_sigmoid(self, x: Tensor) -> Tensor:
        return self.clip(self.add(self.divide(x, 6.0), 0.5), 0.0, 1.0)

    def hard_silu(self, x: Tensor) -> Tensor:
        return self.multiply(x, self.hard_sigmoid(x))

    def softsign(self, x: Tensor) -> Tensor:
        return self.divide(x, self.add(self.abs(x), 1.0))

    def one_hot(self, x: Tensor, num_classes: int, axis: int = -1, dtype: str = "float32") -> Tensor:
        x = self.convert_to_tensor(x)
        hot = self.equal(self.expand_dims(x, -1), self.arange(num_classes, dtype=self.dtype(x)))
        hot = self.cast(hot, dtype)
        if axis != -1:
            hot = self.moveaxis(hot, -1, axis)
        return hot

    def moments(self, x: Tensor, axes: Axis, keepdims: bool = False) -> tuple[Tensor, Tensor]:
        """(mean, variance) over ``axes``."""
        mean = self.mean(x, axis=axes, keepdims=True)
        variance = self.mean(self.square(self.subtract(x, self.stop_gradient(mean))), axis=axes, keepdims=keepdims)
        if not keepdims:
            mean = self.squeeze(mean, axis=axes)
        return mean, variance

    def layer_normalization(self, x: Tensor, gamma: Tensor | None, beta: Tensor | None, axes: Axis,
                            epsilon: float) -> Tensor:
        """``(x - mean) / sqrt(variance + epsilon) * gamma + beta`` with the
        statistics of each sample over ``axes`` (a float ``x``); ``gamma`` and
        ``beta`` (or None) broadcast to ``x``."""
        mean, variance = self.moments(x, axes, keepdims=True)
        out = self.multiply(self.subtract(x, mean), self.rsqrt(self.add(variance, epsilon)))
        if gamma is not None:
            out = self.multiply(out, gamma)
        if beta is not None:
            out = self.add(out, beta)
        return out

    def batch_normalization(
        self, x: Tensor, mean: Tensor, variance: Tensor, axis: int,
        offset: Tensor | None = None, scale: Tensor | None = None, epsilon: float = 1e-3,
    ) -> Tensor:
        """``(x - mean) / sqrt(variance + epsilon) * scale + offset``; the
        statistics are vectors broadcast along ``axis``. Computed as
        ``x * inv + (offset - mean * inv)``: the vector arithmetic first, then
        two passes over ``x`` (a multiply and an add), as Keras 3 and
        ``tf.nn.batch_normalization``."""
        ndim = len(self.shape(x))
        shape = [1] * ndim
        shape[axis] = -1

        def along(v: Tensor) -> Tensor:  # the last axis broadcasts as it is
            return v if axis % ndim == ndim - 1 else self.reshape(v, shape)

        inv = self.rsqrt(self.add(variance, epsilon))
        if scale is not None:
            inv = self.multiply(inv, scale)
        shift = self.negative(self.multiply(mean, inv))
        if offset is not None:
            shift = self.add(shift, offset)
        return self.add(self.multiply(x, along(inv)), along(shift))

    def fused_batch_normalization(
        self, x: Tensor, axis: int, offset: Tensor | None = None, scale: Tensor | None = None,
        epsilon: float = 1e-3,
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Batch normalisation with the batch's own statistics (the
        ``BatchNormalization`` layer while training): ``(outputs, mean,
        variance)``, the statistics (population variance) taken over every
        axis but ``axis`` and shaped ``(features,)``. The gradient reaches
        ``x`` through the statistics too. An engine with a fused training
        kernel overrides it.

        Example: ``y, mean, var = engine.fused_batch_normalization(x, -1, beta, gamma, 1e-3)``
        """
        ndim = len(self.shape(x))
        mean, variance = self.moments(x, tuple(i for i in range(ndim) if i != axis % ndim))
        return self.batch_normalization(x, mean, variance, axis, offset, scale, epsilon), mean, variance

    @abc.abstractmethod
    def conv(
        self, inputs: Tensor, kernel: Tensor, strides: Sequence[int], padding: str,
        data_format: str, dilation_rate: Sequence[int],
    ) -> Tensor:
        """N-D convolution (cross-correlation as in Keras), N = kernel rank - 2.
        ``strides``/``dilation_rate`` have one int per spatial axis; the group
        count is ``in_channels // kernel.shape[-2]``."""

    def conv_bias(
        self, inputs: Tensor, kernel: Tensor, bias: Tensor, strides: Sequence[int], padding: str,
        data_format: str, dilation_rate: Sequence[int],
    ) -> Tensor:
        """:meth:`conv` plus a per-filter ``bias`` (the Conv layers' call): an
        engine whose convolution kernel adds the bias itself overrides it, and
        saves a pass over the output each way.

        Example: ``engine.conv_bias(x, kernel, bias, (1, 1), "same", "channels_last", (1, 1))``
        """
        out = self.conv(inputs, kernel, strides, padding, data_format, dilation_rate)
        if data_format == "channels_first":
            bias = self.reshape(bias, (-1,) + (1,) * len(strides))
        return self.add(out, bias)

    @abc.abstractmethod
    def depthwise_conv(
        self, inputs: Tensor, kernel: Tensor, strides: Sequence[int], padding: str,
        data_format: str, dilation_rate: Sequence[int],
    ) -> Tensor:
        """Kernel ``spatial... + (in_channels, depth_multiplier)``; output
        channels are ``in_channels * depth_multiplier`` (channel-major)."""

    @abc.abstractmethod
    def conv_transpose(
        self, inputs: Tensor, kernel: Tensor, strides: Sequence[int], padding: str,
        output_padding: Sequence[int] | None, data_format: str, dilation_rate: Sequence[int],
    ) -> Tensor:
        """The gradient of ``conv`` w.r.t. its input; kernel
        ``spatial... + (filters, in_channels)`` as Keras' ConvTranspose.
        Output length per axis, with ``output_padding`` None and the
        effective kernel ``k = (kernel - 1) * dilation + 1``: valid
        ``(n - 1) * s + max(k, s)``, same ``n * s`` (Keras 3's rules); else
        ``(n - 1) * s + k - 2 * pad + output_padding``."""

    @abc.abstractmethod
    def max_pool(
        self, inputs: Tensor, pool_size: Sequence[int], strides: Sequence[int],
        padding: str, data_format: str,
    ) -> Tensor:
        """N-D max pooling; "same" pads with -inf."""

    @abc.abstractmethod
    def average_pool(
        self, inputs: Tensor, pool_size: Sequence[int], strides: Sequence[int],
        padding: str, data_format: str,
    ) -> Tensor:
        """N-D average pooling; "same" averages over the valid cells only."""

    def categorical_crossentropy(self, target: Tensor, output: Tensor, from_logits: bool = False,
                                 axis: int = -1) -> Tensor:
        """Per-sample cross-entropy; probabilities are renormalised and clipped
        to ``[1e-7, 1 - 1e-7]`` as in Keras."""
        if from_logits:
            log_prob = self.log_softmax(output, axis=axis)
        else:
            output = self.divide(output, self.sum(output, axis=axis, keepdims=True))
            log_prob = self.log(self.clip(output, 1e-7, 1.0 - 1e-7))
        return self.negative(self.sum(self.multiply(target, log_prob), axis=axis))

    def sparse_categorical_crossentropy(self, target: Tensor, output: Tensor, from_logits: bool = False,
                                        axis: int = -1) -> Tensor:
        target = self.convert_to_tensor(target)
        if len(self.shape(target)) == len(self.shape(output)) and self.shape(target)[-1] == 1:
            target = self.squeeze(target, axis=-1)
        hot = self.one_hot(self.cast(target, "int32"), self.shape(output)[axis], axis=axis, dtype=self.dtype(output))
        return self.categorical_crossentropy(hot, output, from_logits=from_logits, axis=axis)

    def binary_crossentropy(self, target: Tensor, output: Tensor, from_logits: bool = False) -> Tensor:
        """Elementwise binary cross-entropy (no reduction)."""
        if from_logits:
            # max(x, 0) - x * z + log(1 + exp(-|x|)), stable for all x.
            return self.add(
                self.subtract(self.relu(output), self.multiply(output, target)),
                self.log1p(self.exp(self.negative(self.abs(output)))),
            )
        output = self.clip(output, 1e-7, 1.0 - 1e-7)
        return self.negative(
            self.add(
                self.multiply(target, self.log(output)),
                self.multiply(self.subtract(1.0, target), self.log(self.subtract(1.0, output))),
            )
        )

    # -------------------------------------------------------------- random
    @abc.abstractmethod
    def random_normal(self, shape: Shape, seed: Tensor, mean: float = 0.0, stddev: float = 1.0,
                      dtype: str = "float32") -> Tensor: ...
    @abc.abstractmethod
    def random_uniform(self, shape: Shape, seed: Tensor, minval: float = 0.0, maxval: float = 1.0,
                       dtype: str = "float32") -> Tensor: ...
    @abc.abstractmethod
    def truncated_normal(self, shape: Shape, seed: Tensor, mean: float = 0.0, stddev: float = 1.0,
                         dtype: str = "float32") -> Tensor:
        """Normal draws re-drawn (or equivalently bounded) within two stddevs."""
    @abc.abstractmethod
    def categorical(self, logits: Tensor, num_samples: int, seed: Tensor, dtype: str = "int32") -> Tensor:
        """``(batch, num_samples)`` class draws from ``(batch, classes)`` logits."""
    @abc.abstractmethod
    def shuffle(self, x: Tensor, seed: Tensor, axis: int = 0) -> Tensor: ...

    def dropout(self, x: Tensor, rate: float, seed: Tensor, noise_shape: Shape | None = None) -> Tensor:
        """Zero entries with probability ``rate``, scale the rest by
        ``1 / (1 - rate)``."""
        keep = self.greater_equal(self.random_uniform(noise_shape or self.shape(x), seed, dtype=self.dtype(x)), rate)
        return self.where(keep, self.divide(x, 1.0 - rate), self.zeros_like(x))

    def randint(self, shape: Shape, seed: Tensor, minval: int, maxval: int, dtype: str = "int32") -> Tensor:
        """Integers drawn uniformly from ``[minval, maxval)`` (Python ints),
        as ``dtype``. Portable: the floor of a float32 uniform draw, exact for
        ranges up to 2**24."""
        span = float(maxval - minval)
        draws = self.floor(self.multiply(self.random_uniform(shape, seed, 0.0, 1.0, "float32"), span))
        return self.add(self.cast(self.minimum(draws, span - 1.0), dtype), self.cast(minval, dtype))

    def random_gamma(self, shape: Shape, seed: Tensor, alpha: Any, dtype: str = "float32") -> Tensor:
        """Gamma draws with concentration ``alpha`` (a positive scalar or a
        tensor broadcastable to ``shape``) and scale 1."""
        raise NotImplementedError(f"The {self.name!r} engine has no gamma draws (random_gamma), so "
                                  "random.gamma and random.beta are unavailable on it.")

    def random_beta(self, shape: Shape, seed: Tensor, alpha: Any, beta: Any, dtype: str = "float32") -> Tensor:
        """Beta draws ``X / (X + Y)`` with ``X ~ Gamma(alpha)``, ``Y ~ Gamma(beta)``
        taken in one :meth:`random_gamma` draw of shape ``(2, *shape)``."""
        shape = tuple(shape)
        concentrations = self.stack([self.broadcast_to(self.convert_to_tensor(v, dtype), shape)
                                     for v in (alpha, beta)])
        both = self.random_gamma((2, *shape), seed, concentrations, dtype)
        first, second = (self.squeeze(part, 0) for part in self.split(both, 2, axis=0))
        return self.divide(first, self.add(first, second))

    def random_binomial(self, shape: Shape, seed: Tensor, counts: Any, probabilities: Any,
                        dtype: str = "float32") -> Tensor:
        """Binomial draws: successes in ``counts`` trials of success
        probability ``probabilities`` (scalars or tensors broadcastable to
        ``shape``), as ``dtype``."""
        raise NotImplementedError(f"The {self.name!r} engine has no binomial draws (random_binomial), so "
                                  "random.binomial is unavailable on it.")

    # ------------------------------------------------------------ recurrent
    # The time loop and the LSTM/GRU sequence kernels on it; written in
    # polykeras/backends/recurrent.py, bound here as composites.
    scan = _recurrent.scan

    def unstack(self, x: Tensor, axis: int = 0) -> list[Tensor]:
        """The slices of ``x`` along ``axis`` (``axis`` dropped), as a list;
        engines override it with their one-op form (``torch.unbind``,
        ``tf.unstack``). Example: ``engine.unstack(engine.ones((2, 3)))`` -> two ``(3,)`` tensors"""
        return [self.squeeze(part, axis) for part in self.split(x, self.shape(x)[axis], axis=axis)]

    lstm = _recurrent.lstm
    gru = _recurrent.gru

    # ------------------------------------------------------------ optimizers
    # Keras 3's update rules over lists of tensors: the optimizers' hot loop,
    # one call per step. Scalars are Python floats except ``learning_rate``
    # (float32, 0-d) and ``step`` (the 1-based step, 0-d). They return the new
    # values; with ``inplace=True`` an engine may instead write them into the
    # given tensors (the variables' own handles, outside any StatelessScope)
    # and return those same objects. The definitions here never do.

    def _as_dtype(self, x: Tensor, dtype: str, cache: dict[str, Tensor]) -> Tensor:
        out = cache.get(dtype)
        if out is None:
            out = cache[dtype] = x if self.dtype(x) == dtype else self.cast(x, dtype)
        return out

    def sgd_update(
        self, variables: Sequence[Tensor], grads: Sequence[Tensor], momentums: Sequence[Tensor],
        learning_rate: Tensor, momentum: float = 0.0, nesterov: bool = False, inplace: bool = False,
    ) -> tuple[list[Tensor], list[Tensor]]:
        """SGD: ``w -= lr * g``; with ``momentum`` (one ``momentums`` entry
        per variable) ``m = momentum * m - lr * g`` and ``w += m``, or with
        ``nesterov`` ``w += momentum * m - lr * g``. Returns ``(w, m)`` lists."""
        lrs: dict[str, Tensor] = {}
        new_w, new_m = [], []
        for i, (w, g) in enumerate(zip(variables, grads)):
            step = self.multiply(g, self._as_dtype(learning_rate, self.dtype(w), lrs))
            if not momentum:
                new_w.append(self.subtract(w, step))
                continue
            m = self.subtract(self.multiply(momentums[i], momentum), step)
            new_m.append(m)
            new_w.append(self.add(w, self.subtract(self.multiply(m, momentum), step) if nesterov else m))
        return new_w, new_m

    def adam_update(
        self, variables: Sequence[Tensor], grads: Sequence[Tensor], momentums: Sequence[Tensor],
        velocities: Sequence[Tensor], learning_rate: Tensor, step: Tensor, beta_1: float = 0.9,
        beta_2: float = 0.999, epsilon: float = 1e-7, velocity_hats: Sequence[Tensor] | None = None,
        inplace: bool = False,
    ) -> tuple[list[Tensor], list[Tensor], list[Tensor], list[Tensor] | None]:
        """Adam: ``m += (g - m) * (1 - beta_1)``, ``v += (g**2 - v) * (1 - beta_2)``,
        ``w -= m * alpha / (sqrt(v) + epsilon)`` with
        ``alpha = lr * sqrt(1 - beta_2**step) / (1 - beta_1**step)``; AMSGrad
        (``velocity_hats`` given) divides by the running max of ``v``.
        Returns ``(w, m, v, v_hat or None)`` lists."""
        alphas: dict[str, Tensor] = {}
        new_w, new_m, new_v, new_hat = [], [], [], []
        for i, (w, g) in enumerate(zip(variables, grads)):
            dtype = self.dtype(w)
            alpha = alphas.get(dtype)
            if alpha is None:
                t = self.cast(step, dtype)
                correction = self.divide(
                    self.sqrt(self.subtract(1.0, self.power(self.convert_to_tensor(beta_2, dtype), t))),
                    self.subtract(1.0, self.power(self.convert_to_tensor(beta_1, dtype), t)))
                alpha = alphas[dtype] = self.multiply(self.cast(learning_rate, dtype), correction)
            m = self.add(momentums[i], self.multiply(self.subtract(g, momentums[i]), 1.0 - beta_1))
            v = self.add(velocities[i], self.multiply(self.subtract(self.square(g), velocities[i]), 1.0 - beta_2))
            new_m.append(m)
            new_v.append(v)
            if velocity_hats is not None:
                v = self.maximum(velocity_hats[i], v)
                new_hat.append(v)
            new_w.append(self.subtract(w, self.divide(self.multiply(m, alpha), self.add(self.sqrt(v), epsilon))))
        return new_w, new_m, new_v, (new_hat if velocity_hats is not None else None)

    def rmsprop_update(
        self, variables: Sequence[Tensor], grads: Sequence[Tensor], velocities: Sequence[Tensor],
        momentums: Sequence[Tensor], average_gradients: Sequence[Tensor], learning_rate: Tensor,
        rho: float = 0.9, momentum: float = 0.0, epsilon: float = 1e-7, centered: bool = False,
        inplace: bool = False,
    ) -> tuple[list[Tensor], list[Tensor], list[Tensor], list[Tensor]]:
        """RMSprop: ``v = rho * v + (1 - rho) * g**2``; centered
        ``a = rho * a + (1 - rho) * g``; ``d = lr * g / sqrt(v [- a**2] + epsilon)``;
        with ``momentum`` ``m = momentum * m + d`` and ``w -= m``, else ``w -= d``.
        ``momentums`` / ``average_gradients`` are empty when unused.
        Returns ``(w, v, m, a)`` lists."""
        lrs: dict[str, Tensor] = {}
        new_w, new_v, new_m, new_a = [], [], [], []
        for i, (w, g) in enumerate(zip(variables, grads)):
            lr = self._as_dtype(learning_rate, self.dtype(w), lrs)
            v = self.add(self.multiply(velocities[i], rho), self.multiply(self.square(g), 1.0 - rho))
            new_v.append(v)
            if centered:
                a = self.add(self.multiply(average_gradients[i], rho), self.multiply(g, 1.0 - rho))
                new_a.append(a)
                denominator = self.add(self.subtract(v, self.square(a)), epsilon)
            else:
                denominator = self.add(v, epsilon)
            increment = self.divide(self.multiply(g, lr), self.sqrt(denominator))
            if momentum > 0:
                increment = self.add(self.multiply(momentums[i], momentum), increment)
                new_m.append(increment)
            new_w.append(self.subtract(w, increment))
        return new_w, new_v, new_m, new_a

    # ------------------------------------------------------------- autodiff
    @abc.abstractmethod
    def stop_gradient(self, x: Tensor) -> Tensor: ...

    @abc.abstractmethod
    def value_and_grad(self, fn: Callable[..., Any], has_aux: bool = False) -> Callable[..., Any]:
        """Like ``jax.value_and_grad`` w.r.t. the first argument, a list of
        tensors: ``value_and_grad(f)(params, *rest) -> (value, grads)`` or
        ``((value, aux), grads)``; ``grads`` is a list shaped like ``params``.
        ``value`` is a scalar tensor."""

    # ------------------------------------------------------------------ CTC
    def ctc_beam_search_decode(self, log_probs: Tensor, sequence_lengths: Tensor, beam_width: int,
                               top_paths: int, mask_index: int) -> tuple[Tensor, Tensor]:
        """CTC prefix beam search with Keras 3's conventions (``mask_index``
        the blank): ``(paths (k, batch, T) int32 padded with -1, log
        probabilities (batch, k))``, ``k = min(top_paths, 2 * beam_width)``.
        ``log_probs`` is normalised per frame. Portable: NumPy on the host
        (:mod:`polykeras.backends.ctc`), so it needs concrete values; inside
        a compiled function it raises ``NotImplementedError`` (shape
        inference gets zeros of the answer's shapes).

        Example: ``engine.ctc_beam_search_decode(log_softmax(logits), lengths, 100, 1, 0)``
        """
        from polykeras.backends.ctc import beam_search

        if in_abstract_evaluation():  # shape inference: only the shapes and dtypes of the answer
            batch, steps, _ = self.shape(log_probs)
            k = min(int(top_paths), 2 * int(beam_width))
            return self.zeros((k, batch, steps), "int32"), self.zeros((batch, k), self.dtype(log_probs))
        try:
            values, lengths = self.to_numpy(log_probs), self.to_numpy(sequence_lengths)
        except Exception as err:  # each engine's own error for a traced tensor
            raise NotImplementedError(
                f"ctc_decode: strategy='beam_search' runs on the host with NumPy and needs concrete values; it "
                f"cannot run inside a compiled function on the {self.name!r} engine (call it eagerly, or use "
                f"strategy='greedy'). The engine said: {type(err).__name__}") from err
        paths, scores = beam_search(values.astype(np.float64), lengths.astype(np.int64), int(beam_width),
                                    int(top_paths), int(mask_index))
        return (self.convert_to_tensor(paths, "int32"),
                self.cast(self.convert_to_tensor(scores.astype(np.float32)), self.dtype(log_probs)))

    # --------------------------------------------------------------- compile
    @abc.abstractmethod
    def jit(self, fn: Callable[..., Any], donate_argnums: tuple[int, ...] = (),
            jit_compile: Any = "auto") -> Callable[..., Any]:
        """The engine's compiled form of a function of tensors (pytrees of
        lists/tuples/dicts). It must be pure unless :meth:`jit_is_stateful`;
        engines without autodiff (NumPy) raise ``NotImplementedError``.

        ``jit_compile`` picks the compiler where the engine has a choice, as
        ``Model.compile(jit_compile=...)``: ``True`` asks for the engine's
        whole-program compiler (XLA on TensorFlow, ``torch.compile`` on
        torch), ``False`` for its plain form (``tf.function`` without XLA,
        un-jitted JAX, eager torch), ``"auto"`` for the engine's default.

        Example: ``step = engine.jit(pure_step, donate_argnums=(0,), jit_compile=True)``
        """

    # ------------------------------------------------------ shape inference
    @abc.abstractmethod
    def compute_output_spec(self, fn: Callable[[list[Tensor]], list[Any]], specs: Sequence[Spec]) -> list[Any]:
        """Shapes and dtypes of ``fn(inputs)`` without computing on data:
        ``fn`` gets a list of abstract tensors, one per :class:`Spec` of
        ``specs`` (every size known), and returns a flat list; the answer is
        that list with every tensor replaced by its :class:`Spec` (other
        items as they are). Run inside :func:`abstract_evaluation`, so
        variables created meanwhile are real (built on the host); reads of
        existing variables work. ``polykeras.symbolic.trace_output_spec``
        builds the unknown sizes on this.

        Example: ``engine.compute_output_spec(lambda xs: [ops.sum(xs[0], axis=0)], [Spec((3, 4), "float32")])``
        -> ``[Spec((4,), "float32")]``
        """

    def __repr__(self) -> str:
        return f"<polykeras engine {self.name!r} ({self.version()})>"


def primitive_names() -> list[str]:
    """Names every engine must implement."""
    return sorted(Backend.__abstractmethods__)


def composite_names() -> list[str]:
    """Protocol methods with a portable definition in :class:`Backend`."""
    return sorted(
        name for name, value in vars(Backend).items()
        if callable(value) and not name.startswith("_") and name not in Backend.__abstractmethods__
    )


@contextlib.contextmanager
def _noop_scope() -> Iterator[None]:
    yield

