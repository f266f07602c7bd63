"""Defensive reading of untrusted files: zip archives and HDF5.

Loading a file must never run code from it nor let it exhaust the machine.
This module holds the checks every reader shares:

* zip archives (``.pkeras`` and Keras ``.keras``): only the expected members,
  each once, plain names (no ``..``, no absolute paths, no folders); each
  member read with a byte limit, both declared and actual, so a
  decompression bomb is stopped after ``limit`` bytes; corrupt, encrypted or
  oddly compressed members become an :class:`ArchiveError`. Members are read
  into memory, never extracted, so symlinks and paths on disk never matter.
* HDF5: only hard links (soft, external and user-defined links are refused),
  no external storage, no virtual datasets, only numeric dtypes (so nothing
  is ever unpickled or dereferenced), only the built-in compression filters
  (a filter id would make HDF5 search for a plugin library), a bounded number
  of objects, and cycles of hard links walked once.

Example:
    >>> archive, infos = open_archive("m.pkeras", ("config.json",), where="m.pkeras")
    >>> text = read_member(archive, infos["config.json"], 2**20, "m.pkeras")
"""

from __future__ import annotations

import contextlib
import io
import os
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from typing import Any

import h5py

__all__ = [
    "ArchiveError", "WeightsError", "check_hdf5", "open_archive", "read_hdf5", "read_member", "string_attr",
    "string_list_attr",
]

#: HDF5 filters that ship with HDF5/h5py: deflate, shuffle, fletcher32, szip,
#: nbit, scale-offset, lzf. Any other id would make HDF5 look for a plugin.
SAFE_FILTERS = frozenset({1, 2, 3, 4, 5, 6, 32000})
#: At most this many groups and datasets in one weights file.
MAX_OBJECTS = 200_000
#: At most this many entries in a string-list attribute (layer and weight names).
MAX_LIST = 200_000


class ArchiveError(ValueError):
    """A model archive is malformed or unsafe to load; the message names the
    file, the member and the reason.
    Example: ``ArchiveError("m.pkeras: member '../x' is refused (a path that escapes the archive).")``"""


class WeightsError(ValueError):
    """A weights file does not fit the model, or is unsafe to read; the
    message names the file, the layer and weight, expected and received.
    Example: ``WeightsError("w.h5 does not fit model 'm'; nothing was loaded: ...")``"""


#: What a corrupt HDF5 file makes h5py raise anywhere while it is walked or read.
_HDF5_FAILURES = (OSError, RuntimeError, KeyError, ValueError, TypeError, IndexError, AttributeError, ArithmeticError)


@contextlib.contextmanager
def read_hdf5(source: str | os.PathLike | bytes, where: str, error: type[Exception] = WeightsError
              ) -> Iterator[h5py.File]:
    """An HDF5 file (a path, or the bytes of an archive member) opened for
    reading; any failure of h5py on corrupt data, while opening or anywhere in
    the block, becomes ``error`` naming ``where``. polykeras' own errors pass
    through as they are.

    Example:
        >>> with read_hdf5("w.weights.h5", "load_weights") as f:
        ...     check_hdf5(f, "w.weights.h5")
    """
    try:
        handle = h5py.File(io.BytesIO(source) if isinstance(source, bytes) else source, "r")
    except _HDF5_FAILURES as err:
        raise error(f"{where} is not a readable HDF5 file ({err}).") from None
    try:
        with handle:
            yield handle
    except (ArchiveError, WeightsError):
        raise
    except _HDF5_FAILURES as err:
        if type(err).__module__.startswith("polykeras"):
            raise
        raise error(f"{where}: the HDF5 data is corrupt ({type(err).__name__}: {err}).") from None


# ---------------------------------------------------------------- zip files
def _bad_name(name: str, nested_ok: bool = False) -> str | None:
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return "an absolute path"
    parts = name.replace("\\", "/").split("/")
    if ".." in parts:
        return "a path that escapes the archive"
    if (len(parts) > 1 and not nested_ok) or name.endswith("/"):
        return "a path inside a folder; the archive holds plain members only"
    return None


def open_archive(source: str | os.PathLike | bytes, members: Sequence[str], where: str,
                 optional: Sequence[str] = ()) -> tuple[zipfile.ZipFile, dict[str, zipfile.ZipInfo]]:
    """Open a zip archive holding exactly ``members`` (plus any of
    ``optional``), each once. Raises :class:`ArchiveError` naming the file
    and the member otherwise.

    Example: ``archive, infos = open_archive(path, ("config.json",), str(path))``
    """
    handle: Any = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
    try:
        archive = zipfile.ZipFile(handle)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as err:
        raise ArchiveError(f"{where}: not a model archive (not a readable zip file: {err}).") from None
    allowed = (*members, *optional)
    infos: dict[str, zipfile.ZipInfo] = {}
    try:
        for info in archive.infolist():
            name = info.filename
            reason = _bad_name(name, nested_ok=name in optional)  # a caller names the nested members it reads
            if reason is None and name not in allowed:
                reason = "not one of the expected members " + ", ".join(allowed)
            if reason is not None:
                raise ArchiveError(f"{where}: member {name!r} is refused ({reason}).")
            if name in infos:
                raise ArchiveError(f"{where}: member {name!r} appears more than once; refused.")
            if info.flag_bits & 0x1:
                raise ArchiveError(f"{where}: member {name!r} is encrypted; refused.")
            infos[name] = info
        missing = [m for m in members if m not in infos]
        if missing:
            raise ArchiveError(f"{where}: missing member(s) {', '.join(missing)}; expected "
                               f"{', '.join(members)}.")
    except BaseException:
        archive.close()
        raise
    return archive, infos


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, where: str, why: str = "") -> bytes:
    """A member's bytes, refusing more than ``limit`` bytes, declared or
    actual (a decompression bomb stops after ``limit + 1`` bytes).

    Example: ``read_member(archive, infos["config.json"], 2**20, "m.pkeras")``
    """
    because = f" ({why})" if why else ""
    if info.file_size > limit:
        raise ArchiveError(f"{where}: member {info.filename!r} declares {info.file_size} bytes; at most {limit} "
                           f"are expected{because}; refused.")
    try:
        with archive.open(info) as stream:
            data = stream.read(limit + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError) as err:
        raise ArchiveError(f"{where}: member {info.filename!r} cannot be read ({type(err).__name__}: {err}); "
                           "the archive is corrupt or was tampered with.") from None
    if len(data) > limit:
        raise ArchiveError(f"{where}: member {info.filename!r} decompresses past {limit} bytes{because}; refused.")
    return data


# --------------------------------------------------------------------- HDF5
def _object_key(item: Any) -> tuple[int, int]:
    info = h5py.h5o.get_info(item.id)
    return info.fileno, info.addr


def check_hdf5(root: h5py.Group, where: str) -> None:
    """Refuse anything under ``root`` that could read outside the file, run
    code or unpickle: non-hard links, external storage, virtual datasets,
    non-numeric dtypes, unknown filters; and files with absurdly many objects.

    Example: ``with h5py.File(path) as f: check_hdf5(f, str(path))``
    """
    seen: set[tuple[int, int]] = {_object_key(root)}
    stack: list[h5py.Group] = [root]
    count = 0
    while stack:
        group = stack.pop()
        for name in group:
            member = f"{group.name.rstrip('/')}/{name}"
            link = group.get(name, getlink=True)
            if isinstance(link, h5py.SoftLink):
                raise WeightsError(f"{where}: member {member} is a soft link; links are refused.")
            if isinstance(link, h5py.ExternalLink):
                raise WeightsError(f"{where}: member {member} is an external link to {link.filename!r}; "
                                   "links are refused.")
            if not isinstance(link, h5py.HardLink):
                raise WeightsError(f"{where}: member {member} is a {type(link).__name__}; only plain groups and "
                                   "datasets are accepted.")
            item = group[name]
            key = _object_key(item)
            if key in seen:
                continue  # a hard link to an object already checked (a cycle, or a second name)
            seen.add(key)
            count += 1
            if count > MAX_OBJECTS:
                raise WeightsError(f"{where}: more than {MAX_OBJECTS} groups and datasets; refused.")
            if isinstance(item, h5py.Group):
                stack.append(item)
            elif isinstance(item, h5py.Dataset):
                _check_dataset(item, member, where)
            else:
                raise WeightsError(f"{where}: member {member} is a {type(item).__name__}; expected groups and "
                                   "datasets only.")


def _check_dataset(dataset: h5py.Dataset, member: str, where: str) -> None:
    if dataset.is_virtual:
        raise WeightsError(f"{where}: dataset {member} is a virtual dataset (it reads other files); refused.")
    if dataset.external:
        raise WeightsError(f"{where}: dataset {member} keeps its data in external file(s) "
                           f"{[e[0] for e in dataset.external]}; refused.")
    dtype = dataset.dtype
    if dtype.kind not in "biuf" or dtype.fields is not None or h5py.check_dtype(vlen=dtype) is not None \
            or h5py.check_dtype(ref=dtype) is not None:
        raise WeightsError(f"{where}: dataset {member} has dtype {dtype}; expected a numeric dtype "
                           "(objects, strings and references are never read).")
    plist = dataset.id.get_create_plist()
    for index in range(plist.get_nfilters()):
        filter_id = plist.get_filter(index)[0]
        if filter_id not in SAFE_FILTERS:
            raise WeightsError(f"{where}: dataset {member} uses HDF5 filter id {filter_id}, which is not a "
                               "built-in one; refused.")


def string_attr(node: h5py.HLObject, key: str, where: str, default: str | None = None) -> str | None:
    """Attribute ``key`` of ``node`` as a string (bytes decoded), else ``default``;
    any other type is refused. Example: ``string_attr(f, "format", "w.h5")``"""
    if key not in node.attrs:
        return default
    value = node.attrs[key]
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        raise WeightsError(f"{where}: attribute {key!r} of {node.name} is a {type(value).__name__}; "
                           "expected a string.")
    return value


def string_list_attr(node: h5py.HLObject, key: str, where: str) -> list[str]:
    """Attribute ``key`` of ``node`` as a list of strings (empty when absent).
    Example: ``string_list_attr(f, "layers", "w.h5")`` -> ``['dense', 'dense_1']``"""
    if key not in node.attrs:
        return []
    value = node.attrs[key]
    if isinstance(value, (str, bytes)):
        value = [value]
    try:
        items = list(value)
    except TypeError:
        raise WeightsError(f"{where}: attribute {key!r} of {node.name} is a {type(value).__name__}; "
                           "expected a list of strings.") from None
    if len(items) > MAX_LIST:
        raise WeightsError(f"{where}: attribute {key!r} of {node.name} lists {len(items)} entries; "
                           f"at most {MAX_LIST} are accepted.")
    out = []
    for item in items:
        if isinstance(item, bytes):
            item = item.decode("utf-8", "replace")
        if not isinstance(item, str):
            raise WeightsError(f"{where}: attribute {key!r} of {node.name} holds a {type(item).__name__}; "
                               "expected strings.")
        out.append(item)
    return out
