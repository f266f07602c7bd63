"""``Input`` and ``InputLayer``: where a functional graph starts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polykeras.layers.layer import Layer
from polykeras.symbolic import Node, SymbolicTensor, nodes_of


class InputLayer(Layer):
    """The layer behind :func:`Input`: it holds the graph's entry tensor and
    passes data through unchanged.

    Example:
        >>> layer = InputLayer(shape=(8,))
        >>> layer.output.shape
        (None, 8)
    """

    def __init__(self, shape: Sequence[int | None] | None = None, batch_size: int | None = None,
                 dtype: Any = None, name: str | None = None, batch_shape: Sequence[int | None] | None = None,
                 **kwargs: Any):
        super().__init__(name=name, dtype=dtype, **kwargs)
        if batch_shape is None:
            if shape is None:
                raise ValueError(f"InputLayer {self.name!r}: expected shape= or batch_shape=, received neither.")
            if isinstance(shape, int):
                shape = (shape,)
            batch_shape = (batch_size, *shape)
        elif shape is not None:
            raise ValueError(f"InputLayer {self.name!r}: expected shape= or batch_shape=, received both.")
        self.batch_shape = tuple(None if d is None else int(d) for d in batch_shape)
        node = Node(self, (), {})
        node.outputs = [SymbolicTensor(self.batch_shape, dtype or "float32", name=self.name, node=node)]
        nodes_of(self).append(node)
        self.built = True

    def call(self, inputs: Any) -> Any:
        return inputs

    def get_config(self) -> dict[str, Any]:
        return {"batch_shape": list(self.batch_shape), "dtype": self.output.dtype, "name": self.name}

    @property
    def input(self) -> SymbolicTensor:
        return self.output


def Input(shape: Sequence[int | None] | None = None, batch_size: int | None = None, dtype: Any = None,
          name: str | None = None, batch_shape: Sequence[int | None] | None = None) -> SymbolicTensor:
    """A symbolic input tensor: the start of a functional model.

    Args:
        shape: the shape of one sample (no batch axis); ``None`` for unknown sizes.
        batch_size: a fixed batch size, or None.
        dtype: float32 by default.
        name: a unique name; the model's input is addressed by it.
        batch_shape: the full shape instead of ``shape`` + ``batch_size``.

    Example:
        >>> x = Input(shape=(28, 28, 1), name="image")
        >>> x.shape
        (None, 28, 28, 1)
    """
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name, batch_shape=batch_shape).output
