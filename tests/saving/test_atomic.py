"""Atomic saves: a full disk, an error in get_config or a writer process
killed mid-save leaves the previous file intact and loadable, and no partial
or temporary file behind."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from polykeras import layers
from polykeras.saving import load_from_file, load_model, save_to_file

from ._models import build, weights

ROOT = Path(__file__).resolve().parents[2]


def _disk_fills_after(monkeypatch: pytest.MonkeyPatch, allowed: int) -> None:
    """``os.write`` writes ``allowed`` bytes in all, then fails with ENOSPC."""
    real_write = os.write
    left = [allowed]

    def write(fd: int, data) -> int:
        if left[0] <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        written = real_write(fd, bytes(data[: left[0]]))
        left[0] -= written
        return written

    monkeypatch.setattr(os, "write", write)


def _saves(kind: str):
    return {
        "archive": ("m.pkeras", lambda model, path: model.save(path),
                    lambda path: weights(load_model(path))),
        "weights": ("m.weights.h5", lambda model, path: model.save_weights(path),
                    lambda path: _loaded_weights(path)),
        "architecture": ("arch.json", lambda model, path: save_to_file(model, path),
                         lambda path: [np.array(len(load_from_file(path).layers))]),
    }[kind]


def _loaded_weights(path: Path) -> list[np.ndarray]:
    model = build("sequential", seed=9)
    model.load_weights(path)
    return weights(model)


def _only_file_is(folder: Path, name: str) -> None:
    assert sorted(p.name for p in folder.iterdir()) == [name], "a partial or temporary file was left behind"


@pytest.mark.parametrize("kind", ["archive", "weights", "architecture"])
@pytest.mark.parametrize("named_temp", [False, True], ids=["anonymous-temp", "named-temp"])
def test_a_full_disk_leaves_the_previous_file_intact(engine, tmp_path, monkeypatch, kind, named_temp):
    name, save, read = _saves(kind)
    path = tmp_path / name
    save(build("sequential", seed=1), path)
    expected, before = read(path), path.read_bytes()
    if named_temp:  # where the platform has no anonymous files, a named temp file is cleaned up instead
        monkeypatch.delattr(os, "O_TMPFILE", raising=False)
    _disk_fills_after(monkeypatch, allowed=100)
    bigger = build("sequential", seed=2)
    bigger.add(layers.Dense(3, name="more"))
    with pytest.raises(OSError, match="No space left") as info:
        save(bigger, path)
    assert info.value.errno == errno.ENOSPC
    monkeypatch.undo()
    assert path.read_bytes() == before
    for a, b in zip(read(path), expected):
        np.testing.assert_array_equal(a, b)
    _only_file_is(tmp_path, name)


def test_an_error_in_get_config_leaves_the_previous_file_intact(engine, tmp_path):
    path = tmp_path / "m.pkeras"
    model = build("sequential", seed=1)
    model.save(path)
    before = path.read_bytes()

    class Broken(layers.Layer):
        def call(self, x):
            return x

        def get_config(self):
            raise RuntimeError("get_config exploded")

    other = build("sequential", seed=2)
    other.add(Broken(name="broken"))
    with pytest.raises(RuntimeError, match="get_config exploded"):
        other.save(path)
    assert path.read_bytes() == before
    for a, b in zip(weights(load_model(path)), weights(model)):
        np.testing.assert_array_equal(a, b)
    _only_file_is(tmp_path, "m.pkeras")


#: A writer process: saves a new model over the target again and again,
#: 64 bytes every 50 ms (a save of ~2.6 KB takes ~2 s), saying when it starts writing.
WRITER = r'''
import os, sys, time
sys.path.insert(0, sys.argv[2])
from tests.saving._models import build
model = build("functional", seed=5)
real_write = os.write
started = []
def slow_write(fd, data):
    if not started:
        started.append(True)
        print("writing", flush=True)
    time.sleep(0.05)
    return real_write(fd, bytes(data[:64]))
os.write = slow_write
while True:
    model.save(sys.argv[1])
'''


def test_a_writer_killed_mid_save_leaves_the_old_file_loadable(tmp_path):
    path = tmp_path / "m.pkeras"
    old = build("functional", seed=1)
    old.save(path)
    before = path.read_bytes()
    env = {**os.environ, "POLYKERAS_BACKEND": "numpy", "TF_CPP_MIN_LOG_LEVEL": "3"}
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(ROOT)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = _read_line(writer, timeout=120)
        assert line == "writing", f"the writer did not start: {line!r} {writer.stderr.read()[-2000:]}"
        time.sleep(0.3)  # a few chunks into its first save
        assert writer.poll() is None, writer.stderr.read()[-2000:]
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait(timeout=30)
    assert writer.returncode == -signal.SIGKILL
    assert path.read_bytes() == before
    for a, b in zip(weights(load_model(path)), weights(old)):
        np.testing.assert_array_equal(a, b)
    if hasattr(os, "O_TMPFILE"):  # the unfinished bytes had no name; elsewhere a hidden temp file may remain
        _only_file_is(tmp_path, "m.pkeras")


def _read_line(process: subprocess.Popen, timeout: float) -> str:
    import selectors

    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if selector.select(timeout=1.0):
            return process.stdout.readline().strip()
        if process.poll() is not None:
            return ""
    return ""


def test_a_pair_is_written_both_or_neither(engine, tmp_path, monkeypatch):
    arch, weights_path = tmp_path / "arch.json", tmp_path / "w.h5"
    old = build("sequential", seed=1)
    save_to_file(old, arch, weights_path)
    before = arch.read_bytes(), weights_path.read_bytes()
    new = build("sequential", seed=2)
    new.add(layers.Dense(3, name="more"))
    real_replace, calls = os.replace, []

    def replace(source, target):  # the second file cannot be put in place
        calls.append(Path(target).name)
        if Path(target) == weights_path and Path(source).name.endswith(".tmp"):
            raise OSError(errno.EIO, "Input/output error")
        return real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OSError, match=r"cannot write .*w\.h5") as info:
        save_to_file(new, arch, weights_path)
    monkeypatch.undo()
    assert calls[:2] == ["arch.json", "w.h5"]  # the architecture had been replaced, then was put back
    assert (arch.read_bytes(), weights_path.read_bytes()) == before
    assert info.value.filename == str(weights_path)
    assert len(load_from_file(arch, weights_path).layers) == len(old.layers)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["arch.json", "w.h5"]


def test_a_stale_temporary_file_of_a_dead_writer_is_removed_by_the_next_save(engine, tmp_path):
    path = tmp_path / "m.pkeras"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".m.pkeras.{int(dead.stdout)}.0123abcd.tmp"
    stale.write_bytes(b"a complete archive a kill left before its rename")
    mine = tmp_path / f".m.pkeras.{os.getpid()}.89abcdef.tmp"  # a live writer's file stays
    mine.write_bytes(b"in progress")
    other = tmp_path / ".other.pkeras.1.0123abcd.tmp"  # another target's file stays
    other.write_bytes(b"not ours")
    build("sequential", seed=1).save(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["m.pkeras", mine.name, other.name])


def test_a_read_only_folder_error_names_the_target(engine, tmp_path, monkeypatch):
    folder = tmp_path / "locked"
    folder.mkdir()
    real_open = os.open

    def refuse(path, flags, *args, **kwargs):  # a folder no one may write into (even root, here)
        if str(path).startswith(str(folder)) and flags & (os.O_WRONLY | os.O_RDWR):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(PermissionError, match=r"cannot write .*locked/m\.pkeras") as info:
        build("sequential", seed=1).save(folder / "m.pkeras")
    assert info.value.filename == str(folder / "m.pkeras")
    monkeypatch.undo()
    assert list(folder.iterdir()) == []
