"""The training hooks of the backend protocol: gradient checkpointing
(rematerialisation), the profiler, and which compiler handles in-place
assignment, each through the engine's own mechanism. Kept out of :class:`~polykeras.backends.base.Backend`'s own
namespace (like the distribution and export hooks) so they are not listed as
op composites.

The training floor (:mod:`polykeras.rematerialization`, the TensorBoard callback) calls
them; it never asks which engine is active.

Example:
    >>> f = engine.remat(lambda x, w: engine.tanh(engine.matmul(x, w)))
    >>> y = f(x, w)        # same values; the backward pass recomputes tanh(x @ w)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["TrainingHooks"]


class TrainingHooks:
    """Defaults for an engine without the features: clear
    ``NotImplementedError``\\ s naming the feature and the engine."""

    name: str = ""
    #: ``True`` where ``jit`` compiles functions that assign variables in place
    #: (tf.function; torch eager). ``False`` where compiled functions must be
    #: pure (JAX): the trainer then threads variable values through the step.
    stateful_jit: bool = True

    def jit_is_stateful(self, jit_compile: Any) -> bool:
        """Whether ``jit(fn, jit_compile=jit_compile)`` compiles functions
        that assign variables in place (:attr:`stateful_jit` unless the
        compiler that ``jit_compile`` picks needs pure functions: torch's
        ``torch.compile`` path).

        Example: ``engine.jit_is_stateful(True)`` -> ``False`` on torch
        """
        return self.stateful_jit

    def remat(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn`` (positional engine tensors in, a structure of tensors out,
        no side effects) wrapped so that a gradient through it recomputes its
        intermediate values in the backward pass instead of keeping them
        (``jax.checkpoint``, ``torch.utils.checkpoint``, ``tf.recompute_grad``).
        Values and gradients equal ``fn``'s.

        Example: ``y = engine.remat(block)(x, kernel)``
        """
        raise NotImplementedError(f"The {self.name!r} engine has no gradient checkpointing (remat).")

    def check_profiler(self, who: str) -> None:
        """Raise NotImplementedError naming ``who`` unless :meth:`start_profiler` works here.

        Example: ``engine.check_profiler("TensorBoard(profile_batch=2)")``
        """
        raise NotImplementedError(f"{who}: the {self.name!r} engine has no profiler polykeras can drive "
                                  "(profiling); use the jax or tensorflow engine, or profile_batch=0.")

    def start_profiler(self, logdir: str) -> None:
        """Start the engine's profiler, writing a trace TensorBoard's profile
        plugin reads under ``logdir``.

        Example: ``engine.start_profiler("logs/train")``
        """
        self.check_profiler("start_profiler")

    def stop_profiler(self) -> None:
        """Stop the profiler started by :meth:`start_profiler` and write its trace.

        Example: ``engine.stop_profiler()``
        """
        self.check_profiler("stop_profiler")
