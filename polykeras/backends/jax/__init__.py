"""The JAX engine: the NumPy engine with ``xp = jax.numpy``, plus what JAX does
its own way (immutable updates, ``lax`` convolutions and pooling, threefry keys,
``jax.value_and_grad``, ``jax.jit``, devices, ``jax.lax.scan`` for traced
time loops).

JAX is imported here only, when the registry first asks for this engine.
Without ``jax_enable_x64`` (polykeras never turns it on) 64-bit dtypes are not
available: float64/int64 inputs and requests become float32/int32.

Example:
    >>> import polykeras.backends as B
    >>> engine = B.get("jax")
    >>> value, (grad,) = engine.value_and_grad(lambda ps: engine.sum(ps[0] ** 2))([engine.ones((2,))])
    >>> engine.to_numpy(grad)
    array([2., 2.], dtype=float32)
"""

from __future__ import annotations

from polykeras.backends.jax.attention import JaxAttention
from polykeras.backends.jax.control_flow import JaxControlFlow
from polykeras.backends.jax.core import JaxCore
from polykeras.backends.jax.distribution import JaxDistribution
from polykeras.backends.jax.export import JaxExport
from polykeras.backends.jax.fork import guard_forks
from polykeras.backends.jax.native import JaxNative
from polykeras.backends.jax.nn import JaxNN
from polykeras.backends.jax.random import JaxRandom
from polykeras.backends.jax.rnn import JaxRecurrent
from polykeras.backends.jax.signal import JaxSignal
from polykeras.backends.jax.training import JaxTraining
from polykeras.backends.numpy import NumpyBackend

__all__ = ["JaxBackend"]


class JaxBackend(JaxTraining, JaxNative, JaxDistribution, JaxControlFlow, JaxAttention, JaxCore, JaxNN, JaxRandom,
                 JaxRecurrent, JaxSignal, JaxExport, NumpyBackend):
    """The JAX engine. Tensors and variables are ``jax.Array`` (``assign``
    returns the new array); ``jit`` is ``jax.jit`` with donation.

    Example:
        >>> engine = JaxBackend()
        >>> engine.dtype(engine.multiply(engine.arange(3), 2.5))
        'float32'
    """

    name = "jax"
    differentiable = True
    stateful_jit = False


guard_forks(JaxBackend)  # a process forked after JAX started refuses the engine instead of hanging
