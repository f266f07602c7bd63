"""Rematerialisation: ``polykeras.remat`` and ``RematScope`` give the values and
gradients of the plain computation on every engine (eagerly and compiled, with
state updates and dropout), choose layers as Keras 3's modes do, and reject
bad settings by name. The memory saved is measured in ``bench/remat.py``."""

from __future__ import annotations

import numpy as np
import pytest

import polykeras as pk
from conformance.tolerances import assert_close
from polykeras import layers, ops
from polykeras.rematerialization import RematScope, get_current_remat_mode, remat

RNG = np.random.default_rng(0)
X = RNG.normal(size=(8, 6)).astype("float32")
Y = RNG.normal(size=(8, 1)).astype("float32")


def _mlp(scope: RematScope | None, seed: int = 1) -> pk.Model:
    def build() -> pk.Model:
        pk.utils.set_random_seed(seed)
        inputs = pk.Input((6,))
        h = layers.Dense(16, activation="tanh", name="d1")(inputs)
        h = layers.BatchNormalization(name="bn")(h)
        h = layers.Dropout(0.3, seed=3, name="drop")(h)
        h = layers.Dense(16, activation="relu", name="d2")(h)
        return pk.Model(inputs, layers.Dense(1, name="out")(h))

    if scope is None:
        return build()
    with scope:
        return build()


def _loss_and_grads(model: pk.Model, compiled: bool) -> tuple[float, list[np.ndarray], list[np.ndarray]]:
    trainable, non_trainable = model.trainable_variables, model.non_trainable_variables

    def loss_fn(params: list, x: object, y: object) -> object:
        pred, new_nt = model.stateless_call(params, [v.value for v in non_trainable], x, training=True)
        return ops.mean(ops.square(ops.subtract(pred, y))), new_nt

    fn = ops.value_and_grad(loss_fn, has_aux=True)
    if compiled:
        fn = ops.jit(fn)
    (loss, new_nt), grads = fn([v.value for v in trainable], ops.convert_to_tensor(X), ops.convert_to_tensor(Y))
    return (float(ops.convert_to_numpy(loss)), [ops.convert_to_numpy(g) for g in grads],
            [ops.convert_to_numpy(v) for v in new_nt])


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
@pytest.mark.parametrize("mode", ["full", "activations", "larger_than", "list_of_layers"])
def test_gradients_equal_the_plain_ones(diff_engine, mode, compiled):
    plain = _mlp(None)
    scope = RematScope(mode, output_size_threshold=64, layer_names=["d2", "bn", "drop"])
    checkpointed = _mlp(scope)
    checkpointed.set_weights(plain.get_weights())
    loss, grads, stats = _loss_and_grads(plain, compiled)
    loss_r, grads_r, stats_r = _loss_and_grads(checkpointed, compiled)
    assert loss_r == pytest.approx(loss, rel=1e-6)
    assert len(grads_r) == len(grads) == 8
    for g_r, g in zip(grads_r, grads):
        assert_close(g_r, g, "layer")
    for s_r, s in zip(stats_r, stats):  # BatchNormalization's moving statistics, updated once
        assert_close(s_r, s, "layer")
    assert any(np.abs(g).max() > 0 for g in grads)


def test_modes_choose_layers_as_keras(engine):
    with RematScope("larger_than", output_size_threshold=100):
        big, small = layers.Dense(20, name="big"), layers.Dense(2, name="small")
    assert get_current_remat_mode() is None
    calls: list[str] = []
    import polykeras.rematerialization as remat_module

    original = remat_module._rematerialised_call

    def spy(fn, variables, args, kwargs):
        calls.append(getattr(fn, "__self__", None).name if hasattr(fn, "__self__") else "fn")
        return original(fn, variables, args, kwargs)

    remat_module._rematerialised_call = spy
    try:
        x = ops.ones((8, 4))
        big(x), small(x)  # 8 * 20 = 160 > 100; 8 * 2 = 16
        with RematScope("list_of_layers", layer_names=["picked"]):
            picked, other = layers.Dense(2, name="picked"), layers.Dense(2, name="other")
        picked(x), other(x)
        with RematScope("activations"):
            act, linear = layers.Dense(2, activation="relu", name="act"), layers.Dense(2, name="linear")
        act(x), linear(x)
    finally:
        remat_module._rematerialised_call = original
    # "fn": the activations alone; a Dense without one has the linear activation, which Keras rematerialises too
    assert calls == ["big", "picked", "fn", "fn"]


def test_remat_function_and_errors(engine):
    dense = layers.Dense(3, name="f")
    x = ops.convert_to_tensor(X)
    expected = ops.convert_to_numpy(ops.tanh(dense(x)))
    block = pk.remat(lambda t: ops.tanh(dense(t)))
    np.testing.assert_allclose(ops.convert_to_numpy(block(x)), expected, rtol=1e-6)
    assert pk.remat is remat and pk.RematScope is RematScope  # keras.remat is a function, as in Keras
    with pytest.raises(ValueError, match="expected mode to be one of"):
        RematScope("everything")
    with pytest.raises(ValueError, match="output_size_threshold"):
        RematScope("larger_than", output_size_threshold=-1)
    with pytest.raises(TypeError, match="remat: expected a callable"):
        remat(3)


def test_numpy_engine_runs_remat_as_the_plain_function():
    """The NumPy engine keeps no tape, so there is nothing to save: its remat
    hook runs the function unchanged (pinned)."""
    engine = pk.backends.get("numpy")

    def f(a):
        return a * 2

    assert engine.remat(f) is f


def test_fit_with_remat_matches_fit_without(diff_engine):
    plain, checkpointed = _mlp(None), _mlp(RematScope("full"))
    checkpointed.set_weights(plain.get_weights())
    for model in (plain, checkpointed):
        model.compile(optimizer=pk.optimizers.SGD(0.1), loss="mse")
        model.fit(X, Y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(checkpointed.get_weights(), plain.get_weights()):
        assert_close(a, b, "model")
