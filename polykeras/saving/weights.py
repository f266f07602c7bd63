"""Weights in HDF5, keyed by stable paths.

Layout (``format = "polykeras.weights"``)::

    /                     attrs: format, version, layers (ordered layer paths)
    /<layer path>/        attrs: class_name, weight_names (ordered)
        <weight name>     one dataset per weight
    /__optimizer__/<i>    (archives only) optimizer variables in order, attrs paths
    /__seeds__/<i>        (archives only) random-seed states in order

A layer path is the chain of layer names from the model down (``"encoder/dense"``).
``load_weights`` matches layers by structure (the model's layers in order, each
checked for class, weight names, shapes and dtypes) or, with ``by_name=True``,
by layer path, so a different-but-compatible model takes what fits. Every
mismatch is reported with the layer, the weight, what was expected and what
was received, and nothing is assigned unless everything fits
(``skip_mismatch=True`` leaves the misfit layers alone instead, with a warning).

Reading is defensive (:mod:`polykeras.saving.safety`): links, external
storage, virtual datasets and non-numeric dtypes are refused, and each
dataset's declared shape and dtype are checked against the model before any
data is read.

Example:
    >>> save_weights(model, "model.weights.h5")
    >>> load_weights(other_model, "model.weights.h5", by_name=True)
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from polykeras.saving.atomic import atomic_write
from polykeras.saving.safety import WeightsError, check_hdf5, read_hdf5, string_attr, string_list_attr

__all__ = ["WeightsError", "load_weights", "save_weights"]

FORMAT = "polykeras.weights"
VERSION = 1
OWN = "_self"  # the group of a model's own (layer-less) variables
KERAS_GROUPS = ("layers", "vars", "optimizer")  # the top-level groups of Keras 3's layout

Pair = tuple[Any, Any]  # (variable, h5py dataset or array)


# ------------------------------------------------------------------ walking
def layer_paths(model: Any) -> list[tuple[str, Any]]:
    """``(path, layer)`` for every layer under ``model`` that owns weights,
    depth first in model order; the model itself is ``"_self"``.

    Example: ``[p for p, _ in layer_paths(model)]`` -> ``['dense', 'encoder/dense']``
    """
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
    """What a weights file holds for ``layer`` itself (not its sub-layers), in
    order: its variables (``polykeras.layers.layer.variable_weights``), or,
    for a layer that overrides ``save_own_variables``/``load_own_variables``,
    the entries of its store (:class:`StoreWeight`).

    Example: ``[w.name for w in own_weights(dense)]`` -> ``['kernel', 'bias']``
    """
    from polykeras.layers.layer import Layer, variable_weights

    cls = type(layer)
    if (getattr(cls, "save_own_variables", Layer.save_own_variables) is Layer.save_own_variables
            and getattr(cls, "load_own_variables", Layer.load_own_variables) is Layer.load_own_variables):
        return variable_weights(layer)
    store: dict[str, Any] = {}
    layer.save_own_variables(store)
    loading = _StoreLoading(layer, list(store))
    return [StoreWeight(key, value, loading) for key, value in store.items()]


class _StoreLoading:
    """Collects the arrays read for a store-saving layer and hands them to
    its ``load_own_variables`` once every entry has arrived."""

    def __init__(self, layer: Any, keys: list[str]) -> None:
        self.layer, self.keys = layer, keys
        self.store: dict[str, Any] = {}

    def receive(self, key: str, value: Any) -> None:
        self.store[key] = value
        if len(self.store) == len(self.keys):
            self.layer.load_own_variables({key: self.store[key] for key in self.keys})


class StoreWeight:
    """One entry of a layer's ``save_own_variables`` store, as the weight
    readers and writers take a variable: ``name`` is the store key, ``numpy()``
    the saved value, and ``assign(value)`` hands the value read back to the
    layer's ``load_own_variables`` (called once the whole store is read).

    Example: ``[w.name for w in own_weights(layer_with_a_vocabulary)]`` -> ``['vocabulary']``
    """

    def __init__(self, key: str, value: Any, loading: _StoreLoading) -> None:
        self.name = self.path = self.store_key = key
        numpy = getattr(value, "numpy", None)
        self._value = np.asarray(numpy() if callable(numpy) else value)
        self._loading = loading

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self._value.shape)

    @property
    def dtype(self) -> str:
        return str(self._value.dtype)

    def numpy(self) -> np.ndarray:
        return self._value

    def assign(self, value: Any) -> None:
        self._loading.receive(self.name, value)


def seed_variables(model: Any) -> list[Any]:
    """The random-seed state variables under ``model``, in model order.
    Example: ``seed_variables(model_with_dropout)`` -> ``[<Variable .../seed_generator_state>]``"""
    weights = {id(v) for v in model.weights}
    return [v for v in model.variables if id(v) not in weights]


# ------------------------------------------------------------------ writing
def write_weights(group: h5py.Group, model: Any) -> None:
    """Write ``model``'s weights into an open HDF5 group, keyed by layer
    path, with Keras 3's layout beside it as hard links to the same datasets
    (so Keras' ``load_weights`` reads the file too; left out only when a layer
    is named like one of Keras' top-level groups).
    Example: ``with h5py.File(buffer, "w") as f: write_weights(f, model)``"""
    group.attrs["format"] = FORMAT
    group.attrs["version"] = VERSION
    paths = layer_paths(model)
    taken: dict[str, Any] = {}
    for path, layer in paths:
        if path in taken:
            raise WeightsError(f"save_weights: model {model.name!r} has two layers at path {path!r} "
                               f"({type(taken[path]).__name__} and {type(layer).__name__}); give them unique "
                               "names so their weights can be told apart.")
        taken[path] = layer
    group.attrs["layers"] = [path for path, _ in paths]
    written: dict[int, h5py.Dataset] = {}
    held = {id(layer): own_weights(layer) for _, layer in paths}  # asked once: a store's entries are made anew
    for path, layer in paths:
        layer_group = group.create_group(path)
        weights = held[id(layer)]
        names = [w.name for w in weights]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise WeightsError(f"save_weights: layer {path!r} has several weights named {duplicates}; "
                               "give each weight a unique name (add_weight(name=...)).")
        layer_group.attrs["class_name"] = type(layer).__name__
        layer_group.attrs["weight_names"] = names
        for weight in weights:
            written[id(weight)] = layer_group.create_dataset(weight.name, data=weight.numpy())
    if not any(path.split("/")[0] in KERAS_GROUPS for path, _ in paths):
        from polykeras.saving.keras_writer import write_keras_layout

        write_keras_layout(group, model, put=lambda parent, name, variable: parent.__setitem__(
            name, written[id(variable)]), weights_of=lambda layer: held.get(id(layer)) or own_weights(layer))


def write_variables(group: h5py.Group, variables: list[Any]) -> None:
    """Write variables in order as ``<i>`` datasets, with their paths (optimizer state, seeds).
    Example: ``write_variables(f.create_group("__optimizer__"), optimizer.variables)``"""
    group.attrs["paths"] = [v.path for v in variables]
    for index, variable in enumerate(variables):
        group.create_dataset(str(index), data=variable.numpy())


def weights_bytes(model: Any) -> bytes:
    """The weights file of ``model`` as bytes (nothing touches the disk).
    Example: ``atomic_write("m.weights.h5", weights_bytes(model))``"""
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        write_weights(f, model)
    return buffer.getvalue()


def refuse_extra(who: str, kwargs: dict[str, Any]) -> None:
    """Keras 3's saving functions take ``**kwargs`` for its legacy formats;
    polykeras names what it does not take instead of ignoring it.
    Example: ``refuse_extra("save_model", {"include_optimizer": False})`` raises TypeError"""
    if kwargs:
        raise TypeError(f"{who}: unexpected argument(s) {sorted(kwargs)} (options of Keras' legacy formats, "
                        "which polykeras does not write).")


def save_weights(model: Any, filepath: str | os.PathLike, overwrite: bool = True, max_shard_size: Any = None,
                 **kwargs: Any) -> Path:
    """Save ``model``'s weights to an HDF5 file, atomically: a failure leaves
    any previous file intact and no partial file.

    Example: ``save_weights(model, "model.weights.h5")``
    """
    refuse_extra("save_weights", kwargs)
    if max_shard_size is not None:
        raise NotImplementedError("save_weights: max_shard_size (weights sharded over several files) is not "
                                  f"supported; received max_shard_size={max_shard_size!r}.")
    filepath = Path(filepath)
    if filepath.exists() and not overwrite:
        raise FileExistsError(f"save_weights: {filepath} exists; pass overwrite=True to replace it.")
    return atomic_write(filepath, weights_bytes(model))


# ------------------------------------------------------------------ reading
def fits_dtype(variable_dtype: Any, dataset_dtype: np.dtype) -> bool:
    """Whether a dataset of ``dataset_dtype`` may be assigned to a variable of
    ``variable_dtype``: the same kind (float widths may differ).
    Example: ``fits_dtype("float32", np.dtype("float64"))`` -> ``True``"""
    name = str(variable_dtype)
    if name == "bool":
        return dataset_dtype.kind == "b"
    if name.startswith(("float", "bfloat")):
        return dataset_dtype.kind == "f"
    if name.startswith(("int", "uint")):
        return dataset_dtype.kind in "iu"
    return False


def check_pair(variable: Any, dataset: h5py.Dataset, label: str) -> str | None:
    """Why ``dataset`` cannot fill ``variable`` (shape, then dtype), else None.
    Only the declared shape and dtype are looked at: no data is read. An
    entry of a layer's own store (:class:`StoreWeight`) is the layer's
    ``load_own_variables``'s to check.
    Example: ``check_pair(dense.kernel, f["dense/kernel"], "layer 'dense'")`` -> ``None``"""
    if isinstance(variable, StoreWeight):
        return None
    if tuple(dataset.shape) != tuple(variable.shape):
        return f"{label} expected shape {tuple(variable.shape)}, received {tuple(dataset.shape)}"
    if not fits_dtype(variable.dtype, dataset.dtype):
        return f"{label} expected dtype {variable.dtype}, received {dataset.dtype}"
    return None


def _layer_pairs(group: h5py.Group, source: str, path: str, layer: Any, where: str,
                 check_class: bool) -> tuple[list[Pair], list[str]]:
    """Pairs for one layer, or the problems that stop it."""
    node = group[source]
    if not isinstance(node, h5py.Group):
        return [], [f"layer {path!r}: the file's entry {source!r} is not a group"]
    file_class = string_attr(node, "class_name", where)
    if check_class and file_class is not None and file_class != type(layer).__name__:
        return [], [f"layer {path!r} is a {type(layer).__name__} but the file's layer {source!r} is a {file_class}"]
    names = string_list_attr(node, "weight_names", where)
    datasets = {}
    for name in names:
        item = node.get(name)
        if not isinstance(item, h5py.Dataset):
            return [], [f"layer {source!r} lists weight {name!r} but the file has no such dataset"]
        datasets[name] = item
    problems: list[str] = []
    pairs: list[Pair] = []
    for variable in own_weights(layer):
        dataset = datasets.pop(variable.name, None)
        if dataset is None:
            problems.append(f"layer {path!r}: weight {variable.name!r} (shape {tuple(variable.shape)}) is not in "
                            f"the file (it has {names})")
            continue
        problem = check_pair(variable, dataset, f"layer {path!r}: weight {variable.name!r}")
        if problem:
            problems.append(problem)
            continue
        pairs.append((variable, dataset))
    if datasets:
        extra = {n: tuple(d.shape) for n, d in datasets.items()}
        problems.append(f"layer {path!r}: the file has weights the layer lacks: {extra}")
    return pairs, problems


def read_weights(group: h5py.Group, model: Any, where: str, by_name: bool = False,
                 skip_mismatch: bool = False) -> list[tuple[Any, np.ndarray]]:
    """Match the file's weights to ``model``'s; returns ``(variable, array)``
    pairs to assign, after checking every shape and dtype. Raises
    :class:`WeightsError` on any misfit unless ``skip_mismatch`` (then the
    misfit layers are left out, with a warning).
    Example: ``assign_all(read_weights(f, model, "w.h5", by_name=True))``"""
    if string_attr(group, "format", where) != FORMAT:
        raise WeightsError(f"{where}: not a polykeras weights file (format {group.attrs.get('format')!r}).")
    check_hdf5(group, where)
    saved = string_list_attr(group, "layers", where)
    for path in saved:
        if path not in group:
            raise WeightsError(f"{where}: the layer list names {path!r}, which the file does not hold.")
    ours = layer_paths(model)
    problems: list[str] = []
    if not ours and saved:
        hint = "" if getattr(model, "built", True) else " The model is not built: call model.build(input_shape) first."
        raise WeightsError(f"{where}: model {model.name!r} has no weights to load into; the file has "
                           f"{len(saved)} layer(s) with weights.{hint}")
    if by_name:
        names = {p for p, _ in ours}
        matches = [(path, layer, path if path in saved else None) for path, layer in ours]
        problems += [f"layer {path!r} is not in the file" for path, _, found in matches if found is None]
        extra = [p for p in saved if p not in names]
        if extra:
            problems.append(f"the file has layers the model lacks: {extra}")
    else:
        if len(saved) != len(ours):
            problems.append(f"the model has {len(ours)} layers with weights ({[p for p, _ in ours]}), the file "
                            f"{len(saved)} ({saved})")
        matches = [(path, layer, saved[i] if i < len(saved) else None) for i, (path, layer) in enumerate(ours)]
    pairs: list[Pair] = []
    for path, layer, source in matches:
        if source is None:
            continue
        layer_pairs, layer_problems = _layer_pairs(group, source, path, layer, where, check_class=not by_name)
        problems += layer_problems
        if not layer_problems:
            pairs += layer_pairs
    if problems:
        if not skip_mismatch:
            raise WeightsError(f"{where} does not fit model {model.name!r}; nothing was loaded:\n  - "
                               + "\n  - ".join(problems))
        warnings.warn(f"{where}: skip_mismatch=True left these alone:\n  - " + "\n  - ".join(problems),
                      stacklevel=3)
    return read_arrays(pairs, where)


def read_arrays(pairs: list[Pair], where: str) -> list[tuple[Any, np.ndarray]]:
    """Read every dataset of ``pairs`` (already checked); a corrupt one stops all.
    Example: ``arrays = read_arrays([(dense.kernel, f["dense/kernel"])], "w.h5")``"""
    out = []
    for variable, dataset in pairs:
        try:
            out.append((variable, np.asarray(dataset[()])))
        except (OSError, ValueError, TypeError) as err:
            raise WeightsError(f"{where}: dataset {dataset.name} cannot be read ({err}); nothing was loaded.") \
                from None
    return out


def assign_all(pairs: list[tuple[Any, np.ndarray]]) -> None:
    """Assign every ``(variable, array)`` (shapes and dtypes already checked).
    Example: ``assign_all([(dense.bias, np.zeros(2, "float32"))])``"""
    for variable, value in pairs:
        variable.assign(value.astype(variable.dtype, copy=False) if variable.dtype != "bfloat16" else value)


def load_weights(model: Any, filepath: str | os.PathLike, skip_mismatch: bool = False, *, by_name: bool = False,
                 **kwargs: Any) -> None:
    """Load weights saved by :func:`save_weights` (or Keras 3's
    ``.weights.h5``) into ``model``; nothing is assigned unless all fits.

    Example: ``load_weights(model, "model.weights.h5", by_name=True, skip_mismatch=True)``
    """
    refuse_extra("load_weights", kwargs)
    filepath = Path(filepath)
    if not filepath.is_file():
        raise FileNotFoundError(f"load_weights: no file at {filepath}.")
    if filepath.name.endswith(".keras") or filepath.suffix == ".pkeras":
        raise WeightsError(f"load_weights: {filepath.name} is a whole-model archive; use "
                           "polykeras.saving.load_model.")
    with read_hdf5(filepath, f"load_weights: {filepath}") as f:
        keras_file = "format" not in f.attrs and ("layers" in f or "vars" in f)
        if "format" not in f.attrs and not keras_file:
            from polykeras.saving.legacy_h5 import is_legacy, read_legacy_weights

            if is_legacy(f):  # Keras 2's layout, as the keras.applications weight files
                assign_all(read_legacy_weights(f, model, str(filepath), by_name=by_name,
                                               skip_mismatch=skip_mismatch))
                return
        if not keras_file:
            assign_all(read_weights(f, model, str(filepath), by_name=by_name, skip_mismatch=skip_mismatch))
            return
    from polykeras.saving.keras_files import load_keras_weights

    load_keras_weights(model, filepath, skip_mismatch=skip_mismatch)
