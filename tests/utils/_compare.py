"""Signature comparison with Keras: parameter names, kinds and defaults
(annotations ignored)."""

from __future__ import annotations

import inspect
from typing import Any


def params(function: Any) -> list[tuple[str, Any, Any]]:
    """``[(name, kind, default)]`` of a function's or class's signature."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]
