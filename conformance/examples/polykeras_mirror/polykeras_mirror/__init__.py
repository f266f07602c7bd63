"""``polykeras-mirror``: the smallest third-party engine, the NumPy reference
engine registered under the name ``mirror``.

A real engine subclasses :class:`polykeras.backends.Backend` (or, like this
one, an engine that already implements it) and overrides what it does its own
way; its package declares the class in the ``polykeras.backends`` entry-point
group (see ``pyproject.toml``). Then::

    $ pip install -e conformance/examples/polykeras_mirror
    $ polykeras-conformance --backends mirror --only ops

Example:
    >>> import polykeras.backends as B
    >>> B.get("mirror").to_numpy(B.get("mirror").add([1.0], 1.0))
    array([2.], dtype=float32)
"""

from __future__ import annotations

import numpy as np

from polykeras.backends.numpy import NumpyBackend

__all__ = ["MirrorBackend"]
__version__ = "0.1.0"


class MirrorBackend(NumpyBackend):
    """The NumPy engine under another name, with one op rewritten its own way
    (``softsign``, to show an override the conformance suite then checks).

    Example:
        >>> MirrorBackend().version().startswith("mirror")
        True
    """

    def version(self) -> str:
        return f"mirror {__version__} (numpy {np.__version__})"

    def softsign(self, x):  # noqa: ANN001, ANN201 - the protocol's signature
        x = self.convert_to_tensor(x)
        return self.multiply(x, self.reciprocal(self.add(self.abs(x), 1.0)))
