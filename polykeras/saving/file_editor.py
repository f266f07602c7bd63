"""``KerasFileEditor``: inspect and edit the weights of a saved Keras 3 file
(a ``.keras`` archive, polykeras- or Keras-written, or a ``.weights.h5``),
then write the result back out, e.g. to adapt an old file to a changed
architecture.

The weights are held as a nested dict (``weights_dict``): an object (a layer,
the optimizer, a container such as ``layers``) is a dict whose arrays are its
own variables (Keras' ``<path>/vars/<name>``) and whose dicts are the objects
under it (``layers/lstm/cell``). Objects are named by full path
(``"layers/dense_1"``) or, when the name occurs once in the file, by their
last component (``"dense_1"``). Empty objects (no weights anywhere under them)
are left out, as Keras' editor does.

Files are read with the same defences as every polykeras reader
(:mod:`.safety`) and written atomically (:mod:`.atomic`); ``save`` to a
``.keras`` keeps the archive's config and metadata byte for byte.

Example:
    >>> editor = KerasFileEditor("model.keras")
    >>> editor.summary()
    >>> editor.delete_object("layers/dense_1")
    >>> editor.add_object("layers/dense_1", {"0": kernel, "1": bias})
    >>> editor.compare(new_model)["status"]
    'success'
    >>> editor.save("edited.keras")
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from polykeras.saving.atomic import atomic_write
from polykeras.saving.keras_files import JSON_LIMIT, MEMBERS
from polykeras.saving.safety import ArchiveError, WeightsError, check_hdf5, open_archive, read_hdf5, read_member, \
    string_attr
from polykeras.saving.serialization import parse_json
from polykeras.saving.weights import FORMAT, KERAS_GROUPS

__all__ = ["KerasFileEditor"]

#: At most this many bytes of weights are read from a ``.keras`` archive.
WEIGHTS_LIMIT = 16 * 2**30

Tree = dict[str, Any]  # name -> np.ndarray (a weight) or Tree (an object)


def _read_tree(root: h5py.Group, where: str, load: bool = True) -> tuple[Tree, dict[str, str]]:
    """The weights tree under ``root`` in Keras' layout, and the layer name
    recorded for each object path. ``load=False`` keeps shapes, not data."""
    names: dict[str, str] = {}

    def leaf(dataset: h5py.Dataset) -> Any:
        return dataset[()] if load else tuple(dataset.shape)

    def read(group: h5py.Group, path: str, keys: Any) -> Tree:
        out: Tree = {}
        variables = group.get("vars")
        if isinstance(variables, h5py.Group):
            name = string_attr(variables, "name", where)
            if name is not None:
                names[path] = name
            for key in sorted(variables, key=lambda k: (0, int(k), "") if k.isdigit() else (1, 0, k)):
                item = variables[key]
                if not isinstance(item, h5py.Dataset):
                    raise WeightsError(f"{where}: {variables.name}/{key} is a group; Keras' 'vars' groups hold "
                                       "datasets only.")
                out[key] = leaf(item)
        for key in keys:
            if key == "vars":
                continue
            item = group[key]
            child_path = f"{path}/{key}".lstrip("/")
            if key in out:
                raise WeightsError(f"{where}: {group.name} has both a weight and an object named {key!r}.")
            if isinstance(item, h5py.Dataset):
                out[key] = leaf(item)
            elif isinstance(item, h5py.Group):
                sub = read(item, child_path, list(item))
                if sub:
                    out[key] = sub
        return out

    top = [key for key in root if key in KERAS_GROUPS] if string_attr(root, "format", where) == FORMAT \
        else list(root)
    if "layers" not in top and "vars" not in top:
        raise WeightsError(f"{where}: not a Keras 3 weights file; expected a 'layers' or 'vars' group at the top, "
                           f"found {sorted(root)[:10]}.")
    return read(root, "", top), names


def _as_weights(weights: Any, who: str) -> dict[str, np.ndarray]:
    if not isinstance(weights, dict):
        raise ValueError(f"KerasFileEditor.{who}: `weights` should be a dict mapping weight names (usually '0', "
                         f"'1', ...) to arrays; received {type(weights).__name__}.")
    out = {}
    for name, value in weights.items():
        if not isinstance(name, (str, int)) or isinstance(name, bool) or "/" in str(name) or str(name) == "":
            raise ValueError(f"KerasFileEditor.{who}: weight name {name!r} should be a non-empty string without "
                             "'/'.")
        try:
            array = np.asarray(value)
        except (TypeError, ValueError) as err:
            raise ValueError(f"KerasFileEditor.{who}: weight {name!r} is not an array ({err}).") from None
        if array.dtype.kind not in "biuf":
            raise ValueError(f"KerasFileEditor.{who}: weight {name!r} should be a numeric array; received dtype "
                             f"{array.dtype}.")
        out[str(name)] = array
    return out


def _shapes(tree: Tree) -> Tree:
    return {k: _shapes(v) if isinstance(v, dict) else tuple(np.shape(v)) for k, v in tree.items()}


class KerasFileEditor:
    """Inspect, edit and resave the weights of a Keras 3 file (``.keras`` or
    ``.weights.h5``), as Keras 3's ``keras.saving.KerasFileEditor``.

    Args:
        filepath: the file to open; read once, never modified.

    Example:
        >>> editor = KerasFileEditor("old.weights.h5")
        >>> editor.rename_object("dense_3", "dense_2")
        >>> editor.resave_weights("new.weights.h5")
    """

    def __init__(self, filepath: str | os.PathLike) -> None:
        self.filepath = str(filepath)
        self._where = where = self.filepath
        path = Path(filepath)
        if not path.is_file():
            raise FileNotFoundError(f"KerasFileEditor: no file at {where}.")
        self.config: Any = None
        self.metadata: Any = None
        self._members: dict[str, bytes] = {}
        error: type[Exception]
        if where.endswith(".keras"):
            archive, infos = open_archive(path, MEMBERS, where)
            with archive:
                for member in ("metadata.json", "config.json"):
                    self._members[member] = read_member(archive, infos[member], JSON_LIMIT, where)
                info = infos["model.weights.h5"]
                source: Any = read_member(archive, info, min(info.file_size, WEIGHTS_LIMIT), where)
            self.metadata = parse_json(self._members["metadata.json"], f"{where}: member 'metadata.json'",
                                       ArchiveError)
            self.config = parse_json(self._members["config.json"], f"{where}: member 'config.json'", ArchiveError)
            label, error = f"{where}: member 'model.weights.h5'", ArchiveError
        elif where.endswith(".weights.h5"):
            source, label, error = path, where, WeightsError
        else:
            raise ValueError(f"KerasFileEditor: {where} is not a Keras file; expected a '.keras' or '.weights.h5' "
                             "extension.")
        with read_hdf5(source, label, error) as f:
            check_hdf5(f, label)
            self.weights_dict, self._names = _read_tree(f, label)

    # ------------------------------------------------------------- lookup
    def _objects(self) -> list[str]:
        out = []

        def walk(tree: Tree, prefix: str) -> None:
            for key, value in tree.items():
                if isinstance(value, dict):
                    out.append(prefix + key)
                    walk(value, f"{prefix}{key}/")

        walk(self.weights_dict, "")
        return out

    def _find(self, object_name: Any, who: str) -> tuple[Tree, str, str]:
        """``(parent dict, key, full path)`` of the object named ``object_name``."""
        if not isinstance(object_name, str) or not object_name.strip("/"):
            raise ValueError(f"KerasFileEditor.{who}: object name should be a non-empty string; received "
                             f"{object_name!r}.")
        name = object_name.strip("/")
        if "/" in name:
            parts = name.split("/")
            parent = self.weights_dict
            for depth, part in enumerate(parts):
                value = parent.get(part)
                if not isinstance(value, dict):
                    here = "/".join(parts[:depth]) or "the top"
                    objects = [k for k, v in parent.items() if isinstance(v, dict)]
                    raise ValueError(f"KerasFileEditor.{who}: {self._where} has no object {name!r} (no {part!r} "
                                     f"under {here}; objects there: {objects}).")
                if depth < len(parts) - 1:
                    parent = value
            return parent, parts[-1], name
        paths = [p for p in self._objects() if p.rsplit("/", 1)[-1] == name]
        if not paths:
            raise ValueError(f"KerasFileEditor.{who}: {self._where} has no object named {name!r}; objects: "
                             f"{self._objects()[:40]} (see summary()).")
        if len(paths) > 1:
            raise ValueError(f"KerasFileEditor.{who}: the name {name!r} occurs {len(paths)} times in "
                             f"{self._where} ({paths}); pass a full path.")
        return self._find(paths[0], who) if "/" in paths[0] else (self.weights_dict, name, name)

    def _drop_names(self, path: str) -> None:
        for key in [k for k in self._names if k == path or k.startswith(path + "/")]:
            del self._names[key]

    # ------------------------------------------------------------- edits
    def rename_object(self, object_name: str, new_name: str) -> None:
        """Rename an object (``"dense_2"`` or ``"layers/dense_2"``); ``new_name`` is a leaf name.
        Example: ``editor.rename_object("dense_3", "dense_2")``"""
        if not isinstance(new_name, str) or not new_name or "/" in new_name:
            raise ValueError(f"KerasFileEditor.rename_object: new_name should be a leaf name (no '/'); received "
                             f"{new_name!r}.")
        parent, key, path = self._find(object_name, "rename_object")
        if new_name in parent and new_name != key:
            raise ValueError(f"KerasFileEditor.rename_object: {self._where} already has {new_name!r} beside "
                             f"{path!r}; delete it first.")
        new_path = f"{path.rsplit('/', 1)[0]}/{new_name}" if "/" in path else new_name
        moved = {(new_path + k[len(path):]): v for k, v in self._names.items() if k == path or
                 k.startswith(path + "/")}
        self._drop_names(path)
        self._names.update(moved)
        self._names[new_path] = new_name
        items = [(new_name if k == key else k, v) for k, v in parent.items()]
        parent.clear()
        parent.update(items)

    def delete_object(self, object_name: str) -> None:
        """Remove an object and everything under it. Example: ``editor.delete_object("layers/dense_2")``"""
        parent, key, path = self._find(object_name, "delete_object")
        del parent[key]
        self._drop_names(path)

    def add_object(self, object_path: str, weights: dict[str, Any]) -> None:
        """Add a new object at ``object_path`` (its parent must exist) holding
        ``weights`` (``{"0": kernel, "1": bias}``).
        Example: ``editor.add_object("layers/dense_2", {"0": kernel, "1": bias})``"""
        arrays = _as_weights(weights, "add_object")
        if not isinstance(object_path, str) or not object_path.strip("/"):
            raise ValueError(f"KerasFileEditor.add_object: object_path should be a non-empty path; received "
                             f"{object_path!r}.")
        path = object_path.strip("/")
        parent = self.weights_dict
        if "/" in path:
            container, name, _ = self._find(path.rsplit("/", 1)[0], "add_object")
            parent = container[name]
        key = path.rsplit("/", 1)[-1]
        if key in parent:
            raise ValueError(f"KerasFileEditor.add_object: {self._where} already has {path!r}; use add_weights to "
                             "add to it, or delete_object first.")
        parent[key] = arrays
        self._names[path] = key

    def delete_weight(self, object_name: str, weight_name: str) -> None:
        """Remove weight ``weight_name`` (e.g. ``"0"``) from an object.
        Example: ``editor.delete_weight("dense_2", "1")``"""
        parent, key, path = self._find(object_name, "delete_weight")
        obj = parent[key]
        if not isinstance(obj.get(str(weight_name)), np.ndarray):
            raise ValueError(f"KerasFileEditor.delete_weight: object {path!r} of {self._where} has no weight "
                             f"{weight_name!r}; its weights: {[k for k, v in obj.items() if not isinstance(v, dict)]}.")
        del obj[str(weight_name)]

    def add_weights(self, object_name: str, weights: dict[str, Any]) -> None:
        """Add (or replace, with the same shape) weights of an existing object.
        Example: ``editor.add_weights("dense_2", {"1": bias})``"""
        arrays = _as_weights(weights, "add_weights")
        parent, key, path = self._find(object_name, "add_weights")
        obj = parent[key]
        for name, array in arrays.items():
            old = obj.get(name)
            if isinstance(old, dict):
                raise ValueError(f"KerasFileEditor.add_weights: {name!r} is an object under {path!r}, not a weight.")
            if old is not None and old.shape != array.shape:
                raise ValueError(f"KerasFileEditor.add_weights: weight {name!r} of {path!r} has shape {old.shape}; "
                                 f"received shape {array.shape}. Delete it first to change its shape.")
        obj.update(arrays)

    # ------------------------------------------------------------ reports
    def summary(self) -> None:
        """Print the file's objects and weights (shape, dtype).
        Example: ``editor.summary()``"""
        print(self._describe())

    def _describe(self) -> str:
        head = f"Keras model file {self._where}"
        if isinstance(self.metadata, dict):
            head += f" (saved with Keras {self.metadata.get('keras_version', '?')}"
            head += f", {self.metadata['date_saved']})" if "date_saved" in self.metadata else ")"
        lines = [head, "Weights structure"]

        def walk(tree: Tree, indent: int, prefix: str) -> None:
            for key, value in tree.items():
                pad = "  " * indent
                if isinstance(value, dict):
                    name = self._names.get(prefix + key)
                    lines.append(f"{pad}{key}" + (f" (name {name!r})" if name and name != key else ""))
                    walk(value, indent + 1, f"{prefix}{key}/")
                else:
                    lines.append(f"{pad}{key}: shape={tuple(value.shape)}, dtype={value.dtype}")

        walk(self.weights_dict, 1, "")
        return "\n".join(lines)

    def compare(self, reference_model: Any) -> dict[str, Any]:
        """Compare the file's weights with ``reference_model``'s (paths and
        shapes, both ways), print each mismatch and return ``{"status":
        "success" | "error", "error_count": ..., "match_count": ...}``.

        Example: ``editor.compare(model)`` -> ``{'status': 'success', 'error_count': 0, 'match_count': 4}``
        """
        from polykeras.saving.keras_writer import write_keras_layout

        if not hasattr(reference_model, "weights") or not hasattr(reference_model, "layers"):
            raise TypeError(f"KerasFileEditor.compare: expected a model; received {type(reference_model).__name__}.")
        buffer = io.BytesIO()
        with h5py.File(buffer, "w") as f:
            write_keras_layout(f, reference_model, put=lambda parent, name, variable: parent.create_dataset(
                name, shape=tuple(variable.shape), dtype="f4"))
            optimizer = getattr(reference_model, "optimizer", None)
            if optimizer is not None and getattr(optimizer, "built", False):
                group = f.create_group("optimizer").create_group("vars")
                for index, variable in enumerate(optimizer.variables):
                    group.create_dataset(str(index), shape=tuple(variable.shape), dtype="f4")
            reference = _read_tree(f, "reference model", load=False)[0] if len(f) else {}
        ours = _shapes(self.weights_dict)
        checked: set[str] = set()
        report: list[str] = []

        def walk(a: Tree, b: Tree, path: str, a_name: str, b_name: str) -> tuple[int, int]:
            errors = matches = 0
            for key, value in a.items():
                here = f"{path}/{key}"
                if here in checked:
                    continue
                other = b.get(key)
                if other is None:
                    kind = "Object" if isinstance(value, dict) else "Weight"
                    report.append(f"...{kind} {here} present in {a_name}, missing from {b_name}")
                elif isinstance(value, dict) != isinstance(other, dict):
                    report.append(f"...{here} is an object in one and a weight in the other")
                elif isinstance(value, dict):
                    e, m = walk(value, other, here, a_name, b_name)
                    errors, matches = errors + e, matches + m
                    continue
                elif value != other:
                    report.append(f"...Weight shape mismatch for {here}: {a_name} {value}, {b_name} {other}")
                else:
                    matches += 1
                    continue
                errors += 1
                checked.add(here)
            return errors, matches

        errors, matches = walk(reference, ours, "", "reference model", "saved file")
        errors += walk(ours, reference, "", "saved file", "reference model")[0]
        status = "success" if errors == 0 else "error"
        report.append(f"Comparison successful: {matches} matching weight(s)" if errors == 0 else
                      f"Found {errors} error(s): {self._where} is not compatible with the reference model")
        print("\n".join(report))
        return {"status": status, "error_count": errors, "match_count": matches}

    # ------------------------------------------------------------- output
    def _weights_bytes(self) -> bytes:
        buffer = io.BytesIO()

        def write(group: h5py.Group, tree: Tree, path: str) -> None:
            arrays = {k: v for k, v in tree.items() if not isinstance(v, dict)}
            if arrays or path in self._names:
                variables = group.create_group("vars")
                if path in self._names:
                    variables.attrs["name"] = self._names[path]
                for key, value in arrays.items():
                    variables.create_dataset(key, data=value)
            for key, value in tree.items():
                if isinstance(value, dict):
                    write(group.create_group(key), value, f"{path}/{key}".lstrip("/"))

        with h5py.File(buffer, "w") as f:
            write(f, self.weights_dict, "")
        return buffer.getvalue()

    def save(self, filepath: str | os.PathLike) -> None:
        """Write the edited file: a ``.weights.h5`` (the weights), or a
        ``.keras`` when a ``.keras`` was opened (its config and metadata as
        they were, the edited weights).
        Example: ``editor.save("edited.keras")``"""
        target = str(filepath)
        if target.endswith(".weights.h5"):
            atomic_write(target, self._weights_bytes())
            return
        if not target.endswith(".keras"):
            raise ValueError(f"KerasFileEditor.save: {target} should end in '.weights.h5' or '.keras'.")
        if not self._members:
            raise ValueError(f"KerasFileEditor.save: {target} is a '.keras' archive, which needs a model config; "
                             f"{self._where} is a weights file without one. Save to a '.weights.h5' instead.")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for member, data in self._members.items():
                archive.writestr(member, data)
            archive.writestr("model.weights.h5", self._weights_bytes())
        atomic_write(target, buffer.getvalue())

    def resave_weights(self, filepath: str | os.PathLike) -> None:
        """Write the edited weights to a ``.weights.h5``.
        Example: ``editor.resave_weights("edited.weights.h5")``"""
        if not str(filepath).endswith(".weights.h5"):
            raise ValueError(f"KerasFileEditor.resave_weights: {filepath} should end in '.weights.h5'.")
        self.save(filepath)
