"""Portable composites of Keras 3's ``keras.ops.numpy`` names beyond the core
protocol, written once with the primitives of :class:`polykeras.backends.base.Backend`
and inherited by every engine through it. An engine overrides one only where
it has a kernel that is faster or needed (``backends/<engine>/family.py``).

One mixin per family, each in its own module:

* :mod:`.elementwise`: inverse trigonometric and hyperbolic functions, logs in
  other bases, ``hypot``, ``fmod``, predicates (``isclose``, ``signbit``...).
* :mod:`.arrays`: shapes and construction (``diag``, ``tril``, ``roll``,
  ``hstack``, ``linspace``, ``outer``, ``kron``, window functions...).
* :mod:`.statistics`: reductions beyond the core (``median``, ``quantile``,
  the ``nan*`` family, ``average``, ``searchsorted``...).
* :mod:`.bitwise`: bitwise ops through one engine kernel hook
  (``bitwise_kernel``), ``gcd`` and ``lcm``.
* :mod:`.counting`: ``bincount``, ``histogram``, ``unique``, ``nonzero``,
  ``argpartition`` and ``in_top_k``.

Example:
    >>> import polykeras.backends as B
    >>> B.get("numpy").to_numpy(B.get("numpy").log2([1.0, 8.0]))
    array([0., 3.], dtype=float32)
"""

from __future__ import annotations

from polykeras.backends.numpy_family.arrays import ArrayComposites
from polykeras.backends.numpy_family.bitwise import BitwiseComposites
from polykeras.backends.numpy_family.counting import CountingComposites
from polykeras.backends.numpy_family.elementwise import ElementwiseComposites
from polykeras.backends.numpy_family.statistics import StatisticsComposites

__all__ = ["NumpyFamily"]


class NumpyFamily(ElementwiseComposites, ArrayComposites, StatisticsComposites, BitwiseComposites,
                  CountingComposites):
    """Every family's composites, in the order an engine's MRO sees them."""
