"""More of ``keras.ops.nn``: the further activations (``celu``, ``glu``,
``log_sigmoid``, the shrinks, ``sparsemax``...), ``layer_normalization``,
``rms_normalization``, ``normalize``, ``psnr``, ``multi_hot``,
``depth_to_space``/``space_to_depth``, ``separable_conv`` and
``dot_product_attention`` (each engine's fused kernel where it has one).

The activations and normalisations are composites of the engine's
primitives, written once here; ``dot_product_attention`` dispatches to the
engine (``backends/attention.py`` and the torch and jax overrides).

Example:
    >>> from polykeras import ops
    >>> ops.to_numpy(ops.hard_tanh(ops.convert_to_tensor([-2.0, 0.5, 3.0])))
    array([-1. ,  0.5,  1. ], dtype=float32)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polykeras.backends import active
from polykeras.config import epsilon as _default_epsilon
from polykeras.config import image_data_format
from polykeras.ops._dispatch import as_axis, check, describe, op
from polykeras.ops.nn import DATA_FORMATS, conv, depthwise_conv

Tensor = Any

__all__ = ["adaptive_average_pool", "adaptive_max_pool", "celu", "ctc_decode", "ctc_loss", "depth_to_space",
           "dot_product_attention", "glu", "hard_shrink", "hard_swish", "hard_tanh",
           "layer_normalization", "log_sigmoid", "multi_hot", "normalize", "psnr", "rms_normalization",
           "separable_conv", "soft_shrink", "space_to_depth", "sparse_plus", "sparse_sigmoid", "sparsemax",
           "squareplus", "swish", "tanh_shrink", "threshold"]


def _float(x: Any) -> Tensor:
    engine = active()
    x = engine.convert_to_tensor(x)
    return x if engine.dtype(x).startswith(("float", "bfloat")) else engine.cast(x, "float32")


# ------------------------------------------------------------ activations
@op("a tensor", body=True)
def celu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """``max(x, 0) + alpha * (exp(min(x, 0) / alpha) - 1)``. Example: ``ops.celu(x)``"""
    e, x = active(), _float(x)
    negative = e.multiply(e.expm1(e.divide(e.minimum(x, 0.0), alpha)), alpha)
    return e.add(e.relu(x), negative)


@op("a tensor whose size along axis is even", body=True)
def glu(x: Tensor, axis: int = -1) -> Tensor:
    """Gated linear unit: halves ``a, b`` of ``x`` along ``axis``, ``a * sigmoid(b)``.
    Example: ``ops.glu(ops.ones((2, 4)))``"""
    e, x = active(), _float(x)
    size = e.shape(x)[axis]
    check(size % 2 == 0, "glu", f"an even size along axis {axis}", describe(x))
    a, b = e.split(x, 2, axis=axis)
    return e.multiply(a, e.sigmoid(b))


@op("a tensor", body=True)
def log_sigmoid(x: Tensor) -> Tensor:
    """``log(sigmoid(x))`` computed stably as ``-softplus(-x)``. Example: ``ops.log_sigmoid(x)``"""
    e, x = active(), _float(x)
    return e.negative(e.softplus(e.negative(x)))


@op("a tensor", body=True)
def hard_tanh(x: Tensor) -> Tensor:
    """``clip(x, -1, 1)``. Example: ``ops.hard_tanh(x)``"""
    e, x = active(), _float(x)
    return e.clip(x, -1.0, 1.0)


@op("a tensor", body=True)
def hard_shrink(x: Tensor, threshold: float = 0.5) -> Tensor:
    """``x`` where ``|x| > threshold``, else 0. Example: ``ops.hard_shrink(x, 0.3)``"""
    e, x = active(), _float(x)
    return e.where(e.greater(e.abs(x), threshold), x, e.zeros_like(x))


@op("a tensor", body=True)
def soft_shrink(x: Tensor, threshold: float = 0.5) -> Tensor:
    """``x`` moved ``threshold`` toward 0, and 0 within ``[-threshold, threshold]``.
    Example: ``ops.soft_shrink(x)``"""
    e, x = active(), _float(x)
    shrunk = e.subtract(x, e.multiply(e.sign(x), threshold))
    return e.where(e.greater(e.abs(x), threshold), shrunk, e.zeros_like(x))


@op("a tensor", body=True)
def tanh_shrink(x: Tensor) -> Tensor:
    """``x - tanh(x)``. Example: ``ops.tanh_shrink(x)``"""
    e, x = active(), _float(x)
    return e.subtract(x, e.tanh(x))


@op("a tensor", body=True)
def sparse_plus(x: Tensor) -> Tensor:
    """0 below -1, ``x`` above 1, ``(x + 1)**2 / 4`` between. Example: ``ops.sparse_plus(x)``"""
    e, x = active(), _float(x)
    middle = e.multiply(e.square(e.add(x, 1.0)), 0.25)
    return e.where(e.less_equal(x, -1.0), e.zeros_like(x), e.where(e.greater_equal(x, 1.0), x, middle))


@op("a tensor", body=True)
def sparse_sigmoid(x: Tensor) -> Tensor:
    """``clip((x + 1) / 2, 0, 1)``. Example: ``ops.sparse_sigmoid(x)``"""
    e, x = active(), _float(x)
    return e.clip(e.multiply(e.add(x, 1.0), 0.5), 0.0, 1.0)


@op("a tensor", body=True)
def squareplus(x: Tensor, b: float = 4) -> Tensor:
    """``(x + sqrt(x**2 + b)) / 2``. Example: ``ops.squareplus(x, b=4)``"""
    e, x = active(), _float(x)
    return e.multiply(e.add(x, e.sqrt(e.add(e.square(x), float(b)))), 0.5)


@op("a tensor, a threshold and a replacement value", body=True)
def threshold(x: Tensor, threshold: float, default_value: float) -> Tensor:
    """``x`` where ``x > threshold``, else ``default_value``. Example: ``ops.threshold(x, 0.1, 0.0)``"""
    e = active()
    x = e.convert_to_tensor(x)
    return e.where(e.greater(x, threshold), x, e.cast(e.full((), default_value, e.dtype(x)), e.dtype(x)))


@op("a tensor and an axis within its rank", body=True)
def sparsemax(x: Tensor, axis: int = -1) -> Tensor:
    """The Euclidean projection of ``x`` onto the probability simplex along
    ``axis``: like softmax, but sparse. Example: ``ops.sparsemax(x)``"""
    e, x = active(), _float(x)
    size = e.shape(x)[axis]
    ranked = e.flip(e.sort(x, axis=axis), axis=axis)
    index_shape = [1] * len(e.shape(x))
    index_shape[axis] = size
    k = e.reshape(e.arange(1, size + 1, dtype=e.dtype(x)), index_shape)
    running = e.cumsum(ranked, axis=axis)
    support = e.greater(e.add(e.multiply(k, ranked), 1.0), running)
    count = e.sum(e.cast(support, e.dtype(x)), axis=axis, keepdims=True)
    top = e.sum(e.where(support, ranked, e.zeros_like(ranked)), axis=axis, keepdims=True)
    tau = e.divide(e.subtract(top, 1.0), count)
    return e.maximum(e.subtract(x, tau), 0.0)


@op("a tensor", body=True)
def hard_swish(x: Tensor) -> Tensor:
    """``x * relu6(x + 3) / 6``, Keras's other name for ``hard_silu``. Example: ``ops.hard_swish(x)``"""
    return active().hard_silu(_float(x))


@op("a tensor", body=True)
def swish(x: Tensor) -> Tensor:
    """``x * sigmoid(x)``, Keras's other name for ``silu``. Example: ``ops.swish(x)``"""
    return active().silu(_float(x))


# --------------------------------------------------------- normalisation
def _along(e: Any, v: Any, x: Any, axis: Any) -> Any:
    """``v`` (a vector along one ``axis`` of ``x``, or broadcastable) ready to broadcast."""
    v = e.cast(e.convert_to_tensor(v), e.dtype(x))
    ndim = len(e.shape(x))
    if isinstance(axis, int) and len(e.shape(v)) == 1 and ndim > 1 and axis % ndim != ndim - 1:
        shape = [1] * ndim
        shape[axis] = -1
        v = e.reshape(v, shape)
    return v


@op("a tensor, optional gamma/beta along axis and axes within its rank", body=True)
def layer_normalization(x: Tensor, gamma: Tensor | None = None, beta: Tensor | None = None,
                        axis: int | Sequence[int] = -1, epsilon: float | None = None, **kwargs: Any) -> Tensor:
    """``(x - mean) / sqrt(var + epsilon) * gamma + beta`` over ``axis``
    (``epsilon`` defaults to ``keras.config.epsilon()``).
    Example: ``ops.layer_normalization(x, gamma, beta)``"""
    check(not kwargs or set(kwargs) <= {"rms_scaling"}, "layer_normalization",
          "keyword arguments gamma, beta, axis, epsilon", f"{sorted(kwargs)}")
    e, x = active(), _float(x)
    eps = _default_epsilon() if epsilon is None else epsilon
    axes = as_axis(axis)
    return e.layer_normalization(x, None if gamma is None else _along(e, gamma, x, axes),
                                 None if beta is None else _along(e, beta, x, axes), axes, eps)


@op("a tensor, an optional scale along axis and axes within its rank", body=True)
def rms_normalization(x: Tensor, scale: Tensor | None = None, axis: int | Sequence[int] = -1,
                      epsilon: float | None = None) -> Tensor:
    """``x / sqrt(mean(x**2) + epsilon) * scale`` over ``axis``.
    Example: ``ops.rms_normalization(x, scale)``"""
    e, x = active(), _float(x)
    eps = _default_epsilon() if epsilon is None else epsilon
    axes = as_axis(axis)
    out = e.multiply(x, e.rsqrt(e.add(e.mean(e.square(x), axis=axes, keepdims=True), eps)))
    if scale is not None:
        out = e.multiply(out, _along(e, scale, x, axes))
    return out


@op("a tensor, an axis within its rank and order 1 or 2", body=True)
def normalize(x: Tensor, axis: int = -1, order: int = 2, epsilon: float | None = None) -> Tensor:
    """``x`` divided by its ``order``-norm along ``axis`` (at least ``epsilon``).
    Example: ``ops.normalize(x, order=1)``"""
    check(isinstance(order, int) and order >= 1, "normalize", "an int order of at least 1", f"order={order!r}")
    e, x = active(), _float(x)
    eps = _default_epsilon() if epsilon is None else epsilon
    if order == 1:
        norm = e.sum(e.abs(x), axis=axis, keepdims=True)
    elif order == 2:
        norm = e.sqrt(e.sum(e.square(x), axis=axis, keepdims=True))
    else:
        norm = e.power(e.sum(e.power(e.abs(x), float(order)), axis=axis, keepdims=True), 1.0 / order)
    return e.divide(x, e.maximum(norm, eps))


@op("two tensors of the same shape and a positive max_val", body=True)
def psnr(x1: Tensor, x2: Tensor, max_val: float) -> Tensor:
    """Peak signal-to-noise ratio in dB: ``20 log10(max_val) - 10 log10(mse)``.
    Example: ``ops.psnr(image, reconstruction, 1.0)``"""
    e = active()
    x1, x2 = _float(x1), _float(x2)
    check(tuple(e.shape(x1)) == tuple(e.shape(x2)), "psnr", "x1 and x2 of the same shape",
          f"{describe(x1)} and {describe(x2)}")
    mse = e.mean(e.square(e.subtract(x1, x2)))
    ln10 = 2.302585092994046
    max_val = e.cast(e.convert_to_tensor(max_val), e.dtype(x1))
    return e.subtract(e.multiply(e.divide(e.log(max_val), ln10), 20.0), e.multiply(e.divide(e.log(mse), ln10), 10.0))


# ------------------------------------------------------------- encoding
@op("integer ids (batch, ids) or (ids,) and a positive num_classes", body=True)
def multi_hot(inputs: Tensor, num_classes: int | None = None, axis: int = -1, dtype: str | None = None,
              sparse: bool = False, **kwargs: Any) -> Tensor:
    """1 at every class id present in each sample, 0 elsewhere.
    Example: ``ops.multi_hot([[1, 3]], 4)`` -> ``[[0, 1, 0, 1]]``"""
    num_classes = kwargs.pop("num_tokens", num_classes)
    check(isinstance(num_classes, int) and num_classes > 0, "multi_hot", "a positive int num_classes",
          f"num_classes={num_classes!r}")
    check(not sparse, "multi_hot", "sparse=False (sparse tensors are not supported)", f"sparse={sparse!r}")
    e = active()
    inputs = e.convert_to_tensor(inputs)
    rank = len(e.shape(inputs))
    if rank == 0:
        inputs = e.expand_dims(inputs, 0)
    hot = e.one_hot(e.cast(inputs, "int32"), num_classes, axis=-1, dtype="float32")
    out = e.max(hot, axis=-2 if rank else 0)
    if axis != -1 and rank > 1:
        out = e.moveaxis(out, -1, axis)
    return e.cast(out, dtype or "float32")


def _block(name: str, x: Any, block_size: int, data_format: str) -> tuple[Any, int, int, int, int]:
    e = active()
    check(isinstance(block_size, int) and block_size >= 1, name, "a positive int block_size",
          f"block_size={block_size!r}")
    check(data_format in DATA_FORMATS, name, f"data_format in {DATA_FORMATS}", f"data_format={data_format!r}")
    x = e.convert_to_tensor(x)
    check(len(e.shape(x)) == 4, name, "4-D images (batch, height, width, channels)", describe(x))
    if data_format == "channels_first":
        x = e.transpose(x, (0, 2, 3, 1))
    return (x, *e.shape(x))


@op("4-D images whose channels divide by block_size**2", body=True)
def depth_to_space(x: Tensor, block_size: int, data_format: str = "channels_last") -> Tensor:
    """Move channel blocks into ``block_size x block_size`` spatial tiles
    (TensorFlow's layout: the channel index is ``(row, col, channel)``).
    Example: ``ops.depth_to_space(ops.ones((1, 2, 2, 8)), 2)``"""
    e = active()
    x, b, h, w, c = _block("depth_to_space", x, block_size, data_format)
    check(c % (block_size * block_size) == 0, "depth_to_space", f"channels divisible by {block_size ** 2}",
          describe(x))
    out_c = c // (block_size * block_size)
    x = e.reshape(x, (b, h, w, block_size, block_size, out_c))
    x = e.reshape(e.transpose(x, (0, 1, 3, 2, 4, 5)), (b, h * block_size, w * block_size, out_c))
    return e.transpose(x, (0, 3, 1, 2)) if data_format == "channels_first" else x


@op("4-D images whose height and width divide by block_size", body=True)
def space_to_depth(x: Tensor, block_size: int, data_format: str = "channels_last") -> Tensor:
    """Move ``block_size x block_size`` spatial tiles into channels (the
    inverse of ``depth_to_space``). Example: ``ops.space_to_depth(ops.ones((1, 4, 4, 2)), 2)``"""
    e = active()
    x, b, h, w, c = _block("space_to_depth", x, block_size, data_format)
    check(h % block_size == 0 and w % block_size == 0, "space_to_depth",
          f"height and width divisible by {block_size}", describe(x))
    x = e.reshape(x, (b, h // block_size, block_size, w // block_size, block_size, c))
    x = e.reshape(e.transpose(x, (0, 1, 3, 2, 4, 5)),
                  (b, h // block_size, w // block_size, block_size * block_size * c))
    return e.transpose(x, (0, 3, 1, 2)) if data_format == "channels_first" else x


@op("inputs (batch, *spatial, channels), a depthwise and a pointwise kernel", body=True)
def separable_conv(inputs: Tensor, depthwise_kernel: Tensor, pointwise_kernel: Tensor,
                   strides: int | Sequence[int] = 1, padding: str = "valid", data_format: str | None = None,
                   dilation_rate: int | Sequence[int] = 1) -> Tensor:
    """A depthwise convolution followed by a 1x1 (pointwise) convolution.
    Example: ``ops.separable_conv(x, ops.ones((3, 3, 4, 1)), ops.ones((1, 1, 4, 8)))``"""
    data_format = data_format or image_data_format()
    depthwise = depthwise_conv(inputs, depthwise_kernel, strides=strides, padding=padding,
                               data_format=data_format, dilation_rate=dilation_rate)
    return conv(depthwise, pointwise_kernel, strides=1, padding="valid", data_format=data_format)


# -------------------------------------------------------------- attention
@op("query (batch, T, heads, dim), key and value (batch, S, kv_heads, dim), heads a multiple of kv_heads",
    body=True)
def dot_product_attention(query: Tensor, key: Tensor, value: Tensor, bias: Tensor | None = None,
                          mask: Tensor | None = None, scale: float | None = None, is_causal: bool = False,
                          flash_attention: bool | None = None, attn_logits_soft_cap: float | None = None) -> Tensor:
    """``softmax(query . key * scale + bias) . value`` per head, with a
    boolean ``mask`` (True = attend) and ``is_causal``; ``scale`` defaults to
    ``1 / sqrt(dim)``. Runs each engine's fused kernel where it has one
    (``flash_attention`` is accepted; the engine picks its kernel).

    Example: ``out = ops.dot_product_attention(q, k, v, is_causal=True)``
    """
    e = active()
    query, key, value = (e.convert_to_tensor(t) for t in (query, key, value))
    # Sizes a traced function knows only when it runs (TensorFlow's unknown batch) match anything.
    shapes = [tuple(d if isinstance(d, int) else None for d in e.shape(t)) for t in (query, key, value)]

    def same(a: int | None, b: int | None) -> bool:
        return a is None or b is None or a == b

    check(all(len(s) == 4 for s in shapes) and all(map(same, shapes[1], shapes[2]))
          and same(shapes[0][0], shapes[1][0]) and same(shapes[0][3], shapes[1][3])
          and shapes[1][2] is not None and shapes[0][2] is not None and shapes[1][2] >= 1
          and shapes[0][2] % shapes[1][2] == 0,
          "dot_product_attention",
          "query (batch, T, heads, dim) and key, value of one shape (batch, S, kv_heads, dim) with heads a "
          "multiple of kv_heads", f"query {describe(query)}, key {describe(key)}, value {describe(value)}")
    return e.dot_product_attention(query, key, value, bias, mask, scale, is_causal, attn_logits_soft_cap)


# ------------------------------------------------------- adaptive pooling
def _adaptive(name: str, inputs: Any, output_size: Any, data_format: str | None, largest: bool) -> Tensor:
    e = active()
    data_format = data_format or image_data_format()
    check(data_format in DATA_FORMATS, name, f"data_format in {DATA_FORMATS}", f"data_format={data_format!r}")
    x = e.convert_to_tensor(inputs)
    rank = len(e.shape(x)) - 2
    check(rank in (1, 2, 3), name, "inputs (batch, *spatial, channels) with 1 to 3 spatial axes", describe(x))
    sizes = (output_size,) * rank if isinstance(output_size, int) else tuple(output_size)
    check(len(sizes) == rank and all(isinstance(s, int) and s >= 1 for s in sizes), name,
          f"output_size a positive int or {rank} positive ints", f"output_size={output_size!r}")
    first = 2 if data_format == "channels_first" else 1
    reduce = e.max if largest else e.mean
    for offset, out in enumerate(sizes):  # the bins are boxes: one axis at a time gives the same result
        axis = first + offset
        length = e.shape(x)[axis]
        bins = []
        for i in range(out):
            start, end = (i * length) // out, -((-(i + 1) * length) // out)
            index = e.convert_to_tensor(list(range(start, end)), "int32")
            bins.append(reduce(e.take(x, index, axis=axis), axis=axis, keepdims=True))
        x = e.concatenate(bins, axis=axis)
    return x


@op("inputs (batch, *spatial, channels) and a positive output_size per spatial axis", body=True)
def adaptive_average_pool(inputs: Tensor, output_size: int | Sequence[int], data_format: str | None = None) -> Tensor:
    """Average pooling to a fixed ``output_size``: bin ``i`` of an axis of
    length ``L`` covers ``[floor(i L / n), ceil((i + 1) L / n))``.
    Example: ``ops.adaptive_average_pool(images, (7, 7))``"""
    return _adaptive("adaptive_average_pool", inputs, output_size, data_format, largest=False)


@op("inputs (batch, *spatial, channels) and a positive output_size per spatial axis", body=True)
def adaptive_max_pool(inputs: Tensor, output_size: int | Sequence[int], data_format: str | None = None) -> Tensor:
    """Max pooling to a fixed ``output_size`` (the bins of ``adaptive_average_pool``).
    Example: ``ops.adaptive_max_pool(images, 1)``"""
    return _adaptive("adaptive_max_pool", inputs, output_size, data_format, largest=True)


# ------------------------------------------------------------------- CTC
_NEG = -1e30  # log(0) that keeps logsumexp and its gradient finite


def _logsumexp3(e: Any, a: Any, b: Any, c: Any) -> Any:
    top = e.maximum(e.maximum(a, b), c)
    total = e.add(e.add(e.exp(e.subtract(a, top)), e.exp(e.subtract(b, top))), e.exp(e.subtract(c, top)))
    return e.add(top, e.log(total))


@op("target (batch, S) ids, output logits (batch, T, classes) and lengths (batch,)", body=True)
def ctc_loss(target: Tensor, output: Tensor, target_length: Tensor, output_length: Tensor,
             mask_index: int = 0) -> Tensor:
    """Connectionist temporal classification loss per sample: ``-log`` of
    the probability (``softmax`` of ``output``) of all alignments of
    ``target[:target_length]`` to ``output[:output_length]``, with
    ``mask_index`` the blank. The forward (alpha) recursion in log space,
    one step per frame. Example: ``ops.ctc_loss(labels, logits, label_lengths, logit_lengths)``"""
    e = active()
    target, output = e.cast(e.convert_to_tensor(target), "int32"), _float(output)
    check(len(e.shape(target)) == 2 and len(e.shape(output)) == 3 and e.shape(target)[0] == e.shape(output)[0],
          "ctc_loss", "target (batch, S) and output (batch, T, classes)",
          f"target {describe(target)}, output {describe(output)}")
    batch, steps, _ = e.shape(output)
    s = e.shape(target)[1]
    dtype = e.dtype(output)
    log_probs = e.log_softmax(output, axis=-1)
    # the extended labels: blank, t1, blank, t2, ..., blank (length 2S + 1)
    blanks = e.full((batch, s), mask_index, "int32")
    extended = e.concatenate([e.reshape(e.stack([blanks, target], axis=-1), (batch, 2 * s)),
                              e.full((batch, 1), mask_index, "int32")], axis=1)
    length = 2 * s + 1
    emit = e.take_along_axis(log_probs, e.broadcast_to(e.expand_dims(extended, 1), (batch, steps, length)), axis=2)
    previous2 = e.concatenate([e.full((batch, 2), -1, "int32"), extended[:, :-2]], axis=1)
    skip = e.logical_and(e.not_equal(extended, mask_index), e.not_equal(extended, previous2))
    neg = e.full((batch, length), _NEG, dtype)
    position = e.expand_dims(e.arange(length, dtype="int32"), 0)
    alpha = e.where(e.less(position, 2), emit[:, 0], neg)
    frames = e.cast(e.convert_to_tensor(output_length), "int32")
    pad1, pad2 = e.full((batch, 1), _NEG, dtype), e.full((batch, 2), _NEG, dtype)
    for t in range(1, steps):
        one = e.concatenate([pad1, alpha[:, :-1]], axis=1)
        two = e.where(skip, e.concatenate([pad2, alpha[:, :-2]], axis=1), neg)
        stepped = e.add(_logsumexp3(e, alpha, one, two), emit[:, t])
        alpha = e.where(e.expand_dims(e.less(t, frames), 1), stepped, alpha)
    last = e.expand_dims(2 * e.cast(e.convert_to_tensor(target_length), "int32"), 1)  # index of the final blank
    final = e.take_along_axis(alpha, last, axis=1)
    before = e.where(e.greater(last, 0), e.take_along_axis(alpha, e.maximum(e.subtract(last, 1), 0), axis=1),
                     e.full((batch, 1), _NEG, dtype))
    top = e.maximum(final, before)
    total = e.add(top, e.log(e.add(e.exp(e.subtract(final, top)), e.exp(e.subtract(before, top)))))
    return e.negative(e.squeeze(total, 1))


@op("inputs (batch, T, classes) and sequence_lengths (batch,); strategy 'greedy' or 'beam_search'", body=True)
def ctc_decode(inputs: Tensor, sequence_lengths: Tensor, strategy: str = "greedy", beam_width: int = 100,
               top_paths: int = 1, merge_repeated: bool = True, mask_index: int = 0) -> tuple[Tensor, Tensor]:
    """CTC decoding with ``mask_index`` the blank. ``"greedy"``: the best
    class per frame, repeats merged (``merge_repeated``), blanks dropped;
    returns ``decoded`` ``(1, batch, T)`` int32 padded with -1 and Keras 3's
    score ``(batch, 1)``: minus the sum of each valid frame's largest input.
    ``"beam_search"``: prefix beam search over ``log_softmax(inputs)``
    keeping ``beam_width`` prefixes (repeats always merge unless a blank
    separates them, as Keras 3); returns the ``k = min(top_paths,
    2 * beam_width)`` best paths ``(k, batch, T)`` and their log
    probabilities ``(batch, k)``. Beam search runs on the host (NumPy), so
    only eagerly. Example: ``decoded, score = ops.ctc_decode(logits, lengths)``"""
    check(strategy in ("greedy", "beam_search"), "ctc_decode", "strategy 'greedy' or 'beam_search'",
          f"strategy={strategy!r}")
    if strategy == "beam_search":
        return _ctc_beam_search(inputs, sequence_lengths, beam_width, top_paths, mask_index)
    e = active()
    inputs = _float(inputs)
    check(len(e.shape(inputs)) == 3, "ctc_decode", "inputs (batch, T, classes)", describe(inputs))
    batch, steps, _ = e.shape(inputs)
    best = e.cast(e.argmax(inputs, axis=-1), "int32")
    frame = e.expand_dims(e.arange(steps, dtype="int32"), 0)
    valid = e.less(frame, e.expand_dims(e.cast(e.convert_to_tensor(sequence_lengths), "int32"), 1))
    top = e.max(inputs, axis=-1)
    score = e.negative(e.sum(e.where(valid, top, e.zeros_like(top)), axis=1, keepdims=True))
    keep = e.logical_and(valid, e.not_equal(best, mask_index))
    if merge_repeated:
        previous = e.concatenate([e.full((batch, 1), -1, "int32"), best[:, :-1]], axis=1)
        keep = e.logical_and(keep, e.not_equal(best, previous))
    # kept frames first, in order: sort frame numbers with the dropped ones moved past T
    order = e.sort(e.where(keep, frame, e.add(frame, steps)), axis=1)
    labels = e.take_along_axis(best, e.where(e.less(order, steps), order, e.subtract(order, steps)), axis=1)
    decoded = e.where(e.less(order, steps), labels, e.full((batch, steps), -1, "int32"))
    return e.expand_dims(decoded, 0), score


def _ctc_beam_search(inputs: Any, sequence_lengths: Any, beam_width: Any, top_paths: Any,
                     mask_index: Any) -> tuple[Tensor, Tensor]:
    e = active()
    inputs = _float(inputs)
    check(len(e.shape(inputs)) == 3, "ctc_decode", "inputs (batch, T, classes)", describe(inputs))
    batch, _, classes = e.shape(inputs)
    for name, value in (("beam_width", beam_width), ("top_paths", top_paths)):
        check(isinstance(value, int) and not isinstance(value, bool) and value >= 1, "ctc_decode",
              f"{name} a positive int", f"{name}={value!r}")
    check(isinstance(mask_index, int) and 0 <= mask_index < classes, "ctc_decode",
          f"mask_index (the blank) an int in [0, {classes})", f"mask_index={mask_index!r}")
    lengths = e.convert_to_tensor(sequence_lengths)
    check(tuple(e.shape(lengths)) == (batch,), "ctc_decode", f"sequence_lengths of shape ({batch},)",
          describe(lengths))
    return e.ctc_beam_search_decode(e.log_softmax(inputs, axis=-1), lengths, beam_width, top_paths, mask_index)
