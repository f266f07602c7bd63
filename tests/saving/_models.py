"""Tiny models and data shared by the saving tests (built in a few ms on every engine)."""

from __future__ import annotations

from typing import Any

import numpy as np

from polykeras import Input, Model, Sequential, layers
from polykeras.saving import register_serializable

KINDS = ("functional", "sequential", "subclassed")


@register_serializable("polykeras_tests")
class TinyNet(Model):
    """A registered subclassed model with get_config: Dense, BatchNormalization, Dense."""

    def __init__(self, units: int = 2, hidden: int = 4, **kwargs: Any):
        super().__init__(**kwargs)
        self.units, self.hidden = units, hidden
        self.dense_in = layers.Dense(hidden, activation="relu")
        self.norm = layers.BatchNormalization()
        self.dense_out = layers.Dense(units)

    def call(self, x: Any, training: Any = None) -> Any:
        return self.dense_out(self.norm(self.dense_in(x), training=training))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "units": self.units, "hidden": self.hidden}


def functional(seed: int = 0) -> Model:
    """BatchNormalization -> Conv2D -> Flatten -> Dense on 5x5x2 images (no
    bias right before a BatchNormalization: its gradient would be round-off,
    which Adam blows up to full steps in random directions)."""
    x = Input((5, 5, 2), name="image")
    h = layers.BatchNormalization(name="norm")(x)
    h = layers.Conv2D(3, 3, activation="relu", kernel_initializer=_init(seed), name="conv")(h)
    h = layers.Flatten(name="flat")(h)
    return Model(x, layers.Dense(2, kernel_initializer=_init(seed + 1), name="head")(h), name="func")


def sequential(seed: int = 0) -> Sequential:
    return Sequential([Input((4,)), layers.Dense(5, activation="tanh", kernel_initializer=_init(seed), name="d1"),
                       layers.BatchNormalization(name="bn"),
                       layers.Dense(2, kernel_initializer=_init(seed + 1), name="d2")], name="seq")


def subclassed(seed: int = 0) -> TinyNet:
    model = TinyNet(name="tiny")
    model.build((None, 4))
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(size=w.shape).astype(w.dtype) * 0.5 if "variance" not in w.path
                       else np.full(w.shape, 1.5, w.dtype) for w in model.weights])
    return model


def _init(seed: int) -> Any:
    from polykeras import initializers

    return initializers.GlorotUniform(seed=seed)


BUILDERS = {"functional": functional, "sequential": sequential, "subclassed": subclassed}


def build(kind: str, seed: int = 0) -> Model:
    """One of :data:`KINDS`, with fixed initial weights."""
    return BUILDERS[kind](seed)


def data(kind: str, n: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and regression targets that fit ``kind``."""
    rng = np.random.default_rng(seed)
    shape = (n, 5, 5, 2) if kind == "functional" else (n, 4)
    return rng.normal(size=shape).astype("float32"), rng.normal(size=(n, 2)).astype("float32")


def compiled(kind: str, seed: int = 0, **kwargs: Any) -> Model:
    model = build(kind, seed)
    model.compile(optimizer="adam", loss="mse", metrics=["mae"], **kwargs)
    return model


def weights(model: Model) -> list[np.ndarray]:
    return [np.array(w) for w in model.get_weights()]
