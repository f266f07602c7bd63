"""``OpLayer``: one call of a public op on symbolic tensors, as a graph node.

Every public op given a symbolic tensor (``ops.mean(x, axis=1)``, ``x + 1``,
``x[:, :2]``) comes here through the one op dispatch: :func:`record_op` binds
the call to the op's signature, takes the symbolic tensors out of the
arguments (leaving numbered placeholders), and calls a new :class:`OpLayer`
holding the op's key and the remaining arguments on those tensors. The layer
is an ordinary layer without weights, so a functional model over op nodes
runs, trains, serializes and moves between engines with no special case.

Its config is JSON: the op's key (``"add"``, ``"linalg.inv"``), looked up
only among the public ops (never imported from a file), and the arguments,
with placeholders ``{"__input__": i}``, slices ``{"__slice__": [start, stop,
step]}``, ``{"__ellipsis__": true}``, tuples ``{"__tuple__": [...]}`` and
constant tensors ``{"__constant__": {"value": [...], "dtype": ...}}``.

As in Keras 3, a mask stops at an op node (the op's output carries none).

Example:
    >>> x = polykeras.Input((4,))
    >>> y = ops.mean(x * 2, axis=-1)
    >>> y.node.layer.get_config()
    {'name': 'mean', 'op': 'mean', 'arguments': {'x': {'__input__': 0}, 'axis': -1}}
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from polykeras import ops
from polykeras.backends.dtypes import standardize_dtype
from polykeras.layers.config import deserialize_argument, unique_name
from polykeras.layers.layer import Layer
from polykeras.ops._dispatch import (
    OPS,
    SYMBOLIC_TYPES,
    OpError,
    _broadcast_note,
    _received,
)
from polykeras import registry

__all__ = ["OpInput", "OpLayer", "arguments_from_json", "arguments_to_json", "record_op"]

_MARKERS = ("__input__", "__slice__", "__ellipsis__", "__tuple__", "__constant__")


#: Parameters that took Keras 3's names after graphs were saved with the old ones: op -> {old: new}.
#: Read only, so a saved graph keeps loading; configs are always written with the current names.
_RENAMED: dict[str, dict[str, str]] = {
    "eye": {"n": "N", "m": "M"},
    "reshape": {"shape": "newshape"},
    "stack": {"xs": "x"},
    "stop_gradient": {"x": "variable"},
    "slice": {"x": "inputs"},
    "slice_update": {"x": "inputs"},
    "scatter_update": {"x": "inputs"},
}


@dataclass(frozen=True)
class OpInput:
    """Where the ``index``-th symbolic input goes in an op's arguments.

    Example: ``OpLayer("add", {"x1": OpInput(0), "x2": 1.0})`` adds 1 to the tensor it is called on.
    """

    index: int


@functools.cache
def _signature(fn: Callable[..., Any]) -> inspect.Signature:
    return inspect.signature(fn)


def _lookup(key: Any) -> Callable[..., Any]:
    fn = OPS.get(key) if isinstance(key, str) else None
    if fn is None:
        known = ", ".join(sorted(OPS)[:6])
        raise ValueError(f"OpLayer: expected the key of a public op ({known}, ...), received op={key!r}.")
    return fn


class OpLayer(Layer):
    """A call of the public op ``op`` with ``arguments`` (its arguments by
    parameter name, the symbolic inputs as placeholders): a graph node made
    when an op or a Python operator is applied to symbolic tensors.

    Args:
        op: the op's key: its name in ``polykeras.ops`` (``"mean"``), or
            ``"linalg.inv"`` / ``"random.dropout"`` for a sub-namespace.
        arguments: the op's arguments by parameter name; placeholders for
            the tensors the layer is called on.

    Example:
        >>> x = polykeras.Input((3,))
        >>> layer = OpLayer("add", {"x1": {"__input__": 0}, "x2": 1.0})
        >>> model = polykeras.Model(x, layer(x))     # the same graph as Model(x, x + 1.0)
    """

    #: As in Keras 3, an op node is one of a model's ``operations``, not of its ``layers``.
    _listed_in_layers = False

    def __init__(self, op: str, arguments: Mapping[str, Any] | None = None, name: str | None = None, **kwargs: Any):
        fn = _lookup(op)
        kwargs.pop("autocast", None)
        super().__init__(name=name or unique_name(op.rsplit(".", 1)[-1]), autocast=False, **kwargs)
        arguments = _decode(dict(arguments or {}))
        unknown = set(arguments) - set(_signature(fn).parameters)
        if unknown:
            raise ValueError(f"OpLayer {self.name!r}: op {op!r} takes no argument(s) {sorted(unknown)}; "
                             f"its signature is {op}{_signature(fn)}.")
        self.op = op
        self.arguments = arguments

    def call(self, *inputs: Any) -> Any:
        fn = OPS[self.op]
        filled = {name: _fill(value, inputs) for name, value in self.arguments.items()}
        bound = inspect.BoundArguments(_signature(fn), filled)
        return fn(*bound.args, **bound.kwargs)

    def compute_output_spec(self, *inputs: Any) -> Any:
        """The outputs' shapes and dtypes for symbolic ``inputs``: the op's
        shape rule where it has one, else an abstract evaluation of the op."""
        from polykeras.symbolic import Spec, map_structure, trace_output_spec

        fn = OPS[self.op]
        if fn.spec is None:  # type: ignore[attr-defined]
            return trace_output_spec(lambda tensors: self.call(*tensors), list(inputs))
        filled = {name: _fill(value, inputs) for name, value in self.arguments.items()}
        bound = inspect.BoundArguments(_signature(fn), filled)
        return map_structure(lambda o: Spec(tuple(o.shape), o.dtype), fn.spec(*bound.args, **bound.kwargs))  # type: ignore[attr-defined]

    def get_config(self) -> dict[str, Any]:
        where = f"layer {self.name!r} (op {self.op})"
        return {"name": self.name, "op": self.op,
                "arguments": {k: _encode(v, f"{where} argument {k!r}") for k, v in self.arguments.items()}}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Mapping[str, Any] | None = None) -> OpLayer:
        config = dict(config)
        arguments = config.pop("arguments", None) or {}
        renamed = _RENAMED.get(str(config.get("op")), {})
        decoded = {renamed.get(k, k): _decode(v, custom_objects) for k, v in arguments.items()}
        return cls(arguments=decoded, **{k: v for k, v in config.items() if k in ("op", "name", "trainable")})

    def __repr__(self) -> str:
        return f"<OpLayer name={self.name}, op={self.op}>"


# ------------------------------------------------------------- recording
def record_op(fn: Callable[..., Any], args: tuple, kwargs: dict[str, Any]) -> Any:
    """Record ``fn(*args, **kwargs)`` (a public op; some arguments symbolic)
    as an :class:`OpLayer` node and return its symbolic outputs. A call the
    op refuses is refused now, naming the op and the symbolic shapes.

    Example: ``record_op(ops.add, (x, 1.0), {})`` is what ``x + 1.0`` does.
    """
    key = fn.op_key  # type: ignore[attr-defined]
    try:
        bound = _signature(fn).bind(*args, **kwargs)
    except TypeError as err:
        raise TypeError(f"{key}: {err} (received {_received(args, kwargs)}).") from None
    inputs: list[Any] = []
    arguments = {name: _lift(value, inputs) for name, value in bound.arguments.items()}
    layer = OpLayer(key, arguments)
    try:
        return layer(*inputs)
    except NotImplementedError:
        raise
    except Exception as err:  # re-raised naming the op and the symbolic shapes
        raise _build_error(fn, err, args, kwargs) from err


def _build_error(fn: Callable[..., Any], err: Exception, args: tuple, kwargs: dict[str, Any]) -> Exception:
    key = fn.op_key  # type: ignore[attr-defined]
    note = _broadcast_note(args) if getattr(fn, "broadcast", False) else ""
    first = (str(err).strip().splitlines() or [""])[0].rstrip(".")
    reason = (note or getattr(err, "reason", None)
              or (first if isinstance(err, OpError) else f"{type(err).__name__}: {first}"))
    message = f"{key}: expected {fn.expects}, received {_received(args, kwargs)} ({reason})."  # type: ignore[attr-defined]
    return OpError(message)  # the same kind on every engine (JAX reports shape mismatches as TypeError)


def _lift(value: Any, inputs: list[Any], depth: int = 0) -> Any:
    """``value`` with symbolic tensors replaced by placeholders (collected in
    ``inputs``) and engine tensors by NumPy constants."""
    kind = type(value)
    if kind in SYMBOLIC_TYPES:
        inputs.append(value)
        return OpInput(len(inputs) - 1)
    if depth < 8 and isinstance(value, (list, tuple)):
        return kind(_lift(v, inputs, depth + 1) for v in value) if kind in (list, tuple) else \
            [_lift(v, inputs, depth + 1) for v in value]
    if depth < 8 and isinstance(value, dict):
        return {k: _lift(v, inputs, depth + 1) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return value
    if value is not None and not isinstance(value, (bool, int, float, str, np.generic)) and ops.is_tensor(value):
        return np.asarray(ops.to_numpy(value))
    return value


def _fill(value: Any, inputs: tuple) -> Any:
    """The stored argument ``value`` with the call's tensors in place of its
    placeholders and constants as tensors of the active engine."""
    if isinstance(value, OpInput):
        return inputs[value.index]
    if isinstance(value, tuple):
        return tuple(_fill(v, inputs) for v in value)
    if isinstance(value, list):
        return [_fill(v, inputs) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, inputs) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return ops.convert_to_tensor(value)
    return value


# ----------------------------------------------------------- JSON form
def arguments_to_json(arguments: Mapping[str, Any], where: str) -> dict[str, Any]:
    """An op's arguments (placeholders :class:`OpInput`, slices, constants)
    in the JSON form of OpLayer's config.

    Example: ``arguments_to_json({"x": OpInput(0), "axis": (1, 2)}, "mean")`` ->
    ``{'x': {'__input__': 0}, 'axis': {'__tuple__': [1, 2]}}``
    """
    return {k: _encode(v, f"{where} argument {k!r}") for k, v in arguments.items()}


def arguments_from_json(arguments: Mapping[str, Any], custom_objects: Mapping[str, Any] | None = None
                        ) -> dict[str, Any]:
    """The inverse of :func:`arguments_to_json`.

    Example: ``arguments_from_json({"x": {"__input__": 0}})`` -> ``{'x': OpInput(index=0)}``
    """
    return {k: _decode(v, custom_objects) for k, v in arguments.items()}


def _encode(value: Any, where: str) -> Any:
    if isinstance(value, OpInput):
        return {"__input__": value.index}
    if isinstance(value, slice):
        return {"__slice__": [_encode(value.start, where), _encode(value.stop, where), _encode(value.step, where)]}
    if value is Ellipsis:
        return {"__ellipsis__": True}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, f"{where}[{i}]") for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {str(k): _encode(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return {"__constant__": {"value": value.tolist(), "dtype": standardize_dtype(value.dtype.name)}}
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return np.dtype(value).name
    return registry.to_json_safe(value, where)


def _decode(value: Any, custom_objects: Mapping[str, Any] | None = None) -> Any:
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in _MARKERS:
        marker, inner = next(iter(value.items()))
        if marker == "__input__":
            return OpInput(int(inner))
        if marker == "__slice__":
            return slice(*(_decode(v, custom_objects) for v in inner))
        if marker == "__ellipsis__":
            return Ellipsis
        if marker == "__tuple__":
            return tuple(_decode(v, custom_objects) for v in inner)
        return np.asarray(inner["value"], dtype=inner["dtype"])
    if isinstance(value, (OpInput, slice, np.ndarray)) or value is Ellipsis:
        return value
    if registry.is_serialized_object(value):  # a seed generator (random ops), a registered object
        from polykeras.random import SeedGenerator

        return deserialize_argument(value, {"SeedGenerator": SeedGenerator, **(custom_objects or {})})
    if isinstance(value, tuple):
        return tuple(_decode(v, custom_objects) for v in value)
    if isinstance(value, list):
        return [_decode(v, custom_objects) for v in value]
    if isinstance(value, dict):
        return {k: _decode(v, custom_objects) for k, v in value.items()}
    return value
