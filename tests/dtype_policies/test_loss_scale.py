"""LossScaleOptimizer: Keras 3's state, config and dynamic scaling, eager and
inside each engine's compiled step; compile's automatic wrap."""

from __future__ import annotations

import numpy as np
import pytest

import polykeras as pk
from polykeras import layers, ops, optimizers
from polykeras.mixed_precision import LossScaleOptimizer
from polykeras.trainers.step import compile_step
from polykeras.variables import Variable

from layers.keras_reference import import_keras  # tests/ is on sys.path

#: Gradients of four steps: two finite (the scale doubles), one with inf (skipped, halved), one finite.
GRADS = [[1.0, 1.0, 1.0], [1.0, 2.0, 3.0], [np.inf, 0.0, 0.0], [1.0, 1.0, 1.0]]
#: Keras 3.15 on these GRADS with SGD(0.1), initial_scale=4, dynamic_growth_steps=2: (w, scale, counter, iterations).
KERAS_TRACE = [([0.975] * 3, 4.0, 1, 1), ([0.95, 0.925, 0.9], 8.0, 0, 2), ([0.95, 0.925, 0.9], 4.0, 0, 2),
               ([0.925, 0.9, 0.875], 4.0, 1, 3)]


def _trace(opt, w, apply):
    out = []
    for g in GRADS:
        apply(np.asarray(g, "float32"))
        out.append((w.numpy().tolist(), float(opt.dynamic_scale.numpy()), int(opt.step_counter.numpy()),
                    int(ops.to_numpy(opt.iterations))))
    return out


def _check(trace):
    for (w, scale, counter, steps), (kw, kscale, kcounter, ksteps) in zip(trace, KERAS_TRACE):
        np.testing.assert_allclose(w, kw, rtol=1e-6)
        assert (scale, counter, steps) == (kscale, kcounter, ksteps)


def test_keras_trace_is_current():
    keras = import_keras()
    opt = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.1), initial_scale=4.0, dynamic_growth_steps=2)
    w = keras.Variable(np.ones(3, "float32"))
    for g, (kw, kscale, kcounter, ksteps) in zip(GRADS, KERAS_TRACE):
        opt.apply([np.asarray(g, "float32")], [w])
        np.testing.assert_allclose(np.asarray(w), kw, rtol=1e-6)
        assert (float(opt.dynamic_scale), int(opt.step_counter), int(opt.iterations)) == (kscale, kcounter, ksteps)


def test_eager_scaling_matches_keras(engine):
    opt = LossScaleOptimizer(optimizers.SGD(0.1), initial_scale=4.0, dynamic_growth_steps=2)
    w = Variable(np.ones(3, "float32"), name="w")
    _check(_trace(opt, w, lambda g: opt.apply([g], [w])))


def test_compiled_scaling_matches_keras(engine):
    opt = LossScaleOptimizer(optimizers.SGD(0.1), initial_scale=4.0, dynamic_growth_steps=2)
    w = Variable(np.ones(3, "float32"), name="w")
    opt.build([w])

    def step(g):
        opt.apply([g], [w])
        return {"scale": opt.dynamic_scale.value}

    compiled = compile_step(step, [w, *opt.variables])
    _check(_trace(opt, w, lambda g: compiled(ops.convert_to_tensor(g))))


def test_skipped_step_leaves_weights_and_slots(engine):
    inner = optimizers.Adam(0.1)
    opt = LossScaleOptimizer(inner, initial_scale=8.0)
    w = Variable(np.ones(2, "float32"), name="w")
    opt.build([w])

    def step(g):
        opt.apply([g], [w])
        return {}

    compiled = compile_step(step, [w, *opt.variables])
    compiled(ops.convert_to_tensor(np.array([1.0, 2.0], "float32")))
    before = [v.numpy().copy() for v in inner.variables] + [w.numpy().copy()]
    compiled(ops.convert_to_tensor(np.array([np.nan, 2.0], "float32")))
    after = [v.numpy() for v in inner.variables] + [w.numpy()]
    for b, a in zip(before, after):
        np.testing.assert_array_equal(a, b)
    assert float(opt.dynamic_scale.numpy()) == 4.0


def test_state_and_config_match_keras(engine):
    keras = import_keras()
    theirs = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.1, name="inner"), name="lso")
    theirs.build([keras.Variable(np.ones(3, "float32"))])
    ours = LossScaleOptimizer(optimizers.SGD(0.1, name="inner"), name="lso")
    ours.build([Variable(np.ones(3, "float32"), name="w")])
    assert [(v.path, v.dtype) for v in ours.variables] == [(v.path, v.dtype) for v in theirs.variables]
    assert [v.name for v in ours.variables][:4] == ["iteration", "learning_rate", "step_counter", "dynamic_scale"]
    assert [v.numpy().tolist() for v in ours.variables] == [np.asarray(v).tolist() for v in theirs.variables]
    config, keras_config = ours.get_config(), theirs.get_config()
    assert {k: v for k, v in config.items() if k != "inner_optimizer"} == \
        {k: v for k, v in keras_config.items() if k != "inner_optimizer"}
    assert config["inner_optimizer"]["class_name"] == keras_config["inner_optimizer"]["class_name"]
    back = optimizers.deserialize(keras.optimizers.serialize(theirs))
    assert isinstance(back, LossScaleOptimizer) and back.inner_optimizer.learning_rate.numpy() == np.float32(0.1)
    assert optimizers.deserialize(optimizers.serialize(ours)).get_config() == config
    assert ours.learning_rate is ours.inner_optimizer.learning_rate
    ours.learning_rate = 0.5
    assert float(ours.inner_optimizer.learning_rate.numpy()) == 0.5


@pytest.mark.parametrize("args, match", [
    (("adam",), r"expected `inner_optimizer` to be an Optimizer instance, received .*'adam'"),
    ((None, 0.0), r"expected `initial_scale` to be a positive finite number, received initial_scale=0.0"),
    ((None, float("inf")), r"received initial_scale=inf"),
    ((None, 2.0, 0), r"expected `dynamic_growth_steps` to be an integer >= 1, received dynamic_growth_steps=0"),
])
def test_bad_arguments(engine, args, match):
    inner, *rest = args
    with pytest.raises(ValueError, match=match):
        LossScaleOptimizer(optimizers.SGD() if inner is None else inner, *rest)


def test_compile_wraps_under_mixed_float16(engine):
    def model():
        x = pk.Input((3,))
        return pk.Model(x, layers.Dense(1)(x))

    pk.config.set_dtype_policy("mixed_float16")
    wrapped = model()
    wrapped.compile(optimizers.SGD(0.1), "mse")
    assert isinstance(wrapped.optimizer, LossScaleOptimizer) and wrapped.optimizer.name == "loss_scale_optimizer"
    kept = model()
    kept.compile(optimizers.SGD(0.1), "mse", auto_scale_loss=False)
    assert isinstance(kept.optimizer, optimizers.SGD)
    pk.config.set_dtype_policy("mixed_bfloat16")
    bf16 = model()
    bf16.compile(optimizers.SGD(0.1), "mse")
    assert isinstance(bf16.optimizer, optimizers.SGD)


def test_loss_scale_factor_scales_the_differentiated_loss(diff_engine):
    # The trainer differentiates optimizer.scale_loss(loss); apply divides back: same step as unscaled.
    x = np.linspace(-1, 1, 12, dtype="float32").reshape(4, 3)
    y = np.ones((4, 1), "float32")
    results = []
    for factor in (None, 64.0):
        pk.random.set_seed(0)
        inputs = pk.Input((3,))
        model = pk.Model(inputs, layers.Dense(1)(inputs))
        model.compile(optimizers.SGD(0.1, loss_scale_factor=factor), "mse")
        logs = model.train_on_batch(x, y, return_dict=True)
        results.append((logs["loss"], model.get_weights()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-6)
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_keras_file_with_a_loss_scale_optimizer_loads(engine, tmp_path):
    keras = import_keras()
    x = keras.Input((4,))
    model = keras.Model(x, keras.layers.Dense(2)(x))
    model.compile(keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(0.01), initial_scale=128.0), "mse")
    model.optimizer.build(model.trainable_variables)
    model.optimizer.dynamic_scale.assign(64.0)
    path = str(tmp_path / "lso.keras")
    model.save(path)
    loaded = pk.saving.load_model(path)
    opt = loaded.optimizer
    assert isinstance(opt, LossScaleOptimizer) and opt.initial_scale == 128.0
    assert float(opt.dynamic_scale.numpy()) == 64.0
    assert len(opt.variables) == len(model.optimizer.variables)
    assert [v.name for v in opt.variables][:6] == [v.name for v in model.optimizer.variables][:6]
