"""Contractions (matmul, dot, tensordot, einsum) as properties, and
``ops.linalg`` on well-conditioned batched matrices, on every engine."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance import strategies as cs
from conformance.tolerances import assert_close
from polykeras import ops

from ._helpers import check, f64, need, numpy, tensor

COVERED = {"matmul", "dot", "tensordot", "einsum",
           "linalg.inv", "linalg.solve", "linalg.cholesky", "linalg.qr", "linalg.svd", "linalg.det"}

FLOATS = ["float32", "float64"]


@pytest.mark.parametrize("dtype", FLOATS)
def test_matmul(engine, dtype):
    need(dtype)

    @given(data=st.data(), shapes=cs.matmul_shapes())
    def prop(data, shapes):
        a = data.draw(cs.arrays(dtype, shapes[0], min_value=-2, max_value=2))
        b = data.draw(cs.arrays(dtype, shapes[1], min_value=-2, max_value=2))
        check(ops.matmul(tensor(a), tensor(b)), np.matmul(f64(a), f64(b)), "matmul", dtype, what=f"matmul{shapes}")

    prop()


def test_matmul_int32(engine):
    a = np.arange(6, dtype=np.int32).reshape(2, 3)
    b = np.arange(12, dtype=np.int32).reshape(3, 4) - 5
    check(ops.matmul(tensor(a), tensor(b)), a @ b, "matmul", "int32", what="matmul int32")


@st.composite
def _dot_shapes(draw):
    a = draw(cs.shapes(max_rank=3))
    b = list(draw(cs.shapes(max_rank=3)))
    if a and b:
        b[-2 if len(b) >= 2 else -1] = a[-1]
    return a, tuple(b)


@pytest.mark.parametrize("dtype", FLOATS)
def test_dot(engine, dtype):
    need(dtype)

    @given(data=st.data(), shapes=_dot_shapes())
    def prop(data, shapes):
        a = data.draw(cs.arrays(dtype, shapes[0], min_value=-2, max_value=2))
        b = data.draw(cs.arrays(dtype, shapes[1], min_value=-2, max_value=2))
        check(ops.dot(tensor(a), tensor(b)), np.dot(f64(a), f64(b)), "matmul", dtype, what=f"dot{shapes}")

    prop()


@st.composite
def _tensordot_case(draw):
    a = draw(cs.shapes(min_rank=1, max_rank=3))
    count = draw(st.integers(0, len(a)))
    a_axes = draw(st.permutations(range(len(a))))[:count]
    extra = draw(cs.shapes(max_rank=3 - count))
    b_rank = count + len(extra)
    b_axes = draw(st.permutations(range(b_rank)))[:count]
    b = [0] * b_rank
    for ax_a, ax_b in zip(a_axes, b_axes):
        b[ax_b] = a[ax_a]
    rest = iter(extra)
    b = tuple(next(rest) if i not in b_axes else b[i] for i in range(b_rank))
    if (draw(st.booleans()) and list(a_axes) == list(range(len(a) - count, len(a)))
            and list(b_axes) == list(range(count))):
        return a, b, count
    return a, b, (list(a_axes), list(b_axes))


@pytest.mark.parametrize("dtype", FLOATS)
def test_tensordot(engine, dtype):
    need(dtype)

    @given(data=st.data(), case=_tensordot_case())
    def prop(data, case):
        sa, sb, axes = case
        a = data.draw(cs.arrays(dtype, sa, min_value=-2, max_value=2))
        b = data.draw(cs.arrays(dtype, sb, min_value=-2, max_value=2))
        check(ops.tensordot(tensor(a), tensor(b), axes=axes), np.tensordot(f64(a), f64(b), axes=axes),
              "matmul", dtype, what=f"tensordot({sa}, {sb}, axes={axes})")

    prop()


EINSUM = [
    "ij,jk->ik", "bij,bjk->bik", "i,i->", "i,j->ij", "ij->ji", "ij->", "ij->j", "bi,ij->bj",
    "bhqd,bhkd->bhqk", "ijk->kji", "...ij,...jk->...ik", "ii->i", "ij,ij->i", "abc,cd,de->abe",
    # the layouts an engine may run as one matmul: EinsumDense, attention, operands read transposed
    "abc,cde->abde", "abcd,cde->abe", "aecd,abcd->acbe", "acbe,aecd->abcd", "bjk,bij->bik", "ik,jk->ij",
    "ij,jb->bi", "ia,ij->ja", "i,ij->j",
]


@pytest.mark.parametrize("subscripts", EINSUM)
def test_einsum(engine, subscripts):
    inputs = subscripts.split("->")[0].split(",")

    @given(data=st.data(), sizes=st.dictionaries(st.sampled_from("abcdehijkq"), st.integers(1, 4),
                                                 min_size=10, max_size=10),
           batch=cs.shapes(max_rank=2, max_side=3))
    def prop(data, sizes, batch):
        shapes = [tuple(batch) + tuple(sizes[c] for c in term.replace("...", "")) if "..." in term
                  else tuple(sizes[c] for c in term) for term in inputs]
        arrays = [data.draw(cs.arrays("float32", shape, min_value=-2, max_value=2)) for shape in shapes]
        expected = np.einsum(subscripts, *[f64(a) for a in arrays])
        check(ops.einsum(subscripts, *[tensor(a) for a in arrays]), expected, "matmul", "float32",
              what=f"einsum({subscripts!r}, {shapes})")

    prop()


@pytest.mark.parametrize("subscripts", ["aecd,abcd->acbe", "abc,cde->abde"])
def test_einsum_compiled_for_several_batch_sizes(diff_engine, subscripts):
    # A step retraced for a new batch size may see the batch axis as unknown.
    rng = np.random.default_rng(0)
    step = diff_engine.jit(lambda x, y: ops.einsum(subscripts, x, y))
    for batch in (2, 3, 5):
        shapes = [(batch, 3, 2, 4), (batch, 4, 2, 4)] if subscripts.startswith("aecd") else [(batch, 3, 4), (4, 2, 3)]
        arrays = [rng.standard_normal(shape).astype("float32") for shape in shapes]
        expected = np.einsum(subscripts, *[f64(a) for a in arrays])
        assert_close(ops.to_numpy(step(*[tensor(a) for a in arrays])), expected, "matmul", "float32")


# ----------------------------------------------------------------- linalg
def _well_conditioned(rng, shape, dtype):
    n = shape[-1]
    a = rng.standard_normal(shape) * 0.5 + np.eye(n) * 2.0
    return a.astype(dtype)


def _spd(rng, shape, dtype):
    a = rng.standard_normal(shape)
    return (a @ np.swapaxes(a, -1, -2) + np.eye(shape[-1]) * shape[-1]).astype(dtype)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4)])
def test_inv_det_solve(engine, dtype, shape, rng):
    need(dtype)
    a = _well_conditioned(rng, shape, dtype)
    check(ops.linalg.inv(tensor(a)), np.linalg.inv(f64(a)), "linalg", dtype, what="inv")
    check(ops.linalg.det(tensor(a)), np.linalg.det(f64(a)), "linalg", dtype, what="det")
    b = rng.standard_normal(shape[:-1] + (2,)).astype(dtype)
    check(ops.linalg.solve(tensor(a), tensor(b)), np.linalg.solve(f64(a), f64(b)), "linalg", dtype, what="solve")


@pytest.mark.parametrize("dtype", FLOATS)
def test_cholesky(engine, dtype, rng):
    need(dtype)
    a = _spd(rng, (2, 4, 4), dtype)
    check(ops.linalg.cholesky(tensor(a)), np.linalg.cholesky(f64(a)), "linalg", dtype, what="cholesky")


@pytest.mark.parametrize("mode", ["reduced", "complete"])
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 5)])
def test_qr(engine, mode, shape, rng):
    a = rng.standard_normal(shape).astype("float32")
    q, r = ops.linalg.qr(tensor(a), mode=mode)
    q_ref, r_ref = np.linalg.qr(f64(a), mode=mode)
    q, r = numpy(q), numpy(r)
    assert q.shape == q_ref.shape and r.shape == r_ref.shape, (q.shape, r.shape, q_ref.shape, r_ref.shape)
    # Signs of Q's columns / R's rows are free; the product, orthonormality and
    # the triangle are not.
    assert_close(q @ r, f64(a), "linalg", "float32", err_msg="qr: q @ r")
    eye = np.broadcast_to(np.eye(q.shape[-1]), q.shape[:-2] + (q.shape[-1],) * 2)
    assert_close(np.swapaxes(q, -1, -2) @ q, eye, "linalg", "float32", err_msg="qr: q orthonormal")
    assert_close(np.abs(r), np.abs(r_ref), "linalg", "float32", err_msg="qr: |r|")
    assert_close(np.tril(r, -1), np.zeros_like(r), "linalg", "float32", err_msg="qr: r upper triangular")


@pytest.mark.parametrize("full_matrices", [True, False])
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 5)])
def test_svd(engine, full_matrices, shape, rng):
    a = rng.standard_normal(shape).astype("float32")
    s_ref = np.linalg.svd(f64(a), compute_uv=False)
    check(ops.linalg.svd(tensor(a), compute_uv=False), s_ref, "linalg", "float32", what="svd values")
    u, s, vh = (numpy(t) for t in ops.linalg.svd(tensor(a), full_matrices=full_matrices))
    u_ref, _, vh_ref = np.linalg.svd(f64(a), full_matrices=full_matrices)
    assert (u.shape, s.shape, vh.shape) == (u_ref.shape, s_ref.shape, vh_ref.shape)
    k = s.shape[-1]
    rebuilt = (u[..., :, :k] * s[..., None, :]) @ vh[..., :k, :]
    assert_close(rebuilt, f64(a), "linalg", "float32", err_msg="svd: u * s @ vh")
