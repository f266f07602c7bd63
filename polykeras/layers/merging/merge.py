"""Merge layers: combine a list of tensors. Elementwise ``Add``,
``Subtract``, ``Multiply``, ``Average``, ``Maximum``, ``Minimum``, and
``Concatenate`` and ``Dot``.

Shapes are checked when the layer is built and on every call, with an error
that names the layer and the shapes received. Masks combine as in Keras 3:
elementwise merges output the OR of the inputs' masks when every input has
one; ``Concatenate`` concatenates them (unmasked inputs count as all true).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polykeras import ops
from polykeras.layers.convolutional.arguments import describe_layer, static_shape
from polykeras.layers.layer import Layer

__all__ = ["Add", "Average", "Concatenate", "Dot", "Maximum", "Minimum", "Multiply", "Subtract"]

Shape = tuple[int | None, ...]


def _shape_list(layer: Layer, input_shape: Any, count: int | None = None) -> list[Shape]:
    if not isinstance(input_shape, (list, tuple)) or not input_shape or not all(
            isinstance(s, (list, tuple)) for s in input_shape):
        raise ValueError(f"{describe_layer(layer)}: expected a list of input tensors, received input shape "
                         f"{input_shape!r}.")
    shapes = [tuple(s) for s in input_shape]
    if count is not None and len(shapes) != count:
        raise ValueError(f"{describe_layer(layer)}: expected exactly {count} inputs, received {len(shapes)} "
                         f"(shapes {shapes}).")
    return shapes


def _inputs_list(layer: Layer, inputs: Any) -> list[Any]:
    if not isinstance(inputs, (list, tuple)):
        raise ValueError(f"{describe_layer(layer)}: expected a list of input tensors, received a single "
                         f"{type(inputs).__name__}.")
    return list(inputs)


class _Merge(Layer):
    """An elementwise merge of two or more inputs whose shapes broadcast
    (sizes equal or 1); a lower-rank input gains axes after the batch axis.

    Example:
        >>> Add()   # see the subclasses
    """

    min_inputs = 1
    exact_inputs: int | None = None

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.supports_masking = True

    def _check_shapes(self, shapes: list[Shape]) -> Shape:
        who = describe_layer(self)
        if len(shapes) < self.min_inputs:
            raise ValueError(f"{who}: expected at least {self.min_inputs} inputs, received {len(shapes)} "
                             f"(shapes {shapes}).")
        batches = {s[0] for s in shapes if s} - {None}
        if len(batches) > 1:
            raise ValueError(f"{who}: expected inputs with the same batch size, received shapes {shapes}.")
        out: list[int | None] = list(shapes[0][1:])
        for shape in shapes[1:]:
            other = list(shape[1:])
            if len(other) > len(out):
                out, other = other, out
            merged = out[:len(out) - len(other)]
            for a, b in zip(out[len(out) - len(other):], other):
                if a is None or b is None:
                    merged.append(a if b == 1 else b if a == 1 else None)
                elif a == 1 or b == 1 or a == b:
                    merged.append(b if a == 1 else a)
                else:
                    raise ValueError(f"{who}: inputs have incompatible shapes: received shapes {shapes}.")
            out = merged
        return (next(iter(batches)) if batches else None, *out)

    def build(self, input_shape: Any) -> None:
        self._check_shapes(_shape_list(self, input_shape, self.exact_inputs))

    def call(self, inputs: Any, mask: Any = None) -> Any:
        inputs = _inputs_list(self, inputs)
        shapes = [tuple(ops.shape(x)) for x in inputs]
        self._check_shapes(_shape_list(self, [static_shape(s) for s in shapes], self.exact_inputs))
        rank = max(len(s) for s in shapes)
        expanded = []
        for x, shape in zip(inputs, shapes):
            for _ in range(rank - len(shape)):
                x = ops.expand_dims(x, 1)
            expanded.append(x)
        masks = list(mask) if isinstance(mask, (list, tuple)) else [None] * len(inputs)
        return self._merge(expanded, masks)

    def _merge(self, inputs: list[Any], masks: list[Any]) -> Any:
        raise NotImplementedError

    def compute_output_shape(self, input_shape: Any) -> Shape:
        return self._check_shapes(_shape_list(self, input_shape, self.exact_inputs))

    def compute_mask(self, inputs: Any, previous_mask: Any = None) -> Any:
        if not isinstance(previous_mask, (list, tuple)) or any(m is None for m in previous_mask):
            return None
        out = previous_mask[0]
        for m in previous_mask[1:]:
            out = ops.logical_or(out, m)
        return out


def _broadcast_mask(mask: Any, x: Any) -> Any:
    while len(ops.shape(mask)) < len(ops.shape(x)):
        mask = ops.expand_dims(mask, -1)
    return ops.logical_or(mask, ops.zeros(ops.shape(x), "bool"))


class Add(_Merge):
    """Sums a list of tensors.

    Example:
        >>> ops.to_numpy(Add()([np.ones((1, 2), "float32"), np.ones((1, 2), "float32")]))
        array([[2., 2.]], dtype=float32)
    """

    def _merge(self, inputs: list[Any], masks: list[Any]) -> Any:
        out = inputs[0]
        for x in inputs[1:]:
            out = ops.add(out, x)
        return out


class Subtract(_Merge):
    """``inputs[0] - inputs[1]`` (exactly two inputs).

    Example:
        >>> ops.to_numpy(Subtract()([np.ones((1, 2), "float32"), np.ones((1, 2), "float32")]))
        array([[0., 0.]], dtype=float32)
    """

    exact_inputs = 2

    def _merge(self, inputs: list[Any], masks: list[Any]) -> Any:
        return ops.subtract(inputs[0], inputs[1])


class Multiply(_Merge):
    """Multiplies a list of tensors; masked entries count as 1.

    Example:
        >>> ops.to_numpy(Multiply()([np.full((1, 2), 2.0, "float32"), np.full((1, 2), 3.0, "float32")]))
        array([[6., 6.]], dtype=float32)
    """

    def _merge(self, inputs: list[Any], masks: list[Any]) -> Any:
        out = None
        for x, mask in zip(inputs, masks):
            if mask is not None:
                x = ops.where(_broadcast_mask(mask, x), x, ops.ones_like(x))
            out = x if out is None else ops.multiply(out, x)
        return out


class Average(_Merge):
    """The mean of a list of tensors.

    Example:
        >>> ops.to_numpy(Average()([np.zeros((1, 2), "float32"), np.ones((1, 2), "float32")]))
        array([[0.5, 0.5]], dtype=float32)
    """

    def _merge(self, inputs: list[Any], masks: list[Any]) -> Any:
        out = inputs[0]
        for x in inputs[1:]:
            out = ops.add(out, x)
        return ops.divide(out, float(len(inputs)))


class _MaskedExtremum(_Merge):
    """``Maximum``/``Minimum``: masked entries never win while another input
    has a real value there."""

    def _op(self, a: Any, b: Any) -> Any:
        raise NotImplementedError

    def _merge(self, inputs: list[Any], masks: list[Any]) -> Any:
        out, out_mask = inputs[0], None if masks[0] is None else _broadcast_mask(masks[0], inputs[0])
        for x, mask in zip(inputs[1:], masks[1:]):
            mask = None if mask is None else _broadcast_mask(mask, x)
            if mask is not None:
                x = ops.where(mask, x, out)
            if out_mask is not None:
                out = ops.where(out_mask, out, x)
            out_mask = ops.logical_or(out_mask, mask) if mask is not None and out_mask is not None else None
            out = self._op(out, x)
        return out


class Maximum(_MaskedExtremum):
    """The elementwise maximum of a list of tensors.

    Example:
        >>> ops.to_numpy(Maximum()([np.array([[1.0, 5.0]], "float32"), np.array([[3.0, 2.0]], "float32")]))
        array([[3., 5.]], dtype=float32)
    """

    def _op(self, a: Any, b: Any) -> Any:
        return ops.maximum(a, b)


class Minimum(_MaskedExtremum):
    """The elementwise minimum of a list of tensors.

    Example:
        >>> ops.to_numpy(Minimum()([np.array([[1.0, 5.0]], "float32"), np.array([[3.0, 2.0]], "float32")]))
        array([[1., 2.]], dtype=float32)
    """

    def _op(self, a: Any, b: Any) -> Any:
        return ops.minimum(a, b)


class Concatenate(Layer):
    """Concatenates a list of tensors along ``axis``; every other axis must
    match.

    Example:
        >>> ops.shape(Concatenate()([np.ones((2, 3), "float32"), np.ones((2, 4), "float32")]))
        (2, 7)
    """

    def __init__(self, axis: int = -1, **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise ValueError(f"{describe_layer(self)}: expected axis to be an int, received axis={axis!r}.")
        self.axis = axis
        self.supports_masking = True

    def _check_shapes(self, shapes: list[Shape]) -> Shape:
        who = describe_layer(self)
        ranks = {len(s) for s in shapes}
        if len(ranks) != 1:
            raise ValueError(f"{who}: expected inputs of the same rank, received shapes {shapes}.")
        rank = ranks.pop()
        if not -rank <= self.axis < rank:
            raise ValueError(f"{who}: expected axis within the inputs' rank {rank}, received axis={self.axis} "
                             f"for shapes {shapes}.")
        axis = self.axis % rank
        out: list[int | None] = list(shapes[0])
        for shape in shapes[1:]:
            for i, (a, b) in enumerate(zip(out, shape)):
                if i == axis:
                    out[i] = None if a is None or b is None else a + b
                elif a is not None and b is not None and a != b:
                    raise ValueError(f"{who}: expected inputs with matching shapes except on the concatenation "
                                     f"axis {self.axis}, received shapes {shapes}.")
                elif a is None:
                    out[i] = b
        return tuple(out)

    def build(self, input_shape: Any) -> None:
        self._check_shapes(_shape_list(self, input_shape))

    def call(self, inputs: Any) -> Any:
        inputs = _inputs_list(self, inputs)
        self._check_shapes([static_shape(ops.shape(x)) for x in inputs])
        return ops.concatenate(inputs, axis=self.axis)

    def compute_output_shape(self, input_shape: Any) -> Shape:
        return self._check_shapes(_shape_list(self, input_shape))

    def compute_mask(self, inputs: Any, previous_mask: Any = None) -> Any:
        if not isinstance(previous_mask, (list, tuple)) or all(m is None for m in previous_mask):
            return None
        masks = []
        for x, mask in zip(inputs, previous_mask):
            masks.append(ops.ones(ops.shape(x), "bool") if mask is None else _broadcast_mask(mask, x))
        return ops.any(ops.concatenate(masks, axis=self.axis), axis=-1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


class Dot(Layer):
    """The dot product of two tensors along ``axes`` (one axis each, the batch
    axis excluded), per sample: ``(batch, n) . (batch, n)`` -> ``(batch, 1)``,
    ``(batch, m, n) . (batch, k, n)`` with ``axes=2`` -> ``(batch, m, k)``.
    ``normalize=True`` L2-normalises both inputs along ``axes`` first, giving
    the cosine similarity.

    Example:
        >>> x = np.ones((2, 3), "float32")
        >>> ops.to_numpy(Dot(axes=1)([x, 2 * x]))
        array([[6.],
               [6.]], dtype=float32)
    """

    def __init__(self, axes: int | Sequence[int], normalize: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        who = describe_layer(self)
        if isinstance(axes, int) and not isinstance(axes, bool):
            pass
        elif not (isinstance(axes, (list, tuple)) and len(axes) == 2
                  and all(isinstance(a, int) and not isinstance(a, bool) for a in axes)):
            raise ValueError(f"{who}: expected axes as an int or a pair of ints, received axes={axes!r}.")
        self.axes = axes if isinstance(axes, int) else tuple(axes)
        self.normalize = normalize
        self.supports_masking = True

    def _resolved_axes(self, shapes: list[Shape]) -> tuple[int, int]:
        who = describe_layer(self)
        pair = (self.axes, self.axes) if isinstance(self.axes, int) else self.axes
        resolved = []
        for axis, shape in zip(pair, shapes):
            rank = len(shape)
            if rank < 2:
                raise ValueError(f"{who}: expected inputs of rank 2 or more, received shapes {shapes}.")
            if not -rank <= axis < rank or axis % rank == 0:
                raise ValueError(f"{who}: expected axes within the inputs' non-batch axes, received axes={self.axes} "
                                 f"for shapes {shapes}.")
            resolved.append(axis % rank)
        return resolved[0], resolved[1]

    def _check_shapes(self, shapes: list[Shape]) -> Shape:
        who = describe_layer(self)
        a1, a2 = self._resolved_axes(shapes)
        s1, s2 = shapes
        if s1[a1] is not None and s2[a2] is not None and s1[a1] != s2[a2]:
            raise ValueError(f"{who}: expected equal sizes on the dot axes {(a1, a2)}, received shapes {shapes} "
                             f"({s1[a1]} != {s2[a2]}).")
        if s1[0] is not None and s2[0] is not None and s1[0] != s2[0]:
            raise ValueError(f"{who}: expected inputs with the same batch size, received shapes {shapes}.")
        out = [d for i, d in enumerate(s1) if i != a1] + [d for i, d in enumerate(s2) if i not in (0, a2)]
        return tuple(out) if len(out) > 1 else (out[0], 1)

    def build(self, input_shape: Any) -> None:
        self._check_shapes(_shape_list(self, input_shape, 2))

    def call(self, inputs: Any) -> Any:
        inputs = _inputs_list(self, inputs)
        dynamic = [tuple(ops.shape(x)) for x in inputs]  # sizes unknown while tracing are tensors
        shapes = _shape_list(self, [static_shape(s) for s in dynamic], 2)
        self._check_shapes(shapes)
        a1, a2 = self._resolved_axes(shapes)
        rest = ([d for i, d in enumerate(dynamic[0]) if i not in (0, a1)]
                + [d for i, d in enumerate(dynamic[1]) if i not in (0, a2)])
        x, y = inputs
        if self.normalize:
            x = _l2_normalize(x, a1)
            y = _l2_normalize(y, a2)
        x = ops.moveaxis(x, a1, -1)  # (batch, *rest1, k)
        y = ops.moveaxis(y, a2, 1)  # (batch, k, *rest2)
        batch, k = ops.shape(x)[0], ops.shape(x)[-1]
        product = ops.matmul(ops.reshape(x, (batch, -1, k)), ops.reshape(y, (batch, k, -1)))
        return ops.reshape(product, (batch, *rest) if rest else (batch, 1))

    def compute_output_shape(self, input_shape: Any) -> Shape:
        return self._check_shapes(_shape_list(self, input_shape, 2))

    def compute_mask(self, inputs: Any, previous_mask: Any = None) -> None:
        return None

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def _l2_normalize(x: Any, axis: int) -> Any:
    square_sum = ops.sum(ops.square(x), axis=axis, keepdims=True)
    return ops.multiply(x, ops.rsqrt(ops.maximum(square_sum, 1e-12)))
