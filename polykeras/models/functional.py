"""Functional models: a DAG of layer calls recorded on symbolic tensors.

Example:
    >>> from polykeras import layers, Input, Model
    >>> x = Input(shape=(8,), name="features")
    >>> h = layers.Dense(16, activation="relu")(x)
    >>> model = Model(x, layers.Dense(1)(h))
    >>> model.output_shape
    (None, 1)
"""

from __future__ import annotations

from typing import Any

from polykeras import ops
from polykeras.layers.config import LAYER_CLASSES
from polykeras.layers.input_layer import InputLayer
from polykeras.models.model import Model
from polykeras.saving.registry import custom_object_scope, deserialize, serialize
from polykeras.symbolic import Node, SymbolicTensor, flatten, map_structure, nodes_of

_TENSOR = "__tensor__"


def _graph(inputs: list[SymbolicTensor], outputs: list[SymbolicTensor], model_name: str) -> list[Node]:
    """The nodes between ``inputs`` and ``outputs`` in execution order."""
    for position, tensor in enumerate(outputs):
        if not isinstance(tensor, SymbolicTensor):
            raise TypeError(f"Model {model_name!r}: expected symbolic tensors as outputs (from layers called on "
                            f"Input), received output {position}: {tensor!r}.")
    known = {id(t) for t in inputs}
    order: list[Node] = []
    seen: set[int] = set()
    for output in outputs:
        stack: list[tuple[SymbolicTensor, bool]] = [(output, False)]
        while stack:
            tensor, expanded = stack.pop()
            node = tensor.node
            if id(tensor) in known or node is None:
                if id(tensor) not in known:
                    raise ValueError(f"Model {model_name!r}: the graph is disconnected: {tensor.name} has no "
                                     "producing layer and is not among the model's inputs.")
                continue
            if id(node) in seen:
                continue
            if expanded:
                seen.add(id(node))
                order.append(node)
                continue
            if isinstance(node.layer, InputLayer):
                given = ", ".join(t.name for t in inputs)
                raise ValueError(f"Model {model_name!r}: the graph is disconnected: it needs input "
                                 f"{tensor.name!r}, which is not among the given inputs ({given}).")
            stack.append((tensor, True))
            stack.extend((t, False) for t in reversed(node.input_tensors))
    return order


class Functional(Model):
    """A model defined by calling layers on :func:`~polykeras.Input` tensors.
    Built by ``Model(inputs, outputs)``; inputs and outputs may be single
    tensors, lists or dicts.

    Example:
        >>> a, b = Input((4,), name="a"), Input((4,), name="b")
        >>> shared = layers.Dense(2)
        >>> model = Model([a, b], [shared(a), shared(b)])   # one kernel, used twice
    """

    def __init__(self, inputs: Any, outputs: Any, name: str | None = None, trainable: bool = True, **kwargs: Any):
        super().__init__(name=name, trainable=trainable, **kwargs)
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        self.inputs = flatten(inputs)
        self.outputs = flatten(outputs)
        for position, tensor in enumerate(self.inputs):
            if not isinstance(tensor, SymbolicTensor) or not isinstance(getattr(tensor.node, "layer", None), InputLayer):
                raise TypeError(f"Model {self.name!r}: expected inputs made by Input(...), received input "
                                f"{position}: {tensor!r}.")
        self._nodes = _graph(self.inputs, self.outputs, self.name)
        layers: list[Any] = [t.node.layer for t in self.inputs]
        for node in self._nodes:
            if all(node.layer is not seen for seen in layers):
                layers.append(node.layer)
        self._graph_layers = layers
        self.built = True

    # ------------------------------------------------------------ properties
    @property
    def layers(self) -> list[Any]:
        """Every layer of the graph, inputs first, in execution order."""
        return list(self._graph_layers)

    @property
    def input_names(self) -> list[str]:
        return [t.name for t in self.inputs]

    # --------------------------------------------------------------- calling
    def _flat_inputs(self, inputs: Any) -> list[Any]:
        if isinstance(inputs, dict):
            names = self.input_names
            if isinstance(self._inputs_struct, dict):
                keyed = {key: tensor.name for key, tensor in self._inputs_struct.items()}
                names = [keyed.get(key, key) for key in sorted(self._inputs_struct)]
                inputs = {keyed.get(key, key): value for key, value in inputs.items()}
            missing = [n for n in names if n not in inputs]
            if missing:
                raise ValueError(f"Model {self.name!r}: expected inputs named {names}, received "
                                 f"{sorted(inputs)} (missing {missing}).")
            return [inputs[n] for n in names]
        flat = flatten(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if len(flat) != len(self.inputs):
            raise ValueError(f"Model {self.name!r}: expected {len(self.inputs)} input(s) "
                             f"({', '.join(self.input_names)}), received {len(flat)}.")
        return flat

    def _check_input(self, spec: SymbolicTensor, value: Any) -> Any:
        if isinstance(value, SymbolicTensor):
            shape = value.shape
        else:
            value = ops.convert_to_tensor(value) if not ops.is_tensor(value) else value
            shape = tuple(ops.shape(value))
        expected = spec.shape
        fits = len(shape) == len(expected) and all(e is None or s is None or e == s for e, s in zip(expected, shape))
        if not fits:
            raise ValueError(f"Model {self.name!r}: input {spec.name!r} expected shape {expected}, "
                             f"received shape {shape}.")
        return value

    def call(self, inputs: Any, training: bool | None = None, mask: Any = None) -> Any:
        values: dict[int, Any] = {}
        for spec, value in zip(self.inputs, self._flat_inputs(inputs)):
            values[id(spec)] = self._check_input(spec, value)

        def resolve(leaf: Any) -> Any:
            return values[id(leaf)] if isinstance(leaf, SymbolicTensor) else leaf

        for node in self._nodes:
            args = map_structure(resolve, node.args)
            kwargs = map_structure(resolve, node.kwargs)
            if training is not None and "training" not in kwargs:
                kwargs["training"] = training
            produced = flatten(node.layer(*args, **kwargs))
            for tensor, value in zip(node.outputs, produced):
                values[id(tensor)] = value
        return map_structure(resolve, self._outputs_struct)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return map_structure(lambda t: t.shape, self._outputs_struct)

    # ----------------------------------------------------------- serialising
    def _node_keys(self) -> dict[int, tuple[str, int]]:
        """id(node) -> (layer name, the node's index among this model's calls of that layer)."""
        mine = {id(n) for n in self._nodes} | {id(t.node) for t in self.inputs}
        keys: dict[int, tuple[str, int]] = {}
        for layer in self._graph_layers:
            own = [n for n in nodes_of(layer) if id(n) in mine]
            for index, node in enumerate(own):
                keys[id(node)] = (layer.name, index)
        return keys

    def get_config(self) -> dict[str, Any]:
        keys = self._node_keys()

        def ref(tensor: SymbolicTensor) -> dict[str, list[Any]]:
            name, index = keys[id(tensor.node)]
            return {_TENSOR: [name, index, tensor.index]}

        def encode(leaf: Any) -> Any:
            return ref(leaf) if isinstance(leaf, SymbolicTensor) else leaf

        calls: dict[str, list[Any]] = {layer.name: [] for layer in self._graph_layers}
        for node in self._nodes:
            calls[node.layer.name].append({"args": map_structure(encode, list(node.args)),
                                           "kwargs": map_structure(encode, node.kwargs)})
        return {
            "name": self.name,
            "trainable": self.trainable,
            "layers": [dict(serialize(layer, where=f"layer {layer.name!r}"), name=layer.name,
                            inbound_nodes=calls[layer.name]) for layer in self._graph_layers],
            "input_layers": map_structure(encode, self._inputs_struct),
            "output_layers": map_structure(encode, self._outputs_struct),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Functional:
        """Rebuild the graph: create every layer from its config, then replay
        the recorded calls in order."""
        with custom_object_scope(custom_objects or {}):
            return cls._rebuild(config)

    @classmethod
    def _rebuild(cls, config: dict[str, Any]) -> Functional:
        created: dict[str, Any] = {}
        outputs: dict[tuple[str, int], list[SymbolicTensor]] = {}
        pending: list[tuple[str, dict[str, Any]]] = []
        for entry in config["layers"]:
            layer = deserialize({k: v for k, v in entry.items() if k not in ("inbound_nodes", "name")},
                                module_objects=LAYER_CLASSES, kind="layer")
            created[entry["name"]] = layer
            if isinstance(layer, InputLayer):
                outputs[(entry["name"], 0)] = [layer.output]
            pending.extend((entry["name"], call) for call in entry["inbound_nodes"])

        def is_ref(leaf: Any) -> bool:
            return isinstance(leaf, dict) and set(leaf) == {_TENSOR}

        def decode(structure: Any) -> Any:
            if is_ref(structure):
                name, index, position = structure[_TENSOR]
                return outputs[(name, index)][position]
            if isinstance(structure, dict):
                return {k: decode(v) for k, v in structure.items()}
            if isinstance(structure, (list, tuple)):
                return [decode(v) for v in structure]
            return structure

        def ready(structure: Any) -> bool:
            if is_ref(structure):
                name, index, _ = structure[_TENSOR]
                return (name, index) in outputs
            if isinstance(structure, dict):
                return all(ready(v) for v in structure.values())
            if isinstance(structure, (list, tuple)):
                return all(ready(v) for v in structure)
            return True

        counts: dict[str, int] = {}
        while pending:
            progressed = False
            for item in list(pending):
                name, call = item
                if not (ready(call["args"]) and ready(call["kwargs"])):
                    continue
                produced = created[name](*decode(call["args"]), **decode(call["kwargs"]))
                index = counts.get(name, 1 if isinstance(created[name], InputLayer) else 0)
                counts[name] = index + 1
                outputs[(name, index)] = flatten(produced)
                pending.remove(item)
                progressed = True
            if not progressed:
                names = sorted({name for name, _ in pending})
                raise ValueError(f"Functional.from_config: the calls of layers {names} refer to tensors "
                                 "no layer in the config produces.")
        return cls(decode(config["input_layers"]), decode(config["output_layers"]),
                   name=config.get("name"), trainable=config.get("trainable", True))

