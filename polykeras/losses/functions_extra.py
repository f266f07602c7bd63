"""More per-sample loss functions, Keras 3 names and formulas: the overlap
losses (``dice``, ``tversky``), the metric-learning ``circle`` loss, the
noise-robust ``categorical_generalized_cross_entropy`` and ``ctc``.

Unlike :mod:`.functions`, ``dice`` and ``tversky`` reduce over ``axis``
(every axis by default, giving one number), as Keras 3 does.

Example:
    >>> from polykeras import losses
    >>> losses.dice([[1.0, 0.0]], [[0.5, 0.5]])               # 1 - 2 * 0.5 / 2 = 0.5
    >>> losses.ctc(labels, logits)                             # (batch,)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polykeras import ops
from polykeras.config import epsilon
from polykeras.layers.masking import set_mask
from polykeras.losses.functions import _pair, _pred, _sparse_targets
from polykeras.losses.loss import LossInputError, as_tensor

Tensor = Any

#: What a masked-out pair contributes to the circle loss's log-sum-exp: low
#: enough that ``exp`` of it is 0 in float32, finite so gradients stay finite.
_MASKED = -1e9


def _overlap_axis(name: str, axis: Any, rank: int) -> int | tuple[int, ...] | None:
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, int) and not isinstance(axis, bool) else axis
    if not isinstance(axes, Sequence) or not all(isinstance(a, int) and not isinstance(a, bool) for a in axes) or \
            not all(-rank <= a < rank for a in axes):
        raise LossInputError(f"{name}: expected axis None, an int or a tuple of ints within rank {rank}, "
                             f"received axis={axis!r}.")
    return axis if isinstance(axis, int) else tuple(axes)


def dice(y_true: Any, y_pred: Any, axis: int | Sequence[int] | None = None) -> Tensor:
    """Dice loss ``1 - 2 * sum(y_true * y_pred) / (sum(y_true) + sum(y_pred) + eps)``,
    the sums over ``axis`` (every axis when None: one number).

    Example: ``dice([[1., 0.]], [[0.5, 0.5]])`` -> 0.5
    """
    y_true, y_pred = _pair("dice", y_true, y_pred)
    axis = _overlap_axis("dice", axis, len(ops.shape(y_pred)))
    intersection = ops.sum(ops.multiply(y_true, y_pred), axis=axis)
    total = ops.add(ops.add(ops.sum(y_true, axis=axis), ops.sum(y_pred, axis=axis)), epsilon())
    return ops.subtract(1.0, ops.divide(ops.multiply(intersection, 2.0), total))


def tversky(y_true: Any, y_pred: Any, alpha: float = 0.5, beta: float = 0.5,
            axis: int | Sequence[int] | None = None) -> Tensor:
    """Tversky loss ``1 - I / (I + alpha * A + beta * B + eps)`` with
    ``I = sum(y_true * y_pred)``, ``A = sum(y_true * (1 - y_pred))`` and
    ``B = sum((1 - y_true) * y_pred)`` over ``axis`` (Keras 3's weighting;
    ``alpha = beta = 0.5`` gives the Dice loss).

    Example: ``tversky([[1., 0.]], [[0.5, 0.5]], alpha=0.7, beta=0.3)``
    """
    y_true, y_pred = _pair("tversky", y_true, y_pred)
    axis = _overlap_axis("tversky", axis, len(ops.shape(y_pred)))
    intersection = ops.sum(ops.multiply(y_true, y_pred), axis=axis)
    missed = ops.sum(ops.multiply(y_true, ops.subtract(1.0, y_pred)), axis=axis)
    extra = ops.sum(ops.multiply(ops.subtract(1.0, y_true), y_pred), axis=axis)
    denominator = ops.add(ops.add(ops.add(intersection, ops.multiply(missed, float(alpha))),
                                  ops.multiply(extra, float(beta))), epsilon())
    return ops.subtract(1.0, ops.divide(intersection, denominator))


def _labels(name: str, what: str, labels: Any, count: Any) -> Tensor:
    labels = as_tensor(labels)
    shape = tuple(ops.shape(labels))
    if len(shape) == 2 and shape[-1] == 1:
        labels = ops.squeeze(labels, axis=-1)
    if len(ops.shape(labels)) != 1 or (isinstance(count, int) and isinstance(ops.shape(labels)[0], int)
                                       and ops.shape(labels)[0] != count):
        raise LossInputError(f"{name}: expected integer {what} of shape ({count},) or ({count}, 1), "
                             f"received {what}.shape={shape}.")
    return ops.cast(labels, "int32")


def circle(y_true: Any, y_pred: Any, ref_labels: Any = None, ref_embeddings: Any = None,
           remove_diagonal: bool = True, gamma: float = 80, margin: float = 0.4) -> Tensor:
    """Circle loss (Sun et al., 2020) of L2-normalised embeddings ``y_pred``
    ``(batch, dim)`` with integer labels ``y_true`` ``(batch,)``, against
    ``ref_embeddings``/``ref_labels`` (default: the batch itself; with
    ``remove_diagonal`` an embedding is not its own positive). Per sample:
    ``softplus(logsumexp(positive terms) + logsumexp(negative terms))``; the
    result carries a mask of the samples with a loss above 0, which the
    :class:`~polykeras.losses.Circle` reduction averages over, as Keras 3 does.

    Example: ``circle(labels, ops.normalize(embeddings))``
    """
    y_pred = _pred(y_pred)
    shape = tuple(ops.shape(y_pred))
    if len(shape) != 2:
        raise LossInputError(f"circle: expected y_pred embeddings of shape (batch, dim), "
                             f"received y_pred.shape={shape}.")
    labels = _labels("circle", "y_true", y_true, shape[0])
    refs = y_pred if ref_embeddings is None else as_tensor(ref_embeddings, ops.dtype(y_pred))
    ref_shape = tuple(ops.shape(refs))
    dims = (ref_shape[1], shape[1]) if len(ref_shape) == 2 else (0, 1)
    if all(isinstance(d, int) for d in dims) and dims[0] != dims[1]:
        raise LossInputError(f"circle: expected ref_embeddings of shape (n, {shape[1]}), "
                             f"received ref_embeddings.shape={ref_shape}.")
    keys = labels if ref_labels is None else _labels("circle", "ref_labels", ref_labels, ref_shape[0])
    distance = ops.maximum(ops.subtract(1.0, ops.matmul(y_pred, ops.transpose(refs))), 0.0)
    positive = ops.equal(ops.expand_dims(labels, 1), ops.expand_dims(keys, 0))
    negative = ops.logical_not(positive)
    if remove_diagonal:
        positive = ops.logical_and(positive, ops.logical_not(ops.eye(ops.shape(positive)[0], ops.shape(positive)[1],
                                                                     dtype="bool")))
    pos_mask, neg_mask = ops.cast(positive, ops.dtype(distance)), ops.cast(negative, ops.dtype(distance))
    pos_weight = ops.maximum(ops.multiply(ops.add(distance, float(margin)), pos_mask), 0.0)
    neg_weight = ops.maximum(ops.multiply(ops.subtract(1.0 + float(margin), distance), neg_mask), 0.0)
    pos_terms = ops.multiply(ops.multiply(pos_weight, ops.subtract(float(margin), distance)), -float(gamma))
    neg_terms = ops.multiply(ops.multiply(neg_weight, ops.subtract(1.0 - float(margin), distance)), float(gamma))
    masked = ops.full_like(distance, _MASKED)
    p_loss = ops.logsumexp(ops.where(positive, pos_terms, masked), axis=1)
    n_loss = ops.logsumexp(ops.where(negative, neg_terms, masked), axis=1)
    loss = ops.softplus(ops.add(p_loss, n_loss))
    set_mask(loss, ops.greater(loss, 0.0))
    return loss


def categorical_generalized_cross_entropy(y_true: Any, y_pred: Any, q: float) -> Tensor:
    """Generalized cross-entropy (Zhang & Sabuncu, 2018) ``(1 - p ** q) / q``,
    ``p`` the probability ``y_pred`` gives the true class id ``y_true``;
    ``q`` in ``(0, 1)`` moves it from cross-entropy (0) to MAE (1).

    Example: ``categorical_generalized_cross_entropy([1], [[0.2, 0.8]], q=0.5)`` -> ``[(1 - 0.8 ** 0.5) / 0.5]``
    """
    name = "categorical_generalized_cross_entropy"
    y_pred = _pred(y_pred)
    if len(ops.shape(y_pred)) < 1:
        raise LossInputError(f"{name}: expected y_pred of shape (batch, classes), received a scalar.")
    ids, _ = _sparse_targets(name, y_true, y_pred, -1)
    hot = ops.one_hot(ops.cast(ids, "int32"), ops.shape(y_pred)[-1], dtype=ops.dtype(y_pred))
    p = ops.sum(ops.multiply(y_pred, hot), axis=-1)
    return ops.divide(ops.subtract(1.0, ops.power(p, float(q))), float(q))


def ctc(y_true: Any, y_pred: Any) -> Tensor:
    """Connectionist temporal classification loss: ``y_true`` integer labels
    ``(batch, max_length)`` padded with 0 (the blank), ``y_pred`` unnormalised
    logits ``(batch, steps, classes)``; every step counts. Per sample.

    Example: ``ctc([[1, 2, 0]], logits)`` with ``logits.shape == (1, 5, 4)``
    """
    y_pred = _pred(y_pred)
    y_true = as_tensor(y_true)
    if len(ops.shape(y_true)) != 2:
        raise LossInputError(f"ctc: expected integer labels y_true of shape (batch, max_length), "
                             f"received y_true.shape={tuple(ops.shape(y_true))}.")
    if len(ops.shape(y_pred)) != 3:
        raise LossInputError(f"ctc: expected logits y_pred of shape (batch, steps, classes), "
                             f"received y_pred.shape={tuple(ops.shape(y_pred))}.")
    labels = ops.cast(y_true, "int32")
    label_length = ops.sum(ops.cast(ops.not_equal(labels, 0), "int32"), axis=-1)
    steps = ops.multiply(ops.ones_like(label_length), ops.shape(y_pred)[1])
    return ops.ctc_loss(labels, y_pred, label_length, steps, mask_index=0)
