"""Safe mode: while it is on (the default), loading never turns data from a
file or config into code that runs. Layers whose config names code to run
(``Lambda``) refuse to load unless the caller turns it off for a block.

A low module (it imports nothing from polykeras) so that layers can ask it
without loading the saving floor; ``polykeras.saving.safe_mode`` re-exports it.

Example:
    >>> in_safe_mode()
    True
    >>> with safe_mode(False):
    ...     layer = polykeras.layers.Lambda.from_config(config)   # trusted config only
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

__all__ = ["effective", "in_safe_mode", "safe_mode", "set_global_safe_mode"]

_SAFE_MODE: contextvars.ContextVar[bool | None] = contextvars.ContextVar("polykeras_safe_mode", default=None)
#: Safe mode outside any :func:`safe_mode` block, in every thread.
_global = [True]


def set_global_safe_mode(enabled: bool) -> None:
    """Safe mode for the whole process outside :func:`safe_mode` blocks
    (``polykeras.config.enable_unsafe_deserialization`` turns it off).
    Example: ``set_global_safe_mode(False)``"""
    if not isinstance(enabled, bool):
        raise TypeError(f"set_global_safe_mode: expected a bool, received {enabled!r}.")
    _global[0] = enabled


@contextlib.contextmanager
def safe_mode(enabled: bool) -> Iterator[None]:
    """Turn safe mode on or off inside the block (scoped to the current
    thread/context). Example: ``with safe_mode(False): load(trusted_path)``"""
    if not isinstance(enabled, bool):
        raise TypeError(f"safe_mode: expected a bool, received {enabled!r}.")
    token = _SAFE_MODE.set(enabled)
    try:
        yield
    finally:
        _SAFE_MODE.reset(token)


def in_safe_mode() -> bool:
    """Whether safe mode is on here (default True). Example: ``in_safe_mode()``"""
    scoped = _SAFE_MODE.get()
    return _global[0] if scoped is None else scoped


def effective(requested: bool) -> bool:
    """Safe mode for one load: on unless the caller passed ``False`` or the
    surrounding code turned it off with :func:`safe_mode`. Example:
    ``with safe_mode(effective(safe_mode_argument)): ...``"""
    if not isinstance(requested, bool):
        raise TypeError(f"safe_mode: expected a bool, received {requested!r}.")
    return requested and in_safe_mode()
