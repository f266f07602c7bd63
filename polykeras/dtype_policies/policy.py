"""``DTypePolicy``: the dtypes a layer computes in and keeps its variables in.

A policy is named: ``"float32"`` (or any dtype name) computes and stores in
that dtype; ``"mixed_float16"`` and ``"mixed_bfloat16"`` keep variables in
float32 and compute in the half-precision dtype (Keras 3's names). Layers
hold one policy each (``layer.dtype_policy``); the global policy
(:func:`dtype_policy` / :func:`set_dtype_policy`) is what layers made
without ``dtype=`` take.

Subclasses (quantized policies) plug into :func:`get` and
:func:`deserialize` through two small tables: :func:`register_policy_class`
(class name -> class, for configs) and :func:`register_name_prefix`
(``"int8_from_"`` -> ``factory(name)``, for policy names).

Example:
    >>> policy = DTypePolicy("mixed_bfloat16")
    >>> policy.compute_dtype, policy.variable_dtype
    ('bfloat16', 'float32')
    >>> get("mixed_float16").get_config()
    {'name': 'mixed_float16'}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from polykeras.backends.dtypes import floatx, is_float, standardize_dtype

__all__ = [
    "DTypePolicy",
    "FloatDTypePolicy",
    "MIXED_POLICIES",
    "dtype_policy",
    "get",
    "register_name_prefix",
    "register_policy_class",
    "set_dtype_policy",
]

#: Mixed policy name -> (compute dtype, variable dtype).
MIXED_POLICIES: dict[str, tuple[str, str]] = {
    "mixed_float16": ("float16", "float32"),
    "mixed_bfloat16": ("bfloat16", "float32"),
}

#: Class name (as configs write it) -> policy class; subclasses add theirs.
POLICY_CLASSES: dict[str, type[DTypePolicy]] = {}
#: Name prefix (``"int8_from_"``) -> ``factory(full name) -> policy``.
NAME_PREFIXES: dict[str, Callable[[str], DTypePolicy]] = {}

_VALID = ("Valid policies include 'mixed_float16', 'mixed_bfloat16', and the name of any dtype such as "
          "'float32'")


class DTypePolicy:
    """The compute and variable dtypes of a layer, by name.

    Args:
        name: ``"mixed_float16"``, ``"mixed_bfloat16"`` or a dtype name
            (``"float32"``, ``"bfloat16"``, ``"int32"``...). Default: the
            global policy's name (:func:`dtype_policy`).

    Attributes:
        name, compute_dtype, variable_dtype, quantization_mode (None here;
        quantized subclasses name their mode).

    Example:
        >>> DTypePolicy("mixed_float16").compute_dtype
        'float16'
        >>> layer = polykeras.layers.Dense(4, dtype=DTypePolicy("mixed_bfloat16"))
    """

    def __init__(self, name: str | None = None):
        if name is None:
            name = dtype_policy().name
        self._name = name
        self._compute_dtype, self._variable_dtype = self._parse_name(name)
        self._quantization_mode: str | None = None

    def _parse_name(self, name: Any) -> tuple[str, str]:
        """``(compute_dtype, variable_dtype)`` for ``name``; subclasses override."""
        if not isinstance(name, str):
            raise TypeError(f"{type(self).__name__}: expected a policy name such as 'mixed_float16' or "
                            f"'float32', received {name!r} (of type {type(name).__name__}).")
        if name in MIXED_POLICIES:
            return MIXED_POLICIES[name]
        try:
            dtype = standardize_dtype(name)
        except ValueError:
            raise ValueError(f"{type(self).__name__}: unknown dtype policy {name!r}. {_VALID}.") from None
        return dtype, dtype

    @property
    def name(self) -> str:
        """The policy's name, e.g. ``'mixed_bfloat16'``."""
        return self._name

    @property
    def compute_dtype(self) -> str:
        """The dtype layers compute in (inputs and variable reads are cast to it)."""
        return self._compute_dtype

    @property
    def variable_dtype(self) -> str:
        """The dtype layers create their variables in."""
        return self._variable_dtype

    @property
    def quantization_mode(self) -> str | None:
        """The quantization mode (``'int8'``...), or None for float policies."""
        return self._quantization_mode

    @property
    def is_mixed(self) -> bool:
        """True when compute and variable dtypes differ."""
        return self._compute_dtype != self._variable_dtype

    def get_config(self) -> dict[str, Any]:
        """Keras 3's config: ``{"name": ...}``. Example: ``DTypePolicy("float16").get_config()``"""
        return {"name": self._name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> DTypePolicy:
        """The policy :meth:`get_config` described. Example: ``DTypePolicy.from_config({"name": "float16"})``"""
        return cls(**config)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DTypePolicy) or type(other) is not type(self):
            return NotImplemented
        return other.get_config() == self.get_config()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._name))

    def __repr__(self) -> str:
        return f'<{type(self).__name__} "{self._name}">'


class FloatDTypePolicy(DTypePolicy):
    """Keras 3's float policy class: a :class:`DTypePolicy` (kept as a name
    for configs and code that spell it). Example: ``FloatDTypePolicy("mixed_float16")``"""


def register_policy_class(cls: type[DTypePolicy], name: str | None = None) -> type[DTypePolicy]:
    """Let configs name ``cls`` (by ``name``, default its class name); usable
    as a decorator. Example: ``register_policy_class(QuantizedDTypePolicy)``"""
    POLICY_CLASSES[name or cls.__name__] = cls
    return cls


def register_name_prefix(prefix: str, factory: Callable[[str], DTypePolicy]) -> None:
    """Let :func:`get` build policies whose names start with ``prefix``:
    ``factory(name)`` makes one. Example:
    ``register_name_prefix("int8_from_", lambda n: QuantizedDTypePolicy("int8", n[len("int8_from_"):]))``"""
    NAME_PREFIXES[prefix] = factory


register_policy_class(DTypePolicy)
register_policy_class(FloatDTypePolicy)


def get(identifier: Any) -> DTypePolicy:
    """A policy from a policy, its name, its config (``{"class_name": ...,
    "config": {...}}``) or None (the global policy).

    Example:
        >>> get("mixed_bfloat16").compute_dtype
        'bfloat16'
    """
    if identifier is None:
        return dtype_policy()
    if isinstance(identifier, DTypePolicy):
        return identifier
    if isinstance(identifier, dict):
        from polykeras.dtype_policies import deserialize

        return deserialize(identifier)
    if isinstance(identifier, str):
        for prefix, factory in NAME_PREFIXES.items():
            if identifier.startswith(prefix):
                return factory(identifier)
        return DTypePolicy(identifier)
    try:  # a framework or NumPy dtype object
        return DTypePolicy(standardize_dtype(identifier))
    except ValueError:
        pass
    raise ValueError(f"dtype_policies.get: expected a policy name (such as 'mixed_float16'), a DTypePolicy or "
                     f"its config, received {identifier!r} (of type {type(identifier).__name__}).")


# ------------------------------------------------------------ global policy
_global: DTypePolicy | None = None


def dtype_policy() -> DTypePolicy:
    """The global policy: what layers made without ``dtype=`` take (default:
    the float dtype :func:`polykeras.config.floatx` names).

    Example: ``polykeras.config.dtype_policy().name`` -> ``'float32'``
    """
    if _global is None:
        return DTypePolicy(floatx())
    return _global


def set_dtype_policy(policy: Any) -> None:
    """Set the global policy from a name or a :class:`DTypePolicy`.

    Example:
        >>> set_dtype_policy("mixed_bfloat16")   # new layers compute in bfloat16
        >>> set_dtype_policy("float32")          # back to the default
    """
    global _global
    if not isinstance(policy, (str, DTypePolicy)):
        raise ValueError(f"set_dtype_policy: expected a policy name (such as 'mixed_float16') or a DTypePolicy, "
                         f"received {policy!r} (of type {type(policy).__name__}).")
    policy = get(policy)
    if not (is_float(policy.variable_dtype) or policy.quantization_mode is not None):
        raise ValueError(f"set_dtype_policy: expected a policy with a float variable dtype, received "
                         f"{policy.name!r} (variable dtype {policy.variable_dtype}).")
    _global = policy
