"""The NumPy engine's abstract evaluation: ``compute_output_spec`` on
:class:`~polykeras.backends.numpy.abstract.ShapedArray` inputs.

``fn`` runs through the engine's ordinary methods; NumPy's functions and
ufuncs work out shapes and dtypes on the shape-only arrays (see
``abstract.py``). What the engine does outside NumPy's dispatch is answered
here while an input is abstract: creation and random draws give shape-only
arrays during the evaluation, the exact convolution and pooling kernels give
their output shapes from the engine's padding rules, and gathers, slices and
scatters with abstract operands give theirs. Only the NumPy engine mixes this
in (the JAX engine, built on the same code, has ``jax.eval_shape``).

Example:
    >>> engine = polykeras.backends.get("numpy")
    >>> engine.compute_output_spec(lambda xs: [engine.matmul(xs[0], xs[0])], [Spec((8192, 8192), "float32")])
    [Spec(shape=(8192, 8192), dtype='float32')]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from polykeras.backends.base import Shape, Spec, Tensor, abstract_evaluation, in_abstract_evaluation, op_error
from polykeras.backends.control_flow import as_tuple, body_tuple
from polykeras.backends.numpy.abstract import AbstractValueError, ShapedArray, abstract_like
from polykeras.backends.numpy.nn import conv_padding, conv_transpose_padding, output_sizes
from polykeras.backends.numpy.random import float_dtype
from polykeras.backends.recurrent import tree_flatten, tree_unflatten

if TYPE_CHECKING:  # Backend plus the helpers the NumPy mixins share
    from polykeras.backends.numpy.host import NumpyHost as _Host
else:
    _Host = object

__all__ = ["NumpyAbstractEvaluation"]


def _any_abstract(*values: Any) -> bool:
    return any(abstract_like(v) for v in values)


def _window_output(inputs: Any, data_format: str, channels: int, spatial_out: Sequence[int], dtype: Any) -> ShapedArray:
    shape = (inputs.shape[0], *spatial_out, channels) if data_format == "channels_last" \
        else (inputs.shape[0], channels, *spatial_out)
    return ShapedArray(shape, dtype)


def _spatial(inputs: Any, data_format: str) -> tuple[tuple[int, ...], int]:
    shape = tuple(inputs.shape)
    return (shape[1:-1], shape[-1]) if data_format == "channels_last" else (shape[2:], shape[1])


class NumpyAbstractEvaluation(_Host):
    """Shape-only evaluation for :class:`~polykeras.backends.numpy.NumpyBackend`
    (listed before the engine's other parts, whose methods it answers for
    abstract operands)."""

    # ------------------------------------------------------ the evaluation
    def compute_output_spec(self, fn: Callable[[list[Tensor]], list[Any]], specs: Any) -> list[Any]:
        # Shape-only arrays: no kernel runs and no memory of the inputs' or outputs' size is taken.
        inputs = [ShapedArray(tuple(s.shape), self._native_dtype(s.dtype)) for s in specs]
        with abstract_evaluation(), np.errstate(all="ignore"):
            outputs = fn(inputs)
        return [Spec(self.shape(o), self.dtype(o)) if self.is_tensor(o) else o for o in outputs]

    def is_tensor(self, x: Any) -> bool:
        return isinstance(x, (np.ndarray, np.generic, ShapedArray))

    def convert_to_tensor(self, x: Any, dtype: str | None = None) -> Tensor:
        if type(x) is ShapedArray:
            return x if dtype is None else x.astype(self._native_dtype(dtype))
        return super().convert_to_tensor(x, dtype)  # type: ignore[safe-super]

    def _shaped(self, shape: Shape, dtype: str) -> ShapedArray:
        return ShapedArray(tuple(int(d) for d in shape), self._native_dtype(dtype))

    # ----------------------------------------------------------- creation
    def zeros(self, shape: Shape, dtype: str = "float32") -> Tensor:
        if in_abstract_evaluation():
            return self._shaped(shape, dtype)
        return super().zeros(shape, dtype)  # type: ignore[safe-super]

    def ones(self, shape: Shape, dtype: str = "float32") -> Tensor:
        if in_abstract_evaluation():
            return self._shaped(shape, dtype)
        return super().ones(shape, dtype)  # type: ignore[safe-super]

    def full(self, shape: Shape, fill_value: Any, dtype: str = "float32") -> Tensor:
        if in_abstract_evaluation():
            return self._shaped(shape, dtype)
        return super().full(shape, fill_value, dtype)  # type: ignore[safe-super]

    def zeros_like(self, x: Tensor, dtype: str | None = None) -> Tensor:
        if in_abstract_evaluation():
            x = self._tensor(x)
            return ShapedArray(x.shape, x.dtype if dtype is None else self._native_dtype(dtype))
        return super().zeros_like(x, dtype)

    def ones_like(self, x: Tensor, dtype: str | None = None) -> Tensor:
        if in_abstract_evaluation():
            return self.zeros_like(x, dtype)
        return super().ones_like(x, dtype)

    def variable(self, value: Any, dtype: str, trainable: bool, name: str) -> Any:
        if isinstance(value, ShapedArray):
            raise AbstractValueError(
                f"Variable {name!r}: its initial value was computed with ops during a shape-only evaluation and "
                "has no values; give the initializer host_values(shape, dtype), or create the weight in build().")
        return super().variable(value, dtype, trainable, name)  # type: ignore[safe-super]

    # ------------------------------------------------------------- random
    def random_normal(self, shape: Shape, seed: Tensor, mean: float = 0.0, stddev: float = 1.0,
                      dtype: str = "float32") -> Tensor:
        if in_abstract_evaluation():
            return self._shaped(shape, float_dtype("random_normal", dtype))
        return super().random_normal(shape, seed, mean, stddev, dtype)  # type: ignore[safe-super]

    def random_uniform(self, shape: Shape, seed: Tensor, minval: float = 0.0, maxval: float = 1.0,
                       dtype: str = "float32") -> Tensor:
        if in_abstract_evaluation():
            return self._shaped(shape, float_dtype("random_uniform", dtype))
        return super().random_uniform(shape, seed, minval, maxval, dtype)  # type: ignore[safe-super]

    def truncated_normal(self, shape: Shape, seed: Tensor, mean: float = 0.0, stddev: float = 1.0,
                         dtype: str = "float32") -> Tensor:
        if in_abstract_evaluation():
            return self._shaped(shape, float_dtype("truncated_normal", dtype))
        return super().truncated_normal(shape, seed, mean, stddev, dtype)  # type: ignore[safe-super]

    def randint(self, shape: Shape, seed: Tensor, minval: int, maxval: int, dtype: str = "int32") -> Tensor:
        if in_abstract_evaluation():
            return self._shaped(shape, dtype)
        return super().randint(shape, seed, minval, maxval, dtype)

    def random_gamma(self, shape: Shape, seed: Tensor, alpha: Any, dtype: str = "float32") -> Tensor:
        if in_abstract_evaluation():
            return self._shaped(shape, float_dtype("random_gamma", dtype))
        return super().random_gamma(shape, seed, alpha, dtype)

    def random_binomial(self, shape: Shape, seed: Tensor, counts: Any, probabilities: Any,
                        dtype: str = "float32") -> Tensor:
        if in_abstract_evaluation():
            return self._shaped(shape, dtype)
        return super().random_binomial(shape, seed, counts, probabilities, dtype)

    def categorical(self, logits: Tensor, num_samples: int, seed: Tensor, dtype: str = "int32") -> Tensor:
        if in_abstract_evaluation():
            logits = self._tensor(logits)
            if logits.ndim != 2:
                raise op_error("categorical", "logits of shape (batch, classes)", f"shape {tuple(logits.shape)}")
            return self._shaped((logits.shape[0], int(num_samples)), dtype)
        return super().categorical(logits, num_samples, seed, dtype)  # type: ignore[safe-super]

    def shuffle(self, x: Tensor, seed: Tensor, axis: int = 0) -> Tensor:
        if in_abstract_evaluation():
            x = self._tensor(x)
            return ShapedArray(x.shape, x.dtype)
        return super().shuffle(x, seed, axis)  # type: ignore[safe-super]

    # ------------------------------------------- windows: the padding rules
    def conv(self, inputs: Tensor, kernel: Tensor, strides: Sequence[int], padding: str,
             data_format: str, dilation_rate: Sequence[int]) -> Tensor:
        if not _any_abstract(inputs, kernel):
            return super().conv(inputs, kernel, strides, padding, data_format, dilation_rate)  # type: ignore[safe-super]
        inputs, kernel = self._tensor(inputs), self._tensor(kernel)
        *kernel_size, per_group, filters = kernel.shape
        spatial, channels = _spatial(inputs, data_format)
        if per_group == 0 or channels % per_group or filters % (channels // per_group):
            raise op_error("conv",
                           f"input channels and filters divisible by the group count (kernel in_channels {per_group})",
                           f"{channels} input channels and {filters} filters")
        return self._windowed("conv", inputs, kernel, kernel_size, filters, strides, padding, data_format,
                              dilation_rate)

    def depthwise_conv(self, inputs: Tensor, kernel: Tensor, strides: Sequence[int], padding: str,
                       data_format: str, dilation_rate: Sequence[int]) -> Tensor:
        if not _any_abstract(inputs, kernel):
            return super().depthwise_conv(inputs, kernel, strides, padding, data_format,  # type: ignore[safe-super]
                                          dilation_rate)
        inputs, kernel = self._tensor(inputs), self._tensor(kernel)
        *kernel_size, channels, multiplier = kernel.shape
        if _spatial(inputs, data_format)[1] != channels:
            raise op_error("depthwise_conv", f"inputs with {channels} channels (the kernel's)",
                           f"{_spatial(inputs, data_format)[1]} channels")
        return self._windowed("depthwise_conv", inputs, kernel, kernel_size, channels * multiplier, strides,
                              padding, data_format, dilation_rate)

    def _windowed(self, op: str, inputs: Any, kernel: Any, kernel_size: Sequence[int], channels: int,
                  strides: Sequence[int], padding: str, data_format: str, dilation_rate: Sequence[int]) -> Tensor:
        spatial = _spatial(inputs, data_format)[0]
        pads = conv_padding(spatial, kernel_size, tuple(strides), tuple(dilation_rate), padding)
        padded = [n + before + after for n, (before, after) in zip(spatial, pads)]
        sizes = output_sizes(op, padded, kernel_size, tuple(strides), tuple(dilation_rate))
        dtype = np.result_type(np.ones((), inputs.dtype), np.ones((), kernel.dtype))
        return _window_output(inputs, data_format, channels, sizes, dtype)

    def conv_transpose(self, inputs: Tensor, kernel: Tensor, strides: Sequence[int], padding: str,
                       output_padding: Sequence[int] | None, data_format: str,
                       dilation_rate: Sequence[int]) -> Tensor:
        if not _any_abstract(inputs, kernel):
            return super().conv_transpose(inputs, kernel, strides, padding, output_padding,  # type: ignore[safe-super]
                                          data_format, dilation_rate)
        inputs, kernel = self._tensor(inputs), self._tensor(kernel)
        *kernel_size, filters, channels = kernel.shape
        spatial, given = _spatial(inputs, data_format)
        if given != channels:
            raise op_error("conv_transpose", f"inputs with {channels} channels (the kernel's last axis)",
                           f"{given} channels")
        sizes = []
        for axis, n in enumerate(spatial):
            before, after = conv_transpose_padding(
                kernel_size[axis], strides[axis], dilation_rate[axis], padding,
                None if output_padding is None else output_padding[axis])
            effective = (kernel_size[axis] - 1) * dilation_rate[axis] + 1
            sizes.append((n - 1) * strides[axis] + before + after - effective + 2)
        dtype = np.result_type(np.ones((), inputs.dtype), np.ones((), kernel.dtype))
        return _window_output(inputs, data_format, filters, sizes, dtype)

    def max_pool(self, inputs: Tensor, pool_size: Sequence[int], strides: Sequence[int],
                 padding: str, data_format: str) -> Tensor:
        if not _any_abstract(inputs):
            return super().max_pool(inputs, pool_size, strides, padding, data_format)  # type: ignore[safe-super]
        return self._pooled("max_pool", inputs, pool_size, strides, padding, data_format)

    def average_pool(self, inputs: Tensor, pool_size: Sequence[int], strides: Sequence[int],
                     padding: str, data_format: str) -> Tensor:
        if not _any_abstract(inputs):
            return super().average_pool(inputs, pool_size, strides, padding, data_format)  # type: ignore[safe-super]
        return self._pooled("average_pool", inputs, pool_size, strides, padding, data_format)

    def _pooled(self, op: str, inputs: Any, pool_size: Sequence[int], strides: Sequence[int], padding: str,
                data_format: str) -> Tensor:
        inputs = self._tensor(inputs)
        spatial, channels = _spatial(inputs, data_format)
        ones = (1,) * len(pool_size)
        pads = conv_padding(spatial, tuple(pool_size), tuple(strides), ones, padding)
        padded = [n + before + after for n, (before, after) in zip(spatial, pads)]
        sizes = output_sizes(op, padded, tuple(pool_size), tuple(strides), ones)
        dtype = inputs.dtype if op == "max_pool" or inputs.dtype.kind in "fV" else np.dtype(np.float32)
        return _window_output(inputs, data_format, channels, sizes, dtype)

    # ------------------------------------- gathers, slices, scatters, erf
    def take(self, x: Tensor, indices: Tensor, axis: int | None = None) -> Tensor:
        if not _any_abstract(x, indices):
            return super().take(x, indices, axis)  # type: ignore[safe-super]
        x, indices = self._tensor(x), self._tensor(indices)
        if axis is None:
            return ShapedArray(indices.shape, x.dtype)
        axis = int(axis) % max(x.ndim, 1)
        return ShapedArray((*x.shape[:axis], *indices.shape, *x.shape[axis + 1:]), x.dtype)

    def slice(self, x: Tensor, start_indices: Sequence[Any], shape: Sequence[int]) -> Tensor:
        if not _any_abstract(x, list(start_indices)):
            return super().slice(x, start_indices, shape)  # type: ignore[safe-super]
        x = self._tensor(x)
        if len(start_indices) != x.ndim or len(shape) != x.ndim:
            raise op_error("slice", f"{x.ndim} start indices and block sizes (one per axis)",
                           f"{len(start_indices)} start indices and block shape {tuple(shape)}")
        return ShapedArray(tuple(int(d) for d in shape), x.dtype)

    def slice_update(self, x: Tensor, start_indices: Sequence[Any], updates: Tensor) -> Tensor:
        if not _any_abstract(x, list(start_indices), updates):
            return super().slice_update(x, start_indices, updates)  # type: ignore[safe-super]
        x = self._tensor(x)
        return ShapedArray(x.shape, x.dtype)

    def _index_set(self, x: Tensor, index: tuple, updates: Tensor) -> Tensor:
        if not _any_abstract(x, index, updates):
            return super()._index_set(x, index, updates)  # type: ignore[misc]
        target = ShapedArray(x.shape, x.dtype)
        target[index] = updates  # checks the index and the updates' shape
        return target

    def _scatter_add(self, out: Tensor, index: tuple, values: Tensor) -> Tensor:
        if not _any_abstract(out, index, values):
            return super()._scatter_add(out, index, values)  # type: ignore[misc]
        return ShapedArray(out.shape, out.dtype)

    def erf(self, x: Tensor) -> Tensor:
        if not _any_abstract(x):
            return super().erf(x)  # type: ignore[safe-super]
        x = self._floating(x)
        return ShapedArray(x.shape, x.dtype)

    # ------------------------- control flow on abstract predicates: as lax's
    def _abstract_result(self, op: str, results: list[Any]) -> Any:
        """The one structure of specs every branch gave, as shape-only arrays."""
        flat, structure = tree_flatten(results[0])
        specs = [(tuple(self.shape(leaf)), self.dtype(leaf)) for leaf in flat]
        for other in results[1:]:
            leaves = tree_flatten(other)[0]
            if [(tuple(self.shape(leaf)), self.dtype(leaf)) for leaf in leaves] != specs:
                raise op_error(op, "branches returning the same shapes and dtypes", f"{specs} and "
                               f"{[(tuple(self.shape(leaf)), self.dtype(leaf)) for leaf in leaves]}")
        return tree_unflatten(structure, [self._shaped(shape, dtype) for shape, dtype in specs])

    def cond(self, pred: Any, true_fn: Callable[[], Any], false_fn: Callable[[], Any]) -> Any:
        if not isinstance(pred, ShapedArray):
            return super().cond(pred, true_fn, false_fn)
        return self._abstract_result("cond", [true_fn(), false_fn()])

    def switch(self, index: Any, branches: Sequence[Callable[..., Any]], *operands: Any) -> Any:
        if not isinstance(index, ShapedArray):
            return super().switch(index, branches, *operands)
        return self._abstract_result("switch", [branch(*operands) for branch in branches])

    def while_loop(self, cond: Callable[..., Any], body: Callable[..., Any], loop_vars: Any,
                   maximum_iterations: int | None = None) -> Any:
        values, is_tuple = as_tuple(loop_vars)
        if not in_abstract_evaluation() or not isinstance(cond(*values), ShapedArray):
            return super().while_loop(cond, body, loop_vars, maximum_iterations)
        # How often the body runs depends on values: the loop variables keep their shapes (the body's checked).
        out = self._abstract_result("while_loop", [values, body_tuple(body(*values), is_tuple)])
        return out if is_tuple else out[0]

    def fori_loop(self, lower: Any, upper: Any, body_fun: Callable[[Any, Any], Any], init_val: Any) -> Any:
        if not _any_abstract(lower, upper):
            return super().fori_loop(lower, upper, body_fun, init_val)
        return self._abstract_result("fori_loop", [init_val, body_fun(self._shaped((), "int32"), init_val)])
