"""Keraflow's generic weight arguments, accepted by every layer:

* ``regularizers``: ``{"kernel": L2(0.01)}``, a list in weight-creation order,
  or a single regularizer for every trainable weight of the layer;
* ``constraints``: the same forms, with constraints;
* ``initial_weights``: a list of arrays in ``get_weights()`` order, or
  ``{"kernel": array}``; applied right after ``build`` (when sub-layers build
  lazily, the first call first traces ``call`` without touching state so they
  exist, so that call already uses the given weights).

Values set here override the layer's own arguments (``kernel_regularizer``)
for the weights they name. Names that match no weight are an error after
``build``, naming the layer and its weights.

Example:
    >>> dense = Dense(2, regularizers={"kernel": "l2"}, constraints={"bias": "non_neg"},
    ...               initial_weights={"bias": np.ones(2)})
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from polykeras import backends
from polykeras import constraints as constraints_lib
from polykeras import regularizers as regularizers_lib
from polykeras import registry

__all__ = ["WeightOptions"]


def _normalise(kind: str, value: Any, getter: Any, layer: str) -> Any:
    if value is None:
        return None
    if isinstance(value, Mapping):
        return {str(k): getter(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [getter(v) for v in value]
    found = getter(value)
    if found is None:
        raise ValueError(f"Layer '{layer}': expected {kind} as a dict, list or single object, received {value!r}.")
    return found


class WeightOptions:
    """The generic ``regularizers`` / ``constraints`` / ``initial_weights`` of one layer."""

    def __init__(self, layer_name: str, regularizers: Any = None, constraints: Any = None,
                 initial_weights: Any = None):
        self.layer_name = layer_name
        self.regularizers = _normalise("regularizers", regularizers, regularizers_lib.get, layer_name)
        self.constraints = _normalise("constraints", constraints, constraints_lib.get, layer_name)
        if initial_weights is not None and not isinstance(initial_weights, (Mapping, list, tuple)):
            initial_weights = [initial_weights]
        self.initial_weights = initial_weights
        self._used: dict[str, set[str]] = {"regularizers": set(), "constraints": set()}
        #: True while ``initial_weights`` waits for the first call to build sub-layers.
        self.pending = False

    def __bool__(self) -> bool:
        return any(v is not None for v in (self.regularizers, self.constraints, self.initial_weights))

    def _pick(self, kind: str, table: Any, name: str, index: int, trainable: bool) -> Any:
        if table is None:
            return None
        if isinstance(table, dict):
            if name in table:
                self._used[kind].add(name)
                return table[name]
            return None
        if isinstance(table, list):
            return table[index] if index < len(table) else None
        return table if trainable else None

    def for_weight(self, name: str, index: int, trainable: bool) -> tuple[Any, Any]:
        """(regularizer, constraint) overrides for the ``index``-th weight
        the layer creates, called ``name``; None where not set."""
        return (
            self._pick("regularizers", self.regularizers, name, index, trainable),
            self._pick("constraints", self.constraints, name, index, trainable),
        )

    def after_build(self, layer: Any) -> None:
        """Check every named weight exists and apply ``initial_weights``."""
        own = [v.name for v in layer._own_variables]
        for kind in ("regularizers", "constraints"):
            table = getattr(self, kind)
            if isinstance(table, dict):
                unknown = sorted(set(table) - self._used[kind])
                if unknown:
                    raise ValueError(
                        f"Layer '{self.layer_name}': {kind} name weight(s) {unknown}, but the layer's "
                        f"weights are {own}."
                    )
            if isinstance(table, list) and len(table) > len(own):
                raise ValueError(
                    f"Layer '{self.layer_name}': expected at most {len(own)} {kind} (one per weight: {own}), "
                    f"received {len(table)}."
                )
        if self.initial_weights is None:
            return
        if any(not sub.built for sub in layer._flatten_layers(include_self=False)):
            self.pending = True  # sub-layers build during the first call: apply after it
            return
        self.apply_initial_weights(layer)

    def apply_initial_weights(self, layer: Any) -> None:
        """Assign ``initial_weights`` (once)."""
        initial, self.initial_weights, self.pending = self.initial_weights, None, False
        if isinstance(initial, Mapping):
            by_name = {v.name: v for v in layer.weights}
            by_name.update({v.path: v for v in layer.weights})
            unknown = sorted(set(initial) - set(by_name))
            if unknown:
                raise ValueError(
                    f"Layer '{self.layer_name}': initial_weights name weight(s) {unknown}, but the layer's "
                    f"weights are {[v.name for v in layer.weights]}."
                )
            layer._assign_checked([(by_name[k], v) for k, v in initial.items()], "initial_weights")
        else:
            layer.set_weights(list(initial))

    def get_config(self) -> dict[str, Any]:
        """The JSON-safe forms of ``regularizers``/``constraints`` (initial
        weights are saved with the weights, not the config)."""
        out = {}
        for kind in ("regularizers", "constraints"):
            table = getattr(self, kind)
            if table is not None:
                out[kind] = registry.to_json_safe(table, f"layer '{self.layer_name}' argument {kind!r}")
        return out


def as_array(value: Any) -> np.ndarray:
    """A NumPy array from an array, a Variable, or a tensor of any engine."""
    if isinstance(value, (np.ndarray, np.generic, list, tuple, int, float)):
        return np.asarray(value)
    if hasattr(value, "assign") and hasattr(value, "numpy"):
        return np.asarray(value.numpy())
    try:
        return np.asarray(backends.active().to_numpy(value))
    except Exception:  # noqa: BLE001 - a tensor of another engine
        return np.asarray(value)
