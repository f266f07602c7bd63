"""Keras 3's applications as the reference: build ``keras.applications.<name>``
(on Keras's NumPy backend, in this process when Keras runs there, else in a
subprocess), record its layer names, weight paths and shapes and parameter
count, and optionally give it random weights (kernels from Keras's own
initialisers, batch-norm statistics and biases drawn) and record them with
its outputs on ``x``, or write its weights to files (Keras 3's
``.weights.h5`` and the legacy ``.h5`` layout of the ImageNet files).
Results are cached, so every engine compares with one Keras run.

Example:
    >>> ref = keras_application("ResNet50", {"weights": None, "include_top": False}, x)
    >>> ref["count"]
    23587712
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import numpy as np
import pytest

import polykeras
from tests.layers.helpers import run_keras

__all__ = ["assert_matches_keras_structure", "assert_same_outputs", "build", "check_bad_arguments",
           "check_preprocessing", "check_smallest_member", "keras_application", "serve_as_imagenet"]

_CODE = """
keras.backend.clear_session()  # auto-generated names (input_layer, max_pooling2d, ...) count from zero
model = getattr(keras.applications, spec["name"])(**spec["kwargs"])
out["layers"] = [layer.name for layer in model.layers]
out["paths"] = [w.path for w in model.weights]
out["shapes"] = [list(w.shape) for w in model.weights]
out["count"] = [int(model.count_params())]
if spec["outputs"]:
    rng = np.random.default_rng(0)
    values = []
    for w, value in zip(model.weights, model.get_weights()):
        leaf = w.path.rsplit("/", 1)[-1]
        if leaf == "moving_variance":
            value = rng.uniform(0.5, 1.5, value.shape)
        elif leaf == "gamma":
            value = 1.0 + 0.1 * rng.standard_normal(value.shape)
        elif leaf in ("bias", "beta", "moving_mean") or leaf.startswith("variable"):
            value = 0.1 * rng.standard_normal(value.shape)
        values.append(np.asarray(value, dtype="float32"))
    model.set_weights(values)
    out["y"] = np.asarray(model(data["x"]))
    for i, value in enumerate(values):
        out[f"w{i}"] = value
for path in spec["files"]:
    if path.endswith(".weights.h5"):
        model.save_weights(path)
    else:
        import h5py
        from keras.src.legacy.saving import legacy_h5_format
        with h5py.File(path, "w") as f:
            legacy_h5_format.save_weights_to_hdf5_group(f, model)
"""

_CACHE: dict[str, dict[str, Any]] = {}


def keras_application(name: str, kwargs: dict[str, Any], x: np.ndarray | None = None,
                      files: tuple[str, ...] = ()) -> dict[str, Any]:
    """Keras's ``name(**kwargs)``: ``layers``, ``paths``, ``shapes``,
    ``count``; with ``x``, also its random ``weights`` and output ``y``."""
    spec = {"name": name, "kwargs": kwargs, "outputs": x is not None, "files": list(files)}
    key = json.dumps(spec, sort_keys=True) + ("" if x is None else str(x.shape) + str(float(np.sum(x))))
    if key not in _CACHE:
        data = {"x": x} if x is not None else {}
        keras = sys.modules.get("keras")
        if keras is None or keras.backend.backend() == "numpy":
            keras = pytest.importorskip("keras")
            out: dict[str, Any] = {}
            exec(compile(_CODE, "keras_application", "exec"),
                 {"keras": keras, "np": np, "data": data, "spec": spec, "out": out})
        else:
            out = run_keras(f"spec = json.loads({json.dumps(spec)!r})\n{_CODE}", data, backend="numpy")
        result = {"layers": list(out["layers"]), "paths": list(out["paths"]),
                  "shapes": [tuple(s) for s in out["shapes"]], "count": int(out["count"][0])}
        if x is not None:
            result["y"] = np.asarray(out["y"])
            result["weights"] = [np.asarray(out[f"w{i}"]) for i in range(len(result["paths"]))]
        _CACHE[key] = result
    return _CACHE[key]


def build(name: str, **kwargs: Any) -> Any:
    """``polykeras.applications.<name>(**kwargs)`` after ``clear_session()``,
    so auto-generated layer names count from zero, as in the Keras reference."""
    polykeras.backend.clear_session()
    return getattr(polykeras.applications, name)(**kwargs)


def assert_matches_keras_structure(model: Any, ref: dict[str, Any]) -> None:
    """Same layer names in order, weight paths and shapes in order, and
    parameter count as Keras's model."""
    names = [layer.name for layer in model.layers]
    assert names == ref["layers"], _first_difference("layer names", names, ref["layers"])
    paths = [_unnumbered(w.path) for w in model.weights]
    theirs = [_unnumbered(p) for p in ref["paths"]]
    assert paths == theirs, _first_difference("weight paths", paths, theirs)
    shapes = [tuple(w.shape) for w in model.weights]
    assert shapes == ref["shapes"], _first_difference("weight shapes", shapes, ref["shapes"])
    assert model.count_params() == ref["count"], f"{model.count_params()} parameters, Keras 3 {ref['count']}"


def assert_same_outputs(model: Any, ref: dict[str, Any], x: np.ndarray, atol: float = 1e-4) -> None:
    """With Keras's weights set, ``model(x)`` is Keras's output within ``atol``."""
    model.set_weights(ref["weights"])
    y = polykeras.ops.convert_to_numpy(model(x))
    np.testing.assert_allclose(y, ref["y"], atol=atol, rtol=1e-4, err_msg=f"{model.name} vs Keras 3")


def _unnumbered(path: str) -> str:
    # Keras numbers unnamed variables across the whole session ("variable_7"); polykeras names them
    # "variable" within their layer. Files address weights by layer and position, so loading is unaffected.
    return re.sub(r"/variable_\d+$", "/variable", path)


def _first_difference(what: str, ours: list[Any], theirs: list[Any]) -> str:
    for i, (a, b) in enumerate(zip(ours, theirs, strict=False)):
        if a != b:
            return f"{what} differ first at {i}: ours {a!r}, Keras 3 {b!r} ({len(ours)} vs {len(theirs)})"
    return f"{what}: ours has {len(ours)}, Keras 3 {len(theirs)}"


def serve_as_imagenet(key: str, include_top: bool, path: str, local_server: tuple[str, Any],
                      monkeypatch: pytest.MonkeyPatch) -> str:
    """Serve the weights file ``path`` from the local server as row ``key``'s
    ImageNet file (its URL and hash patched in); returns the file name."""
    import hashlib

    from polykeras.applications import _weights

    url, folder = local_server
    _, top, notop = _weights.WEIGHTS[key]
    fname = (top if include_top else notop)[0]
    data = open(path, "rb").read()
    (folder / fname).write_bytes(data)
    entry = (fname, hashlib.md5(data).hexdigest())
    monkeypatch.setitem(_weights.WEIGHTS, key, (url, entry, notop) if include_top else (url, top, entry))
    return fname


def check_smallest_member(name: str, kwargs: dict[str, Any], x: np.ndarray, folder: Any, *,
                          imagenet_key: str | None = None, local_server: Any = None,
                          monkeypatch: pytest.MonkeyPatch | None = None) -> Any:
    """Build ``name`` with weights Keras wrote from its own model (random
    weights): through a local "imagenet" download of the legacy ``.h5``
    when ``imagenet_key`` is given, else a ``.weights.h5`` by path; then
    compare structure and outputs with Keras's. Returns the model."""
    suffix = "_legacy.h5" if imagenet_key else ".weights.h5"
    path = str(folder / f"{name}_{abs(hash(json.dumps(kwargs, sort_keys=True)))}{suffix}")
    ref = keras_application(name, kwargs, x, files=(path,))
    assert np.all(np.isfinite(ref["y"])) and np.std(ref["y"]) > 1e-6, f"{name}: a degenerate Keras reference"
    if imagenet_key:
        assert local_server is not None and monkeypatch is not None
        serve_as_imagenet(imagenet_key, bool(kwargs.get("include_top", True)), path, local_server, monkeypatch)
        model = build(name, **{**kwargs, "weights": "imagenet"})
    else:
        model = build(name, **{**kwargs, "weights": path})
    assert_matches_keras_structure(model, ref)
    # predict runs the compiled step: on JAX eager calls compile op by op (3x slower for DenseNet121, as in Keras).
    y = model.predict(x, verbose=0)
    np.testing.assert_allclose(y, ref["y"], atol=1e-4, rtol=1e-4, err_msg=f"{name} vs Keras 3")
    return model


def check_bad_arguments(name: str, min_size: int, tmp_path: Any) -> None:
    """Keras's refusals, each naming the application: too small an input,
    classes != 1000 with ImageNet weights and a top, a missing weights file,
    a non-softmax classifier with pretrained weights, a dynamic input
    with a top."""
    make = getattr(polykeras.applications, name)
    small = min_size - 1
    with pytest.raises(ValueError, match=f"{name}: Input size must be at least {min_size}x{min_size}"):
        make(weights=None, include_top=False, input_shape=(small, small, 3))
    with pytest.raises(ValueError, match=f"{name}: .*`classes` should be 1000.*classes=10"):
        make(weights="imagenet", classes=10)
    with pytest.raises(ValueError, match=f"{name}: the `weights` argument .*nowhere.h5"):
        make(weights=str(tmp_path / "nowhere.h5"))
    (tmp_path / "w.h5").write_bytes(b"")
    with pytest.raises(ValueError, match=f"{name}: Only `None` and `softmax`.*relu"):
        make(weights=str(tmp_path / "w.h5"), classifier_activation="relu")
    with pytest.raises(ValueError, match=f"{name}: .*static `input_shape`"):
        make(weights=None, input_shape=(None, None, 3))


def check_preprocessing(module: Any, family: str) -> None:
    """``module.preprocess_input`` equals Keras's on arrays and on tensors,
    and ``decode_predictions`` reads the class index."""
    keras = pytest.importorskip("keras")
    x = np.random.default_rng(3).uniform(0, 255, (2, 4, 4, 3)).astype("float32")
    expected = np.asarray(getattr(keras.applications, family).preprocess_input(x.copy()))
    np.testing.assert_allclose(module.preprocess_input(x.copy()), expected, rtol=1e-6, atol=1e-5)
    tensor = module.preprocess_input(polykeras.ops.convert_to_tensor(x))
    np.testing.assert_allclose(polykeras.ops.convert_to_numpy(tensor), expected, rtol=1e-6, atol=1e-5)
    from polykeras.applications import imagenet_utils

    saved = imagenet_utils.CLASS_INDEX
    imagenet_utils.CLASS_INDEX = {str(i): [f"n{i}", f"c{i}"] for i in range(1000)}
    try:
        preds = np.eye(1000, dtype="float32")[[5, 9]]
        assert [row[0][:2] for row in module.decode_predictions(preds, top=2)] == [("n5", "c5"), ("n9", "c9")]
    finally:
        imagenet_utils.CLASS_INDEX = saved
