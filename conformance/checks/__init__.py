"""The conformance checks, by family: ``ops`` (forward and gradient of every
public op), ``layers`` (every built-in layer class), ``models`` (training
across engines), ``optimizers``, ``losses`` (losses and metrics) and
``saving`` (save on one engine, load on another).

Each check runs against any engine name and returns a :class:`Result`; the
runner (``python -m conformance``) lays them out as a matrix.

Example:
    >>> from conformance.checks import PROFILES, collect, run_checks
    >>> results = run_checks(collect(["ops"]), ["numpy"], PROFILES["quick"])
    >>> all(r.passed for r in results)
    True
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence

from conformance.checks.base import (
    FAMILIES, PROFILES, Check, Context, Meter, Profile, Result, Skip, execute, run_checks, supports,
)

__all__ = [
    "FAMILIES", "PROFILES", "Check", "Context", "Meter", "Profile", "Result", "Skip", "collect", "execute",
    "run_checks", "supports",
]

#: family -> (module, function returning its checks)
_BUILDERS = {
    "ops": ("conformance.checks.ops", "op_checks"),
    "layers": ("conformance.checks.layers", "layer_checks"),
    "models": ("conformance.checks.models", "model_checks"),
    "optimizers": ("conformance.checks.optimizers", "optimizer_checks"),
    "losses": ("conformance.checks.losses", "loss_checks"),
    "saving": ("conformance.checks.saving", "saving_checks"),
}


def collect(families: Iterable[str] = FAMILIES, engines: Sequence[str] | None = None) -> list[Check]:
    """Every check of the given families, family by family. ``engines`` (the
    engines of the run) makes the saving family's rows (one per saving engine).

    Example: ``len(collect(["ops"]))``
    """
    checks: list[Check] = []
    for family in families:
        if family not in _BUILDERS:
            raise ValueError(f"Unknown check family {family!r}. Expected some of: {', '.join(FAMILIES)}.")
        module, function = _BUILDERS[family]
        build = getattr(importlib.import_module(module), function)
        checks += build(engines) if family == "saving" else build()
    return checks
