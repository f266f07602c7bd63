"""``keras.backend``: the engine's name, dtype helpers, the global settings and
session reset. (The engines themselves are the package :mod:`polykeras.backends`.)

The module can also be called: ``polykeras.backend()`` is
``polykeras.backend.backend()``, the active engine's name, as it was before this
module existed.

Example:
    >>> import polykeras
    >>> polykeras.backend.backend()
    'jax'
    >>> polykeras.backend.result_type("int32", "float16")
    'float16'
"""

from __future__ import annotations

import gc
import sys
import types
from typing import Any

from polykeras.backends.dtypes import FLOAT_DTYPES, INT_DTYPES, floatx, set_floatx
from polykeras.backends.dtypes import result_type as _result_type
from polykeras.backends.dtypes import standardize_dtype
from polykeras.config import backend, epsilon, image_data_format, set_epsilon, set_image_data_format

__all__ = [
    "backend", "clear_session", "epsilon", "floatx", "get_uid", "image_data_format", "is_float_dtype",
    "is_int_dtype", "is_keras_tensor", "result_type", "set_epsilon", "set_floatx", "set_image_data_format",
    "standardize_dtype",
]

_PYTHON_TYPES = {bool: "bool", int: "int32", float: "float32"}


def _name(dtype: Any) -> str:
    try:
        return standardize_dtype(dtype)
    except ValueError:
        return str(getattr(dtype, "name", dtype)).removeprefix("torch.")


def is_float_dtype(dtype: Any) -> bool:
    """True for floating dtypes (names, NumPy or framework dtypes).
    Example: ``is_float_dtype("bfloat16")`` -> ``True``"""
    name = _name(dtype)
    return name in FLOAT_DTYPES or name.startswith(("float", "bfloat"))


def is_int_dtype(dtype: Any) -> bool:
    """True for signed and unsigned integer dtypes (not bool).
    Example: ``is_int_dtype("uint8")`` -> ``True``"""
    name = _name(dtype)
    return name in INT_DTYPES or name.startswith(("int", "uint"))


def result_type(*dtypes: Any) -> str:
    """The dtype that tensors of ``dtypes`` combine to in ops. Python types
    (``int``, ``float``, ``bool``) are weak: they never widen a tensor's dtype.
    With no dtypes, :func:`floatx`.

    Example:
        >>> result_type("int32", "float16")
        'float16'
        >>> result_type("float16", float)
        'float16'
    """
    strong = [standardize_dtype(d) for d in dtypes if d not in _PYTHON_TYPES]
    weak = [d for d in dtypes if d in _PYTHON_TYPES]
    if not strong:
        if not weak:
            return floatx()
        widest = max(weak, key=[bool, int, float].index)
        return floatx() if widest is float else _PYTHON_TYPES[widest]
    found = _result_type(*strong)
    if float in weak and found not in FLOAT_DTYPES and not found.startswith("complex"):
        return floatx()
    if int in weak and found == "bool":
        return "int32"
    return found


def is_keras_tensor(x: Any) -> bool:
    """True for a symbolic tensor (what ``Input`` and layers called on inputs
    return). Example: ``is_keras_tensor(polykeras.Input((2,)))`` -> ``True``"""
    from polykeras.symbolic import SymbolicTensor

    return isinstance(x, SymbolicTensor)


def get_uid(prefix: str = "") -> int:
    """Count one more object named ``prefix`` and return the count (1 first).
    Layer auto-names share it: after ``get_uid("dense")`` twice, the next
    ``Dense`` is named ``dense_2``. Example: ``get_uid("block")`` -> ``1``"""
    from polykeras.layers.config import next_uid

    return next_uid(prefix)


def clear_session(free_memory: bool = True) -> None:
    """Start afresh: auto-names count from scratch (the next ``Dense`` is
    ``dense`` again) and, with ``free_memory``, Python's garbage collector runs
    so engine memory held by dropped models is released.

    Example:
        >>> clear_session()
    """
    from polykeras.layers.config import reset_names

    reset_names()
    if free_memory:
        gc.collect()


class _CallableModule(types.ModuleType):
    """``polykeras.backend()`` keeps answering the engine's name."""

    def __call__(self) -> str:
        return backend()


sys.modules[__name__].__class__ = _CallableModule
