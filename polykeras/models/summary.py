"""``Model.summary()``: the layer table, drawn with rich in a terminal and as
plain text elsewhere (or when ``print_fn`` is given).
"""

from __future__ import annotations

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


def _rows(model: Any) -> tuple[list[tuple[str, ...]], bool]:
    """(name (type), output shape, params, connected to, trainable) per layer."""
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
        rows.append((f"{layer.name} ({type(layer).__name__})", _shape_text(shapes),
                     f"{count_params(layer.weights):,}", ", ".join(sources) or "-",
                     "Y" if layer.trainable else "N"))
    return rows, functional


def print_summary(model: Any, line_length: int | None = None, print_fn: Callable[[str], Any] | None = None,
                  expand_nested: bool = False, show_trainable: bool = False) -> None:
    """Print ``model``'s summary (see ``Model.summary``)."""
    rows, functional = _rows(model)
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
        for header in headers:
            table.add_column(header, justify="right" if header == "Param #" else "left")
        for row in rows:
            table.add_row(*row)
        console = Console()
        console.print(table)
        for line in totals:
            console.print(line)
        return
    emit = print_fn or print
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    if line_length:
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
