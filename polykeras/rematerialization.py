"""Rematerialisation (gradient checkpointing), Keras 3.15's ``keras.remat``
and ``keras.RematScope``: trade compute for memory by recomputing a
function's intermediate values in the backward pass instead of keeping them.

The engine's own mechanism does the work (``Backend.remat``:
``jax.checkpoint``, ``torch.utils.checkpoint``, ``tf.recompute_grad``; the
NumPy engine, which keeps no tape, runs the function as it is). What this
module adds is what makes it correct on every engine: the function is made
pure before the engine sees it. The variables it may read (those of the
active :class:`~polykeras.variables.StatelessScope`, or of the layer being
rematerialised) enter as explicit inputs, and it runs in a fresh
StatelessScope, so

* gradients reach the variables on every engine (``tf.recompute_grad`` only
  differentiates its inputs and ``tf.Variable``\\ s, and the training step
  reads variables as tensors);
* assignments made inside (BatchNormalization's statistics, a dropout
  SeedGenerator's state) are applied once, after the forward pass; the
  recomputation in the backward pass sees the same inputs, so draws the same
  dropout mask, and its assignments are dropped.

A layer made inside ``RematScope(mode)`` rematerialises its call as Keras 3
decides: ``"full"`` every call, ``"larger_than"`` when its output has more
than ``output_size_threshold`` elements, ``"activations"`` only its
``activation``, ``"list_of_layers"`` when its name is in ``layer_names``.
"""

from __future__ import annotations

import contextvars
import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from polykeras import backends, tree
from polykeras.variables import StatelessScope, Variable, get_stateless_scope

__all__ = ["RematMode", "RematScope", "get_current_remat_mode", "remat"]

MODES = ("full", "activations", "larger_than", "list_of_layers", None)


@dataclass(frozen=True)
class RematMode:
    """The settings of a :class:`RematScope` a layer was made in.

    Example: ``RematMode("larger_than", 1024, ())``
    """

    mode: str | None
    output_size_threshold: int
    layer_names: tuple[str, ...]


_current: contextvars.ContextVar[RematMode | None] = contextvars.ContextVar("polykeras_remat", default=None)


class RematScope:
    """Rematerialise the layers made inside the block (Keras 3.15's signature).

    Args:
        mode: ``"full"``, ``"activations"``, ``"larger_than"``,
            ``"list_of_layers"``, or None (off, e.g. inside an outer scope).
        output_size_threshold: for ``"larger_than"``: the output size (number
            of elements, unknown dimensions counted as 1) above which a layer
            is rematerialised.
        layer_names: for ``"list_of_layers"``: the names of the layers to rematerialise.

    Example:
        >>> with RematScope(mode="list_of_layers", layer_names=["dense_1"]):
        ...     outputs = layers.Dense(128, name="dense_1")(inputs)
    """

    def __init__(self, mode: str | None = "full", output_size_threshold: int = 1024,
                 layer_names: Sequence[str] | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"RematScope: expected mode to be one of 'full', 'activations', 'larger_than', "
                             f"'list_of_layers' or None, received mode={mode!r}.")
        if not isinstance(output_size_threshold, int) or isinstance(output_size_threshold, bool) \
                or output_size_threshold < 0:
            raise ValueError(f"RematScope: expected output_size_threshold to be a non-negative int, received "
                             f"output_size_threshold={output_size_threshold!r}.")
        if isinstance(layer_names, str):
            raise ValueError(f"RematScope: expected layer_names to be a list of layer names, received the "
                             f"string {layer_names!r}.")
        self.mode = mode
        self.output_size_threshold = output_size_threshold
        self.layer_names = list(layer_names or [])
        self._token: contextvars.Token[RematMode | None] | None = None

    def __enter__(self) -> RematScope:
        setting = None if self.mode is None else RematMode(self.mode, self.output_size_threshold,
                                                            tuple(self.layer_names))
        self._token = _current.set(setting)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._token is not None:
            _current.reset(self._token)
            self._token = None


def get_current_remat_mode() -> RematMode | None:
    """The settings of the innermost active :class:`RematScope`, or None.

    Example: ``with RematScope("full"): get_current_remat_mode().mode`` -> ``'full'``
    """
    return _current.get()


def _scope_variables() -> list[Variable]:
    """The variables the active StatelessScopes map (innermost first, once each)."""
    seen: dict[int, Variable] = {}
    scope = get_stateless_scope()
    while scope is not None:
        for variable in [*scope._keep, *(v for v, _ in scope.updates)]:
            seen.setdefault(id(variable), variable)
        scope = scope._parent
    return list(seen.values())


def _differentiable(variable: Variable) -> bool:
    return variable.dtype.startswith(("float", "bfloat", "complex"))


def _rematerialised_call(fn: Callable[..., Any], variables: Sequence[Variable], args: tuple, kwargs: dict) -> Any:
    """``fn(*args, **kwargs)`` through the engine's remat, with ``variables``'
    values and the tensor leaves of the arguments as explicit inputs."""
    engine = backends.active()
    leaves = tree.flatten((args, kwargs))
    tensor_at = [i for i, leaf in enumerate(leaves) if engine.is_tensor(leaf) and not isinstance(leaf, Variable)]
    threaded = [v for v in variables if _differentiable(v)]
    values = [v.value for v in threaded]
    updated: list[list[Variable]] = []  # the variables the first (forward) run assigned

    def pure(*inputs: Any) -> Any:
        state, tensors = inputs[:len(threaded)], inputs[len(threaded):]
        flat = list(leaves)
        for i, t in zip(tensor_at, tensors):
            flat[i] = t
        call_args, call_kwargs = tree.pack_sequence_as((args, kwargs), flat)
        with StatelessScope(list(zip(threaded, state))) as scope:
            outputs = fn(*call_args, **call_kwargs)
        if not updated:
            updated.append([v for v, _ in scope.updates])
        return outputs, [value for _, value in scope.updates]

    outputs, new_values = engine.remat(pure)(*values, *[leaves[i] for i in tensor_at])
    for variable, value in zip(updated[0] if updated else [], new_values):
        variable.assign(value)
    return outputs


def remat(f: Callable[..., Any]) -> Callable[..., Any]:
    """``f`` wrapped so that gradients through it recompute its intermediate
    values instead of keeping them (``keras.remat``). Values and gradients are
    ``f``'s; memory falls on the differentiable engines (see ``bench/remat.py``).

    Example:
        >>> block = remat(lambda x: ops.relu(dense2(ops.relu(dense1(x)))))
        >>> y = block(x)
    """
    if not callable(f):
        raise TypeError(f"remat: expected a callable, received {type(f).__name__} {f!r}.")

    @functools.wraps(f)
    def rematerialised(*args: Any, **kwargs: Any) -> Any:
        return _rematerialised_call(f, _scope_variables(), args, kwargs)

    return rematerialised


def layer_call(layer: Any, call: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
    """``layer``'s ``call`` run as the RematScope the layer was made in says
    (Keras 3's modes); called by ``Layer.__call__`` for layers made inside one.

    Example: ``outputs = layer_call(layer, layer.call, args, kwargs)``
    """
    setting: RematMode | None = layer.__dict__.get("_remat_mode")
    if setting is None:
        return call(*args, **kwargs)
    variables = _layer_and_scope_variables(layer)
    if setting.mode == "activations":
        activation = getattr(layer, "activation", None)
        if activation is None:
            return call(*args, **kwargs)
        layer.__dict__["activation"] = remat(activation)
        try:
            return call(*args, **kwargs)
        finally:
            layer.__dict__["activation"] = activation
    if setting.mode == "list_of_layers" and layer.name not in setting.layer_names:
        return call(*args, **kwargs)
    if setting.mode == "larger_than" and _output_size(layer, args, kwargs) <= setting.output_size_threshold:
        return call(*args, **kwargs)
    return _rematerialised_call(call, variables, args, kwargs)


def _layer_and_scope_variables(layer: Any) -> list[Variable]:
    seen = {id(v): v for v in layer.variables}
    for v in _scope_variables():
        seen.setdefault(id(v), v)
    return list(seen.values())


def _output_size(layer: Any, args: tuple, kwargs: dict) -> int:
    """Elements in the layer's outputs for these inputs (unknown dimensions
    as 1), from ``compute_output_shape`` (cached per input shapes)."""
    engine = backends.active()
    shapes = tuple(tuple(engine.shape(a)) for a in args if engine.is_tensor(a))
    cache = layer.__dict__.setdefault("_remat_output_sizes", {})
    if shapes not in cache:
        try:
            out = layer.compute_output_shape(*shapes)
        except Exception:  # noqa: BLE001 - a layer without a shape rule is rematerialised, as "full" would
            cache[shapes] = math.inf
        else:
            sizes: list[int] = []
            tree.map_shape_structure(lambda s: sizes.append(math.prod(d or 1 for d in s)) if _is_shape(s) else None,
                                     out)
            cache[shapes] = sum(sizes)
    return cache[shapes]


def _is_shape(x: Any) -> bool:
    return isinstance(x, (tuple, list)) and all(d is None or isinstance(d, int) for d in x)

