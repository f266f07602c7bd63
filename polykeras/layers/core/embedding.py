"""``Embedding``: integer ids -> rows of a trainable matrix."""

from __future__ import annotations

from typing import Any

from polykeras import constraints, initializers, ops, quantizers, regularizers
from polykeras.layers.convolutional.arguments import describe_layer
from polykeras.layers.core import quantization as quant
from polykeras.layers.core.lora import LoraMixin, LoraWeight
from polykeras.layers.layer import Layer

__all__ = ["Embedding"]


class Embedding(LoraMixin, quant.QuantizableMixin, Layer):
    """Looks up row ``i`` of ``embeddings`` (shape ``(input_dim, output_dim)``)
    for each integer id ``i``: ``(batch, *dims)`` -> ``(batch, *dims, output_dim)``.

    Args:
        input_dim: vocabulary size (ids lie in ``[0, input_dim)``).
        output_dim: size of each vector.
        embeddings_initializer: default ``"uniform"`` (``±0.05``), as Keras.
        mask_zero: id 0 is padding: the output carries the mask ``ids != 0``
            to the following layers (so the vocabulary holds ``input_dim - 1``
            real ids).
        weights: optional initial ``[matrix]``.

    ``quantize("int8" | "int4")`` quantizes the matrix in place, one scale
    per row (see :mod:`polykeras.layers.core.quantization`).
    ``enable_lora(rank)`` (or ``lora_rank``) freezes the matrix and trains a
    low-rank update ``lora_embeddings_a @ lora_embeddings_b`` instead (see
    :mod:`polykeras.layers.core.lora`).

    Example:
        >>> emb = Embedding(100, 8, mask_zero=True)
        >>> y = emb(np.array([[4, 2, 0]]))
        >>> ops.shape(y), ops.to_numpy(polykeras.layers.get_mask(y))
        ((1, 3, 8), array([[ True,  True, False]]))
    """

    _quantized_weight = "embeddings"
    _quantization_modes = ("int8", "int4")
    _serialization_spec = {
        None: ("embeddings",),
        "int8": ("embeddings", "embeddings_scale"),
        "int4": ("embeddings", "embeddings_scale", "embeddings_zero", "g_idx"),
    }
    _lora_weight = "embeddings"
    _lora_constraint = "embeddings_constraint"
    _lora_regularizer = "embeddings_regularizer"
    _lora_alpha_kept_at_build = False  # Keras 3's Embedding enables LoRA with lora_alpha = lora_rank when built
    embeddings = LoraWeight()

    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer: Any = "uniform",
                 embeddings_regularizer: Any = None, embeddings_constraint: Any = None, mask_zero: bool = False,
                 weights: Any = None, lora_rank: int | None = None, lora_alpha: float | None = None,
                 quantization_config: Any = None, activity_regularizer: Any = None, **kwargs: Any):
        kwargs.pop("input_length", None)  # Keras 2's argument, not needed to build
        super().__init__(activity_regularizer=activity_regularizer, lora_rank=lora_rank, lora_alpha=lora_alpha,
                         **kwargs)
        who = describe_layer(self)
        self.quantization_config = quant.resolve_quantization_config(quantization_config, who)
        for arg, value in (("input_dim", input_dim), ("output_dim", output_dim)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{who}: expected {arg} to be a positive int, received {arg}={value!r}.")
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = mask_zero
        self.supports_masking = mask_zero
        if weights is not None:
            self.build()
            if not isinstance(weights, (list, tuple)):
                weights = [weights]
            self.set_weights(weights)

    def build(self, input_shape: Any = None) -> None:
        if self.quantization_mode is not None:
            self._build_quantized(self.quantization_mode, (self.input_dim, self.output_dim), self.quantization_config)
        else:
            self.embeddings = self.add_weight(shape=(self.input_dim, self.output_dim),
                                              initializer=self.embeddings_initializer,
                                              regularizer=self.embeddings_regularizer,
                                              constraint=self.embeddings_constraint, name="embeddings")
        self._enable_lora_after_build()

    def call(self, inputs: Any) -> Any:
        dtype = ops.dtype(inputs)
        if not dtype.startswith(("int", "uint")):
            inputs = ops.cast(inputs, "int32")
        if self.__dict__.get("_quantized") is not None:
            return self._quantized_call(inputs)
        return ops.take(self.embeddings, inputs, axis=0)

    def compute_mask(self, inputs: Any, previous_mask: Any = None) -> Any:
        if not self.mask_zero:
            return None
        return ops.not_equal(inputs, 0)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return (*tuple(input_shape), self.output_dim)

    def get_config(self) -> dict[str, Any]:
        config = {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
            "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
            "mask_zero": self.mask_zero,
        }
        if self.quantization_config is not None:
            config.update(self._quantized_config())
        config.update(self._lora_config())
        return config

    # ------------------------------------------------------------- int8
    def _quantize_int8(self, config: Any) -> None:
        value, shape = self._take_float_weight()
        weight_quantizer = quantizers.QuantizationConfig.weight_quantizer_or_default(
            config, quantizers.AbsMaxQuantizer(axis=-1))
        q, scale = weight_quantizer(value, to_numpy=True)
        self._build_int8(shape, config)
        self.embeddings.assign(q)
        self.embeddings_scale.assign(ops.squeeze(scale, axis=-1))

    def _build_int8(self, shape: tuple[int, ...], config: Any = None) -> None:
        self.embeddings = self.add_weight(name="embeddings", shape=shape, initializer="zeros", dtype="int8",
                                          trainable=False)
        self.embeddings_scale = self.add_weight(name="embeddings_scale", shape=(self.input_dim,),
                                                initializer="ones", trainable=False)
        self._quantized = "int8"

    def _int8_call(self, inputs: Any, training: Any = None) -> Any:
        rows = ops.cast(ops.take(self.embeddings, inputs, axis=0), self.compute_dtype)
        scale = ops.take(ops.cast(ops.convert_to_tensor(self.embeddings_scale), self.compute_dtype), inputs, axis=0)
        return ops.divide(rows, ops.expand_dims(scale, axis=-1))

    # ------------------------------------------------------------- int4
    def _quantize_int4(self, config: Any) -> None:
        value, shape = self._take_float_weight()
        quant.quantize_int4_kernel(self, value, shape, config, axis=-1, name="embeddings")

    def _build_int4(self, shape: tuple[int, ...], config: Any = None) -> None:
        input_dim, output_dim = shape
        block = quant._int4_block_size(self, config)
        self.embeddings = self.add_weight(name="embeddings", shape=(input_dim, (output_dim + 1) // 2),
                                          initializer="zeros", dtype="int8", trainable=False)
        scale_shape = (input_dim,) if block is None else (input_dim, quant.n_groups(output_dim, block))
        self.embeddings_scale = self.add_weight(name="embeddings_scale", shape=scale_shape, initializer="ones",
                                                trainable=False)
        if block is not None:
            self.embeddings_zero = self.add_weight(name="embeddings_zero", shape=scale_shape, initializer="zeros",
                                                   dtype="int8", trainable=False)
            self.g_idx = self.add_weight(name="g_idx", shape=(output_dim,), trainable=False,
                                         initializer=lambda shape, dtype=None: quant.group_index(shape[0], block))
        self._int4_block = block
        self._quantized = "int4"

    def _int4_call(self, inputs: Any, training: Any = None) -> Any:
        compute = self.compute_dtype
        rows = quantizers.unpack_int4(ops.take(self.embeddings, inputs, axis=0), self.output_dim, axis=-1)
        scale = ops.take(ops.convert_to_tensor(self.embeddings_scale), inputs, axis=0)
        if self.__dict__.get("_int4_block") is None:
            return ops.divide(ops.cast(rows, compute), ops.expand_dims(ops.cast(scale, compute), axis=-1))
        zero = ops.take(ops.convert_to_tensor(self.embeddings_zero), inputs, axis=0)
        return quant.grouped_dequantize(rows, scale, zero, self.g_idx, -1, compute)
