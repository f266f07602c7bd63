"""Symbolic tensors: shapes and dtypes that remember which layer made them.

``polykeras.Input(shape=(784,))`` returns a :class:`SymbolicTensor`. Calling a
layer on symbolic tensors builds the layer, infers the output shape without
real data, and records a :class:`Node` linking inputs -> layer -> outputs; a
functional ``Model(inputs, outputs)`` is the graph of those nodes.

Output shapes come from the layer's own ``compute_output_shape`` where it has
one; otherwise the layer's ``call`` is traced on small zero tensors on the
active engine (twice, with two sizes for every unknown dimension, so a dimension
that follows them is known to be unknown), so custom layers need not write it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from polykeras.backends.dtypes import standardize_dtype

Shape = tuple[int | None, ...]
_names = itertools.count()


class SymbolicTensor:
    """A placeholder with a shape (``None`` for unknown sizes) and a dtype.

    Example:
        >>> x = SymbolicTensor((None, 8), "float32", name="features")
        >>> x.shape
        (None, 8)
    """

    def __init__(self, shape: Sequence[int | None], dtype: str = "float32", name: str | None = None,
                 node: Node | None = None, index: int = 0, has_mask: bool = False):
        self.shape: Shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = standardize_dtype(dtype)
        self.name = name or f"tensor_{next(_names)}"
        self.node = node  # the Node that produced it; None for an Input
        self.index = index  # position among that node's outputs
        self.has_mask = has_mask

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        return f"<SymbolicTensor name={self.name} shape={self.shape} dtype={self.dtype}>"

    def __bool__(self) -> bool:
        raise TypeError(
            f"A symbolic tensor ({self.name}) has no value to test: use it in a layer, "
            "or give data to the model."
        )


@dataclass(frozen=True)
class Spec:
    """The shape and dtype of a traced output (a leaf, unlike a tuple)."""

    shape: Shape
    dtype: str


@dataclass(eq=False)
class Node:
    """One call of a layer in a graph: ``outputs = layer(inputs, **kwargs)``."""

    layer: Any
    args: tuple  # positional arguments of the call, SymbolicTensors at the leaves
    kwargs: dict[str, Any]  # keyword arguments; may hold SymbolicTensors too
    outputs: list[SymbolicTensor] = field(default_factory=list)

    @property
    def input_tensors(self) -> list[SymbolicTensor]:
        """Every symbolic tensor the call consumed, args then kwargs."""
        return [t for t in flatten((list(self.args), self.kwargs)) if isinstance(t, SymbolicTensor)]


def flatten(structure: Any) -> list[Any]:
    """Leaves of nested lists/tuples/dicts, dicts in sorted-key order."""
    if isinstance(structure, dict):
        return [leaf for key in sorted(structure) for leaf in flatten(structure[key])]
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flatten(item)]
    return [structure]


def map_structure(fn: Callable[[Any], Any], structure: Any) -> Any:
    """``structure`` with every leaf replaced by ``fn(leaf)``."""
    if isinstance(structure, dict):
        return {key: map_structure(fn, value) for key, value in structure.items()}
    if isinstance(structure, (list, tuple)):
        mapped = [map_structure(fn, item) for item in structure]
        return mapped if isinstance(structure, list) else tuple(mapped)
    return fn(structure)


def any_symbolic(structure: Any) -> bool:
    """True when a leaf of ``structure`` is a :class:`SymbolicTensor`."""
    return any(isinstance(leaf, SymbolicTensor) for leaf in flatten(structure))


def shape_structure(structure: Any) -> Any:
    """The shapes of a structure of symbolic tensors, in the same structure;
    a single tensor gives a single shape tuple."""
    return map_structure(lambda t: t.shape if isinstance(t, SymbolicTensor) else t, structure)


def _concrete(structure: Any, size: int) -> Any:
    from polykeras import ops

    def zeros(t: Any) -> Any:
        if not isinstance(t, SymbolicTensor):
            return t
        return ops.zeros(tuple(size if d is None else d for d in t.shape), t.dtype)

    return map_structure(zeros, structure)


def trace_output_spec(fn: Callable[[Any], Any], inputs: Any) -> Any:
    """Shapes and dtypes of ``fn(inputs)`` for symbolic ``inputs``, found by
    running ``fn`` on zeros twice (unknown sizes as 2, then 3); output sizes
    that differ between the runs are unknown.

    Returns the output structure with :class:`Spec` leaves.
    """
    from polykeras import ops

    first = fn(_concrete(inputs, 2))
    if not any(d is None for t in flatten(inputs) if isinstance(t, SymbolicTensor) for d in t.shape):
        return map_structure(lambda y: Spec(tuple(ops.shape(y)), ops.dtype(y)), first)
    second = fn(_concrete(inputs, 3))

    def spec(pair: tuple[Any, Any]) -> Spec:
        a, b = pair
        sa, sb = tuple(ops.shape(a)), tuple(ops.shape(b))
        if len(sa) != len(sb):
            raise ValueError(f"The output rank depends on unknown input sizes ({sa} vs {sb}).")
        return Spec(tuple(x if x == y else None for x, y in zip(sa, sb)), ops.dtype(a))

    flat = [spec(pair) for pair in zip(flatten(first), flatten(second))]
    leaves = iter(flat)
    return map_structure(lambda _: next(leaves), first)


__all__ = [
    "Node",
    "Spec",
    "SymbolicTensor",
    "any_symbolic",
    "flatten",
    "map_structure",
    "nodes_of",
    "symbolic_call",
    "shape_structure",
    "trace_output_spec",
]


def nodes_of(layer: Any) -> list[Node]:
    """The graph nodes where ``layer`` was called on symbolic tensors, in order
    (kept outside attribute tracking)."""
    return layer.__dict__.setdefault("_inbound_nodes", [])


def symbolic_call(layer: Any, args: tuple, kwargs: dict[str, Any]) -> Any:
    """Call ``layer`` on symbolic inputs: build it, infer the outputs by
    tracing, and record the :class:`Node`. Returns symbolic outputs shaped like
    the layer's real outputs.

    This is the hook ``Layer.__call__`` takes when any input is symbolic.
    """
    specs = trace_output_spec(lambda structure: layer(*structure[0], **structure[1]), (args, kwargs))
    node = Node(layer, args, kwargs)
    position = itertools.count()

    def symbolic(spec: Spec) -> SymbolicTensor:
        index = next(position)
        return SymbolicTensor(spec.shape, spec.dtype, name=f"{layer.name}/{len(nodes_of(layer))}/{index}",
                              node=node, index=index)

    outputs = map_structure(symbolic, specs)
    node.outputs = flatten(outputs)
    nodes_of(layer).append(node)
    return outputs
