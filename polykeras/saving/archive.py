"""The whole-model archive (``.pkeras``): one zip file holding

* ``metadata.json``: polykeras version, the engine it was saved from, the date;
* ``config.json``: the model's config, its build and compile configs;
* ``model.weights.h5``: weights by layer path, and the optimizer's variables.

Loading is safe by default: only those three members are accepted (no others,
no duplicates, no paths), their sizes are bounded before they are read (the
weights by what the rebuilt model needs), the config constructs only
allow-listed classes, code-carrying layers need ``safe_mode=False``, and the
HDF5 part refuses links, external storage and virtual datasets.

Example:
    >>> model.save("classifier.pkeras")
    >>> same = load_model("classifier.pkeras")      # on any engine
"""

from __future__ import annotations

import datetime
import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from polykeras import backends
from polykeras.saving.atomic import atomic_path
from polykeras.saving.safe_mode import safe_mode as safe_mode_scope
from polykeras.saving.weights import WeightsError, assign_all, check_safe, read_weights, write_variables, write_weights

MEMBERS = ("metadata.json", "config.json", "model.weights.h5")
JSON_LIMIT = 64 * 2**20  # bytes of config or metadata
#: The weights member may be at most this factor of what the model needs (float64
#: everywhere, optimizer slots included), plus a fixed allowance for HDF5's own data.
WEIGHTS_FACTOR, WEIGHTS_OVERHEAD = 1.25, 2**20


class ArchiveError(ValueError):
    """A model archive is malformed or unsafe to load."""


def save_model(model: Any, filepath: str | os.PathLike, overwrite: bool = True) -> Path:
    """Write ``model`` (config, weights, optimizer state, compile config) to
    one zip archive, atomically: a failure leaves any previous file intact.

    Example: ``save_model(model, "model.pkeras")``
    """
    from polykeras import __version__
    from polykeras.saving.registry import serialize

    filepath = Path(filepath)
    if filepath.exists() and not overwrite:
        raise FileExistsError(f"save: {filepath} exists; pass overwrite=True to replace it.")
    config = {
        "model": serialize(model, where=f"model {model.name!r}"),
        "build_config": _json_safe(model.get_build_config() if hasattr(model, "get_build_config") else None),
        "compile_config": model.get_compile_config() if getattr(model, "compiled", False) else None,
    }
    metadata = {"polykeras_version": __version__, "engine": backends.active().name,
                "date_saved": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    config_text = json.dumps(config)  # fails here, before any file is touched, if not JSON-safe
    weights = io.BytesIO()
    with h5py.File(weights, "w") as f:
        write_weights(f, model)
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None and getattr(optimizer, "built", False):
            write_variables(f.create_group("optimizer"), optimizer.variables)
    with atomic_path(filepath) as temp:
        with zipfile.ZipFile(temp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("metadata.json", json.dumps(metadata, indent=2))
            archive.writestr("config.json", config_text)
            archive.writestr("model.weights.h5", weights.getvalue())
    return filepath


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def _open(filepath: Path) -> tuple[zipfile.ZipFile, dict[str, zipfile.ZipInfo]]:
    where = str(filepath)
    if not zipfile.is_zipfile(filepath):
        raise ArchiveError(f"{where}: not a model archive (not a zip file).")
    archive = zipfile.ZipFile(filepath)
    infos: dict[str, zipfile.ZipInfo] = {}
    for info in archive.infolist():
        name = info.filename
        if name not in MEMBERS:
            archive.close()
            reason = "a path outside the archive" if (".." in name or name.startswith("/") or "\\" in name) else \
                "not one of " + ", ".join(MEMBERS)
            raise ArchiveError(f"{where}: member {name!r} is refused ({reason}).")
        if name in infos:
            archive.close()
            raise ArchiveError(f"{where}: member {name!r} appears twice; refused.")
        infos[name] = info
    missing = [m for m in MEMBERS if m not in infos]
    if missing:
        archive.close()
        raise ArchiveError(f"{where}: missing member(s) {missing}.")
    return archive, infos


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, where: str) -> bytes:
    """A member's bytes, refusing more than ``limit`` (declared or actual)."""
    if info.file_size > limit:
        raise ArchiveError(f"{where}: member {info.filename!r} declares {info.file_size} bytes; "
                           f"at most {limit} are expected.")
    with archive.open(info) as stream:
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise ArchiveError(f"{where}: member {info.filename!r} decompresses past {limit} bytes; refused.")
    return data


def _expected_weight_bytes(model: Any) -> int:
    total = sum(int(np.prod(v.shape)) * 8 for v in model.variables)
    if getattr(model, "optimizer", None) is not None:
        total *= 4  # at most three slots per variable (Adam with amsgrad)
    return int(total * WEIGHTS_FACTOR) + WEIGHTS_OVERHEAD


def load_model(filepath: str | os.PathLike, compile: bool = True, custom_objects: dict[str, Any] | None = None,
               safe_mode: bool = True) -> Any:
    """Rebuild a model saved by ``model.save`` on the active engine: same
    config, weights, and (with ``compile=True``) optimizer state, so training
    resumes where it stopped.

    Example: ``model = load_model("model.pkeras", custom_objects={"MyLayer": MyLayer})``
    """
    from polykeras.saving.registry import custom_object_scope, deserialize

    filepath = Path(filepath)
    where = str(filepath)
    if not filepath.is_file():
        raise FileNotFoundError(f"load_model: no file at {filepath}.")
    if filepath.name.endswith(".keras"):
        from polykeras.saving.keras_files import load_keras_model

        return load_keras_model(filepath, custom_objects=custom_objects, safe_mode=safe_mode)
    archive, infos = _open(filepath)
    with archive:
        try:
            json.loads(_read(archive, infos["metadata.json"], JSON_LIMIT, where))
            config = json.loads(_read(archive, infos["config.json"], JSON_LIMIT, where))
        except (ValueError, UnicodeDecodeError) as err:
            if isinstance(err, ArchiveError):
                raise
            raise ArchiveError(f"{where}: config.json or metadata.json is not valid JSON ({err}).") from err
        if not isinstance(config, dict) or not isinstance(config.get("model"), dict):
            raise ArchiveError(f"{where}: config.json has no model config.")
        from polykeras.layers.config import LAYER_CLASSES

        with safe_mode_scope(safe_mode), custom_object_scope(custom_objects or {}):
            model = deserialize(config["model"], module_objects=LAYER_CLASSES, kind="model")
            build_config = config.get("build_config")
            if build_config and not model.built and hasattr(model, "build_from_config"):
                model.build_from_config(build_config)
            compile_config = config.get("compile_config")
            if compile and compile_config:
                model.compile_from_config(compile_config)
        weights = _read(archive, infos["model.weights.h5"], _expected_weight_bytes(model), where)
    with h5py.File(io.BytesIO(weights), "r") as f:
        check_safe(f, where)
        pairs = read_weights(f, model, where)
        optimizer = getattr(model, "optimizer", None) if compile else None
        if optimizer is not None and "optimizer" in f:
            optimizer.build(model.trainable_variables)
            pairs += _optimizer_pairs(f["optimizer"], optimizer, where)
    assign_all(pairs)
    return model


def _optimizer_pairs(group: h5py.Group, optimizer: Any, where: str) -> list[tuple[Any, np.ndarray]]:
    saved = [str(p) for p in group.attrs.get("paths", [])]
    ours = {v.path: v for v in optimizer.variables}
    missing = sorted(set(ours) - set(saved))
    extra = sorted(set(saved) - set(ours))
    if missing or extra:
        raise WeightsError(f"{where}: the optimizer state does not fit: missing {missing}, unexpected {extra}.")
    pairs = []
    for path in saved:
        dataset = group[path]
        if tuple(dataset.shape) != tuple(ours[path].shape):
            raise WeightsError(f"{where}: optimizer variable {path!r} expected shape {tuple(ours[path].shape)}, "
                               f"received {tuple(dataset.shape)}.")
        pairs.append((ours[path], np.asarray(dataset[()])))
    return pairs
