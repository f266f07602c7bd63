"""The one mechanism behind every public op: dispatch to the active engine, and
turn an engine's failure into an error that names the op, what it expected and
what it received, the same on every engine.

The happy path is one ``ContextVar`` read and one method call; the error text is
only built when something went wrong.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from polykeras.backends import active

F = TypeVar("F", bound=Callable[..., Any])

#: Passed through untouched: they already say what is wrong.
_PASS_THROUGH = (NotImplementedError, KeyboardInterrupt, MemoryError)


class OpError(ValueError):
    """An op refused its input. The message names the op, what it expected
    and what it received."""


def describe(value: Any) -> str:
    """A short, engine-neutral account of an argument: shape and dtype for
    tensors, the value itself for small Python data."""
    shape = getattr(value, "shape", None)
    if shape is not None and not isinstance(value, type):
        dtype = getattr(value, "dtype", "?")
        dtype = getattr(dtype, "name", None) or str(dtype).removeprefix("torch.").removeprefix("<dtype: '").removesuffix("'>")
        return f"tensor(shape={tuple(int(d) if d is not None else None for d in shape)}, dtype={dtype})"
    if isinstance(value, (list, tuple)) and value and any(hasattr(v, "shape") for v in value):
        inner = ", ".join(describe(v) for v in value)
        return f"[{inner}]"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _received(args: tuple, kwargs: dict) -> str:
    parts = [describe(a) for a in args] + [f"{k}={describe(v)}" for k, v in kwargs.items()]
    return ", ".join(parts)


def _broadcast_note(args: tuple) -> str:
    shapes = [tuple(a.shape) for a in args if hasattr(a, "shape")]
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        return f"shapes {' and '.join(map(str, shapes))} do not broadcast together"
    return ""


#: Types whose instances stand for a tensor (``polykeras.Variable``): every op
#: reads their ``.value`` first, so ``ops.matmul(x, layer.kernel)`` keeps the
#: gradient path and works on traced values. Registered by the type's module.
TENSOR_WRAPPERS: set[type] = set()
_SEQUENCES = (list, tuple)


def register_tensor_wrapper(cls: type) -> type:
    """Let ops accept instances of ``cls`` wherever a tensor goes (they read
    ``instance.value``). Example: ``register_tensor_wrapper(Variable)``"""
    TENSOR_WRAPPERS.add(cls)
    return cls


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


def op(expects: str = "valid inputs", *, broadcast: bool = False, body: bool = False) -> Callable[[F], F]:
    """Make a stub (signature + docstring) into a public op dispatching to the
    engine method of the same name.

    ``expects`` says, in words, what the op needs; it appears in the error.
    With ``body=True`` the function's own body runs instead (an op that
    normalises its arguments or composes other ops), under the same errors.
    """

    def decorate(stub: F) -> F:
        name = stub.__name__
        wrappers = TENSOR_WRAPPERS

        def failure(err: Exception, args: tuple, kwargs: dict) -> Exception:
            if isinstance(err, (*_PASS_THROUGH, OpError)):
                return err
            return _failure(name, expects, broadcast, err, args, kwargs)

        if body:
            @functools.wraps(stub)
            def dispatch(*args: Any, **kwargs: Any) -> Any:
                for a in args:
                    if a.__class__ in wrappers or a.__class__ in _SEQUENCES:
                        args, kwargs = _unwrap_all(args, kwargs)
                        break
                try:
                    return stub(*args, **kwargs)
                except Exception as err:  # noqa: BLE001 - re-raised with context
                    raise failure(err, args, kwargs) from err
        else:
            @functools.wraps(stub)
            def dispatch(*args: Any, **kwargs: Any) -> Any:
                # The hot path: one scan for Variables, one ContextVar read, one call.
                for a in args:
                    if a.__class__ in wrappers or a.__class__ in _SEQUENCES:
                        args, kwargs = _unwrap_all(args, kwargs)
                        break
                else:
                    if kwargs:
                        args, kwargs = _unwrap_all(args, kwargs)
                try:
                    return getattr(active(), name)(*args, **kwargs)
                except Exception as err:  # noqa: BLE001 - re-raised with context
                    raise failure(err, args, kwargs) from err

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
    return kind(message)


def check(condition: bool, name: str, expects: str, received: str) -> None:
    """Raise :class:`OpError` unless ``condition``; for checks an op does
    itself before dispatching."""
    if not condition:
        raise OpError(f"{name}: expected {expects}, received {received}.")
