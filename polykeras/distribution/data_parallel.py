"""``DataParallel``: replicate the model, split every batch over devices or processes."""

from __future__ import annotations

import contextvars
from collections.abc import Sequence
from typing import Any

from polykeras import backends

_current: contextvars.ContextVar[DataParallel | None] = contextvars.ContextVar("polykeras_distribution",
                                                                              default=None)
_global: list[DataParallel | None] = [None]


class DataParallel:
    """Data-parallel training on the active engine.

    ``devices`` (default: every device of the engine, e.g. ``list_devices()``)
    are the replicas on this host; in a multi-process run (after
    :func:`~polykeras.distribution.initialize`) every process is a replica.
    Use it as a scope, or make it the default with :func:`set_distribution`.

    Example:
        >>> with DataParallel(devices=list_devices("cpu")):
        ...     model.fit(x, y, batch_size=128)   # 128 = the global batch
    """

    def __init__(self, devices: Sequence[str] | None = None):
        engine = backends.active()
        self.engine = engine
        self.devices = list(devices) if devices is not None else engine.distribution_devices()
        if not self.devices:
            raise ValueError(f"DataParallel: expected at least one device, received devices={devices!r}.")
        self._tokens: list[tuple[Any, contextvars.Token]] = []

    def __repr__(self) -> str:
        return f"DataParallel(engine={self.engine.name!r}, devices={self.devices!r})"

    def _activate(self) -> Any:
        return self.engine.enter_data_parallel(self.devices)

    def __enter__(self) -> DataParallel:
        token = self._activate()
        self._tokens.append((token, _current.set(self)))
        return self

    def __exit__(self, *exc: Any) -> None:
        token, var_token = self._tokens.pop()
        _current.reset(var_token)
        self.engine.exit_data_parallel(token)

    def scope(self) -> DataParallel:
        """The distribution itself, as a context manager (Keras-style spelling)."""
        return self


def set_distribution(value: DataParallel | None) -> None:
    """Make ``value`` the distribution outside any ``with`` scope (None: none).

    Example: ``set_distribution(DataParallel()); model.fit(x, y, batch_size=64)``
    """
    previous = _global[0]
    if previous is not None:
        previous.engine.exit_data_parallel(previous._global_token)
        _global[0] = None
    if value is not None:
        value._global_token = value._activate()
        _global[0] = value


def distribution() -> DataParallel | None:
    """The active distribution: the innermost scope, else the default, else None."""
    return _current.get() or _global[0]
