"""``Function``: the graph of recorded calls between symbolic inputs and
outputs, run on data without being a layer (Keras 3's ``keras.Function``).

Every call on symbolic tensors records a :class:`~polykeras.symbolic.Node`
(``outputs = node.layer(*args, **kwargs)``): a layer's call, or an op's
through the op-layer that stands for it. :class:`GraphMixin` keeps the nodes
between inputs and outputs in execution order and replays them on data; a
:class:`Function` is that alone, a functional ``Model`` is that and a layer.

Example:
    >>> x = Input((4,))
    >>> features = Function(x, layers.Dense(2)(x))
    >>> features(np.ones((3, 4), "float32")).shape
    (3, 2)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from polykeras import ops
from polykeras.layers.config import unique_name
from polykeras.layers.input_layer import InputLayer
from polykeras.layers.layer import Layer
from polykeras.models.host_stage import HOST_STAGED, HostPlan, boundary_values, host_plan, to_host
from polykeras.symbolic import STRING, Node, SymbolicTensor, flatten, map_structure, shape_structure, trace_output_spec
from polykeras.variables import StatelessScope

__all__ = ["Function", "GraphMixin", "graph_nodes", "operation_order"]


def graph_nodes(inputs: list[SymbolicTensor], outputs: list[SymbolicTensor], where: str) -> list[Node]:
    """The nodes between ``inputs`` and ``outputs`` in execution order, each
    once (a depth-first walk back from the outputs, stopping at the inputs).
    ``where`` names the graph's owner in errors (``"Model 'clf'"``)."""
    for position, tensor in enumerate(outputs):
        if not isinstance(tensor, SymbolicTensor):
            raise TypeError(f"{where}: expected symbolic tensors as outputs (from layers called on "
                            f"Input), received output {position}: {tensor!r}.")
    known = {id(t) for t in inputs}
    order: list[Node] = []
    seen: set[int] = set()
    for output in outputs:
        stack: list[tuple[SymbolicTensor, bool]] = [(output, False)]
        while stack:
            tensor, expanded = stack.pop()
            node = tensor.node
            if id(tensor) in known:
                continue
            if node is None:
                raise ValueError(f"{where}: the graph is disconnected: {tensor.name} has no producing layer "
                                 "and is not among the given inputs.")
            if id(node) in seen:
                continue
            if expanded:
                seen.add(id(node))
                order.append(node)
                continue
            if isinstance(node.layer, InputLayer):
                given = ", ".join(t.name for t in inputs)
                raise ValueError(f"{where}: the graph is disconnected: it needs input {tensor.name!r}, which is "
                                 f"not among the given inputs ({given}). If that input belongs to a nested "
                                 "model's own graph, start from that model's inputs: Model(inner.inputs, "
                                 "inner.get_layer(...).output).")
            stack.append((tensor, True))
            stack.extend((t, False) for t in reversed(node.input_tensors))
    return order


def operation_order(inputs: list[SymbolicTensor], outputs: list[SymbolicTensor]) -> list[Any]:
    """The graph's operations (layers and op nodes, each once) in Keras 3's
    order: deepest first, where an operation's depth is the longest chain of
    calls from it to an output (an operation called at several depths counts
    at its deepest); operations of one depth in the order a depth-first walk
    back from the outputs (first output first, each call's inputs in order)
    first meets them. Inputs that no output needs come last but before the
    other depth-0 operations. This order is ``operations``, ``layers`` and so
    the order of a model's weights, as in Keras 3.

    Example: ``operation_order(model.inputs, model.outputs)`` -> ``[InputLayer, Dense, Add, Dense]``
    """
    given = {id(t) for t in inputs}
    first_seen: dict[int, int] = {}
    finished: set[int] = set()
    postorder: list[Node] = []
    for output in outputs:
        stack: list[tuple[SymbolicTensor, bool]] = [(output, False)]
        while stack:
            tensor, expanded = stack.pop()
            node = tensor.node
            if node is None or id(node) in finished:
                continue
            is_input = isinstance(node.layer, InputLayer)
            if expanded or is_input or id(tensor) in given:
                finished.add(id(node))
                if expanded or is_input:
                    first_seen.setdefault(id(node.layer), len(first_seen))
                    postorder.append(node)
                continue
            first_seen.setdefault(id(node.layer), len(first_seen))
            stack.append((tensor, True))
            stack.extend((t, False) for t in reversed(node.input_tensors))
    in_graph = {id(node) for node in postorder}
    node_depth: dict[int, int] = {}
    depth_of: dict[int, int] = {}
    operations: dict[int, Any] = {}
    for node in reversed(postorder):
        depth = max(node_depth.setdefault(id(node), 0), depth_of.get(id(node.layer), 0))
        depth_of[id(node.layer)] = node_depth[id(node)] = depth
        operations[id(node.layer)] = node.layer
        if isinstance(node.layer, InputLayer):
            continue
        for tensor in node.input_tensors:
            parent = tensor.node
            if parent is not None and id(parent) in in_graph:
                node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
    for tensor in inputs:  # inputs no output needs
        if tensor.node is not None and isinstance(tensor.node.layer, InputLayer) and id(tensor.node.layer) \
                not in operations:
            operations[id(tensor.node.layer)] = tensor.node.layer
            depth_of[id(tensor.node.layer)], first_seen[id(tensor.node.layer)] = 0, -1
    return sorted(operations.values(), key=lambda op: (-depth_of[id(op)], first_seen[id(op)]))


class GraphMixin:
    """A recorded graph: ``inputs``, ``outputs`` and the nodes between them,
    checked and replayed on data. Shared by :class:`Function` and functional
    models; the owner gives ``name`` and ``_graph_kind`` (for errors).

    Example:
        >>> class Features(GraphMixin):
        ...     _graph_kind, name = "Features", "features"
        >>> graph = Features(); graph._init_graph(x, layers.Dense(2)(x))
        >>> graph._run_graph(np.ones((3, 4), "float32")).shape
        (3, 2)
    """

    _graph_kind = "Function"

    def _init_graph(self, inputs: Any, outputs: Any) -> None:
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        self.inputs = flatten(inputs)
        self.outputs = flatten(outputs)
        for position, tensor in enumerate(self.inputs):
            if not isinstance(tensor, SymbolicTensor):
                raise TypeError(f"{self._where()}: expected symbolic tensors as inputs, received input "
                                f"{position}: {tensor!r}.")
        self._nodes = graph_nodes(self.inputs, self.outputs, self._where())
        self._graph_layers = operation_order(self.inputs, self.outputs)

    def _where(self) -> str:
        return f"{self._graph_kind} {self.name!r}"  # type: ignore[attr-defined]

    @property
    def operations(self) -> list[Any]:
        """Every operation of the graph, layers and op nodes, in Keras 3's order (see :func:`operation_order`)."""
        return list(self._graph_layers)

    @property
    def input_names(self) -> list[str]:
        return [t.name for t in self.inputs]

    def _flat_inputs(self, inputs: Any) -> list[Any]:
        if isinstance(inputs, dict):
            names = self.input_names
            if isinstance(self._inputs_struct, dict):
                keyed = {key: tensor.name for key, tensor in self._inputs_struct.items()}
                names = [keyed.get(key, key) for key in sorted(self._inputs_struct)]
                inputs = {keyed.get(key, key): value for key, value in inputs.items()}
            missing = [n for n in names if n not in inputs]
            if missing:
                raise ValueError(f"{self._where()}: expected inputs named {names}, received "
                                 f"{sorted(inputs)} (missing {missing}).")
            return [inputs[n] for n in names]
        flat = flatten(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if len(flat) != len(self.inputs):
            raise ValueError(f"{self._where()}: expected {len(self.inputs)} input(s) "
                             f"({', '.join(self.input_names)}), received {len(flat)}.")
        return flat

    def _check_input(self, spec: SymbolicTensor, value: Any) -> Any:
        """``value`` as a tensor, when its shape fits ``spec``'s. The batch
        axis is not checked (as in Keras 3): an input declared with a fixed
        batch size still takes other batch sizes. As in Keras 3, a value one
        rank short of an input whose last size is 1 gets that axis (a column
        of scalars for ``Input((1,))``), and one with an extra trailing axis
        of size 1 loses it."""
        if value is None:
            if getattr(spec.node.layer if spec.node else None, "optional", False):
                return None
            raise ValueError(f"{self._where()}: input {spec.name!r} expected a tensor of shape {spec.shape}, "
                             "received None (an input made by Input(..., optional=True) may be None).")
        if isinstance(value, SymbolicTensor):
            shape = value.shape
        elif spec.dtype == STRING:
            return to_host(spec, _adjust_rank(spec, np.asarray(value), np.shape, np.reshape), self._where())
        else:
            if isinstance(value, np.ndarray) and value.dtype.kind in "USO":
                raise ValueError(f"{self._where()}: input {spec.name!r} expected numeric data (dtype {spec.dtype}), "
                                 f"received an array of dtype {value.dtype}; only Input(dtype='string') takes text.")
            value = ops.convert_to_tensor(value) if not ops.is_tensor(value) else value
            try:
                value = _adjust_rank(spec, value, ops.shape, ops.reshape)
                shape = tuple(ops.shape(value))
            except ValueError as err:  # a trace's unknown rank (TensorFlow)
                raise ValueError(f"{self._where()}: input {spec.name!r} expected shape {spec.shape}, received a "
                                 "tensor of unknown rank (one traced function was given inputs of different "
                                 "ranks).") from err
        expected = spec.shape
        # Only sizes known now are compared: inside a trace an unknown size is
        # None or a scalar tensor, which has no truth value.
        fits = len(shape) == len(expected) and all(
            not isinstance(e, int) or not isinstance(s, int) or e == s
            for axis, (e, s) in enumerate(zip(expected, shape)) if axis > 0)
        if not fits:
            raise ValueError(f"{self._where()}: input {spec.name!r} expected shape {expected}, "
                             f"received shape {shape}.")
        return value

    def _run_graph(self, inputs: Any, training: bool | None = None) -> Any:
        """Replay every node on ``inputs`` (data or symbolic tensors) and
        return the outputs in the structure the graph was made with.
        ``training`` goes to every layer call that did not fix it. Inputs
        that :meth:`_stage_on_host` made run only the device stage."""
        plan = self._host_plan() if isinstance(inputs, dict) and HOST_STAGED in inputs else None
        if plan is not None:
            values = {id(plan.boundary[key]): value for key, value in inputs[HOST_STAGED].items()}
            return self._run_nodes(plan.device, values, training)
        return self._run_nodes(self._nodes, self._input_values(inputs), training)

    def _input_values(self, inputs: Any) -> dict[int, Any]:
        return {id(spec): self._check_input(spec, value) for spec, value in zip(self.inputs, self._flat_inputs(inputs))}

    def _run_nodes(self, nodes: list[Node], values: dict[int, Any], training: bool | None,
                   outputs: bool = True) -> Any:
        def resolve(leaf: Any) -> Any:
            return values[id(leaf)] if isinstance(leaf, SymbolicTensor) else leaf

        for node in nodes:
            args = map_structure(resolve, node.args)
            kwargs = map_structure(resolve, node.kwargs)
            if training is not None and "training" not in kwargs and isinstance(node.layer, Layer):
                kwargs["training"] = training
            produced = flatten(node.layer(*args, **kwargs))
            for tensor, value in zip(node.outputs, produced):
                values[id(tensor)] = value
        return map_structure(resolve, self._outputs_struct) if outputs else values

    def _host_plan(self) -> HostPlan | None:
        """How the graph splits around its host layers (see :mod:`.host_stage`); None without any."""
        if "_host_plan_cache" not in self.__dict__:
            self.__dict__["_host_plan_cache"] = host_plan(self.inputs, self.outputs, self._nodes, self._where())
        return self.__dict__["_host_plan_cache"]

    def _stage_on_host(self, inputs: Any, training: bool | None = None) -> Any:
        """``inputs`` with the host stage computed: ``{HOST_STAGED: {key:
        tensor}}``, what the compiled step's call reads (or ``inputs`` as
        they are when the graph has no host stage).

        Example: ``model._stage_on_host({"city": np.array([["a"]])})``
        """
        plan = self._host_plan()
        if plan is None or (isinstance(inputs, dict) and HOST_STAGED in inputs):
            return inputs
        values = self._run_nodes(plan.host, self._input_values(inputs), training, outputs=False)
        return {HOST_STAGED: boundary_values(plan, values)}


def _adjust_rank(spec: SymbolicTensor, value: Any, shape_of: Any, reshape: Any) -> Any:
    """``value`` with a trailing axis of size 1 added or dropped where that
    alone makes its rank ``spec``'s (Keras 3's ``_adjust_input_rank``)."""
    shape = tuple(shape_of(value))
    if len(shape) == len(spec.shape) - 1 and spec.shape and spec.shape[-1] == 1:
        return reshape(value, (*shape, 1))
    if len(shape) == len(spec.shape) + 1 and shape and shape[-1] == 1:
        return reshape(value, shape[:-1])
    return value


class Function(GraphMixin):
    """A callable graph from symbolic ``inputs`` to ``outputs`` (single
    tensors, lists or dicts), made of layer calls and ops on symbolic tensors.
    Unlike a ``Model`` it is not a layer: it owns no weights of its own and
    has no training or saving; its layers keep theirs. ``inputs`` may be any
    symbolic tensors the outputs depend on, not only ``Input``\\ s.

    Example:
        >>> x = Input((4,))
        >>> h = layers.Dense(3)(x)
        >>> head = Function(h, layers.Dense(2)(h))   # from an intermediate tensor
        >>> head(np.ones((5, 3), "float32")).shape
        (5, 2)
    """

    def __init__(self, inputs: Any, outputs: Any, name: str | None = None):
        self.name = name or unique_name("function")
        self._init_graph(inputs, outputs)

    def __call__(self, inputs: Any) -> Any:
        return self.call(inputs)

    def call(self, inputs: Any) -> Any:
        """The outputs for ``inputs`` (in the structure of the graph's inputs,
        or a dict by input name)."""
        return self._run_graph(inputs)

    def compute_output_spec(self, inputs: Any) -> Any:
        """Symbolic outputs (shape and dtype) for symbolic ``inputs``, found
        without recording anything. Example: ``f.compute_output_spec(SymbolicTensor((None, 4)))``"""
        with StatelessScope(collect_losses=True):
            specs = trace_output_spec(self.call, inputs)
        return map_structure(lambda spec: SymbolicTensor(spec.shape, spec.dtype), specs)

    def compute_output_shape(self, input_shape: Any) -> Any:
        """Output shape(s) for ``input_shape`` (one shape, or a list/dict of
        shapes like the inputs). Example: ``f.compute_output_shape((None, 4))``"""
        return shape_structure(self.compute_output_spec(_placeholders(input_shape)))

    def __repr__(self) -> str:
        return f"<Function name={self.name}, inputs={len(self.inputs)}, outputs={len(self.outputs)}>"


def _placeholders(shapes: Any) -> Any:
    """Symbolic tensors for a shape or a list/dict of shapes."""
    if isinstance(shapes, dict):
        return {key: _placeholders(value) for key, value in shapes.items()}
    if isinstance(shapes, (list, tuple)) and all(d is None or isinstance(d, int) for d in shapes):
        return SymbolicTensor(shapes)
    return [_placeholders(shape) for shape in shapes]
