"""Tracking: which sub-layers, variables and seed generators a layer holds.

A layer's attributes are scanned for layers, variables and seed generators,
held directly or inside lists, tuples and dicts. Lists and dicts assigned to a
layer attribute are stored as :class:`TrackedList` / :class:`TrackedDict`
(plain ``list``/``dict`` subclasses) that note their own mutations, so
``self.blocks.append(Dense(4))`` after assignment is tracked too.

Results are cached and stay valid until something that could change them
happens anywhere (an attribute set to or from a trackable value, a tracked
container changed, a weight added): a global epoch counter says so. A training
step changes none of these, so collecting ``model.trainable_variables`` each
step costs a dictionary lookup.

Order is the attribute order, then the container order; duplicates are
dropped by identity, and references back up the tree are ignored.

Example:
    >>> class Block(Layer):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.parts = []
    ...         self.parts.append(Dense(4))      # tracked
    >>> [l.name for l in Block()._flatten_layers(include_self=False)]
    ['dense']
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from polykeras.random import SeedGenerator
from polykeras.variables import Variable

__all__ = ["MAX_DEPTH", "TrackedDict", "TrackedList", "TrackingMixin", "bump", "iter_tracked"]

#: How deep nested containers are searched.
MAX_DEPTH = 6
_epoch = itertools.count(1)
_current = [0]


def bump() -> None:
    """Invalidate every layer's tracking cache."""
    _current[0] = next(_epoch)


class TrackedList(list):
    """A ``list`` whose changes that add, remove or reorder layers or
    variables invalidate the tracking caches (other changes cost nothing)."""

    def append(self, item: Any) -> None:
        item = wrap(item)
        _bump_if(_trackable(item))
        list.append(self, item)

    def insert(self, index: Any, item: Any) -> None:
        item = wrap(item)
        _bump_if(_trackable(item))
        list.insert(self, index, item)

    def extend(self, items: Any) -> None:
        items = [wrap(i) for i in items]
        _bump_if(any(_trackable(i) for i in items))
        list.extend(self, items)

    # list's own __add__ returns a plain list; += keeps the TrackedList, as list's += keeps a list.
    def __iadd__(self, items: Any) -> TrackedList:  # type: ignore[misc]
        self.extend(items)
        return self

    def __setitem__(self, index: Any, item: Any) -> None:
        old = list.__getitem__(self, index)
        item = [wrap(i) for i in item] if isinstance(index, slice) else wrap(item)
        changed = [old, item] if not isinstance(index, slice) else [*old, *item]
        _bump_if(any(_trackable(i) for i in changed))
        list.__setitem__(self, index, item)

    def __delitem__(self, index: Any) -> None:
        old = list.__getitem__(self, index)
        _bump_if(any(_trackable(i) for i in (old if isinstance(index, slice) else [old])))
        list.__delitem__(self, index)

    def pop(self, index: Any = -1) -> Any:
        item = list.pop(self, index)
        _bump_if(_trackable(item))
        return item

    def remove(self, item: Any) -> None:
        list.remove(self, item)
        _bump_if(_trackable(item))

    def clear(self) -> None:
        _bump_if(any(_trackable(i) for i in self))
        list.clear(self)

    def sort(self, *args: Any, **kwargs: Any) -> None:
        _bump_if(any(_trackable(i) for i in self))
        list.sort(self, *args, **kwargs)

    def reverse(self) -> None:
        _bump_if(any(_trackable(i) for i in self))
        list.reverse(self)

    def __imul__(self, n: Any) -> TrackedList:  # type: ignore[misc]  # as __iadd__
        _bump_if(any(_trackable(i) for i in self))
        return list.__imul__(self, n)


class TrackedDict(dict):
    """A ``dict`` whose changes that add or remove layers or variables
    invalidate the tracking caches."""

    def __setitem__(self, key: Any, value: Any) -> None:
        value = wrap(value)
        _bump_if(_trackable(value) or _trackable(dict.get(self, key)))
        dict.__setitem__(self, key, value)

    def __delitem__(self, key: Any) -> None:
        _bump_if(_trackable(dict.get(self, key)))
        dict.__delitem__(self, key)

    def pop(self, key: Any, *default: Any) -> Any:
        value = dict.pop(self, key, *default)
        _bump_if(_trackable(value))
        return value

    def popitem(self) -> Any:
        item = dict.popitem(self)
        _bump_if(_trackable(item[1]))
        return item

    def clear(self) -> None:
        _bump_if(any(_trackable(v) for v in self.values()))
        dict.clear(self)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return dict.__getitem__(self, key)

    def __ior__(self, other: Any) -> TrackedDict:  # type: ignore[misc]  # as TrackedList.__iadd__
        self.update(other)
        return self


def _bump_if(condition: bool) -> None:
    if condition:
        bump()


def wrap(value: Any, depth: int = 0) -> Any:
    """Plain lists and dicts (nested too) as tracked containers."""
    if depth > MAX_DEPTH:
        return value
    if type(value) is list:
        return TrackedList(wrap(v, depth + 1) for v in value)
    if type(value) is dict:
        return TrackedDict((k, wrap(v, depth + 1)) for k, v in value.items())
    return value


def _trackable(value: Any) -> bool:
    return isinstance(value, (Variable, SeedGenerator, TrackingMixin, list, tuple, dict))


def _is_metric(value: Any) -> bool:
    # A class attribute of polykeras.metrics.Metric (importing it here would be circular).
    return getattr(type(value), "_held_by_layers", False)


def _walk(value: Any, depth: int) -> Iterator[Any]:
    if isinstance(value, (Variable, SeedGenerator, TrackingMixin)):
        yield value
    elif depth < MAX_DEPTH:
        if isinstance(value, (list, tuple)):
            for item in value:
                if _trackable(item):
                    yield from _walk(item, depth + 1)
        elif isinstance(value, dict):
            for item in value.values():
                if _trackable(item):
                    yield from _walk(item, depth + 1)


def iter_tracked(attributes: dict[str, Any], skip: frozenset[str]) -> Iterator[Any]:
    """Every layer, variable and seed generator among ``attributes`` (an
    object's ``__dict__``), skipping the names in ``skip``, in order, each once."""
    seen: set[int] = set()
    for name, value in list(attributes.items()):
        if name in skip or not _trackable(value):
            continue
        for found in _walk(value, 0):
            if id(found) not in seen:
                seen.add(id(found))
                yield found


class TrackingMixin:
    """Sub-layer and variable tracking for :class:`~polykeras.layers.Layer`."""

    #: Attributes holding bookkeeping, never searched (subclasses may extend).
    _untracked: frozenset[str] = frozenset()

    if TYPE_CHECKING:  # set by the Layer this mixin is part of
        name: str
        _embedded_layers: list[TrackingMixin]

    # -------------------------------------------------------- attributes
    def __setattr__(self, name: str, value: Any) -> None:
        state = self.__dict__
        previous = state.get(name)
        if _is_metric(value) or _is_metric(previous):
            bump()  # Layer.metrics lists the metrics held as attributes, any attributes
        if "_own_variables" in state and name not in self._untracked:
            if _trackable(value) or _trackable(previous):
                value = wrap(value)
                bump()
                if isinstance(value, Variable):
                    self._track_variable(value)
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        held = self.__dict__.get(name)
        if _trackable(held) or _is_metric(held):
            bump()
        object.__delattr__(self, name)

    def _track_variable(self, variable: Variable) -> None:
        own = self.__dict__["_own_variables"]
        if all(v is not variable for v in own):
            if any(variable is w for layer in self._sublayers() for w in layer._collect(True)):
                return  # a sub-layer owns it already
            own.append(variable)
            if variable.trainable:
                self.__dict__["_created_trainable"].add(id(variable))
            bump()

    def _cached(self, key: Any, compute: Callable[[], Any]) -> Any:
        cache = self.__dict__.setdefault("_tracking_cache", {})
        hit = cache.get(key)
        if hit is not None and hit[0] == _current[0]:
            return hit[1]
        epoch = _current[0]
        value = compute()
        cache[key] = (epoch, value)
        return value

    # ----------------------------------------------------------- layers
    def _sublayers(self) -> list[Any]:
        """Directly held sub-layers, in attribute order."""
        return self._cached("sublayers", lambda: [
            x for x in iter_tracked(self.__dict__, self._untracked) if isinstance(x, TrackingMixin) and x is not self
        ])

    def _flatten_layers(self, include_self: bool = True, recursive: bool = True) -> list[Any]:
        """This layer (optionally) and its sub-layers, depth first, each once."""
        layers = self._cached(("flatten", recursive), lambda: self._compute_flatten(recursive))
        return layers if include_self else layers[1:]

    def _compute_flatten(self, recursive: bool) -> list[Any]:
        out: list[Any] = [self]
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

    def embed(self, layer: Any) -> Any:
        """Use ``layer`` (and its weights) inside this one: its weights,
        losses, regularizers and constraints become this layer's. Returns
        ``layer``. Example: ``y = self.embed(self.shared_dense)(x)``"""
        if not isinstance(layer, TrackingMixin):
            raise TypeError(f"Layer '{self.name}'.embed: expected a Layer, received {type(layer).__name__}.")
        if "_embedded_layers" not in self.__dict__:
            self._embedded_layers = []
        if all(layer is not other for other in self._embedded_layers):
            self._embedded_layers.append(layer)
        return layer

    # -------------------------------------------------------- variables
    def _own_state(self) -> tuple[list[Variable], list[SeedGenerator]]:
        variables = list(self.__dict__["_own_variables"])
        seeds = []
        sub_ids: set[int] | None = None
        for found in iter_tracked(self.__dict__, self._untracked):
            if isinstance(found, SeedGenerator):
                seeds.append(found)
            elif isinstance(found, Variable) and all(found is not v for v in variables):
                if sub_ids is None:
                    sub_ids = {id(w) for layer in self._sublayers() for w in layer._collect(True)}
                if id(found) not in sub_ids:
                    variables.append(found)
        created_trainable = self.__dict__["_created_trainable"]
        trainable = [v for v in variables if id(v) in created_trainable]
        others = [v for v in variables if id(v) not in created_trainable]
        return trainable + others, seeds

    def _collect(self, with_seeds: bool) -> list[Variable]:
        return self._cached(("collect", with_seeds), lambda: self._compute_collect(with_seeds))

    def _compute_collect(self, with_seeds: bool) -> list[Variable]:
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
        return list(self._collect(False))

    @property
    def variables(self) -> list[Variable]:
        """Like :attr:`weights`, plus seed-generator states."""
        return list(self._collect(True))

    @property
    def trainable_weights(self) -> list[Variable]:
        return [v for v in self._collect(False) if v.trainable] if self.trainable else []

    @property
    def non_trainable_weights(self) -> list[Variable]:
        return [v for v in self._collect(False) if not v.trainable] if self.trainable else self.weights

    @property
    def trainable_variables(self) -> list[Variable]:
        return [v for v in self._collect(True) if v.trainable] if self.trainable else []

    @property
    def non_trainable_variables(self) -> list[Variable]:
        return [v for v in self._collect(True) if not v.trainable] if self.trainable else self.variables

    @property
    def trainable(self) -> bool:
        return self.__dict__["_trainable"]

    @trainable.setter
    def trainable(self, value: bool) -> None:
        value = bool(value)
        self.__dict__["_trainable"] = value
        created_trainable = self.__dict__["_created_trainable"]
        for v in self.__dict__["_own_variables"]:
            if id(v) in created_trainable:
                v.trainable = value
        for layer in self._sublayers():
            layer.trainable = value
