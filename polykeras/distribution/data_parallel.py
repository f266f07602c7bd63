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

    #: Whether each replica keeps only its shard of the trainable variables
    #: and optimizer state (see :class:`FullyShardedDataParallel`).
    sharded = False

    def __init__(self, devices: Sequence[str] | None = None):
        engine = backends.active()
        self.engine = engine
        self.devices = list(devices) if devices is not None else engine.distribution_devices()
        if not self.devices:
            raise ValueError(f"DataParallel: expected at least one device, received devices={devices!r}.")
        self._tokens: list[tuple[Any, contextvars.Token]] = []

    def __repr__(self) -> str:
        return f"{type(self).__name__}(engine={self.engine.name!r}, devices={self.devices!r})"

    def _activate(self) -> Any:
        return self.engine.enter_data_parallel(self.devices, sharded=self.sharded)

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


class FullyShardedDataParallel(DataParallel):
    """Data parallelism for models whose weights and optimizer state do not
    fit one device: each replica stores only its shard (rows on axis 0) of
    every trainable variable and optimizer slot.

    It means what :class:`DataParallel` means (the global batch, the loss
    averaged over it, reduced metrics, one chief writing) and trains to the
    same numbers. A layer's weights are gathered whole only while it runs:
    torch gathers them at the layer's call (``torch.distributed.tensor``
    ``DTensor`` shards, ``Shard(0)`` on a 1-D mesh) and reduce-scatters their
    gradients, as ``fully_shard`` does; JAX places them with a
    ``NamedSharding`` over the batch axis and XLA gathers them. TensorFlow has
    no fully sharded strategy and raises ``NotImplementedError``.

    Reading a sharded variable outside a step (``get_weights``, ``save``)
    gathers it from every replica: in a multi-process run, every process
    makes the same reads (the checkpoint callbacks do; only the chief writes).

    Example:
        >>> dist.initialize()                        # torchrun's environment
        >>> with dist.FullyShardedDataParallel():
        ...     model = make_model()
        ...     model.compile("adam", "mse")
        ...     model.fit(x, y, batch_size=256)      # 256 = the global batch
    """

    sharded = True


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
