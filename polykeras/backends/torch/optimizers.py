"""Fused optimizer rules for the PyTorch engine.

The protocol's ``sgd_update`` / ``adam_update`` / ``rmsprop_update`` are
Keras 3's rules over lists of tensors. When the optimizer allows it
(``inplace=True``: eager, outside any StatelessScope, the values being the
variables' own leaf tensors) and the tensors are uniform (one float dtype, one
device), this engine runs them as ``torch._foreach_*`` in-place kernels under
``no_grad``: a few passes over memory per tensor and no temporaries beyond two
or three, instead of a dozen freshly allocated intermediates. Adam on the CPU
runs torch's fused kernel (``torch._fused_adam_``): one pass per tensor.
Otherwise the portable definitions in :class:`~polykeras.backends.base.Backend` run.

Example:
    >>> engine = B.get("torch")
    >>> w, g = [torch.ones(2)], [torch.ones(2)]
    >>> engine.sgd_update(w, g, [], torch.tensor(0.5), inplace=True)[0][0]
    tensor([0.5000, 0.5000])
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import torch

from polykeras.backends.torch.core import FLOATS, T, is_dtensor

Tensors = Sequence[Any]


def _uniform(*groups: Tensors | None) -> bool:
    """True when every tensor in the groups is a torch tensor of the first
    variable's float dtype and device."""
    first = groups[0][0] if groups[0] else None
    if first is None or type(first) is not T or first.dtype not in FLOATS:
        return False
    dtype, device = first.dtype, first.device
    for group in groups:
        for x in group or ():
            if type(x) is not T or x.dtype is not dtype or x.device != device:
                return False
    return True


def _contiguous(*groups: Tensors | None) -> bool:
    """True when every tensor in the groups is contiguous (the fused kernels
    walk each tensor's memory in order)."""
    return all(x.is_contiguous() for group in groups for x in group or ())


def _on_local_shards(rule: Any) -> Any:
    """``rule`` run on the local tensors when its tensors are ``DTensor`` s
    (fully sharded data parallelism): the in-place kernels then update each
    rank's shard where it lies, and the rule returns the DTensors."""

    @functools.wraps(rule)
    def run(self: Any, variables: Tensors, *args: Any, inplace: bool = False, **kwargs: Any) -> Any:
        if not (inplace and variables and is_dtensor(variables[0])):
            return rule(self, variables, *args, inplace=inplace, **kwargs)
        sharded: dict[int, Any] = {}

        def local(group: Any) -> Any:
            if not isinstance(group, (list, tuple)):
                return group
            out = []
            for x in group:
                if is_dtensor(x):
                    with torch.no_grad():
                        shard = x.to_local()
                    sharded[id(shard)] = x
                    x = shard
                out.append(x)
            return out

        result = rule(self, local(variables), *map(local, args), inplace=True,
                      **{key: local(value) for key, value in kwargs.items()})
        return tuple(group if group is None else [sharded.get(id(x), x) for x in group] for group in result)

    return run


def _scalar(x: Any, like: T) -> T:
    """``x`` (a 0-d tensor or a number) as a 0-d tensor of ``like``'s dtype and device."""
    if type(x) is T and x.dtype is like.dtype and x.device == like.device:
        return x
    return torch.as_tensor(x, dtype=like.dtype, device=like.device)


def _fused_adam(variables: list[T], grads: list[T], momentums: list[T], velocities: list[T],
                hats: list[T] | None, learning_rate: Any, step: Any, beta_1: float, beta_2: float,
                epsilon: float) -> None:
    """Keras's Adam step as torch's fused kernel, in place: one pass reads and
    writes each variable and its slots once (the foreach rule makes six).

    Torch divides ``sqrt(v)`` by ``sqrt(1 - beta_2**t)`` before adding its
    epsilon, Keras scales the learning rate instead; the two agree exactly with
    torch's epsilon set to ``epsilon / sqrt(1 - beta_2**t)``."""
    t = float(step)
    steps = [torch.tensor(t, dtype=torch.float32)] * len(variables)
    with torch.no_grad():
        torch._fused_adam_(variables, grads, momentums, velocities, hats or [], steps,
                           lr=float(learning_rate), beta1=beta_1, beta2=beta_2, weight_decay=0.0,
                           eps=epsilon / math.sqrt(1.0 - beta_2**t), amsgrad=hats is not None, maximize=False)


class OptimizerMixin:
    """In-place multi-tensor kernels for the protocol's optimizer rules."""

    @_on_local_shards
    def sgd_update(self, variables: Tensors, grads: Tensors, momentums: Tensors, learning_rate: Any,
                   momentum: float = 0.0, nesterov: bool = False, inplace: bool = False) -> Any:
        if not (inplace and _uniform(variables, grads, momentums if momentum else None)):
            return super().sgd_update(variables, grads, momentums, learning_rate, momentum=momentum,  # type: ignore[misc]
                                      nesterov=nesterov, inplace=inplace)
        variables, grads, momentums = list(variables), list(grads), list(momentums)
        with torch.no_grad():
            lr = _scalar(learning_rate, variables[0])
            if not momentum and lr.device.type == "cpu":
                torch._foreach_add_(variables, grads, alpha=-float(lr))
                return variables, []
            step = torch._foreach_mul(grads, lr)
            if not momentum:
                torch._foreach_sub_(variables, step)
                return variables, []
            torch._foreach_mul_(momentums, momentum)
            torch._foreach_sub_(momentums, step)
            if nesterov:
                delta = torch._foreach_mul(momentums, momentum)
                torch._foreach_sub_(delta, step)
                torch._foreach_add_(variables, delta)
            else:
                torch._foreach_add_(variables, momentums)
        return variables, momentums

    @_on_local_shards
    def adam_update(self, variables: Tensors, grads: Tensors, momentums: Tensors, velocities: Tensors,
                    learning_rate: Any, step: Any, beta_1: float = 0.9, beta_2: float = 0.999,
                    epsilon: float = 1e-7, velocity_hats: Tensors | None = None, inplace: bool = False) -> Any:
        if not (inplace and _uniform(variables, grads, momentums, velocities, velocity_hats)):
            return super().adam_update(variables, grads, momentums, velocities, learning_rate, step,  # type: ignore[misc]
                                       beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                                       velocity_hats=velocity_hats, inplace=inplace)
        variables, grads = list(variables), list(grads)
        momentums, velocities = list(momentums), list(velocities)
        hats = list(velocity_hats) if velocity_hats is not None else None
        like = variables[0]
        if like.device.type == "cpu" and _contiguous(variables, momentums, velocities, hats):
            # one pass over memory per tensor; reading the step on the CPU costs no sync. A
            # transposed gradient (a kernel used as ``kernel.T``) is copied once, not walked six times
            grads = [g.contiguous() for g in grads]
            _fused_adam(variables, grads, momentums, velocities, hats, learning_rate, step, beta_1, beta_2, epsilon)
            return variables, momentums, velocities, hats
        with torch.no_grad():
            t = _scalar(step, like)
            beta_1_power = torch.pow(_scalar(beta_1, like), t)
            beta_2_power = torch.pow(_scalar(beta_2, like), t)
            alpha = _scalar(learning_rate, like) * torch.sqrt(1.0 - beta_2_power) / (1.0 - beta_1_power)
            torch._foreach_lerp_(momentums, grads, 1.0 - beta_1)  # m + (g - m) * (1 - beta_1)
            torch._foreach_lerp_(velocities, torch._foreach_mul(grads, grads), 1.0 - beta_2)
            if hats is not None:
                torch._foreach_maximum_(hats, velocities)
            denominator = torch._foreach_sqrt(hats if hats is not None else velocities)
            torch._foreach_add_(denominator, epsilon)
            if like.device.type == "cpu":  # reading a CPU scalar costs no sync: one fused pass
                torch._foreach_addcdiv_(variables, momentums, denominator, -float(alpha))
            else:
                update = torch._foreach_mul(momentums, alpha)
                torch._foreach_div_(update, denominator)
                torch._foreach_sub_(variables, update)
        return variables, momentums, velocities, hats

    @_on_local_shards
    def rmsprop_update(self, variables: Tensors, grads: Tensors, velocities: Tensors, momentums: Tensors,
                       average_gradients: Tensors, learning_rate: Any, rho: float = 0.9, momentum: float = 0.0,
                       epsilon: float = 1e-7, centered: bool = False, inplace: bool = False) -> Any:
        groups = (variables, grads, velocities, momentums if momentum > 0 else None,
                  average_gradients if centered else None)
        if not (inplace and _uniform(*groups)):
            return super().rmsprop_update(variables, grads, velocities, momentums,  # type: ignore[misc]
                                          average_gradients, learning_rate, rho=rho, momentum=momentum,
                                          epsilon=epsilon, centered=centered, inplace=inplace)
        variables, grads, velocities = list(variables), list(grads), list(velocities)
        momentums, averages = list(momentums), list(average_gradients)
        with torch.no_grad():
            torch._foreach_mul_(velocities, rho)
            torch._foreach_add_(velocities, torch._foreach_mul(grads, grads), alpha=1.0 - rho)
            if centered:
                torch._foreach_mul_(averages, rho)
                torch._foreach_add_(averages, grads, alpha=1.0 - rho)
                denominator = torch._foreach_sub(velocities, torch._foreach_mul(averages, averages))
                torch._foreach_add_(denominator, epsilon)
            else:
                denominator = torch._foreach_add(velocities, epsilon)
            torch._foreach_sqrt_(denominator)
            increment = torch._foreach_mul(grads, _scalar(learning_rate, variables[0]))
            torch._foreach_div_(increment, denominator)
            if momentum > 0:
                torch._foreach_mul_(momentums, momentum)
                torch._foreach_add_(momentums, increment)
                torch._foreach_sub_(variables, momentums)
            else:
                torch._foreach_sub_(variables, increment)
        return variables, velocities, momentums, averages
