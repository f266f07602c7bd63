"""Keras 3 as the reference for built-in layers: build the same layer in
Keras (NumPy backend), give it random weights, and check that ours, after
``set_weights(keras_layer.get_weights())``, gives the same outputs, weight
names, shapes and parameter count.

Keras runs in this process on its NumPy backend: ``KERAS_BACKEND=numpy`` is
set when this module is imported (at collection, before any engine imports
TensorFlow, which imports Keras). Where Keras was already imported with
another backend the same code runs in a subprocess instead. Results are
cached, so every engine compares with one Keras run.

Example:
    >>> def test_conv_matches_keras(engine):
    ...     assert_matches_keras(lambda: Conv2D(4, 3), "Conv2D", {"filters": 4, "kernel_size": 3}, x)
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from conformance.tolerances import assert_close

from .helpers import layer_outputs, run_keras

os.environ.setdefault("KERAS_BACKEND", "numpy")

__all__ = ["assert_matches_keras", "import_keras", "keras_reference"]

#: Runs with ``keras``, ``np``, ``data`` (inputs ``x0, x1, ...``), ``spec`` and
#: ``out`` defined; fills ``out``.
_CODE = """
inputs = [data[f"x{i}"] for i in range(len(data))]
inputs = inputs if spec["multi"] else inputs[0]
layer = getattr(keras.layers, spec["class_name"])(**spec["kwargs"])
layer(inputs, **spec["call_kwargs"])
rng = np.random.default_rng(spec["seed"])
new = []
for w in layer.weights:
    shape = tuple(w.shape)
    if "variance" in w.name:
        new.append(rng.uniform(0.5, 1.5, shape).astype("float32"))
    else:
        new.append((rng.standard_normal(shape) * 0.5).astype("float32"))
if new:
    layer.set_weights(new)
y = layer(inputs, **spec["call_kwargs"])
out["y"] = np.asarray(y)
for i, w in enumerate(layer.get_weights()):
    out[f"w{i}"] = np.asarray(w)
out["names"] = [w.name for w in layer.weights]
out["count"] = [int(layer.count_params())]
"""

_CACHE: dict[str, dict[str, Any]] = {}


def import_keras() -> Any:
    """Keras 3, for what does not depend on its backend (configs); skips
    the test where Keras is not installed."""
    return pytest.importorskip("keras")


def keras_reference(class_name: str, kwargs: dict[str, Any], inputs: Any, seed: int = 0,
                    call_kwargs: dict[str, Any] | None = None) -> dict[str, Any]:
    """Keras' ``class_name(**kwargs)`` with random weights (positive
    variances) called on ``inputs``: ``{"y", "weights", "names", "count"}``."""
    spec = {"class_name": class_name, "kwargs": kwargs, "call_kwargs": call_kwargs or {}, "seed": seed,
            "multi": isinstance(inputs, list)}
    data = {f"x{i}": np.asarray(x) for i, x in enumerate(inputs if isinstance(inputs, list) else [inputs])}
    key = hashlib.sha1(json.dumps(spec, sort_keys=True).encode()
                       + b"".join(data[k].tobytes() + str(data[k].shape).encode() for k in sorted(data))).hexdigest()
    if key not in _CACHE:
        keras = sys.modules.get("keras")
        if keras is None or keras.backend.backend() == "numpy":
            keras = pytest.importorskip("keras")
            out: dict[str, Any] = {}
            exec(compile(_CODE, "keras_reference", "exec"),
                 {"keras": keras, "np": np, "data": data, "spec": spec, "out": out})
        else:
            out = run_keras(f"spec = {json.dumps(spec)!r}\nspec = json.loads(spec)\n{_CODE}", data, backend="numpy")
        weights = [np.asarray(out[f"w{i}"]) for i in range(len(out["names"]))]
        _CACHE[key] = {"y": np.asarray(out["y"]), "weights": weights, "names": list(out["names"]),
                       "count": int(out["count"][0])}
    return _CACHE[key]


def assert_matches_keras(factory: Callable[[], Any], class_name: str, kwargs: dict[str, Any], inputs: Any,
                         family: str = "layer", call_kwargs: dict[str, Any] | None = None) -> Any:
    """Our ``factory()`` layer, given Keras' weights, matches Keras' outputs
    within the ``family`` tolerance; weight names, shapes, order and the
    parameter count agree. Returns our layer."""
    ref = keras_reference(class_name, kwargs, inputs, call_kwargs=call_kwargs)
    ours = factory()
    layer_outputs(ours, inputs, **(call_kwargs or {}))  # build
    names = [w.name for w in ours.weights]
    assert names == ref["names"], f"{class_name}: weight names/order {names}, Keras 3 has {ref['names']}"
    ours.set_weights(ref["weights"])
    assert ours.count_params() == ref["count"], f"{class_name}: {ours.count_params()} params, Keras 3 {ref['count']}"
    actual = layer_outputs(ours, inputs, **(call_kwargs or {}))
    assert_close(actual, ref["y"], family, err_msg=f"{class_name}{kwargs} vs Keras 3")
    return ours
