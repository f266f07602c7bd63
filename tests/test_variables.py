"""Variable, StatelessScope, name scopes and SeedGenerator on every engine."""

from __future__ import annotations

import numpy as np
import pytest

import polykeras.random as pk_random
from polykeras import constraints, ops, regularizers
from polykeras.random import SeedGenerator
from polykeras.variables import StatelessScope, Variable, in_stateless_scope, name_scope


def test_properties_and_handle_on_active_engine(engine):
    v = Variable("zeros", shape=(2, 3), name="kernel", trainable=False)
    assert (v.shape, v.dtype, v.name, v.path, v.trainable) == ((2, 3), "float32", "kernel", "kernel", False)
    assert v.engine is engine and engine.is_tensor(v.value)
    assert v.aggregation == "none" and v.synchronization == "auto"
    np.testing.assert_array_equal(v.numpy(), np.zeros((2, 3), "float32"))
    assert "kernel" in repr(v) and engine.name in repr(v)


def test_values_set_dtype_and_shape(engine):
    assert Variable(np.arange(3, dtype="int32")).dtype == "int32"
    assert Variable(1.5).dtype == "float32" and Variable(1.5).shape == ()
    assert Variable([1.0, 2.0], dtype="float16").dtype == "float16"
    with pytest.raises(ValueError, match="expected a shape"):
        Variable("glorot_uniform")
    with pytest.raises(ValueError, match="aggregation"):
        Variable(0.0, aggregation="max")


def test_name_scopes_make_paths(engine):
    with name_scope("encoder"):
        with name_scope("dense_1"):
            v = Variable(0.0, name="bias")
    assert v.path == "encoder/dense_1/bias" and v.name == "bias"


def test_assign_family_and_shape_errors(engine):
    v = Variable(np.ones(3, "float32"), name="w")
    v.assign(np.full(3, 2.0))
    v.assign_add(np.ones(3, "float32"))
    v.assign_sub(0.5)
    np.testing.assert_array_equal(v.numpy(), [2.5, 2.5, 2.5])
    with pytest.raises(ValueError, match=r"variable 'w' expected a value of shape \(3,\), received shape \(2,\)"):
        v.assign(np.ones(2))


def test_operators_and_array_protocol(engine):
    v = Variable(np.array([1.0, -2.0], "float32"))
    np.testing.assert_array_equal(ops.to_numpy(v + 1), [2.0, -1.0])
    np.testing.assert_array_equal(ops.to_numpy(2 * v), [2.0, -4.0])
    np.testing.assert_array_equal(ops.to_numpy(v @ v), 5.0)
    np.testing.assert_array_equal(ops.to_numpy(-v), [-1.0, 2.0])
    np.testing.assert_array_equal(ops.to_numpy(v > 0), [True, False])
    np.testing.assert_array_equal(np.asarray(v), [1.0, -2.0])
    np.testing.assert_array_equal(ops.to_numpy(ops.concatenate([v, v])), [1, -2, 1, -2])
    np.testing.assert_array_equal(ops.to_numpy(ops.add(ops.ones((2,)), v)), [2.0, -1.0])


def test_stateless_scope_reads_and_records(engine):
    v = Variable(np.zeros(2, "float32"), name="count")
    with StatelessScope([(v, np.ones(2, "float32"))]) as scope:
        assert in_stateless_scope()
        np.testing.assert_array_equal(ops.to_numpy(v.value), [1, 1])
        v.assign_add(np.ones(2, "float32"))
        np.testing.assert_array_equal(ops.to_numpy(v.value), [2, 2])  # reads see the update
    assert not in_stateless_scope()
    np.testing.assert_array_equal(v.numpy(), [0, 0])
    (var, new), = scope.updates
    assert var is v
    np.testing.assert_array_equal(ops.to_numpy(new), [2, 2])


def test_nested_scopes_read_outward_and_write_inward(engine):
    a, b = Variable(0.0, name="a"), Variable(0.0, name="b")
    with StatelessScope({a: 1.0}) as outer:
        with StatelessScope({b: 2.0}) as inner:
            assert float(ops.to_numpy(a.value)) == 1.0 and float(ops.to_numpy(b.value)) == 2.0
            a.assign(5.0)
        assert outer.updates == [] and float(ops.to_numpy(inner.get_current_value(a))) == 5.0
        assert float(ops.to_numpy(a.value)) == 1.0


def test_stateless_scope_checks_mapping(engine):
    v = Variable(np.zeros(2, "float32"), name="v")
    with pytest.raises(ValueError, match="variable 'v' expected a value of shape"):
        StatelessScope([(v, np.zeros(3))])
    with pytest.raises(TypeError, match="Variable, value"):
        StatelessScope([("v", 1.0)])


def test_constraint_and_regularizer_travel_with_the_variable(engine):
    v = Variable(np.array([[3.0, -4.0]], "float32"), constraint=constraints.NonNeg(),
                 regularizer=regularizers.L1(0.5))
    np.testing.assert_allclose(float(ops.to_numpy(v.regularizer(v))), 3.5)
    v.apply_constraint()
    np.testing.assert_array_equal(v.numpy(), [[3.0, 0.0]])
    with StatelessScope() as scope:  # the update goes to the scope inside a compiled step
        v.assign(np.array([[-1.0, 1.0]], "float32"))
        v.apply_constraint()
    np.testing.assert_array_equal(ops.to_numpy(scope.get_current_value(v)), [[0.0, 1.0]])


def test_jit_state_threaded_through_scope(diff_engine):
    v = Variable(np.zeros((), "float32"), trainable=False, name="steps")

    def step(value, x):
        with StatelessScope([(v, value)]) as scope:
            v.assign_add(ops.sum(x))
        return scope.get_current_value(v)

    compiled = ops.jit(step)
    value = ops.convert_to_tensor(np.float32(0.0))
    for _ in range(3):
        value = compiled(value, ops.ones((2,)))
    assert float(ops.to_numpy(value)) == 6.0 and float(v.numpy()) == 0.0


# ------------------------------------------------------------ randomness
def test_seed_generator_advances_and_reproduces(engine):
    gen = SeedGenerator(7)
    assert gen.state.dtype == "int32" and gen.state.shape == (2,) and not gen.state.trainable
    a = ops.to_numpy(ops.random.uniform((4,), seed=gen))
    b = ops.to_numpy(ops.random.uniform((4,), seed=gen))
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(gen.state.numpy(), [7, 2])
    again = SeedGenerator(7)
    np.testing.assert_array_equal(ops.to_numpy(ops.random.uniform((4,), seed=again)), a)
    assert SeedGenerator.from_config(gen.get_config())._initial_seed == 7


def test_seed_generator_inside_jit(diff_engine):
    gen = SeedGenerator(3)

    def draw(state):
        with StatelessScope([(gen.state, state)]) as scope:
            x = ops.random.normal((3,), seed=gen)
        return x, scope.get_current_value(gen.state)

    compiled = ops.jit(draw)
    state = ops.convert_to_tensor(gen.state.numpy())
    x1, state = compiled(state)
    x2, state = compiled(state)
    assert not np.array_equal(ops.to_numpy(x1), ops.to_numpy(x2))
    np.testing.assert_array_equal(ops.to_numpy(state), [3, 2])
    np.testing.assert_array_equal(gen.state.numpy(), [3, 0])


def test_set_seed_makes_unseeded_draws_reproducible(engine):
    from polykeras import initializers

    pk_random.set_seed(123)
    first = initializers.GlorotUniform().host_values((3, 3))
    gen_seed = SeedGenerator()._initial_seed
    pk_random.set_seed(123)
    np.testing.assert_array_equal(initializers.GlorotUniform().host_values((3, 3)), first)
    assert SeedGenerator()._initial_seed == gen_seed
    with pytest.raises(TypeError, match="int seed"):
        pk_random.set_seed("1")
