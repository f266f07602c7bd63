"""JAX engine: what it does its own way among the further ops (the signal
kernels themselves come from the NumPy engine's, on ``jnp``):
``jax.scipy.special.erfinv``, ``jax.scipy.linalg.lu_factor``,
``jnp.vectorize``, and ``lax.linalg.eig`` with eigenvector derivatives on
(valid for distinct eigenvalues, the assumption torch's and TensorFlow's
gradients make too; ``jnp.linalg.eig`` refuses any derivative).

Example:
    >>> lu, pivots = engine.lu_factor(a)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax.lax.linalg as jll
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import jax.scipy.special as jss

Tensor = Any


class JaxSignal:
    """JAX kernels of ``backends/long_tail.py``."""

    def erfinv(self, x: Tensor) -> Tensor:
        return self._float_op(jss.erfinv, x)  # type: ignore[attr-defined]

    def eig(self, x: Tensor) -> tuple[Tensor, Tensor]:
        w, v = jll.eig(self._floating(x), compute_left_eigenvectors=False,  # type: ignore[attr-defined]
                       enable_eigvec_derivs=True)
        return w, v

    def lu_factor(self, x: Tensor) -> tuple[Tensor, Tensor]:
        lu, pivots = jsl.lu_factor(self._floating(x))  # type: ignore[attr-defined]
        return lu, pivots.astype(jnp.int32)

    def vectorize(self, pyfunc: Callable[..., Any], excluded: set[int] | None = None,
                  signature: str | None = None) -> Callable[..., Any]:
        return jnp.vectorize(pyfunc, excluded=frozenset(excluded or ()), signature=signature)
