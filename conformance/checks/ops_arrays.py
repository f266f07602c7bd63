"""Forward cases of the array ops: shapes, indexing, scatter/slice, sorting,
contractions, ``linalg``, the nn utilities and losses' primitives, and
convolution / pooling.

Example:
    >>> "einsum" in {case.op for case in CASES}
    True
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from conformance import reference as ref
from conformance import strategies as cs
from conformance.checks.base import Profile
from conformance.checks.opcase import FLOATS, Example, OpCase
from polykeras import ops

__all__ = ["CASES"]

CASES: list[OpCase] = []
_DATA = ("float32", "int32")  # data movement: one float and one integer dtype


def _case(op: str, draw: Any, call: Any, reference: Any, family: str = "elementwise",
          dtypes: tuple[str, ...] = _DATA, **kw: Any) -> None:
    CASES.append(OpCase(op, lambda d, p, _draw=draw: _draw(d, p), call, reference, family, dtypes, **kw))


def _arr(draw: Any, dtype: str, shape: Any, **domain: Any) -> np.ndarray:
    if dtype.startswith("int"):
        domain = {k: v for k, v in domain.items() if k in ("min_value", "max_value")}
    return draw(cs.arrays(dtype, shape, **domain))


# ---------------------------------------------------------------- shapes
@st.composite
def _reshape(draw: Any, dtype: str, p: Profile) -> Example:
    shape = draw(cs.shapes(max_side=p.max_side))
    target = draw(st.sampled_from([(-1,), (int(np.prod(shape)),), tuple(reversed(shape)), (1, *shape, 1),
                                   (-1, *shape[1:]) if shape else (1,)]))
    return Example((_arr(draw, dtype, shape),), {"newshape": target})


_case("reshape", _reshape, ops.reshape, lambda x, newshape: x.reshape(newshape))


@st.composite
def _transpose(draw: Any, dtype: str, p: Profile) -> Example:
    shape = draw(cs.shapes(max_side=p.max_side))
    axes = draw(st.one_of(st.none(), st.permutations(range(len(shape))).map(tuple)))
    return Example((_arr(draw, dtype, shape),), {"axes": axes})


_case("transpose", _transpose, ops.transpose, lambda x, axes: np.transpose(x, axes))


@st.composite
def _moveaxis(draw: Any, dtype: str, p: Profile) -> Example:
    shape = draw(cs.shapes(min_rank=1, max_side=p.max_side))
    return Example((_arr(draw, dtype, shape),), {"source": draw(cs.single_axis(len(shape))),
                                                 "destination": draw(cs.single_axis(len(shape)))})


_case("moveaxis", _moveaxis, ops.moveaxis, np.moveaxis)


@st.composite
def _expand_dims(draw: Any, dtype: str, p: Profile) -> Example:
    shape = draw(cs.shapes(max_side=p.max_side))
    return Example((_arr(draw, dtype, shape),), {"axis": draw(st.integers(-len(shape) - 1, len(shape)))})


_case("expand_dims", _expand_dims, ops.expand_dims, np.expand_dims)


@st.composite
def _squeeze(draw: Any, dtype: str, p: Profile) -> Example:
    shape = draw(cs.shapes(max_side=2))
    ones = [i for i, d in enumerate(shape) if d == 1]
    axis = draw(st.sampled_from([None] + ([ones[0], tuple(ones)] if ones else [])))
    return Example((_arr(draw, dtype, shape),), {"axis": axis})


_case("squeeze", _squeeze, ops.squeeze, lambda x, axis: np.squeeze(x, axis=axis))


@st.composite
def _parts(draw: Any, dtype: str, p: Profile) -> tuple[list[np.ndarray], int, list[int]]:
    shape = draw(cs.shapes(min_rank=1, max_rank=3, max_side=p.max_side))
    axis = draw(cs.single_axis(len(shape)))
    sizes = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    parts = []
    for size in sizes:
        part = list(shape)
        part[axis] = size
        parts.append(_arr(draw, dtype, tuple(part)))
    return parts, axis, sizes


_case("concatenate", lambda d, p: _parts(d, p).map(lambda t: Example(tuple(t[0]), {"axis": t[1]})),
      lambda *xs, axis: ops.concatenate(list(xs), axis=axis), lambda *xs, axis: np.concatenate(xs, axis=axis))


@st.composite
def _stack(draw: Any, dtype: str, p: Profile) -> Example:
    shape = draw(cs.shapes(max_rank=3, max_side=p.max_side))
    count = draw(st.integers(1, 3))
    return Example(tuple(_arr(draw, dtype, shape) for _ in range(count)),
                   {"axis": draw(st.integers(-len(shape) - 1, len(shape)))})


_case("stack", _stack, lambda *xs, axis: ops.stack(list(xs), axis=axis), lambda *xs, axis: np.stack(xs, axis=axis))


@st.composite
def _split(draw: Any, dtype: str, p: Profile) -> Example:
    parts, axis, sizes = draw(_parts(dtype, p))
    joined = np.concatenate(parts, axis=axis)
    spec = len(sizes) if len(set(sizes)) == 1 and draw(st.booleans()) else [int(b) for b in np.cumsum(sizes)[:-1]]
    return Example((joined,), {"indices_or_sections": spec, "axis": axis})


_case("split", _split, lambda x, **k: tuple(ops.split(x, **k)), lambda x, **k: tuple(np.split(x, **k)))


@st.composite
def _pad(draw: Any, dtype: str, p: Profile) -> Example:
    shape = draw(cs.shapes(min_rank=1, max_rank=3, min_side=2, max_side=max(2, p.max_side)))
    mode = draw(st.sampled_from(["constant", "reflect", "symmetric"]))
    limit = (lambda n: n - 1) if mode == "reflect" else (lambda n: n)
    widths = [(draw(st.integers(0, min(2, limit(n)))), draw(st.integers(0, min(2, limit(n))))) for n in shape]
    kwargs: dict[str, Any] = {"pad_width": widths, "mode": mode}
    if mode == "constant" and draw(st.booleans()):
        kwargs["constant_values"] = 2
    return Example((_arr(draw, dtype, shape),), kwargs)


_case("pad", _pad, ops.pad, np.pad)


@st.composite
def _broadcast(draw: Any, dtype: str, p: Profile) -> tuple[np.ndarray, tuple[int, ...]]:
    shapes = draw(cs.broadcast_shapes(max_rank=3, max_side=min(p.max_side, 3)))
    return _arr(draw, dtype, shapes[0]), tuple(np.broadcast_shapes(*shapes))


_case("broadcast_to", lambda d, p: _broadcast(d, p).map(lambda t: Example((t[0],), {"shape": t[1]})),
      ops.broadcast_to, np.broadcast_to)


@st.composite
def _tile(draw: Any, dtype: str, p: Profile) -> Example:
    x, _ = draw(_broadcast(dtype, p))
    return Example((x,), {"repeats": tuple(draw(st.integers(1, 3)) for _ in x.shape)})


_case("tile", _tile, ops.tile, lambda x, repeats: np.tile(x, repeats))


@st.composite
def _repeat(draw: Any, dtype: str, p: Profile) -> Example:
    x, _ = draw(_broadcast(dtype, p))
    axis = draw(st.one_of(st.none(), cs.single_axis(x.ndim))) if x.ndim else None
    return Example((x,), {"repeats": draw(st.integers(0, 3)), "axis": axis})


_case("repeat", _repeat, ops.repeat, np.repeat)


@st.composite
def _flip(draw: Any, dtype: str, p: Profile) -> Example:
    x, _ = draw(_broadcast(dtype, p))
    return Example((x,), {"axis": draw(cs.axes(x.ndim))})


_case("flip", _flip, ops.flip, lambda x, axis: np.flip(x, axis=axis))


# -------------------------------------------------------------- indexing
@st.composite
def _take(draw: Any, dtype: str, p: Profile) -> Example:
    shape = draw(cs.shapes(min_rank=1, max_rank=3, max_side=p.max_side))
    axis = draw(st.one_of(st.none(), cs.single_axis(len(shape))))
    n = int(np.prod(shape)) if axis is None else shape[axis]
    indices = draw(cs.arrays("int32", cs.shapes(max_rank=2, max_side=p.max_side), min_value=-n, max_value=n - 1))
    return Example((_arr(draw, dtype, shape), indices), {"axis": axis})


_case("take", _take, ops.take, lambda x, i, axis: np.take(x, i, axis=axis))


@st.composite
def _get_item(draw: Any, dtype: str, p: Profile) -> Example:
    """``x[key]`` with a key of ints and slices (any step, negative too) over
    the leading axes, sometimes with ``None`` or ``...``."""
    shape = draw(cs.shapes(min_rank=1, max_rank=3, max_side=p.max_side))
    key: list[Any] = []
    for n in shape[: draw(st.integers(1, len(shape)))]:
        if n > 0 and draw(st.booleans()):
            key.append(draw(st.integers(-n, n - 1)))
        else:
            bound = st.none() | st.integers(-n - 1, n + 1)
            key.append(slice(draw(bound), draw(bound), draw(st.sampled_from([None, 1, 2, -1, -2]))))
    extra = draw(st.sampled_from([(), (None,), (Ellipsis,)]))
    return Example((_arr(draw, dtype, shape),), {"key": tuple(key) + extra})


_case("get_item", _get_item, ops.get_item, lambda x, key: x[key])


@st.composite
def _along(draw: Any, dtype: str, p: Profile) -> Example:
    shape = draw(cs.shapes(min_rank=1, max_rank=3, max_side=p.max_side))
    axis = draw(cs.single_axis(len(shape)))
    x = _arr(draw, dtype, shape, min_value=-3, max_value=3)  # many ties: sorts must be stable
    return Example((x,), {"axis": axis})


def _draw_order(t: Example) -> Example:
    order = np.argsort(t.arrays[0], axis=t.kwargs["axis"], kind="stable").astype(np.int32)
    return Example((t.arrays[0], order), t.kwargs)


_case("take_along_axis", lambda d, p: _along(d, p).map(_draw_order), ops.take_along_axis,
      lambda x, i, axis: np.take_along_axis(x, i, axis=axis))
_case("sort", _along, ops.sort, lambda x, axis: np.sort(x, axis=axis))
_case("argsort", _along, ops.argsort, lambda x, axis: np.argsort(x, axis=axis, kind="stable"), out="int32")


@st.composite
def _top_k(draw: Any, dtype: str, p: Profile) -> Example:
    shape = draw(cs.shapes(min_rank=1, max_rank=3, max_side=p.max_side))
    return Example((_arr(draw, dtype, shape, min_value=-3, max_value=3),), {"k": draw(st.integers(1, shape[-1]))})


_case("top_k", _top_k, ops.top_k, ref.top_k, dtypes=("float32",), out=(None, "int32"))


@st.composite
def _scatter(draw: Any, dtype: str, p: Profile) -> Example:
    shape = draw(cs.shapes(min_rank=1, max_rank=3, max_side=p.max_side))
    depth = draw(st.integers(1, len(shape)))
    n = draw(st.integers(1, 5))
    indices = np.stack([draw(cs.arrays("int32", (n,), min_value=0, max_value=shape[i] - 1)) for i in range(depth)],
                       axis=-1)
    values = _arr(draw, dtype, (n, *shape[depth:]))
    return Example((indices, values), {"shape": shape})


def _scatter_reference(indices: np.ndarray, values: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    out = np.zeros(shape, values.dtype)
    np.add.at(out, tuple(indices.T), values)  # duplicates accumulate
    return out


_case("scatter", _scatter, ops.scatter, _scatter_reference, out=lambda d: d)


@st.composite
def _scatter_update(draw: Any, dtype: str, p: Profile) -> Example:
    shape = draw(cs.shapes(min_rank=1, max_rank=3, max_side=p.max_side))
    depth = draw(st.integers(1, len(shape)))
    cells = list(np.ndindex(*shape[:depth]))
    chosen = draw(st.lists(st.sampled_from(cells), min_size=1, max_size=min(4, len(cells)), unique=True))
    indices = np.array(chosen, np.int32).reshape(len(chosen), depth)
    return Example((_arr(draw, dtype, shape), indices, _arr(draw, dtype, (len(chosen), *shape[depth:]))))


def _scatter_update_reference(x: np.ndarray, indices: np.ndarray, updates: np.ndarray) -> np.ndarray:
    out = x.copy()
    out[tuple(indices.T)] = updates
    return out


_case("scatter_update", _scatter_update, ops.scatter_update, _scatter_update_reference)


@st.composite
def _slice(draw: Any, dtype: str, p: Profile) -> Example:
    shape = draw(cs.shapes(min_rank=1, max_rank=3, max_side=p.max_side))
    start = [draw(st.integers(0, n - 1)) for n in shape]
    size = [draw(st.integers(1, n - s)) for n, s in zip(shape, start)]
    return Example((_arr(draw, dtype, shape), _arr(draw, dtype, tuple(size))), {"start_indices": start})


def _block(start: list[int], size: tuple[int, ...]) -> tuple[slice, ...]:
    return tuple(slice(s, s + n) for s, n in zip(start, size))


_case("slice", _slice, lambda x, u, start_indices: ops.slice(x, start_indices, ops.shape(u)),
      lambda x, u, start_indices: x[_block(start_indices, u.shape)])


def _slice_update_reference(x: np.ndarray, u: np.ndarray, start_indices: list[int]) -> np.ndarray:
    out = x.copy()
    out[_block(start_indices, u.shape)] = u
    return out


_case("slice_update", _slice, lambda x, u, start_indices: ops.slice_update(x, start_indices, u),
      _slice_update_reference)


# ---------------------------------------------------------- contractions
def _small(draw: Any, dtype: str, shape: Any) -> np.ndarray:
    return draw(cs.arrays(dtype, shape, min_value=-2.0, max_value=2.0))


@st.composite
def _matmul(draw: Any, dtype: str, p: Profile) -> Example:
    a, b = draw(cs.matmul_shapes(max_side=p.max_side))
    return Example((_small(draw, dtype, a), _small(draw, dtype, b)))


_case("matmul", _matmul, ops.matmul, np.matmul, "matmul", FLOATS)


@st.composite
def _dot(draw: Any, dtype: str, p: Profile) -> Example:
    a = draw(cs.shapes(max_rank=3, max_side=p.max_side))
    b = list(draw(cs.shapes(max_rank=3, max_side=p.max_side)))
    if a and b:
        b[-2 if len(b) >= 2 else -1] = a[-1]
    return Example((_small(draw, dtype, a), _small(draw, dtype, tuple(b))))


_case("dot", _dot, ops.dot, np.dot, "matmul", FLOATS)


@st.composite
def _tensordot(draw: Any, dtype: str, p: Profile) -> Example:
    a = draw(cs.shapes(min_rank=1, max_rank=3, max_side=p.max_side))
    count = draw(st.integers(0, len(a)))
    a_axes = list(draw(st.permutations(range(len(a)))))[:count]
    extra = draw(cs.shapes(max_rank=3 - count, max_side=p.max_side))
    b_rank = count + len(extra)
    b_axes = list(draw(st.permutations(range(b_rank))))[:count]
    sizes = dict(zip(b_axes, (a[i] for i in a_axes)))
    rest = iter(extra)
    b = tuple(sizes[i] if i in sizes else next(rest) for i in range(b_rank))
    return Example((_small(draw, dtype, a), _small(draw, dtype, b)), {"axes": (a_axes, b_axes)})


_case("tensordot", _tensordot, ops.tensordot, np.tensordot, "matmul", FLOATS)

EINSUM = ["ij,jk->ik", "bij,bjk->bik", "i,i->", "i,j->ij", "ij->ji", "ij->", "ij->j", "bi,ij->bj",
          "bhqd,bhkd->bhqk", "ijk->kji", "...ij,...jk->...ik", "ii->i", "ij,ij->i", "abc,cd,de->abe"]


@st.composite
def _einsum(draw: Any, dtype: str, p: Profile) -> Example:
    subscripts = draw(st.sampled_from(EINSUM))
    sizes = {c: draw(st.integers(1, p.max_side)) for c in "abcdehijkq"}
    batch = draw(cs.shapes(max_rank=2, max_side=p.max_side))
    shapes = [tuple(batch) + tuple(sizes[c] for c in term.replace("...", "")) if "..." in term
              else tuple(sizes[c] for c in term) for term in subscripts.split("->")[0].split(",")]
    return Example(tuple(_small(draw, dtype, s) for s in shapes), {"subscripts": subscripts})


_case("einsum", _einsum, lambda *xs, subscripts: ops.einsum(subscripts, *xs),
      lambda *xs, subscripts: np.einsum(subscripts, *xs), "matmul", FLOATS)


# ---------------------------------------------------------------- linalg
@st.composite
def _square(draw: Any, dtype: str, p: Profile, spd: bool = False, rhs: bool = False) -> Example:
    n = draw(st.integers(1, max(2, p.max_side)))
    batch = draw(cs.shapes(max_rank=1, max_side=2))
    noise = np.asarray(draw(cs.arrays("float64", (*batch, n, n), min_value=-1.0, max_value=1.0, edges=False)))
    a = noise @ np.swapaxes(noise, -1, -2) + n * np.eye(n) if spd else noise * 0.5 + 2.0 * np.eye(n)
    arrays = [a.astype(dtype)]
    if rhs:
        arrays.append(_small(draw, dtype, (*batch, n, draw(st.integers(1, 3)))))
    return Example(tuple(arrays))


_case("linalg.inv", _square, ops.linalg.inv, np.linalg.inv, "linalg", FLOATS)
_case("linalg.det", _square, ops.linalg.det, np.linalg.det, "linalg", FLOATS)
_case("linalg.solve", lambda d, p: _square(d, p, rhs=True), ops.linalg.solve, np.linalg.solve, "linalg", FLOATS)
_case("linalg.cholesky", lambda d, p: _square(d, p, spd=True), ops.linalg.cholesky, np.linalg.cholesky, "linalg",
      FLOATS)


@st.composite
def _matrix(draw: Any, dtype: str, p: Profile) -> Example:
    """A full-rank (batched) rectangular matrix: R and the singular values
    are only unique there."""
    m, n = draw(st.integers(1, p.max_side + 1)), draw(st.integers(1, p.max_side + 1))
    batch = draw(cs.shapes(max_rank=1, max_side=2))
    noise = np.asarray(draw(cs.arrays("float64", (*batch, m, n), min_value=-1.0, max_value=1.0, edges=False)))
    return Example(((noise * 0.5 + 2.0 * np.eye(m, n)).astype(dtype),), {"flag": draw(st.booleans())})


def _qr(a: Any, flag: bool) -> tuple[Any, ...]:
    """Signs of Q's columns are free: compare Q R, Q^T Q and |R|."""
    q, r = ops.linalg.qr(a, mode="complete" if flag else "reduced")
    return ops.matmul(q, r), ops.matmul(ops.moveaxis(q, -1, -2), q), ops.abs(r)


def _qr_reference(a: np.ndarray, flag: bool) -> tuple[np.ndarray, ...]:
    q, r = np.linalg.qr(a, mode="complete" if flag else "reduced")
    return a, np.broadcast_to(np.eye(q.shape[-1]), q.shape[:-2] + (q.shape[-1],) * 2), np.abs(r)


def _svd(a: Any, flag: bool) -> tuple[Any, ...]:
    """Singular vectors are free up to sign: compare s and U diag(s) V^T."""
    s = ops.linalg.svd(a, compute_uv=False)
    u, s2, vh = ops.linalg.svd(a, full_matrices=flag)
    k = ops.shape(s2)[-1]
    u = ops.slice(u, (0,) * (len(ops.shape(u)) - 1) + (0,), ops.shape(u)[:-1] + (k,))
    vh = ops.slice(vh, (0,) * len(ops.shape(vh)), ops.shape(vh)[:-2] + (k, ops.shape(vh)[-1]))
    return s, ops.matmul(ops.multiply(u, ops.expand_dims(s2, -2)), vh)


def _svd_reference(a: np.ndarray, flag: bool) -> tuple[np.ndarray, ...]:
    return np.linalg.svd(a, compute_uv=False), a


_case("linalg.qr", _matrix, _qr, _qr_reference, "linalg", FLOATS)
_case("linalg.svd", _matrix, _svd, _svd_reference, "linalg", FLOATS)


# -------------------------------------------------------------------- nn
@st.composite
def _one_hot(draw: Any, dtype: str, p: Profile) -> Example:
    shape = draw(cs.shapes(max_rank=2, max_side=p.max_side))
    classes = draw(st.integers(1, 5))
    ids = draw(cs.arrays("int32", shape, min_value=-1, max_value=classes))  # out of range: all zeros
    return Example((ids,), {"num_classes": classes, "axis": draw(st.integers(-1, len(shape))), "dtype": dtype})


_case("one_hot", _one_hot, ops.one_hot, lambda i, num_classes, axis, dtype: ref.one_hot(i, num_classes, axis),
      "nn", ("float32", "int32"), out="$dtype")


@st.composite
def _moments(draw: Any, dtype: str, p: Profile) -> Example:
    shape = draw(cs.shapes(min_rank=1, max_side=p.max_side))
    axes = draw(cs.axes(len(shape), allow_none=False))
    return Example((draw(cs.arrays(dtype, shape, min_value=-5.0, max_value=5.0)),),
                   {"axes": [axes] if isinstance(axes, int) else list(axes), "keepdims": draw(st.booleans())})


_case("moments", _moments, ops.moments, ref.moments, "reduction", FLOATS)


@st.composite
def _batch_norm(draw: Any, dtype: str, p: Profile) -> Example:
    shape = draw(cs.shapes(min_rank=1, max_side=p.max_side))
    axis = draw(cs.single_axis(len(shape)))
    size = shape[axis]
    stats = [draw(cs.arrays(dtype, (size,), min_value=lo, max_value=hi, edges=False))
             for lo, hi in ((-1.0, 1.0), (0.1, 2.0), (-1.0, 1.0), (0.5, 2.0))]
    return Example((draw(cs.arrays(dtype, shape, min_value=-3.0, max_value=3.0)), *stats),
                   {"axis": axis, "epsilon": draw(st.sampled_from([1e-3, 1e-5]))})


_case("batch_normalization", _batch_norm,
      lambda x, m, v, o, s, axis, epsilon: ops.batch_normalization(x, m, v, axis, offset=o, scale=s, epsilon=epsilon),
      lambda x, m, v, o, s, axis, epsilon: ref.batch_normalization(x, m, v, axis, o, s, epsilon), "nn", FLOATS)


@st.composite
def _crossentropy(draw: Any, dtype: str, p: Profile, kind: str = "categorical") -> Example:
    shape = draw(cs.shapes(min_rank=1, max_rank=3, min_side=2, max_side=max(2, p.max_side)))
    logits = draw(st.booleans())
    if logits:
        output = draw(cs.arrays(dtype, shape, min_value=-10.0, max_value=10.0))
    else:
        output = draw(cs.arrays(dtype, shape, min_value=0.0, max_value=1.0))
        if kind != "binary":
            output = np.where(np.sum(output, axis=-1, keepdims=True) == 0, np.asarray(1.0, dtype), output)
    if kind == "binary":
        target = draw(cs.arrays(dtype, shape, min_value=0.0, max_value=1.0))
    else:
        ids = draw(cs.arrays("int32", shape[:-1], min_value=0, max_value=shape[-1] - 1))
        target = ids if kind == "sparse" else ref.one_hot(ids, shape[-1]).astype(dtype)
    return Example((target, output), {"from_logits": logits})


_case("categorical_crossentropy", _crossentropy, ops.categorical_crossentropy,
      lambda t, o, from_logits: ref.categorical_crossentropy(t, o, from_logits, dtype="float32"), "loss", ("float32",))
_case("sparse_categorical_crossentropy", lambda d, p: _crossentropy(d, p, "sparse"),
      ops.sparse_categorical_crossentropy,
      lambda t, o, from_logits: ref.sparse_categorical_crossentropy(t, o, from_logits, dtype="float32"), "loss",
      ("float32",))
_case("binary_crossentropy", lambda d, p: _crossentropy(d, p, "binary"), ops.binary_crossentropy,
      lambda t, o, from_logits: ref.binary_crossentropy(t, o, from_logits, dtype="float32"), "loss", ("float32",))


# ------------------------------------------------------- conv and pooling
_RANKS = {"conv": (1, 2, 3), "depthwise": (1, 2), "transpose": (1, 2, 3)}
_CONV = {"conv": ("conv", ref.conv), "depthwise": ("depthwise_conv", ref.depthwise_conv),
         "transpose": ("conv_transpose", ref.conv_transpose)}


@st.composite
def _conv(draw: Any, dtype: str, p: Profile, kind: str = "conv") -> Example:
    config = draw(cs.conv_configs(kind, ranks=_RANKS[kind]))
    x = draw(cs.arrays(dtype, config.input_shape, min_value=-1.0, max_value=1.0, edges=False))
    kernel = draw(cs.arrays(dtype, config.kernel_shape, min_value=-1.0, max_value=1.0, edges=False))
    return Example((x, kernel), config.kwargs())


for _kind, (_name, _ref) in _CONV.items():
    _case(_name, lambda d, p, _k=_kind: _conv(d, p, _k), getattr(ops, _name), _ref, "conv", FLOATS)


@st.composite
def _pool(draw: Any, dtype: str, p: Profile) -> Example:
    config = draw(cs.pool_configs())
    return Example((draw(cs.arrays(dtype, config.input_shape, min_value=-5.0, max_value=5.0)),), config.kwargs())


for _name in ("max_pool", "average_pool"):
    _case(_name, _pool, getattr(ops, _name), getattr(ref, _name), "pool", FLOATS)
