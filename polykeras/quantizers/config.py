"""Quantization configs (``keras.quantizers.*Config``): which quantizers a
layer's ``quantize(mode, config=...)`` uses for its weights and activations,
and the checks Keras 3 makes on them.

GPTQ and AWQ configs are accepted and serialized as Keras 3 does; running
those algorithms (which calibrate on a dataset through a tokenizer) is not
implemented: ``quantize`` with them raises NotImplementedError.
"""

from __future__ import annotations

from typing import Any

from polykeras import registry
from polykeras.quantizers.quantizers import AbsMaxQuantizer, Quantizer

__all__ = ["AWQConfig", "Float8QuantizationConfig", "GPTQConfig", "Int4QuantizationConfig",
           "Int8QuantizationConfig", "QUANTIZATION_MODES", "QuantizationConfig", "validate_and_resolve_config"]

#: The modes ``quantize`` knows, as Keras 3.15.
QUANTIZATION_MODES = ("int8", "float8", "int4", "gptq", "awq")


def _quantizer(value: Any) -> Any:
    if isinstance(value, dict):
        from polykeras.quantizers import deserialize

        return deserialize(value)
    return value


class QuantizationConfig:
    """Base class of quantization configs: a ``weight_quantizer`` and an
    ``activation_quantizer`` (either may be None); subclasses name their
    ``mode``.

    Example:
        >>> config = Int8QuantizationConfig(weight_quantizer=AbsMaxQuantizer(axis=0))
        >>> config.mode
        'int8'
    """

    def __init__(self, weight_quantizer: Quantizer | None = None, activation_quantizer: Quantizer | None = None):
        self.weight_quantizer = weight_quantizer
        self.activation_quantizer = activation_quantizer

    @property
    def mode(self) -> str:
        raise NotImplementedError("QuantizationConfig: subclasses name their mode; use Int8QuantizationConfig, "
                                  "Int4QuantizationConfig or Float8QuantizationConfig.")

    def get_config(self) -> dict[str, Any]:
        return {"weight_quantizer": registry.serialize(self.weight_quantizer),
                "activation_quantizer": registry.serialize(self.activation_quantizer)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> QuantizationConfig:
        return cls(weight_quantizer=_quantizer(config.get("weight_quantizer")),
                   activation_quantizer=_quantizer(config.get("activation_quantizer")))

    @staticmethod
    def weight_quantizer_or_default(config: QuantizationConfig | None, default: Any) -> Any:
        """``config``'s weight quantizer, else ``default``."""
        if config is not None and config.weight_quantizer is not None:
            return config.weight_quantizer
        return default

    @staticmethod
    def activation_quantizer_or_default(config: QuantizationConfig | None, default: Any) -> Any:
        """``config``'s activation quantizer (None included) when a config is given, else ``default``."""
        return config.activation_quantizer if config is not None else default


class Int8QuantizationConfig(QuantizationConfig):
    """int8 weights (per output channel abs-max by default) and, unless
    ``activation_quantizer=None``, int8 activations quantized per row at each
    call (``"default"``: ``AbsMaxQuantizer()`` on the last axis).

    Example:
        >>> model.quantize(config=Int8QuantizationConfig(activation_quantizer=None))  # weight-only int8
    """

    def __init__(self, weight_quantizer: Quantizer | None = None, activation_quantizer: Any = "default"):
        if isinstance(activation_quantizer, str) and activation_quantizer == "default":
            activation_quantizer = AbsMaxQuantizer()
        super().__init__(weight_quantizer, activation_quantizer)
        if weight_quantizer is not None and getattr(weight_quantizer, "output_dtype", None) != "int8":
            raise ValueError(f"Int8QuantizationConfig requires a weight_quantizer with output_dtype='int8'. "
                             f"Received: output_dtype={getattr(weight_quantizer, 'output_dtype', None)}")

    @property
    def mode(self) -> str:
        return "int8"


class Int4QuantizationConfig(QuantizationConfig):
    """int4 weights packed two to a byte. ``block_size`` (default 128) groups
    that many input rows under one scale and zero point per output column;
    ``None`` or ``-1`` gives one symmetric scale per output column, the only
    form that takes custom quantizers.

    Example:
        >>> layer.quantize("int4", config=Int4QuantizationConfig(block_size=-1))
    """

    def __init__(self, weight_quantizer: Quantizer | None = None, activation_quantizer: Any = "default",
                 block_size: int | None = 128):
        if isinstance(activation_quantizer, str) and activation_quantizer == "default":
            activation_quantizer = None
        super().__init__(weight_quantizer, activation_quantizer)
        if block_size is not None and block_size != -1 and (not isinstance(block_size, int) or block_size <= 0):
            raise ValueError(f"block_size must be None, -1, or a positive integer. Received: block_size={block_size}")
        self.block_size = block_size
        if block_size is not None and block_size > 0 and (weight_quantizer is not None
                                                          or activation_quantizer is not None):
            raise ValueError("Int4 sub-channel quantization (block_size > 0) does not support custom quantizers. "
                             "Either set block_size to None or -1 for per-channel quantization, or remove the "
                             f"custom quantizer arguments. Received: block_size={block_size}")
        if weight_quantizer is not None:
            if tuple(getattr(weight_quantizer, "value_range", ())) != (-8, 7):
                raise ValueError("Int4QuantizationConfig requires a weight_quantizer with value_range=(-8, 7). "
                                 f"Received: value_range={getattr(weight_quantizer, 'value_range', None)}")
            if getattr(weight_quantizer, "output_dtype", None) != "int8":
                raise ValueError("Int4QuantizationConfig requires a weight_quantizer with output_dtype='int8'. "
                                 f"Received: output_dtype={getattr(weight_quantizer, 'output_dtype', None)}")

    @property
    def mode(self) -> str:
        return "int4"

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "block_size": self.block_size}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Int4QuantizationConfig:
        return cls(weight_quantizer=_quantizer(config.get("weight_quantizer")),
                   activation_quantizer=_quantizer(config.get("activation_quantizer")),
                   block_size=config.get("block_size"))


class Float8QuantizationConfig(QuantizationConfig):
    """float8 training with delayed scaling (no custom quantizers).

    Example:
        >>> model.quantize(config=Float8QuantizationConfig())
    """

    def __init__(self) -> None:
        super().__init__(None, None)

    @property
    def mode(self) -> str:
        return "float8"

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Float8QuantizationConfig:
        return cls()


def _positive(name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive integer.")


class GPTQConfig(QuantizationConfig):
    """Settings of GPTQ post-training quantization (Keras 3.15's arguments and
    checks). The calibration itself is not implemented in polykeras:
    ``quantize`` with this config raises NotImplementedError.

    Example:
        >>> GPTQConfig(dataset=None, tokenizer=None, weight_bits=4).dtype_policy_string()
        'gptq/4/128'
    """

    def __init__(self, dataset: Any, tokenizer: Any, *, weight_bits: int = 4, num_samples: int = 128,
                 per_channel: bool = True, sequence_length: int = 512, hessian_damping: float = 0.01,
                 group_size: int = 128, symmetric: bool = False, activation_order: bool = False,
                 quantization_layer_structure: dict | None = None):
        super().__init__()
        if weight_bits not in (2, 3, 4, 8):
            raise ValueError(f"Unsupported weight_bits {weight_bits}. Supported values are 2, 3, 4, and 8.")
        _positive("num_samples", num_samples)
        _positive("sequence_length", sequence_length)
        if not 0 <= hessian_damping <= 1:
            raise ValueError("hessian_damping must be between 0 and 1.")
        if group_size < -1 or group_size == 0:
            raise ValueError("Invalid group_size. Supported values are -1 (whole-tensor) or a positive integer, "
                             f"but got {group_size}.")
        self.dataset, self.tokenizer = dataset, tokenizer
        self.weight_bits, self.num_samples, self.per_channel = weight_bits, num_samples, per_channel
        self.sequence_length, self.hessian_damping, self.group_size = sequence_length, hessian_damping, group_size
        self.symmetric, self.activation_order = symmetric, activation_order
        self.quantization_layer_structure = quantization_layer_structure

    @property
    def mode(self) -> str:
        return "gptq"

    def dtype_policy_string(self) -> str:
        """The policy name's mode part, ``"gptq/<bits>/<group_size>"``."""
        return f"gptq/{self.weight_bits}/{self.group_size}"

    def get_config(self) -> dict[str, Any]:
        return {"dataset": None, "tokenizer": None, "weight_bits": self.weight_bits,
                "num_samples": self.num_samples, "per_channel": self.per_channel,
                "sequence_length": self.sequence_length, "hessian_damping": self.hessian_damping,
                "group_size": self.group_size, "symmetric": self.symmetric,
                "activation_order": self.activation_order,
                "quantization_layer_structure": self.quantization_layer_structure}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> GPTQConfig:
        return cls(**config)


class AWQConfig(QuantizationConfig):
    """Settings of AWQ (activation-aware 4-bit) quantization, Keras 3.15's
    arguments and checks. The calibration is not implemented in polykeras:
    ``quantize`` with this config raises NotImplementedError.

    Example:
        >>> AWQConfig(dataset=None, tokenizer=None, group_size=64).dtype_policy_string()
        'awq/4/64'
    """

    def __init__(self, dataset: Any, tokenizer: Any, *, weight_bits: int = 4, num_samples: int = 128,
                 sequence_length: int = 512, group_size: int = 128, num_grid_points: int = 20,
                 quantization_layer_structure: dict | None = None):
        super().__init__()
        if weight_bits != 4:
            raise ValueError(f"AWQ only supports 4-bit quantization. Received weight_bits={weight_bits}.")
        _positive("num_samples", num_samples)
        _positive("sequence_length", sequence_length)
        if group_size < -1 or group_size == 0:
            raise ValueError("Invalid group_size. Supported values are -1 (per-channel) or a positive integer, "
                             f"but got {group_size}.")
        _positive("num_grid_points", num_grid_points)
        self.dataset, self.tokenizer = dataset, tokenizer
        self.weight_bits, self.num_samples, self.sequence_length = weight_bits, num_samples, sequence_length
        self.group_size, self.num_grid_points = group_size, num_grid_points
        self.quantization_layer_structure = quantization_layer_structure

    @property
    def mode(self) -> str:
        return "awq"

    def dtype_policy_string(self) -> str:
        """The policy name's mode part, ``"awq/<bits>/<group_size>"``."""
        return f"awq/{self.weight_bits}/{self.group_size}"

    def get_config(self) -> dict[str, Any]:
        return {"dataset": None, "tokenizer": None, "weight_bits": self.weight_bits,
                "num_samples": self.num_samples, "sequence_length": self.sequence_length,
                "group_size": self.group_size, "num_grid_points": self.num_grid_points,
                "quantization_layer_structure": self.quantization_layer_structure}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> AWQConfig:
        return cls(**config)


def validate_and_resolve_config(mode: str | None, config: Any) -> QuantizationConfig:
    """The config ``quantize(mode, config)`` runs with: the mode's default
    config when ``config`` is None, after checking that mode and config
    agree (Keras 3's errors).

    Example:
        >>> validate_and_resolve_config("int8", None).mode
        'int8'
    """
    if isinstance(config, str):
        mode, config = config, None
    if mode is not None and mode not in QUANTIZATION_MODES:
        raise ValueError(f"Invalid quantization mode. Expected one of {QUANTIZATION_MODES}. Received: mode={mode}")
    if config is None:
        defaults = {"int8": Int8QuantizationConfig, "int4": Int4QuantizationConfig,
                    "float8": Float8QuantizationConfig}
        if mode in defaults:
            return defaults[mode]()
        if mode == "gptq":
            raise ValueError("For GPTQ, you must pass a `GPTQConfig` object in the `config` argument.")
        if mode == "awq":
            raise ValueError("For AWQ, you must pass an `AWQConfig` object in the `config` argument.")
        raise ValueError("You must provide either `mode` or `config` to `quantize`.")
    if not isinstance(config, QuantizationConfig):
        raise ValueError("Argument `config` must be an instance of `QuantizationConfig`. "
                         f"Received: config={config} (of type {type(config)})")
    if mode is not None and config.mode != mode:
        raise ValueError(f"Contradictory arguments: mode='{mode}' but config.mode='{config.mode}'")
    return config
