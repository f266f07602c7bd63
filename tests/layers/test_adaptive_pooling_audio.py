"""Adaptive pooling, the audio layers (STFTSpectrogram, MelSpectrogram) and
the Keras 3 signatures of the pooling, lookup, discretization, spatial-dropout
and Conv3DTranspose layers, against Keras 3 (on NumPy, and for a few cases on
the same engine as ours): the same constructor call (positional arguments included) in both libraries, Keras's
weights given to ours, the same inputs; outputs, weight names and order,
output shapes and configs agree. Plus the one-call layer checks and the
errors for bad arguments.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from polykeras import layers, ops

from .helpers import check_layer, layer_outputs, run_keras


def _x(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


DATA: dict[str, np.ndarray] = {
    "seq": _x((2, 10, 3)), "seq_cf": _x((2, 2, 7), 1), "img": _x((2, 7, 5, 3), 2), "img_cf": _x((2, 3, 7, 6), 3),
    "vol": _x((1, 5, 6, 4, 2), 4), "vol_cf": _x((1, 2, 5, 4, 3), 5),
    "audio": _x((2, 300, 2), 6), "audio_cf": _x((2, 2, 300), 7), "mono": _x((2, 1000), 8), "one": _x((600,), 9),
    "ids": np.array([[3, 5, 9], [7, 7, 3]], "int64"), "words": np.array([["a", "c", "z"], ["b", "a", "a"]]),
    "values": np.array([[-1.5, 0.2, 1.0], [3.0, 0.99, -0.1]], "float32"),
}

#: key -> (class name, positional args, kwargs, input, perturb the weights)
CASES: dict[str, tuple[str, list[Any], dict[str, Any], str, bool]] = {
    # adaptive pooling
    "avg1d": ("AdaptiveAveragePooling1D", [4], {}, "seq", False),
    "max1d_cf": ("AdaptiveMaxPooling1D", [3, "channels_first"], {}, "seq_cf", False),
    "avg2d": ("AdaptiveAveragePooling2D", [(3, 2)], {}, "img", False),
    "max2d_cf": ("AdaptiveMaxPooling2D", [], {"output_size": 2, "data_format": "channels_first"}, "img_cf", False),
    "avg3d": ("AdaptiveAveragePooling3D", [(2, 3, 2)], {}, "vol", False),
    "max3d_up": ("AdaptiveMaxPooling3D", [(3, 2, 4)], {"data_format": "channels_first"}, "vol_cf", False),
    # audio
    "stft_log": ("STFTSpectrogram", [], {"frame_length": 64, "frame_step": 32, "fft_length": 64}, "audio", False),
    "stft_psd": ("STFTSpectrogram", ["psd", 50, None, 64, "hamming", True], {"padding": "same"}, "audio", True),
    "stft_stft": ("STFTSpectrogram", [], {"mode": "stft", "frame_length": 32, "scaling": "spectrum",
                                          "expand_dims": True}, "audio", False),
    "stft_angle_cf": ("STFTSpectrogram", [], {"mode": "angle", "frame_length": 32, "data_format": "channels_first"},
                      "audio_cf", False),
    "stft_real_cf": ("STFTSpectrogram", [], {"mode": "real", "frame_length": 32, "expand_dims": True,
                                             "data_format": "channels_first"}, "audio_cf", True),
    "stft_imag": ("STFTSpectrogram", [], {"mode": "imag", "frame_length": 32, "window": None, "scaling": None},
                  "audio", False),
    "stft_magnitude": ("STFTSpectrogram", [], {"mode": "magnitude", "frame_length": 40, "frame_step": 7,
                                               "padding": "same", "window": "blackman"}, "audio", False),
    "mel": ("MelSpectrogram", [256, 128], {"num_mel_bins": 32}, "mono", False),
    "mel_options": ("MelSpectrogram", [], {"fft_length": 128, "sequence_stride": 50, "sequence_length": 100,
                                           "num_mel_bins": 20, "power_to_db": False, "mag_exp": 1.0,
                                           "window": "hamming", "max_freq": 6000, "min_freq": 100.0}, "mono", False),
    "mel_top_db": ("MelSpectrogram", [64, 16], {"num_mel_bins": 10, "top_db": 20.0, "ref_power": 2.0}, "mono",
                   False),
    "mel_rank1": ("MelSpectrogram", [], {"fft_length": 128, "sequence_stride": 64, "num_mel_bins": 16}, "one",
                  False),
    # Keras 3's signatures, bound by position
    "maxpool_name": ("MaxPooling2D", [(2, 2), None, "valid", None, "named_pool"], {}, "img", False),
    "avgpool3d_name": ("AveragePooling3D", [2, 1, "same", None, "avg3"], {}, "vol", False),
    "conv3dt_order": ("Conv3DTranspose", [2, 2, 2, "same", "channels_last", 1], {}, "vol", True),
    "spatial1d": ("SpatialDropout1D", [0.5, 3, "sd1", "float16"], {}, "seq", False),
    "spatial2d": ("SpatialDropout2D", [0.3, "channels_first", 1, "sd2", "float16"], {}, "img_cf", False),
    "discretization": ("Discretization", [[0.0, 1.0], None, 0.01, "one_hot", False, "float16", "disc"], {},
                       "values", False),
    "integer_lookup": ("IntegerLookup", [None, 1, None, -1, [3, 5, 7], "int64", None, False, "one_hot"], {}, "ids",
                       False),
    "string_lookup": ("StringLookup", [None, 1, None, "[UNK]", ["a", "b", "c"], None, False, "int", False, False,
                                       "utf-8", "lookup"], {}, "words", False),
}

#: Runs with ``keras``, ``np``, ``data``, ``CASES`` (JSON) and ``out``.
_KERAS = """
import json
for key, (name, args, kwargs, source, perturb) in json.loads(CASES).items():
    args = [tuple(a) if isinstance(a, list) and name.endswith(("Pooling1D", "Pooling2D", "Pooling3D")) else a
            for a in args]
    layer = getattr(keras.layers, name)(*args, **kwargs)
    x = data[source].tolist() if data[source].dtype.kind == "U" else data[source]
    layer(x)
    if perturb:
        rng = np.random.default_rng(0)
        layer.set_weights([w + 0.1 * rng.standard_normal(w.shape).astype(w.dtype) for w in layer.get_weights()])
    y = np.asarray(keras.ops.convert_to_numpy(layer(x)))
    out[key + "/y"] = y
    out[key + "/dtype"] = str(y.dtype)
    out[key + "/names"] = [w.name for w in layer.weights]
    for i, w in enumerate(layer.get_weights()):
        out[f"{key}/w{i}"] = np.asarray(w)
    out[key + "/count"] = str(len(layer.weights))
    out[key + "/shape"] = [None if d is None else int(d) for d in layer.compute_output_shape(data[source].shape)]
    config = {k: v for k, v in layer.get_config().items() if k not in ("dtype", "trainable")}
    out[key + "/config"] = json.loads(json.dumps(config, default=lambda v: list(v) if isinstance(v, tuple) else str(v)))
"""

#: Cases also compared with Keras 3 on the engine's own backend (one Keras subprocess per engine; the rest
#: compare with Keras on NumPy, in this process, which keeps the suite fast).
SAME_ENGINE = ("avg2d", "max3d_up", "stft_psd", "mel_top_db", "conv3dt_order")

_CACHE: dict[str, dict[str, Any]] = {}


def _keras(backend: str) -> dict[str, Any]:
    """Keras 3's answers on ``backend``: every case on NumPy (in this process where Keras runs on NumPy
    here), the :data:`SAME_ENGINE` cases on the other backends (a subprocess each)."""
    if backend not in _CACHE:
        cases = CASES if backend == "numpy" else {key: CASES[key] for key in SAME_ENGINE}
        code = f"CASES = {json.dumps(cases)!r}\n{_KERAS}"
        with np.errstate(all="ignore"):
            _CACHE[backend] = run_keras(code, DATA, backend=backend)
    return _CACHE[backend]


def _ours(key: str) -> Any:
    name, args, kwargs, _, _ = CASES[key]
    return getattr(layers, name)(*args, **kwargs)


def _inputs(key: str) -> Any:
    x = DATA[CASES[key][3]]
    return x if x.dtype.kind in "USO" else ops.convert_to_tensor(x)


def _object(config: Any) -> Any:
    return {k: v for k, v in config.items() if k != "module"} if isinstance(config, dict) else config


def _numpy(y: Any) -> np.ndarray:
    return y if isinstance(y, np.ndarray) else np.asarray(ops.to_numpy(y))


#: Cases whose output dtype Keras 3 does not keep across its backends (its lookups give int32 on jax and
#: numpy, int64 on torch); their values are compared.
_DTYPE_BY_BACKEND = {"integer_lookup", "string_lookup"}
_TOLERANCE = {"Mel": (1e-5, 2e-4), "STF": (1e-4, 1e-4)}


@pytest.mark.parametrize("key", list(CASES))
def test_matches_keras(engine, key):
    _compare(engine.name, key, _keras("numpy"))


@pytest.mark.parametrize("key", SAME_ENGINE)
def test_matches_keras_on_the_same_engine(engine, key):
    _compare(engine.name, key, _keras(engine.name))


def _compare(engine_name: str, key: str, keras: dict[str, Any]) -> None:
    layer = _ours(key)
    x = _inputs(key)
    layer(x)
    names = [w.name for w in layer.weights]
    assert names == keras[key + "/names"], f"{key}: weights {names}, Keras 3 has {keras[key + '/names']}"
    keras_weights = [keras[f"{key}/w{i}"] for i in range(int(keras[key + "/count"]))]
    if not CASES[key][4]:  # Keras's own initial weights: ours start the same
        for ours, theirs in zip(layer.get_weights(), keras_weights):
            np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5, err_msg=f"{key}: initial weights")
    layer.set_weights(keras_weights)
    y = _numpy(layer(x))
    expected = keras[key + "/y"]
    assert y.shape == expected.shape, f"{key}: output shape {y.shape}, Keras 3 {expected.shape}"
    if key not in _DTYPE_BY_BACKEND:
        assert str(y.dtype) == keras[key + "/dtype"], f"{key}: dtype {y.dtype}, Keras 3 {keras[key + '/dtype']}"
    if y.dtype.kind in "USO":
        assert y.tolist() == expected.tolist()
    else:
        rtol, atol = _TOLERANCE.get(CASES[key][0][:3], (1e-5, 1e-5))
        np.testing.assert_allclose(y, expected, rtol=rtol, atol=atol, err_msg=f"{key} vs Keras 3 ({engine_name})")
    assert list(layer.compute_output_shape(DATA[CASES[key][3]].shape)) == keras[key + "/shape"]
    ours = json.loads(json.dumps(layer.get_config(), default=list))
    for name, value in keras[key + "/config"].items():
        if name == "name" and value not in CASES[key][1]:
            continue  # an automatic name: its number counts the layers made before
        if isinstance(value, dict) and "module" in value:  # a serialized object: the same class and config
            value, ours[name] = _object(value), _object(ours.get(name))
        assert ours.get(name) == value, f"{key}: config[{name!r}] is {ours.get(name)!r}, Keras 3 has {value!r}"


@pytest.mark.parametrize("factory, shape", [
    (lambda: layers.AdaptiveAveragePooling1D(3), (2, 8, 3)),
    (lambda: layers.AdaptiveMaxPooling2D((2, 3), data_format="channels_first"), (2, 2, 5, 7)),
    (lambda: layers.AdaptiveAveragePooling3D(2), (1, 4, 5, 3, 2)),
    (lambda: layers.STFTSpectrogram("magnitude", 16, 8, padding="same"), (2, 64, 2)),
    (lambda: layers.STFTSpectrogram("stft", 16, expand_dims=True, data_format="channels_first"), (2, 2, 48)),
    (lambda: layers.MelSpectrogram(64, 32, num_mel_bins=8), (2, 256)),
], ids=["avg1d", "max2d_cf", "avg3d", "stft_magnitude", "stft_stft_cf", "mel"])
def test_layer_checks(engine, factory, shape):
    check_layer(factory, shape, rtol=1e-4, atol=1e-4)


def test_adaptive_pooling_symbolic_and_unknown_sizes(engine):
    import polykeras as pk

    y = layers.AdaptiveMaxPooling2D((2, 3))(pk.Input((None, None, 4)))
    assert tuple(y.shape) == (None, 2, 3, 4)
    model = pk.Model(inp := pk.Input((None, 3)), layers.AdaptiveAveragePooling1D(2)(inp))
    out = layer_outputs(model, _x((2, 9, 3)))
    x = _x((2, 9, 3)).astype(np.float64)
    np.testing.assert_allclose(out, np.stack([x[:, :5].mean(1), x[:, 4:].mean(1)], 1), rtol=1e-5, atol=1e-6)


def test_stft_spectrogram_kernels_follow_mode_and_trainable(engine):
    x = ops.convert_to_tensor(_x((2, 64, 1)))
    for mode, names in (("magnitude", ["real_kernel", "imag_kernel"]), ("real", ["real_kernel"]),
                        ("imag", ["imag_kernel"])):
        layer = layers.STFTSpectrogram(mode, 16, 8)
        layer(x)
        assert [w.name for w in layer.trainable_weights] == names, mode
        assert [tuple(w.shape) for w in layer.weights] == [(16, 1, 9)] * len(names)
    frozen = layers.STFTSpectrogram(frame_length=16, trainable=False)
    frozen(x)
    assert not frozen.trainable_weights and len(frozen.non_trainable_weights) == 2


def _message(fn: Any) -> str:
    with pytest.raises((ValueError, TypeError)) as info:
        fn()
    return str(info.value)


@pytest.mark.parametrize("make, expected", [
    (lambda: layers.AdaptiveAveragePooling2D((2, 2, 2)), "output_size"),
    (lambda: layers.AdaptiveMaxPooling1D(0), "output_size"),
    (lambda: layers.AdaptiveMaxPooling3D(2, data_format="channels_middle"), "data_format"),
    (lambda: layers.STFTSpectrogram("power"), "mode"),
    (lambda: layers.STFTSpectrogram(frame_length=16, frame_step=32), "frame_step"),
    (lambda: layers.STFTSpectrogram(frame_length=64, fft_length=32), "fft_length"),
    (lambda: layers.STFTSpectrogram(padding="causal"), "padding"),
    (lambda: layers.STFTSpectrogram(scaling="energy"), "scaling"),
    (lambda: layers.STFTSpectrogram(window="no-such-window"), "window"),
    (lambda: layers.MelSpectrogram(fft_length=256, sequence_length=512), "sequence_length"),
    (lambda: layers.MelSpectrogram(window="kaiser"), "window"),
    (lambda: layers.MelSpectrogram(min_freq=9000.0), "min_freq"),
])
def test_bad_arguments_name_the_layer(engine, make, expected):
    message = _message(make)
    assert expected in message and ("Pooling" in message or "Spectrogram" in message), message


def test_bad_inputs_name_the_layer(engine):
    message = _message(lambda: layers.AdaptiveAveragePooling2D(2)(ops.ones((2, 4, 3))))
    assert "adaptive_average_pooling2d" in message and "(2, 4, 3)" in message, message
    message = _message(lambda: layers.STFTSpectrogram(frame_length=8)(ops.ones((2, 32, 1), "int32")))
    assert "STFTSpectrogram" in message and "int32" in message, message
    message = _message(lambda: layers.MelSpectrogram(64, 32)(ops.ones((2, 3, 256))))
    assert "MelSpectrogram" in message and "(2, 3, 256)" in message, message


def test_stft_spectrogram_in_a_model_of_unknown_length(engine):
    import polykeras as pk

    inputs = pk.Input((None, 2))
    layer = layers.STFTSpectrogram("log", 16, 8, padding="same")
    model = pk.Model(inputs, layer(inputs))
    assert tuple(model.output.shape) == (None, None, 18)
    for steps in (40, 57):
        x = _x((2, steps, 2), steps)
        np.testing.assert_allclose(model.predict(x, verbose=0), layer_outputs(layer, x), rtol=1e-5, atol=1e-5)
