"""The torch side of ``TorchModuleWrapper``: a ``torch.nn.Module`` read as
named tensors, called with given tensors in place of its own
(``torch.func.functional_call``), and written to/read from text.

On the torch engine (``host=False``) the module's parameters and buffers are
replaced by the wrapping layer's variables' handles, so the module and the
layer share one storage, and ``fit``'s stateless step reaches the module
through the values it passes. On the NumPy engine (``host=True``) the module
runs on tensors made from the NumPy arrays, without gradients.

Example:
    >>> bridge = engine.interop("torch", "TorchModuleWrapper 'w'")
    >>> [name for name, _, _ in bridge.state(torch.nn.Linear(2, 3))]
    ['weight', 'bias']
"""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
import torch

from polykeras.backends.base import in_abstract_evaluation

__all__ = ["TorchBridge", "bridge"]


def _to_torch(x: Any) -> Any:
    return torch.from_numpy(np.ascontiguousarray(x)) if isinstance(x, np.ndarray) else x


def _to_numpy(x: Any) -> Any:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else x


class TorchBridge:
    """Reads, calls and serializes a ``torch.nn.Module`` for a layer.

    Example: ``TorchBridge(host=False).check_module(torch.nn.Linear(2, 3), "TorchModuleWrapper 'w'")``
    """

    def __init__(self, host: bool):
        self.host = host

    def check_module(self, module: Any, who: str) -> None:
        if not isinstance(module, torch.nn.Module):
            raise TypeError(f"{who}: expected module to be a torch.nn.Module, received "
                            f"{type(module).__name__} ({module!r:.80}).")
        if isinstance(module, torch.nn.modules.lazy.LazyModuleMixin) and module.has_uninitialized_params():
            raise ValueError(f"{who}: expected a module with initialized parameters, received a lazy module "
                             f"whose parameters are not yet made ({type(module).__name__}); call it once on "
                             "an example input first.")

    def state(self, module: Any) -> list[tuple[str, np.ndarray, bool]]:
        """``(name, value, trainable)`` for each parameter, then each
        persistent buffer, by ``state_dict`` name."""
        persistent = set(module.state_dict(keep_vars=True))
        out = [(name, _to_numpy(p), bool(p.requires_grad)) for name, p in module.named_parameters()]
        out += [(name, _to_numpy(b), False) for name, b in module.named_buffers() if name in persistent]
        return out

    def share(self, module: Any, name: str, handle: Any) -> None:
        """Make ``handle`` (a torch engine variable's tensor) the module's
        parameter or buffer ``name``: one storage for both (torch engine only)."""
        if self.host:
            return
        owner_path, _, leaf = name.rpartition(".")
        owner = module.get_submodule(owner_path) if owner_path else module
        table = owner._parameters if leaf in owner._parameters else owner._buffers
        table[leaf] = handle

    def call(self, engine: Any, module: Any, values: dict[str, Any], args: tuple, kwargs: dict,
             training: bool | None) -> Any:
        """``module(*args, **kwargs)`` computed with ``values`` (name ->
        tensor) as its parameters and buffers; train mode unless ``training``
        is False, as Keras's ``TorchModuleWrapper``."""
        # a shape-only evaluation (a symbolic call) runs in eval mode: it must not move BatchNorm's statistics
        module.train(training is not False and not in_abstract_evaluation())
        if not self.host:
            return torch.func.functional_call(module, values, args, kwargs, strict=False)
        names = list(values)

        def run(*arrays: Any) -> Any:
            tensors = {n: _to_torch(a) for n, a in zip(names, arrays[:len(names)])}
            positional = [_to_torch(a) for a in arrays[len(names):]]
            with torch.no_grad():
                out = torch.func.functional_call(module, tensors, tuple(positional), kwargs, strict=False)
            return torch.utils._pytree.tree_map(_to_numpy, out)

        return engine.run_on_host(run, [*values.values(), *args])

    def dumps(self, module: Any) -> str:
        """The module as ``torch.save`` bytes in base64 text (Keras's config format)."""
        buffer = io.BytesIO()
        torch.save(module, buffer)
        return base64.b64encode(buffer.getvalue()).decode("ascii")

    def loads(self, text: str) -> Any:
        """The module back from :meth:`dumps`: unpickles, so runs code from the
        data; callers allow it only outside safe mode."""
        return torch.load(io.BytesIO(base64.b64decode(text.encode("ascii"))), weights_only=False)


def bridge(host: bool) -> TorchBridge:
    """The torch bridge (``host``: through NumPy). Example: ``bridge(host=False)``"""
    return TorchBridge(host)
