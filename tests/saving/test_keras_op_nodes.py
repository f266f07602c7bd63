"""Op nodes in Keras 3 ``.keras`` files, both ways: a functional model over
``x + 1``, ``ops.mean(x, axis=1)``, ``x[:, :2]``, ``ops.concatenate([a, b])``,
``ops.where(...)`` and the other op families, saved by polykeras, loads in
Keras 3 (on the same engine) and predicts the same; saved by Keras 3, it loads
in polykeras on every engine, op nodes as OpLayers in Keras' order, and
predicts the same. The op <-> Operation class table is checked against the
installed Keras; an op Keras has no class for, an unknown class and a module
outside the allow-list are refused by name.

Keras runs in subprocesses (it fixes its engine at import): one writes every
family's archive, and one per engine loads every family polykeras wrote.
"""

from __future__ import annotations

import importlib.util
import inspect
import io
import json
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conformance.tolerances import assert_close
from polykeras import Input, Model, ops
from polykeras.layers.op_layer import OpInput, OpLayer
from polykeras.saving import SerializationError, load_model
from polykeras.saving.keras_config import KerasConfigError
from polykeras.saving.keras_ops import KERAS_OP_MODULES, KERAS_OPS, REQUIRED, join_arguments, op_key, split_arguments
from tests.layers.helpers import run_keras

pytestmark = pytest.mark.skipif(importlib.util.find_spec("keras") is None, reason="keras is not installed")


def op_families(Input: Any, Model: Any, ops: Any, np: Any) -> dict[str, Any]:
    """One functional model per op family, written once for both libraries
    (the Keras side runs this function's source with Keras' ``Input``,
    ``Model`` and ``ops``)."""
    w = (np.arange(12, dtype="float32").reshape(4, 3) / 10 - 0.5)
    kernel = np.linspace(-1, 1, 12, dtype="float32").reshape(2, 2, 1, 3)

    def square(t):
        return ops.reshape(t, (-1, 2, 2)) + ops.eye(2) * 3.0

    def image(t):
        return ops.reshape(ops.concatenate([t, t * 2.0, -t, t], axis=-1), (-1, 4, 4, 1))

    a = Input((4,), name="a")
    nested = Model(a, ops.mean(a * 2.0, axis=-1, keepdims=True) + a, name="inner")

    def family(fn):
        x, y = Input((4,), name="x"), Input((4,), name="y")
        return Model([x, y], list(fn(x, y)))

    return {
        "arithmetic": family(lambda x, y: [x + 1.5, 2.0 + x, x - y, 1.0 - x, x * y, 3.0 * x, x / 4.0,
                                           1.0 / (x * x + 1.0), x // 0.5, 7.0 // (x * x + 1.0), x % 0.75,
                                           x ** 2, 2.0 ** x, -x, abs(x), x @ w]),
        "compare": family(lambda x, y: [x < y, x <= 0.0, x > y, x >= 0.5, x != y, (x > 0) & (y > 0),
                                        (x > 0) | (y > 0), (x > 0) ^ (y > 0), ~(x > 0)]),
        "getitem": family(lambda x, y: [x[:, 1], x[:, 1:3], x[:, None, ::2], x[..., -1], x[:, None, ..., 2:],
                                        x[1:, -3:-1]]),  # (no negative step: Keras on torch slices without)
        "reductions": family(lambda x, y: [ops.mean(x, axis=1), ops.max(x, axis=-1, keepdims=True),
                                           ops.sum(x * y, axis=(1,)), ops.argmax(x, axis=-1), ops.var(x, axis=1),
                                           ops.cumsum(x, axis=1), ops.logsumexp(x, axis=-1), ops.prod(x, axis=1)]),
        "shapes": family(lambda x, y: [ops.concatenate([x, y], axis=-1), ops.stack([x, y], axis=1),
                                       ops.transpose(ops.reshape(x, (-1, 2, 2)), (0, 2, 1)), ops.expand_dims(x, 1),
                                       *ops.split(x, 2, axis=-1), ops.tile(x, (1, 2)), ops.repeat(x, 2, axis=1),
                                       ops.flip(x, axis=1), ops.pad(x, [(0, 0), (1, 2)]),
                                       ops.squeeze(ops.expand_dims(x, -1), -1)]),
        "elementwise": family(lambda x, y: [ops.where(x > 0, x, y), ops.where(x > y, 1.0, x), ops.exp(x),
                                            ops.maximum(x, y), ops.clip(x, -0.5, 0.5), ops.sqrt(ops.abs(x)),
                                            ops.cast(x, "int32"), ops.stop_gradient(x), ops.einsum("bi,bi->b", x, y),
                                            ops.matmul(x, w), ops.rsqrt(x * x + 1.0), ops.erf(x)]),
        "nn": family(lambda x, y: [ops.relu(x), ops.sigmoid(x), ops.softmax(x, axis=-1), ops.gelu(x),
                                   ops.leaky_relu(x, 0.1), ops.log_softmax(x), ops.silu(y),
                                   ops.one_hot(ops.argmax(x, axis=-1), 4),
                                   ops.conv(image(x), kernel, padding="same"), ops.max_pool(image(y), 2, strides=2),
                                   ops.binary_crossentropy(ops.sigmoid(y), ops.sigmoid(x))]),
        "linalg": family(lambda x, y: [ops.linalg.inv(square(x)), ops.linalg.det(square(x)),
                                       ops.linalg.solve(square(x), ops.reshape(y, (-1, 2, 2))),
                                       ops.linalg.cholesky(ops.matmul(square(x), ops.transpose(square(x),
                                                                                               (0, 2, 1))))]),
        "image": family(lambda x, y: [ops.image.resize(image(x), (2, 2)),
                                      ops.image.resize(image(y), (8, 6), interpolation="nearest")]),
        "nested": family(lambda x, y: [nested(x) - y, nested(y)[:, :2]]),
    }


FAMILIES = ("arithmetic", "compare", "getitem", "reductions", "shapes", "elementwise", "nn", "linalg", "image",
            "nested")
#: Tolerance family per op family (linalg goes through factorizations).
TOLERANCE = {"linalg": "linalg"}

_PRELUDE = "from typing import Any\n" + inspect.getsource(op_families) + r'''
import os, tempfile
Input, Model = keras.Input, keras.Model
data_xy = [keras.ops.convert_to_tensor(data["x"]), keras.ops.convert_to_tensor(data["y"])]
'''

#: Keras builds every family, saves it, and records its predictions and operations.
_KERAS_WRITES = _PRELUDE + r'''
models = op_families(Input, Model, keras.ops, np)
for name, model in models.items():
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, name + ".keras")
        model.save(path)
        out[name + "_archive"] = np.frombuffer(open(path, "rb").read(), np.uint8)
    for i, y in enumerate(model(data_xy)):
        out[f"{name}_{i}"] = keras.ops.convert_to_numpy(y)
    out[name + "_operations"] = [type(op).__name__ for op in model.operations]
    out[name + "_layers"] = [layer.name for layer in model.layers]
'''

#: Keras loads every family polykeras wrote (``folder`` is set before this runs).
_KERAS_LOADS = _PRELUDE + r'''
for name in names:
    model = keras.saving.load_model(os.path.join(folder, name + ".keras"))
    for i, y in enumerate(model(data_xy)):
        out[f"{name}_{i}"] = keras.ops.convert_to_numpy(y)
    out[name + "_operations"] = [type(op).__name__ for op in model.operations]
'''


def _data() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {"x": rng.standard_normal((5, 4)).astype("float32"), "y": rng.standard_normal((5, 4)).astype("float32")}


def _keras_class(operation: Any) -> str:
    """Keras' class name for one of our operations (an op node's Operation class)."""
    return KERAS_OPS[operation.op].class_name if isinstance(operation, OpLayer) else type(operation).__name__


def _compare(got: list[Any], expected: list[np.ndarray], family: str, who: str) -> None:
    assert len(got) == len(expected), f"{family}: {len(got)} outputs, expected {len(expected)}"
    for i, (g, e) in enumerate(zip(got, expected)):
        g = np.asarray(g)
        if e.dtype.kind in "biu" or g.dtype.kind in "biu":
            assert g.dtype == e.dtype and g.shape == e.shape, f"{family} output {i}: {g.dtype}{g.shape} vs {e.dtype}" \
                                                              f"{e.shape} ({who})"
            np.testing.assert_array_equal(g, e, err_msg=f"{family} output {i} ({who})")
        else:
            assert_close(g, e, TOLERANCE.get(family, "layer"), err_msg=f"{family} output {i} ({who})")


@pytest.fixture(scope="module")
def keras_written() -> dict[str, Any]:
    """Keras 3's archives, predictions and operations for every family (one Keras run, NumPy backend)."""
    return run_keras(_KERAS_WRITES, _data(), backend="numpy")


# ------------------------------------------------------------------- the table
def test_the_table_is_what_installed_keras_says():
    from tests.saving.keras_op_table import derive_table, render

    derived = derive_table()
    missing, extra = sorted(set(derived) - set(KERAS_OPS)), sorted(set(KERAS_OPS) - set(derived))
    changed = sorted(k for k in set(derived) & set(KERAS_OPS) if derived[k] != KERAS_OPS[k])
    assert derived == KERAS_OPS, (
        f"polykeras/saving/keras_ops.py is out of date with Keras {__import__('keras').__version__} and "
        f"polykeras.ops (missing {missing}, no longer there {extra}, changed {changed}); regenerate it with "
        f"`KERAS_BACKEND=numpy python -m tests.saving.keras_op_table --write`.\n" + render(derived)[:2000])


def test_the_table_covers_the_op_families():
    assert len(KERAS_OPS) > 250
    modules = {entry.module for entry in KERAS_OPS.values()}
    assert modules == set(KERAS_OP_MODULES)
    for key in ("add", "mean", "get_item", "concatenate", "stack", "where", "matmul", "relu", "linalg.inv",
                "image.resize", "logsumexp", "cast", "einsum"):
        assert key in KERAS_OPS, key
    assert KERAS_OPS["mean"].init == {"axis": None, "keepdims": False} and list(KERAS_OPS["mean"].call) == ["x"]
    assert op_key("keras.src.ops.numpy", "Absolute") == "absolute"  # the key named as the class (abs makes one too)
    assert op_key("keras.src.ops.linalg", "Inv") == "linalg.inv"


def test_split_and_join_are_inverse(monkeypatch):
    a, b = OpInput(0), OpInput(1)
    # a parameter Keras names otherwise (none does today): polykeras' ``x`` as Keras' ``tensors``
    monkeypatch.setitem(KERAS_OPS, "stack", KERAS_OPS["stack"]._replace(call={"tensors": REQUIRED},
                                                                        renames={"x": "tensors"}))
    cases = {
        "mean": ({"x": a, "axis": 1}, ({"axis": 1, "keepdims": False}, [a], {})),
        "einsum": ({"subscripts": "bi,bi->b", "operands": (a, b)}, ({"subscripts": "bi,bi->b"}, [a, b], {})),
        "stack": ({"x": [a, b], "axis": 1}, ({"axis": 1}, [[a, b]], {})),
        "pad": ({"x": a, "pad_width": ((0, 0), (1, 1))},
                ({"pad_width": ((0, 0), (1, 1)), "mode": "constant"}, [a, None], {})),
        "get_item": ({"x": a, "key": (slice(None), None, Ellipsis)}, ({}, [a, (slice(None), None, Ellipsis)], {})),
    }
    for key, (arguments, keras_form) in cases.items():
        assert split_arguments(key, arguments, "test") == keras_form, key
        joined = join_arguments(key, *keras_form, "test")
        defaults = {"mean": {"keepdims": False}, "pad": {"mode": "constant", "constant_values": None}}
        assert joined == {**arguments, **defaults.get(key, {})}, key


def test_join_refuses_what_polykeras_cannot_compute(monkeypatch):
    a = OpInput(0)
    with pytest.raises(ValueError, match=r"Mean takes no option 'foo'"):
        join_arguments("mean", {"axis": 1, "foo": 2}, [a], {}, "test")
    with pytest.raises(ValueError, match=r"Add takes 2 call argument\(s\)"):
        join_arguments("add", {}, [a, 1.0, 2.0], {}, "test")
    # a Keras-only option: dropped at Keras' default, refused otherwise, passed on where the op takes **kwargs
    monkeypatch.setitem(KERAS_OPS, "mean", KERAS_OPS["mean"]._replace(init={**KERAS_OPS["mean"].init,
                                                                             "where": None}))
    assert join_arguments("mean", {"axis": 1, "where": None}, [a], {}, "test") == {"x": a, "axis": 1}
    with pytest.raises(ValueError, match=r"Mean option where=\[1\] has no polykeras equivalent in ops\.mean"):
        join_arguments("mean", {"axis": 1, "where": [1]}, [a], {}, "test")
    assert KERAS_OPS["layer_normalization"].init["rms_scaling"] is False
    joined = join_arguments("layer_normalization", {"axis": -1, "epsilon": None, "rms_scaling": True}, [a], {}, "t")
    assert joined == {"x": a, "axis": -1, "epsilon": None, "kwargs": {"rms_scaling": True}}
    assert split_arguments("layer_normalization", joined, "t")[0]["rms_scaling"] is True
    assert REQUIRED is KERAS_OPS["reshape"].init["newshape"]


# ------------------------------------------------------- polykeras -> Keras 3
def test_polykeras_op_models_load_in_keras_on_the_same_engine(engine, tmp_path):
    data = _data()
    models = op_families(Input, Model, ops, np)
    expected = {}
    for name, model in models.items():
        model.save(tmp_path / f"{name}.keras")
        expected[name] = [np.asarray(y) for y in model.predict([data["x"], data["y"]], verbose=0)]
    code = f"folder, names = {str(tmp_path)!r}, {list(models)!r}\n" + _KERAS_LOADS
    keras_out = run_keras(code, data, backend=engine.name)
    for name, model in models.items():
        got = [keras_out[f"{name}_{i}"] for i in range(len(expected[name]))]
        _compare(got, expected[name], name, f"Keras 3 on {engine.name} loading polykeras' file")
        assert keras_out[f"{name}_operations"] == [_keras_class(op) for op in model.operations], name


def test_polykeras_writes_op_entries_as_keras_does(engine, keras_written, tmp_path):
    """Entry by entry, our config has Keras' module, class, options and call layout."""

    def shape(entry: dict[str, Any]) -> tuple:
        def plain(value: Any) -> Any:
            if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
                return ("tensor", tuple(value["config"]["shape"]), value["config"]["dtype"])
            if isinstance(value, dict) and value.get("class_name") in ("__tensor__", "__numpy__"):
                return ("constant", np.asarray(value["config"]["value"]).shape)
            if isinstance(value, dict):
                return tuple(sorted((k, plain(v)) for k, v in value.items()))
            if isinstance(value, list):
                return tuple(plain(v) for v in value)
            return value

        config = {k: v for k, v in entry["config"].items() if k != "name"}
        if "data_format" in config and config["data_format"] is None:
            config["data_format"] = "channels_last"  # we write the format in force; Keras' image classes resolve None
        key = op_key(entry["module"], entry["class_name"])
        node = entry["inbound_nodes"][0]
        call = join_arguments(key, {}, node["args"], node["kwargs"], "test") if key else {}
        return entry["module"], entry["class_name"], plain(config), plain(call)

    for name, model in op_families(Input, Model, ops, np).items():
        model.save(tmp_path / f"{name}.keras")
        ours = json.loads(zipfile.ZipFile(tmp_path / f"{name}.keras").read("config.json"))["config"]["layers"]
        theirs = json.loads(_archive_member(keras_written, name, "config.json"))["config"]["layers"]
        ours_ops = [shape(e) for e in ours if e["module"].startswith("keras.src.ops.")]
        theirs_ops = [shape(e) for e in theirs if e["module"].startswith("keras.src.ops.")]
        for mine, keras in zip(ours_ops, theirs_ops):
            assert mine == keras, f"{name}: ours {mine}\nKeras {keras}"
        assert len(ours_ops) == len(theirs_ops), name


def _archive_member(keras_written: dict[str, Any], name: str, member: str) -> bytes:
    return zipfile.ZipFile(io.BytesIO(keras_written[f"{name}_archive"].tobytes())).read(member)


# ------------------------------------------------------- Keras 3 -> polykeras
@pytest.mark.parametrize("family", FAMILIES)
def test_keras_op_models_load_in_polykeras(engine, keras_written, tmp_path, family):
    path = tmp_path / f"{family}.keras"
    path.write_bytes(keras_written[f"{family}_archive"].tobytes())
    model = load_model(path)
    data = _data()
    count = len([k for k in keras_written if k.startswith(f"{family}_") and k.split("_")[-1].isdigit()])
    expected = [keras_written[f"{family}_{i}"] for i in range(count)]
    _compare(model.predict([data["x"], data["y"]], verbose=0), expected, family, f"polykeras on {engine.name}")
    assert [_keras_class(op) for op in model.operations] == keras_written[f"{family}_operations"]
    assert [layer.name for layer in model.layers] == keras_written[f"{family}_layers"]
    assert any(isinstance(op, OpLayer) for op in model.operations)
    again = tmp_path / "again.keras"
    model.save(again)  # and back out in Keras' form
    _compare(load_model(again).predict([data["x"], data["y"]], verbose=0), expected, family, "re-saved")


# ----------------------------------------------------------------- refusals
@pytest.mark.parametrize("key", ["mish", "random.dropout"])
def test_an_op_without_a_keras_class_is_refused_by_name(engine, tmp_path, key):
    x = Input((4,))
    y = ops.mish(x) if key == "mish" else ops.random.dropout(x, 0.5, seed=3)
    model = Model(x, y * 2.0)
    with pytest.raises(SerializationError, match=rf"op node '[\w.]+' \({key}\): op '{key}' has no Keras 3 "
                                                 r"Operation class .* Save the model as \.pkeras"):
        model.save(tmp_path / "m.keras")
    assert list(tmp_path.iterdir()) == []


def test_a_tensor_where_keras_keeps_an_option_is_refused(engine, tmp_path):
    x, bound = Input((4,)), Input((4,))
    model = Model([x, bound], ops.clip(x, -1.0, bound))  # Keras' Clip takes x_max in its constructor
    with pytest.raises(SerializationError, match=r"op node 'clip(_\d+)?' \(clip\) option 'x_max' of Keras' Clip: "
                                                 r"Keras keeps this option .* received a symbolic tensor"):
        model.save(tmp_path / "m.keras")


def _edited(keras_written: dict[str, Any], family: str, tmp_path: Path, edit) -> Path:
    source = zipfile.ZipFile(io.BytesIO(keras_written[f"{family}_archive"].tobytes()))
    path = tmp_path / "edited.keras"
    with zipfile.ZipFile(path, "w") as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "config.json":
                config = json.loads(content)
                edit(next(e for e in config["config"]["layers"] if e["class_name"] == "Mean"))
                content = json.dumps(config).encode()
            target.writestr(info.filename, content)
    return path


@pytest.mark.parametrize("module, class_name", [("keras.src.ops.numpy", "Eval"), ("keras.src.ops.operation", "Mean"),
                                                ("keras.src.ops.polykeras_never_imports_me", "Mean")])
def test_unknown_op_classes_and_modules_are_refused_unimported(engine, keras_written, tmp_path, module, class_name):
    def edit(entry):
        entry["module"], entry["class_name"] = module, class_name

    path = _edited(keras_written, "reductions", tmp_path, edit)
    with pytest.raises(KerasConfigError, match=rf"edited\.keras: .*'mean(_\d+)?', Keras op {module}\.{class_name}\) "
                                               r"has no polykeras twin: expected an Operation class"):
        load_model(path)
    assert "keras.src.ops.polykeras_never_imports_me" not in sys.modules


def test_polykeras_markers_in_a_keras_file_are_refused(engine, keras_written, tmp_path):
    def edit(entry):
        entry["inbound_nodes"][0]["kwargs"] = {"x": {"__input__": 7}}

    with pytest.raises(KerasConfigError, match=r"expected plain data in an op's arguments, received a dict with key "
                                               r"'__input__'"):
        load_model(_edited(keras_written, "reductions", tmp_path, edit))


def test_a_keras_op_option_polykeras_lacks_is_refused(engine, keras_written, tmp_path):
    def edit(entry):
        entry["config"]["where"] = [1, 2]

    with pytest.raises(KerasConfigError, match=r"Keras op keras\.src\.ops\.numpy\.Mean\): Mean takes no option "
                                               r"'where'"):
        load_model(_edited(keras_written, "reductions", tmp_path, edit))
