"""Audio layers: ``STFTSpectrogram`` (a short-time Fourier transform as a 1-D
convolution with STFT-initialized, trainable kernels) and ``MelSpectrogram``
(power spectrogram on the mel scale, in decibels), with Keras 3's arguments,
defaults, weights and numbers.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from polykeras import initializers, ops
from polykeras.config import epsilon
from polykeras.layers.convolutional.arguments import (
    conv_output_length, describe_layer, positive_int, standardize_data_format,
)
from polykeras.layers.input_spec import InputSpec
from polykeras.layers.layer import Layer

__all__ = ["MelSpectrogram", "STFTSpectrogram"]

_MODES = ("log", "magnitude", "psd", "real", "imag", "angle", "stft")
_FLOATS = ("float16", "float32", "float64")


class STFTSpectrogram(Layer):
    """Spectrogram of 1-D signals by a short-time Fourier transform computed
    as a strided 1-D convolution whose kernels (``real_kernel``,
    ``imag_kernel``, shape ``(frame_length, 1, fft_length // 2 + 1)``) start
    as the windowed DFT basis (:class:`polykeras.initializers.STFT`) and can
    be trained. Every input channel is transformed by the same kernels.

    Args:
        mode: ``"log"`` (log magnitude, default), ``"magnitude"``, ``"psd"``
            (power spectral density), ``"real"``, ``"imag"``, ``"angle"`` or
            ``"stft"`` (real then imaginary bins).
        frame_length: samples per frame (default 256).
        frame_step: samples between frames (default ``frame_length // 2``).
        fft_length: frequency resolution, at least ``frame_length`` (default
            the next power of two).
        window: a window name (``"hann"``, ``"hamming"``, any of
            ``scipy.signal.windows``), the window's values, or None.
        periodic: a periodic window instead of a symmetric one.
        scaling: ``"density"``, ``"spectrum"`` or None.
        padding: ``"valid"`` or ``"same"``.
        expand_dims: keep frequency and channels as two axes (an image).
        data_format: ``"channels_last"`` (``(batch, time, channels)``) or
            ``"channels_first"`` (``(batch, channels, time)``).

    Output: ``(batch, frames, channels * bins)`` (channels last), or with
    ``expand_dims`` ``(batch, frames, bins, channels)``; channels first:
    ``(batch, channels * bins, frames)`` or ``(batch, channels, frames, bins)``.

    Example:
        >>> layer = STFTSpectrogram(frame_length=64, frame_step=32, fft_length=64)
        >>> ops.shape(layer(np.zeros((2, 1024, 1), "float32")))
        (2, 31, 33)
    """

    def __init__(self, mode: str = "log", frame_length: int = 256, frame_step: int | None = None,
                 fft_length: int | None = None, window: Any = "hann", periodic: bool = False,
                 scaling: str | None = "density", padding: str = "valid", expand_dims: bool = False,
                 data_format: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        who = describe_layer(self)
        positive_int(frame_length, "frame_length", who)
        if frame_step is not None and (positive_int(frame_step, "frame_step", who) > frame_length):
            raise ValueError(f"{who}: expected frame_step a positive int not greater than frame_length, received "
                             f"frame_step={frame_step}, frame_length={frame_length}.")
        if fft_length is not None and positive_int(fft_length, "fft_length", who) < frame_length:
            raise ValueError(f"{who}: expected fft_length >= frame_length, received fft_length={fft_length}, "
                             f"frame_length={frame_length}.")
        if fft_length is not None and fft_length & (fft_length - 1):
            warnings.warn(f"{who}: fft_length is best a power of two, received fft_length={fft_length}.",
                          stacklevel=2)
        if mode not in _MODES:
            raise ValueError(f"{who}: expected mode to be one of {_MODES}, received mode={mode!r}.")
        if padding not in ("valid", "same"):
            raise ValueError(f"{who}: expected padding 'valid' or 'same', received padding={padding!r}.")
        try:  # window, scaling and periodic are checked as the kernels' initializer checks them
            initializers.STFT("real", window, scaling, periodic)
        except ValueError as err:
            raise ValueError(f"{who}: {err}") from None
        self.mode = mode
        self.frame_length = frame_length
        self.frame_step = frame_step
        self._frame_step = frame_step or frame_length // 2
        if self._frame_step < 1:
            raise ValueError(f"{who}: frame_length={frame_length} gives a frame_step of 0; pass a positive "
                             "frame_step.")
        self.fft_length = fft_length
        self._fft_length = fft_length or 2 ** int(math.ceil(math.log2(frame_length)))
        self.window = window.tolist() if isinstance(window, np.ndarray) else window
        self.periodic = periodic
        self.scaling = scaling
        self.padding = padding
        self.expand_dims = bool(expand_dims)
        self.data_format = standardize_data_format(data_format, who)
        self.input_spec = InputSpec(ndim=3)

    def build(self, input_shape: Any) -> None:
        shape = (self.frame_length, 1, self._fft_length // 2 + 1)
        if self.mode != "imag":
            self.real_kernel = self.add_weight(
                name="real_kernel", shape=shape,
                initializer=initializers.STFT("real", self.window, self.scaling, self.periodic))
        if self.mode != "real":
            self.imag_kernel = self.add_weight(
                name="imag_kernel", shape=shape,
                initializer=initializers.STFT("imag", self.window, self.scaling, self.periodic))

    def _channels(self, inputs: Any, kernel: Any) -> list[Any]:
        """One ``(batch, frames, bins)`` transform per input channel (no reshape: any size may be unknown)."""
        x = inputs if self.data_format == "channels_last" else ops.transpose(inputs, (0, 2, 1))
        kernel = ops.cast(kernel, ops.dtype(inputs))
        return [ops.conv(x[:, :, c:c + 1], kernel, strides=self._frame_step, padding=self.padding,
                         data_format="channels_last") for c in range(int(ops.shape(x)[-1]))]

    def _arrange(self, per_channel: list[Any]) -> Any:
        """The ``(batch, frames, bins)`` of each channel in the layer's output layout."""
        if self.data_format == "channels_last":
            return ops.stack(per_channel, axis=-1) if self.expand_dims else ops.concatenate(per_channel, axis=-1)
        if self.expand_dims:
            return ops.stack(per_channel, axis=1)
        return ops.concatenate([ops.transpose(t, (0, 2, 1)) for t in per_channel], axis=1)

    def _spectrum(self, real: Any, imag: Any) -> Any:
        """One channel's output from its real and imaginary parts."""
        if self.mode == "real":
            return real
        if self.mode == "imag":
            return imag
        if self.mode == "angle":
            return ops.arctan2(imag, real)
        if self.mode == "stft":
            return ops.concatenate([real, imag], axis=-1)
        power = ops.add(ops.square(real), ops.square(imag))
        if self.mode == "psd":  # one-sided density: the bins other than DC and the last count twice
            return ops.add(power, ops.pad(power[:, :, 1:-1], [(0, 0), (0, 0), (1, 1)]))
        magnitude = ops.sqrt(ops.maximum(power, epsilon()))
        if self.mode == "magnitude":
            return magnitude
        return ops.log(ops.maximum(magnitude, epsilon()))

    def call(self, inputs: Any) -> Any:
        if ops.dtype(inputs) not in _FLOATS:
            raise TypeError(f"{describe_layer(self)}: expected float16, float32 or float64 signals, received "
                            f"{ops.dtype(inputs)} inputs of shape {tuple(ops.shape(inputs))}.")
        real = None if self.mode == "imag" else self._channels(inputs, self.real_kernel)
        imag = None if self.mode == "real" else self._channels(inputs, self.imag_kernel)
        count = len(real) if real is not None else len(imag or [])
        return self._arrange([self._spectrum(None if real is None else real[c], None if imag is None else imag[c])
                              for c in range(count)])

    def compute_output_shape(self, input_shape: Any) -> tuple:
        input_shape = tuple(input_shape)
        if len(input_shape) != 3:
            raise ValueError(f"{describe_layer(self)}: expected an input shape of rank 3, received {input_shape}.")
        last = self.data_format == "channels_last"
        batch, steps, channels = (input_shape if last else (input_shape[0], input_shape[2], input_shape[1]))
        frames = conv_output_length(steps, self.frame_length, self.padding, self._frame_step)
        bins = (self._fft_length // 2 + 1) * (2 if self.mode == "stft" else 1)
        if self.expand_dims:
            return (batch, frames, bins, channels) if last else (batch, channels, frames, bins)
        features = None if channels is None else channels * bins
        return (batch, frames, features) if last else (batch, features, frames)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mode": self.mode, "frame_length": self.frame_length,
                "frame_step": self.frame_step, "fft_length": self.fft_length, "window": self.window,
                "periodic": self.periodic, "scaling": self.scaling, "padding": self.padding,
                "data_format": self.data_format, "expand_dims": self.expand_dims}


# The HTK mel scale: mel(f) = 1127 ln(1 + f / 700).
_MEL_BREAK_HERTZ = 700.0
_MEL_Q = 1127.0


def _hertz_to_mel(hertz: np.ndarray) -> np.ndarray:
    return _MEL_Q * np.log1p(hertz / _MEL_BREAK_HERTZ)


def mel_weight_matrix(num_mel_bins: int, num_spectrogram_bins: int, sampling_rate: float,
                      lower_edge_hertz: float, upper_edge_hertz: float) -> np.ndarray:
    """``(num_spectrogram_bins, num_mel_bins)`` triangular filters, peak 1,
    linear in mels, the DC bin left out (the HTK convention, as Keras 3's
    ``MelSpectrogram.linear_to_mel_weight_matrix``), in float32.

    Example:
        >>> mel_weight_matrix(8, 129, 16000, 20.0, 8000.0).shape
        (129, 8)
    """
    frequencies = np.linspace(0.0, sampling_rate / 2.0, num_spectrogram_bins)[1:]
    bins_mel = _hertz_to_mel(frequencies)[:, None]
    edges = np.linspace(_hertz_to_mel(np.asarray(lower_edge_hertz, np.float64)),
                        _hertz_to_mel(np.asarray(upper_edge_hertz, np.float64)),
                        num_mel_bins + 2)
    lower, center, upper = edges[None, :-2], edges[None, 1:-1], edges[None, 2:]
    rising = (bins_mel - lower) / (center - lower)
    falling = (upper - bins_mel) / (upper - center)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return np.pad(weights, [(1, 0), (0, 0)]).astype(np.float32)


class MelSpectrogram(Layer):
    """Mel-scaled power spectrogram of raw audio ``(batch, samples)`` (or
    ``(samples,)``): a centred, reflect-padded short-time Fourier transform
    (:func:`polykeras.ops.stft`), magnitudes to the power ``mag_exp``, the
    ``num_mel_bins`` triangular mel filters between ``min_freq`` and
    ``max_freq`` and, with ``power_to_db``, decibels relative to
    ``ref_power`` floored at ``min_power`` and clipped ``top_db`` below the
    largest value of the batch. Output ``(batch, num_mel_bins, frames)``
    with ``frames = 1 + (samples + 2 * (fft_length // 2) - fft_length) //
    sequence_stride``.

    Example:
        >>> layer = MelSpectrogram(fft_length=256, sequence_stride=128, num_mel_bins=32)
        >>> ops.shape(layer(np.zeros((2, 16000), "float32")))
        (2, 32, 126)
    """

    def __init__(self, fft_length: int = 2048, sequence_stride: int = 512, sequence_length: int | None = None,
                 window: Any = "hann", sampling_rate: int = 16000, num_mel_bins: int = 128, min_freq: float = 20.0,
                 max_freq: float | None = None, power_to_db: bool = True, top_db: float | None = 80.0,
                 mag_exp: float = 2.0, min_power: float = 1e-10, ref_power: float = 1.0, **kwargs: Any):
        super().__init__(**kwargs)
        who = describe_layer(self)
        positive_int(fft_length, "fft_length", who)
        positive_int(sequence_stride, "sequence_stride", who)
        positive_int(sequence_length, "sequence_length", who, allow_none=True)
        positive_int(num_mel_bins, "num_mel_bins", who)
        self.fft_length = fft_length
        self.sequence_stride = sequence_stride
        self.sequence_length = sequence_length or fft_length
        if self.sequence_length > fft_length:
            raise ValueError(f"{who}: expected fft_length >= sequence_length, received sequence_length="
                             f"{self.sequence_length}, fft_length={fft_length}.")
        if not (window is None or isinstance(window, (str, list, tuple, np.ndarray))):
            raise ValueError(f"{who}: expected window 'hann', 'hamming', None or window values, received "
                             f"window={window!r}.")
        if isinstance(window, str) and window not in ("hann", "hamming"):
            raise ValueError(f"{who}: expected window 'hann', 'hamming', None or window values, received "
                             f"window={window!r}.")
        if not sampling_rate > 0:
            raise ValueError(f"{who}: expected a positive sampling_rate, received sampling_rate={sampling_rate!r}.")
        self.window = window.tolist() if isinstance(window, np.ndarray) else window
        self.sampling_rate = sampling_rate
        self.num_mel_bins = num_mel_bins
        self.min_freq = min_freq
        self.max_freq = max_freq or int(sampling_rate / 2)
        if not 0 <= min_freq < self.max_freq:
            raise ValueError(f"{who}: expected 0 <= min_freq < max_freq, received min_freq={min_freq!r}, "
                             f"max_freq={self.max_freq!r}.")
        self.power_to_db = power_to_db
        self.top_db = top_db
        self.mag_exp = mag_exp
        self.min_power = min_power
        self.ref_power = ref_power

    def call(self, inputs: Any) -> Any:
        compute = self.compute_dtype if self.compute_dtype in ("float32", "float64") else "float32"
        inputs = ops.cast(inputs, compute)
        rank = len(ops.shape(inputs))
        if rank not in (1, 2):
            raise ValueError(f"{describe_layer(self)}: expected audio of shape (batch, samples) or (samples,), "
                             f"received a tensor of shape {tuple(ops.shape(inputs))}.")
        window = self.window if self.window is None or isinstance(self.window, str) else \
            ops.convert_to_tensor(np.asarray(self.window), compute)
        real, imag = ops.stft(inputs, self.sequence_length, self.sequence_stride, self.fft_length, window=window,
                              center=True)
        spectrum = ops.power(ops.sqrt(ops.add(ops.square(real), ops.square(imag))), self.mag_exp)
        matrix = mel_weight_matrix(self.num_mel_bins, self.fft_length // 2 + 1, self.sampling_rate, self.min_freq,
                                   self.max_freq)
        mel = ops.tensordot(spectrum, ops.convert_to_tensor(matrix, compute), axes=1)
        if self.power_to_db:
            mel = self._decibels(mel)
        return ops.cast(ops.swapaxes(mel, -1, -2), self.compute_dtype)

    def _decibels(self, power: Any) -> Any:
        db = ops.multiply(10.0, ops.log10(ops.maximum(power, self.min_power)))
        reference = 10.0 * math.log10(max(abs(self.ref_power), self.min_power))
        db = ops.subtract(db, ops.cast(reference, ops.dtype(db)))
        if self.top_db is None:
            return db
        return ops.maximum(db, ops.subtract(ops.max(db), self.top_db))

    def _frames(self, samples: int | None) -> int | None:
        if samples is None:
            return None
        return 1 + (samples + 2 * (self.fft_length // 2) - self.fft_length) // self.sequence_stride

    def compute_output_shape(self, input_shape: Any) -> tuple:
        input_shape = tuple(input_shape)
        if len(input_shape) == 1:
            return (self.num_mel_bins, self._frames(input_shape[0]))
        if len(input_shape) == 2:
            return (input_shape[0], self.num_mel_bins, self._frames(input_shape[1]))
        raise ValueError(f"{describe_layer(self)}: expected an input shape (batch, samples) or (samples,), "
                         f"received {input_shape}.")

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "fft_length": self.fft_length, "sequence_stride": self.sequence_stride,
                "sequence_length": self.sequence_length, "window": self.window,
                "sampling_rate": self.sampling_rate, "num_mel_bins": self.num_mel_bins, "min_freq": self.min_freq,
                "max_freq": self.max_freq, "power_to_db": self.power_to_db, "top_db": self.top_db,
                "mag_exp": self.mag_exp, "min_power": self.min_power, "ref_power": self.ref_power}
