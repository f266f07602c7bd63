"""The engine registry and selection: names, installed engines, errors for
unknown or missing engines, the default engine (environment, config file),
scoped switching, and several engines live in one process."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import polykeras
import polykeras.backends as B
from polykeras import ops


@pytest.fixture
def fresh_registry(monkeypatch):
    """Engines created during the test are forgotten afterwards."""
    monkeypatch.setattr(B, "_engines", dict(B._engines))
    monkeypatch.setattr(B, "_default", B._default)
    return B


def _run(code: str, **env_changes: str | None) -> str:
    """Run ``code`` in a fresh interpreter; ``None`` removes a variable."""
    env = dict(os.environ)
    for key, value in env_changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"subprocess failed:\n{done.stderr[-3000:]}"
    return done.stdout.strip().splitlines()[-1]


def test_names_and_installed():
    names = B.names()
    assert names[:4] == ["tensorflow", "torch", "jax", "numpy"]
    assert len(names) == len(set(names))
    installed = B.installed()
    assert set(installed) <= set(names)
    assert "numpy" in installed, "the NumPy engine needs no framework and is always installed"
    assert B.available() == installed


def test_get_returns_one_named_instance_per_engine(engine):
    assert B.get(engine.name) is engine
    assert engine.name in B.names()
    assert isinstance(engine.version(), str) and engine.version()
    assert repr(engine).startswith("<polykeras engine")


def test_unknown_engine_lists_valid_names():
    with pytest.raises(ValueError, match="Unknown engine 'theano'") as info:
        B.get("theano")
    for name in B.names():
        assert name in str(info.value)
    with pytest.raises(TypeError, match="string"):
        B.get(3)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["tensorflow", "torch", "jax"])
def test_missing_framework_names_the_pip_extra(monkeypatch, fresh_registry, name):
    real_find_spec = importlib.util.find_spec

    def find_spec(module, *args, **kwargs):
        return None if module == name else real_find_spec(module, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    fresh_registry._engines.pop(name, None)
    assert name not in B.installed()
    with pytest.raises(B.BackendUnavailableError, match=rf"pip install 'polykeras\[{name}\]'"):
        B.get(name)
    with pytest.raises(ImportError):  # BackendUnavailableError is an ImportError
        B.get(name)


def test_use_nests_and_restores(fresh_registry):
    outer = B.active()
    names = B.installed()
    first, second = names[0], names[-1]
    with B.use(first) as a:
        assert B.active() is a and polykeras.backend() == first
        with B.use(second) as b:
            assert B.active() is b and polykeras.backend() == second
        assert B.active() is a
        with pytest.raises(RuntimeError):
            with B.use(second):
                raise RuntimeError("boom")
        assert B.active() is a, "use() must restore the engine when its block raises"
    assert B.active() is outer


def test_use_accepts_an_engine_instance():
    engine = B.get("numpy")
    with B.use(engine) as active:
        assert active is engine and B.active() is engine


def test_set_default(fresh_registry):
    B.set_default("numpy")
    assert B.active().name == "numpy"
    with B.use(B.installed()[0]):
        assert B.active().name == B.installed()[0]
    assert B.active().name == "numpy"


def test_selection_is_per_thread_context(fresh_registry):
    """A ``use()`` block in one thread does not leak into another."""
    B.set_default("numpy")
    seen = {}
    inside, release = threading.Event(), threading.Event()

    def worker():
        seen["worker"] = B.active().name
        inside.set()
        release.wait(5)

    with B.use(B.installed()[0]):
        thread = threading.Thread(target=worker)
        thread.start()
        inside.wait(5)
        release.set()
        thread.join(5)
    assert seen["worker"] == "numpy"


def test_several_engines_live_in_one_process():
    names = B.installed()
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    results = {}
    engines = {name: B.get(name) for name in names}
    for name, engine in engines.items():  # interleaved use, no switching needed
        results[name] = engine.to_numpy(engine.matmul(engine.convert_to_tensor(x), engine.convert_to_tensor(x.T)))
    for name, engine in engines.items():
        assert engine.is_tensor(engine.ones((1,)))
        np.testing.assert_allclose(results[name], x @ x.T, rtol=1e-6)
        with B.use(name):
            np.testing.assert_allclose(ops.to_numpy(ops.add(ops.convert_to_tensor(x), 1.0)), x + 1.0)


# ------------------------------------------------------------ default engine
def test_default_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("POLYKERAS_HOME", str(tmp_path))
    for name in B.installed():
        monkeypatch.setenv("POLYKERAS_BACKEND", name)
        assert B.default_name() == name


def test_default_from_config_file(monkeypatch, tmp_path):
    monkeypatch.delenv("POLYKERAS_BACKEND", raising=False)
    monkeypatch.setenv("POLYKERAS_HOME", str(tmp_path))
    (tmp_path / "polykeras.json").write_text(json.dumps({"backend": "numpy"}))
    assert B.default_name() == "numpy"
    monkeypatch.setenv("POLYKERAS_BACKEND", B.installed()[0])
    assert B.default_name() == B.installed()[0], "the environment wins over the config file"


def test_default_without_choice_is_first_installed(monkeypatch, tmp_path):
    monkeypatch.delenv("POLYKERAS_BACKEND", raising=False)
    monkeypatch.delenv("KERAS_BACKEND", raising=False)  # Keras's choice counts too (tests/test_engine_selection.py)
    monkeypatch.setenv("POLYKERAS_HOME", str(tmp_path))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    expected = next(name for name in B.DEFAULT_ORDER if name in B.installed())
    assert B.default_name() == expected


def test_bad_default_choices(monkeypatch, tmp_path):
    monkeypatch.setenv("POLYKERAS_HOME", str(tmp_path))
    monkeypatch.setenv("POLYKERAS_BACKEND", "theano")
    with pytest.raises(ValueError, match="theano") as info:
        B.default_name()
    assert "numpy" in str(info.value)
    monkeypatch.delenv("POLYKERAS_BACKEND")
    (tmp_path / "polykeras.json").write_text("{not json")
    with pytest.raises(ValueError, match="polykeras.json"):
        B.default_name()


def test_environment_chooses_engine_at_startup(tmp_path):
    code = ("import polykeras; from polykeras import ops; "
            "ops.add(ops.ones((2,)), 1.0); print(polykeras.backend())")
    assert _run(code, POLYKERAS_BACKEND="numpy", POLYKERAS_HOME=str(tmp_path)) == "numpy"


def test_config_file_chooses_engine_at_startup(tmp_path):
    (tmp_path / "polykeras.json").write_text(json.dumps({"backend": "numpy"}))
    code = "import polykeras; print(polykeras.backend())"
    assert _run(code, POLYKERAS_BACKEND=None, POLYKERAS_HOME=str(tmp_path)) == "numpy"
