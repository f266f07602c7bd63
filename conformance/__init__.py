"""The conformance suite's shared pieces: one tolerance table
(:mod:`conformance.tolerances`), hypothesis strategies
(:mod:`conformance.strategies`) and an independent float64 NumPy reference
(:mod:`conformance.reference`).

Importing this package registers two hypothesis profiles and loads the one
named by ``HYPOTHESIS_PROFILE`` (default ``"quick"``):

* ``quick``: 10 examples a property, derandomised, for CI and local runs on
  two cores.
* ``full``: 200 examples a property, random, for a nightly or pre-release run.

Both have no deadline: an engine's first call of an op compiles (XLA, oneDNN).

Example:
    $ HYPOTHESIS_PROFILE=full pytest tests/ops -q
"""

from __future__ import annotations

import os

PROFILES = ("quick", "full")


def load_profile(name: str | None = None) -> str:
    """Register the hypothesis profiles and load ``name`` (default: the
    ``HYPOTHESIS_PROFILE`` environment variable, else ``"quick"``).

    Example: ``conformance.load_profile("full")``
    """
    from hypothesis import HealthCheck, settings

    # The engine fixture only activates an engine: safe to share across examples.
    relaxed = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large]
    settings.register_profile("quick", max_examples=10, deadline=None, derandomize=True,
                              suppress_health_check=relaxed, print_blob=True)
    settings.register_profile("full", max_examples=200, deadline=None, suppress_health_check=relaxed,
                              print_blob=True)
    name = name or os.environ.get("HYPOTHESIS_PROFILE") or "quick"
    if name not in PROFILES:
        raise ValueError(f"Unknown hypothesis profile {name!r} (HYPOTHESIS_PROFILE). "
                         f"Expected one of: {', '.join(PROFILES)}.")
    settings.load_profile(name)
    return name


try:  # hypothesis is a test dependency; the reference and tolerances need only NumPy.
    import hypothesis  # noqa: F401
except ImportError:  # pragma: no cover
    pass
else:
    load_profile()
