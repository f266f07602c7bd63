"""One data-parallel API mapped onto each engine's own distributed runtime.

Keras 3's names and signatures: ``DeviceMesh``, ``TensorLayout``,
``LayoutMap``, ``distribute_tensor``, ``DataParallel``, ``ModelParallel``,
``initialize``, ``list_devices``, ``get_device_count``, ``set_distribution``,
``distribution``; polykeras adds ``FullyShardedDataParallel`` and the
process helpers (``rank``, ``barrier``, ``all_reduce_gradients``, ...).

Data parallelism means the same everywhere: the user gives the *global* batch
size; each replica (a device, or a process) computes on its part of the batch;
the loss is averaged over the global batch; parameters and optimizer state stay
replicated; metrics are reduced across replicas; only the chief (rank 0) logs
and writes checkpoints.

* JAX: a 1-D ``Mesh`` with a ``"batch"`` axis; variables replicated, batches
  sharded on axis 0; the jitted step reduces across devices itself.
* PyTorch: ``torch.distributed`` (gloo on CPU, one process per replica, as
  torchrun starts them): each rank takes its slice of the global batch and the
  gradients are all-reduced before the optimizer update.
* TensorFlow: ``MirroredStrategy`` over the devices on one host,
  ``MultiWorkerMirroredStrategy`` from ``TF_CONFIG`` across hosts; build the
  model inside the scope (TensorFlow mirrors only variables created there).

``FullyShardedDataParallel`` means the same, but each replica stores only
its shard of the trainable variables and optimizer state (torch: ``DTensor``
shards gathered per layer call, as ``fully_shard``; JAX: ``NamedSharding``
over the batch axis; not on TensorFlow).

Example:
    >>> import polykeras.distribution as dist
    >>> dist.initialize()                      # reads torchrun / TF_CONFIG / JAX env
    >>> with dist.DataParallel().scope():
    ...     model.fit(x, y, batch_size=256)    # 256 = the global batch
"""

from polykeras.distribution.data_parallel import (
    DataParallel,
    Distribution,
    FullyShardedDataParallel,
    ModelParallel,
    distribution,
    set_distribution,
)
from polykeras.distribution.launch import (
    all_reduce_gradients,
    barrier,
    get_device_count,
    initialize,
    is_chief,
    list_devices,
    process_count,
    rank,
    shutdown,
)
from polykeras.distribution.layout import DeviceMesh, LayoutMap, TensorLayout, distribute_tensor

__all__ = [
    "DataParallel",
    "DeviceMesh",
    "Distribution",
    "FullyShardedDataParallel",
    "LayoutMap",
    "ModelParallel",
    "TensorLayout",
    "all_reduce_gradients",
    "barrier",
    "distribute_tensor",
    "distribution",
    "get_device_count",
    "initialize",
    "is_chief",
    "list_devices",
    "process_count",
    "rank",
    "set_distribution",
    "shutdown",
]
