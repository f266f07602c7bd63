"""Symbolic tensors: shapes and dtypes that remember which layer made them.

``polykeras.Input(shape=(784,))`` returns a :class:`SymbolicTensor`. Calling a
layer on symbolic tensors builds the layer, infers the output shape without
real data, and records a :class:`Node` linking inputs -> layer -> outputs; a
functional ``Model(inputs, outputs)`` is the graph of those nodes.

Output specs come from the layer's own ``compute_output_spec`` or
``compute_output_shape`` (dtype: the layer's compute dtype) where it has one;
otherwise from an abstract evaluation of its ``call`` by the active engine
(``Backend.compute_output_spec``: ``jax.eval_shape``, torch fake tensors, a
TensorFlow graph trace, the NumPy engine's shape-only arrays), which runs no
kernel. An unknown dimension is
evaluated at two sizes; an output size that differs between the two is
unknown. Weights are built on the host first, from the symbolic shapes, so
``build`` sees ``None`` where a size is unknown.

A symbolic tensor may have the dtype ``"string"`` (``Input(shape=(1,),
dtype="string")``): the engines hold no strings, so only the layers that run
on the host (``StringLookup``, ``Hashing``, ``HashedCrossing``,
``TextVectorization``: their class sets ``runs_on_host = True``) take one; any
other layer called on it is refused, naming the layer. A functional model
computes those host layers on the data before its compiled step
(:mod:`polykeras.models.host_stage`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from polykeras.backends.base import Spec
from polykeras.backends.dtypes import standardize_dtype
from polykeras.symbolic_operators import SymbolicOperators

Shape = tuple[int | None, ...]
_names = itertools.count()

#: The dtype of symbolic string tensors (host data: NumPy arrays of str/bytes).
STRING = "string"


def symbolic_dtype(dtype: Any) -> str:
    """A symbolic tensor's dtype: an engine dtype's canonical name, or
    :data:`STRING` for text (``"string"``, ``str``, ``bytes``).
    Example: ``symbolic_dtype(str)`` -> ``'string'``"""
    if dtype in (STRING, "str", str, bytes, "bytes", "object"):
        return STRING
    return standardize_dtype(dtype)


class SymbolicTensor(SymbolicOperators):
    """A placeholder with a shape (``None`` for unknown sizes) and a dtype.
    Every op and Python operator accepts it and records a graph node
    (:mod:`polykeras.symbolic_operators`).

    Example:
        >>> x = SymbolicTensor((None, 8), "float32", name="features")
        >>> x.shape
        (None, 8)
    """

    def __init__(self, shape: Sequence[int | None], dtype: str = "float32", name: str | None = None,
                 node: Node | None = None, index: int = 0, has_mask: bool = False):
        self.shape: Shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = symbolic_dtype(dtype)
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


#: The sizes an unknown dimension takes in the two abstract evaluations:
#: far enough apart that windows and strides up to 24 give different output
#: sizes. The second pair is tried when the first fails (a reshape that
#: needs a multiple of 5, a window wider than 24).
PROBE_SIZES = ((24, 48), (120, 240))


def _refill(structure: Any, leaves: Any) -> Any:
    """``structure`` with its leaves taken in :func:`flatten`'s order from the
    iterator ``leaves`` (dicts keep their own key order)."""
    if isinstance(structure, dict):
        filled = {key: _refill(structure[key], leaves) for key in sorted(structure)}
        return {key: filled[key] for key in structure}
    if isinstance(structure, (list, tuple)):
        items = [_refill(item, leaves) for item in structure]
        return items if isinstance(structure, list) else tuple(items)
    return next(leaves)


def _merge(first: Any, second: Any) -> Any:
    if not isinstance(first, Spec) or not isinstance(second, Spec):
        return first
    if len(first.shape) != len(second.shape):
        raise ValueError(f"The output rank depends on unknown input sizes ({first.shape} vs {second.shape}).")
    return Spec(tuple(a if a == b else None for a, b in zip(first.shape, second.shape)), first.dtype)


def trace_output_spec(fn: Callable[[Any], Any], inputs: Any) -> Any:
    """Shapes and dtypes of ``fn(inputs)`` for ``inputs`` holding symbolic
    tensors, found by the active engine's abstract evaluation
    (``Backend.compute_output_spec``): no kernel runs and no variable or loss
    list changes. Every unknown size is evaluated at two sizes
    (:data:`PROBE_SIZES`); output sizes that differ between the two are unknown.

    Returns the output structure with :class:`Spec` leaves (leaves that are
    not tensors, such as ``None``, as ``fn`` returned them).

    Example:
        >>> x = SymbolicTensor((None, 4), "float32")
        >>> trace_output_spec(lambda t: ops.max_pool(t[..., None], 2, 2, "valid", "channels_first"), x)
        Spec(shape=(None, 2, 1), dtype='float32')
    """
    from polykeras import backends
    from polykeras.variables import StatelessScope

    leaves = flatten(inputs)
    where = [i for i, leaf in enumerate(leaves) if isinstance(leaf, SymbolicTensor)]
    engine = backends.active()
    structures: list[Any] = []

    def flat_fn(tensors: list[Any]) -> list[Any]:
        filled = list(leaves)
        for i, tensor in zip(where, tensors):
            filled[i] = tensor
        out = fn(_refill(inputs, iter(filled)))
        structures.append(out)
        return flatten(out)

    def evaluate(size: int) -> tuple[Any, list[Any]]:
        structures.clear()
        specs = [Spec(tuple(size if d is None else d for d in leaves[i].shape), leaves[i].dtype) for i in where]
        with StatelessScope(collect_losses=True):  # abstract values never reach a variable or a loss list
            flat = engine.compute_output_spec(flat_fn, specs)
        return structures[-1], flat

    if not any(d is None for i in where for d in leaves[i].shape):
        structure, flat = evaluate(0)
        return _refill(structure, iter(flat))
    failure: Exception | None = None
    for small, large in PROBE_SIZES:
        try:
            structure, first = evaluate(small)
            _, second = evaluate(large)
            break
        except NotImplementedError:
            raise
        except Exception as err:  # noqa: BLE001 - retried at other sizes, then the first error is raised
            failure = failure or err
    else:
        assert failure is not None
        note = f"(While inferring output shapes: unknown sizes were taken as {PROBE_SIZES[0][0]}.)"
        if note not in getattr(failure, "__notes__", ()):
            failure.add_note(note)
        raise failure
    if len(first) != len(second):
        raise ValueError(f"The number of outputs depends on unknown input sizes ({len(first)} vs {len(second)}).")
    return _refill(structure, iter([_merge(a, b) for a, b in zip(first, second)]))


__all__ = [
    "Node",
    "STRING",
    "Spec",
    "SymbolicTensor",
    "any_symbolic",
    "flatten",
    "layer_output_spec",
    "map_structure",
    "nodes_of",
    "symbolic_call",
    "symbolic_dtype",
    "shape_structure",
    "trace_output_spec",
]


def nodes_of(layer: Any) -> list[Node]:
    """The graph nodes where ``layer`` was called on symbolic tensors, in order
    (kept outside attribute tracking)."""
    return layer.__dict__.setdefault("_inbound_nodes", [])


def symbolic_call(layer: Any, args: tuple, kwargs: dict[str, Any]) -> Any:
    """Call ``layer`` on symbolic inputs: build it on the host from the
    symbolic shapes, infer the outputs (:func:`layer_output_spec`), and record
    the :class:`Node`. Returns symbolic outputs shaped like the layer's real
    outputs.

    This is the hook ``Layer.__call__`` takes when any input is symbolic.

    Example:
        >>> y = symbolic_call(Dense(3), (Input((None, 4)),), {})
        >>> y.shape
        (None, None, 3)
    """
    specs = layer_output_spec(layer, args, kwargs)
    node = Node(layer, args, kwargs)
    position = itertools.count()

    def symbolic(spec: Any) -> Any:
        if not isinstance(spec, Spec):
            return spec
        index = next(position)
        return SymbolicTensor(spec.shape, spec.dtype, name=f"{layer.name}/{len(nodes_of(layer))}/{index}",
                              node=node, index=index)

    outputs = map_structure(symbolic, specs)
    node.outputs = [t for t in flatten(outputs) if isinstance(t, SymbolicTensor)]
    nodes_of(layer).append(node)
    return outputs


def layer_output_spec(layer: Any, args: tuple, kwargs: dict[str, Any]) -> Any:
    """The :class:`Spec` structure of ``layer(*args, **kwargs)`` for symbolic
    inputs, building the layer first (weights on the host, ``build`` seeing
    ``None`` for unknown sizes). Asked in order: the layer's
    ``compute_output_spec``, its own ``compute_output_shape`` (with the
    layer's compute dtype, or, when an input has another dtype, the dtypes
    of an abstract evaluation of the call), else an abstract evaluation of
    its call (:func:`trace_output_spec`).

    Example: ``layer_output_spec(MaxPooling1D(2), (Input((None, 4)),), {})`` -> ``Spec((None, None, 4), 'float32')``
    """
    from polykeras.layers.layer import Layer

    _check_strings(layer, args, kwargs)
    _build(layer, args, kwargs)
    cls = type(layer)
    if cls.compute_output_spec is not Layer.compute_output_spec:
        return map_structure(_as_spec, layer.compute_output_spec(*args, **kwargs))

    def call(structure: Any) -> Any:
        return layer(*structure[0], **structure[1])

    if getattr(cls, "compute_output_shape", None) is Layer.compute_output_shape:
        return trace_output_spec(call, (args, kwargs))
    specs = _shape_specs(_output_shapes(layer, args, kwargs), layer.compute_dtype)
    dtype = layer.compute_dtype
    if all(t.dtype == dtype for t in flatten((args, kwargs)) if isinstance(t, SymbolicTensor)):
        return specs
    # An input of another dtype (int ids, float64 without autocast) may pass
    # through: the engine's abstract evaluation says which dtypes come out.
    try:
        traced = [leaf for leaf in flatten(trace_output_spec(call, (args, kwargs))) if isinstance(leaf, Spec)]
    except Exception:  # noqa: BLE001 - a call that needs data (lookups): the compute dtype stands
        return specs
    leaves = [leaf for leaf in flatten(specs) if isinstance(leaf, Spec)]
    if len(traced) != len(leaves):
        return specs
    dtypes = iter([t.dtype for t in traced])
    return _refill(specs, iter([Spec(leaf.shape, next(dtypes)) if isinstance(leaf, Spec) else leaf
                                for leaf in flatten(specs)]))


def _check_strings(layer: Any, args: tuple, kwargs: dict[str, Any]) -> None:
    """Refuse a string tensor given to a layer that computes with the engine
    (only layers whose class sets ``runs_on_host`` read strings)."""
    if getattr(layer, "runs_on_host", False):
        return
    for tensor in flatten((args, kwargs)):
        if isinstance(tensor, SymbolicTensor) and tensor.dtype == STRING:
            raise ValueError(
                f"Layer '{layer.name}' ({type(layer).__name__}): expected a numeric input, received the string "
                f"tensor {tensor.name!r} (dtype string, shape {tensor.shape}). Strings first go through a layer "
                "that reads them on the host: StringLookup, Hashing, HashedCrossing or TextVectorization.")


def _build(layer: Any, args: tuple, kwargs: dict[str, Any]) -> None:
    """What ``Layer.__call__`` does before ``call``: the input check and the
    build, here from the symbolic shapes, outside any abstract evaluation."""
    from polykeras.layers.input_spec import assert_input_compatibility
    from polykeras.layers.lifecycle import call_info
    from polykeras.variables import name_scope

    first_name = call_info(type(layer).call)[3]
    first = args[0] if args else kwargs.get(first_name) if first_name else None
    spec = getattr(layer, "input_spec", None)
    if spec is not None:
        assert_input_compatibility(spec, flatten(first), layer.name)
    if layer.built:
        return
    inputs = {k: v for k, v in kwargs.items() if k not in ("training", "mask")}
    with name_scope(layer.name):
        layer._maybe_build(args, inputs)
    spec = getattr(layer, "input_spec", None)
    if spec is not None:
        assert_input_compatibility(spec, flatten(first), layer.name)


def _output_shapes(layer: Any, args: tuple, kwargs: dict[str, Any]) -> Any:
    """``layer.compute_output_shape`` asked as Keras 3 asks it: one parameter
    gets the first input's shape(s); several get ``<call argument>_shape``,
    and a parameter named as a call argument that holds no tensor gets its
    value (``ReversibleEmbedding.compute_output_shape(input_shape, reverse)``);
    a first parameter that matches neither gets the first input's shape(s)."""
    import inspect

    params = [p for p in list(inspect.signature(layer.compute_output_shape).parameters.values())
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    first = args[0] if args else next((v for k, v in kwargs.items() if any_symbolic(v)), None)
    if len(params) <= 1:
        return layer.compute_output_shape(shape_structure(first))
    bound = inspect.signature(layer.call).bind_partial(*args, **kwargs).arguments
    given = {f"{name}_shape": shape_structure(value) for name, value in bound.items() if any_symbolic(value)}
    given.update({name: value for name, value in bound.items() if not any_symbolic(value)})
    chosen = {p.name: given[p.name] for p in params if p.name in given}
    if params[0].name not in chosen:
        chosen[params[0].name] = shape_structure(first)
    return layer.compute_output_shape(**chosen)


def _shape_specs(shapes: Any, dtype: str) -> Any:
    """Spec leaves for a shape or a structure of shapes."""
    import numbers

    def is_shape(value: Any) -> bool:
        return isinstance(value, (tuple, list)) and all(
            d is None or (isinstance(d, numbers.Integral) and not isinstance(d, bool)) for d in value)

    if is_shape(shapes):
        return Spec(tuple(None if d is None else int(d) for d in shapes), dtype)
    if isinstance(shapes, dict):
        return {k: _shape_specs(v, dtype) for k, v in shapes.items()}
    if isinstance(shapes, (list, tuple)):
        items = [_shape_specs(v, dtype) for v in shapes]
        return items if isinstance(shapes, list) else tuple(items)
    return shapes


def _as_spec(leaf: Any) -> Any:
    if isinstance(leaf, Spec) or leaf is None:
        return leaf
    return Spec(tuple(None if d is None else int(d) for d in leaf.shape), symbolic_dtype(leaf.dtype))
