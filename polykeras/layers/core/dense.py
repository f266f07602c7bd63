"""``Dense``: ``activation(inputs @ kernel + bias)`` on the last axis."""

from __future__ import annotations

from typing import Any

from polykeras import activations, backends, constraints, initializers, ops, quantizers, regularizers
from polykeras.layers.core import quantization as quant
from polykeras.layers.core.lora import LoraMixin, LoraWeight
from polykeras.layers.input_spec import InputSpec
from polykeras.layers.layer import Layer
from polykeras.variables import value_of

#: float8 formats of the forward pass (inputs, kernel) and their largest values.
FORWARD_FP8 = "float8_e4m3fn"


class Dense(LoraMixin, quant.QuantizableMixin, Layer):
    """A densely connected layer: ``activation(inputs @ kernel + bias)`` on the
    last axis. Kernel shape ``(input_dim, units)``, as Keras 3.
    ``quantize("int8" | "int4" | "float8")`` quantizes it in place (see
    :mod:`polykeras.layers.core.quantization`). ``enable_lora(rank)`` (or
    ``lora_rank``) freezes the kernel and trains a low-rank update instead
    (see :mod:`polykeras.layers.core.lora`).

    Example:
        >>> layer = Dense(4, activation="relu")
        >>> ops.shape(layer(np.ones((2, 8), "float32")))
        (2, 4)
    """

    _serialization_spec = {
        None: ("kernel", "bias"),
        "int8": ("kernel", "bias", "kernel_scale"),
        "int4": ("kernel", "bias", "kernel_scale", "kernel_zero", "g_idx"),
        "float8": ("kernel", "bias", "inputs_scale", "inputs_amax_history", "kernel_scale", "kernel_amax_history",
                   "outputs_grad_scale", "outputs_grad_amax_history"),
    }
    _lora_alpha_kept_at_build = False  # Keras 3's Dense enables LoRA with lora_alpha = lora_rank when built
    kernel = LoraWeight()

    def __init__(self, units: int, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None, lora_rank: int | None = None,
                 lora_alpha: float | None = None, quantization_config: Any = None, **kwargs: Any):
        super().__init__(activity_regularizer=activity_regularizer, lora_rank=lora_rank, lora_alpha=lora_alpha,
                         **kwargs)
        if not isinstance(units, int) or units <= 0:
            raise ValueError(f"Dense: expected a positive integer units, received units={units!r}.")
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.quantization_config = quant.resolve_quantization_config(quantization_config, f"Dense '{self.name}'")
        self.input_spec = InputSpec(min_ndim=2)

    def build(self, input_shape: Any) -> None:
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f"Layer '{self.name}': expected a known last axis, received input shape {input_shape}.")
        mode = self.quantization_mode
        if mode in ("int8", "int4", "gptq", "awq"):
            self._build_quantized(mode, (input_dim, self.units), self.quantization_config)
        else:
            self.kernel = self.add_weight(shape=(input_dim, self.units), initializer=self.kernel_initializer,
                                          regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
                                          name="kernel")
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.units,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                        name="bias")
        if mode == "float8":
            self._build_float8()
        self.input_spec = InputSpec(min_ndim=2, axes={-1: input_dim})
        self._enable_lora_after_build()

    def call(self, inputs: Any, training: Any = None) -> Any:
        if self.__dict__.get("_quantized") is not None:
            outputs = self._quantized_call(inputs, training)
        elif self.bias is not None:  # one kernel for the product and the bias where the engine has it
            outputs = backends.active().matmul_bias(inputs, value_of(self.kernel), self.bias.value)
            return self.activation(outputs) if self.activation is not None else outputs
        else:
            outputs = ops.matmul(inputs, self.kernel)
        if self.bias is not None:
            outputs = ops.add(outputs, self._float8_bias() if self.__dict__.get("_quantized") == "float8"
                              else self.bias)
        return self.activation(outputs) if self.activation is not None else outputs

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return (*input_shape[:-1], self.units)

    def get_config(self) -> dict[str, Any]:
        config = {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }
        if self.quantization_config is not None:
            config.update(self._quantized_config())
        config.update(self._lora_config())
        return config

    # ------------------------------------------------------------- int8
    def _quantize_int8(self, config: Any) -> None:
        value, shape = self._take_float_weight()
        weight_quantizer = quantizers.QuantizationConfig.weight_quantizer_or_default(
            config, quantizers.AbsMaxQuantizer(axis=0))
        q, scale = weight_quantizer(value, to_numpy=True)
        self._build_int8(shape, config)
        self.kernel.assign(q)
        self.kernel_scale.assign(ops.squeeze(scale, axis=0))

    def _build_int8(self, shape: tuple[int, ...], config: Any = None) -> None:
        self.kernel = self.add_weight(name="kernel", shape=shape, initializer="zeros", dtype="int8", trainable=False)
        self.kernel_scale = self.add_weight(name="kernel_scale", shape=(self.units,), initializer="ones",
                                            trainable=False)
        self._quantized = "int8"

    def _int8_call(self, inputs: Any, training: Any = None) -> Any:
        return self._scaled_matmul(inputs, ops.convert_to_tensor(self.kernel), self._inputs_quantizer())

    def _scaled_matmul(self, inputs: Any, kernel: Any, inputs_quantizer: Any) -> Any:
        """``inputs @ (kernel / kernel_scale)``: with an inputs quantizer, an
        integer product of quantized inputs and kernel, de-scaled after."""
        compute = self.compute_dtype

        def forward(x: Any, k: Any, scale: Any) -> Any:
            if inputs_quantizer:
                qx, x_scale = inputs_quantizer(x, axis=-1)
                y = ops.matmul(ops.cast(qx, "float32"), ops.cast(k, "float32"))
                return ops.divide(ops.cast(y, compute), ops.multiply(ops.cast(x_scale, compute), scale))
            return ops.divide(ops.matmul(x, ops.cast(k, compute)), scale)

        def backward(upstream: Any, k: Any, scale: Any) -> Any:
            return ops.matmul(upstream, ops.transpose(ops.divide(ops.cast(k, compute), scale)))

        scale = ops.cast(ops.convert_to_tensor(self.kernel_scale), compute)
        return quant.straight_through(forward, backward)(inputs, kernel, scale)

    # ------------------------------------------------------------- int4
    def _quantize_int4(self, config: Any) -> None:
        value, shape = self._take_float_weight()
        quant.quantize_int4_kernel(self, value, shape, config)

    def _build_int4(self, shape: tuple[int, ...], config: Any = None) -> None:
        input_dim, units = shape
        block = quant._int4_block_size(self, config)
        self.kernel = self.add_weight(name="kernel", shape=(input_dim, (units + 1) // 2), initializer="zeros",
                                      dtype="int8", trainable=False)
        scale_shape = (units,) if block is None else (quant.n_groups(input_dim, block), units)
        self.kernel_scale = self.add_weight(name="kernel_scale", shape=scale_shape, initializer="ones",
                                            trainable=False)
        if block is not None:
            self.kernel_zero = self.add_weight(name="kernel_zero", shape=scale_shape, initializer="zeros",
                                               dtype="int8", trainable=False)
            self.g_idx = self.add_weight(name="g_idx", shape=(input_dim,), trainable=False,
                                         initializer=lambda shape, dtype=None: quant.group_index(shape[0], block))
        self._int4_block = block
        self._quantized = "int4"

    def _int4_call(self, inputs: Any, training: Any = None) -> Any:
        kernel = quantizers.unpack_int4(self.kernel, self.units, axis=-1)
        if self.__dict__.get("_int4_block") is None:
            return self._scaled_matmul(inputs, kernel, self._inputs_quantizer())
        compute = self.compute_dtype
        float_kernel = quant.grouped_dequantize(kernel, self.kernel_scale, self.kernel_zero, self.g_idx, 0, compute)
        return quant.straight_through(lambda x, k: ops.matmul(x, k),
                                      lambda g, k: ops.matmul(g, ops.transpose(k)))(inputs, float_kernel)

    # ----------------------------------------------------------- float8
    def _quantize_float8(self, config: Any) -> None:
        self._build_float8()

    def _build_float8(self, shape: Any = None, config: Any = None) -> None:
        length = getattr(self.dtype_policy, "amax_history_length", 1024)
        for name in ("inputs", "kernel", "outputs_grad"):
            setattr(self, f"{name}_scale", self.add_weight(name=f"{name}_scale", shape=(), initializer="ones",
                                                           dtype="float32"))
            setattr(self, f"{name}_amax_history", self.add_weight(
                name=f"{name}_amax_history", shape=(length,), initializer="zeros", dtype="float32"))
        self._quantized = "float8"

    def _float8_call(self, inputs: Any, training: Any = None) -> Any:
        if training:
            raise NotImplementedError(
                f"Layer '{self.name}' ({type(self).__name__}): training through float8 (delayed scaling, whose "
                "scales are overwritten by their gradients) is not implemented in polykeras; float8 layers run "
                "inference only (call with training=False, predict, evaluate).")
        compute = self.compute_dtype
        x = quantizers.quantize_and_dequantize(inputs, self.inputs_scale, FORWARD_FP8, compute)
        k = quantizers.quantize_and_dequantize(self.kernel, self.kernel_scale, FORWARD_FP8, compute)
        return ops.matmul(x, k)

    def _float8_bias(self) -> Any:
        """The bias as Keras 3's float8 path adds it: rounded through bfloat16 under a float32 compute dtype."""
        bias = ops.convert_to_tensor(self.bias)
        if self.compute_dtype == "float32":
            bias = ops.cast(ops.cast(bias, "bfloat16"), "float32")
        return bias
