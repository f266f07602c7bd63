"""Architectures as text: JSON and YAML (PyYAML's safe loader only, with
aliases refused), plus the checks every config from a file goes through.

A config from a file is plain data before anything is made from it: only
JSON types (YAML's dates, sets and binary are refused), string keys, nesting
at most :data:`MAX_DEPTH` deep and at most :data:`MAX_NODES` values. Then
only allow-listed classes are constructed (see :mod:`.registry`) and no
module named in it is imported.

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

from polykeras.allocation import machine_memory, memory_limit
from polykeras.saving.atomic import atomic_write_all
from polykeras.saving.registry import SerializationError
from polykeras.saving.safe_mode import effective, safe_mode as safe_mode_scope

__all__ = [
    "check_config", "load_from_file", "model_config", "model_from_config", "model_from_json", "model_from_yaml",
    "parse_json", "parse_yaml", "save_to_file", "to_json", "to_yaml",
]

MAX_DEPTH = 100
MAX_NODES = 2_000_000
TEXT_LIMIT = 64 * 2**20  # bytes of an architecture file


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"the non-standard constant {name} is not accepted")


def parse_json(data: str | bytes, where: str, error: type[Exception] = SerializationError) -> Any:
    """JSON text as data; any failure (syntax, bad encoding, NaN, nesting so
    deep it breaks the parser) is raised as ``error`` naming ``where``.

    Example: ``parse_json('{"a": 1}', "arch.json")`` -> ``{'a': 1}``
    """
    try:
        return json.loads(data, parse_constant=_refuse_constant)
    except RecursionError:
        raise error(f"{where}: nested too deeply to be a config; refused.") from None
    except (ValueError, UnicodeDecodeError) as err:
        raise error(f"{where}: not valid JSON ({err}).") from None


class _ConfigLoader(yaml.SafeLoader):
    """PyYAML's safe loader, also refusing aliases (``*name``): a few lines of
    nested aliases would otherwise expand to billions of values."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, f"alias *{event.anchor} refused (configs use no "
                                              "aliases)", event.start_mark)
        return super().compose_node(parent, index)


def parse_yaml(text: str | bytes, where: str, error: type[Exception] = SerializationError) -> Any:
    """YAML text as data, safe loader only (no Python tags, no aliases).
    Example: ``parse_yaml("a: 1", "arch.yaml")`` -> ``{'a': 1}``"""
    try:
        return yaml.load(text, Loader=_ConfigLoader)  # noqa: S506 - a SafeLoader subclass
    except RecursionError:
        raise error(f"{where}: nested too deeply to be a config; refused.") from None
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise error(f"{where}: not valid safe YAML ({err}).") from None


def check_config(config: Any, where: str, error: type[Exception] = SerializationError) -> None:
    """Refuse anything but JSON-shaped data of bounded size and depth.
    Example: ``check_config({"class_name": "Dense", "config": {}}, "arch.json")``"""
    stack: list[tuple[Any, str, int]] = [(config, "", 0)]
    nodes = 0
    while stack:
        value, path, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise error(f"{where}: more than {MAX_NODES} values; refused as too large for a config.")
        if depth > MAX_DEPTH:
            raise error(f"{where}: field {path or '<root>'} is nested deeper than {MAX_DEPTH} levels; refused.")
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    raise error(f"{where}: field {path or '<root>'} has key {key!r} ({type(key).__name__}); "
                                "expected string keys.")
                stack.append((item, f"{path}.{key}" if path else key, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value))
        elif value is not None and not isinstance(value, (str, bool, int, float)):
            raise error(f"{where}: field {path or '<root>'} holds a {type(value).__name__} ({value!r:.60}); "
                        "expected JSON data (strings, numbers, booleans, null, lists, objects).")


def model_config(model: Any) -> dict[str, Any]:
    """``{"class_name", "config", ...}`` for ``model``, JSON-safe.
    Example: ``model_config(model)["class_name"]`` -> ``'Functional'``"""
    from polykeras.saving.registry import serialize

    return serialize(model, where=f"model {model.name!r}")


def model_from_config(config: Any, custom_objects: dict[str, Any] | None = None, safe_mode: bool = True,
                      where: str = "model_from_config") -> Any:
    """A model (fresh weights) from :func:`model_config`'s output. Only
    polykeras classes and registered or ``custom_objects`` ones are made;
    ``safe_mode=False`` (trusted configs only) lets ``Lambda`` layers load.

    Example: ``model_from_config(model_config(model))``
    """
    from polykeras.layers.config import LAYER_CLASSES
    from polykeras.models.model import Model
    from polykeras.saving.registry import custom_object_scope, deserialize

    if not isinstance(config, dict):
        raise SerializationError(f"{where}: expected a model config (an object with 'class_name' and 'config'), "
                         f"received {type(config).__name__}.")
    check_config(config, where)
    with safe_mode_scope(effective(safe_mode)), custom_object_scope(custom_objects or {}), \
            memory_limit(machine_memory(), where, "this machine's memory"):
        model = deserialize(config, module_objects=LAYER_CLASSES, kind="model")
    if not isinstance(model, Model):
        raise SerializationError(f"{where}: the config describes a {type(model).__name__}; expected a Model.")
    return model


def to_json(model: Any, **kwargs: Any) -> str:
    """The architecture as a JSON string. Example: ``model.to_json(indent=2)``"""
    return json.dumps(model_config(model), **kwargs)


def to_yaml(model: Any) -> str:
    """The architecture as YAML. Example: ``model.to_yaml()``"""
    return yaml.safe_dump(model_config(model), sort_keys=False)


def model_from_json(json_string: str | bytes, custom_objects: dict[str, Any] | None = None,
                    safe_mode: bool = True) -> Any:
    """Rebuild an architecture saved by ``to_json``. Example: ``model_from_json(text)``"""
    return model_from_config(parse_json(json_string, "model_from_json"), custom_objects, safe_mode,
                             "model_from_json")


def model_from_yaml(text: str | bytes, custom_objects: dict[str, Any] | None = None, safe_mode: bool = True) -> Any:
    """Rebuild an architecture saved by ``to_yaml`` (safe loading only: no
    Python tags, no aliases). Example: ``model_from_yaml(text)``"""
    return model_from_config(parse_yaml(text, "model_from_yaml"), custom_objects, safe_mode, "model_from_yaml")


def _kind(path: Path, who: str) -> str:
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return "yaml"
    if suffix == ".json":
        return "json"
    raise ValueError(f"{who}: expected an architecture file ending in .json, .yaml or .yml, received {path.name!r}.")


def save_to_file(model: Any, arch_fname: str | os.PathLike, weight_fname: str | os.PathLike | None = None) -> None:
    """Keraflow's convenience: the architecture to ``arch_fname`` (JSON or YAML
    by extension) and, if given, the weights to ``weight_fname``, written as
    one: both files are replaced or neither is, so a new architecture never
    sits beside old weights.

    Example: ``save_to_file(model, "arch.yaml", "weights.h5")``
    """
    path = Path(arch_fname)
    text = to_yaml(model) if _kind(path, "save_to_file") == "yaml" else to_json(model, indent=2)
    files: dict[Any, bytes] = {path: text.encode("utf-8")}
    if weight_fname is not None:
        from polykeras.saving.weights import weights_bytes

        files[weight_fname] = weights_bytes(model)
    atomic_write_all(files)


def load_from_file(arch_fname: str | os.PathLike, weight_fname: str | os.PathLike | None = None,
                   custom_objects: dict[str, Any] | None = None, safe_mode: bool = True) -> Any:
    """The inverse of :func:`save_to_file`. Example: ``load_from_file("arch.json", "weights.h5")``"""
    path = Path(arch_fname)
    kind = _kind(path, "load_from_file")
    if not path.is_file():
        raise FileNotFoundError(f"load_from_file: no file at {path}.")
    with open(path, "rb") as handle:
        data = handle.read(TEXT_LIMIT + 1)
    if len(data) > TEXT_LIMIT:
        raise SerializationError(f"load_from_file: {path} is larger than {TEXT_LIMIT} bytes; "
                                 f"refused as an architecture.")
    config = parse_yaml(data, str(path)) if kind == "yaml" else parse_json(data, str(path))
    model = model_from_config(config, custom_objects, safe_mode, str(path))
    if weight_fname is not None:
        from polykeras.saving.weights import load_weights

        load_weights(model, weight_fname)
    return model
