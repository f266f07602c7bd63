"""``polykeras.tree`` against ``keras.tree``: the same leaves, paths, order,
rebuilt structures and errors, with engine tensors as leaves on every engine."""

from __future__ import annotations

import collections

import numpy as np
import pytest

from polykeras import ops, tree

from _keras_api import assert_same_api
from layers.keras_reference import import_keras

Point = collections.namedtuple("Point", ["b", "a"])


def _structures():
    return [
        {"b": [1, (2, None)], "a": Point(3, {"z": 4, "y": 5}), "c": collections.OrderedDict([("q", 6), ("p", 7)])},
        [1, [2, [3, [4]]]],
        (),
        [],
        {},
        None,
        7,
        "text",
        {2: "a", 1: "b"},
        collections.defaultdict(list, b=1, a=2),
        [np.ones(2), {"k": (np.zeros(1),)}],
    ]


def _same(ours, theirs):
    """Equal, with the same container types all the way down."""
    assert type(ours) is type(theirs), (ours, theirs)
    if isinstance(ours, dict):
        assert list(ours) == list(theirs), (ours, theirs)
        for key in ours:
            _same(ours[key], theirs[key])
    elif isinstance(ours, (list, tuple)):
        assert len(ours) == len(theirs), (ours, theirs)
        for x, y in zip(ours, theirs):
            _same(x, y)
    elif isinstance(ours, np.ndarray):
        np.testing.assert_array_equal(ours, theirs)
    else:
        assert ours == theirs, (ours, theirs)


def test_names_and_signatures_match_keras(engine):
    keras = import_keras()
    assert_same_api(tree, keras.tree)


@pytest.mark.parametrize("index", range(len(_structures())))
def test_flatten_pack_and_map_match_keras(engine, index):
    keras = import_keras()
    structure, theirs = _structures()[index], _structures()[index]
    for fn in ("flatten", "flatten_with_path", "is_nested", "lists_to_tuples"):
        _same(getattr(tree, fn)(structure), getattr(keras.tree, fn)(theirs))
    n = len(tree.flatten(structure))
    _same(tree.pack_sequence_as(structure, list(range(n))), keras.tree.pack_sequence_as(theirs, list(range(n))))
    tag = lambda x: ("leaf", repr(x))  # noqa: E731
    _same(tree.map_structure(tag, structure), keras.tree.map_structure(tag, theirs))
    _same(tree.map_structure(tag, structure, none_is_leaf=False),
          keras.tree.map_structure(tag, theirs, none_is_leaf=False))
    tree.assert_same_structure(structure, _structures()[index])
    tree.assert_same_paths(structure, _structures()[index])


def test_engine_tensors_are_leaves(engine):
    x, y = ops.ones((2,)), ops.zeros((3,))
    structure = {"y": [y], "x": x}
    assert tree.flatten(structure) == [x, y]
    doubled = tree.map_structure(lambda t: ops.multiply(t, 2.0), structure)
    assert ops.to_numpy(doubled["x"]).tolist() == [2.0, 2.0]
    assert tree.map_structure(lambda a, b: (a, b), [x], [y]) == [(x, y)]
    assert not tree.is_nested(x)


def test_traverse_and_up_to_match_keras(engine):
    keras = import_keras()
    nested = [1, [2, 3], {"a": 4}]
    visits_ours, visits_theirs = [], []
    tree.traverse(lambda x: visits_ours.append(repr(x)), nested)
    keras.tree.traverse(lambda x: visits_theirs.append(repr(x)), nested)
    assert visits_ours == visits_theirs
    for top_down in (True, False):
        for fn in (lambda x: x * 10 if isinstance(x, int) else None,
                   lambda x: "X" if isinstance(x, list) and x[:1] == [2] else None):
            _same(tree.traverse(fn, nested, top_down=top_down), keras.tree.traverse(fn, nested, top_down=top_down))
        _same(tree.traverse(lambda x: tree.MAP_TO_NONE if x == 2 else None, nested, top_down=top_down),
              keras.tree.traverse(lambda x: keras.tree.MAP_TO_NONE if x == 2 else None, nested, top_down=top_down))
    pair = lambda *xs: xs  # noqa: E731
    _same(tree.map_structure_up_to([1, [2, 3]], pair, [[1], [2, [3]]], [4, [5, 6]]),
          keras.tree.map_structure_up_to([1, [2, 3]], pair, [[1], [2, [3]]], [4, [5, 6]]))
    shapes = [(1, 2), {"a": (None, 3)}, ((4,), [None])]
    _same(tree.map_shape_structure(len, shapes), keras.tree.map_shape_structure(len, shapes))


@pytest.mark.parametrize("a, b", [([1, 2], [1]), ([1, 2], (1, 2)), ({"a": 1}, {"b": 1}), ([1, [2]], [1, 2]),
                                  (Point(1, 2), (1, 2))])
def test_different_structures_are_refused_as_keras_refuses_them(engine, a, b):
    keras = import_keras()
    with pytest.raises(ValueError):
        keras.tree.assert_same_structure(a, b)
    with pytest.raises(ValueError, match="tree.assert_same_structure: the structures differ"):
        tree.assert_same_structure(a, b)
    with pytest.raises(ValueError, match="tree.map_structure: the structures differ"):
        tree.map_structure(lambda *xs: xs, a, b)


def test_equal_structures_keras_accepts(engine):
    keras = import_keras()
    for a, b in [({"a": 1}, collections.OrderedDict(a=1)), ([1, 2], [3, 4]), ([None], [1])]:
        keras.tree.assert_same_structure(a, b)
        tree.assert_same_structure(a, b)


def test_bad_inputs_name_the_function(engine):
    with pytest.raises(ValueError, match=r"tree.pack_sequence_as: the structure has 2 leaves, received a flat "
                                         r"sequence of 1 items"):
        tree.pack_sequence_as([0, 0], [1])
    with pytest.raises(ValueError, match="tree.assert_same_paths: `a` and `b` don't have the same paths"):
        tree.assert_same_paths({"a": [1]}, {"b": [1]})
    tree.assert_same_paths({"a": [1]}, {"a": (2,)})
    with pytest.raises(ValueError, match="tree.map_structure_up_to: the structures differ"):
        tree.map_structure_up_to([1, 2], lambda x: x, [1])
