"""``Sequential``: a plain stack of single-input, single-output layers.

Example:
    >>> model = Sequential([Input((784,)), layers.Dense(64, activation="relu"), layers.Dense(10)])
    >>> model.output_shape
    (None, 10)
    >>> lazy = Sequential([layers.Dense(4)])   # built by its first call or build()
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from polykeras import ops
from polykeras.layers.config import LAYER_CLASSES
from polykeras.layers.input_layer import Input, InputLayer
from polykeras.layers.layer import Layer
from polykeras.models.functional import Functional
from polykeras.models.model import Model
from polykeras.registry import custom_object_scope, deserialize, serialize
from polykeras.symbolic import SymbolicTensor, nodes_of


class Sequential(Model):
    """Layers applied one after another. Start with ``Input(shape)`` (or give
    ``build(input_shape)``) to have a full model at once; otherwise it is built
    by its first call.

    Example:
        >>> model = Sequential()
        >>> model.add(Input((8,)))
        >>> model.add(layers.Dense(2))
        >>> model.pop()                     # removes the Dense layer
    """

    def __init__(self, layers: Iterable[Any] | None = None, trainable: bool = True, name: str | None = None,
                 **kwargs: Any):
        super().__init__(name=name, trainable=trainable, **kwargs)
        self._input_layer: InputLayer | None = None
        self._stack: list[Layer] = []
        self._graph: Functional | None = None
        for layer in layers or ():
            self.add(layer, rebuild=False)
        self._rebuild()

    # ------------------------------------------------------------ editing
    def add(self, layer: Any, rebuild: bool = True) -> None:
        """Append a layer (or set the input with ``Input(...)``/``InputLayer``)."""
        source = getattr(layer.node, "layer", None) if isinstance(layer, SymbolicTensor) else None
        if isinstance(source, InputLayer):
            layer = source
        if isinstance(layer, InputLayer):
            if self._input_layer is not None or self._stack:
                raise ValueError(f"Sequential {self.name!r}: expected the input first and only once, received "
                                 f"InputLayer {layer.name!r} after "
                                 f"{[known.name for known in self._stack] or 'an input'}.")
            self._input_layer = layer
        elif isinstance(layer, Layer):
            taken = [known for known in self._stack if known.name == layer.name]
            if taken:
                raise ValueError(f"Sequential {self.name!r}: expected layers of unique names (weights are saved and "
                                 f"loaded by name), received a second layer named {layer.name!r}; give it another "
                                 "name=.")
            self._stack.append(layer)
        else:
            raise TypeError(f"Sequential {self.name!r}: expected a Layer, received {type(layer).__name__}: {layer!r}.")
        if rebuild:
            self._rebuild()

    def pop(self, rebuild: bool = True) -> Layer:
        """Remove and return the last layer."""
        if not self._stack:
            raise ValueError(f"Sequential {self.name!r}: pop() on a model with no layers.")
        layer = self._stack.pop()
        if rebuild:
            self._rebuild()
        return layer

    def _rebuild(self) -> None:
        """Make the graph from the input through every layer (when the input is known)."""
        self._graph = None
        self.built = False
        if self._input_layer is None:
            return
        tensor = self._input_layer.output
        for layer in self._stack:
            tensor = layer(tensor)
        if self._stack:
            # No casting of its own: the Sequential casts its inputs, each layer its own.
            self._graph = Functional(self._input_layer.output, tensor, name=f"{self.name}_graph", autocast=False)
        self.built = True

    # ------------------------------------------------------------ structure
    @property
    def layers(self) -> list[Layer]:
        """The stacked layers (the input layer excluded, as in Keras)."""
        return list(self._stack)

    @property
    def input(self) -> Any:
        """As in Keras 3: once the model is called in an enclosing graph, the
        tensor it was first called on there (so ``Model(outer.inputs,
        seq.output)`` cuts features out of the outer graph); before that, its
        own input. :attr:`inputs` is always its own graph's."""
        return Layer.input.fget(self) if nodes_of(self) else Model.input.fget(self)  # type: ignore[attr-defined]

    @property
    def output(self) -> Any:
        """As in Keras 3: the output of its first call in an enclosing graph;
        before any, its own graph's output (:attr:`outputs`)."""
        return Layer.output.fget(self) if nodes_of(self) else Model.output.fget(self)  # type: ignore[attr-defined]

    @property
    def inputs(self) -> list[SymbolicTensor]:
        return [self._input_layer.output] if self._input_layer is not None else []

    @property
    def outputs(self) -> list[SymbolicTensor]:
        return list(self._graph.outputs) if self._graph is not None else []

    def build(self, input_shape: Any = None) -> None:
        """Give the model its input shape (batch axis included) and create every weight.

        Example: ``model.build((None, 28, 28, 1))``
        """
        if self.built:
            return
        if input_shape is None:
            raise ValueError(f"Sequential {self.name!r}: build() needs input_shape, e.g. build((None, 8)).")
        node = Input(batch_shape=tuple(input_shape)).node
        assert node is not None  # an Input is its InputLayer's output
        self._input_layer = node.layer
        self._rebuild()

    def _maybe_build(self, args: tuple, kwargs: dict) -> None:
        # Built by its first call: the batch size of that call says nothing
        # about later ones, so the input keeps it unknown.
        first = args[0] if args else next(iter(kwargs.values()), None)
        if isinstance(first, SymbolicTensor) or ops.is_tensor(first):
            shape = first.shape if isinstance(first, SymbolicTensor) else tuple(ops.shape(first))
            if shape:
                self.build((None, *shape[1:]))
                return
        super()._maybe_build(args, kwargs)

    # -------------------------------------------------------------- calling
    def call(self, inputs: Any, training: bool | None = None, mask: Any = None) -> Any:
        if self._graph is None and self._input_layer is None and self._stack:
            shape = tuple(ops.shape(inputs)) if not isinstance(inputs, SymbolicTensor) else inputs.shape
            self.build((None, *shape[1:]))
        if self._graph is not None:
            return self._graph(inputs, training=training)
        return inputs

    def compute_output_shape(self, input_shape: Any) -> Any:
        shape = input_shape
        for layer in self._stack:
            shape = layer.compute_output_shape(shape)
        return shape

    # ------------------------------------------------------------ serialising
    def get_config(self) -> dict[str, Any]:
        stack = ([self._input_layer] if self._input_layer is not None else []) + self._stack
        return {"name": self.name, "trainable": self.trainable,
                "layers": [serialize(layer, where=f"layer {layer.name!r}") for layer in stack]}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Mapping[str, Any] | None = None) -> Sequential:
        with custom_object_scope(custom_objects or {}):
            layers = [deserialize(entry, module_objects=LAYER_CLASSES, kind="layer") for entry in config["layers"]]
        return cls(layers, name=config.get("name"), trainable=config.get("trainable", True))
