"""Sharded storage for fully sharded data parallelism on the torch engine.

Each trainable variable and optimizer slot is a ``DTensor`` holding this
rank's rows (``Shard(0)``) on a 1-D ``DeviceMesh`` of every rank, as
``fully_shard`` stores parameters. :class:`polykeras.Variable` reads it
through :class:`Sharding`: a layer's call gathers it whole (:class:`Gather`),
and the gradient is reduce-scattered back into a shard gradient. During a
training step, whole weights that ops save for the backward pass are kept as
their shards and gathered again when the backward reaches them
(:meth:`Sharding.saved_as_shards`), so only the running layer's weights are
whole at any time. Imported only by a fully sharded run
(``torch.distributed.tensor`` takes a while to import).

Example:
    >>> sharding = Sharding(lambda: None)      # inside torch.distributed
    >>> sharding.shard(model.trainable_variables)
    >>> sharding.gather(model.layers[0].kernel.handle).shape   # the whole kernel
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable, Iterable
from typing import Any

import torch
import torch.distributed as torch_dist
from torch.distributed.device_mesh import DeviceMesh, init_device_mesh
from torch.distributed.tensor import DTensor, Partial, Shard, distribute_tensor

from polykeras.backends.torch.core import INEXACT, is_dtensor


class Gather(torch.autograd.Function):
    """A ``Shard(0)`` DTensor gathered whole (an all-gather). Its gradient is
    reduce-scattered back into a shard gradient, each rank's part weighted by
    its ``share`` of the batch: what :meth:`TorchDistribution.all_reduce_gradients`
    does for whole gradients."""

    @staticmethod
    def forward(ctx: Any, shard: DTensor, share: float) -> torch.Tensor:
        ctx.mesh, ctx.placements, ctx.share = shard.device_mesh, shard.placements, share
        return shard.full_tensor()

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[DTensor, None]:
        partial = DTensor.from_local(grad * ctx.share, ctx.mesh, [Partial()], run_check=False)
        return partial.redistribute(ctx.mesh, ctx.placements), None


class _Saved:
    """A whole weight that ops saved for the backward pass, kept as its shard:
    gathered again when the backward first needs it, dropped after the last
    use (``pending`` counts the uses left)."""

    __slots__ = ("pending", "shard", "whole")

    def __init__(self, shard: DTensor):
        self.shard = shard
        self.pending = 0
        self.whole: torch.Tensor | None = None


def shardable(variable: Any) -> bool:
    """Variables a fully sharded run stores sharded: trainable ones and
    optimizer slots, with at least one dimension."""
    return len(variable.shape) > 0 and (variable.trainable or variable.synchronization == "on_write")


def release_meshes() -> None:
    """Make every ``DeviceMesh`` of this process drop its process groups,
    before the groups are destroyed. A mesh keeps its groups in a registry of
    its own, and torch keeps copies of our meshes alive (DTensor specs,
    caches): a group held so is never freed, and its gloo threads abort the
    process at exit. Found by one walk of the garbage collector's objects,
    once per run."""
    for mesh in [obj for obj in gc.get_objects() if isinstance(obj, DeviceMesh)]:
        registry = getattr(mesh, "_pg_registry", None)
        if isinstance(registry, dict):
            registry.clear()


class Sharding:
    """Sharded storage of the variables of a fully sharded run: each a
    ``DTensor`` holding this rank's rows (``Shard(0)``) on a 1-D mesh of every
    rank. The ``sharding`` object :class:`polykeras.Variable` reads through."""

    def __init__(self, share: Callable[[], float | None]):
        self.share = share  # this rank's share of the batch in the step in flight (None: outside a step)
        device = "cuda" if torch_dist.get_backend() == "nccl" else "cpu"
        self.mesh = init_device_mesh(device, (torch_dist.get_world_size(),))
        self.variables: list[weakref.ref] = []
        self.alive: dict[int, _Saved] = {}  # data pointer of each gathered whole weight alive -> its shard

    is_shard = staticmethod(is_dtensor)

    def gather(self, shard: DTensor) -> torch.Tensor:
        """The whole value; gradients flow back into ``shard`` when it needs them."""
        if shard.requires_grad and torch.is_grad_enabled():
            share = self.share()
            whole = Gather.apply(shard, share if share is not None else 1.0 / self.mesh.size())
            key = whole.untyped_storage().data_ptr()
            self.alive[key] = _Saved(shard)
            weakref.finalize(whole, self.alive.pop, key, None)
            return whole
        # DTensor.detach() returns a DTensor; torch's annotations say Tensor.
        return shard.detach().full_tensor().detach()  # type: ignore[attr-defined]

    def saved_as_shards(self) -> Any:
        """A block (a training step) in which a whole weight saved for the
        backward pass is kept as its shard and gathered again in the backward,
        so a layer's whole weights live only during its call, as
        ``fully_shard(reshard_after_forward=True)`` does."""
        return torch.autograd.graph.saved_tensors_hooks(self._pack, self._unpack)

    def _pack(self, tensor: torch.Tensor) -> Any:
        if not self.alive:
            return tensor
        saved = self.alive.get(tensor.untyped_storage().data_ptr())
        if saved is None:
            return tensor
        saved.pending += 1
        return saved, tensor.size(), tensor.stride(), tensor.storage_offset()

    @staticmethod
    def _unpack(packed: Any) -> torch.Tensor:
        if not isinstance(packed, tuple):
            return packed
        saved, size, stride, offset = packed
        if saved.whole is None:
            saved.whole = saved.shard.detach().full_tensor().detach()  # an all-gather, in every rank's backward
        whole = saved.whole
        saved.pending -= 1
        if saved.pending == 0:
            saved.whole = None
        return whole.as_strided(size, stride, offset)

    def shard(self, variables: Iterable[Any]) -> None:
        """Store each of ``variables`` that is :func:`shardable` as this rank's
        shard of rank 0's value."""
        for variable in variables:
            if variable._sharding is not None or not shardable(variable):
                continue
            shard = distribute_tensor(variable.handle.detach(), self.mesh, [Shard(0)], src_data_rank=0)
            if variable.trainable and shard.dtype in INEXACT:
                shard.requires_grad_(True)
            variable._set_storage(shard, self)
            self.variables.append(weakref.ref(variable))

    def unshard(self) -> None:
        """Store every sharded variable whole again (every rank gathers)."""
        for ref in self.variables:
            variable = ref()
            if variable is None or variable._sharding is not self:
                continue
            whole = variable.handle.detach().full_tensor().detach()
            if variable.trainable and whole.dtype in INEXACT:
                whole.requires_grad_(True)
            variable._set_storage(whole)
        self.variables.clear()
