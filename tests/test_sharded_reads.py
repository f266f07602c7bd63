"""Reads of variables with sharded storage (the shared half of fully sharded
data parallelism), on every engine, with a stand-in sharding: the stored
value is half the whole one, "gathering" doubles it (a real shard, torch's
DTensor, also keeps the whole shape)."""

from __future__ import annotations

import numpy as np
import pytest

import polykeras as pk
from polykeras import ops
from polykeras.variables import StatelessScope, gather_frame, sharded_variables_exist, whole_values


class Halves:
    """A stand-in engine sharding: a variable stores half its value; counts its gathers."""

    def __init__(self):
        self.shards: list = []
        self.gathers = 0

    def is_shard(self, value):
        return any(value is shard for shard in self.shards)

    def gather(self, shard):
        self.gathers += 1
        return ops.multiply(shard, 2.0)

    def store(self, variable, engine):
        shard = engine.convert_to_tensor(variable.numpy() / 2)
        self.shards.append(shard)
        variable._set_storage(shard, self)


class TwiceReading(pk.layers.Layer):
    """Reads its kernel twice per call, and calls a sub-layer that reads it again."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.inner = pk.layers.Lambda(lambda x: ops.matmul(x, self.kernel.value))

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(4, 4), initializer="ones", name="kernel")

    def call(self, x):
        return ops.matmul(x, self.kernel.value) + ops.matmul(x, self.kernel.value) + self.inner(x)


@pytest.fixture
def sharded_layer(engine):
    layer = TwiceReading()
    layer.build((None, 4))
    whole = layer.kernel.handle
    halves = Halves()
    halves.store(layer.kernel, engine)
    try:
        yield layer, halves
    finally:
        layer.kernel._set_storage(whole)  # the layer's storage whole again
    assert not sharded_variables_exist()


def test_outside_a_layer_call_the_shard_is_read(sharded_layer, engine):
    layer, halves = sharded_layer
    assert sharded_variables_exist()
    np.testing.assert_array_equal(engine.to_numpy(layer.kernel.value), np.full((4, 4), 0.5))  # as stored
    assert halves.gathers == 0


def test_repr_shows_no_numbers_of_a_shard(sharded_layer, engine, monkeypatch):
    """Showing them would gather: a collective a single process cannot make alone."""
    layer, halves = sharded_layer
    monkeypatch.setattr(engine, "holds_part", halves.is_shard, raising=False)
    assert "value=<sharded>" in repr(layer.kernel) and halves.gathers == 0
    with gather_frame():
        assert "value=[[1., 1.," in repr(layer.kernel)


def test_a_layer_call_gathers_each_weight_once(sharded_layer, engine):
    layer, halves = sharded_layer
    out = layer(np.ones((3, 4), "float32"))
    np.testing.assert_allclose(engine.to_numpy(out), np.full((3, 4), 12.0))  # three products with the whole kernel
    assert halves.gathers == 1  # two reads in the call and one in the sub-layer's call: one gather
    layer(np.ones((3, 4), "float32"))
    assert halves.gathers == 2  # dropped when the call returned: the next call gathers again


def test_reads_through_a_stateless_scope_are_gathered_too(sharded_layer, engine):
    layer, halves = sharded_layer
    shard = halves.shards[0]
    with StatelessScope([(layer.kernel, shard)]):
        layer(np.ones((1, 4), "float32"))
    assert halves.gathers == 1
    with StatelessScope([(layer.kernel, np.zeros((4, 4), "float32"))]):  # a whole value: read as it is
        out = layer(np.ones((1, 4), "float32"))
    np.testing.assert_allclose(engine.to_numpy(out), np.zeros((1, 4)))
    assert halves.gathers == 1


def test_gather_frame_outside_layers(sharded_layer, engine):
    layer, _ = sharded_layer
    with gather_frame():
        np.testing.assert_array_equal(engine.to_numpy(layer.kernel.value), np.ones((4, 4)))
    np.testing.assert_array_equal(engine.to_numpy(layer.kernel.value), np.full((4, 4), 0.5))


def test_regularization_losses_read_whole_weights(engine):
    layer = pk.layers.Dense(3, kernel_regularizer=pk.regularizers.L2(0.5), kernel_initializer="ones")
    layer.build((None, 4))
    whole = layer.kernel.handle
    halves = Halves()
    halves.store(layer.kernel, engine)
    try:
        [loss] = layer.losses
    finally:
        layer.kernel._set_storage(whole)
    np.testing.assert_allclose(float(engine.to_numpy(loss)), 0.5 * 4 * 3)  # the whole kernel's, not the half's
    assert halves.gathers == 1


def test_whole_values_maps_what_the_engine_gathers(engine, monkeypatch):
    """Without parts (engine.holds_part) it maps nothing and gathers nothing;
    with them, reads inside return the whole values the engine gathered."""
    v, w = pk.Variable(np.arange(4, dtype="float32")), pk.Variable(np.zeros(2, "float32"))
    with whole_values([v, w, "not a variable"]):
        assert v.value is v.handle
    part = v.handle
    gathered = []
    monkeypatch.setattr(engine, "holds_part", lambda value: value is part, raising=False)
    monkeypatch.setattr(engine, "gather_whole",
                        lambda values: gathered.extend(values) or [np.full(4, 7.0, "float32")], raising=False)
    assert "value=<sharded>" in repr(v)
    with whole_values([v, w]):
        np.testing.assert_array_equal(v.numpy(), np.full(4, 7.0))
        assert w.value is w.handle
    assert len(gathered) == 1 and gathered[0] is part  # only the part was gathered
    monkeypatch.undo()
    np.testing.assert_array_equal(v.numpy(), np.arange(4))


def test_engines_without_parts_refuse_to_gather(engine):
    if engine.name in ("torch", "jax"):
        pytest.skip("these engines hold parts (tests/distribution)")
    assert not engine.holds_part(engine.ones((2,)))
    with pytest.raises(NotImplementedError, match=f"'{engine.name}' engine stores no value in parts"):
        engine.gather_whole([engine.ones((2,))])
