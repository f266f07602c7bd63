"""Keras 3 files: ``.keras`` archives and ``.weights.h5``, for models built
from built-in layers.

A Keras 3 archive holds ``metadata.json`` (with ``keras_version``),
``config.json`` and ``model.weights.h5``. The config is translated to
polykeras' (:mod:`.keras_config`: same class and argument names, layer names
kept) and built with the same allow-listed deserializer as polykeras' own
files. Keras' weights file keeps each layer under a key made from its class
(``layers/dense_1/vars/0``, with the layer's name as an attribute of
``vars``), nested models under ``layers/<key>/layers/...``, and the optimizer
under ``optimizer/vars/<i>``. Layers are matched by name when the file
records names (Keras 3.x does), otherwise by Keras' keys (class names
numbered in model order); each layer's variables are taken in order, and
every count, shape and dtype is checked before anything is assigned.

Metric state is not in Keras 3 files: Keras' ``Metric`` saves no variables,
so a model it loads starts with fresh metrics (the loss tracker at zero, the
compiled metrics built on their first update), and so does one loaded here.
Groups beyond the layers and the optimizer (``metrics/...`` written by some
other tool) are ignored, as Keras ignores them.

The same safety rules hold as for ``.pkeras``: plain, bounded members; no
code (Keras ``Lambda`` bytecode is refused always); only allow-listed
classes; HDF5 links, external storage, virtual datasets and object dtypes
refused.

Example:
    >>> model = load_keras_model("keras_model.keras")       # a polykeras model
    >>> load_keras_weights(polykeras_model, "keras.weights.h5")
"""

from __future__ import annotations

import io
import os
import re
import warnings
import zipfile
from pathlib import Path
from typing import Any

import h5py

from polykeras.allocation import MemoryLimitError
from polykeras.saving.keras_config import KerasConfigError, translate_compile_config, translate_model
from polykeras.saving.safe_mode import effective, safe_mode as safe_mode_scope
from polykeras.saving.safety import ArchiveError, WeightsError, check_hdf5, open_archive, read_hdf5, read_member, \
    string_attr
from polykeras.saving.serialization import check_config, parse_json
from polykeras.saving.weights import Pair, assign_all, check_pair, own_weights, read_arrays

__all__ = ["KerasConfigError", "load_keras_archive", "load_keras_model", "load_keras_weights"]

MEMBERS = ("metadata.json", "config.json", "model.weights.h5")
JSON_LIMIT = 64 * 2**20


def keras_snake_case(name: str) -> str:
    """Keras' key for a class name. Example: ``keras_snake_case("MaxPooling2D")`` -> ``'max_pooling2d'``"""
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


# ----------------------------------------------------------------- archives
def load_keras_model(filepath: str | os.PathLike, custom_objects: dict[str, Any] | None = None,
                     safe_mode: bool = True, compile: bool = True) -> Any:
    """A polykeras model from a Keras 3 ``.keras`` archive, on the active engine.

    Example: ``model = load_keras_model("model.keras")``
    """
    filepath = Path(filepath)
    if not filepath.is_file():
        raise FileNotFoundError(f"load_keras_model: no file at {filepath}.")
    where = str(filepath)
    archive, infos = open_archive(filepath, MEMBERS, where, optional=vocabulary_assets(filepath))
    with archive:
        return load_keras_archive(archive, infos, where, compile=compile, custom_objects=custom_objects,
                                  safe_mode=safe_mode)


def load_keras_archive(archive: zipfile.ZipFile, infos: dict[str, zipfile.ZipInfo], where: str, compile: bool = True,
                       custom_objects: dict[str, Any] | None = None, safe_mode: bool = True) -> Any:
    """Translate and load an opened (already vetted by :func:`open_archive`)
    Keras 3 archive. Example: ``load_keras_archive(archive, infos, "m.keras")``"""
    from polykeras.saving.archive import archive_memory_limit

    config = parse_json(read_member(archive, infos["config.json"], JSON_LIMIT, where),
                        f"{where}: member 'config.json'", ArchiveError)
    check_config(config, f"{where}: member 'config.json'", ArchiveError)
    _add_vocabularies(config, "", archive, infos, where)
    ours, build_config = translate_model(config, where, custom_objects)
    with archive_memory_limit(infos["model.weights.h5"], where):
        return _build_and_fill(archive, infos, where, ours, build_config, config, compile, custom_objects, safe_mode)


#: An adapted lookup's vocabulary, which Keras 3 writes as an asset of the layer's path.
_VOCABULARY_ASSET = re.compile(r"assets/(?:(?:layers|preprocessors)/[a-z0-9_]+/)+vocabulary\.txt")
_VOCABULARY_LAYERS = ("StringLookup", "IntegerLookup", "TextVectorization")


def vocabulary_assets(source: Path | bytes) -> tuple[str, ...]:
    """The vocabulary assets in a Keras archive (read, not executed: one
    token a line), the only nested members a Keras file may hold.
    Example: ``vocabulary_assets(Path("m.keras"))`` -> ``('assets/layers/integer_lookup/vocabulary.txt',)``"""
    try:
        with zipfile.ZipFile(io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source) as archive:
            return tuple(n for n in archive.namelist() if _VOCABULARY_ASSET.fullmatch(n))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return ()  # open_archive says what is wrong


def _add_vocabularies(config: Any, prefix: str, archive: zipfile.ZipFile, infos: dict[str, zipfile.ZipInfo],
                      where: str) -> None:
    """Put each adapted lookup's vocabulary asset into its layer config (Keras
    writes ``vocabulary=None`` there), so the layer is built with it. A
    layer's asset path is Keras's: ``layers/<class key>`` per level, the class
    in snake case numbered from its second occurrence."""
    inner = config.get("config") if isinstance(config, dict) else None
    layers = inner.get("layers") if isinstance(inner, dict) else None
    features = inner.get("features") if isinstance(inner, dict) and config.get("class_name") == "FeatureSpace" \
        else None
    if isinstance(features, dict):  # a FeatureSpace: its preprocessors' assets under preprocessors/<key>
        layers = [f["config"].get("preprocessor") for f in features.values()
                  if isinstance(f, dict) and isinstance(f.get("config"), dict)]
        prefix += "preprocessors/"
    elif not isinstance(layers, list):
        return
    else:
        prefix += "layers/"
    counts: dict[str, int] = {}
    for layer in layers:
        if not isinstance(layer, dict) or not isinstance(layer.get("class_name"), str):
            continue
        name = layer["class_name"]
        base = keras_snake_case(name)
        count = counts.get(base, 0)
        counts[base] = count + 1
        path = f"{prefix}{base if count == 0 else f'{base}_{count}'}/"
        asset = infos.get(f"assets/{path}vocabulary.txt")
        options = layer.get("config")
        if asset is not None and name in _VOCABULARY_LAYERS and isinstance(options, dict) and \
                options.get("vocabulary") is None:
            text = read_member(archive, asset, JSON_LIMIT, where).decode("utf-8")
            tokens: list[Any] = text.split("\n")
            if name == "IntegerLookup":
                try:
                    tokens = [int(t) for t in tokens]
                except ValueError:
                    raise ArchiveError(f"{where}: member 'assets/{path}vocabulary.txt' of IntegerLookup "
                                       f"{options.get('name')!r} holds a token that is not an integer.") from None
            options["vocabulary"] = tokens
        _add_vocabularies(layer, path, archive, infos, where)


def _build_and_fill(archive: zipfile.ZipFile, infos: dict[str, zipfile.ZipInfo], where: str, ours: dict[str, Any],
                    build_config: Any, config: dict[str, Any], compile: bool, custom_objects: dict[str, Any] | None,
                    safe_mode: bool) -> Any:
    from polykeras.layers.config import LAYER_CLASSES
    from polykeras.saving.archive import weight_bytes_limit
    from polykeras.saving.registry import SerializationError, custom_object_scope, deserialize

    try:
        with safe_mode_scope(effective(safe_mode)), custom_object_scope(custom_objects or {}):
            model = deserialize(ours, module_objects=LAYER_CLASSES, kind="model")
            if build_config and not model.built:
                model.build_from_config(build_config)
    except (ArchiveError, MemoryLimitError):
        raise
    except (SerializationError, ValueError, TypeError, KeyError) as err:
        raise ArchiveError(f"{where}: the translated Keras config cannot be built: {err}") from err
    compiled = False
    if compile:
        compiled = _compile(model, config.get("compile_config"), where)
    weights = read_member(archive, infos["model.weights.h5"], weight_bytes_limit(model, True), where,
                          why="what the model's weights and optimizer state need")
    member = f"{where}: member 'model.weights.h5'"
    with read_hdf5(weights, member, ArchiveError) as f:
        check_hdf5(f, member)
        pairs = keras_weight_pairs(f, model, member)
        if compiled:
            pairs += _optimizer_pairs(f, model, member)
    assign_all(pairs)
    return model


def _compile(model: Any, compile_config: Any, where: str) -> bool:
    try:
        ours = translate_compile_config(compile_config, where)
        if ours is None:
            return False
        model.compile_from_config(ours)
    except (ValueError, TypeError, KeyError) as err:
        warnings.warn(f"{where}: the Keras compile config could not be restored ({err}); the model is loaded "
                      "uncompiled. Call compile() before training.", stacklevel=4)
        return False
    return True


def _optimizer_pairs(f: h5py.File, model: Any, where: str) -> list[tuple[Any, Any]]:
    """Keras' optimizer state (iterations, learning rate, then slots per
    variable in Keras 3's order) matched by position; a misfit leaves the
    optimizer fresh, with a warning."""
    group = f.get("optimizer/vars")
    if not isinstance(group, h5py.Group) or len(group) == 0:
        return []
    optimizer = model.optimizer
    if not optimizer.built:
        optimizer.build(model.trainable_variables)
    ours = optimizer.variables
    problems = [] if len(group) == len(ours) else [f"the file has {len(group)} variables, ours {len(ours)}"]
    pairs: list[Pair] = []
    for index, variable in enumerate(ours if not problems else []):
        dataset = group.get(str(index))
        problem = "missing" if not isinstance(dataset, h5py.Dataset) else \
            check_pair(variable, dataset, f"optimizer variable {index} ({variable.path!r})")
        if problem:
            problems.append(problem)
        else:
            pairs.append((variable, dataset))
    if problems:
        warnings.warn(f"{where}: the Keras optimizer state does not fit ({problems[0]}); the optimizer starts "
                      "fresh.", stacklevel=4)
        return []
    return read_arrays(pairs, where)


# ------------------------------------------------------------------ weights
def load_keras_weights(model: Any, filepath: str | os.PathLike, skip_mismatch: bool = False) -> None:
    """Load a Keras 3 ``.weights.h5`` into a polykeras ``model`` of the same
    architecture; nothing is assigned unless every layer fits (or, with
    ``skip_mismatch=True``, the misfit layers are left alone with a warning).

    Example: ``load_keras_weights(model, "keras.weights.h5")``
    """
    filepath = Path(filepath)
    where = str(filepath)
    with read_hdf5(filepath, f"load_weights: {filepath}") as f:
        check_hdf5(f, where)
        pairs = keras_weight_pairs(f, model, where, skip_mismatch=skip_mismatch)
    assign_all(pairs)


def _children(container: Any) -> list[Any]:
    from polykeras.models.model import Model

    layers = container.layers if isinstance(container, Model) else []
    return [layer for layer in layers if layer is not container]


def _has_weights(layer: Any) -> bool:
    return bool(layer.weights)


def keras_weight_pairs(root: h5py.Group, model: Any, where: str, skip_mismatch: bool = False) -> list[tuple[Any, Any]]:
    """``(variable, array)`` for every weight of ``model`` from a Keras weights
    tree, every shape and dtype checked first.
    Example: ``assign_all(keras_weight_pairs(h5file, model, "k.weights.h5"))``"""
    problems: list[str] = []
    pairs: list[Pair] = []
    if _is_graph(model):
        _match_container(root, model, "", where, problems, pairs)
    else:
        _match_layer(root, model, model.name, where, problems, pairs)
    loaded = {id(variable) for variable, _ in pairs}
    problems = [p for p in problems if not (isinstance(p, _Missing) and p.weights <= loaded)]
    if problems:
        if not skip_mismatch:
            raise WeightsError(f"{where} (Keras 3 weights) does not fit model {model.name!r}; nothing was "
                               "loaded:\n  - " + "\n  - ".join(problems))
        warnings.warn(f"{where}: skip_mismatch=True left these alone:\n  - " + "\n  - ".join(problems),
                      stacklevel=3)
    return read_arrays(pairs, where)


def _vars_name(group: Any, where: str) -> str | None:
    variables = group.get("vars") if isinstance(group, h5py.Group) else None
    return string_attr(variables, "name", where) if isinstance(variables, h5py.Group) else None


def _key_map(group: h5py.Group | None, layers: list[Any], where: str) -> dict[int, str]:
    """id(layer) -> its key in the file: by recorded name when every layer's
    name is recorded once, else by Keras' class-name keys in model order."""
    if group is None:
        return {}
    names: dict[str, str] = {}
    repeated = set()
    for key in group:
        name = _vars_name(group[key], where)
        if name is not None:
            if name in names:
                repeated.add(name)
            names[name] = key
    if layers and all(layer.name in names and layer.name not in repeated for layer in layers):
        return {id(layer): names[layer.name] for layer in layers}
    return derived_keys(layers)


def derived_keys(layers: list[Any]) -> dict[int, str]:
    """id(layer) -> Keras' key: the class name in snake case, numbered from
    the second of a class on (``dense``, ``dense_1``...), in ``layers`` order.
    Example: ``derived_keys([dense_a, dense_b])`` -> ``{id(dense_a): 'dense', id(dense_b): 'dense_1'}``"""
    counts: dict[str, int] = {}
    keys = {}
    for layer in layers:
        base = keras_snake_case(type(layer).__name__)
        count = counts.get(base, 0)
        counts[base] = count + 1
        keys[id(layer)] = base if count == 0 else f"{base}_{count}"
    return keys


def _datasets(group: h5py.Group, where: str, keys: list[str | None] | None = None) -> list[h5py.Dataset] | str:
    """``vars/0``, ``vars/1``, ... in order, or why not. A layer saving its own
    store (``keys`` all named) finds its entries under their keys instead."""
    variables = group.get("vars")
    if variables is None:
        return []
    if not isinstance(variables, h5py.Group):
        return "its 'vars' entry is not a group"
    named = keys if keys and all(key is not None for key in keys) and len(keys) == len(variables) else None
    out = []
    for key in named or [str(i) for i in range(len(variables))]:
        item = variables.get(key)
        if not isinstance(item, h5py.Dataset):
            return (f"its store has no entry {key!r} (it has {sorted(variables)})" if named else
                    f"its variables are not numbered 0..{len(variables) - 1}")
        out.append(item)
    return out


def _is_graph(layer: Any) -> bool:
    from polykeras.models.functional import Functional
    from polykeras.models.sequential import Sequential

    return isinstance(layer, (Functional, Sequential))


def _match_container(group: h5py.Group, container: Any, prefix: str, where: str, problems: list[str],
                     pairs: list[Pair]) -> None:
    """A Functional or Sequential model: its layers under ``layers/<key>``."""
    _match_own(group, container, prefix.rstrip("/") or container.name, where, problems, pairs)
    layers = _children(container)
    layers_group = group.get("layers")
    if layers_group is not None and not isinstance(layers_group, h5py.Group):
        problems.append(f"{prefix or '/'}layers is not a group")
        return
    keys = _key_map(layers_group, layers, where)
    used = set()
    for layer in layers:
        key = keys.get(id(layer))
        child = layers_group.get(key) if layers_group is not None and key is not None else None
        if child is None or not isinstance(child, h5py.Group):
            _missing(layer, f"{prefix}{layer.name}", problems)
            continue
        used.add(key)
        _match_layer(child, layer, f"{prefix}{layer.name}", where, problems, pairs)
    if layers_group is not None:
        for key in layers_group:
            if key not in used and _holds_data(layers_group[key]):
                name = _vars_name(layers_group[key], where) or key
                problems.append(f"the file has layer {name!r} (key {prefix}{key}) with weights the model lacks")


def _match_layer(group: h5py.Group, layer: Any, path: str, where: str, problems: list[str],
                 pairs: list[Pair]) -> None:
    """One layer: its own ``vars``, then each sub-layer under the attribute
    name that holds it (Keras' layout: ``lstm/cell/vars``), else under
    Keras' class-name key in ``layers`` (a subclassed model's), else by the
    recorded name. (Names come second: auto names depend on what the writing
    process built before, so another layer may carry the same one.)"""
    if _is_graph(layer):
        _match_container(group, layer, path + "/", where, problems, pairs)
        return
    _match_own(group, layer, path, where, problems, pairs)
    subs = [sub for sub in layer._sublayers() if sub.weights]
    if not subs:
        return
    found = _sublayer_groups(group, layer, where)
    for sub in subs:
        child = found.get(id(sub))
        if child is None:
            _missing(sub, f"{path}/{sub.name}", problems)
            continue
        _match_layer(child, sub, f"{path}/{sub.name}", where, problems, pairs)


def _sublayer_groups(group: h5py.Group, layer: Any, where: str) -> dict[int, h5py.Group]:
    from polykeras.layers.layer import Layer

    found: dict[int, h5py.Group] = {}
    for attribute, value in vars(layer).items():
        if isinstance(value, Layer) and isinstance(group.get(attribute), h5py.Group):
            found.setdefault(id(value), group[attribute])
        elif isinstance(value, (list, tuple, dict)) and isinstance(group.get(attribute), h5py.Group):
            items = [v for v in (value.values() if isinstance(value, dict) else value) if isinstance(v, Layer)]
            for item, key in _key_map(group[attribute], items, where).items():
                if isinstance(group[attribute].get(key), h5py.Group):
                    found.setdefault(item, group[attribute][key])
    listed = group.get("layers") if isinstance(group.get("layers"), h5py.Group) else None
    by_name: dict[str, Any] = {}
    for parent in (group, listed):
        if parent is None:
            continue
        for key in parent:
            child = parent[key]
            if key != "vars" and isinstance(child, h5py.Group):
                name = _vars_name(child, where)
                if name is not None:
                    by_name.setdefault(name, child)
    subs = layer._sublayers()
    keys = derived_keys(subs)
    for sub in subs:
        if id(sub) in found:
            continue
        if listed is not None and isinstance(listed.get(keys[id(sub)]), h5py.Group):
            found[id(sub)] = listed[keys[id(sub)]]  # a subclassed model's layers walked as `layers`, as Keras does
        elif sub.name in by_name:
            found[id(sub)] = by_name[sub.name]
    return found


class _Missing(str):
    """A problem: a layer not in the file, unless its weights are all loaded
    under another layer that shares them (a Distiller's feature extractor)."""

    weights: frozenset[int] = frozenset()


def _missing(layer: Any, path: str, problems: list[str]) -> None:
    if layer.weights:
        problem = _Missing(f"layer {path!r} ({type(layer).__name__}, weights "
                           f"{[tuple(v.shape) for v in layer.weights]}) is not in the file")
        problem.weights = frozenset(id(v) for v in layer.weights)
        problems.append(problem)


def _holds_data(node: Any) -> bool:
    if isinstance(node, h5py.Dataset):
        return True
    if not isinstance(node, h5py.Group):
        return False
    stack, seen = [node], 0
    while stack and seen < 10_000:
        current = stack.pop()
        seen += 1
        for key in current:
            item = current.get(key)
            if isinstance(item, h5py.Dataset):
                return True
            if isinstance(item, h5py.Group):
                stack.append(item)
    return False


def _match_own(group: h5py.Group, layer: Any, path: str, where: str, problems: list[str], pairs: list[Pair]) -> None:
    ours = own_weights(layer)
    datasets = _datasets(group, where, [getattr(w, "store_key", None) for w in ours])
    if isinstance(datasets, str):
        problems.append(f"layer {path!r}: {datasets}")
        return
    if len(datasets) != len(ours):
        received = [tuple(d.shape) for d in datasets]
        problems.append(f"layer {path!r} ({type(layer).__name__}) expected {len(ours)} weights "
                        f"{[tuple(v.shape) for v in ours]}, received {len(datasets)} {received}")
        return
    layer_pairs = []
    for index, (variable, dataset) in enumerate(zip(ours, datasets)):
        problem = check_pair(variable, dataset, f"layer {path!r}: weight {variable.name!r} (Keras vars/{index})")
        if problem:
            problems.append(problem)
            return
        layer_pairs.append((variable, dataset))
    pairs += layer_pairs
