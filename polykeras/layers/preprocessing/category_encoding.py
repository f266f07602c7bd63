"""``CategoryEncoding`` and the encoding it shares with ``Discretization``
and the lookup layers: integer ids to one-hot, multi-hot or count vectors.

Example:
    >>> ops.to_numpy(encode_categorical(ops.convert_to_tensor([[0, 2, 2]]), "count", 4, "float32"))
    array([[1., 0., 2., 0.]], dtype=float32)
"""

from __future__ import annotations

from typing import Any

from polykeras import ops
from polykeras.layers.convolutional.arguments import describe_layer
from polykeras.layers.layer import Layer

__all__ = ["CategoryEncoding", "encode_categorical", "encoded_shape"]

OUTPUT_MODES = ("one_hot", "multi_hot", "count")


def encode_categorical(inputs: Any, output_mode: str, depth: int, dtype: str, count_weights: Any = None) -> Any:
    """Integer ids ``inputs`` encoded as Keras 3 does: ``"int"`` casts;
    ``"one_hot"`` adds an axis of ``depth`` (a trailing axis of size 1 is
    replaced); ``"multi_hot"`` / ``"count"`` mark / count the ids of each
    sample (a rank-1 input is one sample). Ids outside ``[0, depth)`` encode
    as zeros."""
    if output_mode == "int":
        return ops.cast(inputs, dtype)
    shape = tuple(ops.shape(inputs))
    if not shape:
        inputs, shape = ops.expand_dims(inputs, -1), (1,)
    inputs = ops.cast(inputs, "int32")
    if output_mode == "one_hot":
        if len(shape) > 1 and shape[-1] == 1:
            inputs = ops.squeeze(inputs, -1)
        return ops.one_hot(inputs, depth, dtype=dtype)
    axis = 1 if len(shape) > 1 else 0
    if output_mode == "multi_hot":
        return ops.max(ops.one_hot(inputs, depth, dtype=dtype), axis=axis)
    if count_weights is not None:
        encoded = ops.one_hot(inputs, depth, dtype=ops.dtype(count_weights))
        return ops.sum(ops.multiply(encoded, ops.expand_dims(count_weights, -1)), axis=axis)
    return ops.sum(ops.one_hot(inputs, depth, dtype=dtype), axis=axis)


def encoded_shape(input_shape: Any, output_mode: str, depth: int) -> tuple:
    """The shape :func:`encode_categorical` gives for ``input_shape``."""
    input_shape = tuple(input_shape)
    if output_mode == "int":
        return input_shape
    if not input_shape:
        return (depth,)
    if output_mode == "one_hot":
        if len(input_shape) > 1 and input_shape[-1] == 1:
            return input_shape[:-1] + (depth,)
        return input_shape + (depth,)
    return (input_shape[0], *input_shape[2:], depth) if len(input_shape) > 1 else (depth,)


class CategoryEncoding(Layer):
    """Encodes integer ids in ``[0, num_tokens)`` as dense vectors.

    Args:
        num_tokens: the number of categories (the output's last axis).
        output_mode: ``"one_hot"`` (one vector per id; a trailing axis of size
            1 is replaced), ``"multi_hot"`` (1 for each id present in a
            sample) or ``"count"`` (how often each id occurs in a sample,
            weighted by the call's ``count_weights`` when given).
            ``"binary"`` is Keras' old name of ``"multi_hot"``.
        sparse: must be False (no engine here returns sparse tensors).

    Inputs of rank 1 are one sample for ``multi_hot``/``count``; those modes
    take inputs of rank 2 at most. Ids outside ``[0, num_tokens)`` encode as
    zeros.

    Example:
        >>> layer = CategoryEncoding(num_tokens=4, output_mode="multi_hot")
        >>> ops.to_numpy(layer(np.array([[0, 1], [2, 2]])))
        array([[1., 1., 0., 0.],
               [0., 0., 1., 0.]], dtype=float32)
    """

    def __init__(self, num_tokens: int | None = None, output_mode: str = "multi_hot", sparse: bool = False,
                 **kwargs: Any):
        super().__init__(**kwargs)
        who = describe_layer(self)
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode not in OUTPUT_MODES:
            raise ValueError(f"{who}: expected output_mode to be one of {OUTPUT_MODES}, received "
                             f"output_mode={output_mode!r}.")
        if isinstance(num_tokens, bool) or not isinstance(num_tokens, int) or num_tokens < 1:
            raise ValueError(f"{who}: expected num_tokens to be a positive int (use IntegerLookup when the number "
                             f"of categories is not known), received num_tokens={num_tokens!r}.")
        if sparse:
            raise ValueError(f"{who}: sparse outputs are not supported; expected sparse=False, received "
                             f"sparse={sparse!r}.")
        self.num_tokens = num_tokens
        self.output_mode = output_mode
        self.sparse = False

    def _check_rank(self, shape: tuple) -> None:
        if self.output_mode != "one_hot" and len(shape) > 2:
            raise ValueError(f"{describe_layer(self)}: output_mode={self.output_mode!r} expects inputs of rank 2 "
                             f"at most (batch, ids), received inputs of shape {shape}.")

    def call(self, inputs: Any, count_weights: Any = None) -> Any:
        shape = tuple(ops.shape(inputs))
        self._check_rank(shape)
        if ops.dtype(inputs).startswith(("float", "bfloat")):
            inputs = ops.cast(inputs, "int32")
        if count_weights is not None:
            if self.output_mode != "count":
                raise ValueError(f"{describe_layer(self)}: count_weights is used only with output_mode='count', "
                                 f"received count_weights with output_mode={self.output_mode!r}.")
            count_weights = ops.cast(count_weights, self.dtype)
            if tuple(ops.shape(count_weights)) != shape:
                raise ValueError(f"{describe_layer(self)}: expected count_weights of the inputs' shape {shape}, "
                                 f"received shape {tuple(ops.shape(count_weights))}.")
        return encode_categorical(inputs, self.output_mode, self.num_tokens, self.dtype, count_weights)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        self._check_rank(tuple(input_shape))
        return encoded_shape(input_shape, self.output_mode, self.num_tokens)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_tokens": self.num_tokens, "output_mode": self.output_mode}
