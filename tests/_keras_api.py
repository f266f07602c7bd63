"""Compare a polykeras namespace with Keras 3's: the same public names, and
for each callable the same parameters (names, kinds, order, defaults).

Example:
    >>> assert_same_api(polykeras.random, keras.random, ["normal", "uniform"])
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any

__all__ = ["assert_same_api", "assert_same_signature", "public_names"]


def public_names(module: Any) -> list[str]:
    """The names ``dir(module)`` lists that do not start with ``_``."""
    return sorted(n for n in dir(module) if not n.startswith("_"))


def _parameters(fn: Any) -> list[tuple[str, Any, Any]]:
    target = fn.__init__ if inspect.isclass(fn) else fn
    signature = inspect.signature(target)
    params = [p for p in signature.parameters.values() if p.name != "self"]
    return [(p.name, p.kind, p.default) for p in params]


def assert_same_signature(ours: Any, theirs: Any, where: str) -> None:
    """``ours`` takes the parameters ``theirs`` takes, in order, with the same
    kinds and defaults (ours may add trailing keyword arguments)."""
    mine, keras = _parameters(ours), _parameters(theirs)
    assert mine[:len(keras)] == keras, f"{where}: polykeras takes {mine}, Keras 3 takes {keras}"


def assert_same_api(ours: Any, theirs: Any, names: Iterable[str] | None = None, skip: Iterable[str] = ()) -> None:
    """Every public name of ``theirs`` (or ``names``) exists in ``ours``, with
    the same signature where it is a function or class."""
    skip = set(skip)
    for name in names if names is not None else public_names(theirs):
        if name in skip:
            continue
        assert hasattr(ours, name), f"{getattr(ours, '__name__', ours)}.{name} is missing (Keras 3 has it)"
        keras_obj = getattr(theirs, name)
        if inspect.isfunction(keras_obj) or (inspect.isclass(keras_obj) and "__init__" in vars(keras_obj)):
            assert_same_signature(getattr(ours, name), keras_obj, f"{name}")
