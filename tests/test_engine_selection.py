"""Which engine a program gets without ``backends.use``: polykeras's own
choice (``POLYKERAS_BACKEND``, then ``polykeras.json``), else Keras 3's
(``KERAS_BACKEND``, then ``$KERAS_HOME/keras.json``), else the first installed
engine; and the test fixture still decides polykeras's engine although the
suite sets ``KERAS_BACKEND`` for Keras's own reference."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import polykeras.backends as B

_VARIABLES = ("POLYKERAS_BACKEND", "KERAS_BACKEND", "POLYKERAS_HOME", "KERAS_HOME")


@pytest.fixture
def homes(monkeypatch, tmp_path):
    """No choice anywhere: empty homes, neither variable set."""
    for name in ("POLYKERAS_BACKEND", "KERAS_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "pk").mkdir()
    (tmp_path / "keras").mkdir()
    monkeypatch.setenv("POLYKERAS_HOME", str(tmp_path / "pk"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    return tmp_path


def _first_installed() -> str:
    return next(name for name in B.DEFAULT_ORDER if name in B.installed())


def _other_than(name: str) -> str:
    return next(n for n in B.installed() if n != name)


def test_keras_backend_is_followed_when_polykeras_backend_is_unset(homes, monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "numpy")
    assert B.default_name() == "numpy"
    monkeypatch.setenv("POLYKERAS_BACKEND", _other_than("numpy"))
    assert B.default_name() == _other_than("numpy"), "POLYKERAS_BACKEND wins over KERAS_BACKEND"


def test_keras_json_is_read_after_both_variables(homes, monkeypatch):
    (homes / "keras" / "keras.json").write_text(json.dumps({"backend": "numpy", "floatx": "float32"}))
    assert B.default_name() == "numpy"
    monkeypatch.setenv("KERAS_BACKEND", _other_than("numpy"))
    assert B.default_name() == _other_than("numpy"), "KERAS_BACKEND wins over keras.json"


def test_polykeras_settings_win_over_kerases(homes, monkeypatch):
    (homes / "pk" / "polykeras.json").write_text(json.dumps({"backend": "numpy"}))
    monkeypatch.setenv("KERAS_BACKEND", _other_than("numpy"))
    (homes / "keras" / "keras.json").write_text(json.dumps({"backend": _other_than("numpy")}))
    assert B.default_name() == "numpy"


def test_keras_json_that_names_no_usable_engine_is_passed_over(homes):
    keras_json = homes / "keras" / "keras.json"
    for content in (json.dumps({"backend": "openvino"}), "{not json", json.dumps({"floatx": "float32"})):
        keras_json.write_text(content)
        assert B.default_name() == _first_installed(), content


def test_unknown_keras_backend_is_an_error_naming_the_variable(homes, monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "openvino")
    with pytest.raises(ValueError, match="Unknown engine 'openvino' \\(from KERAS_BACKEND\\).*POLYKERAS_BACKEND"):
        B.default_name()
    monkeypatch.setenv("POLYKERAS_BACKEND", "numpy")  # polykeras's own choice makes Keras's irrelevant
    assert B.default_name() == "numpy"


def test_the_fixture_governs_polykeras_whatever_keras_backend_says(engine):
    assert os.environ["KERAS_BACKEND"]  # set by conftest for Keras's in-process reference
    assert B.active() is engine
    from polykeras import ops

    assert B.get(engine.name).is_tensor(ops.ones((2,)))


def _run(code: str, tmp_path, **env_changes: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in _VARIABLES}
    env.update(POLYKERAS_HOME=str(tmp_path), KERAS_HOME=str(tmp_path), TF_CPP_MIN_LOG_LEVEL="3", **env_changes)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"subprocess failed:\n{done.stderr[-3000:]}"
    return done.stdout.strip().splitlines()[-1]


def test_a_keras_program_started_with_keras_backend_runs_there(tmp_path):
    code = ("import sys, polykeras as keras; x = keras.ops.ones((2,)) + 1.0; "
            "print(keras.backend.backend(), keras.config.backend(), type(x).__module__.split('.')[0], "
            "sorted(m for m in ('tensorflow', 'torch', 'jax') if m in sys.modules))")
    assert _run(code, tmp_path, KERAS_BACKEND="numpy") == "numpy numpy numpy []"
    assert _run(code, tmp_path, KERAS_BACKEND="tensorflow", POLYKERAS_BACKEND="numpy") == "numpy numpy numpy []"


def test_keras_json_chooses_the_engine_at_startup(tmp_path):
    (tmp_path / "keras.json").write_text(json.dumps({"backend": "numpy"}))
    assert _run("import polykeras; print(polykeras.backend())", tmp_path) == "numpy"
