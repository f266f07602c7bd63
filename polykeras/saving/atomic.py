"""Atomic writes: a file is written beside its target and renamed into place,
so a crash, a full disk or an exception mid-save leaves the previous file
intact and no partial file behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; on success it replaces
    ``target`` (``os.replace``, atomic on POSIX and Windows), on failure it is
    removed.

    Example:
        >>> with atomic_path("model.pkeras") as tmp:
        ...     write_archive(tmp)
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(handle)
    temp = Path(name)
    try:
        yield temp
        with open(temp, "rb+") as written:
            os.fsync(written.fileno())
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
