"""``Input`` and ``InputLayer``: where a functional graph starts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polykeras.layers.layer import Layer
from polykeras.symbolic import STRING, Node, SymbolicTensor, nodes_of, symbolic_dtype


class InputLayer(Layer):
    """The layer behind :func:`Input`: it holds the graph's entry tensor and
    passes data through unchanged. Takes Keras 3's arguments, in its order.

    Args:
        shape: the shape of one sample (no batch axis).
        batch_size: a fixed batch size, or None.
        dtype: float32 by default; ``"string"`` for text, which only the
            host layers (``StringLookup``, ``Hashing``, ``HashedCrossing``,
            ``TextVectorization``) read.
        sparse, ragged: only False/None (dense tensors); True raises
            ``NotImplementedError``.
        batch_shape: the full shape instead of ``shape`` + ``batch_size``.
        input_tensor: a symbolic tensor no layer produced
            (``polykeras.KerasTensor(shape)``) to use as the input itself.
        optional: the model may be called with ``None`` for this input; the
            layers it feeds then receive ``None``.
        name: a unique name.

    Example:
        >>> layer = InputLayer(shape=(8,))
        >>> layer.output.shape
        (None, 8)
    """

    def __init__(self, shape: Sequence[int | None] | None = None, batch_size: int | None = None,
                 dtype: Any = None, sparse: bool | None = None, ragged: bool | None = None,
                 batch_shape: Sequence[int | None] | None = None, input_tensor: SymbolicTensor | None = None,
                 optional: bool = False, name: str | None = None, **kwargs: Any):
        if dtype is not None and symbolic_dtype(dtype) == STRING:
            dtype, string = None, True  # no dtype policy holds strings: the tensor keeps the dtype
        else:
            string = False
        super().__init__(name=name, dtype=dtype, **kwargs)
        for argument, value in (("sparse", sparse), ("ragged", ragged)):
            if value:
                raise NotImplementedError(f"InputLayer {self.name!r}: {argument}=True inputs are not supported; "
                                          f"expected {argument}=False or None (dense tensors).")
        if isinstance(shape, int):
            shape = (shape,)
        if string:
            dtype = STRING
        if input_tensor is not None:
            batch_shape, dtype = self._adopt(input_tensor, shape, batch_size, batch_shape, dtype)
        elif batch_shape is None:
            if shape is None:
                raise ValueError(f"InputLayer {self.name!r}: expected shape= or batch_shape=, received neither.")
            batch_shape = (batch_size, *shape)
        elif shape is not None:
            raise ValueError(f"InputLayer {self.name!r}: expected shape= or batch_shape=, received both.")
        self.batch_shape = tuple(None if d is None else int(d) for d in batch_shape)
        self.optional = bool(optional)
        node = Node(self, (), {})
        if input_tensor is None:
            input_tensor = SymbolicTensor(self.batch_shape, dtype or "float32", name=self.name)
        input_tensor.node, input_tensor.index = node, 0
        node.outputs = [input_tensor]
        nodes_of(self).append(node)
        self.built = True

    def _adopt(self, tensor: Any, shape: Any, batch_size: Any, batch_shape: Any, dtype: Any) -> tuple[tuple, str]:
        """The batch shape and dtype of ``input_tensor``, checked against the other arguments."""
        if not isinstance(tensor, SymbolicTensor):
            raise ValueError(f"InputLayer {self.name!r}: expected input_tensor to be a symbolic tensor "
                             f"(polykeras.KerasTensor), received {type(tensor).__name__}: {tensor!r}.")
        if tensor.node is not None:
            raise NotImplementedError(f"InputLayer {self.name!r}: input_tensor {tensor.name!r} is the output of "
                                      f"layer {tensor.node.layer.name!r}; only a symbolic tensor no layer "
                                      "produced can become an input.")
        given = {"shape": None if shape is None else tuple(shape), "batch_size": batch_size,
                 "batch_shape": None if batch_shape is None else tuple(batch_shape),
                 "dtype": None if dtype is None else symbolic_dtype(dtype)}
        held = {"shape": tensor.shape[1:], "batch_size": tensor.shape[0] if tensor.shape else None,
                "batch_shape": tensor.shape, "dtype": tensor.dtype}
        for argument, value in given.items():
            if value is not None and value != held[argument]:
                raise ValueError(f"InputLayer {self.name!r}: expected {argument}={held[argument]!r} as input_tensor "
                                 f"{tensor.name!r} has, received {argument}={value!r}.")
        return tensor.shape, tensor.dtype

    def call(self, inputs: Any) -> Any:
        return inputs

    def get_config(self) -> dict[str, Any]:
        return {"batch_shape": list(self.batch_shape), "dtype": self.output.dtype, "sparse": False,
                "ragged": False, "name": self.name, "optional": self.optional}

    @property
    def input(self) -> SymbolicTensor:
        return self.output


def Input(shape: Sequence[int | None] | None = None, batch_size: int | None = None, dtype: Any = None,
          sparse: bool | None = None, ragged: bool | None = None, batch_shape: Sequence[int | None] | None = None,
          name: str | None = None, tensor: SymbolicTensor | None = None, optional: bool = False) -> SymbolicTensor:
    """A symbolic input tensor: the start of a functional model. Keras 3's
    arguments, in its order.

    Args:
        shape: the shape of one sample (no batch axis); ``None`` for unknown sizes.
        batch_size: a fixed batch size, or None.
        dtype: float32 by default; ``"string"`` for text columns (NumPy arrays of str/bytes), read by
            ``StringLookup``, ``Hashing``, ``HashedCrossing`` and ``TextVectorization``.
        sparse, ragged: only False/None (dense tensors); True raises ``NotImplementedError``.
        batch_shape: the full shape instead of ``shape`` + ``batch_size``.
        name: a unique name; the model's input is addressed by it.
        tensor: a symbolic tensor no layer produced, to use as the input itself.
        optional: the model may be called with ``None`` for this input.

    Example:
        >>> x = Input(shape=(28, 28, 1), name="image")
        >>> x.shape
        (None, 28, 28, 1)
        >>> Input((3,), 8, "int32").shape        # shape, batch_size, dtype
        (8, 3)
        >>> Input((1,), dtype="string").dtype
        'string'
    """
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse, ragged=ragged,
                      batch_shape=batch_shape, input_tensor=tensor, optional=optional, name=name).output
