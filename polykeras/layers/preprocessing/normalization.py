"""``Normalization``: ``(x - mean) / sqrt(variance)`` with statistics given
as arguments (kept in the config) or learned by ``adapt(data)`` (kept in the
non-trainable weights ``mean``, ``variance``, ``count``, Keras 3's names,
shapes and order), so both kinds save and load.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from polykeras import ops
from polykeras.layers.convolutional.arguments import describe_layer
from polykeras.layers.layer import Layer
from polykeras.config import epsilon

__all__ = ["Normalization", "host_array", "iter_batches"]


def host_array(data: Any, dtype: Any = None) -> np.ndarray:
    """``data`` (a NumPy array, an engine tensor, a nested list) as a NumPy array."""
    if isinstance(data, np.ndarray):
        return data if dtype is None else data.astype(dtype, copy=False)
    if ops.is_tensor(data):
        data = ops.to_numpy(data)
    return np.asarray(data, dtype=dtype)


def iter_batches(data: Any, who: str) -> tuple[Iterable[Any], bool]:
    """``(batches, batched)``: a single array or tensor is one batch; an
    iterable of arrays (a list of batches, a generator, a data loader) gives
    its elements, and ``(x, y)`` pairs give ``x``."""
    if isinstance(data, np.ndarray) or ops.is_tensor(data):
        return [data], False
    if isinstance(data, (str, bytes)) or not hasattr(data, "__iter__"):
        raise TypeError(f"{who}.adapt: expected a NumPy array, a tensor or an iterable of batches, received "
                        f"{type(data).__name__}.")
    iterator = iter(data)
    first = next(iterator, None)
    if first is None:
        raise ValueError(f"{who}.adapt: received an empty iterable; expected at least one batch.")
    batches = itertools.chain([first], iterator)
    return ((b[0] if isinstance(b, tuple) else b) for b in batches), True


class Normalization(Layer):
    """Shifts and scales inputs to zero mean and unit variance along ``axis``:
    ``(x - mean) / max(sqrt(variance), 1e-7)`` (``invert=True`` undoes it).

    Args:
        axis: the axis or axes that keep their own statistics (default the
            last, i.e. per feature); ``None`` for one scalar mean/variance.
        mean, variance: the statistics, given directly (numbers or arrays
            broadcast over the kept axes); they are stored in the config.
            Without them, call :meth:`adapt` on data: the statistics go to the
            non-trainable weights ``mean``, ``variance`` and ``count`` (the
            number of values each statistic summarises; Keras leaves it 0).
        invert: apply ``x * sqrt(variance) + mean`` instead.

    Example:
        >>> layer = Normalization()
        >>> layer.adapt(np.array([[0.0, 10.0], [2.0, 30.0]], "float32"))
        >>> ops.to_numpy(layer(np.array([[1.0, 20.0]], "float32")))
        array([[0., 0.]], dtype=float32)
    """

    def __init__(self, axis: Any = -1, mean: Any = None, variance: Any = None, invert: bool = False,
                 **kwargs: Any):
        super().__init__(**kwargs)
        who = describe_layer(self)
        if axis is None:
            axis = ()
        elif isinstance(axis, int) and not isinstance(axis, bool):
            axis = (axis,)
        elif isinstance(axis, (list, tuple)) and all(isinstance(a, int) and not isinstance(a, bool) for a in axis):
            axis = tuple(axis)
        else:
            raise ValueError(f"{who}: expected axis as an int, a tuple of ints or None, received axis={axis!r}.")
        self.axis = axis
        if (mean is None) != (variance is None):
            raise ValueError(f"{who}: expected both mean and variance or neither, received mean={mean!r} and "
                             f"variance={variance!r}.")
        if mean is not None:
            mean, variance = host_array(mean, np.float64), host_array(variance, np.float64)
            if mean.shape != variance.shape:
                raise ValueError(f"{who}: expected mean and variance of the same shape, received shapes "
                                 f"{mean.shape} and {variance.shape}.")
            if mean.ndim > len(self.axis):
                raise ValueError(f"{who}: expected mean of rank {len(self.axis)} at most (the number of axes "
                                 f"{self.axis}), received mean of shape {mean.shape}.")
            if np.any(variance < 0):
                raise ValueError(f"{who}: expected a non-negative variance, received variance={variance.tolist()}.")
        self.input_mean = mean
        self.input_variance = variance
        self.invert = invert
        self.supports_masking = True

    # ------------------------------------------------------------- build
    def build(self, input_shape: Any) -> None:
        input_shape = tuple(input_shape)
        ndim = len(input_shape)
        who = describe_layer(self)
        if any(not -ndim <= a < ndim for a in self.axis):
            raise ValueError(f"{who}: expected axis within [-{ndim}, {ndim}) for inputs of shape {input_shape}, "
                             f"received axis={self.axis}.")
        keep = tuple(sorted(a % ndim for a in self.axis))
        if any(input_shape[a] is None for a in keep):
            raise ValueError(f"{who}: the kept axes {self.axis} must have known sizes, received input shape "
                             f"{input_shape}.")
        self._keep_axes = keep
        self._reduce_axes = tuple(a for a in range(ndim) if a not in keep)
        self._broadcast_shape = tuple(input_shape[a] if a in keep else 1 for a in range(ndim))
        stats_shape = tuple(input_shape[a] for a in keep)
        self._stats_shape = stats_shape
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(shape=stats_shape, initializer="zeros", trainable=False, name="mean")
            self.adapt_variance = self.add_weight(shape=stats_shape, initializer="ones", trainable=False,
                                                  name="variance")
            self.count = self.add_weight(shape=(), dtype="int32", initializer="zeros", trainable=False,
                                         name="count")
            return
        mean, variance = self.input_mean, self.input_variance
        if mean.ndim:
            expanded = [1] * ndim
            for i in range(1, mean.ndim + 1):
                expanded[keep[-i]] = mean.shape[-i]
            mean, variance = mean.reshape(expanded), variance.reshape(expanded)
        try:
            self._fixed = (np.broadcast_to(mean, self._broadcast_shape), np.broadcast_to(variance,
                                                                                         self._broadcast_shape))
        except ValueError:
            raise ValueError(f"{who}: mean of shape {self.input_mean.shape} does not broadcast to the kept axes "
                             f"{stats_shape} of inputs of shape {input_shape}.") from None

    # ------------------------------------------------------------- adapt
    def adapt(self, data: Any) -> None:
        """Learn ``mean`` and ``variance`` from ``data``: an array or tensor,
        or an iterable of batches (``(x, y)`` pairs use ``x``). Computed on
        the host in float64; batches are merged exactly (Chan et al.).

        Example: ``layer.adapt(train_images)``
        """
        who = describe_layer(self)
        if self.input_mean is not None:
            raise ValueError(f"{who}: mean and variance were given as arguments, so there is nothing to adapt; "
                             "create the layer without them to learn them from data.")
        batches, _ = iter_batches(data, who)
        total, mean, m2 = 0, None, np.zeros(())
        for batch in batches:
            x = host_array(batch, np.float64)
            if not self.built:
                self.build(x.shape)
            self._check_adapt_shape(x.shape)
            n = math.prod(x.shape[a] for a in self._reduce_axes)
            if n == 0:
                continue
            b_mean = x.mean(axis=self._reduce_axes).reshape(self._stats_shape)
            b_m2 = ((x - x.mean(axis=self._reduce_axes, keepdims=True)) ** 2).sum(
                axis=self._reduce_axes).reshape(self._stats_shape)
            if mean is None:
                total, mean, m2 = n, b_mean, b_m2
                continue
            delta = b_mean - mean
            merged = total + n
            mean = mean + delta * (n / merged)
            m2 = m2 + b_m2 + delta ** 2 * (total * n / merged)
            total = merged
        if mean is None:
            raise ValueError(f"{who}.adapt: the data holds no values; expected at least one sample.")
        self.adapt_mean.assign(mean.astype(np.float32))
        self.adapt_variance.assign((m2 / total).astype(np.float32))
        self.count.assign(np.array(total, np.int32))

    def _check_adapt_shape(self, shape: tuple) -> None:
        build = self._broadcast_shape
        if len(shape) != len(build) or any(shape[a] != build[a] for a in self._keep_axes):
            raise ValueError(f"{describe_layer(self)}.adapt: expected data whose axes {self._keep_axes} have sizes "
                             f"{self._stats_shape} (the layer was built for that), received data of shape {shape}.")

    # -------------------------------------------------------------- call
    @property
    def mean(self) -> Any:
        """The mean in the inputs' broadcast shape (given, or learnt by
        :meth:`adapt`), as Keras 3 exposes it; None before the layer is built.
        Example: ``layer.adapt(x); ops.to_numpy(layer.mean)`` -> ``array([[3.1, 2.9]])``"""
        return self._statistics()[0] if self.built else None

    @property
    def variance(self) -> Any:
        """The variance in the inputs' broadcast shape; None before the layer is built.
        Example: ``ops.to_numpy(layer.variance)``"""
        return self._statistics()[1] if self.built else None

    def _statistics(self) -> tuple[Any, Any]:
        if self.input_mean is not None:
            mean, variance = self._fixed
            return ops.convert_to_tensor(mean, self.dtype), ops.convert_to_tensor(variance, self.dtype)
        return (ops.reshape(self.adapt_mean, self._broadcast_shape),
                ops.reshape(self.adapt_variance, self._broadcast_shape))

    def call(self, inputs: Any) -> Any:
        inputs = ops.cast(inputs, self.dtype)
        mean, variance = self._statistics()
        std = ops.maximum(ops.sqrt(variance), epsilon())  # the floor Keras takes: backend.epsilon()
        if self.invert:
            return ops.add(mean, ops.multiply(inputs, std))
        return ops.divide(ops.subtract(inputs, mean), std)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "axis": self.axis,
            "invert": self.invert,
            "mean": None if self.input_mean is None else self.input_mean.tolist(),
            "variance": None if self.input_variance is None else self.input_variance.tolist(),
        }
