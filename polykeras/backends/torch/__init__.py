"""The PyTorch engine: :class:`TorchBackend`.

One mixin per concern (``core``, ``math``, ``linalg``, ``shapes``, ``nn``, ``optimizers``,
``random``, ``autodiff``, ``rnn``), assembled here into the class the registry loads as
``polykeras.backends.torch:TorchBackend``. Importing this package imports torch;
``import polykeras`` alone never does.

Example:
    >>> import polykeras.backends as B
    >>> engine = B.get("torch")
    >>> engine.to_numpy(engine.add(engine.ones((2,)), 1.0))
    array([2., 2.], dtype=float32)
"""

from __future__ import annotations

from polykeras.backends.base import Backend
from polykeras.backends.torch.autodiff import AutodiffMixin
from polykeras.backends.torch.attention import TorchAttention
from polykeras.backends.torch.control_flow import TorchControlFlow
from polykeras.backends.torch.core import CoreMixin
from polykeras.backends.torch.distribution import TorchDistribution
from polykeras.backends.torch.export import TorchExport
from polykeras.backends.torch.family import TorchFamilyKernels
from polykeras.backends.torch.linalg import LinalgMixin
from polykeras.backends.torch.math import MathMixin
from polykeras.backends.torch.native import NativeMixin
from polykeras.backends.torch.nn import NNMixin
from polykeras.backends.torch.optimizers import OptimizerMixin
from polykeras.backends.torch.random import RandomMixin
from polykeras.backends.torch.rnn import RecurrentMixin
from polykeras.backends.torch.shapes import ShapesMixin
from polykeras.backends.torch.signal import TorchSignal
from polykeras.backends.torch.training import TorchTraining

__all__ = ["TorchBackend"]


class TorchBackend(TorchTraining, TorchDistribution, CoreMixin, MathMixin, LinalgMixin, ShapesMixin, NNMixin,
                   RandomMixin, AutodiffMixin, OptimizerMixin, RecurrentMixin, NativeMixin, TorchControlFlow,
                   TorchAttention, TorchFamilyKernels, TorchSignal, TorchExport, Backend):
    """The PyTorch engine: eager torch kernels, autograd for gradients, and a
    ``jit`` that stays eager (the fast path on CPU) under ``torch.no_grad()``.

    Example:
        >>> engine = TorchBackend()
        >>> engine.dtype(engine.convert_to_tensor([1, 2]))
        'int32'
    """

    name = "torch"
    differentiable = True
