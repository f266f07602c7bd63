"""A config that names huge variables is refused before they are allocated:
the bound comes from what the file holds (its weights member, with room for
optimizer slots) or, for a config alone, from the machine's memory; the error
names the file, the variable and the figures; ``memory_limit(None)`` opts out."""

from __future__ import annotations

import json
import resource
import zipfile
from pathlib import Path

import pytest

from polykeras import Input, Model, Sequential, layers
from polykeras.saving import MemoryLimitError, load_model, memory_limit, model_from_json

from ._models import build

MiB = 2**20


def _with_units(good: Path, out: Path, units: int) -> Path:
    """``good`` with its last Dense layer declaring ``units`` outputs (config only)."""
    with zipfile.ZipFile(good) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(members["config.json"])
    config["model"]["config"]["layers"][-1]["config"]["units"] = units
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(out, "w") as archive:
        for name, payload in members.items():
            archive.writestr(name, payload)
    return out


@pytest.fixture
def good(engine, tmp_path) -> Path:
    path = tmp_path / "good.pkeras"
    Sequential([Input((8,)), layers.Dense(4, name="hidden"), layers.Dense(2, name="head")]).save(path)
    return path


@pytest.mark.parametrize("units", [2**28, 10**12])
def test_an_archive_declaring_huge_variables_is_refused_before_allocating(good, tmp_path, units):
    bad = _with_units(good, tmp_path / "huge.pkeras", units)
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(MemoryLimitError) as info:
        load_model(bad)
    message = str(info.value)
    assert str(bad) in message and "head/kernel" in message and f"(4, {units})" in message
    assert "weights member" in message and "memory_limit(None)" in message
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before
    assert grown_kib < 256 * 1024, f"the refused load still allocated {grown_kib} KiB"


def test_a_keras_archive_declaring_huge_variables_is_refused(engine, tmp_path):
    model = Sequential([Input((8,)), layers.Dense(4, name="hidden"), layers.Dense(2, name="head")])
    model.save(tmp_path / "good.keras")
    with zipfile.ZipFile(tmp_path / "good.keras") as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(members["config.json"])
    config["config"]["layers"][-1]["config"]["units"] = 10**12
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(tmp_path / "huge.keras", "w") as archive:
        for name, payload in members.items():
            archive.writestr(name, payload)
    with pytest.raises(MemoryLimitError, match=r"huge\.keras: variable 'head/kernel' of shape \(4, 1000000000000\)"):
        load_model(tmp_path / "huge.keras")


def test_an_architecture_alone_is_bounded_by_the_machine(engine):
    config = {"module": "polykeras.models", "class_name": "Sequential", "registered_name": None,
              "config": {"name": "s", "layers": [
                  {"module": "polykeras.layers", "class_name": "InputLayer", "registered_name": None,
                   "config": {"batch_shape": [None, 8], "name": "x"}},
                  {"module": "polykeras.layers", "class_name": "Dense", "registered_name": None,
                   "config": {"units": 10**12, "name": "giant"}}]}}
    with pytest.raises(MemoryLimitError, match=r"variable 'giant/kernel' .* this machine's memory allows"):
        model_from_json(json.dumps(config))


def test_opting_out_builds_what_the_config_says(good, tmp_path):
    bad = _with_units(good, tmp_path / "wide.pkeras", 8 * MiB)  # 160 MiB of variables: past the file's bound
    with pytest.raises(MemoryLimitError):
        load_model(bad)
    with memory_limit(None), pytest.raises(Exception) as info:
        load_model(bad)  # built, then its weights do not fit the file
    assert not isinstance(info.value, MemoryLimitError)
    assert "head" in str(info.value)


def test_models_within_the_bound_load_as_before(good):
    model = load_model(good)
    assert [tuple(w.shape) for w in model.weights] == [(8, 4), (4,), (4, 2), (2,)]
    assert isinstance(build("functional"), Model)
