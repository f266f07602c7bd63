"""``plot_model``: a model's graph drawn by Graphviz's ``dot`` (PNG, SVG, PDF).

The graph is written in the DOT language and handed to the ``dot`` program
(Debian's ``graphviz`` package); no Python binding is needed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from polykeras.symbolic import SymbolicTensor, nodes_of


def _label(layer: Any, show_shapes: bool, show_layer_names: bool, show_dtype: bool) -> str:
    title = f"{layer.name} ({type(layer).__name__})" if show_layer_names else type(layer).__name__
    rows = [title]
    nodes = nodes_of(layer)
    if show_shapes and nodes:
        inputs = [t.shape for t in nodes[0].input_tensors] or [t.shape for t in nodes[0].outputs]
        outputs = [t.shape for t in nodes[0].outputs]
        shown = lambda shapes: ", ".join(str(s) for s in shapes)  # noqa: E731
        rows.append(f"input: {shown(inputs)}")
        rows.append(f"output: {shown(outputs)}")
    if show_dtype:
        rows.append(f"dtype: {layer.dtype}")
    return "\\n".join(row.replace('"', "'") for row in rows)


def model_to_dot(model: Any, show_shapes: bool = True, show_layer_names: bool = True,
                 show_dtype: bool = False, rankdir: str = "TB") -> str:
    """The model's graph as DOT source. Example: ``print(model_to_dot(model))``"""
    graph = getattr(model, "_graph", None) or model
    layers = list(getattr(graph, "_graph_layers", None) or model.layers)
    ids = {id(layer): f"layer_{i}" for i, layer in enumerate(layers)}
    lines = [f'digraph "{model.name}" {{', f"  rankdir={rankdir};", '  node [shape=record, fontname="Helvetica"];']
    for layer in layers:
        lines.append(f'  {ids[id(layer)]} [label="{_label(layer, show_shapes, show_layer_names, show_dtype)}"];')
    mine = {id(n) for n in getattr(graph, "_nodes", [])}
    edges = set()
    for layer in layers:
        for node in nodes_of(layer):
            if mine and id(node) not in mine:
                continue
            for tensor in node.input_tensors:
                source = tensor.node.layer if isinstance(tensor, SymbolicTensor) and tensor.node else None
                if source is not None and id(source) in ids:
                    edges.add((ids[id(source)], ids[id(layer)]))
    if not mine:  # no graph (subclassed): draw the layers in order
        edges = {(ids[id(a)], ids[id(b)]) for a, b in zip(layers, layers[1:])}
    lines.extend(f"  {a} -> {b};" for a, b in sorted(edges))
    lines.append("}")
    return "\n".join(lines)


def plot_model(model: Any, to_file: str | os.PathLike = "model.png", show_shapes: bool = True,
               show_layer_names: bool = True, show_dtype: bool = False, rankdir: str = "TB",
               dpi: int = 96) -> Path:
    """Draw ``model`` to ``to_file``; the format follows the extension (png,
    svg, pdf, dot). Needs Graphviz's ``dot`` program except for ``.dot``.

    Example: ``plot_model(model, "model.svg", show_shapes=True)``
    """
    path = Path(to_file)
    fmt = path.suffix.lstrip(".").lower() or "png"
    source = model_to_dot(model, show_shapes, show_layer_names, show_dtype, rankdir)
    if fmt == "dot":
        path.write_text(source)
        return path
    if fmt not in ("png", "svg", "pdf", "jpg", "jpeg"):
        raise ValueError(f"plot_model: expected a file ending in .png, .svg, .pdf, .jpg or .dot, "
                         f"received {path.name!r}.")
    dot = shutil.which("dot")
    if dot is None:
        raise OSError("plot_model needs Graphviz's 'dot' program, which was not found on PATH. Install Graphviz "
                      "(Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz).")
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("wb", dir=path.parent, prefix=f".{path.name}.", delete=False) as tmp:
        temp = Path(tmp.name)
    try:
        done = subprocess.run([dot, f"-T{fmt}", f"-Gdpi={dpi}", "-o", str(temp)], input=source.encode(),
                              capture_output=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"plot_model: dot failed for {path.name}: {done.stderr.decode(errors='replace')[:500]}")
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return path
