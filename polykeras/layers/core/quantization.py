"""Post-training quantization of the core layers (``layer.quantize(mode)``,
``model.quantize(mode)``), as Keras 3.15 does it.

A quantizable layer holds one float weight matrix (``Dense``/``EinsumDense``:
``kernel``; ``Embedding``: ``embeddings``). ``quantize`` replaces it by
quantized variables with Keras 3's names, shapes, dtypes and order, and sets
the layer's dtype policy to the quantized one (``"int8_from_float32"``...);
from then on ``call`` takes the quantized path, and a layer built under a
quantized policy (a loaded model) creates the quantized variables directly.

- ``int8``: ``kernel`` int8 and ``kernel_scale`` (one per output); inputs
  abs-max quantized per row at each call (unless the config's activation
  quantizer is None), the integer product de-scaled.
- ``int4``: ``kernel`` two nibbles a byte, ``kernel_scale`` (and, with
  blocks, ``kernel_zero`` and ``g_idx``); the kernel unpacked and de-scaled.
- ``float8``: the float kernel plus scales and amax histories; inputs and
  kernel rounded to float8 e4m3 at their scales (inference only).

Gradients reach the inputs (straight through a de-quantized kernel), so
layers before a quantized one still train.

Example:
    >>> model.quantize("int8")
    >>> model.layers[1].kernel.dtype, model.layers[1].dtype_policy.name
    ('int8', 'int8_from_float32')
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from polykeras import ops, quantizers
from polykeras.layers.tracking import bump
from polykeras.quantizers import QuantizationConfig
from polykeras.quantizers.config import Int4QuantizationConfig, validate_and_resolve_config

__all__ = ["QuantizableMixin", "aligned_scale", "quantize_model", "straight_through"]


def _drop_variable(layer: Any, attribute: str) -> tuple[int, ...]:
    """Remove the variable ``layer.<attribute>`` from the layer; returns its shape."""
    variable = layer.__dict__[attribute]
    state = layer.__dict__
    state["_own_variables"][:] = [v for v in state["_own_variables"] if v is not variable]
    state["_created_trainable"].discard(id(variable))
    object.__delattr__(layer, attribute)
    bump()
    return tuple(int(d) for d in variable.shape)


def aligned_scale(scale: Any, spec: str, out_spec: str) -> Any:
    """A per-axis scale computed with ``keepdims`` over the axes of ``spec``
    (an einsum operand's labels) that are missing from ``out_spec``,
    rearranged to broadcast against the einsum's output: the reduced axes
    dropped, the kept ones in output order, size-1 axes for output labels
    the operand lacks.

    Example: ``aligned_scale(s_of_shape_(1, 6), "bc", "ac")`` has shape ``(1, 6)``
    """
    kept = [c for c in spec if c in out_spec]
    squeezed = ops.reshape(scale, tuple(int(scale.shape[i]) for i, c in enumerate(spec) if c in out_spec))
    order = sorted(range(len(kept)), key=lambda i: out_spec.index(kept[i]))
    if order != list(range(len(kept))):
        squeezed = ops.transpose(squeezed, order)
    shape = tuple(int(squeezed.shape[sorted(kept, key=out_spec.index).index(c)]) if c in kept else 1
                  for c in out_spec)
    return ops.reshape(squeezed, shape)


def unaligned_scale(scale: Any, spec: str, out_spec: str) -> Any:
    """The inverse of :func:`aligned_scale`: an output-aligned scale back in
    the operand's own axis order, size 1 on its reduced axes (so it divides
    the operand). Example: ``unaligned_scale(s_of_shape_(1, 6), "bc", "ac")`` has shape ``(1, 6)``"""
    kept = sorted((c for c in spec if c in out_spec), key=out_spec.index)
    squeezed = ops.reshape(scale, tuple(int(scale.shape[out_spec.index(c)]) for c in kept))
    in_order = [c for c in spec if c in out_spec]
    order = [kept.index(c) for c in in_order]
    if order != list(range(len(order))):
        squeezed = ops.transpose(squeezed, order)
    shape = tuple(int(squeezed.shape[in_order.index(c)]) if c in out_spec else 1 for c in spec)
    return ops.reshape(squeezed, shape)


def _int4_block_size(layer: Any, config: Any) -> int | None:
    """The int4 block size: the config's, else the layer's policy's (a loaded layer); None for per channel."""
    if isinstance(config, Int4QuantizationConfig):
        block = config.block_size
    else:
        block = getattr(layer.dtype_policy, "block_size", None)
    return None if block is None or block == -1 else int(block)


class QuantizableMixin:
    """``quantize``, ``quantization_mode`` and the build/serialization
    plumbing shared by the quantizable core layers. A layer names its float
    weight (``_quantized_weight``), the modes it supports, and implements
    ``_quantize_<mode>`` (values from the float weight), ``_build_<mode>``
    (the variables) and ``_<mode>_call``.

    Example:
        >>> layer = Dense(4); layer.build((None, 8)); layer.quantize("int8")
        >>> [v.name for v in layer.weights]
        ['bias', 'kernel', 'kernel_scale']
    """

    _quantized_weight = "kernel"
    _quantization_modes: tuple[str, ...] = ("int8", "int4", "float8")
    #: Keras 3's order of a layer's variables in its files, per mode.
    _serialization_spec: dict[str | None, tuple[str, ...]] = {}

    if False:  # attributes of the Layer this mixin is part of, for readers and type checkers
        name: str
        built: bool
        dtype_policy: Any
        compute_dtype: str

    # ------------------------------------------------------------ public
    @property
    def quantization_mode(self) -> str | None:
        """The layer's quantization mode (``'int8'``...), None when not quantized."""
        policy = self.__dict__.get("_dtype_policy")
        if isinstance(policy, Mapping):  # a DTypePolicyMap: this layer's entry
            policy = policy[self.__dict__.get("_path", self.name)]
        return getattr(policy, "quantization_mode", None)

    def quantize(self, mode: str | None = None, type_check: bool = True, config: Any = None) -> None:
        """Quantize the layer's weights in place (``"int8"``, ``"int4"``,
        ``"float8"``; or ``config`` a ``QuantizationConfig``). The layer must
        be built and not quantized yet.

        Example:
            >>> layer.quantize("int4", config=Int4QuantizationConfig(block_size=-1))
        """
        config = validate_and_resolve_config(mode, config)
        mode = config.mode
        base = self._quantizable_class()
        if type_check and type(self) is not base:
            raise NotImplementedError(f"Layer {type(self).__name__} does not have a `quantize` method implemented.")
        self._check_quantize_args(mode)
        if mode in ("gptq", "awq"):
            raise NotImplementedError(
                f"Layer '{self.name}' ({type(self).__name__}): quantize(mode={mode!r}) needs {mode.upper()} "
                f"calibration on a dataset, which polykeras does not implement; use 'int8', 'int4' or 'float8'.")
        if mode not in self._quantization_modes:
            raise NotImplementedError(f"Invalid quantization mode. Expected one of {self._quantization_modes}. "
                                      f"Received: quantization_mode={mode}")
        self.quantization_config = config
        getattr(self, f"_quantize_{mode}")(config)
        if self.quantization_mode is None:
            from polykeras import dtype_policies

            name = mode if mode != "int4" else f"int4/{_int4_block_size(self, config) or -1}"
            source = self.__dict__.get("_dtype_policy")
            if isinstance(source, Mapping):  # a DTypePolicyMap: quantize this layer's entry
                source = source[self.__dict__.get("_path", self.name)]
            if source is None:
                raise ValueError(f"Layer '{self.name}'.quantize: the layer has no dtype policy to quantize from.")
            self.dtype_policy = dtype_policies.get(f"{name}_from_{source.name}")

    # --------------------------------------------------------- plumbing
    def _quantizable_class(self) -> type:
        for cls in type(self).__mro__:
            if QuantizableMixin in cls.__bases__:
                return cls
        return type(self)

    def _check_quantize_args(self, mode: str) -> None:
        if not self.built:
            raise ValueError(f"Cannot quantize a layer that isn't yet built. Layer '{self.name}' (of type "
                             f"'{type(self).__name__}') is not built yet.")
        if self.__dict__.get("lora_enabled"):
            raise NotImplementedError(
                f"Layer '{self.name}' ({type(self).__name__}): quantizing a layer with LoRA enabled is not "
                f"implemented in polykeras; expected a layer without LoRA, received "
                f"lora_rank={self.__dict__.get('lora_rank')} and mode={mode!r}.")
        if self.quantization_mode is not None:
            raise ValueError(f"Layer '{self.name}' is already quantized with "
                             f"dtype_policy='{self.dtype_policy.name}'. Received: mode={mode}")
        if mode == "int8" and self.compute_dtype == "float16":
            raise ValueError(f"Quantization mode='{mode}' doesn't work well with compute_dtype='float16'. Consider "
                             "loading model/layer with another dtype policy such as 'mixed_bfloat16' or "
                             "'mixed_float16' before calling `quantize()`.")

    def _take_float_weight(self) -> tuple[Any, tuple[int, ...]]:
        """The float weight's value (host copy) and shape, the variable removed from the layer."""
        value = ops.convert_to_numpy(getattr(self, self._quantized_weight))
        shape = _drop_variable(self, self._quantized_weight)
        return value, shape

    def _build_quantized(self, mode: str, weight_shape: tuple[int, ...], config: Any = None) -> None:
        """Create the variables of ``mode`` (a layer built under a quantized policy)."""
        if mode in ("gptq", "awq"):
            raise NotImplementedError(
                f"Layer '{self.name}' ({type(self).__name__}): the dtype policy {self.dtype_policy.name!r} needs "
                f"{mode.upper()}-calibrated weights, which polykeras cannot build or load; expected a layer "
                "quantized with 'int8', 'int4' or 'float8'.")
        if mode not in self._quantization_modes:
            raise NotImplementedError(f"Invalid quantization mode. Expected one of {self._quantization_modes}. "
                                      f"Received: quantization_mode={mode}")
        getattr(self, f"_build_{mode}")(weight_shape, config)

    def _quantized_call(self, inputs: Any, training: Any = None) -> Any:
        return getattr(self, f"_{self.quantization_mode}_call")(inputs, training)

    def _keras_variable_order(self, variables: list[Any]) -> list[Any]:
        """``variables`` in Keras 3's file order for the current mode (see layers.layer.variable_weights)."""
        spec = self._serialization_spec.get(self.quantization_mode)
        if not spec:
            return variables
        by_name = {v.name: v for v in variables}
        ordered = [by_name.pop(name) for name in spec if name in by_name]
        return ordered + [v for v in variables if v.name in by_name]

    def _quantized_config(self) -> dict[str, Any]:
        from polykeras.registry import serialize

        return {"quantization_config": serialize(getattr(self, "quantization_config", None))}

    def _inputs_quantizer(self) -> Any:
        config = getattr(self, "quantization_config", None)
        default = quantizers.AbsMaxQuantizer() if self.quantization_mode == "int8" else None
        return QuantizationConfig.activation_quantizer_or_default(config, default)


def quantize_int4_kernel(layer: Any, matrix: Any, shape: tuple[int, ...], config: Any, axis: int = 0,
                         name: str = "kernel") -> None:
    """Quantize a ``(rows, columns)`` float ``matrix`` to int4 as Keras 3
    does, build ``layer``'s int4 variables for the float weight's ``shape``
    and write them to ``<name>``, ``<name>_scale`` and ``<name>_zero``. With
    ``axis=0`` (Dense, EinsumDense with its kernel flattened) each column gets
    an abs-max scale from the config's weight quantizer, or blocks of rows get
    scales and zero points; ``axis=-1`` (Embedding) does the same per row.
    The values are packed two to a byte along the last axis.

    Example: ``quantize_int4_kernel(dense, kernel_value, (784, 10), None)``
    """
    block = _int4_block_size(layer, config)
    zero = None
    if block is None:
        weight_quantizer = QuantizationConfig.weight_quantizer_or_default(
            config, quantizers.AbsMaxQuantizer(axis=axis, value_range=(-8, 7), output_dtype="int8"))
        q, scale = weight_quantizer(matrix, to_numpy=True)
        scale = ops.squeeze(scale, axis=axis)
    elif axis == 0:
        q, scale, zero = quantizers.abs_max_quantize_grouped_with_zero_point(matrix, block_size=block, to_numpy=True)
    else:  # groups run along each row: quantize the transpose, as Keras 3 does
        grouped = quantizers.abs_max_quantize_grouped_with_zero_point(matrix.T, block_size=block, to_numpy=True)
        q, scale, zero = (ops.transpose(t) for t in grouped)
    packed, _, _ = quantizers.pack_int4(q, axis=-1)
    layer._build_int4(shape, config)
    getattr(layer, name).assign(packed)
    getattr(layer, f"{name}_scale").assign(scale)
    if zero is not None:
        getattr(layer, f"{name}_zero").assign(zero)


def resolve_quantization_config(value: Any, who: str) -> Any:
    """A layer's ``quantization_config`` argument: None, a config or its serialized form."""
    if value is None or isinstance(value, QuantizationConfig):
        return value
    if isinstance(value, dict):
        found = quantizers.deserialize(value)
        if isinstance(found, QuantizationConfig):
            return found
    raise ValueError(f"{who}: expected quantization_config to be a QuantizationConfig or its config, "
                     f"received {value!r}.")


def straight_through(forward: Callable[..., Any], backward: Callable[..., Any]) -> Callable[..., Any]:
    """``f(inputs, *weights)`` computing ``forward(inputs, *weights)`` whose
    gradient to ``inputs`` is ``backward(upstream, *weights)`` and to the
    (quantized) weights none: the straight-through rule Keras 3 uses.

    Example: ``straight_through(lambda x, k, s: ..., lambda g, k, s: g @ transpose(k / s))(x, kernel, scale)``
    """

    @ops.custom_gradient
    def run(inputs: Any, *weights: Any) -> Any:
        def grad(upstream: Any) -> tuple[Any, ...]:
            return (backward(upstream, *weights), *([None] * len(weights)))

        return forward(inputs, *weights), grad

    return run


# --------------------------------------------------------------- model level
def should_quantize(layer: Any, filters: Any) -> bool:
    """Whether ``filters`` (a regex, a list of regexes, or a callable on the layer) selects ``layer``."""
    if filters is None:
        return True
    if callable(filters):
        return bool(filters(layer))
    patterns = [filters] if isinstance(filters, str) else list(filters)
    return any(re.search(p, layer.name) for p in patterns)


def quantize_model(model: Any, mode: str | None = None, config: Any = None, filters: Any = None,
                   **kwargs: Any) -> None:
    """``model.quantize``: quantize every leaf layer that supports it
    (others are warned about, as Keras 3 does), after checking the model is
    built and the mode known. ``filters`` picks layers by name regex(es) or a
    callable.

    Example: ``quantize_model(model, "int8", filters=["dense"])``
    """
    type_check = kwargs.pop("type_check", True)
    if kwargs:
        raise ValueError(f"Unrecognized keyword arguments passed to {type(model).__name__}: {kwargs}")
    if filters is not None and not isinstance(filters, (str, list, tuple)) and not callable(filters):
        raise ValueError("The `filters` argument must be a regex string, a list of regex strings, or a callable. "
                         f"Received: {type(filters)}")
    resolved = validate_and_resolve_config(mode, config)
    if not model.built:
        raise ValueError(f"Cannot quantize a layer that isn't yet built. Layer '{model.name}' (of type "
                         f"'{type(model).__name__}') is not built yet.")
    if resolved.mode in ("gptq", "awq"):
        raise NotImplementedError(f"Model '{model.name}': quantize(mode={resolved.mode!r}) needs "
                                  f"{resolved.mode.upper()} calibration on a dataset, which polykeras does not "
                                  "implement; use 'int8', 'int4' or 'float8'.")
    changed = False
    for layer in model._flatten_layers():
        if not should_quantize(layer, filters) or len(layer._flatten_layers()) != 1:
            continue
        method = getattr(layer, "quantize", None)
        if method is None:
            warnings.warn(f"Layer {type(layer).__name__} does not have a `quantize` method implemented.",
                          stacklevel=2)
            continue
        try:
            method(resolved.mode, type_check=type_check, config=resolved)
            changed = True
        except NotImplementedError as err:
            warnings.warn(str(err), stacklevel=2)
    if changed and isinstance(getattr(model, "_functions", None), dict):
        model._functions.clear()  # compiled steps hold the old variables


def grouped_dequantize(q: Any, scale: Any, zero: Any, g_idx: Any, axis: int, dtype: str) -> Any:
    """``(q - zero[g]) * scale[g]`` with each position's group ``g_idx``
    taken along ``axis`` of ``scale``/``zero`` (Keras 3's sub-channel int4)."""
    groups = ops.cast(g_idx, "int32")
    scales = ops.take(ops.cast(scale, dtype), groups, axis=axis)
    zeros = ops.take(ops.cast(zero, dtype), groups, axis=axis)
    return ops.multiply(ops.subtract(ops.cast(q, dtype), zeros), scales)


def group_index(length: int, block_size: int) -> Any:
    """``[0]*block_size + [1]*block_size + ...`` of ``length`` floats (Keras 3's ``g_idx``)."""
    import numpy as np

    return (np.arange(length, dtype="float32") // block_size).astype("float32")


def n_groups(length: int, block_size: int) -> int:
    """How many groups of ``block_size`` cover ``length``."""
    return math.ceil(length / block_size)


def product(sizes: Sequence[int]) -> int:
    """The product of ``sizes`` (1 when empty)."""
    return math.prod(int(s) for s in sizes)
