"""Keras 3 programs run unchanged on polykeras: each program in
``keras_programs/`` is written as a Keras user writes it (``import keras``)
and is run twice on the engine under test, once with Keras 3 itself and once
with ``keras`` resolved to polykeras; the results must agree.

Programs set their weights from NumPy, train without shuffling and so give
the same numbers on both sides, compared within the "model" tolerance; a
program's ``tolerances`` dict may widen a key to a family name or to an
absolute band (accuracy within 0.03, a loss with random sampling). Where
Keras 3's own engine cannot run a program (Keras' NumPy backend does not
train), polykeras runs it or refuses it with NotImplementedError.
"""

from __future__ import annotations

import fcntl
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conformance.tolerances import assert_close

HERE = Path(__file__).parent / "keras_programs"
PROGRAMS = sorted(p.stem for p in HERE.glob("*.py") if not p.name.startswith("_"))

pytestmark = pytest.mark.skipif(importlib.util.find_spec("keras") is None, reason="keras is not installed")


def _run_all(library: str, engine: str, cache: Path) -> dict:
    """Every program under ``library`` on ``engine``, once per test session
    (shared between xdist workers through a locked file)."""
    out = cache / f"{library}-{engine}.json"
    with open(cache / f"{library}-{engine}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not out.exists():
            env = {**os.environ, "KERAS_BACKEND": engine, "POLYKERAS_BACKEND": engine, "TF_CPP_MIN_LOG_LEVEL": "3",
                   "JAX_PLATFORMS": "cpu", "PYTHONPATH": os.pathsep.join(sys.path)}
            done = subprocess.run([sys.executable, str(HERE / "_runner.py"), library, str(out),
                                   *(str(HERE / f"{p}.py") for p in PROGRAMS)],
                                  env=env, capture_output=True, text=True, timeout=900)
            assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text())


@pytest.fixture(scope="session")
def program_cache(tmp_path_factory) -> Path:
    root = tmp_path_factory.getbasetemp()
    shared = (root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root) / "keras_programs"
    shared.mkdir(exist_ok=True)
    return shared


def _compare(key: str, ours, theirs, rule, program: str) -> None:
    label = f"{program}: result[{key!r}]"
    if isinstance(theirs, dict):
        assert isinstance(ours, dict) and sorted(ours) == sorted(theirs), f"{label}: {ours!r} vs Keras {theirs!r}"
        for inner in theirs:
            _compare(f"{key}.{inner}", ours[inner], theirs[inner], rule, program)
    elif isinstance(theirs, str) or (isinstance(theirs, list) and theirs and isinstance(theirs[0], str)):
        assert ours == theirs, f"{label}: {ours!r}, Keras 3 gives {theirs!r}"
    elif isinstance(rule, (int, float)):
        assert np.shape(ours) == np.shape(theirs), f"{label}: shape {np.shape(ours)} vs Keras {np.shape(theirs)}"
        assert np.allclose(ours, theirs, rtol=0, atol=rule), f"{label}: {ours} vs Keras 3 {theirs} (band {rule})"
    else:
        assert np.shape(ours) == np.shape(theirs), f"{label}: shape {np.shape(ours)} vs Keras {np.shape(theirs)}"
        assert_close(np.asarray(ours, "float32"), np.asarray(theirs, "float32"), rule or "model", err_msg=label)


@pytest.mark.parametrize("program", PROGRAMS)
def test_keras_program_runs_unchanged(engine, program, program_cache):
    theirs = _run_all("keras", engine.name, program_cache)[program]
    ours = _run_all("polykeras", engine.name, program_cache)[program]
    if "error" in theirs:
        # Keras 3 itself cannot run it on this engine (its NumPy backend does not train, and cannot always
        # infer shapes): polykeras runs it or refuses it with NotImplementedError, never with another error.
        assert ours.get("error") in (None, "NotImplementedError"), \
            f"{program}: Keras 3 fails on {engine.name} ({theirs['error']}); polykeras gives {ours}"
        return
    assert "error" not in ours, f"{program} fails on polykeras ({engine.name}):\n{ours['traceback']}"
    expected, actual = theirs["result"], ours["result"]
    assert sorted(actual) == sorted(expected)
    for key in expected:
        _compare(key, actual[key], expected[key], theirs["tolerances"].get(key), program)
