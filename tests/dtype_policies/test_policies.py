"""Dtype policies: names, configs and errors against Keras 3; layers under
mixed policies (variables, autocast, configs, archives) on every engine."""

from __future__ import annotations

import numpy as np
import pytest

import polykeras as pk
import polykeras.backends as B
from polykeras import dtype_policies, layers, mixed_precision, ops
from polykeras.dtype_policies import DTypePolicy, DTypePolicyMap, FloatDTypePolicy
from polykeras.variables import AutocastScope, Variable

from layers.keras_reference import import_keras  # tests/ is on sys.path

NAMES = ["float32", "float16", "bfloat16", "float64", "mixed_float16", "mixed_bfloat16", "int32"]


@pytest.mark.parametrize("name", NAMES)
def test_policy_matches_keras(engine, name):
    keras = import_keras()
    theirs, ours = keras.dtype_policies.get(name), dtype_policies.get(name)
    assert (ours.name, ours.compute_dtype, ours.variable_dtype, ours.quantization_mode) == (
        theirs.name, theirs.compute_dtype, theirs.variable_dtype, theirs.quantization_mode)
    assert ours.get_config() == theirs.get_config()
    assert dtype_policies.serialize(ours) == keras.dtype_policies.serialize(theirs)
    assert dtype_policies.deserialize(keras.dtype_policies.serialize(theirs)) == ours
    assert repr(ours) == repr(theirs)


def test_policy_map_matches_keras(engine):
    keras = import_keras()
    theirs = keras.dtype_policies.DTypePolicyMap("mixed_bfloat16")
    ours = DTypePolicyMap("mixed_bfloat16")
    for policy_map in (theirs, ours):
        policy_map["model/head"] = "float32"
        policy_map["model/block_.*"] = "mixed_float16"
    for path in ("model/head", "model/block_1", "model/other"):
        assert ours[path].name == theirs[path].name
    assert (ours.name, ours.compute_dtype, ours.variable_dtype) == (theirs.name, theirs.compute_dtype,
                                                                     theirs.variable_dtype)
    assert dtype_policies.serialize(ours) == keras.dtype_policies.serialize(theirs)
    back = dtype_policies.deserialize(keras.dtype_policies.serialize(theirs))
    assert isinstance(back, DTypePolicyMap) and back["model/block_7"].name == "mixed_float16"
    ours["model/.*"] = "float16"
    with pytest.raises(ValueError, match="matches several keys"):
        ours["model/block_2"]
    with pytest.raises(ValueError, match="already mapped"):
        ours["model/head"] = "float16"


def test_namespaces_match_keras(engine):
    keras = import_keras()
    for module, theirs in ((dtype_policies, keras.dtype_policies), (mixed_precision, keras.mixed_precision)):
        public = {n for n in dir(theirs) if not n.startswith("_")} - {
            "AWQDTypePolicy", "GPTQDTypePolicy", "Int4DTypePolicy", "QuantizedDTypePolicy",
            "QuantizedFloat8DTypePolicy"}  # the quantization package's
        assert public <= set(dir(module)), public - set(dir(module))
    assert mixed_precision.Policy is DTypePolicy and pk.DTypePolicy is DTypePolicy
    assert isinstance(FloatDTypePolicy("mixed_float16"), DTypePolicy)


@pytest.mark.parametrize("bad, match", [
    ("mixed_foo", r"unknown dtype policy 'mixed_foo'. Valid policies include 'mixed_float16'"),
    ("float8", r"unknown dtype policy 'float8'"),
    (3, r"expected a policy name .* received 3 \(of type int\)"),
])
def test_unknown_policies_are_refused(engine, bad, match):
    with pytest.raises(ValueError, match=match):
        dtype_policies.get(bad)
    with pytest.raises(ValueError, match=r"Layer 'probe': expected dtype to be a dtype policy"):
        layers.Dense(2, dtype=bad, name="probe")


def test_global_policy_errors_and_defaults(engine):
    with pytest.raises(ValueError, match=r"set_dtype_policy: expected a policy with a float variable dtype, "
                                         r"received 'int32'"):
        pk.config.set_dtype_policy("int32")
    with pytest.raises(ValueError, match=r"set_dtype_policy: expected a policy name .* received None"):
        pk.config.set_dtype_policy(None)
    with pytest.raises(ValueError, match="AutocastScope: expected a floating-point dtype"):
        AutocastScope("int32")
    with pytest.raises(ValueError, match="default_policy to be a policy or its name"):
        DTypePolicyMap(DTypePolicyMap())
    mixed_precision.set_global_policy("mixed_bfloat16")
    assert pk.config.dtype_policy().name == "mixed_bfloat16" == mixed_precision.global_policy().name
    assert DTypePolicy().name == "mixed_bfloat16"
    layer = layers.Dense(2)
    assert (layer.dtype_policy.name, layer.compute_dtype, layer.variable_dtype, layer.dtype) == (
        "mixed_bfloat16", "bfloat16", "float32", "float32")


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16", "bfloat16", "float16"])
def test_layer_computes_in_the_compute_dtype(engine, policy):
    compute = dtype_policies.get(policy).compute_dtype
    variable = dtype_policies.get(policy).variable_dtype
    seen = {}

    class Probe(layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], 2), name="w")
            self.steps = self.add_weight(shape=(), initializer="zeros", dtype="int32", trainable=False)

        def call(self, x):
            seen["x"], seen["w"], seen["steps"] = ops.dtype(x), ops.dtype(self.w.value), ops.dtype(self.steps.value)
            return ops.matmul(x, self.w)

    layer = Probe(dtype=policy)
    y = layer(np.ones((3, 4), "float32"))
    assert seen == {"x": compute, "w": compute, "steps": "int32"}
    assert ops.dtype(y) == compute
    assert layer.w.dtype == variable and ops.dtype(layer.w.value) == variable  # read outside call: stored dtype
    assert ops.dtype(layer(np.ones((3, 4), "int32"))) == compute  # ints stay ints; matmul takes the float
    dense = layers.Dense(3, dtype=policy)
    out = dense(np.ones((2, 4), "float64"))
    assert ops.dtype(out) == compute and dense.kernel.dtype == variable


def test_inner_layers_follow_keras_autocast_rules(engine):
    seen = {}

    class Reader(layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w")

        def call(self, x):
            seen[self.name] = ops.dtype(self.w.value)
            return x * self.w

    class Outer(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.mixed = Reader(dtype="mixed_float16", name="mixed")
            self.full = Reader(dtype="float32", name="full")
            self.plain = Reader(dtype="mixed_float16", autocast=False, name="plain")

        def call(self, x):
            return self.plain(self.full(self.mixed(x)))

    Outer(dtype="mixed_bfloat16")(np.ones((2, 3), "float32"))
    # Keras 3: an inner layer re-scopes to its own compute dtype; autocast=False reads the stored dtype.
    assert seen == {"mixed": "float16", "full": "float32", "plain": "float32"}


def test_gradients_reach_float32_variables(diff_engine):
    layer = layers.Dense(2, dtype="mixed_bfloat16")
    x = np.ones((4, 3), "float32")
    layer(x)

    def loss(values):
        with pk.StatelessScope(zip(layer.trainable_variables, values)):
            return ops.sum(ops.cast(layer(x), "float32"))

    grads = ops.value_and_grad(loss)([v.value for v in layer.trainable_variables])[1]
    assert [ops.dtype(g) for g in grads] == ["float32", "float32"]
    np.testing.assert_allclose(ops.to_numpy(grads[0]), np.full((3, 2), 4.0), rtol=1e-2)


def test_policy_map_gives_each_layer_its_entry(engine):
    policies = DTypePolicyMap("mixed_float16", {"head": "float32"})
    x = pk.Input((4,))
    body = layers.Dense(3, name="body", dtype=policies)
    head = layers.Dense(2, name="head", dtype=policies)
    model = pk.Model(x, head(body(x)))
    assert (body.compute_dtype, head.compute_dtype) == ("float16", "float32")
    assert ops.dtype(model(np.ones((1, 4), "float32"))) == "float32"
    assert body.get_config()["dtype"]["class_name"] == "DTypePolicyMap"
    assert layers.Dense.from_config(head.get_config()).compute_dtype == "float32"
    head.dtype_policy = "bfloat16"  # a map keeps the layer's new entry by path
    assert head.compute_dtype == "bfloat16" and policies["head"].name == "bfloat16"


def test_configs_round_trip_and_load_in_keras(engine):
    keras = import_keras()
    layer = layers.Dense(3, dtype="mixed_bfloat16", name="d")
    config = layer.get_config()
    assert config["dtype"] == "mixed_bfloat16"
    assert layers.Dense.from_config(config).dtype_policy == DTypePolicy("mixed_bfloat16")
    theirs = keras.layers.Dense.from_config(config)
    assert theirs.dtype_policy.name == "mixed_bfloat16"
    keras_config = theirs.get_config()  # Keras writes the policy's config dict
    back = layers.Dense.from_config(keras_config)
    assert (back.compute_dtype, back.variable_dtype) == ("bfloat16", "float32")
    assert layers.Dense(2).get_config()["dtype"] == "float32"  # plain policies stay plain names


def test_archive_keeps_policies_across_engines(engine, tmp_path):
    x = pk.Input((4,))
    model = pk.Model(x, layers.Dense(2, dtype="float32", name="out")(layers.Dense(3, dtype="mixed_bfloat16",
                                                                                 name="hidden")(x)))
    data = np.linspace(-1, 1, 8, dtype="float32").reshape(2, 4)
    expected = ops.to_numpy(ops.cast(model(data), "float32"))
    path = str(tmp_path / "mixed.keras")
    model.save(path)
    other = "numpy" if engine.name != "numpy" else "jax"
    with B.use(other):
        loaded = pk.saving.load_model(path)
        hidden = loaded.get_layer("hidden")
        assert (hidden.compute_dtype, hidden.variable_dtype, hidden.kernel.dtype) == ("bfloat16", "float32",
                                                                                      "float32")
        np.testing.assert_allclose(ops.to_numpy(ops.cast(loaded(data), "float32")), expected, rtol=2e-2, atol=2e-2)


def test_keras_archive_with_mixed_policies_loads(engine, tmp_path):
    keras = import_keras()
    path = str(tmp_path / "keras_mixed.keras")
    x = keras.Input((4,))
    h = keras.layers.Dense(3, dtype="mixed_bfloat16", name="hidden")(x)
    mapped = keras.dtype_policies.DTypePolicyMap("mixed_float16")
    out = keras.layers.Dense(2, dtype=mapped, name="out")(h)
    model = keras.Model(x, out)
    model.save(path)
    loaded = pk.saving.load_model(path)
    assert loaded.get_layer("hidden").dtype_policy.name == "mixed_bfloat16"
    assert loaded.get_layer("out").compute_dtype == "float16"
    for ours, theirs in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(ours, np.asarray(theirs))


def test_autocast_scope_reads(engine):
    v = Variable(np.ones(2, "float32"), name="w")
    counter = Variable(np.zeros((), "int32"), name="n")
    frozen = Variable(np.ones(2, "float32"), name="f", autocast=False)
    with AutocastScope("float16"):
        assert (ops.dtype(v.value), ops.dtype(counter.value), ops.dtype(frozen.value)) == (
            "float16", "int32", "float32")
        v.assign_add(np.full(2, 1e-4, "float32"))  # updates add in the stored dtype
        with AutocastScope(None):
            assert ops.dtype(v.value) == "float32"
    assert ops.dtype(v.value) == "float32"
    np.testing.assert_allclose(v.numpy(), 1.0001, rtol=1e-7)


#: Layers whose mixed-precision choices Keras 3 makes per layer: normalizations compute in float32 and return the
#: compute dtype, softmax and embeddings follow the compute dtype.
_KERAS_LAYERS = [
    ("Dense", {"units": 3, "activation": "relu"}, (2, 5)),
    ("Conv2D", {"filters": 2, "kernel_size": 2}, (1, 4, 4, 3)),
    ("BatchNormalization", {}, (4, 5)),
    ("LayerNormalization", {}, (2, 5)),
    ("GroupNormalization", {"groups": 1}, (2, 4, 2)),
    ("Softmax", {}, (2, 5)),
    ("Embedding", {"input_dim": 6, "output_dim": 3}, (2, 4)),
]


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
@pytest.mark.parametrize("class_name, kwargs, shape", _KERAS_LAYERS, ids=[c[0] for c in _KERAS_LAYERS])
def test_layers_under_mixed_policies_match_keras(engine, policy, class_name, kwargs, shape):
    from conformance.tolerances import assert_close

    keras = import_keras()
    rng = np.random.default_rng(3)
    x = rng.integers(0, 6, shape).astype("int32") if class_name == "Embedding" else \
        (rng.standard_normal(shape) * 2 + 0.5).astype("float32")
    theirs = getattr(keras.layers, class_name)(dtype=policy, **kwargs)
    ours = getattr(layers, class_name)(dtype=policy, **kwargs)
    theirs(x)
    ours(x)
    weights = [(rng.uniform(0.5, 1.5, w.shape) if "variance" in w.name else rng.standard_normal(w.shape) * 0.5)
               .astype("float32") for w in theirs.weights]
    theirs.set_weights(weights)
    ours.set_weights(weights)
    for training in (False, True) if class_name == "BatchNormalization" else (False,):
        expected = theirs(x, training=training) if class_name == "BatchNormalization" else theirs(x)
        got = ours(x, training=training) if class_name == "BatchNormalization" else ours(x)
        assert ops.dtype(got) == keras.backend.standardize_dtype(expected.dtype) == ours.compute_dtype
        assert_close(ops.to_numpy(ops.cast(got, "float32")), np.asarray(expected).astype("float32"), "layer",
                     ours.compute_dtype, err_msg=f"{class_name} {policy} training={training}")
    assert [w.dtype for w in ours.weights] == [keras.backend.standardize_dtype(w.dtype) for w in theirs.weights]
    for got, expected in zip(ours.get_weights(), theirs.get_weights()):  # BatchNormalization's moving statistics
        np.testing.assert_allclose(got, np.asarray(expected), rtol=1e-2, atol=1e-3)
