"""Fuzzing every file format polykeras reads, in a child process whose address
space is bounded (RLIMIT_AS): hypothesis corrupts good files (truncation, bit
flips, member swaps and drops, oversized size declarations, config values
replaced by arbitrary JSON, deep nesting, HDF5 structure edits) and every
load must end in a polykeras error with a message, or in a model, within a
deadline, without importing a module the file names and without leaving a
file behind.

Usage (from the test): python _fuzz_worker.py FOLDER EXAMPLES
(the engine comes from POLYKERAS_BACKEND).
"""

from __future__ import annotations

import io
import json
import resource
import struct
import sys
import warnings
import zipfile
from pathlib import Path

import h5py
import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st

from polykeras import Input, Sequential, layers
from polykeras.allocation import MemoryLimitError
from polykeras.saving import ArchiveError, SerializationError, WeightsError, load_from_file, load_model
from polykeras.saving.keras_config import KerasConfigError

#: What a corrupt file may end in: polykeras' own error types.
ERRORS = (ArchiveError, WeightsError, SerializationError, KerasConfigError, MemoryLimitError)
CANARY = "antigravity"  # a module a hostile config names; importing it would open a browser
HEADROOM = 1536 * 2**20  # address space a load may add to the process as it is after imports


def model() -> Sequential:
    return Sequential([Input((4,), name="x"), layers.Dense(3, activation="relu", name="hidden"),
                       layers.BatchNormalization(name="norm"), layers.Dense(2, name="head")], name="fuzzed")


def originals(folder: Path) -> dict[str, bytes]:
    """Good files of every format, as bytes."""
    net = model()
    net.compile("adam", "mse")
    if _can_train():  # archives then hold optimizer state too
        net.fit(np.ones((4, 4), "float32"), np.zeros((4, 2), "float32"), verbose=0)
    paths = {"pkeras": folder / "m.pkeras", "keras": folder / "m.keras", "weights": folder / "m.weights.h5",
             "json": folder / "m.json", "yaml": folder / "m.yaml"}
    net.save(paths["pkeras"])
    net.save(paths["keras"])
    net.save_weights(paths["weights"])
    paths["json"].write_text(net.to_json())
    paths["yaml"].write_text(net.to_yaml())
    out = {kind: path.read_bytes() for kind, path in paths.items()}
    for path in paths.values():
        path.unlink()
    return out


def _can_train() -> bool:
    from polykeras import backends

    return backends.active().differentiable


# ------------------------------------------------------------ mutations
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)


@st.composite
def byte_mutation(draw: st.DrawFn, data: bytes) -> bytes:
    kind = draw(st.sampled_from(["truncate", "flip", "splice"]))
    if kind == "truncate" or not data:
        return data[: draw(st.integers(0, max(len(data) - 1, 0)))]
    if kind == "flip":
        out = bytearray(data)
        for position, bit in draw(st.lists(st.tuples(st.integers(0, len(data) - 1), st.integers(0, 7)),
                                           min_size=1, max_size=8)):
            out[position] ^= 1 << bit
        return bytes(out)
    start = draw(st.integers(0, len(data) - 1))
    return data[:start] + draw(st.binary(max_size=64)) + data[start + draw(st.integers(0, 64)):]


@st.composite
def json_mutation(draw: st.DrawFn, data: bytes) -> bytes:
    """One leaf or container of a JSON document replaced (or deeply nested)."""
    document = json.loads(data)
    paths: list[tuple] = []

    def walk(node, path):
        paths.append(path)
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, (*path, key))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, (*path, index))

    walk(document, ())
    path = draw(st.sampled_from(paths[1:]))
    replacement = draw(st.one_of(json_values, st.integers(10, 200_000).map(lambda depth: "[" * depth + "]" * depth)))
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    if isinstance(replacement, str) and replacement.startswith("["):
        text = json.dumps(document).replace(json.dumps(parent[path[-1]]), replacement, 1)
        return text.encode()
    parent[path[-1]] = replacement if replacement is not None or draw(st.booleans()) else {"module": CANARY,
                                                                                            "class_name": "Hook",
                                                                                            "config": {}}
    return json.dumps(document).encode()


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _zip(members: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, payload in members:
            archive.writestr(name, payload)
    return buffer.getvalue()


def _declare_size(data: bytes, member: str, size: int) -> bytes:
    """The archive with ``member``'s uncompressed size in the central directory set to ``size``."""
    out = bytearray(data)
    at = out.find(b"PK\x01\x02")
    while at != -1:
        name_length = struct.unpack_from("<H", out, at + 28)[0]
        if out[at + 46: at + 46 + name_length].decode(errors="replace") == member:
            struct.pack_into("<I", out, at + 24, size & 0xFFFFFFFF)
            break
        at = out.find(b"PK\x01\x02", at + 4)
    return bytes(out)


@st.composite
def archive_mutation(draw: st.DrawFn, data: bytes) -> bytes:
    members = _members(data)
    names = sorted(members)
    kind = draw(st.sampled_from(["bytes", "member", "json", "swap", "drop", "duplicate", "declare"]))
    if kind == "bytes":
        return draw(byte_mutation(data))
    name = draw(st.sampled_from(names))
    if kind == "member":
        members[name] = draw(byte_mutation(members[name]))
    elif kind == "json":
        name = draw(st.sampled_from([n for n in names if n.endswith(".json")]))
        members[name] = draw(json_mutation(members[name]))
    elif kind == "swap":
        other = draw(st.sampled_from(names))
        members[name], members[other] = members[other], members[name]
    elif kind == "drop":
        del members[name]
    elif kind == "duplicate":
        return _zip([*members.items(), (name, members[name])])
    else:
        return _declare_size(data, name, draw(st.sampled_from([0, 2**31 - 1, 2**32 - 1])))
    return _zip(list(members.items()))


@st.composite
def hdf5_mutation(draw: st.DrawFn, data: bytes) -> bytes:
    kind = draw(st.sampled_from(["bytes", "structure"]))
    if kind == "bytes":
        return draw(byte_mutation(data))
    buffer = io.BytesIO(data)
    with h5py.File(buffer, "r+") as f:
        datasets: list[str] = []
        f.visititems(lambda name, item: datasets.append(name) if isinstance(item, h5py.Dataset) else None)
        target = draw(st.sampled_from(datasets))
        edit = draw(st.sampled_from(["reshape", "dtype", "delete", "softlink", "external", "attribute"]))
        if edit == "reshape":
            del f[target]
            f[target] = np.zeros(draw(st.lists(st.integers(0, 5), max_size=3)), "float32")
        elif edit == "dtype":
            del f[target]
            f[target] = np.array(["text"], dtype=h5py.string_dtype())
        elif edit == "delete":
            del f[target]
        elif edit == "softlink":
            del f[target]
            f[target] = h5py.SoftLink("/nowhere")
        elif edit == "external":
            del f[target]
            f[target] = h5py.ExternalLink("/etc/passwd", "/x")
        else:
            parent = f[target].parent
            key = draw(st.sampled_from(sorted(parent.attrs) or ["layers"]))
            parent.attrs[key] = draw(st.sampled_from([np.int64(7), "?", np.zeros(3)]))
    return buffer.getvalue()


# -------------------------------------------------------------- loading
def load(kind: str, path: Path) -> None:
    if kind in ("pkeras", "keras"):
        load_model(path)
    elif kind == "weights":
        model().load_weights(path)
    else:
        load_from_file(path)


def check(kind: str, folder: Path, data: bytes) -> None:
    path = folder / f"case.{ {'pkeras': 'pkeras', 'keras': 'keras', 'weights': 'weights.h5'}.get(kind, kind)}"
    path.write_bytes(data)
    try:
        load(kind, path)
    except ERRORS as err:
        assert str(err).strip(), f"{type(err).__name__} without a message"
    except (FileNotFoundError, IsADirectoryError) as err:
        raise AssertionError(f"{kind}: unexpected {err!r}") from err
    finally:
        path.unlink()
    assert CANARY not in sys.modules, "a module the file named was imported"
    left = sorted(p.name for p in folder.iterdir())
    assert left == [], f"files left behind: {left}"


def main() -> None:
    warnings.simplefilter("ignore", UserWarning)  # duplicate members are meant; unrestorable compile configs warn
    folder, examples = Path(sys.argv[1]), int(sys.argv[2])
    good = originals(folder)
    with open("/proc/self/status") as status:
        size = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
    resource.setrlimit(resource.RLIMIT_AS, (size + HEADROOM, size + HEADROOM))
    strategies = {"pkeras": archive_mutation, "keras": archive_mutation, "weights": hdf5_mutation,
                  "json": json_mutation, "yaml": byte_mutation}
    counts = {}
    for kind, strategy in strategies.items():
        seen = [0]

        @settings(max_examples=examples, deadline=5000, database=None, derandomize=examples <= 100,
                  suppress_health_check=list(HealthCheck), print_blob=True)
        @given(data=strategy(good[kind]))
        def case(data: bytes) -> None:
            seen[0] += 1
            check(kind, folder, data)

        case()
        counts[kind] = seen[0]
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
