"""TensorFlow data parallelism: not yet supported.

``tf.distribute.MirroredStrategy`` / ``MultiWorkerMirroredStrategy`` need
variables created under ``strategy.scope()`` and the step run per replica with
``strategy.run``; polykeras does not map its step onto them yet. Until it does,
both entry points raise ``NotImplementedError`` naming what is missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import tensorflow as tf

_UNSUPPORTED = ("The 'tensorflow' engine does not support {what} yet: TensorFlow's MirroredStrategy and "
                "MultiWorkerMirroredStrategy are not yet supported by polykeras.distribution. Use the jax "
                "engine (one host, several devices) or the torch engine (several processes).")


class TensorflowDistribution:
    """The ``DistributionHooks`` of the TensorFlow engine."""

    def distribution_devices(self, device_type: str | None = None) -> list[str]:
        devices = tf.config.list_logical_devices(device_type.upper() if device_type else None)
        return [f"{d.device_type.lower()}:{d.name.rsplit(':', 1)[-1]}" for d in devices]

    def distribution_initialize(self, coordinator_address: str, num_processes: int, process_id: int,
                                timeout: float) -> None:
        raise NotImplementedError(_UNSUPPORTED.format(what="multi-worker training (TF_CONFIG)"))

    def enter_data_parallel(self, devices: Sequence[str]) -> Any:
        raise NotImplementedError(_UNSUPPORTED.format(what="data-parallel training (DataParallel)"))
