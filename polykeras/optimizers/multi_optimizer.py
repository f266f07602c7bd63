"""``MultiOptimizer`` and ``OptimizerMap`` (Keras 3.15): each trainable
variable is trained by the optimizer a map (or a callable) assigns to it.

The wrapper owns only its step counter (and Keras's unused ``learning_rate``
placeholder); every sub-optimizer keeps its own slots, built on the variables
it was given. ``variables`` lists the wrapper's state, then each
sub-optimizer's, so the functional training step (which threads
``optimizer.variables`` through ``jax.jit``/``tf.function``) covers them all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

from polykeras import ops, registry
from polykeras.optimizers.optimizer import Optimizer, Tensor, _label
from polykeras.variables import Variable

__all__ = ["MultiOptimizer", "OptimizerMap"]


def _check_inner(owner: str, optimizer: Any, what: str) -> Optimizer:
    """``optimizer`` if it may serve inside a MultiOptimizer, else a clear error."""
    if isinstance(optimizer, MultiOptimizer):
        raise ValueError(f"{owner}: expected a plain Optimizer for {what}, received a MultiOptimizer "
                         f"({optimizer.name!r}); MultiOptimizers do not nest.")
    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"{owner}: expected an Optimizer instance for {what}, received {_label(optimizer)}.")
    return optimizer


class OptimizerMap(MutableMapping):
    """Variable paths (exact, else regular expressions matched with
    ``re.fullmatch``) to optimizers, with a default for unmatched variables.
    A path that two patterns match is an error, never a silent choice.

    Args:
        default_optimizer: the optimizer of every variable no key matches.
        optimizer_map: optional dict of path or pattern -> optimizer.

    Example:
        >>> omap = OptimizerMap(optimizers.SGD(0.1), {"encoder/.*": optimizers.Adam()})
        >>> omap["decoder"] = optimizers.RMSprop()
        >>> omap["encoder/dense/kernel"].name
        'adam'
    """

    def __init__(self, default_optimizer: Optimizer, optimizer_map: dict[str, Optimizer] | None = None):
        if not isinstance(default_optimizer, Optimizer) or isinstance(default_optimizer, MultiOptimizer):
            raise TypeError(f"OptimizerMap: expected `default_optimizer` to be an Optimizer instance, "
                            f"received {_label(default_optimizer)}.")
        if optimizer_map is not None and not isinstance(optimizer_map, dict):
            raise TypeError(f"OptimizerMap: expected `optimizer_map` to be a dict of path pattern -> Optimizer "
                            f"or None, received {_label(optimizer_map)}.")
        self._default_optimizer = default_optimizer
        self._optimizer_map: dict[str, Optimizer] = {}
        for key, optimizer in (optimizer_map or {}).items():
            self[key] = optimizer

    @property
    def default_optimizer(self) -> Optimizer:
        """The optimizer of the variables no key matches."""
        return self._default_optimizer

    def __getitem__(self, key: str) -> Optimizer:
        if key in self._optimizer_map:
            return self._optimizer_map[key]
        matches = [pattern for pattern in self._optimizer_map if re.fullmatch(pattern, key)]
        if len(matches) > 1:
            raise ValueError(f"OptimizerMap: expected at most one pattern to match the variable {key!r}, "
                             f"received {len(matches)} matches: {matches}. Make the patterns disjoint.")
        return self._optimizer_map[matches[0]] if matches else self._default_optimizer

    def __setitem__(self, key: str, optimizer: Optimizer) -> None:
        if not isinstance(key, str):
            raise ValueError(f"OptimizerMap: expected a string key (a variable path or pattern), "
                             f"received {_label(key)}.")
        if key in self._optimizer_map:
            raise ValueError(f"OptimizerMap: the key {key!r} is mapped already (to "
                             f"{self._optimizer_map[key].name!r}); expected each key once.")
        try:
            re.compile(key)
        except re.error as exc:
            raise ValueError(f"OptimizerMap: expected a valid regular expression, received {key!r} ({exc}).") \
                from None
        self._optimizer_map[key] = _check_inner("OptimizerMap", optimizer, f"key {key!r}")

    def __delitem__(self, key: str) -> None:
        del self._optimizer_map[key]

    def __len__(self) -> int:
        return len(self._optimizer_map)

    def __iter__(self) -> Iterator[str]:
        return iter(self._optimizer_map)

    def __call__(self, variable: Variable) -> Optimizer:
        return self[variable.path]

    def get_config(self) -> dict[str, Any]:
        """Serialized default optimizer and map (Keras 3's layout)."""
        return {"default_optimizer": registry.serialize(self._default_optimizer),
                "optimizer_map": {k: registry.serialize(v) for k, v in self._optimizer_map.items()}}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> OptimizerMap:
        """An OptimizerMap from :meth:`get_config`'s output."""
        from polykeras import optimizers

        def load(c: Any) -> Optimizer:
            return optimizers.deserialize(c, custom_objects)

        return cls(load(config["default_optimizer"]),
                   {k: load(v) for k, v in (config.get("optimizer_map") or {}).items()})


class MultiOptimizer(Optimizer):
    """An optimizer that hands each variable to the optimizer chosen for it by
    an :class:`OptimizerMap` or a callable ``variable -> Optimizer``.

    ``learning_rate`` is not defined on it (each sub-optimizer has its own:
    iterate over :attr:`optimizers`); ``loss_scale_factor`` overrides the
    sub-optimizers'. Every sub-optimizer counts its own ``iterations``.

    Args:
        optimizer_map: an :class:`OptimizerMap`, or a callable returning an
            Optimizer for a variable.
        loss_scale_factor: set on every sub-optimizer.
        name: defaults to ``"multi_optimizer"``.

    Example:
        >>> opt = MultiOptimizer(OptimizerMap(optimizers.SGD(0.1), {"encoder/.*": optimizers.Adam()}))
        >>> model.compile(optimizer=opt, loss="mse")
        >>> [o.name for o in opt.optimizers]
        ['adam', 'sgd']
    """

    def __init__(self, optimizer_map: OptimizerMap | Callable[[Variable], Optimizer],
                 loss_scale_factor: float | None = None, name: str | None = None):
        if not callable(optimizer_map):
            raise TypeError(f"MultiOptimizer: expected an OptimizerMap or a callable variable -> Optimizer, "
                            f"received {_label(optimizer_map)}.")
        self._inner_optimizers: list[Optimizer] = []
        super().__init__(learning_rate=0.0, loss_scale_factor=loss_scale_factor, name=name or "multi_optimizer")
        self._optimizer_map = optimizer_map
        self._assignment: dict[int, int] = {}
        if isinstance(optimizer_map, OptimizerMap):
            for optimizer in [*optimizer_map.values(), optimizer_map.default_optimizer]:
                self._adopt(optimizer)

    def _adopt(self, optimizer: Optimizer) -> int:
        """The index of ``optimizer`` among :attr:`optimizers`, added if new."""
        for i, known in enumerate(self._inner_optimizers):
            if known is optimizer:
                return i
        optimizer.loss_scale_factor = self.loss_scale_factor
        self._inner_optimizers.append(optimizer)
        return len(self._inner_optimizers) - 1

    @property
    def optimizers(self) -> list[Optimizer]:
        """The sub-optimizers: the map's, then the default, then any a callable returned."""
        return list(self._inner_optimizers)

    @property
    def variables(self) -> list[Variable]:
        """The wrapper's ``iteration`` and ``learning_rate``, then each sub-optimizer's variables."""
        out = list(self._variables)
        for optimizer in self._inner_optimizers:
            out.extend(optimizer.variables)
        return out

    @property
    def learning_rate(self) -> Any:
        raise AttributeError(f"MultiOptimizer {self.name!r}: a MultiOptimizer has no single learning rate; "
                             "read it on the sub-optimizers (`for opt in optimizer.optimizers`).")

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        raise AttributeError(f"MultiOptimizer {self.name!r}: a MultiOptimizer has no single learning rate; "
                             "set it on the sub-optimizers (`for opt in optimizer.optimizers`).")

    @property
    def loss_scale_factor(self) -> float | None:
        return getattr(self, "_loss_scale_factor", None)

    @loss_scale_factor.setter
    def loss_scale_factor(self, value: float | None) -> None:
        self._loss_scale_factor = value
        for optimizer in getattr(self, "_inner_optimizers", ()):
            optimizer.loss_scale_factor = value

    def build(self, variables: Any) -> None:
        """Ask the map for each variable's optimizer and build every
        sub-optimizer on its share (in the order of ``variables``).

        Example: ``opt.build(model.trainable_variables)``
        """
        if self.built:
            return
        variables = list(variables)
        shares: dict[int, list[Variable]] = {}
        assignment: dict[int, int] = {}
        for variable in variables:
            if not isinstance(variable, Variable):
                raise TypeError(f"{self.name}.build: expected polykeras Variables, received {_label(variable)}.")
            if id(variable) in assignment:
                raise ValueError(f"{self.name}.build: expected each variable once, received {_label(variable)} "
                                 "twice.")
            chosen = _check_inner(f"{self.name}.build", self._optimizer_map(variable),
                                  f"variable {variable.path!r} (what the optimizer map returned)")
            index = self._adopt(chosen)
            assignment[id(variable)] = index
            shares.setdefault(index, []).append(variable)
        for index, share in shares.items():
            self._inner_optimizers[index].build(share)
        self._assignment = assignment
        self._trainable_variables = variables
        self._index = {id(v): i for i, v in enumerate(variables)}
        self.built = True

    def apply(self, grads: Any, trainable_variables: Any = None) -> None:
        """Hand each gradient to its variable's optimizer, then count the step.

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
        trainable_variables = list(trainable_variables)
        if not self.built:
            self.build(trainable_variables)
        if len(grads) != len(trainable_variables):
            raise ValueError(f"{self.name}.apply: expected one gradient per variable ({len(trainable_variables)} "
                             f"variables), received {len(grads)} gradients.")
        groups: dict[int, tuple[list[Tensor], list[Variable]]] = {}
        for grad, variable in zip(grads, trainable_variables):
            index = self._assignment.get(id(variable))
            if index is None:
                raise ValueError(f"{self.name}.apply: expected variables the optimizer was built with "
                                 f"({len(self._assignment)} variables), received the unknown variable "
                                 f"{_label(variable)}.")
            group = groups.setdefault(index, ([], []))
            group[0].append(grad)
            group[1].append(variable)
        for index in sorted(groups):
            sub_grads, sub_variables = groups[index]
            if any(g is not None for g in sub_grads):
                self._inner_optimizers[index].apply(sub_grads, sub_variables)
        self._iterations.assign(ops.add(self._iterations.value, 1))

    def finalize_variable_values(self, var_list: Any) -> None:
        """Each sub-optimizer finalizes its own variables (EMA overwrite)."""
        groups: dict[int, list[Variable]] = {}
        for variable in var_list:
            index = self._assignment.get(id(variable))
            if index is None:
                raise ValueError(f"{self.name}.finalize_variable_values: expected variables the optimizer was "
                                 f"built with, received {_label(variable)}.")
            groups.setdefault(index, []).append(variable)
        for index, variables in groups.items():
            self._inner_optimizers[index].finalize_variable_values(variables)

    def get_config(self) -> dict[str, Any]:
        """``optimizer_map`` (serialized), ``loss_scale_factor``, ``name``."""
        return {"optimizer_map": registry.serialize(self._optimizer_map, f"MultiOptimizer {self.name!r}"),
                "loss_scale_factor": self.loss_scale_factor, "name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> MultiOptimizer:
        """A MultiOptimizer from :meth:`get_config`'s output."""
        config = dict(config)
        optimizer_map = config["optimizer_map"]
        if isinstance(optimizer_map, dict):
            found = registry.get_registered_object(optimizer_map.get("registered_name")
                                                   or optimizer_map.get("class_name", ""), custom_objects,
                                                   {"OptimizerMap": OptimizerMap})
            if found is None:
                raise ValueError(f"MultiOptimizer.from_config: expected an OptimizerMap config, received "
                                 f"{optimizer_map.get('class_name')!r}.")
            config["optimizer_map"] = found.from_config(optimizer_map["config"], custom_objects)
        elif isinstance(optimizer_map, str):
            config["optimizer_map"] = registry.deserialize(optimizer_map, custom_objects)
        return cls(**config)
