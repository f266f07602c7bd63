"""Small helpers shared by the op tests: converting, dtype probes, one-call
checks of an op's dtype and numbers.

Example:
    >>> out = ops.exp(tensor(x))
    >>> check(out, np.exp(x.astype("float64")), "transcendental", "float32")
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import polykeras.backends as B
from conformance.tolerances import assert_close
from polykeras import ops


def tensor(x: Any, dtype: str | None = None) -> Any:
    """An active-engine tensor from NumPy data. Example: ``tensor(np.ones(3))``"""
    return ops.convert_to_tensor(x, dtype)


def numpy(x: Any) -> np.ndarray:
    """The active engine's tensor as NumPy. Example: ``numpy(ops.ones((2,)))``"""
    return np.asarray(ops.to_numpy(x))


def f64(x: Any) -> np.ndarray:
    """float64 copy for the reference. Example: ``f64(np.float32([1]))``"""
    return np.asarray(x, dtype=np.float64)


_SUPPORT: dict[tuple[str, str], bool] = {}


def supports(dtype: str) -> bool:
    """Whether the active engine holds tensors of ``dtype`` (e.g. JAX without
    x64 has no float64). Example: ``supports("float64")``"""
    key = (B.active().name, dtype)
    if key not in _SUPPORT:
        try:
            _SUPPORT[key] = ops.dtype(ops.zeros((1,), dtype)) == dtype
        except Exception:  # noqa: BLE001 - any refusal means "not supported"
            _SUPPORT[key] = False
    return _SUPPORT[key]


def need(dtype: str) -> None:
    """Skip the test where the active engine lacks ``dtype``. Example: ``need("float64")``"""
    if not supports(dtype):
        pytest.skip(f"the {B.active().name} engine has no {dtype} tensors")


def check(out: Any, expected: Any, family: str, dtype: str, *, what: str = "") -> None:
    """Assert ``out`` (an engine tensor) has ``dtype`` and the shape and
    numbers of ``expected`` within the family's tolerance.

    Example: ``check(ops.add(a, b), a + b, "elementwise", "float32", what="add")``
    """
    label = f"{what} on {B.active().name}" if what else B.active().name
    got_dtype = ops.dtype(out)
    assert got_dtype == dtype, f"{label}: expected dtype {dtype}, received {got_dtype}"
    assert_close(numpy(out), np.asarray(expected), family, dtype, err_msg=label)
