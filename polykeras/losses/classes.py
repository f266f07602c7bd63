"""Loss classes: a per-sample function from :mod:`.functions` plus a
reduction, Keras 3 names, arguments and defaults.

Example:
    >>> from polykeras import losses
    >>> losses.MeanSquaredError()([[0.0, 1.0]], [[1.0, 1.0]])          # 0.5
    >>> losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)
"""

from __future__ import annotations

from typing import Any

from polykeras import ops
from polykeras.losses import functions as F
from polykeras.losses import functions_extra as G
from polykeras.losses.loss import Loss, LossFunctionWrapper, Tensor


class _Wrapped(LossFunctionWrapper):
    """A built-in loss: its config holds its own arguments, not ``fn``."""

    #: The constructor arguments beyond name/reduction/dtype, in config order.
    _ARGS: tuple[str, ...] = ()

    def get_config(self) -> dict[str, Any]:
        config = Loss.get_config(self)
        return {**config, **{arg: getattr(self, arg) for arg in self._ARGS}}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> _Wrapped:
        return cls(**config)

    __repr__ = Loss.__repr__


class MeanSquaredError(_Wrapped):
    """Mean of the squared errors: ``mean(square(y_true - y_pred), axis=-1)``.

    Example: ``MeanSquaredError()([[0., 1.]], [[1., 1.]])`` -> 0.5
    """

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "mean_squared_error",
                 dtype: str | None = None):
        super().__init__(F.mean_squared_error, reduction=reduction, name=name, dtype=dtype)


class MeanAbsoluteError(_Wrapped):
    """Mean of the absolute errors: ``mean(abs(y_true - y_pred), axis=-1)``.

    Example: ``MeanAbsoluteError()([[0., 1.]], [[1., 1.]])`` -> 0.5
    """

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "mean_absolute_error",
                 dtype: str | None = None):
        super().__init__(F.mean_absolute_error, reduction=reduction, name=name, dtype=dtype)


class MeanAbsolutePercentageError(_Wrapped):
    """``100 * mean(abs((y_true - y_pred) / y_true), axis=-1)``.

    Example: ``MeanAbsolutePercentageError()([[2., 4.]], [[1., 4.]])`` -> 25.0
    """

    def __init__(self, reduction: str | None = "sum_over_batch_size",
                 name: str = "mean_absolute_percentage_error", dtype: str | None = None):
        super().__init__(F.mean_absolute_percentage_error, reduction=reduction, name=name, dtype=dtype)


class MeanSquaredLogarithmicError(_Wrapped):
    """``mean(square(log(y_true + 1) - log(y_pred + 1)), axis=-1)``.

    Example: ``MeanSquaredLogarithmicError()([[1., 3.]], [[1., 1.]])``
    """

    def __init__(self, reduction: str | None = "sum_over_batch_size",
                 name: str = "mean_squared_logarithmic_error", dtype: str | None = None):
        super().__init__(F.mean_squared_logarithmic_error, reduction=reduction, name=name, dtype=dtype)


class CosineSimilarity(_Wrapped):
    """Negative cosine similarity along ``axis`` (-1 for aligned vectors).

    Example: ``CosineSimilarity(axis=-1)([[1., 0.]], [[2., 0.]])`` -> -1.0
    """

    _ARGS = ("axis",)

    def __init__(self, axis: int = -1, reduction: str | None = "sum_over_batch_size",
                 name: str = "cosine_similarity", dtype: str | None = None):
        super().__init__(F.cosine_similarity, reduction=reduction, name=name, dtype=dtype, axis=axis)
        self.axis = axis


class Huber(_Wrapped):
    """Huber loss: quadratic up to ``delta``, linear beyond.

    Example: ``Huber(delta=1.0)([[0., 0.]], [[0.5, 3.]])`` -> 1.3125
    """

    _ARGS = ("delta",)

    def __init__(self, delta: float = 1.0, reduction: str | None = "sum_over_batch_size",
                 name: str = "huber_loss", dtype: str | None = None):
        super().__init__(F.huber, reduction=reduction, name=name, dtype=dtype, delta=delta)
        self.delta = delta


class LogCosh(_Wrapped):
    """``mean(log(cosh(y_pred - y_true)), axis=-1)``.

    Example: ``LogCosh()([[0.]], [[1.]])`` -> 0.4338
    """

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "log_cosh",
                 dtype: str | None = None):
        super().__init__(F.log_cosh, reduction=reduction, name=name, dtype=dtype)


class Hinge(_Wrapped):
    """``mean(maximum(1 - y_true * y_pred, 0), axis=-1)``, labels in {-1, 1}
    (or {0, 1}, converted).

    Example: ``Hinge()([[1., -1.]], [[0.5, 0.5]])`` -> 1.0
    """

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "hinge",
                 dtype: str | None = None):
        super().__init__(F.hinge, reduction=reduction, name=name, dtype=dtype)


class SquaredHinge(_Wrapped):
    """``mean(square(maximum(1 - y_true * y_pred, 0)), axis=-1)``.

    Example: ``SquaredHinge()([[1., -1.]], [[0.5, 0.5]])`` -> 1.25
    """

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "squared_hinge",
                 dtype: str | None = None):
        super().__init__(F.squared_hinge, reduction=reduction, name=name, dtype=dtype)


class CategoricalHinge(_Wrapped):
    """``maximum(neg - pos + 1, 0)`` over one-hot targets.

    Example: ``CategoricalHinge()([[0., 1.]], [[0.3, 0.7]])`` -> 0.6
    """

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "categorical_hinge",
                 dtype: str | None = None):
        super().__init__(F.categorical_hinge, reduction=reduction, name=name, dtype=dtype)


class KLDivergence(_Wrapped):
    """Kullback-Leibler divergence ``sum(y_true * log(y_true / y_pred), axis=-1)``.

    Example: ``KLDivergence()([[0.5, 0.5]], [[0.9, 0.1]])``
    """

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "kl_divergence",
                 dtype: str | None = None):
        super().__init__(F.kl_divergence, reduction=reduction, name=name, dtype=dtype)


class Poisson(_Wrapped):
    """``mean(y_pred - y_true * log(y_pred), axis=-1)``.

    Example: ``Poisson()([[1., 0.]], [[1., 1.]])`` -> 1.0
    """

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "poisson",
                 dtype: str | None = None):
        super().__init__(F.poisson, reduction=reduction, name=name, dtype=dtype)


class BinaryCrossentropy(_Wrapped):
    """Binary cross-entropy for 0/1 targets and probabilities (or logits with
    ``from_logits=True``), averaged over ``axis``.

    Example: ``BinaryCrossentropy(from_logits=True, label_smoothing=0.1)(y, logits)``
    """

    _ARGS = ("from_logits", "label_smoothing", "axis")

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str | None = "sum_over_batch_size", name: str = "binary_crossentropy",
                 dtype: str | None = None):
        super().__init__(F.binary_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis


class BinaryFocalCrossentropy(_Wrapped):
    """Binary cross-entropy down-weighting easy examples by ``(1 - p_t) ** gamma``.

    Example: ``BinaryFocalCrossentropy(gamma=2.0, apply_class_balancing=True)(y, p)``
    """

    _ARGS = ("apply_class_balancing", "alpha", "gamma", "from_logits", "label_smoothing", "axis")

    def __init__(self, apply_class_balancing: bool = False, alpha: float = 0.25, gamma: float = 2.0,
                 from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str | None = "sum_over_batch_size", name: str = "binary_focal_crossentropy",
                 dtype: str | None = None):
        super().__init__(F.binary_focal_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         apply_class_balancing=apply_class_balancing, alpha=alpha, gamma=gamma,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.apply_class_balancing = apply_class_balancing
        self.alpha = alpha
        self.gamma = gamma
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis


class CategoricalCrossentropy(_Wrapped):
    """Cross-entropy of one-hot targets against probabilities (or logits).

    Example: ``CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)(one_hot, logits)``
    """

    _ARGS = ("from_logits", "label_smoothing", "axis")

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str | None = "sum_over_batch_size", name: str = "categorical_crossentropy",
                 dtype: str | None = None):
        super().__init__(F.categorical_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis


class CategoricalFocalCrossentropy(_Wrapped):
    """Categorical cross-entropy with the focal factor ``alpha * (1 - p) ** gamma``.

    Example: ``CategoricalFocalCrossentropy(gamma=2.0)(one_hot, probabilities)``
    """

    _ARGS = ("alpha", "gamma", "from_logits", "label_smoothing", "axis")

    def __init__(self, alpha: float = 0.25, gamma: float = 2.0, from_logits: bool = False,
                 label_smoothing: float = 0.0, axis: int = -1, reduction: str | None = "sum_over_batch_size",
                 name: str = "categorical_focal_crossentropy", dtype: str | None = None):
        super().__init__(F.categorical_focal_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         alpha=alpha, gamma=gamma, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.alpha = alpha
        self.gamma = gamma
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis


class SparseCategoricalCrossentropy(_Wrapped):
    """Cross-entropy against integer class ids. Entries labelled
    ``ignore_class`` are masked out: they add nothing and are not counted by
    the ``"sum_over_batch_size"`` mean.

    Example: ``SparseCategoricalCrossentropy(from_logits=True, ignore_class=255)(labels, logits)``
    """

    _ARGS = ("from_logits", "ignore_class", "axis")

    def __init__(self, from_logits: bool = False, ignore_class: int | None = None,
                 reduction: str | None = "sum_over_batch_size", axis: int = -1,
                 name: str = "sparse_categorical_crossentropy", dtype: str | None = None):
        super().__init__(F.sparse_categorical_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, ignore_class=ignore_class, axis=axis)
        self.from_logits = from_logits
        self.ignore_class = ignore_class
        self.axis = axis

    def compute_mask(self, y_true: Tensor, y_pred: Tensor) -> Tensor | None:
        if self.ignore_class is None:
            return None
        shape, pred_rank = tuple(ops.shape(y_true)), len(ops.shape(y_pred))
        if len(shape) == pred_rank and shape[self.axis] == 1:
            y_true = ops.squeeze(y_true, axis=self.axis)
        return ops.not_equal(y_true, self.ignore_class)


class Dice(_Wrapped):
    """Dice loss ``1 - 2 * sum(y_true * y_pred) / (sum(y_true) + sum(y_pred))``
    over ``axis`` (every axis when None), for segmentation masks.

    Example: ``Dice(axis=(1, 2))(masks, probabilities)``
    """

    _ARGS = ("axis",)

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "dice",
                 axis: int | tuple[int, ...] | None = None, dtype: str | None = None):
        axis = tuple(axis) if isinstance(axis, list) else axis  # a JSON config gives a list
        super().__init__(G.dice, reduction=reduction, name=name, dtype=dtype, axis=axis)
        self.axis = axis


class Tversky(_Wrapped):
    """Tversky loss: Dice with the misses weighted by ``alpha`` and the false
    alarms by ``beta`` (``alpha = beta = 0.5`` is Dice).

    Example: ``Tversky(alpha=0.7, beta=0.3)(masks, probabilities)``
    """

    _ARGS = ("alpha", "beta", "axis")

    def __init__(self, alpha: float = 0.5, beta: float = 0.5, reduction: str | None = "sum_over_batch_size",
                 name: str = "tversky", axis: int | tuple[int, ...] | None = None, dtype: str | None = None):
        axis = tuple(axis) if isinstance(axis, list) else axis  # a JSON config gives a list
        super().__init__(G.tversky, reduction=reduction, name=name, dtype=dtype, alpha=alpha, beta=beta, axis=axis)
        self.alpha = alpha
        self.beta = beta
        self.axis = axis


class Circle(_Wrapped):
    """Circle loss for metric learning: integer labels ``(batch,)`` against
    L2-normalised embeddings ``(batch, dim)``; pairs of one label are pulled
    together, others pushed apart. The mean is over the samples whose loss is
    above 0, as in Keras 3.

    Example: ``Circle(gamma=80.0, margin=0.4)(labels, ops.normalize(embeddings))``
    """

    _ARGS = ("gamma", "margin", "remove_diagonal")

    def __init__(self, gamma: float = 80.0, margin: float = 0.4, remove_diagonal: bool = True,
                 reduction: str | None = "sum_over_batch_size", name: str = "circle", dtype: str | None = None):
        for arg, value in (("gamma", gamma), ("margin", margin)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"Circle: expected a float {arg}, received {arg}={value!r}.")
        super().__init__(G.circle, reduction=reduction, name=name, dtype=dtype, gamma=gamma, margin=margin,
                         remove_diagonal=remove_diagonal)
        self.gamma = gamma
        self.margin = margin
        self.remove_diagonal = remove_diagonal


class CategoricalGeneralizedCrossEntropy(_Wrapped):
    """Generalized cross-entropy ``(1 - p ** q) / q`` of integer class ids
    against probabilities, robust to noisy labels; ``q`` in ``(0, 1)``.

    Example: ``CategoricalGeneralizedCrossEntropy(q=0.7)(ids, probabilities)``
    """

    _ARGS = ("q",)

    def __init__(self, q: float = 0.5, reduction: str | None = "sum_over_batch_size",
                 name: str = "categorical_generalized_cross_entropy", dtype: str | None = None):
        if isinstance(q, bool) or not isinstance(q, (int, float)) or not 0 < q < 1:
            raise ValueError(f"CategoricalGeneralizedCrossEntropy: expected q in (0, 1), received q={q!r}.")
        super().__init__(G.categorical_generalized_cross_entropy, reduction=reduction, name=name, dtype=dtype, q=q)
        self.q = q


class CTC(_Wrapped):
    """Connectionist temporal classification loss: labels ``(batch, max_length)``
    padded with 0 (the blank) against logits ``(batch, steps, classes)``.

    Example: ``CTC()(labels, logits)``
    """

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "ctc", dtype: str | None = None):
        super().__init__(G.ctc, reduction=reduction, name=name, dtype=dtype)


#: Every built-in loss class, in the order of the Keras docs.
LOSS_CLASSES = (
    MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError,
    CosineSimilarity, Huber, LogCosh, Hinge, SquaredHinge, CategoricalHinge, KLDivergence, Poisson,
    BinaryCrossentropy, BinaryFocalCrossentropy, CategoricalCrossentropy, CategoricalFocalCrossentropy,
    SparseCategoricalCrossentropy, Dice, Tversky, Circle, CategoricalGeneralizedCrossEntropy, CTC,
)
