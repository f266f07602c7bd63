"""Keras 3 class members polykeras adds for programs written for Keras 3
(the members listed in ``conformance/keras_compat.yaml`` before): each run as
one scenario (``_member_scenarios``) through polykeras and through Keras 3 on
the same engine, in a subprocess, so Keras never shares this process."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import polykeras as pk

from _member_scenarios import members, summaries

needs_keras = pytest.mark.skipif(importlib.util.find_spec("keras") is None, reason="needs keras")

_RUNS: dict[str, dict[str, Any]] = {}


def keras_side(engine: str) -> dict[str, Any]:
    """The scenario run by Keras 3 with ``KERAS_BACKEND=engine`` (cached)."""
    if engine not in _RUNS:
        script = ("import json, sys; sys.path.insert(0, sys.argv[1]); import keras, _member_scenarios; "
                  "print(json.dumps({**_member_scenarios.members(keras), **_member_scenarios.summaries(keras)}))")
        env = {**os.environ, "KERAS_BACKEND": engine, "TF_CPP_MIN_LOG_LEVEL": "3"}
        done = subprocess.run([sys.executable, "-c", script, str(Path(__file__).parent)], env=env,
                              capture_output=True, text=True, timeout=600, check=False)
        assert done.returncode == 0, done.stderr[-3000:]
        _RUNS[engine] = json.loads(done.stdout.strip().splitlines()[-1])
    return _RUNS[engine]


@needs_keras
@pytest.mark.parametrize("what", ["run_eagerly", "jit_compile", "quantization_mode", "attention", "add_variable"])
def test_members_behave_as_keras(engine, what):
    ours = json.loads(json.dumps(members(pk)))
    assert ours[what] == keras_side(engine.name)[what]


@needs_keras
@pytest.mark.parametrize("what", ["plain", "nested", "range", "range_pattern", "range_nested", "positions",
                                  "metric_add_weight", "optimizer_add_variable"])
def test_summary_and_state_members_behave_as_keras(engine, what):
    ours = json.loads(json.dumps(summaries(pk)))
    assert ours[what] == keras_side(engine.name)[what]


@pytest.mark.parametrize("layer_range, message", [
    (["first"], "two layer names"), ("first", "two layer names"), (["nothing", "last"], "names no range"),
    (["last", "first"], "names no range"),
])
def test_summary_refuses_a_layer_range_that_fits_no_layers(engine, layer_range, message):
    model = pk.Sequential([pk.Input((4,)), pk.layers.Dense(4, name="first"), pk.layers.Dense(1, name="last")],
                          name="net")
    with pytest.raises(ValueError, match=rf"Model 'net'\.summary: .*{message}"):
        model.summary(print_fn=lambda line: None, layer_range=layer_range)


@pytest.mark.parametrize("positions, message", [([0.5, 1.0], "expected 3 positions"),
                                                ([0.6, 0.3, 1.0], "increasing positions")])
def test_summary_refuses_positions_that_fit_no_columns(engine, positions, message):
    model = pk.Sequential([pk.Input((4,)), pk.layers.Dense(1)], name="net")
    with pytest.raises(ValueError, match=rf"Model 'net'\.summary: .*{message}"):
        model.summary(print_fn=lambda line: None, positions=positions)


def test_optimizer_variable_with_a_layout_is_refused_by_name(engine):
    with pytest.raises(NotImplementedError, match="layout"):
        pk.optimizers.SGD().add_variable((2,), layout=object(), name="slot")


def test_jit_compile_before_compile_is_auto(engine):
    # Keras 3 resolves "auto" to its engine's choice here; polykeras's engine decides when the step is made.
    model = pk.Sequential([pk.Input((3,)), pk.layers.Dense(2)])
    assert model.jit_compile == "auto" and model.run_eagerly is False
    model.compile(optimizer="sgd", loss="mse", run_eagerly=True)
    assert model.run_eagerly is True and model.jit_compile == "auto"


def test_attention_projections_need_a_built_layer(engine):
    mha = pk.layers.MultiHeadAttention(num_heads=2, key_dim=4)
    with pytest.raises(AttributeError):
        mha.query_dense  # noqa: B018 - reading it is the test
