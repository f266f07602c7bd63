"""Keras 3's core control flow (``polykeras/ops/control_flow.py``) and the
further ``keras.ops.nn`` ops (``polykeras/ops/nn_extra.py``) on every engine:
the conformance cases forward (hypothesis, quick profile), the loops and
branches inside each engine's compiled step, numbers against Keras 3, and
the errors. Gradients run in test_gradients.py (the cases join
``ops_gradients.CASES``)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import given, settings

from conformance.checks import ops_control_flow, ops_nn_extra
from conformance.checks.base import Meter
from conformance.checks.ops import check_example
from conformance.tolerances import assert_close
from polykeras import ops
from tests.layers.helpers import keras_numpy

from ._helpers import numpy, supports, tensor

os.environ.setdefault("KERAS_BACKEND", "numpy")

_CASES = [*ops_control_flow.CASES, *ops_nn_extra.CASES]
COVERED = {case.op for case in _CASES}
_BY_NAME = {case.name: case for case in _CASES}


class _Quick:
    name, examples, max_side, draws = "quick", 4, 4, 1


@pytest.mark.parametrize("name", sorted(_BY_NAME))
def test_forward_matches_numpy(engine, name):
    case = _BY_NAME[name]
    dtypes = [d for d in case.dtypes if supports(d)]
    assert dtypes, f"{name}: the {engine.name} engine holds none of {case.dtypes}"
    for dtype in dtypes:
        @settings(max_examples=4)
        @given(example=case.example(dtype, _Quick()))
        def prop(example):
            check_example(case, dtype, example, Meter())
        prop()


# ------------------------------------------------ inside the compiled step
def _step(x):
    positive = ops.cond(ops.greater(ops.sum(x), 0.0), lambda: x * 2.0, lambda: -x)
    looped = ops.fori_loop(0, 3, lambda i, v: v * 0.5 + ops.cast(i, "float32"), x)
    count, halved = ops.while_loop(lambda i, v: ops.less(i, 4), lambda i, v: (i + 1, v * 0.5),
                                   (ops.convert_to_tensor(0, "int32"), x))
    chosen = ops.switch(ops.cast(ops.sum(x) > 0.0, "int32"), [lambda v: v - 1.0, lambda v: v + 1.0], x)
    carry, ys = ops.scan(lambda c, v: (c + v, c * v), ops.zeros(()), x)
    prefix = ops.associative_scan(ops.add, x)
    mapped = ops.vectorized_map(lambda v: v * v, x)
    return positive, looped, count, halved, chosen, carry, ys, prefix, mapped


def _step_reference(x):
    positive = x * 2.0 if x.sum() > 0 else -x
    looped = x.copy()
    for i in range(3):
        looped = looped * 0.5 + i
    carry, ys = 0.0, []
    for v in x:
        ys.append(carry * v)
        carry = carry + v
    chosen = x + 1.0 if x.sum() > 0 else x - 1.0
    return positive, looped, 4, x / 16.0, chosen, carry, np.array(ys), np.cumsum(x), x * x


@pytest.mark.parametrize("values", [[1.0, -2.0, 3.5], [-1.0, -2.0, 0.5]])
def test_control_flow_runs_inside_the_compiled_step(diff_engine, values):
    x = np.array(values, np.float32)
    got = ops.jit(_step)(tensor(x))
    for i, (out, want) in enumerate(zip(got, _step_reference(x))):
        assert_close(numpy(out), np.asarray(want, np.float64), "reduction", "float32", err_msg=f"compiled output {i}")


def test_gradients_flow_through_compiled_loops(diff_engine):
    def loss(params):
        x = params[0]
        looped = ops.fori_loop(0, 3, lambda i, v: v * x, x)  # x ** 4
        branch = ops.cond(ops.greater(ops.sum(x), 0.0), lambda: ops.sum(looped), lambda: -ops.sum(looped))
        return branch + ops.sum(ops.scan(lambda c, v: (c + v * v, c), ops.zeros(()), x)[0])

    x = np.array([0.5, 1.5, -0.25], np.float32)
    step = ops.jit(lambda p: ops.value_and_grad(loss)(p))
    value, (grad,) = step([tensor(x)])
    assert_close(numpy(grad), 4 * x.astype(np.float64) ** 3 + 2 * x, "gradient", "float32", err_msg="d loss / dx")


def test_custom_gradient_replaces_the_gradient(diff_engine):
    @ops.custom_gradient
    def straight_through_round(v):
        return ops.round(v), lambda upstream: upstream

    x = np.array([0.2, 1.7, -2.4], np.float32)
    _, (grad,) = ops.value_and_grad(lambda p: ops.sum(straight_through_round(p[0]) * 3.0))([tensor(x)])
    np.testing.assert_allclose(numpy(grad), [3.0, 3.0, 3.0])


# ------------------------------------------------------- against Keras 3
_RNG = np.random.default_rng(3)
_X = _RNG.normal(size=(2, 3, 8)).astype(np.float32)
_G = _RNG.normal(size=(8,)).astype(np.float32)
_Q, _K, _V = (_RNG.normal(size=(2, 5, 4, 8)).astype(np.float32) for _ in range(3))
_MASK = _RNG.uniform(size=(2, 1, 5, 5)) > 0.3


@pytest.mark.parametrize("name, args, kwargs", [
    ("celu", (_X,), {"alpha": 0.7}), ("glu", (_X,), {}), ("log_sigmoid", (_X,), {}), ("hard_tanh", (_X,), {}),
    ("hard_shrink", (_X,), {}), ("soft_shrink", (_X,), {"threshold": 0.3}), ("tanh_shrink", (_X,), {}),
    ("sparse_plus", (_X,), {}), ("sparse_sigmoid", (_X,), {}), ("squareplus", (_X,), {"b": 2}),
    ("threshold", (_X, 0.1, -2.0), {}), ("layer_normalization", (_X, _G, _G), {}),
    ("rms_normalization", (_X, _G), {}), ("normalize", (_X,), {}), ("normalize", (_X,), {"order": 1}),
    ("psnr", (_X, _X * 0.9, 2.0), {}), ("hard_swish", (_X,), {}), ("swish", (_X,), {}),
    ("depth_to_space", (_X.reshape(1, 2, 3, 8), 2), {}), ("space_to_depth", (_X.reshape(1, 6, 4, 2), 2), {}),
    ("adaptive_average_pool", (_X, 3), {}), ("adaptive_max_pool", (_X.reshape(2, 3, 4, 2), (2, 3)), {}),
    ("adaptive_average_pool", (_X.reshape(2, 3, 4, 2), 2), {"data_format": "channels_first"}),
    ("dot_product_attention", (_Q, _K, _V), {}), ("dot_product_attention", (_Q, _K, _V), {"is_causal": True}),
    ("dot_product_attention", (_Q, _K, _V), {"mask": _MASK, "is_causal": True, "scale": 0.3}),
])
def test_nn_ops_equal_keras(engine, name, args, kwargs):
    want = keras_numpy(f"ops.nn.{name}", *args, **kwargs)
    converted = [tensor(a) if isinstance(a, np.ndarray) else a for a in args]
    kw = {k: tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    got = numpy(getattr(ops.nn, name)(*converted, **kw))
    assert got.shape == want.shape
    assert_close(got, want.astype(np.float64), "matmul", "float32", err_msg=f"{name} against keras.ops.nn")


def test_multi_hot_and_unstack_equal_keras(engine):
    ids = np.array([[1, 3, 3], [0, 4, 2]], np.int32)
    np.testing.assert_array_equal(numpy(ops.multi_hot(tensor(ids), 6)), keras_numpy("ops.multi_hot", ids, 6))
    parts = ops.unstack(tensor(_X), axis=1)
    assert len(parts) == 3
    np.testing.assert_array_equal(numpy(parts[1]), _X[:, 1])


def test_ctc_loss_equals_keras(engine):
    logits = _RNG.normal(size=(3, 6, 4)).astype(np.float32)
    target, lengths = np.array([[1, 2, 2], [3, 1, 0], [2, 0, 0]], np.int32), np.array([3, 2, 1], np.int32)
    frames = np.array([6, 5, 4], np.int32)
    want = keras_numpy("ops.nn.ctc_loss", target, logits, lengths, frames)
    got = numpy(ops.nn.ctc_loss(tensor(target), tensor(logits), tensor(lengths), tensor(frames)))
    assert_close(got, want.astype(np.float64), "loss", "float32", err_msg="ctc_loss against keras.ops.nn")


@pytest.mark.parametrize("merge_repeated", [True, False])
def test_ctc_decode_equals_keras(engine, merge_repeated):
    logits, lengths = _RNG.normal(size=(3, 7, 4)).astype(np.float32), np.array([7, 4, 0], np.int32)
    want = keras_numpy("ops.nn.ctc_decode", logits, lengths, merge_repeated=merge_repeated, mask_index=1)
    got = ops.nn.ctc_decode(tensor(logits), tensor(lengths), merge_repeated=merge_repeated, mask_index=1)
    np.testing.assert_array_equal(numpy(got[0]), np.asarray(want[0]))
    assert_close(numpy(got[1]), np.asarray(want[1]).astype(np.float64), "reduction", "float32", err_msg="score")
    # beam search against Keras in test_ctc_beam_search.py
    beam = ops.ctc_decode(tensor(logits), tensor(lengths), strategy="beam_search", mask_index=1)
    assert numpy(beam[0]).shape == (1, 3, 7) and numpy(beam[1]).shape == (3, 1)


def test_sparsemax_lies_on_the_simplex(engine):
    x = np.array([[0.5, 1.0, -0.2], [2.0, 0.1, 1.9]], np.float32)
    got = numpy(ops.sparsemax(tensor(x)))
    np.testing.assert_allclose(got, [[0.25, 0.75, 0.0], [0.55, 0.0, 0.45]], atol=1e-6)


def test_saturate_cast_clips_to_the_target_range(engine):
    x = tensor(np.array([-3e9, -1.0, 300.0, 3e9], np.float32))
    np.testing.assert_array_equal(numpy(ops.saturate_cast(x, "uint8")), [0, 0, 255, 255])
    got = numpy(ops.saturate_cast(x, "int32"))
    assert got[0] == np.iinfo(np.int32).min and got[-1] > 2**31 - 200  # no wrap-around at either end


def test_grouped_query_attention_repeats_the_key_heads(engine):
    q, k, v = (_RNG.normal(size=s).astype(np.float32) for s in ((1, 4, 4, 8), (1, 6, 2, 8), (1, 6, 2, 8)))
    got = numpy(ops.dot_product_attention(tensor(q), tensor(k), tensor(v)))
    want = ops_nn_extra.attention(q.astype(np.float64), k, v)
    assert_close(got, want, "matmul", "float32", err_msg="grouped-query attention")


# ----------------------------------------------------------------- errors
@pytest.mark.parametrize("call, words", [
    (lambda: ops.switch(0, [], tensor(np.ones(2, np.float32))), "non-empty list of callables"),
    (lambda: ops.scan(lambda c, x: (c, c), tensor(np.zeros((), np.float32))), "positive int length"),
    (lambda: ops.unstack(tensor(np.ones((2, 3), np.float32)), num=3), "num equal to the size 2"),
    (lambda: ops.glu(tensor(np.ones((2, 3), np.float32))), "even size"),
    (lambda: ops.depth_to_space(tensor(np.ones((1, 2, 2, 3), np.float32)), 2), "divisible by 4"),
    (lambda: ops.space_to_depth(tensor(np.ones((2, 3), np.float32)), 2), "4-D images"),
    (lambda: ops.psnr(tensor(np.ones((2, 3), np.float32)), tensor(np.ones((3, 2), np.float32)), 1.0), "same shape"),
    (lambda: ops.adaptive_max_pool(tensor(np.ones((2, 3), np.float32)), 2), "1 to 3 spatial axes"),
    (lambda: ops.adaptive_average_pool(tensor(np.ones((1, 4, 4, 2), np.float32)), (2, 0)), "positive ints"),
    (lambda: ops.multi_hot(tensor(np.array([1, 2])), None), "positive int num_classes"),
    (lambda: ops.dot_product_attention(*(tensor(np.ones((2, 3, 4), np.float32)),) * 3), "query (batch, T, heads"),
    (lambda: ops.dot_product_attention(tensor(np.ones((1, 2, 3, 4), np.float32)),
                                       *(tensor(np.ones((1, 2, 2, 4), np.float32)),) * 2), "multiple of kv_heads"),
])
def test_bad_inputs_name_the_op(engine, call, words):
    with pytest.raises((ValueError, TypeError), match=words.replace("(", r"\(")):
        call()
