"""``Layer``: the base of every layer and model, with Keras 3's API.

The class composes small modules: :mod:`.tracking` (sub-layers and variables
found in attributes), :mod:`.config` (``__init__`` argument capture, names),
:mod:`.input_spec`, :mod:`.masking`, :mod:`.weight_options` (Keraflow's
``regularizers``/``constraints``/``initial_weights``) and
:mod:`.call_context`.

Lifecycle: ``__init__`` -> (lazy) ``build(input_shape)`` on the first call, or
right after construction when ``input_shape``/``input_dim`` is given ->
``call(inputs, training=None, mask=None)``. ``training`` and ``mask`` are passed
only when ``call`` accepts them; ``training`` flows from outer layers to inner
ones.

Symbolic inputs (``polykeras.Input``) are the graph's business: when any input
is a :class:`polykeras.symbolic.SymbolicTensor`, ``__call__`` returns
``self._symbolic_call(*args, **kwargs)``, which runs the handler the models
package installs with :func:`set_symbolic_call_handler`.

Example:
    >>> class Linear(Layer):
    ...     def __init__(self, units=4, **kwargs):
    ...         super().__init__(**kwargs)
    ...         self.units = units
    ...     def build(self, input_shape):
    ...         self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
    ...         self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")
    ...     def call(self, x):
    ...         return ops.matmul(x, self.kernel) + self.bias
    >>> y = Linear(2)(np.ones((3, 5), "float32"))      # builds, then calls
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from polykeras import ops
from polykeras import initializers as initializers_lib
from polykeras import regularizers as regularizers_lib
from polykeras.backends.dtypes import FLOATX, is_float, standardize_dtype
from polykeras.layers import call_context, masking
from polykeras.layers.config import (
    LAYER_CLASSES, accepts_kwargs, capture_init_args, deserialize_argument, init_parameter_names,
    json_safe_arguments, to_snake_case, unique_name,
)
from polykeras.layers.input_spec import InputSpec, assert_input_compatibility
from polykeras.layers.tracking import iter_tracked
from polykeras.layers.weight_options import WeightOptions, as_array
from polykeras.random import SeedGenerator
from polykeras.symbolic import any_symbolic, flatten, map_structure
from polykeras.variables import Variable, current_path, get_stateless_scope, name_scope

__all__ = ["Layer", "set_symbolic_call_handler"]

_symbolic_handler: Callable[..., Any] | None = None

#: Layer attributes that hold bookkeeping, never searched for sub-layers.
_BOOKKEEPING = frozenset({
    "_own_variables", "_created_trainable", "_losses", "_loss_ids", "_weight_options", "_init_args",
    "_input_spec", "activity_regularizer", "_build_shapes", "_path", "_dtype", "name", "_trainable",
    "built", "autocast", "_building", "_pk_initialized", "_supports_masking", "_input_shape_arg",
    "_inbound_nodes",
})

_KNOWN_KWARGS = ("input_shape", "input_dim", "batch_size", "batch_input_shape", "input_length")


def set_symbolic_call_handler(handler: Callable[[Layer, tuple, dict], Any] | None) -> None:
    """Install the function that calls layers on symbolic tensors
    (``handler(layer, args, kwargs)``); the models package does it on import.
    Example: ``set_symbolic_call_handler(my_graph_call)``"""
    global _symbolic_handler
    _symbolic_handler = handler


class _LayerMeta(type):
    """Captures ``__init__`` arguments before construction and finishes it
    after the most-derived ``__init__`` returns (build when an input shape was
    given)."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        captured = capture_init_args(cls, args, kwargs)
        layer = super().__call__(*args, **kwargs)
        if "_pk_initialized" not in layer.__dict__:
            raise TypeError(
                f"{cls.__name__}.__init__ must call super().__init__(**kwargs) so the layer is set up."
            )
        layer._init_args = captured
        layer._post_init()
        return layer


def _wrap_build(build: Callable[..., Any]) -> Callable[..., Any]:
    if getattr(build, "_pk_wrapped", False):
        return build

    @functools.wraps(build)
    def wrapped(self: Layer, *args: Any, **kwargs: Any) -> None:
        if self.__dict__.get("_building"):
            return build(self, *args, **kwargs)  # super().build() inside build
        self._building = True
        try:
            with name_scope(self.name):
                self._path = current_path()
                build(self, *args, **kwargs)
        finally:
            self._building = False
        self._build_shapes = args[0] if len(args) == 1 and not kwargs else {**dict(enumerate(args)), **kwargs}
        self.built = True
        self._weight_options.after_build(self)

    wrapped._pk_wrapped = True  # type: ignore[attr-defined]
    return wrapped


@functools.lru_cache(maxsize=None)
def _call_info(call: Callable[..., Any]) -> tuple[bool, bool, Any, str | None]:
    """(accepts training, accepts mask, training default, first parameter)."""
    params = list(inspect.signature(call).parameters.values())[1:]
    names = {p.name: p for p in params}
    has_kw = any(p.kind is p.VAR_KEYWORD for p in params)
    training = names.get("training")
    default = training.default if training is not None and training.default is not inspect.Parameter.empty else None
    first = params[0].name if params and params[0].kind in (params[0].POSITIONAL_ONLY, params[0].POSITIONAL_OR_KEYWORD) else None
    return ("training" in names or has_kw, "mask" in names or has_kw, default, first)


def _shape(x: Any) -> Any:
    if isinstance(x, Variable):
        return x.shape
    shape = getattr(x, "shape", None)
    return tuple(None if d is None else int(d) for d in shape) if shape is not None else None


class Layer(metaclass=_LayerMeta):
    """The base layer: weights, lazy build, call, losses, masks, config.

    Args:
        trainable: whether the layer's weights are trained.
        name: unique name (default: snake_case class name, ``dense_1``...).
        dtype: the variables' and computation's dtype (default float32).
        autocast: cast floating-point inputs to ``dtype``.
        activity_regularizer: a penalty on the outputs (divided by batch size).
        regularizers / constraints / initial_weights: Keraflow's generic
            forms, see :mod:`polykeras.layers.weight_options`.
        input_shape / input_dim / batch_size: build right after construction.

    Example:
        >>> layer = MyLayer(name="features", input_shape=(8,))   # built now
        >>> layer.weights, layer.get_config()
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "build" in cls.__dict__:
            cls.build = _wrap_build(cls.__dict__["build"])
        if cls.__module__.startswith("polykeras.") and not cls.__name__.startswith("_"):
            LAYER_CLASSES.setdefault(cls.__name__, cls)

    def __init__(
        self,
        *,
        activity_regularizer: Any = None,
        trainable: bool = True,
        dtype: Any = None,
        autocast: bool = True,
        name: str | None = None,
        regularizers: Any = None,
        constraints: Any = None,
        initial_weights: Any = None,
        **kwargs: Any,
    ):
        cls_name = type(self).__name__
        unknown = sorted(set(kwargs) - set(_KNOWN_KWARGS))
        if unknown:
            raise ValueError(f"Unrecognized keyword arguments passed to {cls_name}: {unknown}.")
        if not isinstance(trainable, bool):
            raise ValueError(f"{cls_name}: expected trainable to be a bool, received trainable={trainable!r}.")
        if name is None:
            name = unique_name(to_snake_case(cls_name))
        elif not isinstance(name, str) or not name or "/" in name:
            raise ValueError(f"{cls_name}: expected a non-empty name without '/', received name={name!r}.")
        self.name = name
        self._dtype = _standardize_layer_dtype(dtype, name)
        self._trainable = trainable
        self.autocast = autocast
        self.built = False
        self._building = False
        self._path = name
        self._input_spec: Any = None
        self._supports_masking = type(self).compute_mask is not Layer.compute_mask
        self.activity_regularizer = regularizers_lib.get(activity_regularizer)
        self._own_variables: list[Variable] = []
        self._created_trainable: set[int] = set()
        self._losses: list[Any] = []
        self._loss_ids: set[int] = set()
        self._build_shapes: Any = None
        self._weight_options = WeightOptions(name, regularizers, constraints, initial_weights)
        self._input_shape_arg = _input_shape_from(kwargs)
        self._pk_initialized = True

    def _post_init(self) -> None:
        if self._input_shape_arg is not None and not self.built:
            self._maybe_build_from_shape(self._input_shape_arg)

    # ----------------------------------------------------------- tracking
    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, Variable) and "_own_variables" in self.__dict__:
            self._track_variable(value)
        object.__setattr__(self, name, value)

    def _track_variable(self, variable: Variable) -> None:
        if all(v is not variable for v in self._own_variables):
            if any(variable is w for layer in self._sublayers() for w in layer.weights):
                return  # owned by a sub-layer already
            self._own_variables.append(variable)
            if variable.trainable:
                self._created_trainable.add(id(variable))

    def _sublayers(self) -> list[Layer]:
        return [x for x in iter_tracked(self.__dict__, _BOOKKEEPING, Layer) if isinstance(x, Layer) and x is not self]

    def _flatten_layers(self, include_self: bool = True, recursive: bool = True) -> list[Layer]:
        """This layer (optionally) and its sub-layers, depth first, each once."""
        out: list[Layer] = [self] if include_self else []
        seen = {id(self)}
        stack = list(reversed(self._sublayers()))
        while stack:
            layer = stack.pop()
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            out.append(layer)
            if recursive:
                stack.extend(reversed(layer._sublayers()))
        return out

    def embed(self, layer: Layer) -> Layer:
        """Use ``layer`` (and its weights) inside this one: its weights,
        losses, regularizers and constraints become this layer's. Returns
        ``layer``. Example: ``y = self.embed(self.shared_dense)(x)``"""
        if not isinstance(layer, Layer):
            raise TypeError(f"Layer '{self.name}'.embed: expected a Layer, received {type(layer).__name__}.")
        embedded = self.__dict__.setdefault("_embedded_layers", [])
        if all(layer is not other for other in embedded):
            embedded.append(layer)
        return layer

    def _own_state(self) -> tuple[list[Variable], list[SeedGenerator]]:
        variables = list(self._own_variables)
        seeds = []
        sub_ids: set[int] | None = None
        for found in iter_tracked(self.__dict__, _BOOKKEEPING, Layer):
            if isinstance(found, SeedGenerator):
                seeds.append(found)
            elif isinstance(found, Variable) and all(found is not v for v in variables):
                if sub_ids is None:
                    sub_ids = {id(w) for layer in self._sublayers() for w in layer.variables}
                if id(found) not in sub_ids:
                    variables.append(found)
        trainable = [v for v in variables if id(v) in self._created_trainable]
        others = [v for v in variables if id(v) not in self._created_trainable]
        return trainable + others, seeds

    def _collect(self, with_seeds: bool) -> list[Variable]:
        out: list[Variable] = []
        seen: set[int] = set()
        own, seeds = self._own_state()
        for v in own + ([s.state for s in seeds] if with_seeds else []):
            if id(v) not in seen:
                seen.add(id(v))
                out.append(v)
        for layer in self._sublayers():
            for v in layer._collect(with_seeds):
                if id(v) not in seen:
                    seen.add(id(v))
                    out.append(v)
        return out

    @property
    def weights(self) -> list[Variable]:
        """The layer's and its sub-layers' weights: own trainable, own
        non-trainable, then each sub-layer's (Keras 3 order)."""
        return self._collect(with_seeds=False)

    @property
    def variables(self) -> list[Variable]:
        """Like :attr:`weights`, plus seed-generator states."""
        return self._collect(with_seeds=True)

    @property
    def trainable_weights(self) -> list[Variable]:
        return [v for v in self.weights if v.trainable] if self.trainable else []

    @property
    def non_trainable_weights(self) -> list[Variable]:
        return [v for v in self.weights if not v.trainable] if self.trainable else self.weights

    @property
    def trainable_variables(self) -> list[Variable]:
        return [v for v in self.variables if v.trainable] if self.trainable else []

    @property
    def non_trainable_variables(self) -> list[Variable]:
        return [v for v in self.variables if not v.trainable] if self.trainable else self.variables

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        value = bool(value)
        self._trainable = value
        for v in self._own_variables:
            if id(v) in self._created_trainable:
                v.trainable = value
        for layer in self._sublayers():
            layer.trainable = value

    # ------------------------------------------------------------ weights
    def add_weight(
        self,
        shape: Sequence[int] | None = None,
        initializer: Any = None,
        dtype: Any = None,
        trainable: bool = True,
        regularizer: Any = None,
        constraint: Any = None,
        name: str | None = None,
        aggregation: str = "none",
        synchronization: str = "auto",
        autocast: bool = True,
    ) -> Variable:
        """Create a weight owned by this layer.

        ``initializer=None`` gives glorot_uniform for floating dtypes and zeros
        otherwise; ``regularizer``/``constraint`` are names, objects or
        callables (Keraflow's generic ``regularizers``/``constraints``
        override them by weight name).

        Example: ``self.kernel = self.add_weight(shape=(4, 2), name="kernel")``
        """
        from polykeras import constraints as constraints_lib

        if isinstance(shape, str) and name is None:  # Keras 2 order: add_weight(name, shape, ...)
            name, shape = shape, initializer
            initializer = None
        shape = () if shape is None else tuple(shape)
        if not all(isinstance(d, (int, np.integer)) and d >= 0 for d in shape):
            raise ValueError(f"Layer '{self.name}'.add_weight: expected a shape of non-negative ints, received {shape!r}.")
        dtype = standardize_dtype(dtype or self._dtype)
        if initializer is None:
            initializer = "glorot_uniform" if is_float(dtype) else "zeros"
        name = name or "variable"
        taken = {v.name for v in self._own_variables}
        if name in taken:
            if name != "variable":
                raise ValueError(f"Layer '{self.name}' already has a weight named {name!r}; weight names must be unique.")
            name = next(f"variable_{i}" for i in range(1, len(taken) + 2) if f"variable_{i}" not in taken)
        override_reg, override_con = self._weight_options.for_weight(name, len(self._own_variables), trainable)
        with name_scope(self.name):
            variable = Variable(
                initializers_lib.get(initializer), shape=shape, dtype=dtype, trainable=trainable, name=name,
                constraint=constraints_lib.get(override_con or constraint),
                regularizer=regularizers_lib.get(override_reg or regularizer),
                aggregation=aggregation, synchronization=synchronization,
            )
        self._own_variables.append(variable)
        if trainable:
            self._created_trainable.add(id(variable))
        return variable

    def add_variable(self, shape: Sequence[int], initializer: Any = "zeros", dtype: Any = None,
                     trainable: bool = True, name: str | None = None, **kwargs: Any) -> Variable:
        """Like :meth:`add_weight`, with Keras 3's ``add_variable`` defaults (zeros)."""
        return self.add_weight(shape=shape, initializer=initializer, dtype=dtype, trainable=trainable,
                               name=name, **kwargs)

    def get_weights(self) -> list[np.ndarray]:
        """The weights as NumPy arrays, in :attr:`weights` order. Example: ``layer.get_weights()``"""
        return [v.numpy() for v in self.weights]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Set every weight from arrays in :attr:`weights` order. Nothing is
        assigned unless the count and every shape fit.
        Example: ``b.set_weights(a.get_weights())``"""
        variables = self.weights
        weights = list(weights)
        if len(weights) != len(variables):
            raise ValueError(
                f"Layer '{self.name}'.set_weights: expected {len(variables)} arrays "
                f"({[v.path for v in variables]}), received {len(weights)}."
                + ("" if self.built else " The layer is not built yet: call it or build() it first.")
            )
        self._assign_checked(list(zip(variables, weights)), "set_weights")

    def _assign_checked(self, pairs: list[tuple[Variable, Any]], who: str) -> None:
        arrays = []
        for variable, value in pairs:
            array = as_array(value)
            if tuple(array.shape) != variable.shape:
                raise ValueError(
                    f"Layer '{self.name}'.{who}: weight {variable.path!r} expected shape {variable.shape}, "
                    f"received an array of shape {tuple(array.shape)}. No weight was changed."
                )
            arrays.append(array)
        for (variable, _), array in zip(pairs, arrays):
            variable.assign(array)

    def count_params(self) -> int:
        """The number of scalars in :attr:`weights`. Example: ``dense.count_params()``"""
        if not self.built:
            raise ValueError(f"Layer '{self.name}' is not built yet, so it has no weights to count.")
        return int(sum(int(np.prod(v.shape)) for v in self.weights))

    def apply_constraints(self) -> None:
        """Apply each trainable weight's constraint (optimizers call it after
        an update). Example: ``layer.apply_constraints()``"""
        for v in self.trainable_weights:
            v.apply_constraint()

    # ------------------------------------------------------------- losses
    def add_loss(self, loss: Any) -> None:
        """Record a scalar loss during ``call``; cleared when the outermost
        layer is called again. Example: ``self.add_loss(ops.mean(x ** 2))``"""
        scope = get_stateless_scope()
        for item in flatten(loss):
            if scope is not None and scope.collect_losses:
                scope.add_loss(item)
                self._loss_ids.add(id(item))
            else:
                self._losses.append(item)

    def _own_losses(self) -> list[Any]:
        scope = get_stateless_scope()
        if scope is not None and scope.collect_losses:
            return [x for x in scope.losses if id(x) in self._loss_ids]
        return list(self._losses)

    def _clear_losses(self) -> None:
        for layer in self._flatten_layers():
            layer._losses.clear()
            layer._loss_ids.clear()

    @property
    def losses(self) -> list[Any]:
        """Losses added during the last call (this layer and sub-layers), then
        the regularization losses of the trainable weights, computed now."""
        out = []
        for layer in self._flatten_layers():
            out.extend(layer._own_losses())
        for v in self.trainable_weights:
            if v.regularizer is not None:
                out.append(v.regularizer(v.value))
        return out

    # --------------------------------------------------------- properties
    @property
    def dtype(self) -> str:
        """The variables' dtype (also the compute dtype)."""
        return self._dtype

    @property
    def compute_dtype(self) -> str:
        return self._dtype

    @property
    def variable_dtype(self) -> str:
        return self._dtype

    @property
    def path(self) -> str:
        """The name-scope path where the layer was built, e.g. ``'model/dense'``."""
        return self._path

    @property
    def input_spec(self) -> Any:
        return self._input_spec

    @input_spec.setter
    def input_spec(self, value: Any) -> None:
        specs = value if isinstance(value, (list, tuple)) else [value]
        if not all(s is None or isinstance(s, InputSpec) for s in specs):
            raise TypeError(f"Layer '{self.name}': expected input_spec as InputSpec(s), received {value!r}.")
        self._input_spec = value

    @property
    def supports_masking(self) -> bool:
        return self._supports_masking

    @supports_masking.setter
    def supports_masking(self, value: bool) -> None:
        self._supports_masking = bool(value)

    @property
    def input(self) -> Any:
        """The symbolic input of the layer's first call in a graph."""
        return self._first_node("input").args[0]

    @property
    def output(self) -> Any:
        """The symbolic output of the layer's first call in a graph (Keras'
        way to cut a feature extractor out of a model)."""
        outputs = self._first_node("output").outputs
        return outputs[0] if len(outputs) == 1 else outputs

    def _first_node(self, what: str) -> Any:
        from polykeras.symbolic import nodes_of

        nodes = nodes_of(self)
        if not nodes:
            raise ValueError(f"Layer '{self.name}' has no {what}: it has not been called on symbolic tensors.")
        return nodes[0]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"

    # ------------------------------------------------------------ build
    def build(self, input_shape: Any = None) -> None:
        """Create the weights for inputs of ``input_shape``. Called once,
        before the first ``call``; subclasses override it."""

    def _maybe_build_from_shape(self, input_shape: Any) -> None:
        self.build(input_shape)

    def _maybe_build(self, args: tuple, kwargs: dict) -> None:
        build = type(self).build
        params = [p for p in list(inspect.signature(build).parameters.values())[1:]
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        shapes = [map_structure(_shape, a) for a in args]
        if len(params) <= 1:
            first = shapes[0] if shapes else map_structure(_shape, next(iter(kwargs.values()), None))
            self.build(first) if params else self.build()
            return
        call_params = list(inspect.signature(self.call).parameters)
        named = dict(zip(call_params, shapes))
        named.update({k: map_structure(_shape, v) for k, v in kwargs.items()})
        build_args = {p.name: named.get(p.name.removesuffix("_shape")) for p in params}
        self.build(**build_args)

    def get_build_config(self) -> dict[str, Any] | None:
        """What ``build`` was called with, for saving. Example: ``{"input_shape": [None, 8]}``"""
        if self._build_shapes is None:
            return None
        return {"input_shape": self._build_shapes}

    def build_from_config(self, config: dict[str, Any] | None) -> None:
        """Rebuild from :meth:`get_build_config`'s output."""
        if config and not self.built:
            shape = config["input_shape"]
            self.build(_tuples(shape))

    # ------------------------------------------------------------- call
    def call(self, *args: Any, **kwargs: Any) -> Any:
        """The computation; subclasses override it."""
        raise NotImplementedError(f"Layer {type(self).__name__} ('{self.name}') does not implement call().")

    def compute_mask(self, inputs: Any, previous_mask: Any = None) -> Any:
        """The mask of the outputs (default: pass ``previous_mask`` on)."""
        return previous_mask

    def compute_output_shape(self, *args: Any, **kwargs: Any) -> Any:
        """Output shape for ``input_shape`` (``None`` = unknown size). The
        default traces ``call`` on zeros without touching the layer's state."""
        from polykeras.symbolic import SymbolicTensor, trace_output_spec
        from polykeras.variables import StatelessScope

        shape = args[0] if args else next(iter(kwargs.values()))
        inputs = map_structure(
            lambda s: SymbolicTensor(s, self.compute_dtype),
            _tuples(shape),
        ) if not _is_shape(shape) else SymbolicTensor(shape, self.compute_dtype)

        def run(x: Any) -> Any:
            with StatelessScope(collect_losses=True):
                return self(x)

        spec = trace_output_spec(run, inputs)
        return map_structure(lambda leaf: leaf.shape, spec)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if any_symbolic(args) or any_symbolic(list(kwargs.values())):
            return self._symbolic_call(*args, **kwargs)
        has_training, has_mask, training_default, first_name = _call_info(type(self).call)
        args = tuple(self._convert(a) for a in args)
        kwargs = {k: (v if k in ("training", "mask") else self._convert(v)) for k, v in kwargs.items()}
        first = args[0] if args else kwargs.get(first_name) if first_name else None
        # training: explicit > outer call > call's default
        outer = call_context.current()
        training = kwargs.pop("training", None)
        if training is None and outer is not None:
            training = outer.training
        if training is None:
            training = training_default
        if has_training and training is not None:
            kwargs["training"] = training
        # masks ride beside the first input
        explicit_mask = "mask" in kwargs
        previous_mask = kwargs.pop("mask", None) if explicit_mask else _masks_of(first)
        if has_mask and previous_mask is not None and "mask" in inspect.signature(self.call).parameters:
            kwargs["mask"] = previous_mask
        flat_inputs = flatten(first)
        if self._input_spec is not None:
            assert_input_compatibility(self._input_spec, flat_inputs, self.name)
        if not self.built:
            with name_scope(self.name):
                self._maybe_build(args, kwargs)
            if self._input_spec is not None:
                assert_input_compatibility(self._input_spec, flat_inputs, self.name)
        if outer is None:
            self._clear_losses()
        with call_context.enter(self, training), name_scope(self.name):
            outputs = self.call(*args, **kwargs)
        if self.activity_regularizer is not None:
            for out in flatten(outputs):
                if ops.is_tensor(out):
                    loss = self.activity_regularizer(out)
                    if len(ops.shape(out)) > 0 and ops.shape(out)[0]:
                        loss = ops.divide(loss, float(ops.shape(out)[0]))
                    self.add_loss(loss)
        if self._supports_masking or (previous_mask is not None and type(self).compute_mask is not Layer.compute_mask):
            self._set_output_masks(first, outputs, previous_mask)
        return outputs

    def _convert(self, value: Any) -> Any:
        if isinstance(value, Variable):
            value = value.value
        if isinstance(value, np.ndarray):
            dtype = self.compute_dtype if self.autocast and value.dtype.kind == "f" else None
            return ops.convert_to_tensor(value, dtype)
        if isinstance(value, (list, tuple, dict)):
            return map_structure(self._convert_leaf, value)
        if self.autocast and ops.is_tensor(value):
            dtype = ops.dtype(value)
            if is_float(dtype) and dtype != self.compute_dtype:
                return ops.cast(value, self.compute_dtype)
        return value

    def _convert_leaf(self, value: Any) -> Any:
        if isinstance(value, (np.ndarray, Variable)) or (not isinstance(value, (int, float, str, bool)) and value is not None and ops.is_tensor(value)):
            return self._convert(value)
        return value

    def _set_output_masks(self, inputs: Any, outputs: Any, previous_mask: Any) -> None:
        flat_outputs = flatten(outputs)
        if all(masking.get_mask(x) is not None for x in flat_outputs):
            return
        masks = self.compute_mask(inputs, previous_mask)
        if masks is None:
            return
        flat_masks = flatten(masks)
        if len(flat_masks) == 1 and len(flat_outputs) > 1:
            flat_masks = flat_masks * len(flat_outputs)
        for x, m in zip(flat_outputs, flat_masks):
            if m is not None:
                masking.set_mask(x, m)

    def _symbolic_call(self, *args: Any, **kwargs: Any) -> Any:
        """Call on symbolic tensors: delegated to the models package's handler."""
        from polykeras.variables import StatelessScope

        handler = _symbolic_handler
        if handler is None:
            from polykeras.symbolic import symbolic_call as handler
        # Tracing runs the layer on placeholder data: keep its state and losses untouched.
        with StatelessScope(collect_losses=True):
            return handler(self, args, kwargs)

    # ----------------------------------------------------------- config
    def _auto_config(self) -> bool:
        mro = type(self).__mro__
        config_owner = next(c for c in mro if "get_config" in c.__dict__)
        init_owner = next(c for c in mro if "__init__" in c.__dict__)
        return init_owner is not config_owner and issubclass(init_owner, config_owner)

    def get_config(self) -> dict[str, Any]:
        """JSON-safe constructor arguments: ``cls.from_config(config)``
        rebuilds the layer. Captured ``__init__`` arguments are used when the
        class does not write its own ``get_config``."""
        config: dict[str, Any] = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = regularizers_lib.serialize(self.activity_regularizer)
        config.update(self._weight_options.get_config())
        if not self._auto_config():
            return config
        captured = self.__dict__.get("_init_args", {})
        if isinstance(captured, str):
            raise NotImplementedError(
                f"Layer '{self.name}' ({type(self).__name__}) cannot be serialized automatically: {captured}. "
                "Write get_config() returning its constructor arguments."
            )
        skip = {"name", "trainable", "dtype", "initial_weights"}
        config.update(json_safe_arguments({k: v for k, v in captured.items() if k not in skip}, self.name))
        if not accepts_kwargs(type(self)):
            allowed = init_parameter_names(type(self))
            config = {k: v for k, v in config.items() if k in allowed}
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Layer:
        """A new layer from :meth:`get_config`'s output. Example: ``Dense.from_config(cfg)``"""
        config = {k: deserialize_argument(v, custom_objects) for k, v in dict(config).items()}
        if not accepts_kwargs(cls):
            allowed = init_parameter_names(cls)
            config = {k: v for k, v in config.items() if k in allowed}
        try:
            return cls(**config)
        except TypeError as err:
            raise TypeError(f"Could not rebuild {cls.__name__} from config {config!r}: {err}") from err


def _input_shape_from(kwargs: dict[str, Any]) -> Any:
    batch = kwargs.get("batch_size")
    if kwargs.get("batch_input_shape") is not None:
        return tuple(kwargs["batch_input_shape"])
    if kwargs.get("input_dim") is not None:
        shape: Any = (kwargs["input_dim"],)
        if kwargs.get("input_length") is not None:
            shape = (kwargs["input_length"], kwargs["input_dim"])
    else:
        shape = kwargs.get("input_shape")
    if shape is None:
        return None
    if _is_shape(shape):
        return (batch, *tuple(shape))
    return [(batch, *tuple(s)) for s in shape]


def _is_shape(value: Any) -> bool:
    return isinstance(value, (tuple, list)) and all(d is None or isinstance(d, (int, np.integer)) for d in value)


def _tuples(shape: Any) -> Any:
    if _is_shape(shape):
        return tuple(shape)
    if isinstance(shape, (list, tuple)):
        return [_tuples(s) for s in shape]
    if isinstance(shape, dict):
        return {k: _tuples(v) for k, v in shape.items()}
    return shape


def _masks_of(first: Any) -> Any:
    if first is None:
        return None
    if isinstance(first, (list, tuple)):
        masks = [masking.get_mask(x) for x in first]
        return masks if any(m is not None for m in masks) else None
    return masking.get_mask(first)


def _standardize_layer_dtype(dtype: Any, layer: str) -> str:
    if isinstance(dtype, dict):  # Keras 3's serialized DTypePolicy
        dtype = (dtype.get("config") or {}).get("name", dtype)
    if dtype is None:
        return FLOATX
    try:
        return standardize_dtype(dtype)
    except ValueError as err:
        raise ValueError(f"Layer '{layer}': {err}") from None


# The base class's own build gets the same wrapper as subclasses'.
Layer.build = _wrap_build(Layer.build)  # type: ignore[method-assign]
