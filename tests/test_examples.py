"""The examples run on every differentiable engine and reach their targets."""

from __future__ import annotations

import importlib.util
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_digits_reaches_97_percent(diff_engine, tmp_path):
    accuracy = _load("train_digits").main(["--verbose", "0", "--save", str(tmp_path / "digits.pkeras")])
    assert accuracy >= 0.97


def test_custom_training_loop_learns(diff_engine):
    assert _load("custom_training_loop").main(epochs=5) > 0.9
