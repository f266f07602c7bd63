"""``ops.get_item`` (``x[key]`` on symbolic tensors) on every engine, against
NumPy's indexing: ints, slices (negative steps too), None, Ellipsis and one
integer-tensor index; a list key is a tuple, as in Keras 3."""

from __future__ import annotations

import numpy as np
import pytest

from polykeras import ops
from polykeras.ops import OpError

from ._helpers import numpy, tensor

COVERED = {"get_item"}

_X = np.arange(24, dtype="float32").reshape(2, 3, 4)
KEYS = {
    "int": 1,
    "negative int": (slice(None), -1),
    "slices": (slice(None), slice(1, 3), slice(None, None, 2)),
    "negative step": (Ellipsis, slice(None, 0, -2)),
    "none and ellipsis": (None, Ellipsis, 0),
    "new axis inside": (slice(None), None, 1, slice(1, None)),
    "tensor index": (slice(None), np.array([2, 0, 2], "int32")),
    "tensor index after ellipsis": (Ellipsis, np.array([[3, 0]], "int32")),
    "list key is a tuple": [0, slice(1, 3)],
}


@pytest.mark.parametrize("case", sorted(KEYS))
def test_get_item_matches_numpy_indexing(engine, case):
    key = KEYS[case]
    numpy_key = tuple(key) if isinstance(key, list) else key
    engine_key = tuple(tensor(k) if isinstance(k, np.ndarray) else k for k in numpy_key) \
        if isinstance(numpy_key, tuple) else numpy_key
    out = numpy(ops.get_item(tensor(_X), engine_key))
    np.testing.assert_array_equal(out, _X[numpy_key])
    assert out.dtype == np.float32


@pytest.mark.parametrize("key, words", [
    ((0, 0, 0, 0), "at most 3 indices"),
    ((slice(None), 3), "axis 1 of size 3"),
    ((Ellipsis, Ellipsis), "one Ellipsis"),
    (("a",), "ints, slices"),
    ((slice(None), np.array([True, False, True])), "integer dtype"),
])
def test_get_item_refuses_bad_keys_naming_the_op(engine, key, words):
    key = tuple(tensor(k) if isinstance(k, np.ndarray) else k for k in key)
    with pytest.raises(OpError, match="get_item") as info:
        ops.get_item(tensor(_X), key)
    assert words in str(info.value)
