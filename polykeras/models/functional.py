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

from collections.abc import Mapping
from typing import Any

from polykeras.layers.config import LAYER_CLASSES
from polykeras.layers.input_layer import InputLayer
from polykeras.layers.layer import Layer
from polykeras.models.config_check import TENSOR, check_functional_config, is_ref
from polykeras.models.function import GraphMixin
from polykeras.models.model import Model
from polykeras.registry import SerializationError, custom_object_scope, deserialize, serialize
from polykeras.symbolic import SymbolicTensor, flatten, map_structure, nodes_of


class Functional(GraphMixin, Model):
    """A model defined by calling layers on :func:`~polykeras.Input` tensors.
    Built by ``Model(inputs, outputs)``; inputs and outputs may be single
    tensors, lists or dicts. The graph itself (checking inputs, replaying the
    recorded calls) is the one :class:`~polykeras.Function` runs.

    Example:
        >>> a, b = Input((4,), name="a"), Input((4,), name="b")
        >>> shared = layers.Dense(2)
        >>> model = Model([a, b], [shared(a), shared(b)])   # one kernel, used twice
    """

    _graph_kind = "Model"

    def __init__(self, inputs: Any, outputs: Any, name: str | None = None, trainable: bool = True, **kwargs: Any):
        super().__init__(name=name, trainable=trainable, **kwargs)
        for position, tensor in enumerate(flatten(inputs)):
            if (not isinstance(tensor, SymbolicTensor)
                    or not isinstance(getattr(tensor.node, "layer", None), InputLayer)):
                raise TypeError(f"Model {self.name!r}: expected inputs made by Input(...), received input "
                                f"{position}: {tensor!r}.")
        self._init_graph(inputs, outputs)
        _check_unique_names(self.name, self._graph_layers)
        self.built = True

    # ------------------------------------------------------------ properties
    @property
    def layers(self) -> list[Any]:
        """The graph's layers, input layers included, in Keras 3's order (see
        :attr:`operations`); as in Keras 3, op nodes (``x + 1``,
        ``ops.mean(x)``) are operations but not layers."""
        return [op for op in self._graph_layers if isinstance(op, Layer) and getattr(op, "_listed_in_layers", True)]

    @property
    def output_names(self) -> list[str]:
        """The names of the layers that make the outputs, in the order of
        ``outputs`` (dict outputs too), as Keras 3's ``output_names``.

        Example: ``Model(x, {"p": Dense(2, name="head")(x)}).output_names`` -> ``['head']``
        """
        return [t.node.layer.name if t.node is not None else t.name for t in self.outputs]

    # --------------------------------------------------------------- calling
    def call(self, inputs: Any, training: bool | None = None, mask: Any = None) -> Any:
        return self._run_graph(inputs, training=training)

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
            return {TENSOR: [name, index, tensor.index]}

        def encode(leaf: Any) -> Any:
            return ref(leaf) if isinstance(leaf, SymbolicTensor) else leaf

        # A layer's calls are listed in node-index order: call k of the list is node k.
        calls: dict[str, list[tuple[int, dict[str, Any]]]] = {layer.name: [] for layer in self._graph_layers}
        for node in self._nodes:
            name, index = keys[id(node)]
            calls[name].append((index, {"args": map_structure(encode, list(node.args)),
                                        "kwargs": map_structure(encode, node.kwargs)}))
        return {
            "name": self.name,
            "trainable": self.trainable,
            "layers": [dict(serialize(layer, where=f"layer {layer.name!r}"), name=layer.name,
                            inbound_nodes=[call for _, call in sorted(calls[layer.name], key=lambda c: c[0])])
                       for layer in self._graph_layers],
            "input_layers": map_structure(encode, self._inputs_struct),
            "output_layers": map_structure(encode, self._outputs_struct),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Mapping[str, Any] | None = None) -> Functional:
        """Rebuild the graph: check the whole config first (unique layer
        names, every tensor reference resolvable, no cycle: see
        :mod:`.config_check`), create every layer from its config, then replay
        the recorded calls, each once, in an order where every call comes
        after the calls that make its inputs (and after the same layer's
        earlier calls). Example: ``Functional.from_config(model.get_config())``"""
        with custom_object_scope(custom_objects or {}):
            return cls._rebuild(config)

    @classmethod
    def _rebuild(cls, config: dict[str, Any]) -> Functional:
        plan = check_functional_config(config, f"{cls.__name__}.from_config")  # before any layer is built
        created: dict[str, Any] = {}
        outputs: dict[tuple[str, int], list[SymbolicTensor]] = {}
        for entry in plan.entries:
            name = entry["name"]
            layer = deserialize({k: v for k, v in entry.items() if k not in ("inbound_nodes", "name")},
                                module_objects=LAYER_CLASSES, kind="layer")
            created[name] = layer
            if isinstance(layer, InputLayer):  # node 0 is the input itself
                outputs[(name, 0)] = [layer.output]

        def decode(structure: Any, user: str) -> Any:
            if is_ref(structure):
                name, index, position = structure[TENSOR]
                made = outputs[(name, index)]
                if position >= len(made):  # the count of most layers' outputs is known only once called
                    raise SerializationError(
                        f"{cls.__name__}.from_config: model {plan.name!r}: {user} refers to tensor "
                        f"{[name, index, position]!r}, but that call of layer {name!r} made {len(made)} "
                        f"output{'s' if len(made) != 1 else ''}; expected a tensor index below {len(made)}, "
                        f"received {position}.")
                return made[position]
            if isinstance(structure, dict):
                return {k: decode(v, user) for k, v in structure.items()}
            if isinstance(structure, (list, tuple)):
                return [decode(v, user) for v in structure]
            return structure

        for position in plan.order:
            call = plan.calls[position]
            user = plan.describe_call(call)
            args, kwargs = decode(call.spec.get("args", []), user), decode(call.spec.get("kwargs", {}), user)
            outputs[(call.layer, call.node)] = flatten(created[call.layer](*args, **kwargs))
        return cls(decode(config["input_layers"], "field input_layers"),
                   decode(config["output_layers"], "field output_layers"),
                   name=config.get("name"), trainable=config.get("trainable", True))


def _check_unique_names(model: str, operations: list[Any]) -> None:
    """Refuse a graph with two operations of one name, as Keras 3 does: weights
    are saved and loaded by layer name, so the second would shadow the first."""
    seen: dict[str, int] = {}
    for operation in operations:
        seen[operation.name] = seen.get(operation.name, 0) + 1
    repeated = {name: count for name, count in seen.items() if count > 1}
    if repeated:
        listed = ", ".join(f"{name!r} ({count} layers)" for name, count in repeated.items())
        raise ValueError(f"Model {model!r}: expected layers of unique names (weights are saved and loaded by name), "
                         f"received {listed}; give each layer its own name=.")
