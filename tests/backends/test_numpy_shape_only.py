"""The NumPy engine's shape-only arrays (``polykeras.backends.numpy.abstract``)
answer what NumPy answers on real arrays: the same shape and dtype for every
NumPy function and ufunc the engine uses, whatever the sizes, and NumPy's
own errors; what needs values says so."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from polykeras.backends.numpy.abstract import AbstractValueError, ShapedArray

F32, I32, B = "float32", "int32", "bool"

#: (id, function of arrays, argument (shape, dtype) pairs)
CASES: list[tuple[str, Callable[..., Any], list[tuple[tuple[int, ...], str]]]] = [
    ("add-broadcast", np.add, [((3, 1, 4), F32), ((5, 1), F32)]),
    ("add-weak-float", lambda x: x + 2.5, [((3, 4), I32)]),
    ("add-weak-int", lambda x: x * 3, [((3, 4), "int8")]),
    ("promote", lambda x, y: x - y, [((3,), I32), ((3,), F32)]),
    ("compare", lambda x, y: x >= y, [((2, 3), F32), ((3,), F32)]),
    ("divmod", np.divmod, [((4,), I32), ((4,), I32)]),
    ("unary", lambda x: np.exp(-np.abs(x)), [((2, 5), "float64")]),
    ("where-ufunc", lambda x: np.add(x, 1, where=x > 0, out=np.zeros((2, 3), "float32")), [((2, 3), F32)]),
    ("matmul", np.matmul, [((2, 1, 3, 4), F32), ((5, 4, 6), F32)]),
    ("matmul-vec", lambda x, y: x @ y, [((4,), F32), ((3, 4, 2), F32)]),
    ("matvec", lambda x, y: x @ y, [((3, 4), F32), ((4,), I32)]),
    ("dot", np.dot, [((2, 3, 4), F32), ((5, 4, 6), F32)]),
    ("dot-1d", np.dot, [((2, 3), F32), ((3,), F32)]),
    ("tensordot", lambda x, y: np.tensordot(x, y, axes=([1, 2], [0, 1])), [((2, 3, 4), F32), ((3, 4, 5), F32)]),
    ("einsum", lambda x, y: np.einsum("...gc,cgf->...gf", x, y), [((2, 5, 3, 4), F32), ((4, 3, 7), F32)]),
    ("einsum-implicit", lambda x, y: np.einsum("ij,jk", x, y), [((2, 3), F32), ((3, 4), F32)]),
    ("sum", lambda x: np.sum(x, axis=(0, 2), keepdims=True), [((2, 3, 4), I32)]),
    ("mean", lambda x: x.mean(axis=-1), [((2, 3), I32)]),
    ("max", lambda x: np.max(x), [((2, 3), F32)]),
    ("argmax", lambda x: np.argmax(x, axis=1), [((2, 3, 4), F32)]),
    ("any", lambda x: np.any(x, axis=0), [((2, 3), B)]),
    ("reduce", lambda x: np.add.reduce(x, axis=1), [((2, 3, 4), "int8")]),
    ("accumulate", lambda x: np.maximum.accumulate(x, axis=0), [((3, 2), F32)]),
    ("cumsum-flat", np.cumsum, [((3, 2), I32)]),
    ("argsort", lambda x: np.argsort(x, axis=0, kind="stable"), [((3, 2), F32)]),
    ("sort", lambda x: np.sort(x), [((3, 2), I32)]),
    ("reshape", lambda x: x.reshape(-1, 6), [((2, 3, 4), F32)]),
    ("transpose", lambda x: np.transpose(x, (2, 0, 1)), [((2, 3, 4), F32)]),
    ("T", lambda x: x.T, [((2, 3, 4), F32)]),
    ("moveaxis", lambda x: np.moveaxis(x, 0, -1), [((2, 3, 4), F32)]),
    ("squeeze", lambda x: np.squeeze(np.expand_dims(x, 1), axis=1), [((2, 3), F32)]),
    ("split", lambda x: np.split(x, [1, 3], axis=1), [((2, 5), F32)]),
    ("concatenate", lambda x, y: np.concatenate([x, y], axis=1), [((2, 3), F32), ((2, 4), I32)]),
    ("concatenate-flat", lambda x, y: np.concatenate([x, y], axis=None), [((2, 3), F32), ((4,), F32)]),
    ("stack", lambda x, y: np.stack([x, y], axis=-1), [((2, 3), F32), ((2, 3), F32)]),
    ("tile", lambda x: np.tile(x, (2, 1, 3)), [((4, 5), F32)]),
    ("repeat", lambda x: np.repeat(x, 3, axis=1), [((2, 4), F32)]),
    ("repeat-counts", lambda x: np.repeat(x, [1, 0, 2]), [((3,), F32)]),
    ("pad", lambda x: np.pad(x, [(1, 2), (0, 3)]), [((2, 4), F32)]),
    ("pad-all", lambda x: np.pad(x, 2, mode="reflect"), [((3, 4), F32)]),
    ("flip", lambda x: np.flip(x, axis=0), [((2, 3), F32)]),
    ("broadcast_to", lambda x: np.broadcast_to(x, (5, 2, 3)), [((1, 3), F32)]),
    ("take", lambda x, i: np.take(x, i, axis=1), [((2, 5, 3), F32), ((4, 2), I32)]),
    ("take_along_axis", lambda x, i: np.take_along_axis(x, i, axis=1), [((2, 5, 3), F32), ((1, 4, 3), I32)]),
    ("getitem-basic", lambda x: x[None, 1:, ..., ::2], [((3, 4, 5), F32)]),
    ("getitem-int", lambda x: x[:, 2], [((3, 4, 5), F32)]),
    ("getitem-fancy", lambda x, i: x[:, i, 1], [((3, 4, 5), F32), ((2, 6), I32)]),
    ("where", np.where, [((2, 1), B), ((3,), F32), ((), I32)]),
    ("clip", lambda x: np.clip(x, 0, 1.5), [((2, 3), I32)]),
    ("round", lambda x: np.round(x, 2), [((2, 3), F32)]),
    ("tril", lambda x: np.tril(x, -1), [((2, 4, 4), F32)]),
    ("zeros_like", lambda x: np.zeros_like(x, dtype="int8"), [((2, 3), F32)]),
    ("full_like", lambda x: np.full_like(x, 3), [((2, 3), F32)]),
    ("astype", lambda x: x.astype("float16"), [((2, 3), I32)]),
    ("result_type", lambda x, y: np.result_type(x, y), [((2,), "int8"), ((3,), "uint8")]),
    ("inv", np.linalg.inv, [((2, 3, 3), F32)]),
    ("det", np.linalg.det, [((2, 3, 3), "float64")]),
    ("solve", np.linalg.solve, [((2, 3, 3), F32), ((2, 3, 2), F32)]),
    ("eigh", np.linalg.eigh, [((2, 3, 3), F32)]),
    ("eig", np.linalg.eig, [((3, 3), "float64")]),
    ("svd", np.linalg.svd, [((2, 5, 3), F32)]),
    ("svd-reduced", lambda x: np.linalg.svd(x, full_matrices=False), [((3, 5), F32)]),
    ("svd-values", lambda x: np.linalg.svd(x, compute_uv=False), [((3, 5), F32)]),
    ("qr", np.linalg.qr, [((2, 5, 3), F32)]),
    ("qr-complete", lambda x: np.linalg.qr(x, mode="complete"), [((5, 3), F32)]),
    ("fft", lambda x: np.fft.fft(x, axis=0), [((4, 3), "complex64")]),
    ("rfft", lambda x: np.fft.rfft(x, n=7), [((4, 6), F32)]),
    ("irfft", np.fft.irfft, [((4, 6), "complex64")]),
    ("fft2", np.fft.fft2, [((2, 4, 6), "complex128")]),
]


def _real(shape: tuple[int, ...], dtype: str, rng: np.random.Generator) -> np.ndarray:
    if dtype == B:
        return rng.random(shape) > 0.5
    if np.dtype(dtype).kind in "iu":
        return rng.integers(0, 2, shape).astype(dtype)
    return (rng.random(shape) + np.eye(*shape[-2:]) * 3 if len(shape) >= 2 else rng.random(shape)).astype(dtype)


def _described(value: Any) -> Any:
    if isinstance(value, (list, tuple)):  # NumPy's named result tuples too
        return [_described(v) for v in value]
    if isinstance(value, np.dtype):
        return value
    return (tuple(np.shape(value)), np.dtype(value.dtype))


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_shapes_and_dtypes_are_numpys(case):
    _, fn, arguments = case
    rng = np.random.default_rng(0)
    with np.errstate(all="ignore"):
        expected = _described(fn(*[_real(shape, dtype, rng) for shape, dtype in arguments]))
    abstract = fn(*[ShapedArray(shape, dtype) for shape, dtype in arguments])
    assert _described(abstract) == expected
    mixed = fn(*[ShapedArray(s, d) if i == 0 else _real(s, d, rng) for i, (s, d) in enumerate(arguments)])
    assert _described(mixed) == expected


def test_no_memory_and_no_kernel_whatever_the_sizes():
    big = 2 ** 30  # a real (big, big) float32 array would take four exabytes
    x = ShapedArray((big, big), "float32")
    y = np.concatenate([np.tanh(x @ x.T), x], axis=0)[:, :10].sum(axis=0)
    assert (y.shape, y.dtype) == ((10,), np.dtype("float32"))
    assert np.pad(np.tile(x, (2, 1)), 1).shape == (2 * big + 2, big + 2)


def test_numpys_errors_stay_numpys():
    with pytest.raises(ValueError, match="broadcast"):
        ShapedArray((2, 3), "float32") + ShapedArray((4,), "float32")
    with pytest.raises(ValueError, match="matmul"):
        ShapedArray((2, 3), "float32") @ np.ones((4, 2), "float32")
    with pytest.raises(ValueError, match="reshape"):
        np.reshape(ShapedArray((2, 3), "float32"), (4, -1))
    with pytest.raises(IndexError):
        ShapedArray((2, 3), "float32")[:, 5]
    with pytest.raises(ValueError, match="concatenation axis"):
        np.concatenate([ShapedArray((2, 3), "float32"), ShapedArray((3, 3), "float32")], axis=1)


def test_values_are_refused_with_the_reason():
    x = ShapedArray((2, 3), "float32")
    for needs_values in (lambda: bool(x.sum() > 0), lambda: int(x[0, 0]), lambda: np.asarray(x),
                         lambda: x[x > 0], lambda: np.where(x > 0), lambda: x.tolist()):
        with pytest.raises(AbstractValueError, match="shape-only evaluation"):
            needs_values()


def test_a_numpy_function_without_a_rule_is_named():
    with pytest.raises(NotImplementedError, match=r"numpy\.unique has no shape rule"):
        np.unique(ShapedArray((3,), "int32"))


def test_the_engine_evaluates_control_flow_on_abstract_predicates():
    from polykeras import backends, ops
    from polykeras.backends.base import Spec

    def fn(xs):
        x = xs[0]
        return [ops.cond(ops.sum(x) > 0, lambda: x * 2, lambda: x - 1),
                ops.switch(ops.cast(ops.sum(x), "int32"), [lambda y: y + 1, lambda y: y * 3], x),
                ops.while_loop(lambda v: ops.sum(v) < 10, lambda v: v * 2, x),
                ops.fori_loop(0, ops.cast(ops.sum(x), "int32"), lambda i, v: v + ops.cast(i, "float32"), x)]

    engine = backends.get("numpy")
    with backends.use("numpy"):
        assert engine.compute_output_spec(fn, [Spec((3, 4), "float32")]) == [Spec((3, 4), "float32")] * 4
        with pytest.raises(ValueError, match="cond.*same shapes and dtypes"):
            engine.compute_output_spec(
                lambda xs: [ops.cond(ops.sum(xs[0]) > 0, lambda: xs[0], lambda: xs[0][:1])], [Spec((3, 4), "float32")])
