"""The public op namespace: NumPy names and Keras 3 conventions, dispatched to
the active engine.

Example:
    >>> from polykeras import ops
    >>> ops.to_numpy(ops.add(ops.ones((2,)), 1.0))
    array([2., 2.], dtype=float32)
"""

from polykeras.ops import linalg, random
from polykeras.ops._dispatch import OpError
from polykeras.ops.core import (
    arange, cast, convert_to_tensor, dtype, eye, full, is_tensor, jit, ones, ones_like, shape,
    stop_gradient, to_numpy, value_and_grad, zeros, zeros_like,
)
from polykeras.ops.nn import (
    average_pool, batch_normalization, binary_crossentropy, categorical_crossentropy, conv,
    conv_transpose, depthwise_conv, elu, gelu, hard_sigmoid, hard_silu, leaky_relu, log_softmax,
    max_pool, mish, moments, one_hot, relu, relu6, selu, sigmoid, silu, softmax, softplus, softsign,
    sparse_categorical_crossentropy,
)
from polykeras.ops.numpy import (
    abs, add, all, any, arctan, arctan2, argmax, argmin, argsort, broadcast_to, ceil, clip,
    concatenate, cos, cosh, cumprod, cumsum, divide, dot, einsum, equal, erf, exp, expand_dims, expm1,
    flip, floor, floor_divide, get_item, greater, greater_equal, isfinite, isinf, isnan, less, less_equal, log,
    log1p, logical_and, logical_not, logical_or, logical_xor, logsumexp, matmul, max, maximum, mean,
    min, minimum, mod, moveaxis, multiply, negative, not_equal, pad, power, prod, reciprocal, repeat,
    reshape, round, rsqrt, scatter, scatter_update, sign, sin, sinh, slice, slice_update, sort, split,
    sqrt, square, squeeze, stack, std, subtract, sum, take, take_along_axis, tan, tanh, tensordot, tile,
    top_k, transpose, var, where,
)

from polykeras.ops.elementwise import *  # noqa: F403 - keras.ops.numpy's elementwise family

from polykeras.ops.arrays import *  # noqa: F403 - keras.ops.numpy's arrays family

from polykeras.ops.statistics import *  # noqa: F403 - keras.ops.numpy's statistics family

from polykeras.ops.control_flow import *  # noqa: F403 - Keras 3's core control flow
from polykeras.ops.nn_extra import *  # noqa: F403 - more of keras.ops.nn
from polykeras.ops.math_extra import *  # noqa: F403 - more of keras.ops.math
from polykeras.ops.linalg import (  # Keras 3 also has these flat in keras.ops
    cholesky, cholesky_inverse, det, eig, eigh, inv, jvp, lstsq, lu_factor, matrix_rank, norm, pinv, qr, solve,
    solve_triangular, svd,
)
from polykeras.ops.signal import *  # noqa: F403 - keras.ops.math's signal family, erfinv and cdist
from polykeras.ops.numpy_tail import *  # noqa: F403 - i0, nextafter, view, vectorize
from polykeras.ops.nn_patches import *  # noqa: F403 - polar, unfold, fold

from polykeras.ops.bitwise import *  # noqa: F403 - keras.ops.numpy's bitwise family
from polykeras.ops.counting import *  # noqa: F403 - bincount, histogram, unique, nonzero, argpartition, in_top_k
from polykeras.ops.einops import rearrange

convert_to_numpy = to_numpy  # Keras 3's name for the same op

__all__ = [name for name in dir() if not name.startswith("_")]

from polykeras.ops import image  # noqa: E402,F401 - keras.ops.image
