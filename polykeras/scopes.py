"""Keras 3's top-level scopes: :class:`name_scope` (prefix variable paths) and
:func:`device` (place new tensors and variables on one device).

Example:
    >>> import polykeras
    >>> with polykeras.name_scope("block"):
    ...     polykeras.Variable(0.0, name="step").path
    'block/step'
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

from polykeras import backends
from polykeras.variables import enter_name_stack, exit_name_scope, name_stack

__all__ = ["device", "name_scope"]

_innermost: contextvars.ContextVar[name_scope | None] = contextvars.ContextVar("polykeras_keras_scope", default=None)


class name_scope:  # noqa: N801 - Keras 3's name
    """Prefix the paths of variables created inside the block with ``name``.

    Args:
        name: one path component (no ``/``).
        caller: the object opening the scope; with ``deduplicate``, a scope
            the same caller opens inside its own scope of the same name adds
            nothing.
        deduplicate: see ``caller``.
        override_parent: a path that replaces the enclosing scopes.

    Example:
        >>> with name_scope("outer"), name_scope("inner"):
        ...     Variable(0.0, name="v").path
        'outer/inner/v'
    """

    def __init__(self, name: str, caller: Any = None, deduplicate: bool = True, override_parent: str | None = None):
        if not isinstance(name, str) or "/" in name:
            raise ValueError(f"name_scope: expected a string name without '/', received name={name!r}.")
        if override_parent is not None and not isinstance(override_parent, str):
            raise ValueError(f"name_scope: expected override_parent to be a string path, received {override_parent!r}.")
        self.name = name
        self.caller = caller
        self.deduplicate = deduplicate
        self.override_parent = override_parent
        self._tokens: list[tuple[contextvars.Token, contextvars.Token]] = []

    def __enter__(self) -> name_scope:
        stack = name_stack()
        if self.override_parent is not None:
            stack = tuple(part for part in self.override_parent.split("/") if part)
        outer = _innermost.get()
        repeated = (self.deduplicate and self.caller is not None and outer is not None
                    and outer.caller is self.caller and outer.name == self.name and self.override_parent is None)
        if self.name and not repeated:
            stack = (*stack, self.name)
        self._tokens.append((enter_name_stack(stack), _innermost.set(self)))
        return self

    def __exit__(self, *exc: Any) -> None:
        names, scope = self._tokens.pop()
        _innermost.reset(scope)
        exit_name_scope(names)


@contextlib.contextmanager
def device(device_name: str) -> Iterator[None]:
    """Create tensors and variables on ``device_name`` (``"cpu:0"``,
    ``"gpu:0"``, ...) inside the block, on the active engine.

    Example:
        >>> with device("cpu:0"):
        ...     x = ops.ones((2,))
    """
    if not isinstance(device_name, str) or not device_name:
        raise ValueError(f"device: expected a device name such as 'cpu:0', received {device_name!r}.")
    with backends.active().device_scope(device_name):
        yield
