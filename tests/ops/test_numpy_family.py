"""The ``keras.ops.numpy`` families beyond the core (``polykeras/ops/
elementwise.py``, ``arrays.py``, ``statistics.py``) on every engine: each
conformance case of ``conformance/checks/ops_numpy_family.py`` forward against
NumPy (hypothesis examples, quick profile), Keras 3's dtype rules, and the
errors and edge values the strategies do not reach. Gradients run in
test_gradients.py (the cases join ``ops_gradients.CASES``)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

from conformance.checks.base import Meter
from conformance.checks.ops import check_example
from conformance.checks.ops_numpy_family import CASES
from polykeras import ops

from ._helpers import check, need, numpy, supports, tensor

COVERED = {case.op for case in CASES}
_BY_NAME = {case.name: case for case in CASES}


@pytest.mark.parametrize("name", sorted(_BY_NAME))
def test_forward_matches_numpy(engine, name):
    case = _BY_NAME[name]
    dtypes = [d for d in case.dtypes if supports(d)]
    assert dtypes, f"{name}: the {engine.name} engine holds none of {case.dtypes}"
    for dtype in dtypes:
        @settings(max_examples=6)
        @given(example=case.example(dtype, _QUICK))
        def prop(example):
            check_example(case, dtype, example, Meter())
        prop()


class _Quick:
    name, examples, max_side, draws = "quick", 6, 4, 1


_QUICK = _Quick()


# ------------------------------------------------------------- elementwise
def test_special_values(engine):
    x = np.array([-np.inf, -1.0, -0.0, 0.0, 1.0, np.inf, np.nan], np.float32)
    check(ops.signbit(tensor(x)), np.signbit(x), "elementwise", "bool", what="signbit")
    check(ops.isposinf(tensor(x)), np.isposinf(x), "elementwise", "bool", what="isposinf")
    check(ops.isneginf(tensor(x)), np.isneginf(x), "elementwise", "bool", what="isneginf")
    check(ops.nan_to_num(tensor(x)), np.nan_to_num(x), "elementwise", "float32", what="nan_to_num")
    check(ops.fmax(tensor(x), tensor(x[::-1].copy())), np.fmax(x, x[::-1]), "elementwise", "float32", what="fmax")
    check(ops.isclose(tensor(x), tensor(x), equal_nan=True), np.isclose(x, x, equal_nan=True), "elementwise", "bool")
    check(ops.divide_no_nan(tensor(x[1:5]), tensor(np.array([0.0, 2.0, 0.0, 4.0], np.float32))),
          np.array([0.0, -0.0, 0.0, 0.25]), "elementwise", "float32", what="divide_no_nan")


@pytest.mark.parametrize("name, ints, out", [
    ("fabs", [-2, 3], "float32"), ("cbrt", [-8, 27], "float32"), ("log2", [1, 8], "float32"),
    ("trunc", [-2, 3], "int32"), ("absolute", [-2, 3], "int32"), ("copy", [-2, 3], "int32"),
    ("sinc", [0, 1], "float32"), ("deg2rad", [0, 180], "float32"),
])
def test_integer_inputs_follow_keras_dtypes(engine, name, ints, out):
    x = np.array(ints, np.int32)
    reference = {"fabs": np.fabs, "cbrt": np.cbrt, "log2": np.log2, "trunc": np.trunc, "absolute": np.abs,
                 "copy": np.copy, "sinc": np.sinc, "deg2rad": np.deg2rad}[name]
    check(getattr(ops, name)(tensor(x)), reference(x.astype(np.float64)), "transcendental", out, what=name)


def test_ldexp_needs_integer_exponents(engine):
    with pytest.raises(TypeError, match="ldexp: expected a tensor and integer exponents"):
        ops.ldexp(tensor(np.ones(2, np.float32)), tensor(np.ones(2, np.float32)))


def test_copy_is_a_new_tensor(engine):
    x = tensor(np.arange(3, dtype=np.float32))
    y = ops.copy(x)
    assert y is not x
    np.testing.assert_array_equal(numpy(y), [0.0, 1.0, 2.0])


def test_float64_kept(engine):
    need("float64")
    x = np.array([0.25, 0.5], np.float64)
    check(ops.arctanh(tensor(x)), np.arctanh(x), "transcendental", "float64", what="arctanh")


# ------------------------------------------------------------- statistics
def test_quantile_methods_and_nan_slices(engine):
    x = np.array([[3.0, np.nan, 1.0, 2.0], [np.nan, np.nan, np.nan, np.nan]], np.float32)
    check(ops.nanmedian(tensor(x), axis=1), np.array([2.0, np.nan]), "reduction", "float32", what="nanmedian")
    check(ops.nanmax(tensor(x), axis=1), np.array([3.0, np.nan]), "elementwise", "float32", what="nanmax")
    y = np.array([4.0, 1.0, 3.0, 2.0], np.float32)
    for method in ("linear", "lower", "higher", "midpoint", "nearest"):
        check(ops.quantile(tensor(y), [0.25, 0.5], method=method), np.quantile(y, [0.25, 0.5], method=method),
              "reduction", "float32", what=method)


def test_bad_arguments_name_the_op(engine):
    x = tensor(np.ones((2, 3), np.float32))
    with pytest.raises(ValueError, match="quantile: expected .*method.*received"):
        ops.quantile(x, 0.5, method="cubic")
    with pytest.raises(ValueError, match="searchsorted: expected a 1-D ascending sequence"):
        ops.searchsorted(x, x)
    with pytest.raises(ValueError, match="correlate: expected two 1-D tensors and mode"):
        ops.correlate(x[0], x[1], mode="circular")
    with pytest.raises(ValueError, match="rot90: expected .*two different axes"):
        ops.rot90(x, axes=(0, 0))
    with pytest.raises(ValueError, match="diag: expected a 1-D or 2-D tensor"):
        ops.diag(tensor(np.ones((2, 2, 2), np.float32)))


def test_compiled_matches_eager(diff_engine):
    rng = np.random.default_rng(3)
    x = tensor(rng.uniform(-2.0, 2.0, (3, 4)).astype(np.float32))

    def program(x):
        return [ops.quantile(x, [0.2, 0.9], axis=1), ops.nanstd(x, axis=0), ops.tril(x), ops.roll(x, 2, axis=1),
                ops.kron(x[:2, :2], x[:1]), ops.arcsinh(x), ops.hypot(x, 1.5), ops.correlate(x[0], x[1, :2], "full"),
                ops.trace(x), ops.searchsorted(ops.sort(x[0]), x[1]), ops.linspace(x[0, 0], x[0, 1], 4),
                ops.slogdet(x[:3, :3])[1]]

    eager = program(x)
    compiled = ops.jit(program)(x)
    for i, (a, b) in enumerate(zip(compiled, eager)):
        check(a, numpy(b), "reduction", ops.dtype(b), what=f"output {i} compiled vs eager")


# ---------------------------------------------------------------- bitwise
def test_bitwise_refuses_floats_and_engines_without_a_kernel(engine):
    with pytest.raises(TypeError, match="bitwise_and: expected two integer or bool tensors"):
        ops.bitwise_and(tensor(np.ones(2, np.float32)), 1)
    with pytest.raises(TypeError, match="left_shift: expected two integer tensors"):
        ops.left_shift(tensor(np.ones(2, bool)), 1)
    from polykeras.backends.numpy_family import NumpyFamily

    x = tensor(np.array([1, 2], np.int32))
    with pytest.raises(NotImplementedError, match=f"The '{engine.name}' engine has no bitwise kernels"):
        NumpyFamily.bitwise_kernel(engine, "and", x, x)  # the protocol's default, for engines without kernels


def test_bitwise_python_ints_are_weak(engine):
    x = np.array([12, -10], np.int32)
    check(ops.bitwise_and(tensor(x), 6), np.bitwise_and(x, 6), "elementwise", "int32")
    check(ops.right_shift(tensor(x), 1), np.right_shift(x, 1), "elementwise", "int32")
    check(ops.gcd(tensor(np.array([0, 0, 7], np.int32)), tensor(np.array([0, 5, -21], np.int32))),
          np.array([0, 5, 7]), "elementwise", "int32")


# ---------------------------------------------------- native vs composite
NATIVE = ("arcsin", "arccos", "arcsinh", "arccosh", "arctanh", "cbrt", "log2", "log10")


@pytest.mark.parametrize("name", NATIVE)
def test_native_kernels_match_the_composite(engine, name):
    """Where an engine has its own kernel (NumPy, JAX), it agrees with the protocol's portable form."""
    from polykeras.backends.base import Backend

    x = np.linspace(1.1, 3.0, 7) if name == "arccosh" else np.linspace(-0.95, 0.95, 7)
    x = tensor(x.astype(np.float32))
    portable = getattr(Backend, name)(engine, x)
    check(getattr(engine, name)(x), numpy(portable), "transcendental", "float32", what=f"{name}: native vs composite")


def test_symbolic_inputs_record_nodes(engine):
    import polykeras

    x = polykeras.Input((3, 4))
    assert ops.ndim(x) == 3 and ops.size(x) is None  # the batch size is unknown
    assert tuple(ops.median(x, axis=-1).shape) == (None, 3)
    assert tuple(ops.quantile(x, [0.1, 0.5], axis=1).shape) == (2, None, 4)
    assert tuple(ops.tril(x).shape) == (None, 3, 4)
    assert ops.bitwise_and(polykeras.Input((2,), dtype="int32"), 3).dtype == "int32"
