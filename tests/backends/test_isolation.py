"""``import polykeras`` imports no framework but the chosen one, and after an
op only the chosen one is loaded (each case runs in a fresh interpreter)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import polykeras.backends as B

FRAMEWORKS = ("torch", "tensorflow", "jax")

_PROBE = """
import json, sys
def loaded():
    return sorted(f for f in {frameworks!r} if f in sys.modules)
import polykeras
after_import = loaded()
from polykeras import ops
after_ops_import = loaded()
ops.to_numpy(ops.add(ops.ones((2,)), 1.0))
print(json.dumps({{"import": after_import, "ops": after_ops_import, "op": loaded(),
                  "backend": polykeras.backend()}}))
"""


def _python(code: str, env: dict) -> str:
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"subprocess failed:\n{done.stderr[-3000:]}"
    return done.stdout.strip().splitlines()[-1]


def _env(name: str, tmp_path) -> dict:
    return dict(os.environ, POLYKERAS_BACKEND=name, POLYKERAS_HOME=str(tmp_path), TF_CPP_MIN_LOG_LEVEL="3")


def _probe(name: str, tmp_path) -> dict:
    return json.loads(_python(_PROBE.format(frameworks=FRAMEWORKS), _env(name, tmp_path)))


def _framework_alone(name: str, tmp_path) -> set[str]:
    """What importing the framework by itself loads (TensorFlow, for one,
    imports JAX from ``tensorflow.lite`` when JAX is installed)."""
    code = f"import sys, json, {name}; print(json.dumps([f for f in {FRAMEWORKS!r} if f in sys.modules]))"
    return set(json.loads(_python(code, _env(name, tmp_path))))


def _engine_names():
    return [pytest.param(name, id=name) for name in B.installed()]


@pytest.mark.parametrize("name", _engine_names())
def test_only_the_chosen_framework_is_imported(name, tmp_path):
    seen = _probe(name, tmp_path)
    others = [f for f in FRAMEWORKS if f != name]
    assert seen["backend"] == name
    assert not set(seen["import"]) & set(others), f"import polykeras loaded {seen['import']} with {name} chosen"
    assert not set(seen["ops"]) & set(others), f"import polykeras.ops loaded {seen['ops']} with {name} chosen"
    expected = _framework_alone(name, tmp_path) | {name} if name in FRAMEWORKS else set()
    assert set(seen["op"]) == expected, (f"after one op on {name}: frameworks loaded {seen['op']}, expected "
                                         f"{sorted(expected)} (the framework and what it imports itself)")
