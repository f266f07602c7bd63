"""The signal family (``fft``, ``fft2``, ``ifft2``, ``rfft``, ``irfft``,
``stft``, ``istft``), the complex views and ``polar``, ``erfinv``, ``i0``,
``nextafter``, ``view``, ``vectorize``, ``cdist``, ``linalg.eig``,
``linalg.lu_factor`` and ``unfold``/``fold`` on every engine: the conformance
cases of ``conformance/checks/ops_signal.py`` forward, numbers against Keras
3, shape rules on symbolic tensors, the errors, and the refusals of an engine
without a kernel. Gradients run in test_gradients.py."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
from hypothesis import given, settings

from conformance.checks.base import Meter
from conformance.checks.ops import check_example
from conformance.checks.ops_signal import CASES, lu_reference
from conformance.tolerances import assert_close
from polykeras import ops

from ._helpers import numpy, supports, tensor
from tests.layers.helpers import keras_numpy

os.environ.setdefault("KERAS_BACKEND", "numpy")

COVERED = {case.op for case in CASES}
_BY_NAME = {case.name: case for case in CASES}


class _Quick:
    name, examples, max_side, draws = "quick", 4, 4, 1


def _check_examples(case, dtype):
    @settings(max_examples=3)
    @given(example=case.example(dtype, _Quick()))
    def prop(example):
        check_example(case, dtype, example, Meter())
    prop()


@pytest.mark.parametrize("name", sorted(_BY_NAME))
def test_forward_matches_numpy(engine, name):
    case = _BY_NAME[name]
    for dtype in [d for d in case.dtypes if supports(d)]:
        _check_examples(case, dtype)


_RNG = np.random.default_rng(7)
_X = _RNG.uniform(-1, 1, (2, 10)).astype(np.float32)
_Y = _RNG.uniform(-1, 1, (2, 10)).astype(np.float32)
_SQUARE = (np.eye(4) * 3 + _RNG.uniform(-1, 1, (2, 4, 4))).astype(np.float32)
_IMAGES = _RNG.uniform(-1, 1, (2, 3, 5, 6)).astype(np.float32)


def _keras_call(name, *args, **kwargs):
    return keras_numpy(f"ops.{name}", *args, **kwargs)


@pytest.mark.parametrize("name, args, kwargs", [
    ("fft", ((_X, _Y),), {}), ("fft2", ((_X, _Y),), {}), ("ifft2", ((_X, _Y),), {}),
    ("rfft", (_X,), {}), ("rfft", (_X, 7), {}), ("irfft", ((_X, _Y),), {}), ("irfft", ((_X, _Y), 11), {}),
    ("stft", (_X, 4, 2, 6), {}), ("stft", (_X, 4, 3, 4), {"window": "hamming", "center": False}),
    ("stft", (_X, 4, 2, 4), {"window": None}),
    ("erfinv", (np.float32([-0.9, -0.5, 0.0, 0.3, 0.99]),), {}), ("i0", (_X * 3,), {}),
    ("nextafter", (_X, _Y), {}), ("view", (_X,), {"dtype": "int32"}), ("view", (_X,), {"dtype": "int16"}),
    ("cdist", (_X.reshape(2, 5, 2), _Y.reshape(2, 5, 2)), {}), ("linalg.lu_factor", (_SQUARE,), {}),
    ("unfold", (_IMAGES, 2), {}), ("unfold", (_IMAGES, (2, 3)), {"dilation": (2, 1), "padding": 1, "stride": 2}),
])
def test_equal_keras(engine, name, args, kwargs):
    want = _keras_call(name, *args, **kwargs)
    module, _, attr = name.rpartition(".")
    mine = getattr(ops.linalg if module else ops, attr)

    def convert(a):
        if isinstance(a, tuple):
            return tuple(convert(p) for p in a)
        return tensor(a) if isinstance(a, np.ndarray) else a

    got = mine(*[convert(a) for a in args], **kwargs)
    got, want = (list(got), list(want)) if isinstance(got, (tuple, list)) else ([got], [want])
    assert len(got) == len(want)
    for g, w in zip(got, want):
        g = numpy(g)
        assert g.shape == w.shape, f"{name}: shape {g.shape}, Keras {w.shape}"
        if g.dtype.kind in "iu":
            np.testing.assert_array_equal(g, w, err_msg=f"{name} against Keras")
        else:
            assert_close(g, w.astype(np.float64), "reduction", "float32", err_msg=f"{name} against Keras")


def test_istft_inverts_stft_and_matches_keras(engine):
    spectrum = ops.stft(tensor(_X), 4, 2, 6)
    back = ops.istft(spectrum, 4, 2, 6, length=10)
    assert_close(numpy(back), _X.astype(np.float64), "reduction", "float32", err_msg="istft(stft(x))")
    want = _keras_call("istft", tuple(numpy(p) for p in spectrum), 4, 2, 6)
    assert_close(numpy(ops.istft(spectrum, 4, 2, 6)), want.astype(np.float64), "reduction", "float32",
                 err_msg="istft against Keras")


def test_istft_without_a_window_inverts_stft(engine):
    """window=None: frames of ones, and istft still inverts stft (Keras 3's
    NumPy and JAX backends return the signal times fft_length /
    sequence_stride there; its documented contract is the inverse)."""
    spectrum = ops.stft(tensor(_X), 4, 2, 6, window=None)
    back = ops.istft(spectrum, 4, 2, 6, length=10, window=None)
    assert_close(numpy(back), _X.astype(np.float64), "reduction", "float32", err_msg="istft(stft(x), window=None)")


def test_complex_views_and_polar_match_keras(engine):
    pairs = _X.reshape(2, 5, 2)
    z = ops.view_as_complex(tensor(pairs))
    assert ops.dtype(z) == "complex64" and ops.shape(z) == (2, 5)
    np.testing.assert_allclose(numpy(z), keras_numpy("ops.view_as_complex", pairs), rtol=1e-6)
    assert ops.dtype(ops.view_as_real(z)) == "float32"
    np.testing.assert_array_equal(numpy(ops.view_as_real(z)), pairs)
    polar = ops.nn.polar(tensor(np.abs(_X)), tensor(_Y))
    assert ops.dtype(polar) == "complex64"
    np.testing.assert_allclose(numpy(polar), keras_numpy("ops.nn.polar", np.abs(_X), _Y), rtol=1e-5, atol=1e-6)


def test_eig_matches_keras_up_to_order(engine):
    w, v = ops.linalg.eig(tensor(_SQUARE))
    assert (ops.dtype(w), ops.dtype(v)) == ("complex64", "complex64")
    want_w, _ = keras_numpy("ops.linalg.eig", _SQUARE)
    np.testing.assert_allclose(np.sort_complex(numpy(w)), np.sort_complex(want_w.astype(np.complex64)), atol=1e-4)


def test_lu_factor_reconstructs_and_pivots_as_lapack(engine):
    lu, pivots = ops.linalg.lu_factor(tensor(_SQUARE))
    assert ops.dtype(pivots) == "int32"
    want_lu, want_pivots = lu_reference(_SQUARE.astype(np.float64))
    np.testing.assert_array_equal(numpy(pivots), want_pivots)
    assert_close(numpy(lu), want_lu, "linalg", "float32", err_msg="lu_factor")


def test_vectorize_matches_keras_and_numpy(engine):
    add = ops.vectorize(lambda a, b: ops.add(a, b))
    np.testing.assert_array_equal(numpy(add(tensor(np.array([1, 2, 3, 4], np.int32)), 2)), [3, 4, 5, 6])
    scaled = ops.vectorize(lambda a, scale: ops.multiply(a, scale), excluded={1})
    np.testing.assert_allclose(numpy(scaled(tensor(_X), 3.0)), _X * 3, rtol=1e-6)
    pair = ops.vectorize(lambda m: (ops.sum(m), ops.max(m)), signature="(n)->(),()")
    total, top = pair(tensor(_X))
    np.testing.assert_allclose(numpy(total), _X.sum(-1), rtol=1e-5)
    np.testing.assert_allclose(numpy(top), _X.max(-1))


def test_fold_inverts_unfold_where_blocks_do_not_overlap(engine):
    images = tensor(_IMAGES[..., :4, :6])
    cols = ops.unfold(images, kernel_size=2, stride=2)
    assert ops.shape(cols) == (2, 12, 6)
    np.testing.assert_allclose(numpy(ops.fold(cols, (4, 6), 2, stride=2)), _IMAGES[..., :4, :6], rtol=1e-6)
    want = keras_numpy("ops.fold", numpy(cols), (4, 6), 2, stride=2)
    np.testing.assert_allclose(numpy(ops.fold(cols, (4, 6), 2, stride=2)), want, rtol=1e-6)


def test_jvp_is_also_flat_in_ops(engine):
    assert ops.jvp is ops.linalg.jvp
    assert ops.eig is ops.linalg.eig and ops.lu_factor is ops.linalg.lu_factor


# ------------------------------------------------------------ symbolic
@pytest.mark.parametrize("call, shapes", [
    (lambda x: ops.fft((x, x)), [(None, 8), (None, 8)]),
    (lambda x: ops.rfft(x, 6), [(None, 4), (None, 4)]),
    (lambda x: ops.irfft((x, x)), [(None, 14)]),
    (lambda x: ops.stft(x, 4, 2, 6), [(None, 5, 4), (None, 5, 4)]),
    (lambda x: ops.istft(ops.stft(x, 4, 2, 6), 4, 2, 6), [(None, 8)]),
    (lambda x: ops.view_as_real(ops.nn.polar(x, x)), [(None, 8, 2)]),
    (lambda x: ops.erfinv(x), [(None, 8)]),
    (lambda x: ops.view(x, "int16"), [(None, 16)]),
    (lambda x: ops.cdist(ops.reshape(x, (-1, 4, 2)), ops.reshape(x, (-1, 4, 2))), [(None, 4, 4)]),
    (lambda x: ops.unfold(ops.reshape(x, (-1, 2, 2, 2)), 2, padding=1), [(None, 8, 9)]),
    (lambda x: ops.linalg.lu_factor(ops.reshape(x, (-1, 2, 4))), [(None, 2, 4), (None, 2)]),
    (lambda x: ops.linalg.eig(ops.reshape(x, (-1, 2, 2, 2))), [(None, 2, 2), (None, 2, 2, 2)]),
])
def test_symbolic_shapes(engine, call, shapes):
    import polykeras as keras

    x = keras.Input((8,))
    out = call(x)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    assert [tuple(o.shape) for o in outs] == shapes


def test_symbolic_dtypes():
    import polykeras as keras

    x = keras.Input((4, 2))
    assert ops.view_as_complex(x).dtype == "complex64"
    assert ops.linalg.eig(ops.reshape(x, (-1, 2, 2, 2)))[0].dtype == "complex64"
    assert ops.linalg.lu_factor(ops.reshape(x, (-1, 2, 4)))[1].dtype == "int32"
    assert ops.view(x, "int32").dtype == "int32"


# ---------------------------------------------------------------- errors
_F = np.ones((2, 6), np.float32)


@pytest.mark.parametrize("call, words", [
    (lambda: ops.fft(tensor(_F)), "fft: expected a tuple (real, imag)"),
    (lambda: ops.fft((tensor(_F), tensor(_F[:, :3]))), "of one shape"),
    (lambda: ops.fft((tensor(_F.astype(np.int32)), tensor(_F.astype(np.int32)))), "float dtypes"),
    (lambda: ops.fft2((tensor(_F[0]), tensor(_F[0]))), "rank 2 or more"),
    (lambda: ops.rfft(tensor(_F), fft_length=0), "fft_length None or a positive int"),
    (lambda: ops.stft(tensor(_F), 8, 2, 4), "fft_length >= sequence_length"),
    (lambda: ops.stft(tensor(_F), 4, 2, 4, window="kaiser"), "window 'hann', 'hamming'"),
    (lambda: ops.stft(tensor(_F), 4, 2, 4, window=tensor(np.ones(3, np.float32))), "a window of shape (4,)"),
    (lambda: ops.istft((tensor(_F), tensor(_F)), 4, 2, 8), "fft_length // 2 + 1 = 5"),
    (lambda: ops.view_as_complex(tensor(_F)), "view_as_complex: expected a float tensor (..., 2)"),
    (lambda: ops.view_as_real(tensor(_F)), "view_as_real: expected a complex tensor"),
    (lambda: ops.view(tensor(np.ones((3,), np.int8)), "int32"), "view: expected a last axis"),
    (lambda: ops.cdist(tensor(_F), tensor(np.ones((2, 3), np.float32))), "cdist: expected x (..., m, d)"),
    (lambda: ops.linalg.eig(tensor(_F)), "eig: expected square matrices"),
    (lambda: ops.linalg.lu_factor(tensor(_F[0])), "lu_factor: expected matrices"),
    (lambda: ops.unfold(tensor(_F), 2), "unfold: expected a 4-D tensor"),
    (lambda: ops.unfold(tensor(_IMAGES), (2, 2, 2)), "an int or a pair of ints for kernel_size"),
    (lambda: ops.fold(tensor(np.ones((1, 8, 5), np.float32)), (4, 4), 2, stride=2), "L = 4 blocks"),
    (lambda: ops.vectorize(lambda a: a, signature="(n)"), "vectorize: expected a signature"),
    (lambda: ops.vectorize(3), "vectorize: expected a callable"),
])
def test_bad_inputs_name_the_op(engine, call, words):
    with pytest.raises((ValueError, TypeError), match=re.escape(words)):
        call()


# ------------------------------------------------------- missing kernels
def test_an_engine_without_kernels_refuses_by_name(engine):
    from polykeras.backends.long_tail import LongTailComposites
    from polykeras.backends.signal import SignalComposites

    class Bare(SignalComposites, LongTailComposites):
        name = "bare"

    bare = Bare()
    x = tensor(_F)
    for method, args in [("fft", ((x, x),)), ("fft2", ((x, x),)), ("ifft2", ((x, x),)), ("rfft", (x,)),
                         ("irfft", ((x, x),)), ("view_as_complex", (x,)), ("view_as_real", (x,)), ("i0", (x,)),
                         ("nextafter", (x, x)), ("view", (x, "int32")), ("eig", (x,)), ("lu_factor", (x,))]:
        with pytest.raises(NotImplementedError, match=rf"{method}: the 'bare' engine"):
            getattr(bare, method)(*args)


def test_tensorflow_lu_factor_of_a_non_square_matrix_is_refused_by_name(engine):
    """tf.linalg.lu factors square matrices only; the other engines factor any."""
    wide = tensor(_RNG.uniform(-1, 1, (3, 5)).astype(np.float32))
    if engine.name == "tensorflow":
        with pytest.raises(NotImplementedError, match="lu_factor: the 'tensorflow' engine factors square"):
            ops.linalg.lu_factor(wide)
        return
    lu, pivots = ops.linalg.lu_factor(wide)
    assert ops.shape(lu) == (3, 5) and ops.shape(pivots) == (3,)


def test_portable_definitions_match_the_engine_kernels(engine):
    """erfinv, vectorize, unfold and fold have portable definitions (the
    NumPy engine runs them); each engine's own kernel gives their numbers."""
    from polykeras.backends.long_tail import LongTailComposites

    portable = LongTailComposites
    x = tensor(np.float32([-0.999, -0.5, 0.0, 0.25, 0.9]))
    assert_close(numpy(portable.erfinv(engine, x)), numpy(ops.erfinv(x)).astype(np.float64), "transcendental",
                 "float32", err_msg="erfinv")
    images = tensor(_IMAGES)
    cols = portable.unfold(engine, images, (2, 3), (2, 1), (1, 0), (2, 1))
    assert_close(numpy(cols), numpy(ops.unfold(images, (2, 3), (2, 1), (1, 0), (2, 1))).astype(np.float64),
                 "elementwise", "float32", err_msg="unfold")
    back = portable.fold(engine, cols, (5, 6), (2, 3), (2, 1), (1, 0), (2, 1))
    assert_close(numpy(back), numpy(ops.fold(cols, (5, 6), (2, 3), (2, 1), (1, 0), (2, 1))).astype(np.float64),
                 "reduction", "float32", err_msg="fold")
    mapped = portable.vectorize(engine, lambda m, v: ops.matmul(m, v), signature="(m,n),(n)->(m)")
    assert_close(numpy(mapped(tensor(_SQUARE), tensor(_X[:, :4]))),
                 np.einsum("bij,bj->bi", _SQUARE.astype(np.float64), _X[:, :4].astype(np.float64)), "matmul",
                 "float32", err_msg="vectorize")


def test_real_imag_conj_angle_of_complex_tensors(engine):
    """Complex tensors (from view_as_complex, polar, eig) take the NumPy
    family's real/imag/conj/angle, as Keras 3's ops."""
    pairs = _X.reshape(2, 5, 2)
    z = ops.view_as_complex(tensor(pairs))
    want = pairs[..., 0] + 1j * pairs[..., 1]
    np.testing.assert_array_equal(numpy(ops.real(z)), want.real)
    np.testing.assert_array_equal(numpy(ops.imag(z)), want.imag)
    np.testing.assert_array_equal(numpy(ops.conj(z)), np.conj(want))
    assert_close(numpy(ops.angle(z)), np.angle(want.astype(np.complex128)), "transcendental", "float32",
                 err_msg="angle")
    assert ops.dtype(ops.real(z)) == "float32" and ops.dtype(ops.conj(z)) == "complex64"
    mixed = ops.view_as_complex(tensor(np.float32([[1.0, 0.0], [2.0, 0.5]])))
    np.testing.assert_array_equal(numpy(ops.isreal(mixed)), [True, False])


@pytest.mark.parametrize("call, shapes", [
    (lambda t: ops.stft(t, 4, 2, 6), [(None, 9, 4), (None, 9, 4)]),
    (lambda t: ops.istft(ops.stft(t, 4, 2, 6), 4, 2, 6), [(None, 16)]),
    (lambda t: ops.irfft((t, t)), [(None, 30)]),
    (lambda t: ops.linalg.lu_factor(ops.reshape(t, (-1, 4, 4))), [(None, 4, 4), (None, 4)]),
    (lambda t: ops.real(ops.linalg.eig(ops.reshape(t, (-1, 4, 4)))[0]), [(None, 4)]),
    (lambda t: ops.fold(ops.unfold(ops.reshape(t, (-1, 1, 4, 4)), 2), (4, 4), 2), [(None, 1, 4, 4)]),
    (lambda t: ops.view(ops.i0(t), "int16"), [(None, 32)]),
])
def test_traced_inside_a_layer(engine, call, shapes):
    """A layer calling the ops is traced by the engine's abstract evaluation
    (the NumPy engine's shape-only arrays included): shapes without values."""
    import polykeras as keras

    out = keras.layers.Lambda(call)(keras.Input((16,)))
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    assert [tuple(o.shape) for o in outs] == shapes
