"""Nested structures, as ``keras.tree``: lists, tuples, namedtuples and dicts
nest; everything else (tensors, arrays, strings, None) is a leaf.

Dicts give their values in sorted-key order (``OrderedDict`` in insertion
order) and are rebuilt with their own key order and type. The module imports
nothing from polykeras, so every floor may use it.

Example:
    >>> from polykeras import tree
    >>> tree.flatten({"b": [1, 2], "a": 3})
    [3, 1, 2]
    >>> tree.map_structure(lambda x: x * 10, {"b": [1, 2], "a": 3})
    {'b': [10, 20], 'a': 30}
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Sequence
from typing import Any

__all__ = [
    "MAP_TO_NONE", "assert_same_paths", "assert_same_structure", "flatten", "flatten_with_path", "is_nested",
    "lists_to_tuples", "map_shape_structure", "map_structure", "map_structure_up_to", "pack_sequence_as", "traverse",
]


class MAP_TO_NONE:  # noqa: N801 - Keras 3's name
    """Returned by a :func:`traverse` function to put None in that place.

    Example:
        >>> traverse(lambda x: MAP_TO_NONE if x == 2 else None, [1, [2, 3]])
        [1, [None, 3]]
    """


def _is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def is_nested(structure: Any) -> bool:
    """True for a list, tuple, namedtuple or dict (even empty).

    Example: ``is_nested([])`` -> ``True``; ``is_nested("ab")`` -> ``False``
    """
    return isinstance(structure, (list, tuple, dict))


def _keys(mapping: dict) -> list[Any]:
    if isinstance(mapping, collections.OrderedDict):
        return list(mapping)
    try:
        return sorted(mapping)
    except TypeError:  # keys of mixed types
        return sorted(mapping, key=lambda k: (type(k).__name__, repr(k)))


def _children(node: Any) -> list[tuple[Any, Any]]:
    """``(key, child)`` pairs of a nested node, in flattening order."""
    if isinstance(node, dict):
        return [(k, node[k]) for k in _keys(node)]
    return list(enumerate(node))


def _rebuild(node: Any, values: Sequence[Any]) -> Any:
    """A node like ``node`` holding ``values`` (in flattening order)."""
    if isinstance(node, dict):
        by_key = dict(zip(_keys(node), values))
        pairs = [(k, by_key[k]) for k in node]  # the node's own key order
        if isinstance(node, collections.defaultdict):
            return collections.defaultdict(node.default_factory, pairs)
        try:
            return type(node)(pairs)
        except TypeError:
            return dict(pairs)
    if _is_namedtuple(node):
        return type(node)(*values)
    if isinstance(node, tuple):
        return tuple(values)
    return list(values)


def _leaf(x: Any, none_is_leaf: bool) -> bool:
    return not is_nested(x) and (none_is_leaf or x is not None)


def flatten(structure: Any) -> list[Any]:
    """The leaves of ``structure`` in order; a leaf alone gives ``[leaf]``.

    Example: ``flatten([1, (2, None)])`` -> ``[1, 2, None]``
    """
    if not is_nested(structure):
        return [structure]
    return [leaf for _, child in _children(structure) for leaf in flatten(child)]


def flatten_with_path(structure: Any) -> list[tuple[tuple[Any, ...], Any]]:
    """``(path, leaf)`` pairs; a path is the tuple of keys and indices that
    reach the leaf.

    Example: ``flatten_with_path({"a": [5]})`` -> ``[(('a', 0), 5)]``
    """
    if not is_nested(structure):
        return [((), structure)]
    return [((key, *path), leaf) for key, child in _children(structure) for path, leaf in flatten_with_path(child)]


def pack_sequence_as(structure: Any, flat_sequence: Sequence[Any]) -> Any:
    """``structure`` with its leaves replaced, in order, by ``flat_sequence``.

    Example: ``pack_sequence_as({"b": 0, "a": 0}, [1, 2])`` -> ``{'b': 2, 'a': 1}``
    """
    flat = list(flat_sequence)
    count = len(flatten(structure))
    if len(flat) != count:
        raise ValueError(f"tree.pack_sequence_as: the structure has {count} leaves, received a flat sequence of "
                         f"{len(flat)} items.")
    leaves = iter(flat)

    def pack(node: Any) -> Any:
        if not is_nested(node):
            return next(leaves)
        return _rebuild(node, [pack(child) for _, child in _children(node)])

    return pack(structure)


def _check_same(a: Any, b: Any, path: tuple[Any, ...], where: str) -> None:
    at = f" at {path}" if path else ""
    if is_nested(a) != is_nested(b):
        raise ValueError(f"{where}: the structures differ{at}: {_kind(a)} and {_kind(b)}.")
    if not is_nested(a):
        return
    if _node_kind(a) is not _node_kind(b):
        raise ValueError(f"{where}: the structures differ{at}: {_kind(a)} and {_kind(b)}.")
    keys_a, keys_b = [[k for k, _ in _children(x)] for x in (a, b)]
    if keys_a != keys_b:
        what = "keys" if isinstance(a, dict) else "lengths"
        shown = (keys_a, keys_b) if isinstance(a, dict) else (len(keys_a), len(keys_b))
        raise ValueError(f"{where}: the structures differ{at}: {what} {shown[0]} and {shown[1]}.")
    for (key, x), (_, y) in zip(_children(a), _children(b)):
        _check_same(x, y, (*path, key), where)


def _node_kind(x: Any) -> type:
    """The kind of node two structures must share: any dict matches any
    dict, a list subclass (a tracked list) matches a list, a namedtuple only
    its own type."""
    if isinstance(x, dict):
        return dict
    if _is_namedtuple(x):
        return type(x)
    return tuple if isinstance(x, tuple) else list


def _kind(x: Any) -> str:
    if is_nested(x):
        return f"a {type(x).__name__} of {len(x)}"
    return f"a leaf ({type(x).__name__})"


def assert_same_structure(a: Any, b: Any, check_types: Any = None) -> None:
    """Raise ValueError unless ``a`` and ``b`` nest the same way (same node
    types, lengths and keys; any dict type matches any other).
    ``check_types`` is accepted for Keras 3 compatibility and ignored.

    Example: ``assert_same_structure([1, (2,)], [3, (4,)])``
    """
    _check_same(a, b, (), "tree.assert_same_structure")


def assert_same_paths(a: Any, b: Any) -> None:
    """Raise ValueError unless ``a`` and ``b`` have the same leaf paths
    (node types may differ: a list and a tuple of one match).

    Example: ``assert_same_paths({"a": [1]}, {"a": (2,)})``
    """
    paths_a = {path for path, _ in flatten_with_path(a)}
    paths_b = {path for path, _ in flatten_with_path(b)}
    if paths_a != paths_b:
        raise ValueError(f"tree.assert_same_paths: `a` and `b` don't have the same paths. Paths in `a` missing "
                         f"in `b`: {sorted(paths_a - paths_b, key=repr)}; paths in `b` missing in `a`: "
                         f"{sorted(paths_b - paths_a, key=repr)}.")


def map_structure(func: Callable[..., Any], *structures: Any, none_is_leaf: bool = True) -> Any:
    """Apply ``func`` to the leaves of one or more structures of the same
    shape, giving a structure like the first. With ``none_is_leaf=False``,
    None stays None and ``func`` never sees it.

    Example: ``map_structure(lambda x, y: x + y, [1, 2], [10, 20])`` -> ``[11, 22]``
    """
    if not structures:
        raise ValueError("tree.map_structure: expected at least one structure, received none.")
    for other in structures[1:]:
        _check_same(structures[0], other, (), "tree.map_structure")

    def walk(nodes: tuple[Any, ...]) -> Any:
        first = nodes[0]
        if not is_nested(first):
            return func(*nodes) if _leaf(first, none_is_leaf) else None
        columns = zip(*[[child for _, child in _children(n)] for n in nodes])
        return _rebuild(first, [walk(column) for column in columns])

    return walk(structures)


def map_structure_up_to(shallow_structure: Any, func: Callable[..., Any], *structures: Any) -> Any:
    """Like :func:`map_structure`, but only as deep as ``shallow_structure``:
    what lies below one of its leaves is passed to ``func`` whole.

    Example:
        >>> map_structure_up_to([0, 0], lambda x: len(x), [[1, 2], [3]])
        [2, 1]
    """

    def walk(shallow: Any, nodes: tuple[Any, ...], path: tuple[Any, ...]) -> Any:
        if not is_nested(shallow):
            return func(*nodes)
        for node in nodes:
            if not is_nested(node) or len(node) != len(shallow):
                raise ValueError(f"tree.map_structure_up_to: the structures differ at {path or '()'}: "
                                 f"{_kind(shallow)} in the shallow structure and {_kind(node)}.")
        results = []
        for key, child in _children(shallow):
            try:
                below = tuple(n[key] for n in nodes)
            except (KeyError, IndexError, TypeError):
                raise ValueError(f"tree.map_structure_up_to: key {key!r} of the shallow structure is missing "
                                 f"at {path or '()'}.") from None
            results.append(walk(child, below, (*path, key)))
        return _rebuild(shallow, results)

    return walk(shallow_structure, structures, ())


def traverse(func: Callable[[Any], Any], structure: Any, top_down: bool = True) -> Any:
    """Visit every node and leaf. Top down, ``func(node)`` returning None
    goes on into the node; anything else replaces it (:data:`MAP_TO_NONE`
    for None). Bottom up, children are visited first and ``func`` sees the
    rebuilt node; None keeps it.

    Example: ``traverse(lambda x: x * 10 if isinstance(x, int) else None, [1, [2]])`` -> ``[10, [20]]``
    """

    def result(value: Any, default: Any) -> Any:
        if value is None:
            return default
        return None if value is MAP_TO_NONE else value

    def down(node: Any) -> Any:
        value = func(node)
        if value is not None:
            return result(value, node)
        if not is_nested(node):
            return node
        return _rebuild(node, [down(child) for _, child in _children(node)])

    def up(node: Any) -> Any:
        if is_nested(node):
            node = _rebuild(node, [up(child) for _, child in _children(node)])
        return result(func(node), node)

    return down(structure) if top_down else up(structure)


def lists_to_tuples(structure: Any) -> Any:
    """Every list in ``structure`` made a tuple.

    Example: ``lists_to_tuples([1, [2]])`` -> ``(1, (2,))``
    """
    if not is_nested(structure):
        return structure
    values = [lists_to_tuples(child) for _, child in _children(structure)]
    return tuple(values) if isinstance(structure, list) else _rebuild(structure, values)


def _is_shape(x: Any) -> bool:
    return isinstance(x, (list, tuple)) and not _is_namedtuple(x) and all(
        d is None or (isinstance(d, int) and not isinstance(d, bool)) for d in x)


def map_shape_structure(func: Callable[[Any], Any], structure: Any) -> Any:
    """:func:`map_structure` where a tuple or list of ints and Nones (a
    shape) is a leaf.

    Example: ``map_shape_structure(len, [(1, 2), {"a": (None,)}])`` -> ``[2, {'a': 1}]``
    """
    if _is_shape(structure) or not is_nested(structure):
        return func(structure)
    return _rebuild(structure, [map_shape_structure(func, child) for _, child in _children(structure)])
