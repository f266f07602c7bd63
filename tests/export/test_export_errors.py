"""Bad input to ``Model.export``: clear errors, and nothing half-written."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import polykeras as pk
from polykeras import layers, ops
from polykeras.backends.base import Spec
from polykeras.backends.exporting import ExportEndpoint, ExportWeight
from polykeras.export import formats


def _dense() -> pk.Model:
    x = pk.Input((8,), name="features")
    return pk.Model(x, layers.Dense(3)(x), name="small")


def _leftovers(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


def test_unknown_format_names_the_formats(engine: Any, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"expected format to be one of \['jax', 'onnx', 'tf_saved_model', "
                                         r"'torch'\], received 'tflite'"):
        _dense().export(tmp_path / "m", format="tflite")
    with pytest.raises(ValueError, match="Keras 3 formats polykeras does not write"):
        _dense().export(tmp_path / "m", format="openvino")
    assert _leftovers(tmp_path) == []


def test_unbuilt_model_is_refused(engine: Any, tmp_path: Path) -> None:
    model = pk.Sequential([layers.Dense(2)], name="lazy")
    with pytest.raises(ValueError, match="export of model 'lazy': expected a built model"):
        model.export(tmp_path / "m.pt2", format="torch")
    assert _leftovers(tmp_path) == []


def test_unknown_option_is_refused(engine: Any, tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"format 'jax' takes the keyword arguments \['platforms'\], "
                                        r"received \['opset_version'\]"):
        _dense().export(tmp_path / "m", format="jax", opset_version=17)


def test_missing_extra_names_it(engine: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(formats.importlib.util, "find_spec", lambda name, *a: None if name == "onnxscript"
                        else real(name, *a))
    with pytest.raises(ImportError, match=r"needs torch, onnx, onnxscript; onnxscript is not installed\. "
                                          r"Install with pip install 'polykeras\[torch,export\]'"):
        _dense().export(tmp_path / "m.onnx", format="onnx")
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("signature, message", [
    ([pk.InputSpec(shape=(None, 7))], r"input 'features' expects shape \(None, 8\), but input_signature gives "
                                      r"\(None, 7\)"),
    ([(None, 8, 1)], r"input 'features' expects shape \(None, 8\), but input_signature gives \(None, 8, 1\)"),
    ([(None, 8), (None, 8)], r"expected 1 input spec\(s\) for inputs \['features'\], received 2"),
    (["eight"], r"input_signature\[0\]: expected an InputSpec, a tensor spec \(shape and dtype\) or a shape "
                r"tuple, received 'eight'"),
])
def test_signature_the_model_cannot_take(engine: Any, tmp_path: Path, signature: Any, message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        _dense().export(tmp_path / "m.stablehlo", format="jax", input_signature=signature)
    assert _leftovers(tmp_path) == []


def test_signature_forms_are_accepted_and_batch_stays_dynamic(engine: Any, tmp_path: Path) -> None:
    jax = pytest.importorskip("jax")
    model = _dense()
    x = np.random.default_rng(0).uniform(size=(5, 8)).astype("float32")
    for signature in ([pk.InputSpec(shape=(2, 8))], [(None, 8)], (4, 8), [Spec((None, 8), "float32")],
                      [jax.ShapeDtypeStruct((1, 8), "float32")], [pk.Input((8,))]):
        path = tmp_path / "m.stablehlo"
        model.export(path, format="jax", input_signature=signature, verbose=False)
        exported = jax.export.deserialize(bytearray(path.read_bytes()))
        np.testing.assert_allclose(np.asarray(exported.call(x)), model.predict(x, verbose=0), atol=1e-5)


def test_a_shape_outside_the_signature_is_refused_by_the_artifact(engine: Any, tmp_path: Path) -> None:
    jax = pytest.importorskip("jax")
    path = tmp_path / "m.stablehlo"
    _dense().export(path, format="jax", verbose=False)
    exported = jax.export.deserialize(bytearray(path.read_bytes()))
    with pytest.raises(ValueError, match="shape"):
        exported.call(np.zeros((3, 7), "float32"))


def test_an_op_the_format_cannot_hold_is_named(engine: Any, tmp_path: Path) -> None:
    x = pk.Input((4,))
    model = pk.Model(x, layers.Lambda(lambda t: ops.linalg.qr(t)[0])(x), name="with_qr")
    target = tmp_path / "m.onnx"
    with pytest.raises(ValueError, match=r"export of model 'with_qr' to format 'onnx' failed: ONNX has no "
                                         r"conversion for operator aten.linalg_qr"):
        model.export(target, format="onnx", verbose=False)
    assert _leftovers(tmp_path) == []


def test_a_failed_export_keeps_the_previous_artifact(engine: Any, tmp_path: Path) -> None:
    target = tmp_path / "m.savedmodel"
    _dense().export(target, format="tf_saved_model", verbose=False)
    before = sorted(p.relative_to(target) for p in target.rglob("*"))
    x = pk.Input((8,))
    host = layers.Lambda(lambda t: ops.convert_to_tensor(ops.convert_to_numpy(t)), output_shape=(8,))
    broken = pk.Model(x, host(x), name="host")
    with pytest.raises(ValueError, match="export of model 'host' to format 'tf_saved_model' failed: "
                                         "to_numpy: expected a tensor of the active engine"):
        broken.export(target, format="tf_saved_model", verbose=False)
    assert sorted(p.relative_to(target) for p in target.rglob("*")) == before
    assert _leftovers(tmp_path) == ["m.savedmodel"]


def test_verbose_names_the_artifact_and_its_loader(engine: Any, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    _dense().export(tmp_path / "m.stablehlo", format="jax")
    out = capsys.readouterr().out
    assert "Saved artifact at" in out and "serve(float32[None, 8])" in out and "jax.export.deserialize" in out


def test_engines_refuse_formats_they_do_not_write(engine: Any, tmp_path: Path) -> None:
    endpoint = ExportEndpoint("serve", lambda weights, x: x, [Spec((None, 2), "float32")])
    weight = ExportWeight("w", np.zeros((2,), "float32"), True)
    others = sorted(set(formats.FORMATS) - set(engine.export_formats))
    assert others, f"{engine.name} writes every format"
    for fmt in others:
        with pytest.raises(NotImplementedError, match=f"The '{engine.name}' engine cannot export format '{fmt}'"):
            engine.export_program(fmt, [endpoint], [weight], {}, str(tmp_path / "x"), {})
    assert {formats.FORMATS[f].engine for f in engine.export_formats} <= {engine.name}
