"""``Lambda``: wrap a function as a layer.

Saving stores the function by its registered name only; a raw Python
``lambda`` or local function cannot be saved (nothing is ever pickled), and
loading a ``Lambda`` config is refused while safe mode is on, because it
makes the loaded model run a function the config names.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from polykeras import activations
from polykeras.layers.convolutional.arguments import describe_layer
from polykeras.layers.layer import Layer
from polykeras import registry
from polykeras.safe_mode import in_safe_mode

__all__ = ["Lambda"]


def _accepts(function: Callable[..., Any], name: str) -> bool:
    try:
        params = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


class Lambda(Layer):
    """Applies ``function(inputs, **arguments)``; ``function`` also receives
    ``mask``/``training`` when it accepts them.

    Args:
        function: the computation (use ``polykeras.ops``).
        output_shape: the output shape without the batch axis, or a function
            of the input shape; default: found by tracing ``function``.
        mask: a function ``(inputs, previous_mask) -> mask``, or a fixed mask.
        arguments: extra keyword arguments for ``function`` (JSON-safe data
            if the layer is to be saved).

    Example:
        >>> @register_serializable("demo")
        ... def double(x):
        ...     return x * 2.0
        >>> ops.to_numpy(Lambda(double)(np.ones((1, 2), "float32")))
        array([[2., 2.]], dtype=float32)
    """

    def __init__(self, function: Callable[..., Any], output_shape: Any = None, mask: Any = None,
                 arguments: dict[str, Any] | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        if not callable(function):
            raise ValueError(f"{describe_layer(self)}: expected function to be callable, received {function!r}.")
        self.function = function
        self.output_shape = output_shape if output_shape is None or callable(output_shape) else tuple(output_shape)
        self.mask = mask
        self.arguments = dict(arguments or {})
        self.supports_masking = mask is not None

    def call(self, inputs: Any, mask: Any = None, training: Any = None) -> Any:
        kwargs = dict(self.arguments)
        if _accepts(self.function, "mask"):
            kwargs["mask"] = mask
        if _accepts(self.function, "training"):
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_mask(self, inputs: Any, previous_mask: Any = None) -> Any:
        if callable(self.mask):
            return self.mask(inputs, previous_mask)
        return self.mask

    def compute_output_shape(self, input_shape: Any) -> Any:
        if self.output_shape is None:
            return super().compute_output_shape(input_shape)
        if callable(self.output_shape):
            return self.output_shape(input_shape)
        batch = input_shape[0][0] if input_shape and isinstance(input_shape[0], (list, tuple)) else input_shape[0]
        return (batch, *self.output_shape)

    def _function_name(self, function: Callable[..., Any], what: str) -> str:
        try:
            return registry.serialize(function, where=f"{describe_layer(self)} {what}")
        except registry.SerializationError:
            label = getattr(function, "__qualname__", repr(function))
            raise registry.SerializationError(
                f"{describe_layer(self)} cannot be saved: its {what} {label!r} is not a registered function "
                "(a Python lambda or local function has no name to save, and code is never pickled). "
                "Define it at module level with @polykeras.saving.register_serializable(package), "
                "or write a Layer subclass instead."
            ) from None

    def get_config(self) -> dict[str, Any]:
        config = {**super().get_config(), "function": self._function_name(self.function, "function")}
        if callable(self.output_shape):
            config["output_shape"] = self._function_name(self.output_shape, "output_shape function")
        else:
            config["output_shape"] = None if self.output_shape is None else list(self.output_shape)
        if callable(self.mask):
            config["mask"] = self._function_name(self.mask, "mask function")
        elif self.mask is not None:
            raise registry.SerializationError(
                f"{describe_layer(self)} cannot be saved: a fixed mask tensor is not config data; pass a "
                "registered mask function instead.")
        else:
            config["mask"] = None
        config["arguments"] = registry.to_json_safe(self.arguments, f"{describe_layer(self)} arguments")
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Mapping[str, Any] | None = None) -> Lambda:
        """Refused in safe mode: a Lambda config makes the model run the
        function it names. Turn safe mode off only for configs you trust:
        ``with polykeras.saving.safe_mode.safe_mode(False): Lambda.from_config(cfg)``."""
        config = dict(config)
        name = config.get("name", "lambda")
        if in_safe_mode():
            raise ValueError(
                f"Lambda '{name}': refusing to load a Lambda layer (function {config.get('function')!r}) while "
                "safe mode is on, because loading it makes the model run a function named by the config. "
                "If you trust this config, load it inside `with polykeras.saving.safe_mode.safe_mode(False):`."
            )
        for key in ("function", "output_shape", "mask"):
            value = config.get(key)
            if value is None or (key == "output_shape" and isinstance(value, list)):
                continue
            if not isinstance(value, str):
                raise registry.SerializationError(
                    f"Lambda '{name}': expected {key} as a registered function name, received {value!r} "
                    "(Python code in a config is never loaded).")
            found = registry.get_registered_object(value, custom_objects, activations.ALL_OBJECTS_DICT)
            if found is None or not callable(found):
                what = key if key == "function" else f"{key} function"
                raise registry.SerializationError(
                    f"Lambda '{name}': unknown {what} {value!r}: it is neither a polykeras built-in "
                    "nor registered. Register it with @register_serializable(package) or pass "
                    "custom_objects={...}.")
            config[key] = found
        return cls(**config)
