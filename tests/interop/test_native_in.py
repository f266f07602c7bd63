"""Native modules in: ``TorchModuleWrapper``, ``JaxLayer``, ``FlaxLayer`` and
``TFSMLayer``, each trained by ``fit`` (TFSMLayer: inference only, as Keras),
saved, reloaded, and compared with Keras 3's same wrapper on the same engine
(same module, same weights, same data: Keras runs in a subprocess).

Each wrapper runs natively on its framework's engine and through NumPy on the
NumPy engine (forward only); on the other engines building it raises a
NotImplementedError naming the layer and the engine. TFSMLayer runs on every
engine. Loading a TorchModuleWrapper (a pickle) or a TFSMLayer (a path whose
graphs run) is refused in safe mode.
"""

from __future__ import annotations

import numpy as np
import pytest

import polykeras
from polykeras import layers
from polykeras.layers.native import native_module
from polykeras.saving import register_keras_serializable
from polykeras.saving.archive import load_model

from layers.helpers import run_keras  # tests/ is on sys.path (no __init__.py)

RNG = np.random.default_rng(0)
X = RNG.standard_normal((16, 4)).astype("float32")
Y = RNG.standard_normal((16, 2)).astype("float32")
W = {"w": (RNG.standard_normal((4, 2)) * 0.5).astype("float32"), "b": np.full(2, 0.1, "float32")}
FIT = dict(epochs=3, batch_size=8, shuffle=False, verbose=0)


def _refused(engine, build, name: str) -> bool:
    """Whether this engine cannot run the layer (and says so by name)."""
    try:
        build()
    except NotImplementedError as error:
        assert name in str(error) and f"'{engine.name}' engine" in str(error), str(error)
        return True
    return False


def _fit_and_reload(model, tmp_path, **load) -> tuple[np.ndarray, list[np.ndarray]]:
    model.compile(optimizer=polykeras.optimizers.SGD(0.1), loss="mse")
    model.fit(X, Y, **FIT)
    predictions = model.predict(X, verbose=0)
    model.save(tmp_path / "model.keras")
    again = load_model(tmp_path / "model.keras", **load)
    np.testing.assert_allclose(again.predict(X, verbose=0), predictions, rtol=1e-6, atol=1e-6)
    return predictions, model.get_weights()


# ---------------------------------------------------------------- torch
KERAS_TORCH = """
import torch
torch.manual_seed(0)
module = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh(), torch.nn.Linear(3, 2))
model = keras.Sequential([keras.Input((4,)), keras.layers.TorchModuleWrapper(module)])
model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
model.fit(data["x"], data["y"], epochs=3, batch_size=8, shuffle=False, verbose=0)
out["y"] = model.predict(data["x"], verbose=0)
for i, p in enumerate(module.parameters()):
    out[f"w{i}"] = p.detach().numpy()
"""


def _torch_module():
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh(), torch.nn.Linear(3, 2))


def test_torch_module_wrapper_trains_saves_and_matches_keras(engine, tmp_path):
    module = _torch_module()
    own = module(__import__("torch").from_numpy(X)).detach().numpy()
    if _refused(engine, lambda: layers.TorchModuleWrapper(module), "TorchModuleWrapper"):
        return
    wrapper = layers.TorchModuleWrapper(module)
    assert [v.path.split("/", 1)[1] for v in wrapper.weights] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    np.testing.assert_allclose(polykeras.ops.to_numpy(wrapper(X)), own, rtol=1e-6, atol=1e-6)
    if not engine.differentiable:  # NumPy: forward through NumPy only
        return
    model = polykeras.Sequential([polykeras.Input((4,)), wrapper])
    predictions, weights = _fit_and_reload(model, tmp_path, safe_mode=False)
    assert wrapper.weights[0].handle is module[0].weight  # the module is trained itself, not a copy
    theirs = run_keras(KERAS_TORCH, {"x": X, "y": Y}, backend="torch")
    np.testing.assert_allclose(predictions, theirs["y"], rtol=1e-5, atol=1e-6)
    for i, w in enumerate(weights):
        np.testing.assert_allclose(w, theirs[f"w{i}"], rtol=1e-5, atol=1e-6, err_msg=f"weight {i}")
    with pytest.raises(ValueError, match=r"TorchModuleWrapper '.*': refusing to load .*torch.load.* safe mode"):
        load_model(tmp_path / "model.keras")


def test_torch_module_wrapper_bad_inputs(engine):
    if _refused(engine, lambda: layers.TorchModuleWrapper(_torch_module()), "TorchModuleWrapper"):
        return
    with pytest.raises(TypeError, match=r"TorchModuleWrapper '.*': expected module to be a torch.nn.Module, "
                                        r"received int"):
        layers.TorchModuleWrapper(3)
    import torch

    with pytest.raises(ValueError, match="expected a module with initialized parameters, received a lazy"):
        layers.TorchModuleWrapper(torch.nn.LazyLinear(2))


def test_torch_module_wrapper_buffers_follow_fit(engine):
    """BatchNorm's running statistics are non-trainable variables that fit's stateless step updates."""
    import torch

    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
    if _refused(engine, lambda: layers.TorchModuleWrapper(module), "TorchModuleWrapper") or \
            not engine.differentiable:
        return
    wrapper = layers.TorchModuleWrapper(module)
    assert [v.path.split("/", 1)[1] for v in wrapper.non_trainable_weights] == \
        ["1.running_mean", "1.running_var", "1.num_batches_tracked"]
    model = polykeras.Sequential([polykeras.Input((4,)), wrapper])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(X, np.zeros((16, 3), "float32"), epochs=1, batch_size=8, shuffle=False, verbose=0)
    assert int(wrapper.non_trainable_weights[2].numpy()) == 2
    assert not np.allclose(wrapper.non_trainable_weights[0].numpy(), 0.0)


# ------------------------------------------------------------------ jax
@register_keras_serializable("interop_tests")
def affine_tanh(params, inputs):
    import jax.numpy as jnp

    return jnp.tanh(inputs @ params["w"] + params["b"])


@register_keras_serializable("interop_tests")
def affine_init(rng, inputs):
    import jax

    return {"w": jax.random.normal(rng, (inputs.shape[-1], 2)) * 0.5, "b": jax.numpy.zeros((2,))}


KERAS_JAX = """
import jax, jax.numpy as jnp

def affine_tanh(params, inputs):
    return jnp.tanh(inputs @ params["w"] + params["b"])

layer = keras.layers.JaxLayer(affine_tanh, params={"w": data["w"], "b": data["b"]})
model = keras.Sequential([keras.Input((4,)), layer])
model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
model.fit(data["x"], data["y"], epochs=3, batch_size=8, shuffle=False, verbose=0)
out["jax_y"] = model.predict(data["x"], verbose=0)
out["jax_w"] = np.asarray(layer.params["w"])

import flax.linen as nn

class MLP(nn.Module):
    @nn.compact
    def __call__(self, inputs):
        return nn.Dense(2, name="out")(nn.tanh(nn.Dense(3, name="hidden")(inputs)))

flax_layer = keras.layers.FlaxLayer(MLP())
model = keras.Sequential([keras.Input((4,)), flax_layer])
for i, name in enumerate(["hidden", "out"]):
    flax_layer.params["params"][name]["kernel"].assign(data[f"k{i}"])
    flax_layer.params["params"][name]["bias"].assign(data[f"b{i}"])
model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
model.fit(data["x"], data["y"], epochs=3, batch_size=8, shuffle=False, verbose=0)
out["flax_y"] = model.predict(data["x"], verbose=0)
out["flax_k1"] = np.asarray(flax_layer.params["params"]["out"]["kernel"])
"""

FLAX = {"k0": (RNG.standard_normal((4, 3)) * 0.5).astype("float32"), "b0": np.zeros(3, "float32"),
        "k1": (RNG.standard_normal((3, 2)) * 0.5).astype("float32"), "b1": np.full(2, 0.1, "float32")}
_KERAS: dict = {}


def _keras_jax() -> dict:
    if not _KERAS:
        _KERAS.update(run_keras(KERAS_JAX, {"x": X, "y": Y, **W, **FLAX}, backend="jax"))
    return _KERAS


def _mlp_class():
    import flax.linen as nn

    @register_keras_serializable("interop_tests")
    class InteropMLP(nn.Module):
        @nn.compact
        def __call__(self, inputs):
            return nn.Dense(2, name="out")(nn.tanh(nn.Dense(3, name="hidden")(inputs)))

        def get_config(self):
            return {}

    return InteropMLP


def test_jax_layer_trains_saves_and_matches_keras(engine, tmp_path):
    def build():
        return layers.JaxLayer(affine_tanh, init_fn=affine_init)

    if _refused(engine, build, "JaxLayer"):
        return
    layer = build()
    layer.build((None, 4))
    layer.set_weights([W["b"], W["w"]] if layer.weights[0].shape == (2,) else [W["w"], W["b"]])
    expected = np.tanh(X @ W["w"] + W["b"])
    np.testing.assert_allclose(polykeras.ops.to_numpy(layer(X)), expected, rtol=1e-5, atol=1e-6)
    if not engine.differentiable:
        return
    model = polykeras.Sequential([polykeras.Input((4,)), layer])
    predictions, _ = _fit_and_reload(model, tmp_path)
    theirs = _keras_jax()
    np.testing.assert_allclose(predictions, theirs["jax_y"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(layer.params["w"]), theirs["jax_w"], rtol=1e-5, atol=1e-6)


def test_flax_layer_trains_saves_and_matches_keras(engine, tmp_path):
    variables = {"params": {"hidden": {"kernel": FLAX["k0"], "bias": FLAX["b0"]},
                            "out": {"kernel": FLAX["k1"], "bias": FLAX["b1"]}}}
    mlp = _mlp_class()

    def build():
        return layers.FlaxLayer(mlp(), variables=variables)

    if _refused(engine, build, "FlaxLayer"):
        return
    layer = build()
    expected = np.tanh(X @ FLAX["k0"] + FLAX["b0"]) @ FLAX["k1"] + FLAX["b1"]
    np.testing.assert_allclose(polykeras.ops.to_numpy(layer(X)), expected, rtol=1e-5, atol=1e-5)
    if not engine.differentiable:
        return
    model = polykeras.Sequential([polykeras.Input((4,)), layer])
    predictions, _ = _fit_and_reload(model, tmp_path)
    theirs = _keras_jax()
    np.testing.assert_allclose(predictions, theirs["flax_y"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(layer.params["params"]["out"]["kernel"]), theirs["flax_k1"],
                               rtol=1e-5, atol=1e-6)


def test_jax_layer_bad_inputs(engine):
    if _refused(engine, lambda: layers.JaxLayer(affine_tanh, init_fn=affine_init), "JaxLayer"):
        return
    with pytest.raises(ValueError, match=r"JaxLayer '.*': call_fn takes `params`/`state`, so expected params, "
                                         r"state or an init_fn; received none"):
        layers.JaxLayer(affine_tanh)
    with pytest.raises(TypeError, match=r"JaxLayer '.*': expected call_fn to be a function, received int"):
        layers.JaxLayer(3, params=W)
    with pytest.raises(ValueError, match=r"expected call_fn to take an `inputs` argument, received .*\(params, x\)"):
        layers.JaxLayer(lambda params, x: x, params=W)
    with pytest.raises(ValueError, match=r"init_fn takes unsupported argument\(s\) \['key'\]"):
        layers.JaxLayer(affine_tanh, init_fn=lambda key, inputs: None)
    with pytest.raises(TypeError, match=r"FlaxLayer '.*': expected module to be a flax.linen.Module, received int"):
        layers.FlaxLayer(3)


# ----------------------------------------------------------- SavedModel
_SAVED: dict = {}


def _saved_model(tmp_path_factory) -> tuple[str, np.ndarray]:
    """A SavedModel written from a polykeras model on the tensorflow engine, and its predictions on X."""
    if not _SAVED:
        import tensorflow as tf

        import polykeras.backends as B

        path = str(tmp_path_factory.mktemp("saved_model") / "model")
        with B.use("tensorflow"):
            model = polykeras.Sequential([polykeras.Input((4,)), layers.Dense(3, activation="relu"), layers.Dense(2)])
            module = native_module(model)
            tf.saved_model.save(module, path, signatures=module.serving_function(tf.TensorSpec([None, 4])))
            _SAVED.update(path=path, y=np.asarray(model.predict(X, verbose=0)))
    return _SAVED["path"], _SAVED["y"]


KERAS_TFSM = """
layer = keras.layers.TFSMLayer(data_path, call_endpoint="serve")
out["y"] = np.asarray(layer(data["x"]))
out["signature"] = np.asarray(keras.layers.TFSMLayer(data_path, call_endpoint="serving_default")(data["x"])["output_0"])
out["names"] = [w.name for w in layer.weights]
"""


def test_tfsm_layer_on_every_engine_matches_keras(engine, tmp_path, tmp_path_factory):
    path, expected = _saved_model(tmp_path_factory)
    layer = layers.TFSMLayer(path, call_endpoint="serve")
    np.testing.assert_allclose(polykeras.ops.to_numpy(layer(X)), expected, rtol=1e-6, atol=1e-6)
    signature = layers.TFSMLayer(path, call_endpoint="serving_default")(X)
    np.testing.assert_allclose(polykeras.ops.to_numpy(signature["output_0"]), expected, rtol=1e-6, atol=1e-6)
    model = polykeras.Sequential([polykeras.Input((4,)), layer, layers.Dense(1)])
    predictions = model.predict(X, verbose=0)  # compiled on jax (a pure_callback inside jax.jit)
    model.save(tmp_path / "with_tfsm.keras")
    with pytest.raises(ValueError, match=r"TFSMLayer '.*': refusing to load the SavedModel at .* safe mode"):
        load_model(tmp_path / "with_tfsm.keras")
    again = load_model(tmp_path / "with_tfsm.keras", safe_mode=False)
    np.testing.assert_allclose(again.predict(X, verbose=0), predictions, rtol=1e-6, atol=1e-6)
    layer.set_weights([w * 0 for w in layer.get_weights()])  # the layer's weights are what it computes with
    np.testing.assert_allclose(polykeras.ops.to_numpy(layer(X)), 0.0)
    if engine.name == "tensorflow":  # Keras 3 runs TFSMLayer on its TensorFlow backend only
        theirs = run_keras(KERAS_TFSM.replace("data_path", repr(path)), {"x": X}, backend="tensorflow")
        np.testing.assert_allclose(theirs["y"], expected, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(theirs["signature"], expected, rtol=1e-6, atol=1e-6)
        # Keras's names less TensorFlow's ":0", made unique per layer as polykeras needs ("kernel", "kernel_1")
        ours = [v.name for v in layers.TFSMLayer(path).weights]
        assert ours == ["kernel", "bias", "kernel_1", "bias_1"]
        assert [n.split(":")[0] for n in theirs["names"]] == ["kernel", "bias", "kernel", "bias"]


def test_tfsm_layer_bad_inputs(engine, tmp_path, tmp_path_factory):
    path, _ = _saved_model(tmp_path_factory)
    with pytest.raises(ValueError, match=r"TFSMLayer '.*': the endpoint 'no_such' \(call_endpoint\) is neither an "
                                         r"attribute of the SavedModel nor one of its signatures; available "
                                         r"signatures: \['serving_default'\]"):
        layers.TFSMLayer(path, call_endpoint="no_such")
    with pytest.raises(ValueError, match=r"call_training_endpoint"):
        layers.TFSMLayer(path, call_training_endpoint="train")
    with pytest.raises(ValueError, match=r"TFSMLayer '.*': expected filepath to be a TensorFlow SavedModel "
                                         r"directory, received '.*nowhere'"):
        layers.TFSMLayer(str(tmp_path / "nowhere"))


# --------------------------------------------------------------- shapes
def test_symbolic_shapes_keep_the_batch_unknown(engine, tmp_path_factory):
    """A functional model over each wrapper: the symbolic output and
    compute_output_shape keep an unknown batch size unknown and give the
    real call's other sizes (Keras builds these layers on their own
    backends only, so tests/layers/test_output_shapes.py lists them)."""
    path, _ = _saved_model(tmp_path_factory)
    builders = {
        "TorchModuleWrapper": lambda: layers.TorchModuleWrapper(_torch_module()),
        "JaxLayer": lambda: layers.JaxLayer(affine_tanh, params=dict(W)),
        "FlaxLayer": lambda: layers.FlaxLayer(_mlp_class()()),
        "TFSMLayer": lambda: layers.TFSMLayer(path),
    }
    for name, build in builders.items():
        if _refused(engine, build, name):
            continue
        layer = build()
        inputs = polykeras.Input(batch_shape=(None, 4))
        assert tuple(layer(inputs).shape) == (None, 2), name
        assert tuple(layer.compute_output_shape((None, 4))) == (None, 2), name
        assert tuple(polykeras.ops.to_numpy(layer(X)).shape) == (16, 2), name
