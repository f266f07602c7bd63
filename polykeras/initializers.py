"""Initializers: Keras 3's set, names and defaults, drawn ON THE HOST.

Every initializer computes its values with NumPy (:meth:`Initializer.host_values`)
and only then hands them to the engine, so the same seed gives bit-identical
initial weights on every engine. A seeded initializer draws from
``np.random.default_rng(seed)`` (the same values at every call, as in Keras 3);
an unseeded one draws from ``polykeras.random.global_rng()``, which
``polykeras.random.set_seed`` reseeds.

Example:
    >>> from polykeras import initializers
    >>> init = initializers.get("glorot_uniform")
    >>> kernel = init((3, 4))                        # an engine tensor
    >>> initializers.GlorotUniform(seed=1).host_values((3, 4)).dtype
    dtype('float32')
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from polykeras.backends.dtypes import FLOATX, floatx, standardize_dtype
from polykeras import registry

__all__ = [
    "Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "Identity", "Initializer",
    "LecunNormal", "LecunUniform", "Ones", "Orthogonal", "RandomNormal", "RandomUniform",
    "STFT", "STFTInitializer", "TruncatedNormal", "VarianceScaling", "Zeros", "compute_fans", "deserialize", "get",
    "serialize", "IdentityInitializer", "OrthogonalInitializer", "constant", "glorot_normal", "glorot_uniform",
    "he_normal", "he_uniform", "identity", "lecun_normal", "lecun_uniform", "ones", "orthogonal", "random_normal",
    "random_uniform", "stft", "truncated_normal", "variance_scaling", "zeros",
]

Shape = Sequence[int]


def _np_dtype(dtype: str) -> np.dtype:
    # NumPy has no bfloat16: draw float32 and let the engine cast.
    return np.dtype("float32") if dtype == "bfloat16" else np.dtype(dtype)


def _require_float(name: str, dtype: str) -> None:
    if not dtype.startswith(("float", "bfloat")):
        raise ValueError(f"{name}: expected a floating-point dtype, received dtype={dtype!r}.")


class Initializer:
    """Base class: subclasses implement :meth:`host_values` (NumPy) and
    ``get_config``. Calling an initializer returns an engine tensor on the
    active engine.

    Example:
        >>> class Halves(Initializer):
        ...     def host_values(self, shape, dtype="float32"):
        ...         return np.full(shape, 0.5, dtype=dtype)
        >>> Halves()((2,))
    """

    def host_values(self, shape: Shape, dtype: str = FLOATX) -> np.ndarray:
        """The initial values as a NumPy array (host memory)."""
        raise NotImplementedError(f"{type(self).__name__} must implement host_values(shape, dtype).")

    def __call__(self, shape: Shape, dtype: Any = None) -> Any:
        from polykeras import ops

        dtype = standardize_dtype(dtype or floatx())
        return ops.convert_to_tensor(self.host_values(tuple(shape), dtype), dtype)

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Initializer:
        return cls(**config)

    def clone(self) -> Initializer:
        return type(self).from_config(self.get_config())

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


# ------------------------------------------------------------ constants
class Zeros(Initializer):
    """All zeros. Example: ``Zeros()((2, 3))``"""

    def host_values(self, shape: Shape, dtype: str = FLOATX) -> np.ndarray:
        return np.zeros(shape, _np_dtype(dtype))


class Ones(Initializer):
    """All ones. Example: ``Ones()((2, 3))``"""

    def host_values(self, shape: Shape, dtype: str = FLOATX) -> np.ndarray:
        return np.ones(shape, _np_dtype(dtype))


class Constant(Initializer):
    """A constant scalar ``value``. Example: ``Constant(0.1)((3,))``"""

    def __init__(self, value: float = 0.0):
        if np.ndim(value) != 0:
            raise ValueError(f"Constant: expected a scalar value, received an array of shape {np.shape(value)}.")
        self.value = value

    def host_values(self, shape: Shape, dtype: str = FLOATX) -> np.ndarray:
        return np.full(shape, self.value, _np_dtype(dtype))

    def get_config(self) -> dict[str, Any]:
        value = self.value
        return {"value": value.item() if isinstance(value, np.generic) else value}


class Identity(Initializer):
    """``gain`` times the identity matrix (2-D shapes only). Example: ``Identity()((3, 3))``"""

    def __init__(self, gain: float = 1.0):
        self.gain = gain

    def host_values(self, shape: Shape, dtype: str = FLOATX) -> np.ndarray:
        if len(shape) != 2:
            raise ValueError(f"Identity: expected a 2-D shape, received shape={tuple(shape)} of rank {len(shape)}.")
        return (self.gain * np.eye(shape[0], shape[1])).astype(_np_dtype(dtype))

    def get_config(self) -> dict[str, Any]:
        return {"gain": self.gain}


# --------------------------------------------------------------- random
class RandomInitializer(Initializer):
    """Base of the random initializers: ``seed`` (int or None) picks the host
    generator."""

    def __init__(self, seed: int | None = None):
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise ValueError(f"{type(self).__name__}: expected an int seed or None, received seed={seed!r}.")
        self.seed = None if seed is None else int(seed)

    def _rng(self) -> np.random.Generator:
        if self.seed is None:
            from polykeras.random import global_rng

            return global_rng()
        return np.random.default_rng(self.seed)

    def get_config(self) -> dict[str, Any]:
        return {"seed": self.seed}


#: Values drawn at a time (2 MiB of float64): a large weight is filled chunk by chunk.
_CHUNK = 1 << 18


def _draw(shape: Shape, dtype: str, draw: Callable[[int], np.ndarray]) -> np.ndarray:
    """``draw(n)``'s float64 values, cast into an array of ``dtype`` one
    chunk at a time: the host holds the weight in its own dtype and one chunk
    of float64, never a float64 copy of the whole weight (3x a float32
    weight's memory at the peak). NumPy's streams continue across calls, so
    the values are those of one whole draw then cast, bit for bit."""
    kind = _np_dtype(dtype)
    size = math.prod(shape)
    if size <= _CHUNK:
        return np.asarray(draw(size)).astype(kind).reshape(shape)
    out = np.empty(size, kind)
    for start in range(0, size, _CHUNK):
        stop = min(start + _CHUNK, size)
        out[start:stop] = draw(stop - start)
    return out.reshape(shape)


def _truncated(rng: np.random.Generator, shape: Shape, mean: float, stddev: float, dtype: str) -> np.ndarray:
    """``mean + stddev * z`` in ``dtype`` for standard normals ``z`` redrawn
    until within two standard deviations (the redraws come after the whole
    first draw, in position order), filled chunk by chunk as :func:`_draw`."""
    redraw: list[np.ndarray] = []
    done = 0

    def first(count: int) -> np.ndarray:
        nonlocal done
        z = rng.standard_normal(count)
        redraw.append(np.flatnonzero(np.abs(z) > 2.0) + done)
        done += count
        z *= stddev  # in place: the same two float64 operations as ``mean + stddev * z``
        z += mean
        return z

    out = _draw(shape, dtype, first)
    flat = out.reshape(-1)
    bad = np.concatenate(redraw) if redraw else np.empty(0, np.intp)
    redraw.clear()
    while bad.size:  # each round redraws every position still out of range, a chunk at a time
        for start in range(0, bad.size, _CHUNK):
            where = bad[start:start + _CHUNK]
            z = rng.standard_normal(where.size)
            keep = np.abs(z) <= 2.0
            z *= stddev
            z += mean
            flat[where[keep]] = z[keep]
            redraw.append(where[~keep])
        bad = np.concatenate(redraw)
        redraw.clear()
    return out


class RandomNormal(RandomInitializer):
    """Normal draws. Example: ``RandomNormal(stddev=0.1, seed=0)((2, 3))``"""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        self.mean, self.stddev = mean, stddev
        super().__init__(seed)

    def host_values(self, shape: Shape, dtype: str = FLOATX) -> np.ndarray:
        _require_float("RandomNormal", dtype)
        rng = self._rng()
        return _draw(shape, dtype, lambda n: rng.normal(self.mean, self.stddev, n))

    def get_config(self) -> dict[str, Any]:
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


class TruncatedNormal(RandomInitializer):
    """Normal draws, redrawn beyond two standard deviations.
    Example: ``TruncatedNormal(stddev=0.02, seed=0)((4, 4))``"""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        self.mean, self.stddev = mean, stddev
        super().__init__(seed)

    def host_values(self, shape: Shape, dtype: str = FLOATX) -> np.ndarray:
        _require_float("TruncatedNormal", dtype)
        return _truncated(self._rng(), shape, self.mean, self.stddev, dtype)

    def get_config(self) -> dict[str, Any]:
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


class RandomUniform(RandomInitializer):
    """Uniform draws in ``[minval, maxval)``. Example: ``RandomUniform(-1, 1, seed=0)((3,))``"""

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None):
        self.minval, self.maxval = minval, maxval
        super().__init__(seed)

    def host_values(self, shape: Shape, dtype: str = FLOATX) -> np.ndarray:
        kind = _np_dtype(dtype)
        if kind.kind in "iu":
            # NumPy truncates float bounds for integer draws; int() says so.
            return self._rng().integers(int(self.minval), int(self.maxval), tuple(shape)).astype(kind)
        _require_float("RandomUniform", dtype)
        rng = self._rng()
        return _draw(shape, dtype, lambda n: rng.uniform(self.minval, self.maxval, n))

    def get_config(self) -> dict[str, Any]:
        return {"minval": self.minval, "maxval": self.maxval, **super().get_config()}


def compute_fans(shape: Shape, input_axes: Sequence[int] | None = None,
                 output_axes: Sequence[int] | None = None) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight shape, as Keras 3: ``(in, out)`` for
    matrices, ``receptive_field * channels`` for convolution kernels.

    Example: ``compute_fans((3, 3, 16, 32))`` -> ``(144, 288)``
    """
    shape = tuple(shape)
    if input_axes is not None and output_axes is not None:
        return int(np.prod([shape[a] for a in input_axes])), int(np.prod([shape[a] for a in output_axes]))
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = int(np.prod(shape[:-2]))
    return shape[-2] * receptive, shape[-1] * receptive


class VarianceScaling(RandomInitializer):
    """Draws scaled to the weight's fan: ``scale / n`` variance with ``n`` the
    fan-in, fan-out or their average. ``distribution`` is
    ``"truncated_normal"``, ``"untruncated_normal"`` or ``"uniform"``.

    Example: ``VarianceScaling(2.0, "fan_in", "uniform", seed=0)((8, 4))``
    """

    MODES = ("fan_in", "fan_out", "fan_avg")
    DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")

    def __init__(self, scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal",
                 seed: int | None = None, input_axes: Sequence[int] | None = None,
                 output_axes: Sequence[int] | None = None):
        name = type(self).__name__
        if scale <= 0.0:
            raise ValueError(f"{name}: expected a positive scale, received scale={scale!r}.")
        if mode not in self.MODES:
            raise ValueError(f"{name}: expected mode in {self.MODES}, received mode={mode!r}.")
        distribution = distribution.lower()
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in self.DISTRIBUTIONS:
            raise ValueError(f"{name}: expected distribution in {self.DISTRIBUTIONS}, received {distribution!r}.")
        self.scale, self.mode, self.distribution = scale, mode, distribution
        self.input_axes = None if input_axes is None else list(input_axes)
        self.output_axes = None if output_axes is None else list(output_axes)
        super().__init__(seed)

    def host_values(self, shape: Shape, dtype: str = FLOATX) -> np.ndarray:
        _require_float(type(self).__name__, dtype)
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, fan)
        rng = self._rng()
        if self.distribution == "truncated_normal":
            # 0.8796... is the stddev of a standard normal truncated to (-2, 2).
            return _truncated(rng, shape, 0.0, math.sqrt(scale) / 0.87962566103423978, dtype)
        if self.distribution == "untruncated_normal":
            return _draw(shape, dtype, lambda n: rng.normal(0.0, math.sqrt(scale), n))
        limit = math.sqrt(3.0 * scale)
        return _draw(shape, dtype, lambda n: rng.uniform(-limit, limit, n))

    def get_config(self) -> dict[str, Any]:
        return {
            "scale": self.scale, "mode": self.mode, "distribution": self.distribution,
            "input_axes": self.input_axes, "output_axes": self.output_axes, **super().get_config(),
        }


def _fixed(scale: float, mode: str, distribution: str, doc: str) -> type[VarianceScaling]:
    class Fixed(VarianceScaling):
        def __init__(self, seed: int | None = None, input_axes: Sequence[int] | None = None,
                     output_axes: Sequence[int] | None = None):
            super().__init__(scale, mode, distribution, seed, input_axes, output_axes)

        def get_config(self) -> dict[str, Any]:
            return {"seed": self.seed, "input_axes": self.input_axes, "output_axes": self.output_axes}

    Fixed.__doc__ = doc
    return Fixed


GlorotUniform = _fixed(1.0, "fan_avg", "uniform", "Uniform in ``±sqrt(6 / (fan_in + fan_out))``. "
                       "Example: ``GlorotUniform(seed=0)((3, 4))``")
GlorotNormal = _fixed(1.0, "fan_avg", "truncated_normal", "Truncated normal, stddev ``sqrt(2 / (fan_in + fan_out))``. "
                      "Example: ``GlorotNormal()((3, 4))``")
HeUniform = _fixed(2.0, "fan_in", "uniform", "Uniform in ``±sqrt(6 / fan_in)``. Example: ``HeUniform()((3, 4))``")
HeNormal = _fixed(2.0, "fan_in", "truncated_normal", "Truncated normal, stddev ``sqrt(2 / fan_in)``. "
                  "Example: ``HeNormal()((3, 4))``")
LecunUniform = _fixed(1.0, "fan_in", "uniform", "Uniform in ``±sqrt(3 / fan_in)``. Example: ``LecunUniform()((3, 4))``")
LecunNormal = _fixed(1.0, "fan_in", "truncated_normal", "Truncated normal, stddev ``sqrt(1 / fan_in)``. "
                     "Example: ``LecunNormal()((3, 4))``")
for _name in ("GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform", "LecunNormal"):
    globals()[_name].__name__ = globals()[_name].__qualname__ = _name
    globals()[_name].__module__ = __name__


class Orthogonal(RandomInitializer):
    """``gain`` times a random orthogonal matrix (QR of normal draws); shapes
    of rank > 2 are flattened to ``(prod(shape[:-1]), shape[-1])``.

    Example: ``Orthogonal(seed=0)((4, 4))``
    """

    def __init__(self, gain: float = 1.0, seed: int | None = None):
        self.gain = gain
        super().__init__(seed)

    def host_values(self, shape: Shape, dtype: str = FLOATX) -> np.ndarray:
        _require_float("Orthogonal", dtype)
        if len(shape) < 2:
            raise ValueError(f"Orthogonal: expected a shape of rank >= 2, received shape={tuple(shape)}.")
        rows, cols = int(np.prod(shape[:-1])), int(shape[-1])
        a = self._rng().normal(0.0, 1.0, (max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q = q * np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return (self.gain * q.reshape(shape)).astype(_np_dtype(dtype))

    def get_config(self) -> dict[str, Any]:
        return {"gain": self.gain, **super().get_config()}


# ------------------------------------------------------------ STFT
def _cosine_sum(coefficients: Sequence[float]) -> Callable[[int], np.ndarray]:
    """A symmetric window ``sum_k (-1)^k a_k cos(2 pi k n / (M - 1))``."""

    def window(m: int) -> np.ndarray:
        phase = np.linspace(-np.pi, np.pi, m)
        out = np.zeros(m)
        for k, a in enumerate(coefficients):
            out += a * np.cos(k * phase)
        return out

    return window


def _bartlett(m: int) -> np.ndarray:
    n = np.arange(m)
    return np.where(n <= (m - 1) / 2.0, 2.0 * n / (m - 1), 2.0 - 2.0 * n / (m - 1))


def _triang(m: int) -> np.ndarray:
    n = np.arange(1, (m + 1) // 2 + 1)
    if m % 2 == 0:
        half = (2 * n - 1.0) / m
        return np.concatenate([half, half[::-1]])
    half = 2 * n / (m + 1.0)
    return np.concatenate([half, half[-2::-1]])


def _bohman(m: int) -> np.ndarray:
    fac = np.abs(np.linspace(-1, 1, m)[1:-1])
    inner = (1 - fac) * np.cos(np.pi * fac) + 1.0 / np.pi * np.sin(np.pi * fac)
    return np.concatenate([[0.0], inner, [0.0]])


def _parzen(m: int) -> np.ndarray:
    n = np.arange(-(m - 1) / 2.0, (m - 1) / 2.0 + 0.5, 1.0)
    outer = n[n < -(m - 1) / 4.0]
    middle = n[np.abs(n) <= (m - 1) / 4.0]
    w_outer = 2 * (1 - np.abs(outer) / (m / 2.0)) ** 3.0
    w_middle = 1 - 6 * (np.abs(middle) / (m / 2.0)) ** 2.0 + 6 * (np.abs(middle) / (m / 2.0)) ** 3.0
    return np.concatenate([w_outer, w_middle, w_outer[::-1]])


def _barthann(m: int) -> np.ndarray:
    fac = np.abs(np.arange(m) / (m - 1.0) - 0.5)
    return 0.62 - 0.48 * fac + 0.38 * np.cos(2 * np.pi * fac)


#: The windows computed here, as scipy.signal.windows defines them (symmetric
#: form), under scipy's names and aliases; other names are asked of scipy.
_WINDOWS: dict[str, Callable[[int], np.ndarray]] = {
    "hann": _cosine_sum([0.5, 0.5]),
    "hamming": _cosine_sum([0.54, 0.46]),
    "blackman": _cosine_sum([0.42, 0.50, 0.08]),
    "nuttall": _cosine_sum([0.3635819, 0.4891775, 0.1365995, 0.0106411]),
    "blackmanharris": _cosine_sum([0.35875, 0.48829, 0.14128, 0.01168]),
    "flattop": _cosine_sum([0.21557895, 0.41663158, 0.277263158, 0.083578947, 0.006947368]),
    "boxcar": np.ones, "bartlett": _bartlett, "triang": _triang, "bohman": _bohman, "parzen": _parzen,
    "barthann": _barthann, "cosine": lambda m: np.sin(np.pi / m * (np.arange(m) + 0.5)),
}
_WINDOW_ALIASES = {
    "han": "hann", "hamm": "hamming", "ham": "hamming", "black": "blackman", "blk": "blackman",
    "nutl": "nuttall", "nut": "nuttall", "blackharr": "blackmanharris", "bkh": "blackmanharris",
    "flat": "flattop", "flt": "flattop", "box": "boxcar", "ones": "boxcar", "rect": "boxcar",
    "rectangular": "boxcar", "bart": "bartlett", "brt": "bartlett", "triangle": "triang", "tri": "triang",
    "bman": "bohman", "bmn": "bohman", "parz": "parzen", "par": "parzen", "brthan": "barthann",
    "bth": "barthann", "halfcosine": "cosine",
}


def _scipy_window(name: str, length: int, periodic: bool) -> np.ndarray:
    try:
        from scipy.signal import get_window
    except ImportError:
        raise ValueError(f"STFT: window {name!r} needs scipy (pip install scipy); without it the windows are "
                         f"{sorted(_WINDOWS)}.") from None
    try:
        return np.asarray(get_window(name, length, fftbins=periodic), np.float64)
    except ValueError as err:
        raise ValueError(f"STFT: expected a window of scipy.signal.windows ({', '.join(sorted(_WINDOWS))}, ...), "
                         f"an array of window values or None, received window={name!r} ({err}).") from None


def _named_window(name: str, length: int, periodic: bool) -> np.ndarray:
    """scipy's ``get_window(name, length, fftbins=periodic)``: a periodic
    window is the symmetric one of ``length + 1`` points less its last."""
    key = _WINDOW_ALIASES.get(name.lower(), name.lower())
    if key not in _WINDOWS:
        return _scipy_window(name, length, periodic)
    if length == 1:
        return np.ones(1)
    return _WINDOWS[key](length + 1)[:-1] if periodic else _WINDOWS[key](length)


class STFT(Initializer):
    """Kernels of a 1-D convolution computing a short-time Fourier transform:
    for a shape ``(frame_length, channels, fft_length // 2 + 1)`` the real
    (``side="real"``, cosines) or imaginary (``"imag"``, sines) parts of the
    DFT basis over the first half of the frequency bins, times a window.

    Args:
        side: ``"real"`` or ``"imag"``.
        window: a window name of ``scipy.signal.windows`` (``"hann"``,
            ``"hamming"``, ``"blackman"``, ...), the window's values (one per
            frame sample), or None for none.
        scaling: ``"density"`` (divide by the window's L2 norm), ``"spectrum"``
            (by its L1 norm) or None.
        periodic: a periodic window (scipy's ``fftbins=True``) instead of a
            symmetric one.

    The values are Keras 3's for the same arguments; where ``channels`` is
    more than 1, every channel gets the same kernel (Keras returns one
    channel whatever the shape asks).

    Example:
        >>> kernel = STFT("real", "hann", "density", periodic=True)((256, 1, 129))
    """

    def __init__(self, side: str = "real", window: Any = "hann", scaling: str | None = "density",
                 periodic: bool = False):
        if side not in ("real", "imag"):
            raise ValueError(f"STFT: expected side 'real' or 'imag', received side={side!r}.")
        if scaling is not None and scaling not in ("density", "spectrum"):
            raise ValueError(f"STFT: expected scaling None, 'density' or 'spectrum', received scaling={scaling!r}.")
        if not isinstance(periodic, (bool, np.bool_)):
            raise ValueError(f"STFT: expected a bool periodic, received periodic={periodic!r}.")
        if isinstance(window, str):
            _named_window(window, 4, False)  # an unknown name fails now, not at the first weight
        elif window is not None:
            try:
                values = np.asarray(window, np.float64)
            except (TypeError, ValueError):
                raise ValueError(f"STFT: expected a window name, the window's values or None, "
                                 f"received window={window!r}.") from None
            if values.ndim != 1:
                raise ValueError(f"STFT: expected window values of rank 1 (one per frame sample), received "
                                 f"an array of shape {values.shape}.")
            window = values.tolist()
        self.side, self.window, self.scaling, self.periodic = side, window, scaling, bool(periodic)

    def host_values(self, shape: Shape, dtype: str = FLOATX) -> np.ndarray:
        _require_float("STFT", dtype)
        if len(shape) != 3 or int(shape[2]) < 2:
            raise ValueError(f"STFT: expected a shape (frame_length, channels, fft_length // 2 + 1) with at least "
                             f"2 frequency bins, received shape={tuple(shape)}.")
        frame_length, channels, bins = (int(d) for d in shape)
        time = np.arange(frame_length, dtype=np.float64).reshape(frame_length, 1, 1)
        freq = np.arange(bins, dtype=np.float64).reshape(1, 1, bins) / (2.0 * (bins - 1))
        phase = -2.0 * np.pi * time * freq
        kernel = np.cos(phase) if self.side == "real" else np.sin(phase)
        if self.window is not None:
            window = (_named_window(self.window, frame_length, self.periodic) if isinstance(self.window, str)
                      else np.asarray(self.window, np.float64))
            if window.shape != (frame_length,):
                raise ValueError(f"STFT: expected window values of shape ({frame_length},) (the frame length), "
                                 f"received shape {window.shape}.")
            norm = {"density": np.sqrt(np.sum(window**2)), "spectrum": np.sum(np.abs(window)), None: 1.0}
            kernel = kernel * window.reshape(frame_length, 1, 1) / norm[self.scaling]
        return np.broadcast_to(kernel, (frame_length, channels, bins)).astype(_np_dtype(dtype))

    def get_config(self) -> dict[str, Any]:
        return {"side": self.side, "window": self.window, "periodic": self.periodic, "scaling": self.scaling}


# ------------------------------------------------------------ lookup
ALL_OBJECTS: tuple[type[Initializer], ...] = (
    Constant, GlorotNormal, GlorotUniform, HeNormal, HeUniform, Identity, LecunNormal, LecunUniform,
    Ones, Orthogonal, RandomNormal, RandomUniform, STFT, TruncatedNormal, VarianceScaling, Zeros,
)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


ALL_OBJECTS_DICT: dict[str, type[Initializer]] = {cls.__name__: cls for cls in ALL_OBJECTS}
ALL_OBJECTS_DICT.update({_snake(cls.__name__): cls for cls in ALL_OBJECTS})
ALL_OBJECTS_DICT.update({
    "normal": RandomNormal, "uniform": RandomUniform, "one": Ones, "zero": Zeros,
    "IdentityInitializer": Identity, "OrthogonalInitializer": Orthogonal, "STFTInitializer": STFT, "stft": STFT,
})

# Keras 3's other spellings of the same classes: ``initializers.he_normal(seed=1)``.
IdentityInitializer, OrthogonalInitializer, STFTInitializer, stft = Identity, Orthogonal, STFT, STFT
constant, identity, ones, zeros, orthogonal = Constant, Identity, Ones, Zeros, Orthogonal
glorot_normal, glorot_uniform, he_normal, he_uniform = GlorotNormal, GlorotUniform, HeNormal, HeUniform
lecun_normal, lecun_uniform, variance_scaling = LecunNormal, LecunUniform, VarianceScaling
random_normal, random_uniform, truncated_normal = RandomNormal, RandomUniform, TruncatedNormal


def serialize(initializer: Initializer | Callable[..., Any] | None) -> Any:
    """JSON-safe config of what :func:`get` returns (an initializer, a
    registered function's name, or None). Example: ``serialize(Zeros())``"""
    return registry.serialize(initializer)


def deserialize(config: Any, custom_objects: dict[str, Any] | None = None) -> Initializer:
    """An initializer from :func:`serialize`'s output or a name."""
    return registry.deserialize(config, custom_objects, ALL_OBJECTS_DICT, kind="initializer")


def get(identifier: Any) -> Initializer | Callable[..., Any] | None:
    """An initializer from a name (``"glorot_uniform"``, ``"GlorotUniform"``),
    a config dict, an instance or a ``callable(shape, dtype)``; None stays None.

    Example: ``get("he_normal")`` -> ``HeNormal(seed=None, ...)``
    """
    if identifier is None or isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if callable(identifier):
        if isinstance(identifier, type):
            return identifier()
        return identifier
    raise ValueError(f"initializers.get: expected a name, config dict, or callable, received {identifier!r}.")
