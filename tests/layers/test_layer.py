"""The Layer base on every engine: lifecycle, tracking, weights, losses,
constraints, input specs, config capture, Keraflow's generic arguments
(calls, masks and compiled steps: test_layer_calls.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from polykeras import constraints, initializers, ops, regularizers
from polykeras.layers import InputSpec, Layer
from polykeras.random import SeedGenerator
from polykeras.saving.registry import SerializationError

from ._toy_layers import Block, Counter, Linear, MyLayer
from ._toy_layers import sample as _x
from .helpers import check_layer


# ------------------------------------------------------------- lifecycle
def test_seed_003_layer_works_unchanged(engine):
    layer = MyLayer(3)
    assert not layer.built
    y = layer(_x((2, 4)))
    assert layer.built and ops.shape(y) == (2, 3)
    assert [w.name for w in layer.trainable_weights] == ["kernel"]
    expected = _x((2, 4)) @ layer.get_weights()[0]
    np.testing.assert_allclose(ops.to_numpy(y), expected, rtol=1e-5, atol=1e-6)
    assert layer.get_config()["output_dim"] == 3


def test_check_layer_helper_runs(engine):
    check_layer(lambda: Linear(3), (2, 5))
    check_layer(lambda: MyLayer(2), (3, 4))


def test_auto_names_are_unique_snake_case(engine):
    a, b = Linear(), Linear()
    assert a.name.startswith("linear") and b.name.startswith("linear") and a.name != b.name
    assert Counter(name="c").name == "c"
    with pytest.raises(ValueError, match="name"):
        Linear(name="a/b")


def test_build_at_construction_with_input_shape(engine):
    layer = Linear(3, input_shape=(5,))
    assert layer.built and layer.kernel.shape == (5, 3)
    assert Linear(2, input_dim=4).kernel.shape == (4, 2)


def test_unknown_kwarg_and_missing_super_init_are_errors(engine):
    with pytest.raises(ValueError, match="Unrecognized keyword arguments passed to Linear"):
        Linear(3, unitz=4)

    class Forgetful(Layer):
        def __init__(self):
            pass

    with pytest.raises(TypeError, match="super"):
        Forgetful()


def test_add_weight_defaults_follow_keras(engine):
    class Defaults(Layer):
        def build(self, shape):
            self.k = self.add_weight(shape=(4, 4))
            self.i = self.add_weight(shape=(3,), dtype="int32")
            self.s = self.add_weight()

    layer = Defaults()
    layer.build((None, 4))
    k = layer.k.numpy()
    limit = np.sqrt(6 / 8)
    assert np.all(np.abs(k) <= limit) and np.any(k != 0)  # glorot_uniform
    assert layer.i.dtype == "int32" and np.all(layer.i.numpy() == 0)
    assert layer.s.shape == () and [v.name for v in layer.weights] == ["variable", "variable_1", "variable_2"]


def test_duplicate_weight_names_are_an_error(engine):
    layer = Linear()
    layer.add_weight(shape=(1,), name="w")
    with pytest.raises(ValueError, match=f"Layer '{layer.name}' already has a weight named 'w'"):
        layer.add_weight(shape=(1,), name="w")


# ---------------------------------------------------------------- tracking
def test_nested_tracking_paths_and_order(engine):
    block = Block(name="block")
    block(_x())
    paths = [v.path for v in block.weights]
    inner = [block.parts[0].name, block.parts[1].name, block.table["extra"].name]
    assert paths == [
        f"block/{inner[0]}/kernel", f"block/{inner[0]}/bias",
        f"block/{inner[1]}/kernel", f"block/{inner[1]}/bias",
        f"block/{inner[2]}/kernel",
    ]
    assert len(set(paths)) == len(paths)
    assert [sub.name for sub in block._flatten_layers(include_self=False)] == inner


def test_keras_weight_order_trainable_first(engine):
    class Mixed(Layer):
        def build(self, shape):
            self.stat = self.add_weight(shape=(2,), trainable=False, name="stat")
            self.w = self.add_weight(shape=(2,), name="w")

    layer = Mixed()
    layer.build((None, 2))
    assert [v.name for v in layer.weights] == ["w", "stat"]
    assert [v.name for v in layer.non_trainable_weights] == ["stat"]


def test_variables_assigned_as_attributes_and_in_containers(engine):
    from polykeras.variables import Variable

    class Holder(Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.direct = Variable(np.zeros(2, "float32"), name="direct")
            self.listed = [Variable(np.ones(1, "float32"), name="listed", trainable=False)]
            self.seed = SeedGenerator(3)

        def call(self, x):
            return x

    h = Holder()
    assert [v.name for v in h.weights] == ["direct", "listed"]
    assert len(h.variables) == 3  # + the seed generator's state
    assert any(v is h.seed.state for v in h.non_trainable_variables)
    assert all(v is not h.seed.state for v in h.weights)


def test_embed_host_owns_weights_losses_and_constraints(engine):
    shared = Linear(2, name="shared", regularizers={"kernel": regularizers.L2(0.5)})
    shared.build((None, 3))

    class Host(Layer):
        def __init__(self, other, **kwargs):
            super().__init__(**kwargs)
            self.scale = self.add_weight(shape=(), initializer="ones", name="scale")
            self._other_ref = None
            self.embed(other)
            self._keep = other.name

        def call(self, x):
            return self.embed(shared)(x) * self.scale

    host = Host(shared)
    host(_x((2, 3)))
    assert [v.path for v in host.weights][1:] == ["shared/kernel", "shared/bias"]
    assert len(host.losses) == 1
    expected = 0.5 * np.sum(shared.kernel.numpy() ** 2)
    np.testing.assert_allclose(ops.to_numpy(host.losses[0]), expected, rtol=1e-5)


def test_trainable_toggling_is_recursive(engine):
    block = Block()
    block(_x())
    n = len(block.weights)
    block.parts[1].trainable = False
    assert len(block.trainable_weights) == n - 2
    block.trainable = False
    assert block.trainable_weights == [] and len(block.non_trainable_weights) == n
    assert all(not v.trainable for v in block.weights)
    block.trainable = True
    assert len(block.trainable_weights) == n


# ----------------------------------------------------------------- weights
def test_set_weights_errors_assign_nothing(engine):
    layer = Linear(3)
    layer(_x())
    before = layer.get_weights()
    with pytest.raises(ValueError, match=rf"Layer '{layer.name}'.set_weights: expected 2 arrays"):
        layer.set_weights([before[0]])
    bad = [np.ones((5, 3), "float32"), np.ones((4,), "float32")]
    with pytest.raises(ValueError) as info:
        layer.set_weights(bad)
    message = str(info.value)
    assert layer.name in message and "bias" in message and "(3,)" in message and "(4,)" in message
    for w, b in zip(layer.get_weights(), before):
        np.testing.assert_array_equal(w, b)  # the kernel was NOT written


def test_get_set_weights_round_trip_changes_outputs(engine):
    a, b = Linear(3), Linear(3)
    x = _x()
    ya = ops.to_numpy(a(x))
    b(x)
    b.set_weights(a.get_weights())
    np.testing.assert_allclose(ops.to_numpy(b(x)), ya, rtol=1e-6)


# ------------------------------------------------------------------ losses
def test_add_loss_cleared_each_outer_call_and_nested(engine):
    class Penalised(Layer):
        def call(self, x):
            self.add_loss(ops.sum(x))
            return x

    class Wrapper(Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.inner = Penalised()

        def call(self, x):
            return self.inner(self.inner(x))

    w = Wrapper()
    w(np.ones((2, 2), "float32"))
    assert len(w.losses) == 2
    w(np.ones((2, 2), "float32"))
    assert len(w.losses) == 2  # cleared at the start of the outer call
    assert [float(ops.to_numpy(loss)) for loss in w.inner.losses] == [4.0, 4.0]


def test_regularization_losses_nested_and_on_demand(engine):
    class Regularised(Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.a = Linear(2, regularizers={"kernel": "l2"})
            self.b = Linear(2, regularizers=[regularizers.L1(0.1), regularizers.L1(0.2)])

        def call(self, x):
            return self.b(self.a(x))

    layer = Regularised()
    layer(_x((2, 3)))
    losses = [float(ops.to_numpy(loss)) for loss in layer.losses]
    ka, kb, bb = layer.a.kernel.numpy(), layer.b.kernel.numpy(), layer.b.bias.numpy()
    np.testing.assert_allclose(losses, [0.01 * np.sum(ka**2), 0.1 * np.sum(np.abs(kb)), 0.2 * np.sum(np.abs(bb))],
                               rtol=1e-5)
    layer.a.kernel.assign(np.zeros_like(ka))
    assert float(ops.to_numpy(layer.losses[0])) == 0.0  # computed from the current value
    layer.trainable = False
    assert layer.losses == []


def test_activity_regularizer_divides_by_batch(engine):
    layer = Linear(2, activity_regularizer=regularizers.L1(1.0))
    y = ops.to_numpy(layer(_x((4, 3))))
    np.testing.assert_allclose(float(ops.to_numpy(layer.losses[0])), np.abs(y).sum() / 4, rtol=1e-5)


# --------------------------------------------------------------- constraints
@pytest.mark.parametrize("constraint, check", [
    (constraints.MaxNorm(1.0), lambda w: np.all(np.linalg.norm(w, axis=0) <= 1.0 + 1e-5)),
    (constraints.UnitNorm(), lambda w: np.allclose(np.linalg.norm(w, axis=0), 1.0, atol=1e-5)),
    (constraints.NonNeg(), lambda w: np.all(w >= 0)),
    (constraints.MinMaxNorm(0.5, 0.8), lambda w: np.all((np.linalg.norm(w, axis=0) >= 0.5 - 1e-5)
                                                         & (np.linalg.norm(w, axis=0) <= 0.8 + 1e-5))),
])
def test_each_constraint_holds_after_an_update(engine, constraint, check):
    layer = Linear(4, constraints={"kernel": constraint})
    layer(_x((2, 3)))
    assert layer.kernel.constraint is constraint
    layer.kernel.assign(np.random.default_rng(1).standard_normal((3, 4)).astype("float32") * 3)
    layer.apply_constraints()
    assert check(layer.kernel.numpy())


def test_custom_constraint_subclass(engine):
    class Clip(constraints.Constraint):
        def __init__(self, limit=0.1):
            self.limit = limit

        def __call__(self, w):
            return ops.clip(w, -self.limit, self.limit)

    layer = Linear(2, constraints=Clip(0.1))  # a single value: every trainable weight
    layer(_x((2, 3)))
    layer.kernel.assign(np.full((3, 2), 5.0, "float32"))
    layer.bias.assign(np.full((2,), -5.0, "float32"))
    layer.apply_constraints()
    assert np.all(layer.kernel.numpy() == np.float32(0.1)) and np.all(layer.bias.numpy() == np.float32(-0.1))


# ------------------------------------------------------------ keraflow args
def test_initial_weights_list_and_dict(engine):
    kernel = np.arange(6, dtype="float32").reshape(3, 2)
    layer = Linear(2, initial_weights=[kernel, np.ones(2, "float32")], input_shape=(3,))
    np.testing.assert_array_equal(layer.kernel.numpy(), kernel)
    layer = Linear(2, initial_weights={"bias": np.full(2, 7.0, "float32")})
    y = ops.to_numpy(layer(np.zeros((1, 3), "float32")))
    np.testing.assert_array_equal(y, [[7.0, 7.0]])
    with pytest.raises(ValueError, match="initial_weights name weight"):
        Linear(2, initial_weights={"kernal": kernel}, input_shape=(3,))
    with pytest.raises(ValueError, match="regularizers name weight"):
        Linear(2, regularizers={"kernal": "l2"}, input_shape=(3,))


# ---------------------------------------------------------------- input_spec
def test_input_spec_violation_names_the_layer(engine):
    layer = Linear(3, name="proj")
    with pytest.raises(ValueError, match=r"Input 0 of layer 'proj' is incompatible.*min_ndim=2, found ndim=1"):
        layer(np.ones((4,), "float32"))
    layer(_x((2, 5)))
    with pytest.raises(ValueError, match=r"layer 'proj'.*axis -1 of size 5, received shape \(2, 4\)"):
        layer(_x((2, 4)))


def test_input_spec_forms():
    spec = InputSpec(ndim=3, dtype="int32")
    from polykeras.layers.input_spec import assert_input_compatibility

    with pytest.raises(ValueError, match="dtype=int32"):
        assert_input_compatibility(spec, [np.zeros((1, 2, 3), "float32")], "emb")
    with pytest.raises(ValueError, match="expects 2 input"):
        assert_input_compatibility([spec, spec], [np.zeros((1, 2, 3))], "merge")
    assert InputSpec.from_config(json.loads(json.dumps(InputSpec(axes={-1: 4}).get_config()))).axes == {-1: 4}


# ------------------------------------------------------------------ config
def test_config_capture_without_get_config(engine):
    class Scale(Layer):
        def __init__(self, factor, offsets=(1, 2), init="ones", **kwargs):
            super().__init__(**kwargs)
            self.factor = factor * 1.0
            self.offsets = offsets

        def call(self, x):
            return x * self.factor

    layer = Scale(2, init=initializers.Constant(3.0), name="s")
    config = layer.get_config()
    assert config["factor"] == 2 and config["name"] == "s" and "offsets" not in config  # as passed
    assert config["init"]["class_name"] == "Constant"
    json.dumps(config)
    clone = Scale.from_config(json.loads(json.dumps(config)))
    assert isinstance(clone.get_config()["init"], dict) and clone.name == "s"
    assert clone.factor == 2.0


def test_non_json_safe_argument_is_a_clear_error(engine):
    class Holds(Layer):
        def __init__(self, thing, **kwargs):
            super().__init__(**kwargs)
            self.thing = thing

    layer = Holds(object(), name="holder")
    with pytest.raises(SerializationError, match=r"layer 'holder' argument 'thing'"):
        layer.get_config()


def test_trainable_and_dtype_in_config(engine):
    layer = Linear(2, trainable=False, dtype="float16", name="lin16")
    config = layer.get_config()
    assert config["trainable"] is False and config["dtype"] == "float16"
    y = layer(_x((2, 3)))  # float32 inputs are cast to the layer's dtype
    assert ops.dtype(y) == "float16" and layer.kernel.dtype == "float16"


def test_layer_serialize_deserialize_with_custom_objects(engine):
    from polykeras import layers

    config = layers.serialize(Linear(5, name="lin"))
    assert config["class_name"] == "Linear" and config["config"]["units"] == 5
    with pytest.raises(SerializationError, match="Unknown layer 'Linear'"):
        layers.deserialize(config)
    clone = layers.deserialize(config, custom_objects={"Linear": Linear})
    assert isinstance(clone, Linear) and clone.units == 5


# ---------------------------------------------------- tracking after changes
def test_containers_changed_after_assignment_are_tracked(engine):
    class Growing(Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.blocks = []
            self.named = {}

        def call(self, x):
            for block in self.blocks:
                x = block(x)
            return x

    g = Growing()
    g.blocks.append(Linear(3))
    g(_x((2, 4)))
    assert len(g.weights) == 2
    g.blocks.append(Linear(3))
    g.named["extra"] = Linear(1)
    g(_x((2, 4)))
    g.named["extra"](_x((2, 4)))
    assert len(g.weights) == 6
    g.blocks.pop()
    del g.named["extra"]
    assert len(g.weights) == 2
    g.blocks = []
    assert g.weights == []


def test_losses_follow_the_last_outer_call(engine):
    class Penalised(Layer):
        def call(self, x):
            self.add_loss(ops.mean(x))
            return x

    class Branchy(Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.a, self.b = Penalised(), Penalised()

        def call(self, x, use_b=False):
            return self.b(x) if use_b else self.a(x)

    generator, discriminator = Branchy(), Branchy()
    generator(np.ones((2,), "float32"))
    discriminator(np.ones((2,), "float32"), use_b=True)
    assert len(generator.losses) == 1 and len(discriminator.losses) == 1  # independent models
    generator(np.ones((2,), "float32"), use_b=True)
    assert len(generator.losses) == 1  # a's loss from the previous call is gone
    assert generator.a.losses != [] and generator.losses[0] is generator.b.losses[0]


def test_registry_allow_list_never_imports(engine):
    import sys

    from polykeras.saving import registry

    @registry.register_serializable("tests_pkg")
    class Shift(Layer):
        def __init__(self, by=1.0, **kwargs):
            super().__init__(**kwargs)
            self.by = by

        def call(self, x):
            return x + self.by

    config = registry.serialize(Shift(2.0, name="shift"))
    assert config["registered_name"] == "tests_pkg>Shift"
    clone = registry.deserialize(json.loads(json.dumps(config)))
    assert isinstance(clone, Shift) and clone.by == 2.0 and clone.name == "shift"
    evil = {"module": "antigravity", "class_name": "fly", "config": {}, "registered_name": None}
    with pytest.raises(SerializationError, match="Unknown object 'fly'"):
        registry.deserialize(evil)
    assert "antigravity" not in sys.modules
    with registry.custom_object_scope({"fly": Shift}):
        assert isinstance(registry.deserialize(evil), Shift)
    with pytest.raises(ValueError, match="already registered"):
        registry.register_serializable("tests_pkg", name="Shift")(Linear)


def test_initial_weights_wait_for_lazily_built_sub_layers(engine):
    reference = Block()
    reference(_x((2, 5)))
    arrays = [np.full(w.shape, i, "float32") for i, w in enumerate(reference.get_weights())]
    block = Block(initial_weights=arrays)
    y = block(_x((2, 5)))
    for got, want in zip(block.get_weights(), arrays):
        np.testing.assert_array_equal(got, want)
    reference.set_weights(arrays)
    np.testing.assert_allclose(ops.to_numpy(y), ops.to_numpy(reference(_x((2, 5)))), rtol=1e-6)
