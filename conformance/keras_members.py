"""Keras 3 compatibility of class members: does ``model.get_state_tree()``
or ``layer.quantize(...)`` written for Keras 3 find the same member on the
polykeras object? Used by :mod:`conformance.keras_compat`, which lists every
missing or incompatible member in the same table as the names.

Which members count:
  * the base classes in :data:`CORE` (those programs subclass or call methods
    on): every public (not ``_``-prefixed) member Keras 3 has, inherited or
    not: methods, properties and class attributes, and the attributes a fresh
    instance holds (``layer.name``, ``optimizer.weight_decay``);
  * every other public class of a checked namespace: the members it defines
    itself, or through private bases, beyond those of the nearest public base
    (``keras.layers.Dense``: ``enable_lora`` and ``kernel``, not ``Layer``'s,
    nor ``build`` or ``call``, which it only overrides). A class Keras exports
    in several places counts once, at its first path;
  * Keras's engine classes (its ``JAXTrainer``, ``TFLayer``, ``TorchOptimizer``
    ...) add members a program sees on that engine only
    (``Model.jax_state_sync``, ``Model.train_step``): they count on the core
    class, marked with their engines; what they inherit from the framework
    itself (``torch.nn.Module.parameters``) is that engine's business and is
    lent by polykeras's engine hook, so it does not count.

What "compatible" means: a Keras method needs a polykeras method whose
signature, less ``self``, binds every Keras call (:func:`conformance.keras_signatures.compare`;
against any one engine's signature where Keras's engines differ, as for
``train_step``); a Keras property or attribute needs an attribute, property or
fresh-instance attribute that is not a method. Polykeras's members are looked
up statically (``inspect.getattr_static``), so what an engine's module lends
through ``__getattr__`` does not count.

Example:
    >>> members = keras_members()["keras.Model"]     # in a child interpreter
    >>> member_findings(members, polykeras.Model)[0]
"""

from __future__ import annotations

import dis
import functools
import importlib
import inspect
from collections.abc import Callable
from typing import Any

from conformance.keras_signatures import ABSENT, Entry, compare

__all__ = ["CORE", "ENGINE_CLASSES", "compare_member", "dump_members", "find_member", "fresh_instance", "member_entry"]

#: The base classes whose every member is checked, and the constructor
#: arguments of the fresh instance whose attributes count too.
CORE: dict[str, dict[str, Any]] = {
    "keras.Layer": {}, "keras.Model": {}, "keras.Sequential": {},
    "keras.optimizers.Optimizer": {"learning_rate": 0.01}, "keras.losses.Loss": {}, "keras.metrics.Metric": {},
    "keras.Variable": {"initializer": [0.0, 0.0]}, "keras.callbacks.Callback": {},
    "keras.initializers.Initializer": {}, "keras.regularizers.Regularizer": {}, "keras.constraints.Constraint": {},
    "keras.optimizers.schedules.LearningRateSchedule": {},
}

#: Keras's engine classes, by the core classes they are a base of on that
#: engine: ``(engine, module, class)`` below ``keras.src.backend``.
ENGINE_CLASSES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "layer": (("jax", "jax.layer", "JaxLayer"), ("tensorflow", "tensorflow.layer", "TFLayer"),
              ("torch", "torch.layer", "TorchLayer")),
    "trainer": (("jax", "jax.trainer", "JAXTrainer"), ("tensorflow", "tensorflow.trainer", "TensorFlowTrainer"),
                ("torch", "torch.trainer", "TorchTrainer")),
    "optimizer": (("jax", "jax.optimizer", "JaxOptimizer"), ("tensorflow", "tensorflow.optimizer", "TFOptimizer"),
                  ("torch", "torch.optimizers.torch_optimizer", "TorchOptimizer")),
    "variable": (("jax", "jax.core", "Variable"), ("tensorflow", "tensorflow.core", "Variable"),
                 ("torch", "torch.core", "Variable")),
}
_ROLES = {"keras.Layer": ("layer",), "keras.Model": ("layer", "trainer"), "keras.Sequential": ("layer", "trainer"),
          "keras.optimizers.Optimizer": ("optimizer",), "keras.Variable": ("variable",)}
#: The Keras package an engine class's members belong to (for the owning area).
_ROLE_ORIGIN = {"layer": "layers", "trainer": "trainers", "optimizer": "optimizers", "variable": "backend"}


def member_entry(cls: type, name: str, raw: Any) -> Entry:
    """The entry of ``cls.<name>`` whose static value is ``raw``: a method's
    signature is that of the bound call (``self``/``cls`` dropped); a
    property or any other attribute is a ``"value"``.

    Example: ``member_entry(Layer, "add_weight", vars(Layer)["add_weight"]).signature`` -> ``(shape=None, ...)``
    """
    if isinstance(raw, (staticmethod, classmethod)) or inspect.isfunction(raw):
        fn = raw.__func__ if isinstance(raw, (staticmethod, classmethod)) else raw
        signature = _signature_or_none(fn)
        if signature is not None and not isinstance(raw, staticmethod):
            signature = signature.replace(parameters=list(signature.parameters.values())[1:])
        return Entry("function", _package(fn), signature)
    if callable(raw) and not inspect.isclass(raw) and not hasattr(raw, "__get__"):
        return Entry("function", "", _signature_or_none(raw))
    return Entry("value", "", None)


def _signature_or_none(obj: Any) -> inspect.Signature | None:
    try:
        return inspect.signature(obj)
    except (TypeError, ValueError):
        return None


def _defined_in(cls: type, name: str) -> type | None:
    return next((base for base in cls.__mro__ if name in vars(base)), None)


def _package(obj: Any) -> str:
    """The Keras package that defines ``obj`` (``"layers"`` for
    ``keras.src.layers.core.dense``), or ``""`` outside ``keras.src``."""
    module = getattr(obj, "__module__", "") or ""
    return module.split(".")[2] if module.startswith("keras.src.") else ""


def fresh_instance(cls: type, kwargs: dict[str, Any]) -> Any:
    """An instance of ``cls`` built with ``kwargs``; a ``Variable``'s
    initializer list becomes a float32 array."""
    import numpy as np

    made = {k: np.asarray(v, "float32") if k == "initializer" else v for k, v in kwargs.items()}
    return cls(**made)


def _class_members(cls: type, names: Any) -> dict[str, dict[str, Any]]:
    found = {}
    for name in sorted(names):
        base = _defined_in(cls, name)
        if base is None or name.startswith("_"):
            continue
        entry = member_entry(cls, name, vars(base)[name])
        found[name] = {**entry.to_json(), "origin": _package(base), "engines": []}
    return found


def _engine_members(role: str, neutral: set[str]) -> dict[str, dict[str, Any]]:
    """Members Keras's engine classes of ``role`` add (not on the NumPy
    engine's, nor on the framework's own bases), each with its engines and,
    where they differ, one signature per engine."""
    found: dict[str, dict[str, Any]] = {}
    for engine, module, name in ENGINE_CLASSES[role]:
        try:
            cls = getattr(importlib.import_module(f"keras.src.backend.{module}"), name)
        except ImportError:  # that framework is not installed: its members are not read
            continue
        framework = {n for base in cls.__mro__ if not base.__module__.startswith("keras.") for n in vars(base)}
        for base in cls.__mro__:
            if not base.__module__.startswith(f"keras.src.backend.{engine}"):
                continue
            for member, raw in vars(base).items():
                if member.startswith("_") or member in neutral or member in framework:
                    continue
                if member in found and engine in found[member]["engines"]:
                    continue
                entry = member_entry(cls, member, raw).to_json()
                slot = found.setdefault(member, {**entry, "origin": _ROLE_ORIGIN[role], "engines": [],
                                                 "variants": []})
                slot["engines"].append(engine)
                slot["variants"].append([engine, entry])
    return found


def dump_members(keras: Any, api: dict[str, dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """Keras's members by class path, ``{"keras.Model": {"fit": {kind, origin,
    params, engines, [variants]}}}`` (run in the child that reads Keras).
    ``api`` is the namespaces' live objects, ``{"keras.layers": {"Dense": cls}}``."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    core_classes = {}
    for path, kwargs in CORE.items():
        cls = functools.reduce(getattr, path.split(".")[1:], keras)
        core_classes[cls] = path
        members = _class_members(cls, dir(cls))
        instance = fresh_instance(cls, kwargs)
        for name in sorted(vars(instance)):
            if not name.startswith("_") and name not in members:
                members[name] = {"kind": "value", "origin": _package(cls), "params": None, "engines": []}
        for role in _ROLES.get(path, ()):
            for name, data in _engine_members(role, set(members)).items():
                members.setdefault(name, data)
        out[path] = members
    public: dict[type, str] = {}
    for namespace, names in api.items():
        for name, value in names.items():
            if inspect.isclass(value) and value not in core_classes:
                public.setdefault(value, f"{namespace}.{name}")
    checked = {**core_classes, **public}
    for cls, path in public.items():
        own: set[str] = set()
        for base in cls.__mro__:
            if base is object or (base is not cls and base in checked):
                break
            own |= {n for n in vars(base) if not n.startswith("_")}
        nearest = next((b for b in cls.__mro__[1:] if b in checked), object)
        members = _class_members(cls, own - set(dir(nearest)))
        if members:
            out[path] = members
    return out


def find_member(cls: type, name: str, instance: Any = None) -> Any:
    """Polykeras's member ``name`` of ``cls``, found statically, as an
    :class:`Entry`-comparable object: the bound method, a placeholder value,
    or ``ABSENT``. An attribute set on instances counts where a fresh
    ``instance`` holds it (the core classes) or, without one, where a method
    of the class assigns ``self.<name>``."""
    try:
        raw = inspect.getattr_static(cls, name)
    except AttributeError:
        held = name in vars(instance) if instance is not None else name in _assigned(cls)
        return _Value() if held else ABSENT
    entry = member_entry(cls, name, raw)
    return _Method(entry.signature) if entry.kind == "function" else _Value()


@functools.lru_cache(maxsize=None)
def _assigned(cls: type) -> frozenset[str]:
    """The attribute names the methods of ``cls`` and its bases assign
    (``self.num_heads = ...``)."""
    names = set()
    for base in cls.__mro__:
        for raw in vars(base).values():
            fn = raw.__func__ if isinstance(raw, (staticmethod, classmethod)) else raw
            code = getattr(inspect.unwrap(fn), "__code__", None) if callable(fn) else None
            if code is not None:
                names |= {i.argval for i in dis.get_instructions(code) if i.opname == "STORE_ATTR"}
    return frozenset(names)


class _Value:
    """A property or attribute: ``compare`` sees a value."""


class _Method:
    """A method with the signature of its bound call."""

    def __init__(self, signature: inspect.Signature | None) -> None:
        self.__signature__ = signature

    def __call__(self, *args: Any, **kwargs: Any) -> None:  # pragma: no cover - only its kind counts
        raise NotImplementedError


def compare_member(theirs: dict[str, Any], ours: Any, from_json: Callable[[dict[str, Any]], Entry]) -> tuple[str, str]:
    """``(status, detail)`` of polykeras's member against Keras's (as dumped)."""
    if ours is ABSENT:
        return "missing", _engines(theirs)
    if theirs["kind"] == "value":
        if isinstance(ours, _Method):
            return "incompatible", "an attribute or property in Keras, here a method"
        return "ok", ""
    if isinstance(ours, _Value):
        return "incompatible", "a method in Keras, here an attribute or property"
    variants = theirs.get("variants") or [[None, theirs]]
    details = []
    for engine, data in variants:
        status, detail = compare(from_json(data), ours)
        if status == "ok":
            return "ok", ""
        details.append(f"{detail} (Keras on {engine})" if engine and len(variants) > 1 else detail)
    more = _engines(theirs)
    return "incompatible", "; ".join(details) + (f" ({more})" if more and len(variants) == 1 else "")


def _engines(theirs: dict[str, Any]) -> str:
    engines = theirs.get("engines") or []
    return f"Keras on {', '.join(engines)} only" if engines else ""
