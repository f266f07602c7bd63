"""Forward and gradient cases of the ``keras.ops.numpy`` families beyond the
core (``polykeras/ops/elementwise.py``, ``arrays.py``, ``statistics.py``):
each op against its NumPy float64 reference, with the strategies of
:mod:`conformance.checks.opcase` and the tolerances of the one table.

``CASES`` join :data:`conformance.checks.ops.FORWARD_CASES`; ``GRADIENTS``
and ``NOT_DIFFERENTIABLE`` join those of :mod:`conformance.checks.ops_gradients`.

Example:
    >>> [case.name for case in CASES][:2]
    ['absolute', 'fabs']
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from hypothesis import strategies as st

from conformance import strategies as cs
from conformance.checks.base import Profile
from conformance.checks.opcase import FLOATS, NUMERIC, Example, OpCase, binary, fixed, unary, with_axis
from polykeras import ops

__all__ = ["CASES", "GRADIENTS", "NOT_DIFFERENTIABLE"]

CASES: list[OpCase] = []
#: label -> (call, reference, inputs): made into ``GradCase`` by ops_gradients.
GRADIENTS: dict[str, tuple[Any, Any, Any]] = {}
NOT_DIFFERENTIABLE: dict[str, str] = {}

_WIDE = {"min_value": -100.0, "max_value": 100.0}
_SPECIAL = {"allow_nan": True, "allow_inf": True}


def _op(name: str) -> Any:
    return getattr(ops, name)


def _float_of(dtype: str) -> str:
    """Keras 3's float-valued result dtype for a drawn dtype."""
    return dtype if dtype.startswith("float") else "float32"


def _uniform(*shapes: tuple[int, ...], low: float = -2.0, high: float = 2.0) -> Any:
    return lambda rng: [rng.uniform(low, high, s) for s in shapes]


# ------------------------------------------------------------- elementwise
for _name, _ref, _family, _dtypes, _domain, _out in [
    ("absolute", np.absolute, "elementwise", NUMERIC, _WIDE, None),
    ("fabs", np.fabs, "elementwise", NUMERIC, _WIDE, _float_of),
    ("arcsin", np.arcsin, "transcendental", FLOATS, {"min_value": -0.99, "max_value": 0.99}, None),
    ("arccos", np.arccos, "transcendental", FLOATS, {"min_value": -0.99, "max_value": 0.99}, None),
    ("arcsinh", np.arcsinh, "transcendental", NUMERIC, _WIDE, _float_of),
    ("arccosh", np.arccosh, "transcendental", FLOATS, {"min_value": 1.01, "max_value": 100.0}, None),
    ("arctanh", np.arctanh, "transcendental", FLOATS, {"min_value": -0.99, "max_value": 0.99}, None),
    ("cbrt", np.cbrt, "transcendental", NUMERIC, _WIDE, _float_of),
    ("exp2", np.exp2, "transcendental", FLOATS, {"min_value": -20.0, "max_value": 20.0}, None),
    ("log2", np.log2, "transcendental", FLOATS, {"min_value": 1e-3, "max_value": 100.0}, None),
    ("log10", np.log10, "transcendental", FLOATS, {"min_value": 1e-3, "max_value": 100.0}, None),
    ("deg2rad", np.deg2rad, "elementwise", NUMERIC, _WIDE, _float_of),
    ("rad2deg", np.rad2deg, "elementwise", NUMERIC, _WIDE, _float_of),
    ("sinc", np.sinc, "transcendental", FLOATS, {"min_value": -2.0, "max_value": 2.0}, None),
    ("trunc", np.trunc, "elementwise", NUMERIC, _WIDE, None),
    ("conj", np.conj, "elementwise", NUMERIC, _WIDE, None),
    ("conjugate", np.conjugate, "elementwise", NUMERIC, _WIDE, None),
    ("real", np.real, "elementwise", NUMERIC, _WIDE, None),
    ("imag", lambda x: np.zeros_like(x), "elementwise", NUMERIC, _WIDE, None),
    ("copy", np.copy, "elementwise", (*NUMERIC, "bool"), _WIDE, None),
]:
    CASES.append(OpCase(_name, unary(**_domain), _op(_name), _ref, _family, _dtypes, out=_out))

for _name, _ref in [("signbit", np.signbit), ("isposinf", np.isposinf), ("isneginf", np.isneginf),
                    ("isreal", np.isreal)]:
    CASES.append(OpCase(_name, unary(**_SPECIAL), _op(_name), _ref, dtypes=NUMERIC, out="bool"))
# the default replacements of inf are the dtype's extremes, which a float64 reference cannot give at float32:
# tests/ops/test_numpy_family.py checks them per dtype
CASES.append(OpCase("nan_to_num", unary(**_SPECIAL),
                    functools.partial(ops.nan_to_num, nan=1.5, posinf=9.0, neginf=-9.0),
                    functools.partial(np.nan_to_num, nan=1.5, posinf=9.0, neginf=-9.0),
                    label="nan_to_num(nan=1.5, ...)"))


def _fmod_keep(x1: np.ndarray, x2: np.ndarray) -> bool:
    if x1.dtype.kind != "f":
        return True  # an exact remainder
    q = np.asarray(x1, np.float64) / np.asarray(x2, np.float64)
    return bool(np.all(np.abs(q - np.round(q)) > 1e-4 * np.maximum(1.0, np.abs(q))))


_NONZERO = {"min_magnitude": 0.1}
for _name, _ref, _family, _dtypes, _domain, _second, _keep, _out in [
    ("logaddexp", np.logaddexp, "transcendental", FLOATS, _WIDE, None, None, None),
    ("logaddexp2", np.logaddexp2, "transcendental", FLOATS, _WIDE, None, None, None),
    ("hypot", np.hypot, "transcendental", FLOATS, _WIDE, None, None, None),
    ("heaviside", np.heaviside, "elementwise", FLOATS, {"min_value": -2.0, "max_value": 2.0}, None, None, None),
    ("true_divide", np.true_divide, "elementwise", NUMERIC, _WIDE, {"min_magnitude": 1e-2}, None, _float_of),
    ("fmod", np.fmod, "elementwise", NUMERIC, _WIDE, _NONZERO, _fmod_keep, None),
    ("divide_no_nan", lambda a, b: np.where(b == 0, 0.0, a / np.where(b == 0, 1.0, b)), "elementwise", NUMERIC,
     {"min_value": -3.0, "max_value": 3.0}, None, None, _float_of),
    ("fmax", np.fmax, "elementwise", NUMERIC, {**_WIDE, "allow_nan": True}, None, None, None),
    ("fmin", np.fmin, "elementwise", NUMERIC, {**_WIDE, "allow_nan": True}, None, None, None),
]:
    CASES.append(OpCase(_name, binary(second=_second, keep=_keep, **_domain), _op(_name), _ref, _family, _dtypes,
                        out=_out))
CASES.append(OpCase("isclose", binary(min_value=-3.0, max_value=3.0, **_SPECIAL), ops.isclose, np.isclose,
                    dtypes=FLOATS, out="bool"))
CASES.append(OpCase("isclose", binary(min_value=-3.0, max_value=3.0, **_SPECIAL),
                    functools.partial(ops.isclose, rtol=0.5, atol=0.1, equal_nan=True),
                    functools.partial(np.isclose, rtol=0.5, atol=0.1, equal_nan=True), dtypes=FLOATS, out="bool",
                    label="isclose(rtol=0.5, atol=0.1, equal_nan=True)"))


@st.composite
def _ldexp(draw: Any, dtype: str, profile: Profile) -> Example:
    shapes = draw(cs.broadcast_shapes(max_side=profile.max_side))
    return Example((draw(cs.arrays(dtype, shapes[0], min_value=-10.0, max_value=10.0)),
                    draw(cs.arrays("int32", shapes[1], min_value=-8, max_value=8))))


CASES.append(OpCase("ldexp", lambda d, p: _ldexp(d, p), ops.ldexp, lambda x1, x2: np.ldexp(x1, x2.astype(np.int32)),
                    dtypes=FLOATS))

for _name, _ref, _inputs in [
    ("absolute", np.absolute, lambda rng: [rng.uniform(0.2, 2, (2, 3)) * rng.choice([-1.0, 1.0], (2, 3))]),
    ("fabs", np.fabs, lambda rng: [rng.uniform(0.2, 2, (2, 3)) * rng.choice([-1.0, 1.0], (2, 3))]),
    ("arcsin", np.arcsin, _uniform((2, 3), low=-0.9, high=0.9)),
    ("arccos", np.arccos, _uniform((2, 3), low=-0.9, high=0.9)),
    ("arcsinh", np.arcsinh, _uniform((2, 3))), ("arccosh", np.arccosh, _uniform((2, 3), low=1.2, high=3.0)),
    ("arctanh", np.arctanh, _uniform((2, 3), low=-0.9, high=0.9)),
    ("cbrt", np.cbrt, lambda rng: [rng.uniform(0.3, 2, (2, 3)) * rng.choice([-1.0, 1.0], (2, 3))]),
    ("exp2", np.exp2, _uniform((2, 3))), ("log2", np.log2, _uniform((2, 3), low=0.3, high=3.0)),
    ("log10", np.log10, _uniform((2, 3), low=0.3, high=3.0)), ("deg2rad", np.deg2rad, _uniform((2, 3))),
    ("rad2deg", np.rad2deg, _uniform((2, 3))), ("sinc", np.sinc, _uniform((2, 3), low=0.1, high=1.9)),
    ("conj", np.conj, _uniform((2, 3))), ("conjugate", np.conjugate, _uniform((2, 3))),
    ("real", np.real, _uniform((2, 3))), ("copy", np.copy, _uniform((2, 3))),
]:
    GRADIENTS[_name] = (lambda x, _n=_name: getattr(ops, _n)(x), _ref, _inputs)
for _name, _ref, _inputs in [
    ("logaddexp", np.logaddexp, _uniform((2, 3), (3,))), ("logaddexp2", np.logaddexp2, _uniform((2, 3), (3,))),
    ("hypot", np.hypot, _uniform((2, 3), (3,), low=0.5, high=2.0)),
    ("true_divide", np.true_divide, lambda rng: [rng.uniform(-2, 2, (2, 3)), rng.uniform(0.5, 2, (3,))]),
    ("divide_no_nan", np.divide, lambda rng: [rng.uniform(-2, 2, (2, 3)), rng.uniform(0.5, 2, (3,))]),
    ("fmod", np.fmod, lambda rng: [rng.uniform(0.1, 0.9, (2, 3)) + rng.integers(-2, 3, (2, 3)), np.full((3,), 1.0)]),
    ("fmax", np.fmax, lambda rng: [rng.uniform(-2, 2, (2, 3)), rng.uniform(-2, 2, (2, 3)) + 0.01]),
    ("fmin", np.fmin, lambda rng: [rng.uniform(-2, 2, (2, 3)), rng.uniform(-2, 2, (2, 3)) + 0.01]),
]:
    GRADIENTS[_name] = (lambda a, b, _n=_name: getattr(ops, _n)(a, b), _ref, _inputs)
GRADIENTS["ldexp"] = (lambda x: ops.ldexp(x, ops.convert_to_tensor(np.array([1, -2, 3], np.int32))),
                      lambda x: np.ldexp(x, np.array([1, -2, 3])), _uniform((2, 3)))
GRADIENTS["nan_to_num"] = (lambda x: ops.nan_to_num(x), np.nan_to_num, _uniform((2, 3)))

NOT_DIFFERENTIABLE.update(dict.fromkeys(
    ["trunc", "signbit", "heaviside", "isclose", "isposinf", "isneginf", "isreal", "imag"],
    "piecewise constant or boolean: the gradient is zero or undefined"))


# ------------------------------------------------------------------ arrays
def _unary_with(name: str, ref: Any, label: str | None = None, *, dtypes: tuple[str, ...] = NUMERIC,
                family: str = "elementwise", min_rank: int = 0, max_rank: int = 4, out: Any = None,
                **kwargs: Any) -> None:
    """A case of ``ops.<name>(x, **kwargs)`` on one drawn tensor."""
    domain = {"min_value": -10.0, "max_value": 10.0}
    CASES.append(OpCase(name, unary(min_rank=min_rank, max_rank=max_rank, **domain),
                        functools.partial(_op(name), **kwargs), functools.partial(ref, **kwargs), family, dtypes,
                        out=out, label=label))


_unary_with("ravel", np.ravel, dtypes=(*NUMERIC, "bool"))
_unary_with("swapaxes", np.swapaxes, min_rank=2, axis1=0, axis2=-1)
_unary_with("fliplr", np.fliplr, min_rank=2)
_unary_with("flipud", np.flipud, min_rank=1)
_unary_with("roll", np.roll, shift=3)
_unary_with("roll", np.roll, "roll(axis=(0, -1))", min_rank=2, shift=(1, -2), axis=(0, -1))
_unary_with("rot90", np.rot90, min_rank=2)
_unary_with("rot90", np.rot90, "rot90(k=3, axes=(1, 0))", min_rank=2, k=3, axes=(1, 0))
_unary_with("rot90", np.rot90, "rot90(k=2)", min_rank=2, k=2)
_unary_with("diff", np.diff, min_rank=1)
_unary_with("diff", np.diff, "diff(n=2, axis=0)", min_rank=1, n=2, axis=0)
_unary_with("diagonal", np.diagonal, min_rank=2)
_unary_with("diagonal", np.diagonal, "diagonal(offset=1, axis1=-1, axis2=0)", min_rank=2, offset=1, axis1=-1, axis2=0)
_unary_with("trace", np.trace, min_rank=2, max_rank=3, family="reduction")
_unary_with("trace", np.trace, "trace(offset=-1, axis1=1, axis2=2)", min_rank=3, max_rank=3, family="reduction",
            offset=-1, axis1=1, axis2=2)
_unary_with("diag", np.diag, min_rank=1, max_rank=2)
_unary_with("diag", np.diag, "diag(k=1)", min_rank=1, max_rank=2, k=1)
_unary_with("diag", np.diag, "diag(k=-2)", min_rank=1, max_rank=2, k=-2)
_unary_with("diagflat", np.diagflat, max_rank=2, k=1)
_unary_with("tril", np.tril, min_rank=2)
_unary_with("tril", np.tril, "tril(k=-1)", min_rank=2, k=-1)
_unary_with("triu", np.triu, min_rank=2)
_unary_with("triu", np.triu, "triu(k=2)", min_rank=2, k=2)
_unary_with("vander", np.vander, min_rank=1, max_rank=1, dtypes=("int32",))
_unary_with("vander", np.vander, "vander(N=3, increasing=True)", min_rank=1, max_rank=1, dtypes=("int32",), N=3,
            increasing=True)
_unary_with("array_split", lambda x, **k: tuple(np.array_split(x, **k)), min_rank=1, indices_or_sections=3)
_unary_with("vsplit", lambda x, **k: tuple(np.vsplit(x, **k)), "vsplit([1])", min_rank=2, indices_or_sections=[1])
_unary_with("hsplit", lambda x, **k: tuple(np.hsplit(x, **k)), "hsplit([1])", min_rank=2, indices_or_sections=[1])
_unary_with("dsplit", lambda x, **k: tuple(np.dsplit(x, **k)), "dsplit([1])", min_rank=3, indices_or_sections=[1])
_unary_with("full_like", np.full_like, fill_value=3)
_unary_with("empty_like", lambda x: np.zeros_like(x))
_unary_with("copy", np.copy, "copy(rank 0..4)")
for _name in ("ndim", "size"):
    CASES.append(OpCase(_name, unary(), _op(_name), getattr(np, _name), dtypes=("float32",), python=True))


def _pair(first: Any, second: Any, name: str, ref: Any, label: str | None = None, *, dtypes: tuple[str, ...] = NUMERIC,
          family: str = "elementwise", **kwargs: Any) -> None:
    """A case of ``ops.<name>(x1, x2, **kwargs)`` with shapes drawn by ``first``/``second`` (callables of a side)."""
    @st.composite
    def draw(d: Any, dtype: str, profile: Profile) -> Example:
        side = d(st.integers(1, profile.max_side))
        # |x| >= 1e-3: a product of the smallest normal and 0.5 is subnormal, which TensorFlow flushes to 0
        bounds = {"min_value": -10.0, "max_value": 10.0, "min_magnitude": 1e-3}
        return Example((d(cs.arrays(dtype, first(side, d), **bounds)), d(cs.arrays(dtype, second(side, d), **bounds))),
                       dict(kwargs))
    CASES.append(OpCase(name, lambda dt, p: draw(dt, p), _op(name), ref, family, dtypes, label=label))


def _any_shape(side: int, d: Any) -> tuple[int, ...]:
    return d(cs.shapes(max_rank=3))


def _rows(side: int, d: Any) -> tuple[int, ...]:
    return (d(st.integers(1, 3)), side)


_pair(_any_shape, _any_shape, "append", np.append)
_pair(_rows, _rows, "append", np.append, "append(axis=0)", axis=0)
_pair(_any_shape, _any_shape, "outer", np.outer, family="matmul")
_pair(lambda s, d: (d(st.integers(1, 3)), s), lambda s, d: (s,), "inner", np.inner, family="matmul")
_pair(lambda s, d: (s, 2), lambda s, d: (s, 2), "vdot", np.vdot, family="matmul")
_pair(lambda s, d: (2, s), lambda s, d: (s, 3), "kron", np.kron)
_pair(lambda s, d: (s, 3), lambda s, d: (3,), "cross", np.cross, dtypes=FLOATS)
_pair(lambda s, d: (3, s), lambda s, d: (3, s), "cross", np.cross, "cross(axis=0)", dtypes=FLOATS, axis=0)
_pair(lambda s, d: (s, 2), lambda s, d: (s, 3), "cross", np.cross, "cross(2-vectors with 3-vectors)", dtypes=FLOATS)


@st.composite
def _stacks(draw: Any, dtype: str, profile: Profile, rank: int) -> Example:
    side = draw(st.integers(1, 3))
    shape = (side,) * rank
    count = draw(st.integers(1, 3))
    return Example(tuple(draw(cs.arrays(dtype, shape, min_value=-10.0, max_value=10.0)) for _ in range(count)))


for _name in ("hstack", "vstack", "dstack"):
    for _rank in (1, 2, 3):
        CASES.append(OpCase(_name, lambda dt, p, _r=_rank: _stacks(dt, p, _r),
                            lambda *xs, _n=_name: _op(_n)(list(xs)),
                            lambda *xs, _n=_name: getattr(np, _n)(list(xs)), dtypes=NUMERIC,
                            label=f"{_name}(rank {_rank})"))


@st.composite
def _select(draw: Any, dtype: str, profile: Profile) -> Example:
    shapes = draw(cs.broadcast_shapes(num_shapes=4, max_side=profile.max_side))
    return Example((draw(cs.arrays("bool", shapes[0])), draw(cs.arrays("bool", shapes[1])),
                    draw(cs.arrays(dtype, shapes[2], min_value=-10.0, max_value=10.0)),
                    draw(cs.arrays(dtype, shapes[3], min_value=-10.0, max_value=10.0))))


CASES.append(OpCase("select", lambda d, p: _select(d, p), lambda c1, c2, a, b: ops.select([c1, c2], [a, b], default=7),
                    lambda c1, c2, a, b: np.select([c1, c2], [a, b], default=7), dtypes=NUMERIC))


@st.composite
def _meshgrid(draw: Any, dtype: str, profile: Profile) -> Example:
    count = draw(st.integers(1, 3))
    return Example(tuple(draw(cs.arrays(dtype, (draw(st.integers(1, 4)),), min_value=-10.0, max_value=10.0))
                         for _ in range(count)), {"indexing": draw(st.sampled_from(["xy", "ij"]))})


CASES.append(OpCase("meshgrid", lambda d, p: _meshgrid(d, p), ops.meshgrid,
                    lambda *xs, indexing: tuple(np.meshgrid(*xs, indexing=indexing)), dtypes=NUMERIC))


@st.composite
def _unravel(draw: Any, dtype: str, profile: Profile) -> Example:
    shape = draw(cs.shapes(min_rank=1, max_rank=3))
    count = draw(st.integers(1, 5))
    flat = draw(st.lists(st.integers(0, int(np.prod(shape)) - 1), min_size=count, max_size=count))
    return Example((np.array(flat, np.int32),), {"shape": shape})


CASES.append(OpCase("unravel_index", lambda d, p: _unravel(d, p), ops.unravel_index,
                    lambda i, shape: tuple(np.unravel_index(i, shape)), dtypes=("int32",)))


@st.composite
def _spaces(draw: Any, dtype: str, profile: Profile, tensors: bool, positive: bool) -> Example:
    low, high = (0.5, 50.0) if positive else (-10.0, 10.0)
    start, stop = (draw(st.floats(low, high)) for _ in range(2))
    kwargs = {"num": draw(st.integers(0, 7)), "endpoint": draw(st.booleans())}
    if tensors:
        return Example((np.array([start, stop * 2], np.float32), np.array([stop, start], np.float32)),
                       {**kwargs, "axis": draw(st.sampled_from([0, -1]))})
    return Example((), {"start": start, "stop": stop, **kwargs})


for _name, _positive in [("linspace", False), ("logspace", False), ("geomspace", True)]:
    _ref = getattr(np, _name)
    _scale = (lambda a: a / 10.0) if _name == "logspace" else (lambda a: a)  # 10**x of x within +-1
    for _tensors in (False, True):
        CASES.append(OpCase(
            _name, lambda d, p, _t=_tensors, _p=_positive: _spaces(d, p, _t, _p),
            lambda *xs, _n=_name, _s=_scale, **k: _op(_n)(*(_s(x) for x in xs), **{
                key: (_s(v) if key in ("start", "stop") else v) for key, v in k.items()}),
            lambda *xs, _r=_ref, _s=_scale, **k: _r(*(_s(x) for x in xs), **{
                key: (_s(v) if key in ("start", "stop") else v) for key, v in k.items()}),
            "transcendental", ("float32",), label=f"{_name}({'tensors' if _tensors else 'numbers'})"))
CASES.append(OpCase("linspace", fixed(), lambda: ops.linspace(0.0, 1.0, 5, retstep=True),
                    lambda: np.linspace(0.0, 1.0, 5, retstep=True), "transcendental", ("float32",),
                    label="linspace(retstep=True)"))

for _name, _ref in [("tri", lambda: np.tri(3, 4, 1)), ("identity", lambda: np.identity(3)),
                    ("empty", lambda: np.zeros((2, 3))), ("array", lambda: np.array([[1.0, 2.0]])),
                    ("bartlett", lambda: np.bartlett(7)), ("blackman", lambda: np.blackman(7)),
                    ("hamming", lambda: np.hamming(6)), ("hanning", lambda: np.hanning(6)),
                    ("kaiser", lambda: np.kaiser(7, 4.5))]:
    _call = {"tri": lambda: ops.tri(3, 4, 1), "identity": lambda: ops.identity(3), "empty": lambda: ops.empty((2, 3)),
             "array": lambda: ops.array([[1.0, 2.0]]), "bartlett": lambda: ops.bartlett(7),
             "blackman": lambda: ops.blackman(7), "hamming": lambda: ops.hamming(6), "hanning": lambda: ops.hanning(6),
             "kaiser": lambda: ops.kaiser(7, 4.5)}[_name]
    CASES.append(OpCase(_name, fixed(), _call, _ref, "transcendental", ("float32",)))

_SQUARE = _uniform((3, 3))
_COND_NP = np.array([[True, False, True], [False, False, True]])
for _name, _call, _ref, _inputs in [
    ("ravel", ops.ravel, np.ravel, _uniform((2, 3))),
    ("swapaxes", lambda x: ops.swapaxes(x, 0, 2), lambda x: np.swapaxes(x, 0, 2), _uniform((2, 3, 2))),
    ("fliplr", ops.fliplr, np.fliplr, _uniform((2, 3))), ("flipud", ops.flipud, np.flipud, _uniform((2, 3))),
    ("roll", lambda x: ops.roll(x, (1, -1), axis=(0, 1)), lambda x: np.roll(x, (1, -1), axis=(0, 1)), _uniform((2, 3))),
    ("rot90", lambda x: ops.rot90(x, 3), lambda x: np.rot90(x, 3), _uniform((2, 3))),
    ("diff", lambda x: ops.diff(x, 2), lambda x: np.diff(x, 2), _uniform((2, 4))),
    ("diagonal", lambda x: ops.diagonal(x, 1, 1, 0), lambda x: np.diagonal(x, 1, 1, 0), _uniform((3, 4, 2))),
    ("trace", ops.trace, np.trace, _SQUARE), ("diag", ops.diag, np.diag, _uniform((3,))),
    ("diag(k=-1, 2-D)", lambda x: ops.diag(x, -1), lambda x: np.diag(x, -1), _SQUARE),
    ("diagflat", lambda x: ops.diagflat(x, 1), lambda x: np.diagflat(x, 1), _uniform((2, 2))),
    ("tril", ops.tril, np.tril, _SQUARE), ("triu", lambda x: ops.triu(x, 1), lambda x: np.triu(x, 1), _SQUARE),
    ("vander", lambda x: ops.vander(x, 3), lambda x: np.vander(x, 3), _uniform((3,))),
    ("full_like", lambda x: ops.add(x, ops.full_like(x, 2.0)), lambda x: x + 2.0, _uniform((2, 3))),
]:
    GRADIENTS[_name] = (_call, _ref, _inputs)
for _name, _call, _ref, _inputs in [
    ("append", lambda a, b: ops.append(a, b), np.append, _uniform((2, 2), (3,))),
    ("hstack", lambda a, b: ops.hstack([a, b]), lambda a, b: np.hstack([a, b]), _uniform((2, 2), (2, 1))),
    ("vstack", lambda a, b: ops.vstack([a, b]), lambda a, b: np.vstack([a, b]), _uniform((3,), (2, 3))),
    ("dstack", lambda a, b: ops.dstack([a, b]), lambda a, b: np.dstack([a, b]), _uniform((2, 3), (2, 3))),
    ("outer", ops.outer, np.outer, _uniform((3,), (2,))), ("inner", ops.inner, np.inner, _uniform((2, 3), (3,))),
    ("vdot", ops.vdot, np.vdot, _uniform((2, 3), (3, 2))), ("kron", ops.kron, np.kron, _uniform((2, 2), (2, 3))),
    ("cross", ops.cross, np.cross, _uniform((2, 3), (2, 3))),
    ("select", lambda a, b: ops.select([ops.convert_to_tensor(_COND_NP), ops.convert_to_tensor(~_COND_NP)], [a, b]),
     lambda a, b: np.select([_COND_NP, ~_COND_NP], [a, b]), _uniform((2, 3), (2, 3))),
    ("meshgrid", lambda a, b: tuple(ops.meshgrid(a, b)), lambda a, b: tuple(np.meshgrid(a, b)), _uniform((3,), (2,))),
]:
    GRADIENTS[_name] = (_call, _ref, _inputs)
for _name, _call, _ref in [
    ("array_split", lambda x: tuple(ops.array_split(x, 2, axis=1)), lambda x: tuple(np.array_split(x, 2, axis=1))),
    ("hsplit", lambda x: tuple(ops.hsplit(x, [1])), lambda x: tuple(np.hsplit(x, [1]))),
    ("vsplit", lambda x: tuple(ops.vsplit(x, 2)), lambda x: tuple(np.vsplit(x, 2))),
    ("dsplit", lambda x: tuple(ops.dsplit(x, [1])), lambda x: tuple(np.dsplit(x, [1]))),
]:
    GRADIENTS[_name] = (_call, _ref, _uniform((2, 3, 2)))

NOT_DIFFERENTIABLE.update(dict.fromkeys(
    ["ndim", "size", "tri", "identity", "empty", "empty_like", "array", "linspace", "logspace", "geomspace",
     "bartlett", "blackman", "hamming", "hanning", "kaiser", "unravel_index"],
    "creation, conversion or introspection: no tensor input to differentiate (or integer indices)"))


# -------------------------------------------------------------- statistics
def _reduce_axis(axis: Any) -> Any:
    return tuple(axis) if isinstance(axis, list) else axis


def _reduction(name: str, ref: Any, dtypes: tuple[str, ...], out: Any = None, *, keepdims: bool = True,
               axis: str = "axes", family: str = "reduction", bound: float = 10.0, **domain: Any) -> None:
    CASES.append(OpCase(name, with_axis(axis=axis, keepdims=keepdims, max_rank=3, min_value=-bound, max_value=bound,
                                        **domain),
                        _op(name), lambda x, axis, _r=ref, **k: _r(x, axis=_reduce_axis(axis), **k), family, dtypes,
                        out=out))


_NAN = {"allow_nan": True}
_reduction("amax", np.amax, NUMERIC)
_reduction("amin", np.amin, NUMERIC)
_reduction("ptp", np.ptp, NUMERIC)
_reduction("count_nonzero", np.count_nonzero, (*NUMERIC, "bool"), "int32", keepdims=False, bound=1.0)
_reduction("nansum", np.nansum, NUMERIC, None, **_NAN)
_reduction("nanprod", np.nanprod, FLOATS, None, bound=1.5, **_NAN)
_reduction("nanmax", np.nanmax, NUMERIC, None, family="elementwise", **_NAN)
_reduction("nanmin", np.nanmin, NUMERIC, None, family="elementwise", **_NAN)
_reduction("nanmean", np.nanmean, NUMERIC, _float_of, **_NAN)
_reduction("nanvar", np.nanvar, FLOATS, None, **_NAN)
_reduction("nanstd", np.nanstd, FLOATS, None, **_NAN)
_reduction("median", np.median, NUMERIC, _float_of)
_reduction("nanmedian", np.nanmedian, FLOATS, None, **_NAN)
_reduction("nanargmax", np.nanargmax, ("float32",), "int32", axis="single", min_rank=1)
_reduction("nanargmin", np.nanargmin, ("float32",), "int32", axis="single", min_rank=1)
for _name, _ref in [("nancumsum", np.nancumsum), ("nancumprod", np.nancumprod)]:
    CASES.append(OpCase(_name, with_axis(axis="single_or_none", keepdims=False, max_rank=3, min_value=-2.0,
                                         max_value=2.0, **_NAN),
                        _op(_name), lambda x, axis, _r=_ref: _r(x, axis=axis), "reduction", FLOATS))


@st.composite
def _quantiles(draw: Any, dtype: str, profile: Profile, scale: float, nan: bool) -> Example:
    shape = draw(cs.shapes(min_rank=1, max_rank=3, max_side=profile.max_side))
    x = draw(cs.arrays(dtype, shape, min_value=-10.0, max_value=10.0, **({"allow_nan": True} if nan else {})))
    # dyadic quantiles: q * (n - 1) is exact in float32, so lower/higher/nearest pick NumPy's order statistic
    sixteenths = st.integers(0, 16)
    q = draw(st.one_of(sixteenths, st.lists(sixteenths, min_size=1, max_size=3)))
    q = np.asarray(q, np.float64) / 16.0 * scale
    return Example((x,), {"q": q if q.ndim else float(q), "axis": draw(cs.axes(len(shape))),
                          "method": draw(st.sampled_from(["linear", "lower", "higher", "midpoint", "nearest"])),
                          "keepdims": draw(st.booleans())})


for _name, _scale, _nan in [("quantile", 1.0, False), ("percentile", 100.0, False), ("nanquantile", 1.0, True),
                            ("nanpercentile", 100.0, True)]:
    _numpy_fn = getattr(np, _name)
    CASES.append(OpCase(_name, lambda d, p, _s=_scale, _n=_nan: _quantiles(d, p, _s, _n), _op(_name),
                        lambda x, axis, _r=_numpy_fn, **k: _r(x, axis=_reduce_axis(axis), **k),
                        "reduction", FLOATS if _nan else NUMERIC, out=_float_of))


@st.composite
def _average(draw: Any, dtype: str, profile: Profile) -> Example:
    shape = draw(cs.shapes(min_rank=1, max_rank=3, max_side=profile.max_side))
    x = draw(cs.arrays(dtype, shape, min_value=-10.0, max_value=10.0))
    axis = draw(st.one_of(st.none(), cs.single_axis(len(shape))))
    weights_shape = shape if axis is None or draw(st.booleans()) else (shape[axis],)
    weights = draw(cs.arrays(dtype, weights_shape, min_value=0.5, max_value=3.0))
    return Example((x, weights), {"axis": axis})


CASES.append(OpCase("average", lambda d, p: _average(d, p), lambda x, w, axis: ops.average(x, axis=axis, weights=w),
                    lambda x, w, axis: np.average(x, axis=axis, weights=w), "reduction", NUMERIC, out=_float_of))
CASES.append(OpCase("average", with_axis(axis="single_or_none", keepdims=False, max_rank=3, min_value=-10.0,
                                         max_value=10.0),
                    ops.average, np.average, "reduction", NUMERIC, out=_float_of, label="average(no weights)"))


@st.composite
def _trapezoid(draw: Any, dtype: str, profile: Profile) -> Example:
    shape = draw(cs.shapes(min_rank=1, max_rank=3, max_side=profile.max_side))
    y = draw(cs.arrays(dtype, shape, min_value=-10.0, max_value=10.0))
    axis = draw(cs.single_axis(len(shape)))
    if draw(st.booleans()):
        return Example((y,), {"axis": axis, "dx": draw(st.floats(0.1, 2.0))})
    points = np.sort(draw(cs.arrays(dtype, (shape[axis],), min_value=-10.0, max_value=10.0)))
    return Example((y, points), {"axis": axis})


CASES.append(OpCase("trapezoid", lambda d, p: _trapezoid(d, p), ops.trapezoid, np.trapezoid, "reduction", NUMERIC,
                    out=_float_of))


@st.composite
def _correlate(draw: Any, dtype: str, profile: Profile) -> Example:
    return Example((draw(cs.arrays(dtype, (draw(st.integers(1, 6)),), min_value=-10.0, max_value=10.0)),
                    draw(cs.arrays(dtype, (draw(st.integers(1, 6)),), min_value=-10.0, max_value=10.0))),
                   {"mode": draw(st.sampled_from(["valid", "same", "full"]))})


CASES.append(OpCase("correlate", lambda d, p: _correlate(d, p), ops.correlate, np.correlate, "matmul", NUMERIC,
                    out=_float_of))


@st.composite
def _corrcoef(draw: Any, dtype: str, profile: Profile) -> Example:
    rows, cols = draw(st.integers(1, 3)), draw(st.integers(3, 6))
    base = np.linspace(-1.0, 1.0, cols)
    mix = draw(cs.arrays("float64", (rows, 2), min_value=0.5, max_value=2.0))
    noise = draw(cs.arrays("float64", (rows, cols), min_value=-0.3, max_value=0.3))
    x = mix[:, :1] * base + mix[:, 1:] * base**2 + noise  # rows with a clear spread
    return Example((x.astype(dtype)[0] if rows == 1 and draw(st.booleans()) else x.astype(dtype),))


CASES.append(OpCase("corrcoef", lambda d, p: _corrcoef(d, p), ops.corrcoef, np.corrcoef, "matmul", FLOATS))


@st.composite
def _search(draw: Any, dtype: str, profile: Profile) -> Example:
    edges = np.sort(draw(cs.arrays(dtype, (draw(st.integers(1, 6)),), min_value=-5.0, max_value=5.0)))
    values = draw(cs.arrays(dtype, draw(cs.shapes(max_rank=2)), min_value=-6.0, max_value=6.0))
    return Example((edges, values))


CASES.append(OpCase("searchsorted", lambda d, p: _search(d, p), ops.searchsorted, np.searchsorted, dtypes=NUMERIC,
                    out="int32"))
CASES.append(OpCase("searchsorted", lambda d, p: _search(d, p), functools.partial(ops.searchsorted, side="right"),
                    functools.partial(np.searchsorted, side="right"), dtypes=NUMERIC, out="int32",
                    label="searchsorted(side='right')"))
CASES.append(OpCase("digitize", lambda d, p: _search(d, p), lambda edges, x: ops.digitize(x, edges),
                    lambda edges, x: np.digitize(x, edges), dtypes=NUMERIC, out="int32"))

for _name, _call, _ref, _inputs in [
    ("amax", lambda x: ops.amax(x, axis=1), lambda x: np.amax(x, axis=1), None),
    ("amin", lambda x: ops.amin(x, axis=0), lambda x: np.amin(x, axis=0), None),
    ("ptp", lambda x: ops.ptp(x, axis=1), lambda x: np.ptp(x, axis=1), None),
    ("nansum", lambda x: ops.nansum(x, axis=1), lambda x: np.nansum(x, axis=1), _uniform((2, 3))),
    ("nanprod", lambda x: ops.nanprod(x, axis=1), lambda x: np.nanprod(x, axis=1), _uniform((2, 3), low=0.5)),
    ("nanmean", lambda x: ops.nanmean(x, axis=0), lambda x: np.nanmean(x, axis=0), _uniform((2, 3))),
    ("nanvar", lambda x: ops.nanvar(x, axis=1), lambda x: np.nanvar(x, axis=1), _uniform((2, 3))),
    ("nanstd", lambda x: ops.nanstd(x), lambda x: np.nanstd(x), _uniform((2, 3))),
    ("nanmax", lambda x: ops.nanmax(x, axis=1), lambda x: np.nanmax(x, axis=1), None),
    ("nanmin", lambda x: ops.nanmin(x, axis=1), lambda x: np.nanmin(x, axis=1), None),
    ("nancumsum", lambda x: ops.nancumsum(x, axis=1), lambda x: np.nancumsum(x, axis=1), _uniform((2, 3))),
    ("nancumprod", lambda x: ops.nancumprod(x, axis=1), lambda x: np.nancumprod(x, axis=1),
     _uniform((2, 3), low=0.5, high=1.5)),
    ("median", lambda x: ops.median(x, axis=1), lambda x: np.median(x, axis=1), None),
    ("nanmedian", lambda x: ops.nanmedian(x, axis=1), lambda x: np.nanmedian(x, axis=1), None),
    ("quantile", lambda x: ops.quantile(x, [0.3, 0.8], axis=1), lambda x: np.quantile(x, [0.3, 0.8], axis=1), None),
    ("percentile", lambda x: ops.percentile(x, 30.0), lambda x: np.percentile(x, 30.0), None),
    ("nanquantile", lambda x: ops.nanquantile(x, 0.6, axis=0), lambda x: np.nanquantile(x, 0.6, axis=0), None),
    ("nanpercentile", lambda x: ops.nanpercentile(x, 70.0, axis=1), lambda x: np.nanpercentile(x, 70.0, axis=1),
     None),
    ("average", lambda x: ops.average(x, axis=1), lambda x: np.average(x, axis=1), _uniform((2, 3))),
    ("trapezoid", lambda x: ops.trapezoid(x, dx=0.5), lambda x: np.trapezoid(x, dx=0.5), _uniform((2, 4))),
    ("corrcoef", ops.corrcoef, np.corrcoef, _uniform((2, 5))),
]:
    GRADIENTS[_name] = (_call, _ref, _inputs or (lambda rng: [rng.permutation(np.linspace(-2.0, 2.0, 12)).reshape(3, 4)
                                                              + rng.uniform(-0.01, 0.01, (3, 4))]))
GRADIENTS["average(weights)"] = (lambda x, w: ops.average(x, axis=1, weights=w),
                                 lambda x, w: np.average(x, axis=1, weights=w),
                                 lambda rng: [rng.uniform(-2, 2, (2, 3)), rng.uniform(0.5, 2, (3,))])
GRADIENTS["trapezoid(x)"] = (lambda y, x: ops.trapezoid(y, x), lambda y, x: np.trapezoid(y, x),
                             lambda rng: [rng.uniform(-2, 2, (2, 4)), np.sort(rng.uniform(-2, 2, (4,)))])
GRADIENTS["correlate"] = (lambda a, v: ops.correlate(a, v, mode="same"), lambda a, v: np.correlate(a, v, mode="same"),
                          _uniform((5,), (3,)))

NOT_DIFFERENTIABLE.update(dict.fromkeys(
    ["count_nonzero", "nanargmax", "nanargmin", "searchsorted", "digitize"],
    "piecewise constant or integer-valued: the gradient is zero or undefined"))


# ------------------------------------------------------------------ extras
CASES.append(OpCase("allclose", binary(min_value=-3.0, max_value=3.0), ops.allclose,
                    lambda a, b: np.asarray(np.allclose(a, b)), dtypes=FLOATS, out="bool"))
CASES.append(OpCase("allclose", unary(), lambda x: ops.allclose(x, ops.add(x, 1e-9), atol=1e-6),
                    lambda x: np.asarray(True), dtypes=FLOATS, out="bool", label="allclose(x, x + 1e-9)"))
CASES.append(OpCase("angle", unary(**_WIDE), ops.angle, np.angle, "transcendental", NUMERIC, out=_float_of))
CASES.append(OpCase("isin", binary(min_value=-3.0, max_value=3.0), ops.isin, np.isin, dtypes=("int32", "float32"),
                    out="bool"))
CASES.append(OpCase("isin", binary(min_value=-3.0, max_value=3.0), functools.partial(ops.isin, invert=True),
                    functools.partial(np.isin, invert=True), dtypes=("int32",), out="bool", label="isin(invert=True)"))


@st.composite
def _matrices(draw: Any, dtype: str, profile: Profile) -> Example:
    n = draw(st.integers(1, 4))
    batch = draw(cs.shapes(max_rank=1, max_side=3))
    noise = draw(cs.arrays("float64", (*batch, n, n), min_value=-0.4, max_value=0.4))
    signs = draw(cs.arrays("float64", (*batch, 1, n), min_value=-1.0, max_value=1.0))
    return Example(((noise + 2.0 * np.eye(n) * np.where(signs < 0, -1.0, 1.0)).astype(dtype),))


CASES.append(OpCase("slogdet", lambda d, p: _matrices(d, p), ops.slogdet, lambda a: tuple(np.linalg.slogdet(a)),
                    "matmul", FLOATS))
GRADIENTS["slogdet"] = (lambda a: ops.slogdet(a)[1], lambda a: np.linalg.slogdet(a)[1],
                        lambda rng: [rng.uniform(-0.4, 0.4, (2, 3, 3)) + 2.0 * np.eye(3)])
GRADIENTS["angle"] = (ops.angle, np.angle, lambda rng: [rng.uniform(0.2, 2, (2, 3)) * rng.choice([-1.0, 1.0], (2, 3))])
NOT_DIFFERENTIABLE.update(dict.fromkeys(["allclose", "isin"], "boolean: the gradient is zero or undefined"))


# ----------------------------------------------------------------- bitwise
_INTS = ("int32",)
for _name, _ref, _domain, _dtypes in [
    ("bitwise_and", np.bitwise_and, {"min_value": -1000, "max_value": 1000}, ("int32", "bool")),
    ("bitwise_or", np.bitwise_or, {"min_value": -1000, "max_value": 1000}, ("int32", "bool")),
    ("bitwise_xor", np.bitwise_xor, {"min_value": -1000, "max_value": 1000}, ("int32", "bool")),
    ("gcd", np.gcd, {"min_value": -1000, "max_value": 1000}, _INTS),
    ("lcm", np.lcm, {"min_value": -100, "max_value": 100}, _INTS),
]:
    CASES.append(OpCase(_name, binary(**_domain), _op(_name), _ref, dtypes=_dtypes))
for _name, _ref in [("bitwise_left_shift", np.left_shift), ("left_shift", np.left_shift),
                    ("bitwise_right_shift", np.right_shift), ("right_shift", np.right_shift)]:
    CASES.append(OpCase(_name, binary(min_value=-1000, max_value=1000, second={"min_value": 0, "max_value": 15}),
                        _op(_name), _ref, dtypes=_INTS))
for _name in ("bitwise_invert", "bitwise_not"):
    CASES.append(OpCase(_name, unary(min_value=-1000, max_value=1000), _op(_name), np.invert, dtypes=("int32", "bool")))
NOT_DIFFERENTIABLE.update(dict.fromkeys(
    ["bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_invert", "bitwise_not", "bitwise_left_shift",
     "bitwise_right_shift", "left_shift", "right_shift", "gcd", "lcm"],
    "integer-valued: no gradient"))
