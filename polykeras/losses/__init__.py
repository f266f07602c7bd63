"""Losses: per-sample functions, ``Loss`` classes with reductions, and the
lookups a trainer uses (``get``, ``serialize``, ``deserialize``, ``resolve``).

Example:
    >>> from polykeras import losses
    >>> loss = losses.get("mse")                          # the function
    >>> loss = losses.get("MeanSquaredError")             # an instance
    >>> losses.CategoricalCrossentropy(from_logits=True)(y_one_hot, logits)
    >>> losses.deserialize(losses.serialize(losses.Huber(delta=2.0))).delta
    2.0
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from polykeras.losses.classes import (
    LOSS_CLASSES, BinaryCrossentropy, BinaryFocalCrossentropy, CategoricalCrossentropy,
    CategoricalFocalCrossentropy, CategoricalHinge, CosineSimilarity, Hinge, Huber, KLDivergence, LogCosh,
    MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredError, MeanSquaredLogarithmicError, Poisson,
    SparseCategoricalCrossentropy, SquaredHinge, Dice, Tversky, Circle, CategoricalGeneralizedCrossEntropy, CTC,
)
from polykeras.losses.functions import (
    binary_crossentropy, binary_focal_crossentropy, categorical_crossentropy, categorical_focal_crossentropy,
    categorical_hinge, cosine_similarity, hinge, huber, kl_divergence, log_cosh, mean_absolute_error,
    mean_absolute_percentage_error, mean_squared_error, mean_squared_logarithmic_error, poisson,
    sparse_categorical_crossentropy, squared_hinge,
)
from polykeras.losses.functions_extra import categorical_generalized_cross_entropy, circle, ctc, dice, tversky
from polykeras.losses.loss import (
    EPSILON, REDUCTIONS, Loss, LossFunctionWrapper, LossInputError, reduce_weighted_values,
    squeeze_or_expand_to_same_rank, standardize_reduction,
)
from polykeras import registry as _registry

__all__ = [
    "EPSILON", "REDUCTIONS", "Loss", "LossFunctionWrapper", "LossInputError",
    "BinaryCrossentropy", "BinaryFocalCrossentropy", "CategoricalCrossentropy",
    "CategoricalFocalCrossentropy", "CategoricalHinge", "CosineSimilarity", "Hinge", "Huber",
    "KLDivergence", "LogCosh", "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanSquaredError",
    "MeanSquaredLogarithmicError", "Poisson", "SparseCategoricalCrossentropy", "SquaredHinge", "Dice", "Tversky",
    "Circle", "CategoricalGeneralizedCrossEntropy", "CTC", "dice", "tversky", "circle",
    "categorical_generalized_cross_entropy", "ctc",
    "binary_crossentropy", "binary_focal_crossentropy", "categorical_crossentropy",
    "categorical_focal_crossentropy", "categorical_hinge", "cosine_similarity", "hinge", "huber",
    "kl_divergence", "log_cosh", "mean_absolute_error", "mean_absolute_percentage_error",
    "mean_squared_error", "mean_squared_logarithmic_error", "poisson", "sparse_categorical_crossentropy",
    "squared_hinge",
    "deserialize", "get", "is_binary_or_sparse_categorical", "reduce_weighted_values", "resolve", "serialize",
    "squeeze_or_expand_to_same_rank", "standardize_reduction",
]

LOSS_FUNCTIONS: tuple[Callable[..., Any], ...] = (
    mean_squared_error, mean_absolute_error, mean_absolute_percentage_error, mean_squared_logarithmic_error,
    cosine_similarity, huber, log_cosh, hinge, squared_hinge, categorical_hinge, kl_divergence, poisson,
    binary_crossentropy, binary_focal_crossentropy, categorical_crossentropy, categorical_focal_crossentropy,
    sparse_categorical_crossentropy, dice, tversky, circle, categorical_generalized_cross_entropy, ctc,
)

#: Keras 3's short names (and a few legacy spellings) for the functions.
ALIASES: dict[str, Callable[..., Any]] = {
    "mse": mean_squared_error, "MSE": mean_squared_error,
    "mae": mean_absolute_error, "MAE": mean_absolute_error,
    "mape": mean_absolute_percentage_error, "MAPE": mean_absolute_percentage_error,
    "msle": mean_squared_logarithmic_error, "MSLE": mean_squared_logarithmic_error,
    "kld": kl_divergence, "KLD": kl_divergence, "kullback_leibler_divergence": kl_divergence,
    "bce": binary_crossentropy, "BCE": binary_crossentropy,
    "logcosh": log_cosh,
}

#: Every name ``get``/``deserialize`` know: class names, function names, aliases.
ALL_OBJECTS: dict[str, Any] = {
    **{cls.__name__: cls for cls in (Loss, LossFunctionWrapper, *LOSS_CLASSES)},
    **{fn.__name__: fn for fn in LOSS_FUNCTIONS},
    **ALIASES,
}

# Functions serialize to their names; ``deserialize``/``get`` look names up in
# ALL_OBJECTS (this family's own table) before the shared registry.
for _fn in LOSS_FUNCTIONS:
    _registry.register_builtin(_fn, _fn.__name__)
for _cls in (Loss, LossFunctionWrapper, *LOSS_CLASSES):
    _cls.__module__ = __name__  # the public path, as configs show it


def serialize(loss: Loss | Callable[..., Any]) -> Any:
    """JSON-safe data for a loss object (``{"class_name", "config", ...}``) or a
    built-in/registered loss function (its name).

    Example: ``serialize(Huber(delta=2.0))["config"]["delta"]`` -> 2.0
    """
    return _registry.serialize(loss, where=f"loss {getattr(loss, 'name', getattr(loss, '__name__', loss))!r}")


def deserialize(name: Any, custom_objects: Mapping[str, Any] | None = None) -> Any:
    """The loss described by ``name``: a config from :func:`serialize`, or a
    name (Keras 3's parameter name, which takes both). Built-in losses are
    found first, then ``custom_objects`` and registered objects; nothing else
    is ever imported.

    Example: ``deserialize({"class_name": "Huber", "config": {"delta": 2.0}})``
    """
    config = name
    table = {**ALL_OBJECTS, **(custom_objects or {})}
    if isinstance(config, str):
        found = _registry.get_registered_object(config, table)
        if found is None:
            raise ValueError(
                f"losses.deserialize: expected the name of a built-in or registered loss, received {config!r}. "
                f"Known names include: {', '.join(sorted(ALL_OBJECTS)[:12])}, ..."
            )
        return found
    return _registry.deserialize(config, custom_objects=table, kind="loss")


def get(identifier: Any) -> Any:
    """A loss from an identifier: None, a name (``"mse"`` gives the function,
    ``"MeanSquaredError"`` a new instance), a config dict, a callable or a
    :class:`Loss` (returned as is).

    Example: ``get("categorical_crossentropy")`` -> the function
    """
    return _registry.get_object(identifier, ALL_OBJECTS, deserialize, "loss",
                                "'mse', 'binary_crossentropy' or 'SparseCategoricalCrossentropy'")


def resolve(
    identifier: Any, y_true_shape: Sequence[int | None] | None = None,
    y_pred_shape: Sequence[int | None] | None = None,
) -> Loss:
    """A :class:`Loss` object for a trainer: ``"crossentropy"``/``"ce"`` pick
    binary, sparse or categorical cross-entropy from the shapes as Keras 3
    does; functions are wrapped in :class:`LossFunctionWrapper` named after
    the identifier.

    Example: ``resolve("ce", y_true_shape=(32,), y_pred_shape=(32, 10)).fn`` -> sparse_categorical_crossentropy
    """
    if identifier is None:
        raise ValueError("losses.resolve: expected a loss identifier, received None.")
    if isinstance(identifier, str) and identifier.lower() in ("crossentropy", "ce"):
        binary, sparse = is_binary_or_sparse_categorical(y_true_shape, y_pred_shape)
        found: Any = binary_crossentropy if binary else (
            sparse_categorical_crossentropy if sparse else categorical_crossentropy)
    else:
        found = get(identifier)
    if isinstance(found, Loss):
        return found
    name = identifier if isinstance(identifier, str) else getattr(found, "__name__", None)
    return LossFunctionWrapper(found, name=name)


def is_binary_or_sparse_categorical(
    y_true_shape: Sequence[int | None] | None, y_pred_shape: Sequence[int | None] | None
) -> tuple[bool, bool]:
    """Keras 3's rule: binary when y_pred's last axis is 1; sparse when y_true
    has a lower rank, or a last axis of 1 against several classes."""
    if y_true_shape is None or y_pred_shape is None:
        raise ValueError(
            "resolve: expected y_true_shape and y_pred_shape to pick binary, sparse or categorical, "
            f"received y_true_shape={y_true_shape} and y_pred_shape={y_pred_shape}."
        )
    true_shape, pred_shape = tuple(y_true_shape), tuple(y_pred_shape)
    true_last = true_shape[-1] if true_shape else None
    pred_last = pred_shape[-1] if pred_shape else None
    binary = pred_last == 1
    sparse = len(true_shape) < len(pred_shape) or (true_last == 1 and pred_last is not None and pred_last > 1)
    return binary, sparse
