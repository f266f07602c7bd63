"""State: :class:`Variable`, :class:`StatelessScope` and variable name scopes.

A :class:`Variable` wraps an engine-native mutable handle (``engine.variable``)
made on the engine active when it is created. Reading ``variable.value`` first
asks the innermost :class:`StatelessScope`: inside one, reads return the values
the scope was given and ``assign`` records the new value in the scope instead of
writing the handle. That makes every layer usable inside a pure function
``step(state, batch) -> (new_state, logs)``, the form ``jax.jit``,
``tf.function`` and the torch eager step all run.

Constraints: the optimizer calls :meth:`Variable.apply_constraint` after each
update of a variable (``Layer.apply_constraints()`` does it for every weight of
a layer); it writes ``constraint(value)`` back through ``assign``, so it works
inside a :class:`StatelessScope` too.

Engine-native loops: before the first variable of an engine is made, the
engine's ``expose_variable_class`` hook lets its framework see variables as
its own where it needs to (TensorFlow: a ``tf.nest`` structure of the
``tf.Variable``, which ``GradientTape`` differentiates; torch's handle is an
``nn.Parameter`` already).

Sharded storage (fully sharded data parallelism): an engine may keep only
this replica's shard of a variable (:meth:`Variable._set_storage` with a
*sharding*, an engine object with ``is_shard(value)`` and ``gather(shard)``).
Inside a layer's call (:func:`gather_frame`) reading such a variable gathers
the whole value once per call, differentiably; outside, ``value`` is the
stored shard (an engine-native sharded tensor), which optimizers update in
place. :func:`whole_values` gathers every part at once (``engine.holds_part``
and ``engine.gather_whole``: torch's shards, JAX arrays split over
processes), for saving.

Example:
    >>> from polykeras import ops
    >>> v = Variable(initializer="zeros", shape=(2,), name="count", trainable=False)
    >>> with StatelessScope([(v, ops.ones((2,)))]) as scope:
    ...     v.assign_add(ops.ones((2,)))
    ...     new = scope.get_current_value(v)          # [2., 2.]
    >>> v.numpy()                                      # untouched: [0., 0.]
    array([0., 0.], dtype=float32)
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from polykeras import backends
from polykeras.allocation import charge
from polykeras.backends.dtypes import floatx, is_float, standardize_dtype
from polykeras.ops._dispatch import register_tensor_wrapper

__all__ = [
    "AutocastScope",
    "StatelessScope",
    "Variable",
    "current_path",
    "get_stateless_scope",
    "gather_frame",
    "in_stateless_scope",
    "name_scope",
    "whole_values",
]

AGGREGATIONS = ("none", "mean", "sum", "only_first_replica")
SYNCHRONIZATIONS = ("none", "on_read", "on_write", "auto")

_scope: contextvars.ContextVar[StatelessScope | None] = contextvars.ContextVar("polykeras_stateless", default=None)
_names: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("polykeras_name_scope", default=())
_frame: contextvars.ContextVar[_GatherFrame | None] = contextvars.ContextVar("polykeras_gather", default=None)
_sharded_count = [0]  # variables ever given sharded storage and not unsharded since
_autocast: contextvars.ContextVar[str | None] = contextvars.ContextVar("polykeras_autocast", default=None)
_autocast_open = [0]  # autocast scopes open now (any thread): reads skip the context lookup at 0
_exposed: set[tuple[Any, type]] = set()  # (engine, class) pairs the engine has seen (expose_variable_class)


# --------------------------------------------------------------- name scopes
@contextlib.contextmanager
def name_scope(name: str) -> Iterator[str]:
    """Prefix the paths of variables created inside the block with ``name``.
    Layers open one around ``build`` and ``call``.

    Example:
        >>> with name_scope("encoder"):
        ...     Variable(0.0, name="step").path
        'encoder/step'
    """
    if not isinstance(name, str) or not name or "/" in name:
        raise ValueError(f"name_scope: expected a non-empty name without '/', received {name!r}.")
    stack = _names.get()
    # Re-entering the scope already innermost (build inside call) adds nothing.
    token = _names.set(stack if stack and stack[-1] == name else stack + (name,))
    try:
        yield "/".join(_names.get())
    finally:
        _names.reset(token)


def enter_name_scope(name: str) -> contextvars.Token:
    """:func:`name_scope` without a ``with`` block (the layer call's fast path);
    undo with :func:`exit_name_scope`."""
    stack = _names.get()
    return _names.set(stack if stack and stack[-1] == name else stack + (name,))


def exit_name_scope(token: contextvars.Token) -> None:
    _names.reset(token)


def name_stack() -> tuple[str, ...]:
    """The active name scopes, outermost first. Example: ``name_stack()`` -> ``('encoder',)``"""
    return _names.get()


def enter_name_stack(stack: tuple[str, ...]) -> contextvars.Token:
    """Make ``stack`` the active name scopes (``polykeras.name_scope``'s
    ``override_parent``); undo with :func:`exit_name_scope`.
    Example: ``token = enter_name_stack(("outer", "inner"))``"""
    return _names.set(tuple(stack))


def current_path() -> str:
    """The active name-scope path, e.g. ``'encoder/dense_1'`` ('' at top level)."""
    return "/".join(_names.get())


# ---------------------------------------------------------- stateless scope
class StatelessScope:
    """A block where variables read given values and record assignments
    instead of writing their handles.

    Args:
        state_mapping: ``(variable, value)`` pairs or a ``{variable: value}``
            dict; reads of those variables return the values.
        collect_losses: collect ``Layer.add_loss`` calls in ``scope.losses``.
        initialize_variables: Keras 3's switch; variables made inside the
            scope are always initialized when made, so only True is accepted.

    Scopes nest: a read asks the innermost scope first, then the outer ones,
    then the variable's handle. Updates go to the innermost scope.

    Example:
        >>> with StatelessScope({w: new_w}) as scope:
        ...     y = layer(x)                 # uses new_w
        ...     updates = scope.updates      # [(variable, value), ...]
    """

    def __init__(
        self,
        state_mapping: Mapping[Variable, Any] | Iterable[tuple[Variable, Any]] | None = None,
        collect_losses: bool = False,
        initialize_variables: bool = True,
    ):
        if initialize_variables is not True:
            raise NotImplementedError("StatelessScope(initialize_variables=False) is not supported: polykeras "
                                      "initializes every variable when it is made.")
        self.collect_losses = collect_losses
        self.losses: list[Any] = []
        self._values: dict[int, Any] = {}
        self._updates: dict[int, tuple[Variable, Any]] = {}
        self._keep: list[Variable] = []  # keeps ids valid for the scope's life
        self._parent: StatelessScope | None = None
        self._token: contextvars.Token[StatelessScope | None] | None = None
        pairs = state_mapping.items() if isinstance(state_mapping, Mapping) else (state_mapping or ())
        for variable, value in pairs:
            if not isinstance(variable, Variable):
                raise TypeError(
                    f"StatelessScope: expected (Variable, value) pairs, received a key of type "
                    f"{type(variable).__name__}: {variable!r}."
                )
            self._values[id(variable)] = variable._coerce(value, "StatelessScope")
            self._keep.append(variable)

    def __enter__(self) -> StatelessScope:
        self._parent = _scope.get()
        self._token = _scope.set(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._token is not None:
            _scope.reset(self._token)
        self._token = None

    def get_current_value(self, variable: Variable) -> Any | None:
        """The value ``variable`` has in this scope (its latest update, else its
        mapped value, else what outer scopes say), or None if no scope knows it."""
        key = id(variable)
        scope: StatelessScope | None = self
        while scope is not None:
            update = scope._updates.get(key)
            if update is not None:
                return update[1]
            value = scope._values.get(key)
            if value is not None:
                return value
            scope = scope._parent
        return None

    def add_update(self, variable: Variable, value: Any) -> None:
        """Record ``variable``'s new value (what ``assign`` does inside a scope)."""
        self._updates[id(variable)] = (variable, value)

    @property
    def updates(self) -> list[tuple[Variable, Any]]:
        """``(variable, new value)`` for every variable assigned in the scope,
        in first-assignment order."""
        return list(self._updates.values())

    def add_loss(self, loss: Any) -> None:
        """Record a loss added by a layer inside the scope."""
        self.losses.append(loss)


def get_stateless_scope() -> StatelessScope | None:
    """The innermost active :class:`StatelessScope`, or None."""
    return _scope.get()


def in_stateless_scope() -> bool:
    """True inside a :class:`StatelessScope`."""
    return _scope.get() is not None


# ------------------------------------------------------------------ autocast
class AutocastScope:
    """A block where reads of float variables (with ``autocast=True``) return
    their value cast to ``dtype``; ``dtype=None`` turns casting off inside an
    outer scope. Layers with a mixed dtype policy open one around ``call``,
    so a ``mixed_bfloat16`` layer computes with bfloat16 copies of its
    float32 weights (the weights themselves, and their gradients' targets,
    stay float32).

    Example:
        >>> v = Variable(np.ones(2, "float32"), name="w")
        >>> with AutocastScope("bfloat16"):
        ...     v.value.dtype                     # bfloat16
    """

    def __init__(self, dtype: Any):
        if dtype is not None:
            dtype = standardize_dtype(dtype)
            if not is_float(dtype):
                raise ValueError(f"AutocastScope: expected a floating-point dtype such as 'float16', received "
                                 f"dtype={dtype!r}.")
        self.dtype: str | None = dtype
        self._token: contextvars.Token[str | None] | None = None

    def __enter__(self) -> AutocastScope:
        self._token = enter_autocast(self.dtype)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._token is not None:
            exit_autocast(self._token)
        self._token = None


def enter_autocast(dtype: str | None) -> contextvars.Token[str | None]:
    """Open an :class:`AutocastScope` without a ``with`` block (the layer
    call's path); pair with :func:`exit_autocast`. Example: ``token = enter_autocast("float16")``"""
    _autocast_open[0] += 1
    return _autocast.set(dtype)


def exit_autocast(token: contextvars.Token[str | None]) -> None:
    """Close the scope :func:`enter_autocast` opened. Example: ``exit_autocast(token)``"""
    _autocast.reset(token)
    _autocast_open[0] -= 1


def autocast_dtype() -> str | None:
    """The dtype float variables are read in here (None: their own).
    Example: ``autocast_dtype()`` -> ``'bfloat16'`` inside a mixed_bfloat16 layer's call"""
    return _autocast.get() if _autocast_open[0] else None


# ----------------------------------------------------------- sharded reads
class _GatherFrame:
    """The whole values gathered during one layer call: ``id(shard) ->
    (shard, whole)``, dropped when the call ends."""

    __slots__ = ("gathered", "parent")

    def __init__(self, parent: _GatherFrame | None):
        self.parent = parent
        self.gathered: dict[int, tuple[Any, Any]] = {}

    def find(self, shard: Any) -> Any | None:
        frame: _GatherFrame | None = self
        while frame is not None:
            hit = frame.gathered.get(id(shard))
            if hit is not None and hit[0] is shard:
                return hit[1]
            frame = frame.parent
        return None


def sharded_variables_exist() -> bool:
    """True once some variable has sharded storage (layer calls then open
    gather frames; before, they skip them).

    Example: ``frame = enter_gather_frame() if sharded_variables_exist() else None``
    """
    return _sharded_count[0] > 0


@contextlib.contextmanager
def gather_frame() -> Iterator[None]:
    """A block (a layer's call) inside which reads of sharded variables return
    whole values, each gathered once and dropped at the block's end.

    Example:
        >>> with gather_frame():
        ...     kernel = layer.kernel.value      # whole, even if stored sharded
    """
    token = enter_gather_frame()
    try:
        yield
    finally:
        exit_gather_frame(token)


def enter_gather_frame() -> contextvars.Token:
    """Open a :func:`gather_frame` (for hot paths; pair with :func:`exit_gather_frame`).

    Example: ``token = enter_gather_frame(); ...; exit_gather_frame(token)``
    """
    return _frame.set(_GatherFrame(_frame.get()))


def exit_gather_frame(token: contextvars.Token) -> None:
    """Close the frame :func:`enter_gather_frame` opened, dropping its whole values.

    Example: ``exit_gather_frame(token)``
    """
    _frame.reset(token)


def _read_sharded(variable: Variable, value: Any) -> Any:
    """``value`` (a variable's stored or mapped value) as a read returns it:
    a shard is gathered whole inside a gather frame, once per frame."""
    sharding = variable._sharding
    if not sharding.is_shard(value):
        return value
    frame = _frame.get()
    if frame is None:
        return value
    whole = frame.find(value)
    if whole is None:
        whole = sharding.gather(value)
        frame.gathered[id(value)] = (value, whole)
    return whole


@contextlib.contextmanager
def whole_values(variables: Iterable[Variable]) -> Iterator[None]:
    """A block inside which every sharded variable among ``variables`` reads
    its whole value, gathered once on entry (a collective: in a multi-process
    run every process enters it). No-op without sharded variables.

    Example:
        >>> with whole_values(model.variables):
        ...     if is_chief():
        ...         model.save_weights("w.weights.h5")
    """
    parts = [(v, value) for v in variables if isinstance(v, Variable) and v.engine.holds_part(value := v.value)]
    if not parts:
        yield
        return
    wholes = parts[0][0].engine.gather_whole([value for _, value in parts])
    with StatelessScope(zip([v for v, _ in parts], wholes)):
        yield


# ----------------------------------------------------------------- variable
class Variable:
    """A named, engine-native mutable tensor.

    Args:
        initializer: an initializer (name, instance or ``callable(shape,
            dtype)``) or an initial value (array-like).
        shape: required with an initializer; inferred from a value.
        dtype: default: the value's dtype, else float32.
        trainable: whether optimizers update it.
        autocast: whether layers computing in another float dtype may read
            it cast to theirs (Keras 3's flag; kept as :attr:`autocast`).
        aggregation / synchronization: for distributed training
            (``"none"``, ``"mean"``, ``"sum"``, ``"only_first_replica"`` /
            ``"none"``, ``"on_read"``, ``"on_write"``, ``"auto"``).
        name: the last path component (default ``"variable"``).
        layout: Keras 3's sharding layout; only None (the distribution
            package places variables).
        constraint: ``callable(value) -> value`` applied by
            :meth:`apply_constraint` after each optimizer update.
        regularizer: ``callable(value) -> scalar`` loss on the value.

    The parameters come in Keras 3's order; ``constraint`` and
    ``regularizer`` are keyword arguments.

    Example:
        >>> v = Variable("glorot_uniform", shape=(3, 2), name="kernel")
        >>> v.shape, v.dtype, v.path
        ((3, 2), 'float32', 'kernel')
        >>> v.assign(np.ones((3, 2)))
    """

    __array_priority__ = 100  # NumPy defers ``ndarray + variable`` to us
    #: An optimizer slot's variable (the path of the variable it is kept for): a sharded run lays it out so
    _reference_path: str | None = None

    def __init__(
        self,
        initializer: Any,
        shape: Sequence[int] | None = None,
        dtype: Any = None,
        trainable: bool = True,
        autocast: bool = True,
        aggregation: str | None = "none",
        synchronization: str | None = "auto",
        name: str | None = None,
        layout: Any = None,
        **kwargs: Any,
    ):
        constraint, regularizer = kwargs.pop("constraint", None), kwargs.pop("regularizer", None)
        if kwargs:
            raise TypeError(f"Variable: unexpected arguments {sorted(kwargs)}.")
        if layout is not None:
            raise NotImplementedError("Variable(layout=...) is not supported: polykeras.distribution places "
                                      "variables.")
        self.autocast = bool(autocast)
        name = "variable" if name is None else name
        if not isinstance(name, str) or not name or "/" in name:
            raise ValueError(f"Variable: expected a non-empty name without '/', received name={name!r}.")
        aggregation = "none" if aggregation is None else aggregation
        synchronization = "none" if synchronization is None else synchronization
        if aggregation not in AGGREGATIONS:
            raise ValueError(f"Variable {name!r}: expected aggregation in {AGGREGATIONS}, received {aggregation!r}.")
        if synchronization not in SYNCHRONIZATIONS:
            raise ValueError(
                f"Variable {name!r}: expected synchronization in {SYNCHRONIZATIONS}, received {synchronization!r}."
            )
        if constraint is not None and not callable(constraint):
            raise TypeError(f"Variable {name!r}: expected a callable constraint, received {constraint!r}.")
        if regularizer is not None and not callable(regularizer):
            raise TypeError(f"Variable {name!r}: expected a callable regularizer, received {regularizer!r}.")
        self._name = name
        prefix = current_path()
        self._path = f"{prefix}/{name}" if prefix else name
        self._engine = backends.active()
        if (self._engine, type(self)) not in _exposed:
            _expose(self._engine, type(self))
        self._trainable = bool(trainable)
        self.constraint = constraint
        self.regularizer = regularizer
        self._aggregation = aggregation
        self._synchronization = synchronization
        if shape is not None:
            charge(shape, dtype or floatx(), self._path)  # before anything is allocated (a load's memory limit)
        value, self._dtype = _initial_value(initializer, shape, dtype, name)
        self._shape: tuple[int, ...] = tuple(int(d) for d in np.shape(value))
        if shape is not None and tuple(shape) != self._shape:
            raise ValueError(
                f"Variable {name!r}: expected an initial value of shape {tuple(shape)}, received shape {self._shape}."
            )
        self._handle = self._engine.variable(value, self._dtype, self._trainable, name)
        self._sharding: Any = None  # set with sharded storage (fully sharded data parallelism)
        # The handle's own shape and dtype objects, for a cheap check of new values.
        self._native = (getattr(self._handle, "shape", None), getattr(self._handle, "dtype", None))

    # ---------------------------------------------------------- properties
    @property
    def name(self) -> str:
        """The last path component, e.g. ``'kernel'``."""
        return self._name

    @property
    def path(self) -> str:
        """Unique path, e.g. ``'encoder/dense_1/kernel'`` (name scopes at creation)."""
        return self._path

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def ndim(self) -> int:
        return len(self._shape)

    @property
    def dtype(self) -> str:
        return self._dtype

    @property
    def engine(self) -> backends.Backend:
        """The engine holding the handle."""
        return self._engine

    @property
    def handle(self) -> Any:
        """The engine-native handle (tf.Variable, torch tensor, array)."""
        return self._handle

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)

    @property
    def aggregation(self) -> str:
        return self._aggregation

    @property
    def synchronization(self) -> str:
        return self._synchronization

    def __pos__(self) -> Any:
        return self.value

    @property
    def value(self) -> Any:
        """The current value: the innermost :class:`StatelessScope`'s, if one
        maps this variable, else the handle; cast to the dtype of an enclosing
        :class:`AutocastScope` (a mixed-precision layer's call) when the
        variable is a float with ``autocast=True``."""
        if _autocast_open[0]:
            return self._autocast(self._read())
        scope = _scope.get()
        if scope is not None:
            found = scope.get_current_value(self)
            if found is not None:
                return found if self._sharding is None else _read_sharded(self, found)
        return self._handle if self._sharding is None else _read_sharded(self, self._handle)

    def _read(self) -> Any:
        """:attr:`value` without autocasting (the stored dtype)."""
        scope = _scope.get()
        if scope is not None:
            found = scope.get_current_value(self)
            if found is not None:
                return found if self._sharding is None else _read_sharded(self, found)
        return self._handle if self._sharding is None else _read_sharded(self, self._handle)

    def _autocast(self, value: Any) -> Any:
        dtype = _autocast.get()
        if dtype is None or dtype == self._dtype or not self.autocast or not is_float(self._dtype):
            return value
        return self._engine.cast(value, dtype)

    def _set_storage(self, handle: Any, sharding: Any = None) -> None:
        """Replace the handle by ``handle`` holding the same value: a whole
        tensor (``sharding=None``), or this replica's shard of it, read and
        gathered through ``sharding`` (see the module docstring)."""
        _sharded_count[0] += (sharding is not None) - (self._sharding is not None)
        self._handle, self._sharding = handle, sharding

    def numpy(self) -> np.ndarray:
        """A NumPy copy of :attr:`value`. Example: ``v.numpy()``"""
        return self._engine.to_numpy(self._read())

    # ---------------------------------------------------------- assignment
    def _coerce(self, value: Any, who: str) -> Any:
        if isinstance(value, Variable):
            value = value.value
        engine = self._engine
        try:  # fast path: already an engine tensor of the right shape and dtype
            native_shape, native_dtype = self._native
            if value.shape == native_shape and value.dtype == native_dtype and engine.is_tensor(value):
                return value
        except (AttributeError, TypeError, ValueError):
            pass
        if not engine.is_tensor(value) or engine.dtype(value) != self._dtype:
            value = engine.convert_to_tensor(value, self._dtype)
        shape = tuple(engine.shape(value))
        if shape != self._shape:
            raise ValueError(
                f"{who}: variable {self._path!r} expected a value of shape {self._shape}, received shape {shape}."
            )
        return value

    def assign(self, value: Any) -> Any:
        """Set the value (recorded in the active :class:`StatelessScope`, if
        any). Returns the new value. Example: ``v.assign(np.zeros(v.shape))``"""
        value = self._coerce(value, "assign")
        scope = _scope.get()
        if scope is not None:
            scope.add_update(self, value)
        else:
            self._handle = self._engine.assign(self._handle, value)
        return value

    def assign_add(self, value: Any) -> Any:
        """``v.assign(v + value)``. Example: ``step.assign_add(1)``"""
        return self.assign(self._engine.add(self._read(), value_of(value)))

    def assign_sub(self, value: Any) -> Any:
        """``v.assign(v - value)``. Example: ``w.assign_sub(lr * grad)``"""
        return self.assign(self._engine.subtract(self._read(), value_of(value)))

    def apply_constraint(self) -> None:
        """Project the value with :attr:`constraint` (no-op without one).
        Optimizers call it after each update. Example: ``kernel.apply_constraint()``"""
        if self.constraint is not None:
            self.assign(self.constraint(self.value))

    # ------------------------------------------------------------ protocol
    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self.numpy()
        return out if dtype is None else out.astype(dtype)

    def __tf_tensor__(self, dtype: Any = None, name: Any = None) -> Any:
        # TensorFlow's conversion protocol: ``tf_tensor + variable`` reads the
        # value (keeping gradients) instead of copying through ``__array__``.
        value = self.value
        return value if dtype is None else self._engine.cast(value, standardize_dtype(dtype))

    def __repr__(self) -> str:
        value = self.value
        if self._engine.holds_part(value):
            shown = "<sharded>"  # showing numbers would gather: a collective every process must make
        else:
            try:
                shown = np.array2string(self._engine.to_numpy(value), threshold=6, edgeitems=2, separator=", ")
            except Exception:  # noqa: BLE001 - e.g. a traced value: show no numbers
                shown = "<traced>"
        return (
            f"<Variable path={self._path!r} shape={self._shape} dtype={self._dtype} "
            f"trainable={self._trainable} engine={self._engine.name!r} value={shown}>"
        )

    __hash__ = object.__hash__

    def __len__(self) -> int:
        if not self._shape:
            raise TypeError(f"len() of the 0-d variable {self._path!r}.")
        return self._shape[0]

    def __bool__(self) -> bool:
        return bool(self.numpy())

    def __float__(self) -> float:
        return float(self.numpy())

    def __int__(self) -> int:
        return int(self.numpy())

    def __getitem__(self, index: Any) -> Any:
        return self.value[index]

    def __iter__(self) -> Iterator[Any]:
        value = self.value
        return (value[i] for i in range(len(self)))


def _expose(engine: backends.Backend, cls: type) -> None:
    """Let ``engine``'s framework see variables of class ``cls`` as its own
    (TensorFlow: a nest of one tf.Variable): the engine's
    ``expose_variable_class`` hook, asked once per engine and class."""
    engine.expose_variable_class(cls)
    _exposed.add((engine, cls))


def value_of(x: Any) -> Any:
    """A variable's current value, anything else unchanged (what an engine
    kernel takes).

    Example: ``ops.add(value_of(self.total), 1.0)``
    """
    return x.value if isinstance(x, Variable) else x


def _binary(op_name: str, reflected: bool = False) -> Any:
    def method(self: Variable, other: Any) -> Any:
        from polykeras import ops

        fn = getattr(ops, op_name)
        return fn(value_of(other), self.value) if reflected else fn(self.value, value_of(other))

    method.__name__ = op_name
    return method


def _unary(op_name: str) -> Any:
    def method(self: Variable) -> Any:
        from polykeras import ops

        return getattr(ops, op_name)(self.value)

    return method


for _dunder, _op in {
    "add": "add", "sub": "subtract", "mul": "multiply", "truediv": "divide",
    "floordiv": "floor_divide", "mod": "mod", "pow": "power", "matmul": "matmul",
}.items():
    setattr(Variable, f"__{_dunder}__", _binary(_op))
    setattr(Variable, f"__r{_dunder}__", _binary(_op, reflected=True))
for _dunder, _op in {
    "lt": "less", "le": "less_equal", "gt": "greater", "ge": "greater_equal",
    "eq": "equal", "ne": "not_equal", "and": "logical_and", "or": "logical_or",
}.items():
    setattr(Variable, f"__{_dunder}__", _binary(_op))
for _dunder, _op in {"neg": "negative", "abs": "abs", "invert": "logical_not"}.items():
    setattr(Variable, f"__{_dunder}__", _unary(_op))
del _dunder, _op
register_tensor_wrapper(Variable)


def _initial_value(initializer: Any, shape: Sequence[int] | None, dtype: Any, name: str) -> tuple[Any, str]:
    """The initial value as host or engine data, and the dtype string."""
    if isinstance(initializer, str):
        from polykeras import initializers

        initializer = initializers.get(initializer)
    if isinstance(initializer, Variable):
        initializer = initializer.numpy()
    if callable(initializer):
        if shape is None:
            raise ValueError(
                f"Variable {name!r}: expected a shape with initializer {initializer!r}, received shape=None."
            )
        dtype = standardize_dtype(dtype or floatx())
        host = getattr(initializer, "host_values", None)
        shape = tuple(int(d) for d in shape)
        value = host(shape, dtype) if host is not None else initializer(shape, dtype=dtype)
        return value, dtype
    if dtype is None:
        dtype = getattr(initializer, "dtype", None)
        if dtype is None:
            dtype = np.asarray(initializer).dtype
            dtype = floatx() if dtype.kind == "f" else ("int32" if dtype.kind in "iu" else dtype)
    dtype = standardize_dtype(dtype)
    if not backends.active().is_tensor(initializer):
        initializer = np.asarray(initializer)
    return initializer, dtype
