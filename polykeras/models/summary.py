"""``Model.summary()``: the layer table, drawn with rich in a terminal and as
plain text elsewhere (or when ``print_fn`` is given).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from polykeras.symbolic import SymbolicTensor, nodes_of


def count_params(weights: list[Any]) -> int:
    """Total number of scalars in ``weights``. Example: ``count_params(model.weights)``"""
    seen: set[int] = set()
    total = 0
    for w in weights:
        if id(w) not in seen:
            seen.add(id(w))
            total += int(np.prod(w.shape, dtype=np.int64))
    return total


def _size(weights: list[Any]) -> str:
    seen: set[int] = set()
    total = 0
    for w in weights:
        if id(w) not in seen:
            seen.add(id(w))
            itemsize = np.dtype(w.dtype if w.dtype != "bfloat16" else "float16").itemsize
            total += int(np.prod(w.shape, dtype=np.int64)) * itemsize
    size = float(total)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.2f} {unit}" if unit != "B" else f"{total} B"
        size /= 1024
    return ""


def _shape_text(shapes: list[tuple]) -> str:
    return ", ".join(str(s) for s in shapes) if shapes else "?"


def _rows(model: Any, expand_nested: bool = False, depth: int = 0
          ) -> tuple[list[tuple[str, ...]], bool, list[str | None]]:
    """(name (type), output shape, params, connected to, trainable) per layer,
    the layers' names beside; with ``expand_nested`` a nested model's layers
    follow its row, indented (their names None: ``layer_range`` picks among
    the model's own layers)."""
    graph = getattr(model, "_graph", None) or model
    nodes = getattr(graph, "_nodes", None)
    functional = nodes is not None and type(model).__name__ != "Sequential"
    rows: list[tuple[str, ...]] = []
    # A graph's rows are its operations, op nodes (``x + 1``) included, as in Keras 3's summary.
    layers = list(getattr(graph, "operations", None) or getattr(graph, "layers", model.layers)) \
        if nodes is not None else model.layers
    if type(model).__name__ == "Sequential":
        layers = model.layers
    mine = {id(n) for n in nodes or ()}
    names: list[str | None] = []
    indent = "  " * depth + ("└ " if depth else "")
    for layer in layers:
        own = [n for n in nodes_of(layer) if id(n) in mine or not mine]
        if nodes is not None:
            shapes = [t.shape for n in own for t in n.outputs]
            if not own and hasattr(layer, "output"):
                shapes = [layer.output.shape]
        else:
            shapes = []
        sources = []
        for node in own:
            for tensor in node.input_tensors:
                if isinstance(tensor, SymbolicTensor) and tensor.node is not None:
                    sources.append(f"{tensor.node.layer.name}[{nodes_of(tensor.node.layer).index(tensor.node)}][{tensor.index}]")
        rows.append((f"{indent}{layer.name} ({type(layer).__name__})", _shape_text(shapes),
                     f"{count_params(layer.weights):,}", ", ".join(sources) or "-",
                     "Y" if layer.trainable else "N"))
        names.append(layer.name)
        if expand_nested and layer is not model and hasattr(layer, "layers") and hasattr(layer, "summary"):
            inner, _, _ = _rows(layer, True, depth + 1)
            rows += inner
            names += [None] * len(inner)
    return rows, functional, names


def _in_range(rows: list[tuple[str, ...]], names: list[str | None], layer_range: Any, who: str
              ) -> list[tuple[str, ...]]:
    """The rows from the first layer whose name matches ``layer_range[0]`` to
    the last matching ``layer_range[1]`` (``re.match`` patterns), with the
    rows of the nested layers under them, as Keras 3."""
    if layer_range is None:
        return rows
    if not isinstance(layer_range, (list, tuple)) or len(layer_range) != 2 or not all(
            isinstance(pattern, str) for pattern in layer_range):
        raise ValueError(f"{who}: expected layer_range to be two layer names (or regular expressions), "
                         f"received {layer_range!r}.")
    start = [i for i, name in enumerate(names) if name is not None and re.match(layer_range[0], name)]
    end = [i for i, name in enumerate(names) if name is not None and re.match(layer_range[1], name)]
    if not start or not end or start[0] > end[-1]:
        raise ValueError(f"{who}: layer_range {list(layer_range)} names no range of the layers "
                         f"{[name for name in names if name is not None]}.")
    stop = end[-1] + 1
    while stop < len(names) and names[stop] is None:  # the nested rows under the last layer
        stop += 1
    return rows[start[0]:stop]


def _widths(positions: Any, line_length: int | None, columns: int, who: str) -> list[int]:
    """Column widths from Keras's ``positions``: each column's right edge,
    as fractions of ``line_length`` (all at most 1) or as character counts."""
    if len(positions) != columns:
        raise ValueError(f"{who}: expected {columns} positions (one per column), received {list(positions)}.")
    if all(p <= 1 for p in positions):
        positions = [int((line_length or 98) * p) for p in positions]
    edges = [0, *positions]
    widths = [int(b) - int(a) - 2 for a, b in zip(edges, edges[1:])]
    if any(w < 1 for w in widths):
        raise ValueError(f"{who}: expected increasing positions, received {list(positions)}.")
    return widths


def print_summary(model: Any, line_length: int | None = None, print_fn: Callable[[str], Any] | None = None,
                  expand_nested: bool = False, show_trainable: bool = False, positions: Any = None,
                  layer_range: Any = None) -> None:
    """Print ``model``'s summary (see ``Model.summary``)."""
    rows, functional, names = _rows(model, expand_nested)
    who = f"Model {model.name!r}.summary"
    rows = _in_range(rows, names, layer_range, who)
    headers = ["Layer (type)", "Output Shape", "Param #"] + (["Connected to"] if functional else [])
    if show_trainable:
        headers.append("Trainable")
    rows = [(row[:4] if functional else row[:3]) + (row[4:] if show_trainable else ()) for row in rows]
    totals = [
        f"Total params: {count_params(model.weights):,} ({_size(model.weights)})",
        f"Trainable params: {count_params(model.trainable_weights):,} ({_size(model.trainable_weights)})",
        f"Non-trainable params: {count_params(model.non_trainable_weights):,} ({_size(model.non_trainable_weights)})",
    ]
    title = f'Model: "{model.name}"'
    if print_fn is None and sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title, width=line_length)
        fixed = _widths(positions, line_length, len(headers), who) if positions is not None else [None] * len(headers)
        for header, width in zip(headers, fixed):
            table.add_column(header, justify="right" if header == "Param #" else "left", width=width)
        for row in rows:
            table.add_row(*row)
        console = Console()
        console.print(table)
        for line in totals:
            console.print(line)
        return
    emit = print_fn or print
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    if positions is not None:  # cells wider than their column run over, as in Keras's plain text
        widths = _widths(positions, line_length, len(headers), who)
    elif line_length:
        widths[-1] = max(widths[-1], line_length - sum(widths[:-1]) - 2 * (len(widths) - 1))
    rule = "-" * (sum(widths) + 2 * (len(widths) - 1))
    emit(title)
    emit(rule)
    emit("  ".join(h.ljust(w) for h, w in zip(headers, widths)))
    emit(rule.replace("-", "="))
    for row in rows:
        emit("  ".join(cell.ljust(w) for cell, w in zip(row, widths)))
    emit(rule)
    for line in totals:
        emit(line)
