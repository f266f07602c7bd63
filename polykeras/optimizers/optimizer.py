"""The :class:`Optimizer` base: Keras 3's optimizer API on any engine.

An optimizer keeps ALL its state in :class:`~polykeras.variables.Variable`
objects (the step counter ``iterations``, the learning rate when it is a float,
and one slot per trainable variable and slot name) and touches them only
through ``Variable.value`` / ``Variable.assign`` and :mod:`polykeras.ops`. So
the same ``apply`` runs eagerly on torch (handles updated in place), inside
``tf.function`` (graph assignments) and inside ``jax.jit`` through a
:class:`~polykeras.variables.StatelessScope` (see :meth:`Optimizer.stateless_apply`).
Nothing Python-side changes from one step to the next.

Slot paths are derived from the variable's path, so optimizer state is
addressable for saving: Adam's first moment of ``dense/kernel`` lives at
``adam/dense_kernel_momentum`` (Keras 3's name); the step counter at ``adam/iteration``.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from polykeras import backends, ops
from polykeras.layers.config import to_snake_case, unique_name
from polykeras.optimizers import schedules as schedules_module
from polykeras.optimizers.averaging import AveragingMixin, check_arguments
from polykeras.optimizers.clipping import clip_by_global_norm, clip_by_norm
from polykeras.variables import StatelessScope, Variable, in_stateless_scope, name_scope

Tensor = Any

#: The dtype of ``iterations``. int32 on every engine: JAX without x64 cannot
#: hold int64, and the counter must read the same everywhere (2**31 steps).
ITERATIONS_DTYPE = "int32"


class Optimizer(AveragingMixin):
    """Base class of every optimizer (Keras 3 API).

    Subclasses create their slots in :meth:`build` with
    :meth:`add_optimizer_variables` and write the rule for one variable in
    :meth:`update_step`, with ``ops`` and :meth:`assign` / :meth:`assign_add` /
    :meth:`assign_sub` only.

    Args:
        learning_rate: a float, a :class:`~polykeras.optimizers.schedules.LearningRateSchedule`
            (called with the step counter) or a callable with no arguments.
        weight_decay: decoupled weight decay: before the update, each variable
            not excluded (:meth:`exclude_from_weight_decay`) becomes
            ``v - v * weight_decay * learning_rate``.
        clipnorm: clip each gradient to this L2 norm.
        clipvalue: clip each gradient entry to ``[-clipvalue, clipvalue]``.
        global_clipnorm: clip all gradients together to this global L2 norm.
            At most one of the three clipping arguments may be set.
        loss_scale_factor: gradients are divided by it before anything else.
        use_ema: keep an exponential moving average of every trainable
            variable (slot ``average``): after each update
            ``average = m * average + (1 - m) * variable``, with
            ``m = ema_momentum`` except on the first update (``m = 0``: the
            average starts at the variable). :meth:`finalize_variable_values`
            (called by ``fit`` at the end) copies the averages into the variables.
        ema_momentum: float in [0, 1]; default 0.99.
        ema_overwrite_frequency: an int >= 1: every that many updates the
            variables are overwritten with their averages; default None (never,
            until :meth:`finalize_variable_values`).
        gradient_accumulation_steps: an int n >= 2: every call adds the
            gradients to per-variable accumulators (slot ``gradient_accumulator``)
            and only every n-th call updates, with the mean of the n gradients
            (then zeroes the accumulators). As in Keras 3, :attr:`iterations`
            then counts updates (``calls // n``: Adam's bias correction uses it)
            while a learning-rate schedule sees the number of calls. None, 0 or
            1: no accumulation.
        name: the first component of every state variable's path. Default:
            the class name in snake case, numbered from the second on, as
            Keras names it (``adam``, ``adam_1``, ``rm_sprop``, ``adam_w``).

    Example:
        >>> from polykeras import optimizers, ops
        >>> w = Variable(np.ones((2,), "float32"), name="w")
        >>> opt = optimizers.SGD(learning_rate=0.1)
        >>> opt.apply([ops.ones((2,))], [w])
        >>> w.numpy()
        array([0.9, 0.9], dtype=float32)
        >>> opt = optimizers.Adam(use_ema=True, gradient_accumulation_steps=4)
    """

    def __init__(
        self,
        learning_rate: Any,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        use_ema: bool = False,
        ema_momentum: float = 0.99,
        ema_overwrite_frequency: int | None = None,
        loss_scale_factor: float | None = None,
        gradient_accumulation_steps: int | None = None,
        name: str | None = None,
        **kwargs: Any,
    ):
        owner = type(self).__name__
        if kwargs:
            raise ValueError(f"{owner}: argument(s) not recognized: {sorted(kwargs)}. "
                             f"Expected the arguments of {owner}.__init__.")
        name = name or unique_name(to_snake_case(owner))
        if not isinstance(name, str) or "/" in name:
            raise ValueError(f"{owner}: expected a name without '/', received name={name!r}.")
        self.name = name
        set_clips = [k for k, v in (("clipnorm", clipnorm), ("clipvalue", clipvalue),
                                    ("global_clipnorm", global_clipnorm)) if v is not None]
        if len(set_clips) > 1:
            raise ValueError(f"{owner}: expected at most one of `clipnorm`, `clipvalue` and "
                             f"`global_clipnorm`, received {', '.join(set_clips)}: clipnorm={clipnorm}, "
                             f"clipvalue={clipvalue}, global_clipnorm={global_clipnorm}.")
        for arg, value in (("weight_decay", weight_decay), ("clipnorm", clipnorm), ("clipvalue", clipvalue),
                           ("global_clipnorm", global_clipnorm), ("loss_scale_factor", loss_scale_factor)):
            if value is not None and (not isinstance(value, (int, float, np.number)) or isinstance(value, bool)
                                      or value < 0):
                raise ValueError(f"{owner}: expected `{arg}` to be a non-negative float or None, "
                                 f"received {arg}={value!r}.")
        self.weight_decay = None if weight_decay is None else float(weight_decay)
        self.clipnorm = None if clipnorm is None else float(clipnorm)
        self.clipvalue = None if clipvalue is None else float(clipvalue)
        self.global_clipnorm = None if global_clipnorm is None else float(global_clipnorm)
        self.loss_scale_factor = None if loss_scale_factor is None else float(loss_scale_factor)
        (self.use_ema, self.ema_momentum, self.ema_overwrite_frequency,
         self.gradient_accumulation_steps) = check_arguments(
            owner, use_ema, ema_momentum, ema_overwrite_frequency, gradient_accumulation_steps)

        self.built = False
        self._variables: list[Variable] = []
        self._trainable_variables: list[Variable] = []
        self._index: dict[int, int] = {}
        self._slots: dict[int, dict[str, Variable]] = {}
        self._exclude_ids: set[int] = set()
        self._exclude_pattern: str | None = None
        self._plan: list[tuple[Variable, bool]] | None = None
        self._averages: list[Variable] = []
        self._accumulators: list[Variable] = []
        self._in_place = True

        self._iterations = self._new_variable(
            (self.name, "iteration"), np.zeros((), ITERATIONS_DTYPE), ITERATIONS_DTYPE)
        self._learning_rate: Any = None
        self._set_learning_rate(learning_rate, initial=True)

    # ------------------------------------------------------------------ state
    def _new_variable(self, parts: Sequence[str], value: Any, dtype: str, aggregation: str | None = None,
                      layout: Any = None) -> Variable:
        """A non-trainable Variable whose path is exactly ``"/".join(parts)``."""
        *scopes, last = parts
        if aggregation is None:
            aggregation = "only_first_replica" if last == "iteration" else "none"
        with _nested_scopes(scopes):
            # Replicas apply identical updates to their copies: "on_write" tells
            # data parallelism there is nothing to average after a step.
            variable = Variable(value, shape=np.shape(value), dtype=dtype, trainable=False, name=last,
                                aggregation=aggregation, synchronization="on_write", layout=layout)
        expected = "/".join(parts)
        if variable.path != expected:  # created inside an outer scope, or a repeated component
            variable._path = expected
        self._variables.append(variable)
        return variable

    @property
    def iterations(self) -> Any:
        """The step counter: the int32 Variable counting :meth:`apply` calls;
        with ``gradient_accumulation_steps=n``, as in Keras 3, the number of
        updates made, ``calls // n`` (an int32 tensor; the call counter stays
        ``optimizer.variables[0]``).

        Example: ``int(opt.iterations)``
        """
        if self.gradient_accumulation_steps:
            return self._update_count()
        return self._iterations

    def _update_count(self) -> Tensor:
        """The number of updates made so far (the calls, or the calls // n)."""
        count = self._iterations.value
        steps = self.gradient_accumulation_steps
        return ops.floor_divide(count, steps) if steps else count

    @property
    def variables(self) -> list[Variable]:
        """Every state variable in creation order, as Keras 3 lists them:
        ``iteration``, ``learning_rate`` (for a float rate), the ``average``
        slots (``use_ema``), the ``gradient_accumulator`` slots, then the
        rule's slots, interleaved per trainable variable."""
        return list(self._variables)

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Assign ``weights`` (arrays, in the order of :attr:`variables`) to
        the built optimizer's state, every shape checked before any is
        written. Example: ``new.set_weights([v.numpy() for v in old.variables])``"""
        if not self.built:
            raise ValueError(f"{self.name}.set_weights: the optimizer is not built yet; call "
                             f"optimizer.build(model.trainable_variables) first.")
        weights = list(weights)
        if len(weights) != len(self._variables):
            raise ValueError(f"{self.name}.set_weights: expected {len(self._variables)} arrays (one per state "
                             f"variable), received {len(weights)}.")
        pairs = list(zip(self._variables, weights))
        for variable, weight in pairs:
            if tuple(variable.shape) != tuple(np.shape(weight)):
                raise ValueError(f"{self.name}.set_weights: expected shape {tuple(variable.shape)} for "
                                 f"{_label(variable)}, received an array of shape {tuple(np.shape(weight))}.")
        for variable, weight in pairs:
            variable.assign(weight)

    def save_own_variables(self, store: Any) -> None:
        """Write the state into ``store`` (a dict-like) under ``"0"``,
        ``"1"``, ... in the order of :attr:`variables`, as Keras 3 does.
        Example: ``store = {}; optimizer.save_own_variables(store)``"""
        for index, variable in enumerate(self.variables):
            store[str(index)] = variable.numpy()

    def load_own_variables(self, store: Any) -> None:
        """Read the state :meth:`save_own_variables` wrote. A store holding
        another number of variables (an optimizer not built yet, or built
        for other variables) changes nothing and warns, as Keras 3 does.
        Example: ``optimizer.load_own_variables(store)``"""
        if len(store.keys()) != len(self.variables):
            warnings.warn(f"Skipping variable loading for optimizer '{self.name}': it has "
                          f"{len(self.variables)} variables, the store holds {len(store.keys())}"
                          + (" (the optimizer is not built yet)." if not self.variables else "."), stacklevel=2)
            return
        self.set_weights([store[str(index)] for index in range(len(self.variables))])

    def slots_for(self, variable: Variable) -> dict[str, Variable]:
        """The slot variables kept for ``variable``, by slot name.

        Example:
            >>> opt.slots_for(dense.kernel)
            {'momentum': <Variable path='adam/dense_kernel_momentum' ...>, 'velocity': ...}
        """
        if id(variable) not in self._slots and id(variable) not in self._index:
            raise ValueError(f"{self.name}.slots_for: expected a variable the optimizer was built with, "
                             f"received {_label(variable)}.")
        return dict(self._slots.get(id(variable), {}))

    def add_variable(self, shape: Sequence[int], initializer: Any = "zeros", dtype: str | None = None,
                     aggregation: str = "none", layout: Any = None, name: str | None = None) -> Variable:
        """Add a state variable at path ``{optimizer name}/{name}``. ``layout``
        (a sharding layout) is refused as by :class:`~polykeras.Variable`:
        ``polykeras.distribution`` places variables.

        Example: ``self._u_product = self.add_variable((), initializer=1.0, name="u_product")``
        """
        dtype = dtype or "float32"
        return self._new_variable((self.name, name or "variable"), _initial(initializer, tuple(shape), dtype), dtype,
                                  aggregation, layout)

    def add_variable_from_reference(self, reference_variable: Variable, name: str | None = None,
                                    initializer: Any = "zeros") -> Variable:
        """A slot shaped like ``reference_variable``, named as Keras 3 names
        it: the reference's path with ``_`` for ``/``, then ``name``, under the
        optimizer's name. A sharded run lays it out as its reference.

        Example: ``m = self.add_variable_from_reference(kernel, "momentum")``
        -> a Variable at path ``"adam/dense_kernel_momentum"``
        """
        kind = name or "var"
        shape, dtype = tuple(reference_variable.shape), reference_variable.dtype
        return self._slot(reference_variable, kind, f"{reference_variable.path.replace('/', '_')}_{kind}",
                          _initial(initializer, shape, dtype), dtype)

    def _slot(self, reference_variable: Variable, kind: str, name: str, value: Any, dtype: str) -> Variable:
        """The state variable ``name`` kept for ``reference_variable`` (as
        :meth:`slots_for` lists it under ``kind``), laid out as its reference
        in a sharded run."""
        slot = self._new_variable((self.name, name), value, dtype)
        slot._reference_path = reference_variable.path
        self._slots.setdefault(id(reference_variable), {})[kind] = slot
        return slot

    def add_optimizer_variables(self, trainable_variables: Sequence[Variable], name: str | Sequence[str],
                                initializer: Any = "zeros") -> Any:
        """Slots for every variable, interleaved per variable (Keras 3 order).
        One name gives a list; several names give a tuple of lists.

        Example: ``self._m, self._v = self.add_optimizer_variables(vs, ["momentum", "velocity"])``
        """
        names = [name] if isinstance(name, str) else list(name)
        out: tuple[list[Variable], ...] = tuple([] for _ in names)
        for variable in trainable_variables:
            for i, slot_name in enumerate(names):
                out[i].append(self.add_variable_from_reference(variable, slot_name, initializer))
        return out[0] if isinstance(name, str) else out

    def build(self, variables: Sequence[Variable]) -> None:
        """Record the trainable variables and create the ``average``
        (``use_ema``) and ``gradient_accumulator`` slots, in Keras 3's order;
        subclasses then add their own slots. Call it before compiling a step;
        ``apply`` calls it on first use.

        Example: ``opt.build(model.trainable_variables)``
        """
        variables = list(variables)
        for v in variables:
            if not isinstance(v, Variable):
                raise TypeError(f"{self.name}.build: expected polykeras Variables, received {_label(v)}.")
        self._trainable_variables = variables
        self._index = {id(v): i for i, v in enumerate(variables)}
        self._plan = None
        self.built = True
        self._averages = self.add_optimizer_variables(variables, "average") if self.use_ema else []
        self._accumulators = (self.add_optimizer_variables(variables, "gradient_accumulator")
                              if self.gradient_accumulation_steps else [])

    def _get_variable_index(self, variable: Variable) -> int:
        return self._index[id(variable)]

    # ---------------------------------------------------------- learning rate
    @property
    def learning_rate(self) -> Any:
        """The current learning rate: the Variable for a float rate, else the
        schedule's (or callable's) value at ``iterations``. Settable unless
        the optimizer was made with a schedule.

        Example: ``opt.learning_rate = 0.01``
        """
        if isinstance(self._learning_rate, Variable):
            return self._learning_rate
        return self._current_learning_rate()

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        self._set_learning_rate(value)

    def _set_learning_rate(self, value: Any, initial: bool = False) -> None:
        owner = f"{type(self).__name__} {self.name!r}"
        if isinstance(value, schedules_module.LearningRateSchedule) or (callable(value) and not _is_number(value)
                                                                          and not isinstance(value, Variable)):
            if isinstance(self._learning_rate, Variable):
                self._variables.remove(self._learning_rate)
            self._learning_rate = value
            return
        if isinstance(value, Variable):
            value = value.numpy()
        if not _is_number(value):
            raise TypeError(f"{owner}: expected `learning_rate` to be a float, a LearningRateSchedule or a "
                            f"callable with no arguments, received {value!r}.")
        if isinstance(self._learning_rate, schedules_module.LearningRateSchedule):
            raise TypeError(f"{owner}: the learning rate is a {type(self._learning_rate).__name__} schedule, "
                            f"so it cannot be set to {value!r}. Create the optimizer with a float "
                            "learning_rate to make it settable.")
        value = float(np.asarray(value))
        if isinstance(self._learning_rate, Variable):
            self._learning_rate.assign(np.float32(value))
        else:
            self._learning_rate = self._new_variable((self.name, "learning_rate"), np.float32(value), "float32")
            if not initial:  # keep Keras' order: iteration, learning_rate, slots
                self._variables.insert(1, self._variables.pop())

    def _current_learning_rate(self) -> Tensor:
        lr = self._learning_rate
        if isinstance(lr, Variable):
            return lr.value
        if isinstance(lr, schedules_module.LearningRateSchedule):
            return ops.convert_to_tensor(lr(self._iterations.value), "float32")
        return ops.convert_to_tensor(lr(), "float32")

    # -------------------------------------------------------------- weight decay
    def exclude_from_weight_decay(self, var_list: Iterable[Variable] | None = None,
                                  var_names: Iterable[str] | None = None) -> None:
        """Variables (by object, or by a regex searched in ``variable.name``)
        that weight decay skips. Call it before :meth:`build`.

        Example: ``opt.exclude_from_weight_decay(var_names=["bias", "gamma"])``
        """
        if self.built:
            raise ValueError(f"{self.name}.exclude_from_weight_decay: expected to be called before the "
                             "optimizer is built, received a call after build(). Call it first.")
        self._exclude_ids |= {id(v) for v in var_list or ()}
        names = list(var_names or ())
        if names:
            self._exclude_pattern = "|".join(f"(?:{n})" for n in ([self._exclude_pattern] if self._exclude_pattern
                                                                    else []) + names)

    def _use_weight_decay(self, variable: Variable) -> bool:
        if id(variable) in self._exclude_ids:
            return False
        return not (self._exclude_pattern and re.search(self._exclude_pattern, variable.name))

    # ------------------------------------------------------------------- apply
    def apply_gradients(self, grads_and_vars: Iterable[tuple[Tensor | None, Variable]]) -> None:
        """:meth:`apply` on ``(gradient, variable)`` pairs.

        Example: ``opt.apply_gradients(zip(grads, model.trainable_variables))``
        """
        pairs = list(grads_and_vars)
        self.apply([g for g, _ in pairs], [v for _, v in pairs])

    def scale_loss(self, loss: Tensor) -> Tensor:
        """The loss the trainer differentiates: ``loss * loss_scale_factor``
        (``apply`` divides the gradients back), or ``loss`` unchanged.
        Example: ``opt.scale_loss(loss)``"""
        if self.loss_scale_factor is None:
            return loss
        return ops.multiply(loss, self.loss_scale_factor)

    def apply(self, grads: Sequence[Tensor | None], trainable_variables: Sequence[Variable] | None = None) -> None:
        """One optimization step: unscale, clip, decay, update, constrain, and
        ``iterations += 1``. ``None`` gradients skip their variable (warning).
        With ``gradient_accumulation_steps`` the gradients are accumulated and
        the clip-decay-update runs every n-th call; with ``use_ema`` the
        moving averages follow the update (Keras 3's order).

        Example: ``opt.apply(grads, model.trainable_variables)``
        """
        grads = list(grads)
        if not grads:
            return
        if trainable_variables is None:
            if not self.built:
                raise ValueError(f"{self.name}.apply: expected `trainable_variables` or a built optimizer, "
                                 "received gradients only. Call optimizer.build(variables) first.")
            trainable_variables = self._trainable_variables
        else:
            trainable_variables = list(trainable_variables)
            if not self.built:
                self.build(trainable_variables)
        grads, variables, indices = self._checked(grads, trainable_variables)
        if self.loss_scale_factor is not None:
            grads = [ops.divide(g, self.loss_scale_factor) for g in grads]
        if self.gradient_accumulation_steps:
            self._accumulate(grads, variables, indices)
        else:
            self._update(grads, variables, indices)
        if self.use_ema:
            self._update_averages()
        for variable in variables:
            if variable.constraint is not None:
                variable.apply_constraint()
        self._iterations.assign(ops.add(self._iterations.value, 1))

    def _update(self, grads: list[Tensor], variables: list[Variable], indices: list[int]) -> None:
        """One update: clip, decoupled weight decay, the rule."""
        plan = self._plan if self._plan is not None else self._make_plan()
        grads = self._clip_gradients(grads)
        grads = [g if ops.dtype(g) == v.dtype else ops.cast(g, v.dtype) for g, v in zip(grads, variables)]
        learning_rate = self._current_learning_rate()
        if self._decays_weights():
            self._apply_weight_decay([plan[i] for i in indices], learning_rate)
        self._update_step_all(grads, variables, learning_rate)

    def _checked(self, grads: list[Tensor | None], trainable_variables: list[Variable]
                 ) -> tuple[list[Tensor], list[Variable], list[int]]:
        """The gradients that are not None, their variables and indices, after
        checking counts, shapes and that every variable is known."""
        if len(grads) != len(trainable_variables):
            raise ValueError(f"{self.name}.apply: expected one gradient per variable "
                             f"({len(trainable_variables)} variables), received {len(grads)} gradients.")
        kept, indices, missing = [], [], []
        for g, v in zip(grads, trainable_variables):
            if g is None:
                missing.append(v.path)
                continue
            index = self._index.get(id(v))
            if index is None:
                raise ValueError(f"{self.name}.apply: expected variables the optimizer was built with "
                                 f"({len(self._index)} variables), received the unknown variable {_label(v)}. "
                                 "Create a new optimizer for a new set of variables.")
            shape = tuple(ops.shape(g))
            if shape != v.shape:
                raise ValueError(f"{self.name}.apply: expected a gradient of shape {v.shape} for variable "
                                 f"{v.path!r}, received a gradient of shape {shape}.")
            kept.append(g)
            indices.append(index)
        if not kept:
            raise ValueError(f"{self.name}.apply: expected at least one gradient, received None for every "
                             f"variable ({', '.join(missing)}).")
        if missing:
            warnings.warn(f"{self.name}: no gradients for variables {missing}; they are not updated.", stacklevel=3)
        return kept, [self._trainable_variables[i] for i in indices], indices

    def stateless_apply(self, optimizer_variables: Sequence[Tensor], grads: Sequence[Tensor | None],
                        trainable_variables: Sequence[Tensor]) -> tuple[list[Tensor], list[Tensor]]:
        """:meth:`apply` as a pure function of values: returns
        ``(new trainable values, new optimizer values)``, in the orders of the
        built trainable variables and :attr:`variables`. Handles are untouched.

        Example:
            >>> new_w, new_state = opt.stateless_apply(state, grads, weights)
        """
        if not self.built:
            raise ValueError(f"{self.name}.stateless_apply: expected a built optimizer, received an unbuilt "
                             "one. Call optimizer.build(variables) first.")
        state = self.variables
        if len(optimizer_variables) != len(state) or len(trainable_variables) != len(self._trainable_variables):
            raise ValueError(
                f"{self.name}.stateless_apply: expected {len(state)} optimizer values and "
                f"{len(self._trainable_variables)} trainable values, received {len(optimizer_variables)} and "
                f"{len(trainable_variables)}.")
        mapping = list(zip(self._trainable_variables, trainable_variables)) + list(zip(state, optimizer_variables))
        with StatelessScope(mapping) as scope:
            self.apply(grads)
        return ([scope.get_current_value(v) for v in self._trainable_variables],
                [scope.get_current_value(v) for v in state])

    def _make_plan(self) -> list[tuple[Variable, bool]]:
        """Static per-variable facts, computed once after build."""
        self._plan = [(v, self._use_weight_decay(v)) for v in self._trainable_variables]
        return self._plan

    def _update_step_all(self, grads: list[Tensor], variables: list[Variable], learning_rate: Tensor) -> None:
        """Update every variable; the default runs :meth:`update_step` per
        variable. SGD, Adam and RMSprop override it with one call of the
        engine's multi-tensor rule (``Backend.adam_update``...), which an
        engine may run as fused in-place kernels."""
        for grad, variable in zip(grads, variables):
            self.update_step(grad, variable, learning_rate)

    @staticmethod
    def _engine_rule(rule: str) -> Any:
        """The active engine's multi-tensor rule (``Backend.adam_update``...):
        a protocol composite an engine may implement with fused kernels."""
        return getattr(backends.active(), f"{rule}_update")

    def _may_update_in_place(self) -> bool:
        """Engines may write the handles in place only outside a StatelessScope
        (and not while an accumulation step is computed for a select)."""
        return self._in_place and not in_stateless_scope()

    @staticmethod
    def _write_back(*pairs: tuple[Sequence[Variable], Sequence[Tensor] | None]) -> None:
        """Assign each new value to its variable, skipping the values an
        engine already wrote in place (it returns the handle itself)."""
        for group, new_values in pairs:
            for variable, value in zip(group, new_values or ()):
                if value is not variable.value:
                    variable.assign(value)

    def update_step(self, gradient: Tensor, variable: Variable, learning_rate: Tensor) -> None:
        """The rule for one variable. Subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__}.update_step: expected a subclass implementation.")

    # ---------------------------------------------------------------- helpers
    def assign(self, variable: Variable, value: Tensor) -> None:
        """``variable = value``. Example: ``self.assign(m, new_m)``"""
        variable.assign(value)

    def assign_add(self, variable: Variable, value: Tensor) -> None:
        """``variable += value``. Example: ``self.assign_add(m, delta)``"""
        variable.assign(ops.add(variable.value, value))

    def assign_sub(self, variable: Variable, value: Tensor) -> None:
        """``variable -= value``. Example: ``self.assign_sub(w, ops.multiply(lr, g))``"""
        variable.assign(ops.subtract(variable.value, value))

    def _lr_for(self, learning_rate: Tensor, dtype: str) -> Tensor:
        return learning_rate if dtype == "float32" else ops.cast(learning_rate, dtype)

    def _step_number(self, dtype: str, offset: int = 1) -> Tensor:
        """``iterations + offset`` as ``dtype`` (the 1-based step of this
        update; with gradient accumulation, updates are counted, not calls)."""
        return ops.cast(ops.add(self._update_count(), offset), dtype)

    def _decays_weights(self) -> bool:
        """Whether an update starts with decoupled weight decay (Muon also
        decays with ``adam_weight_decay`` alone)."""
        return bool(self.weight_decay)

    def _apply_weight_decay(self, plan: list[tuple[Variable, bool]], learning_rate: Tensor) -> None:
        for variable, decays in plan:
            if decays:
                lr = self._lr_for(learning_rate, variable.dtype)
                value = variable.value
                variable.assign(ops.subtract(value, ops.multiply(value, ops.multiply(lr, self.weight_decay))))

    def _clip_gradients(self, grads: list[Tensor]) -> list[Tensor]:
        if self.clipnorm:
            return [clip_by_norm(g, self.clipnorm) for g in grads]
        if self.global_clipnorm:
            return clip_by_global_norm(grads, self.global_clipnorm)
        if self.clipvalue:
            return [ops.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        return grads

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        """JSON-safe constructor arguments (a schedule is serialized).

        Example: ``Adam.from_config(Adam(1e-3).get_config())``
        """
        lr = self._learning_rate
        if isinstance(lr, Variable):
            learning_rate: Any = float(lr.numpy())
        elif isinstance(lr, schedules_module.LearningRateSchedule):
            learning_rate = schedules_module.serialize(lr)
        else:
            raise ValueError(
                f"{type(self).__name__} {self.name!r}.get_config: expected a float or a LearningRateSchedule "
                f"learning rate, received the callable {lr!r}, which cannot be saved as data. Wrap it in a "
                "LearningRateSchedule subclass with get_config().")
        return {
            "name": self.name,
            "learning_rate": learning_rate,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
            "use_ema": self.use_ema,
            "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
            "loss_scale_factor": self.loss_scale_factor,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Optimizer:
        """An optimizer from :meth:`get_config`'s output.

        Example: ``SGD.from_config({"learning_rate": 0.1, "momentum": 0.9})``
        """
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules_module.deserialize(config["learning_rate"], custom_objects)
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} built={self.built}>"


# -------------------------------------------------------------------- helpers
class _nested_scopes:
    """Enter one name scope per path component."""

    def __init__(self, parts: Sequence[str]):
        self._scopes = [name_scope(p) for p in parts]

    def __enter__(self) -> None:
        for scope in self._scopes:
            scope.__enter__()

    def __exit__(self, *exc: Any) -> None:
        for scope in reversed(self._scopes):
            scope.__exit__(*exc)


def _initial(initializer: Any, shape: tuple[int, ...], dtype: str) -> Any:
    """Host data for a slot's initial value; names/callables pass through."""
    if isinstance(initializer, str) and initializer in ("zeros", "ones"):
        return np.full(shape, 0.0 if initializer == "zeros" else 1.0, dtype=_host_dtype(dtype))
    if _is_number(initializer):
        return np.full(shape, initializer, dtype=_host_dtype(dtype))
    if callable(initializer) and not isinstance(initializer, str):
        return initializer(shape, dtype)
    return initializer


def _host_dtype(dtype: str) -> str:
    return dtype if dtype in ("float16", "float32", "float64", "int32", "int64") else "float32"


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float, np.number)):
        return True
    return isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf"


def _label(value: Any) -> str:
    if isinstance(value, Variable):
        return f"Variable {value.path!r} of shape {value.shape}"
    return f"{type(value).__name__} {value!r}"[:100]

