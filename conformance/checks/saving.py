"""The ``saving`` family: save on engine X, load on engine Y.

One row per format and saving engine (``archive from torch``...), one column
per loading engine:

* ``archive`` (``model.save`` / ``polykeras.saving.load_model``): a compiled
  model trained two steps on X (when X differentiates) loads on Y with the
  same weights (bit for bit), the same optimizer state, the same predictions
  ("model" tolerance), and one more training step on the same batch ends at
  the same weights on X and Y (max abs difference <= "model" atol);
* ``weights`` (``save_weights`` / ``load_weights``, HDF5 by layer path): a
  freshly built model on Y with another seed takes X's weights and predicts
  X's numbers;
* ``config`` (``to_json`` / ``model_from_json`` + ``set_weights``): the
  architecture alone rebuilds the same model on Y.

Example:
    >>> [c.name for c in saving_checks(["numpy", "torch"])][:2]
    ['archive from numpy', 'archive from torch']
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import polykeras.backends as B
from conformance.checks.base import Check, Context, Skip
from conformance.tolerances import tolerance

__all__ = ["FORMATS", "saving_checks"]

FORMATS = ("archive", "weights", "config")
_BATCH = 8


def _model() -> Any:
    import polykeras as pk
    from polykeras import layers as L

    ids, features = pk.Input((6,), dtype="int32", name="ids"), pk.Input((4,), name="features")
    words = L.GlobalAveragePooling1D()(L.Embedding(10, 3, mask_zero=True)(ids))
    h = L.Concatenate()([words, L.Dense(5, activation="relu")(features)])
    h = L.BatchNormalization()(L.Dense(6, activation="tanh")(h))
    return pk.Model([ids, features], L.Dense(3, activation="softmax", name="probabilities")(h), name="saved")


def _data(seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    rng = np.random.default_rng(seed + 4242)
    ids = rng.integers(0, 10, (_BATCH, 6)).astype("int32")
    return [ids, rng.standard_normal((_BATCH, 4)).astype("float32")], rng.integers(0, 3, _BATCH).astype("int32")


def _compile(model: Any) -> None:
    from polykeras.optimizers import Adam

    model.compile(optimizer=Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])


def _host(values: Sequence[Any]) -> list[np.ndarray]:
    return [np.asarray(v.numpy()) for v in values]


def _saved(source: str, ctx: Context) -> dict[str, Any]:
    """Build (and train) the model on ``source``, write the three formats; cached."""
    key = ("saved", source, ctx.seed)
    if key in ctx.cache:
        return ctx.cache[key]
    import polykeras as pk

    folder = ctx.cache.setdefault("saving_dir", tempfile.mkdtemp(prefix="polykeras-conformance-"))
    x, y = _data(ctx.seed)
    trains = bool(B.get(source).differentiable)
    with B.use(source):
        pk.random.set_seed(ctx.seed)
        model = _model()
        _compile(model)
        if trains:
            for _ in range(2):
                model.train_on_batch(x, y)
        paths = {f: os.path.join(folder, f"{source}.{ext}") for f, ext in
                 zip(FORMATS, ("pkeras", "weights.h5", "json"))}
        model.save(paths["archive"])
        model.save_weights(paths["weights"])
        with open(paths["config"], "w") as f:
            f.write(model.to_json())
        out = {"paths": paths, "trained": trains, "weights": model.get_weights(),
               "predictions": np.asarray(model.predict_on_batch(x)),
               "optimizer": _host(model.optimizer.variables) if trains else None}
        if trains:
            model.train_on_batch(x, y)
            out["after_step"] = model.get_weights()
    ctx.cache[key] = out
    return out


def _same_weights(ctx: Context, mine: list[np.ndarray], saved: list[np.ndarray], what: str) -> None:
    if len(mine) != len(saved):
        raise AssertionError(f"{what}: {len(mine)} weights loaded, {len(saved)} saved")
    for i, (a, b) in enumerate(zip(mine, saved)):
        ctx.meter.exact(a, b, what=f"{what}: weight {i}")


def _archive(ctx: Context, saved: dict[str, Any], source: str) -> str:
    from polykeras.saving import load_model

    x, y = _data(ctx.seed)
    model = load_model(saved["paths"]["archive"])
    what = f"archive saved on {source}, loaded on {ctx.engine}"
    _same_weights(ctx, model.get_weights(), saved["weights"], what)
    ctx.meter.compare(np.asarray(model.predict_on_batch(x)), saved["predictions"], "model", "float32",
                      what=f"{what}: predictions")
    if not saved["trained"]:
        return "saved untrained (the saving engine does not differentiate)"
    _same_weights(ctx, _host(model.optimizer.variables), saved["optimizer"], f"{what}: optimizer state")
    if not ctx.differentiable:
        return f"training not resumed: the {ctx.engine} engine does not differentiate"
    model.train_on_batch(x, y)
    atol = tolerance("model", "float32")[1]
    for i, (a, b) in enumerate(zip(model.get_weights(), saved["after_step"])):
        ctx.meter.compare(a, b, "model", "float32", tol=(0.0, atol),
                          what=f"{what}: weight {i} after one more step on both engines")
    return ""


def _weights(ctx: Context, saved: dict[str, Any], source: str) -> str:
    import polykeras as pk

    x, _ = _data(ctx.seed)
    pk.random.set_seed(ctx.seed + 1)  # other initial values: load_weights must replace them all
    model = _model()
    model.load_weights(saved["paths"]["weights"])
    what = f"weights saved on {source}, loaded on {ctx.engine}"
    _same_weights(ctx, model.get_weights(), saved["weights"], what)
    ctx.meter.compare(np.asarray(model.predict_on_batch(x)), saved["predictions"], "model", "float32",
                      what=f"{what}: predictions")
    return ""


def _config(ctx: Context, saved: dict[str, Any], source: str) -> str:
    from polykeras.saving import model_from_json

    x, _ = _data(ctx.seed)
    with open(saved["paths"]["config"]) as f:
        model = model_from_json(f.read())
    model.set_weights(saved["weights"])
    ctx.meter.compare(np.asarray(model.predict_on_batch(x)), saved["predictions"], "model", "float32",
                      what=f"config saved on {source}, rebuilt on {ctx.engine}: predictions")
    return ""


_LOADERS: dict[str, Callable[[Context, dict[str, Any], str], str]] = {
    "archive": _archive, "weights": _weights, "config": _config,
}


def _saving_check(kind: str, source: str) -> Callable[[Context], str]:
    def run(ctx: Context) -> str:
        if source not in B.installed():
            raise Skip(f"the saving engine {source} is not installed")
        return _LOADERS[kind](ctx, _saved(source, ctx), source)
    return run


def saving_checks(engines: Sequence[str] | None = None) -> list[Check]:
    """One row per format and saving engine (default: the installed engines)."""
    sources = list(engines) if engines else B.installed()
    return [Check(f"{kind} from {source}", "saving", _saving_check(kind, source))
            for kind in FORMATS for source in sources]
