"""Tracking: which sub-layers, variables and seed generators a layer holds.

A layer's attributes are scanned when asked (not recorded at assignment), so
layers and variables held directly, or inside lists, tuples and dicts, are
found even when those containers are changed after assignment. Order is the
attribute order, then the container order; duplicates are dropped by identity,
and references back up the tree are ignored (cycles are safe).

Example:
    >>> class Block(Layer):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.parts = [Dense(4), Dense(2)]     # both tracked
    >>> [l.name for l in Block()._flatten_layers(include_self=False)]
    ['dense', 'dense_1']
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from polykeras.random import SeedGenerator
from polykeras.variables import Variable

__all__ = ["iter_tracked", "MAX_DEPTH"]

#: How deep nested containers are searched.
MAX_DEPTH = 6


def _walk(value: Any, depth: int, layer_cls: type) -> Iterator[Any]:
    if isinstance(value, (Variable, SeedGenerator, layer_cls)):
        yield value
    elif depth < MAX_DEPTH:
        if isinstance(value, (list, tuple)):
            for item in value:
                if isinstance(item, (str, int, float, bool)) or item is None:
                    continue
                yield from _walk(item, depth + 1, layer_cls)
        elif isinstance(value, dict):
            for item in value.values():
                yield from _walk(item, depth + 1, layer_cls)


def iter_tracked(attributes: dict[str, Any], skip: frozenset[str], layer_cls: type) -> Iterator[Any]:
    """Every layer, variable and seed generator among ``attributes`` (an
    object's ``__dict__``), skipping the names in ``skip``, in order, each once."""
    seen: set[int] = set()
    for name, value in list(attributes.items()):
        if name in skip or value is None or isinstance(value, (str, int, float, bool)):
            continue
        for found in _walk(value, 0, layer_cls):
            if id(found) not in seen:
                seen.add(id(found))
                yield found
