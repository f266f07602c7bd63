"""``initializers.STFT`` (``STFTInitializer``, ``stft``): Keras 3's values for
every side, window, scaling and periodic choice, on every engine."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from polykeras import initializers, ops
from polykeras.variables import Variable

from layers.helpers import run_keras  # tests/ is on sys.path (no __init__.py)

WINDOWS = ["hann", "hamming", "blackman", "boxcar", "bartlett", "flattop", None, "custom"]
SCALINGS = ["density", "spectrum", None]
SHAPES = [(8, 1, 5), (5, 1, 3)]
CASES = list(itertools.product(["real", "imag"], WINDOWS, SCALINGS, [False, True]))

_CODE = """
for i, (side, window, scaling, periodic) in enumerate(spec["cases"]):
    for j, shape in enumerate(spec["shapes"]):
        win = data[f"custom{shape[0]}"] if window == "custom" else window
        init = keras.initializers.STFT(side=side, window=win, scaling=scaling, periodic=periodic)
        out[f"{i}_{j}"] = np.asarray(init(shape))
out["config"] = keras.initializers.STFT().get_config()
out["signature"] = str(__import__("inspect").signature(keras.initializers.STFT))
out["aliases"] = [keras.initializers.STFTInitializer is keras.initializers.STFT,
                  keras.initializers.stft is keras.initializers.STFT]
"""

_KERAS: dict[str, object] = {}


def _custom(length: int) -> np.ndarray:
    return np.linspace(0.2, 1.0, length)


def _keras() -> dict[str, object]:
    if not _KERAS:
        data = {f"custom{shape[0]}": _custom(shape[0]) for shape in SHAPES}
        code = _CODE.replace('spec["cases"]', repr(CASES)).replace('spec["shapes"]', repr(SHAPES))
        _KERAS.update(run_keras(code, data, backend="numpy"))
    return _KERAS


def _ours(side, window, scaling, periodic, shape) -> initializers.STFT:
    win = _custom(shape[0]) if window == "custom" else window
    return initializers.STFT(side=side, window=win, scaling=scaling, periodic=periodic)


def test_values_match_keras_for_every_choice(engine):
    keras = _keras()
    for i, case in enumerate(CASES):
        for j, shape in enumerate(SHAPES):
            ours = ops.to_numpy(_ours(*case, shape)(shape))
            assert ours.dtype == np.float32 and ours.shape == shape
            # Keras computes the phase in float32 (sin(-7 pi) = 1.3e-6 there); ours in float64, then casts.
            np.testing.assert_allclose(ours, keras[f"{i}_{j}"], rtol=1e-5, atol=1e-5, err_msg=f"{case} {shape}")


def test_names_signature_and_config_match_keras():
    keras = _keras()
    assert keras["aliases"] == [True, True]
    assert initializers.STFTInitializer is initializers.STFT and initializers.stft is initializers.STFT
    assert keras["signature"] == "(side='real', window='hann', scaling='density', periodic=False)"
    assert initializers.STFT().get_config() == keras["config"]
    for name in ("stft", "STFT", "STFTInitializer"):
        assert type(initializers.get(name)) is initializers.STFT


def test_variable_and_host_values_agree_bit_for_bit(engine):
    init = initializers.STFT("imag", "hamming", "spectrum", periodic=True)
    shape = (16, 2, 9)
    host = init.host_values(shape)
    np.testing.assert_array_equal(host[:, 0], host[:, 1])  # every channel the same kernel
    assert Variable(init, shape=shape).numpy().tobytes() == host.tobytes()
    assert ops.to_numpy(init(shape, "float16")).dtype == np.float16


def test_config_round_trip_through_json():
    for init in (initializers.STFT(), initializers.STFT("imag", None, None, True),
                 initializers.STFT(window=[0.5, 1.0, 0.5], scaling="spectrum")):
        config = json.loads(json.dumps(initializers.serialize(init)))
        clone = initializers.deserialize(config)
        assert type(clone) is initializers.STFT and clone.get_config() == init.get_config()
        np.testing.assert_array_equal(clone.host_values((3, 1, 4)), init.host_values((3, 1, 4)))


def test_scipy_windows_beyond_the_built_in_ones():
    values = initializers.STFT(window="tukey", scaling=None).host_values((6, 1, 4))
    scipy = pytest.importorskip("scipy.signal")
    expected = np.cos(-2 * np.pi * np.arange(6)[:, None] * np.arange(4)[None] / 6.0) * scipy.get_window(
        "tukey", 6, fftbins=False)[:, None]
    np.testing.assert_allclose(values[:, 0], expected, rtol=1e-5, atol=1e-6)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="STFT: expected side 'real' or 'imag', received side='both'"):
        initializers.STFT(side="both")
    with pytest.raises(ValueError, match="STFT: expected scaling None, 'density' or 'spectrum'.*'l2'"):
        initializers.STFT(scaling="l2")
    with pytest.raises(ValueError, match="STFT: expected a window .*received window='hanning-ish'"):
        initializers.STFT(window="hanning-ish")
    with pytest.raises(ValueError, match="rank 1.*shape \\(2, 2\\)"):
        initializers.STFT(window=[[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(ValueError, match="bool periodic"):
        initializers.STFT(periodic="yes")
    with pytest.raises(ValueError, match="shape \\(4,\\) \\(the frame length\\), received shape \\(3,\\)"):
        initializers.STFT(window=[1.0, 1.0, 1.0]).host_values((4, 1, 3))
    with pytest.raises(ValueError, match="STFT: expected a shape \\(frame_length, channels.*received shape=\\(4, 3\\)"):
        initializers.STFT().host_values((4, 3))
    with pytest.raises(ValueError, match="floating-point"):
        initializers.STFT().host_values((4, 1, 3), "int32")
