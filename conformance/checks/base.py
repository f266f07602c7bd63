"""The pieces every conformance check shares: :class:`Result` (one cell of the
matrix), :class:`Check` (one row), :class:`Profile` (how hard to look),
:class:`Context` (what a check runs against) and :class:`Meter`, which compares
numbers through THE tolerance table and remembers the largest error.

A check is a plain function ``run(ctx) -> str`` (an optional note); it raises
on a disagreement (usually through :meth:`Meter.compare`) and raises
:class:`Skip` where the engine cannot do what it checks (a NumPy-only engine
has no gradients). :func:`execute` turns either into a :class:`Result`.

Example:
    >>> check = Check("abs", "ops", lambda ctx: ctx.meter.compare(..., ..., "elementwise"))
    >>> result = execute(check, Context("numpy", PROFILES["quick"]))
    >>> result.passed
    True
"""

from __future__ import annotations

import dataclasses
import shutil
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import polykeras.backends as B
from conformance.tolerances import assert_close, tolerance

__all__ = [
    "FAMILIES", "PROFILES", "Check", "Context", "Meter", "Profile", "Result", "Skip", "execute", "run_checks",
    "supports",
]

#: The families of checks, in the order the runner prints them.
FAMILIES: tuple[str, ...] = ("ops", "layers", "models", "optimizers", "losses", "saving")


@dataclasses.dataclass(frozen=True)
class Profile:
    """How hard the checks look.

    ``examples``: hypothesis examples per op and dtype; ``max_side``: the
    largest axis length drawn; ``draws``: fixed-input repeats of the gradient,
    layer and loss checks (each with other random inputs).

    Example: ``PROFILES["full"].examples`` -> ``100``
    """

    name: str
    examples: int
    max_side: int
    draws: int


PROFILES: dict[str, Profile] = {
    "quick": Profile("quick", examples=6, max_side=3, draws=1),
    "full": Profile("full", examples=100, max_side=5, draws=3),
}


class Skip(Exception):
    """The engine cannot run this check (say why); shown as ``skip``, never a pass.

    Example: ``raise Skip("the numpy engine does not differentiate")``
    """


@dataclasses.dataclass
class Result:
    """One cell of the matrix: a check on one engine.

    ``error`` is the largest difference seen, ``|actual - expected| /
    max(1, |expected|)`` (absolute below 1, relative above; None where
    nothing numeric was compared); ``ratio`` the largest difference as a
    fraction of the tolerance allowed there (``<= 1`` passes).

    Example: ``Result("abs", "ops", "jax", True, 0.0, 0.0, "")``
    """

    name: str
    family: str
    engine: str
    passed: bool
    error: float | None
    ratio: float | None
    message: str = ""
    skipped: bool = False
    seconds: float = 0.0

    @property
    def status(self) -> str:
        """``"pass"``, ``"fail"`` or ``"skip"``."""
        return "skip" if self.skipped else ("pass" if self.passed else "fail")

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (the runner's ``report.json``)."""
        return {**dataclasses.asdict(self), "status": self.status}


@dataclasses.dataclass(frozen=True)
class Check:
    """One row of the matrix: ``run(ctx)`` checks one thing on ``ctx.engine``.

    ``covers`` names the public ops or layer classes the check stands for
    (the coverage tests read it).

    Example: ``Check("ops.add", "ops", run_add, covers=("add",))``
    """

    name: str
    family: str
    run: Callable[[Context], str | None]
    covers: tuple[str, ...] = ()


class Meter:
    """Compares engine results with expected numbers through the tolerance
    table, keeping the largest error (``|a - e| / max(1, |e|)``) and
    tolerance ratio.

    Example:
        >>> meter = Meter()
        >>> meter.compare(np.float32([1.0]), np.float64([1.0]), "elementwise")
        >>> meter.error
        0.0
    """

    def __init__(self) -> None:
        self.error: float | None = None
        self.ratio: float | None = None

    def note(self, error: float, ratio: float) -> None:
        """Record one measured difference."""
        self.error = error if self.error is None else max(self.error, error)
        self.ratio = ratio if self.ratio is None else max(self.ratio, ratio)

    def compare(self, actual: Any, expected: Any, family: str, dtype: Any = None, *, what: str = "",
                tol: tuple[float, float] | None = None) -> None:
        """Raise ``AssertionError`` unless ``actual`` matches ``expected``
        within the ``family`` tolerance at ``dtype`` (default: ``actual``'s);
        ``tol`` = ``(rtol, atol)`` overrides the table (model training)."""
        a = np.asarray(actual)
        e = np.asarray(expected)
        name = dtype if isinstance(dtype, str) else (a.dtype.name if dtype is None else np.dtype(dtype).name)
        rtol, atol = tol if tol is not None else tolerance(family, name)
        if a.shape != e.shape:
            raise AssertionError(f"{what}: shape {a.shape}, expected {e.shape}")
        error, ratio = _measure(a, e, rtol, atol)
        self.note(error, ratio)
        if ratio <= 1.0:
            return
        if tol is None:
            assert_close(a, e, family, name, err_msg=what)  # raises with the table's words
        raise AssertionError(f"{what}: difference {error:.3g} exceeds atol={atol:g} + rtol={rtol:g} * |expected| "
                             f"(ratio {ratio:.3g})")

    def exact(self, actual: Any, expected: Any, *, what: str = "") -> None:
        """Raise unless the arrays are equal (shapes, values, NaNs placed alike)."""
        a, e = np.asarray(actual), np.asarray(expected)
        if a.shape != e.shape or not np.array_equal(a, e, equal_nan=a.dtype.kind == "f" and e.dtype.kind == "f"):
            raise AssertionError(f"{what}: {a.tolist() if a.size < 20 else a.shape} != "
                                 f"{e.tolist() if e.size < 20 else e.shape}")
        self.note(0.0, 0.0)


def _measure(a: np.ndarray, e: np.ndarray, rtol: float, atol: float) -> tuple[float, float]:
    """(largest |a - e| / max(1, |e|), largest |a - e| / (atol + rtol |e|));
    mismatched NaN/inf positions count as infinite."""
    if a.size == 0:
        return 0.0, 0.0
    if a.dtype == bool or e.dtype == bool:
        a, e = a.astype(np.int8), e.astype(np.int8)
    a64, e64 = a.astype(np.float64), e.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        same_special = (np.isnan(a64) & np.isnan(e64)) | (np.isinf(e64) & (a64 == e64))
        diff = np.where(same_special, 0.0, np.abs(a64 - e64))
        diff = np.nan_to_num(diff, nan=np.inf, posinf=np.inf)
        allowed = atol + rtol * np.abs(np.where(np.isfinite(e64), e64, 0.0))
        ratio = np.where(diff == 0, 0.0, np.divide(diff, allowed, out=np.full_like(diff, np.inf), where=allowed > 0))
        scaled = diff / np.maximum(1.0, np.abs(np.where(np.isfinite(e64), e64, 0.0)))
    return float(scaled.max()), float(ratio.max())


@dataclasses.dataclass
class Context:
    """What a check runs against: the engine's name, the profile, the seed,
    every engine of this run (for cross-engine baselines) and a cache shared
    by the checks of one run.

    Example: ``Context("jax", PROFILES["quick"], seed=0, engines=("jax", "torch"))``
    """

    engine: str
    profile: Profile
    seed: int = 0
    engines: tuple[str, ...] = ()
    cache: dict[Any, Any] = dataclasses.field(default_factory=dict)
    meter: Meter = dataclasses.field(default_factory=Meter)

    @property
    def differentiable(self) -> bool:
        """Whether this engine has ``value_and_grad``."""
        return bool(B.get(self.engine).differentiable)

    def require_gradients(self) -> None:
        """Raise :class:`Skip` where the engine does not differentiate."""
        if not self.differentiable:
            raise Skip(f"the {self.engine} engine does not differentiate")

    def diff_engines(self) -> list[str]:
        """The differentiating engines of this run, in run order."""
        return [name for name in self.engines if B.get(name).differentiable]


_SUPPORT: dict[tuple[str, str], bool] = {}


def supports(engine: str, dtype: str) -> bool:
    """Whether ``engine`` holds tensors of ``dtype`` (JAX without x64 has no
    float64). Example: ``supports("jax", "float64")``"""
    key = (engine, dtype)
    if key not in _SUPPORT:
        backend = B.get(engine)
        try:
            _SUPPORT[key] = backend.dtype(backend.zeros((1,), dtype)) == dtype
        except Exception:  # noqa: BLE001 - any refusal means "not supported"
            _SUPPORT[key] = False
    return _SUPPORT[key]


def _first_line(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    notes = [n for n in getattr(err, "__notes__", ()) if "Falsifying" in n or "example" in n.lower()]
    body = text if isinstance(err, AssertionError) else f"{type(err).__name__}: {text}"
    return " | ".join([body, *notes])


def execute(check: Check, ctx: Context) -> Result:
    """Run ``check`` on ``ctx.engine`` inside ``polykeras.backends.use`` and
    return its :class:`Result`; never raises (an exception is a failure).

    Example: ``execute(check, Context("torch", PROFILES["quick"]))``
    """
    ctx.meter = Meter()
    start = time.perf_counter()
    skipped, passed, message = False, True, ""
    try:
        with B.use(ctx.engine):
            message = check.run(ctx) or ""
    except Skip as why:
        skipped, message = True, str(why)
    except KeyboardInterrupt:
        raise
    except Exception as err:  # noqa: BLE001 - every failure becomes a result
        passed = False
        message = _first_line(err)
        if not isinstance(err, AssertionError):
            where = traceback.extract_tb(err.__traceback__)[-1]
            message += f" (at {where.filename.rpartition('/')[2]}:{where.lineno})"
    return Result(check.name, check.family, ctx.engine, passed, ctx.meter.error, ctx.meter.ratio, message,
                  skipped, time.perf_counter() - start)


def run_checks(checks: Sequence[Check], engines: Sequence[str], profile: Profile, seed: int = 0,
               on_result: Callable[[Result], None] | None = None) -> list[Result]:
    """Every check on every engine (checks outer, engines inner, so the
    cross-engine baselines are computed once and cached).

    Example: ``run_checks(collect(["ops"]), ["numpy", "jax"], PROFILES["quick"])``
    """
    cache: dict[Any, Any] = {}
    results = []
    try:
        for check in checks:
            for engine in engines:
                result = execute(check, Context(engine, profile, seed, tuple(engines), cache))
                results.append(result)
                if on_result is not None:
                    on_result(result)
    finally:
        folder = cache.get("saving_dir")
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
    return results
