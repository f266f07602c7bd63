"""Config capture: a layer remembers the arguments its ``__init__`` was called
with (signature binding, as passed, defaults not filled in), so a custom layer
whose ``__init__`` takes ``**kwargs`` and passes them on to
``super().__init__`` is serializable without writing ``get_config``.

Also here: unique layer names (``dense``, ``dense_1``, ...), the table of
built-in layer classes (the allow-list configs may name), and turning captured
arguments into JSON-safe data and back.

Example:
    >>> class Scale(Layer):
    ...     def __init__(self, factor, **kwargs):
    ...         super().__init__(**kwargs)
    ...         self.factor = factor
    ...     def call(self, x):
    ...         return x * self.factor
    >>> Scale(3.0, name="s").get_config()["factor"]
    3.0
"""

from __future__ import annotations

import collections
import inspect
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from polykeras import registry

if TYPE_CHECKING:
    from polykeras.layers.weight_options import WeightOptions

__all__ = [
    "ConfigMixin", "LAYER_CLASSES", "capture_init_args", "deserialize_argument", "accepts_kwargs",
    "json_safe_arguments", "next_uid", "reset_names", "to_snake_case", "unique_name",
]

#: Built-in layer classes by name: the allow-list for layer configs.
LAYER_CLASSES: dict[str, type] = {}

_name_counts: collections.Counter[str] = collections.Counter()
_signatures: dict[type, inspect.Signature | None] = {}


def to_snake_case(name: str) -> str:
    """``"Conv2DTranspose"`` -> ``"conv2d_transpose"``, as Keras names layers."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def unique_name(prefix: str) -> str:
    """``prefix`` the first time, then ``prefix_1``, ``prefix_2``, ...
    Example: ``unique_name("dense")`` -> ``'dense'``"""
    count = _name_counts[prefix]
    _name_counts[prefix] += 1
    return prefix if count == 0 else f"{prefix}_{count}"


def next_uid(prefix: str = "") -> int:
    """Count one more object named after ``prefix`` and return the count (1
    first): Keras 3's ``backend.get_uid``, sharing the counter of
    :func:`unique_name`. Example: ``next_uid("dense")`` -> ``1``"""
    _name_counts[prefix] += 1
    return _name_counts[prefix]


def reset_names() -> None:
    """Start auto names from scratch (``polykeras.utils.clear_session`` uses it)."""
    _name_counts.clear()


def _owner_of_init(cls: type) -> type:
    """The class in ``cls``'s MRO whose own ``__init__`` instances run."""
    return next(klass for klass in cls.__mro__ if "__init__" in vars(klass))


def _signature(cls: type) -> inspect.Signature | None:
    if cls not in _signatures:
        try:
            _signatures[cls] = inspect.signature(vars(_owner_of_init(cls))["__init__"])
        except (TypeError, ValueError):
            _signatures[cls] = None
    return _signatures[cls]


def accepts_kwargs(cls: type) -> bool:
    """True when ``cls.__init__`` takes ``**kwargs``."""
    sig = _signature(cls)
    return sig is None or any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())


def init_parameter_names(cls: type) -> set[str]:
    sig = _signature(cls)
    if sig is None:
        return set()
    return {p.name for p in list(sig.parameters.values())[1:] if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


def capture_init_args(cls: type, args: tuple, kwargs: dict[str, Any]) -> dict[str, Any] | str:
    """The arguments of ``cls(*args, **kwargs)`` by parameter name, as
    passed; a string saying why when they cannot be captured."""
    sig = _signature(cls)
    if sig is None:
        return f"the signature of {cls.__name__}.__init__ cannot be read"
    try:
        bound = sig.bind_partial(None, *args, **kwargs)
    except TypeError as err:
        return f"the arguments do not match {cls.__name__}.__init__ ({err})"
    captured: dict[str, Any] = {}
    params = sig.parameters
    for index, (name, value) in enumerate(bound.arguments.items()):
        if index == 0:
            continue  # self
        kind = params[name].kind
        if kind is inspect.Parameter.VAR_POSITIONAL:
            if value:
                return f"{cls.__name__}.__init__ received extra positional arguments (*{name})"
        elif kind is inspect.Parameter.VAR_KEYWORD:
            captured.update(value)
        else:
            captured[name] = value
    return captured


def json_safe_arguments(arguments: Mapping[str, Any], layer_name: str) -> dict[str, Any]:
    """``arguments`` as JSON-safe data; an argument that cannot be saved
    raises an error naming the layer and the argument."""
    out = {}
    for key, value in arguments.items():
        try:
            out[key] = registry.to_json_safe(value, f"layer '{layer_name}' argument {key!r}")
        except registry.SerializationError as err:
            raise registry.SerializationError(
                f"{err} Give the layer a get_config() that stores {key!r} as plain data, "
                "or pass a serializable value."
            ) from None
    return out


def _family(module: str | None) -> dict[str, Any]:
    from polykeras import activations, constraints, initializers, quantizers, regularizers

    module = module or ""
    for marker, table in (
        ("initializers", initializers.ALL_OBJECTS_DICT),
        ("regularizers", regularizers.ALL_OBJECTS_DICT),
        ("constraints", constraints.ALL_OBJECTS_DICT),
        ("activations", activations.ALL_OBJECTS_DICT),
        ("quantizers", quantizers.ALL_OBJECTS_DICT),
    ):
        if marker in module:
            return table
    return LAYER_CLASSES


def deserialize_argument(value: Any, custom_objects: Mapping[str, Any] | None = None) -> Any:
    """A config value with serialized objects (``{"class_name", "config",
    ...}``) turned back into objects, looked up only on the allow-list; other
    values unchanged. The ``module`` key only picks which family's table to
    search: it is never imported."""
    if registry.is_serialized_object(value):
        return registry.deserialize(value, custom_objects, _family(value.get("module")))
    if isinstance(value, list):
        return [deserialize_argument(v, custom_objects) for v in value]
    if isinstance(value, dict):
        return {k: deserialize_argument(v, custom_objects) for k, v in value.items()}
    return value


class ConfigMixin:
    """``get_config``/``from_config`` for :class:`~polykeras.layers.Layer`."""

    if TYPE_CHECKING:  # set by the Layer this mixin is part of
        name: str
        trainable: bool
        activity_regularizer: Any
        _weight_options: WeightOptions

        @property
        def dtype(self) -> str:
            raise NotImplementedError

    def _dtype_config(self) -> Any:
        """``dtype`` as configs hold it: a plain policy's name (``"float32"``,
        ``"mixed_bfloat16"``), else the policy's Keras 3 config (maps, quantized)."""
        from polykeras.dtype_policies import DTypePolicy, FloatDTypePolicy, serialize

        policy = getattr(self, "_dtype_policy", None)
        if policy is None or type(policy) in (DTypePolicy, FloatDTypePolicy):
            return self.dtype if policy is None or not policy.is_mixed else policy.name
        return serialize(policy)

    def _auto_config(self) -> bool:
        # Captured arguments are used when the class that defines __init__ is
        # below the one that defines get_config (it did not write its own).
        mro = type(self).__mro__
        config_owner = next(c for c in mro if "get_config" in c.__dict__)
        init_owner = next(c for c in mro if "__init__" in c.__dict__)
        return init_owner is not config_owner and issubclass(init_owner, config_owner)

    def get_config(self) -> dict[str, Any]:
        """JSON-safe constructor arguments: ``cls.from_config(config)``
        rebuilds the layer. Captured ``__init__`` arguments are used when the
        class does not write its own ``get_config``.

        Example: ``Dense(3).get_config()["units"]`` -> ``3``
        """
        from polykeras import regularizers

        config: dict[str, Any] = {"name": self.name, "trainable": self.trainable, "dtype": self._dtype_config()}
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        config.update(self._weight_options.get_config())
        if not self._auto_config():
            return config
        captured = self.__dict__.get("_init_args", {})
        if isinstance(captured, str):
            raise NotImplementedError(
                f"Layer '{self.name}' ({type(self).__name__}) cannot be serialized automatically: {captured}. "
                "Write get_config() returning its constructor arguments."
            )
        skip = {"name", "trainable", "dtype", "initial_weights"}
        config.update(json_safe_arguments({k: v for k, v in captured.items() if k not in skip}, self.name))
        if not accepts_kwargs(type(self)):
            allowed = init_parameter_names(type(self))
            config = {k: v for k, v in config.items() if k in allowed}
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Mapping[str, Any] | None = None) -> Any:
        """A new layer from :meth:`get_config`'s output; serialized objects in
        it (initializers, layers...) are rebuilt from the allow-list.
        Example: ``Dense.from_config(config)``"""
        # dtype stays as given: the constructor reads names and Keras' dtype-policy dicts itself.
        config = {k: v if k == "dtype" else deserialize_argument(v, custom_objects) for k, v in dict(config).items()}
        if not accepts_kwargs(cls):
            allowed = init_parameter_names(cls)
            config = {k: v for k, v in config.items() if k in allowed}
        try:
            return cls(**config)
        except TypeError as err:
            raise TypeError(f"Could not rebuild {cls.__name__} from config {config!r}: {err}") from err
