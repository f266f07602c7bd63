"""``EinsumDense``: a dense layer whose contraction is an einsum equation."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from polykeras import activations, backends, constraints, initializers, ops, quantizers, regularizers
from polykeras.layers.convolutional.arguments import describe_layer, refuse_unsupported
from polykeras.layers.core import quantization as quant
from polykeras.layers.core.lora import LoraMixin, LoraWeight
from polykeras.layers.input_spec import InputSpec
from polykeras.layers.layer import Layer
from polykeras.variables import value_of

__all__ = ["EinsumDense", "analyze_einsum", "matmul_split"]

_FORMS = (
    (re.compile(r"^([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)$"), "none"),
    (re.compile(r"^\.\.\.([a-zA-Z]+),([a-zA-Z]+)->\.\.\.([a-zA-Z]+)$"), "left"),
    (re.compile(r"^([a-zA-Z]{2,})\.\.\.,([a-zA-Z]+)->([a-zA-Z]+)\.\.\.$"), "right"),
)


def matmul_split(equation: str) -> int | None:
    """How many trailing input axes ``equation`` contracts when it is a
    matrix product in disguise: the input's trailing axes against the
    kernel's leading ones, in order, giving the input's other axes then the
    kernel's others (``abc,cde->abde``, ``abcd,cde->abe``, ``...b,bc->...c``).
    None for any other equation.

    Example: ``matmul_split("abcd,cde->abe")`` -> ``2``
    """
    ins, out = equation.replace(" ", "").split("->")
    x, k = ins.split(",")
    elided = x.startswith("...") and out.startswith("...")  # leading axes the product keeps
    if elided:
        x, out = x[3:], out[3:]
    if "." in x + k + out or len(set(x)) != len(x) or len(set(k)) != len(k):
        return None
    split = sum(c not in out for c in x)
    kept = len(x) - split
    if not 0 < split <= len(x) - (not elided) or x[kept:] != k[:split] or out != x[:kept] + k[split:]:
        return None
    return split


def analyze_einsum(equation: str, bias_axes: str | None, input_shape: Sequence[int | None],
                   output_shape: int | Sequence[int | None], who: str = "EinsumDense"
                   ) -> tuple[tuple, tuple | None, tuple]:
    """``(kernel_shape, bias_shape, full_output_shape)`` for an input of
    ``input_shape``, as Keras 3 derives them. ``output_shape`` leaves out the
    batch axis and the axes ``...`` stands for."""
    for pattern, form in _FORMS:
        match = pattern.match(equation.replace(" ", ""))
        if match:
            elision = form
            break
    else:
        raise ValueError(f"{who}: expected an equation of the form 'X,Y->Z', '...X,Y->...Z' or 'X...,Y->Z...', "
                         f"received equation={equation!r}.")
    in_spec, w_spec, out_spec = match.groups()
    input_shape = tuple(input_shape)
    elided = len(input_shape) - len(in_spec)
    if (elision == "none" and elided != 0) or elided < 0:
        raise ValueError(f"{who}: the equation {equation!r} expects inputs of rank {len(in_spec)}"
                         f"{' or more' if elision != 'none' else ''}, received input shape {input_shape}.")
    partial = [output_shape] if isinstance(output_shape, int) else list(output_shape)
    full = [input_shape[0], *partial]
    if elision == "left":
        full = [input_shape[0], *input_shape[1:elided], *partial]
        in_pos = {c: i + elided for i, c in enumerate(in_spec)}
        out_pos = {c: i + elided for i, c in enumerate(out_spec)}
    else:
        if elision == "right":
            full += list(input_shape[len(input_shape) - elided:])
        in_pos = {c: i for i, c in enumerate(in_spec)}
        out_pos = {c: i for i, c in enumerate(out_spec)}
    if len(full) != len(out_spec) + max(elided, 0):
        raise ValueError(f"{who}: expected output_shape with {len(out_spec) - (1 if elision != 'left' else 0)} "
                         f"entries for equation {equation!r}, received output_shape={output_shape!r}.")
    for c in in_spec:
        if c in out_pos and full[out_pos[c]] is not None and full[out_pos[c]] != input_shape[in_pos[c]]:
            raise ValueError(f"{who}: input and output sizes differ on the shared axis {c!r}: input shape "
                             f"{input_shape}, output shape {tuple(full)}.")
        if c in out_pos:
            full[out_pos[c]] = input_shape[in_pos[c]]
    for c in out_spec:
        if c not in in_spec and c not in w_spec:
            raise ValueError(f"{who}: output axis {c!r} of {equation!r} appears in neither the input nor the weight.")
    kernel = []
    for c in w_spec:
        if c in out_pos:
            kernel.append(full[out_pos[c]])
        elif c in in_pos:
            kernel.append(input_shape[in_pos[c]])
        else:
            raise ValueError(f"{who}: weight axis {c!r} of {equation!r} appears in neither the input nor the output.")
    bias: tuple[Any, ...] | None = None
    if bias_axes:
        missing = [c for c in bias_axes if c not in out_spec]
        if missing:
            raise ValueError(f"{who}: bias_axes {bias_axes!r} name axes {missing} that are not in the output "
                             f"{out_spec!r}.")
        offset = elided if elision == "left" else 0
        first = min(out_spec.index(c) for c in bias_axes)
        sizes = [full[out_spec.index(c) + offset] if c in bias_axes else 1 for c in out_spec[first:]]
        if elision == "right":
            sizes += [1] * elided
        bias = tuple(sizes)
    if any(d is None for d in kernel) or (bias is not None and any(d is None for d in bias)):
        raise ValueError(f"{who}: the weights' sizes must be known, received input shape {input_shape} and "
                         f"output_shape={output_shape!r} (kernel {tuple(kernel)}).")
    return tuple(kernel), bias, tuple(full)


def full_specs(equation: str, ndim: int) -> tuple[str, str, str]:
    """``(inputs, kernel, outputs)`` labels of ``equation`` for inputs of
    rank ``ndim``, ``...`` replaced by unused letters.
    Example: ``full_specs("...b,bc->...c", 3)`` -> ``('ABb', 'bc', 'ABc')``"""
    in_spec, w_spec, out_spec = equation.replace(" ", "").replace("->", ",").split(",")
    free = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in equation]
    extra = "".join(free[:ndim - len(in_spec.replace("...", ""))])
    return in_spec.replace("...", extra), w_spec, out_spec.replace("...", extra)


class EinsumDense(LoraMixin, quant.QuantizableMixin, Layer):
    """``activation(einsum(equation, inputs, kernel) + bias)``: a dense layer
    over any axes. ``output_shape`` gives the output's sizes without the batch
    axis (and without the axes ``...`` stands for); ``bias_axes`` names the
    output axes the bias spans.

    Example:
        >>> layer = EinsumDense("abc,cde->abde", output_shape=(None, 4, 8), bias_axes="de")
        >>> ops.shape(layer(np.ones((2, 5, 16), "float32")))
        (2, 5, 4, 8)
        >>> [w.shape for w in layer.weights]
        [(16, 4, 8), (4, 8)]

    ``quantize("int8" | "int4" | "float8")`` quantizes the kernel in place,
    one scale per output position (see :mod:`polykeras.layers.core.quantization`).
    ``enable_lora(rank)`` (or ``lora_rank``) freezes the kernel and trains a
    low-rank update instead (see :mod:`polykeras.layers.core.lora`).
    """

    _quantization_modes = ("int8", "int4", "float8")
    _serialization_spec = {
        None: ("kernel", "bias"),
        "int8": ("kernel", "bias", "kernel_scale"),
        "int4": ("kernel", "bias", "kernel_scale", "kernel_zero", "g_idx"),
        "float8": ("kernel", "bias", "inputs_scale", "inputs_amax_history", "kernel_scale", "kernel_amax_history",
                   "outputs_grad_scale", "outputs_grad_amax_history"),
    }
    kernel = LoraWeight()

    def __init__(self, equation: str, output_shape: int | Sequence[int | None], activation: Any = None,
                 bias_axes: str | None = None, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None, lora_rank: int | None = None,
                 lora_alpha: float | None = None, gptq_unpacked_column_size: int | None = None,
                 quantization_config: Any = None, **kwargs: Any):
        super().__init__(lora_rank=lora_rank, lora_alpha=lora_alpha, **kwargs)
        refuse_unsupported(self, gptq_unpacked_column_size=gptq_unpacked_column_size)
        self.quantization_config = quant.resolve_quantization_config(quantization_config, describe_layer(self))
        if not isinstance(equation, str):
            raise ValueError(f"{describe_layer(self)}: expected equation as a string, received {equation!r}.")
        self.equation = equation
        self.partial_output_shape = output_shape if isinstance(output_shape, int) else tuple(output_shape)
        self.activation = activations.get(activation)
        self.bias_axes = bias_axes
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def build(self, input_shape: Any) -> None:
        kernel_shape, bias_shape, _ = analyze_einsum(self.equation, self.bias_axes, input_shape,
                                                     self.partial_output_shape, describe_layer(self))
        self.input_spec = InputSpec(ndim=len(tuple(input_shape)))
        self._specs = full_specs(self.equation, len(tuple(input_shape)))
        mode = self.quantization_mode
        if mode in ("int8", "int4", "gptq", "awq"):
            self._build_quantized(mode, kernel_shape, self.quantization_config)
        else:
            self.kernel = self.add_weight(shape=kernel_shape, initializer=self.kernel_initializer,
                                          regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
                                          name="kernel")
        self.bias = None
        if bias_shape is not None:
            self.bias = self.add_weight(shape=bias_shape, initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                        name="bias")
        if mode == "float8":
            self._build_float8()
        self._enable_lora_after_build()
        # A product with a bias over every kernel axis it keeps runs as a
        # matmul with the bias added inside (Backend.matmul_bias).
        split = matmul_split(self.equation)
        self._matmul_split = split if (split is not None and bias_shape is not None
                                       and tuple(bias_shape) == tuple(kernel_shape[split:])) else None

    def call(self, inputs: Any, training: Any = None) -> Any:
        quantized = self.__dict__.get("_quantized")
        split = self.__dict__.get("_matmul_split")
        if quantized is None and split is not None and self.bias is not None:
            kernel = value_of(self.kernel)
            kept = tuple(ops.shape(kernel)[split:])
            shape = ops.shape(inputs)
            flat = inputs if split == 1 else ops.reshape(inputs, (*shape[:-split], -1))
            outputs = backends.active().matmul_bias(flat, ops.reshape(kernel, (-1, math.prod(kept))),
                                                    ops.reshape(self.bias.value, (-1,)))
            if len(kept) > 1:
                outputs = ops.reshape(outputs, (*shape[:-split], *kept))
            return self.activation(outputs) if self.activation is not None else outputs
        if quantized is not None:
            outputs = self._quantized_call(inputs, training)
        else:
            outputs = ops.einsum(self.equation, inputs, self.kernel)
        if self.bias is not None:
            outputs = ops.add(outputs, self._float8_bias() if quantized == "float8" else self.bias)
        return self.activation(outputs) if self.activation is not None else outputs

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return analyze_einsum(self.equation, self.bias_axes, input_shape, self.partial_output_shape,
                              describe_layer(self))[2]

    def get_config(self) -> dict[str, Any]:
        config = {
            **super().get_config(),
            "output_shape": self.partial_output_shape,
            "equation": self.equation,
            "activation": activations.serialize(self.activation),
            "bias_axes": self.bias_axes,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }
        if self.quantization_config is not None:
            config.update(self._quantized_config())
        config.update(self._lora_config())
        return config

    # ------------------------------------------------------------- int8
    def _reduced_axes(self, spec: str) -> tuple[int, ...]:
        out_spec = self._specs[2]
        return tuple(i for i, c in enumerate(spec) if c not in out_spec)

    def _quantize_int8(self, config: Any) -> None:
        value, shape = self._take_float_weight()
        w_spec, out_spec = self._specs[1], self._specs[2]
        weight_quantizer = quantizers.QuantizationConfig.weight_quantizer_or_default(
            config, quantizers.AbsMaxQuantizer(axis=self._reduced_axes(w_spec)))
        q, scale = weight_quantizer(value, to_numpy=True)
        self._build_int8(shape, config)
        self.kernel.assign(q)
        self.kernel_scale.assign(quant.aligned_scale(scale, w_spec, out_spec))

    def _build_int8(self, shape: tuple[int, ...], config: Any = None) -> None:
        w_spec, out_spec = self._specs[1], self._specs[2]
        scale_shape = tuple(shape[w_spec.index(c)] if c in w_spec else 1 for c in out_spec)
        self.kernel = self.add_weight(name="kernel", shape=shape, initializer="zeros", dtype="int8", trainable=False)
        self.kernel_scale = self.add_weight(name="kernel_scale", shape=scale_shape, initializer="ones",
                                            trainable=False)
        self._quantized = "int8"

    def _int8_call(self, inputs: Any, training: Any = None) -> Any:
        in_spec, w_spec, out_spec = self._specs
        equation = f"{in_spec},{w_spec}->{out_spec}"
        compute = self.compute_dtype
        inputs_quantizer = self._inputs_quantizer()
        input_axes = self._reduced_axes(in_spec)

        def forward(x: Any, k: Any, scale: Any) -> Any:
            if inputs_quantizer:
                qx, x_scale = inputs_quantizer(x, axis=input_axes)
                y = ops.einsum(equation, ops.cast(qx, "float32"), ops.cast(k, "float32"))
                x_scale = quant.aligned_scale(ops.cast(x_scale, compute), in_spec, out_spec)
                return ops.divide(ops.cast(y, compute), ops.multiply(x_scale, scale))
            return ops.divide(ops.einsum(equation, x, ops.cast(k, compute)), scale)

        def backward(upstream: Any, k: Any, scale: Any) -> Any:
            float_kernel = ops.divide(ops.cast(k, compute), quant.unaligned_scale(scale, w_spec, out_spec))
            return ops.einsum(f"{out_spec},{w_spec}->{in_spec}", upstream, float_kernel)

        scale = ops.cast(ops.convert_to_tensor(self.kernel_scale), compute)
        return quant.straight_through(forward, backward)(inputs, ops.convert_to_tensor(self.kernel), scale)

    # ------------------------------------------------------------- int4
    def _int4_matrix(self, shape: tuple[int, ...]) -> tuple[int, int]:
        """The kernel as Keras 3 flattens it for int4: (contracted sizes, the rest) by reshape."""
        reduced = self._reduced_axes(self._specs[1])
        rows = quant.product([shape[i] for i in reduced])
        return rows, quant.product(shape) // rows

    def _quantize_int4(self, config: Any) -> None:
        value, shape = self._take_float_weight()
        quant.quantize_int4_kernel(self, value.reshape(self._int4_matrix(shape)), shape, config)

    def _build_int4(self, shape: tuple[int, ...], config: Any = None) -> None:
        rows, cols = self._int4_matrix(shape)
        block = quant._int4_block_size(self, config)
        self.kernel = self.add_weight(name="kernel", shape=(rows, (cols + 1) // 2), initializer="zeros",
                                      dtype="int8", trainable=False)
        scale_shape = (cols,) if block is None else (quant.n_groups(rows, block), cols)
        self.kernel_scale = self.add_weight(name="kernel_scale", shape=scale_shape, initializer="ones",
                                            trainable=False)
        if block is not None:
            self.kernel_zero = self.add_weight(name="kernel_zero", shape=scale_shape, initializer="zeros",
                                               dtype="int8", trainable=False)
            self.g_idx = self.add_weight(name="g_idx", shape=(rows,), trainable=False,
                                         initializer=lambda shape, dtype=None: quant.group_index(shape[0], block))
        self._int4_block = block
        self._int4_shape = tuple(int(d) for d in shape)
        self._quantized = "int4"

    def _int4_call(self, inputs: Any, training: Any = None) -> Any:
        in_spec, w_spec, out_spec = self._specs
        equation = f"{in_spec},{w_spec}->{out_spec}"
        compute = self.compute_dtype
        shape = self.__dict__["_int4_shape"]
        unpacked = quantizers.unpack_int4(self.kernel, quant.product(shape) // int(self.kernel.shape[0]), axis=-1)
        if self.__dict__.get("_int4_block") is None:
            float_kernel = ops.divide(ops.cast(unpacked, compute), ops.cast(ops.convert_to_tensor(self.kernel_scale),
                                                                             compute))
        else:
            float_kernel = quant.grouped_dequantize(unpacked, self.kernel_scale, self.kernel_zero, self.g_idx, 0,
                                                    compute)
        float_kernel = ops.reshape(float_kernel, shape)
        inputs_quantizer = self._inputs_quantizer()
        input_axes = self._reduced_axes(in_spec)

        def forward(x: Any, k: Any) -> Any:
            if inputs_quantizer:
                qx, x_scale = inputs_quantizer(x, axis=input_axes)
                y = ops.einsum(equation, ops.cast(qx, compute), k)
                return ops.divide(y, quant.aligned_scale(ops.cast(x_scale, compute), in_spec, out_spec))
            return ops.einsum(equation, x, k)

        def backward(upstream: Any, k: Any) -> Any:
            return ops.einsum(f"{out_spec},{w_spec}->{in_spec}", upstream, k)

        return quant.straight_through(forward, backward)(inputs, float_kernel)

    # ----------------------------------------------------------- float8
    def _quantize_float8(self, config: Any) -> None:
        self._build_float8()

    def _build_float8(self, shape: Any = None, config: Any = None) -> None:
        from polykeras.layers.core.dense import Dense

        Dense._build_float8(self, shape, config)  # type: ignore[arg-type]  # the same variables

    def _float8_call(self, inputs: Any, training: Any = None) -> Any:
        from polykeras.layers.core.dense import FORWARD_FP8

        if training:
            raise NotImplementedError(
                f"Layer '{self.name}' ({type(self).__name__}): training through float8 (delayed scaling, whose "
                "scales are overwritten by their gradients) is not implemented in polykeras; float8 layers run "
                "inference only (call with training=False, predict, evaluate).")
        compute = self.compute_dtype
        x = quantizers.quantize_and_dequantize(inputs, self.inputs_scale, FORWARD_FP8, compute)
        k = quantizers.quantize_and_dequantize(self.kernel, self.kernel_scale, FORWARD_FP8, compute)
        return ops.einsum(self.equation, x, k)

    def _float8_bias(self) -> Any:
        from polykeras.layers.core.dense import Dense

        return Dense._float8_bias(self)  # type: ignore[arg-type]  # the same rounding
