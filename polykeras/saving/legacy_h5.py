"""Reading Keras's legacy HDF5 weights (the Keras 2 / ``tf.keras`` layout
that Keras 3 still loads from a ``.h5`` file, and in which every
``keras.applications`` ImageNet weight file is published).

Layout::

    /                     attrs: layer_names (ordered), backend, keras_version
    /<layer name>/        attrs: weight_names ("<layer>/<weight>:0", ordered)
        <weight name>     one dataset per weight (nested groups at each "/")

A whole-model ``.h5`` file holds the same under ``/model_weights``. As in
Keras, layers are matched in order (the model's layers that hold weights
against the file's layers that list any), or by layer name with
``by_name=True``; within a layer the weights are taken in order, trainable
ones first. Every shape is checked before anything is assigned.

Example:
    >>> model.load_weights("resnet50_weights_tf_dim_ordering_tf_kernels.h5")
"""

from __future__ import annotations

import warnings
from typing import Any

import h5py

from polykeras.saving.safety import WeightsError, check_hdf5, string_list_attr

Pair = tuple[Any, Any]


def is_legacy(group: h5py.Group) -> bool:
    """Whether ``group`` is a legacy Keras weights file (or a whole-model one).
    Example: ``is_legacy(h5py.File("vgg16_weights_tf_dim_ordering_tf_kernels.h5"))`` -> ``True``"""
    return "layer_names" in group.attrs or ("model_weights" in group and "layer_names" in group["model_weights"].attrs)


def _legacy_weights(layer: Any) -> list[Any]:
    # Keras writes a layer's trainable weights, then its non-trainable ones.
    return list(layer.trainable_weights) + list(layer.non_trainable_weights)


def _weighted_layers(model: Any) -> list[Any]:
    return [layer for layer in model.layers if _legacy_weights(layer)]


def read_legacy_weights(group: h5py.Group, model: Any, where: str, by_name: bool = False,
                        skip_mismatch: bool = False) -> list[tuple[Any, Any]]:
    """``(variable, array)`` pairs for ``model`` from a legacy file, after
    checking every count and shape; raises :class:`WeightsError` naming
    the layer, what the model expects and what the file holds.

    Example: ``assign_all(read_legacy_weights(f, model, "vgg16.h5"))``"""
    if "layer_names" not in group.attrs:
        group = group["model_weights"]
    check_hdf5(group, where)
    names = string_list_attr(group, "layer_names", where)
    saved: list[tuple[str, list[str]]] = []
    for name in names:
        node = group.get(name)
        if not isinstance(node, h5py.Group):
            raise WeightsError(f"{where}: layer_names lists {name!r}, which the file does not hold.")
        weight_names = string_list_attr(node, "weight_names", where)
        if weight_names:
            saved.append((name, weight_names))
    layers = _weighted_layers(model)
    problems: list[str] = []
    matches: list[tuple[Any, str, list[str] | None]]
    if by_name:
        found = dict(saved)
        matches = [(layer, layer.name, found.get(layer.name)) for layer in layers]
    else:
        if len(saved) != len(layers):
            problems.append(f"the model has {len(layers)} layers with weights, the file {len(saved)}")
        matches = [(layer, saved[i][0], saved[i][1]) if i < len(saved) else (layer, "", None)
                   for i, layer in enumerate(layers)]
    pairs: list[Pair] = []
    for layer, source, listed in matches:
        if listed is None:
            if by_name:
                continue  # Keras leaves a layer the file lacks alone
            break
        variables = _legacy_weights(layer)
        node = group[source]
        if len(variables) != len(listed):
            problems.append(f"layer {layer.name!r} expects {len(variables)} weights, the file's layer {source!r} "
                            f"holds {len(listed)}")
            continue
        layer_pairs, layer_problems = [], []
        for variable, weight_name in zip(variables, listed, strict=True):
            dataset = node.get(weight_name)
            if not isinstance(dataset, h5py.Dataset):
                layer_problems.append(f"layer {source!r} lists weight {weight_name!r} but holds no such dataset")
            elif tuple(dataset.shape) != tuple(variable.shape):
                layer_problems.append(f"layer {layer.name!r}: weight {variable.name!r} expected shape "
                                      f"{tuple(variable.shape)}, the file's {weight_name!r} has "
                                      f"{tuple(dataset.shape)}")
            else:
                layer_pairs.append((variable, dataset))
        problems += layer_problems
        if not layer_problems:
            pairs += layer_pairs
    if problems:
        if not skip_mismatch:
            raise WeightsError(f"{where} does not fit model {model.name!r}; nothing was loaded:\n  - "
                               + "\n  - ".join(problems))
        warnings.warn(f"{where}: skip_mismatch=True left these alone:\n  - " + "\n  - ".join(problems),
                      stacklevel=3)
    from polykeras.saving.weights import read_arrays

    return read_arrays(pairs, where)
