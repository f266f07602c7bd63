"""Weights in HDF5, keyed by stable paths.

Layout (``format = "polykeras.weights"``)::

    /                     attrs: format, version, layers (ordered layer paths)
    /<layer path>/        attrs: class_name, weight_names (ordered)
        <weight name>     one dataset per weight
    /optimizer/...        (archives only) optimizer variables by their path

A layer path is the chain of layer names from the model down (``"encoder/dense"``).
``load_weights`` matches layers by structure (the model's layers in order, each
checked for class, weight names and shapes) or, with ``by_name=True``, by layer
path, so a different-but-compatible model takes what fits. Every mismatch is
reported with the layer, the weight, the expected and the received shapes, and
nothing is assigned unless everything fits (``skip_mismatch=True`` leaves the
misfits alone instead).

Reading is defensive: soft/external links, external storage and virtual
datasets are refused, and each dataset's declared shape and dtype are checked
against the model before any data is read.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from polykeras.saving.atomic import atomic_path

FORMAT = "polykeras.weights"
VERSION = 1
OWN = "_self"  # the group of a model's own (layer-less) variables


class WeightsError(ValueError):
    """A weights file does not fit the model, or is unsafe to read."""


# ------------------------------------------------------------------ walking
def layer_paths(model: Any) -> list[tuple[str, Any]]:
    """``(path, layer)`` for every layer under ``model`` that owns weights,
    depth first in model order; the model itself is ``"_self"``."""
    out: list[tuple[str, Any]] = []
    seen: set[int] = set()

    def walk(layer: Any, prefix: str) -> None:
        for sub in layer._flatten_layers(include_self=False, recursive=False):
            if id(sub) in seen:
                continue
            seen.add(id(sub))
            path = f"{prefix}{sub.name}"
            if own_weights(sub):
                out.append((path, sub))
            walk(sub, path + "/")

    if own_weights(model):
        out.append((OWN, model))
    walk(model, "")
    return out


def own_weights(layer: Any) -> list[Any]:
    """The variables a layer holds itself (not through sub-layers)."""
    return list(layer._own_state()[0])


# ------------------------------------------------------------------ writing
def write_weights(group: h5py.Group, model: Any) -> None:
    """Write ``model``'s weights into an open HDF5 group."""
    group.attrs["format"] = FORMAT
    group.attrs["version"] = VERSION
    paths = layer_paths(model)
    group.attrs["layers"] = [path for path, _ in paths]
    for path, layer in paths:
        layer_group = group.create_group(path)
        weights = own_weights(layer)
        layer_group.attrs["class_name"] = type(layer).__name__
        layer_group.attrs["weight_names"] = [w.name for w in weights]
        for weight in weights:
            layer_group.create_dataset(weight.name, data=weight.numpy())


def write_variables(group: h5py.Group, variables: list[Any]) -> None:
    """Write variables keyed by their full paths (optimizer state)."""
    group.attrs["paths"] = [v.path for v in variables]
    for variable in variables:
        group.create_dataset(variable.path, data=variable.numpy())


def save_weights(model: Any, filepath: str | os.PathLike, overwrite: bool = True) -> Path:
    """Save ``model``'s weights to an HDF5 file, atomically.

    Example: ``save_weights(model, "model.weights.h5")``
    """
    filepath = Path(filepath)
    if filepath.exists() and not overwrite:
        raise FileExistsError(f"save_weights: {filepath} exists; pass overwrite=True to replace it.")
    with atomic_path(filepath) as temp:
        with h5py.File(temp, "w") as f:
            write_weights(f, model)
    return filepath


# ------------------------------------------------------------------ reading
def check_safe(group: h5py.Group, where: str) -> None:
    """Refuse links, external storage and virtual datasets anywhere under ``group``."""
    for name in group:
        link = group.get(name, getlink=True)
        if isinstance(link, (h5py.SoftLink, h5py.ExternalLink)):
            kind = "an external link" if isinstance(link, h5py.ExternalLink) else "a soft link"
            raise WeightsError(f"{where}: member {group.name.rstrip('/')}/{name} is {kind}; links are refused.")
        item = group[name]
        if isinstance(item, h5py.Group):
            check_safe(item, where)
        elif isinstance(item, h5py.Dataset):
            if item.is_virtual:
                raise WeightsError(f"{where}: dataset {item.name} is a virtual dataset; refused.")
            if item.external:
                raise WeightsError(f"{where}: dataset {item.name} uses external storage; refused.")
            if item.dtype.kind not in "biuf":
                raise WeightsError(f"{where}: dataset {item.name} has dtype {item.dtype}; expected numbers.")


def _datasets(group: h5py.Group, path: str) -> Iterator[tuple[str, h5py.Dataset]]:
    names = [str(n) for n in group[path].attrs.get("weight_names", [])]
    for name in names:
        if name not in group[path]:
            raise WeightsError(f"weights file: layer {path!r} lists weight {name!r} but has no such dataset.")
        yield name, group[path][name]


def read_weights(group: h5py.Group, model: Any, where: str, by_name: bool = False,
                 skip_mismatch: bool = False) -> list[tuple[Any, np.ndarray]]:
    """Match the file's weights to ``model``'s; returns ``(variable, array)``
    pairs to assign, after checking every shape. Raises :class:`WeightsError`
    on any misfit unless ``skip_mismatch``."""
    if group.attrs.get("format") != FORMAT:
        raise WeightsError(f"{where}: not a polykeras weights file (format {group.attrs.get('format')!r}). "
                           "Keras 3 files load with polykeras.saving.load_keras_weights.")
    check_safe(group, where)
    saved = [str(p) for p in group.attrs["layers"]]
    for path in saved:
        if path not in group:
            raise WeightsError(f"{where}: the layer list names {path!r}, which the file does not hold.")
    ours = layer_paths(model)
    problems: list[str] = []
    pairs: list[tuple[Any, np.ndarray]] = []
    if by_name:
        matches = [(path, layer, path if path in group else None) for path, layer in ours]
        for path, _, found in matches:
            if found is None and not skip_mismatch:
                problems.append(f"layer {path!r} is not in the file")
        extra = sorted(set(saved) - {p for p, _ in ours})
        if extra and not skip_mismatch:
            problems.append(f"the file has layers the model lacks: {extra}")
    else:
        if len(saved) != len(ours) and not skip_mismatch:
            problems.append(f"the model has {len(ours)} layers with weights ({[p for p, _ in ours]}), the file "
                            f"{len(saved)} ({saved})")
        matches = [(path, layer, saved[i] if i < len(saved) else None) for i, (path, layer) in enumerate(ours)]
    for path, layer, source in matches:
        if source is None:
            continue
        file_class = group[source].attrs.get("class_name")
        if not by_name and file_class != type(layer).__name__:
            problems.append(f"layer {path!r} is a {type(layer).__name__} but the file's layer {source!r} is a {file_class}")
            continue
        datasets = dict(_datasets(group, source))
        for variable in own_weights(layer):
            dataset = datasets.pop(variable.name, None)
            if dataset is None:
                problems.append(f"layer {path!r}: weight {variable.name!r} is not in the file")
                continue
            if tuple(dataset.shape) != tuple(variable.shape):
                problems.append(f"layer {path!r}: weight {variable.name!r} expected shape {tuple(variable.shape)}, "
                                f"received {tuple(dataset.shape)}")
                continue
            pairs.append((variable, dataset))
        if datasets:
            problems.append(f"layer {path!r}: the file has weights the layer lacks: {sorted(datasets)}")
    if problems and not skip_mismatch:
        raise WeightsError(f"{where} does not fit model {model.name!r}; nothing was loaded:\n  - "
                           + "\n  - ".join(problems))
    return [(variable, np.asarray(dataset[()])) for variable, dataset in pairs]


def assign_all(pairs: list[tuple[Any, np.ndarray]]) -> None:
    """Assign every ``(variable, array)`` (shapes already checked)."""
    for variable, value in pairs:
        variable.assign(value.astype(variable.dtype, copy=False) if variable.dtype != "bfloat16" else value)


def load_weights(model: Any, filepath: str | os.PathLike, skip_mismatch: bool = False, by_name: bool = False) -> None:
    """Load weights saved by :func:`save_weights` into ``model``.

    Example: ``load_weights(model, "model.weights.h5", by_name=True, skip_mismatch=True)``
    """
    filepath = Path(filepath)
    if not filepath.is_file():
        raise FileNotFoundError(f"load_weights: no file at {filepath}.")
    if filepath.name.endswith(".keras") or filepath.suffix == ".pkeras":
        raise WeightsError(f"load_weights: {filepath.name} is a whole-model archive; use load_model.")
    try:
        f = h5py.File(filepath, "r")
    except OSError as err:
        raise WeightsError(f"load_weights: {filepath} is not an HDF5 file ({err}).") from err
    with f:
        keras_file = f.attrs.get("format") != FORMAT and ("layers" in f or "vars" in f)
    if keras_file:
        from polykeras.saving.keras_files import load_keras_weights

        return load_keras_weights(model, filepath, skip_mismatch=skip_mismatch)
    with h5py.File(filepath, "r") as f:
        assign_all(read_weights(f, model, str(filepath), by_name=by_name, skip_mismatch=skip_mismatch))
