"""Safe mode: while it is on (the default), loading never turns data from a
file or config into code that runs. Layers whose config names code to run
(``Lambda``) refuse to load unless the caller turns it off for a block.

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

__all__ = ["effective", "in_safe_mode", "safe_mode"]

_SAFE_MODE: contextvars.ContextVar[bool] = contextvars.ContextVar("polykeras_safe_mode", default=True)


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
    return _SAFE_MODE.get()


def effective(requested: bool) -> bool:
    """Safe mode for one load: on unless the caller passed ``False`` or the
    surrounding code turned it off with :func:`safe_mode`. Example:
    ``with safe_mode(effective(safe_mode_argument)): ...``"""
    if not isinstance(requested, bool):
        raise TypeError(f"safe_mode: expected a bool, received {requested!r}.")
    return requested and in_safe_mode()
