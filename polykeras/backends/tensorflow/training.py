"""TensorFlow's training hooks: ``tf.recompute_grad`` and ``tf.profiler``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tensorflow as tf


class TensorflowTraining:
    """Gradient checkpointing with ``tf.recompute_grad``; the TF profiler."""

    def remat(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        return tf.recompute_grad(fn)

    def check_profiler(self, who: str) -> None:
        return None

    def start_profiler(self, logdir: str) -> None:
        tf.profiler.experimental.start(logdir)

    def stop_profiler(self) -> None:
        tf.profiler.experimental.stop()
