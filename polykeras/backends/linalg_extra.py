"""Protocol entries beyond the core linear algebra: ``eigh`` (symmetric
eigendecomposition) and ``jvp`` (forward-mode derivatives: ``jax.jvp``,
``torch.func.jvp``, ``tf.autodiff.ForwardAccumulator``; the NumPy engine
does not differentiate). There is no portable composite of
one worth having, so the default refuses by name; the built-in engines
implement it with their own kernels (``numpy.linalg.eigh`` / ``jnp.linalg.eigh``,
``torch.linalg.eigh``, ``tf.linalg.eigh``).

Example:
    >>> w, v = B.get("numpy").eigh(a)   # ascending eigenvalues, eigenvectors in columns
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the Backend primitives these composites are written with
    from polykeras.backends.host import EngineHost as _Host
else:
    _Host = object


Tensor = Any


class LinalgExtraComposites(_Host):
    """Defaults of the further decompositions: an engine without a kernel says so."""

    def eigh(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Eigenvalues (ascending) and eigenvectors (columns) of symmetric
        matrices, reading the lower triangle."""
        raise NotImplementedError(f"linalg.eigh: the {self.name!r} engine has no symmetric eigendecomposition (eigh).")

    def jvp(self, fun: Any, primals: Any, tangents: Any, has_aux: bool = False) -> tuple[Any, ...]:
        """Forward-mode derivative: ``(fun(*primals), J(primals) @ tangents)``
        (and ``aux`` with ``has_aux``), as ``jax.jvp``."""
        raise NotImplementedError(f"linalg.jvp: the {self.name!r} engine does not differentiate (no forward mode).")
