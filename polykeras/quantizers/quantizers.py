"""The quantizer functions of ``keras.quantizers``: abs-max (per axis and
grouped with a zero point), fake quantization, float8 scaling and the int4
nibble packing, written once on ``polykeras.ops`` (or on the host in NumPy
where Keras offers ``to_numpy``), so they run on every engine.

float8 has no dtype on the engines' protocol, so ``quantize_and_dequantize``
rounds to the float8 grid itself (:func:`round_to_float8`): the value a cast
to ``float8_e4m3fn`` / ``float8_e5m2`` and back gives, ties to even.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from polykeras import ops
from polykeras.backends.dtypes import standardize_dtype

__all__ = [
    "FLOAT8_FORMATS", "AbsMaxQuantizer", "Quantizer", "abs_max_quantize", "abs_max_quantize_grouped_with_zero_point",
    "compute_float8_amax_history", "compute_float8_scale", "dequantize_grouped", "fake_quant_with_min_max_vars",
    "pack_int4", "quantize_and_dequantize", "round_to_float8", "unpack_int4",
]

#: Keras 3's default epsilon (``keras.config.epsilon()``).
EPSILON = 1e-7

#: float8 formats: (mantissa bits, smallest normal exponent, largest finite value), as ml_dtypes' finfo.
FLOAT8_FORMATS: dict[str, tuple[int, int, float]] = {
    "float8_e4m3fn": (3, -6, 448.0),
    "float8_e5m2": (2, -14, 57344.0),
}


class Quantizer:
    """Base class of quantizers: ``quantizer(x)`` gives the quantized ``x``
    (the base class returns ``x``). ``output_dtype`` names the quantized dtype.

    Example:
        >>> class Sign(Quantizer):
        ...     def __call__(self, x):
        ...         return ops.sign(x)
        ...     def get_config(self):
        ...         return {"output_dtype": self.output_dtype}
    """

    def __init__(self, output_dtype: str = "int8"):
        self.output_dtype = output_dtype

    def __call__(self, x: Any) -> Any:
        return x

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Quantizer:
        """The quantizer :meth:`get_config` describes."""
        return cls(**config)

    def get_config(self) -> dict[str, Any]:
        """JSON-safe constructor arguments; subclasses implement it."""
        raise NotImplementedError(f"{self} does not implement get_config()")


def _axes(axis: int | Sequence[int] | None, ndim: int) -> int | tuple[int, ...] | None:
    if axis is None or isinstance(axis, int):
        return axis
    return tuple(int(a) for a in axis)


def abs_max_quantize(inputs: Any, axis: int | Sequence[int] | None, value_range: tuple[int, int] = (-127, 127),
                     dtype: str = "int8", epsilon: float = EPSILON, to_numpy: bool = False) -> tuple[Any, Any]:
    """Symmetric abs-max quantization: ``scale = value_range[1] / (max|x| + epsilon)``
    over ``axis`` (kept, size 1), ``q = clip(round(x * scale), *value_range)``
    cast to ``dtype``. Returns ``(q, scale)``; ``x ~= q / scale``.
    ``to_numpy=True`` computes on the host (saves accelerator memory).

    Example:
        >>> q, scale = abs_max_quantize(np.array([[1.0, -2.0], [0.5, 4.0]], "float32"), axis=0)
        >>> ops.convert_to_numpy(q)
        array([[127, -64],
               [ 63, 127]], dtype=int8)
    """
    if to_numpy:
        source = standardize_dtype(ops.dtype(inputs)) if hasattr(inputs, "shape") else "float32"
        x = np.asarray(ops.convert_to_numpy(inputs))
        scale = value_range[1] / (np.max(np.abs(x), axis=_axes(axis, x.ndim), keepdims=True) + epsilon)
        q = np.clip(np.round(x * scale), value_range[0], value_range[1]).astype(dtype)
        return ops.convert_to_tensor(q), ops.convert_to_tensor(scale, dtype=source)
    x = ops.convert_to_tensor(inputs)
    scale = ops.divide(value_range[1], ops.add(ops.max(ops.abs(x), axis=_axes(axis, len(x.shape)), keepdims=True),
                                                epsilon))
    scale = ops.cast(scale, ops.dtype(x))
    q = ops.clip(ops.round(ops.multiply(x, scale)), value_range[0], value_range[1])
    return ops.cast(q, dtype), scale


def abs_max_quantize_grouped_with_zero_point(inputs: Any, block_size: int, value_range: tuple[int, int] = (-8, 7),
                                             dtype: str = "int8", epsilon: float = EPSILON,
                                             to_numpy: bool = False) -> tuple[Any, Any, Any]:
    """Asymmetric quantization of a 2-D ``(input_dim, output_dim)`` tensor in
    groups of ``block_size`` rows: per group and column, ``scale = (max - min +
    epsilon) / (qmax - qmin)`` and ``zero = clip(round(-min / scale) + qmin)``;
    ``q = clip(round(x / scale) + zero)``. Returns ``(q, scale, zero)``, the
    last two of shape ``(ceil(input_dim / block_size), output_dim)``; ``x ~=
    (q - zero) * scale`` (see :func:`dequantize_grouped`).

    Example:
        >>> q, scale, zero = abs_max_quantize_grouped_with_zero_point(np.ones((6, 4), "float32"), block_size=4)
        >>> tuple(scale.shape), tuple(zero.shape)
        ((2, 4), (2, 4))
    """
    if not isinstance(block_size, int) or isinstance(block_size, bool) or block_size <= 0:
        raise ValueError(f"abs_max_quantize_grouped_with_zero_point: expected a positive int block_size, "
                         f"received block_size={block_size!r}.")
    shape = tuple(inputs.shape)
    if len(shape) != 2:
        raise ValueError(f"abs_max_quantize_grouped_with_zero_point: expected a 2-D (input_dim, output_dim) "
                         f"tensor, received shape {shape}.")
    qmin, qmax = value_range
    rows, cols = int(shape[0]), int(shape[1])
    groups = math.ceil(rows / block_size)
    padded = groups * block_size
    if to_numpy:
        source = standardize_dtype(ops.dtype(inputs))
        x = np.asarray(ops.convert_to_numpy(inputs))
        xp = np.concatenate([x, np.zeros((padded - rows, cols), x.dtype)]) if padded > rows else x
        xp = xp.reshape(groups, block_size, cols)
        low, high = xp.min(axis=1, keepdims=True), xp.max(axis=1, keepdims=True)
        scale = (high - low + epsilon) / (qmax - qmin)
        zero = np.clip(np.round(-low / scale) + qmin, qmin, qmax)
        q = np.clip(np.round(xp / scale) + zero, qmin, qmax).astype(dtype).reshape(padded, cols)[:rows]
        return (ops.convert_to_tensor(q), ops.convert_to_tensor(scale[:, 0], dtype=source),
                ops.convert_to_tensor(zero[:, 0].astype("int8")))
    x = ops.convert_to_tensor(inputs)
    source = ops.dtype(x)
    xp = ops.concatenate([x, ops.zeros((padded - rows, cols), source)], axis=0) if padded > rows else x
    xp = ops.reshape(xp, (groups, block_size, cols))
    low = ops.min(xp, axis=1, keepdims=True)
    high = ops.max(xp, axis=1, keepdims=True)
    scale = ops.divide(ops.add(ops.subtract(high, low), epsilon), float(qmax - qmin))
    zero = ops.clip(ops.add(ops.round(ops.divide(ops.negative(low), scale)), float(qmin)), qmin, qmax)
    q = ops.clip(ops.add(ops.round(ops.divide(xp, scale)), zero), qmin, qmax)
    q = ops.reshape(ops.cast(q, dtype), (padded, cols))[:rows]
    return q, ops.squeeze(scale, axis=1), ops.cast(ops.squeeze(zero, axis=1), "int8")


def dequantize_grouped(q: Any, scale: Any, zero: Any, block_size: int, dtype: str = "float32") -> Any:
    """The float ``(q - zero) * scale`` of :func:`abs_max_quantize_grouped_with_zero_point`'s
    output, each group's scale and zero repeated over its ``block_size`` rows.

    Example: ``dequantize_grouped(*abs_max_quantize_grouped_with_zero_point(w, 128), block_size=128)``
    """
    rows = int(q.shape[0])
    scale_rows = ops.repeat(ops.cast(scale, dtype), block_size, axis=0)[:rows]
    zero_rows = ops.repeat(ops.cast(zero, dtype), block_size, axis=0)[:rows]
    return ops.multiply(ops.subtract(ops.cast(q, dtype), zero_rows), scale_rows)


class AbsMaxQuantizer(Quantizer):
    """Abs-max quantizer (:func:`abs_max_quantize`): ``quantizer(x, axis)``
    gives ``(quantized, scale)``. ``axis`` given here is deprecated in Keras 3
    (pass it to the call); with neither, the last axis.

    Example:
        >>> q, scale = AbsMaxQuantizer()(np.array([[0.25, -1.0]], "float32"), axis=-1)
        >>> ops.convert_to_numpy(q)
        array([[  32, -127]], dtype=int8)
    """

    def __init__(self, axis: int | Sequence[int] | None = None, value_range: tuple[int, int] = (-127, 127),
                 epsilon: float = EPSILON, output_dtype: str = "int8"):
        Quantizer.__init__(self, output_dtype=output_dtype)
        self.axis = None if axis is None else ((axis,) if isinstance(axis, int) else tuple(axis))
        low, high = value_range
        self.value_range: tuple[int, int] = (low, high)
        self.epsilon = epsilon
        if output_dtype == "int8" and (self.value_range[0] < -128 or self.value_range[1] > 127):
            raise ValueError(f"AbsMaxQuantizer: output_dtype='int8' requires value_range within [-128, 127], "
                             f"received value_range={value_range}.")

    def __call__(self, x: Any, axis: int | Sequence[int] | None = None, to_numpy: bool = False) -> tuple[Any, Any]:
        if axis is None:
            axis = self.axis if self.axis is not None else -1
        return abs_max_quantize(x, axis, self.value_range, self.output_dtype, self.epsilon, to_numpy)

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"value_range": self.value_range, "epsilon": self.epsilon,
                                  "output_dtype": self.output_dtype}
        if self.axis is not None:
            config["axis"] = self.axis
        return config


# ------------------------------------------------------------ fake quantization
def _nudge(min_range: Any, max_range: Any, num_bits: int, narrow_range: bool) -> tuple[Any, Any, Any, Any]:
    """The nudged ``(min, max, scale, 1/scale)`` that puts zero on the grid."""
    quant_min, quant_max = (1 if narrow_range else 0), (1 << num_bits) - 1
    span = ops.subtract(max_range, min_range)
    scale = ops.divide(span, float(quant_max - quant_min))
    inv_scale = ops.divide(float(quant_max - quant_min), span)
    zero = ops.round(ops.clip(ops.subtract(float(quant_min), ops.divide(min_range, scale)), quant_min, quant_max))
    return (ops.multiply(ops.subtract(float(quant_min), zero), scale),
            ops.multiply(ops.subtract(float(quant_max), zero), scale), scale, inv_scale)


def fake_quant_with_min_max_vars(inputs: Any, min_vals: Any, max_vals: Any, num_bits: int = 8,
                                 narrow_range: bool = False, axis: int | None = None) -> Any:
    """Quantize ``inputs`` onto ``2**num_bits`` levels spanning ``[min_vals,
    max_vals]`` (nudged so that 0 is a level) and dequantize again: per tensor
    (scalar bounds, ``axis=None``) or per channel along ``axis``. The gradient
    passes straight through inside the range and flows to ``min_vals`` /
    ``max_vals`` from the values clipped to them, so the bounds can be trained.

    Example:
        >>> ops.convert_to_numpy(fake_quant_with_min_max_vars(np.array([0.1, 0.52, 9.0], "float32"), 0.0, 1.0, 2))
        array([0.       , 0.6666667, 1.       ], dtype=float32)
    """
    x = ops.convert_to_tensor(inputs)
    ndim = len(x.shape)
    if axis is not None:
        if not -ndim <= axis < ndim:
            raise ValueError(f"fake_quant_with_min_max_vars: expected axis in [{-ndim}, {ndim}), received "
                             f"axis={axis} for inputs of rank {ndim}.")
        axis = axis % ndim
    num_bits = int(num_bits)
    if not 2 <= num_bits <= 16:
        raise ValueError(f"fake_quant_with_min_max_vars: expected num_bits in [2, 16], received {num_bits}.")
    dtype = ops.dtype(x)
    compute = "float64" if dtype == "float64" else "float32"
    low_in = ops.cast(ops.convert_to_tensor(min_vals), compute)
    high_in = ops.cast(ops.convert_to_tensor(max_vals), compute)

    bshape = [1] * ndim
    if axis is not None:
        bshape[axis] = -1

    @ops.custom_gradient
    def fake_quant(x: Any, min_val: Any, max_val: Any) -> Any:
        low, high, scale, inv_scale = _nudge(min_val, max_val, num_bits, narrow_range)
        if axis is not None:
            low, high, scale, inv_scale = (ops.reshape(t, bshape) for t in (low, high, scale, inv_scale))
        xc = ops.cast(x, compute)
        quant_zero = ops.floor(ops.add(ops.multiply(ops.negative(low), inv_scale), 0.5))
        shifted = ops.subtract(ops.minimum(ops.maximum(xc, low), high), low)
        levels = ops.floor(ops.add(ops.subtract(ops.multiply(shifted, inv_scale), quant_zero), 0.5))
        result = ops.cast(ops.multiply(levels, scale), dtype)
        inside = ops.logical_and(ops.greater_equal(xc, low), ops.less_equal(xc, high))
        below, above = ops.less_equal(xc, low), ops.greater_equal(xc, high)

        def grad(upstream: Any) -> tuple[Any, Any, Any]:
            zero = ops.zeros_like(upstream)
            reduce = None if axis is None else tuple(i for i in range(ndim) if i != axis)
            d_min = ops.sum(ops.cast(ops.where(below, upstream, zero), compute), axis=reduce)
            d_max = ops.sum(ops.cast(ops.where(above, upstream, zero), compute), axis=reduce)
            return (ops.where(inside, upstream, zero), ops.reshape(d_min, ops.shape(min_val)),
                    ops.reshape(d_max, ops.shape(max_val)))

        return result, grad

    return fake_quant(x, low_in, high_in)


# ----------------------------------------------------------------------- float8
def compute_float8_scale(amax: Any, scale: Any, dtype_max: Any, margin: int = 0) -> Any:
    """The next delayed-scaling factor: ``amax / dtype_max * 2**margin`` (the
    reciprocal of Transformer Engine's scale), keeping ``scale`` where
    ``amax`` is 0 or not finite.

    Example:
        >>> float(compute_float8_scale(ops.convert_to_tensor(896.0), ops.convert_to_tensor(1.0), 448.0))
        2.0
    """
    keep = ops.reciprocal(scale)
    factor = ops.divide(ops.divide(dtype_max, amax), 2.0 ** margin)
    factor = ops.where(ops.greater(amax, 0.0), factor, keep)
    factor = ops.where(ops.isfinite(amax), factor, keep)
    return ops.reciprocal(factor)


def compute_float8_amax_history(x: Any, amax_history: Any) -> Any:
    """``amax_history`` rolled one step back, with ``max|x|`` written at
    position 0.

    Example:
        >>> ops.convert_to_numpy(compute_float8_amax_history(np.array([-3.0, 1.0], "float32"), np.zeros(3, "float32")))
        array([3., 0., 0.], dtype=float32)
    """
    history = ops.convert_to_tensor(amax_history)
    amax = ops.cast(ops.max(ops.abs(x)), ops.dtype(history))
    return ops.scatter_update(ops.roll(history, shift=-1), [[0]], ops.reshape(amax, (1,)))


def round_to_float8(x: Any, quantized_dtype: str) -> Any:
    """``x`` (already within the format's range) rounded to the nearest value
    of ``quantized_dtype`` (``"float8_e4m3fn"`` or ``"float8_e5m2"``), ties to
    even, subnormals included: what a cast to float8 and back gives.

    Example:
        >>> ops.convert_to_numpy(round_to_float8(np.array([1.1, 300.0], "float32"), "float8_e4m3fn"))
        array([  1.125, 288.   ], dtype=float32)
    """
    if quantized_dtype not in FLOAT8_FORMATS:
        raise ValueError(f"round_to_float8: expected quantized_dtype in {sorted(FLOAT8_FORMATS)}, "
                         f"received {quantized_dtype!r}.")
    mantissa, min_exponent, _ = FLOAT8_FORMATS[quantized_dtype]
    dtype = ops.dtype(x)
    magnitude = ops.abs(x)
    tiny = 2.0 ** min_exponent
    exponent = ops.floor(ops.log2(ops.maximum(magnitude, tiny)))
    step = ops.exp2(ops.subtract(ops.maximum(exponent, float(min_exponent)), float(mantissa)))
    return ops.cast(ops.multiply(ops.round(ops.divide(x, step)), step), dtype)


def quantize_and_dequantize(inputs: Any, scale: Any, quantized_dtype: str, compute_dtype: str) -> Any:
    """``inputs / scale`` clipped to ``quantized_dtype``'s range, rounded to
    it (a float8 format, or an int dtype), and multiplied back by ``scale``,
    in ``compute_dtype``.

    Example:
        >>> x = quantize_and_dequantize(np.array([1.1, 1000.0], "float32"), 1.0, "float8_e4m3fn", "float32")
        >>> ops.convert_to_numpy(x)
        array([  1.125, 448.   ], dtype=float32)
    """
    scale = ops.cast(ops.convert_to_tensor(scale), compute_dtype)
    x = ops.divide(ops.cast(inputs, compute_dtype), scale)
    if quantized_dtype in FLOAT8_FORMATS:
        limit = FLOAT8_FORMATS[quantized_dtype][2]
        x = round_to_float8(ops.clip(x, -limit, limit), quantized_dtype)
    else:
        try:
            info = np.iinfo(np.dtype(quantized_dtype))
        except (TypeError, ValueError):
            raise ValueError(f"quantize_and_dequantize: expected quantized_dtype to be one of "
                             f"{sorted(FLOAT8_FORMATS)} or an int dtype, received {quantized_dtype!r}.") from None
        x = ops.cast(ops.cast(ops.clip(x, float(info.min), float(info.max)), quantized_dtype), compute_dtype)
    return ops.multiply(x, scale)


# ------------------------------------------------------------------------- int4
def _check_int4_dtype(who: str, dtype: str) -> None:
    if dtype not in ("int8", "uint8"):
        raise ValueError(f"{who}: expected dtype to be 'int8' or 'uint8', received dtype={dtype!r}.")


def pack_int4(arr: Any, axis: int = 0, dtype: str = "int8") -> tuple[Any, tuple[int, ...], int]:
    """Pack int4 values (``[-8, 7]`` held in ``dtype``) two to a byte along
    ``axis``: the first of each pair in the low nibble, the second in the high
    one; an odd length is padded with a zero. Returns ``(packed,
    packed_shape, original_length)``. Packing runs on the host (NumPy).

    Example:
        >>> packed, shape, n = pack_int4(np.array([[-3, 7], [2, -8], [1, 0]], "int8"))
        >>> ops.convert_to_numpy(packed), shape, n
        (array([[  45, -121],
               [   1,    0]], dtype=int8), (2, 2), 3)
    """
    _check_int4_dtype("pack_int4", dtype)
    given = standardize_dtype(arr.dtype)
    if given != dtype:
        raise TypeError(f"pack_int4: expected a {dtype} tensor to pack, received dtype {given}.")
    values = np.asarray(ops.convert_to_numpy(arr))
    axis = axis % values.ndim
    values = np.moveaxis(values, axis, 0)
    length = values.shape[0]
    if length % 2:
        values = np.concatenate([values, np.zeros((1, *values.shape[1:]), values.dtype)])
    np_dtype = np.dtype(dtype)
    nibble = np.array(0x0F, np_dtype)
    low = np.bitwise_and(values[0::2].astype(np_dtype), nibble)
    high = np.bitwise_and(values[1::2].astype(np_dtype), nibble)
    packed = np.bitwise_or(low, np.left_shift(high, np.array(4, np_dtype))).astype(np_dtype)
    packed = np.moveaxis(packed, 0, axis)
    return ops.convert_to_tensor(packed), tuple(packed.shape), int(length)


def unpack_int4(packed: Any, orig_len: int, axis: int = 0, dtype: str = "int8") -> Any:
    """Undo :func:`pack_int4`: each byte along ``axis`` back to its two int4
    values (signed ``[-8, 7]`` for ``"int8"``, the raw nibbles for
    ``"uint8"``), cut to ``orig_len``. Runs on the engine (traceable).

    Example:
        >>> ops.convert_to_numpy(unpack_int4(np.array([[45, -121], [1, 0]], "int8"), 3))
        array([[-3,  7],
               [ 2, -8],
               [ 1,  0]], dtype=int8)
    """
    _check_int4_dtype("unpack_int4", dtype)
    packed = ops.convert_to_tensor(packed)
    given = ops.dtype(packed)
    if given not in ("int8", "uint8"):
        raise TypeError(f"unpack_int4: expected an int8 or uint8 tensor to unpack, received dtype {given}.")
    rank = len(packed.shape)
    axis = axis % rank
    moved = packed if axis == 0 else ops.moveaxis(packed, axis, 0)
    # Nibbles are read in int16 so that the shift and mask behave the same on every engine.
    wide = ops.cast(moved, "int16")
    low = ops.bitwise_and(wide, 0x0F)
    high = ops.bitwise_and(ops.right_shift(wide, 4), 0x0F)
    if dtype == "int8":
        low = ops.subtract(ops.bitwise_xor(low, 8), 8)
        high = ops.subtract(ops.bitwise_xor(high, 8), 8)
    both = ops.stack([ops.cast(low, dtype), ops.cast(high, dtype)], axis=1)
    rest = tuple(int(d) for d in moved.shape[1:])
    unpacked = ops.reshape(both, (-1, *rest))[:orig_len]
    return unpacked if axis == 0 else ops.moveaxis(unpacked, 0, axis)
