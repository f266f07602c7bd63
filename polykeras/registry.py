"""The serialization registry: an allow-list of classes and functions that
configs may name.

It sits on the utilities floor (beside ``tree``): layers, initializers,
losses, metrics and optimizers register and serialize through it without
loading the saving floor (h5py, PyYAML). ``polykeras.saving.registry`` and
``polykeras.saving`` re-export its names.

A config names an object by ``class_name`` (and, for objects registered under
a package, ``registered_name`` = ``"package>Name"``). :func:`deserialize` finds
it ONLY among registered objects, the ``custom_objects`` it is given, and
objects in an active :func:`custom_object_scope`. The ``module`` key of a
config is informational: it is never imported. Nothing is ever pickled.

Built-in objects are found through each family's own table (the
``module_objects`` argument: ``initializers.get`` passes the initializers), so
two families may share a name; user code registers with
:func:`register_serializable`.

Example:
    >>> from polykeras.registry import register_serializable, serialize, deserialize
    >>> @register_serializable("my_pkg")
    ... class Scale:
    ...     def __init__(self, factor=2.0):
    ...         self.factor = factor
    ...     def get_config(self):
    ...         return {"factor": self.factor}
    >>> config = serialize(Scale(3.0))
    >>> config["registered_name"]
    'my_pkg>Scale'
    >>> deserialize(config).factor
    3.0
"""

from __future__ import annotations

import contextvars
import inspect
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from polykeras.allocation import MemoryLimitError

__all__ = [
    "SerializationError",
    "custom_object_scope",
    "deserialize",
    "get_custom_objects",
    "get_registered_name",
    "get_registered_object",
    "is_serialized_object",
    "register_builtin",
    "register_keras_serializable",
    "register_serializable",
    "serialize",
    "to_json_safe",
]

#: "package>Name" (or a plain built-in name) -> object.
_REGISTRY: dict[str, Any] = {}
#: id(object) -> the name it was registered under.
_NAMES: dict[int, str] = {}
_SCOPE: contextvars.ContextVar[tuple[Mapping[str, Any], ...]] = contextvars.ContextVar(
    "polykeras_custom_objects", default=()
)

_CONFIG_KEYS = frozenset({"module", "class_name", "config", "registered_name"})


class SerializationError(ValueError):
    """An object or a config value cannot be turned into JSON-safe data, or a
    config names something that is not on the allow-list.
    Example: ``deserialize({"class_name": "Popen", "config": {}})`` raises it."""


def register_serializable(package: str = "Custom", name: str | None = None) -> Callable[[Any], Any]:
    """Decorator adding a class or function to the allow-list under
    ``"package>name"`` (``name`` defaults to ``__name__``).

    Example:
        >>> @register_serializable("my_pkg", name="Twice")
        ... def twice(x):
        ...     return x * 2
    """
    if not isinstance(package, str) or not package or ">" in package:
        raise ValueError(f"register_serializable: expected a non-empty package name without '>', received {package!r}.")

    def decorate(obj: Any) -> Any:
        registered = name or getattr(obj, "__name__", None)
        if not registered:
            raise ValueError(f"register_serializable: cannot find a name for {obj!r}; pass name=...")
        key = f"{package}>{registered}"
        existing = _REGISTRY.get(key)
        if existing is not None and existing is not obj:
            # Re-registering the same qualified object (e.g. a module reload) is fine.
            if getattr(existing, "__qualname__", None) != getattr(obj, "__qualname__", object()):
                raise ValueError(f"register_serializable: {key!r} is already registered to {existing!r}.")
        _REGISTRY[key] = obj
        _NAMES[id(obj)] = key
        return obj

    return decorate


def register_builtin(obj: Any, name: str) -> Any:
    """Record the name a polykeras built-in function serializes to (``"relu"``).
    Built-ins are looked up by each family's own table (``activations.get``),
    so families can share names (``Identity`` initializer and layer).
    Example: ``register_builtin(relu, "relu")``"""
    _NAMES.setdefault(id(obj), name)
    return obj


def get_registered_name(obj: Any) -> str:
    """The name ``obj`` (a class, function or instance) is registered under,
    else its ``__name__``. Example: ``get_registered_name(GlorotUniform)`` -> ``'GlorotUniform'``"""
    target = obj if inspect.isclass(obj) or inspect.isfunction(obj) else type(obj)
    return _NAMES.get(id(target), getattr(target, "__name__", repr(target)))


def get_registered_object(
    name: str, custom_objects: Mapping[str, Any] | None = None, module_objects: Mapping[str, Any] | None = None
) -> Any | None:
    """The allow-listed object called ``name``, or None. Looks in
    ``custom_objects``, the active :func:`custom_object_scope`, the registry,
    then ``module_objects``. Example: ``get_registered_object("my_pkg>Scale")``"""
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    for scope in reversed(_SCOPE.get()):
        if name in scope:
            return scope[name]
    if name in _REGISTRY:
        return _REGISTRY[name]
    if module_objects and name in module_objects:
        return module_objects[name]
    return None


def get_object(identifier: Any, table: Mapping[str, Any], deserialize: Callable[[dict], Any], kind: str,
               examples: str) -> Any:
    """The callable an identifier names, for the ``get`` of losses and
    metrics: None stays None; a config dict goes through ``deserialize``; a
    name is looked up in ``table``, then among registered objects; anything
    else is taken as is. A class is instantiated with its defaults.

    Example: ``get_object("mse", ALL_OBJECTS, deserialize, "loss", "'mse'")``
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        found = deserialize(identifier)
    elif isinstance(identifier, str):
        found = table.get(identifier)
        if found is None:
            found = get_registered_object(identifier)
        if found is None:
            raise ValueError(f"{kind}s.get: expected a {kind} name such as {examples}, received {identifier!r}.")
    else:
        found = identifier
    if inspect.isclass(found):
        found = found()
    if not callable(found):
        raise ValueError(f"{kind}s.get: expected a {kind} name, config, callable or {kind.capitalize()}, "
                         f"received {identifier!r}.")
    return found


class CustomObjectScope:
    """Allow extra names while deserializing inside the block (a class, as
    Keras' ``custom_object_scope``/``CustomObjectScope``).

    Example:
        >>> with custom_object_scope({"MyLayer": dict}):
        ...     get_registered_object("MyLayer") is dict
        True
    """

    def __init__(self, custom_objects: Mapping[str, Any]):
        self.custom_objects = dict(custom_objects or {})
        self._tokens: list[contextvars.Token] = []

    def __enter__(self) -> CustomObjectScope:
        self._tokens.append(_SCOPE.set(_SCOPE.get() + (self.custom_objects,)))
        return self

    def __exit__(self, *exc_info: Any) -> None:
        _SCOPE.reset(self._tokens.pop())


custom_object_scope = CustomObjectScope


def get_custom_objects() -> dict[str, Any]:
    """The global allow-list, live as Keras 3's: ``"package>Name"`` keys from
    :func:`register_serializable`, and whatever the caller adds
    (``get_custom_objects()["swish2"] = swish2`` makes the name loadable).
    Scoped objects (:class:`CustomObjectScope`) are not in it.

    Example:
        >>> get_custom_objects()["Twice"] = twice
        >>> get_registered_object("Twice") is twice
        True
    """
    return _REGISTRY


def is_serialized_object(value: Any) -> bool:
    """True for a dict shaped like :func:`serialize`'s output for an object.
    Example: ``is_serialized_object({"class_name": "Zeros", "config": {}})`` -> ``True``"""
    return (
        isinstance(value, dict) and "class_name" in value and "config" in value
        and set(value) <= _CONFIG_KEYS and isinstance(value["class_name"], str)
        and isinstance(value.get("registered_name"), (str, type(None)))
    )


def to_json_safe(value: Any, where: str = "value") -> Any:
    """``value`` as JSON-safe data: Python scalars, lists, string-keyed dicts,
    NumPy scalars/small arrays, and objects with ``get_config`` (serialized).
    Raises :class:`SerializationError` naming ``where`` otherwise.

    Example: ``to_json_safe((1, 2))`` -> ``[1, 2]``
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isnan(value) or math.isinf(value):
            raise SerializationError(f"{where}: expected a finite number, received {value!r}.")
        return value
    if isinstance(value, (list, tuple)):
        return [to_json_safe(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise SerializationError(f"{where}: expected string dict keys, received key {k!r}.")
            out[k] = to_json_safe(v, f"{where}[{k!r}]")
        return out
    if isinstance(value, np.ndarray) and value.size <= 64 and value.dtype.kind in "biuf":
        return value.tolist()
    if hasattr(value, "get_config") or (callable(value) and id(value) in _NAMES):
        return serialize(value, where=where)
    raise SerializationError(
        f"{where}: expected JSON-safe data (numbers, strings, lists, dicts) or a serializable "
        f"object with get_config(), received {_describe(value)}. Write get_config() to store it "
        "as plain data."
    )


def _describe(value: Any) -> str:
    kind = type(value).__name__
    text = repr(value)
    text = text if len(text) <= 60 else text[:57] + "..."
    return f"{kind} {text}"


def serialize(obj: Any, where: str | None = None) -> Any:
    """JSON-safe data describing ``obj``: ``None``/plain data as is, a
    registered function as its registered name, an object with ``get_config``
    as ``{"module", "class_name", "config", "registered_name"}``.

    Example: ``serialize(GlorotUniform(seed=1))["config"]`` -> ``{'seed': 1, ...}``
    """
    where = where or type(obj).__name__
    if obj is None or isinstance(obj, (bool, int, float, str, list, tuple, dict, np.generic)):
        return to_json_safe(obj, where)
    if inspect.isfunction(obj) or inspect.isbuiltin(obj):
        if id(obj) in _NAMES:
            return _NAMES[id(obj)]
        raise SerializationError(
            f"{where}: the function {getattr(obj, '__qualname__', obj)!r} is not registered, so it "
            "cannot be saved by name. Decorate it with @register_serializable(package)."
        )
    if inspect.isclass(obj):
        raise SerializationError(f"{where}: expected an instance, received the class {obj.__name__}.")
    get_config = getattr(obj, "get_config", None)
    if get_config is None:
        raise SerializationError(
            f"{where}: expected an object with get_config(), received {_describe(obj)}."
        )
    cls = type(obj)
    label = getattr(obj, "name", None)
    label = f"{cls.__name__} {label!r}" if isinstance(label, str) else cls.__name__
    config = to_json_safe(get_config(), f"{label} config")
    registered = _NAMES.get(id(cls))
    return {
        "module": cls.__module__,
        "class_name": cls.__name__,
        "config": config,
        "registered_name": registered if registered and ">" in registered else None,
    }


def deserialize(
    config: Any,
    custom_objects: Mapping[str, Any] | None = None,
    module_objects: Mapping[str, Any] | None = None,
    kind: str = "object",
) -> Any:
    """The object described by ``config`` (output of :func:`serialize`), found
    only on the allow-list; a string gives the registered function or class
    (instantiated with no arguments). ``kind`` names what is expected in errors.

    Example: ``deserialize({"class_name": "Zeros", "config": {}})``
    """
    if config is None:
        return None
    if isinstance(config, str):
        found = get_registered_object(config, custom_objects, module_objects)
        if found is None:
            raise SerializationError(_unknown(kind, config))
        return found() if inspect.isclass(found) else found
    if not is_serialized_object(config):
        raise SerializationError(
            f"Cannot deserialize {kind}: expected a dict with 'class_name' and 'config' or a "
            f"registered name, received {_describe(config)}."
        )
    name = config.get("registered_name") or config["class_name"]
    cls = get_registered_object(name, custom_objects, module_objects)
    if cls is None and name != config["class_name"]:
        cls = get_registered_object(config["class_name"], custom_objects, module_objects)
    if cls is None:
        raise SerializationError(_unknown(kind, name))
    if not inspect.isclass(cls):
        return cls
    inner = config["config"]
    try:
        if hasattr(cls, "from_config"):
            return cls.from_config(inner)
        if not isinstance(inner, (dict, type(None))):
            raise TypeError(f"expected its config to be a dict, received {_describe(inner)}")
        return cls(**(inner or {}))
    except (SerializationError, MemoryLimitError):
        raise
    except RecursionError:
        raise SerializationError(f"Cannot build {kind} {cls.__name__}: its config is nested too deeply.") from None
    except Exception as err:  # noqa: BLE001 - any failure of a config is the config's: say whose
        raise SerializationError(f"Cannot build {kind} {cls.__name__} from its config: "
                                 f"{type(err).__name__}: {err}") from err


def _unknown(kind: str, name: str) -> str:
    return (
        f"Unknown {kind} {name!r}: it is not a polykeras built-in nor a registered object. "
        "Register it with @register_serializable(package) or pass custom_objects={...}. "
        "Config files never cause modules to be imported."
    )


register_keras_serializable = register_serializable  # Keras 3's name
