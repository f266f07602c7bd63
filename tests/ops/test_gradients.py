"""Gradients of every differentiable op (the cases of
``conformance/checks/ops_gradients.py``) on every
differentiating engine, against central finite differences of the float64
reference; and, at kinks where finite differences say nothing, against each
other."""

from __future__ import annotations

import os
import zlib

import numpy as np
import pytest

import polykeras.backends as B
from conformance.checks.base import Meter
from conformance.checks.ops import check_gradient
from conformance.checks.ops_gradients import CASES, NOT_DIFFERENTIABLE
from conformance.tolerances import assert_close
from polykeras import ops

from ._helpers import need, numpy, tensor

COVERED_GRADIENTS = {case.op for case in CASES.values()}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gradient_matches_finite_differences(diff_engine, name, dtype):
    need(dtype)
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    check_gradient(f"{name} on {diff_engine.name}", CASES[name], dtype, rng, Meter())


# ------------------------------------------------- kinks: engines must agree
def _weighted_loss(call, weights, dtype):
    def loss(params):
        total = None
        for out, weight in zip(_as_tuple(call(*params)), weights):
            term = ops.sum(ops.multiply(out, tensor(weight.astype(dtype))))
            total = term if total is None else ops.add(total, term)
        return total
    return loss


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


KINKS = {
    "relu": (lambda x: ops.relu(x), [np.array([-1.0, 0.0, 2.0])]),
    "abs": (lambda x: ops.abs(x), [np.array([-1.0, 0.0, 2.0])]),
    "relu6": (lambda x: ops.relu6(x), [np.array([0.0, 3.0, 6.0])]),
    "leaky_relu": (lambda x: ops.leaky_relu(x), [np.array([-1.0, 0.0, 1.0])]),
    "hard_sigmoid": (lambda x: ops.hard_sigmoid(x), [np.array([-3.0, 0.0, 3.0])]),
    "clip": (lambda x: ops.clip(x, -1.0, 1.0), [np.array([-1.0, 0.0, 1.0])]),
    "max": (lambda x: ops.max(x, axis=1), [np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])]),
    "sort": (lambda x: ops.sort(x), [np.array([[2.0, 1.0, 2.0, 1.0]])]),
    "top_k": (lambda x: ops.top_k(x, 2)[0], [np.array([[2.0, 3.0, 3.0, 1.0]])]),
    "max_pool": (lambda x: ops.max_pool(x, 2), [np.ones((1, 2, 2, 1))]),
    # ties in every window position, an odd edge, "same" padding, overlapping windows, 3-D
    "max_pool_ties": (lambda x: ops.max_pool(x, 2), [np.array(
        [[1, 1, 0, 2, 5], [1, 0, 2, 2, 5], [3, 3, 3, 1, 5], [3, 3, 1, 1, 5], [4, 4, 4, 4, 4]], float)[None, ..., None]
    ]),
    "max_pool_same": (lambda x: ops.max_pool(x, 2, padding="same", data_format="channels_first"),
                      [np.array([[[2, 2, 1], [2, 0, 1], [1, 1, 1]]], float)[None]]),
    "max_pool_overlapping": (lambda x: ops.max_pool(x, 2, strides=1), [np.array(
        [[1, 1, 0], [1, 1, 0], [0, 1, 1]], float)[None, ..., None]]),
    "max_pool_3d": (lambda x: ops.max_pool(x, (1, 2, 2)), [np.array(
        [[[0, 0], [0, 0]], [[1, 1], [2, 2]]], float)[None, ..., None]]),
    "sqrt": (lambda x: ops.sqrt(x), [np.array([1.0, 4.0])]),
}


def _selected_engines(config) -> list[str]:
    chosen = config.getoption("--engines") or os.environ.get("POLYKERAS_TEST_ENGINES")
    return chosen.split(",") if chosen else B.installed()


@pytest.mark.parametrize("name", sorted(KINKS))
def test_gradient_at_kinks_agrees_across_engines(request, name):
    """Where finite differences are undefined (ties, kinks), a model moved
    between engines must still train the same: the subgradients agree."""
    engines = [n for n in _selected_engines(request.config) if B.get(n).differentiable]
    if len(engines) < 2:
        pytest.skip("needs two differentiating engines")
    call, arrays = KINKS[name]
    results = {}
    for engine_name in engines:
        with B.use(engine_name):
            params = [tensor(a.astype("float32")) for a in arrays]
            shape = ops.shape(call(*params))
            weights = [np.linspace(1.0, 2.0, int(np.prod(shape))).reshape(shape)]
            _, grads = ops.value_and_grad(_weighted_loss(call, weights, "float32"))(params)
            results[engine_name] = [numpy(g) for g in grads]
    first, *others = engines
    for other in others:
        for i, (a, b) in enumerate(zip(results[first], results[other])):
            assert_close(b, a, "gradient", "float32",
                         err_msg=f"{name}: d/d(input {i}) on {other} vs {first}: {b.tolist()} vs {a.tolist()}")


POOLS = {name: case for name, case in KINKS.items() if name.startswith("max_pool")}
# NaNs beside ties, two in one window. Not across engines: TensorFlow's kernel skips a NaN (its window's
# maximum is 3 here), and torch sends a window's gradient to its last NaN where JAX sends it to the first.
POOLS["max_pool_nan"] = (lambda x: ops.max_pool(x, 2), [np.array(
    [[1, np.nan, np.nan, 0], [3, 3, 0, np.nan], [2, 2, 1, 1], [2, np.nan, 1, 1]], float)[None, ..., None]])


@pytest.mark.parametrize("name", sorted(POOLS))
def test_compiled_max_pool_sends_the_gradient_where_eager_does(request, diff_engine, name):
    """A compiled step may pool another way than the eager kernel (torch.compile
    gets windows that do not overlap as strided slices, which Inductor fuses):
    the gradient must still reach the cell the eager kernel sends it to."""
    if name == "max_pool_nan" and diff_engine.name == "tensorflow":
        request.applymarker(pytest.mark.xfail(strict=True, reason=(
            "TensorFlow's own kernel skips NaNs, XLA's keeps them: jit_compile changes the result there")))
    call, arrays = POOLS[name]
    params = [tensor(a.astype("float32")) for a in arrays]
    shape = ops.shape(call(*params))
    weights = [np.linspace(1.0, 2.0, int(np.prod(shape))).reshape(shape)]
    gradients = ops.value_and_grad(_weighted_loss(call, weights, "float32"))
    eager = [numpy(g) for g in gradients(params)[1]]
    compiled = diff_engine.jit(lambda ps: gradients(ps)[1], jit_compile=True)
    for a, b in zip(eager, compiled(params)):
        np.testing.assert_array_equal(numpy(b), a, err_msg=f"{name} on {diff_engine.name}, compiled vs eager")


@pytest.mark.parametrize("op", ["maximum", "minimum"])
def test_ties_split_the_whole_gradient_between_the_inputs(diff_engine, op):
    """At a tie of maximum/minimum the engines' kernels split the gradient
    differently (TensorFlow: all to the first input; PyTorch and JAX: half
    each; see conformance/tolerances.py), but every engine passes on the whole
    upstream gradient, and off ties they agree exactly."""
    a, b = np.array([1.0, 2.0, 3.0], "float32"), np.array([1.0, 0.0, 4.0], "float32")
    fn = getattr(ops, op)
    _, (ga, gb) = ops.value_and_grad(lambda ps: ops.sum(fn(ps[0], ps[1])))([tensor(a), tensor(b)])
    ga, gb = numpy(ga), numpy(gb)
    np.testing.assert_allclose(ga + gb, np.ones(3), rtol=0, atol=0)
    winner_is_a = (a > b) if op == "maximum" else (a < b)
    np.testing.assert_array_equal(ga[1:], winner_is_a[1:].astype("float32"))


def test_every_op_has_a_gradient_case_or_a_reason():
    overlap = COVERED_GRADIENTS & set(NOT_DIFFERENTIABLE)
    assert not overlap, f"ops both tested and listed as not differentiable: {sorted(overlap)}"
