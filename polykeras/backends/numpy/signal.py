"""NumPy engine (and, through ``xp``, the JAX engine): the kernels of the
signal family and of the further ops: ``xp.fft``, complex views, ``i0``,
``nextafter``, ``ndarray.view``, ``xp.linalg.eig`` and an LU factorisation
with partial pivoting (the NumPy engine has no SciPy; JAX overrides it with
``jax.scipy.linalg.lu_factor``).

On the shape-only arrays of the engine's abstract evaluation
(``numpy/abstract.py``) each kernel answers with its result's shapes and
dtypes, computing nothing.

Example:
    >>> real, imag = engine.rfft(engine.convert_to_tensor([0.0, 1.0, 2.0, 3.0]))
"""

from __future__ import annotations

from typing import Any

import numpy as np

from polykeras.backends.numpy.abstract import ShapedArray, abstract_like
from polykeras.backends.signal import COMPLEX_OF, FLOAT_OF

Tensor = Any
Pair = tuple[Any, Any]


def _shaped(shape: Any, dtype: Any) -> ShapedArray:
    return ShapedArray(tuple(shape), dtype)


class NumpySignalKernels:
    """Array-module kernels of ``backends/signal.py`` and ``backends/long_tail.py``."""

    xp: Any

    def _abstract_pair(self, x: Pair, shape: Any = None) -> Pair | None:
        """For shape-only operands: the (real, imag) result of ``x``'s (or ``shape``) shape."""
        if not abstract_like(x):
            return None
        real = x[0]
        return _shaped(shape or real.shape, real.dtype), _shaped(shape or real.shape, real.dtype)

    def _complex_of(self, x: Pair) -> Tensor:
        real, imag = (self._tensor(p) for p in x)  # type: ignore[attr-defined]
        dtype = self._native_dtype(COMPLEX_OF[self._dtype_name(real.dtype)])  # type: ignore[attr-defined]
        return real.astype(dtype) + imag.astype(dtype) * self.xp.asarray(1j, dtype)

    def _parts(self, z: Tensor, dtype: Any) -> Pair:
        return self.xp.real(z).astype(dtype), self.xp.imag(z).astype(dtype)

    def fft(self, x: Pair) -> Pair:
        shaped = self._abstract_pair(x)
        if shaped is not None:
            return shaped
        return self._parts(self.xp.fft.fft(self._complex_of(x)), self._tensor(x[0]).dtype)  # type: ignore[attr-defined]

    def fft2(self, x: Pair) -> Pair:
        shaped = self._abstract_pair(x)
        if shaped is not None:
            return shaped
        return self._parts(self.xp.fft.fft2(self._complex_of(x)), self._tensor(x[0]).dtype)  # type: ignore[attr-defined]

    def ifft2(self, x: Pair) -> Pair:
        shaped = self._abstract_pair(x)
        if shaped is not None:
            return shaped
        return self._parts(self.xp.fft.ifft2(self._complex_of(x)), self._tensor(x[0]).dtype)  # type: ignore[attr-defined]

    def rfft(self, x: Tensor, fft_length: int | None = None) -> Pair:
        if abstract_like(x):
            bins = (fft_length if fft_length is not None else x.shape[-1]) // 2 + 1
            return self._abstract_pair((x, x), (*x.shape[:-1], bins))  # type: ignore[return-value]
        x = self._tensor(x)  # type: ignore[attr-defined]
        return self._parts(self.xp.fft.rfft(x, n=fft_length, axis=-1), x.dtype)

    def irfft(self, x: Pair, fft_length: int | None = None) -> Tensor:
        if abstract_like(x):
            n = fft_length if fft_length is not None else 2 * (x[0].shape[-1] - 1)
            return _shaped((*x[0].shape[:-1], n), x[0].dtype)
        dtype = self._tensor(x[0]).dtype  # type: ignore[attr-defined]
        return self.xp.fft.irfft(self._complex_of(x), n=fft_length, axis=-1).astype(dtype)

    def view_as_complex(self, x: Tensor) -> Tensor:
        if abstract_like(x):
            return _shaped(x.shape[:-1], self._native_dtype(COMPLEX_OF[self._dtype_name(x.dtype)]))  # type: ignore[attr-defined]
        x = self._tensor(x)  # type: ignore[attr-defined]
        return self._complex_of((x[..., 0], x[..., 1]))

    def view_as_real(self, x: Tensor) -> Tensor:
        if abstract_like(x):
            return _shaped((*x.shape, 2), self._native_dtype(FLOAT_OF[self._dtype_name(x.dtype)]))  # type: ignore[attr-defined]
        x = self._tensor(x)  # type: ignore[attr-defined]
        dtype = self._native_dtype(FLOAT_OF[self._dtype_name(x.dtype)])  # type: ignore[attr-defined]
        return self.xp.stack([self.xp.real(x).astype(dtype), self.xp.imag(x).astype(dtype)], axis=-1)

    def i0(self, x: Tensor) -> Tensor:
        if abstract_like(x):
            return x if x.dtype.kind == "f" else _shaped(x.shape, np.float32)
        return self._float_op(self.xp.i0, x)  # type: ignore[attr-defined]

    def nextafter(self, x1: Tensor, x2: Tensor) -> Tensor:
        return self._float_binary(self.xp.nextafter, x1, x2)  # type: ignore[attr-defined]

    def view(self, x: Tensor, dtype: str) -> Tensor:
        if abstract_like(x):
            target = np.dtype(self._native_dtype(dtype))  # type: ignore[attr-defined]
            last = x.shape[-1] * x.dtype.itemsize // target.itemsize if x.shape else 0
            return _shaped((*x.shape[:-1], last) if x.shape else (), target)
        return self._tensor(x).view(self._native_dtype(dtype))  # type: ignore[attr-defined]

    def eig(self, x: Tensor) -> tuple[Tensor, Tensor]:
        if abstract_like(x):
            dtype = self._native_dtype(COMPLEX_OF[self._dtype_name(x.dtype) if x.dtype.kind == "f" else "float32"])  # type: ignore[attr-defined]
            return _shaped(x.shape[:-1], dtype), _shaped(x.shape, dtype)
        x = self._floating(x)  # type: ignore[attr-defined]
        w, v = self.xp.linalg.eig(x)
        dtype = self._native_dtype(COMPLEX_OF[self._dtype_name(x.dtype)])  # type: ignore[attr-defined]
        return w.astype(dtype), v.astype(dtype)  # NumPy gives real results when every eigenvalue is real

    def lu_factor(self, x: Tensor) -> tuple[Tensor, Tensor]:
        if abstract_like(x):
            dtype = x.dtype if x.dtype.kind == "f" else np.float32
            return _shaped(x.shape, dtype), _shaped((*x.shape[:-2], min(x.shape[-2:])), np.int32)
        x = np.asarray(self._floating(x))  # type: ignore[attr-defined]
        *batch, m, n = x.shape
        lu = x.reshape(-1, m, n).copy()
        steps = min(m, n)
        pivots = np.zeros((lu.shape[0], steps), np.int32)
        every = np.arange(lu.shape[0])
        for k in range(steps):
            p = k + np.argmax(np.abs(lu[:, k:, k]), axis=1)
            pivots[:, k] = p
            row = lu[every, k].copy()
            lu[every, k] = lu[every, p]
            lu[every, p] = row
            pivot = lu[:, k, k][:, None]
            lu[:, k + 1:, k] = np.where(pivot == 0, lu[:, k + 1:, k], lu[:, k + 1:, k] / np.where(pivot == 0, 1, pivot))
            lu[:, k + 1:, k + 1:] -= lu[:, k + 1:, k:k + 1] * lu[:, k:k + 1, k + 1:]
        return lu.reshape(x.shape), pivots.reshape((*batch, steps))
