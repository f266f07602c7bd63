"""Engine-free dtype names and promotion.

Every engine speaks these strings at the protocol boundary; each maps them to its
own native dtype objects. Promotion follows NumPy on the dtype strings, except
that Python scalars are "weak" (they never widen a tensor's dtype), as in JAX and
Keras 3.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: The default float dtype at start-up; :func:`floatx` is the current one.
FLOATX = "float32"
_floatx = FLOATX

DTYPES: tuple[str, ...] = (
    "bool",
    "uint8",
    "int8",
    "int16",
    "int32",
    "int64",
    "float16",
    "bfloat16",
    "float32",
    "float64",
    "complex64",
    "complex128",
)
FLOAT_DTYPES = frozenset({"float16", "bfloat16", "float32", "float64"})
INT_DTYPES = frozenset({"uint8", "int8", "int16", "int32", "int64"})

def floatx() -> str:
    """The default float dtype (``"float32"`` unless :func:`set_floatx` changed it):
    what ``standardize_dtype(None)``, layers, variables and initializers use.

    Example:
        >>> floatx()
        'float32'
    """
    return _floatx


def set_floatx(value: str) -> None:
    """Set the default float dtype to ``"float16"``, ``"bfloat16"``, ``"float32"``
    or ``"float64"``.

    Example:
        >>> set_floatx("float64")
    """
    global _floatx
    if not isinstance(value, str) or value not in FLOAT_DTYPES:
        raise ValueError(f"set_floatx: expected one of {sorted(FLOAT_DTYPES)}, received {value!r}.")
    _floatx = value


_ALIASES = {
    "float": "float32",
    "double": "float64",
    "half": "float16",
    "int": "int32",
    "long": "int64",
    "boolean": "bool",
}


def standardize_dtype(dtype: Any) -> str:
    """Return the canonical dtype string for ``dtype`` (a string, NumPy dtype or
    a framework dtype object).

    Example:
        >>> standardize_dtype("float")
        'float32'
        >>> standardize_dtype(np.int64)
        'int64'
    """
    if dtype is None:
        return _floatx
    if isinstance(dtype, str):
        name = _ALIASES.get(dtype, dtype)
    elif hasattr(dtype, "as_numpy_dtype"):  # tf.DType
        name = dtype.name
    else:
        name = getattr(dtype, "name", None) or str(dtype)
        name = name.removeprefix("torch.")
        if name not in DTYPES:
            try:
                name = np.dtype(dtype).name
            except TypeError:
                pass
    if name not in DTYPES:
        raise ValueError(
            f"Unknown dtype {dtype!r}. Expected one of: {', '.join(DTYPES)}."
        )
    return name


def is_float(dtype: str) -> bool:
    """True for floating-point dtype strings. Example: ``is_float("float16")``."""
    return dtype in FLOAT_DTYPES


def is_int(dtype: str) -> bool:
    """True for integer dtype strings. Example: ``is_int("int32")``."""
    return dtype in INT_DTYPES


def result_type(*dtypes: str) -> str:
    """The dtype two or more tensors promote to: NumPy's rules, except that an
    integer or bool meeting a float takes that float (as JAX and Keras 3), so
    float32 stays float32; bfloat16 counts as a float narrower than float32.

    Example:
        >>> result_type("int32", "float32")
        'float32'
        >>> result_type("float16", "float32")
        'float32'
    """
    if len(set(dtypes)) == 1:
        return dtypes[0]
    floats = [d for d in dtypes if d in FLOAT_DTYPES]
    complexes = [d for d in dtypes if d.startswith("complex")]
    if floats and not complexes:
        if "bfloat16" in floats:
            others = [d for d in floats if d != "bfloat16"]
            if not others:
                return "bfloat16"
            widest = np.result_type(*others).name
            return "float32" if widest == "float16" else widest
        return np.result_type(*floats).name
    return np.result_type(*dtypes).name
