"""``get_file``: download into a cache, check the hash, extract safely.

Extraction refuses the whole archive before writing anything when any
member could land outside the extraction folder: an absolute name, a
``..`` component, a symbolic or hard link, a device or FIFO. Only plain
files and folders are written, with ordinary permissions (no set-uid bits).
This closes the tar/zip path-traversal holes (the tar-slip class of bugs,
CVE-2007-4559 and Keras' own extraction CVEs) by construction rather than by
skipping members.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable, Iterable
from pathlib import PurePosixPath
from typing import Any

_CHUNK = 1 << 16


class UnsafeArchiveError(ValueError):
    """An archive member would be written outside the extraction folder, or
    is a link, device or FIFO. Example: a tar holding ``../../etc/passwd``."""


def keras_home() -> str:
    """The cache root: ``$KERAS_HOME``, else ``~/.keras`` (shared with Keras,
    so files it already downloaded are reused). Example: ``keras_home()``"""
    return os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")


def resolve_hasher(algorithm: str, file_hash: str | None = None) -> Any:
    """A hashlib object for ``"sha256"``, ``"md5"`` or ``"auto"`` (sha256 for
    a 64-digit hash, md5 otherwise). Example: ``resolve_hasher("auto", h)``"""
    if algorithm == "sha256" or (algorithm == "auto" and file_hash is not None and len(file_hash) == 64):
        return hashlib.sha256()
    if algorithm in ("md5", "auto"):
        return hashlib.md5()
    raise ValueError(f"get_file: expected hash_algorithm 'auto', 'sha256' or 'md5', received {algorithm!r}.")


def hash_file(fpath: str | os.PathLike, algorithm: str = "sha256", chunk_size: int = _CHUNK) -> str:
    """The file's hex digest. Example: ``hash_file("data.npz")``"""
    hasher = resolve_hasher(algorithm) if isinstance(algorithm, str) else algorithm
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def validate_file(fpath: str | os.PathLike, file_hash: str, algorithm: str = "auto",
                  chunk_size: int = _CHUNK) -> bool:
    """True when the file's hash equals ``file_hash``. Example: ``validate_file(p, sha)``"""
    hasher = resolve_hasher(algorithm, file_hash)
    return hash_file(fpath, hasher, chunk_size) == str(file_hash).lower()


# ------------------------------------------------------------- extraction
def _safe_relative(name: str, archive: str) -> str:
    """The member's path relative to the extraction folder, or an error."""
    clean = name.replace("\\", "/")
    path = PurePosixPath(clean)
    if clean.startswith("/") or (len(clean) > 1 and clean[1] == ":") or path.is_absolute():
        raise UnsafeArchiveError(f"Refusing to extract {archive}: member {name!r} has an absolute path.")
    if any(part == ".." for part in path.parts):
        raise UnsafeArchiveError(f"Refusing to extract {archive}: member {name!r} climbs out of the folder ('..').")
    return os.path.join(*[p for p in path.parts if p not in ("", ".")]) if path.parts else ""


def _plan_tar(archive: tarfile.TarFile, where: str) -> list[tuple[str, Any]]:
    plan = []
    for member in archive.getmembers():
        if member.issym() or member.islnk():
            raise UnsafeArchiveError(f"Refusing to extract {where}: member {member.name!r} is a link "
                                     f"(to {member.linkname!r}).")
        if not (member.isfile() or member.isdir()):
            raise UnsafeArchiveError(f"Refusing to extract {where}: member {member.name!r} is not a plain file "
                                     "or folder (device, FIFO or other special file).")
        plan.append((_safe_relative(member.name, where), member))
    return plan


def _plan_zip(archive: zipfile.ZipFile, where: str) -> list[tuple[str, Any]]:
    plan = []
    for info in archive.infolist():
        kind = stat.S_IFMT(info.external_attr >> 16)  # 0 when the writer recorded no file type
        if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
            raise UnsafeArchiveError(f"Refusing to extract {where}: member {info.filename!r} is a link or "
                                     "special file.")
        plan.append((_safe_relative(info.filename, where), info))
    return plan


def _write_members(plan: list[tuple[str, Any]], root: str, open_member: Any) -> None:
    real_root = os.path.realpath(root)
    for relative, member in plan:
        if not relative:
            continue
        target = os.path.realpath(os.path.join(root, relative))
        if os.path.commonpath([real_root, target]) != real_root:  # belt and braces over _safe_relative
            raise UnsafeArchiveError(f"Refusing to extract member {relative!r}: it resolves outside {root!r}.")
        is_dir = member.isdir() if isinstance(member, tarfile.TarInfo) else member.is_dir()
        if is_dir:
            os.makedirs(target, exist_ok=True)
            continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        source = open_member(member)
        with source, open(target, "wb") as out:
            shutil.copyfileobj(source, out, _CHUNK)


def _formats(archive_format: Any) -> list[str]:
    if archive_format is None:
        return []
    if archive_format == "auto":
        return ["tar", "zip"]
    if isinstance(archive_format, str):
        archive_format = [archive_format]
    formats = list(archive_format)
    for name in formats:
        if name not in ("tar", "zip"):
            raise ValueError(f"extract_archive: expected archive_format 'auto', 'tar', 'zip', a list of them or "
                             f"None, received {name!r}.")
    return formats


def extract_archive(file_path: str | os.PathLike, path: str | os.PathLike = ".",
                    archive_format: str | Iterable[str] | None = "auto") -> bool:
    """Extract a tar (``.tar``, ``.tar.gz``, ``.tar.bz2``, ``.tar.xz``) or zip
    archive into ``path``; False when it is none of ``archive_format``.
    Raises :class:`UnsafeArchiveError`, writing nothing, when a member would
    escape ``path`` or is a link or special file. The contents replace
    ``path`` whole, so a failed extraction leaves no half-written folder.

    Example: ``extract_archive("flowers.tgz", "flowers")``
    """
    file_path, path = os.fspath(file_path), os.fspath(path)
    where = os.path.basename(file_path)
    planner: Callable[[Any, str], list[tuple[str, Any]]]
    for fmt in _formats(archive_format):
        if fmt == "tar" and tarfile.is_tarfile(file_path):
            opened: Any = tarfile.open(file_path)
            planner, opener = _plan_tar, (lambda archive: archive.extractfile)
        elif fmt == "zip" and zipfile.is_zipfile(file_path):
            opened = zipfile.ZipFile(file_path)
            planner, opener = _plan_zip, (lambda archive: archive.open)
        else:
            continue
        parent = os.path.dirname(os.path.abspath(path)) or "."
        os.makedirs(parent, exist_ok=True)
        with opened as archive:
            plan = planner(archive, where)
            staging = tempfile.mkdtemp(prefix=".extract-", dir=parent)
            try:
                _write_members(plan, staging, opener(archive))
                if os.path.isdir(path):
                    shutil.rmtree(path)
                elif os.path.lexists(path):
                    os.remove(path)
                os.replace(staging, path)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
        return True
    return False


# --------------------------------------------------------------- download
def _download(origin: str, target: str) -> None:
    from polykeras.utils.progbar import Progbar

    print(f"Downloading data from {origin}")
    folder = os.path.dirname(target)
    handle, partial = tempfile.mkstemp(prefix=".download-", dir=folder)
    try:
        with os.fdopen(handle, "wb") as out:
            try:
                response = urllib.request.urlopen(origin)
            except urllib.error.HTTPError as error:
                raise OSError(f"get_file: URL fetch failure on {origin}: {error.code} -- {error.reason}") from error
            except urllib.error.URLError as error:
                raise OSError(f"get_file: URL fetch failure on {origin}: {error.reason}") from error
            with response:
                length = response.headers.get("Content-Length")
                bar = Progbar(int(length) if length else None)
                done = 0
                for chunk in iter(lambda: response.read(_CHUNK), b""):
                    out.write(chunk)
                    done += len(chunk)
                    bar.update(done, finalize=False)
                bar.update(done, finalize=True)
        os.replace(partial, target)
    except BaseException:
        if os.path.exists(partial):
            os.remove(partial)
        raise


def get_file(fname: str | None = None, origin: str | None = None, untar: bool = False, md5_hash: str | None = None,
             file_hash: str | None = None, cache_subdir: str = "datasets", hash_algorithm: str = "auto",
             extract: bool = False, archive_format: str = "auto", cache_dir: str | None = None,
             force_download: bool = False) -> str:
    """Download ``origin`` into ``cache_dir/cache_subdir`` unless a copy is
    there (and matches ``file_hash``); return its path. With ``extract``
    (or ``untar``) the archive is extracted safely (see the module notes)
    and the extraction folder is returned: ``fname`` without its extension
    plus ``_extracted`` when ``fname`` has one, else ``fname``, as in Keras 3.

    Example:
        >>> path = get_file(origin="https://example.com/data.npz",
        ...                 file_hash="9f86d08...")
    """
    if origin is None:
        raise ValueError('get_file: please specify the "origin" argument (the URL of the file to download).')
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    resolve_hasher(hash_algorithm, file_hash)  # reject an unknown algorithm before downloading
    base = os.path.expanduser(cache_dir if cache_dir is not None else keras_home())
    os.makedirs(base, exist_ok=True)
    if not os.access(base, os.W_OK):
        base = os.path.join(tempfile.gettempdir(), ".keras")
    datadir = os.path.join(base, cache_subdir)
    os.makedirs(datadir, exist_ok=True)

    given = os.fspath(fname) if fname is not None else ""
    name = given or os.path.basename(urllib.parse.urlsplit(origin).path)
    if not name:
        raise ValueError(f"get_file: cannot find a file name in the origin {origin!r}; give fname=...")
    if given and (os.sep in name or "/" in name or name in (".", "..")):
        raise ValueError(f"get_file: expected a file name as fname, received a path {name!r}; give the folder as "
                         "cache_dir (or cache_subdir).")

    if extract or untar:
        if given and "." in name:
            target = os.path.join(datadir, name)
            extraction_dir = os.path.join(datadir, name[:name.find(".")] + "_extracted")
        else:
            extraction_dir = os.path.join(datadir, name)
            target = os.path.join(datadir, f"{name}_archive")
    else:
        target, extraction_dir = os.path.join(datadir, name), None

    download = force_download or not os.path.exists(target)
    if not download and file_hash is not None and not validate_file(target, file_hash, hash_algorithm):
        print(f"A local file was found, but its {hash_algorithm} hash does not match {file_hash}, "
              "so it is downloaded again.")
        download = True
    if download:
        _download(origin, target)
        if file_hash is not None and not validate_file(target, file_hash, hash_algorithm):
            os.remove(target)
            raise ValueError(f"get_file: the file downloaded from {origin} is incomplete or corrupted: its "
                             f"{hash_algorithm} hash does not match {file_hash}.")

    if extraction_dir is None:
        return target
    formats = "tar" if untar else archive_format
    if download or not os.path.isdir(extraction_dir):
        if not extract_archive(target, extraction_dir, formats):
            raise ValueError(f"get_file: {os.path.basename(target)} from {origin} is not a "
                             f"{' or '.join(_formats(formats)) or 'known'} archive, so it cannot be extracted.")
    return extraction_dir
