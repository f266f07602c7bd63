"""The host stage of a graph: the layers that read strings (or otherwise run
only on the host: their class sets ``runs_on_host``), computed on the data
before the engine's compiled step.

The engines hold no strings, so a functional model on ``Input(dtype="string")``
splits its recorded nodes in two. The *host stage* is every node that runs on
the host (a ``StringLookup``, ``Hashing``, ``HashedCrossing`` or
``TextVectorization``, or any node fed a string) and every node those depend
on; it runs eagerly on the batch, as NumPy data and engine tensors. The
*device stage* is the rest: it starts from the host stage's outputs (and the
numeric inputs) and runs inside the compiled step like any graph. Between the
two the batch's ``x`` becomes ``{HOST_STAGED: {key: tensor}}``, one engine
tensor per value the device stage reads.

A model without such layers has no host stage, and its steps are untouched.
Layers of the host stage get no gradient (they are preprocessing: lookups and
hashes have no weights to train); ``fit`` refuses a host stage holding
trainable weights rather than leave them untrained.

Example:
    >>> city = Input((1,), dtype="string", name="city")
    >>> model = Model(city, layers.Dense(1)(layers.StringLookup(vocabulary=["a", "b"], output_mode="one_hot")(city)))
    >>> model.fit(np.array([["a"], ["b"]]), np.zeros((2, 1)))   # the lookup runs before the compiled step
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from polykeras import ops
from polykeras.layers.input_layer import InputLayer
from polykeras.symbolic import STRING, Node, SymbolicTensor

__all__ = ["HOST_STAGED", "HostPlan", "host_plan"]

#: The key of a batch's ``x`` once its host stage has run.
HOST_STAGED = "__host_staged__"


@dataclass
class HostPlan:
    """How a graph splits: ``host`` nodes (run on the batch first, in
    execution order), ``device`` nodes (the compiled step's), and
    ``boundary``, the tensors the device stage reads that it does not make
    (numeric inputs and host outputs), keyed ``"t0000"``, ``"t0001"``, ...

    Example: ``plan = host_plan(model.inputs, model.outputs, model._nodes)``
    """

    host: list[Node]
    device: list[Node]
    boundary: dict[str, SymbolicTensor]


def _runs_on_host(node: Node) -> bool:
    return bool(getattr(node.layer, "runs_on_host", False)) or any(
        t.dtype == STRING for t in node.input_tensors)


def host_plan(inputs: list[SymbolicTensor], outputs: list[SymbolicTensor], nodes: list[Node],
              where: str) -> HostPlan | None:
    """The :class:`HostPlan` of a graph, or None when every node can run in
    the compiled step. ``where`` names the graph in errors.

    Example: ``host_plan(model.inputs, model.outputs, model._nodes, "Model 'm'")``
    """
    if not any(_runs_on_host(node) for node in nodes) and not any(t.dtype == STRING for t in inputs):
        return None
    in_graph = {id(node) for node in nodes}
    host: set[int] = set()
    stack = [node for node in nodes if _runs_on_host(node)]
    while stack:  # each host node and every node it depends on
        node = stack.pop()
        if id(node) in host:
            continue
        host.add(id(node))
        stack.extend(t.node for t in node.input_tensors
                     if t.node is not None and id(t.node) in in_graph and not isinstance(t.node.layer, InputLayer))
    device = [node for node in nodes if id(node) not in host]
    made_on_device = {id(t) for node in device for t in node.outputs}
    needed: dict[int, SymbolicTensor] = {}
    for tensor in [t for node in device for t in node.input_tensors] + list(outputs):
        if id(tensor) not in made_on_device:
            needed.setdefault(id(tensor), tensor)
    for tensor in needed.values():
        if tensor.dtype == STRING:
            users = [node.layer.name for node in device if any(t is tensor for t in node.input_tensors)]
            role = f"layer {users[0]!r} input" if users else "an output"
            raise ValueError(f"{where}: expected only numeric tensors after the host layers, received the string "
                             f"tensor {tensor.name!r} as {role}"
                             "; the engines hold no strings (map them to numbers with StringLookup, Hashing or "
                             "TextVectorization).")
    boundary = {f"t{position:04d}": tensor for position, tensor in enumerate(needed.values())}
    return HostPlan([node for node in nodes if id(node) in host], device, boundary)


def to_host(spec: SymbolicTensor, value: Any, where: str) -> np.ndarray:
    """A string input's data as a NumPy array (str, bytes or object), shaped
    as ``spec`` says (the batch axis free).

    Example: ``to_host(Input((1,), dtype="string"), [["a"], ["b"]], "Model 'm'")``
    """
    array = value if isinstance(value, np.ndarray) else np.asarray(
        value.numpy() if hasattr(value, "numpy") else value)
    if array.dtype.kind not in "USO":
        raise ValueError(f"{where}: input {spec.name!r} expected strings (dtype string), received an array of "
                         f"dtype {array.dtype} and shape {array.shape}.")
    expected = spec.shape
    if array.ndim != len(expected) or any(e is not None and e != s for e, s in zip(expected[1:], array.shape[1:])):
        raise ValueError(f"{where}: input {spec.name!r} expected shape {expected}, received shape {array.shape}.")
    return array


def boundary_values(plan: HostPlan, values: dict[int, Any]) -> dict[str, Any]:
    """The device stage's inputs, as engine tensors, from the values the host
    stage computed (``values``: ``id(tensor)`` -> value)."""
    staged = {}
    for key, tensor in plan.boundary.items():
        value = values[id(tensor)]
        staged[key] = value if value is None or ops.is_tensor(value) else ops.convert_to_tensor(value)
    return staged
