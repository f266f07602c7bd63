"""Per-sample loss functions, Keras 3 names and formulas.

Each takes ``y_true`` and ``y_pred`` (tensors or array-likes) and returns the
loss with the last axis (the class or feature axis) reduced, so
``(batch, d)`` inputs give a ``(batch,)`` loss. ``y_true`` is cast to
``y_pred``'s floating dtype. Shapes must match (a trailing axis of size 1 may
differ); otherwise a :class:`~polykeras.losses.loss.LossInputError` names the
function and both shapes.
"""

from __future__ import annotations

import math
from typing import Any

from polykeras import ops
from polykeras.losses.loss import LossInputError, align_same_shape, as_tensor, same_shape
from polykeras.config import epsilon

Tensor = Any

_FLOATS = ("float16", "bfloat16", "float32", "float64")


def _pred(y_pred: Any) -> Tensor:
    y_pred = as_tensor(y_pred)
    if ops.dtype(y_pred) not in _FLOATS:
        y_pred = ops.cast(y_pred, "float32")
    return y_pred


def _pair(name: str, y_true: Any, y_pred: Any) -> tuple[Tensor, Tensor]:
    y_pred = _pred(y_pred)
    y_true = as_tensor(y_true, ops.dtype(y_pred))
    return align_same_shape(name, y_true, y_pred)


def _check_axis(name: str, axis: Any, rank: int) -> int:
    if isinstance(axis, bool) or not isinstance(axis, int) or not -rank <= axis < max(rank, 1):
        raise LossInputError(f"{name}: expected an int axis within rank {rank}, received axis={axis!r}.")
    return axis % rank if rank else 0


# ------------------------------------------------------------------ regression
def mean_squared_error(y_true: Any, y_pred: Any) -> Tensor:
    """``mean(square(y_true - y_pred), axis=-1)``.

    Example: ``mean_squared_error([[0., 1.]], [[1., 1.]])`` -> ``[0.5]``
    """
    y_true, y_pred = _pair("mean_squared_error", y_true, y_pred)
    return ops.mean(ops.square(ops.subtract(y_true, y_pred)), axis=-1)


def mean_absolute_error(y_true: Any, y_pred: Any) -> Tensor:
    """``mean(abs(y_true - y_pred), axis=-1)``.

    Example: ``mean_absolute_error([[0., 1.]], [[1., 1.]])`` -> ``[0.5]``
    """
    y_true, y_pred = _pair("mean_absolute_error", y_true, y_pred)
    return ops.mean(ops.abs(ops.subtract(y_true, y_pred)), axis=-1)


def mean_absolute_percentage_error(y_true: Any, y_pred: Any) -> Tensor:
    """``100 * mean(abs((y_true - y_pred) / max(abs(y_true), 1e-7)), axis=-1)``.

    Example: ``mean_absolute_percentage_error([[2., 4.]], [[1., 4.]])`` -> ``[25.]``
    """
    y_true, y_pred = _pair("mean_absolute_percentage_error", y_true, y_pred)
    scale = ops.maximum(ops.abs(y_true), epsilon())
    return ops.multiply(ops.mean(ops.abs(ops.divide(ops.subtract(y_true, y_pred), scale)), axis=-1), 100.0)


def mean_squared_logarithmic_error(y_true: Any, y_pred: Any) -> Tensor:
    """``mean(square(log(y_pred + 1) - log(y_true + 1)), axis=-1)``, values
    below 1e-7 raised to 1e-7.

    Example: ``mean_squared_logarithmic_error([[1., 3.]], [[1., 1.]])``
    """
    y_true, y_pred = _pair("mean_squared_logarithmic_error", y_true, y_pred)
    first = ops.log(ops.add(ops.maximum(y_pred, epsilon()), 1.0))
    second = ops.log(ops.add(ops.maximum(y_true, epsilon()), 1.0))
    return ops.mean(ops.square(ops.subtract(first, second)), axis=-1)


def huber(y_true: Any, y_pred: Any, delta: float = 1.0) -> Tensor:
    """Quadratic for errors up to ``delta``, linear beyond:
    ``0.5 * e**2`` if ``|e| <= delta`` else ``delta * |e| - 0.5 * delta**2``,
    averaged over the last axis.

    Example: ``huber([[0., 0.]], [[0.5, 3.]])`` -> ``[(0.125 + 2.5) / 2]``
    """
    y_true, y_pred = _pair("huber", y_true, y_pred)
    error = ops.subtract(y_pred, y_true)
    abs_error = ops.abs(error)
    quadratic = ops.multiply(ops.square(error), 0.5)
    linear = ops.subtract(ops.multiply(abs_error, float(delta)), 0.5 * float(delta) ** 2)
    return ops.mean(ops.where(ops.less_equal(abs_error, float(delta)), quadratic, linear), axis=-1)


def log_cosh(y_true: Any, y_pred: Any) -> Tensor:
    """``mean(log(cosh(y_pred - y_true)), axis=-1)``, computed stably as
    ``x + softplus(-2x) - log(2)``.

    Example: ``log_cosh([[0.]], [[1.]])`` -> ``[0.4338]``
    """
    y_true, y_pred = _pair("log_cosh", y_true, y_pred)
    x = ops.subtract(y_pred, y_true)
    return ops.mean(ops.subtract(ops.add(x, ops.softplus(ops.multiply(x, -2.0))), math.log(2.0)), axis=-1)


def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> Tensor:
    """``-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)``: -1 for
    aligned vectors, 0 when either is zero.

    Example: ``cosine_similarity([[1., 0.]], [[2., 0.]])`` -> ``[-1.]``
    """
    y_true, y_pred = _pair("cosine_similarity", y_true, y_pred)
    axis = _check_axis("cosine_similarity", axis, len(ops.shape(y_pred)))
    return ops.negative(ops.sum(ops.multiply(_l2_normalize(y_true, axis), _l2_normalize(y_pred, axis)), axis=axis))


def _l2_normalize(x: Tensor, axis: int) -> Tensor:
    # x / max(norm, eps), written with a sqrt of a clamped sum so the gradient
    # stays finite at zero vectors.
    squares = ops.sum(ops.square(x), axis=axis, keepdims=True)
    return ops.divide(x, ops.sqrt(ops.maximum(squares, epsilon() * epsilon())))


# ------------------------------------------------------------- probabilistic
def kl_divergence(y_true: Any, y_pred: Any) -> Tensor:
    """``sum(y_true * log(y_true / y_pred), axis=-1)``, both clipped to
    ``[1e-7, 1]``.

    Example: ``kl_divergence([[0.5, 0.5]], [[0.9, 0.1]])``
    """
    y_true, y_pred = _pair("kl_divergence", y_true, y_pred)
    y_true = ops.clip(y_true, epsilon(), 1.0)
    y_pred = ops.clip(y_pred, epsilon(), 1.0)
    return ops.sum(ops.multiply(y_true, ops.log(ops.divide(y_true, y_pred))), axis=-1)


def poisson(y_true: Any, y_pred: Any) -> Tensor:
    """``mean(y_pred - y_true * log(y_pred + 1e-7), axis=-1)``.

    Example: ``poisson([[1., 0.]], [[1., 1.]])`` -> ``[1.]``
    """
    y_true, y_pred = _pair("poisson", y_true, y_pred)
    return ops.mean(ops.subtract(y_pred, ops.multiply(y_true, ops.log(ops.add(y_pred, epsilon())))), axis=-1)


def binary_crossentropy(
    y_true: Any, y_pred: Any, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1
) -> Tensor:
    """Binary cross-entropy averaged over ``axis``; ``label_smoothing`` moves
    targets toward 0.5 (``y * (1 - s) + 0.5 * s``).

    Example: ``binary_crossentropy([[0., 1.]], [[0.4, 0.6]])`` -> ``[0.5108]``
    """
    y_true, y_pred = _pair("binary_crossentropy", y_true, y_pred)
    axis = _check_axis("binary_crossentropy", axis, len(ops.shape(y_pred)))
    if label_smoothing:
        y_true = ops.add(ops.multiply(y_true, 1.0 - label_smoothing), 0.5 * label_smoothing)
    return ops.mean(ops.binary_crossentropy(y_true, y_pred, from_logits=from_logits), axis=axis)


def binary_focal_crossentropy(
    y_true: Any, y_pred: Any, apply_class_balancing: bool = False, alpha: float = 0.25,
    gamma: float = 2.0, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
) -> Tensor:
    """Binary cross-entropy times the focal factor ``(1 - p_t) ** gamma``
    (``p_t`` = the probability given to the true label), times ``alpha``
    (class 1) or ``1 - alpha`` (class 0) with ``apply_class_balancing``;
    averaged over ``axis``.

    Example: ``binary_focal_crossentropy([[0., 1.]], [[0.4, 0.6]], gamma=2.0)``
    """
    y_true, y_pred = _pair("binary_focal_crossentropy", y_true, y_pred)
    axis = _check_axis("binary_focal_crossentropy", axis, len(ops.shape(y_pred)))
    if label_smoothing:
        y_true = ops.add(ops.multiply(y_true, 1.0 - label_smoothing), 0.5 * label_smoothing)
    if from_logits:
        y_pred = ops.sigmoid(y_pred)
    bce = ops.binary_crossentropy(y_true, y_pred, from_logits=False)
    p_t = ops.add(ops.multiply(y_true, y_pred), ops.multiply(ops.subtract(1.0, y_true), ops.subtract(1.0, y_pred)))
    focal = ops.multiply(ops.power(ops.subtract(1.0, p_t), float(gamma)), bce)
    if apply_class_balancing:
        weight = ops.add(ops.multiply(y_true, alpha), ops.multiply(ops.subtract(1.0, y_true), 1.0 - alpha))
        focal = ops.multiply(weight, focal)
    return ops.mean(focal, axis=axis)


def _categorical(name: str, y_true: Any, y_pred: Any, axis: int) -> tuple[Tensor, Tensor, int]:
    y_pred = _pred(y_pred)
    y_true = as_tensor(y_true, ops.dtype(y_pred))
    true_shape, pred_shape = tuple(ops.shape(y_true)), tuple(ops.shape(y_pred))
    if not same_shape(true_shape, pred_shape):
        hint = ""
        if len(true_shape) + 1 == len(pred_shape) or (true_shape and true_shape[-1] == 1):
            hint = " For integer class ids use sparse_categorical_crossentropy."
        raise LossInputError(
            f"{name}: expected one-hot y_true of the same shape as y_pred, received "
            f"y_true.shape={true_shape} and y_pred.shape={pred_shape}.{hint}"
        )
    return y_true, y_pred, _check_axis(name, axis, len(pred_shape))


def _smooth(y_true: Tensor, label_smoothing: float, axis: int) -> Tensor:
    if not label_smoothing:
        return y_true
    num_classes = float(ops.shape(y_true)[axis])
    return ops.add(ops.multiply(y_true, 1.0 - label_smoothing), label_smoothing / num_classes)


def categorical_crossentropy(
    y_true: Any, y_pred: Any, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1
) -> Tensor:
    """Cross-entropy of one-hot targets along ``axis``; probabilities are
    renormalised and clipped to ``[1e-7, 1 - 1e-7]``. ``label_smoothing``
    gives ``y * (1 - s) + s / num_classes``.

    Example: ``categorical_crossentropy([[0., 1., 0.]], [[0.05, 0.95, 0.]])`` -> ``[0.0513]``
    """
    y_true, y_pred, axis = _categorical("categorical_crossentropy", y_true, y_pred, axis)
    y_true = _smooth(y_true, label_smoothing, axis)
    return ops.categorical_crossentropy(y_true, y_pred, from_logits=from_logits, axis=axis)


def categorical_focal_crossentropy(
    y_true: Any, y_pred: Any, alpha: float = 0.25, gamma: float = 2.0, from_logits: bool = False,
    label_smoothing: float = 0.0, axis: int = -1,
) -> Tensor:
    """Categorical cross-entropy with each class term scaled by
    ``alpha * (1 - p) ** gamma``.

    Example: ``categorical_focal_crossentropy([[0., 1., 0.]], [[0.05, 0.9, 0.05]])``
    """
    y_true, y_pred, axis = _categorical("categorical_focal_crossentropy", y_true, y_pred, axis)
    y_true = _smooth(y_true, label_smoothing, axis)
    if from_logits:
        y_pred = ops.softmax(y_pred, axis=axis)
    output = ops.divide(y_pred, ops.sum(y_pred, axis=axis, keepdims=True))
    output = ops.clip(output, epsilon(), 1.0 - epsilon())
    cross = ops.negative(ops.multiply(y_true, ops.log(output)))
    factor = ops.multiply(ops.power(ops.subtract(1.0, output), float(gamma)), alpha)
    return ops.sum(ops.multiply(factor, cross), axis=axis)


def _sparse_targets(name: str, y_true: Any, y_pred: Tensor, axis: int) -> tuple[Tensor, int]:
    y_true = as_tensor(y_true)
    pred_shape = tuple(ops.shape(y_pred))
    axis = _check_axis(name, axis, len(pred_shape))
    true_shape = tuple(ops.shape(y_true))
    if len(true_shape) == len(pred_shape) and true_shape and true_shape[axis] == 1:
        y_true = ops.squeeze(y_true, axis=axis)
    expected = pred_shape[:axis] + pred_shape[axis + 1:]
    if not same_shape(tuple(ops.shape(y_true)), expected):
        raise LossInputError(
            f"{name}: expected integer class ids y_true of shape {expected} (y_pred's shape without the "
            f"class axis {axis}), received y_true.shape={true_shape} and y_pred.shape={pred_shape}."
        )
    return y_true, axis


def sparse_categorical_crossentropy(
    y_true: Any, y_pred: Any, from_logits: bool = False, ignore_class: int | None = None, axis: int = -1
) -> Tensor:
    """Cross-entropy against integer class ids. Entries whose id equals
    ``ignore_class`` give 0 (the class object also leaves them out of the mean).

    Example: ``sparse_categorical_crossentropy([1, 2], [[0.05, 0.95, 0.], [0.1, 0.8, 0.1]])`` -> ``[0.0513, 2.3026]``
    """
    name = "sparse_categorical_crossentropy"
    y_pred = _pred(y_pred)
    y_true, axis = _sparse_targets(name, y_true, y_pred, axis)
    valid = None
    if ignore_class is not None:
        valid = ops.not_equal(y_true, ignore_class)
        y_true = ops.where(valid, y_true, ops.zeros_like(y_true))
    loss = ops.sparse_categorical_crossentropy(ops.cast(y_true, "int32"), y_pred, from_logits=from_logits, axis=axis)
    if valid is not None:
        loss = ops.where(valid, loss, ops.zeros_like(loss))
    return loss


# --------------------------------------------------------------------- hinge
def _hinge_labels(y_true: Tensor) -> Tensor:
    """{0, 1} labels become {-1, 1}; other labels are left as they are."""
    binary = ops.all(ops.logical_or(ops.equal(y_true, 0.0), ops.equal(y_true, 1.0)))
    return ops.where(binary, ops.subtract(ops.multiply(y_true, 2.0), 1.0), y_true)


def hinge(y_true: Any, y_pred: Any) -> Tensor:
    """``mean(maximum(1 - y_true * y_pred, 0), axis=-1)``; labels in {-1, 1}
    (binary {0, 1} labels are converted).

    Example: ``hinge([[1., -1.]], [[0.5, 0.5]])`` -> ``[1.0]``
    """
    y_true, y_pred = _pair("hinge", y_true, y_pred)
    y_true = _hinge_labels(y_true)
    return ops.mean(ops.maximum(ops.subtract(1.0, ops.multiply(y_true, y_pred)), 0.0), axis=-1)


def squared_hinge(y_true: Any, y_pred: Any) -> Tensor:
    """``mean(square(maximum(1 - y_true * y_pred, 0)), axis=-1)``.

    Example: ``squared_hinge([[1., -1.]], [[0.5, 0.5]])`` -> ``[1.25]``
    """
    y_true, y_pred = _pair("squared_hinge", y_true, y_pred)
    y_true = _hinge_labels(y_true)
    return ops.mean(ops.square(ops.maximum(ops.subtract(1.0, ops.multiply(y_true, y_pred)), 0.0)), axis=-1)


def categorical_hinge(y_true: Any, y_pred: Any) -> Tensor:
    """``maximum(neg - pos + 1, 0)`` with ``pos = sum(y_true * y_pred)`` and
    ``neg = max((1 - y_true) * y_pred)`` over the last axis.

    Example: ``categorical_hinge([[0., 1.]], [[0.3, 0.7]])`` -> ``[0.6]``
    """
    y_true, y_pred = _pair("categorical_hinge", y_true, y_pred)
    pos = ops.sum(ops.multiply(y_true, y_pred), axis=-1)
    neg = ops.max(ops.multiply(ops.subtract(1.0, y_true), y_pred), axis=-1)
    return ops.maximum(ops.add(ops.subtract(neg, pos), 1.0), 0.0)
