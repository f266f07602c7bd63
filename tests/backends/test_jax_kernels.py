"""The JAX engine's compiled kernels (``backends/jax/core.kernel``): an eager
call runs the compiled kernel; under an enclosing trace the kernel's code runs
inline, so a compiled training step differentiates plain primitives instead of
nested ``jit`` calls (whose backward pass runs slower)."""

from __future__ import annotations

import numpy as np
import pytest

import polykeras.backends as B

pytestmark = pytest.mark.skipif("jax" not in B.installed(), reason="jax not installed")


def _nested_calls(jaxpr) -> list[str]:
    """Names of the nested ``jit`` calls in a jaxpr, recursively."""
    found = []
    for eqn in jaxpr.eqns:
        if eqn.primitive.name in ("jit", "pjit"):
            found.append(eqn.params["name"])
            found += _nested_calls(eqn.params["jaxpr"].jaxpr)
    return found


def test_kernels_run_inline_under_a_trace():
    import jax

    engine = B.get("jax")
    x = np.random.default_rng(0).standard_normal((2, 8, 8, 3)).astype("float32")
    kernel = np.random.default_rng(1).standard_normal((3, 3, 3, 4)).astype("float32")

    def loss(x, kernel):
        h = engine.conv(x, kernel, (1, 1), "same", "channels_last", (1, 1))
        h = engine.max_pool(engine.relu(h), (2, 2), (2, 2), "valid", "channels_last")
        return engine.sum(engine.average_pool(h, (2, 2), (1, 1), "same", "channels_last"))

    traced = jax.make_jaxpr(jax.grad(loss, argnums=(0, 1)))(x, kernel).jaxpr
    ours = {"_conv", "_max_pool", "_average_pool"} & set(_nested_calls(traced))
    assert not ours, f"kernels nested as jit calls under a trace: {ours}"
    # eagerly the same calls give the traced program's numbers
    eager = jax.grad(loss, argnums=(0, 1))(x, kernel)
    compiled = jax.jit(jax.grad(loss, argnums=(0, 1)))(x, kernel)
    for a, b in zip(eager, compiled):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)


def test_an_eager_call_runs_the_compiled_kernel(monkeypatch):
    from polykeras.backends.jax import core

    calls = []

    def inner(x, power):
        calls.append(type(x).__name__)
        return x ** power

    cube = core.kernel(inner, static_argnums=1)
    x = np.arange(3.0, dtype="float32")
    np.testing.assert_array_equal(np.asarray(cube(x, 3)), x ** 3)
    np.testing.assert_array_equal(np.asarray(cube(x, 3)), x ** 3)
    assert len(calls) == 1  # traced once by jit, then the cached executable runs


def _primitives(jaxpr) -> set[str]:
    """Every primitive in a jaxpr, nested jaxprs (calls, custom rules) included."""
    from jax.extend.core import subjaxprs

    return {eqn.primitive.name for eqn in jaxpr.eqns}.union(*map(_primitives, subjaxprs(jaxpr)))


@pytest.mark.parametrize("pool, strides, padding", [
    ((2, 2), (2, 2), "valid"), ((3, 3), (2, 2), "same"), ((2, 2), (1, 1), "valid"), ((1, 3), (2, 1), "same"),
])
def test_max_pool_differentiates_without_select_and_scatter(pool, strides, padding):
    """XLA differentiates a max reduce_window with select-and-scatter, which
    it runs as a scatter on the CPU; a max pool here is separable strided
    slices' maxima instead, whose gradient is elementwise."""
    import jax

    engine = B.get("jax")
    x = np.random.default_rng(0).standard_normal((2, 7, 7, 3)).astype("float32")
    loss = lambda x: engine.sum(engine.max_pool(x, pool, strides, padding, "channels_last"))  # noqa: E731
    found = _primitives(jax.make_jaxpr(jax.grad(loss))(x).jaxpr)
    assert not {"select_and_scatter_add", "reduce_window_max", "scatter-add", "scatter_add"} & found, sorted(found)
