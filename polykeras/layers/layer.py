"""``Layer``: the base of every layer and model, with Keras 3's API.

The class composes small modules: :mod:`.tracking` (sub-layers and variables
found in attributes, cached), :mod:`.config` (``__init__`` argument capture,
``get_config``/``from_config``), :mod:`.lifecycle` (the build wrapper, the
build at construction), :mod:`.input_spec`, :mod:`.masking`,
:mod:`.weight_options` (Keraflow's ``regularizers``/``constraints``/
``initial_weights``) and :mod:`.call_context`.

Lifecycle: ``__init__`` -> (lazy) ``build(input_shape)`` on the first call, or
right after construction when ``input_shape``/``input_dim`` is given ->
``call(inputs, training=None, mask=None)``. ``training`` and ``mask`` are passed
only when ``call``'s signature names them; ``training`` flows from outer
layers to inner ones.

Symbolic inputs (``polykeras.Input``) are the graph's business: when any input
is a :class:`polykeras.symbolic.SymbolicTensor`, ``__call__`` returns
``self._symbolic_call(*args, **kwargs)``, which runs the handler installed with
:func:`set_symbolic_call_handler` (default: ``polykeras.symbolic.symbolic_call``)
inside a ``StatelessScope``, so tracing never changes the layer's state.

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

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from polykeras import backends, ops
from polykeras import initializers as initializers_lib
from polykeras import regularizers as regularizers_lib
from polykeras.rematerialization import get_current_remat_mode
from polykeras.rematerialization import layer_call as remat_layer_call
from polykeras.backends.dtypes import is_float, standardize_dtype
from polykeras.dtype_policies import DTypePolicy, DTypePolicyMap
from polykeras.dtype_policies import get as get_policy
from polykeras.layers import call_context, masking, native
from polykeras.layers.config import LAYER_CLASSES, ConfigMixin, to_snake_case, unique_name
from polykeras.layers.host_calls import guard_call, in_data_pipeline, pipeline_call
from polykeras.layers.input_spec import InputSpec, assert_input_compatibility
from polykeras.layers.lifecycle import (
    SHAPE_KWARGS, LayerMeta, build_params, call_info, input_shape_from, is_shape, shape_of, spec_shapes, tuples,
    wrap_build,
)
from polykeras.layers.tracking import TrackedDict, TrackedList, TrackingMixin, bump
from polykeras.layers.weight_options import WeightOptions, as_array
from polykeras.symbolic import SymbolicTensor, any_symbolic, flatten, map_structure
from polykeras.variables import (
    StatelessScope,
    Variable,
    autocast_dtype,
    enter_autocast,
    enter_gather_frame,
    enter_name_scope,
    exit_autocast,
    exit_gather_frame,
    exit_name_scope,
    gather_frame,
    get_stateless_scope,
    name_scope,
    sharded_variables_exist,
)

__all__ = ["Layer", "set_symbolic_call_handler"]

_symbolic_handler: Callable[..., Any] | None = None
_CONTAINERS = (list, tuple, dict, TrackedList, TrackedDict)


def variable_weights(layer: Any) -> list[Any]:
    """The variables a layer holds itself (not through sub-layers), as weight
    files hold them and :meth:`Layer.save_own_variables` stores them.
    Example: ``[v.name for v in variable_weights(dense)]`` -> ``['kernel', 'bias']``
    A layer whose files order its variables otherwise than ``weights`` does
    (a quantized Dense: kernel, bias, kernel_scale) reorders them in
    ``_keras_variable_order``; one whose files hold other values
    (a LoRA layer: the merged kernel, no adapter matrices, as Keras 3 saves
    it) substitutes them in ``_file_weights``."""
    variables = list(layer._own_state()[0])
    reorder = getattr(layer, "_keras_variable_order", None)
    variables = reorder(variables) if reorder is not None else variables
    substitute = getattr(layer, "_file_weights", None)
    return substitute(variables) if substitute is not None else variables


def set_symbolic_call_handler(handler: Callable[[Any, tuple, dict], Any] | None) -> None:
    """Install the function that calls layers on symbolic tensors
    (``handler(layer, args, kwargs)``). Example: ``set_symbolic_call_handler(graph_call)``"""
    global _symbolic_handler
    _symbolic_handler = handler


def _has_symbolic(args: tuple, kwargs: dict) -> bool:
    for a in (*args, *kwargs.values()) if kwargs else args:
        if isinstance(a, SymbolicTensor) or (type(a) in _CONTAINERS and any_symbolic(a)):
            return True
    return False


class Layer(TrackingMixin, ConfigMixin, metaclass=LayerMeta):
    """The base layer: weights, lazy build, call, losses, masks, config.

    Args:
        trainable: whether the layer's weights are trained.
        name: unique name (default: snake_case class name, ``dense_1``...).
        dtype: the dtype policy: a :class:`~polykeras.dtype_policies.DTypePolicy`,
            its name (``"float32"``, ``"mixed_bfloat16"``...), its config or a
            ``DTypePolicyMap``; default: the global policy
            (``polykeras.config.dtype_policy()``, float32). Variables are made
            in its ``variable_dtype``; inside ``call`` floating inputs and
            float variable reads are cast to its ``compute_dtype``.
        autocast: cast floating-point inputs (and, under a mixed policy,
            variable reads) to the compute dtype.
        activity_regularizer: a penalty on the outputs (divided by batch size).
        regularizers / constraints / initial_weights: Keraflow's generic
            forms, see :mod:`polykeras.layers.weight_options`.
        input_shape / input_dim / batch_size: build right after construction.

    Example:
        >>> layer = MyLayer(name="features", input_shape=(8,))   # built now
        >>> layer.weights, layer.get_config()
    """

    #: Attributes holding bookkeeping, never searched for sub-layers.
    _untracked = frozenset({
        "_own_variables", "_created_trainable", "_losses", "_loss_ids", "_weight_options", "_init_args",
        "_input_spec", "activity_regularizer", "_build_shapes", "_path", "_dtype", "name", "_trainable",
        "_dtype_policy", "_compute_dtype", "_mixed",
        "built", "autocast", "_building", "_pk_initialized", "_supports_masking", "_input_shape_arg",
        "_inbound_nodes", "_tracking_cache", "_loss_generation", "_call_generation", "_native_modules",
    })

    def __init_subclass__(cls, builtin: bool = True, **kwargs: Any) -> None:
        # ``builtin=False``: a polykeras class that configs may not name without
        # custom_objects (as Keras leaves its applications' helper layers).
        super().__init_subclass__(**kwargs)
        if "build" in cls.__dict__:
            cls.build = wrap_build(cls.__dict__["build"])  # type: ignore[method-assign]  # see wrap_build
        if "__call__" in cls.__dict__:  # tf.data graph tensors take the host path here too
            cls.__call__ = guard_call(cls.__dict__["__call__"])  # type: ignore[method-assign]
        if builtin and cls.__module__.startswith("polykeras.") and not cls.__name__.startswith("_"):
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
        unknown = sorted(set(kwargs) - set(SHAPE_KWARGS))
        if unknown:
            raise ValueError(f"Unrecognized keyword arguments passed to {cls_name}: {unknown}.")
        if not isinstance(trainable, bool):
            raise ValueError(f"{cls_name}: expected trainable to be a bool, received trainable={trainable!r}.")
        if name is None:
            name = unique_name(to_snake_case(cls_name))
        elif not isinstance(name, str) or not name or "/" in name:
            raise ValueError(f"{cls_name}: expected a non-empty name without '/', received name={name!r}.")
        state = self.__dict__
        state.update(
            name=name, _dtype_policy=_layer_policy(dtype, name), _trainable=trainable, autocast=autocast, built=False,
            _building=False, _path=name, _input_spec=None, _build_shapes=None,
            _supports_masking=type(self).compute_mask is not Layer.compute_mask,
            activity_regularizer=regularizers_lib.get(activity_regularizer),
            _own_variables=[], _created_trainable=set(), _losses=[], _loss_ids=set(),
            _loss_generation=0, _call_generation=0,
            _weight_options=WeightOptions(name, regularizers, constraints, initial_weights),
            _input_shape_arg=input_shape_from(kwargs),
            _remat_mode=get_current_remat_mode(),
        )
        self._resolve_policy()
        state["_pk_initialized"] = True

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
            raise ValueError(f"Layer '{self.name}'.add_weight: expected a shape of non-negative ints, "
                             f"received {shape!r}.")
        dtype = standardize_dtype(dtype or self._dtype)
        if initializer is None:
            initializer = "glorot_uniform" if is_float(dtype) else "zeros"
        name = name or "variable"
        taken = {v.name for v in self._own_variables}
        if name in taken:
            if name != "variable":
                raise ValueError(f"Layer '{self.name}' already has a weight named {name!r}; "
                                 f"weight names must be unique.")
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
        bump()
        return variable

    def add_variable(self, shape: Sequence[int], initializer: Any = "zeros", dtype: Any = None,
                     trainable: bool = True, autocast: bool = True, regularizer: Any = None, constraint: Any = None,
                     name: str | None = None, **kwargs: Any) -> Variable:
        """:meth:`add_weight` with Keras 3's ``add_variable`` order of
        arguments (``initializer`` second; zeros by default).
        Example: ``self.count = self.add_variable((), "zeros", trainable=False, name="count")``"""
        return self.add_weight(shape=shape, initializer=initializer, dtype=dtype, trainable=trainable,
                               autocast=autocast, regularizer=regularizer, constraint=constraint, name=name, **kwargs)

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
        """Record a scalar loss during ``call``; the losses of a call replace
        those of the previous outermost call. Example: ``self.add_loss(ops.mean(x ** 2))``"""
        context = call_context.current()
        generation = context.generation if context is not None else self._call_generation
        if generation != self._loss_generation:
            self.__dict__.update(_losses=[], _loss_ids=set(), _loss_generation=generation)
        scope = get_stateless_scope()
        for item in flatten(loss):
            if scope is not None and scope.collect_losses:
                scope.add_loss(item)
                self._loss_ids.add(id(item))
            else:
                self._losses.append(item)

    def _own_losses(self, generation: int) -> list[Any]:
        if self._loss_generation != generation:
            return []
        scope = get_stateless_scope()
        if scope is not None and scope.collect_losses:
            return [x for x in scope.losses if id(x) in self._loss_ids]
        return list(self._losses)

    def _clear_losses(self) -> None:
        for layer in self._flatten_layers():
            layer.__dict__.update(_losses=[], _loss_ids=set())

    @property
    def losses(self) -> list[Any]:
        """Losses added during this layer's last outermost call (by it and its
        sub-layers), then the trainable weights' regularization losses,
        computed now from their current values."""
        generation = self._call_generation
        out = [loss for layer in self._flatten_layers() for loss in layer._own_losses(generation)]
        regularized = [v for v in self.trainable_weights if v.regularizer is not None]
        if regularized:
            with gather_frame():
                out.extend(v.regularizer(v.value) for v in regularized)
        return out

    # --------------------------------------------------------- properties
    @property
    def dtype_policy(self) -> DTypePolicy:
        """The layer's :class:`~polykeras.dtype_policies.DTypePolicy` (or
        ``DTypePolicyMap``). Settable before the layer is built:
        ``layer.dtype_policy = "mixed_bfloat16"``."""
        return self._dtype_policy

    @dtype_policy.setter
    def dtype_policy(self, value: Any) -> None:
        policy = _layer_policy(value, self.name)
        current = self._dtype_policy
        if isinstance(current, DTypePolicyMap) and not isinstance(policy, DTypePolicyMap):
            if self._path in current:
                del current[self._path]
            current[self._path] = policy
        else:
            self.__dict__["_dtype_policy"] = policy
        self._resolve_policy()

    def _resolve_policy(self) -> None:
        """Cache the policy's dtypes (a ``DTypePolicyMap`` is looked up by
        the layer's path, which the build fixes)."""
        policy = self._dtype_policy
        if isinstance(policy, DTypePolicyMap):
            policy = policy[self._path]
        compute, variable = policy.compute_dtype, policy.variable_dtype
        self.__dict__.update(_dtype=variable, _compute_dtype=compute,
                             _mixed=compute != variable and is_float(compute) and is_float(variable))

    @property
    def dtype(self) -> str:
        """The variables' dtype (Keras 3: an alias of :attr:`variable_dtype`)."""
        return self._dtype

    @property
    def quantization_mode(self) -> str | None:
        """The layer's quantization mode (``"int8"``, ``"float8"``...), None
        when it is not quantized: its policy's (a policy map's entry for the
        layer's path). Example: ``dense.quantize("int8"); dense.quantization_mode`` -> ``'int8'``"""
        policy = self._dtype_policy
        if isinstance(policy, DTypePolicyMap) and self.path:
            policy = policy[self.path]
        return policy.quantization_mode

    @property
    def compute_dtype(self) -> str:
        """The dtype ``call`` computes in: floating inputs and float variable
        reads are cast to it (the policy's ``compute_dtype``)."""
        return self._compute_dtype

    @property
    def variable_dtype(self) -> str:
        """The dtype of the layer's variables (the policy's ``variable_dtype``)."""
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
    def build(self, input_shape: Any) -> None:
        """Create the weights for inputs of ``input_shape``. Called once,
        before the first ``call``; subclasses override it (with one shape
        per ``call`` argument they name, or none)."""

    def _maybe_build(self, args: tuple, kwargs: dict) -> None:
        params = build_params(type(self).build)
        shapes = [map_structure(shape_of, a) for a in args]
        if len(params) <= 1:
            first = shapes[0] if shapes else map_structure(shape_of, next(iter(kwargs.values()), None))
            build: Callable[..., None] = self.build  # the subclass's own parameters (see build_params)
            build(first) if params else build()
            return
        import inspect

        named = dict(zip(inspect.signature(self.call).parameters, shapes))
        named.update({k: map_structure(shape_of, v) for k, v in kwargs.items()})
        self.build(**{p: named.get(p.removesuffix("_shape")) for p in params})

    def get_build_config(self) -> dict[str, Any] | None:
        """What ``build`` was called with, for saving. Example: ``{"input_shape": [None, 8]}``"""
        if self._build_shapes is None:
            return None
        return {"input_shape": self._build_shapes}

    def build_from_config(self, config: dict[str, Any] | None) -> None:
        """Rebuild from :meth:`get_build_config`'s output."""
        if config and not self.built:
            self.build(tuples(config["input_shape"]))

    def quantize(self, mode: str | None = None, type_check: bool = True, config: Any = None) -> None:
        """Quantize the layer's weights in place; layers that can (``Dense``,
        ``EinsumDense``, ``Embedding``) override it. Here: the checks Keras 3
        makes, then NotImplementedError. Example: ``dense.quantize("int8")``"""
        from polykeras.quantizers import validate_and_resolve_config

        mode = validate_and_resolve_config(mode, config).mode
        if not self.built:
            raise ValueError(f"Cannot quantize a layer that isn't yet built. Layer '{self.name}' (of type "
                             f"'{type(self).__name__}') is not built yet.")
        raise NotImplementedError(f"Layer {type(self).__name__} does not have a `quantize` method implemented. "
                                  f"(layer '{self.name}', mode={mode!r}; the quantizable layers are Dense, "
                                  "EinsumDense and Embedding)")

    # ------------------------------------------------------------- call
    def call(self, *args: Any, **kwargs: Any) -> Any:
        """The computation; subclasses override it."""
        raise NotImplementedError(f"Layer {type(self).__name__} ('{self.name}') does not implement call().")

    def compute_mask(self, inputs: Any, previous_mask: Any = None) -> Any:
        """The mask of the outputs (default: pass ``previous_mask`` on)."""
        return previous_mask

    def compute_output_shape(self, *args: Any, **kwargs: Any) -> Any:
        """Output shape for ``input_shape`` (``None`` = unknown size). The
        default evaluates ``call`` abstractly on the engine (no kernel runs,
        the layer's state is untouched): see ``polykeras.symbolic``. Several
        shapes are the shapes of ``call``'s first arguments, in order (a
        cell's ``(inputs_shape, states_shape)``).

        Example: ``SimpleRNNCell(3).compute_output_shape((None, 4), [(None, 3)])`` -> ``((None, 3), [(None, 3)])``
        """
        from polykeras.symbolic import trace_output_spec

        def placeholders(shape: Any) -> Any:
            if is_shape(shape):
                return SymbolicTensor(shape, self.compute_dtype)
            if isinstance(shape, dict):
                return {key: placeholders(value) for key, value in shape.items()}
            return [placeholders(value) for value in shape]

        shapes = list(args) if args else [next(iter(kwargs.values()))]
        inputs = [placeholders(shape) for shape in shapes]

        def run(x: list[Any]) -> Any:
            with StatelessScope(collect_losses=True):
                return self(*x)

        return spec_shapes(trace_output_spec(run, inputs))

    def compute_output_spec(self, *args: Any, **kwargs: Any) -> Any:
        """The outputs of calling the layer on symbolic ``args``, as
        ``KerasTensor``\\ s with no graph history (nothing is recorded). The
        default asks :meth:`compute_output_shape` where the layer overrides it,
        else evaluates ``call`` abstractly on the engine (no kernel runs);
        override it for a call that cannot be evaluated so.

        Example: ``Dense(3).compute_output_spec(KerasTensor((None, 4))).shape`` -> ``(None, 3)``
        """
        from polykeras.backends.base import Spec
        from polykeras.symbolic import layer_output_spec

        return map_structure(lambda s: SymbolicTensor(s.shape, s.dtype) if isinstance(s, Spec) else s,
                             layer_output_spec(self, args, kwargs))

    def symbolic_call(self, *args: Any, **kwargs: Any) -> Any:
        """:meth:`compute_output_spec`, as Keras 3's ``Layer.symbolic_call``
        (a call on symbolic tensors records its graph node in ``__call__``).

        Example: ``Dense(3).symbolic_call(KerasTensor((None, 4))).shape`` -> ``(None, 3)``
        """
        return self.compute_output_spec(*args, **kwargs)

    @property
    def input_dtype(self) -> str:
        """The dtype the layer converts its floating inputs to: the compute
        dtype of its policy. Example: ``Dense(3, dtype="mixed_float16").input_dtype`` -> ``'float16'``"""
        return self.compute_dtype

    def add_metric(self, *args: Any, **kwargs: Any) -> None:
        """Removed in Keras 3, and so here: raises ``NotImplementedError``."""
        raise NotImplementedError(
            f"Layer '{self.name}': add_metric() was removed in Keras 3. Name the metric in "
            "Model.compile(metrics=[...]), or create a Metric in __init__() or build() and call its "
            "update_state() in call().")

    def save_own_variables(self, store: Any) -> None:
        """Put the layer's own state (not its sublayers') into ``store``, a
        dict-like, under ``"0"``, ``"1"``, ... in the order weight files hold
        it, as Keras 3 does. Override it, with :meth:`load_own_variables`, to
        save state that is not a variable or to lay it out your own way: every
        saving format (``.keras``, ``.pkeras``, ``.weights.h5``) then stores
        the entries under their keys.

        Example: ``store = {}; dense.save_own_variables(store); sorted(store)`` -> ``['0', '1']``
        """
        for index, weight in enumerate(variable_weights(self)):
            store[str(index)] = weight

    def load_own_variables(self, store: Any) -> None:
        """Take back the state :meth:`save_own_variables` put into ``store``
        (checked whole before any is assigned).

        Example: ``dense.load_own_variables({"0": kernel, "1": bias})``
        """
        weights = variable_weights(self)
        if len(store.keys()) != len(weights):
            unbuilt = " (the layer is not built: its build() or build_from_config() creates them)" \
                if not weights and not self.built else ""
            raise ValueError(f"Layer '{self.name}' expected {len(weights)} variables "
                             f"{[w.name for w in weights]}{unbuilt}, received {len(store.keys())} during loading.")
        values = [store[str(index)] for index in range(len(weights))]
        for weight, value in zip(weights, values):
            if tuple(weight.shape) != tuple(np.shape(value)):
                raise ValueError(f"Layer '{self.name}': expected shape {tuple(weight.shape)} for weight "
                                 f"{weight.name!r}, received {tuple(np.shape(value))} during loading.")
        for weight, value in zip(weights, values):
            weight.assign(value)

    @property
    def metrics(self) -> list[Any]:
        """Every ``Metric`` held as an attribute of this layer or of its
        sublayers, as Keras 3's ``Layer.metrics`` (a model lists its compiled
        trackers first). Example: ``[m.name for m in layer.metrics]`` -> ``['mean']``"""
        from polykeras.metrics.metric import Metric

        def scan() -> list[Any]:
            found = [value for owner in self._flatten_layers() for value in vars(owner).values()
                     if isinstance(value, Metric)]
            return list({id(m): m for m in found}.values())

        # Read on every training step; the scan is redone after any change to
        # the layers or to an attribute holding a metric.
        return list(self._cached("metrics", scan))

    @property
    def metrics_variables(self) -> list[Any]:
        """The state variables of every metric in :attr:`metrics`.

        Example: ``[v.path for v in model.metrics_variables]`` -> ``['loss/total', 'loss/count']``
        """
        return list({id(v): v for m in self.metrics for v in m.variables}.values())

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _has_symbolic(args, kwargs):
            return self._symbolic_call(*args, **kwargs)
        if in_data_pipeline(args, kwargs):  # inside dataset.map: run on the host
            return pipeline_call(self, args, kwargs)
        has_training, has_mask, training_default, first_name, training_at, mask_at = call_info(type(self).call)
        engine = backends.active()
        args = tuple(self._convert(a, engine) for a in args)
        if kwargs:
            kwargs = {k: (v if k in ("training", "mask") else self._convert(v, engine)) for k, v in kwargs.items()}
        first = args[0] if args else kwargs.get(first_name) if first_name else None
        # training: explicit > outer call > call's default
        outer = call_context.current()
        training = args[training_at] if len(args) > training_at else kwargs.pop("training", None)
        if training is None and outer is not None:
            training = outer.training
        if training is None:
            training = training_default
        if has_training and training is not None and len(args) <= training_at:
            kwargs["training"] = training
        # masks ride beside the first input
        if len(args) > mask_at:
            previous_mask = args[mask_at]
        else:
            previous_mask = kwargs.pop("mask", None) if "mask" in kwargs else _masks_of(first)
            if has_mask and previous_mask is not None:
                kwargs["mask"] = previous_mask
        if self._input_spec is not None:
            assert_input_compatibility(self._input_spec, flatten(first), self.name)
        if not self.built:
            with name_scope(self.name):
                self._maybe_build(args, kwargs)
            if self._input_spec is not None:
                assert_input_compatibility(self._input_spec, flatten(first), self.name)
        if self._weight_options.pending:
            self._build_sublayers_then_set_initial_weights(args, kwargs, training, outer)
        context = call_context.push(training, outer)
        active = call_context.current()
        assert active is not None  # pushed just above
        self.__dict__["_call_generation"] = active.generation
        names = enter_name_scope(self.name)
        # Sharded weights (fully sharded data parallelism) are gathered whole
        # for this call only.
        frame = enter_gather_frame() if sharded_variables_exist() else None
        # Mixed precision: float variable reads inside call come in the
        # compute dtype (an inner layer resets or changes the outer cast).
        cast = self._autocast_scope() if self._mixed or autocast_dtype() is not None else None
        try:
            if self.__dict__.get("_remat_mode") is None:
                outputs = self.call(*args, **kwargs)
            else:  # made inside a RematScope
                outputs = remat_layer_call(self, self.call, args, kwargs)
            if self.activity_regularizer is not None:
                self._add_activity_losses(outputs)
        finally:
            if cast is not None:
                exit_autocast(cast)
            if frame is not None:
                exit_gather_frame(frame)
            exit_name_scope(names)
            call_context.pop(context)
        if self._supports_masking or (previous_mask is not None and type(self).compute_mask is not Layer.compute_mask):
            self._set_output_masks(first, outputs, previous_mask)
        return outputs

    def stateless_call(self, trainable_variables: Sequence[Any], non_trainable_variables: Sequence[Any],
                       *args: Any, return_losses: bool = False, **kwargs: Any) -> tuple[Any, ...]:
        """Call the layer with its variables reading the given values (in the
        orders of :attr:`trainable_variables` and :attr:`non_trainable_variables`),
        touching no variable: returns ``(outputs, new non-trainable values)``,
        plus the losses with ``return_losses=True``. For pure steps under
        ``jax.jit`` (see :mod:`polykeras.layers.native`).

        Example: ``y, nt = model.stateless_call(tv, ntv, x, training=True)``
        """
        return native.stateless_call(self, trainable_variables, non_trainable_variables, args, kwargs,
                                     return_losses)

    def __getattr__(self, name: str) -> Any:
        # Only for names the layer lacks: the engine's native module may lend
        # them (torch: ``model.parameters()``, ``model.zero_grad()``).
        return native.lent_attribute(self, name)

    def _build_sublayers_then_set_initial_weights(self, args: tuple, kwargs: dict, training: Any, outer: Any) -> None:
        # Sub-layers that build lazily need one call first; run it without
        # touching state, so the real first call already uses initial_weights.
        context = call_context.push(training, outer)
        names = enter_name_scope(self.name)
        try:
            with StatelessScope(collect_losses=True):
                self.call(*args, **kwargs)
        finally:
            exit_name_scope(names)
            call_context.pop(context)
        self._weight_options.apply_initial_weights(self)

    def _add_activity_losses(self, outputs: Any) -> None:
        for out in flatten(outputs):
            if ops.is_tensor(out):
                loss = self.activity_regularizer(out)
                shape = ops.shape(out)
                if len(shape) > 0 and shape[0]:
                    loss = ops.divide(loss, float(shape[0]))
                self.add_loss(loss)

    def _autocast_scope(self) -> Any:
        """The token of the autocast scope this call opens, or None when the
        enclosing one already fits (Keras 3's rules: a layer with
        ``autocast=False`` or a non-float compute dtype reads its variables
        uncast; a mixed layer reads them in its compute dtype)."""
        outer = autocast_dtype()
        compute = self._compute_dtype
        if not self.autocast or not is_float(compute):
            wanted = None
        elif outer is not None or self._mixed:
            wanted = compute
        else:
            wanted = None
        return enter_autocast(wanted) if wanted != outer else None

    def _convert(self, value: Any, engine: Any) -> Any:
        kind = type(value)
        if kind is Variable:
            value = value.value
        elif kind is np.ndarray:
            if value.dtype.kind in "USO":
                return value  # text stays on the host, for the layers that read strings (or their error)
            cast = self.autocast and value.dtype.kind == "f"
            return engine.convert_to_tensor(value, self._compute_dtype if cast else None)
        elif kind in _CONTAINERS:
            return map_structure(lambda leaf: self._convert(leaf, engine), value)
        if self.autocast and engine.is_tensor(value):
            dtype = engine.dtype(value)
            if dtype != self._compute_dtype and is_float(dtype):
                return engine.cast(value, self._compute_dtype)
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
        """Call on symbolic tensors: delegated to the installed handler,
        inside a ``StatelessScope`` so the tracing leaves state and losses alone."""
        handler = _symbolic_handler
        if handler is None:
            from polykeras.symbolic import symbolic_call

            handler = symbolic_call
        with StatelessScope(collect_losses=True):
            return handler(self, args, kwargs)


def _masks_of(first: Any) -> Any:
    if first is None:
        return None
    if isinstance(first, (list, tuple)):
        masks = [masking.get_mask(x) for x in first]
        return masks if any(m is not None for m in masks) else None
    return masking.get_mask(first)


def _layer_policy(dtype: Any, layer: str) -> DTypePolicy:
    """The policy ``dtype=`` names (None: the global one), with errors naming the layer."""
    try:
        return get_policy(dtype)
    except (TypeError, ValueError) as err:
        raise ValueError(f"Layer '{layer}': expected dtype to be a dtype policy, its name (such as 'float32' or "
                         f"'mixed_bfloat16') or its config; {err}") from None


# The base class's own build gets the same wrapper as subclasses'.
Layer.build = wrap_build(Layer.build)  # type: ignore[method-assign]
