"""``keras.quantizers``: quantizer classes and functions, quantization
configs, and ``get``/``serialize``/``deserialize`` over them.

Example:
    >>> from polykeras import quantizers
    >>> q, scale = quantizers.abs_max_quantize(np.array([[0.5, -1.0]], "float32"), axis=-1)
"""

from __future__ import annotations

import inspect
from typing import Any

from polykeras import registry
from polykeras.quantizers.config import (
    QUANTIZATION_MODES,
    AWQConfig,
    Float8QuantizationConfig,
    GPTQConfig,
    Int4QuantizationConfig,
    Int8QuantizationConfig,
    QuantizationConfig,
    validate_and_resolve_config,
)
from polykeras.quantizers.quantizers import (
    AbsMaxQuantizer,
    Quantizer,
    abs_max_quantize,
    abs_max_quantize_grouped_with_zero_point,
    compute_float8_amax_history,
    compute_float8_scale,
    fake_quant_with_min_max_vars,
    pack_int4,
    quantize_and_dequantize,
    unpack_int4,
)

__all__ = [
    "AWQConfig", "AbsMaxQuantizer", "Float8QuantizationConfig", "GPTQConfig", "Int4QuantizationConfig",
    "Int8QuantizationConfig", "QUANTIZATION_MODES", "QuantizationConfig", "Quantizer", "abs_max_quantize",
    "abs_max_quantize_grouped_with_zero_point", "compute_float8_amax_history", "compute_float8_scale",
    "deserialize", "fake_quant_with_min_max_vars", "get", "pack_int4", "quantize_and_dequantize", "serialize",
    "unpack_int4", "validate_and_resolve_config",
]

_CLASSES = (Quantizer, AbsMaxQuantizer, QuantizationConfig, Int8QuantizationConfig, Int4QuantizationConfig,
            Float8QuantizationConfig, GPTQConfig, AWQConfig)

for _cls in _CLASSES:
    _cls.__module__ = "polykeras.quantizers"  # the public home, as serialized configs name it


def _snake(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and (not name[i - 1].isupper() or (i + 1 < len(name) and name[i + 1].islower())):
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


#: Names ``get``/``deserialize`` accept: class names and their snake_case forms.
ALL_OBJECTS_DICT: dict[str, type] = {cls.__name__: cls for cls in _CLASSES}
ALL_OBJECTS_DICT.update({_snake(cls.__name__): cls for cls in _CLASSES})


def serialize(initializer: Any) -> Any:
    """A quantizer's (or config's) JSON-safe description.

    Example: ``serialize(AbsMaxQuantizer(axis=0))["class_name"]`` -> ``'AbsMaxQuantizer'``
    """
    return registry.serialize(initializer)


def deserialize(config: Any, custom_objects: dict[str, Any] | None = None) -> Any:
    """The quantizer or config :func:`serialize` described (allow-listed classes only).

    Example: ``deserialize(serialize(AbsMaxQuantizer(axis=0))).axis`` -> ``(0,)``
    """
    return registry.deserialize(config, custom_objects, ALL_OBJECTS_DICT, kind="quantizer")


def get(identifier: Any, **kwargs: Any) -> Any:
    """A quantizer from a config dict, a name (``"AbsMaxQuantizer"``,
    ``"abs_max_quantizer"``; the class is built with ``kwargs``) or an
    instance / callable; None stays None.

    Example:
        >>> get("abs_max_quantizer", axis=0).axis
        (0,)
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        found = deserialize(identifier)
    elif isinstance(identifier, str):
        found = ALL_OBJECTS_DICT.get(identifier)
        if found is None:
            raise ValueError(f"quantizers.get: could not interpret quantizer identifier {identifier!r}; expected "
                             f"one of {sorted(ALL_OBJECTS_DICT)} or a config dict.")
    else:
        found = identifier
    if inspect.isclass(found):
        found = found(**kwargs)
    if not callable(found) and not isinstance(found, QuantizationConfig):
        raise ValueError(f"quantizers.get: could not interpret quantizer identifier: {identifier!r}")
    return found
