"""Quantized dtype policies: the policy a layer carries once quantized
(``"int8_from_float32"``, ``"float8_from_mixed_bfloat16"``,
``"int4/128_from_float32"``...). Compute and variable dtypes are those of the
source policy; ``quantization_mode`` tells the layer which quantized
variables to build and which call path to run. Names and configs are Keras
3.15's, so quantized models' configs travel both ways.

Example:
    >>> policy = get("int8_from_mixed_bfloat16")
    >>> policy.quantization_mode, policy.compute_dtype, policy.variable_dtype
    ('int8', 'bfloat16', 'float32')
"""

from __future__ import annotations

from typing import Any

from polykeras.dtype_policies.policy import (
    DTypePolicy,
    dtype_policy,
    register_name_prefix,
    register_policy_class,
)
from polykeras.quantizers.config import QUANTIZATION_MODES

__all__ = ["AWQDTypePolicy", "GPTQDTypePolicy", "Int4DTypePolicy", "QUANTIZATION_MODES", "QuantizedDTypePolicy",
           "QuantizedFloat8DTypePolicy", "quantized_policy_from_name"]


class QuantizedDTypePolicy(DTypePolicy):
    """The policy of a layer quantized with ``mode`` (``"int8"``, ``"int4"``...)
    from the float policy ``source_name`` (default: the global policy's
    name); named ``"<mode>_from_<source_name>"``.

    Example:
        >>> QuantizedDTypePolicy("int8", "float32").name
        'int8_from_float32'
    """

    def __init__(self, mode: str, source_name: str | None = None):
        if source_name is None:
            source_name = dtype_policy().name
        self._compute_dtype, self._variable_dtype = self._parse_name(source_name)
        self._check_quantization_mode(mode, self._compute_dtype)
        self._name = f"{mode}_from_{source_name}"
        self._source_name = source_name
        self._quantization_mode = mode

    @property
    def source_name(self) -> str:
        """The float policy the layer was quantized from."""
        return self._source_name

    def _check_quantization_mode(self, mode: str, compute_dtype: str) -> None:
        if mode not in QUANTIZATION_MODES:
            raise ValueError(f"Invalid quantization mode. Expected one of {QUANTIZATION_MODES}. Received: mode={mode}")
        if compute_dtype == "float16" and mode == "int8":
            raise ValueError(f"Quantization mode='{mode}' doesn't work well with compute_dtype='float16'.")

    def get_config(self) -> dict[str, Any]:
        return {"mode": self._quantization_mode, "source_name": self._source_name}


class QuantizedFloat8DTypePolicy(QuantizedDTypePolicy):
    """float8 training's policy; ``amax_history_length`` is the window of
    past absolute maxima the delayed scaling looks at.

    Example:
        >>> QuantizedFloat8DTypePolicy("float8", "mixed_bfloat16", amax_history_length=16).get_config()
        {'mode': 'float8', 'source_name': 'mixed_bfloat16', 'amax_history_length': 16}
    """

    default_amax_history_length = 1024

    def __init__(self, mode: str, source_name: str | None = None, amax_history_length: int = 1024):
        super().__init__(mode=mode, source_name=source_name)
        if not isinstance(amax_history_length, int) or isinstance(amax_history_length, bool):
            raise TypeError(f"`amax_history_length` must be an integer. "
                            f"Received: amax_history_length={amax_history_length}")
        self._amax_history_length = amax_history_length

    @property
    def amax_history_length(self) -> int:
        """How many past absolute maxima the scaling factors follow."""
        return self._amax_history_length

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "amax_history_length": self._amax_history_length}


def _parse_mode(cls: str, mode: Any, base: str, fields: tuple[str, ...]) -> list[int]:
    expected = "'" + "/".join([base, *(f"<{f}>" for f in fields)]) + "'"
    parts = mode.split("/") if isinstance(mode, str) else []
    if len(parts) != len(fields) + 1 or parts[0] != base:
        raise ValueError(f"Invalid mode for {cls}. Expected format {expected}, but got '{mode}'.")
    try:
        return [int(p) for p in parts[1:]]
    except ValueError:
        names = " and ".join(f"<{f}>" for f in fields)
        raise ValueError(f"Invalid mode for {cls}. {names} must be {'integers' if len(fields) > 1 else 'an integer'}."
                         f" Expected format {expected}, but got '{mode}'.") from None


class Int4DTypePolicy(QuantizedDTypePolicy):
    """int4's policy, mode ``"int4/<block_size>"``: ``-1`` for one scale per
    output channel, a positive block size for grouped scales and zero points.

    Example:
        >>> Int4DTypePolicy("int4/128", "float32").block_size
        128
    """

    def __init__(self, mode: str, source_name: str | None = None):
        (block_size,) = _parse_mode("Int4DTypePolicy", mode, "int4", ("block_size",))
        if block_size < -1 or block_size == 0:
            raise ValueError("Invalid block_size in mode. Supported values are -1 (per-channel) or a positive "
                             f"integer (sub-channel), but got {block_size} from '{mode}'.")
        super().__init__(mode="int4", source_name=source_name)
        self._name = f"{mode}_from_{self._source_name}"
        self.mode = "int4"
        self.block_size = block_size

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mode": f"int4/{self.block_size}"}


class _CalibratedPolicy(QuantizedDTypePolicy):
    """GPTQ and AWQ policies: ``"<algo>/<weight_bits>/<group_size>"``."""

    _algo = ""
    _bits: tuple[int, ...] = ()

    def __init__(self, mode: str, source_name: str | None = None):
        cls = type(self).__name__
        weight_bits, group_size = _parse_mode(cls, mode, self._algo, ("weight_bits", "group_size"))
        if weight_bits not in self._bits:
            allowed = "AWQ only supports 4-bit quantization" if self._algo == "awq" else \
                "Supported values are 2, 3, 4, and 8"
            raise ValueError(f"Invalid weight_bits in mode. {allowed}, but got {weight_bits} from '{mode}'.")
        if group_size < -1 or group_size == 0:
            raise ValueError("Invalid group_size in mode. Supported values are -1 or a positive integer, "
                             f"but got {group_size} from '{mode}'.")
        super().__init__(mode=self._algo, source_name=source_name)
        self._name = f"{mode}_from_{self._source_name}"
        self.mode = self._algo
        self.weight_bits = weight_bits
        self.group_size = group_size

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mode": f"{self._algo}/{self.weight_bits}/{self.group_size}"}


class GPTQDTypePolicy(_CalibratedPolicy):
    """GPTQ's policy, mode ``"gptq/<weight_bits>/<group_size>"``. polykeras
    reads and writes these configs; layers refuse to build or quantize under
    them (the GPTQ calibration is not implemented).

    Example:
        >>> GPTQDTypePolicy("gptq/4/128", "float32").weight_bits
        4
    """

    _algo = "gptq"
    _bits = (2, 3, 4, 8)


class AWQDTypePolicy(_CalibratedPolicy):
    """AWQ's policy, mode ``"awq/4/<group_size>"``. polykeras reads and
    writes these configs; layers refuse to build or quantize under them (the
    AWQ calibration is not implemented).

    Example:
        >>> AWQDTypePolicy("awq/4/64", "float32").group_size
        64
    """

    _algo = "awq"
    _bits = (4,)


def quantized_policy_from_name(name: str) -> QuantizedDTypePolicy:
    """The quantized policy a name such as ``"int8_from_float32"`` or
    ``"int4/128_from_mixed_bfloat16"`` describes (Keras 3's rules).

    Example:
        >>> quantized_policy_from_name("float8_from_float32")
        <QuantizedFloat8DTypePolicy "float8_from_float32">
    """
    parts = name.split("_from_")
    if len(parts) != 2:
        raise ValueError("Cannot convert `policy` into a valid pair (`mode`, `source_name`) to instantiate "
                         f"`QuantizedDTypePolicy`. Received: policy={name}")
    mode, source = parts
    if mode.startswith("int4/"):
        return Int4DTypePolicy(mode, source)
    if mode.startswith("gptq"):
        return GPTQDTypePolicy(mode, source)
    if mode.startswith("awq"):
        return AWQDTypePolicy(mode, source)
    if mode == "float8":
        return QuantizedFloat8DTypePolicy(mode, source)
    return QuantizedDTypePolicy(mode, source)


for _cls in (QuantizedDTypePolicy, QuantizedFloat8DTypePolicy, Int4DTypePolicy, GPTQDTypePolicy, AWQDTypePolicy):
    register_policy_class(_cls)
for _prefix in ("int8_from_", "float8_from_", "int4_from_", "int4/", "gptq/", "awq/"):
    register_name_prefix(_prefix, quantized_policy_from_name)
