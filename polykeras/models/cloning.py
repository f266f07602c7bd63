"""``clone_model``: the same architecture with new layers (and so new,
freshly initialised weights), as ``keras.models.clone_model``.

* A functional model is rebuilt by replaying its graph on new inputs
  (``input_tensors``, or fresh ``Input``s like the old ones): each layer is
  replaced by ``clone_function(layer)`` (by default a layer made from its
  config) and called through ``call_function(layer, *args, **kwargs)``. A
  layer used several times is cloned once, so sharing survives.
* A ``Sequential`` is re-stacked from ``clone_function`` of each layer.
* Any other model (subclassed, or a functional subclass with its own config)
  is rebuilt from its config; ``clone_function``, ``input_tensors`` and
  ``call_function`` need a graph and are refused for it.

With ``recursive=True`` nested functional and Sequential models are cloned
the same way instead of being handed to ``clone_function`` whole. A compiled
model's clone is compiled the same way.

Example:
    >>> clone = clone_model(model)
    >>> clone.set_weights(model.get_weights())   # same numbers from here on
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeGuard

from polykeras.layers.input_layer import Input, InputLayer
from polykeras.layers.layer import Layer
from polykeras.models.function import graph_nodes
from polykeras.models.functional import Functional
from polykeras.models.model import Model
from polykeras.models.sequential import Sequential
from polykeras import registry
from polykeras.symbolic import SymbolicTensor, flatten, map_structure
from polykeras.tree import assert_same_structure

__all__ = ["clone_model"]

CloneFunction = Callable[[Any], Any]


def _from_config(layer: Any) -> Any:
    return layer.__class__.from_config(layer.get_config())


def _input_layer(tensor: SymbolicTensor) -> Any:
    """The layer that made a model input (its ``InputLayer``)."""
    if tensor.node is None:
        raise ValueError(f"clone_model: expected a model input made by Input(), received {tensor!r}.")
    return tensor.node.layer


def _is_graph(model: Any) -> TypeGuard[Functional]:
    """A functional model whose config is the graph's own (not a subclass
    with its own ``get_config``)."""
    return isinstance(model, Functional) and type(model).get_config is Functional.get_config


def clone_model(model: Any, input_tensors: Any = None, clone_function: CloneFunction | None = None,
                call_function: Callable[..., Any] | None = None, recursive: bool = False, **kwargs: Any) -> Any:
    """A copy of ``model`` with new layers and new weights.

    Args:
        model: a functional, ``Sequential`` or subclassed model.
        input_tensors: symbolic tensors (``Input``) to build the copy on, in
            the structure of ``model.input``; new ``Input``s by default.
        clone_function: ``fn(layer) -> layer`` for every layer but the
            inputs (default: the layer rebuilt from its config). Returning
            the layer itself shares it between the two models.
        call_function: ``fn(layer, *args, **kwargs) -> outputs`` for every
            call in a functional graph (default: ``layer(*args, **kwargs)``),
            to insert layers around a call.
        recursive: clone nested functional/Sequential models layer by layer.

    Example:
        >>> def call_function(layer, *args, **kwargs):
        ...     out = layer(*args, **kwargs)
        ...     return layers.Dropout(0.5)(out) if isinstance(layer, layers.Dense) else out
        >>> clone = clone_model(model, clone_function=lambda layer: layer, call_function=call_function)
    """
    cache = kwargs.pop("cache", None)
    if kwargs:
        raise ValueError(f"clone_model: unexpected keyword arguments {sorted(kwargs)}.")
    if not isinstance(model, Model):
        raise ValueError(f"clone_model: expected a Model (functional, Sequential or subclassed), received "
                         f"{type(model).__name__}: {model!r}.")
    if clone_function is not None and not callable(clone_function):
        raise ValueError(f"clone_model: expected clone_function to be a callable fn(layer), "
                         f"received {clone_function!r}.")
    if call_function is not None and not callable(call_function):
        raise ValueError(f"clone_model: expected call_function to be a callable fn(layer, *args, **kwargs), "
                         f"received {call_function!r}.")
    cache = {} if cache is None else cache
    clone_layer = _cloner(clone_function or _from_config, call_function, recursive, cache)
    if isinstance(model, Sequential):
        if call_function is not None:
            raise ValueError(f"clone_model: call_function applies to functional models only; Sequential "
                             f"{model.name!r} lists its layers without calling them.")
        clone: Model = _clone_sequential(model, clone_layer, input_tensors)
    elif _is_graph(model) or (isinstance(model, Functional) and (clone_function or input_tensors is not None)):
        clone = _clone_functional(model, clone_layer, input_tensors, call_function)
    else:
        if clone_function is not None or input_tensors is not None or call_function is not None:
            raise ValueError(f"clone_model: clone_function, input_tensors and call_function need a functional or "
                             f"Sequential model; {type(model).__name__} {model.name!r} is rebuilt from its config "
                             "(get_config/from_config) instead.")
        config = registry.serialize(model)
        clone = registry.deserialize(config, custom_objects={type(model).__name__: type(model)}, kind="model")
    _compile_like(model, clone)
    return clone


def _cloner(clone_function: CloneFunction, call_function: Any, recursive: bool, cache: dict[int, Any]) -> CloneFunction:
    """``clone_function`` that clones each layer once, and nested graphs
    layer by layer when ``recursive``."""

    def clone(layer: Any) -> Any:
        if id(layer) not in cache:
            if recursive and isinstance(layer, Sequential):
                cache[id(layer)] = clone_model(layer, clone_function=clone_function, recursive=True, cache=cache)
            elif recursive and _is_graph(layer):
                cache[id(layer)] = clone_model(layer, clone_function=clone_function, call_function=call_function,
                                               recursive=True, cache=cache)
            else:
                cache[id(layer)] = clone_function(layer)
        return cache[id(layer)]

    return clone


def _input_like(tensor: SymbolicTensor, where: str) -> SymbolicTensor:
    """A graph input from a user's tensor: an ``Input`` as is, a free
    symbolic tensor wrapped in one."""
    if not isinstance(tensor, SymbolicTensor):
        raise ValueError(f"clone_model: expected input_tensors made by Input(...) (polykeras.KerasTensor), "
                         f"received {type(tensor).__name__}: {tensor!r} for {where}.")
    if tensor.node is None:
        return Input(tensor=tensor)
    if not isinstance(tensor.node.layer, InputLayer):
        raise ValueError(f"clone_model: expected input_tensors made by Input(...), received {tensor.name!r}, an "
                         f"output of layer {tensor.node.layer.name!r}, for {where}.")
    return tensor


def _clone_sequential(model: Sequential, clone_layer: CloneFunction, input_tensors: Any) -> Sequential:
    new_layers: list[Any] = [clone_layer(layer) for layer in model.layers]
    if input_tensors is not None:
        flat = flatten(input_tensors) if isinstance(input_tensors, (list, tuple)) else [input_tensors]
        if len(flat) != 1:
            raise ValueError(f"clone_model: a Sequential model takes one input tensor, received {len(flat)} in "
                             "input_tensors.")
        new_layers.insert(0, _input_like(flat[0], f"Sequential {model.name!r}"))
    elif model.inputs:
        old = _input_layer(model.inputs[0])
        new_layers.insert(0, Input(batch_shape=old.batch_shape, dtype=model.inputs[0].dtype, name=old.name,
                                   optional=old.optional))
    return Sequential(new_layers, name=model.name, trainable=model.trainable)


def _clone_functional(model: Functional, clone_layer: CloneFunction, input_tensors: Any,
                      call_function: Callable[..., Any] | None) -> Model:
    structure = model._inputs_struct
    if input_tensors is None:
        def fresh(tensor: SymbolicTensor) -> SymbolicTensor:
            old = _input_layer(tensor)
            return Input(batch_shape=tensor.shape, dtype=tensor.dtype, name=old.name,
                         optional=getattr(old, "optional", False))

        input_tensors = map_structure(fresh, structure)
    else:
        if isinstance(structure, (list, tuple)) and len(structure) == 1 and not isinstance(input_tensors,
                                                                                           (list, tuple, dict)):
            input_tensors = [input_tensors] if isinstance(structure, list) else (input_tensors,)
        try:
            assert_same_structure(input_tensors, structure)
        except ValueError as err:
            raise ValueError(f"clone_model: expected input_tensors in the structure of the model's inputs "
                             f"({structure!r}), received {input_tensors!r}.") from err
        input_tensors = map_structure(lambda t: _input_like(t, f"model {model.name!r}"), input_tensors)
    values: dict[int, Any] = {id(old): new for old, new in zip(model.inputs, flatten(input_tensors))}

    def resolve(leaf: Any) -> Any:
        return values[id(leaf)] if isinstance(leaf, SymbolicTensor) else leaf

    call = call_function or (lambda layer, *args, **kwargs: layer(*args, **kwargs))
    for node in graph_nodes(model.inputs, model.outputs, f"Model {model.name!r}"):
        layer = node.layer if isinstance(node.layer, InputLayer) or not isinstance(node.layer, Layer) \
            else clone_layer(node.layer)
        produced = flatten(call(layer, *map_structure(resolve, node.args), **map_structure(resolve, node.kwargs)))
        if len(produced) != len(node.outputs):
            raise ValueError(f"clone_model: layer {getattr(layer, 'name', layer)!r} gave {len(produced)} outputs "
                             f"where {getattr(node.layer, 'name', node.layer)!r} gave {len(node.outputs)}.")
        for old, new in zip(node.outputs, produced):
            values[id(old)] = new
    outputs = map_structure(resolve, model._outputs_struct)
    return Model(input_tensors, outputs, name=model.name, trainable=model.trainable)


def _compile_like(model: Any, clone: Any) -> None:
    if getattr(model, "compiled", False) and hasattr(model, "get_compile_config"):
        config = model.get_compile_config()
        if config is not None:
            clone.compile_from_config(config)
