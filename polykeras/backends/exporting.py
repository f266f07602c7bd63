"""The export hooks of the backend protocol: what an engine contributes so a
model leaves polykeras as its framework's own deployable artifact.

The export floor (:mod:`polykeras.export`) hands an engine pure functions
``fn(weights, *args)`` (the model's forward pass reading ``weights``, a list
of this engine's tensors, one per :class:`ExportWeight`) and input
signatures (nests of :class:`~polykeras.backends.base.Spec`, ``None`` for a
dynamic size; axis 0 of every input is the one batch dimension). The engine
traces them with its framework's own exporter and writes the artifact to a
path the floor renames into place once it is complete.

Example:
    >>> engine.export_program("jax", [endpoint], weights, {}, "/tmp/.model.tmp", {})
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ExportEndpoint", "ExportHooks", "ExportWeight", "unsupported_op"]


@dataclass(frozen=True)
class ExportWeight:
    """One weight of an exported program: its path name, its value (a host
    NumPy array) and whether it is trainable.

    Example: ``ExportWeight("dense/kernel", np.zeros((8, 4), "float32"), True)``
    """

    path: str
    value: Any
    trainable: bool


@dataclass(frozen=True)
class ExportEndpoint:
    """A function to export: ``fn(weights, *args)`` returns a nest of
    tensors; ``signature`` holds one nest of ``Spec`` per positional
    argument; ``names`` optionally names the flattened inputs.

    Example: ``ExportEndpoint("serve", fn, [Spec((None, 8), "float32")])``
    """

    name: str
    fn: Callable[..., Any]
    signature: list[Any]
    names: list[str] | None = field(default=None)


_OP = re.compile(r"\b(aten[.:]{1,2}[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)?)")


def unsupported_op(err: BaseException) -> str:
    """The operator a converter's error names as the one it could not write
    (``aten.linalg_qr``, ``aten::linalg_eigh``...); ``""`` when it names none.

    Example: ``unsupported_op(err)`` -> ``"aten.linalg_qr"``
    """
    found = _OP.search(str(err))
    return found.group(1) if found else ""


class ExportHooks:
    """Export hooks an engine may implement, kept out of :class:`Backend`'s
    own namespace as the distribution hooks are. ``export_formats`` lists
    the formats the engine writes; the default writes none and raises a
    ``NotImplementedError`` naming the format.

    Example:
        >>> "torch" in backends.get("torch").export_formats
        True
    """

    name: str = ""
    #: The formats :meth:`export_program` writes (``"tf_saved_model"``, ``"onnx"``, ...).
    export_formats: frozenset[str] = frozenset()

    def export_program(self, format: str, endpoints: Sequence[ExportEndpoint], weights: Sequence[ExportWeight],
                       collections: Mapping[str, Sequence[int]], path: str, options: Mapping[str, Any]) -> None:
        """Trace ``endpoints`` with this framework's exporter and write the
        ``format`` artifact to ``path`` (a file, or a folder for SavedModel).
        ``collections`` names groups of weights (indices into ``weights``)
        that a format with variable collections keeps; ``options`` are the
        format's own keyword arguments (``opset_version`` for ONNX).
        Batch sizes stay dynamic. Raises ``NotImplementedError`` for a
        format the engine does not write."""
        raise NotImplementedError(f"The {self.name!r} engine cannot export format {format!r} "
                                  f"(export_program); it writes {sorted(self.export_formats) or 'no format'}.")
