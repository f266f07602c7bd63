"""How one public op is checked forward: :class:`OpCase` (a strategy for its
inputs, the call on engine tensors, the float64 reference, the tolerance
family and the dtypes) and the small strategy builders the case tables use.

A case's ``example(dtype, profile)`` draws an :class:`Example`: the arrays
(converted to engine tensors for the call, to float64 for the reference) and
plain keyword arguments passed to both.

Example:
    >>> case = OpCase("exp", unary(min_value=-20, max_value=20), ops.exp, np.exp, "transcendental")
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from hypothesis import strategies as st

from conformance import strategies as cs
from conformance.checks.base import Profile

__all__ = ["FLOATS", "NUMERIC", "Example", "OpCase", "as_outputs", "binary", "fixed", "to_reference", "unary",
           "with_axis"]

FLOATS = ("float32", "float64")
NUMERIC = ("float32", "float64", "int32")


@dataclasses.dataclass(frozen=True)
class Example:
    """One drawn input: ``arrays`` become engine tensors (positional), ``kwargs`` stay Python values.

    Example: ``Example((np.ones((2, 3), "float32"),), {"axis": -1})``
    """

    arrays: tuple[np.ndarray, ...]
    kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __repr__(self) -> str:
        def show(a: np.ndarray) -> str:
            body = np.array2string(a, precision=9, separator=",", threshold=40) if a.size <= 40 else "..."
            return f"{a.dtype.name}{list(a.shape)}={body}"
        parts = [show(np.asarray(a)) for a in self.arrays] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"Example({', '.join(parts)})"


OutSpec = str | tuple[str | None, ...] | Callable[[str], Any] | None


@dataclasses.dataclass(frozen=True)
class OpCase:
    """One forward check of one public op.

    ``out`` gives the result dtype: None = the drawn dtype, a dtype string, a
    tuple (one per output, None = drawn dtype) or a function of the drawn
    dtype; ``"$dtype"`` = the example's ``dtype`` keyword. ``python=True`` for ops returning Python values (``shape``,
    ``dtype``, ``is_tensor``), compared with ``==``.

    Example: ``OpCase("abs", unary(), ops.abs, np.abs, dtypes=NUMERIC)``
    """

    op: str
    example: Callable[[str, Profile], st.SearchStrategy[Example]]
    call: Callable[..., Any]
    reference: Callable[..., Any]
    family: str = "elementwise"
    dtypes: tuple[str, ...] = FLOATS
    out: OutSpec = None
    label: str | None = None
    python: bool = False

    @property
    def name(self) -> str:
        """The row name in the matrix."""
        return self.label or self.op

    def out_dtypes(self, dtype: str, count: int, kwargs: dict[str, Any] | None = None) -> list[str]:
        """Expected dtype of each of ``count`` outputs when drawn at ``dtype``
        (``out="$dtype"``: the example's ``dtype`` keyword)."""
        spec = self.out(dtype) if callable(self.out) else self.out
        if spec == "$dtype":
            spec = (kwargs or {})["dtype"]
        if spec is None:
            return [dtype] * count
        if isinstance(spec, str):
            return [spec] * count
        return [dtype if s is None else s for s in spec]


# ------------------------------------------------------------------ builders
def _side(profile: Profile, max_side: int | None) -> int:
    return min(profile.max_side, max_side) if max_side else profile.max_side


def unary(*, min_rank: int = 0, max_rank: int = 4, max_side: int | None = None, **domain: Any
          ) -> Callable[[str, Profile], st.SearchStrategy[Example]]:
    """One array of the drawn dtype; ``domain`` goes to
    :func:`conformance.strategies.arrays`. Example: ``unary(min_value=1e-3)``"""

    def make(dtype: str, profile: Profile) -> st.SearchStrategy[Example]:
        shape = cs.shapes(min_rank=min_rank, max_rank=max_rank, max_side=_side(profile, max_side))
        return cs.arrays(dtype, shape, **_for(dtype, domain)).map(lambda x: Example((x,)))

    return make


def binary(*, second: dict[str, Any] | None = None, keep: Callable[..., bool] | None = None, **domain: Any
           ) -> Callable[[str, Profile], st.SearchStrategy[Example]]:
    """Two arrays with broadcastable shapes; ``second`` overrides the domain of
    the second; ``keep(x1, x2)`` false rejects ill-posed draws.
    Example: ``binary(second={"min_magnitude": 1e-2})``"""

    @st.composite
    def draw(d: Any, dtype: str, profile: Profile) -> Example:
        shapes = d(cs.broadcast_shapes(max_side=_side(profile, None)))
        x1 = d(cs.arrays(dtype, shapes[0], **_for(dtype, domain)))
        x2 = d(cs.arrays(dtype, shapes[1], **_for(dtype, {**domain, **(second or {})})))
        if keep is not None and not keep(x1, x2):
            from hypothesis import assume

            assume(False)
        return Example((x1, x2))

    return lambda dtype, profile: draw(dtype, profile)


def with_axis(*, axis: str = "axes", keepdims: bool = True, min_rank: int = 0, max_rank: int = 4,
              max_side: int | None = None, **domain: Any) -> Callable[[str, Profile], st.SearchStrategy[Example]]:
    """One array and an ``axis`` keyword: ``"axes"`` (None, int or tuple),
    ``"single"`` (int), ``"single_or_none"``; with a ``keepdims`` flag.
    Example: ``with_axis(axis="single", keepdims=False)``"""

    @st.composite
    def draw(d: Any, dtype: str, profile: Profile) -> Example:
        shape = d(cs.shapes(min_rank=min_rank, max_rank=max_rank, max_side=_side(profile, max_side)))
        x = d(cs.arrays(dtype, shape, **_for(dtype, domain)))
        ndim = len(shape)
        if axis == "axes":
            chosen = d(cs.axes(ndim))
        elif axis == "single":
            chosen = d(cs.single_axis(ndim))
        else:
            chosen = d(st.one_of(st.none(), cs.single_axis(ndim))) if ndim else None
        kwargs: dict[str, Any] = {"axis": chosen}
        if keepdims:
            kwargs["keepdims"] = d(st.booleans())
        return Example((x,), kwargs)

    return lambda dtype, profile: draw(dtype, profile)


def _for(dtype: str, domain: dict[str, Any]) -> dict[str, Any]:
    """The domain keywords that apply to ``dtype`` (ints and bools take no
    NaN/inf or edge flags)."""
    if dtype == "bool":
        return {}
    if dtype.startswith("int"):
        return {k: v for k, v in domain.items() if k in ("min_value", "max_value", "min_magnitude")}
    return domain


def fixed(*arrays: Any, **kwargs: Any) -> Callable[[str, Profile], st.SearchStrategy[Example]]:
    """Always the same example (float arrays cast to the drawn dtype).
    Example: ``fixed(np.array([1.0, 2.0]))``"""

    def make(dtype: str, profile: Profile) -> st.SearchStrategy[Example]:
        cast = tuple(np.asarray(a).astype(dtype) if np.asarray(a).dtype.kind == "f" else np.asarray(a)
                     for a in arrays)
        return st.just(Example(cast, dict(kwargs)))

    return make


def as_outputs(value: Any) -> list[Any]:
    """An op's result as a list of outputs."""
    return list(value) if isinstance(value, (list, tuple)) else [value]


def to_reference(arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Float arrays as float64 (the reference's precision); others unchanged."""
    return [np.asarray(a, np.float64) if np.asarray(a).dtype.kind == "f" else np.asarray(a) for a in arrays]
