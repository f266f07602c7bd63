"""PyTorch's export hooks: ``torch.export`` programs (``.pt2``) and ONNX.

The weights become the parameters (trainable) and buffers of an
``nn.Module`` whose ``forward`` runs the endpoint; ``torch.export.export``
traces it (non-strict) with axis 0 of every input one dynamic ``batch``
dimension and every other ``None`` size a dimension of its own. ``"torch"``
saves the ``ExportedProgram`` with ``torch.export.save``; ``"onnx"`` hands
it to ``torch.onnx.export`` (the dynamo exporter, which needs ``onnx`` and
``onnxscript``).

Example:
    >>> engine.export_program("torch", [endpoint], weights, {}, "/tmp/model.pt2", {})
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils import _pytree as pytree

from polykeras.backends.exporting import ExportEndpoint, ExportWeight, unsupported_op

__all__ = ["TorchExport"]


class _Program(torch.nn.Module):
    """The weights as parameters and buffers, and ``forward`` the endpoint."""

    def __init__(self, endpoint: ExportEndpoint, weights: Sequence[ExportWeight]):
        super().__init__()
        self._fn = endpoint.fn
        self._names: list[str] = []
        for w in weights:
            name = "".join(c if c.isalnum() else "_" for c in w.path)
            if not name.isidentifier():
                name = f"w_{name}"
            if name in self._names:
                name = f"{name}_{len(self._names)}"
            self._names.append(name)
            tensor = torch.from_numpy(np.array(w.value))
            if w.trainable:
                self.register_parameter(name, torch.nn.Parameter(tensor, requires_grad=False))
            else:
                self.register_buffer(name, tensor)

    def forward(self, *args: Any) -> Any:
        return self._fn([getattr(self, name) for name in self._names], *args)


def _example(spec: Any, rng: np.random.Generator) -> torch.Tensor:
    shape = tuple(2 if d is None else d for d in spec.shape)
    if spec.dtype.startswith(("float", "bfloat")):
        return torch.from_numpy(rng.uniform(size=shape).astype("float32")).to(getattr(torch, spec.dtype))
    return torch.zeros(shape, dtype=getattr(torch, spec.dtype))


class TorchExport:
    """``export_program`` for ``"torch"`` and ``"onnx"``."""

    export_formats = frozenset({"torch", "onnx"})

    def export_program(self, format: str, endpoints: Sequence[ExportEndpoint], weights: Sequence[ExportWeight],
                       collections: Mapping[str, Sequence[int]], path: str, options: Mapping[str, Any]) -> None:
        if format not in self.export_formats:
            super().export_program(format, endpoints, weights, collections, path, options)  # type: ignore[misc]
        if len(endpoints) != 1:
            raise ValueError(f"export to {format!r}: expected one endpoint (a program has one forward), "
                             f"received {[e.name for e in endpoints]}.")
        endpoint = endpoints[0]
        module = _Program(endpoint, weights).eval()
        rng = np.random.default_rng(0)
        batch = torch.export.Dim("batch")
        leaves, tree = pytree.tree_flatten(endpoint.signature)
        dynamic = []
        for i, spec in enumerate(leaves):
            dims = {axis: batch if axis == 0 else torch.export.Dim(f"input{i}_axis{axis}")
                    for axis, d in enumerate(spec.shape) if d is None}
            dynamic.append(dims or None)
        args = tuple(pytree.tree_unflatten([_example(s, rng) for s in leaves], tree))
        # forward(*args): torch.export groups the positional arguments as one tuple.
        shapes = (tuple(pytree.tree_unflatten(dynamic, tree)),)
        with torch.no_grad():
            program = torch.export.export(module, args, dynamic_shapes=shapes, strict=False)
        if format == "torch":
            torch.export.save(program, path)
            return
        kwargs = {k: options[k] for k in ("opset_version",) if options.get(k) is not None}
        try:
            onnx_program = torch.onnx.export(program, args, dynamic_shapes=shapes, dynamo=True, verbose=False,
                                             input_names=endpoint.names, external_data=False, **kwargs)
        except Exception as err:  # noqa: BLE001 - named and re-raised
            op = unsupported_op(err)
            first = re.sub(r"\x1b\[[0-9;]*m", "", str(err)).strip().splitlines()[0]
            if op:
                raise ValueError(f"ONNX has no conversion for operator {op}, which this model uses "
                                 f"(torch.onnx.export: {first})") from err
            raise ValueError(f"torch.onnx.export failed: {first}") from err
        if onnx_program is None:  # pragma: no cover - older exporters write nothing back
            raise RuntimeError("torch.onnx.export returned no program")
        onnx_program.save(path, external_data=False)
