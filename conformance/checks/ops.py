"""The ``ops`` family: every public op forward against the float64 reference
(hypothesis examples, per dtype the engine holds) and every differentiable op's
gradient against central finite differences of the reference.

Rows are named after the op (``add``, ``gelu(approximate=False)``) and, for
gradients, ``<case>:grad``.

Example:
    >>> checks = op_checks()
    >>> missing = public_ops() - covered_forward()
"""

from __future__ import annotations

import inspect
import zlib
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, assume, given, reporting, settings
from hypothesis import seed as hypothesis_seed

import polykeras.backends as B
from conformance import reference as ref
from conformance.checks import (ops_arrays, ops_control_flow, ops_core, ops_gradients, ops_image, ops_linalg_extra,
                               ops_math, ops_nn_extra, ops_numpy_family, ops_signal)
from conformance.checks import ops_counting
from conformance.checks.base import Check, Context, Meter, Skip, supports
from conformance.checks.opcase import Example, OpCase, as_outputs, to_reference
from polykeras import ops

__all__ = ["FORWARD_CASES", "covered_forward", "covered_gradients", "op_checks", "public_ops"]

FORWARD_CASES: list[OpCase] = [*ops_core.CASES, *ops_math.CASES, *ops_arrays.CASES, *ops_numpy_family.CASES,
                               *ops_control_flow.CASES, *ops_nn_extra.CASES, *ops_linalg_extra.CASES,
                               *ops_image.CASES, *ops_signal.CASES]
FORWARD_CASES += ops_counting.CASES


def public_ops() -> set[str]:
    """Every public op: ``polykeras.ops.__all__`` plus the functions of
    ``ops.core``/``nn``/``numpy``/``linalg``/``random``/``image`` (the last
    three prefixed ``linalg.``/``random.``/``image.``).

    Example: ``"linalg.inv" in public_ops()`` -> ``True``
    """
    from polykeras.ops import core, image, linalg, nn, random
    from polykeras.ops import numpy as numpy_ops

    names = {name for name in ops.__all__ if callable(getattr(ops, name)) and not inspect.isclass(getattr(ops, name))
             and not inspect.ismodule(getattr(ops, name))
             and not getattr(getattr(ops, name), "op_key", "").startswith("linalg.")}
    for module, prefix in ((core, ""), (nn, ""), (numpy_ops, ""), (linalg, "linalg."), (random, "random."),
                           (image, "image.")):
        for name, value in vars(module).items():
            if not name.startswith("_") and inspect.isfunction(value) and value.__module__ == module.__name__:
                names.add(prefix + name)
    return names


def covered_forward() -> set[str]:
    """Ops with a forward check."""
    return {case.op for case in FORWARD_CASES} | set(ops_core.RANDOM_CHECKS)


def covered_gradients() -> set[str]:
    """Ops with a gradient check, or a stated reason for none."""
    return {case.op for case in ops_gradients.CASES.values()} | set(ops_gradients.NOT_DIFFERENTIABLE)


# ---------------------------------------------------------------- forward
def _host(x: Any) -> np.ndarray:
    return x if isinstance(x, np.ndarray) else np.asarray(ops.to_numpy(x))


def _dtype_of(x: Any) -> str:
    return x.dtype.name if isinstance(x, np.ndarray) else ops.dtype(x)


def check_example(case: OpCase, dtype: str, example: Example, meter: Meter) -> None:
    """Run ``case`` on one example on the active engine and compare every
    output's dtype, shape and numbers with the reference."""
    wanted_dtypes = case.out_dtypes(dtype, 1, example.kwargs) if case.out == "$dtype" else []
    if any(not supports(B.active().name, d) for d in wanted_dtypes):
        assume(False)  # e.g. cast to float64 on an engine without float64: not this engine's business
    raw = case.op in ops_core.RAW_INPUTS
    args = list(example.arrays) if raw else [ops.convert_to_tensor(a) for a in example.arrays]
    result = case.call(*args, **example.kwargs)
    with np.errstate(all="ignore"):
        inputs = example.arrays if case.python else to_reference(example.arrays)
        expected = case.reference(*inputs, **example.kwargs)
    what = f"{case.name} at {dtype} on {example!r}"
    if case.python:
        if result != expected:
            raise AssertionError(f"{what}: returned {result!r}, expected {expected!r}")
        meter.note(0.0, 0.0)
        return
    outputs, wanted = as_outputs(result), as_outputs(expected)
    if len(outputs) != len(wanted):
        raise AssertionError(f"{what}: {len(outputs)} outputs, expected {len(wanted)}")
    for i, (out, want, out_dtype) in enumerate(zip(outputs, wanted, case.out_dtypes(dtype, len(wanted),
                                                                                   example.kwargs))):
        label = what if len(outputs) == 1 else f"{what}, output {i}"
        got = _dtype_of(out)
        if got != out_dtype:
            raise AssertionError(f"{label}: dtype {got}, expected {out_dtype}")
        want = np.asarray(want)
        if not out_dtype.startswith("float"):
            want = want.astype(out_dtype)
        meter.compare(_host(out), want, case.family, out_dtype, what=label)


def _seed_for(name: str, seed: int) -> int:
    return (zlib.crc32(name.encode()) + seed) % 2**32


def _forward(case: OpCase) -> Any:
    def run(ctx: Context) -> str:
        if case.op in ops_core.NEEDS_GRADIENTS:
            ctx.require_gradients()
        missing = [d for d in case.dtypes if not supports(ctx.engine, d)]
        dtypes = [d for d in case.dtypes if d not in missing]
        if not dtypes:
            raise Skip(f"the {ctx.engine} engine holds none of {', '.join(case.dtypes)}")
        for dtype in dtypes:
            _property(case, dtype, ctx)
        return f"{', '.join(missing)} not held by this engine" if missing else ""
    return run


def _property(case: OpCase, dtype: str, ctx: Context) -> None:
    lines: list[str] = []

    @settings(max_examples=ctx.profile.examples, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck), phases=(Phase.explicit, Phase.generate, Phase.shrink),
              report_multiple_bugs=False, print_blob=False)
    @hypothesis_seed(_seed_for(f"{case.name}/{dtype}", ctx.seed))
    @given(example=case.example(dtype, ctx.profile))
    def prop(example: Example) -> None:
        check_example(case, dtype, example, ctx.meter)

    with reporting.with_reporter(lines.append):
        prop()


# --------------------------------------------------------------- gradients
def _gradient(label: str, case: ops_gradients.GradCase) -> Any:
    def run(ctx: Context) -> str:
        ctx.require_gradients()
        dtypes = [d for d in ("float32", "float64") if supports(ctx.engine, d)]
        for draw in range(ctx.profile.draws):
            rng = np.random.default_rng(_seed_for(label, ctx.seed) + 7919 * draw)
            for dtype in dtypes:
                check_gradient(label, case, dtype, rng, ctx.meter)
        return "" if "float64" in dtypes else "float64 not held by this engine"
    return run


def check_gradient(label: str, case: ops_gradients.GradCase, dtype: str, rng: np.random.Generator,
                   meter: Meter) -> None:
    """Differentiate ``case`` at ``dtype`` on the active engine (inputs drawn
    from ``rng``) and compare value and gradients with central finite
    differences of the float64 reference (or ``case.gradient``); ``meter``
    raises ``AssertionError`` on a mismatch.

    Example: ``check_gradient("exp", CASES["exp"], "float32", np.random.default_rng(0), Meter())``
    """
    arrays = [np.asarray(a).astype(dtype) for a in case.inputs(rng)]
    exact = [a.astype(np.float64) for a in arrays]
    weights = [rng.uniform(-1, 1, np.shape(out)).astype(dtype).astype(np.float64)
               for out in as_outputs(case.reference(*exact))]

    def reference_loss(*xs: np.ndarray) -> float:
        return float(sum(np.sum(np.asarray(out) * w) for out, w in zip(as_outputs(case.reference(*xs)), weights)))

    def loss(params: list[Any]) -> Any:
        total = None
        for out, weight in zip(as_outputs(case.call(*params)), weights):
            term = ops.sum(ops.multiply(out, ops.convert_to_tensor(weight.astype(dtype))))
            total = term if total is None else ops.add(total, term)
        return total

    what = f"{label} at {dtype}"
    value, grads = ops.value_and_grad(loss)([ops.convert_to_tensor(a) for a in arrays])
    if case.gradient is None:
        expected = ref.numeric_grad(reference_loss, exact)
        meter.compare(_host(value), np.float64(reference_loss(*exact)), "gradient", dtype, what=f"{what}: value")
    else:
        expected = case.gradient(*exact, weights=weights, dtype=dtype)
    if len(grads) != len(arrays):
        raise AssertionError(f"{what}: {len(grads)} gradients for {len(arrays)} inputs")
    for i, (grad, want) in enumerate(zip(grads, expected)):
        if ops.dtype(grad) != dtype:
            raise AssertionError(f"{what}: gradient {i} has dtype {ops.dtype(grad)}")
        meter.compare(_host(grad), want, "gradient", dtype, what=f"{what}: d/d(input {i})")


def _random(name: str) -> Any:
    def run(ctx: Context) -> None:
        ops_core.RANDOM_CHECKS[name](ctx)
    return run


def op_checks() -> list[Check]:
    """One forward check per case (random ops: property checks) and one
    gradient check per gradient case, ordered by op name."""
    checks = [Check(case.name, "ops", _forward(case), (case.op,)) for case in FORWARD_CASES]
    checks += [Check(name, "ops", _random(name), (name,)) for name in ops_core.RANDOM_CHECKS]
    checks += [Check(f"{label}:grad", "ops", _gradient(label, case), (case.op,))
               for label, case in ops_gradients.CASES.items()]
    from conformance.checks import half_precision

    checks += half_precision.op_checks()  # float16 and bfloat16 rows of a representative set
    names = [c.name for c in checks]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValueError(f"conformance: duplicate op check names {sorted(duplicates)}; give the cases labels.")
    return sorted(checks, key=lambda c: (c.covers[0], c.name.endswith(":grad"), c.name))
