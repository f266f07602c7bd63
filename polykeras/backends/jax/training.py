"""JAX's training hooks: ``jax.checkpoint`` and ``jax.profiler``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax


class JaxTraining:
    """Gradient checkpointing with ``jax.checkpoint``; the trace profiler."""

    def remat(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        return jax.checkpoint(fn)

    def check_profiler(self, who: str) -> None:
        return None

    def start_profiler(self, logdir: str) -> None:
        jax.profiler.start_trace(logdir)

    def stop_profiler(self) -> None:
        jax.profiler.stop_trace()
