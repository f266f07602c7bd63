"""Small Keras 3 utilities: batch packing, graph sources, serialization
re-exports under their Keras names, and ``plot_model`` with Keras' signature."""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from typing import Any

from polykeras.saving import registry
from polykeras.saving.safe_mode import safe_mode as _safe_mode
from polykeras.symbolic import SymbolicTensor


def pack_x_y_sample_weight(x: Any, y: Any = None, sample_weight: Any = None) -> Any:
    """The batch ``fit`` expects: ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``
    (a lone tuple/list ``x`` stays wrapped so it is not read as ``(x, y)``).

    Example: ``pack_x_y_sample_weight(x, y)`` -> ``(x, y)``
    """
    if y is None:
        return x if not isinstance(x, (tuple, list)) else (x,)
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def unpack_x_y_sample_weight(data: Any) -> tuple[Any, Any, Any]:
    """``(x, y, sample_weight)`` from a batch (missing parts are None).

    Example: ``x, y, sw = unpack_x_y_sample_weight((x, y))``
    """
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return (data, None, None)
    if len(data) == 1:
        return (data[0], None, None)
    if len(data) == 2:
        return (data[0], data[1], None)
    if len(data) == 3:
        return (data[0], data[1], data[2])
    raise ValueError(f"unpack_x_y_sample_weight: expected a batch of x, (x,), (x, y) or (x, y, sample_weight), "
                     f"received a tuple of {len(data)} elements.")


def get_source_inputs(tensor: Any) -> list[Any]:
    """The ``Input`` tensors a symbolic tensor was computed from, in order.

    Example:
        >>> x = Input((3,))
        >>> get_source_inputs(Dense(2)(x))[0] is x
        True
    """
    if not isinstance(tensor, SymbolicTensor):
        raise ValueError(f"get_source_inputs: expected a symbolic tensor (from Input or a layer called on one), "
                         f"received {type(tensor).__name__}.")
    found: list[Any] = []
    seen: set[int] = set()
    stack = [tensor]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        node = current.node
        parents = list(node.input_tensors) if node is not None else []
        if not parents:
            found.append(current)
            continue
        stack.extend(reversed(parents))
    return found


# ------------------------------------------------------------ serialization
register_keras_serializable = registry.register_serializable
get_registered_name = registry.get_registered_name
get_registered_object = registry.get_registered_object
custom_object_scope = registry.custom_object_scope
CustomObjectScope = registry.CustomObjectScope


get_custom_objects = registry.get_custom_objects  # live, as Keras 3's: adding a name registers it


def serialize_keras_object(obj: Any) -> Any:
    """JSON-safe data describing ``obj`` (a layer, loss, initializer, ...).
    Example: ``serialize_keras_object(Dense(2))["class_name"]`` -> ``'Dense'``"""
    return registry.serialize(obj)


# which family's ``deserialize`` knows the built-ins of a config's module
_FAMILIES = ("layers", "initializers", "regularizers", "constraints", "activations", "losses", "metrics",
             "optimizers")


def deserialize_keras_object(config: Any, custom_objects: Mapping[str, Any] | None = None, safe_mode: bool = True,
                             **kwargs: Any) -> Any:
    """The object ``config`` describes (output of :func:`serialize_keras_object`
    or a Keras 3 config); only built-in, registered or ``custom_objects``
    names are allowed. ``module_objects`` (keyword) adds names to look up.

    Example: ``deserialize_keras_object({"class_name": "Dense", "config": {"units": 2}})``
    """
    module_objects = kwargs.pop("module_objects", None)
    if kwargs:
        raise TypeError(f"deserialize_keras_object: unexpected arguments {sorted(kwargs)}.")
    with _safe_mode(safe_mode):
        if module_objects is None and isinstance(config, dict):
            module = str(config.get("module") or "")
            family = next((f for f in _FAMILIES if f in module.split(".")), None)
            if family is None and "class_name" in config:
                family = "layers"  # Keras' most common case: a layer config without a module
            if family is not None and registry.get_registered_object(
                    config.get("registered_name") or config.get("class_name", ""), custom_objects) is None:
                return importlib.import_module(f"polykeras.{family}").deserialize(config, custom_objects)
        return registry.deserialize(config, custom_objects, module_objects)


# ---------------------------------------------------------------- plotting
def model_to_dot(model: Any, show_shapes: bool = False, show_dtype: bool = False, show_layer_names: bool = True,
                 rankdir: str = "TB", expand_nested: bool = False, dpi: int = 200, subgraph: bool = False,
                 show_layer_activations: bool = False, show_trainable: bool = False, splines: str = "ortho",
                 **kwargs: Any) -> str:
    """The model's graph as DOT source (Keras' signature; nested models are
    drawn as one box). Example: ``print(model_to_dot(model, show_shapes=True))``"""
    from polykeras.models import plot

    return plot.model_to_dot(model, show_shapes=show_shapes, show_layer_names=show_layer_names,
                             show_dtype=show_dtype, rankdir=rankdir)


def plot_model(model: Any, to_file: str | os.PathLike = "model.png", show_shapes: bool = False,
               show_dtype: bool = False, show_layer_names: bool = False, rankdir: str = "TB",
               expand_nested: bool = False, dpi: int = 200, show_layer_activations: bool = False,
               show_trainable: bool = False, splines: str = "ortho", **kwargs: Any) -> Any:
    """Draw ``model`` to ``to_file`` with Graphviz (Keras' signature and
    defaults). Example: ``plot_model(model, "model.png", show_shapes=True)``"""
    from polykeras.models import plot

    return plot.plot_model(model, to_file, show_shapes=show_shapes, show_layer_names=show_layer_names,
                           show_dtype=show_dtype, rankdir=rankdir, dpi=dpi)
