"""What the native-module layers cost against calling the framework directly.

Models (``--models``):

* ``torch_mlp``: one training step (SGD, mse) of a torch MLP 784-256-10 at
  batch 128: a plain ``torch.optim`` loop on the module (native), the module
  in polykeras's ``TorchModuleWrapper`` trained by the compiled step ``fit``
  runs (polykeras), Keras 3's ``TorchModuleWrapper`` (keras). Torch engine only.
* ``tfsm``: one inference call of a SavedModel endpoint (Dense 784-256-10) at
  batch 128: the loaded endpoint itself (native), ``TFSMLayer`` on the engine
  (polykeras: direct on tensorflow, through NumPy elsewhere, the boundary's
  cost), Keras 3's ``TFSMLayer`` (tensorflow only).

    python bench/interop.py [--engines torch,tensorflow,jax,numpy] [--models torch_mlp,tfsm]

Each figure is measured in its own process (``bench/_harness.py``).
"""

from __future__ import annotations

import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import main, polykeras_step_ms, timed  # noqa: E402

BATCH = 128
RNG = np.random.default_rng(0)
X = RNG.standard_normal((BATCH, 784)).astype("float32")
Y = RNG.standard_normal((BATCH, 10)).astype("float32")
SAVED = os.path.join(tempfile.gettempdir(), "polykeras_bench_interop_sm")


def _torch_module():
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))


def _saved_model() -> str:
    """The SavedModel, written once (by a tensorflow-engine polykeras model's native tf.Module)."""
    if not os.path.exists(os.path.join(SAVED, "saved_model.pb")):
        import tensorflow as tf

        import polykeras
        import polykeras.backends as B
        from polykeras.utils import native_module

        with B.use("tensorflow"):
            model = polykeras.Sequential([polykeras.Input((784,)), polykeras.layers.Dense(256, activation="relu"),
                                          polykeras.layers.Dense(10)])
            module = native_module(model)
            tf.saved_model.save(module, SAVED, signatures=module.serving_function(tf.TensorSpec([None, 784])))
    return SAVED


def native(engine: str, model: str, steps: int, rounds: int) -> float | None:
    if model == "torch_mlp":
        if engine != "torch":
            return None
        import torch

        module = _torch_module()
        optimizer = torch.optim.SGD(module.parameters(), lr=0.01)
        x, y = torch.from_numpy(X), torch.from_numpy(Y)

        def step():
            optimizer.zero_grad()
            torch.mean((module(x) - y) ** 2).backward()
            optimizer.step()

        return timed(step, steps, rounds)
    import tensorflow as tf

    loaded = tf.saved_model.load(_saved_model())  # kept alive: the endpoint reads its variables
    x = tf.constant(X)
    return timed(lambda: loaded.serve(x).numpy(), steps, rounds)


def ours(engine: str, model: str, steps: int, rounds: int) -> float | None:
    import polykeras
    import polykeras.backends as B

    with B.use(engine):
        if model == "torch_mlp":
            if engine != "torch":
                return None
            net = polykeras.Sequential([polykeras.Input((784,)), polykeras.layers.TorchModuleWrapper(_torch_module())])
            net.compile(optimizer=polykeras.optimizers.SGD(0.01), loss="mse")
            return polykeras_step_ms(net, X, Y, BATCH, steps, rounds)
        layer = polykeras.layers.TFSMLayer(_saved_model(), call_endpoint="serve")
        x = polykeras.ops.convert_to_tensor(X)
        return timed(lambda: polykeras.ops.to_numpy(layer(x)), steps, rounds)


def keras(engine: str, model: str, steps: int, rounds: int) -> float | None:
    import keras as k

    if model == "torch_mlp":
        if engine != "torch":
            return None
        net = k.Sequential([k.Input((784,)), k.layers.TorchModuleWrapper(_torch_module())])
        net.compile(optimizer=k.optimizers.SGD(0.01), loss="mse")
        net.train_on_batch(X, Y)
        return timed(lambda: net.train_on_batch(X, Y), steps, rounds)
    if engine != "tensorflow":
        return None
    layer = k.layers.TFSMLayer(_saved_model(), call_endpoint="serve")
    return timed(lambda: np.asarray(layer(X)), steps, rounds)


RUNNERS = {"native": native, "polykeras": ours, "keras": keras}

if __name__ == "__main__":
    main(__file__, __doc__.splitlines()[0], RUNNERS, engines="torch,tensorflow,jax,numpy",
         models="torch_mlp,tfsm", steps=50)
