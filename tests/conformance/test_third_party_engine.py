"""A third-party engine registered by entry point is found by the registry
and the runner, and passes the quick op checks.

``pip install -e`` would be slow, so the example package's directory goes on
``sys.path`` and a minimal ``*.dist-info/entry_points.txt`` in a temporary
directory (also on ``sys.path``) declares its entry point, which is all
``importlib.metadata`` needs to find it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import polykeras.backends as B
from conformance.runner import main

EXAMPLE = Path(__file__).resolve().parents[2] / "conformance" / "examples" / "polykeras_mirror"


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """The example engine ``mirror``, registered for the test only."""
    info = tmp_path / "polykeras_mirror-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: polykeras-mirror\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[polykeras.backends]\nmirror = polykeras_mirror:MirrorBackend\n")
    monkeypatch.syspath_prepend(str(EXAMPLE))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(B, "_engines", dict(B._engines))  # the instance made here is forgotten afterwards
    yield "mirror"


def test_the_example_declares_its_entry_point():
    text = (EXAMPLE / "pyproject.toml").read_text()
    assert '[project.entry-points."polykeras.backends"]' in text
    assert 'mirror = "polykeras_mirror:MirrorBackend"' in text


def test_registry_finds_the_engine(mirror):
    assert mirror in B.names() and mirror in B.installed()
    engine = B.get(mirror)
    assert type(engine).__name__ == "MirrorBackend" and engine.name == mirror
    assert engine.version().startswith("mirror")


def test_quick_op_checks_pass_on_the_engine(mirror, capsys):
    code = main(["--backends", mirror, "--only", "ops", "--profile", "quick", "--plain"])
    out = capsys.readouterr().out
    assert code == 0, out[-5000:]
    assert "softsign" in out and " 0 fail" in out
    assert "skip" in out  # gradients: the engine does not differentiate, and says so
