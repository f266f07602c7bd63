"""The further ``keras.ops.linalg`` ops (``norm``, ``pinv``, ``lstsq``,
``matrix_rank``, ``solve_triangular``, ``cholesky_inverse``) and
``keras.ops.math``'s ``erfc``, ``logdet``, segment reductions and
``extract_sequences`` on every engine: the conformance cases of
``conformance/checks/ops_linalg_extra.py`` forward, numbers against Keras 3,
and the errors. Gradients run in test_gradients.py."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
from hypothesis import given, settings

from conformance.checks.base import Meter
from conformance.checks.ops import check_example
from conformance.checks.ops_linalg_extra import CASES
from conformance.tolerances import assert_close
from polykeras import ops

from ._helpers import numpy, supports, tensor
from tests.layers.helpers import keras_numpy

os.environ.setdefault("KERAS_BACKEND", "numpy")

COVERED = {case.op for case in CASES}
_BY_NAME = {case.name: case for case in CASES if case.op != "linalg.jvp"}  # jvp: test_jvp below


class _Quick:
    name, examples, max_side, draws = "quick", 4, 4, 1


@pytest.mark.parametrize("name", sorted(_BY_NAME))
def test_forward_matches_numpy(engine, name):
    case = _BY_NAME[name]
    for dtype in [d for d in case.dtypes if supports(d)]:
        @settings(max_examples=3)
        @given(example=case.example(dtype, _Quick()))
        def prop(example):
            check_example(case, dtype, example, Meter())
        prop()


_RNG = np.random.default_rng(5)
_M = _RNG.normal(size=(2, 4, 3)).astype(np.float32)
_SPD = (lambda a: a @ np.swapaxes(a, -1, -2) + 3 * np.eye(3, dtype=np.float32))(
    _RNG.normal(size=(2, 3, 3)).astype(np.float32))


@pytest.mark.parametrize("name, args, kwargs", [
    ("linalg.norm", (_M,), {}), ("linalg.norm", (_M,), {"ord": "fro", "axis": (1, 2)}),
    ("linalg.norm", (_M,), {"ord": 1, "axis": -1, "keepdims": True}), ("linalg.pinv", (_M,), {}),
    ("linalg.matrix_rank", (_M,), {}), ("linalg.cholesky_inverse", (np.linalg.cholesky(_SPD[0]),), {}),
    ("linalg.solve_triangular", (np.linalg.cholesky(_SPD), _M[:, :3]), {"lower": True}),
    ("linalg.lstsq", (_M[0], _M[1]), {}), ("logdet", (_SPD,), {}), ("erfc", (_M,), {}),
    ("extract_sequences", (_M.reshape(2, 12), 5, 2), {}),
    ("segment_sum", (_M[0], np.array([0, 2, 2, 1], np.int32)), {"num_segments": 4}),
    ("segment_max", (_M[0], np.array([0, 2, 2, 1], np.int32)), {"num_segments": 3}),
])
def test_equal_keras(engine, name, args, kwargs):
    module, _, attr = name.rpartition(".")
    want = keras_numpy(f"ops.{name}", *args, **kwargs)
    mine = getattr(ops.linalg if module else ops, attr)
    got = numpy(mine(*[tensor(a) if isinstance(a, np.ndarray) else a for a in args], **kwargs))
    assert got.shape == want.shape, f"{name}: shape {got.shape}, Keras {want.shape}"
    assert_close(got, want.astype(np.float64), "linalg", "float32", err_msg=f"{name} against Keras")


@pytest.mark.parametrize("call, words", [
    (lambda: ops.linalg.norm(tensor(np.ones((2, 3, 4), np.float32)), ord="fro", axis=-1), "numeric ord"),
    (lambda: ops.linalg.norm(tensor(np.ones((2, 3, 4), np.float32)), ord=3, axis=(0, 1)), "matrix ord"),
    (lambda: ops.linalg.norm(tensor(np.ones((2, 3, 4), np.float32)), ord=1), "vector or matrix"),
    (lambda: ops.linalg.lstsq(tensor(np.ones((3, 2), np.float32)), tensor(np.ones((4,), np.float32))), "b (m,)"),
    (lambda: ops.logdet(tensor(np.ones((2, 3), np.float32))), "square matrices"),
    (lambda: ops.segment_sum(tensor(np.ones((3, 2), np.float32)), tensor(np.array([0, 1]))), "length n"),
    (lambda: ops.extract_sequences(tensor(np.ones((2, 3), np.float32)), 4, 1), "sequence_length"),
])
def test_bad_inputs_name_the_op(engine, call, words):
    with pytest.raises((ValueError, TypeError), match=re.escape(words)):
        call()


def test_an_engine_without_eigh_refuses_by_name(engine):
    from polykeras.backends.linalg_extra import LinalgExtraComposites

    class Bare(LinalgExtraComposites):
        name = "bare"

    with pytest.raises(NotImplementedError, match="linalg.eigh: the 'bare' engine"):
        Bare().eigh(tensor(np.eye(2, dtype=np.float32)))
    w, _ = ops.linalg.eigh(tensor(np.diag([2.0, 1.0]).astype(np.float32)))  # every built-in engine has one
    np.testing.assert_allclose(numpy(w), [1.0, 2.0], atol=1e-6)


def test_jvp_on_differentiating_engines_and_refused_by_name_elsewhere(engine):
    x = np.array([0.3, 1.0, -2.0], np.float32)
    call = lambda: ops.linalg.jvp(lambda a: (ops.exp(a), ops.sum(a)), (tensor(x),), (tensor(np.ones(3, np.float32)),),  # noqa: E731
                                  has_aux=True)
    if not engine.differentiable:
        with pytest.raises(NotImplementedError, match=f"linalg.jvp: the '{engine.name}' engine"):
            call()
        return
    case = next(c for c in CASES if c.op == "linalg.jvp")
    check_example(case, "float32", case.example("float32", _Quick()).example(), Meter())
    out, tangent, aux = call()
    assert_close(numpy(tangent), np.exp(x.astype(np.float64)), "transcendental", "float32", err_msg="jvp of exp")
    assert_close(numpy(aux), np.float64(x.sum()), "reduction", "float32", err_msg="jvp aux")
