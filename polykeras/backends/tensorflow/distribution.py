"""TensorFlow data parallelism on ``tf.distribute``.

* One host, several devices: ``MirroredStrategy`` over the DataParallel's
  devices (e.g. two logical CPU devices, or the GPUs).
* Several processes or machines: ``MultiWorkerMirroredStrategy``, joined by
  ``polykeras.distribution.initialize()`` from ``TF_CONFIG``.

The DataParallel scope enters ``strategy.scope()``, so the variables created
inside it are mirrored: one copy per replica. The trainer's step runs per
replica with ``strategy.run`` inside one ``tf.function``: each replica takes its
contiguous slice of the global batch, its gradients (weighted by its share of
the batch) are summed with one all-reduce, and every replica applies the same
update to its own copy with the fused kernels, so the copies stay equal. After
the step, metric state is summed and BatchNormalization's moving statistics
averaged across replicas (:func:`~polykeras.backends.base.replica_reduced_state`).
"""

from __future__ import annotations

import functools
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import tensorflow as tf
from tensorflow.python.eager import context as eager_context

from polykeras.backends.base import reduce_present, replica_reduced_state

SUM, MEAN = tf.distribute.ReduceOp.SUM, tf.distribute.ReduceOp.MEAN
#: One MirroredStrategy per device set, so variables mirrored by one scope
#: stay usable in the next scope over the same devices.
_MIRRORED: dict[tuple[str, ...], tf.distribute.MirroredStrategy] = {}


class _Replicas:
    """The active DataParallel: its strategy and the strategy scope it entered.
    ``traced.share``: while a replica function is traced, that replica's share
    of the batch (per thread: ``MirroredStrategy`` traces each replica in its
    own thread, and they interleave at every all-reduce)."""

    def __init__(self, strategy: tf.distribute.Strategy):
        self.strategy = strategy
        self.scope = strategy.scope()
        self.traced = threading.local()


class _Cluster:
    """A joined multi-worker run."""

    def __init__(self, strategy: tf.distribute.Strategy, workers: list[str], index: int):
        self.strategy, self.workers, self.index = strategy, workers, index
        # A barrier: one tiny all-reduce that every worker must join.
        self.barrier = _function(strategy.run, lambda: tf.distribute.get_replica_context().all_reduce(SUM, 1.0))


class TensorflowDistribution:
    """The ``DistributionHooks`` of the TensorFlow engine."""

    _replicas: _Replicas | None = None
    _cluster: _Cluster | None = None

    def distribution_devices(self, device_type: str | None = None) -> list[str]:
        devices = tf.config.list_logical_devices(device_type.upper() if device_type else None)
        if self._cluster is not None:  # a multi-worker run lists every worker's devices: keep this one's
            devices = [d for d in devices if tf.DeviceSpec.from_string(d.name).task in (None, self._cluster.index)]
        return [f"{d.device_type.lower()}:{d.name.rsplit(':', 1)[-1]}" for d in devices]

    # ------------------------------------------------------- multi-worker
    def distribution_initialize(self, coordinator_address: str, num_processes: int, process_id: int,
                                timeout: float, job_addresses: Sequence[str] | None = None) -> None:
        if self._cluster is not None:
            raise RuntimeError("initialize: the tensorflow engine already joined a run (TensorFlow cannot "
                               "leave one: start a new process).")
        workers, index = _tf_config(num_processes, process_id, job_addresses)
        if eager_context.context()._context_handle is not None:
            raise RuntimeError("initialize: on the tensorflow engine, call polykeras.distribution.initialize() "
                               "before any TensorFlow work: MultiWorkerMirroredStrategy configures TensorFlow's "
                               "runtime when it starts, and it has started already.")
        _rendezvous(workers, index, timeout)
        options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=timeout)
        resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
            tf.train.ClusterSpec({"worker": workers}), task_type="worker", task_id=index, rpc_layer="grpc")
        strategy = tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver,
                                                             communication_options=options)
        self._cluster = _Cluster(strategy, workers, index)

    def distribution_barrier(self) -> None:
        if self._cluster is not None:
            self._cluster.barrier()

    def process_index(self) -> int:
        return self._cluster.index if self._cluster is not None else 0

    def process_count(self) -> int:
        return len(self._cluster.workers) if self._cluster is not None else 1

    # ------------------------------------------------------ data parallel
    def enter_data_parallel(self, devices: Sequence[str], sharded: bool = False) -> Any:
        if sharded:
            raise NotImplementedError(
                "The 'tensorflow' engine does not support fully sharded data parallelism "
                "(polykeras.distribution.FullyShardedDataParallel): tf.distribute has no strategy that "
                "shards variables over data-parallel replicas. Use DataParallel, or the torch or jax engine.")
        strategy = self._strategy(list(devices))
        replicas = _Replicas(strategy)
        replicas.scope.__enter__()
        previous, self._replicas = self._replicas, replicas
        return previous, replicas

    def exit_data_parallel(self, token: Any) -> None:
        previous, replicas = token
        replicas.scope.__exit__(None, None, None)
        self._replicas = previous

    def _strategy(self, devices: list[str]) -> tf.distribute.Strategy:
        local = self.distribution_devices()
        unknown = [d for d in devices if d not in local]
        if unknown:
            raise ValueError(f"DataParallel: expected devices among {local}, received {unknown}.")
        if self._cluster is not None:
            return self._cluster.strategy  # every worker's local devices
        key = tuple(devices)
        if key not in _MIRRORED:
            _MIRRORED[key] = tf.distribute.MirroredStrategy([f"/{d}" for d in devices])
        return _MIRRORED[key]

    def replica_weight(self) -> Any:
        replicas = self._replicas
        if replicas is None:
            return None
        share = getattr(replicas.traced, "share", None)
        return None if share is None else share * replicas.strategy.num_replicas_in_sync

    def replica_sum(self, tensors: list[Any]) -> list[Any]:
        replicas = self._replicas
        replica = tf.distribute.get_replica_context()
        share = getattr(replicas.traced, "share", None) if replicas is not None else None
        if share is None or replica is None or not tf.distribute.has_strategy():
            return tensors

        @tf.custom_gradient
        def replica_sum(*values: Any) -> Any:
            # The gradient fits the step's loss (each replica's local mean,
            # weighted by its share): sum_j(share_j * g_j) / share, exact for
            # uneven slices too.
            def grad(*upstream: Any) -> list[Any]:
                weighted = [g * tf.cast(share, g.dtype) for g in upstream]
                return [g / tf.cast(share, g.dtype) for g in _all_reduce(replica, SUM, weighted)]

            return _all_reduce(replica, SUM, list(values)), grad

        return list(replica_sum(*tensors))

    def all_reduce_gradients(self, grads: list[Any]) -> list[Any]:
        replicas = self._replicas
        replica = tf.distribute.get_replica_context()
        if replicas is None or replica is None or not tf.distribute.has_strategy():
            return grads  # not inside a replica function: nothing to reduce
        share = getattr(replicas.traced, "share", None)
        if share is None:
            share = 1.0 / replica.num_replicas_in_sync

        def weighted_sum(present: list[Any]) -> list[Any]:
            return _all_reduce(replica, SUM, [g * tf.cast(share, g.dtype) for g in present])

        return reduce_present(grads, weighted_sum)

    def distribute_step(self, fn: Callable[[Any], Any], state: Sequence[Any],
                        refresh_logs: Callable[[Any], Any] | None = None,
                        gather_outputs: bool = False) -> Callable[[Any], Any]:
        state = list(state)
        summed, averaged = replica_reduced_state(state)
        step = getattr(fn, "python_function", fn)  # traced again, per replica, inside strategy.run
        compiled: dict[int, Any] = {}

        def replica_step(batch: Any) -> Any:
            replicas = self._replicas
            assert replicas is not None, "distribute_step runs inside enter_data_parallel"
            replica = tf.distribute.get_replica_context()
            batch, replicas.traced.share = _local_slice(batch, replica.replica_id_in_sync_group,
                                                        replica.num_replicas_in_sync)
            try:
                before = [tf.identity(v.value) for v in summed]
                out = step(batch)
            finally:
                replicas.traced.share = None
            if summed:
                deltas = _all_reduce(replica, SUM, [tf.identity(v.value) - b for v, b in zip(summed, before)])
                for variable, b, delta in zip(summed, before, deltas):
                    variable.assign(b + delta)
            if averaged:
                for variable, mean in zip(averaged, _all_reduce(replica, MEAN, [tf.identity(v.value)
                                                                              for v in averaged])):
                    variable.assign(mean)
            return out

        def run(batch: Any) -> Any:
            replicas = self._replicas
            if replicas is None:
                return fn(batch)
            strategy = replicas.strategy
            if id(strategy) not in compiled:
                _check_mirrored(state, strategy)
                _broadcast_from_chief(state, strategy)
                compiled[id(strategy)] = _function(_run_replicas, strategy, replica_step, gather_outputs,
                                                   refresh_logs)
            try:
                return compiled[id(strategy)](batch)
            except (tf.errors.UnavailableError, tf.errors.DeadlineExceededError, tf.errors.AbortedError) as error:
                reason = next((line.strip() for line in error.message.splitlines() if "aborted by" in line),
                              type(error).__name__)
                raise RuntimeError(f"DataParallel: a replica of the run failed, left or timed out during a step "
                                   f"({reason}); restart every worker (BackupAndRestore resumes the training).") \
                    from error

        return run


def _function(fn: Callable[..., Any], *args: Any) -> Any:
    """``tf.function`` of ``fn`` with its first arguments bound (a partial:
    TensorFlow then counts retracing per step, not per code object, and does
    not warn when every model compiles its own step)."""
    return tf.function(functools.partial(fn, *args), reduce_retracing=True, autograph=False)


def _run_replicas(strategy: tf.distribute.Strategy, replica_step: Callable[[Any], Any], gather_outputs: bool,
                  refresh_logs: Callable[[Any], Any] | None, batch: Any) -> Any:
    """The distributed step: ``replica_step`` on every replica, then the
    outputs gathered in batch order (predict) or the first replica's logs."""
    out = strategy.run(replica_step, args=(batch,))
    if gather_outputs:
        return tf.nest.map_structure(lambda t: strategy.gather(t, axis=0), out)
    out = tf.nest.map_structure(lambda t: strategy.experimental_local_results(t)[0], out)
    return refresh_logs(out) if refresh_logs is not None else out


def _check_mirrored(state: list[Any], strategy: tf.distribute.Strategy) -> None:
    foreign = [v.path for v in state if getattr(v.handle, "_distribute_strategy", None) is not strategy]
    if foreign:
        raise ValueError(
            f"DataParallel: on the tensorflow engine, expected every variable of the step to be created inside "
            f"the DataParallel scope (tf.distribute mirrors only those); received {len(foreign)} created outside "
            f"it, e.g. {foreign[:3]}. Build and compile the model inside `with DataParallel():`.")


def _all_reduce(replica: Any, op: Any, values: list[Any]) -> list[Any]:
    """``replica.all_reduce`` over ``values`` of any dtypes: one batched
    collective per dtype, results in the order given."""
    out: list[Any] = [None] * len(values)
    by_dtype: dict[Any, list[int]] = {}
    for i, value in enumerate(values):
        by_dtype.setdefault(value.dtype, []).append(i)
    for indices in by_dtype.values():
        for i, reduced in zip(indices, replica.all_reduce(op, [values[i] for i in indices])):
            out[i] = reduced
    return out


def _broadcast_from_chief(state: list[Any], strategy: tf.distribute.Strategy) -> None:
    """Every replica takes the first replica's values (the chief's, across
    workers), so replicas start equal whatever each worker assigned before."""

    def take_first() -> None:
        replica = tf.distribute.get_replica_context()
        first = tf.equal(replica.replica_id_in_sync_group, 0)
        masked = [tf.where(first, v.value, tf.zeros_like(v.value)) for v in state]
        for variable, value in zip(state, _all_reduce(replica, SUM, masked)):
            variable.assign(value)

    if state:
        _function(strategy.run, take_first)()


def _local_slice(batch: Any, index: Any, count: int) -> tuple[Any, Any]:
    """This replica's contiguous rows of every batch leaf, and its share of the rows."""
    leaves = [leaf for leaf in tf.nest.flatten(batch) if leaf is not None and leaf.shape.rank]
    if not leaves:
        return batch, None
    sizes = {leaf.shape[0] for leaf in leaves} - {None}
    if len(sizes) > 1:
        raise ValueError(f"DataParallel: expected every batch leaf to have the same first dimension, "
                         f"received sizes {sorted(sizes)}.")
    if sizes and min(sizes) < count:
        raise ValueError(f"DataParallel: a global batch of {min(sizes)} rows cannot be split over {count} "
                         f"replicas; use a batch size of at least {count}.")
    total = tf.shape(leaves[0], out_type=tf.int64)[0]
    start = total * tf.cast(index, tf.int64) // count
    stop = total * (tf.cast(index, tf.int64) + 1) // count

    def cut(leaf: Any) -> Any:
        return leaf if leaf is None or not leaf.shape.rank else leaf[start:stop]

    share = tf.cast(stop - start, tf.float32) / tf.cast(total, tf.float32)
    return tf.nest.map_structure(cut, batch), share


def _tf_config(num_processes: int, process_id: int,
               job_addresses: Sequence[str] | None = None) -> tuple[list[str], int]:
    """The workers and this worker's index from ``TF_CONFIG``, checked against
    what ``initialize`` was given; without ``TF_CONFIG``, from every worker's
    address given to ``initialize`` (Keras 3's ``job_addresses``)."""
    raw = os.environ.get("TF_CONFIG")
    if not raw and job_addresses is not None and len(job_addresses) == num_processes:
        return list(job_addresses), process_id
    if not raw:
        raise ValueError("initialize: the tensorflow engine joins a multi-worker run from TF_CONFIG (JSON with "
                         "cluster.worker, the address of every worker, and task.index) or from every worker's "
                         "address in job_addresses; TF_CONFIG is not set.")
    config = json.loads(raw)
    workers = list(config["cluster"]["worker"])
    index = int(config["task"].get("index", 0))
    if (len(workers), index) != (num_processes, process_id):
        raise ValueError(f"initialize: expected the world size and rank given ({num_processes}, {process_id}) to "
                         f"match TF_CONFIG's ({len(workers)} workers, index {index}).")
    return workers, index


def _rendezvous(workers: list[str], index: int, timeout: float) -> None:
    """Wait until every worker is up with the same cluster, or fail within
    ``timeout`` seconds.

    TensorFlow's own join waits for missing workers forever (holding the
    interpreter), so the workers first meet here: each listens on its own
    address and calls every other one; a call answers with the caller's view
    of the cluster; a worker leaves when it reached every peer and every peer
    reached it. The port is then free for TensorFlow's server.
    """
    me = workers[index]
    host, _, port = me.rpartition(":")
    fingerprint = json.dumps(workers).encode()
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, int(port)))
    except OSError as error:
        listener.close()
        raise RuntimeError(f"initialize: worker {index} cannot listen on its address {me} (the port taken?): "
                           f"{error}") from None
    listener.listen(len(workers))
    listener.settimeout(0.2)
    reached_me: set[int] = set()
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(5)
                try:
                    conn.sendall(fingerprint + b"\n")
                    caller = conn.recv(16).decode().strip()
                    if caller.isdigit():
                        reached_me.add(int(caller))
                except OSError:
                    pass

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    deadline = time.monotonic() + timeout
    missing = [i for i in range(len(workers)) if i != index]
    try:
        while True:
            for peer in list(missing):
                answer = _call(workers[peer], str(index).encode(), deadline)
                if answer is None:
                    continue
                if answer != fingerprint:
                    raise RuntimeError(f"initialize: the workers disagree on the cluster: worker {index} has "
                                       f"{workers}, worker {peer} has {answer.decode()}.")
                missing.remove(peer)
            if not missing and len(reached_me) >= len(workers) - 1:
                return
            if time.monotonic() > deadline:
                absent = sorted(set(missing) | (set(range(len(workers))) - reached_me - {index}))
                raise RuntimeError(
                    f"initialize: worker {index} of {len(workers)} ({me}) waited {timeout:g}s for workers "
                    f"{absent} ({[workers[i] for i in absent]}) to join (missing, or a different cluster?).")
            time.sleep(0.05)
    finally:
        done.set()
        server.join()
        listener.close()


def _call(address: str, message: bytes, deadline: float) -> bytes | None:
    """Call a peer's rendezvous listener: its answer, or None if not up yet."""
    host, _, port = address.rpartition(":")
    try:
        wait = max(0.1, min(2.0, deadline - time.monotonic()))
        with socket.create_connection((host, int(port)), timeout=wait) as conn:
            answer = conn.makefile("rb").readline().strip()
            conn.sendall(message + b"\n")
            return answer or None
    except OSError:
        return None
