"""The whole-model archive (``.pkeras``): one zip file holding

* ``metadata.json``: format, polykeras version, the engine it was saved from, the date;
* ``config.json``: the model's config, its build and compile configs;
* ``model.weights.h5``: weights by layer path, the optimizer's variables and
  the random-seed states (so training resumes exactly where it stopped).

Loading is safe by default: only those three members are accepted (no others,
no duplicates, no paths), their sizes are bounded before they are read (the
weights by what the rebuilt model needs), the config constructs only
allow-listed classes and never imports a module, code-carrying layers need
``safe_mode=False``, and the HDF5 part refuses links, external storage,
virtual datasets and non-numeric data. A Keras 3 ``.keras`` archive (told
apart by its metadata, whatever the file is called) is translated by
:mod:`polykeras.saving.keras_files`.

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
from polykeras.allocation import MemoryLimitError, machine_memory, memory_limit
from polykeras.saving.atomic import atomic_write
from polykeras.saving.safe_mode import effective, safe_mode as safe_mode_scope
from polykeras.saving.safety import ArchiveError, WeightsError, open_archive, read_hdf5, read_member, \
    string_list_attr
from polykeras.saving.serialization import check_config, parse_json
from polykeras.saving.weights import assign_all, check_pair, read_arrays, read_weights, refuse_extra, seed_variables, \
    write_variables, write_weights

__all__ = ["ArchiveError", "archive_bytes", "load_model", "load_model_bytes", "save_model"]

FORMAT = "polykeras.model"
MEMBERS = ("metadata.json", "config.json", "model.weights.h5")
JSON_LIMIT = 64 * 2**20  # bytes of config
METADATA_LIMIT = 2**16
OPTIMIZER, SEEDS = "__optimizer__", "__seeds__"
#: The weights member may be at most this factor of what the model needs (float64
#: everywhere, optimizer slots included), plus HDF5's own bookkeeping.
WEIGHTS_FACTOR, WEIGHTS_OVERHEAD, PER_DATASET = 1.25, 2**20, 4096
LOAD_OVERHEAD = 64 * 2**20  # metric and seed state, small layers' variables a file may not carry
MAX_SLOTS = 5  # state variables an optimizer keeps per weight (Adam with amsgrad, EMA and accumulation)


def archive_bytes(model: Any) -> bytes:
    """``model`` (config, weights, optimizer state, compile config) as the
    bytes of a ``.pkeras`` archive. A model whose config is not JSON-safe
    fails here, before any file is touched.

    Example: ``data = archive_bytes(model)``
    """
    from polykeras import __version__
    from polykeras.saving.registry import serialize

    config = {
        "model": serialize(model, where=f"model {model.name!r}"),
        "build_config": _json_safe(model.get_build_config() if hasattr(model, "get_build_config") else None),
        "compile_config": model.get_compile_config() if getattr(model, "compiled", False) else None,
    }
    metadata = {"format": FORMAT, "format_version": 1, "polykeras_version": __version__,
                "engine": backends.active().name,
                "date_saved": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    config_text = json.dumps(config)
    weights = io.BytesIO()
    with h5py.File(weights, "w") as f:
        write_weights(f, model)
        if OPTIMIZER in f or SEEDS in f:
            raise ArchiveError(f"save: model {model.name!r} has a layer named {OPTIMIZER!r} or {SEEDS!r}, names "
                               "the archive keeps for itself; rename the layer.")
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None and getattr(optimizer, "built", False):
            write_variables(f.create_group(OPTIMIZER), optimizer.variables)
        seeds = seed_variables(model)
        if seeds:
            write_variables(f.create_group(SEEDS), seeds)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("metadata.json", json.dumps(metadata, indent=2))
        archive.writestr("config.json", config_text)
        archive.writestr("model.weights.h5", weights.getvalue())
    return buffer.getvalue()


def save_model(model: Any, filepath: str | os.PathLike, overwrite: bool = True, zipped: bool | None = None,
               **kwargs: Any) -> Path:
    """Write ``model`` to one zip archive, atomically: a failure (an error in
    ``get_config``, a full disk, a crash) leaves any previous file intact and
    no partial file behind. A ``.keras`` path gets a Keras 3 archive (Keras
    loads it); any other name polykeras' own ``.pkeras`` archive, which also
    keeps what Keras files cannot (random-seed states, the engine it came from).

    Example: ``save_model(model, "model.pkeras")``
    """
    refuse_extra("save_model", kwargs)
    if zipped is False:
        raise NotImplementedError("save_model: zipped=False (the model as an unzipped folder) is not supported; "
                                  "polykeras writes one zip archive.")
    filepath = Path(filepath)
    if filepath.exists() and not overwrite:
        raise FileExistsError(f"save: {filepath} exists; pass overwrite=True to replace it.")
    if filepath.is_dir():
        raise IsADirectoryError(f"save: {filepath} is a folder; expected a file path such as 'model.pkeras'.")
    if filepath.suffix == ".keras":
        from polykeras.saving.keras_writer import keras_archive_bytes

        return atomic_write(filepath, keras_archive_bytes(model))
    return atomic_write(filepath, archive_bytes(model))


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def weight_bytes_limit(model: Any, with_optimizer: bool) -> int:
    """The most bytes a weights member for ``model`` may hold: every variable
    in float64 (and, ``with_optimizer``, three slots each) plus HDF5's own
    bookkeeping. Example: ``weight_bytes_limit(model, True)``"""
    variables = model.variables
    total = sum(int(np.prod(v.shape)) * 8 for v in variables)
    count = len(variables)
    if with_optimizer:
        total *= 1 + MAX_SLOTS
        count = count * (1 + MAX_SLOTS) + 2
    return int(total * WEIGHTS_FACTOR) + WEIGHTS_OVERHEAD + PER_DATASET * count


def load_model(filepath: str | os.PathLike, custom_objects: dict[str, Any] | None = None, compile: bool = True,
               safe_mode: bool = True) -> Any:
    """Rebuild a model saved by ``model.save`` on the active engine: same
    config, weights, and (with ``compile=True``) compile config and optimizer
    state, so training resumes where it stopped. Keras 3 ``.keras`` files load
    too. ``safe_mode=False`` (for files you trust), or a surrounding
    ``with polykeras.saving.safe_mode.safe_mode(False):``, lets ``Lambda`` layers load.

    Example: ``model = load_model("model.pkeras", custom_objects={"MyLayer": MyLayer})``
    """
    filepath = Path(filepath)
    if not filepath.is_file():
        raise FileNotFoundError(f"load_model: no file at {filepath}.")
    return _load(filepath, str(filepath), compile, custom_objects, safe_mode)


def load_model_bytes(data: bytes, custom_objects: dict[str, Any] | None = None, compile: bool = True,
                     safe_mode: bool = True, where: str = "<archive bytes>") -> Any:
    """:func:`load_model` from the bytes :func:`archive_bytes` made.
    Example: ``twin = load_model_bytes(archive_bytes(model))``"""
    return _load(data, where, compile, custom_objects, safe_mode)


def _load(source: Path | bytes, where: str, compile: bool, custom_objects: dict[str, Any] | None,
          safe_mode: bool) -> Any:
    if not isinstance(safe_mode, bool):
        raise TypeError(f"load_model: expected safe_mode to be a bool, received {safe_mode!r}.")
    from polykeras.saving.keras_files import vocabulary_assets

    archive, infos = open_archive(source, MEMBERS, where, optional=vocabulary_assets(source))
    with archive:
        metadata = parse_json(read_member(archive, infos["metadata.json"], METADATA_LIMIT, where),
                              f"{where}: member 'metadata.json'", ArchiveError)
        if not isinstance(metadata, dict):
            raise ArchiveError(f"{where}: member 'metadata.json' holds a {type(metadata).__name__}; "
                               "expected an object.")
        if metadata.get("format") != FORMAT:
            if "keras_version" in metadata:
                from polykeras.saving.keras_files import load_keras_archive

                return load_keras_archive(archive, infos, where, compile=compile, custom_objects=custom_objects,
                                          safe_mode=safe_mode)
            raise ArchiveError(f"{where}: member 'metadata.json' field 'format' is {metadata.get('format')!r}; "
                               f"expected {FORMAT!r} (or a Keras 3 archive with 'keras_version').")
        config = parse_json(read_member(archive, infos["config.json"], JSON_LIMIT, where),
                            f"{where}: member 'config.json'", ArchiveError)
        with archive_memory_limit(infos["model.weights.h5"], where):
            model = _rebuild(config, where, compile, custom_objects, safe_mode)
            compiled_state = isinstance(config.get("compile_config"), dict)
            weights = read_member(archive, infos["model.weights.h5"], weight_bytes_limit(model, compiled_state),
                                  where, why="what the model's weights and optimizer state need")
            _load_weights(weights, model, where, compile)
    return model


def archive_memory_limit(weights: zipfile.ZipInfo, where: str) -> Any:
    """The memory bound for rebuilding a model from an archive: what its
    weights member declares, with room for the optimizer slots it may hold or
    need, and never more than the machine has. Example:
    ``with archive_memory_limit(infos["model.weights.h5"], "m.pkeras"): ...``"""
    declared = (1 + MAX_SLOTS) * weights.file_size + LOAD_OVERHEAD
    limit = min(declared, machine_memory())
    why = (f"its weights member ({weights.file_size} bytes, with room for {MAX_SLOTS} optimizer slots per weight)"
           if limit == declared else "this machine's memory")
    return memory_limit(limit, where, why)


def _rebuild(config: Any, where: str, compile: bool, custom_objects: dict[str, Any] | None, safe_mode: bool) -> Any:
    from polykeras.layers.config import LAYER_CLASSES
    from polykeras.layers.layer import Layer
    from polykeras.saving.registry import SerializationError, custom_object_scope, deserialize

    if not isinstance(config, dict) or not isinstance(config.get("model"), dict):
        raise ArchiveError(f"{where}: member 'config.json' has no field 'model' holding a model config.")
    check_config(config, f"{where}: member 'config.json'", ArchiveError)
    try:
        with safe_mode_scope(effective(safe_mode)), custom_object_scope(custom_objects or {}):
            model = deserialize(config["model"], module_objects=LAYER_CLASSES, kind="model")
            if not isinstance(model, Layer):
                raise ArchiveError(f"{where}: member 'config.json' field 'model' describes a "
                                   f"{type(model).__name__}; expected a Model or another layer (a FeatureSpace).")
            build_config = config.get("build_config")
            if build_config and not model.built:
                model.build_from_config(build_config)
            compile_config = config.get("compile_config")
            if compile and compile_config and hasattr(model, "compile_from_config"):
                model.compile_from_config(compile_config)
    except (ArchiveError, MemoryLimitError):
        raise
    except (SerializationError, ValueError, TypeError, KeyError) as err:
        raise ArchiveError(f"{where}: member 'config.json' cannot be rebuilt: {err}") from err
    return model


def _load_weights(data: bytes, model: Any, where: str, compile: bool) -> None:
    member = f"{where}: member 'model.weights.h5'"
    with read_hdf5(data, member, ArchiveError) as f:
        pairs = read_weights(f, model, member)  # checks the whole file first (check_hdf5)
        optimizer = getattr(model, "optimizer", None) if compile else None
        if optimizer is not None and OPTIMIZER in f:
            if not optimizer.built:
                optimizer.build(model.trainable_variables)
            pairs += _ordered_pairs(f[OPTIMIZER], optimizer.variables, member, "optimizer", _slot_kind)
        if SEEDS in f:
            pairs += _ordered_pairs(f[SEEDS], seed_variables(model), member, "seed state", lambda path: "seed")
    assign_all(pairs)


def _slot_kind(path: str) -> str:
    """What a state variable is, whatever the optimizer and the layers are
    called: the last word of its name, ``"adam/dense_kernel_momentum"`` ->
    ``"momentum"`` (and of the second part in earlier files' paths,
    ``"adam/momentum/dense/kernel"``)."""
    parts = path.split("/")
    return (parts[1] if len(parts) > 2 else parts[-1]).rsplit("_", 1)[-1]


def _ordered_pairs(group: Any, ours: list[Any], where: str, what: str, kind: Any) -> list[tuple[Any, np.ndarray]]:
    """Variables saved in order (``0``, ``1``, ...), matched to ``ours`` by position."""
    if not isinstance(group, h5py.Group):
        raise WeightsError(f"{where}: the {what} entry is not a group.")
    saved = string_list_attr(group, "paths", where)
    if len(saved) != len(ours):
        raise WeightsError(f"{where}: the {what} does not fit: the file has {len(saved)} variables, the model "
                           f"needs {len(ours)} ({[v.path for v in ours][:8]}...); nothing was loaded.")
    pairs = []
    for index, (path, variable) in enumerate(zip(saved, ours)):
        dataset = group.get(str(index))
        label = f"{what} variable {index} ({variable.path!r})"
        if not isinstance(dataset, h5py.Dataset):
            raise WeightsError(f"{where}: {label} is missing from the file; nothing was loaded.")
        if kind(path) != kind(variable.path):
            raise WeightsError(f"{where}: {label} expected a {kind(variable.path)!r} variable, received "
                               f"{path!r}; nothing was loaded.")
        problem = check_pair(variable, dataset, label)
        if problem:
            raise WeightsError(f"{where}: {problem}; nothing was loaded.")
        pairs.append((variable, dataset))
    return read_arrays(pairs, where)
