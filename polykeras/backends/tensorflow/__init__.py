"""The TensorFlow engine: the backend protocol on ``tf.raw_ops`` / ``tf.nn`` /
``tf.linalg``, eager and inside ``tf.function`` alike.

Modules: ``core`` (conversion, promotion, tensors, variables, autodiff, jit,
devices), ``math`` (elementwise, reductions, sorting), ``linalg``, ``shapes``
(shapes and indexing), ``nn`` (activations, convolution, pooling, losses),
``random`` (stateless draws), ``optimizers`` (fused ``ResourceApply*`` rules),
``rnn`` (``scan`` as ``tf.while_loop`` in graphs).

Example:
    >>> import polykeras.backends as B
    >>> tf_engine = B.get("tensorflow")
    >>> tf_engine.to_numpy(tf_engine.add(tf_engine.ones((2,)), 1.0))
    array([2., 2.], dtype=float32)
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from polykeras.backends.base import Backend  # noqa: E402
from polykeras.backends.tensorflow.control_flow import TensorflowControlFlow  # noqa: E402
from polykeras.backends.tensorflow.core import TensorflowCore  # noqa: E402
from polykeras.backends.tensorflow.export import TensorflowExport  # noqa: E402
from polykeras.backends.tensorflow.distribution import TensorflowDistribution  # noqa: E402
from polykeras.backends.tensorflow.family import TensorflowFamilyKernels  # noqa: E402
from polykeras.backends.tensorflow.linalg import TensorflowLinalg  # noqa: E402
from polykeras.backends.tensorflow.math import TensorflowMath  # noqa: E402
from polykeras.backends.tensorflow.native import TensorflowNative  # noqa: E402
from polykeras.backends.tensorflow.nn import TensorflowNN  # noqa: E402
from polykeras.backends.tensorflow.optimizers import TensorflowOptimizers  # noqa: E402
from polykeras.backends.tensorflow.random import TensorflowRandom  # noqa: E402
from polykeras.backends.tensorflow.rnn import TensorflowRecurrent  # noqa: E402
from polykeras.backends.tensorflow.shapes import TensorflowShapes  # noqa: E402
from polykeras.backends.tensorflow.signal import TensorflowSignal  # noqa: E402
from polykeras.backends.tensorflow.training import TensorflowTraining  # noqa: E402

__all__ = ["TensorflowBackend"]


class TensorflowBackend(
    TensorflowTraining, TensorflowDistribution, TensorflowCore, TensorflowMath, TensorflowLinalg, TensorflowShapes,
    TensorflowNN,
    TensorflowRandom, TensorflowOptimizers, TensorflowRecurrent, TensorflowNative, TensorflowControlFlow,
    TensorflowFamilyKernels, TensorflowSignal, TensorflowExport, Backend,
):
    """The TensorFlow engine. Variables are ``tf.Variable``; ``value_and_grad``
    uses ``tf.GradientTape``; ``jit`` is ``tf.function(reduce_retracing=True,
    autograph=False)``.

    Example:
        >>> engine = TensorflowBackend()
        >>> engine.dtype(engine.divide(engine.arange(3), 2))
        'float32'
    """

    differentiable = True
