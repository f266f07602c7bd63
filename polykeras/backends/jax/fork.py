"""JAX engine, fork safety: a process forked after JAX started refuses to use it.

JAX's runtime is multithreaded; a process forked from one where it had started
(a torch ``DataLoader`` worker, a ``ProcessPoolExecutor`` worker, under the
default "fork" start method on Linux) inherits its locks but not its threads,
and its first compilation or dispatch can hang for ever. Instead, the engine
fails fast in such a child: an ``os.register_at_fork`` hook notes, just before
each fork, whether JAX's runtime had started, and in the child gives the engine
class a ``__getattribute__`` that raises :data:`FORKED_ERROR` (an
:class:`~polykeras.backends.base.EngineUnusableError`, a ``RuntimeError``) on the first
method the child asks of it (an op, a conversion, a variable read). Nothing is
checked on the hot path: the parent, and children forked before JAX started
(which start their own runtime), never carry the guard.

Example:
    >>> guard_forks(JaxBackend)      # done once, by ``polykeras.backends.jax``
    >>> # then, in a DataLoader worker forked after a JAX computation:
    >>> # ops.add(x, 1) -> EngineUnusableError: The jax engine cannot run in this process: it was forked ...
"""

from __future__ import annotations

import os
from typing import Any

from polykeras.backends.base import EngineUnusableError

__all__ = ["FORKED_ERROR", "guard_forks"]

FORKED_ERROR = (
    "The jax engine cannot run in this process: it was forked (os.fork, e.g. a torch DataLoader worker or a "
    "multiprocessing worker under the 'fork' start method) after JAX had started its runtime in the parent, and "
    "JAX's runtime is multithreaded, not fork-safe: a forked process deadlocks on its first JAX computation "
    "(asked for: {attr!r}). Start the workers with the 'spawn' method instead, e.g. "
    "DataLoader(..., multiprocessing_context='spawn'), or preprocess in a tf.data pipeline (dataset.map(layer))."
)

#: Whether JAX's runtime had started when this process last forked (read in the child).
_started_at_fork = False


def _runtime_started() -> bool:
    try:
        from jax._src.xla_bridge import backends_are_initialized
    except ImportError:  # pragma: no cover - a JAX that moved it: assume started, refusing beats hanging
        return True
    return bool(backends_are_initialized())


def _note_runtime() -> None:
    global _started_at_fork
    _started_at_fork = _runtime_started()


def _refuse(self: Any, attr: str) -> Any:
    if attr == "name" or attr.startswith("__"):  # identity, repr and hashing stay usable
        return object.__getattribute__(self, attr)
    raise EngineUnusableError(FORKED_ERROR.format(attr=attr))


def guard_forks(engine_class: type) -> None:
    """Make ``engine_class`` refuse every method in a process forked after
    JAX's runtime had started (see the module's docstring).

    Example: ``guard_forks(JaxBackend)``
    """

    def after_in_child() -> None:
        if _started_at_fork:
            engine_class.__getattribute__ = _refuse  # type: ignore[method-assign, assignment]

    os.register_at_fork(before=_note_runtime, after_in_child=after_in_child)
