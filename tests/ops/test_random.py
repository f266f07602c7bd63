"""``ops.random`` on every engine: shapes, dtypes, ranges and moments, seeding
(same seed same numbers, different seeds different numbers), dropout's rate and
scaling, shuffle as a permutation. Moments are checked at ~5 standard errors, so
a correct engine fails with probability well under 1e-5."""

from __future__ import annotations

import numpy as np
import pytest

from conformance import reference as ref
from polykeras import ops

from ._helpers import need, numpy, tensor

COVERED = {"random.normal", "random.uniform", "random.truncated_normal", "random.categorical", "random.dropout",
           "random.shuffle", "random.seed_tensor", "random.set_global_seed"}

N = 20000  # draws for moment checks: standard error of a mean ~ 0.007 * stddev


def _draw(name, *args, **kwargs):
    return getattr(ops.random, name)(*args, **kwargs)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_normal(engine, dtype):
    need(dtype)
    out = ops.random.normal((N,), mean=2.0, stddev=3.0, dtype=dtype, seed=1)
    assert ops.shape(out) == (N,) and ops.dtype(out) == dtype
    x = numpy(out).astype(np.float64)
    assert abs(x.mean() - 2.0) < 5 * 3.0 / np.sqrt(N), x.mean()
    assert abs(x.std() - 3.0) < 5 * 3.0 / np.sqrt(2 * N), x.std()
    # a normal, not just any distribution with those moments
    assert abs(((x - 2.0) / 3.0 > 1.0).mean() - 0.158655) < 0.02


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_uniform(engine, dtype):
    need(dtype)
    out = ops.random.uniform((100, N // 100), minval=-1.0, maxval=3.0, dtype=dtype, seed=2)
    assert ops.shape(out) == (100, N // 100) and ops.dtype(out) == dtype
    x = numpy(out).astype(np.float64)
    assert x.min() >= -1.0 and x.max() < 3.0, (x.min(), x.max())
    assert abs(x.mean() - 1.0) < 5 * 4.0 / np.sqrt(12 * N), x.mean()
    counts = np.histogram(x, bins=4, range=(-1, 3))[0] / x.size
    assert np.all(np.abs(counts - 0.25) < 0.02), counts


def test_truncated_normal(engine):
    out = ops.random.truncated_normal((N,), mean=1.0, stddev=2.0, seed=3)
    assert ops.shape(out) == (N,) and ops.dtype(out) == "float32"
    x = numpy(out).astype(np.float64)
    assert x.min() >= 1.0 - 4.0 and x.max() <= 1.0 + 4.0, (x.min(), x.max())
    assert abs(x.mean() - 1.0) < 0.05, x.mean()
    # the standard deviation of a normal truncated at +-2 sigma is 0.8796 sigma
    assert abs(x.std() - 2.0 * 0.879626) < 0.05, x.std()


def test_categorical(engine):
    logits = np.log(np.array([[0.1, 0.2, 0.7], [0.5, 0.5, 0.0]], np.float32) + 1e-12).astype(np.float32)
    out = ops.random.categorical(tensor(logits), 4000, seed=4)
    assert ops.shape(out) == (2, 4000) and ops.dtype(out) == "int32"
    x = numpy(out)
    assert x.min() >= 0 and x.max() <= 2
    freq = np.stack([np.bincount(row, minlength=3) / row.size for row in x])
    expected = ref.softmax(logits)
    assert np.all(np.abs(freq - expected) < 0.04), (freq, expected)


def test_categorical_int64(engine):
    need("int64")
    out = ops.random.categorical(tensor(np.zeros((1, 3), np.float32)), 5, dtype="int64", seed=0)
    assert ops.dtype(out) == "int64"


@pytest.mark.parametrize("name, args", [
    ("normal", ((3, 4),)), ("uniform", ((3, 4),)), ("truncated_normal", ((3, 4),)),
])
def test_same_seed_same_values_different_seed_different_values(engine, name, args):
    a = numpy(_draw(name, *args, seed=42))
    b = numpy(_draw(name, *args, seed=42))
    c = numpy(_draw(name, *args, seed=43))
    np.testing.assert_array_equal(a, b, err_msg=f"{name}: the same seed gave different values")
    assert not np.array_equal(a, c), f"{name}: seeds 42 and 43 gave the same values"
    assert len(np.unique(a)) == a.size, f"{name}: repeated values within one draw"


def test_unseeded_draws_differ_and_global_seed_reproduces(engine):
    a, b = numpy(ops.random.normal((8,))), numpy(ops.random.normal((8,)))
    assert not np.array_equal(a, b), "two unseeded draws gave the same values"
    ops.random.set_global_seed(7)
    first = numpy(ops.random.uniform((8,)))
    ops.random.set_global_seed(7)
    again = numpy(ops.random.uniform((8,)))
    np.testing.assert_array_equal(first, again, err_msg="set_global_seed did not make unseeded draws reproducible")


def test_seed_tensor(engine):
    seed = ops.random.seed_tensor(5)
    assert ops.is_tensor(seed) and ops.shape(seed) == (2,) and ops.dtype(seed) == "int32"
    np.testing.assert_array_equal(numpy(ops.random.normal((4,), seed=seed)), numpy(ops.random.normal((4,), seed=5)))
    assert ops.shape(ops.random.seed_tensor(None)) == (2,)


def test_seed_generator_advances(engine):
    from polykeras.random import SeedGenerator

    gen, twin = SeedGenerator(11), SeedGenerator(11)
    first, second = numpy(ops.random.normal((4,), seed=gen)), numpy(ops.random.normal((4,), seed=gen))
    assert not np.array_equal(first, second), "a SeedGenerator gave the same draw twice"
    np.testing.assert_array_equal(first, numpy(ops.random.normal((4,), seed=twin)))


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_dropout_rate_and_scaling(engine, rate):
    x = np.full((200, 100), 2.0, np.float32)
    out = numpy(ops.random.dropout(tensor(x), rate, seed=9))
    assert out.shape == x.shape and out.dtype == np.float32
    zeros = out == 0.0
    assert abs(zeros.mean() - rate) < 5 * np.sqrt(rate * (1 - rate) / x.size), zeros.mean()
    np.testing.assert_allclose(out[~zeros], 2.0 / (1.0 - rate), rtol=1e-6)


def test_dropout_noise_shape_and_rate_zero(engine):
    x = np.ones((64, 5), np.float32)
    out = numpy(ops.random.dropout(tensor(x), 0.5, noise_shape=(64, 1), seed=1))
    rows_zero = np.all(out == 0.0, axis=1)
    rows_kept = np.all(out == 2.0, axis=1)
    assert np.all(rows_zero | rows_kept), "noise_shape (64, 1) must drop whole rows"
    assert 0 < rows_zero.sum() < 64
    np.testing.assert_array_equal(numpy(ops.random.dropout(tensor(x), 0.0, seed=1)), x)
    same = numpy(ops.random.dropout(tensor(x), 0.5, seed=3))
    np.testing.assert_array_equal(same, numpy(ops.random.dropout(tensor(x), 0.5, seed=3)))


@pytest.mark.parametrize("axis", [0, 1])
def test_shuffle_is_a_permutation(engine, axis):
    x = np.arange(60, dtype=np.float32).reshape(20, 3) if axis == 0 else np.arange(60, dtype=np.float32).reshape(3, 20)
    out = numpy(ops.random.shuffle(tensor(x), axis=axis, seed=5))
    assert out.shape == x.shape
    np.testing.assert_array_equal(np.sort(out, axis=axis), x)
    # rows (axis 0) / columns (axis 1) move as units
    moved = out if axis == 0 else out.T
    original = x if axis == 0 else x.T
    assert {tuple(r) for r in moved} == {tuple(r) for r in original}
    assert not np.array_equal(out, x), "shuffle left 20 entries in order"
    np.testing.assert_array_equal(out, numpy(ops.random.shuffle(tensor(x), axis=axis, seed=5)))
