"""LoRA (low-rank adaptation) of a layer's weight matrix, as Keras 3.15 has it.

``layer.enable_lora(rank)`` freezes the layer's weight (``kernel``; for
``Embedding``: ``embeddings``) and adds two trainable float32 matrices
``lora_<weight>_a`` (the weight's shape with the last axis replaced by
``rank``) and ``lora_<weight>_b`` (``(rank, last axis)``). From then on the
weight attribute reads as ``weight + (lora_alpha / lora_rank) * a @ b``
(cast to the compute dtype), so only ``a`` and ``b`` (and the bias) train.
``b`` starts at zero: enabling LoRA does not change the outputs.

Files hold what Keras 3 writes: the merged weight in place of the frozen
one and no adapter matrices; loading one assigns the frozen weight and
zeroes the adapters (see :class:`MergedLoraWeight`), so a model saved with
LoRA loads with the same outputs, with or without LoRA enabled.

Example:
    >>> layer = Dense(8); layer.build((None, 16))
    >>> layer.enable_lora(4)
    >>> [w.name for w in layer.trainable_weights]
    ['bias', 'lora_kernel_a', 'lora_kernel_b']
"""

from __future__ import annotations

from typing import Any

import numpy as np

from polykeras import initializers, ops

__all__ = ["LoraMixin", "LoraWeight", "MergedLoraWeight"]


class LoraWeight:
    """The attribute of a LoRA-capable layer's adapted weight (``kernel``,
    ``embeddings``): the variable itself, or, once LoRA is enabled, the merged
    value. The variable stays in the layer's ``__dict__`` under the same name.

    Example:
        >>> class Dense(LoraMixin, Layer):
        ...     kernel = LoraWeight()
    """

    name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, layer: Any, owner: type | None = None) -> Any:
        if layer is None:
            return self
        state = layer.__dict__
        if self.name not in state:
            raise AttributeError(f"'{type(layer).__name__}' object has no attribute '{self.name}' (the layer "
                                 "creates it when built)")
        if state.get("lora_enabled"):
            return layer._lora_merged()
        return state[self.name]

    def __set__(self, layer: Any, value: Any) -> None:
        layer.__dict__[self.name] = value

    def __delete__(self, layer: Any) -> None:
        if self.name not in layer.__dict__:
            raise AttributeError(self.name)
        del layer.__dict__[self.name]


class MergedLoraWeight:
    """What a weights file holds for a LoRA layer's frozen weight, as Keras 3
    writes it: ``numpy()`` is the merged weight; ``assign(value)`` sets the
    frozen weight and zeroes the adapter matrices. It has the frozen
    variable's ``name``, ``path``, ``shape`` and ``dtype``.

    Example: ``MergedLoraWeight(dense).numpy()`` equals ``ops.convert_to_numpy(dense.kernel)``
    """

    def __init__(self, layer: Any) -> None:
        self.layer = layer

    @property
    def variable(self) -> Any:
        return self.layer.__dict__[self.layer._lora_weight]

    @property
    def name(self) -> str:
        return str(self.variable.name)

    @property
    def path(self) -> str:
        return str(self.variable.path)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.variable.shape)

    @property
    def dtype(self) -> Any:
        return self.variable.dtype

    def numpy(self) -> np.ndarray:
        return np.asarray(ops.convert_to_numpy(ops.cast(self.layer._lora_merged(), self.variable.dtype)))

    def assign(self, value: Any) -> None:
        self.variable.assign(value)
        for variable in self.layer._lora_variables():
            variable.assign(np.zeros(tuple(variable.shape), "float32"))


def describe_layer(layer: Any) -> str:
    """``"Dense 'dense_1'"``: how errors name a layer (as ``convolutional.arguments``, which imports this)."""
    return f"{type(layer).__name__} '{getattr(layer, 'name', '?')}'"


def _check_rank(rank: Any, who: str, allow_zero: bool) -> None:
    low = 0 if allow_zero else 1
    if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) or rank < low:
        kind = "a non-negative int or None" if allow_zero else "a positive int"
        raise ValueError(f"{who}: expected lora_rank to be {kind}, received lora_rank={rank!r}.")


def _check_alpha(alpha: Any, who: str) -> None:
    if alpha is not None and (isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.number))):
        raise ValueError(f"{who}: expected lora_alpha to be a number or None, received lora_alpha={alpha!r}.")


class LoraMixin:
    """``lora_rank``/``lora_alpha`` arguments, ``enable_lora`` and the LoRA
    state of a layer with one adapted weight. A layer names the weight
    (``_lora_weight``) and its constraint argument, declares the weight as a
    :class:`LoraWeight`, and calls :meth:`_enable_lora_after_build` at the end
    of ``build``.

    Example:
        >>> Dense(4, lora_rank=2)(np.ones((1, 3), "float32"))   # built with LoRA on
    """

    #: The adapted weight's attribute (and variable) name.
    _lora_weight = "kernel"
    #: The argument whose constraint forbids LoRA (Keras 3 refuses the pair).
    _lora_constraint = "kernel_constraint"
    #: The regularizer the adapter matrices get (Keras 3: the weight's).
    _lora_regularizer = "kernel_regularizer"
    #: Whether ``build`` keeps the constructor's ``lora_alpha`` (Keras 3's
    #: ``Dense`` and ``Embedding`` reset it to ``lora_rank`` there).
    _lora_alpha_kept_at_build = True

    if False:  # attributes of the Layer this mixin is part of, for readers and type checkers
        name: str
        built: bool
        compute_dtype: str

        def add_weight(self, *args: Any, **kwargs: Any) -> Any: ...

    def __init__(self, *args: Any, lora_rank: int | None = None, lora_alpha: float | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        who = describe_layer(self)
        if lora_rank is not None:
            _check_rank(lora_rank, who, allow_zero=True)
        _check_alpha(lora_alpha, who)
        self.lora_rank = lora_rank
        self.lora_alpha = lora_alpha if lora_alpha is not None else lora_rank
        self.lora_enabled = False

    # ------------------------------------------------------------ public
    def enable_lora(self, rank: int, lora_alpha: float | None = None, a_initializer: Any = "he_uniform",
                    b_initializer: Any = "zeros") -> None:
        """Freeze the layer's weight and train a rank-``rank`` update
        ``(lora_alpha / rank) * a @ b`` instead (``lora_alpha`` defaults to
        ``rank``). The layer must be built, LoRA not enabled yet.

        Example:
            >>> layer = Dense(8); layer.build((None, 16)); layer.enable_lora(4)
            >>> layer.kernel.shape, layer.lora_kernel_a.shape, layer.lora_kernel_b.shape
            ((16, 8), (16, 4), (4, 8))
        """
        who = describe_layer(self)
        if not self.built:
            raise ValueError(f"{who}: enable_lora expected a built layer, received an unbuilt one; call the layer "
                             "on data or build() it first.")
        self._add_lora(rank, lora_alpha, a_initializer, b_initializer)

    # --------------------------------------------------------- plumbing
    def _enable_lora_after_build(self) -> None:
        """LoRA from the constructor's ``lora_rank``, at the end of ``build``."""
        if self.lora_rank:
            self._add_lora(self.lora_rank, self.lora_alpha if self._lora_alpha_kept_at_build else None,
                           "he_uniform", "zeros")

    def _add_lora(self, rank: int, lora_alpha: Any, a_initializer: Any, b_initializer: Any) -> None:
        who = describe_layer(self)
        if getattr(self, self._lora_constraint, None) is not None:
            raise ValueError(f"{who}: LoRA expected a layer without {self._lora_constraint}, received "
                             f"{self._lora_constraint}={getattr(self, self._lora_constraint)!r}; remove the "
                             "constraint to enable LoRA.")
        if self.lora_enabled:
            raise ValueError(f"{who}: LoRA is already enabled (rank {self.lora_rank}); enable_lora can be called "
                             f"once per layer, received a second call with rank={rank!r}.")
        _check_rank(rank, who, allow_zero=False)
        _check_alpha(lora_alpha, who)
        mode = getattr(self, "quantization_mode", None)
        if mode is not None:
            raise NotImplementedError(f"{who}: LoRA together with quantization is not implemented in polykeras; "
                                      f"expected a float (unquantized) layer, received quantization mode {mode!r}.")
        base = self.__dict__[self._lora_weight]
        shape = tuple(int(d) for d in base.shape)
        regularizer = getattr(self, self._lora_regularizer, None)
        a_name, b_name = self._lora_names()
        setattr(self, a_name, self.add_weight(name=a_name, shape=(*shape[:-1], int(rank)),
                                              initializer=initializers.get(a_initializer), dtype="float32",
                                              regularizer=regularizer))
        setattr(self, b_name, self.add_weight(name=b_name, shape=(int(rank), shape[-1]),
                                              initializer=initializers.get(b_initializer), dtype="float32",
                                              regularizer=regularizer))
        base.trainable = False
        self.lora_rank = int(rank)
        self.lora_alpha = lora_alpha if lora_alpha is not None else int(rank)
        self.__dict__["_lora_file_weight"] = MergedLoraWeight(self)
        self.lora_enabled = True

    def _lora_names(self) -> tuple[str, str]:
        return f"lora_{self._lora_weight}_a", f"lora_{self._lora_weight}_b"

    def _lora_variables(self) -> list[Any]:
        return [self.__dict__[name] for name in self._lora_names()]

    def _lora_merged(self) -> Any:
        """``weight + (lora_alpha / lora_rank) * a @ b`` in the compute dtype (Keras 3's formula)."""
        base = self.__dict__[self._lora_weight]
        a, b = self._lora_variables()
        scale = float(self.lora_alpha or 0) / float(self.lora_rank or 1)  # both set by enable_lora
        delta = ops.multiply(ops.matmul(a, b), scale)
        return ops.cast(ops.add(base, delta), self.compute_dtype)

    def _lora_config(self) -> dict[str, Any]:
        """The config entries Keras 3 adds: present when ``lora_rank`` is set."""
        if not self.lora_rank:
            return {}
        return {"lora_rank": self.lora_rank, "lora_alpha": self.lora_alpha}

    def _file_weights(self, variables: list[Any]) -> list[Any]:
        """``variables`` as files hold them (Keras 3's ``save_own_variables``):
        with LoRA on, the merged weight in place of the frozen one and no
        adapter matrices (see :func:`polykeras.layers.layer.variable_weights`)."""
        if not self.lora_enabled:
            return variables
        base = self.__dict__[self._lora_weight]
        adapters = {id(v) for v in self._lora_variables()}
        merged = self.__dict__["_lora_file_weight"]
        return [merged if v is base else v for v in variables if id(v) not in adapters]
