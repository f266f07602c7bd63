"""JAX data parallelism: a 1-D ``Mesh`` with a ``"batch"`` axis.

Variables are replicated (``NamedSharding(mesh, P())``), every batch leaf is
sharded on axis 0 (``P("batch")``); the trainer's jitted step then runs SPMD and
XLA inserts the cross-device reductions, so means over the batch (the loss,
BatchNormalization's moments, metrics) are over the global batch already.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec


class _Layout:
    def __init__(self, devices: list[Any]):
        self.mesh = Mesh(np.array(devices), ("batch",))
        self.replicated = NamedSharding(self.mesh, PartitionSpec())
        self.sharded = NamedSharding(self.mesh, PartitionSpec("batch"))
        self.size = len(devices)


def _device_name(device: Any) -> str:
    return f"{device.platform}:{device.id}"


class JaxDistribution:
    """The ``DistributionHooks`` of the JAX engine."""

    _layout: _Layout | None = None

    def distribution_devices(self, device_type: str | None = None) -> list[str]:
        devices = jax.devices(device_type) if device_type else jax.devices()
        return [_device_name(d) for d in devices]

    def distribution_initialize(self, coordinator_address: str, num_processes: int, process_id: int,
                                timeout: float) -> None:
        try:
            jax.distributed.initialize(coordinator_address=coordinator_address, num_processes=num_processes,
                                       process_id=process_id, initialization_timeout=max(1, int(timeout)))
        except Exception as error:  # noqa: BLE001 - re-raised with the context the user needs
            raise RuntimeError(f"initialize: the jax engine could not join the run at {coordinator_address} "
                               f"as process {process_id} of {num_processes} within {timeout:g}s: {error}") from error

    def distribution_shutdown(self) -> None:
        jax.distributed.shutdown()

    def process_index(self) -> int:
        return jax.process_index()

    def process_count(self) -> int:
        return jax.process_count()

    def enter_data_parallel(self, devices: Sequence[str]) -> Any:
        by_name = {_device_name(d): d for d in jax.devices()}
        unknown = [d for d in devices if d not in by_name]
        if unknown:
            raise ValueError(f"DataParallel: expected devices among {sorted(by_name)}, received {unknown}.")
        previous = self._layout
        self._layout = _Layout([by_name[d] for d in devices])
        return previous

    def exit_data_parallel(self, token: Any) -> None:
        self._layout = token

    def distribute_batch(self, batch: Any) -> Any:
        """The global batch placed on the active mesh (sharded on axis 0 where
        it divides evenly, else replicated)."""
        layout = self._layout
        if layout is None:
            return batch

        def place(leaf: Any) -> Any:
            if leaf is None or not hasattr(leaf, "shape"):
                return leaf
            even = len(leaf.shape) > 0 and leaf.shape[0] % layout.size == 0
            sharding = layout.sharded if even else layout.replicated
            if jax.process_count() > 1 and even:
                count, index = jax.process_count(), jax.process_index()
                local = leaf.shape[0] // count
                return jax.make_array_from_process_local_data(
                    sharding, np.asarray(leaf[index * local:(index + 1) * local]), tuple(leaf.shape))
            return jax.device_put(leaf, sharding)

        return jax.tree_util.tree_map(place, batch)

    def distribute_step(self, fn: Callable[[Any], Any], state: Sequence[Any],
                        refresh_logs: Callable[[Any], Any] | None = None,
                        gather_outputs: bool = False) -> Callable[[Any], Any]:
        state = list(state)

        def run(batch: Any) -> Any:
            layout = self._layout
            if layout is None:
                return fn(batch)
            for variable in state:
                value = variable.value
                if getattr(value, "sharding", None) != layout.replicated:
                    variable.assign(jax.device_put(value, layout.replicated))
            return fn(self.distribute_batch(batch))

        return run
