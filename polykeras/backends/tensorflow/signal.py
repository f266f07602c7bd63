"""TensorFlow engine: the signal kernels (``tf.signal``, ``tf.complex``) and
those of the further ops (``tf.math.erfinv``, ``tf.math.bessel_i0``,
``tf.math.nextafter``, ``tf.bitcast``, ``tf.linalg.eig``, and ``tf.linalg.lu``
with its permutation turned into LAPACK's pivots).

Example:
    >>> real, imag = engine.rfft(signal, fft_length=8)
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from polykeras.backends.tensorflow.core import floating, promote, tensor, tf_dtype

Tensor = Any
Pair = tuple[Any, Any]


def _complex(x: Pair) -> Tensor:
    real = floating(x[0])
    return tf.complex(real, tf.cast(floating(x[1]), real.dtype))


def _parts(z: Tensor) -> Pair:
    return tf.math.real(z), tf.math.imag(z)


def _fit_last(x: Tensor, size: int) -> Tensor:
    """``x`` cropped or zero-padded to ``size`` entries on its last axis."""
    have = int(x.shape[-1])
    if have > size:
        return x[..., :size]
    if have < size:
        return tf.pad(x, [[0, 0]] * (len(x.shape) - 1) + [[0, size - have]])
    return x


def _float_pair(x1: Any, x2: Any) -> tuple[Tensor, Tensor]:
    x1, x2 = promote(x1, x2)
    return floating(x1), floating(x2)


@tf.custom_gradient
def _lu(x: Tensor) -> Any:
    """``tf.linalg.lu`` with the gradient TensorFlow does not register: for
    ``P A = L U``, ``dA = P^T L^-T (tril(L^T dL, -1) + triu(dU U^T)) U^-T``."""
    lu, permutation = tf.linalg.lu(x, output_idx_type=tf.int32)

    def grad(dlu: Tensor, *_: Any) -> Tensor:
        eye = tf.eye(tf.shape(lu)[-1], dtype=lu.dtype)
        lower = tf.linalg.band_part(lu, -1, 0) - tf.linalg.band_part(lu, 0, 0) + eye
        upper = tf.linalg.band_part(lu, 0, -1)
        d_lower = tf.linalg.band_part(dlu, -1, 0) - tf.linalg.band_part(dlu, 0, 0)
        d_upper = tf.linalg.band_part(dlu, 0, -1)
        middle = (tf.linalg.band_part(tf.linalg.matmul(lower, d_lower, adjoint_a=True), -1, 0)
                  - tf.linalg.band_part(tf.linalg.matmul(lower, d_lower, adjoint_a=True), 0, 0)
                  + tf.linalg.band_part(tf.linalg.matmul(d_upper, upper, adjoint_b=True), 0, -1))
        left = tf.linalg.triangular_solve(lower, middle, lower=True, adjoint=True)  # L^-T middle
        both = tf.linalg.triangular_solve(upper, tf.linalg.adjoint(left), lower=False, adjoint=False)
        return tf.gather(tf.linalg.adjoint(both), tf.math.invert_permutation(permutation), batch_dims=len(x.shape) - 2)

    return (lu, permutation), grad


class TensorflowSignal:
    """TensorFlow kernels of ``backends/signal.py`` and ``backends/long_tail.py``."""

    def fft(self, x: Pair) -> Pair:
        return _parts(tf.signal.fft(_complex(x)))

    def fft2(self, x: Pair) -> Pair:
        return _parts(tf.signal.fft2d(_complex(x)))

    def ifft2(self, x: Pair) -> Pair:
        return _parts(tf.signal.ifft2d(_complex(x)))

    def rfft(self, x: Any, fft_length: int | None = None) -> Pair:
        x = floating(x)
        length = int(fft_length if fft_length is not None else x.shape[-1])
        x = _fit_last(x, length)  # tf.signal's own crop/pad has a broken gradient
        return _parts(tf.signal.rfft(x, fft_length=[length]))

    def irfft(self, x: Pair, fft_length: int | None = None) -> Tensor:
        z = _complex(x)
        length = int(fft_length if fft_length is not None else 2 * (z.shape[-1] - 1))
        return tf.signal.irfft(_fit_last(z, length // 2 + 1), fft_length=[length])

    def view_as_complex(self, x: Any) -> Tensor:
        x = floating(x)
        return tf.complex(x[..., 0], x[..., 1])

    def view_as_real(self, x: Any) -> Tensor:
        x = tensor(x)
        return tf.stack([tf.math.real(x), tf.math.imag(x)], axis=-1)

    def erfinv(self, x: Any) -> Tensor:
        return tf.math.erfinv(floating(x))

    def i0(self, x: Any) -> Tensor:
        return tf.math.bessel_i0(floating(x))

    def nextafter(self, x1: Any, x2: Any) -> Tensor:
        return tf.math.nextafter(*_float_pair(x1, x2))

    def view(self, x: Any, dtype: str) -> Tensor:
        x = tensor(x)
        target = tf_dtype(dtype)
        have, want = x.dtype.size, target.size
        shape = list(x.shape)
        if have == want:
            return tf.bitcast(x, target)
        if not shape:
            raise ValueError(f"view: expected a tensor of rank 1 or more to view {x.dtype.name} as {dtype}, "
                             "received a scalar.")
        if have > want:  # tf.bitcast adds an axis of have // want items: fold it into the last
            return tf.reshape(tf.bitcast(x, target), [*shape[:-1], shape[-1] * (have // want)])
        ratio = want // have
        if shape[-1] % ratio:
            raise ValueError(f"view: expected a last axis divisible by {ratio} to view {x.dtype.name} as {dtype}, "
                             f"received shape {tuple(shape)}.")
        return tf.bitcast(tf.reshape(x, [*shape[:-1], shape[-1] // ratio, ratio]), target)

    def eig(self, x: Any) -> tuple[Tensor, Tensor]:
        w, v = tf.linalg.eig(floating(x))
        return w, v

    def lu_factor(self, x: Any) -> tuple[Tensor, Tensor]:
        x = floating(x)
        *batch, m, n = x.shape
        if m != n:
            raise NotImplementedError(f"linalg.lu_factor: the 'tensorflow' engine factors square matrices only "
                                      f"(tf.linalg.lu), received shape {tuple(x.shape)}.")
        lu, permutation = _lu(x)
        # LAPACK's pivots: the row swaps that, applied in order, give the permutation.
        flat = tf.reshape(permutation, [-1, n])
        current = tf.broadcast_to(tf.range(n, dtype=tf.int32), tf.shape(flat))
        columns = tf.range(n, dtype=tf.int32)[None, :]
        pivots = []
        for i in range(n):
            target = flat[:, i:i + 1]
            j = tf.cast(tf.argmax(tf.cast(tf.equal(current, target), tf.int32), axis=1), tf.int32)[:, None]
            pivots.append(j[:, 0])
            here = current[:, i:i + 1]
            current = tf.where(tf.equal(columns, i), target, tf.where(tf.equal(columns, j), here, current))
        return lu, tf.reshape(tf.stack(pivots, axis=-1), tf.shape(permutation))
