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
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "atomic_write"]

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


def _hidden_name(target: Path) -> Path:
    return target.parent / f".{target.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp"


def atomic_write(target: str | os.PathLike, data: bytes | memoryview) -> Path:
    """Write ``data`` to ``target`` all at once or not at all: on success
    ``target`` holds exactly ``data``; on any failure (``OSError`` such as a
    full disk, a kill) the previous ``target``, if any, is untouched and no
    temporary file is left.

    Example: ``atomic_write("arch.json", text.encode())``
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    flag = getattr(os, "O_TMPFILE", 0)
    fd = -1
    if flag:
        try:
            fd = os.open(target.parent, flag | os.O_WRONLY, 0o644)
        except OSError:
            fd = -1
    if fd >= 0:
        temp = _hidden_name(target)
        try:
            _write_all(fd, data)
            if _linkat(fd, temp):
                try:
                    os.replace(temp, target)
                finally:
                    temp.unlink(missing_ok=True)
                _fsync_folder(target.parent)
                return target
        finally:
            os.close(fd)
    with atomic_path(target) as temp:
        handle = os.open(temp, os.O_WRONLY | os.O_TRUNC)
        try:
            _write_all(handle, data)
        finally:
            os.close(handle)
    return target


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
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(handle)
    temp = Path(name)
    temp.chmod(0o644)  # mkstemp's 0600 would make saved models private by accident
    try:
        yield temp
        with open(temp, "rb+") as written:
            os.fsync(written.fileno())
        os.replace(temp, target)
        _fsync_folder(target.parent)
    finally:
        temp.unlink(missing_ok=True)

