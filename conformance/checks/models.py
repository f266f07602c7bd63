"""The ``models`` family: whole models built, predicted and trained the same
way on every engine.

For each model case, on each engine:

1. the same seed gives bit-identical initial weights as on the NumPy engine;
2. the untrained model's predictions equal the NumPy engine's ("model" tolerance);
3. on differentiating engines, 20 Adam steps (``fit``, float32, same data,
   no shuffling) end at the same weights as on the baseline engine (the first
   other differentiating engine of the run): max abs difference <= the
   "model" family's atol (1e-4); the per-epoch losses agree within "model"
   tolerance, and the loss went down.

Example:
    >>> [c.name for c in model_checks()]
    ['cnn', 'functional', 'mlp', 'recurrent', 'subclassed', 'text']
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

import polykeras.backends as B
from conformance.checks.base import Check, Context, Skip
from conformance.tolerances import tolerance
from polykeras import ops

__all__ = ["MODEL_CASES", "ModelCase", "STEPS", "model_checks"]

STEPS = 20  # Adam steps per training run
BATCH = 8


@dataclasses.dataclass(frozen=True)
class ModelCase:
    """A model to build (``make()``, on the active engine), its data
    (``data(rng) -> (x, y)``, ``STEPS * BATCH`` samples) and its compile
    arguments (the optimizer is always ``Adam(learning_rate)``).

    Example: ``ModelCase(make_mlp, classification((6,), 3), "sparse_categorical_crossentropy")``
    """

    make: Callable[[], Any]
    data: Callable[[np.random.Generator], tuple[Any, Any]]
    loss: Any
    metrics: tuple[str, ...] = ()
    learning_rate: float = 1e-3
    needs: tuple[str, ...] = ()  # layer classes the case uses beyond the core ones


def _layers() -> Any:
    from polykeras import layers

    return layers


def _mlp() -> Any:
    import polykeras as pk

    L = _layers()
    return pk.Sequential([pk.Input((6,)), L.Dense(16, activation="tanh"), L.Dense(8, activation="gelu"), L.Dense(3)])


def _cnn() -> Any:
    import polykeras as pk

    L = _layers()
    return pk.Sequential([
        pk.Input((6, 6, 2)), L.Conv2D(4, 3, padding="same", use_bias=False), L.BatchNormalization(),
        L.Activation("tanh"), L.MaxPooling2D(2), L.Conv2D(4, 2), L.Flatten(), L.Dense(3, activation="softmax"),
    ])


def _functional() -> Any:
    import polykeras as pk

    L = _layers()
    a, b = pk.Input((5,), name="a"), pk.Input((3,), name="b")
    h = L.Concatenate()([L.Dense(6, activation="sigmoid")(a), L.Dense(4, activation="tanh")(b)])
    h = L.LayerNormalization()(h)
    return pk.Model([a, b], [L.Dense(2, name="value")(h), L.Dense(1, activation="sigmoid", name="flag")(h)])


def _text() -> Any:
    import polykeras as pk

    L = _layers()
    ids = pk.Input((7,), dtype="int32")
    h = L.Embedding(12, 4, mask_zero=True)(ids)
    h = L.GlobalAveragePooling1D()(h)
    return pk.Model(ids, L.Dense(1, activation="sigmoid")(L.Dense(5, activation="tanh")(h)))


def _recurrent() -> Any:
    import polykeras as pk
    from polykeras.layers.config import LAYER_CLASSES

    L = _layers()
    return pk.Sequential([pk.Input((5, 3)), LAYER_CLASSES["GRU"](4), L.Dense(2)])


def _subclassed() -> Any:
    import polykeras as pk

    L = _layers()

    class Residual(pk.Model):
        def __init__(self, **kwargs: Any):
            super().__init__(**kwargs)
            self.inner = L.Dense(6, activation="tanh")
            self.back = L.Dense(6)
            self.head = L.Dense(2)

        def call(self, x: Any) -> Any:
            return self.head(ops.add(x, self.back(self.inner(x))))

    model = Residual()
    model.build((None, 6))
    return model


def _classes(shape: tuple[int, ...], classes: int, one_hot: bool = False) -> Callable[[np.random.Generator], Any]:
    def data(rng: np.random.Generator) -> tuple[Any, Any]:
        x = rng.standard_normal((STEPS * BATCH, *shape)).astype("float32")
        y = rng.integers(0, classes, STEPS * BATCH)
        return x, (np.eye(classes, dtype="float32")[y] if one_hot else y.astype("int32"))
    return data


def _two_inputs(rng: np.random.Generator) -> tuple[Any, Any]:
    n = STEPS * BATCH
    x = [rng.standard_normal((n, 5)).astype("float32"), rng.standard_normal((n, 3)).astype("float32")]
    return x, [rng.standard_normal((n, 2)).astype("float32"), (rng.random((n, 1)) > 0.5).astype("float32")]


def _ids(rng: np.random.Generator) -> tuple[Any, Any]:
    n = STEPS * BATCH
    ids = rng.integers(1, 12, (n, 7)).astype("int32")
    ids[:, 5:] *= rng.random((n, 2)) > 0.5  # padding zeros: masked steps
    return ids, (rng.random((n, 1)) > 0.5).astype("float32")


def _regression(shape: tuple[int, ...], outputs: int) -> Callable[[np.random.Generator], Any]:
    def data(rng: np.random.Generator) -> tuple[Any, Any]:
        n = STEPS * BATCH
        return (rng.standard_normal((n, *shape)).astype("float32"),
                rng.standard_normal((n, outputs)).astype("float32"))
    return data


MODEL_CASES: dict[str, ModelCase] = {
    "mlp": ModelCase(_mlp, _classes((6,), 3), "sparse_categorical_crossentropy_logits", ("accuracy",)),
    "cnn": ModelCase(_cnn, _classes((6, 6, 2), 3, one_hot=True), "categorical_crossentropy", ("accuracy",)),
    "functional": ModelCase(_functional, _two_inputs, ["mse", "binary_crossentropy"], ("mae",)),
    "text": ModelCase(_text, _ids, "binary_crossentropy", ("accuracy",)),
    "recurrent": ModelCase(_recurrent, _regression((5, 3), 2), "mse", needs=("GRU",)),
    "subclassed": ModelCase(_subclassed, _regression((6,), 2), "huber", learning_rate=3e-3),
}


def _loss(case: ModelCase) -> Any:
    from polykeras import losses

    if case.loss == "sparse_categorical_crossentropy_logits":
        return losses.SparseCategoricalCrossentropy(from_logits=True)
    return case.loss


def _outputs(value: Any) -> list[np.ndarray]:
    if isinstance(value, (list, tuple)):
        return [np.asarray(v) for v in value]
    if isinstance(value, dict):
        return [np.asarray(value[k]) for k in sorted(value)]
    return [np.asarray(value)]


def _run(name: str, engine: str, ctx: Context, train: bool) -> dict[str, Any]:
    """Build (and train) case ``name`` on ``engine``; cached per run."""
    key = ("model", name, engine, ctx.seed, train)
    if key in ctx.cache:
        return ctx.cache[key]
    import polykeras as pk
    from polykeras.optimizers import Adam

    case = MODEL_CASES[name]
    rng = np.random.default_rng(ctx.seed + 2024)
    x, y = case.data(rng)
    with B.use(engine):
        pk.random.set_seed(ctx.seed)
        model = case.make()
        out: dict[str, Any] = {"initial": model.get_weights(),
                               "predictions": _outputs(model.predict(x[:16] if not isinstance(x, list)
                                                                     else [a[:16] for a in x], verbose=0))}
        if train:
            model.compile(optimizer=Adam(case.learning_rate), loss=_loss(case), metrics=list(case.metrics))
            history = model.fit(x, y, batch_size=BATCH, epochs=4, shuffle=False, verbose=0)
            out["weights"] = model.get_weights()
            out["losses"] = np.asarray(history.history["loss"], np.float64)
            out["paths"] = [w.path for w in model.weights]
    ctx.cache[key] = out
    return out


def _model_check(name: str) -> Callable[[Context], str]:
    def run(ctx: Context) -> str:
        from polykeras.layers.config import LAYER_CLASSES

        case = MODEL_CASES[name]
        missing = [c for c in case.needs if c not in LAYER_CLASSES]
        if missing:
            raise Skip(f"needs {', '.join(missing)}, not registered")
        meter, what = ctx.meter, f"model {name}"
        mine = _run(name, ctx.engine, ctx, train=ctx.differentiable)
        reference = _run(name, "numpy", ctx, train=False)
        if len(mine["initial"]) != len(reference["initial"]):
            raise AssertionError(f"{what}: {len(mine['initial'])} weights, {len(reference['initial'])} on numpy")
        for i, (a, b) in enumerate(zip(mine["initial"], reference["initial"])):
            meter.exact(a, b, what=f"{what}: initial weight {i} (same seed) vs the numpy engine")
        for i, (a, b) in enumerate(zip(mine["predictions"], reference["predictions"])):
            meter.compare(a, b, "model", "float32", what=f"{what}: prediction {i} of the untrained model vs numpy")
        if not ctx.differentiable:
            return f"not trained: the {ctx.engine} engine does not differentiate"
        others = [e for e in ctx.diff_engines() if e != ctx.engine]
        if mine["losses"][-1] >= mine["losses"][0]:
            raise AssertionError(f"{what}: the loss did not go down in {STEPS} Adam steps: {mine['losses'].tolist()}")
        if not others:
            return "trained; no other differentiating engine in this run to compare with"
        base = _run(name, others[0], ctx, train=True)
        atol = tolerance("model", "float32")[1]
        for path, a, b in zip(mine["paths"], mine["weights"], base["weights"]):
            meter.compare(a, b, "model", "float32", tol=(0.0, atol),
                          what=f"{what}: {path} after {STEPS} Adam steps vs {others[0]}")
        meter.compare(mine["losses"], base["losses"], "model", "float32",
                      what=f"{what}: per-epoch losses vs {others[0]}")
        return f"weights after {STEPS} Adam steps compared with {others[0]}"
    return run


def model_checks() -> list[Check]:
    """One row per model case."""
    return [Check(name, "models", _model_check(name)) for name in sorted(MODEL_CASES)]
