"""What the NumPy engine's mixins (``core``, ``math``, ``shapes``, ``nn``,
``random``, ``family``) use of one another, declared for the type checker.

:class:`~polykeras.backends.numpy.NumpyBackend` is assembled from mixins that
call each other's helpers (``self.xp``, ``self._tensor``, ``self._binary``...)
and the :class:`~polykeras.backends.base.Backend` primitives. Under
``TYPE_CHECKING`` each mixin derives from :class:`NumpyHost`: ``Backend`` plus
the signatures of those shared helpers, so a call to a helper is checked
against the one signature the mixin that defines it must keep. Nothing imports
this module at run time.

Example:
    >>> from typing import TYPE_CHECKING
    >>> if TYPE_CHECKING:
    ...     from polykeras.backends.numpy.host import NumpyHost as _Host
    ... else:
    ...     _Host = object
    >>> class NumpyExtra(_Host):
    ...     def twice(self, x):
    ...         return self._binary(self.xp.add, x, x)
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import Any

from polykeras.backends.base import Backend, Tensor

__all__ = ["NumpyHost"]


class NumpyHost(Backend):
    """``Backend`` plus the helpers the NumPy engine's mixins share."""

    #: The array module (``numpy``; ``jax.numpy`` on the JAX engine).
    xp: Any
    #: The engine's tensor type (``numpy.ndarray``; JAX's ``ArrayImpl``).
    array_type: type[Any]

    # --- defined in ``core``
    @abc.abstractmethod
    def _native_dtype(self, dtype: Any) -> Any: ...

    @abc.abstractmethod
    def _dtype_name(self, native: Any) -> str: ...

    @abc.abstractmethod
    def _tensor(self, x: Any) -> Tensor: ...

    @abc.abstractmethod
    def _floating(self, x: Any) -> Tensor: ...

    @abc.abstractmethod
    def _promote(self, *xs: Tensor) -> list[Tensor]: ...

    @abc.abstractmethod
    def _operands(self, x1: Any, x2: Any) -> tuple[Any, Any]: ...

    @abc.abstractmethod
    def _binary(self, fn: Callable[[Any, Any], Tensor], x1: Any, x2: Any) -> Tensor: ...

    @abc.abstractmethod
    def _compare(self, fn: Callable[[Any, Any], Tensor], x1: Any, x2: Any) -> Tensor: ...

    # --- defined in ``math``
    @abc.abstractmethod
    def _float_op(self, fn: Any, x: Any) -> Tensor: ...
