"""``Reshape``, ``Permute`` and ``RepeatVector``: rearrange the non-batch axes."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from polykeras import ops
from polykeras.layers.convolutional.arguments import describe_layer
from polykeras.layers.input_spec import InputSpec
from polykeras.layers.layer import Layer

__all__ = ["Permute", "RepeatVector", "Reshape"]


class Reshape(Layer):
    """Reshapes the non-batch axes to ``target_shape``; one entry may be
    ``-1`` (inferred from the input's size).

    Example:
        >>> ops.shape(Reshape((4, -1))(np.ones((2, 3, 4), "float32")))
        (2, 4, 3)
    """

    def __init__(self, target_shape: Sequence[int], **kwargs: Any):
        super().__init__(**kwargs)
        who = describe_layer(self)
        if not isinstance(target_shape, (list, tuple)) or not all(
                isinstance(d, int) and not isinstance(d, bool) and (d > 0 or d == -1) for d in target_shape):
            raise ValueError(f"{who}: expected target_shape as a tuple of positive ints (one may be -1), "
                             f"received target_shape={target_shape!r}.")
        if list(target_shape).count(-1) > 1:
            raise ValueError(f"{who}: expected at most one -1 in target_shape, received {tuple(target_shape)}.")
        self.target_shape = tuple(target_shape)

    def _resolve(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        rest = tuple(input_shape)[1:]
        known = math.prod(d for d in self.target_shape if d != -1)
        sizes = [d for d in rest if d is not None]
        if len(sizes) < len(rest):
            return tuple(None if d == -1 else d for d in self.target_shape)
        size = math.prod(sizes)
        if (-1 in self.target_shape and size % known) or (-1 not in self.target_shape and size != known):
            raise ValueError(f"{describe_layer(self)}: cannot reshape an input of shape {tuple(input_shape)} "
                             f"({size} values per sample) to target_shape {self.target_shape}.")
        return tuple(size // known if d == -1 else d for d in self.target_shape)

    def call(self, inputs: Any) -> Any:
        shape = tuple(ops.shape(inputs))
        target = self._resolve(shape)
        sizes = [d for d in target if d is not None]
        if len(sizes) < len(target):
            return ops.reshape(inputs, (shape[0], *self.target_shape))
        return ops.reshape(inputs, (-1, *sizes))

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return (tuple(input_shape)[0], *self._resolve(input_shape))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "target_shape": self.target_shape}


class Permute(Layer):
    """Permutes the non-batch axes by ``dims`` (1-based: ``(2, 1)`` swaps the
    two axes after the batch axis).

    Example:
        >>> ops.shape(Permute((2, 1))(np.ones((2, 3, 4), "float32")))
        (2, 4, 3)
    """

    def __init__(self, dims: Sequence[int], **kwargs: Any):
        super().__init__(**kwargs)
        if not isinstance(dims, (list, tuple)) or sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError(f"{describe_layer(self)}: expected dims to be a permutation of 1..n (the non-batch "
                             f"axes, 1-based), received dims={dims!r}.")
        self.dims = tuple(dims)
        self.input_spec = InputSpec(ndim=len(self.dims) + 1)

    def call(self, inputs: Any) -> Any:
        return ops.transpose(inputs, (0, *self.dims))

    def compute_output_shape(self, input_shape: Any) -> tuple:
        input_shape = tuple(input_shape)
        return (input_shape[0], *(input_shape[d] for d in self.dims))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "dims": self.dims}


class RepeatVector(Layer):
    """Repeats a ``(batch, features)`` input ``n`` times: ``(batch, n, features)``.

    Example:
        >>> ops.shape(RepeatVector(3)(np.ones((2, 4), "float32")))
        (2, 3, 4)
    """

    def __init__(self, n: int, **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
            raise ValueError(f"{describe_layer(self)}: expected n to be a positive int, received n={n!r}.")
        self.n = n
        self.input_spec = InputSpec(ndim=2)

    def call(self, inputs: Any) -> Any:
        return ops.repeat(ops.expand_dims(inputs, 1), self.n, axis=1)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        input_shape = tuple(input_shape)
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "n": self.n}
