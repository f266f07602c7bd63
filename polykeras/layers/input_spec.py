"""``InputSpec``: what a layer accepts (rank, sizes, dtype), checked on every
call before ``call`` runs, with an error that names the layer, what it expected
and what it received.

Example:
    >>> spec = InputSpec(min_ndim=2, axes={-1: 8})
    >>> assert_input_compatibility(spec, [ops.ones((4, 3))], "dense")
    Traceback (most recent call last):
    ValueError: Input 0 of layer 'dense' is incompatible with the layer: expected axis -1 of size 8,
    received shape (4, 3).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from polykeras.backends.dtypes import standardize_dtype

__all__ = ["InputSpec", "assert_input_compatibility"]


class InputSpec:
    """Constraints on one input of a layer.

    Args:
        dtype: required dtype string.
        shape: required shape; ``None`` entries match any size.
        ndim / min_ndim / max_ndim: required rank bounds.
        axes: ``{axis: size}`` for particular axes (negative axes count from
            the end).
        allow_last_axis_squeeze: accept a missing or extra trailing axis of size 1.
        name: the input's name (for multi-input layers).
        optional: the input may be None.

    Example:
        >>> InputSpec(ndim=4, axes={-1: 3})
        InputSpec(ndim=4, axes={-1: 3})
    """

    def __init__(
        self,
        dtype: Any = None,
        shape: Sequence[int | None] | None = None,
        ndim: int | None = None,
        max_ndim: int | None = None,
        min_ndim: int | None = None,
        axes: Mapping[int, int | None] | None = None,
        allow_last_axis_squeeze: bool = False,
        name: str | None = None,
        optional: bool = False,
    ):
        self.dtype = None if dtype is None else standardize_dtype(dtype)
        self.shape = None if shape is None else tuple(shape)
        self.ndim = len(self.shape) if self.shape is not None else ndim
        self.max_ndim = max_ndim
        self.min_ndim = min_ndim
        self.name = name
        self.optional = optional
        self.allow_last_axis_squeeze = allow_last_axis_squeeze
        try:
            self.axes = {int(k): v for k, v in (axes or {}).items()}
        except (ValueError, TypeError) as err:
            raise TypeError(f"InputSpec: expected integer keys in axes, received axes={axes!r}.") from err
        rank = self.ndim if self.ndim is not None else self.max_ndim
        if self.axes and rank is not None:
            limit = rank - 1
            if max(self.axes) > limit:
                raise ValueError(f"InputSpec: axis {max(self.axes)} is out of range for ndim {limit + 1}.")

    def __repr__(self) -> str:
        fields = ("dtype", "shape", "ndim", "max_ndim", "min_ndim", "axes")
        shown = [f"{f}={getattr(self, f)!r}" for f in fields if getattr(self, f)]
        if self.shape is not None:
            shown = [s for s in shown if not s.startswith("ndim=")]
        return f"InputSpec({', '.join(shown)})"

    def get_config(self) -> dict[str, Any]:
        return {
            "dtype": self.dtype, "shape": list(self.shape) if self.shape else None, "ndim": self.ndim,
            "max_ndim": self.max_ndim, "min_ndim": self.min_ndim,
            "axes": {str(k): v for k, v in self.axes.items()} or None,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> InputSpec:
        config = dict(config)
        if config.get("axes"):
            config["axes"] = {int(k): v for k, v in config["axes"].items()}
        return cls(**config)


def _shape_of(x: Any) -> tuple[int | None, ...] | None:
    shape = getattr(x, "shape", None)
    if shape is None:
        return None
    try:
        # A symbolic size (an export's dynamic batch: torch SymInt, jax
        # dimension variable) is unknown here; int() on it would pin it.
        return tuple(int(d) if isinstance(d, (int, np.integer)) else None for d in shape)
    except (TypeError, ValueError):  # a TensorFlow trace's unknown rank cannot be iterated
        return None


def _dtype_of(x: Any) -> str | None:
    dtype = getattr(x, "dtype", None)
    if dtype is None:
        return None
    try:
        return standardize_dtype(dtype)
    except ValueError:
        return None


def assert_input_compatibility(input_spec: Any, inputs: Sequence[Any], layer_name: str) -> None:
    """Raise ``ValueError`` unless each of ``inputs`` (a flat list) meets its
    spec. ``input_spec`` is an :class:`InputSpec`, a list of them (one per
    input) or None."""
    if input_spec is None:
        return
    specs = list(input_spec) if isinstance(input_spec, (list, tuple)) else [input_spec]
    if not specs:
        return
    if len(inputs) != len(specs):
        raise ValueError(
            f"Layer '{layer_name}' expects {len(specs)} input(s), received {len(inputs)} input(s)."
        )
    for index, (spec, x) in enumerate(zip(specs, inputs)):
        if spec is None:
            continue
        if x is None:
            if spec.optional:
                continue
            raise ValueError(f"Input {index} of layer '{layer_name}' is required, received None.")
        problem = _mismatch(spec, x)
        if problem:
            raise ValueError(f"Input {index} of layer '{layer_name}' is incompatible with the layer: {problem}.")


def _mismatch(spec: InputSpec, x: Any) -> str | None:
    shape = _shape_of(x)
    if shape is None:
        return None if spec.ndim is None and spec.min_ndim is None and spec.max_ndim is None else (
            f"expected a tensor, received {type(x).__name__}"
        )
    ndim = len(shape)
    where = f"received shape {shape}"
    if spec.ndim is not None and not spec.allow_last_axis_squeeze and ndim != spec.ndim:
        return f"expected ndim={spec.ndim}, found ndim={ndim} ({where})"
    if spec.ndim is not None and spec.allow_last_axis_squeeze:
        trimmed = shape[:-1] if shape and shape[-1] == 1 else shape
        if len(trimmed) not in (spec.ndim, spec.ndim - 1) and ndim != spec.ndim:
            return f"expected ndim={spec.ndim} (a trailing axis of size 1 may be added or dropped), {where}"
    if spec.max_ndim is not None and ndim > spec.max_ndim:
        return f"expected max_ndim={spec.max_ndim}, found ndim={ndim} ({where})"
    if spec.min_ndim is not None and ndim < spec.min_ndim:
        return f"expected min_ndim={spec.min_ndim}, found ndim={ndim} ({where})"
    if spec.dtype is not None:
        dtype = _dtype_of(x)
        if dtype is not None and dtype != spec.dtype:
            return f"expected dtype={spec.dtype}, found dtype={dtype}"
    for axis, size in spec.axes.items():
        if size is None:
            continue
        if not -ndim <= axis < ndim:
            return f"expected an axis {axis} of size {size}, {where}"
        if shape[axis] is not None and shape[axis] != size:
            return f"expected axis {axis} of size {size}, {where}"
    if spec.shape is not None and ndim == len(spec.shape):
        for expected, actual in zip(spec.shape, shape):
            if expected is not None and actual is not None and expected != actual:
                return f"expected shape={spec.shape}, found shape={shape}"
    return None
