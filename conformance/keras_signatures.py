"""What a compatible signature is: would a call written for Keras 3 bind the
same way to polykeras's function or class? Used by :mod:`conformance.keras_compat`.

The rules (``compare`` and ``signature_difference``):
  * Kind: a Keras class must be a polykeras class (programs subclass it and
    test ``isinstance``); a Keras function may be any polykeras callable; a
    Keras module must be a module.
  * Every Keras parameter exists in polykeras under the same name. The ones
    Keras takes by position come first, in Keras's order (a positional-only one
    may have another name); keyword-only ones may be keyword-only or
    positional-or-keyword. ``*args``/``**kwargs`` in Keras need them in
    polykeras.
  * Every Keras default is polykeras's default (``==``, a bool only equal to a
    bool; a tuple equal to the list with the same items, and ``(1, 1)`` to
    ``1``, which Keras takes for it). Polykeras may give a default where Keras
    has none: every Keras call still binds.
  * Polykeras may add parameters that have defaults: keyword-only ones
    anywhere, positional ones after Keras's (not before Keras's ``*args``).
  * A class's signature is its ``__init__``'s (Keras's ``__new__`` methods
    only pass arguments on). Annotations and return types are not compared.

Example:
    >>> signature_difference(inspect.signature(lambda x, axis=None: 0), inspect.signature(lambda x, axis=-1: 0))
    "default of 'axis' is -1, Keras has None"
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import types
from collections.abc import Sequence
from typing import Any

__all__ = ["ABSENT", "Entry", "compare", "signature_difference"]

#: What ``compare`` gets for a name polykeras lacks.
ABSENT = object()
_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


class _Text(str):
    """A default that is no Python literal, kept as its text."""

    def __repr__(self) -> str:
        return str(self)


@dataclasses.dataclass(frozen=True)
class Entry:
    """What is compared of one Keras name: ``kind`` (``"module"``,
    ``"class"``, ``"function"`` or ``"value"``), ``origin`` (the Keras source
    package that defines it, ``"layers"`` for ``keras.src.layers.core``) and
    its ``signature`` (a class's is its ``__init__``'s; None where there is none).

    Example: ``Entry.of(keras.layers.Dense).signature`` -> ``(units, activation=None, ...)``
    """

    kind: str
    origin: str
    signature: inspect.Signature | None

    @classmethod
    def of(cls, obj: Any) -> Entry:
        """The entry of a live object."""
        module = getattr(obj, "__name__" if isinstance(obj, types.ModuleType) else "__module__", "") or ""
        origin = module.split(".")[2] if module.startswith("keras.src.") else ""
        return cls(_kind(obj), origin, None if isinstance(obj, types.ModuleType) else _signature(obj))

    def to_json(self) -> dict[str, Any]:
        params = None if self.signature is None else [
            [p.name, p.kind.name, None if p.default is inspect.Parameter.empty else repr(p.default)]
            for p in self.signature.parameters.values()]
        return {"kind": self.kind, "origin": self.origin, "params": params}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Entry:
        signature = None if data["params"] is None else inspect.Signature(
            [inspect.Parameter(name, getattr(inspect.Parameter, kind),
                               default=inspect.Parameter.empty if default is None else _literal(default))
             for name, kind, default in data["params"]], __validate_parameters__=False)
        return cls(data["kind"], data["origin"], signature)


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return _Text(text)


def _same_default(theirs: Any, ours: Any) -> bool:
    if isinstance(theirs, _Text):
        # A bare ``object()`` is a private "no default given" sentinel (MutableMapping.pop's): only its address differs.
        sentinel = theirs.startswith("<object object at ") and type(ours) is object
        return sentinel or repr(ours) == theirs
    if isinstance(theirs, bool) or isinstance(ours, bool):
        return type(theirs) is type(ours) and theirs == ours
    if isinstance(theirs, (tuple, list)) and isinstance(ours, (tuple, list)):
        return len(theirs) == len(ours) and all(_same_default(a, b) for a, b in zip(theirs, ours))
    if isinstance(theirs, (tuple, list)) and isinstance(ours, int) and theirs:  # strides=1 for (1, 1)
        return all(_same_default(t, ours) for t in theirs)
    try:
        return bool(theirs == ours)
    except Exception:  # noqa: BLE001 - an array-like default: compare by text
        return repr(theirs) == repr(ours)


def signature_difference(theirs: inspect.Signature, ours: inspect.Signature) -> str:
    """What breaks a Keras call of ``theirs`` against ``ours`` ("" when
    nothing does); the rules are in the module docstring.

    Example:
        >>> signature_difference(inspect.signature(lambda x, axis=None: 0), inspect.signature(lambda x, axis=-1: 0))
        "default of 'axis' is -1, Keras has None"
    """
    problems: list[str] = []
    kp, op = list(theirs.parameters.values()), list(ours.parameters.values())
    by_name = {p.name: p for p in op}
    k_pos, o_pos = [p for p in kp if p.kind in _POSITIONAL], [p for p in op if p.kind in _POSITIONAL]
    matched: dict[str, inspect.Parameter] = {}
    for i, k in enumerate(k_pos):
        o = o_pos[i] if i < len(o_pos) else None
        if k.kind is inspect.Parameter.POSITIONAL_ONLY and o is not None:
            matched[o.name] = k
        elif o is not None and o.name == k.name:
            matched[o.name] = k
            if o.kind is inspect.Parameter.POSITIONAL_ONLY:
                problems.append(f"'{k.name}' is positional-only, Keras also takes it by keyword")
        elif k.name in by_name:
            matched[k.name] = k
            o = by_name[k.name]
            where = f"at position {o_pos.index(o) + 1}" if o in o_pos else "keyword-only"
            problems.append(f"'{k.name}' is {where}, Keras has it at position {i + 1}")
        else:
            problems.append(f"no parameter '{k.name}'{_absorbed(op)}")
    for k in kp:
        if k.kind is inspect.Parameter.KEYWORD_ONLY:
            if k.name not in by_name or by_name[k.name].kind not in (*_POSITIONAL, inspect.Parameter.KEYWORD_ONLY):
                problems.append(f"no keyword parameter '{k.name}'{_absorbed(op)}")
            else:
                matched[k.name] = k
        elif k.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            if not any(o.kind is k.kind for o in op):
                problems.append(f"no {'*' if k.kind is inspect.Parameter.VAR_POSITIONAL else '**'}{k.name}")
    for name, k in matched.items():
        o = by_name[name]
        if k.default is not inspect.Parameter.empty:
            if o.default is inspect.Parameter.empty:
                problems.append(f"'{name}' has no default, Keras has {k.default!r}")
            elif not _same_default(k.default, o.default):
                problems.append(f"default of '{name}' is {o.default!r}, Keras has {k.default!r}")
    keras_varargs = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in kp)
    for o in op:
        if o.name in matched or o.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            continue
        if o.default is inspect.Parameter.empty:
            problems.append(f"extra required parameter '{o.name}'")
        elif o.kind in _POSITIONAL and keras_varargs:
            problems.append(f"extra positional parameter '{o.name}' would take Keras's *args")
    return "; ".join(problems)


def _absorbed(params: Sequence[inspect.Parameter]) -> str:
    return " (only through **kwargs)" if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params) else ""


def _signature(obj: Any) -> inspect.Signature | None:
    """A function's signature; a class's is its ``__init__``'s, less ``self``
    (Keras's ``__new__`` methods only pass their arguments on)."""
    if inspect.isclass(obj):
        for base in obj.__mro__[:-1]:
            if inspect.isfunction(vars(base).get("__init__")):
                signature = inspect.signature(vars(base)["__init__"])
                return signature.replace(parameters=list(signature.parameters.values())[1:])
    try:
        return inspect.signature(obj)
    except (TypeError, ValueError):
        return None


def compare(theirs: Entry, ours: Any) -> tuple[str, str]:
    """``(status, detail)`` of polykeras's ``ours`` against Keras's ``theirs``."""
    if ours is ABSENT:
        return "missing", ""
    kind = _kind(ours)
    if theirs.kind in ("module", "class") and kind != theirs.kind:
        return "incompatible", f"a {theirs.kind} in Keras, here a {kind}"
    if theirs.kind != "value" and kind in ("module", "value"):
        return "incompatible", f"a {theirs.kind} in Keras, here a {kind}"
    ours_signature = _signature(ours)
    if theirs.signature is None or ours_signature is None:
        return "ok", ""  # a builtin without a signature on either side: nothing to compare
    detail = signature_difference(theirs.signature, ours_signature)
    return ("incompatible", detail) if detail else ("ok", "")


def _kind(obj: Any) -> str:
    if isinstance(obj, types.ModuleType):
        return "module"
    if inspect.isclass(obj):
        return "class"
    return "function" if callable(obj) else "value"
