"""Masks travel beside tensors in a side table keyed by tensor identity.

Engine tensors differ in whether they accept new attributes (JAX arrays and
NumPy arrays do not), so a mask is not stored on the tensor. Instead
``set_mask(x, mask)`` records ``id(x) -> (weak reference to x, mask)``; the
entry is dropped when ``x`` is garbage collected, and ``get_mask`` checks the
weak reference so a recycled ``id`` never returns a stale mask. Tensors that
refuse weak references are kept in a small bounded table holding a strong
reference (so their ``id`` cannot be reused while the entry lives).

Example:
    >>> x = ops.ones((2, 3))
    >>> set_mask(x, ops.convert_to_tensor([[True, True, False]] * 2))
    >>> get_mask(x) is not None
    True
"""

from __future__ import annotations

import collections
import functools
import weakref
from typing import Any

__all__ = ["get_mask", "set_mask", "clear_masks"]

_weak: dict[int, tuple[weakref.ref, Any]] = {}
_strong: collections.OrderedDict[int, tuple[Any, Any]] = collections.OrderedDict()
#: How many masks of tensors without weak-reference support are kept.
STRONG_LIMIT = 256


def _forget(key: int, ref: weakref.ref) -> None:
    entry = _weak.get(key)
    if entry is not None and entry[0] is ref:
        del _weak[key]


def set_mask(x: Any, mask: Any) -> None:
    """Attach ``mask`` to tensor ``x`` (None removes it)."""
    key = id(x)
    if mask is None:
        _weak.pop(key, None)
        _strong.pop(key, None)
        return
    try:
        ref = weakref.ref(x, functools.partial(_forget, key))
    except TypeError:
        _strong[key] = (x, mask)
        _strong.move_to_end(key)
        while len(_strong) > STRONG_LIMIT:
            _strong.popitem(last=False)
        return
    _weak[key] = (ref, mask)


def get_mask(x: Any) -> Any | None:
    """The mask attached to ``x``, or None."""
    key = id(x)
    entry = _weak.get(key)
    if entry is not None:
        return entry[1] if entry[0]() is x else None
    strong = _strong.get(key)
    if strong is not None and strong[0] is x:
        return strong[1]
    return None


def clear_masks() -> None:
    """Forget every mask (tests, or to free memory)."""
    _weak.clear()
    _strong.clear()
