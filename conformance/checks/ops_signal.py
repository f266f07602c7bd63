"""Forward and gradient cases of ``keras.ops.math``'s signal family (``fft``,
``fft2``, ``ifft2``, ``rfft``, ``irfft``, ``stft``, ``istft``), the complex
views and ``nn.polar``, ``erfinv``, ``i0``, ``nextafter``, ``view``,
``vectorize``, ``cdist``, ``linalg.eig``, ``linalg.lu_factor`` and
``nn.unfold``/``fold``, each against a float64 NumPy reference written from
the definitions here.

Complex results are compared through their (real, imag) parts; ``eig``
through what does not depend on the engine's order and phase (sorted
eigenvalues, the residual ``|A v - w v|`` and the eigenvectors' lengths);
``nextafter`` through what does not depend on the dtype (the direction of the
step, and that stepping back returns ``x1``).

``CASES`` join :data:`conformance.checks.ops.FORWARD_CASES`; ``GRADIENTS``
and ``NOT_DIFFERENTIABLE`` join :mod:`conformance.checks.ops_gradients`.

Example:
    >>> sorted({case.op for case in CASES})[:3]
    ['cdist', 'erfinv', 'fft']
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import strategies as st

from conformance import strategies as cs
from conformance.checks.base import Profile
from conformance.checks.opcase import Example, OpCase, fixed, unary
from polykeras import ops

__all__ = ["CASES", "GRADIENTS", "NOT_DIFFERENTIABLE", "istft_reference", "lu_reference", "stft_reference",
           "unfold_reference", "fold_reference"]

CASES: list[OpCase] = []
GRADIENTS: dict[str, tuple[Any, Any, Any]] = {}
NOT_DIFFERENTIABLE: dict[str, str] = {
    "nextafter": "a step to the adjacent float: the offset is piecewise constant",
    "view": "a reinterpretation of the bits, not a function of the value",
}

_RNG = np.random.default_rng(23)


# ------------------------------------------------------------- references
def _parts(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.real(z), np.imag(z)


def window_reference(window: Any, sequence_length: int, fft_length: int) -> np.ndarray:
    """The frame window: periodic hann/hamming of ``sequence_length`` centred
    in ``fft_length`` zeros, or ``fft_length`` ones for None."""
    if window is None:
        return np.ones(fft_length)
    n = np.arange(sequence_length)
    a0 = 0.5 if window == "hann" else 0.54
    values = a0 - (1 - a0) * np.cos(2 * np.pi * n / sequence_length)
    left = (fft_length - sequence_length) // 2
    return np.pad(values, (left, fft_length - sequence_length - left))


def stft_reference(x: np.ndarray, sequence_length: int, sequence_stride: int, fft_length: int,
                   window: Any = "hann", center: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The STFT by its definition: windowed frames, each one's DFT."""
    if center:
        x = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(fft_length // 2, fft_length // 2)], mode="reflect")
    frames = 1 + (x.shape[-1] - fft_length) // sequence_stride
    win = window_reference(window, sequence_length, fft_length)
    k = np.arange(fft_length // 2 + 1)
    basis = np.exp(-2j * np.pi * np.outer(np.arange(fft_length), k) / fft_length)
    framed = np.stack([x[..., t * sequence_stride:t * sequence_stride + fft_length] for t in range(frames)], axis=-2)
    return _parts((framed * win) @ basis)


def istft_reference(real: np.ndarray, imag: np.ndarray, sequence_length: int, sequence_stride: int,
                    fft_length: int, length: int | None = None, window: Any = "hann",
                    center: bool = True) -> np.ndarray:
    """Windowed inverse DFTs overlap-added, divided by the overlap-added
    squared window where it exceeds 1e-10; centre padding removed."""
    frames = real.shape[-2]
    win = window_reference(window, sequence_length, fft_length)
    pieces = np.fft.irfft(real + 1j * imag, n=fft_length, axis=-1) * win
    total = fft_length + sequence_stride * (frames - 1)
    out = np.zeros((*real.shape[:-2], total))
    norm = np.zeros(total)
    for t in range(frames):
        out[..., t * sequence_stride:t * sequence_stride + fft_length] += pieces[..., t, :]
        norm[t * sequence_stride:t * sequence_stride + fft_length] += win ** 2
    out = out / np.where(norm > 1e-10, norm, 1.0)
    start = fft_length // 2 if center else 0
    end = start + length if length is not None else (total - start if center else total)
    if end > total:
        out = np.pad(out, [(0, 0)] * (out.ndim - 1) + [(0, end - total)])
    return out[..., start:end]


def lu_reference(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Doolittle LU with partial pivoting (LAPACK's getrf): packed factors, 0-based pivots."""
    lu = np.array(a, np.float64)
    n = lu.shape[-1]
    flat = lu.reshape(-1, n, n)
    pivots = np.zeros((flat.shape[0], n), np.int32)
    for b in range(flat.shape[0]):
        m = flat[b]
        for k in range(n):
            p = k + int(np.argmax(np.abs(m[k:, k])))
            pivots[b, k] = p
            m[[k, p]] = m[[p, k]]
            m[k + 1:, k] /= m[k, k]
            m[k + 1:, k + 1:] -= np.outer(m[k + 1:, k], m[k, k + 1:])
    return flat.reshape(lu.shape), pivots.reshape((*lu.shape[:-2], n))


def unfold_reference(x: np.ndarray, kernel: tuple[int, int], dilation: tuple[int, int], padding: tuple[int, int],
                     stride: tuple[int, int]) -> np.ndarray:
    """im2col by loops: column ``(i * bw + j)`` holds block (i, j), rows ``(c, ki, kj)``."""
    n, c, h, w = x.shape
    xp = np.pad(x, [(0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2])
    bh = (h + 2 * padding[0] - dilation[0] * (kernel[0] - 1) - 1) // stride[0] + 1
    bw = (w + 2 * padding[1] - dilation[1] * (kernel[1] - 1) - 1) // stride[1] + 1
    out = np.zeros((n, c, kernel[0], kernel[1], bh * bw))
    for i in range(bh):
        for j in range(bw):
            for ki in range(kernel[0]):
                for kj in range(kernel[1]):
                    out[:, :, ki, kj, i * bw + j] = xp[:, :, i * stride[0] + ki * dilation[0],
                                                       j * stride[1] + kj * dilation[1]]
    return out.reshape(n, c * kernel[0] * kernel[1], bh * bw)


def fold_reference(cols: np.ndarray, size: tuple[int, int], kernel: tuple[int, int], dilation: tuple[int, int],
                   padding: tuple[int, int], stride: tuple[int, int]) -> np.ndarray:
    """col2im by loops: each block's entries added where unfold read them."""
    n, ckk, _ = cols.shape
    c = ckk // (kernel[0] * kernel[1])
    hp, wp = size[0] + 2 * padding[0], size[1] + 2 * padding[1]
    bh = (hp - dilation[0] * (kernel[0] - 1) - 1) // stride[0] + 1
    bw = (wp - dilation[1] * (kernel[1] - 1) - 1) // stride[1] + 1
    blocks = cols.reshape(n, c, kernel[0], kernel[1], bh * bw)
    out = np.zeros((n, c, hp, wp))
    for i in range(bh):
        for j in range(bw):
            for ki in range(kernel[0]):
                for kj in range(kernel[1]):
                    out[:, :, i * stride[0] + ki * dilation[0], j * stride[1] + kj * dilation[1]] += \
                        blocks[:, :, ki, kj, i * bw + j]
    return out[:, :, padding[0]:padding[0] + size[0], padding[1]:padding[1] + size[1]]


def erfinv_reference(x: np.ndarray) -> np.ndarray:
    """The inverse of ``math.erf`` by bisection to float64 resolution."""
    erf = np.vectorize(math.erf)
    low, high = np.full(x.shape, -6.0), np.full(x.shape, 6.0)
    for _ in range(80):
        middle = (low + high) / 2
        below = erf(middle) < x
        low, high = np.where(below, middle, low), np.where(below, high, middle)
    return (low + high) / 2


def i0_reference(x: np.ndarray) -> np.ndarray:
    """The power series ``sum_k ((x / 2) ** k / k!) ** 2``."""
    term, total = np.ones_like(x), np.ones_like(x)
    for k in range(1, 60):
        term = term * (x / 2) ** 2 / k ** 2
        total = total + term
    return total


# -------------------------------------------------------- forward cases
@st.composite
def _pairs(draw: Any, dtype: str, profile: Profile, min_rank: int = 1) -> Example:
    shape = draw(cs.shapes(min_rank=min_rank, max_rank=3, min_side=1, max_side=min(profile.max_side, 6)))
    return Example((draw(cs.arrays(dtype, shape, min_value=-1.0, max_value=1.0)),
                    draw(cs.arrays(dtype, shape, min_value=-1.0, max_value=1.0))))


def _complex_call(name: str) -> Any:
    return lambda a, b: getattr(ops, name)((a, b))


for _name, _ref, _rank in [("fft", np.fft.fft, 1), ("fft2", np.fft.fft2, 2), ("ifft2", np.fft.ifft2, 2)]:
    CASES.append(OpCase(_name, lambda d, p, _r=_rank: _pairs(d, p, _r), _complex_call(_name),
                        lambda a, b, _f=_ref: _parts(_f(a + 1j * b)), "reduction"))


@st.composite
def _rfft_example(draw: Any, dtype: str, profile: Profile) -> Example:
    shape = draw(cs.shapes(min_rank=1, max_rank=3, min_side=2, max_side=min(profile.max_side, 8)))
    length = draw(st.sampled_from([None, max(shape[-1] - 1, 1), shape[-1] + 3]))
    return Example((draw(cs.arrays(dtype, shape, min_value=-1.0, max_value=1.0)),), {"fft_length": length})


CASES.append(OpCase("rfft", lambda d, p: _rfft_example(d, p), ops.rfft,
                    lambda x, fft_length: _parts(np.fft.rfft(x, n=fft_length)), "reduction"))


@st.composite
def _irfft_example(draw: Any, dtype: str, profile: Profile) -> Example:
    example = draw(_pairs(dtype, profile))
    bins = example.arrays[0].shape[-1] + 1
    return Example(tuple(np.concatenate([a, a[..., :1]], axis=-1) for a in example.arrays),
                   {"fft_length": draw(st.sampled_from([None, 2 * bins - 1, bins]))})


CASES.append(OpCase("irfft", lambda d, p: _irfft_example(d, p), lambda a, b, fft_length: ops.irfft((a, b), fft_length),
                    lambda a, b, fft_length: np.fft.irfft(a + 1j * b, n=fft_length), "reduction"))

_SIGNAL = _RNG.uniform(-1, 1, (2, 21))
for _label, _kwargs in [("stft", {}), ("stft(hamming, center=False)", {"window": "hamming", "center": False}),
                        ("stft(window=None)", {"window": None})]:
    CASES.append(OpCase("stft", fixed(_SIGNAL), lambda x, _k=_kwargs: ops.stft(x, 6, 3, 8, **_k),
                        lambda x, _k=_kwargs: stft_reference(x, 6, 3, 8, **_k), "reduction", label=_label))
_SPECTRUM = stft_reference(_SIGNAL, 6, 3, 8)
for _label, _kwargs in [("istft", {}), ("istft(length=19)", {"length": 19}),
                        ("istft(hamming, center=False)", {"window": "hamming", "center": False})]:
    CASES.append(OpCase("istft", fixed(*_SPECTRUM), lambda a, b, _k=_kwargs: ops.istft((a, b), 6, 3, 8, **_k),
                        lambda a, b, _k=_kwargs: istft_reference(a, b, 6, 3, 8, **_k), "reduction", label=_label))

_PAIRS = _RNG.uniform(-2, 2, (2, 3, 2))
CASES.append(OpCase("view_as_complex", fixed(_PAIRS),
                    lambda x: ops.view_as_real(ops.multiply(ops.view_as_complex(x), ops.view_as_complex(x))),
                    lambda x: np.stack(_parts((x[..., 0] + 1j * x[..., 1]) ** 2), axis=-1), "elementwise"))
CASES.append(OpCase("view_as_real", fixed(_PAIRS), lambda x: ops.view_as_real(ops.view_as_complex(x)),
                    lambda x: x, "elementwise"))
CASES.append(OpCase("polar", fixed(_RNG.uniform(0.1, 2, (2, 3)), _RNG.uniform(-3, 3, (3,))),
                    lambda a, t: ops.view_as_real(ops.polar(a, t)),
                    lambda a, t: np.stack(np.broadcast_arrays(a * np.cos(t), a * np.sin(t)), axis=-1),
                    "transcendental"))

CASES.append(OpCase("erfinv", unary(min_value=-0.99, max_value=0.99), ops.erfinv, erfinv_reference,
                    "transcendental"))
CASES.append(OpCase("i0", unary(min_value=-5.0, max_value=5.0), ops.i0, i0_reference, "transcendental"))


def _nextafter_invariants(x1: Any, x2: Any) -> tuple[Any, Any]:
    step = ops.nextafter(x1, x2)
    return ops.sign(ops.subtract(step, x1)), ops.subtract(ops.nextafter(step, x1), x1)


CASES.append(OpCase("nextafter", fixed(_RNG.uniform(-3, 3, (2, 3)), np.array([-np.inf, 0.5, np.inf])),
                    _nextafter_invariants,
                    lambda a, b: (np.sign(b - a), np.zeros(np.broadcast_shapes(a.shape, b.shape))), "elementwise"))

_BITS = np.array([[1.0, -2.5, 0.0, 3.0e-3], [7.0, 0.5, -1.0, 65504.0]])
CASES += [
    OpCase("view", fixed(_BITS), lambda x: ops.view(x, "int32"), lambda x: x.astype(np.float32).view(np.int32),
           dtypes=("float32",), out="int32"),
    OpCase("view", fixed(_BITS), lambda x: ops.view(x, "int16"), lambda x: x.astype(np.float32).view(np.int16),
           dtypes=("float32",), out="int16", label="view(float32 as int16)"),
    OpCase("view", fixed(_BITS), lambda x: ops.view(ops.view(x, "uint8"), "float32"), lambda x: x,
           dtypes=("float32",), label="view(float32 as uint8 and back)"),
]

CASES += [
    OpCase("vectorize", fixed(_RNG.uniform(-2, 2, (2, 3)), _RNG.uniform(-2, 2, (3,))),
           lambda a, b: ops.vectorize(lambda u, v: ops.add(ops.multiply(u, v), 1.0))(a, b),
           lambda a, b: a * b + 1.0),
    OpCase("vectorize", fixed(_RNG.uniform(-2, 2, (2, 3, 4)), _RNG.uniform(-2, 2, (4,))),
           lambda m, v: ops.vectorize(ops.matmul, signature="(m,n),(n)->(m)")(m, v),
           lambda m, v: m @ v, "matmul", label="vectorize(signature)"),
    OpCase("cdist", fixed(_RNG.uniform(-2, 2, (2, 3, 4)), _RNG.uniform(-2, 2, (5, 4))), ops.cdist,
           lambda x, y: np.sqrt(np.sum((x[..., :, None, :] - y[..., None, :, :]) ** 2, axis=-1)), "reduction"),
]

_S = np.eye(3) + _RNG.uniform(-0.3, 0.3, (2, 3, 3))
_NONSYMMETRIC = _S @ (np.array([3.0, 1.0, -1.5])[:, None] * np.linalg.inv(_S))  # real, distinct eigenvalues


def _eig_invariants(a: Any) -> tuple[Any, Any, Any]:
    w, v = ops.linalg.eig(a)
    w2, v2 = ops.view_as_real(w), ops.view_as_real(v)  # (..., n, 2), (..., n, n, 2)
    wr, wi = w2[..., 0], w2[..., 1]
    vr, vi = v2[..., 0], v2[..., 1]
    a_v_real = ops.subtract(ops.matmul(a, vr), ops.subtract(ops.multiply(vr, ops.expand_dims(wr, -2)),
                                                            ops.multiply(vi, ops.expand_dims(wi, -2))))
    a_v_imag = ops.subtract(ops.matmul(a, vi), ops.add(ops.multiply(vi, ops.expand_dims(wr, -2)),
                                                       ops.multiply(vr, ops.expand_dims(wi, -2))))
    residual = ops.sqrt(ops.sum(ops.add(ops.square(a_v_real), ops.square(a_v_imag)), axis=-2))
    lengths = ops.sqrt(ops.sum(ops.add(ops.square(vr), ops.square(vi)), axis=-2))
    return ops.sort(wr, axis=-1), residual, lengths


CASES += [
    OpCase("linalg.eig", fixed(_NONSYMMETRIC), _eig_invariants,
           lambda a: (np.sort(np.linalg.eigvals(a).real, axis=-1), np.zeros(a.shape[:-1]), np.ones(a.shape[:-1])),
           "linalg"),
    OpCase("linalg.lu_factor", fixed(_RNG.uniform(-2, 2, (2, 4, 4))), ops.linalg.lu_factor, lu_reference, "linalg",
           out=(None, "int32")),
]

_IMAGES = _RNG.uniform(-1, 1, (2, 3, 5, 6))
for _label, _geometry in [("unfold", ((2, 2), (1, 1), (0, 0), (1, 1))),
                          ("unfold(dilation, padding, stride)", ((2, 3), (2, 1), (1, 2), (2, 3)))]:
    _k, _d, _p, _s = _geometry
    CASES.append(OpCase("unfold", fixed(_IMAGES),
                        lambda x, _k=_k, _d=_d, _p=_p, _s=_s: ops.unfold(x, _k, _d, _p, _s),
                        lambda x, _k=_k, _d=_d, _p=_p, _s=_s: unfold_reference(x, _k, _d, _p, _s), label=_label))
    _cols = unfold_reference(_IMAGES, _k, _d, _p, _s)
    CASES.append(OpCase("fold", fixed(_cols), lambda c, _k=_k, _d=_d, _p=_p, _s=_s: ops.fold(c, (5, 6), _k, _d, _p, _s),
                        lambda c, _k=_k, _d=_d, _p=_p, _s=_s: fold_reference(c, (5, 6), _k, _d, _p, _s), "reduction",
                        label=_label.replace("unfold", "fold")))


# -------------------------------------------------------------- gradients
def _u(*shapes: tuple[int, ...], low: float = -1.0, high: float = 1.0) -> Any:
    return lambda rng: [rng.uniform(low, high, s) for s in shapes]


def _real_part(w: Any) -> Any:
    return ops.view_as_real(w)[..., 0]


GRADIENTS.update({
    "fft": (lambda a, b: ops.fft((a, b)), lambda a, b: _parts(np.fft.fft(a + 1j * b)), _u((2, 5), (2, 5))),
    "fft2": (lambda a, b: ops.fft2((a, b)), lambda a, b: _parts(np.fft.fft2(a + 1j * b)), _u((3, 4), (3, 4))),
    "ifft2": (lambda a, b: ops.ifft2((a, b)), lambda a, b: _parts(np.fft.ifft2(a + 1j * b)), _u((3, 4), (3, 4))),
    "rfft": (lambda x: ops.rfft(x, 6), lambda x: _parts(np.fft.rfft(x, 6)), _u((2, 7))),
    # a Hermitian spectrum (real DC and Nyquist terms): the engines' C2R kernels agree on it
    "irfft": (lambda a, b: ops.irfft((a, ops.concatenate([ops.zeros_like(b[..., :1]), b, ops.zeros_like(b[..., :1])],
                                                         axis=-1)), 8),
              lambda a, b: np.fft.irfft(a + 1j * np.concatenate([0 * b[..., :1], b, 0 * b[..., :1]], -1), 8),
              _u((2, 5), (2, 3))),
    "stft": (lambda x: ops.stft(x, 6, 3, 8), lambda x: stft_reference(x, 6, 3, 8), _u((2, 13))),
    "istft": (lambda a, b: ops.istft((a, ops.concatenate([ops.zeros_like(b[..., :1]), b, ops.zeros_like(b[..., :1])],
                                                          axis=-1)), 6, 3, 8),
              lambda a, b: istft_reference(a, np.concatenate([0 * b[..., :1], b, 0 * b[..., :1]], -1), 6, 3, 8),
              _u((4, 5), (4, 3))),
    "view_as_complex": (lambda x: ops.view_as_real(ops.multiply(ops.view_as_complex(x), ops.view_as_complex(x))),
                        lambda x: np.stack(_parts((x[..., 0] + 1j * x[..., 1]) ** 2), axis=-1), _u((3, 2))),
    "view_as_real": (lambda x: ops.multiply(ops.view_as_real(ops.view_as_complex(x)), x), lambda x: x * x,
                     _u((3, 2))),
    "polar": (lambda a, t: ops.view_as_real(ops.polar(a, t)),
              lambda a, t: np.stack([a * np.cos(t), a * np.sin(t)], axis=-1),
              lambda rng: [rng.uniform(0.2, 2, (2, 3)), rng.uniform(-3, 3, (2, 3))]),
    "erfinv": (ops.erfinv, erfinv_reference, _u((2, 3), low=-0.9, high=0.9)),
    "i0": (ops.i0, i0_reference, _u((2, 3), low=-3.0, high=3.0)),
    "vectorize": (lambda a, b: ops.vectorize(lambda u, v: ops.multiply(ops.sin(u), v))(a, b),
                  lambda a, b: np.sin(a) * b, _u((2, 3), (3,))),
    "cdist": (ops.cdist, lambda x, y: np.sqrt(np.sum((x[:, None, :] - y[None, :, :]) ** 2, axis=-1)),
              _u((3, 2), (4, 2), low=-2.0, high=2.0)),
    "linalg.eig": (lambda a: ops.sort(_real_part(ops.linalg.eig(a)[0]), axis=-1),
                   lambda a: np.sort(np.linalg.eigvals(a).real, axis=-1),
                   lambda rng: [np.diag([3.0, 1.0, -1.5]) + rng.uniform(-0.3, 0.3, (3, 3))]),
    "linalg.lu_factor": (lambda a: ops.linalg.lu_factor(a)[0], lambda a: lu_reference(a)[0],
                         lambda rng: [np.array([[0.5, 3.0, 0.2], [4.0, 0.3, -0.1], [0.1, -0.4, 2.5]])
                                      + rng.uniform(-0.2, 0.2, (3, 3))]),
    "unfold": (lambda x: ops.unfold(x, 2, 1, 1, 2), lambda x: unfold_reference(x, (2, 2), (1, 1), (1, 1), (2, 2)),
               _u((1, 2, 4, 3))),
    "fold": (lambda c: ops.fold(c, (4, 3), 2, 1, 1, 2),
             lambda c: fold_reference(c, (4, 3), (2, 2), (1, 1), (1, 1), (2, 2)), _u((1, 8, 6))),
})
