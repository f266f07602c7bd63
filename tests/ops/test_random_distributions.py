"""``ops.random``'s gamma, beta, binomial and randint on every engine: shapes,
dtypes, ranges and moments (means at 5 standard errors, variances at 5
standard errors estimated from the sample), broadcast parameters, seeding,
and draws inside a compiled function equal to eager ones.

Every draw has the shape (N,) so that JAX, whose gamma and binomial kernels
take seconds to compile, compiles each once."""

from __future__ import annotations

import numpy as np
import pytest

from polykeras import ops
from polykeras.backends.base import Backend

from ._helpers import need, numpy, tensor

COVERED = {"random.randint", "random.gamma", "random.beta", "random.binomial"}

N = 20000
GROUPS = 4  # parameters cycle through GROUPS values; every group has N / GROUPS draws


def _cycled(values):
    return tensor(np.tile(np.asarray(values, np.float32), N // GROUPS))


def _by_group(x):
    return [x[i::GROUPS].astype(np.float64) for i in range(GROUPS)]


def _moments_near(x, mean, var, what):
    assert abs(x.mean() - mean) < 5 * np.sqrt(var / x.size), (what, x.mean(), mean)
    fourth = ((x - x.mean()) ** 4).mean()  # the sample variance's standard error, from the sample itself
    assert abs(x.var() - var) < 5 * np.sqrt(max(fourth - x.var() ** 2, 0.0) / x.size) + 1e-6, (what, x.var(), var)


def test_gamma_moments_with_broadcast_alpha(engine):
    alphas = [0.5, 1.0, 3.0, 8.0]
    out = ops.random.gamma((N,), _cycled(alphas), seed=1)
    assert ops.shape(out) == (N,) and ops.dtype(out) == "float32"
    x = numpy(out)
    assert x.min() > 0.0
    for group, alpha in zip(_by_group(x), alphas):
        _moments_near(group, alpha, alpha, f"gamma({alpha})")


def test_beta_moments(engine):
    alphas, beta = [0.5, 2.0, 5.0, 1.0], 2.0
    x = numpy(ops.random.beta((N,), _cycled(alphas), beta, seed=3))
    assert x.min() >= 0.0 and x.max() <= 1.0
    for group, a in zip(_by_group(x), alphas):
        _moments_near(group, a / (a + beta), a * beta / ((a + beta) ** 2 * (a + beta + 1)), f"beta({a}, {beta})")


@pytest.mark.parametrize("dtype", ["float32", "int32"])
def test_binomial_moments_and_dtype(engine, dtype):
    counts, probs = [1.0, 5.0, 20.0, 10.0], [0.9, 0.5, 0.1, 0.3]
    out = ops.random.binomial((N,), _cycled(counts), _cycled(probs), dtype=dtype, seed=4)
    assert ops.dtype(out) == dtype
    x = numpy(out)
    assert np.array_equal(x, np.round(x)) and x.min() >= 0
    for group, n, p in zip(_by_group(x), counts, probs):
        assert group.max() <= n
        _moments_near(group, n * p, n * p * (1 - p), f"binomial({n}, {p})")
    scalar = numpy(ops.random.binomial((N,), 10, 0.3, seed=5))
    _moments_near(scalar.astype(np.float64), 3.0, 2.1, "binomial(10, 0.3)")


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8"])
def test_randint_range_and_uniformity(engine, dtype):
    need(dtype)
    out = ops.random.randint((N,), 3, 9, dtype=dtype, seed=7)
    assert ops.shape(out) == (N,) and ops.dtype(out) == dtype
    x = numpy(out)
    assert x.min() == 3 and x.max() == 8
    freq = np.bincount(x.astype(np.int64) - 3, minlength=6) / N
    assert np.all(np.abs(freq - 1 / 6) < 0.015), freq
    negative = numpy(ops.random.randint((N,), -5, -2, seed=8))
    assert set(negative.tolist()) == {-5, -4, -3}


def test_portable_randint_matches_its_contract(engine):
    x = numpy(Backend.randint(engine, (N,), ops.random.seed_tensor(9), -2, 3, "int32"))
    assert x.dtype == np.int32 and set(x.tolist()) == {-2, -1, 0, 1, 2}


@pytest.mark.parametrize("name, args", [
    ("gamma", ((N,), 2.0)), ("beta", ((N,), 2.0, 3.0)), ("binomial", ((N,), 20, 0.5)), ("randint", ((N,), 0, 1000)),
])
def test_same_seed_same_values_different_seed_different_values(engine, name, args):
    draw = getattr(ops.random, name)
    a, b, c = numpy(draw(*args, seed=42)), numpy(draw(*args, seed=42)), numpy(draw(*args, seed=43))
    np.testing.assert_array_equal(a, b, err_msg=f"{name}: the same seed gave different values")
    assert not np.array_equal(a, c), f"{name}: seeds 42 and 43 gave the same values"


def test_compiled_draws_equal_eager_draws(diff_engine):
    def draws(seed):
        return ops.random.gamma((N,), 2.0, seed=seed), ops.random.randint((N,), 0, 100, seed=seed)

    seed = ops.random.seed_tensor(3)
    for eager, compiled in zip(draws(seed), ops.jit(draws)(seed)):
        np.testing.assert_allclose(numpy(eager), numpy(compiled), rtol=1e-6)


def test_an_engine_without_gamma_or_binomial_says_so(engine):
    seed = ops.random.seed_tensor(0)
    with pytest.raises(NotImplementedError, match=f"The '{engine.name}' engine has no gamma draws"):
        Backend.random_gamma(engine, (2,), seed, 1.0)
    with pytest.raises(NotImplementedError, match=f"The '{engine.name}' engine has no binomial draws"):
        Backend.random_binomial(engine, (2,), seed, 3, 0.5)
