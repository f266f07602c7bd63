"""The serialization registry and safe mode sit below the floors that use them:
layers, initializers, losses, metrics, optimizers and models register and
serialize through ``polykeras.registry`` / ``polykeras.safe_mode`` without
loading the saving floor (h5py, PyYAML), and ``polykeras.saving``'s names stay
the same objects."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import polykeras

ROOT = Path(polykeras.__file__).parent
#: Floors below saving that must never import it, not even inside a function.
NEVER_SAVING = ("layers", "initializers.py", "regularizers.py", "constraints.py", "activations.py", "losses",
                "metrics", "optimizers", "config.py", "registry.py", "safe_mode.py")
#: Floors below saving that may import it only inside a function (``Model.save`` loads it when called).
LAZY_SAVING = ("models",)
#: What the low modules may import from polykeras: nothing above the state floor.
LOW_MODULES = {"registry.py": {"polykeras.allocation"}, "safe_mode.py": set()}

_PROBE = """
import json, sys
import polykeras.initializers
after_initializers = sorted(m for m in ("h5py", "yaml", "polykeras.saving") if m in sys.modules)
import polykeras.layers, polykeras.losses, polykeras.metrics, polykeras.optimizers, polykeras.models
from polykeras import layers
layers.Dense(2).get_config()
after_layers = sorted(m for m in ("h5py", "yaml", "polykeras.saving") if m in sys.modules)
print(json.dumps([after_initializers, after_layers]))
"""


def _modules(part: str) -> list[Path]:
    path = ROOT / part
    return sorted(path.rglob("*.py")) if path.is_dir() else [path]


def _imports(path: Path) -> list[tuple[str, int, bool]]:
    """(module imported, line, at module level) for every import in ``path``."""
    tree = ast.parse(path.read_text(), str(path))
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno, id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
            found += [(name, node.lineno, id(node) in top) for name in [node.module, *names]]
    return found


def _is_saving(name: str) -> bool:
    return name == "polykeras.saving" or name.startswith("polykeras.saving.")


def test_floors_below_saving_do_not_import_it(engine):
    upward = [f"{path.relative_to(ROOT.parent)}:{line} imports {name}"
              for part in NEVER_SAVING for path in _modules(part)
              for name, line, _ in _imports(path) if _is_saving(name)]
    upward += [f"{path.relative_to(ROOT.parent)}:{line} imports {name} at module level"
               for part in LAZY_SAVING for path in _modules(part)
               for name, line, top in _imports(path) if top and _is_saving(name)]
    assert not upward, "floors below saving import it (use polykeras.registry / polykeras.safe_mode):\n" + \
        "\n".join(upward)


def test_low_modules_import_nothing_above_them(engine):
    for part, allowed in LOW_MODULES.items():
        used = {name for name, _, _ in _imports(ROOT / part) if name.startswith("polykeras")}
        # ``from polykeras.allocation import X`` lists both the module and ``polykeras.allocation.X``
        above = {name for name in used if not any(name == a or name.startswith(a + ".") for a in allowed)}
        assert not above, f"polykeras/{part} imports {sorted(above)}; expected only {sorted(allowed) or 'none'}"


def test_importing_layers_and_initializers_loads_no_h5py_or_yaml(engine, tmp_path):
    env = dict(os.environ, POLYKERAS_BACKEND=engine.name, POLYKERAS_HOME=str(tmp_path), TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=300,
                          cwd=ROOT.parent)
    assert done.returncode == 0, done.stderr[-3000:]
    after_initializers, after_layers = json.loads(done.stdout.strip().splitlines()[-1])
    assert after_initializers == [], f"import polykeras.initializers loaded {after_initializers}"
    assert after_layers == [], f"importing layers, losses, metrics, optimizers and models loaded {after_layers}"


def test_saving_names_are_the_low_modules_objects(engine):
    from polykeras import registry, safe_mode, saving
    from polykeras.saving import registry as saving_registry
    from polykeras.saving import safe_mode as saving_safe_mode

    for name in saving_registry.__all__:
        assert getattr(saving_registry, name) is getattr(registry, name), name
    for name in ("SerializationError", "register_serializable", "register_keras_serializable", "serialize",
                 "deserialize", "get_registered_name", "get_registered_object", "custom_object_scope",
                 "CustomObjectScope", "get_custom_objects"):
        assert getattr(saving, name) is getattr(registry, name), name
    assert saving_safe_mode.safe_mode is safe_mode.safe_mode
    assert saving.in_safe_mode is safe_mode.in_safe_mode
    with saving.safe_mode.safe_mode(False):  # one switch, whichever name turns it
        assert not safe_mode.in_safe_mode()
    assert safe_mode.in_safe_mode()
