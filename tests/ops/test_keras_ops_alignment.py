"""Keras 3's signatures of the core ops and the counting/selection ops, on
every engine: the conformance cases of ``conformance/checks/ops_counting.py``
forward, the new parameters acting as in Keras 3 on the same engine (one Keras
subprocess per engine computes every reference), the shape rules on symbolic
tensors, the data-dependent shapes inside compiled functions, and the
errors. Gradients run in test_gradients.py."""

from __future__ import annotations

import inspect
import re
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings

import polykeras
from conformance.checks.base import Meter
from conformance.checks.ops import check_example
from conformance.checks.ops_counting import CASES
from conformance.tolerances import assert_close
from polykeras import ops

from ._helpers import numpy, supports, tensor
from tests.layers.helpers import run_keras

COVERED = {case.op for case in CASES}


class _Quick:
    name, examples, max_side, draws = "quick", 4, 4, 1


@pytest.mark.parametrize("name", sorted({case.name for case in CASES}))
def test_forward_matches_numpy(engine, name):
    for case in [c for c in CASES if c.name == name]:
        for dtype in [d for d in case.dtypes if supports(d)]:
            @settings(max_examples=3)
            @given(example=case.example(dtype, _Quick()))
            def prop(example):
                check_example(case, dtype, example, Meter())  # noqa: B023 - run at once, in the loop
            prop()


# ----------------------------------------------------------- Keras 3, same engine
_RNG = np.random.default_rng(3)
_F = _RNG.uniform(-3.0, 3.0, (3, 4)).astype(np.float32)
_I = np.array([[3, 1, 2], [1, 3, 5]], np.int32)
_LOGITS = np.array([[0.1, 0.5, 0.4], [0.3, 0.3, 0.4], [0.3, 0.3, 0.3]], np.float32)
_HIST = np.array([0.0, 1.0, 1.5, 3.0, 10.0, 2.2], np.float32)

#: label -> (keras.ops path, args, kwargs, which Keras backend answers: "same" engine or "numpy" where
#: Keras's own backends disagree or refuse).
KERAS_CASES: dict[str, tuple[str, tuple, dict, str]] = {
    "arange(step=None)": ("arange", (1, 7, None), {}, "same"),
    "arange(float)": ("arange", (0.0, 2.0, 0.5), {}, "same"),
    "eye(N, M, k)": ("eye", (3, 5), {"k": 2}, "same"),
    "eye(k<0, dtype)": ("eye", (4,), {"k": -1, "dtype": "int32"}, "same"),
    "ones(dtype=None)": ("ones", ((2, 3),), {}, "same"),
    "zeros(dtype=None)": ("zeros", ((2,),), {"dtype": None}, "same"),
    "full(int fill)": ("full", ((2, 2), 7), {}, "same"),
    "max(initial)": ("max", (_F,), {"axis": 1, "initial": 1.5}, "same"),
    "min(initial, keepdims)": ("min", (_F,), {"axis": 0, "keepdims": True, "initial": -1.0}, "same"),
    "max(initial, empty)": ("max", (np.zeros((0, 3), np.float32),), {"axis": 0, "initial": 4.0}, "numpy"),
    "max(int, initial)": ("max", (_I,), {"initial": 4}, "same"),
    "cumsum(dtype)": ("cumsum", (_F,), {"axis": 1, "dtype": "int32"}, "same"),
    "cumprod(dtype)": ("cumprod", (_I,), {"axis": 0, "dtype": "float32"}, "same"),
    "cumsum(bool)": ("cumsum", (np.array([True, False, True]),), {}, "same"),
    "prod(dtype)": ("prod", (_F * 2,), {"axis": 0, "dtype": "int32"}, "numpy"),
    "round(decimals=1)": ("round", (_F,), {"decimals": 1}, "same"),
    "round(int, decimals=-1)": ("round", (np.array([15, 25, 123, -35], np.int32),), {"decimals": -1}, "same"),
    "round(int, decimals=2)": ("round", (_I,), {"decimals": 2}, "same"),
    "pad(constant_values)": ("pad", (_I, [(1, 0), (0, 2)]), {"constant_values": -3}, "same"),
    "pad(default)": ("pad", (_F, [(1, 1), (0, 1)]), {}, "same"),
    "pad(reflect)": ("pad", (_F, [(1, 1), (2, 0)]), {"mode": "reflect"}, "same"),
    "reshape(newshape)": ("reshape", (_F,), {"newshape": (2, -1)}, "same"),
    "stack(x)": ("stack", ([_F, _F * 2],), {"axis": 1}, "same"),
    "take_along_axis(axis=None)": ("take_along_axis", (_F, np.array([11, 0, 5], np.int32)), {}, "same"),
    "where(condition)": ("where", (_I > 1,), {}, "same"),
    "where(x1, x2)": ("where", (_F > 0, _F, -1.0), {}, "same"),
    "einsum(optimize)": ("einsum", ("ij,jk,kl->il", _F, _F.T, _F), {"optimize": "optimal"}, "same"),
    "slice(inputs)": ("slice", (), {"inputs": _F, "start_indices": (1, 1), "shape": (2, 2)}, "same"),
    "slice_update(inputs)": ("slice_update", (), {"inputs": _F, "start_indices": (0, 2),
                                                  "updates": np.ones((2, 2), np.float32)}, "same"),
    "scatter_update(inputs)": ("scatter_update", (), {"inputs": _F, "indices": np.array([[0, 1], [2, 3]]),
                                                      "updates": np.array([7.0, 8.0], np.float32)}, "same"),
    "scatter_update(add)": ("scatter_update", (_F, np.array([[1], [1], [2]]), np.ones((3, 4), np.float32)),
                            {"reduction": "add"}, "same"),
    "scatter_update(max)": ("scatter_update", (_F, np.array([[0, 0], [0, 0], [2, 1]]),
                                               np.array([9.0, 5.0, -9.0], np.float32)), {"reduction": "max"}, "same"),
    "scatter_update(min)": ("scatter_update", (_F, np.array([[0, 0], [1, 2]]), np.array([-9.0, 9.0], np.float32)),
                            {"reduction": "min"}, "same"),
    "scatter_update(mul)": ("scatter_update", (_F, np.array([[0, 0], [0, 0]]), np.array([2.0, 3.0], np.float32)),
                            {"reduction": "mul"}, "same"),
    "stop_gradient(variable)": ("stop_gradient", (), {"variable": _F}, "same"),
    "convert_to_tensor(sparse=False)": ("convert_to_tensor", (_F,), {"sparse": False}, "same"),
    "one_hot(dtype=None)": ("nn.one_hot", (np.array([0, 2, 1]), 3), {}, "same"),
    "moments(synchronized=False)": ("nn.moments", (_F, [0]), {"synchronized": False}, "same"),
    "bincount": ("bincount", (np.array([1, 1, 3, 0, 3, 3], np.int32),), {}, "same"),
    "bincount(weights, minlength)": ("bincount", (np.array([1, 1, 3], np.int32),),
                                     {"weights": np.array([0.5, 1.0, 2.0], np.float32), "minlength": 6}, "same"),
    "histogram": ("histogram", (_HIST,), {"bins": 3}, "same"),
    "histogram(range)": ("histogram", (_HIST,), {"bins": 4, "range": (0, 4)}, "same"),
    "unique": ("unique", (_I,), {}, "same"),
    # 1-D: Keras's torch backend fails on return_index of a 2-D tensor
    "unique(all)": ("unique", (_I.ravel(),), {"return_index": True, "return_inverse": True, "return_counts": True},
                    "same"),
    "unique(inverse of 2-D)": ("unique", (_I,), {"return_inverse": True, "return_counts": True}, "same"),
    "unique(size, fill_value)": ("unique", (_I.ravel(),), {"return_index": True, "return_counts": True, "size": 6,
                                                           "fill_value": 9}, "same"),
    "unique(size, cut)": ("unique", (_I,), {"return_counts": True, "size": 2}, "same"),
    "unique(axis)": ("unique", (np.array([[1, 0], [0, 1], [1, 0]], np.int32),),
                     {"axis": 0, "return_inverse": True, "return_counts": True}, "same"),
    "nonzero": ("nonzero", (_I - 1,), {}, "same"),
    "in_top_k": ("in_top_k", (np.array([1, 0, 2], np.int32), _LOGITS, 2), {}, "same"),
    "rearrange": ("rearrange", (_F.reshape(2, 6), "a (b c) -> (c a) b"), {"c": 2}, "same"),
    "rearrange(transpose)": ("rearrange", (np.arange(24, dtype=np.float32).reshape(2, 3, 4), "a b c -> c (a b)"),
                             {}, "same"),
}
_ANSWERS: dict[str, dict[str, Any]] = {}


def _keras_answers(backend: str) -> dict[str, Any]:
    """Every case of ``KERAS_CASES`` computed by Keras 3 on ``backend``, in one subprocess."""
    if backend not in _ANSWERS:
        data: dict[str, np.ndarray] = {}

        def literal(value: Any, key: str) -> str:
            if isinstance(value, np.ndarray):
                data[key] = value
                return f"ops.convert_to_tensor(data[{key!r}])"
            if isinstance(value, (list, tuple)):
                items = ", ".join(literal(v, f"{key}_{i}") for i, v in enumerate(value))
                return f"({items},)" if isinstance(value, tuple) else f"[{items}]"
            return repr(value)

        lines = []
        for n, (label, (path, args, kwargs, which)) in enumerate(KERAS_CASES.items()):
            if which != "same" and backend != "numpy":
                continue
            call = ", ".join([literal(a, f"c{n}a{i}") for i, a in enumerate(args)]
                             + [f"{k}={literal(v, f'c{n}k{k}')}" for k, v in kwargs.items()])
            lines.append(f"try:\n"
                         f"    r = ops.{path}({call})\n"
                         f"    parts = list(r) if isinstance(r, (tuple, list)) else [r]\n"
                         f"    out[{label + '#n'!r}] = np.asarray(len(parts) if isinstance(r, (tuple, list)) else -1)\n"
                         f"    for i, p in enumerate(parts):\n"
                         f"        out[{label!r} + '#' + str(i)] = np.asarray(ops.convert_to_numpy(p))\n"
                         f"except Exception as err:\n"
                         f"    out[{label + '#error'!r}] = f'{{type(err).__name__}}: {{err}}'\n")
        _ANSWERS[backend] = run_keras("".join(lines), data, backend=backend)
    return _ANSWERS[backend]


def _ours(path: str, args: tuple, kwargs: dict) -> Any:
    fn = ops
    for part in path.split("."):
        fn = getattr(fn, part)
    convert = lambda v: tensor(v) if isinstance(v, np.ndarray) else [convert(i) for i in v] \
        if isinstance(v, list) else v  # noqa: E731
    return fn(*[convert(a) for a in args], **{k: convert(v) for k, v in kwargs.items()})


@pytest.mark.parametrize("label", sorted(KERAS_CASES))
def test_equal_keras_on_the_same_engine(engine, label):
    path, args, kwargs, which = KERAS_CASES[label]
    backend = engine.name if which == "same" else "numpy"
    answers = _keras_answers(backend)
    assert label + "#error" not in answers, f"{label}: Keras 3 on {backend} failed: {answers[label + '#error']}"
    result = _ours(path, args, kwargs)
    parts = list(result) if isinstance(result, (tuple, list)) else [result]
    count = int(answers[label + "#n"])
    if count == -1 and len(parts) > 1:  # Keras's torch backend stacks nonzero's (and where's) index tensors
        parts = [ops.stack(parts)]
    assert len(parts) == max(count, 1), f"{label}: {len(parts)} outputs, Keras on {backend} {count}"
    for i, part in enumerate(parts):
        want, got = answers[f"{label}#{i}"], numpy(part)
        assert got.shape == want.shape, f"{label} output {i}: shape {got.shape}, Keras on {backend} {want.shape}"
        if want.dtype.kind == "f" or got.dtype.kind == "f":
            assert_close(got.astype(np.float64), want.astype(np.float64), "reduction", "float32",
                         err_msg=f"{label} output {i} against Keras on {backend}")
        else:
            np.testing.assert_array_equal(got, want, err_msg=f"{label} output {i} against Keras on {backend}")


@pytest.mark.parametrize("label, dtype", [
    ("ones(dtype=None)", "float32"), ("full(int fill)", "float32"), ("eye(k<0, dtype)", "int32"),
    ("arange(step=None)", "int32"), ("arange(float)", "float32"), ("cumsum(dtype)", "int32"),
    ("cumprod(dtype)", "float32"), ("cumsum(bool)", "int32"), ("one_hot(dtype=None)", "float32"),
    ("round(int, decimals=-1)", "int32"), ("in_top_k", "bool"), ("bincount", "int32"),
    ("bincount(weights, minlength)", "float32"), ("histogram", "float32"),
])
def test_result_dtypes_are_keras(engine, label, dtype):
    path, args, kwargs, _ = KERAS_CASES[label]
    result = _ours(path, args, kwargs)
    first = result[0] if isinstance(result, (tuple, list)) else result
    assert ops.dtype(first) == dtype, f"{label}: dtype {ops.dtype(first)}"


def test_signatures_are_keras_3():
    keras = pytest.importorskip("keras")
    from conformance.keras_signatures import signature_difference

    names = ["arange", "convert_to_tensor", "cumprod", "cumsum", "einsum", "eye", "full", "max", "min", "ones",
             "zeros", "pad", "prod", "reshape", "round", "stack", "stop_gradient", "take_along_axis", "where",
             "slice", "slice_update", "scatter_update", "bincount", "histogram", "unique", "nonzero",
             "argpartition", "in_top_k", "rearrange"]
    for name in names:
        theirs, ours = inspect.signature(getattr(keras.ops, name)), inspect.signature(getattr(ops, name))
        assert signature_difference(theirs, ours) == "", name
    for name in ["moments", "one_hot"]:
        theirs, ours = inspect.signature(getattr(keras.ops.nn, name)), inspect.signature(getattr(ops.nn, name))
        assert signature_difference(theirs, ours) == "", name


# --------------------------------------------------------------- more behaviour
def test_eye_max_and_unique_follow_floatx_and_the_partition_property(engine):
    if supports("float64"):
        with _floatx("float64"):
            assert [ops.dtype(t) for t in (ops.ones((2,)), ops.zeros(2), ops.full((2,), 1), ops.eye(2, k=1),
                                           ops.one_hot(tensor(np.array([1])), 2))] == ["float64"] * 5
    x = np.array([7.0, -1.0, 3.0, 3.0, 0.0, 9.0, 2.0], np.float32)
    for kth in range(-7, 7):
        idx = numpy(ops.argpartition(tensor(x), kth))
        assert sorted(idx) == list(range(7))
        kth %= 7
        part = x[idx]
        assert part[kth] == np.sort(x)[kth] and (part[:kth] <= part[kth]).all() and (part[kth:] >= part[kth]).all()


class _floatx:
    def __init__(self, dtype: str) -> None:
        self.dtype = dtype

    def __enter__(self) -> None:
        self.old = polykeras.config.floatx()
        polykeras.config.set_floatx(self.dtype)

    def __exit__(self, *exc: Any) -> None:
        polykeras.config.set_floatx(self.old)


def test_unique_with_size_runs_inside_jit(engine):
    if not engine.differentiable:  # the NumPy engine compiles nothing: jit is refused by name
        with pytest.raises(NotImplementedError, match="jit"):
            ops.jit(lambda x: ops.unique(x, size=4))
        return
    x = tensor(np.array([[3, 1, 2], [1, 3, 5]], np.int32))
    values, index, inverse, counts = ops.jit(
        lambda t: ops.unique(t, return_index=True, return_inverse=True, return_counts=True, size=5, fill_value=-1))(x)
    np.testing.assert_array_equal(numpy(values), [1, 2, 3, 5, -1])
    np.testing.assert_array_equal(numpy(index), [1, 2, 0, 5, 1])
    np.testing.assert_array_equal(numpy(inverse), [[2, 0, 1], [0, 2, 3]])
    np.testing.assert_array_equal(numpy(counts), [2, 1, 2, 1, 0])


def test_data_dependent_shapes_inside_jit_are_refused_by_name(engine):
    x = tensor(np.array([0, 2, 0, 3], np.int32))
    for call, name in [(lambda t: ops.nonzero(t), "nonzero"), (lambda t: ops.unique(t), "unique"),
                       (lambda t: ops.bincount(t), "bincount")]:
        if not engine.differentiable:  # no compiled functions: the eager answer
            np.testing.assert_array_equal(numpy(ops.nonzero(x)[0]), [1, 3])
            continue
        try:
            out = ops.jit(call)(x)
        except Exception as err:  # noqa: BLE001 - the kind is the engine's; the text names the op
            assert name in str(err) and ("size" in str(err) or "compiled" in str(err)), str(err)
        else:  # torch's jit runs Python eagerly, values and all: the answer must be the eager one
            want = call(x)
            pairs = zip(out if isinstance(out, tuple) else (out,), want if isinstance(want, tuple) else (want,))
            for got, ref in pairs:
                np.testing.assert_array_equal(numpy(got), numpy(ref))


def test_symbolic_tensors_use_the_shape_rules(engine):
    x = polykeras.Input((5,), dtype="int32")
    f = polykeras.Input((3, 4))
    assert tuple(ops.bincount(x).shape) == (None, None)
    assert [tuple(t.shape) for t in ops.nonzero(x)] == [(None,), (None,)]
    values, counts = ops.unique(x, return_counts=True)
    assert tuple(values.shape) == (None,) and counts.dtype == "int32"
    values, inverse = ops.unique(x, return_inverse=True, size=3)
    assert tuple(values.shape) == (3,) and tuple(inverse.shape) == (None, 5)
    counts, edges = ops.histogram(f, bins=6)
    assert tuple(counts.shape) == (6,) and tuple(edges.shape) == (7,)
    assert tuple(ops.argpartition(f, 1).shape) == (None, 3, 4)
    assert tuple(ops.argpartition(f, 1, axis=None).shape) == (None,)
    assert tuple(ops.in_top_k(ops.argmax(f[:, 0], axis=-1), f[:, 0], 2).shape) == (None,)
    assert tuple(ops.rearrange(f, "b h w -> b (w h)").shape) == (None, 12)
    assert tuple(ops.rearrange(f, "b (h1 h) w -> (b h1) w h", h1=3).shape) == (None, 4, 1)
    assert tuple(ops.max(f, axis=1, initial=0.0).shape) == (None, 4)
    assert tuple(ops.eye(3, 4, k=1).shape) == (3, 4)
    model = polykeras.Model(f, ops.rearrange(f, "b h w -> b w h"))
    data = _RNG.normal(size=(2, 3, 4)).astype(np.float32)
    np.testing.assert_allclose(numpy(model(tensor(data))), data.transpose(0, 2, 1))


def test_new_parameter_names_bind_and_callers_keep_working(engine):
    x = tensor(_F)
    np.testing.assert_array_equal(numpy(ops.reshape(x, newshape=(4, 3))), _F.reshape(4, 3))
    np.testing.assert_array_equal(numpy(ops.stack(x=[x, x])), np.stack([_F, _F]))
    np.testing.assert_array_equal(numpy(ops.slice(inputs=x, start_indices=(0, 1), shape=(1, 2))), _F[:1, 1:3])
    np.testing.assert_array_equal(numpy(ops.stop_gradient(variable=x)), _F)
    v = polykeras.Variable(_F)
    np.testing.assert_array_equal(numpy(ops.stop_gradient(v)), _F)


@pytest.mark.parametrize("call, kind, words", [
    (lambda: ops.pad(tensor(_F), [(1, 1), (0, 0)], mode="reflect", constant_values=0), ValueError,
     "constant_values only with mode='constant'"),
    (lambda: ops.where(tensor(_F > 0), tensor(_F)), ValueError, "both x1 and x2, or neither"),
    (lambda: ops.scatter_update(tensor(_F), [[0, 0]], tensor(np.ones(1, np.float32)), reduction="sum"), ValueError,
     "reduction in"),
    (lambda: ops.einsum("ij->ji", tensor(_F), foo=1), TypeError, "einsum: expected only the keyword arguments"),
    (lambda: ops.take_along_axis(tensor(_F), tensor(np.zeros((2, 2), np.int32))), ValueError,
     "1-D indices when axis is None"),
    (lambda: ops.max(tensor(_F), axis=3, initial=0.0), ValueError, "axes within the rank 2"),
    (lambda: ops.bincount(tensor(np.array([-1, 2], np.int32))), ValueError, "non-negative"),
    (lambda: ops.bincount(tensor(_F)), ValueError, "non-negative integers"),
    (lambda: ops.bincount(tensor(np.array([1, 2], np.int32)), weights=tensor(np.ones(3, np.float32))), ValueError,
     "weights of x's shape"),
    (lambda: ops.histogram(tensor(_F), bins=0), ValueError, "positive int number of bins"),
    (lambda: ops.histogram(tensor(_F), range=(2, 1)), ValueError, "low <= high"),
    (lambda: ops.unique(tensor(_I), size=-1), ValueError, "non-negative int size"),
    (lambda: ops.unique(tensor(_I), axis=2), ValueError, "axis within the rank"),
    (lambda: ops.argpartition(tensor(_F), 4), ValueError, "kth within the axis length 4"),
    (lambda: ops.in_top_k(tensor(_LOGITS), tensor(_LOGITS), 1), ValueError, "integer targets"),
    (lambda: ops.rearrange(tensor(_F), "a b -> a"), ValueError, "same axis names"),
    (lambda: ops.rearrange(tensor(_F), "a b c -> c b a"), ValueError, "rank 3"),
    (lambda: ops.rearrange(tensor(_F), "(a b) c -> a b c", a=2), ValueError, "divisible by 2"),
    (lambda: ops.rearrange(tensor(_F), "a ... -> a"), ValueError, "axis names and (groups)"),
])
def test_bad_inputs_name_the_op(engine, call, kind, words):
    with pytest.raises(kind, match=re.escape(words)):
        call()


@pytest.mark.parametrize("call, flag", [
    (lambda: ops.one_hot(tensor(np.array([0, 1])), 3, sparse=True), "one_hot: sparse=True"),
    (lambda: ops.convert_to_tensor([1.0], sparse=True), "convert_to_tensor: sparse=True"),
    (lambda: ops.convert_to_tensor([1.0], ragged=True), "convert_to_tensor: ragged=True"),
    (lambda: ops.bincount(tensor(np.array([0, 1])), sparse=True), "bincount: sparse=True"),
])
def test_sparse_results_are_refused_by_name(engine, call, flag):
    with pytest.raises(NotImplementedError, match=re.escape(flag)):
        call()
