"""Architectures as text: JSON and YAML (PyYAML, safe loading only).

Example:
    >>> text = model.to_json()
    >>> same_architecture = model_from_json(text)
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml

from polykeras.saving.atomic import atomic_path
from polykeras.saving.safe_mode import safe_mode


def model_config(model: Any) -> dict[str, Any]:
    """``{"class_name", "config", ...}`` for ``model``, JSON-safe."""
    from polykeras.saving.registry import serialize

    return serialize(model, where=f"model {model.name!r}")


def model_from_config(config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Any:
    """A model (unbuilt weights, fresh values) from :func:`model_config`'s output.
    Only polykeras classes and registered or ``custom_objects`` ones are made.

    Example: ``model_from_config(model_config(model))``
    """
    from polykeras.layers.config import LAYER_CLASSES
    from polykeras.saving.registry import custom_object_scope, deserialize

    if not isinstance(config, dict):
        raise ValueError(f"model_from_config: expected a dict, received {type(config).__name__}.")
    with safe_mode(True), custom_object_scope(custom_objects or {}):
        return deserialize(config, module_objects=LAYER_CLASSES, kind="model")


def to_json(model: Any, **kwargs: Any) -> str:
    """The architecture as a JSON string. Example: ``model.to_json(indent=2)``"""
    return json.dumps(model_config(model), **kwargs)


def to_yaml(model: Any) -> str:
    """The architecture as YAML. Example: ``model.to_yaml()``"""
    return yaml.safe_dump(model_config(model), sort_keys=False)


def model_from_json(text: str, custom_objects: dict[str, Any] | None = None) -> Any:
    """Rebuild an architecture saved by ``to_json``. Example: ``model_from_json(text)``"""
    try:
        config = json.loads(text)
    except ValueError as err:
        raise ValueError(f"model_from_json: the text is not valid JSON ({err}).") from err
    return model_from_config(config, custom_objects)


def model_from_yaml(text: str, custom_objects: dict[str, Any] | None = None) -> Any:
    """Rebuild an architecture saved by ``to_yaml`` (``yaml.safe_load`` only:
    no Python tags). Example: ``model_from_yaml(text)``"""
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ValueError(f"model_from_yaml: the text is not valid safe YAML ({err}).") from err
    return model_from_config(config, custom_objects)


def save_to_file(model: Any, arch_fname: str | os.PathLike, weight_fname: str | os.PathLike | None = None) -> None:
    """Keraflow's convenience: the architecture to ``arch_fname`` (JSON or YAML
    by extension) and, if given, the weights to ``weight_fname``.

    Example: ``save_to_file(model, "arch.yaml", "weights.h5")``
    """
    path = Path(arch_fname)
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        text = to_yaml(model)
    elif suffix == ".json":
        text = to_json(model, indent=2)
    else:
        raise ValueError(f"save_to_file: expected an architecture file ending in .json, .yaml or .yml, "
                         f"received {path.name!r}.")
    with atomic_path(path) as temp:
        temp.write_text(text)
    if weight_fname is not None:
        from polykeras.saving.weights import save_weights

        save_weights(model, weight_fname)


def load_from_file(arch_fname: str | os.PathLike, weight_fname: str | os.PathLike | None = None,
                   custom_objects: dict[str, Any] | None = None) -> Any:
    """The inverse of :func:`save_to_file`. Example: ``load_from_file("arch.json", "weights.h5")``"""
    path = Path(arch_fname)
    text = path.read_text()
    model = model_from_yaml(text, custom_objects) if path.suffix.lower() in (".yaml", ".yml") \
        else model_from_json(text, custom_objects)
    if weight_fname is not None:
        from polykeras.saving.weights import load_weights

        load_weights(model, weight_fname)
    return model
