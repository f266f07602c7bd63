"""``Backend.compute_output_spec``: every engine evaluates a function on
abstract tensors (shapes and dtypes only) and hands back Specs; reads of
existing variables work inside, and variables created inside are real.
``polykeras.symbolic.trace_output_spec`` builds unknown sizes on it."""

from __future__ import annotations

import numpy as np
import pytest

from polykeras import ops, random
from polykeras.backends.base import Spec, in_abstract_evaluation
from polykeras.symbolic import SymbolicTensor, trace_output_spec
from polykeras.variables import Variable


def test_specs_of_a_function(engine):
    def fn(xs):
        x, ids = xs
        return [ops.matmul(x, ops.ones((4, 3))), ops.sum(ids, axis=0), None, 7]

    out = engine.compute_output_spec(fn, [Spec((5, 4), "float32"), Spec((5, 2), "int32")])
    assert out == [Spec((5, 3), "float32"), Spec((2,), "int32"), None, 7]


def test_reads_existing_variables_and_creates_real_ones(engine):
    kernel = Variable(np.full((4, 2), 2.0, "float32"), name="kernel")
    made = []

    def fn(xs):
        assert in_abstract_evaluation()
        made.append(Variable(np.ones((2,), "float32"), name="late"))
        return [ops.matmul(xs[0], kernel) + made[-1]]

    assert engine.compute_output_spec(fn, [Spec((3, 4), "float32")]) == [Spec((3, 2), "float32")]
    assert not in_abstract_evaluation()
    assert made[0].numpy().tolist() == [1.0, 1.0]  # a real value, usable on data afterwards
    assert engine.to_numpy(ops.matmul(np.ones((1, 4), "float32"), kernel) + made[0]).tolist() == [[9.0, 9.0]]


def test_unknown_sizes_stay_unknown(engine):
    x = SymbolicTensor((None, 9, 4), "float32")
    spec = trace_output_spec(lambda t: ops.max_pool(t, 2, 2, "valid", "channels_last"), x)
    assert spec == Spec((None, 4, 4), "float32")
    pooled = trace_output_spec(lambda t: ops.max_pool(t, 2, 2, "valid", "channels_last"),
                               SymbolicTensor((2, None, 4), "float32"))
    assert pooled == Spec((2, None, 4), "float32")


def test_structures_and_plain_leaves_come_back_in_place(engine):
    a, b = SymbolicTensor((None, 3), "float32"), SymbolicTensor((None,), "int32")
    out = trace_output_spec(lambda d: {"z": d["b"] * 2, "a": [d["a"], 1.5]}, {"b": b, "a": a})
    assert out == {"z": Spec((None,), "int32"), "a": [Spec((None, 3), "float32"), 1.5]}


def test_a_size_the_first_probe_cannot_take_is_retried(engine):
    x = SymbolicTensor((None, 1), "float32")
    assert trace_output_spec(lambda t: ops.reshape(t, (-1, 5)), x) == Spec((None, 5), "float32")


def test_errors_name_the_op(engine):
    with pytest.raises((ValueError, TypeError), match="matmul") as caught:  # the op's own error kind
        trace_output_spec(lambda t: ops.matmul(t, ops.ones((3, 2))), SymbolicTensor((None, 4), "float32"))
    assert "(While inferring output shapes: unknown sizes were taken as 24.)" in caught.value.__notes__


def test_seeded_random_draws_need_no_seed_values(engine):
    from polykeras import random
    from polykeras.random import SeedGenerator

    seeds = SeedGenerator(7)
    before = seeds.state.numpy().tolist()

    def fn(x):
        return [ops.add(x, random.normal(ops.shape(x), seed=seeds)), random.uniform((2,), seed=3)]

    out = trace_output_spec(fn, SymbolicTensor((None, 4), "float32"))
    assert out == [Spec((None, 4), "float32"), Spec((2,), "float32")]
    assert seeds.state.numpy().tolist() == before  # the evaluation drew nothing from the generator


def test_no_kernel_runs_whatever_the_sizes(engine):
    # Real kernels on these shapes would need terabytes; an abstract evaluation needs none.
    big = 2 ** 20

    def fn(xs):
        x, images, ids = xs
        hidden = ops.softmax(ops.relu(ops.matmul(x, ops.ones((big, 8)))), axis=-1)
        conv = ops.conv(images, ops.ones((3, 3, 3, 8)), 2, "same")
        pooled = ops.average_pool(ops.max_pool(conv, 2, 2, "valid"), 3, 1, "same")
        gathered = ops.take(ops.ones((10, 3)), ids, axis=0)
        mixed = ops.einsum("bij,bjk->bik", gathered, ops.swapaxes(gathered, 1, 2))
        noisy = ops.where(x > 0, x + random.normal((big, big), seed=1), ops.zeros_like(x))
        return [hidden, pooled, ops.sum(mixed, axis=(1, 2)), ops.cumsum(noisy, axis=0)[:, :5],
                ops.argsort(ops.concatenate([x, x], axis=0), axis=-1)[:2]]

    specs = [Spec((big, big), "float32"), Spec((big // 64, 2048, 4096, 3), "float32"), Spec((big, 4), "int32")]
    assert engine.compute_output_spec(fn, specs) == [
        Spec((big, 8), "float32"), Spec((big // 64, 512, 1024, 8), "float32"), Spec((big,), "float32"),
        Spec((big, 5), "float32"), Spec((2, big), "int32")]
