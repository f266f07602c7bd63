"""PyTorch engine: the signal kernels (``torch.fft``, ``torch.complex``,
``torch.view_as_real``) and those of the further ops (``torch.erfinv``,
``torch.special.i0``, ``torch.nextafter``, ``Tensor.view(dtype)``,
``torch.linalg.eig`` / ``lu_factor``, ``torch.nn.functional.unfold`` / ``fold``).

Example:
    >>> real, imag = engine.fft((real_part, imag_part))
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from polykeras.backends.torch.core import floating, pair, to_tensor, torch_dtype

T = torch.Tensor
Pair = tuple[Any, Any]
Pair2 = tuple[int, int]


def _complex(x: Pair) -> T:
    real, imag = floating(x[0]), floating(x[1])
    return torch.complex(real, imag.to(real.dtype))


def _parts(z: T) -> tuple[T, T]:
    return z.real, z.imag


class TorchSignal:
    """torch kernels of ``backends/signal.py`` and ``backends/long_tail.py``."""

    def fft(self, x: Pair) -> Pair:
        return _parts(torch.fft.fft(_complex(x)))

    def fft2(self, x: Pair) -> Pair:
        return _parts(torch.fft.fft2(_complex(x)))

    def ifft2(self, x: Pair) -> Pair:
        return _parts(torch.fft.ifft2(_complex(x)))

    def rfft(self, x: Any, fft_length: int | None = None) -> Pair:
        return _parts(torch.fft.rfft(floating(x), n=fft_length, dim=-1))

    def irfft(self, x: Pair, fft_length: int | None = None) -> T:
        return torch.fft.irfft(_complex(x), n=fft_length, dim=-1)

    def view_as_complex(self, x: Any) -> T:
        x = floating(x)
        return torch.complex(x[..., 0], x[..., 1])

    def view_as_real(self, x: Any) -> T:
        return torch.view_as_real(to_tensor(x))

    def erfinv(self, x: Any) -> T:
        return torch.erfinv(floating(x))

    def i0(self, x: Any) -> T:
        return torch.special.i0(floating(x))

    def nextafter(self, x1: Any, x2: Any) -> T:
        x1, x2 = pair(x1, x2, scalars=False)
        x1, x2 = floating(x1), floating(x2)
        common = torch.promote_types(x1.dtype, x2.dtype)
        return torch.nextafter(x1.to(common), x2.to(common))

    def view(self, x: Any, dtype: str) -> T:
        return to_tensor(x).view(torch_dtype(dtype))

    def eig(self, x: Any) -> tuple[T, T]:
        w, v = torch.linalg.eig(floating(x))
        return w, v

    def lu_factor(self, x: Any) -> tuple[T, T]:
        lu, pivots = torch.linalg.lu_factor(floating(x))
        return lu, (pivots - 1).to(torch.int32)  # torch counts rows from 1, LAPACK-style

    def unfold(self, x: Any, kernel_size: Pair2, dilation: Pair2, padding: Pair2, stride: Pair2) -> T:
        return F.unfold(to_tensor(x), kernel_size, dilation=dilation, padding=padding, stride=stride)

    def fold(self, x: Any, output_size: Pair2, kernel_size: Pair2, dilation: Pair2, padding: Pair2,
             stride: Pair2) -> T:
        return F.fold(to_tensor(x), output_size, kernel_size, dilation=dilation, padding=padding, stride=stride)
