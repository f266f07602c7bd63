"""One validation pass over a functional model's config, before any layer is built.

A functional config lists layer entries (``name``, class, ``inbound_nodes``:
the recorded calls) and the model's ``input_layers``/``output_layers``; calls
and endpoints name tensors as ``{"__tensor__": [layer name, node index,
tensor index]}`` (Keras 3's ``__keras_tensor__`` ``keras_history`` is
translated to the same form). :func:`check_functional_config` reads the whole
config once and refuses, with a :class:`~polykeras.registry.SerializationError`
naming the model, the layer, what was expected and what was received:

- entries that are not layer entries, and two layers with the same name;
- a reference to a layer the config does not define, to a node index past
  that layer's calls, or to a tensor index past its outputs where the count is
  known before building (an ``InputLayer`` has one; a nested functional model
  has as many as its ``output_layers``; other layers are checked when called);
- ``input_layers`` naming anything but an ``InputLayer``, and endpoints that
  are not tensor references;
- calls that wait on each other in a cycle (the cycle is spelled out);
- the same, recursively, in nested functional models.

What it returns is the plan the rebuild follows: the calls in an order where
each comes after the calls that make its inputs (Kahn's algorithm; among the
calls ready at once, the one listed first), so checking and ordering together
are linear in the size of the config.

Example:
    >>> plan = check_functional_config(model.get_config())
    >>> [plan.calls[i].layer for i in plan.order][:2]
    ['dense', 'dense_1']
"""

from __future__ import annotations

import heapq
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from polykeras.layers.config import LAYER_CLASSES
from polykeras.layers.input_layer import InputLayer
from polykeras.registry import SerializationError, get_registered_object

__all__ = ["TENSOR", "Call", "GraphPlan", "check_functional_config", "is_ref"]

TENSOR = "__tensor__"
#: (layer name, node index): one call of a layer (node 0 of an InputLayer is the input itself).
NodeKey = tuple[str, int]


@dataclass(frozen=True)
class Call:
    """One recorded call: ``layer`` called for its node ``node`` with ``spec`` (``{"args", "kwargs"}``).
    Example: ``Call("dense", 0, {"args": [{"__tensor__": ["x", 0, 0]}], "kwargs": {}})``"""

    layer: str
    node: int
    spec: dict[str, Any]


@dataclass
class GraphPlan:
    """A checked functional config: its layer ``entries`` (config order), every
    ``calls``, the ``order`` to replay them in, and the names of the layers
    whose node 0 is an input (``InputLayer``).
    Example: ``plan = check_functional_config(config); plan.order``"""

    name: str
    entries: list[dict[str, Any]]
    calls: list[Call]
    order: list[int]
    inputs: set[str] = field(default_factory=set)

    def describe_call(self, call: Call) -> str:
        """``"layer 'd1' call 0"``: how errors name a call. Example: ``plan.describe_call(plan.calls[0])``"""
        first = 1 if call.layer in self.inputs else 0
        return f"layer {call.layer!r} call {call.node - first}"


def is_ref(leaf: Any) -> bool:
    """Whether ``leaf`` is a tensor reference ``{"__tensor__": [...]}``. Example: ``is_ref({"__tensor__": x})``"""
    return isinstance(leaf, dict) and len(leaf) == 1 and TENSOR in leaf


def _walk(structure: Any) -> list[Any]:
    """Every tensor reference's ``[layer, node, tensor]`` in ``structure``, in order."""
    found: list[Any] = []
    stack: list[Any] = [structure]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if len(value) == 1 and TENSOR in value:
                found.append(value[TENSOR])
            else:
                stack.extend(reversed(list(value.values())))
        elif isinstance(value, (list, tuple)):
            stack.extend(reversed(value))
    return found


def _path(structure: Any, target: Any, path: str) -> str | None:
    """Where the reference ``target`` sits in ``structure`` (``args[0]``): for errors only."""
    if is_ref(structure):
        return path if structure[TENSOR] is target else None
    items = structure.items() if isinstance(structure, dict) else \
        enumerate(structure) if isinstance(structure, (list, tuple)) else ()
    for key, value in items:
        found = _path(value, target, f"{path}[{key!r}]")
        if found is not None:
            return found
    return None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _layer_class(entry: Mapping[str, Any]) -> Any:
    """The class an entry names, looked up as deserializing will (custom
    objects, the registry, the built-in layers), without building anything."""
    for name in (entry.get("registered_name"), entry.get("class_name")):
        if isinstance(name, str):
            found = get_registered_object(name, module_objects=LAYER_CLASSES)
            if found is not None:
                return found
    return None


def _is_functional_config(entry: Mapping[str, Any]) -> bool:
    inner = entry.get("config")
    return isinstance(inner, dict) and isinstance(inner.get("layers"), list) and "output_layers" in inner


class _Checker:
    def __init__(self, config: Any, where: str, nested: bool = False):
        if not isinstance(config, dict):
            raise SerializationError(f"{where}: expected a functional model config (a dict with 'layers', "
                                     f"'input_layers' and 'output_layers'), received {_short(config)}.")
        self.name = str(config.get("name"))
        self.where = f"{where}{', in nested' if nested else ':'} model {config.get('name')!r}"
        self.config = config
        self.position: dict[str, int] = {}  # layer name -> its entry's position
        self.nodes: dict[str, int] = {}  # layer name -> how many nodes (calls, plus the input of an InputLayer)
        self.outputs: dict[str, int] = {}  # layer name -> its output count, where known before building
        self.inputs: set[str] = set()
        self.calls: list[Call] = []

    def fail(self, message: str) -> SerializationError:
        return SerializationError(f"{self.where}: {message}")

    # ------------------------------------------------------------ entries
    def entries(self) -> list[dict[str, Any]]:
        entries = self.config.get("layers")
        if not isinstance(entries, list):
            raise self.fail(f"field 'layers': expected a list of layer entries, received {_short(entries)}.")
        for position, entry in enumerate(entries):
            self.entry(position, entry)
        return entries

    def entry(self, position: int, entry: Any) -> None:
        if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str):
            raise self.fail(f"layer entry {position}: expected a dict with 'class_name', 'config', 'name' and "
                            f"'inbound_nodes', received {_short(entry)}.")
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise self.fail(f"layer entry {position} ({entry['class_name']}): expected a non-empty string "
                            f"'name', received {_short(name)}.")
        if name in self.position:
            raise self.fail(f"layer entries {self.position[name]} and {position} are both named {name!r}; "
                            "expected unique layer names (calls and outputs name layers, so one would silently "
                            "replace the other).")
        self.position[name] = position
        nodes = entry.get("inbound_nodes", [])
        if not isinstance(nodes, list):
            raise self.fail(f"layer {name!r} field 'inbound_nodes': expected a list of calls, received "
                            f"{_short(nodes)}.")
        cls = _layer_class(entry)
        first = 0
        if inspect.isclass(cls) and issubclass(cls, InputLayer):
            self.inputs.add(name)
            self.outputs[name] = 1
            first = 1  # node 0 is the input itself
        elif _is_functional_config(entry):
            inner = entry["config"]
            _Checker(inner, self.where, nested=True).check()
            self.outputs[name] = len(_walk(inner["output_layers"]))
        for index, node in enumerate(nodes):
            if not isinstance(node, dict) or not isinstance(node.get("args", []), list) \
                    or not isinstance(node.get("kwargs", {}), dict):
                raise self.fail(f"layer {name!r} call {index}: expected {{'args': [...], 'kwargs': {{...}}}}, "
                                f"received {_short(node)}.")
            self.calls.append(Call(name, first + index, node))
        self.nodes[name] = first + len(nodes)

    # --------------------------------------------------------- references
    def reference(self, value: Any, whose: str | Callable[[], str]) -> NodeKey:
        """Check one ``[layer name, node index, tensor index]``; ``whose`` says
        whose it is (or a callable saying it, called only for an error)."""
        if self._valid(value):
            return value[0], value[1]
        what = whose if isinstance(whose, str) else whose()
        if not (isinstance(value, (list, tuple)) and len(value) == 3 and isinstance(value[0], str)
                and all(isinstance(i, int) and not isinstance(i, bool) for i in value[1:])):
            raise self.fail(f"{what}: expected a tensor reference [layer name, node index, tensor index], "
                            f"received {_short(value)}.")
        layer, node, tensor = value
        if layer not in self.nodes:
            raise self.fail(f"{what} refers to tensor {list(value)!r}, but the config defines no layer named "
                            f"{layer!r}; expected one of the {len(self.nodes)} layers it lists"
                            f"{self._some_names()}.")
        count = self.nodes[layer]
        if not 0 <= node < count:
            made = "no node" if count == 0 else "1 node (node index 0)" if count == 1 else \
                f"{count} nodes (node indexes 0 to {count - 1})"
            raise self.fail(f"{what} refers to tensor {list(value)!r}, but layer {layer!r} has {made} in the "
                            f"config; expected a node index below {count}, received {node}.")
        outputs = self.outputs.get(layer)
        limit = f"a tensor index below {outputs}" if outputs is not None else "a tensor index of 0 or more"
        has = f"; layer {layer!r} has {outputs} output{'s' if outputs != 1 else ''}" if outputs else ""
        raise self.fail(f"{what} refers to tensor {list(value)!r}{has}: expected {limit}, received {tensor}.")

    def _valid(self, value: Any) -> bool:
        """Whether a well-formed reference resolves (the fast path: no message built)."""
        if not isinstance(value, (list, tuple)) or len(value) != 3 or not isinstance(value[0], str):
            return False
        layer, node, tensor = value
        outputs = self.outputs.get(layer)
        return (type(node) is int and type(tensor) is int and 0 <= node < self.nodes.get(layer, 0)
                and 0 <= tensor and (outputs is None or tensor < outputs))

    def _some_names(self) -> str:
        names = list(self.nodes)
        shown = ", ".join(repr(n) for n in names[:8])
        return f" ({shown}{', ...' if len(names) > 8 else ''})"

    def endpoints(self, key: str) -> None:
        if key not in self.config:
            raise self.fail(f"field {key!r} is missing; expected tensor references [layer name, node index, "
                            "tensor index].")
        structure = self.config[key]
        leaves = _walk(structure)
        if not leaves:
            raise self.fail(f"field {key!r}: expected tensor references [layer name, node index, tensor index], "
                            f"received {_short(structure)}.")
        self._only_refs(structure, key)
        for value in leaves:
            where = _path(structure, value, key) or key
            layer, node = self.reference(value, f"field {where}")
            if key == "input_layers" and layer not in self.inputs:
                cls = self.config["layers"][self.position[layer]]["class_name"]
                raise self.fail(f"field {where} refers to tensor {list(value)!r}: expected an InputLayer, "
                                f"received layer {layer!r} of class {cls}.")

    def _only_refs(self, structure: Any, where: str) -> None:
        if is_ref(structure):
            return
        if isinstance(structure, dict):
            for k, v in structure.items():
                self._only_refs(v, f"{where}[{k!r}]")
        elif isinstance(structure, (list, tuple)):
            for i, v in enumerate(structure):
                self._only_refs(v, f"{where}[{i}]")
        else:
            raise self.fail(f"field {where}: expected a tensor reference, received {_short(structure)}.")

    # -------------------------------------------------------------- order
    def order(self, plan: GraphPlan) -> list[int]:
        calls = self.calls
        producer = {(c.layer, c.node): position for position, c in enumerate(calls)}
        needs: list[list[int]] = [[] for _ in calls]
        dependents: list[list[int]] = [[] for _ in calls]
        waiting = [0] * len(calls)
        for position, call in enumerate(calls):
            keys: dict[NodeKey, None] = {}  # insertion-ordered: the same error and order in every run
            what = plan.describe_call(call)
            spec = [call.spec.get("args", []), call.spec.get("kwargs", {})]
            for value in _walk(spec):
                keys[self.reference(value, partial(self._argument, what, spec, value))] = None
            if (call.layer, call.node - 1) in producer:  # the same layer's previous call first
                keys[(call.layer, call.node - 1)] = None
            for key in keys:
                source = producer.get(key)
                if source is None:  # an InputLayer's input: there from the start
                    continue
                needs[position].append(source)
                dependents[source].append(position)
                waiting[position] += 1
        ready = [position for position, count in enumerate(waiting) if count == 0]
        heapq.heapify(ready)
        order: list[int] = []
        while ready:
            position = heapq.heappop(ready)
            order.append(position)
            for later in dependents[position]:
                waiting[later] -= 1
                if waiting[later] == 0:
                    heapq.heappush(ready, later)
        if len(order) < len(calls):
            raise self.fail(self._cycle(plan, needs, waiting))
        return order

    @staticmethod
    def _argument(what: str, spec: list[Any], value: Any) -> str:
        where = _path(spec, value, "") or ""
        return f"{what} argument {'args' if where.startswith('[0]') else 'kwargs'}{where[3:]}"

    def _cycle(self, plan: GraphPlan, needs: list[list[int]], waiting: list[int]) -> str:
        """Spell out one cycle among the calls left waiting (each waits on
        another waiting call, so walking back from any of them loops)."""
        stuck = [p for p, count in enumerate(waiting) if count > 0]
        seen: dict[int, int] = {}
        path: list[int] = []
        position = stuck[0]
        while position not in seen:
            seen[position] = len(path)
            path.append(position)
            position = next(p for p in needs[position] if waiting[p] > 0)
        loop = path[seen[position]:] + [position]
        spelled = " -> ".join(plan.describe_call(self.calls[p]) for p in loop)
        layers = sorted({self.calls[p].layer for p in stuck})
        return (f"the calls of layers {layers} cannot run: they wait on each other's outputs in a cycle "
                f"({spelled}, each using the output of the next); expected every call to use tensors made "
                "before it.")

    def check(self) -> GraphPlan:
        entries = self.entries()
        plan = GraphPlan(self.name, entries, self.calls, [], self.inputs)
        self.endpoints("input_layers")
        self.endpoints("output_layers")
        plan.order = self.order(plan)
        return plan


def check_functional_config(config: Any, where: str = "Functional.from_config") -> GraphPlan:
    """Validate a functional model's config in one pass, before any layer is
    built, and return the :class:`GraphPlan` its rebuild follows. Raises
    :class:`~polykeras.registry.SerializationError` naming the model, the
    layer, what was expected and what was received.

    Example:
        >>> check_functional_config({"name": "m", "layers": [...], "input_layers": [...],
        ...                          "output_layers": [["nowhere", 0, 0]]})
        Traceback (most recent call last):
        SerializationError: Functional.from_config: model 'm': field output_layers ...
    """
    return _Checker(config, where).check()
