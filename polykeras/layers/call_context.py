"""The call context: the ``training`` flag that flows from outer layer calls
to inner ones, and the *generation* of the outermost call (a number that
grows with every outermost call; losses added during a call carry it, which
is how "losses are cleared at the start of each outer call" is done without
visiting every layer).

Example:
    >>> token = push(training=True)
    >>> current().training
    True
    >>> pop(token)
"""

from __future__ import annotations

import contextvars
import itertools
from dataclasses import dataclass

__all__ = ["CallContext", "current", "pop", "push"]


@dataclass(frozen=True)
class CallContext:
    """The training flag and the generation of the outermost call."""

    training: bool | None
    generation: int


_context: contextvars.ContextVar[CallContext | None] = contextvars.ContextVar("polykeras_call", default=None)
_generations = itertools.count(1)


def current() -> CallContext | None:
    """The active call context, or None outside any layer call."""
    return _context.get()


def push(training: bool | None, outer: CallContext | None = None) -> contextvars.Token:
    """Enter a layer call (a new generation unless ``outer`` is given)."""
    generation = outer.generation if outer is not None else next(_generations)
    return _context.set(CallContext(training, generation))


def pop(token: contextvars.Token) -> None:
    """Leave the call entered with :func:`push`."""
    _context.reset(token)
