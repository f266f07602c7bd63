"""Forward cases of the engine-facing basics (creation, conversion,
introspection, ``stop_gradient``, ``jit``, ``value_and_grad``) and the
property checks of ``ops.random`` (draws cannot equal a reference, so their
shapes, dtypes, ranges, moments and seeding are checked instead).

Example:
    >>> sorted(RANDOM_CHECKS)[:2]
    ['random.categorical', 'random.dropout']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import strategies as st

from conformance import reference as ref
from conformance import strategies as cs
from conformance.checks.base import Context, Profile, supports
from conformance.checks.opcase import Example, OpCase
from polykeras import ops

__all__ = ["CASES", "NEEDS_GRADIENTS", "RAW_INPUTS", "RANDOM_CHECKS"]

CASES: list[OpCase] = []
#: Ops whose arrays are passed as NumPy data, not converted to engine tensors first.
RAW_INPUTS = {"convert_to_tensor"}
#: Ops whose forward check needs an engine with autodiff and a compiler.
NEEDS_GRADIENTS = {"value_and_grad", "jit", "linalg.jvp"}
_ALL = ("float32", "float64", "int32", "bool")


def _shape(p: Profile) -> st.SearchStrategy[tuple[int, ...]]:
    return cs.shapes(max_side=p.max_side)


@st.composite
def _array(draw: Any, dtype: str, p: Profile) -> Example:
    return Example((draw(cs.arrays(dtype, _shape(p))),))


@st.composite
def _convertible(draw: Any, dtype: str, p: Profile) -> Example:
    x = draw(cs.arrays(dtype, _shape(p)))
    return Example((x,), {"as_list": draw(st.booleans()) and dtype in ("float32", "int32", "bool")})


def _convert(x: Any, as_list: bool) -> Any:
    return ops.convert_to_tensor(x.tolist() if as_list else x)  # Python floats -> float32, ints -> int32


CASES += [
    OpCase("convert_to_tensor", lambda d, p: _convertible(d, p), _convert, lambda x, as_list: x, dtypes=_ALL),
    OpCase("to_numpy", lambda d, p: _array(d, p), ops.to_numpy, lambda x: x, dtypes=_ALL),
    OpCase("convert_to_numpy", lambda d, p: _array(d, p), ops.convert_to_numpy, lambda x: x, dtypes=_ALL),
    OpCase("is_tensor", lambda d, p: _array(d, p), ops.is_tensor, lambda x: True, dtypes=_ALL, python=True),
    OpCase("shape", lambda d, p: _array(d, p), ops.shape, lambda x: x.shape, dtypes=_ALL, python=True),
    OpCase("dtype", lambda d, p: _array(d, p), ops.dtype, lambda x: x.dtype.name, dtypes=_ALL, python=True),
    OpCase("zeros_like", lambda d, p: _array(d, p), ops.zeros_like, np.zeros_like, dtypes=_ALL),
    OpCase("ones_like", lambda d, p: _array(d, p), ops.ones_like, np.ones_like, dtypes=_ALL),
    OpCase("stop_gradient", lambda d, p: _array(d, p), ops.stop_gradient, lambda x: x),
]


@st.composite
def _creation(draw: Any, dtype: str, p: Profile, fill: bool = False) -> Example:
    kwargs: dict[str, Any] = {"shape": draw(_shape(p)), "dtype": dtype}
    if fill:
        kwargs["fill_value"] = draw(st.sampled_from([0, 1, -3, True] if dtype in ("int32", "bool") else
                                                    [0.0, 1.5, -2.25, 1e-3]))
    return Example((), kwargs)


CASES += [
    OpCase("zeros", lambda d, p: _creation(d, p), ops.zeros, lambda shape, dtype: np.zeros(shape, dtype),
           dtypes=_ALL, out="$dtype"),
    OpCase("ones", lambda d, p: _creation(d, p), ops.ones, lambda shape, dtype: np.ones(shape, dtype),
           dtypes=_ALL, out="$dtype"),
    OpCase("full", lambda d, p: _creation(d, p, fill=True), ops.full, np.full, dtypes=_ALL, out="$dtype"),
]


@st.composite
def _eye(draw: Any, dtype: str, p: Profile) -> Example:
    n = draw(st.integers(1, p.max_side + 1))
    return Example((), {"N": n, "M": draw(st.one_of(st.none(), st.integers(1, p.max_side + 1))), "dtype": dtype})


@st.composite
def _arange(draw: Any, dtype: str, p: Profile) -> Example:
    if dtype == "int32":
        start, stop, step = draw(st.integers(-5, 5)), draw(st.integers(-5, 12)), draw(st.sampled_from([1, 2, 3, -1]))
    else:
        start, stop, step = (draw(st.sampled_from(v)) for v in ([-1.5, 0.0, 0.5], [2.0, 4.25, -3.0], [0.5, 1.0, -0.75]))
    if p.name != "full" and (stop - start) * step <= 0:
        # An empty range (the step pointing away from stop) is NumPy's [];
        # only the full profile draws it (the torch engine raises there).
        start, stop = stop, start
        if start == stop:
            stop = start + step
    return Example((), {"start": start, "stop": stop, "step": step, "dtype": dtype})


CASES += [
    OpCase("eye", lambda d, p: _eye(d, p), ops.eye, lambda N, M, dtype: np.eye(N, M, dtype=dtype),
           dtypes=("float32", "int32"), out="$dtype"),
    OpCase("arange", lambda d, p: _arange(d, p), ops.arange,
           lambda start, stop, step, dtype: np.arange(start, stop, step),
           dtypes=("float32", "int32"), out="$dtype"),
]


def _fn(x: Any) -> Any:
    return ops.add(ops.sum(ops.multiply(x, x), axis=-1), 1.0)


def _value_and_grad(x: Any) -> tuple[Any, Any]:
    value, (grad,) = ops.value_and_grad(lambda ws: ops.sum(_fn(ws[0])))([x])
    return value, grad


CASES += [
    OpCase("jit", lambda d, p: _array(d, p).filter(lambda e: e.arrays[0].ndim > 0), lambda x: ops.jit(_fn)(x),
           lambda x: np.sum(x * x, axis=-1) + 1.0, "reduction"),
    OpCase("value_and_grad",
           lambda d, p: _array(d, p).filter(lambda e: e.arrays[0].ndim > 0),
           _value_and_grad, lambda x: (np.sum(x * x) + np.prod(x.shape[:-1]), 2.0 * x), "reduction"),
]

# ---------------------------------------------------------------- random
N = 20000  # draws for moment checks: the standard error of a mean is ~0.007 stddev


def _near(ctx: Context, value: float, target: float, bound: float, what: str) -> None:
    """``value`` within ``bound`` of ``target`` (bounds at ~5 standard
    errors). A statistic, not an engine difference: not metered."""
    if abs(value - target) > bound:
        raise AssertionError(f"{what}: {value:.5g}, expected {target:.5g} +- {bound:.3g}")


def _seeded(ctx: Context, draw: Callable[[Any], Any], what: str) -> np.ndarray:
    """The same seed gives the same numbers; another seed others."""
    a, b = np.asarray(ops.to_numpy(draw(ctx.seed + 42))), np.asarray(ops.to_numpy(draw(ctx.seed + 42)))
    c = np.asarray(ops.to_numpy(draw(ctx.seed + 43)))
    if not np.array_equal(a, b):
        raise AssertionError(f"{what}: the same seed gave different values")
    if np.array_equal(a, c):
        raise AssertionError(f"{what}: two seeds gave the same values")
    return a


def _random_normal(ctx: Context) -> None:
    for dtype in ("float32", "float64"):
        if not supports(ctx.engine, dtype):
            continue
        out = ops.random.normal((N,), mean=2.0, stddev=3.0, dtype=dtype, seed=ctx.seed + 1)
        assert ops.shape(out) == (N,) and ops.dtype(out) == dtype, (ops.shape(out), ops.dtype(out))
        x = np.asarray(ops.to_numpy(out), np.float64)
        _near(ctx, x.mean(), 2.0, 5 * 3.0 / np.sqrt(N), f"normal mean ({dtype})")
        _near(ctx, x.std(), 3.0, 5 * 3.0 / np.sqrt(2 * N), f"normal stddev ({dtype})")
        _near(ctx, float(((x - 2.0) / 3.0 > 1.0).mean()), 0.158655, 0.02, "normal tail mass beyond 1 sigma")
    _seeded(ctx, lambda s: ops.random.normal((3, 4), seed=s), "normal")


def _random_uniform(ctx: Context) -> None:
    out = ops.random.uniform((100, N // 100), minval=-1.0, maxval=3.0, seed=ctx.seed + 2)
    assert ops.shape(out) == (100, N // 100) and ops.dtype(out) == "float32"
    x = np.asarray(ops.to_numpy(out), np.float64)
    assert x.min() >= -1.0 and x.max() < 3.0, f"uniform draws outside [-1, 3): {x.min()}, {x.max()}"
    _near(ctx, x.mean(), 1.0, 5 * 4.0 / np.sqrt(12 * N), "uniform mean")
    counts = np.histogram(x, bins=4, range=(-1, 3))[0] / x.size
    _near(ctx, float(np.abs(counts - 0.25).max()), 0.0, 0.02, "uniform quarter counts")
    _seeded(ctx, lambda s: ops.random.uniform((3, 4), seed=s), "uniform")


def _random_truncated_normal(ctx: Context) -> None:
    x = np.asarray(ops.to_numpy(ops.random.truncated_normal((N,), mean=1.0, stddev=2.0, seed=ctx.seed + 3)),
                   np.float64)
    assert x.min() >= -3.0 and x.max() <= 5.0, f"truncated_normal outside two stddevs: {x.min()}, {x.max()}"
    _near(ctx, x.mean(), 1.0, 0.05, "truncated_normal mean")
    _near(ctx, x.std(), 2.0 * 0.879626, 0.05, "truncated_normal stddev")  # truncation at 2 sigma: 0.8796 sigma
    _seeded(ctx, lambda s: ops.random.truncated_normal((3, 4), seed=s), "truncated_normal")


def _random_categorical(ctx: Context) -> None:
    logits = np.log(np.array([[0.1, 0.2, 0.7], [0.5, 0.5, 1e-12]], np.float32)).astype(np.float32)
    out = ops.random.categorical(ops.convert_to_tensor(logits), 4000, seed=ctx.seed + 4)
    assert ops.shape(out) == (2, 4000) and ops.dtype(out) == "int32", (ops.shape(out), ops.dtype(out))
    x = np.asarray(ops.to_numpy(out))
    freq = np.stack([np.bincount(row, minlength=3) / row.size for row in x])
    _near(ctx, float(np.abs(freq - ref.softmax(logits)).max()), 0.0, 0.04, "categorical class frequencies")
    _seeded(ctx, lambda s: ops.random.categorical(ops.convert_to_tensor(logits), 8, seed=s), "categorical")


def _random_dropout(ctx: Context) -> None:
    x = np.full((200, 100), 2.0, np.float32)
    for rate in (0.1, 0.5):
        out = np.asarray(ops.to_numpy(ops.random.dropout(ops.convert_to_tensor(x), rate, seed=ctx.seed + 9)))
        zeros = out == 0.0
        _near(ctx, float(zeros.mean()), rate, 5 * np.sqrt(rate * (1 - rate) / x.size), f"dropout rate {rate}")
        kept = out[~zeros]
        ctx.meter.compare(kept, np.full(kept.shape, 2.0 / (1.0 - rate)), "elementwise", "float32",
                          what=f"dropout scaling at rate {rate}")
    rows = np.asarray(ops.to_numpy(ops.random.dropout(ops.convert_to_tensor(x[:64, :5]), 0.5, noise_shape=(64, 1),
                                                      seed=ctx.seed + 1)))
    assert np.all(np.all(rows == 0.0, axis=1) | np.all(rows == 4.0, axis=1)), "noise_shape (64, 1) must drop whole rows"
    _seeded(ctx, lambda s: ops.random.dropout(ops.convert_to_tensor(x[:4]), 0.5, seed=s), "dropout")


def _random_shuffle(ctx: Context) -> None:
    x = np.arange(60, dtype=np.float32).reshape(20, 3)
    for axis, data in ((0, x), (1, x.T.copy())):
        out = np.asarray(ops.to_numpy(ops.random.shuffle(ops.convert_to_tensor(data), axis=axis, seed=ctx.seed + 5)))
        ctx.meter.exact(np.sort(out, axis=axis), data, what=f"shuffle(axis={axis}) is a permutation")
        moved, original = (out, data) if axis == 0 else (out.T, data.T)
        assert {tuple(r) for r in moved} == {tuple(r) for r in original}, f"shuffle(axis={axis}) split rows"
        assert not np.array_equal(out, data), f"shuffle(axis={axis}) left 20 entries in order"
    _seeded(ctx, lambda s: ops.random.shuffle(ops.convert_to_tensor(x), seed=s), "shuffle")


def _random_seed_tensor(ctx: Context) -> None:
    seed = ops.random.seed_tensor(5)
    assert ops.is_tensor(seed) and ops.shape(seed) == (2,) and ops.dtype(seed) == "int32", "seed_tensor(5)"
    ctx.meter.exact(ops.to_numpy(ops.random.normal((4,), seed=seed)), ops.to_numpy(ops.random.normal((4,), seed=5)),
                    what="a seed tensor draws as its int")
    assert ops.shape(ops.random.seed_tensor(None)) == (2,)


def _random_set_global_seed(ctx: Context) -> None:
    ops.random.set_global_seed(ctx.seed + 7)
    first = ops.to_numpy(ops.random.uniform((8,)))
    ops.random.set_global_seed(ctx.seed + 7)
    ctx.meter.exact(ops.to_numpy(ops.random.uniform((8,))), first, what="set_global_seed reproduces unseeded draws")
    ops.random.set_global_seed(None)


def _moments(ctx: Context, x: np.ndarray, mean: float, var: float, what: str) -> None:
    """Mean and variance at 5 standard errors (the variance's estimated from
    the sample's fourth moment)."""
    x = np.asarray(x, np.float64)
    _near(ctx, x.mean(), mean, 5 * np.sqrt(var / x.size), f"{what} mean")
    fourth = ((x - x.mean()) ** 4).mean()
    _near(ctx, x.var(), var, 5 * np.sqrt(max(fourth - x.var() ** 2, 0.0) / x.size) + 1e-6, f"{what} variance")


# Gamma-based draws all have the shape (N,): JAX compiles their rejection loops once per shape.
def _random_gamma(ctx: Context) -> None:
    x = np.asarray(ops.to_numpy(ops.random.gamma((N,), 2.0, seed=ctx.seed + 10)))
    assert x.dtype == np.float32 and x.min() > 0.0, (x.dtype, x.min())
    _moments(ctx, x, 2.0, 2.0, "gamma(2)")
    _seeded(ctx, lambda s: ops.random.gamma((N,), 2.0, seed=s), "gamma")


def _random_beta(ctx: Context) -> None:
    x = np.asarray(ops.to_numpy(ops.random.beta((N,), 2.0, 5.0, seed=ctx.seed + 11)))
    assert x.min() >= 0.0 and x.max() <= 1.0, f"beta draws outside [0, 1]: {x.min()}, {x.max()}"
    _moments(ctx, x, 2.0 / 7.0, 10.0 / (49.0 * 8.0), "beta(2, 5)")
    _seeded(ctx, lambda s: ops.random.beta((N,), 2.0, 5.0, seed=s), "beta")


def _random_binomial(ctx: Context) -> None:
    x = np.asarray(ops.to_numpy(ops.random.binomial((N,), 10, 0.3, seed=ctx.seed + 12)))
    assert np.array_equal(x, np.round(x)) and x.min() >= 0 and x.max() <= 10, "binomial draws outside 0..10"
    _moments(ctx, x, 3.0, 2.1, "binomial(10, 0.3)")
    _seeded(ctx, lambda s: ops.random.binomial((N,), 10, 0.3, seed=s), "binomial")


def _random_randint(ctx: Context) -> None:
    out = ops.random.randint((N,), -2, 4, seed=ctx.seed + 13)
    assert ops.dtype(out) == "int32", ops.dtype(out)
    x = np.asarray(ops.to_numpy(out))
    assert x.min() == -2 and x.max() == 3, f"randint(-2, 4) drew {x.min()}..{x.max()}"
    freq = np.bincount(x + 2, minlength=6) / N
    _near(ctx, float(np.abs(freq - 1 / 6).max()), 0.0, 0.015, "randint value frequencies")
    _seeded(ctx, lambda s: ops.random.randint((N,), 0, 1000, seed=s), "randint")


RANDOM_CHECKS: dict[str, Callable[[Context], None]] = {
    "random.gamma": _random_gamma, "random.beta": _random_beta, "random.binomial": _random_binomial,
    "random.randint": _random_randint,
    "random.normal": _random_normal, "random.uniform": _random_uniform,
    "random.truncated_normal": _random_truncated_normal, "random.categorical": _random_categorical,
    "random.dropout": _random_dropout, "random.shuffle": _random_shuffle,
    "random.seed_tensor": _random_seed_tensor, "random.set_global_seed": _random_set_global_seed,
}
