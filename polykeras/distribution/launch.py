"""Joining a multi-process run, and who this process is in it.

:func:`initialize` reads the launcher's environment when not given arguments:

* Keras 3: ``KERAS_DISTRIBUTION_JOB_ADDRESSES``, ``KERAS_DISTRIBUTION_NUM_PROCESSES``,
  ``KERAS_DISTRIBUTION_PROCESS_ID``;
* torchrun: ``MASTER_ADDR``, ``MASTER_PORT``, ``WORLD_SIZE``, ``RANK``;
* TensorFlow: ``TF_CONFIG`` (``cluster.worker`` and ``task.index``);
* JAX: ``JAX_COORDINATOR_ADDRESS``, ``JAX_NUM_PROCESSES``, ``JAX_PROCESS_ID``.
"""

from __future__ import annotations

import json
import os
from typing import Any

from polykeras import backends

DEFAULT_TIMEOUT = 300.0


def list_devices(device_type: str | None = None) -> list[str]:
    """Devices of the active engine a distribution may use, as ``"type:id"``:
    those of ``device_type`` (``"cpu"``, ``"gpu"``, ``"tpu"``), else of the
    default type (the accelerators if any, else the CPUs), never a mix.

    Example: ``list_devices("cpu")`` -> ``['cpu:0', 'cpu:1', 'cpu:2', 'cpu:3']``
    """
    return backends.active().distribution_devices(device_type)


def get_device_count(device_type: str | None = None) -> int:
    """How many devices :func:`list_devices` gives for ``device_type``.

    Example: ``get_device_count("cpu")`` -> ``4``
    """
    return len(list_devices(device_type))


def _from_environment() -> tuple[str | None, int | None, int | None]:
    env = os.environ
    if any(env.get(f"KERAS_DISTRIBUTION_{key}") for key in ("JOB_ADDRESSES", "NUM_PROCESSES", "PROCESS_ID")):
        return (env.get("KERAS_DISTRIBUTION_JOB_ADDRESSES") or None,
                _int(env.get("KERAS_DISTRIBUTION_NUM_PROCESSES"), "KERAS_DISTRIBUTION_NUM_PROCESSES"),
                _int(env.get("KERAS_DISTRIBUTION_PROCESS_ID"), "KERAS_DISTRIBUTION_PROCESS_ID"))
    if env.get("WORLD_SIZE") or env.get("MASTER_ADDR"):
        address = f"{env.get('MASTER_ADDR', '127.0.0.1')}:{env.get('MASTER_PORT', '29500')}"
        return address, _int(env.get("WORLD_SIZE"), "WORLD_SIZE"), _int(env.get("RANK"), "RANK")
    if env.get("TF_CONFIG"):
        try:
            config = json.loads(env["TF_CONFIG"])
            workers = list(config["cluster"]["worker"])
            index = int(config["task"].get("index", 0))
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"initialize: expected TF_CONFIG as JSON with cluster.worker and task.index, "
                             f"received {env['TF_CONFIG']!r} ({error!r}).") from None
        return workers[0] if workers else None, len(workers), index
    if env.get("JAX_COORDINATOR_ADDRESS"):
        return (env["JAX_COORDINATOR_ADDRESS"], _int(env.get("JAX_NUM_PROCESSES"), "JAX_NUM_PROCESSES"),
                _int(env.get("JAX_PROCESS_ID"), "JAX_PROCESS_ID"))
    return None, None, None


def _int(value: Any, what: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"initialize: expected an integer {what}, received {value!r}.") from None


def initialize(job_addresses: str | None = None, num_processes: int | None = None,
               process_id: int | None = None, *, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Join a multi-process run on the active engine.

    ``job_addresses``: ``"host:port"`` of process 0 (the coordinator), or
    every process's address separated by commas, process 0's first (then
    ``num_processes``, if given, must be their number). Arguments not given
    come from the launcher's environment (see the module docstring). Blocks
    until every peer joined; raises ``RuntimeError`` after ``timeout``
    seconds when one is missing, ``ValueError`` for an impossible world size
    or rank. With one process and no coordinator it does nothing.

    Example: ``initialize("10.0.0.1:1234,10.0.0.2:2345", num_processes=2, process_id=0, timeout=60)``
    """
    env_address, env_count, env_id = _from_environment()
    job_addresses = job_addresses or env_address
    coordinator_address, addresses = None, None
    if job_addresses:
        addresses = [a.strip() for a in str(job_addresses).split(",")]
        if len(addresses) > 1 and num_processes is not None and num_processes != len(addresses):
            raise ValueError(f"initialize: expected num_processes to be the number of job_addresses "
                             f"({len(addresses)}: {addresses}), received num_processes={num_processes!r}.")
        if len(addresses) > 1 and num_processes is None:
            num_processes = len(addresses)
        coordinator_address = addresses[0]
    num_processes = env_count if num_processes is None else num_processes
    process_id = env_id if process_id is None else process_id
    if num_processes is None:
        num_processes = 1
    if process_id is None:
        process_id = 0
    if not isinstance(num_processes, int) or num_processes < 1:
        raise ValueError(f"initialize: expected a world size (num_processes) >= 1, received {num_processes!r}.")
    if not isinstance(process_id, int) or not 0 <= process_id < num_processes:
        raise ValueError(f"initialize: expected a rank (process_id) in [0, {num_processes}) for a world of "
                         f"{num_processes} processes, received {process_id!r}.")
    if num_processes == 1 and coordinator_address is None:
        return
    if not coordinator_address or ":" not in coordinator_address:
        raise ValueError(f"initialize: expected a coordinator address 'host:port', received "
                         f"{coordinator_address!r}.")
    if timeout <= 0:
        raise ValueError(f"initialize: expected a positive timeout in seconds, received {timeout!r}.")
    backends.active().distribution_initialize(coordinator_address, num_processes, process_id, float(timeout),
                                              job_addresses=addresses if addresses and len(addresses) > 1 else None)


def shutdown() -> None:
    """Leave the multi-process run (no-op when alone)."""
    backends.active().distribution_shutdown()


def rank() -> int:
    """This process's rank (0 when alone). Example: ``if rank() == 0: ...``"""
    return backends.active().process_index()


def process_count() -> int:
    """How many processes take part (1 when alone)."""
    return backends.active().process_count()


def is_chief() -> bool:
    """True on the process that logs and writes checkpoints (rank 0)."""
    return rank() == 0


def all_reduce_gradients(grads: list[Any]) -> list[Any]:
    """For a custom loop: this replica's gradients turned into the gradients of
    the loss averaged over the global batch (identity when not distributed).

    Example:
        >>> loss, grads = ops.value_and_grad(loss_fn)(values)
        >>> optimizer.apply(all_reduce_gradients(grads), model.trainable_variables)
    """
    return backends.active().all_reduce_gradients(grads)


def barrier() -> None:
    """Wait until every process of the run reaches this call (no-op when alone).

    Example:
        >>> if is_chief():
        ...     write_shared_file()
        >>> barrier()            # every rank now sees the file
    """
    backends.active().distribution_barrier()
