"""Cross-engine portability: a model saved on engine X loads on engine Y with
the same predictions (within 1e-5 in float32) and, on a differentiable Y,
continues training as X would have (optimizer state included); and the live
``model.to_backend(name)``. Every (source, target) pair of installed engines,
for functional, Sequential and subclassed models with Conv2D and
BatchNormalization. Tiny models, one training step each side."""

from __future__ import annotations

import itertools
import os
from typing import Any

import numpy as np
import pytest

from conformance.tolerances import assert_close
from polykeras import backends, ops
from polykeras.saving import load_model

from ._models import KINDS, build, data, weights


def _engines(config: Any) -> list[str]:
    chosen = config.getoption("--engines") or os.environ.get("POLYKERAS_TEST_ENGINES")
    return chosen.split(",") if chosen else backends.installed()


def pytest_generate_tests(metafunc: Any) -> None:
    if "source" in metafunc.fixturenames:
        names = _engines(metafunc.config)
        metafunc.parametrize("source, target", list(itertools.product(names, names)))


def _differentiable(name: str) -> bool:
    return backends.get(name).differentiable


def _reference_engine(config: Any) -> str | None:
    return next((n for n in _engines(config) if _differentiable(n)), None)


def _predict(model: Any, x: np.ndarray) -> np.ndarray:
    return np.asarray(ops.to_numpy(model(x, training=False)))


def _one_step(model: Any, kind: str) -> list[np.ndarray]:
    x, y = data(kind, n=4, seed=1)
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    return weights(model) + [np.asarray(v.numpy()) for v in model.optimizer.variables]


@pytest.fixture(scope="module")
def saved(tmp_path_factory: Any, request: Any) -> Any:
    """(source, kind) -> (archive path, predictions on the source, the state
    after one more step from the archive's state). Made once per pair."""
    cache: dict[tuple[str, str], tuple[Any, np.ndarray, list[np.ndarray] | None]] = {}
    reference = _reference_engine(request.config)

    def get(source: str, kind: str) -> tuple[Any, np.ndarray, list[np.ndarray] | None]:
        if (source, kind) not in cache:
            path = tmp_path_factory.mktemp(f"{source}-{kind}") / "m.pkeras"
            x, y = data(kind, n=4)
            with backends.use(source):
                model = build(kind)
                model.compile(optimizer="adam", loss="mse")
                if _differentiable(source):
                    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)  # optimizer state exists
                model.save(path)
                predictions = _predict(model, x)
                continued = _one_step(model, kind) if _differentiable(source) else None
            if continued is None and reference is not None:  # no optimizer state: a fresh one continues
                with backends.use(reference):
                    continued = _one_step(load_model(path), kind)
            cache[(source, kind)] = (path, predictions, continued)
        return cache[(source, kind)]

    return get


@pytest.mark.parametrize("kind", KINDS)
def test_save_on_one_engine_load_on_another(saved, source, target, kind):
    path, predictions, continued = saved(source, kind)
    x, _ = data(kind, n=4)
    with backends.use(target):
        model = load_model(path)
        assert all(v.engine.name == target for v in model.variables)
        assert_close(_predict(model, x), predictions, "matmul",
                     err_msg=f"{kind} model saved on {source}, loaded on {target}")
        if _differentiable(target):
            for after, expected in zip(_one_step(model, kind), continued):
                assert_close(after, expected, "model", err_msg=f"{kind}: one more step on {target} after {source}")


def test_to_backend_moves_a_live_model(source, target):
    kind = "functional"
    x, y = data(kind, n=4)
    with backends.use(source):
        model = build(kind)
        model.compile(optimizer="adam", loss="mse")
        if _differentiable(source):
            model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
        predictions = _predict(model, x)
        optimizer_state = [np.asarray(v.numpy()) for v in model.optimizer.variables]
        moved = model.to_backend(target)
    assert moved is not model and all(v.engine.name == target for v in moved.variables)
    assert moved.compiled and moved.get_compile_config() == model.get_compile_config()
    with backends.use(target):
        assert_close(_predict(moved, x), predictions, "matmul")
        for a, b in zip([np.asarray(v.numpy()) for v in moved.optimizer.variables], optimizer_state):
            np.testing.assert_array_equal(a, b)
    for a, b in zip(weights(moved), weights(model)):  # the original is untouched and still on its engine
        np.testing.assert_array_equal(a, b)
    assert all(v.engine.name == source for v in model.variables)
