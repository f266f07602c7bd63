"""The one mechanism behind every public op: dispatch to the active engine, and
turn an engine's failure into an error that names the op, what it expected and
what it received, the same on every engine.

The happy path is one set lookup per argument, one ``ContextVar``
read and one method call; the error text is only built when something went
wrong. Arguments of the classes in that set (Variables, symbolic tensors, lists
and tuples) take the slow path: Variables are read, and an op given a symbolic
tensor (:class:`polykeras.symbolic.SymbolicTensor`) records a graph node through
the handler registered with :func:`register_symbolic_type` instead of computing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from polykeras.backends import active
from polykeras.backends.base import EngineUnusableError

F = TypeVar("F", bound=Callable[..., Any])

#: Passed through untouched: they already say what is wrong.
_PASS_THROUGH = (NotImplementedError, EngineUnusableError, KeyboardInterrupt, MemoryError)


class OpError(ValueError):
    """An op refused its input. The message names the op, what it expected
    and what it received."""


def as_axis(axis: int | Sequence[int] | None) -> int | tuple[int, ...] | None:
    """``axis`` as the engines take it: an int, a tuple of ints or None.

    Example: ``as_axis([0, 1])`` -> ``(0, 1)``
    """
    return tuple(axis) if isinstance(axis, Sequence) else axis


def describe(value: Any) -> str:
    """A short, engine-neutral account of an argument: shape and dtype for
    tensors, the value itself for small Python data."""
    shape = getattr(value, "shape", None)
    if shape is not None and not isinstance(value, type):
        dtype = getattr(value, "dtype", "?")
        dtype = (getattr(dtype, "name", None)
                 or str(dtype).removeprefix("torch.").removeprefix("<dtype: '").removesuffix("'>"))
        return f"tensor(shape={_dims(shape)}, dtype={dtype})"
    if isinstance(value, (list, tuple)) and value and any(hasattr(v, "shape") for v in value):
        inner = ", ".join(describe(v) for v in value)
        return f"[{inner}]"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _dims(shape: Any) -> Any:
    """``shape`` as a tuple of ints and ``None`` (unknown sizes), or the text
    ``<unknown rank>`` where the shape is not even a sequence (a TensorFlow
    trace's unknown rank): describing a bad argument must never fail itself.
    A symbolic size (a ``torch.export`` trace's) shows as ``None``: reading
    its value would pin the traced program to it."""
    try:
        return tuple(int(d) if isinstance(d, (int, np.integer)) else None for d in shape)
    except (TypeError, ValueError):
        return "<unknown rank>"


def _received(args: tuple, kwargs: dict) -> str:
    parts = [describe(a) for a in args] + [f"{k}={describe(v)}" for k, v in kwargs.items()]
    return ", ".join(parts)


def _broadcast_note(args: tuple) -> str:
    shapes = [_dims(a.shape) for a in args if hasattr(a, "shape")]
    shapes = [shape for shape in shapes if isinstance(shape, tuple)]
    try:  # an unknown size (None, in a symbolic shape) fits any size
        np.broadcast_shapes(*[tuple(1 if d is None else d for d in shape) for shape in shapes])
    except ValueError:
        return f"shapes {' and '.join(map(str, shapes))} do not broadcast together"
    return ""


#: Types whose instances stand for a tensor (``polykeras.Variable``): every op
#: reads their ``.value`` first, so ``ops.matmul(x, layer.kernel)`` keeps the
#: gradient path and works on traced values. Registered by the type's module.
TENSOR_WRAPPERS: set[type] = set()
_SEQUENCES = (list, tuple)
#: Symbolic tensor classes: an op given one (directly, or inside a list, tuple
#: or dict argument) records a graph node instead of computing.
SYMBOLIC_TYPES: set[type] = set()
_symbolic_handler: list[Callable[[Callable[..., Any], tuple, dict], Any]] = []
#: Every class that sends a call off the hot path: one set lookup per argument.
_SLOW: set[type] = {list, tuple}
#: Every public op by its key (``"mean"``, ``"linalg.inv"``): the allow-list a
#: saved graph node may name.
OPS: dict[str, Callable[..., Any]] = {}
#: The sub-namespaces of ``polykeras.ops`` (``ops.linalg.inv``); the ops of
#: every other module of the package are flat (``ops.mean``).
NAMESPACES = ("linalg", "random", "image")


def register_tensor_wrapper(cls: type) -> type:
    """Let ops accept instances of ``cls`` wherever a tensor goes (they read
    ``instance.value``). Example: ``register_tensor_wrapper(Variable)``"""
    TENSOR_WRAPPERS.add(cls)
    _SLOW.add(cls)
    return cls


def register_symbolic_type(cls: type, handler: Callable[[Callable[..., Any], tuple, dict], Any]) -> type:
    """Make ops record a graph node when given an instance of ``cls``:
    ``handler(op, args, kwargs)`` runs instead of the engine, ``op`` being the
    public op (its key is ``op.op_key``). Example:
    ``register_symbolic_type(SymbolicTensor, record_op_node)``"""
    SYMBOLIC_TYPES.add(cls)
    _SLOW.add(cls)
    _symbolic_handler[:] = [handler]
    return cls


def op_key(module: str, name: str) -> str:
    """The key an op is registered and saved under: the bare name for the
    ops flat in ``polykeras.ops``, ``"linalg.inv"`` for a sub-namespace,
    the full dotted path for ops defined outside ``polykeras.ops``.
    Example: ``op_key("polykeras.ops.linalg", "inv")`` -> ``'linalg.inv'``"""
    if module.startswith("polykeras.ops."):
        family = module.removeprefix("polykeras.ops.").split(".")[0]
        return f"{family}.{name}" if family in NAMESPACES else name
    return f"{module}.{name}"


def _symbolic_in(values: Any, depth: int = 0) -> bool:
    for value in values:
        kind = value.__class__
        if kind in SYMBOLIC_TYPES:
            return True
        if depth < 4 and (kind is list or kind is tuple) and _symbolic_in(value, depth + 1):
            return True
        if depth < 4 and kind is dict and _symbolic_in(value.values(), depth + 1):
            return True
    return False


def _slow_path(args: tuple, kwargs: dict) -> tuple[tuple, dict, bool]:
    """Variables read; and whether the call is symbolic (then the caller
    returns ``_record(...)``)."""
    args, kwargs = _unwrap_all(args, kwargs)
    return args, kwargs, bool(SYMBOLIC_TYPES) and (_symbolic_in(args) or bool(kwargs and _symbolic_in(kwargs.values())))


def _record(public: Callable[..., Any], symbolic: Callable[..., Any] | None, args: tuple, kwargs: dict) -> Any:
    if symbolic is not None:
        return symbolic(*args, **kwargs)
    if not _symbolic_handler:
        raise TypeError(f"{getattr(public, 'op_key', public)}: received a symbolic tensor, but no graph handler "
                        "is registered.")
    return _symbolic_handler[0](public, args, kwargs)


def _needs_unwrap(args: tuple, kwargs: dict) -> bool:
    wrappers = TENSOR_WRAPPERS
    for a in (*args, *kwargs.values()) if kwargs else args:
        kind = type(a)
        if kind in wrappers:
            return True
        if kind is list or kind is tuple:
            for item in a:
                if type(item) in wrappers:
                    return True
    return False


def _unwrap(x: Any) -> Any:
    kind = type(x)
    if kind in TENSOR_WRAPPERS:
        return x.value
    if kind in _SEQUENCES and any(type(i) in TENSOR_WRAPPERS for i in x):
        return kind(_unwrap(i) for i in x)
    return x


@dataclass(frozen=True)
class OpSpec:
    """The shape (``None`` for an unknown size) and dtype of an op's output,
    as an op's shape rule (``@op(spec=...)``) gives it.

    Example: ``OpSpec(x.shape[:-2], "float32")``
    """

    shape: tuple[int | None, ...]
    dtype: str


def op(expects: str = "valid inputs", *, broadcast: bool = False, body: bool = False,
       symbolic: Callable[..., Any] | None = None, spec: Callable[..., Any] | None = None) -> Callable[[F], F]:
    """Make a stub (signature + docstring) into a public op dispatching to the
    engine method of the same name.

    ``expects`` says, in words, what the op needs; it appears in the error.
    With ``body=True`` the function's own body runs instead (an op that
    normalises its arguments or composes other ops), under the same errors.
    Given a symbolic tensor, the op records a graph node (see
    :func:`register_symbolic_type`), unless ``symbolic`` is given: then
    ``symbolic(*args, **kwargs)`` answers (``ops.shape`` reads the static shape).
    ``spec(*args, **kwargs)``, given symbolic tensors, returns the outputs'
    :class:`OpSpec` (raising :class:`OpError` for inputs that cannot fit): the
    op's shape rule, used instead of an abstract evaluation of the op.
    """

    def decorate(stub: F) -> F:
        name = stub.__name__
        slow = _SLOW

        def failure(err: Exception, args: tuple, kwargs: dict) -> Exception:
            if isinstance(err, (*_PASS_THROUGH, OpError)):
                return err
            return _failure(name, expects, broadcast, err, args, kwargs)

        if body:
            @functools.wraps(stub)
            def dispatch(*args: Any, **kwargs: Any) -> Any:
                for a in (*args, *kwargs.values()) if kwargs else args:
                    if a.__class__ in slow:
                        break
                else:
                    try:
                        return stub(*args, **kwargs)
                    except Exception as err:  # noqa: BLE001 - re-raised with context
                        raise failure(err, args, kwargs) from err
                args, kwargs, graph = _slow_path(args, kwargs)
                if graph:
                    return _record(dispatch, symbolic, args, kwargs)
                try:
                    return stub(*args, **kwargs)
                except Exception as err:  # noqa: BLE001 - re-raised with context
                    raise failure(err, args, kwargs) from err
        else:
            @functools.wraps(stub)
            def dispatch(*args: Any, **kwargs: Any) -> Any:
                # The hot path: one set lookup per argument, one ContextVar read, one call.
                for a in (*args, *kwargs.values()) if kwargs else args:
                    if a.__class__ in slow:
                        break
                else:
                    try:
                        return getattr(active(), name)(*args, **kwargs)
                    except Exception as err:  # noqa: BLE001 - re-raised with context
                        raise failure(err, args, kwargs) from err
                args, kwargs, graph = _slow_path(args, kwargs)
                if graph:
                    return _record(dispatch, symbolic, args, kwargs)
                try:
                    return getattr(active(), name)(*args, **kwargs)
                except Exception as err:  # noqa: BLE001 - re-raised with context
                    raise failure(err, args, kwargs) from err

        key = op_key(stub.__module__, name)
        dispatch.op_key = key  # type: ignore[attr-defined]
        dispatch.expects = expects  # type: ignore[attr-defined]
        dispatch.broadcast = broadcast  # type: ignore[attr-defined]
        dispatch.spec = spec  # type: ignore[attr-defined]
        OPS[key] = dispatch
        return dispatch  # type: ignore[return-value]

    return decorate


def _unwrap_all(args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    if not _needs_unwrap(args, kwargs):
        return args, kwargs
    return tuple(_unwrap(a) for a in args), {k: _unwrap(v) for k, v in kwargs.items()}


def _failure(name: str, expects: str, broadcast: bool, err: Exception, args: tuple, kwargs: dict) -> Exception:
    detail = _broadcast_note(args) if broadcast else ""
    reason = detail or f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}"
    message = f"{name}: expected {expects}, received {_received(args, kwargs)} ({reason})."
    kind = TypeError if isinstance(err, TypeError) and not detail else OpError
    error = kind(message)
    error.reason = reason  # type: ignore[union-attr]  # read back by getattr(err, "reason") in layers/op_layer.py
    return error


def check(condition: bool | np.bool_, name: str, expects: str, received: str) -> None:
    """Raise :class:`OpError` unless ``condition``; for checks an op does
    itself before dispatching."""
    if not condition:
        raise OpError(f"{name}: expected {expects}, received {received}.")
