"""Atomic writes: a file is written where no one can see it and renamed into
place, so a crash, a full disk or an exception mid-save leaves the previous
file intact and no partial file behind.

On Linux the bytes go to an anonymous file (``O_TMPFILE``) that has no name
until it is complete: a process killed mid-write leaves nothing at all. It is
then linked under a hidden temporary name and renamed over the target (both
atomic). Elsewhere a named temporary file beside the target is used and
removed on any failure.

Example:
    >>> atomic_write("model.pkeras", archive_bytes)
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

__all__ = ["atomic_path", "atomic_write", "atomic_write_all", "remove_stale"]

_AT_FDCWD = -100
_AT_SYMLINK_FOLLOW = 0x400


def _linkat(fd: int, destination: Path) -> bool:
    """Give the anonymous file ``fd`` the name ``destination``; False when the
    platform cannot (then the caller falls back to a named temporary file)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        linkat = libc.linkat
    except (OSError, AttributeError):
        return False
    source = f"/proc/self/fd/{fd}".encode()
    if linkat(_AT_FDCWD, source, _AT_FDCWD, os.fsencode(destination), _AT_SYMLINK_FOLLOW) != 0:
        return False
    return True


def _fsync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):
        handle = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
    os.fsync(fd)


_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[0-9a-f]{8}\.(?:tmp|bak)$")


def _hidden_name(target: Path, kind: str = "tmp") -> Path:
    return target.parent / f".{target.name}.{os.getpid()}.{os.urandom(4).hex()}.{kind}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists but is not ours to signal
    return True


def remove_stale(target: Path) -> None:
    """Remove hidden temporary files of earlier saves to ``target`` whose
    writer process is gone (a kill between writing and renaming leaves one).
    Example: ``remove_stale(Path("model.pkeras"))``"""
    with contextlib.suppress(OSError):
        for entry in target.parent.iterdir():
            found = _TEMP.match(entry.name)
            if found and found["name"] == target.name and not _alive(int(found["pid"])):
                entry.unlink(missing_ok=True)


def _named(err: OSError, target: Path) -> OSError:
    """The same kind of error, naming the file the user asked for."""
    made = type(err)(err.errno, f"cannot write {target}: {err.strerror or err}")
    made.filename = str(target)
    return made


def _stage(target: Path, data: bytes | memoryview) -> Path:
    """``data`` complete and synced under a hidden name beside ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(target)
    temp = _hidden_name(target)
    flag = getattr(os, "O_TMPFILE", 0)
    fd = -1
    if flag:
        try:
            fd = os.open(target.parent, flag | os.O_WRONLY, 0o644)
        except OSError:
            fd = -1
    if fd >= 0:
        try:
            _write_all(fd, data)
            if _linkat(fd, temp):  # the file has a name only once it is complete
                return temp
        finally:
            os.close(fd)
    handle = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        _write_all(handle, data)
    except BaseException:
        os.close(handle)
        temp.unlink(missing_ok=True)
        raise
    os.close(handle)
    return temp


def atomic_write_all(files: Mapping[str | os.PathLike, bytes | memoryview]) -> list[Path]:
    """Write several files as one: every file is staged complete first, then
    all are renamed into place; a failure at any point (a full disk, an
    unwritable folder) leaves every previous file as it was and no temporary
    file behind. Errors name the file asked for.

    Example: ``atomic_write_all({"arch.json": text, "arch.weights.h5": weights})``
    """
    targets = [Path(t) for t in files]
    staged: list[Path] = []
    backups: list[Path] = []
    done: list[tuple[Path, Path | None]] = []  # (target, its previous version or None when it was new)
    try:
        for target, data in zip(targets, files.values()):
            try:
                staged.append(_stage(target, data))
            except OSError as err:
                raise _named(err, target) from err
        for target, temp in zip(targets, staged):
            backup = None
            if len(targets) > 1 and target.exists():
                backup = _hidden_name(target, "bak")
                os.link(target, backup)
                backups.append(backup)
            try:
                os.replace(temp, target)
            except OSError as err:
                raise _named(err, target) from err
            done.append((target, backup))
    except BaseException:
        for target, backup in reversed(done):
            with contextlib.suppress(OSError):
                if backup is not None:
                    os.replace(backup, target)
                else:
                    target.unlink()
        raise
    finally:
        for leftover in (*staged, *backups):
            leftover.unlink(missing_ok=True)
    for folder in {t.parent for t in targets}:
        _fsync_folder(folder)
    return targets


def atomic_write(target: str | os.PathLike, data: bytes | memoryview) -> Path:
    """Write ``data`` to ``target`` all at once or not at all: on success
    ``target`` holds exactly ``data``; on any failure (``OSError`` such as a
    full disk, a kill) the previous ``target``, if any, is untouched and no
    temporary file is left (one a killed writer left is removed by the next
    save to the same file).

    Example: ``atomic_write("arch.json", text.encode())``
    """
    return atomic_write_all({target: data})[0]


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``target`` for a writer that needs a
    path; on success it replaces ``target`` (``os.replace``, atomic on POSIX
    and Windows), on failure it is removed.

    Example:
        >>> with atomic_path("model.pkeras") as tmp:
        ...     write_archive(tmp)
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(target)
    temp = _hidden_name(target)
    try:
        os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    except OSError as err:
        raise _named(err, target) from err
    try:
        yield temp
        with open(temp, "rb+") as written:
            os.fsync(written.fileno())
        os.replace(temp, target)
        _fsync_folder(target.parent)
    finally:
        temp.unlink(missing_ok=True)

