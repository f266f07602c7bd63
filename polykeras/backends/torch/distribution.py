"""PyTorch data parallelism: ``torch.distributed`` with one process per replica
(gloo on CPU, NCCL where CUDA is available), as torchrun starts them.

Each rank takes its contiguous slice of the global batch. The trainer's step
calls :meth:`all_reduce_gradients`, which weighs each rank's gradients of its
local mean loss by its share of the global batch and sums them: the gradients
of the loss averaged over the global batch. Metric state
(``aggregation="sum"``) is summed across ranks and other non-trainable state
(BatchNormalization's moving statistics) averaged, so every rank holds the same
values: in the same all-reduce as the gradients when the step updated them
first (the built-in train step does), else after the step (:class:`_StepState`).
The first distributed call of a step broadcasts its state from rank 0.

Fully sharded (``enter_data_parallel(..., sharded=True)``, as
``fully_shard`` does): the first distributed step replaces each trainable
variable and optimizer slot by this rank's rows of it, a ``DTensor`` with
``Shard(0)`` placement on a 1-D ``DeviceMesh`` of every rank (rank 0's values
scattered; see ``sharding.py``). A layer's call gathers its weights whole (an
all-gather) and drops them when it returns (what the backward pass needs is
gathered again there); their gradients are reduce-scattered straight into
shard gradients, weighted by each rank's share of the batch. The optimizer
then updates the local shards (its foreach kernels run on
``DTensor.to_local()``). Reading a sharded variable outside a step gathers it
(every rank must read); leaving the scope puts the whole values back.

Predict (``gather_outputs=True``) splits the batch the same way; each rank's
output rows are padded to the largest slice, all-gathered, cut and
concatenated in rank order, so every rank returns the whole batch's outputs.
"""

from __future__ import annotations

import datetime
import importlib
import math
import sys
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.distributed as torch_dist

from polykeras.backends.base import reduce_present, replica_reduced_state
from polykeras.backends.torch.core import is_dtensor


def _world() -> tuple[int, int]:
    if torch_dist.is_available() and torch_dist.is_initialized():
        return torch_dist.get_rank(), torch_dist.get_world_size()
    return 0, 1


def _flat_all_reduce(tensors: list[torch.Tensor], scales: Sequence[float | None] | None = None) -> list[torch.Tensor]:
    """Sum ``tensors`` (each first multiplied by its entry of ``scales``, if
    any) over ranks: one collective per dtype, on one flat buffer."""
    out: list[Any] = [None] * len(tensors)
    by_dtype: dict[torch.dtype, list[int]] = {}
    for i, t in enumerate(tensors):
        by_dtype.setdefault(t.dtype, []).append(i)
    for indices in by_dtype.values():
        group = [tensors[i] for i in indices]
        flat = torch.cat([t.reshape(-1) for t in group])
        parts = _unflatten(flat, group)  # views: they see the all-reduce below
        for i, part in zip(indices, parts):
            scale = scales[i] if scales is not None else None
            if scale is not None:
                part.mul_(scale)
        torch_dist.all_reduce(flat, op=torch_dist.ReduceOp.SUM)
        for i, part in zip(indices, parts):
            out[i] = part
    return out


def _unflatten(flat: torch.Tensor, like: list[torch.Tensor]) -> list[torch.Tensor]:
    """``flat`` cut back into tensors of the shapes of ``like``."""
    return [part.view(t.shape) for part, t in zip(flat.split([t.numel() for t in like]), like)]


class _StepState:
    """The state a data-parallel step reduces across ranks: metric state
    (summed: each rank's change since the last reduction) and
    BatchNormalization's moving statistics (averaged). The reduction rides on
    the gradients' all-reduce when the step's state is final by then (the
    built-in train step updates metrics and statistics first); whatever
    changes afterwards is reduced once more after the step."""

    def __init__(self, summed: list[Any], averaged: list[Any], world: int):
        self.summed, self.averaged, self.world = summed, averaged, world
        self.base = [v.value.detach().clone() for v in summed]  # the values all ranks agree on
        self.reduced: list[Any] | None = None  # averaged values as last reduced

    def contributions(self) -> list[torch.Tensor]:
        """This rank's part: summed-state changes, then averaged state."""
        return ([v.value.detach() - b for v, b in zip(self.summed, self.base)]
                + [v.value.detach() for v in self.averaged])

    def scales(self) -> list[float | None]:
        return [None] * len(self.summed) + [1.0 / self.world] * len(self.averaged)

    def settle(self, totals: list[torch.Tensor]) -> None:
        """Assign the reduced ``totals`` (in :meth:`contributions` order)."""
        with torch.no_grad():
            for i, (variable, total) in enumerate(zip(self.summed, totals)):
                self.base[i] = self.base[i] + total
                variable.assign(self.base[i])
            self.reduced = totals[len(self.summed):]
            for variable, mean in zip(self.averaged, self.reduced):
                variable.assign(mean)

    def finish(self) -> None:
        """Reduce what changed since the last reduction (nothing, usually)."""
        changed = (any(not torch.equal(v.value, b) for v, b in zip(self.summed, self.base))
                   or self.reduced is None and bool(self.averaged)
                   or self.reduced is not None and any(not torch.equal(v.value, r)
                                                       for v, r in zip(self.averaged, self.reduced)))
        if changed:
            self.settle(_flat_all_reduce(self.contributions(), self.scales()))


def _broadcast_from_chief(variables: list[Any]) -> None:
    """Every rank takes rank 0's values (replicas start from the same state)."""
    with torch.no_grad():
        for variable in variables:
            value = variable.value.detach().clone()
            torch_dist.broadcast(value, src=0)
            variable.assign(value)


class _ReplicaSum(torch.autograd.Function):
    """Sum over ranks whose gradient fits the step's loss: each rank's loss is
    its local mean, weighted by its ``share`` of the batch when the gradients
    are reduced, so the gradient reaching this rank's input is
    ``sum_j(share_j * g_j) / share``, exact for uneven slices too."""

    @staticmethod
    def forward(ctx: Any, flat: torch.Tensor, share: float) -> torch.Tensor:
        ctx.share = share
        total = flat.clone()
        torch_dist.all_reduce(total, op=torch_dist.ReduceOp.SUM)
        return total

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        weighted = grad * ctx.share
        torch_dist.all_reduce(weighted, op=torch_dist.ReduceOp.SUM)
        return weighted / ctx.share, None


class _Replicas:
    def __init__(self, devices: list[str], sharded: bool):
        self.devices = devices
        self.sharded = sharded
        self.sharding: Any = None  # a sharding.Sharding, made at the first step (it needs the process group)
        self.share: float | None = None  # this rank's part of the current global batch
        self.state: _StepState | None = None  # the state the step in flight reduces
        # The steps whose state was taken from rank 0. Weak: a step's id may be
        # reused once it is freed, differently on each rank.
        self.synced: weakref.WeakSet = weakref.WeakSet()

    def take_chief_state(self, state: list[Any]) -> None:
        """Every rank takes rank 0's values of ``state``; in a fully sharded
        run, the variables to shard keep only their rows of it."""
        if self.sharded:
            if self.sharding is None:
                from polykeras.backends.torch.sharding import Sharding  # imports torch.distributed.tensor

                self.sharding = Sharding(lambda: self.share)
            self.sharding.shard(state)
        _broadcast_from_chief([v for v in state if v._sharding is None])


class TorchDistribution:
    """The ``DistributionHooks`` of the torch engine."""

    _replicas: _Replicas | None = None

    def distribution_initialize(self, coordinator_address: str, num_processes: int, process_id: int,
                                timeout: float, job_addresses: Sequence[str] | None = None) -> None:
        if torch_dist.is_initialized():
            raise RuntimeError("initialize: the torch engine already joined a run; call shutdown() first.")
        host, _, port = coordinator_address.rpartition(":")
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        # torch._dynamo (the symbolic shapes' FakeTensorMode loads it) takes a
        # reference to every process group alive when it is first imported,
        # which destroy_process_group cannot drop: the group's gloo threads then
        # outlive it and abort the process at exit. Imported first, it takes none.
        importlib.import_module("torch._dynamo")
        try:
            torch_dist.init_process_group(backend, init_method=f"tcp://{host}:{port}", rank=process_id,
                                          world_size=num_processes,
                                          timeout=datetime.timedelta(seconds=timeout))
            # Every rank checks it agrees with the others on the world size.
            sizes = torch.zeros(num_processes, dtype=torch.int64)
            sizes[process_id] = num_processes
            torch_dist.all_reduce(sizes)
        except Exception as error:  # noqa: BLE001 - re-raised with the context the user needs
            if torch_dist.is_initialized():
                torch_dist.destroy_process_group()
            raise RuntimeError(
                f"initialize: the torch engine could not join the run at {coordinator_address} as rank "
                f"{process_id} of {num_processes} within {timeout:g}s (a peer missing, a wrong world size, "
                f"or the port taken?): {type(error).__name__}: {error}") from error
        if sorted(set(sizes.tolist())) != [num_processes]:
            torch_dist.destroy_process_group()
            raise RuntimeError(f"initialize: the ranks disagree on the world size: rank {process_id} expected "
                               f"{num_processes}, the ranks gave {sizes.tolist()}.")

    def distribution_barrier(self) -> None:
        """Block until every rank reached this call (no-op when alone)."""
        if _world()[1] > 1:
            torch_dist.barrier()

    def distribution_shutdown(self) -> None:
        if torch_dist.is_initialized():
            # every rank reaches this point before any tears its connections
            # down: gloo aborts a process whose peer vanished mid-teardown
            torch_dist.barrier()
            sharding = sys.modules.get("polykeras.backends.torch.sharding")
            if sharding is not None:  # a fully sharded run made meshes: they let go of the groups first
                sharding.release_meshes()
            torch_dist.destroy_process_group()

    def process_index(self) -> int:
        return _world()[0]

    def process_count(self) -> int:
        return _world()[1]

    def enter_data_parallel(self, devices: Sequence[str], sharded: bool = False) -> Any:
        known = self.distribution_devices()  # type: ignore[attr-defined]
        unknown = [d for d in devices if d not in known]
        if unknown:
            what = "FullyShardedDataParallel" if sharded else "DataParallel"
            raise ValueError(f"{what}: expected devices among {known}, received {unknown}.")
        previous = self._replicas
        self._replicas = _Replicas(list(devices), sharded)
        return previous

    def exit_data_parallel(self, token: Any) -> None:
        if self._replicas is not None and self._replicas.sharding is not None:
            self._replicas.sharding.unshard()
        self._replicas = token

    def replica_weight(self) -> float | None:
        replicas = self._replicas
        if replicas is None or replicas.share is None:
            return None
        return replicas.share * _world()[1]

    def replica_sum(self, tensors: list[Any]) -> list[Any]:
        replicas = self._replicas
        if replicas is None or replicas.share is None or _world()[1] == 1:
            return tensors
        flat = torch.cat([t.reshape(-1) for t in tensors])
        return _unflatten(_ReplicaSum.apply(flat, replicas.share), tensors)

    def holds_part(self, value: Any) -> bool:
        return is_dtensor(value)

    def gather_whole(self, values: list[Any]) -> list[Any]:
        return [v.detach().full_tensor().detach() for v in values]

    def all_reduce_gradients(self, grads: list[Any]) -> list[Any]:
        replicas = self._replicas
        rank, world = _world()
        if replicas is None or world == 1:
            return grads
        share = replicas.share if replicas.share is not None else 1.0 / world
        state, replicas.state = replicas.state, None  # rides along once per step

        def weighted_sum(present: list[Any]) -> list[Any]:
            if state is None:
                return _flat_all_reduce(present, [share] * len(present))
            scales: list[float | None] = [share] * len(present)
            reduced = _flat_all_reduce(present + state.contributions(), scales + state.scales())
            state.settle(reduced[len(present):])
            return reduced[:len(present)]

        return reduce_present(grads, weighted_sum, reduced=self.holds_part)  # shards: reduce-scattered

    def distribute_step(self, fn: Callable[[Any], Any], state: Sequence[Any],
                        refresh_logs: Callable[[Any], Any] | None = None,
                        gather_outputs: bool = False) -> Callable[[Any], Any]:
        state = list(state)
        summed, averaged = replica_reduced_state(state)

        def run(batch: Any) -> Any:
            replicas = self._replicas
            rank, world = _world()
            if replicas is None or world == 1:
                return fn(batch)
            if run not in replicas.synced:
                replicas.take_chief_state(state)
                replicas.synced.add(run)
            if gather_outputs:
                return _predict_rows(fn, batch, rank, world)
            batch, replicas.share = _local_slice(batch, rank, world)
            reduced = replicas.state = _StepState(summed, averaged, world)
            try:
                if replicas.sharding is None:
                    logs = fn(batch)
                else:
                    with replicas.sharding.saved_as_shards():
                        logs = fn(batch)
            finally:
                replicas.share = replicas.state = None
            reduced.finish()
            return refresh_logs(logs) if refresh_logs is not None else logs

        return run


def _batch_rows(batch: Any) -> int:
    """The number of rows (first dimension) every batch leaf shares."""
    sizes = {int(leaf.shape[0]) for leaf in _leaves(batch) if getattr(leaf, "ndim", 0) > 0}
    if len(sizes) != 1:
        raise ValueError(f"DataParallel: expected every batch leaf to have the same first dimension, "
                         f"received sizes {sorted(sizes)}.")
    return sizes.pop()


def _bounds(total: int, rank: int, world: int) -> tuple[int, int]:
    """Rank ``rank``'s contiguous rows ``[start, stop)`` of a batch of ``total`` rows."""
    return total * rank // world, total * (rank + 1) // world


def _local_slice(batch: Any, rank: int, world: int) -> tuple[Any, float]:
    """This rank's contiguous rows of every batch leaf, and its share of the rows."""
    total = _batch_rows(batch)
    if total < world:
        raise ValueError(f"DataParallel: a global batch of {total} rows cannot be split over {world} ranks; "
                         f"use a batch size of at least {world}.")
    start, stop = _bounds(total, rank, world)

    def cut(leaf: Any) -> Any:
        return leaf[start:stop] if getattr(leaf, "ndim", 0) > 0 else leaf

    return _map(cut, batch), (stop - start) / total


def _predict_rows(fn: Callable[[Any], Any], batch: Any, rank: int, world: int) -> Any:
    """``fn`` (predict) on this rank's rows of ``batch``; every rank returns the
    whole batch's outputs, gathered in rank (= batch) order. A batch with fewer
    rows than ranks runs whole on every rank (the state is replicated)."""
    total = _batch_rows(batch)
    if total < world:
        return fn(batch)
    local, _ = _local_slice(batch, rank, world)
    outputs = fn(local)
    counts = [stop - start for start, stop in (_bounds(total, r, world) for r in range(world))]
    leaves = [torch.as_tensor(leaf).detach() for leaf in _leaves(outputs)]
    for leaf in leaves:
        if leaf.ndim == 0 or leaf.shape[0] != counts[rank]:
            raise ValueError(f"predict (DataParallel): expected every output to have this rank's "
                             f"{counts[rank]} rows of the batch on axis 0, received an output of shape "
                             f"{tuple(leaf.shape)}.")
    gathered = iter(_gather_rows(leaves, counts))
    return _map(lambda _: next(gathered), outputs)


def _gather_rows(leaves: list[torch.Tensor], counts: list[int]) -> list[torch.Tensor]:
    """Every rank's rows of each leaf, concatenated in rank order: one
    ``all_gather`` per dtype, each rank's rows padded to the largest slice."""
    most = max(counts)
    out: list[torch.Tensor | None] = [None] * len(leaves)
    for dtype in dict.fromkeys(leaf.dtype for leaf in leaves):
        group = [i for i, leaf in enumerate(leaves) if leaf.dtype == dtype]
        padded = []
        for i in group:
            leaf = leaves[i]
            if leaf.shape[0] < most:
                leaf = torch.cat([leaf, leaf.new_zeros((most - leaf.shape[0], *leaf.shape[1:]))])
            padded.append(leaf.reshape(-1))
        flat = torch.cat(padded)
        parts = [torch.empty_like(flat) for _ in counts]
        torch_dist.all_gather(parts, flat)
        start = 0
        for i in group:
            leaf = leaves[i]
            size = most * math.prod(leaf.shape[1:])
            rows = [part[start:start + size].reshape(most, *leaf.shape[1:])[:count]
                    for part, count in zip(parts, counts)]
            out[i] = torch.cat(rows)
            start += size
    return out  # type: ignore[return-value]


def _leaves(tree: Any) -> list[Any]:
    if isinstance(tree, (list, tuple)):
        return [leaf for item in tree for leaf in _leaves(item)]
    if isinstance(tree, dict):
        return [leaf for item in tree.values() for leaf in _leaves(item)]
    return [] if tree is None else [tree]


def _map(fn: Callable[[Any], Any], tree: Any) -> Any:
    if isinstance(tree, tuple):
        return tuple(_map(fn, item) for item in tree)
    if isinstance(tree, list):
        return [_map(fn, item) for item in tree]
    if isinstance(tree, dict):
        return {key: _map(fn, item) for key, item in tree.items()}
    return None if tree is None else fn(tree)
