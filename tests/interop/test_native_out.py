"""Native objects out: ``polykeras.utils.native_module(model)`` is the model as
its engine's own object, sharing the weights (torch: an ``nn.Module`` whose
parameters are the variables' tensors; JAX: ``apply(params, x, training)``
over a params pytree of the variables' arrays; TensorFlow: a ``tf.Module``
whose variables are the model's ``tf.Variable``s). A few steps of each
framework's own training loop on it give the weights ``fit`` gives on the same
data; the framework's own saving (``state_dict``, ``tf.saved_model``, a
jitted ``apply``) gives the model's predictions. The NumPy engine has no
framework: it raises.
"""

from __future__ import annotations

import numpy as np
import pytest

import polykeras
from polykeras import layers
from polykeras.utils import native_module

RNG = np.random.default_rng(3)
X = RNG.standard_normal((16, 4)).astype("float32")
Y = RNG.standard_normal((16, 2)).astype("float32")
WEIGHTS = [(RNG.standard_normal(s) * 0.4).astype("float32") for s in [(4, 8), (8,), (8, 2), (2,)]]
STEPS, LR = 3, 0.1


def _model() -> polykeras.Model:
    model = polykeras.Sequential([polykeras.Input((4,)), layers.Dense(8, activation="tanh"), layers.Dense(2)])
    model.set_weights(WEIGHTS)
    return model


def _torch_loop(model):
    import torch

    module = native_module(model)
    optimizer = torch.optim.SGD(module.parameters(), lr=LR)
    x, y = torch.from_numpy(X), torch.from_numpy(Y)
    for _ in range(STEPS):
        optimizer.zero_grad()
        loss = torch.mean((module(x) - y) ** 2)
        loss.backward()
        optimizer.step()


def _jax_loop(model):
    import jax
    import jax.numpy as jnp
    import optax

    module = native_module(model)
    optimizer = optax.sgd(LR)
    params = module.params
    state = optimizer.init(params)

    @jax.jit
    def step(params, state):
        grads = jax.grad(lambda p: jnp.mean((module.apply(p, X, training=True) - Y) ** 2))(params)
        updates, state = optimizer.update(grads, state)
        return optax.apply_updates(params, updates), state

    for _ in range(STEPS):
        params, state = step(params, state)
    module.update(params)


def _tensorflow_loop(model):
    import tensorflow as tf

    module = native_module(model)

    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((module(X, training=True) - Y) ** 2)
        for variable, grad in zip(module.trainable_variables, tape.gradient(loss, module.trainable_variables)):
            variable.assign_sub(LR * grad)

    compiled = tf.function(step)
    for i in range(STEPS):
        (step if i == 0 else compiled)()


LOOPS = {"torch": _torch_loop, "jax": _jax_loop, "tensorflow": _tensorflow_loop}


def test_native_loop_gives_the_weights_fit_gives(engine):
    model = _model()
    if not engine.native_framework:
        with pytest.raises(NotImplementedError, match=r"'numpy' engine offers no native module .*native_module"):
            native_module(model)
        return
    LOOPS[engine.native_framework](model)
    fitted = _model()
    fitted.compile(optimizer=polykeras.optimizers.SGD(LR), loss="mse")
    fitted.fit(X, Y, epochs=STEPS, batch_size=16, shuffle=False, verbose=0)
    for i, (ours, theirs) in enumerate(zip(model.get_weights(), fitted.get_weights())):
        assert not np.allclose(ours, WEIGHTS[i]), f"weight {i} never changed: the loop did not reach the model"
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6, err_msg=f"weight {i}")


def test_native_module_shares_and_saves_the_framework_way(engine, tmp_path):
    model = _model()
    if not engine.native_framework:
        return  # pinned above
    module = native_module(model)
    assert native_module(model) is module  # one per model and engine
    expected = model.predict(X, verbose=0)
    paths = [v.path for v in model.trainable_variables]
    if engine.native_framework == "torch":
        import torch

        state = module.state_dict()
        assert list(state) == paths  # the same storage, detached as state_dict gives it
        assert all(t.data_ptr() == v.value.data_ptr() for t, v in zip(state.values(), model.variables))
        torch.save(state, tmp_path / "weights.pt")
        other = polykeras.Sequential([polykeras.Input((4,)), layers.Dense(8, activation="tanh"), layers.Dense(2)])
        native_module(other).load_state_dict(dict(zip([v.path for v in other.variables],
                                                      torch.load(tmp_path / "weights.pt").values())))
        np.testing.assert_allclose(other.predict(X, verbose=0), expected, rtol=1e-6, atol=1e-6)
    elif engine.native_framework == "jax":
        import jax

        assert list(module.params) == paths
        assert all(module.params[v.path] is v.value for v in model.trainable_variables)  # the arrays, no copy
        jitted = jax.jit(module.apply, static_argnames="training")
        np.testing.assert_allclose(np.asarray(jitted(module.params, X, training=False)), expected, rtol=1e-6,
                                   atol=1e-6)
        with pytest.raises(ValueError, match=r"JaxModule of '.*': expected params keyed by the variable paths"):
            module.apply({"kernel": 0}, X)
    else:
        import tensorflow as tf

        assert all(any(v is h.handle for v in module.variables) for h in model.variables)
        tf.saved_model.save(module, str(tmp_path / "sm"), signatures=module.serving_function(
            tf.TensorSpec([None, 4], tf.float32)))
        loaded = tf.saved_model.load(str(tmp_path / "sm"))
        np.testing.assert_allclose(loaded.serve(X).numpy(), expected, rtol=1e-6, atol=1e-6)


def test_batch_norm_state_comes_back_from_apply(engine):
    """JAX: ``return_state`` hands back the moving statistics, as stateless_call does."""
    if engine.native_framework != "jax":
        return  # torch and tensorflow modules update the variables in place (test_native_loops)
    model = polykeras.Sequential([polykeras.Input((4,)), layers.BatchNormalization()])
    module = native_module(model)
    _, state = module.apply(module.params, X, training=True, return_state=True)
    assert list(state) == [v.path for v in model.non_trainable_variables]
    np.testing.assert_allclose(np.asarray(state[model.non_trainable_variables[0].path]), X.mean(0) * 0.01, rtol=1e-4,
                               atol=1e-6)
    module.update(state=state)
    np.testing.assert_allclose(model.non_trainable_variables[0].numpy(), X.mean(0) * 0.01, rtol=1e-4, atol=1e-6)


def test_an_unbuilt_model_has_no_module_yet(engine):
    layer = layers.Dense(2, name="lazy")
    if engine.native_framework in ("jax", "tensorflow"):
        with pytest.raises(ValueError, match=r"native_module: expected a built layer, received 'lazy' unbuilt"):
            native_module(layer)
    elif not engine.native_framework:
        with pytest.raises(NotImplementedError, match="native_module"):
            native_module(layer)
    else:  # torch: the module reads the variables afresh, so a lazy build shows up later
        module = native_module(layer)
        layer(np.ones((1, 3), "float32"))
        assert [name for name, _ in module.named_parameters()] == ["lazy/kernel", "lazy/bias"]
