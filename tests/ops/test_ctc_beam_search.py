"""``ops.ctc_decode(strategy="beam_search")`` on every engine: decoded paths
and log probabilities equal Keras 3's (its NumPy backend) over random
inputs, lengths, blanks, beam widths and path counts; eager only (a clear
refusal inside a compiled function where the engine traces), and the
errors name the op."""

from __future__ import annotations

import os

import numpy as np
import pytest

from conformance.tolerances import assert_close
from polykeras import Input, ops
from tests.layers.helpers import keras_numpy

from ._helpers import numpy, tensor

os.environ.setdefault("KERAS_BACKEND", "numpy")

# (batch, T, classes, lengths, beam_width, top_paths, mask_index)
_SETTINGS = [
    (3, 7, 4, [7, 4, 0], 3, 2, 0),
    (2, 9, 5, [9, 6], 8, 3, 2),
    (2, 5, 3, [5, 1], 1, 3, 2),   # top_paths above 2 * beam_width: Keras returns 2
    (1, 6, 6, [6], 100, 1, 5),
    (2, 4, 2, [4, 3], 4, 4, 1),   # fewer prefixes than paths: -1 paths with -inf
]


@pytest.mark.parametrize("setting", _SETTINGS, ids=lambda s: f"T{s[1]}C{s[2]}W{s[4]}K{s[5]}blank{s[6]}")
def test_beam_search_equals_keras(engine, setting):
    batch, steps, classes, lengths, width, paths, blank = setting
    rng = np.random.default_rng(steps * 10 + classes)
    logits = (2.0 * rng.normal(size=(batch, steps, classes))).astype(np.float32)
    lengths = np.array(lengths, np.int32)
    want = keras_numpy("ops.nn.ctc_decode", logits, lengths, strategy="beam_search", beam_width=width,
                       top_paths=paths, mask_index=blank)
    got = ops.nn.ctc_decode(tensor(logits), tensor(lengths), strategy="beam_search", beam_width=width,
                            top_paths=paths, mask_index=blank)
    want_paths, want_scores = np.asarray(want[0]), np.asarray(want[1])
    np.testing.assert_array_equal(numpy(got[0]), want_paths)
    assert numpy(got[0]).dtype == np.int32
    scores = numpy(got[1])
    np.testing.assert_array_equal(np.isfinite(scores), np.isfinite(want_scores))
    finite = np.isfinite(want_scores)
    assert_close(scores[finite], want_scores[finite].astype(np.float64), "reduction", "float32",
                 err_msg="beam search log probabilities")


def test_merge_repeated_is_ignored_by_beam_search_as_keras(engine):
    logits = np.random.default_rng(3).normal(size=(2, 6, 4)).astype(np.float32)
    lengths = tensor(np.array([6, 5], np.int32))
    merged = ops.ctc_decode(tensor(logits), lengths, strategy="beam_search", beam_width=4, merge_repeated=True)
    kept = ops.ctc_decode(tensor(logits), lengths, strategy="beam_search", beam_width=4, merge_repeated=False)
    np.testing.assert_array_equal(numpy(merged[0]), numpy(kept[0]))


def test_beam_search_inside_a_compiled_function_runs_or_refuses_by_name(diff_engine):
    logits = tensor(np.random.default_rng(4).normal(size=(2, 5, 3)).astype(np.float32))
    lengths = tensor(np.array([5, 3], np.int32))
    eager = ops.ctc_decode(logits, lengths, strategy="beam_search", beam_width=3)
    step = ops.jit(lambda x, n: ops.ctc_decode(x, n, strategy="beam_search", beam_width=3))
    try:
        compiled = step(logits, lengths)
    except NotImplementedError as err:  # a tracing engine: the op and the way out are named
        assert "ctc_decode" in str(err) and "beam_search" in str(err) and "greedy" in str(err)
    else:  # an engine whose compiled step runs Python eagerly (torch)
        np.testing.assert_array_equal(numpy(compiled[0]), numpy(eager[0]))


@pytest.mark.parametrize("kwargs, message", [
    ({"beam_width": 0}, "beam_width a positive int"),
    ({"top_paths": 1.5}, "top_paths a positive int"),
    ({"mask_index": 4}, "mask_index"),
    ({"strategy": "viterbi"}, "strategy 'greedy' or 'beam_search'"),
])
def test_beam_search_errors_name_the_op(engine, kwargs, message):
    logits, lengths = tensor(np.zeros((2, 3, 4), np.float32)), tensor(np.array([3, 3], np.int32))
    kwargs = {"strategy": "beam_search", **kwargs}
    with pytest.raises(ValueError, match="ctc_decode") as info:
        ops.ctc_decode(logits, lengths, **kwargs)
    assert message in str(info.value)


def test_beam_search_wants_one_length_per_sample(engine):
    with pytest.raises(ValueError, match=r"ctc_decode.*sequence_lengths of shape \(2,\)"):
        ops.ctc_decode(tensor(np.zeros((2, 3, 4), np.float32)), tensor(np.array([3], np.int32)),
                       strategy="beam_search")


def test_beam_search_infers_shapes_on_symbolic_inputs(engine):
    decoded, scores = ops.ctc_decode(Input((5, 3), batch_size=2), Input((), batch_size=2, dtype="int32"),
                                     strategy="beam_search", beam_width=2, top_paths=3)
    assert tuple(decoded.shape) == (3, 2, 5) and decoded.dtype == "int32"
    assert tuple(scores.shape) == (2, 3) and scores.dtype == "float32"
