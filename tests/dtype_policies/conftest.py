"""Every test here leaves the global dtype policy as it found it: unset
(following ``config.floatx()``), not merely "float32", which would pin it."""

from __future__ import annotations

import pytest

from polykeras.dtype_policies import policy


@pytest.fixture(autouse=True)
def _global_policy_restored():
    saved = policy._global
    yield
    policy._global = saved
