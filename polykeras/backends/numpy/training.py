"""The NumPy engine's training hooks: it computes no gradients, so there is
nothing to rematerialise: ``remat`` runs the function as it is."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class NumpyTraining:
    """``remat`` is the identity: no tape, no activations kept, nothing to save."""

    def remat(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        return fn
