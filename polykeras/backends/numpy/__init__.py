"""The NumPy reference engine: the semantics every other engine is checked
against, for inference and reference only (no autodiff, no compiler).

It is written once against an array module ``xp`` so that engines whose arrays
follow the NumPy API reuse it: the JAX engine is this class with
``xp = jax.numpy`` and a handful of overrides.

Example:
    >>> import polykeras.backends as B
    >>> engine = B.get("numpy")
    >>> engine.to_numpy(engine.add([1, 2], 0.5))
    array([1.5, 2.5], dtype=float32)
"""

from __future__ import annotations

from polykeras.backends.base import Backend
from polykeras.backends.numpy.core import NumpyCore, float_dtype_for, host_array, python_array
from polykeras.backends.numpy.evaluation import NumpyAbstractEvaluation
from polykeras.backends.numpy.family import NumpyFamilyKernels
from polykeras.backends.numpy.math import NumpyMath
from polykeras.backends.numpy.nn import (
    NumpyNN, conv_padding, conv_transpose_padding, reference_conv, reference_conv_transpose,
    reference_pool, same_padding,
)
from polykeras.backends.numpy.random import NumpyRandom, float_dtype, seed_words
from polykeras.backends.numpy.shapes import NumpyShapes
from polykeras.backends.numpy.signal import NumpySignalKernels
from polykeras.backends.numpy.training import NumpyTraining

__all__ = [
    "NumpyBackend",
    "conv_padding",
    "conv_transpose_padding",
    "float_dtype",
    "float_dtype_for",
    "host_array",
    "python_array",
    "reference_conv",
    "reference_conv_transpose",
    "reference_pool",
    "same_padding",
    "seed_words",
]


class NumpyBackend(NumpyTraining, NumpyAbstractEvaluation, NumpyCore, NumpyMath, NumpyShapes, NumpyNN, NumpyRandom,
                   NumpyFamilyKernels, NumpySignalKernels, Backend):
    """The NumPy engine. Tensors are ``numpy.ndarray`` (NumPy scalars count as
    0-d tensors); variables are plain arrays and ``assign`` returns the new one.

    Example:
        >>> engine = NumpyBackend()
        >>> engine.dtype(engine.mean(engine.arange(4)))
        'float32'
    """

    name = "numpy"
    differentiable = False
    #: No framework of its own: torch modules, JAX functions and SavedModels
    #: run through NumPy at the boundary (forward only).
    host_frameworks = frozenset({"torch", "jax", "tensorflow"})
