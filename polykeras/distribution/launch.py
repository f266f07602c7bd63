"""Joining a multi-process run, and who this process is in it.

:func:`initialize` reads the launcher's environment when not given arguments:

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
    """Devices of the active engine a distribution may use (``"cpu"``, ``"gpu"``, ...).

    Example: ``list_devices("cpu")`` -> ``['cpu:0', 'cpu:1', 'cpu:2', 'cpu:3']``
    """
    return backends.active().distribution_devices(device_type)


def _from_environment() -> tuple[str | None, int | None, int | None]:
    env = os.environ
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


def initialize(coordinator_address: str | None = None, num_processes: int | None = None,
               process_id: int | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Join a multi-process run on the active engine.

    Arguments not given come from the launcher's environment (see the module
    docstring). Blocks until every peer joined; raises ``RuntimeError`` after
    ``timeout`` seconds when one is missing, ``ValueError`` for an impossible
    world size or rank. With one process and no coordinator it does nothing.

    Example: ``initialize("10.0.0.1:1234", num_processes=2, process_id=0, timeout=60)``
    """
    env_address, env_count, env_id = _from_environment()
    coordinator_address = coordinator_address or env_address
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
    backends.active().distribution_initialize(coordinator_address, num_processes, process_id, float(timeout))


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
