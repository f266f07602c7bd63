"""The call context: which layer call is outermost and the ``training`` flag
that flows from outer layer calls to inner ones.

Example:
    >>> with enter(layer, training=True):
    ...     current().training
    True
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["CallContext", "current", "enter"]


@dataclass(frozen=True)
class CallContext:
    """The outermost layer being called (``entry``) and the training flag."""

    entry: Any
    training: bool | None


_context: contextvars.ContextVar[CallContext | None] = contextvars.ContextVar("polykeras_call", default=None)


def current() -> CallContext | None:
    """The active call context, or None outside any layer call."""
    return _context.get()


@contextlib.contextmanager
def enter(layer: Any, training: bool | None) -> Iterator[CallContext]:
    """Enter ``layer``'s call; the outermost call's layer stays ``entry``."""
    outer = _context.get()
    context = CallContext(entry=outer.entry if outer is not None else layer, training=training)
    token = _context.set(context)
    try:
        yield context
    finally:
        _context.reset(token)
