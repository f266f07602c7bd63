"""Random initializers fill a weight in its own dtype chunk by chunk: the host
never holds a float64 copy of the whole weight, and the values are bit for bit
those of one whole float64 draw cast afterwards (the numbers every seeded
weight had before)."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest

from polykeras import initializers
from polykeras.variables import Variable


def _old_truncated(rng: np.random.Generator, shape, mean: float, stddev: float) -> np.ndarray:
    out = rng.standard_normal(shape)
    bad = np.abs(out) > 2.0
    while bad.any():
        out[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(out) > 2.0
    return mean + stddev * out


def _whole_draw(init, shape):
    """The values of one whole float64 draw, cast to float32."""
    rng = np.random.default_rng(init.seed)
    if isinstance(init, initializers.RandomNormal):
        values = rng.normal(init.mean, init.stddev, shape)
    elif isinstance(init, initializers.RandomUniform):
        values = rng.uniform(init.minval, init.maxval, shape)
    elif isinstance(init, initializers.TruncatedNormal):
        values = _old_truncated(rng, shape, init.mean, init.stddev)
    else:
        fan_in, fan_out = initializers.compute_fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[init.mode]
        scale = init.scale / max(1.0, fan)
        if init.distribution == "truncated_normal":
            values = _old_truncated(rng, shape, 0.0, math.sqrt(scale) / 0.87962566103423978)
        elif init.distribution == "untruncated_normal":
            values = rng.normal(0.0, math.sqrt(scale), shape)
        else:
            values = rng.uniform(-math.sqrt(3.0 * scale), math.sqrt(3.0 * scale), shape)
    return values.astype("float32")


DRAWS = [initializers.RandomNormal(0.5, 2.0, seed=1), initializers.RandomUniform(-3.0, 7.0, seed=2),
         initializers.TruncatedNormal(0.1, 3.0, seed=3), initializers.GlorotUniform(seed=4),
         initializers.HeNormal(seed=5), initializers.VarianceScaling(2.0, "fan_out", "untruncated_normal", seed=6)]


@pytest.mark.parametrize("init", DRAWS, ids=[type(i).__name__ for i in DRAWS])
def test_chunked_draws_equal_one_whole_draw_bit_for_bit(engine, init, monkeypatch):
    monkeypatch.setattr(initializers, "_CHUNK", 1000)  # 3,500 values: three chunks and a part
    shape = (50, 70)
    host = init.host_values(shape, "float32")
    assert host.dtype == np.float32 and host.shape == shape
    assert host.tobytes() == _whole_draw(init, shape).tobytes()
    assert Variable(init, shape=shape).numpy().tobytes() == host.tobytes()


@pytest.mark.parametrize("name", ["GlorotUniform", "RandomNormal", "TruncatedNormal"])
def test_a_float32_draw_holds_no_float64_copy_of_the_weight(engine, name, monkeypatch):
    monkeypatch.setattr(initializers, "_CHUNK", 1 << 12)
    init = getattr(initializers, name)(seed=0)
    shape = (512, 1024)
    weight = 512 * 1024 * 4
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        values = init.host_values(shape, "float32")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert values.dtype == np.float32
    # one float64 draw cast afterwards peaked at 3x the weight (4.5x truncated)
    assert peak < 1.25 * weight, f"{name}: peak {peak / weight:.2f}x the float32 weight"
