"""The ``Loss`` base class, reductions, sample weights and masks.

A loss object turns per-sample values (``call``) into the number a trainer
minimises (``__call__``):

1. ``y_true`` and ``y_pred`` become tensors of the loss's ``dtype``
   (float32 by default);
2. ``call(y_true, y_pred)`` gives the per-sample loss (the last axis reduced);
3. ``sample_weight`` and masks multiply it, broadcast from the batch axis on
   (a ``(batch,)`` weight weighs every timestep of a ``(batch, steps)`` loss);
4. the reduction sums or averages it.

Masks come from four places, combined with AND: the ``mask=`` argument of
``__call__``, the mask a layer attached to ``y_pred`` (``layers.get_mask``, the
side table every engine's tensors use), the mask ``call`` attached to the
per-sample loss it returns (``circle`` marks its positive entries, as Keras 3
does), and ``compute_mask`` of the loss itself
(``SparseCategoricalCrossentropy(ignore_class=...)``). A masked-out
entry weighs 0 and, for ``"sum_over_batch_size"``/``"mean"``, is left out of
the count as well, so the result is the mean over the valid entries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from polykeras import ops
from polykeras.layers.masking import get_mask

Tensor = Any

#: The default fuzz factor; losses and metrics read the current one from
#: ``polykeras.config.epsilon()`` (``set_epsilon`` changes it).
EPSILON = 1e-7

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


class LossInputError(ValueError):
    """A loss refused its inputs; the message names the loss, what it expected
    and what it received."""


def standardize_reduction(reduction: str | None, owner: str = "Loss") -> str | None:
    """``reduction`` checked against :data:`REDUCTIONS`.

    Example: ``standardize_reduction("sum")`` -> ``'sum'``
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"{owner}: expected reduction in {list(REDUCTIONS)}, received reduction={reduction!r}.")
    return reduction


def as_tensor(x: Any, dtype: str | None = None) -> Tensor:
    """``x`` as a tensor of the active engine, cast to ``dtype`` when given.

    Example: ``as_tensor([1, 2], "float32")``
    """
    if not ops.is_tensor(x):
        x = ops.convert_to_tensor(getattr(x, "value", x))
    if dtype is not None and ops.dtype(x) != dtype:
        x = ops.cast(x, dtype)
    return x


def same_shape(a: tuple, b: tuple) -> bool:
    """Shapes equal, with a size unknown while tracing (``None``, or the
    scalar tensor ``ops.shape`` gives then) matching anything.

    Example: ``same_shape((None, 3), (8, 3))`` -> True
    """
    return len(a) == len(b) and all(not known(x) or not known(y) or x == y for x, y in zip(a, b))


def known(size: Any) -> bool:
    """True for a size known before running: an int, not ``None`` or a tensor.

    Example: ``known(3)`` -> True; ``known(None)`` -> False
    """
    return isinstance(size, (int, np.integer))


def squeeze_or_expand_to_same_rank(x1: Tensor, x2: Tensor, expand_rank_1: bool = True) -> tuple[Tensor, Tensor]:
    """Make the ranks equal where they differ by a trailing axis of size 1:
    ``(batch,)`` against ``(batch, 1)`` gives two ``(batch, 1)`` tensors when
    ``expand_rank_1``, else the longer one loses its last axis.

    Example: ``squeeze_or_expand_to_same_rank(ops.ones((4,)), ops.ones((4, 1)))``
    """
    s1, s2 = tuple(ops.shape(x1)), tuple(ops.shape(x2))
    if len(s1) == len(s2) + 1 and s1[-1] == 1:
        if len(s2) == 1 and expand_rank_1:
            x2 = ops.expand_dims(x2, -1)
        else:
            x1 = ops.squeeze(x1, axis=-1)
    elif len(s2) == len(s1) + 1 and s2[-1] == 1:
        if len(s1) == 1 and expand_rank_1:
            x1 = ops.expand_dims(x1, -1)
        else:
            x2 = ops.squeeze(x2, axis=-1)
    return x1, x2


def align_same_shape(name: str, y_true: Tensor, y_pred: Tensor) -> tuple[Tensor, Tensor]:
    """``y_true`` and ``y_pred`` brought to one shape (a trailing axis of size 1
    may be added or dropped), else a :class:`LossInputError` naming ``name``
    and both shapes.

    Example: ``align_same_shape("mean_squared_error", y_true, y_pred)``
    """
    received = (tuple(ops.shape(y_true)), tuple(ops.shape(y_pred)))
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    if not same_shape(tuple(ops.shape(y_true)), tuple(ops.shape(y_pred))):
        raise LossInputError(
            f"{name}: expected y_true and y_pred of the same shape (a trailing axis of size 1 may differ), "
            f"received y_true.shape={received[0]} and y_pred.shape={received[1]}."
        )
    return y_true, y_pred



def broadcast_weights(owner: str, what: str, weights: Tensor, values: Tensor) -> Tensor:
    """``weights`` shaped to broadcast against ``values`` from the leading
    (batch) axis: trailing axes of size 1 are dropped, missing trailing axes
    added. Raises :class:`LossInputError` when that cannot work.

    Example: ``broadcast_weights("Mean", "sample_weight", w, values)``
    """
    w_shape, v_shape = tuple(ops.shape(weights)), tuple(ops.shape(values))
    while len(w_shape) > len(v_shape) and w_shape[-1] == 1:
        weights = ops.squeeze(weights, axis=-1)
        w_shape = w_shape[:-1]
    fits = len(w_shape) <= len(v_shape) and all(
        not known(w) or not known(v) or w in (1, v) for w, v in zip(w_shape, v_shape)
    )
    if not fits:
        raise LossInputError(
            f"{owner}: expected {what} of a shape that broadcasts from the batch axis to the per-sample "
            f"values' shape {v_shape} (such as {v_shape[:1]}), received {what}.shape={w_shape}."
        )
    for _ in range(len(v_shape) - len(w_shape)):
        weights = ops.expand_dims(weights, -1)
    return weights


def _count(values: Tensor) -> Tensor | float:
    """The number of entries of ``values``: a Python number when the shape is
    known, counted when an axis is unknown (a traced batch axis)."""
    shape = tuple(ops.shape(values))
    if not all(known(dim) for dim in shape):
        return ops.sum(ops.ones_like(values))
    count = 1
    for dim in shape:
        count *= int(dim)
    return float(count)


def reduce_weighted_values(
    values: Tensor,
    sample_weight: Tensor | None = None,
    mask: Tensor | None = None,
    reduction: str | None = "sum_over_batch_size",
    dtype: str = "float32",
    owner: str = "Loss",
) -> Tensor:
    """Weight, mask and reduce per-sample values (see the module docstring).

    Example: ``reduce_weighted_values(ops.ones((4,)), reduction="sum")`` -> 4.0
    """
    reduction = standardize_reduction(reduction, owner)
    values = as_tensor(values, dtype)
    weight = None
    if sample_weight is not None:
        weight = broadcast_weights(owner, "sample_weight", as_tensor(sample_weight, dtype), values)
    valid = None
    if mask is not None:
        mask = broadcast_weights(owner, "mask", as_tensor(mask, dtype), values)
        weight = mask if weight is None else ops.multiply(weight, mask)
        valid = ops.sum(ops.multiply(mask, ops.ones_like(values)))
    if weight is not None:
        values = ops.multiply(values, weight)
    if reduction in (None, "none") or len(ops.shape(values)) == 0:
        return values
    total = ops.sum(values)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and weight is not None:
        return ops.divide_no_nan(total, ops.sum(ops.multiply(weight, ops.ones_like(values))))
    count = valid if valid is not None else _count(values)
    if isinstance(count, float) and count:  # known and not empty: a plain division
        return ops.divide(total, count)
    return ops.divide_no_nan(total, as_tensor(count, dtype))


class Loss:
    """Base class of losses: subclass it and write ``call(y_true, y_pred)``
    returning the per-sample loss.

    Args:
        name: Name of the loss (defaults to the snake-case class name).
        reduction: ``"sum_over_batch_size"`` (default; sum divided by the
            number of loss entries), ``"mean"`` (the same), ``"sum"``,
            ``"mean_with_sample_weight"`` (sum divided by the sum of the
            weights) or ``None``/``"none"`` (per-sample values).
        dtype: dtype of the computation, ``"float32"`` by default.

    Example:
        >>> class Cubic(Loss):
        ...     def call(self, y_true, y_pred):
        ...         return ops.mean(ops.abs(ops.subtract(y_pred, y_true)) ** 3, axis=-1)
        >>> Cubic()([[0.0, 2.0]], [[1.0, 0.0]])   # (1 + 8) / 2 = 4.5
    """

    def __init__(
        self, name: str | None = None, reduction: str | None = "sum_over_batch_size", dtype: str | None = None
    ):
        self.name = name or snake_case(type(self).__name__)
        self.reduction = standardize_reduction(reduction, type(self).__name__)
        self.dtype = dtype or "float32"

    def __call__(
        self, y_true: Any, y_pred: Any, sample_weight: Any = None, *, mask: Any = None
    ) -> Tensor:
        """The reduced loss. ``mask`` (bool, shaped like the per-sample loss or
        broadcasting from the batch axis) leaves entries out."""
        masks = [m for m in (mask, get_mask(y_pred)) if m is not None]
        y_pred = as_tensor(y_pred, self.dtype)
        y_true = as_tensor(y_true, self.dtype)
        values = self.call(y_true, y_pred)
        masks += [m for m in (get_mask(values), self.compute_mask(y_true, y_pred)) if m is not None]
        merged = None
        for m in masks:
            m = ops.cast(as_tensor(m), "bool")
            merged = m if merged is None else ops.logical_and(merged, m)
        return reduce_weighted_values(
            values, sample_weight, merged, self.reduction, self.dtype, owner=type(self).__name__
        )

    def call(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        """The per-sample loss; subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__}: subclasses of Loss must implement call(y_true, y_pred).")

    def compute_mask(self, y_true: Tensor, y_pred: Tensor) -> Tensor | None:
        """A bool mask over the per-sample loss, or None (the default)."""
        return None

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, as JSON-safe data."""
        config: dict[str, Any] = {"name": self.name, "reduction": self.reduction}
        if self.dtype != "float32":
            config["dtype"] = self.dtype
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Loss:
        """A loss from :meth:`get_config`'s output."""
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} reduction={self.reduction!r}>"


class LossFunctionWrapper(Loss):
    """A :class:`Loss` from a per-sample function ``fn(y_true, y_pred, **kwargs)``.

    Example:
        >>> from polykeras.losses import mean_squared_error
        >>> loss = LossFunctionWrapper(mean_squared_error, reduction="sum")
    """

    def __init__(
        self, fn: Callable[..., Tensor], reduction: str | None = "sum_over_batch_size",
        name: str | None = None, dtype: str | None = None, **kwargs: Any,
    ):
        if not callable(fn):
            raise TypeError(f"LossFunctionWrapper: expected a callable fn(y_true, y_pred), received {fn!r}.")
        super().__init__(name=name or getattr(fn, "__name__", None), reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        try:
            return self.fn(y_true, y_pred, **self._fn_kwargs)
        except LossInputError as err:
            detail = str(err).split(": ", 1)[-1]
            raise LossInputError(f"{type(self).__name__} (name={self.name!r}): {detail}") from None

    def get_config(self) -> dict[str, Any]:
        from polykeras.registry import serialize

        config = super().get_config()
        if type(self) is LossFunctionWrapper:
            config["fn"] = serialize(self.fn, where=f"LossFunctionWrapper {self.name!r} fn")
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Loss:
        config = dict(config)
        if "fn" in config and isinstance(config["fn"], (str, dict)):
            from polykeras.losses import deserialize

            config["fn"] = deserialize(config["fn"])
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} fn={getattr(self.fn, '__name__', self.fn)} kwargs={self._fn_kwargs}>"


def snake_case(name: str) -> str:
    """``"MeanSquaredError"`` -> ``"mean_squared_error"``; ``"AUC"`` -> ``"auc"``.

    Example: ``snake_case("KLDivergence")`` -> ``'kl_divergence'``
    """
    out = []
    for i, char in enumerate(name):
        if char.isupper() and i and (not name[i - 1].isupper() or (i + 1 < len(name) and name[i + 1].islower())):
            out.append("_")
        out.append(char.lower())
    return "".join(out)
