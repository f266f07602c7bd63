"""plot_model writes the graph through Graphviz."""

from __future__ import annotations

import shutil

import pytest

import polykeras as pk
from polykeras import layers
from polykeras.models.plot import model_to_dot, plot_model


def _model():
    a, b = pk.Input((4,), name="a"), pk.Input((4,), name="b")
    shared = layers.Dense(3, name="shared")
    return pk.Model([a, b], [shared(a), shared(b)])


def test_dot_source_has_every_layer_and_edge(engine):
    source = model_to_dot(_model())
    for name in ("a (InputLayer)", "b (InputLayer)", "shared (Dense)", "(None, 3)"):
        assert name in source
    assert source.count("->") == 2


@pytest.mark.parametrize("suffix", ["png", "svg"])
def test_files_are_written(engine, tmp_path, suffix):
    if shutil.which("dot") is None:
        pytest.fail("Graphviz's dot is not installed; the setup script installs it")
    target = plot_model(_model(), tmp_path / f"model.{suffix}")
    assert target.exists() and target.stat().st_size > 100
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_missing_dot_is_a_clear_error(engine, tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(OSError, match="Graphviz's 'dot' program"):
        plot_model(_model(), tmp_path / "model.png")
    with pytest.raises(ValueError, match=r"\.png, \.svg"):
        plot_model(_model(), tmp_path / "model.gif")
