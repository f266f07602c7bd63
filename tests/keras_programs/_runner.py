"""Run Keras 3 programs with ``keras`` resolved to Keras 3 itself or to
polykeras (every ``keras`` and ``keras.x`` import becomes ``polykeras`` and
``polykeras.x``, the same module objects), and write each program's
``result`` and ``tolerances`` (or its error) to a JSON file.

Usage: python _runner.py keras|polykeras OUT.json PROGRAM.py [PROGRAM.py ...]
(the engine is chosen by KERAS_BACKEND / POLYKERAS_BACKEND).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import json
import os
import runpy
import sys
import tempfile
import traceback

import numpy as np


class KerasIsPolykeras(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """``import keras.layers`` gives ``polykeras.layers``."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname == "keras" or fullname.startswith("keras."):
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        return importlib.import_module("polykeras" + spec.name[len("keras"):])

    def exec_module(self, module):
        pass


def plain(value):
    """JSON-safe: tensors and arrays as nested lists, numbers as floats."""
    if hasattr(value, "shape") and hasattr(value, "dtype") or isinstance(value, np.generic):
        return np.asarray(value).astype(float).tolist()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def main() -> None:
    library, out_path, programs = sys.argv[1], sys.argv[2], [os.path.abspath(p) for p in sys.argv[3:]]
    if library == "polykeras":
        sys.meta_path.insert(0, KerasIsPolykeras())
    results = {}
    for program in programs:
        name = os.path.splitext(os.path.basename(program))[0]
        cwd = os.getcwd()
        os.chdir(tempfile.mkdtemp())
        try:
            scope = runpy.run_path(program, run_name="__main__")
            results[name] = {"result": plain(scope["result"]), "tolerances": scope.get("tolerances", {})}
        except BaseException as err:  # noqa: BLE001 - reported to the test
            results[name] = {"error": type(err).__name__,
                             "traceback": "".join(traceback.format_exception(err))[-4000:]}
        finally:
            os.chdir(cwd)
    with open(out_path, "w") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main()
