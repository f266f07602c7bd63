"""Protocol entries of ``keras.ops.math``'s signal family: the discrete
Fourier transforms on (real, imaginary) pairs (``fft``, ``fft2``, ``ifft2``,
``rfft``, ``irfft``) and the complex views (``view_as_complex``,
``view_as_real``).

A complex number is a pair of float tensors at this boundary, as in Keras 3:
``fft((real, imag)) -> (real, imag)``. Each built-in engine computes with its
own kernel (``numpy.fft`` / ``jnp.fft``, ``torch.fft``, ``tf.signal``); there is
no portable composite worth having (a DFT by matmul is O(n^2) and loses
digits), so the defaults here refuse by name.

Example:
    >>> real, imag = B.get("numpy").fft((x_real, x_imag))   # along the last axis
"""

from __future__ import annotations

from typing import Any

Tensor = Any
Pair = tuple[Any, Any]

#: The complex dtype holding a float dtype's pairs.
COMPLEX_OF = {"float16": "complex64", "bfloat16": "complex64", "float32": "complex64", "float64": "complex128"}
#: The float dtype of a complex dtype's parts.
FLOAT_OF = {"complex64": "float32", "complex128": "float64"}


class SignalComposites:
    """Defaults of the signal kernels: an engine without one says so."""

    name: str = ""

    def _signal_refuse(self, op: str, what: str) -> NotImplementedError:
        return NotImplementedError(f"{op}: the {self.name!r} engine has no {what} kernel ({op}).")

    def fft(self, x: Pair) -> Pair:
        """Discrete Fourier transform of ``(real, imag)`` along the last axis."""
        raise self._signal_refuse("fft", "Fourier transform")

    def fft2(self, x: Pair) -> Pair:
        """2-D discrete Fourier transform of ``(real, imag)`` over the last two axes."""
        raise self._signal_refuse("fft2", "Fourier transform")

    def ifft2(self, x: Pair) -> Pair:
        """Inverse 2-D discrete Fourier transform over the last two axes (scaled by ``1 / n``)."""
        raise self._signal_refuse("ifft2", "Fourier transform")

    def rfft(self, x: Tensor, fft_length: int | None = None) -> Pair:
        """The ``fft_length // 2 + 1`` non-negative frequencies of a real
        signal's transform along the last axis, cropped or zero-padded to
        ``fft_length`` first."""
        raise self._signal_refuse("rfft", "real Fourier transform")

    def irfft(self, x: Pair, fft_length: int | None = None) -> Tensor:
        """The real signal (length ``fft_length``, default ``2 * (n - 1)``)
        whose ``rfft`` is ``(real, imag)``."""
        raise self._signal_refuse("irfft", "inverse real Fourier transform")

    def view_as_complex(self, x: Tensor) -> Tensor:
        """A complex tensor from a float tensor ``(..., 2)`` of (real, imag) pairs."""
        raise self._signal_refuse("view_as_complex", "complex")

    def view_as_real(self, x: Tensor) -> Tensor:
        """A float tensor ``(..., 2)`` of (real, imag) pairs from a complex tensor."""
        raise self._signal_refuse("view_as_real", "complex")
