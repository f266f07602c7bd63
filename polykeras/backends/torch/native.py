"""Torch-native views of polykeras objects (``NativeHooks``): a layer as a
``torch.nn.Module`` whose parameters are its variables' own tensors.

A variable's handle is a plain ``torch.Tensor`` flagged ``_is_param``, which
torch's own ``isinstance(t, nn.Parameter)`` accepts (its documented way for
tensors that are parameters without the subclass): the engine's fast paths,
which test ``type(x) is torch.Tensor``, stay fast, and ``loss.backward()``
fills ``variable.value.grad``.

Example:
    >>> module = engine.native_module(model)          # an nn.Module, no copy
    >>> opt = torch.optim.Adam(module.parameters())   # steps the model's own weights
"""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["LayerModule", "NativeMixin"]


class LayerModule(torch.nn.Module):
    """A polykeras layer seen as a ``torch.nn.Module``. Its parameters are
    the layer's variables' handles, named by variable path and read afresh
    on each access (weights a lazy build adds later appear too); calling it
    calls the layer.

    Example:
        >>> module = LayerModule(model)
        >>> [name for name, _ in module.named_parameters()][:1]
        ['dense/kernel']
    """

    layer: Any  # set without nn.Module's registration (see __init__)

    def __init__(self, layer: Any):
        super().__init__()
        object.__setattr__(self, "layer", layer)  # not a submodule: its weights are listed below

    @property  # type: ignore[override]
    def _parameters(self) -> dict[str, torch.Tensor]:
        return {v.path: v.handle for v in self.layer.variables}

    @_parameters.setter
    def _parameters(self, value: Any) -> None:  # nn.Module.__init__ sets an empty dict: ignored
        pass

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.layer(*args, **kwargs)

    def extra_repr(self) -> str:
        return f"layer={self.layer.name!r}"


class NativeMixin:
    """``native_module`` for the torch engine; a layer lends the names in
    ``native_module_names`` from it (``model.parameters()``,
    ``model.zero_grad()``, as Keras 3's torch layers, which are modules)."""

    native_framework = "torch"
    host_frameworks = frozenset({"tensorflow"})
    native_module_names = frozenset({
        "parameters", "named_parameters", "buffers", "named_buffers", "zero_grad", "state_dict",
        "load_state_dict",
    })

    def native_module(self, layer: Any) -> LayerModule:
        return LayerModule(layer)
