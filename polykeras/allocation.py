"""A bound on the memory that loading a model may allocate, checked before
each variable is allocated.

A config names shapes; a hostile or broken one can name a ``Dense`` with
``units=10**12``. Loaders open a :func:`memory_limit` scope sized from what
the file itself holds (the weights it carries, the optimizer slots they may
need) or, for a config alone, from the machine's memory; every variable
created inside is charged before its initial value is drawn, and the first
one past the bound stops the load with an error naming the file, the variable
and the figures. ``memory_limit(None)`` lifts the bound for a user who means
it.

Example:
    >>> with memory_limit(2**30, "model.pkeras"):
    ...     model = deserialize(config)           # refused past 1 GiB of variables
    >>> with memory_limit(None):                  # opt out: build what the config says
    ...     model = load_model("huge.pkeras")
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from polykeras.backends.dtypes import standardize_dtype

__all__ = ["MemoryLimitError", "charge", "machine_memory", "memory_limit"]


class MemoryLimitError(ValueError):
    """Loading would allocate more memory than the file or machine accounts for.

    Example:
        >>> try:
        ...     load_model("hostile.pkeras")
        ... except MemoryLimitError as err:
        ...     print(err)   # names the file, the variable, its size and the bound
    """


@dataclass
class _Budget:
    limit: int | None  # None: no bound (the user opted out)
    where: str
    why: str
    used: int = 0


_budget: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("polykeras_memory_limit", default=None)


def machine_memory() -> int:
    """Physical memory in bytes (a bound no load can exceed usefully).
    Example: ``machine_memory()`` -> ``25769803776``"""
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return 2**40


def _size(nbytes: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if nbytes < 1024 or unit == "PiB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    return f"{nbytes:.1f} PiB"


@contextlib.contextmanager
def memory_limit(limit: int | None, where: str = "this load", why: str = "the bound") -> Iterator[None]:
    """Variables created inside may take at most ``limit`` bytes in all
    (``None``: no bound, also for loads nested inside). ``where`` names the
    file in errors, ``why`` says where the figure comes from.

    Example: ``with memory_limit(None): model = load_model("huge.pkeras")``
    """
    outer = _budget.get()
    if outer is not None and outer.limit is None:
        limit = None  # an opt-out holds for everything inside it
    token = _budget.set(_Budget(limit, where, why))
    try:
        yield
    finally:
        _budget.reset(token)


def charge(shape: Sequence[int], dtype: object, path: str) -> None:
    """Count a variable about to be allocated against the innermost
    :func:`memory_limit`; raise :class:`MemoryLimitError` past it.
    Example: ``charge((4, 3), "float32", "dense/kernel")``"""
    budget = _budget.get()
    if budget is None or budget.limit is None:
        return
    nbytes = int(np.prod([int(d) for d in shape], dtype=object)) * np.dtype(standardize_dtype(dtype)).itemsize
    budget.used += nbytes
    if budget.used > budget.limit:
        raise MemoryLimitError(
            f"{budget.where}: variable {path!r} of shape {tuple(int(d) for d in shape)} needs {_size(nbytes)}, "
            f"bringing the model to {_size(budget.used)}; {budget.why} allows {_size(budget.limit)}. Nothing was "
            "allocated for it. If the model is really this large, load it inside "
            "polykeras.saving.memory_limit(None).")
