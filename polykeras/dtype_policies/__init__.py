"""``keras.dtype_policies``: the policies naming a layer's compute and
variable dtypes, and their (de)serialization.

Example:
    >>> from polykeras import dtype_policies
    >>> dtype_policies.get("mixed_bfloat16")
    <DTypePolicy "mixed_bfloat16">
    >>> dtype_policies.serialize(dtype_policies.DTypePolicy("float16"))["class_name"]
    'DTypePolicy'
"""

from __future__ import annotations

from typing import Any

from polykeras.dtype_policies.policy import (
    POLICY_CLASSES,
    DTypePolicy,
    FloatDTypePolicy,
    dtype_policy,
    get,
    register_name_prefix,
    register_policy_class,
    set_dtype_policy,
)
from polykeras.dtype_policies.policy_map import DTypePolicyMap
from polykeras.dtype_policies.quantized import (
    QUANTIZATION_MODES,
    AWQDTypePolicy,
    GPTQDTypePolicy,
    Int4DTypePolicy,
    QuantizedDTypePolicy,
    QuantizedFloat8DTypePolicy,
)

__all__ = [
    "AWQDTypePolicy",
    "GPTQDTypePolicy",
    "Int4DTypePolicy",
    "QUANTIZATION_MODES",
    "QuantizedDTypePolicy",
    "QuantizedFloat8DTypePolicy",
    "DTypePolicy",
    "DTypePolicyMap",
    "FloatDTypePolicy",
    "deserialize",
    "dtype_policy",
    "get",
    "register_name_prefix",
    "register_policy_class",
    "serialize",
    "set_dtype_policy",
]


def serialize(dtype_policy: DTypePolicy) -> dict[str, Any]:
    """Keras 3's config of a policy: ``{"module", "class_name", "config",
    "registered_name"}``. Example: ``serialize(DTypePolicy("mixed_float16"))``"""
    policy = dtype_policy
    if not isinstance(policy, DTypePolicy):
        raise TypeError(f"dtype_policies.serialize: expected a DTypePolicy, received {policy!r}.")
    from polykeras.registry import to_json_safe

    module = "keras" if type(policy) in (DTypePolicy, FloatDTypePolicy) else "keras.dtype_policies"
    return {"module": module, "class_name": type(policy).__name__,
            "config": to_json_safe(policy.get_config(), "dtype policy config"), "registered_name": None}


def deserialize(config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> DTypePolicy:
    """The policy a :func:`serialize` config (or Keras 3's) describes.
    Example: ``deserialize({"class_name": "DTypePolicy", "config": {"name": "float16"}})``"""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"dtype_policies.deserialize: expected a config dict with 'class_name' and 'config', "
                         f"received {config!r}.")
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or POLICY_CLASSES.get(name)
    if cls is None:
        raise ValueError(f"dtype_policies.deserialize: unknown policy class {name!r}; expected one of "
                         f"{sorted(POLICY_CLASSES)}.")
    inner = dict(config.get("config") or {})
    for key, value in inner.items():  # nested policies (a map's default and entries)
        if isinstance(value, dict) and "class_name" in value:
            inner[key] = deserialize(value, custom_objects)
    return cls.from_config(inner)
