"""Which inputs an export takes: a graph model's own, a subclassed model's
build shape, several inputs as one list, as Keras 3 does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import polykeras as pk
from polykeras import layers
from tests.saving._models import TinyNet


def _load_jax(path: Path) -> Any:
    jax = pytest.importorskip("jax")
    return jax.export.deserialize(bytearray(path.read_bytes()))


def test_a_subclassed_model_exports_with_its_build_shape(engine: Any, tmp_path: Path) -> None:
    model = TinyNet(units=2, hidden=4, name="tiny")
    model.build((None, 3))
    x = np.random.default_rng(0).uniform(size=(5, 3)).astype("float32")
    model.export(tmp_path / "tiny.stablehlo", format="jax", verbose=False)
    got = np.asarray(_load_jax(tmp_path / "tiny.stablehlo").call(x))
    np.testing.assert_allclose(got, model.predict(x, verbose=0), atol=1e-5)


def test_an_unregistered_subclassed_model_cannot_move(engine: Any, tmp_path: Path) -> None:
    class Free(pk.Model):
        def __init__(self) -> None:
            super().__init__(name="free")
            self.dense = layers.Dense(2)

        def call(self, x: Any) -> Any:
            return self.dense(x)

    with pk.backends.use("numpy"):  # an engine that writes no format: the model must move
        model = Free()
        model(np.ones((2, 3), "float32"))
    with pytest.raises(ValueError, match="export of model 'free': this format is written by the 'jax' engine, "
                                         "and moving 'free' there failed: .*Register it with @register_serial"):
        model.export(tmp_path / "free.stablehlo", format="jax", verbose=False)


def test_several_inputs_are_one_list(engine: Any, tmp_path: Path) -> None:
    a, b = pk.Input((3,), name="a"), pk.Input((2,), name="b")
    model = pk.Model([a, b], layers.Dense(2)(layers.Concatenate()([a, b])), name="two")
    xa = np.random.default_rng(0).uniform(size=(4, 3)).astype("float32")
    xb = np.random.default_rng(1).uniform(size=(4, 2)).astype("float32")
    model.export(tmp_path / "two.stablehlo", format="jax", verbose=False)
    got = np.asarray(_load_jax(tmp_path / "two.stablehlo").call([xa, xb]))
    np.testing.assert_allclose(got, model.predict([xa, xb], verbose=0), atol=1e-5)
