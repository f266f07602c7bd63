"""Hostile files, crafted here, are refused with an error naming the file,
the member or field and the reason; nothing from them is imported, run,
unpickled or assigned."""

from __future__ import annotations

import io
import json
import struct
import sys
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

import polykeras.saving
from polykeras import Input, Model, layers
from polykeras.saving import ArchiveError, SerializationError, WeightsError, load_model, register_serializable
from polykeras.saving.keras_config import KerasConfigError

from ._models import build, data, weights

NEVER_IMPORTED = "antigravity"  # importing it would open a web browser


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _write(path: Path, members: list[tuple[str, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, payload in members:
            archive.writestr(name, payload)
    return path


@pytest.fixture
def good(engine, tmp_path) -> Path:
    """A valid archive of the small Sequential model."""
    path = tmp_path / "good.pkeras"
    build("sequential").save(path)
    return path


def _tampered(good: Path, tmp_path: Path, **replace: bytes) -> Path:
    members = _members(good)
    members.update({k.replace("_", ".", 1) if k.endswith("_json") else k: v for k, v in replace.items()})
    return _write(tmp_path / "bad.pkeras", list(members.items()))


# --------------------------------------------------------------- members
@pytest.mark.parametrize("name, reason", [
    ("../x", "a path that escapes the archive"),
    ("/etc/passwd", "an absolute path"),
    ("sub/config.json", "a path inside a folder"),
    ("evil.py", "not one of the expected members"),
    ("config.json", "appears more than once"),
])
def test_unexpected_escaping_or_duplicated_members_are_refused(good, tmp_path, name, reason):
    members = list(_members(good).items()) + [(name, b"{}")]
    with pytest.warns(UserWarning) if name == "config.json" else _nothing():
        bad = _write(tmp_path / "bad.pkeras", members)
    with pytest.raises(ArchiveError, match=rf"bad\.pkeras: member '{name}' .*{reason}"):
        load_model(bad)
    assert not (tmp_path.parent / "x").exists()


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_missing_members_and_non_zip_files_are_refused(good, tmp_path):
    members = _members(good)
    del members["model.weights.h5"]
    with pytest.raises(ArchiveError, match=r"missing member\(s\) model\.weights\.h5"):
        load_model(_write(tmp_path / "short.pkeras", list(members.items())))
    (tmp_path / "junk.pkeras").write_bytes(b"\x00garbage" * 100)
    with pytest.raises(ArchiveError, match=r"junk\.pkeras: not a model archive"):
        load_model(tmp_path / "junk.pkeras")


@pytest.mark.parametrize("member, payload, match", [
    ("config.json", b"\xff\xfe not json", r"member 'config\.json': not valid JSON"),
    ("config.json", b"[1, 2]", r"member 'config\.json' has no field 'model'"),
    ("metadata.json", b"<xml/>", r"member 'metadata\.json': not valid JSON"),
    ("metadata.json", b'"text"', r"member 'metadata\.json' holds a str; expected an object"),
    ("metadata.json", b'{"format": "other"}', r"field 'format' is 'other'; expected 'polykeras\.model'"),
    ("model.weights.h5", b"not hdf5", r"member 'model\.weights\.h5' is not a readable HDF5 file"),
])
def test_garbage_members_are_refused(good, tmp_path, member, payload, match):
    members = _members(good)
    members[member] = payload
    with pytest.raises(ArchiveError, match=match):
        load_model(_write(tmp_path / "bad.pkeras", list(members.items())))


# ---------------------------------------------------------------- config
def _config_with(good: Path, edit) -> bytes:
    config = json.loads(_members(good)["config.json"])
    edit(config)
    return json.dumps(config).encode()


@pytest.mark.parametrize("edit, match", [
    (lambda c: c["model"].update(class_name="system", module="os", registered_name=None),
     r"Unknown model 'system'.*never cause modules to be imported"),
    (lambda c: c["model"]["config"]["layers"][1].update(class_name="Popen", module="subprocess"),
     r"Unknown layer 'Popen'"),
    (lambda c: c["model"]["config"]["layers"][1]["config"].update(
        kernel_initializer={"module": NEVER_IMPORTED, "class_name": "fly", "config": {}}),
     r"Unknown object 'fly'"),
    (lambda c: c["model"]["config"]["layers"][1]["config"].update(units=_deep(200)),
     r"nested deeper than 100 levels"),
])
def test_configs_name_only_allow_listed_classes_and_import_nothing(good, tmp_path, edit, match):
    assert NEVER_IMPORTED not in sys.modules
    bad = _tampered(good, tmp_path, config_json=_config_with(good, edit))
    with pytest.raises((ArchiveError, SerializationError), match=match) as info:
        load_model(bad)
    assert "bad.pkeras" in str(info.value)
    assert NEVER_IMPORTED not in sys.modules


def test_a_registered_name_naming_a_module_imports_nothing(good, tmp_path):
    edit = lambda c: c["model"].update(registered_name=f"{NEVER_IMPORTED}>Fly", module=NEVER_IMPORTED)  # noqa: E731
    model = load_model(_tampered(good, tmp_path, config_json=_config_with(good, edit)))
    assert type(model).__name__ == "Sequential"  # found by its class name among the built-ins
    assert NEVER_IMPORTED not in sys.modules


def _deep(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


@register_serializable("polykeras_tests", name="halve")
def halve(x):
    return x * 0.5


def test_lambda_layers_load_only_with_safe_mode_off_for_that_call(engine, tmp_path):
    x = Input((2,))
    Model(x, layers.Lambda(halve, name="halver")(x)).save(tmp_path / "lam.pkeras")
    with pytest.raises(ArchiveError, match=r"lam\.pkeras: member 'config\.json' cannot be rebuilt: .*Lambda "
                                           r"'halver': refusing to load"):
        load_model(tmp_path / "lam.pkeras")
    model = load_model(tmp_path / "lam.pkeras", safe_mode=False)
    np.testing.assert_allclose(model.predict(np.ones((1, 2), "float32"), verbose=0), [[0.5, 0.5]])
    with pytest.raises(ArchiveError, match="refusing to load"):
        load_model(tmp_path / "lam.pkeras")  # the next call is safe again
    with polykeras.saving.safe_mode.safe_mode(False):  # or turned off for a block, as the error suggests
        assert load_model(tmp_path / "lam.pkeras").get_layer("halver").function is halve
    assert polykeras.saving.safe_mode.in_safe_mode()


# ------------------------------------------------------------ size bombs
def test_a_member_declaring_more_than_the_model_needs_is_refused(good, tmp_path):
    bomb = io.BytesIO()
    with h5py.File(bomb, "w") as f:
        f.create_dataset("padding", data=np.zeros(16 * 2**20, "uint8"))  # 16 MiB of zeros, deflates to ~16 KiB
    bad = _tampered(good, tmp_path, **{"model.weights.h5": bomb.getvalue()})
    assert bad.stat().st_size < 2**20
    with pytest.raises(ArchiveError, match=r"member 'model\.weights\.h5' declares \d+ bytes; at most \d+ are "
                                           r"expected \(what the model's weights and optimizer state need\)"):
        load_model(bad)
    huge_config = b"{" + b" " * (65 * 2**20) + b"}"
    with pytest.raises(ArchiveError, match=r"member 'config\.json' declares \d+ bytes; at most 67108864"):
        load_model(_tampered(good, tmp_path, config_json=huge_config))


def _patch_declared_size(path: Path, member: str, size: int) -> None:
    """Rewrite the central directory so ``member`` declares ``size`` bytes."""
    raw = bytearray(path.read_bytes())
    name = member.encode()
    at = raw.find(b"PK\x01\x02" + b"" , 0)
    while at != -1:
        name_length = struct.unpack_from("<H", raw, at + 28)[0]
        if raw[at + 46:at + 46 + name_length] == name:
            struct.pack_into("<I", raw, at + 24, size)
        at = raw.find(b"PK\x01\x02", at + 4)
    path.write_bytes(bytes(raw))


def test_a_member_inflating_past_what_it_declares_is_refused(good, tmp_path):
    members = _members(good)
    members["config.json"] = members["config.json"] + b" " * (8 * 2**20)
    bad = _write(tmp_path / "bad.pkeras", list(members.items()))
    _patch_declared_size(bad, "config.json", 1000)
    with pytest.raises(ArchiveError, match=r"member 'config\.json' cannot be read \(BadZipFile.*corrupt or was "
                                           r"tampered with"):
        load_model(bad)


def test_encrypted_members_are_refused(good, tmp_path):
    bad = _tampered(good, tmp_path)
    raw = bytearray(bad.read_bytes())
    at = raw.find(b"PK\x01\x02")
    struct.pack_into("<H", raw, at + 8, struct.unpack_from("<H", raw, at + 8)[0] | 1)
    bad.write_bytes(bytes(raw))
    with pytest.raises(ArchiveError, match=r"member 'metadata\.json' is encrypted; refused"):
        load_model(bad)


# ------------------------------------------------------------------ HDF5
def _weights_file(tmp_path: Path, edit) -> Path:
    path = tmp_path / "w.weights.h5"
    build("sequential", seed=1).save_weights(path)
    with h5py.File(path, "r+") as f:
        edit(f, tmp_path)
    return path


def _replace(f: h5py.File, name: str, **create) -> None:
    del f[name]
    f.create_dataset(name, **create)


def _virtual(f: h5py.File, tmp_path: Path) -> None:
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as g:
        g["data"] = np.ones((4, 5), "float32")
    layout = h5py.VirtualLayout(shape=(4, 5), dtype="float32")
    layout[:] = h5py.VirtualSource(str(other), "data", shape=(4, 5))
    del f["d1/kernel"]
    f.create_virtual_dataset("d1/kernel", layout)


def _external(f: h5py.File, tmp_path: Path) -> None:
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.ones((4, 5), "float32").tobytes())
    _replace(f, "d1/kernel", shape=(4, 5), dtype="float32", external=[(str(secret), 0, 80)])


HOSTILE = {
    "soft link": (lambda f, t: (f.__delitem__("d1/kernel"), f.__setitem__("d1/kernel", h5py.SoftLink("/d2/kernel"))),
                  r"member /d1/kernel is a soft link; links are refused"),
    "external link": (lambda f, t: (f.__delitem__("d1/kernel"),
                                    f.__setitem__("d1/kernel", h5py.ExternalLink("/etc/hosts", "/x"))),
                      r"member /d1/kernel is an external link to '/etc/hosts'"),
    "external storage": (_external, r"dataset /d1/kernel keeps its data in external file"),
    "virtual dataset": (_virtual, r"dataset /d1/kernel is a virtual dataset"),
    "object dtype": (lambda f, t: _replace(f, "d1/kernel", data=np.array(["a"] * 20, dtype=object).reshape(4, 5),
                                           dtype=h5py.string_dtype()),
                     r"dataset /d1/kernel has dtype object; expected a numeric dtype"),
    "vlen dtype": (lambda f, t: _replace(f, "d1/kernel", shape=(4, 5), dtype=h5py.vlen_dtype("float32")),
                   r"dataset /d1/kernel has dtype object"),
    "huge declared shape": (lambda f, t: _replace(f, "d1/kernel", shape=(200_000, 200_000), dtype="float32",
                                                  chunks=(1000, 1000)),
                            r"weight 'kernel' expected shape \(4, 5\), received \(200000, 200000\)"),
    "plugin filter": (lambda f, t: _replace(f, "d1/kernel", shape=(4, 5), dtype="float32", chunks=(4, 5),
                                            compression=32015, allow_unknown_filter=True),
                      r"dataset /d1/kernel uses HDF5 filter id 32015, which is not a built-in one"),
    "layer list lies": (lambda f, t: f.attrs.__setitem__("layers", ["d1", "bn", "d2", "../../etc"]),
                        r"the layer list names '\.\./\.\./etc', which the file does not hold"),
    "attribute of the wrong type": (lambda f, t: f["d1"].attrs.__setitem__("weight_names", np.arange(3)),
                                    r"attribute 'weight_names' of /d1 holds a (int64|integer)"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_hdf5_is_refused_before_any_data_is_read(engine, tmp_path, case):
    edit, match = HOSTILE[case]
    path = _weights_file(tmp_path, edit)
    model = build("sequential", seed=2)
    before = weights(model)
    with pytest.raises(WeightsError, match=match) as info:
        model.load_weights(path)
    assert "w.weights.h5" in str(info.value)
    for a, b in zip(before, weights(model)):
        np.testing.assert_array_equal(a, b)


def test_hostile_hdf5_inside_an_archive_is_refused(good, tmp_path):
    with zipfile.ZipFile(good) as archive:
        payload = archive.read("model.weights.h5")
    buffer = io.BytesIO(payload)
    with h5py.File(buffer, "r+") as f:
        del f["d1/kernel"]
        f["d1/kernel"] = h5py.ExternalLink("/etc/hosts", "/x")
    bad = _tampered(good, tmp_path, **{"model.weights.h5": buffer.getvalue()})
    with pytest.raises(WeightsError, match=r"bad\.pkeras: member 'model\.weights\.h5': member /d1/kernel is an "
                                           r"external link"):
        load_model(bad)


def test_a_cycle_of_hard_links_is_walked_once(engine, tmp_path):
    path = _weights_file(tmp_path, lambda f, t: f["d1"].__setitem__("loop", f["/"]))
    model = build("sequential", seed=2)
    model.load_weights(path)  # terminates, and the weights are the file's
    for a, b in zip(weights(model), weights(build("sequential", seed=1))):
        np.testing.assert_array_equal(a, b)


def test_keras_configs_go_through_the_same_allow_list(engine, tmp_path):
    keras_config = {"module": "keras", "class_name": "Sequential", "config": {"name": "s", "layers": [
        {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [None, 2], "name": "in"}},
        {"module": "os", "class_name": "system", "config": {"name": "boom"}}]}}
    members = [("metadata.json", b'{"keras_version": "3.15.1"}'), ("config.json", json.dumps(keras_config).encode()),
               ("model.weights.h5", b"")]
    with pytest.raises(KerasConfigError, match=r"k\.keras: layer 'boom' \(Keras class system\) has no polykeras "
                                               r"twin"):
        load_model(_write(tmp_path / "k.keras", members))
    assert "os" in sys.modules and NEVER_IMPORTED not in sys.modules


def test_loaded_models_still_compute(good):
    model = load_model(good)
    x, _ = data("sequential", n=2)
    assert model.predict(x, verbose=0).shape == (2, 2)
