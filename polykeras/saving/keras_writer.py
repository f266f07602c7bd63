"""Writing Keras 3 files: ``model.save("m.keras")`` and the Keras layout of
``.weights.h5``, so Keras 3 loads a polykeras model, its weights and its
optimizer state and predicts the same.

The config is polykeras' own (same class and argument names as Keras) with
Keras' spellings put back: modules become ``keras.<family>``, tensor
references become ``__keras_tensor__`` entries with their shape, dtype and
``keras_history``, and a model's inputs and outputs become
``[layer, node, tensor]`` triples. An op node (``x + 1``, ``ops.mean(x,
axis=1)``) becomes an entry of Keras' Operation class for the op
(``keras.src.ops.numpy.Mean``), its options in the class's config and its
tensors in the node, as the table in :mod:`.keras_ops` splits them; an op
Keras has no class for is refused by name. The weights follow Keras' walk of the
model: a graph model's layers under ``layers/<key>`` (the class name in snake
case, numbered from the second of a class on), a layer's own variables under
``vars/<i>`` with the layer's name as an attribute, a sub-layer under the
attribute that holds it (``lstm/cell/vars``), and the optimizer's variables
under ``optimizer/vars/<i>``. Like Keras, it writes no metric state: Keras
starts a loaded model's metrics fresh.

polykeras' own weights files carry the same layout as HDF5 hard links to their
datasets (no second copy of the data), so one ``.weights.h5`` serves both
libraries.

Example:
    >>> model.save("model.keras")                        # keras.saving.load_model reads it
    >>> keras_model.load_weights("polykeras.weights.h5")  # so does load_weights
"""

from __future__ import annotations

import datetime
import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

import h5py

from polykeras.saving.keras_files import derived_keys
from polykeras.saving.weights import own_weights

__all__ = ["KERAS_FORMAT_VERSION", "keras_archive_bytes", "keras_model_config", "write_keras_layout"]

#: The Keras 3 release whose file format this writer follows.
KERAS_FORMAT_VERSION = "3.15.0"

_FAMILIES = ("layers", "initializers", "regularizers", "constraints", "optimizers", "losses", "metrics",
             "activations", "quantizers")
_COMPILE_KEYS = ("optimizer", "loss", "loss_weights", "metrics", "weighted_metrics", "run_eagerly",
                 "steps_per_execution", "jit_compile")

#: Creates (or links) the dataset ``name`` in ``group`` for one variable.
Put = Callable[[h5py.Group, str, Any], None]


# ------------------------------------------------------------------ config
def _keras_module(module: str, class_name: str) -> tuple[str, str | None]:
    """Keras' ``module`` (and ``registered_name`` for models) for one of ours."""
    if class_name == "Functional":
        return "keras.src.models.functional", "Functional"
    if class_name == "Sequential":
        return "keras", None
    parts = module.split(".")
    if parts[0] == "polykeras" and len(parts) > 1:
        family = "layers" if parts[1] == "models" else parts[1]
        if family in _FAMILIES:
            return f"keras.{family}", None
    return module, None


def _objects(value: Any) -> Any:
    """Serialized polykeras objects (initializers, layers, ...) in Keras' spelling."""
    if isinstance(value, dict) and isinstance(value.get("class_name"), str) and "config" in value:
        module, registered = _keras_module(str(value.get("module") or ""), value["class_name"])
        out = {**value, "module": module, "config": _objects(value["config"])}
        if value.get("registered_name") is None:
            out["registered_name"] = registered
        return out
    if isinstance(value, dict):
        return {k: _objects(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_objects(v) for v in value]
    return value


def _tensor_table(model: Any) -> dict[tuple[str, int, int], Any]:
    """``(layer name, node index, tensor index)`` -> the symbolic tensor, as
    the model's config refers to its tensors."""
    nodes = {id(node): node for node in [*model._nodes, *(t.node for t in model.inputs)]}
    return {(name, index, position): tensor
            for node_id, (name, index) in model._node_keys().items() if node_id in nodes
            for position, tensor in enumerate(nodes[node_id].outputs)}


def _graph_config(model: Any, config: dict[str, Any]) -> dict[str, Any]:
    """A Functional model's config in Keras' form (nested models included)."""
    table = _tensor_table(model)
    by_name = {layer.name: layer for layer in model.operations}

    def tensor(ref: list[Any]) -> dict[str, Any]:
        found = table.get(tuple(ref))
        shape = list(found.shape) if found is not None else None
        dtype = found.dtype if found is not None else "float32"
        return {"class_name": "__keras_tensor__", "config": {"shape": shape, "dtype": dtype, "keras_history": ref}}

    def tensors(value: Any) -> Any:
        if isinstance(value, dict) and set(value) == {"__tensor__"}:
            return tensor(list(value["__tensor__"]))
        if isinstance(value, dict):
            return {k: tensors(v) for k, v in value.items()}
        if isinstance(value, list):
            return [tensors(v) for v in value]
        return value

    def endpoints(value: Any) -> Any:
        if isinstance(value, dict) and set(value) == {"__tensor__"}:
            name, node, index = value["__tensor__"]
            # Keras 3 numbers a nested functional model's nodes from 1 in input_layers/output_layers (its own
            # construction is node 0 there); polykeras numbers its calls from 0.
            return [name, node + 1 if name in nested else node, index]
        if isinstance(value, dict):
            return {k: endpoints(v) for k, v in value.items()}
        return [endpoints(v) for v in value]

    layers = []
    for entry in config["layers"]:
        if entry.get("class_name") == "OpLayer":
            layers.append(_op_entry(entry, tensor))
            continue
        layer = by_name.get(entry["name"])
        translated = _entry(layer, {k: v for k, v in entry.items() if k != "inbound_nodes"})
        translated["inbound_nodes"] = [{"args": tensors(call["args"]), "kwargs": tensors(call["kwargs"])}
                                       for call in entry["inbound_nodes"]]
        layers.append(translated)
    nested = {entry["name"] for entry in layers if entry.get("class_name") == "Functional"}
    return {**config, "layers": layers, "input_layers": endpoints(config["input_layers"]),
            "output_layers": endpoints(config["output_layers"])}


def _entry(layer: Any, entry: dict[str, Any]) -> dict[str, Any]:
    """One serialized layer (or model) in Keras' form."""
    if entry.get("class_name") == "Functional" and layer is not None:
        module, registered = _keras_module("", "Functional")
        return {**entry, "module": module, "registered_name": registered,
                "config": _graph_config(layer, entry["config"])}
    if entry.get("class_name") == "Sequential" and layer is not None:
        stack = [*([layer._input_layer] if layer._input_layer is not None else []), *layer.layers]
        inner = dict(entry["config"])
        inner["layers"] = [_entry(sub, sub_entry) for sub, sub_entry in zip(stack, inner["layers"])]
        if layer.inputs:
            inner["build_input_shape"] = list(layer.inputs[0].shape)
        return {**entry, "module": "keras", "class_name": "Sequential", "registered_name": None, "config": inner}
    if entry.get("class_name") == "FeatureSpace" and layer is not None:
        return _feature_space_entry(layer, entry)
    translated = _objects(entry)
    if layer is not None and isinstance(entry.get("config"), dict):
        from polykeras.layers.layer import Layer

        for key, value in entry["config"].items():  # a model held by an argument (a Distiller's teacher)
            held = getattr(layer, key, None)
            if isinstance(held, Layer) and isinstance(value, dict) and "class_name" in value:
                translated["config"][key] = _entry(held, value)
    build = layer.get_build_config() if layer is not None and hasattr(layer, "get_build_config") else None
    if build is not None:
        translated["build_config"] = _build_config(build)
    return translated


#: Where Keras 3 keeps FeatureSpace's Feature and Cross classes (their registered names are the class names).
_FEATURE_SPACE_MODULE = "keras.src.layers.preprocessing.feature_space"


def _feature_space_entry(space: Any, entry: dict[str, Any]) -> dict[str, Any]:
    """A FeatureSpace as Keras 3's ``feature_space.save`` writes it: each
    feature's preprocessor a Keras layer entry, and the build config by
    feature (Keras rebuilds each preprocessor from it, then loads the
    statistics as weights)."""
    from polykeras.saving.registry import serialize

    def spelled(kind: str, config: dict[str, Any]) -> dict[str, Any]:
        return {"module": _FEATURE_SPACE_MODULE, "class_name": kind, "config": config, "registered_name": kind}

    features = {key: spelled("Feature", {"dtype": feature.dtype, "output_mode": feature.output_mode,
                                         "preprocessor": _entry(feature.preprocessor, serialize(feature.preprocessor))})
                for key, feature in space.features.items()}
    options = {k: v for k, v in entry["config"].items() if k not in ("features", "crosses", "name")}
    config = {"features": features, "crosses": [spelled("Cross", cross.get_config()) for cross in space.crosses],
              **options}
    builds = {key: _build_config(build) if build else {} for key, build in space.get_build_config().items()}
    return {"module": "keras.utils", "class_name": "FeatureSpace", "config": config, "registered_name": None,
            "build_config": builds}


def _op_entry(entry: dict[str, Any], tensor: Callable[[list[Any]], dict[str, Any]]) -> dict[str, Any]:
    """An op node (OpLayer entry) as Keras' Operation entry: the op's options
    in the class's config, its tensors and other call arguments in each
    inbound node (see :mod:`.keras_ops`)."""
    from polykeras.layers.op_layer import arguments_from_json
    from polykeras.saving.keras_ops import keras_op, split_arguments
    from polykeras.saving.registry import SerializationError

    name, key = entry["name"], entry["config"].get("op")
    where = f"save: op node {name!r} ({key})"
    op = keras_op(key, where, SerializationError)
    options, args, kwargs = split_arguments(key, arguments_from_json(entry["config"].get("arguments") or {}), where,
                                            SerializationError)
    config = {"name": name, **{k: _op_option(v, f"{where} option {k!r} of Keras' {op.class_name}")
                               for k, v in options.items()}}
    nodes = []
    for call in entry["inbound_nodes"]:
        refs = [list(ref["__tensor__"]) for ref in call["args"]]
        nodes.append({"args": [_op_argument(v, refs, tensor, f"{where} argument {i}") for i, v in enumerate(args)],
                      "kwargs": {k: _op_argument(v, refs, tensor, f"{where} argument {k!r}")
                                 for k, v in kwargs.items()}})
    return {"module": op.qualified_module, "class_name": op.class_name, "config": config,
            "registered_name": op.class_name, "name": name, "inbound_nodes": nodes}


def _op_option(value: Any, where: str) -> Any:
    """An op's constructor option as Keras stores it: plain data only (Keras
    rebuilds the class by ``cls(**config)``; a tensor cannot be an option)."""
    import numpy as np

    from polykeras.layers.op_layer import OpInput
    from polykeras.saving.registry import SerializationError, to_json_safe

    if isinstance(value, (OpInput, np.ndarray, slice)) or value is Ellipsis:
        shown = "a symbolic tensor" if isinstance(value, OpInput) else repr(value)[:60]
        raise SerializationError(f"{where}: Keras keeps this option in the Operation's config, which holds plain "
                                 f"data only; received {shown}. Pass a Python number or tuple there, or save the "
                                 "model as .pkeras.")
    if isinstance(value, (list, tuple)):
        return [_op_option(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return np.dtype(value).name
    return to_json_safe(value, where)


def _op_argument(value: Any, refs: list[list[Any]], tensor: Callable[[list[Any]], dict[str, Any]], where: str) -> Any:
    """An op's call argument in Keras' node form: tensors as
    ``__keras_tensor__`` references, constants as ``__tensor__``, slices and
    ``...`` as Keras spells them."""
    import numpy as np

    from polykeras.backends.dtypes import standardize_dtype
    from polykeras.layers.op_layer import OpInput
    from polykeras.saving.registry import to_json_safe

    if isinstance(value, OpInput):
        return tensor(refs[value.index])
    if isinstance(value, slice):
        return {"class_name": "__slice__", "config": {k: _op_argument(getattr(value, k), refs, tensor, where)
                                                       for k in ("start", "stop", "step")}}
    if value is Ellipsis:
        return {"class_name": "__ellipsis__", "config": {}}
    if isinstance(value, (list, tuple)):
        return [_op_argument(v, refs, tensor, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {str(k): _op_argument(v, refs, tensor, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return {"class_name": "__tensor__",
                "config": {"value": value.tolist(), "dtype": standardize_dtype(value.dtype.name)}}
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return np.dtype(value).name
    return to_json_safe(value, where)


def _build_config(build: dict[str, Any]) -> dict[str, Any]:
    """Keras' build config: ``input_shape`` for one shape, ``shapes_dict``
    for a ``build`` with several (``build(sequences_shape, initial_state_shape)``)."""
    shapes = json.loads(json.dumps(build["input_shape"], default=list))
    if isinstance(shapes, dict):
        given = {k: v for k, v in shapes.items() if v is not None}
        return {"input_shape": next(iter(given.values()))} if len(given) == 1 else {"shapes_dict": given}
    return {"input_shape": shapes}


def keras_model_config(model: Any) -> dict[str, Any]:
    """``model``'s config as Keras 3 writes it in ``config.json`` (compile
    config included when compiled).

    Example: ``keras.saving.deserialize_keras_object(keras_model_config(model))``
    """
    from polykeras.saving.registry import serialize

    config = _entry(model, serialize(model, where=f"model {model.name!r}"))
    config.setdefault("build_config", {"input_shape": None})
    compiled = model.get_compile_config() if getattr(model, "compiled", False) else None
    if compiled:
        config["compile_config"] = {k: _objects(v) for k, v in compiled.items() if k in _COMPILE_KEYS}
    return config


# ----------------------------------------------------------------- weights
def _is_graph(layer: Any) -> bool:
    from polykeras.models.functional import Functional
    from polykeras.models.sequential import Sequential

    return isinstance(layer, (Functional, Sequential))


def _children(layer: Any) -> list[tuple[str, Any]]:
    """``(attribute, sub-layer or list of sub-layers)`` in the order Keras
    walks them: a graph model's ``layers`` first, then attributes by name,
    public before private."""
    from polykeras.layers.layer import Layer
    from polykeras.models.model import Model

    if _is_graph(layer):
        return [("layers", [sub for sub in layer.layers if sub is not layer])]
    found: list[tuple[str, Any]] = []
    for attribute, value in vars(layer).items():
        if isinstance(value, Layer) and value is not layer:
            found.append((attribute, value))
        elif isinstance(value, (list, tuple)) and value and all(isinstance(v, Layer) for v in value):
            found.append((attribute, list(value)))
        elif isinstance(value, dict) and value and all(isinstance(v, Layer) for v in value.values()):
            found.append((attribute, list(value.values())))  # Keras walks a dict's values as a list
    if isinstance(layer, Model) and layer.layers:
        found.append(("layers", layer.layers))
    return sorted(found, key=lambda item: f"~{item[0]}" if item[0].startswith("_") else item[0])


def write_keras_layout(group: h5py.Group, model: Any, put: Put | None = None,
                       weights_of: Callable[[Any], list[Any]] = own_weights) -> None:
    """Write ``model``'s weights into ``group`` in Keras 3's layout. ``put``
    stores one variable (default: a new dataset; polykeras' own files pass one
    that hard-links their dataset instead); ``weights_of`` gives a layer's own
    weights (:func:`~polykeras.saving.weights.own_weights`). Each is stored
    under its index, or its key in the layer's own store.

    Example: ``with h5py.File("m.weights.h5", "w") as f: write_keras_layout(f, model)``
    """
    put = put or (lambda parent, name, variable: parent.create_dataset(name, data=variable.numpy()))
    visited: set[int] = set()

    def walk(parent: h5py.Group, layer: Any) -> None:
        if id(layer) in visited:
            return
        visited.add(id(layer))
        variables = parent.create_group("vars")
        variables.attrs["name"] = layer.name
        for index, variable in enumerate(weights_of(layer)):
            put(variables, getattr(variable, "store_key", str(index)), variable)
        for attribute, value in _children(layer):
            if isinstance(value, list):
                container = parent.require_group(attribute)
                keys = derived_keys(value)
                for sub in value:
                    if id(sub) not in visited:
                        walk(container.require_group(keys[id(sub)]), sub)
            elif id(value) not in visited:
                walk(parent.require_group(attribute), value)

    walk(group, model)


def _write_optimizer(group: h5py.Group, model: Any) -> None:
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not getattr(optimizer, "built", False):
        return
    variables = group.create_group("optimizer").create_group("vars")
    variables.attrs["name"] = optimizer.name
    for index, variable in enumerate(optimizer.variables):
        variables.create_dataset(str(index), data=variable.numpy())


def keras_archive_bytes(model: Any) -> bytes:
    """``model`` as the bytes of a Keras 3 ``.keras`` archive (config, weights,
    optimizer state). A model whose config is not JSON-safe fails here, before
    any file is touched.

    Example: ``atomic_write("model.keras", keras_archive_bytes(model))``
    """
    from polykeras import __version__

    config_text = json.dumps(keras_model_config(model))
    metadata = {"keras_version": KERAS_FORMAT_VERSION, "polykeras_version": __version__,
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}
    weights = io.BytesIO()
    with h5py.File(weights, "w") as f:
        write_keras_layout(f, model)
        _write_optimizer(f, model)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("metadata.json", json.dumps(metadata))
        archive.writestr("config.json", config_text)
        archive.writestr("model.weights.h5", weights.getvalue())
    return buffer.getvalue()
