"""``polykeras.backend``, ``polykeras.config`` and the top level: Keras 3's
names and signatures (introspected from Keras itself), the settings reaching
the layers that use them, on every engine."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import polykeras
from polykeras import backend, config, layers, ops

from _keras_api import assert_same_api
from layers.keras_reference import import_keras

# Keras 3 namespaces' names that belong to other areas (dtype policies) or to
# Keras's own import machinery.
_CONFIG_ELSEWHERE = {"dtype_policy", "set_dtype_policy"}


@pytest.fixture
def restore():
    saved = (config.floatx(), config.epsilon(), config.image_data_format(), config.max_epochs(),
             config.max_steps_per_epoch(), config.is_traceback_filtering_enabled(),
             config.is_interactive_logging_enabled(), config.is_flash_attention_enabled())
    yield
    config.set_floatx(saved[0])
    config.set_epsilon(saved[1])
    config.set_image_data_format(saved[2])
    config.set_max_epochs(saved[3])
    config.set_max_steps_per_epoch(saved[4])
    (config.enable_traceback_filtering if saved[5] else config.disable_traceback_filtering)()
    (config.enable_interactive_logging if saved[6] else config.disable_interactive_logging)()
    config._settings["flash_attention"] = saved[7]


def test_backend_and_config_have_keras_names_and_signatures(engine):
    keras = import_keras()
    assert_same_api(backend, keras.backend)
    assert_same_api(config, keras.config, skip=_CONFIG_ELSEWHERE)


def test_top_level_names(engine):
    keras = import_keras()
    for name in ("Layer", "Loss", "Metric", "Optimizer", "Initializer", "Regularizer", "InputSpec",
                 "StatelessScope", "KerasTensor", "Variable", "Model", "Sequential"):
        assert isinstance(getattr(polykeras, name), type), name
    for name in ("backend", "config", "random", "tree", "saving", "distribution", "layers", "ops", "models"):
        assert hasattr(polykeras, name), f"polykeras.{name}"
        assert name in dir(polykeras)
    assert_same_api(polykeras, keras, ["name_scope", "device", "version", "InputSpec", "Variable"])
    assert isinstance(polykeras.Input((3,)), polykeras.KerasTensor)
    assert issubclass(polykeras.layers.Dense, polykeras.Layer)
    assert polykeras.version() == polykeras.__version__


def test_backend_names_the_engine_as_module_and_call(engine):
    assert backend.backend() == config.backend() == engine.name
    assert polykeras.backend() == engine.name  # the module stays callable


def test_floatx_reaches_layers_variables_and_initializers(engine, restore):
    assert config.floatx() == backend.floatx() == "float32"
    config.set_floatx("float16")
    assert backend.floatx() == "float16"
    dense = layers.Dense(2)
    dense.build((None, 3))
    assert [w.dtype for w in dense.weights] == ["float16", "float16"]
    assert polykeras.Variable(1.0, name="v").dtype == "float16"  # as Keras 3
    assert ops.dtype(polykeras.initializers.GlorotUniform(seed=1)((2, 2))) == "float16"
    assert backend.standardize_dtype(None) == "float16"
    with pytest.raises(ValueError, match="set_floatx: expected one of .* received 'int32'"):
        config.set_floatx("int32")


def test_image_data_format_reaches_conv_layers_and_ops(engine, restore):
    x = np.random.default_rng(0).standard_normal((1, 2, 5, 5)).astype("float32")
    config.set_image_data_format("channels_first")
    assert backend.image_data_format() == "channels_first"
    conv = layers.Conv2D(3, 3)
    assert conv.data_format == "channels_first"
    assert tuple(ops.shape(conv(x))) == (1, 3, 3, 3)
    assert tuple(ops.shape(ops.max_pool(x, 2))) == (1, 2, 2, 2)
    assert layers.MaxPooling2D(2).data_format == "channels_first"
    with pytest.raises(ValueError, match="set_image_data_format: expected one of .* received 'nhwc'"):
        config.set_image_data_format("nhwc")


def test_epsilon_and_caps(engine, restore):
    assert config.epsilon() == backend.epsilon() == 1e-7
    config.set_epsilon(1e-5)
    assert backend.epsilon() == 1e-5
    with pytest.raises(ValueError, match="set_epsilon: expected a float"):
        config.set_epsilon("small")
    assert config.max_epochs() is None and config.max_steps_per_epoch() is None
    config.set_max_epochs(3)
    config.set_max_steps_per_epoch(4)
    assert (config.max_epochs(), config.max_steps_per_epoch()) == (3, 4)
    with pytest.raises(ValueError, match="set_max_epochs: expected a positive int or None, received 0"):
        config.set_max_epochs(0)


def test_switches_match_keras_defaults(engine, restore):
    keras = import_keras()
    for name in ("traceback_filtering", "interactive_logging", "flash_attention"):
        assert getattr(config, f"is_{name}_enabled")() == getattr(keras.config, f"is_{name}_enabled")(), name
        getattr(config, f"disable_{name}")()
        assert getattr(config, f"is_{name}_enabled")() is False
        getattr(config, f"enable_{name}")()
        assert getattr(config, f"is_{name}_enabled")() is True
    assert config.is_nnx_enabled() is False


def test_unsafe_deserialization_turns_safe_mode_off(engine):
    from polykeras.saving import safe_mode

    assert safe_mode.in_safe_mode()
    try:
        config.enable_unsafe_deserialization()
        assert not safe_mode.in_safe_mode()
        with safe_mode.safe_mode(True):
            assert safe_mode.in_safe_mode()
    finally:
        safe_mode.set_global_safe_mode(True)


_DTYPES = ["bool", "uint8", "int8", "int16", "int32", "float16", "bfloat16", "float32"]


def test_dtype_helpers_match_keras(engine):
    keras = import_keras()
    for a, b in itertools.combinations_with_replacement(_DTYPES, 2):
        assert backend.result_type(a, b) == keras.backend.result_type(a, b), (a, b)
    for dtypes in [(), (int,), (float,), (bool,), ("bool", int), ("int8", int), ("int32", float),
                   ("float16", int), ("float16", float), (int, float)]:
        assert backend.result_type(*dtypes) == keras.backend.result_type(*dtypes), dtypes
    for dtype in [*_DTYPES, "float64", "int64", "uint32", np.float32, np.int64]:
        assert backend.is_float_dtype(dtype) == keras.backend.is_float_dtype(dtype), dtype
        assert backend.is_int_dtype(dtype) == keras.backend.is_int_dtype(dtype), dtype
    assert backend.standardize_dtype(np.float16) == keras.backend.standardize_dtype(np.float16)
    assert backend.standardize_dtype(ops.dtype(ops.ones((1,), "int32"))) == "int32"
    assert backend.is_keras_tensor(polykeras.Input((2,)))
    assert not backend.is_keras_tensor(ops.ones((2,)))


def test_get_uid_shares_layer_auto_names_and_clear_session_resets(engine):
    backend.clear_session()
    assert backend.get_uid("dense") == 1
    assert backend.get_uid("dense") == 2
    assert layers.Dense(2).name == "dense_2"  # as Keras 3: the third "dense"
    assert backend.get_uid("dense") == 4
    backend.clear_session()
    assert layers.Dense(2).name == "dense"
    assert backend.get_uid("dense") == 2


def test_name_scope_and_device(engine):
    with polykeras.name_scope("outer"):
        with polykeras.name_scope("inner"):
            assert polykeras.Variable(0.0, name="v").path == "outer/inner/v"
        with polykeras.name_scope("z", override_parent="top"):
            assert polykeras.Variable(0.0, name="v").path == "top/z/v"
        with polykeras.name_scope("outer"):  # no caller: nested as Keras 3 does
            assert polykeras.Variable(0.0, name="v").path == "outer/outer/v"
        owner = object()
        with polykeras.name_scope("own", caller=owner), polykeras.name_scope("own", caller=owner):
            assert polykeras.Variable(0.0, name="v").path == "outer/own/v"
    with pytest.raises(ValueError, match="name_scope: expected a string name without '/'"):
        polykeras.name_scope("a/b")
    first = engine.list_devices()[0]
    with polykeras.device(first):
        assert ops.to_numpy(ops.ones((2,))).tolist() == [1.0, 1.0]


def test_keras_tensor_constructor_and_isinstance(engine):
    keras = import_keras()
    assert_same_api(polykeras, keras, ["KerasTensor", "StatelessScope"])
    spec = polykeras.KerasTensor((None, 4), dtype="int32", name="spec")
    assert spec.shape == (None, 4) and spec.dtype == "int32" and spec.name == "spec"
    assert isinstance(polykeras.Input((3,)), polykeras.KerasTensor) and backend.is_keras_tensor(spec)
    assert not isinstance(ops.ones((2,)), polykeras.KerasTensor)

    class Pairs(layers.Layer):  # a custom layer declaring its output the Keras 3 way
        def call(self, x):
            return ops.concatenate([x, x], axis=-1)

        def compute_output_spec(self, x):
            return polykeras.KerasTensor((x.shape[0], 2 * x.shape[1]), dtype=x.dtype)

    inputs = polykeras.Input((3,))
    assert polykeras.Model(inputs, Pairs()(inputs)).output_shape == (None, 6)
    with pytest.raises(NotImplementedError, match="KerasTensor: sparse=True is not supported"):
        polykeras.KerasTensor((2,), sparse=True)


def test_stateless_scope_takes_keras_arguments(engine):
    v = polykeras.Variable(1.0, name="v")
    with polykeras.StatelessScope([(v, 2.0)], collect_losses=False, initialize_variables=True):
        assert float(ops.to_numpy(v.value)) == 2.0
    with pytest.raises(NotImplementedError, match=r"StatelessScope\(initialize_variables=False\) is not supported"):
        polykeras.StatelessScope(initialize_variables=False)


def test_set_epsilon_reaches_losses_metrics_and_constraints_like_keras(engine, restore):
    keras = import_keras()
    y_true = np.array([[0.0, 1.0, 0.0]], np.float32)
    y_pred = np.array([[0.0, 0.7, 0.3]], np.float32)  # a zero probability: the clip decides the loss
    w = np.array([[3.0, 0.0], [4.0, 0.0]], np.float32)  # a zero column: epsilon is the whole denominator
    saved = keras.config.epsilon()
    try:
        for value in (1e-7, 1e-2):
            keras.config.set_epsilon(value)
            config.set_epsilon(value)
            for name in ("kl_divergence", "mean_absolute_percentage_error", "mean_squared_logarithmic_error"):
                ours = ops.to_numpy(getattr(polykeras.losses, name)(ops.convert_to_tensor(y_true),
                                                                     ops.convert_to_tensor(y_pred)))
                theirs = np.asarray(getattr(keras.losses, name)(y_true, y_pred))
                np.testing.assert_allclose(ours, theirs, rtol=1e-5, err_msg=f"{name} at epsilon {value}")
            np.testing.assert_allclose(ops.to_numpy(polykeras.constraints.UnitNorm()(ops.convert_to_tensor(w))),
                                       np.asarray(keras.constraints.UnitNorm()(w)), rtol=1e-5, atol=1e-7)
    finally:
        keras.config.set_epsilon(saved)


def test_set_backend_changes_the_engine_outside_use_blocks(engine):
    import polykeras.backends as B

    import threading

    other = "numpy" if engine.name != "numpy" else "jax"
    seen: list[str] = []
    try:
        config.set_backend(other)
        assert config.backend() == engine.name  # the test's `use` block still wins here
        thread = threading.Thread(target=lambda: seen.append(config.backend()))  # a fresh context: the default
        thread.start()
        thread.join()
        assert seen == [other]
    finally:
        B.set_default(B.default_name())
    with pytest.raises(ValueError, match="set_backend: expected one of .* received 'theano'"):
        config.set_backend("theano")


def test_variable_takes_keras_arguments(engine):
    v = polykeras.Variable(1.0, None, "float32", True, False, "mean", "auto", "w")  # Keras 3's positional order
    assert (v.autocast, v.aggregation, v.name, v.trainable) == (False, "mean", "w", True)
    assert polykeras.Variable(1.0, constraint=abs).constraint is abs
    with pytest.raises(NotImplementedError, match=r"Variable\(layout=...\) is not supported"):
        polykeras.Variable(1.0, layout="sharded")
    with pytest.raises(TypeError, match=r"Variable: unexpected arguments \['colour'\]"):
        polykeras.Variable(1.0, colour="red")


def test_operation_subclasses_run_on_tensors_and_in_graphs(engine):
    class Halve(polykeras.Operation):  # a Keras 3 custom op: call + compute_output_spec
        def call(self, x):
            return ops.divide(x, 2.0)

        def compute_output_spec(self, x):
            return polykeras.KerasTensor(x.shape, x.dtype)

    assert ops.to_numpy(Halve()(np.ones(3, "float32"))).tolist() == [0.5, 0.5, 0.5]
    inputs = polykeras.Input((3,))
    assert polykeras.Model(inputs, Halve()(inputs)).output_shape == (None, 3)
    assert isinstance(layers.Dense(2), polykeras.Operation)  # as in Keras 3, every layer is an operation
