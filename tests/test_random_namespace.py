"""``polykeras.random`` as ``keras.random``: the same names, signatures and
defaults (introspected from Keras 3), the same output shapes and dtypes for
the same calls, clear errors, and ``SeedGenerator``'s Keras arguments, on
every engine. (The distributions themselves: tests/ops/test_random*.py.)"""

from __future__ import annotations

import numpy as np
import pytest

import polykeras
from polykeras import config, ops, random

from _keras_api import assert_same_api
from layers.keras_reference import import_keras

# One shape for the gamma-based draws: JAX compiles their kernels per shape
# (seconds each), and tests/ops/test_random_distributions.py uses it too.
N = 20000

CALLS = {
    "normal": ("normal", ((3, 4),), {}),
    "normal_f16": ("normal", ((3, 4),), {"dtype": "float16", "mean": 1.0, "stddev": 2.0}),
    "uniform": ("uniform", ((5,),), {"minval": -1.0, "maxval": 2.0}),
    "truncated_normal": ("truncated_normal", ((2, 2),), {}),
    "randint": ("randint", ((6,), 0, 5), {}),
    "randint_i8": ("randint", ((6,), -3, 5), {"dtype": "int8"}),
    "gamma": ("gamma", ((N,), 2.0), {}),
    "beta": ("beta", ((N,), 2.0, 3.0), {}),
    "binomial": ("binomial", ((N,), 5, 0.5), {}),
    "binomial_int": ("binomial", ((N,), 5, 0.5), {"dtype": "int32"}),
    "categorical": ("categorical", (np.zeros((2, 3), np.float32), 4), {}),
    "dropout": ("dropout", (np.ones((2, 3), np.float32), 0.5), {}),
    "shuffle": ("shuffle", (np.arange(6.0, dtype=np.float32).reshape(3, 2),), {"axis": 1}),
}


def test_names_and_signatures_match_keras(engine):
    keras = import_keras()
    assert_same_api(random, keras.random)
    assert polykeras.random is random


@pytest.mark.parametrize("case", list(CALLS))
def test_shapes_and_dtypes_match_keras(engine, case):
    keras = import_keras()
    name, args, kwargs = CALLS[case]
    theirs = np.asarray(getattr(keras.random, name)(*args, seed=1, **kwargs))
    ours = getattr(random, name)(*[ops.convert_to_tensor(a) if isinstance(a, np.ndarray) else a for a in args],
                                 seed=1, **kwargs)
    assert tuple(ops.shape(ours)) == theirs.shape
    assert ops.dtype(ours) == keras.backend.standardize_dtype(theirs.dtype), case


def test_default_dtypes_follow_floatx(engine):
    saved = config.floatx()
    try:
        config.set_floatx("float16")
        assert ops.dtype(random.normal((2,), seed=0)) == "float16"
        assert ops.dtype(random.uniform((2,), seed=0)) == "float16"
        assert ops.dtype(random.truncated_normal((2,), seed=0)) == "float16"
    finally:
        config.set_floatx(saved)


def test_seed_generator_keras_arguments(engine):
    keras = import_keras()
    ours, theirs = random.SeedGenerator(7, name="gen"), keras.random.SeedGenerator(7, name="gen")
    assert ours.get_config() == theirs.get_config() == {"seed": 7, "name": "gen"}
    assert tuple(ours.state.shape) == tuple(theirs.state.shape) and ours.state.dtype == "int32"
    a, b = random.normal((4,), seed=ours), random.normal((4,), seed=ours)
    assert not np.array_equal(ops.to_numpy(a), ops.to_numpy(b))
    other = "numpy" if engine.name != "numpy" else "jax"
    held = random.SeedGenerator(1, backend=other)
    assert held.state.engine.name == other
    with pytest.raises(ValueError, match=r"SeedGenerator: unrecognized keyword arguments \['colour'\]"):
        random.SeedGenerator(1, colour="red")


@pytest.mark.parametrize("call, message", [
    (lambda: random.randint((2,), 0, 5, dtype="float32"),
     "randint: expected an integer dtype, received dtype='float32'"),
    (lambda: random.randint((2,), 5, 5), "randint: expected int bounds minval < maxval, received minval=5, maxval=5"),
    (lambda: random.randint((2,), 0.5, 5), "randint: expected int bounds minval < maxval"),
    (lambda: random.gamma((2,), 0.0), r"gamma: expected a positive alpha, received alpha=0.0"),
    (lambda: random.gamma((2,), 1.0, dtype="int32"), "gamma: expected a float dtype, received dtype='int32'"),
    (lambda: random.beta((2,), 1.0, -1.0), "beta: expected a positive beta, received beta=-1.0"),
    (lambda: random.binomial((2,), 5, 1.5),
     r"binomial: expected probabilities in \[0, 1\], received probabilities=1.5"),
    (lambda: random.binomial((2,), -1, 0.5), "binomial: expected counts >= 0, received counts=-1"),
    (lambda: random.normal((2, -1)), r"normal: expected a shape of non-negative ints, received \(2, -1\)"),
])
def test_bad_arguments_are_named(engine, call, message):
    with pytest.raises(ValueError, match=message):
        call()
