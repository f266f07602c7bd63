"""Hypothesis strategies shared by the conformance tests: shapes, dtypes, arrays
with edge values, axes, and valid convolution / pooling configurations.

Everything is kept small (at most a few hundred entries a tensor) so a property
runs its examples in well under a second on every engine.

Example:
    >>> from hypothesis import given
    >>> from conformance import strategies as cs
    >>> @given(cs.arrays("float32", cs.shapes(max_rank=2)))
    ... def test_abs(x): ...
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

__all__ = [
    "ConvConfig",
    "PoolConfig",
    "arrays",
    "axes",
    "broadcast_shapes",
    "conv_configs",
    "dtypes",
    "matmul_shapes",
    "pool_configs",
    "shapes",
    "single_axis",
]

FLOAT_DTYPES = ("float32", "float64")
INT_DTYPES = ("int32",)
DATA_FORMATS = ("channels_last", "channels_first")


def dtypes(kinds: Sequence[str] = ("float",)) -> st.SearchStrategy[str]:
    """dtype strings of the given kinds ("float", "int", "bool").

    Example: ``dtypes(("float", "int"))`` draws from float32, float64, int32.
    """
    pool: list[str] = []
    for kind in kinds:
        pool += {"float": list(FLOAT_DTYPES), "int": list(INT_DTYPES), "bool": ["bool"]}[kind]
    return st.sampled_from(pool)


def shapes(min_rank: int = 0, max_rank: int = 4, min_side: int = 1,
           max_side: int = 4) -> st.SearchStrategy[tuple[int, ...]]:
    """Tensor shapes of rank ``min_rank..max_rank`` and small sides.

    Example: ``shapes(max_rank=2)`` draws ``()``, ``(3,)``, ``(2, 4)``...
    """
    return hnp.array_shapes(min_dims=min_rank, max_dims=max_rank, min_side=min_side, max_side=max_side)


def broadcast_shapes(num_shapes: int = 2, min_rank: int = 0, max_rank: int = 4,
                     max_side: int = 4) -> st.SearchStrategy[tuple[tuple[int, ...], ...]]:
    """``num_shapes`` shapes that broadcast together (NumPy rules), with
    ranks and size-1 axes mixed.

    Example: ``broadcast_shapes()`` draws ``((2, 1, 3), (4, 3))``...
    """
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, min_dims=min_rank, max_dims=max_rank, min_side=1, max_side=max_side,
    ).map(lambda b: b.input_shapes)


def matmul_shapes(max_batch_rank: int = 2,
                  max_side: int = 4) -> st.SearchStrategy[tuple[tuple[int, ...], tuple[int, ...]]]:
    """Shape pairs valid for NumPy ``matmul``: 1-D promotion and broadcast
    batch axes included.

    Example: ``matmul_shapes()`` draws ``((3,), (2, 3, 4))``...
    """
    return hnp.mutually_broadcastable_shapes(
        signature="(n?,k),(k,m?)->(n?,m?)", max_dims=max_batch_rank, min_side=1, max_side=max_side,
    ).map(lambda b: b.input_shapes)


def _edge_values(dtype: str, lo: float, hi: float, min_magnitude: float) -> list[float]:
    info = np.finfo(dtype)
    candidates = [0.0, -0.0, 1.0, -1.0, lo, hi, 0.5, -0.5, 1e-3, -1e-3, 100.0, -100.0, float(info.eps)]
    keep = []
    for v in candidates:
        if lo <= v <= hi and (abs(v) >= min_magnitude or (min_magnitude == 0 and v == 0)):
            keep.append(float(np.asarray(v, dtype)))
    return keep


def _representable(value: float, dtype: str, up: bool) -> float:
    """``value`` rounded to ``dtype``, toward the inside of the range."""
    rounded = np.asarray(value, dtype)
    if up and rounded < value:
        rounded = np.nextafter(rounded, np.asarray(np.inf, dtype))
    if not up and rounded > value:
        rounded = np.nextafter(rounded, np.asarray(-np.inf, dtype))
    return float(rounded)


def _float_elements(dtype: str, lo: float, hi: float, min_magnitude: float, allow_nan: bool, allow_inf: bool,
                    edges: bool) -> st.SearchStrategy[float]:
    width = 32 if dtype == "float32" else 64
    lo, hi = _representable(lo, dtype, up=True), _representable(hi, dtype, up=False)
    min_magnitude = _representable(min_magnitude, dtype, up=True)
    if min_magnitude > 0:
        parts = []
        if hi >= min_magnitude:
            parts.append(st.floats(max(lo, min_magnitude), hi, width=width, allow_subnormal=False))
        if lo <= -min_magnitude:
            parts.append(st.floats(lo, min(hi, -min_magnitude), width=width, allow_subnormal=False))
        if not parts:
            raise ValueError(f"arrays: no values with |x| >= {min_magnitude} in [{lo}, {hi}].")
        body = st.one_of(*parts)
    else:
        body = st.floats(lo, hi, width=width, allow_nan=False, allow_infinity=False, allow_subnormal=False)
    specials: list[float] = _edge_values(dtype, lo, hi, min_magnitude) if edges else []
    if allow_nan:
        specials.append(float("nan"))
    if allow_inf:
        specials += [float("inf"), float("-inf")]
    if specials:
        # One draw in five is an edge value; the rest spread over the range.
        return st.one_of(st.sampled_from(specials), body, body, body, body)
    return body


def arrays(
    dtype: str,
    shape: tuple[int, ...] | st.SearchStrategy[tuple[int, ...]],
    *,
    min_value: float = -10.0,
    max_value: float = 10.0,
    min_magnitude: float = 0.0,
    edges: bool = True,
    allow_nan: bool = False,
    allow_inf: bool = False,
) -> st.SearchStrategy[np.ndarray]:
    """NumPy arrays of ``dtype`` with values in ``[min_value, max_value]``.

    Float arrays mix edge values (0, -0, +-1, the bounds, +-1e-3, +-100, eps)
    with values spread over the range; no subnormals (some engines flush them
    to zero). ``min_magnitude`` keeps ``|x|`` away from 0 (domains, kinks);
    ``allow_nan`` / ``allow_inf`` add those where the op defines them. Integer
    arrays draw from the rounded bounds; bool arrays from True/False.

    Example: ``arrays("float32", (2, 3), min_value=0.1)`` for ``log``.
    """
    if dtype == "bool":
        elements: st.SearchStrategy = st.booleans()
    elif dtype.startswith(("int", "uint")):
        info = np.iinfo(dtype)
        lo, hi = max(int(math.ceil(min_value)), int(info.min)), min(int(math.floor(max_value)), int(info.max))
        elements = st.integers(lo, hi)
        if min_magnitude > 0:
            elements = elements.filter(lambda v: abs(v) >= min_magnitude)
    else:
        elements = _float_elements(dtype, min_value, max_value, min_magnitude, allow_nan, allow_inf, edges)
    return hnp.arrays(np.dtype(dtype), shape, elements=elements)


def axes(ndim: int, *, allow_none: bool = True,
         allow_tuple: bool = True) -> st.SearchStrategy[int | tuple[int, ...] | None]:
    """A valid ``axis`` argument for a tensor of rank ``ndim``: None, an int
    (possibly negative) or a tuple of distinct ints. Rank 0 gives None.

    Example: ``axes(3)`` draws ``None``, ``-1``, ``(0, 2)``...
    """
    if ndim == 0:
        return st.none()
    options: list[st.SearchStrategy] = [single_axis(ndim)]
    if allow_none:
        options.append(st.none())
    if allow_tuple:
        options.append(
            st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).flatmap(
                lambda picked: st.tuples(*[st.sampled_from([a, a - ndim]) for a in picked])
            )
        )
    return st.one_of(*options)


def single_axis(ndim: int) -> st.SearchStrategy[int]:
    """One axis of a rank-``ndim`` tensor, negative values included. Example: ``single_axis(2)``."""
    return st.integers(-ndim, ndim - 1)


# ----------------------------------------------------------------- spatial
@dataclasses.dataclass(frozen=True)
class ConvConfig:
    """One valid convolution: the arguments of ``ops.conv`` (``kind="conv"``),
    ``ops.depthwise_conv`` (``"depthwise"``) or ``ops.conv_transpose``
    (``"transpose"``), with the shapes of their inputs.

    Example:
        >>> c = ConvConfig("conv", 2, 1, (5, 5), 4, 6, (3, 3), (1, 1), "same", (1, 1), "channels_last", groups=2)
        >>> c.input_shape, c.kernel_shape
        ((1, 5, 5, 4), (3, 3, 2, 6))
    """

    kind: str
    rank: int
    batch: int
    spatial: tuple[int, ...]
    in_channels: int
    filters: int  # output channels; for depthwise the depth multiplier
    kernel_size: tuple[int, ...]
    strides: tuple[int, ...]
    padding: str
    dilation_rate: tuple[int, ...]
    data_format: str
    groups: int = 1
    output_padding: tuple[int, ...] | None = None

    @property
    def input_shape(self) -> tuple[int, ...]:
        if self.data_format == "channels_last":
            return (self.batch, *self.spatial, self.in_channels)
        return (self.batch, self.in_channels, *self.spatial)

    @property
    def kernel_shape(self) -> tuple[int, ...]:
        if self.kind == "depthwise":
            return (*self.kernel_size, self.in_channels, self.filters)
        if self.kind == "transpose":
            return (*self.kernel_size, self.filters, self.in_channels)
        return (*self.kernel_size, self.in_channels // self.groups, self.filters)

    def kwargs(self) -> dict:
        """Keyword arguments of the op (everything but inputs and kernel)."""
        out = {"strides": self.strides, "padding": self.padding, "data_format": self.data_format,
               "dilation_rate": self.dilation_rate}
        if self.kind == "transpose":
            out["output_padding"] = self.output_padding
        return out


_MAX_SIDE = {1: 8, 2: 6, 3: 4}
_MAX_KERNEL = {1: 4, 2: 3, 3: 2}


@st.composite
def conv_configs(draw, kind: str = "conv", ranks: Sequence[int] = (1, 2, 3), groups: bool = True) -> ConvConfig:
    """Valid convolution configurations of ``kind`` conv, depthwise or
    transpose: rank 1-3, strides 1-3, dilation 1-2 (never with strides > 1, as
    Keras), valid/same padding, both data formats, groups (conv only) and
    output_padding (transpose only).

    Example: ``@given(conv_configs("transpose", ranks=(2,)))``
    """
    rank = draw(st.sampled_from(list(ranks)))
    kernel_size = tuple(draw(st.integers(1, _MAX_KERNEL[rank])) for _ in range(rank))
    if draw(st.booleans()):
        strides, dilation = tuple(draw(st.integers(1, 3)) for _ in range(rank)), (1,) * rank
    else:
        strides, dilation = (1,) * rank, tuple(draw(st.integers(1, 2)) for _ in range(rank))
    padding = draw(st.sampled_from(["valid", "same"]))
    effective = tuple((k - 1) * d + 1 for k, d in zip(kernel_size, dilation))
    low = effective if (padding == "valid" and kind != "transpose") else (1,) * rank
    spatial = tuple(draw(st.integers(lo, max(lo, _MAX_SIDE[rank]))) for lo in low)
    group_count = draw(st.sampled_from([1, 2])) if (groups and kind == "conv") else 1
    in_channels = group_count * draw(st.integers(1, 2))
    filters = group_count * draw(st.integers(1, 2)) if kind == "conv" else draw(st.integers(1, 2))
    output_padding = None
    if kind == "transpose" and draw(st.booleans()):
        pads = []
        for s, k in zip(strides, effective):
            # Below the stride (Keras); "same" with an even effective kernel
            # needs >= 1 for the output to exist as a conv input.
            low_pad = 1 if (padding == "same" and k % 2 == 0) else 0
            pads.append(draw(st.integers(low_pad, s - 1)) if low_pad <= s - 1 else None)
        output_padding = None if None in pads else tuple(pads)
    return ConvConfig(
        kind=kind, rank=rank, batch=draw(st.integers(1, 2)), spatial=spatial, in_channels=in_channels,
        filters=filters, kernel_size=kernel_size, strides=strides, padding=padding, dilation_rate=dilation,
        data_format=draw(st.sampled_from(DATA_FORMATS)), groups=group_count, output_padding=output_padding,
    )


@dataclasses.dataclass(frozen=True)
class PoolConfig:
    """One valid pooling: arguments of ``ops.max_pool`` / ``ops.average_pool``.

    Example: ``PoolConfig(2, 1, (4, 4), 3, (2, 2), (2, 2), "valid", "channels_last").input_shape``
    """

    rank: int
    batch: int
    spatial: tuple[int, ...]
    channels: int
    pool_size: tuple[int, ...]
    strides: tuple[int, ...]
    padding: str
    data_format: str

    @property
    def input_shape(self) -> tuple[int, ...]:
        if self.data_format == "channels_last":
            return (self.batch, *self.spatial, self.channels)
        return (self.batch, self.channels, *self.spatial)

    def kwargs(self) -> dict:
        return {"pool_size": self.pool_size, "strides": self.strides, "padding": self.padding,
                "data_format": self.data_format}


@st.composite
def pool_configs(draw, ranks: Sequence[int] = (1, 2, 3)) -> PoolConfig:
    """Valid pooling configurations: rank 1-3, windows up to 3, strides 1-3,
    valid/same padding, both data formats.

    Example: ``@given(pool_configs(ranks=(2,)))``
    """
    rank = draw(st.sampled_from(list(ranks)))
    pool_size = tuple(draw(st.integers(1, _MAX_KERNEL[rank] + (1 if rank < 3 else 0))) for _ in range(rank))
    strides = tuple(draw(st.integers(1, 3)) for _ in range(rank))
    padding = draw(st.sampled_from(["valid", "same"]))
    low = pool_size if padding == "valid" else (1,) * rank
    spatial = tuple(draw(st.integers(lo, max(lo, _MAX_SIDE[rank]))) for lo in low)
    return PoolConfig(rank=rank, batch=draw(st.integers(1, 2)), spatial=spatial, channels=draw(st.integers(1, 3)),
                      pool_size=pool_size, strides=strides, padding=padding,
                      data_format=draw(st.sampled_from(DATA_FORMATS)))
