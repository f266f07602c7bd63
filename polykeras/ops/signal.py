"""``keras.ops.math``'s signal family and its neighbours: the discrete Fourier
transforms on (real, imaginary) pairs (``fft``, ``fft2``, ``ifft2``,
``rfft``, ``irfft``), the short-time transforms ``stft``/``istft``, the
complex views (``view_as_complex``, ``view_as_real``), ``erfinv`` and
``cdist``.

A complex signal travels as a tuple ``(real, imag)`` of float tensors of one
shape, as in Keras 3. The transforms and views dispatch to the engine's kernel
(``backends/signal.py``); ``stft``/``istft`` and ``cdist`` are composed here
from the engine's primitives. Every op has a shape rule, so it works on
symbolic tensors.

Example:
    >>> from polykeras import ops
    >>> real, imag = ops.fft((ops.convert_to_tensor([1.0, 2.0]), ops.convert_to_tensor([0.0, 1.0])))
    >>> ops.to_numpy(real), ops.to_numpy(imag)
    (array([ 3., -1.], dtype=float32), array([ 1., -1.], dtype=float32))
"""

from __future__ import annotations

from typing import Any

import numpy as np

from polykeras.backends import active
from polykeras.backends.signal import COMPLEX_OF, FLOAT_OF
from polykeras.ops._dispatch import OpSpec, check, describe, op

Tensor = Any
Pair = tuple[Any, Any]

__all__ = ["cdist", "erfinv", "fft", "fft2", "ifft2", "irfft", "istft", "rfft", "stft", "view_as_complex",
           "view_as_real"]

_PAIR = "a tuple (real, imag) of two float tensors of one shape"


# ------------------------------------------------------------------ helpers
def _dtype_name(x: Any) -> str:
    dtype = getattr(x, "dtype", None)
    if isinstance(dtype, str):
        return dtype
    from polykeras.ops.core import dtype as dtype_of

    return dtype_of(x)


def _float_name(name: str) -> str:
    return name if name.startswith(("float", "bfloat")) else "float32"


def _as_float(x: Any) -> Any:
    e = active()
    x = e.convert_to_tensor(x)
    return x if e.dtype(x).startswith(("float", "bfloat")) else e.cast(x, "float32")


def _pair(name: str, x: Any, min_rank: int = 1) -> Pair:
    """``x`` checked as (real, imag) and converted to float tensors of one dtype."""
    check(isinstance(x, (tuple, list)) and len(x) == 2, name, _PAIR, describe(x))
    e = active()
    real, imag = (e.convert_to_tensor(p) for p in x)
    check(e.shape(real) == e.shape(imag) and len(e.shape(real)) >= min_rank, name,
          f"{_PAIR}, of rank {min_rank} or more", describe([real, imag]))
    check(all(e.dtype(p).startswith(("float", "bfloat")) for p in (real, imag)), name,
          f"{_PAIR} (float dtypes)", describe([real, imag]))
    if e.dtype(imag) != e.dtype(real):
        imag = e.cast(imag, e.dtype(real))
    return real, imag


def _pair_spec(name: str, x: Any, min_rank: int = 1) -> tuple[tuple[int | None, ...], str]:
    check(isinstance(x, (tuple, list)) and len(x) == 2 and all(hasattr(p, "shape") for p in x), name, _PAIR,
          describe(x))
    real, imag = x
    shape = tuple(real.shape)
    other = tuple(imag.shape)
    check(len(shape) == len(other) >= min_rank and all(a is None or b is None or a == b for a, b in zip(shape, other)),
          name, f"{_PAIR}, of rank {min_rank} or more", describe(x))
    return tuple(a if a is not None else b for a, b in zip(shape, other)), _float_name(_dtype_name(real))


def _same_pair(name: str, min_rank: int) -> Any:
    def rule(x: Any) -> tuple[OpSpec, OpSpec]:
        shape, dtype = _pair_spec(name, x, min_rank)
        return OpSpec(shape, dtype), OpSpec(shape, dtype)
    return rule


def _length(name: str, fft_length: Any) -> None:
    check(fft_length is None or bool(isinstance(fft_length, (int, np.integer)) and not isinstance(fft_length, bool)
                                      and fft_length >= 1), name, "fft_length None or a positive int",
          f"fft_length={fft_length!r}")


# ------------------------------------------------------------- transforms
@op(_PAIR, body=True, spec=_same_pair("fft", 1))
def fft(x: Pair) -> Pair:
    """The discrete Fourier transform along the last axis of a complex signal
    given as ``(real, imag)``; returns ``(real, imag)``.

    Example: ``real, imag = ops.fft((x_real, x_imag))``
    """
    return active().fft(_pair("fft", x))


@op(f"{_PAIR}, of rank 2 or more", body=True, spec=_same_pair("fft2", 2))
def fft2(x: Pair) -> Pair:
    """The 2-D discrete Fourier transform over the last two axes of
    ``(real, imag)``. Example: ``real, imag = ops.fft2((x_real, x_imag))``"""
    return active().fft2(_pair("fft2", x, 2))


@op(f"{_PAIR}, of rank 2 or more", body=True, spec=_same_pair("ifft2", 2))
def ifft2(x: Pair) -> Pair:
    """The inverse 2-D discrete Fourier transform over the last two axes
    (scaled by one over the number of points). Example: ``real, imag = ops.ifft2(spectrum)``"""
    return active().ifft2(_pair("ifft2", x, 2))


def _rfft_spec(x: Any, fft_length: int | None = None) -> tuple[OpSpec, OpSpec]:
    shape = tuple(x.shape)
    check(len(shape) >= 1, "rfft", "a tensor of rank 1 or more", describe(x))
    _length("rfft", fft_length)
    n = fft_length if fft_length is not None else shape[-1]
    out = (*shape[:-1], None if n is None else n // 2 + 1)
    dtype = _float_name(_dtype_name(x))
    return OpSpec(out, dtype), OpSpec(out, dtype)


@op("a real tensor of rank 1 or more and fft_length None or a positive int", body=True, spec=_rfft_spec)
def rfft(x: Tensor, fft_length: int | None = None) -> Pair:
    """The Fourier transform of a real signal along the last axis (cropped or
    zero-padded to ``fft_length`` first): its ``fft_length // 2 + 1``
    non-negative frequencies as ``(real, imag)``.

    Example: ``real, imag = ops.rfft(signal, fft_length=8)``
    """
    e = active()
    x = _as_float(x)
    check(len(e.shape(x)) >= 1, "rfft", "a tensor of rank 1 or more", describe(x))
    _length("rfft", fft_length)
    return e.rfft(x, fft_length)


def _irfft_spec(x: Any, fft_length: int | None = None) -> OpSpec:
    shape, dtype = _pair_spec("irfft", x)
    _length("irfft", fft_length)
    n = fft_length if fft_length is not None else (None if shape[-1] is None else 2 * (shape[-1] - 1))
    return OpSpec((*shape[:-1], n), dtype)


@op(f"{_PAIR} and fft_length None or a positive int", body=True, spec=_irfft_spec)
def irfft(x: Pair, fft_length: int | None = None) -> Tensor:
    """The real signal of length ``fft_length`` (default ``2 * (n - 1)``,
    so give it for odd lengths) whose ``rfft`` is ``(real, imag)``.

    Example: ``signal = ops.irfft(ops.rfft(x, 5), 5)``
    """
    real, imag = _pair("irfft", x)
    _length("irfft", fft_length)
    check(fft_length is not None or active().shape(real)[-1] >= 2, "irfft",
          "fft_length, or at least 2 frequencies", describe([real, imag]))
    return active().irfft((real, imag), fft_length)


# --------------------------------------------------------- short-time
def _window(name: str, window: Any, sequence_length: int, fft_length: int, dtype: str) -> Any:
    """The analysis window of ``sequence_length``, centred in ``fft_length``
    zeros; ``None``: a frame of ``fft_length`` ones (no window)."""
    e = active()
    if window is None:
        return e.ones((fft_length,), dtype)
    if isinstance(window, str):
        check(window in ("hann", "hamming"), name, "window 'hann', 'hamming', None or a tensor",
              f"window={window!r}")
        phase = 2.0 * np.pi * np.arange(sequence_length) / sequence_length  # periodic, as for spectral analysis
        a0 = 0.5 if window == "hann" else 0.54
        values: Any = e.convert_to_tensor((a0 - (1.0 - a0) * np.cos(phase)).astype(dtype))
    else:
        values = e.cast(e.convert_to_tensor(window), dtype)
        check(e.shape(values) == (sequence_length,), name, f"a window of shape ({sequence_length},)",
              describe(values))
    left = (fft_length - sequence_length) // 2
    return e.pad(values, [(left, fft_length - sequence_length - left)])


def _frames_spec(name: str, sequence_length: Any, sequence_stride: Any, fft_length: Any) -> None:
    for label, value in (("sequence_length", sequence_length), ("sequence_stride", sequence_stride),
                         ("fft_length", fft_length)):
        check(bool(isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 1), name,
              f"a positive int {label}", f"{label}={value!r}")
    check(fft_length >= sequence_length, name, "fft_length >= sequence_length",
          f"sequence_length={sequence_length}, fft_length={fft_length}")


def _stft_spec(x: Any, sequence_length: int, sequence_stride: int, fft_length: int, window: Any = "hann",
               center: bool = True) -> tuple[OpSpec, OpSpec]:
    _frames_spec("stft", sequence_length, sequence_stride, fft_length)
    shape = tuple(x.shape)
    check(len(shape) >= 1, "stft", "a tensor of rank 1 or more", describe(x))
    length = shape[-1]
    if length is not None and center:
        length += 2 * (fft_length // 2)
    frames = None if length is None else 1 + (length - fft_length) // sequence_stride
    out = (*shape[:-1], frames, fft_length // 2 + 1)
    dtype = _float_name(_dtype_name(x))
    return OpSpec(out, dtype), OpSpec(out, dtype)


@op("a real signal (..., samples) and positive ints sequence_length <= fft_length and sequence_stride", body=True,
    spec=_stft_spec)
def stft(x: Tensor, sequence_length: int, sequence_stride: int, fft_length: int, window: Any = "hann",
         center: bool = True) -> Pair:
    """The short-time Fourier transform along the last axis: frames of
    ``fft_length`` samples every ``sequence_stride``, each multiplied by the
    window (periodic ``"hann"`` or ``"hamming"`` of ``sequence_length``, or a
    tensor of that length, centred in the frame; ``None``: no window), then
    ``rfft``. With ``center`` the signal is first reflect-padded by
    ``fft_length // 2`` on both sides. Returns ``(real, imag)`` of shape
    ``(..., frames, fft_length // 2 + 1)``.

    Example: ``real, imag = ops.stft(audio, 400, 160, 512)``
    """
    e = active()
    x = _as_float(x)
    _frames_spec("stft", sequence_length, sequence_stride, fft_length)
    shape = e.shape(x)
    check(len(shape) >= 1, "stft", "a tensor of rank 1 or more", describe(x))
    if center:
        half = fft_length // 2
        check(shape[-1] > half, "stft", f"more than fft_length // 2 = {half} samples to reflect with center=True",
              describe(x))
        x = e.pad(x, [(0, 0)] * (len(shape) - 1) + [(half, half)], mode="reflect")
    length = e.shape(x)[-1]
    check(length >= fft_length, "stft", f"at least fft_length = {fft_length} samples", describe(x))
    frames = 1 + (length - fft_length) // sequence_stride
    index = np.arange(frames)[:, None] * sequence_stride + np.arange(fft_length)[None, :]
    framed = e.take(x, e.convert_to_tensor(index.astype(np.int32)), axis=len(e.shape(x)) - 1)
    windowed = e.multiply(framed, _window("stft", window, sequence_length, fft_length, e.dtype(x)))
    return e.rfft(windowed, fft_length)


def _istft_spec(x: Any, sequence_length: int, sequence_stride: int, fft_length: int, length: int | None = None,
                window: Any = "hann", center: bool = True) -> OpSpec:
    _frames_spec("istft", sequence_length, sequence_stride, fft_length)
    shape, dtype = _pair_spec("istft", x, 2)
    if length is not None:
        samples: int | None = length
    elif shape[-2] is None:
        samples = None
    else:
        samples = fft_length + sequence_stride * (shape[-2] - 1) - (2 * (fft_length // 2) if center else 0)
    return OpSpec((*shape[:-2], samples), dtype)


@op(f"{_PAIR} of shape (..., frames, fft_length // 2 + 1) and the stft's sequence_length, sequence_stride and "
    "fft_length", body=True, spec=_istft_spec)
def istft(x: Pair, sequence_length: int, sequence_stride: int, fft_length: int, length: int | None = None,
          window: Any = "hann", center: bool = True) -> Tensor:
    """The inverse of :func:`stft` (same arguments): each frame's ``irfft``
    times the window, overlap-added and divided by the overlap-added squared
    window (where it is not ~0), the ``center`` padding removed; ``length``
    crops (or zero-pads) the signal to that many samples. With
    ``window=None`` too it inverts ``stft`` (Keras 3's NumPy and JAX backends
    return the signal times ``fft_length / sequence_stride`` there).

    Example: ``audio = ops.istft(ops.stft(audio, 400, 160, 512), 400, 160, 512)``
    """
    e = active()
    real, imag = _pair("istft", x, 2)
    _frames_spec("istft", sequence_length, sequence_stride, fft_length)
    check(e.shape(real)[-1] == fft_length // 2 + 1, "istft", f"fft_length // 2 + 1 = {fft_length // 2 + 1} "
          "frequencies on the last axis", describe([real, imag]))
    dtype = e.dtype(real)
    frames = e.shape(real)[-2]
    batch = tuple(e.shape(real)[:-2])
    win = _window("istft", window, sequence_length, fft_length, dtype)
    signal = e.multiply(e.irfft((real, imag), fft_length), win)  # (..., frames, fft_length)
    total = fft_length + sequence_stride * (frames - 1)
    out = _overlap_add(e, signal, frames, fft_length, sequence_stride, total, batch)
    weight = _overlap_add(e, e.broadcast_to(e.square(win), (frames, fft_length)), frames, fft_length,
                          sequence_stride, total, ())
    weight = e.where(e.greater(weight, 1e-10), weight, e.ones_like(weight))  # ~0 at the edges: left as is
    out = e.divide(out, weight)
    start = fft_length // 2 if center else 0
    end = start + length if length is not None else (total - start if center else total)
    if end > total:
        out = e.pad(out, [(0, 0)] * len(batch) + [(0, end - total)])
    return e.take(out, e.convert_to_tensor(np.arange(start, end, dtype=np.int32)), axis=len(batch))


def _overlap_add(e: Any, frames_data: Any, frames: int, width: int, stride: int, total: int,
                 batch: tuple[int, ...]) -> Any:
    """Frames ``(..., frames, width)`` summed into a signal ``(..., total)``
    with frame ``t`` starting at ``t * stride``: one gather of the (at most
    ``ceil(width / stride)``) frame samples landing on each output sample,
    then a sum (a gather's gradient is a scatter-add, so gradients flow)."""
    reach = -(-width // stride)
    sample = np.arange(total)[None, :]
    frame = sample // stride - np.arange(reach)[:, None]
    offset = sample - frame * stride
    valid = (frame >= 0) & (frame < frames) & (offset < width)
    index = np.where(valid, frame * width + offset, frames * width)  # the appended zero
    flat = e.reshape(frames_data, (*batch, frames * width))
    flat = e.concatenate([flat, e.zeros((*batch, 1), e.dtype(flat))], axis=len(batch))
    gathered = e.take(flat, e.convert_to_tensor(index.reshape(-1).astype(np.int32)), axis=len(batch))
    return e.sum(e.reshape(gathered, (*batch, reach, total)), axis=len(batch))


# ------------------------------------------------------------ complex views
def _as_complex_spec(x: Any) -> OpSpec:
    shape = tuple(x.shape)
    check(len(shape) >= 1 and shape[-1] in (None, 2), "view_as_complex", "a float tensor (..., 2)", describe(x))
    return OpSpec(shape[:-1], COMPLEX_OF[_float_name(_dtype_name(x))])


@op("a float tensor (..., 2) of (real, imag) pairs", body=True, spec=_as_complex_spec)
def view_as_complex(x: Tensor) -> Tensor:
    """A complex tensor (complex64 from float32) from a float tensor whose
    last axis holds (real, imag) pairs. Example: ``z = ops.view_as_complex(pairs)``"""
    e = active()
    x = _as_float(x)
    check(len(e.shape(x)) >= 1 and e.shape(x)[-1] == 2, "view_as_complex", "a float tensor (..., 2)", describe(x))
    return e.view_as_complex(x)


def _as_real_spec(x: Any) -> OpSpec:
    dtype = _dtype_name(x)
    check(dtype in FLOAT_OF, "view_as_real", "a complex tensor", describe(x))
    return OpSpec((*tuple(x.shape), 2), FLOAT_OF[dtype])


@op("a complex tensor", body=True, spec=_as_real_spec)
def view_as_real(x: Tensor) -> Tensor:
    """A float tensor ``(..., 2)`` holding the (real, imag) pairs of a
    complex tensor. Example: ``pairs = ops.view_as_real(z)``"""
    e = active()
    x = e.convert_to_tensor(x)
    check(e.dtype(x) in FLOAT_OF, "view_as_real", "a complex tensor", describe(x))
    return e.view_as_real(x)


# ------------------------------------------------------------------- math
def _erfinv_spec(x: Any) -> OpSpec:
    return OpSpec(tuple(x.shape), _float_name(_dtype_name(x)))


@op("a tensor with values in [-1, 1]", body=True, spec=_erfinv_spec)
def erfinv(x: Tensor) -> Tensor:
    """The inverse error function: ``erf(erfinv(x)) == x`` on ``(-1, 1)``,
    ``+-inf`` at ``+-1`` and NaN outside. Example: ``ops.erfinv(x)``"""
    return active().erfinv(_as_float(x))


def _cdist_spec(x: Any, y: Any) -> OpSpec:
    xs, ys = tuple(x.shape), tuple(y.shape)
    check(len(xs) >= 2 and len(ys) >= 2 and (xs[-1] is None or ys[-1] is None or xs[-1] == ys[-1]), "cdist",
          "x (..., m, d) and y (..., n, d)", f"x {describe(x)}, y {describe(y)}")
    batch_x, batch_y = xs[:-2], ys[:-2]
    rank = max(len(batch_x), len(batch_y))
    batch_x = (1,) * (rank - len(batch_x)) + batch_x
    batch_y = (1,) * (rank - len(batch_y)) + batch_y
    batch = tuple(b if a == 1 else a if b == 1 else (a if a is not None else b) for a, b in zip(batch_x, batch_y))
    return OpSpec((*batch, xs[-2], ys[-2]), _float_name(_dtype_name(x)))


@op("x (..., m, d) and y (..., n, d) with broadcastable leading axes", body=True, spec=_cdist_spec)
def cdist(x: Tensor, y: Tensor) -> Tensor:
    """Euclidean distances between every row of ``x`` and every row of ``y``:
    ``(..., m, n)``. Example: ``ops.cdist(points, centres)``"""
    e = active()
    x, y = _as_float(x), _as_float(y)
    if e.dtype(y) != e.dtype(x):
        y = e.cast(y, e.dtype(x))
    xs, ys = e.shape(x), e.shape(y)
    check(len(xs) >= 2 and len(ys) >= 2 and xs[-1] == ys[-1], "cdist", "x (..., m, d) and y (..., n, d)",
          f"x {describe(x)}, y {describe(y)}")
    difference = e.subtract(e.expand_dims(x, -2), e.expand_dims(y, -3))  # (..., m, n, d)
    return e.sqrt(e.sum(e.square(difference), axis=-1))

