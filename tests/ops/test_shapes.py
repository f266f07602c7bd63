"""Shape manipulation, indexing, scatter/slice and sorting on every engine,
against NumPy. Data movement must be exact, so values compare at the
elementwise tolerance and integer results exactly."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance import reference as ref
from conformance import strategies as cs
from polykeras import ops

from ._helpers import check, numpy, tensor

COVERED = {
    "reshape", "transpose", "expand_dims", "squeeze", "concatenate", "stack", "split", "pad", "tile", "repeat",
    "broadcast_to", "flip", "moveaxis", "take", "take_along_axis", "scatter", "scatter_update", "slice",
    "slice_update", "sort", "argsort", "top_k",
}

DTYPES = ["float32", "int32"]


def _same(out, expected, what):
    expected = np.asarray(expected)
    check(out, expected, "elementwise", expected.dtype.name, what=what)


@pytest.mark.parametrize("dtype", DTYPES)
def test_reshape_transpose_moveaxis(engine, dtype):
    @given(data=st.data(), shape=cs.shapes())
    def prop(data, shape):
        x = data.draw(cs.arrays(dtype, shape))
        target = data.draw(st.sampled_from([(-1,), (x.size,), tuple(reversed(shape)), (1, *shape, 1),
                                            (-1, *shape[1:]) if shape else (1,)]))
        _same(ops.reshape(tensor(x), target), x.reshape(target), f"reshape({shape} -> {target})")
        axes = data.draw(st.one_of(st.none(), st.permutations(range(len(shape))).map(tuple)))
        _same(ops.transpose(tensor(x), axes), np.transpose(x, axes), f"transpose({shape}, {axes})")
        if shape:
            source, destination = data.draw(cs.single_axis(len(shape))), data.draw(cs.single_axis(len(shape)))
            _same(ops.moveaxis(tensor(x), source, destination), np.moveaxis(x, source, destination),
                  f"moveaxis({shape}, {source}, {destination})")

    prop()


def test_expand_dims_squeeze(engine):
    @given(data=st.data(), shape=cs.shapes(max_side=2))
    def prop(data, shape):
        x = data.draw(cs.arrays("float32", shape))
        axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
        _same(ops.expand_dims(tensor(x), axis), np.expand_dims(x, axis), f"expand_dims({shape}, {axis})")
        _same(ops.squeeze(tensor(x)), np.squeeze(x), f"squeeze({shape})")
        ones = [i for i, d in enumerate(shape) if d == 1]
        if ones:
            picked = data.draw(st.sampled_from(ones))
            _same(ops.squeeze(tensor(x), axis=picked), np.squeeze(x, axis=picked), f"squeeze({shape}, {picked})")
            _same(ops.squeeze(tensor(x), axis=tuple(ones)), np.squeeze(x, axis=tuple(ones)),
                  f"squeeze({shape}, {tuple(ones)})")

    prop()


def test_concatenate_stack_split(engine):
    @given(data=st.data(), shape=cs.shapes(min_rank=1, max_rank=3))
    def prop(data, shape):
        axis = data.draw(cs.single_axis(len(shape)))
        sizes = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
        parts = []
        for size in sizes:
            part_shape = list(shape)
            part_shape[axis] = size
            parts.append(data.draw(cs.arrays("float32", tuple(part_shape))))
        _same(ops.concatenate([tensor(p) for p in parts], axis=axis), np.concatenate(parts, axis=axis),
              f"concatenate(axis={axis})")
        same = [data.draw(cs.arrays("float32", shape)) for _ in sizes]
        new_axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
        _same(ops.stack([tensor(p) for p in same], axis=new_axis), np.stack(same, axis=new_axis),
              f"stack(axis={new_axis})")
        joined = np.concatenate(parts, axis=axis)
        bounds = list(np.cumsum(sizes)[:-1])
        for spec in (bounds, len(sizes) if len(set(sizes)) == 1 else bounds):
            pieces = ops.split(tensor(joined), spec, axis=axis)
            want = np.split(joined, spec, axis=axis)
            assert len(pieces) == len(want), f"split({spec}) gave {len(pieces)} pieces, expected {len(want)}"
            for piece, expected in zip(pieces, want):
                _same(piece, expected, f"split({joined.shape}, {spec}, axis={axis})")

    prop()


@pytest.mark.parametrize("mode", ["constant", "reflect", "symmetric"])
def test_pad(engine, mode):
    @given(data=st.data(), shape=cs.shapes(min_rank=1, max_rank=3, min_side=2))
    def prop(data, shape):
        x = data.draw(cs.arrays("float32", shape))
        limit = (lambda n: n - 1) if mode == "reflect" else (lambda n: n)
        widths = [(data.draw(st.integers(0, min(2, limit(n)))), data.draw(st.integers(0, min(2, limit(n)))))
                  for n in shape]
        kwargs = {"constant_values": 1.5} if mode == "constant" else {}
        _same(ops.pad(tensor(x), widths, mode=mode, **kwargs), np.pad(x, widths, mode=mode, **kwargs),
              f"pad({shape}, {widths}, {mode})")

    prop()


def test_pad_default_is_zeros(engine):
    x = np.arange(6, dtype=np.int32).reshape(2, 3)
    _same(ops.pad(tensor(x), [(1, 0), (0, 2)]), np.pad(x, [(1, 0), (0, 2)]), "pad int32")


def test_tile_repeat_broadcast_flip(engine):
    @given(data=st.data(), shapes=cs.broadcast_shapes(max_rank=3, max_side=3))
    def prop(data, shapes):
        x = data.draw(cs.arrays("float32", shapes[0]))
        target = np.broadcast_shapes(*shapes)
        _same(ops.broadcast_to(tensor(x), target), np.broadcast_to(x, target), f"broadcast_to({x.shape}, {target})")
        reps = tuple(data.draw(st.integers(1, 3)) for _ in x.shape)
        _same(ops.tile(tensor(x), reps), np.tile(x, reps), f"tile({x.shape}, {reps})")
        count = data.draw(st.integers(0, 3))
        axis = data.draw(st.one_of(st.none(), cs.single_axis(x.ndim))) if x.ndim else None
        _same(ops.repeat(tensor(x), count, axis=axis), np.repeat(x, count, axis=axis),
              f"repeat({x.shape}, {count}, axis={axis})")
        axes = data.draw(cs.axes(x.ndim))
        _same(ops.flip(tensor(x), axis=axes), np.flip(x, axis=axes), f"flip({x.shape}, {axes})")

    prop()


def test_take(engine):
    @given(data=st.data(), shape=cs.shapes(min_rank=1, max_rank=3), index_shape=cs.shapes(max_rank=2))
    def prop(data, shape, index_shape):
        x = data.draw(cs.arrays("float32", shape))
        axis = data.draw(st.one_of(st.none(), cs.single_axis(len(shape))))
        n = x.size if axis is None else shape[axis]
        indices = data.draw(cs.arrays("int32", index_shape, min_value=-n, max_value=n - 1))
        _same(ops.take(tensor(x), tensor(indices), axis=axis), np.take(x, indices, axis=axis),
              f"take({shape}, indices {indices.tolist()}, axis={axis})")

    prop()


def test_take_along_axis_sort_argsort(engine):
    @given(data=st.data(), shape=cs.shapes(min_rank=1, max_rank=3), dtype=st.sampled_from(DTYPES))
    def prop(data, shape, dtype):
        x = data.draw(cs.arrays(dtype, shape, min_value=-3, max_value=3))  # many ties: argsort is stable
        axis = data.draw(cs.single_axis(len(shape)))
        _same(ops.sort(tensor(x), axis=axis), np.sort(x, axis=axis), f"sort({shape}, axis={axis})")
        order = np.argsort(x, axis=axis, kind="stable").astype(np.int32)
        _same(ops.argsort(tensor(x), axis=axis), order, f"argsort({shape}, axis={axis})")
        _same(ops.take_along_axis(tensor(x), tensor(order), axis=axis), np.take_along_axis(x, order, axis=axis),
              f"take_along_axis({shape}, axis={axis})")

    prop()


def test_top_k(engine):
    @given(data=st.data(), shape=cs.shapes(min_rank=1, max_rank=3))
    def prop(data, shape):
        x = data.draw(cs.arrays("float32", shape, min_value=-3, max_value=3))
        k = data.draw(st.integers(1, shape[-1]))
        values, indices = ops.top_k(tensor(x), k)
        want_values, want_indices = ref.top_k(x, k)
        _same(values, want_values.astype("float32"), f"top_k values ({shape}, k={k})")
        _same(indices, want_indices.astype("int32"), f"top_k indices ({shape}, k={k})")

    prop()


def test_scatter_accumulates_duplicates(engine):
    indices = np.array([[0, 1], [2, 0], [0, 1], [1, 1]], np.int32)
    values = np.array([1.0, 2.0, 3.0, 4.0], np.float32)
    expected = np.zeros((3, 2), np.float32)
    np.add.at(expected, tuple(indices.T), values)
    _same(ops.scatter(tensor(indices), tensor(values), (3, 2)), expected, "scatter")
    # Slices: indices address a prefix of the axes, values carry the rest.
    rows = np.array([[2], [0], [2]], np.int32)
    blocks = np.arange(9, dtype=np.float32).reshape(3, 3)
    expected = np.zeros((4, 3), np.float32)
    np.add.at(expected, rows[:, 0], blocks)
    _same(ops.scatter(tensor(rows), tensor(blocks), (4, 3)), expected, "scatter of rows")


def test_scatter_update(engine):
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    indices = np.array([[0, 0], [2, 3], [1, 2]], np.int32)
    updates = np.array([-1.0, -2.0, -3.0], np.float32)
    expected = x.copy()
    expected[tuple(indices.T)] = updates
    _same(ops.scatter_update(tensor(x), tensor(indices), tensor(updates)), expected, "scatter_update")
    rows = np.array([[1]], np.int32)
    expected = x.copy()
    expected[1] = [9, 9, 9, 9]
    _same(ops.scatter_update(tensor(x), tensor(rows), tensor(np.full((1, 4), 9, np.float32))), expected,
          "scatter_update of a row")


def test_slice_and_slice_update(engine):
    @given(data=st.data(), shape=cs.shapes(min_rank=1, max_rank=3))
    def prop(data, shape):
        x = data.draw(cs.arrays("float32", shape))
        start = [data.draw(st.integers(0, n - 1)) for n in shape]
        size = [data.draw(st.integers(1, n - s)) for n, s in zip(shape, start)]
        block = tuple(slice(s, s + n) for s, n in zip(start, size))
        _same(ops.slice(tensor(x), start, size), x[block], f"slice({shape}, {start}, {size})")
        update = data.draw(cs.arrays("float32", tuple(size)))
        expected = x.copy()
        expected[block] = update
        _same(ops.slice_update(tensor(x), start, tensor(update)), expected, f"slice_update({shape}, {start}, {size})")
        # start indices given as int32 tensors (the form that works inside jit)
        starts = [tensor(np.int32(s)) for s in start]
        _same(ops.slice(tensor(x), starts, size), x[block], f"slice with tensor starts ({shape}, {start})")

    prop()


def test_split_returns_list(engine):
    pieces = ops.split(tensor(np.arange(6, dtype=np.float32)), 3)
    assert isinstance(pieces, (list, tuple)) and len(pieces) == 3
    assert [numpy(p).tolist() for p in pieces] == [[0, 1], [2, 3], [4, 5]]
