"""``keras.random``: the samplers (``normal``, ``uniform``, ``truncated_normal``,
``randint``, ``categorical``, ``dropout``, ``shuffle``, ``gamma``, ``beta``,
``binomial``, from :mod:`polykeras.ops.random`), :class:`SeedGenerator`
(random state that lives in a Variable, so it works inside compiled steps) and
:func:`set_seed` (the global seed).

Two sources of randomness, both reproducible:

* Initial weights are drawn on the host with NumPy (see
  ``polykeras.initializers``): unseeded initializers use :func:`global_rng`,
  which :func:`set_seed` reseeds. The same seed gives bit-identical initial
  weights on every engine.
* Draws inside layers (dropout, noise) use the engine's counter-based RNG with
  a seed tensor from a :class:`SeedGenerator` (``ops.random.*(seed=gen)``).

Example:
    >>> import polykeras
    >>> polykeras.random.set_seed(42)
    >>> gen = polykeras.random.SeedGenerator(7)
    >>> noise = polykeras.random.normal((2, 3), seed=gen)   # advances gen
"""

from __future__ import annotations

import random as _py_random
from typing import Any

import numpy as np

from polykeras import backends
from polykeras.ops.random import (
    beta, binomial, categorical, dropout, gamma, normal, randint, shuffle, truncated_normal, uniform,
)
from polykeras.variables import Variable

__all__ = [
    "SeedGenerator", "beta", "binomial", "categorical", "dropout", "gamma", "global_rng", "make_default_seed",
    "normal", "randint", "set_seed", "shuffle", "truncated_normal", "uniform",
]

_rng = np.random.default_rng()


def global_rng() -> np.random.Generator:
    """The host generator behind unseeded initializers. Example: ``global_rng().integers(10)``"""
    return _rng


def make_default_seed() -> int:
    """A fresh seed drawn from :func:`global_rng`. Example: ``SeedGenerator(make_default_seed())``"""
    return int(_rng.integers(0, 2**31 - 1))


def set_seed(seed: int) -> None:
    """Seed everything polykeras draws from: the host generator of initial
    weights, ``ops.random``'s global generator (``seed=None`` draws), and
    Python's and NumPy's legacy global generators.

    Example:
        >>> set_seed(0)
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"set_seed: expected an int seed, received {seed!r}.")
    global _rng
    seed = int(seed)
    _rng = np.random.default_rng(seed)
    _py_random.seed(seed)
    np.random.seed(seed % 2**32)
    from polykeras.ops import random as ops_random

    ops_random.set_global_seed(seed)


class SeedGenerator:
    """Random-draw state held in a non-trainable int32 Variable of shape (2,)
    (``[seed, counter]``). :meth:`next` returns the current seed tensor and
    advances the counter with ``assign``, so inside a ``StatelessScope``
    (a compiled step) the advance is recorded like any other state update.

    Args:
        seed: an int, or None to draw one from :func:`global_rng`.
        name: the state variable's name.
        backend: (keyword) the engine to keep the state on; the active one
            by default.

    Example:
        >>> gen = SeedGenerator(1337)
        >>> a = ops.random.uniform((3,), seed=gen)
        >>> b = ops.random.uniform((3,), seed=gen)   # different from a
    """

    def __init__(self, seed: int | None = None, name: str | None = None, **kwargs: Any):
        engine = kwargs.pop("backend", None)
        if kwargs:
            raise ValueError(f"SeedGenerator: unrecognized keyword arguments {sorted(kwargs)}; it takes seed, name "
                             "and backend.")
        if seed is None:
            seed = make_default_seed()
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"SeedGenerator: expected an int seed or None, received {seed!r}.")
        self._initial_seed = int(seed)
        self.name = name or "seed_generator"
        with backends.use(engine or backends.active()):
            self.state = Variable(
                np.array([int(seed) % 2**31, 0], dtype=np.int32),
                dtype="int32",
                trainable=False,
                name=f"{self.name}_state",
            )

    def next(self) -> Any:
        """The seed tensor to draw with now; advances the state."""
        engine = self.state.engine
        current = engine.add(self.state.value, 0)  # a copy: in-place engines overwrite the handle
        self.state.assign(engine.add(current, engine.convert_to_tensor(np.array([0, 1], dtype=np.int32))))
        return current

    def get_config(self) -> dict[str, Any]:
        return {"seed": self._initial_seed, "name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> SeedGenerator:
        return cls(**config)

    def __repr__(self) -> str:
        return f"<SeedGenerator seed={self._initial_seed} path={self.state.path!r}>"
