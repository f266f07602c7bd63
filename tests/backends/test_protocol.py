"""Every engine implements the whole backend protocol with the protocol's
signatures; ``get()`` refuses an incomplete engine; a third-party engine
registered through the ``polykeras.backends`` entry-point group is found and
usable like a built-in."""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import sys
import textwrap

import numpy as np
import pytest

import polykeras
import polykeras.backends as B
from polykeras import ops
from polykeras.backends.base import Backend


def test_protocol_lists_primitives_and_composites():
    protocol = B.protocol()
    primitives, composites = set(protocol["primitives"]), set(protocol["composites"])
    assert primitives and composites and not primitives & composites
    for name in primitives:
        assert getattr(getattr(Backend, name), "__isabstractmethod__", False), name
    for name in composites:
        assert not getattr(getattr(Backend, name), "__isabstractmethod__", False), name


def test_engine_implements_every_primitive(engine):
    cls = type(engine)
    assert not getattr(cls, "__abstractmethods__", None), (
        f"{cls.__name__} leaves abstract: {sorted(cls.__abstractmethods__)}")
    missing = [name for name in B.protocol()["primitives"]
               if getattr(cls, name, None) is None or getattr(getattr(cls, name), "__isabstractmethod__", False)]
    assert not missing, f"{cls.__name__} does not implement: {missing}"


def _parameters(function) -> dict[str, inspect.Parameter]:
    return dict(inspect.signature(function).parameters)


def test_engine_methods_keep_the_protocol_signatures(engine):
    """Same parameter names, in order, with the protocol's defaults: callers
    may pass any argument by keyword on any engine."""
    cls = type(engine)
    problems = []
    for name in B.protocol()["primitives"] + B.protocol()["composites"]:
        ours, theirs = _parameters(getattr(Backend, name)), _parameters(getattr(cls, name))
        if any(p.kind is p.VAR_POSITIONAL for p in ours.values()):
            continue
        positional = [n for n in ours if n != "self"]
        got = [n for n, p in theirs.items() if n != "self" and p.kind is not p.VAR_KEYWORD][:len(positional)]
        if got != positional and not any(p.kind is p.VAR_KEYWORD for p in theirs.values()):
            problems.append(f"{name}{tuple(got)} vs protocol {tuple(positional)}")
            continue
        for param_name, param in ours.items():
            if param.default is not inspect.Parameter.empty and param_name in theirs:
                if theirs[param_name].default != param.default:
                    problems.append(f"{name}: default {param_name}={theirs[param_name].default!r}, "
                                    f"protocol {param.default!r}")
    assert not problems, f"{cls.__name__} differs from the protocol:\n  " + "\n  ".join(problems)


def test_engine_flags(engine):
    assert isinstance(engine.differentiable, bool)
    devices = engine.list_devices()
    assert devices and all(isinstance(d, str) for d in devices)
    with engine.device_scope(devices[0]):
        assert engine.is_tensor(engine.ones((1,)))


# ------------------------------------------------------ third-party engines
def _entry_point(name: str, value: str) -> importlib.metadata.EntryPoint:
    return importlib.metadata.EntryPoint(name=name, value=value, group=B.ENTRY_POINT_GROUP)


@pytest.fixture
def isolated(monkeypatch):
    monkeypatch.setattr(B, "_engines", dict(B._engines))
    yield monkeypatch


def _write_module(tmp_path, name: str, source: str) -> None:
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
    importlib.invalidate_caches()


def test_get_refuses_an_incomplete_engine(isolated, tmp_path):
    _write_module(tmp_path, "incomplete_engine", """
        from polykeras.backends.base import Backend

        class IncompleteBackend(Backend):
            def version(self):
                return "0"
    """)
    isolated.syspath_prepend(str(tmp_path))
    isolated.delitem(sys.modules, "incomplete_engine", raising=False)
    points = [_entry_point("incomplete", "incomplete_engine:IncompleteBackend")]
    real = importlib.metadata.entry_points
    isolated.setattr(importlib.metadata, "entry_points",
                     lambda **kw: points if kw.get("group") == B.ENTRY_POINT_GROUP else real(**kw))
    assert "incomplete" in B.names()
    with pytest.raises(TypeError, match=r"'incomplete'.*does not implement the backend protocol") as info:
        B.get("incomplete")
    for name in ("add", "conv", "value_and_grad"):
        assert name in str(info.value)
    assert "version" not in str(info.value).split("missing:")[1]


_THIRD_PARTY = """
    import numpy as np
    from polykeras.backends.numpy import NumpyBackend

    class ThirdPartyBackend(NumpyBackend):
        \"\"\"A vendor engine: NumPy with its own version string and relu.\"\"\"

        def version(self):
            return "thirdparty-1.0"

        def relu(self, x):
            x = self.convert_to_tensor(x)
            return np.where(x > 0, x, np.zeros_like(x))
"""


def test_third_party_engine_from_an_installed_distribution(isolated, tmp_path):
    """A package installed with an entry point in ``polykeras.backends``
    (here a dist-info directory on ``sys.path``) is a first-class engine."""
    _write_module(tmp_path, "thirdparty_engine", _THIRD_PARTY)
    dist = tmp_path / "thirdparty_engine-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: thirdparty-engine\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[{B.ENTRY_POINT_GROUP}]\n"
                                           f"thirdparty = thirdparty_engine:ThirdPartyBackend\n")
    isolated.syspath_prepend(str(tmp_path))
    isolated.delitem(sys.modules, "thirdparty_engine", raising=False)
    importlib.invalidate_caches()

    assert "thirdparty" in B.names() and "thirdparty" in B.installed()
    engine = B.get("thirdparty")
    assert engine.name == "thirdparty" and engine.version() == "thirdparty-1.0"
    with B.use("thirdparty"):
        assert polykeras.backend() == "thirdparty"
        out = ops.relu(ops.convert_to_tensor(np.array([-1.0, 2.0], np.float32)))
        np.testing.assert_array_equal(ops.to_numpy(out), [0.0, 2.0])
        assert ops.dtype(ops.conv(ops.ones((1, 4, 1)), ops.ones((2, 1, 1)))) == "float32"
    with pytest.raises(ValueError, match="Unknown engine"):
        B.get("thirdparty-typo")


def test_builtin_names_win_over_entry_points(isolated):
    points = [_entry_point("numpy", "nowhere:Nothing")]
    real = importlib.metadata.entry_points
    isolated.setattr(importlib.metadata, "entry_points",
                     lambda **kw: points if kw.get("group") == B.ENTRY_POINT_GROUP else real(**kw))
    isolated.setattr(B, "_engines", {})
    assert B.names().count("numpy") == 1
    assert B.get("numpy").name == "numpy"
