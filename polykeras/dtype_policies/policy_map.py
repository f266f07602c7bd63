"""``DTypePolicyMap``: per-layer policies keyed by layer path.

Example:
    >>> policies = DTypePolicyMap(default_policy="mixed_bfloat16")
    >>> policies["model/head"] = "float32"          # exact path
    >>> policies["model/encoder/.*"] = "float16"    # a regular expression (full match)
    >>> policies["model/head"].name, policies["model/other"].name
    ('float32', 'mixed_bfloat16')
"""

from __future__ import annotations

import re
from collections.abc import Iterator, MutableMapping
from typing import Any

from polykeras.dtype_policies.policy import DTypePolicy, get, register_policy_class

__all__ = ["DTypePolicyMap"]


class DTypePolicyMap(DTypePolicy, MutableMapping):
    """A mapping from layer paths (exact, else regular expressions matched in
    full) to policies, with a default for paths no key matches; a layer given
    one takes the entry for its own path. It is itself a policy: its dtypes
    are the default's.

    Args:
        default_policy: the policy for unmatched paths (default: the global one).
        policy_map: ``{path or pattern: policy}``.

    Example:
        >>> policies = DTypePolicyMap("mixed_float16", {"dense_out": "float32"})
        >>> layer = polykeras.layers.Dense(2, name="dense_out", dtype=policies)
        >>> layer.compute_dtype
        'float32'
    """

    def __init__(self, default_policy: Any = None, policy_map: dict[str, Any] | None = None):
        if isinstance(default_policy, DTypePolicyMap):
            raise ValueError("DTypePolicyMap: expected default_policy to be a policy or its name, received another "
                             "DTypePolicyMap.")
        if policy_map is not None and not isinstance(policy_map, dict):
            raise TypeError(f"DTypePolicyMap: expected policy_map to be a dict, received {policy_map!r} (of type "
                            f"{type(policy_map).__name__}).")
        self._default_policy_arg = default_policy
        self._default_policy = get(default_policy)
        self._policy_map: dict[str, DTypePolicy] = {}
        for key, policy in (policy_map or {}).items():
            self[key] = policy
        super().__init__(self._default_policy.name)

    def _parse_name(self, name: Any) -> tuple[str, str]:
        return self._default_policy.compute_dtype, self._default_policy.variable_dtype

    @property
    def name(self) -> str:
        """``"map_"`` and the default's name (Keras 3's). Example: ``'map_mixed_bfloat16'``"""
        return "map_" + self._default_policy.name

    @property
    def default_policy(self) -> DTypePolicy:
        """The policy of paths no key matches."""
        return get(self._default_policy)

    @property
    def quantization_mode(self) -> str | None:
        return self._default_policy.quantization_mode

    def __getitem__(self, key: str) -> DTypePolicy:
        if key in self._policy_map:
            return self._policy_map[key]
        matches = [pattern for pattern in self._policy_map if re.fullmatch(pattern, key)]
        if len(matches) > 1:
            raise ValueError(f"DTypePolicyMap: path {key!r} matches several keys {matches}; expected at most one.")
        return self._policy_map[matches[0]] if matches else self.default_policy

    def __setitem__(self, key: str, policy: Any) -> None:
        if key in self._policy_map:
            raise ValueError(f"DTypePolicyMap: key {key!r} is already mapped to {self._policy_map[key]!r}; "
                             f"delete it first.")
        try:
            self._policy_map[key] = get(policy)
        except (TypeError, ValueError) as err:
            raise ValueError(f"DTypePolicyMap[{key!r}]: expected a policy or its name, received {policy!r}: "
                             f"{err}") from None

    def __delitem__(self, key: str) -> None:
        del self._policy_map[key]

    def __contains__(self, key: object) -> bool:
        return key in self._policy_map

    def __iter__(self) -> Iterator[str]:
        return iter(self._policy_map)

    def __len__(self) -> int:
        return len(self._policy_map)

    def get_config(self) -> dict[str, Any]:
        """Keras 3's form: the default (as given) and every entry serialized."""
        from polykeras.dtype_policies import serialize

        default = self._default_policy_arg
        if isinstance(default, DTypePolicy):
            default = serialize(default)
        return {"default_policy": default, "policy_map": {k: serialize(v) for k, v in self._policy_map.items()}}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> DTypePolicyMap:
        return cls(**config)

    def __eq__(self, other: object) -> bool:
        return self is other

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        entries = [(k, v.name) for k, v in self._policy_map.items()]
        return f"<DTypePolicyMap default_policy={self._default_policy.name}, mapping={entries}>"


register_policy_class(DTypePolicyMap)
