"""Every application family under ``image_data_format() == "channels_first"``.

The smallest member of each family, headless at its smallest input, is built
channels_first with the weights of Keras 3's channels_last model (random
weights, the same shapes either way) and run on the transposed images: its
output is Keras's channels_last output, transposed, within 1e-4 (two
families on every engine, the others once). Keras 3's own channels_first
models (on its torch backend, in a subprocess) give the same numbers from the
same weights. ConvNeXt and NASNet refuse channels_first, as in Keras. The
image data format is restored after each build.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import polykeras
import polykeras.backends as B
from polykeras import ops

from ._reference import build, keras_application
from tests.layers.helpers import run_keras

#: (application, its smallest input side, arguments): the smallest member of each family. The first two run
#: on every engine (between them: convolutions, depthwise convolutions, batch normalization on axis 1, zero
#: padding, squeeze-and-excitation, global pooling, rescaling: the engines' channels_first kernels); the
#: others, whose graphs are engine-independent code, once, on SWEEP_ENGINE (each takes seconds to build).
EVERY_ENGINE = [
    ("MobileNet", 32, {"alpha": 0.25}),
    ("MobileNetV3Small", 32, {"alpha": 0.75}),
]
ONCE = [
    ("ResNet50", 32, {}),
    ("ResNet50V2", 32, {}),
    ("VGG16", 32, {}),
    ("MobileNetV2", 32, {"alpha": 0.35}),
    ("EfficientNetB0", 32, {}),
    ("EfficientNetV2B0", 32, {}),
    ("DenseNet121", 32, {}),
    ("Xception", 71, {}),
    ("InceptionV3", 75, {}),
    ("InceptionResNetV2", 75, {}),
]
#: Keras 3 refuses channels_first for these families; so does polykeras, naming the application.
REFUSED = ["ConvNeXtTiny", "NASNetMobile"]
SWEEP_ENGINE = next((name for name in ("torch", "numpy") if name in B.installed()), "numpy")


@contextlib.contextmanager
def image_data_format(value: str) -> Iterator[None]:
    saved = polykeras.config.image_data_format()
    polykeras.config.set_image_data_format(value)
    try:
        yield
    finally:
        polykeras.config.set_image_data_format(saved)


def _images(side: int) -> np.ndarray:
    return np.random.default_rng(0).uniform(-1, 1, (2, side, side, 3)).astype("float32")


def _kwargs(side: int, extra: dict[str, Any], channels_first: bool) -> dict[str, Any]:
    shape = (3, side, side) if channels_first else (side, side, 3)
    return {"weights": None, "include_top": False, "input_shape": shape, **extra}


def _channels_first_model(name: str, side: int, extra: dict[str, Any], weights: list[np.ndarray]) -> Any:
    with image_data_format("channels_first"):
        model = build(name, **_kwargs(side, extra, channels_first=True))
    model.set_weights(weights)
    return model


_CHECKED: dict[tuple[str, str], np.ndarray] = {}  # (engine, application) -> its channels_first output


def _check_channels_first(name: str, side: int, extra: dict[str, Any]) -> np.ndarray:
    """The channels_first model's output on the active engine, checked against Keras's channels_last output
    (once per engine and application in this process: the Keras comparison below reuses it)."""
    key = (B.active().name, name)
    if key in _CHECKED:
        return _CHECKED[key]
    x = _images(side)
    ref = keras_application(name, _kwargs(side, extra, channels_first=False), x)
    model = _channels_first_model(name, side, extra, ref["weights"])
    assert polykeras.config.image_data_format() == "channels_last"  # restored
    assert model.input_shape == (None, 3, side, side)
    # predict runs the graph compiled (one XLA program on jax, far quicker than op-by-op there)
    y = ops.convert_to_numpy(model.predict(x.transpose(0, 3, 1, 2), verbose=0))
    np.testing.assert_allclose(y.transpose(0, 2, 3, 1), ref["y"], atol=1e-4, rtol=1e-4,
                               err_msg=f"{name} channels_first vs channels_last")
    _CHECKED[key] = y
    return y


@pytest.mark.parametrize("name, side, extra", EVERY_ENGINE, ids=[f[0] for f in EVERY_ENGINE])
def test_channels_first_equals_channels_last_transposed(engine, name, side, extra):
    _check_channels_first(name, side, extra)


@pytest.mark.parametrize("name, side, extra", ONCE, ids=[f[0] for f in ONCE])
def test_every_family_channels_first_equals_channels_last_transposed(name, side, extra):
    with B.use(SWEEP_ENGINE):
        _check_channels_first(name, side, extra)


@pytest.mark.parametrize("name", REFUSED)
def test_families_keras_refuses_channels_first(name):  # refused before any layer is built: engine-independent
    keras_refusal = run_keras(f"""
keras.config.set_image_data_format("channels_first")
try:
    keras.applications.{name}(weights=None, include_top=False, input_shape=(3, 32, 32))
    out["error"] = ""
except ValueError as err:
    out["error"] = str(err)
""", backend="numpy")["error"]
    assert "channels_first" in keras_refusal
    with image_data_format("channels_first"), pytest.raises(ValueError, match=f"{name}.*channels_first"):
        build(name, **_kwargs(32, {}, channels_first=True))
    assert polykeras.config.image_data_format() == "channels_last"


_KERAS_CHANNELS_FIRST = """
keras.config.set_image_data_format("channels_first")
for i, (name, side, extra) in enumerate(json.loads(data["families"].item())):
    keras.backend.clear_session()
    model = getattr(keras.applications, name)(weights=None, include_top=False, input_shape=(3, side, side),
                                              **extra)
    model.set_weights([data[f"{i}_{j}"] for j in range(len(model.weights))])
    out[name] = keras.ops.convert_to_numpy(model(data[f"x{side}"].transpose(0, 3, 1, 2)))
"""


def test_keras_channels_first_models_agree():
    # Keras 3 on torch (NCHW convolutions natively), one subprocess; polykeras on SWEEP_ENGINE. MobileNetV3Small
    # (squeeze-and-excitation, hard swish, rescaling) and EfficientNetB0 (its normalization layer on axis 1).
    import json

    families = [EVERY_ENGINE[1], ONCE[4]]
    data: dict[str, Any] = {"families": np.array(json.dumps(families))}
    ours = {}
    for i, (name, side, extra) in enumerate(families):
        data[f"x{side}"] = _images(side)
        weights = keras_application(name, _kwargs(side, extra, channels_first=False), data[f"x{side}"])["weights"]
        data.update({f"{i}_{j}": w for j, w in enumerate(weights)})
        with B.use(SWEEP_ENGINE):
            ours[name] = _check_channels_first(name, side, extra)
    theirs = run_keras(_KERAS_CHANNELS_FIRST, data, backend="torch")
    for name in ours:
        np.testing.assert_allclose(ours[name], theirs[name], atol=1e-4, rtol=1e-4,
                                   err_msg=f"{name} channels_first vs Keras 3's")
