"""Reduction metrics: ``Sum``, ``Mean`` and ``MeanMetricWrapper``, the base of
every per-sample metric (accuracies, regression errors, cross-entropies)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from polykeras import ops
from polykeras.layers.masking import get_mask
from polykeras.losses.loss import LossInputError, squeeze_or_expand_to_same_rank
from polykeras.metrics.metric import Metric, Tensor, to_float, value_of


def _samplewise(values: Any, sample_weight: Any, reduce: Callable[..., Tensor], dtype: str,
                owner: str) -> tuple[Tensor, Tensor | float | None]:
    """Per-sample values (non-batch axes reduced with ``reduce``) times their
    weights, and the per-sample weights, the way Keras 3 folds them. A
    Python number weighs the values reduced to one (the trainer's loss
    tracker weighs each batch's loss by its rows this way), and stays one."""
    values = to_float(values, dtype)
    if isinstance(sample_weight, (int, float)) and not isinstance(sample_weight, bool):
        rank = len(ops.shape(values))
        if rank:
            values = reduce(values, axis=tuple(range(rank)))
        return ops.multiply(values, float(sample_weight)), float(sample_weight)
    weight = None
    if sample_weight is not None:
        weight = to_float(sample_weight, dtype)
        values, weight = squeeze_or_expand_to_same_rank(values, weight)
        w_rank, v_rank = len(ops.shape(weight)), len(ops.shape(values))
        if w_rank > v_rank:
            raise ValueError(
                f"{owner}: expected sample_weight of rank at most {v_rank} (values' shape "
                f"{tuple(ops.shape(values))}), received sample_weight.shape={tuple(ops.shape(weight))}."
            )
        if v_rank > w_rank:
            values = reduce(values, axis=tuple(range(w_rank, v_rank)))
        try:
            weight = ops.broadcast_to(weight, ops.shape(values))
        except ValueError as err:
            raise ValueError(
                f"{owner}: expected sample_weight that broadcasts to the values' shape "
                f"{tuple(ops.shape(values))}, received sample_weight.shape={tuple(ops.shape(weight))}."
            ) from err
        values = ops.multiply(values, weight)
        if w_rank > 1:
            weight = reduce(weight, axis=tuple(range(1, w_rank)))
    rank = len(ops.shape(values))
    if rank > 1:
        values = reduce(values, axis=tuple(range(1, rank)))
    return values, weight


class Sum(Metric):
    """The (weighted) sum of all values seen.

    Example:
        >>> m = Sum()
        >>> m.update_state([1.0, 3.0, 5.0, 7.0], sample_weight=[1, 1, 0, 0])
        >>> m.result()     # 4.0
    """

    def __init__(self, name: str = "sum", dtype: str | None = None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), "zeros", name="total")

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        values, _ = _samplewise(values, sample_weight, ops.sum, self.dtype, type(self).__name__)
        self.total.assign(ops.add(self.total.value, ops.sum(values)))

    def result(self) -> Tensor:
        return ops.add(self.total.value, 0.0)


class Mean(Metric):
    """The (weighted) mean of all values seen: ``total / count``, where
    ``count`` adds the batch size (or the sum of the sample weights).

    Example:
        >>> m = Mean()
        >>> m.update_state([1.0, 3.0, 5.0, 7.0], sample_weight=[1, 1, 0, 0])
        >>> m.result()     # 2.0
    """

    def __init__(self, name: str = "mean", dtype: str | None = None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), "zeros", name="total")
        self.count = self.add_variable((), "zeros", name="count")

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        values, weight = _samplewise(values, sample_weight, ops.mean, self.dtype, type(self).__name__)
        shape = ops.shape(values)
        self.total.assign(ops.add(self.total.value, ops.sum(values) if len(shape) else values))
        count: Tensor | float
        if isinstance(weight, float):
            count = weight
        elif weight is not None:
            count = ops.sum(weight)
        elif len(shape) and isinstance(shape[0], int):  # not unknown while tracing
            count = float(shape[0])
        else:  # a scalar, or a batch axis unknown while tracing
            count = ops.sum(ops.ones_like(values))
        self.count.assign(ops.add(self.count.value, count))

    def result(self) -> Tensor:
        return ops.divide_no_nan(self.total.value, self.count.value)


class MeanMetricWrapper(Mean):
    """The running mean of a per-sample function ``fn(y_true, y_pred, **kwargs)``.
    The mask a layer attached to ``y_pred`` (``layers.get_mask``) weighs entries.

    Example:
        >>> from polykeras import losses
        >>> m = MeanMetricWrapper(losses.huber, name="huber", delta=0.5)
        >>> m.update_state(y_true, y_pred)
    """

    def __init__(self, fn: Callable[..., Tensor], name: str | None = None, dtype: str | None = None, **kwargs: Any):
        if not callable(fn):
            raise TypeError(f"MeanMetricWrapper: expected a callable fn(y_true, y_pred), received {fn!r}.")
        super().__init__(name=name or getattr(fn, "__name__", None) or "mean_metric_wrapper", dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    # Keras 3's signature: (y_true, y_pred) where Mean takes values.
    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:  # type: ignore[override]
        mask = get_mask(y_pred)
        try:
            values = self._fn(value_of(y_true), value_of(y_pred), **self._fn_kwargs)
        except LossInputError as err:
            detail = str(err).split(": ", 1)[-1]
            raise LossInputError(f"{type(self).__name__} (name={self.name!r}): {detail}") from None
        if mask is not None:
            mask = to_float(mask, self.dtype)
            sample_weight = mask if sample_weight is None else ops.multiply(to_float(sample_weight, self.dtype), mask)
        super().update_state(values, sample_weight=sample_weight)

    def get_config(self) -> dict[str, Any]:
        from polykeras.registry import serialize

        config = super().get_config()
        if type(self) is MeanMetricWrapper:
            config["fn"] = serialize(self._fn, where=f"MeanMetricWrapper {self.name!r} fn")
        return {**config, **self._fn_kwargs}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Metric:
        config = dict(config)
        fn = config.get("fn")
        if isinstance(fn, (str, dict)):
            from polykeras.metrics import FUNCTIONS, deserialize

            # A function name first: "binary_accuracy" also names a class.
            config["fn"] = FUNCTIONS[fn] if isinstance(fn, str) and fn in FUNCTIONS else deserialize(fn)
        return cls(**config)
