"""The ``losses`` family: every built-in loss (class and function) and metric
(class and function) gives the same numbers on every engine as on the NumPy
engine, from the same inputs ("loss" tolerance):

* loss classes: the reduced value, plain and with sample weights;
* loss and metric functions: the per-sample values;
* losses (class and function), on engines that differentiate: the gradient
  with respect to ``y_pred`` (of a function's per-sample values projected on
  fixed random weights) against central finite differences of the loss in
  float64 on the NumPy engine ("gradient" tolerance);
* metric classes: ``result()`` after two ``update_state`` calls (the second
  with sample weights where the metric takes them), then after ``reset_state``.

Rows: ``loss.<ClassName>``, ``loss.<function>``, ``metric.<ClassName>``,
``metric.<function>``. A built-in without a case is a failing
"no conformance case" row.

Example:
    >>> [c.name for c in loss_checks()][:2]
    ['loss.BinaryCrossentropy', 'loss.BinaryFocalCrossentropy']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import polykeras.backends as B
from conformance.checks.base import Check, Context

__all__ = ["LOSS_CASES", "METRIC_CASES", "loss_checks"]

N, C = 6, 4  # samples per batch, classes


def _onehot(ids: np.ndarray, classes: int = C) -> np.ndarray:
    return np.eye(classes, dtype="float32")[ids]


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype("float32")


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(-1, keepdims=True))
    return (e / e.sum(-1, keepdims=True)).astype("float32")


#: kind -> rng -> (y_true, y_pred)
DATA: dict[str, Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray]]] = {
    "regression": lambda r: (r.standard_normal((N, 3)).astype("float32"), r.standard_normal((N, 3)).astype("float32")),
    "positive": lambda r: (r.uniform(0.1, 2.0, (N, 3)).astype("float32"),
                           r.uniform(0.1, 2.0, (N, 3)).astype("float32")),
    "distribution": lambda r: (_softmax(r.standard_normal((N, C))), _softmax(r.standard_normal((N, C)))),
    "categorical": lambda r: (_onehot(r.integers(0, C, N)), _softmax(2 * r.standard_normal((N, C)))),
    "logits": lambda r: (_onehot(r.integers(0, C, N)), (3 * r.standard_normal((N, C))).astype("float32")),
    "sparse": lambda r: (r.integers(0, C, N).astype("int32"), _softmax(2 * r.standard_normal((N, C)))),
    "sparse_logits": lambda r: (r.integers(0, C, N).astype("int32"), (3 * r.standard_normal((N, C))).astype("float32")),
    "binary": lambda r: (r.integers(0, 2, (N, 3)).astype("float32"), r.uniform(0.02, 0.98, (N, 3)).astype("float32")),
    "binary_logits": lambda r: (r.integers(0, 2, (N, 3)).astype("float32"),
                                (3 * r.standard_normal((N, 3))).astype("float32")),
    "binary_flat": lambda r: (r.integers(0, 2, N).astype("float32"), r.uniform(0.02, 0.98, N).astype("float32")),
    "multilabel": lambda r: (r.integers(0, 2, (N, C)).astype("float32"),
                             r.uniform(0.02, 0.98, (N, C)).astype("float32")),
    "ids": lambda r: (r.integers(0, 3, N).astype("int32"), r.integers(0, 3, N).astype("int32")),
    "values": lambda r: (r.standard_normal(N).astype("float32"), r.standard_normal(N).astype("float32")),
    "masks": lambda r: (r.integers(0, 2, (N, 5)).astype("float32"), r.uniform(0.02, 0.98, (N, 5)).astype("float32")),
    "embeddings": lambda r: (np.array([0, 1, 0, 1, 2, 2], "int32")[:N], _unit(r.standard_normal((N, C)))),
    "sequences": lambda r: (np.array([[1, 2, 0], [3, 3, 1], [2, 0, 0], [1, 3, 2], [3, 0, 0], [2, 1, 0]], "int32")[:N],
                            r.standard_normal((N, 7, C)).astype("float32")),
    "onehot_scores": lambda r: (_onehot(r.integers(0, C, N)), _softmax(2 * r.standard_normal((N, C)))),
}

#: loss class or function name -> (data kind, constructor or call keywords)
LOSS_CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "MeanSquaredError": ("regression", {}), "mean_squared_error": ("regression", {}),
    "MeanAbsoluteError": ("regression", {"reduction": "sum"}), "mean_absolute_error": ("regression", {}),
    "MeanAbsolutePercentageError": ("positive", {}), "mean_absolute_percentage_error": ("positive", {}),
    "MeanSquaredLogarithmicError": ("positive", {}), "mean_squared_logarithmic_error": ("positive", {}),
    "CosineSimilarity": ("regression", {"axis": -1}), "cosine_similarity": ("regression", {}),
    "Huber": ("regression", {"delta": 0.7}), "huber": ("regression", {"delta": 1.5}),
    "LogCosh": ("regression", {}), "log_cosh": ("regression", {}),
    "Hinge": ("binary_logits", {}), "hinge": ("binary_logits", {}),
    "SquaredHinge": ("binary_logits", {}), "squared_hinge": ("binary_logits", {}),
    "CategoricalHinge": ("logits", {}), "categorical_hinge": ("logits", {}),
    "KLDivergence": ("distribution", {}), "kl_divergence": ("distribution", {}),
    "Poisson": ("positive", {}), "poisson": ("positive", {}),
    "BinaryCrossentropy": ("binary", {"label_smoothing": 0.1}), "binary_crossentropy": ("binary_logits",
                                                                                     {"from_logits": True}),
    "BinaryFocalCrossentropy": ("binary", {"gamma": 2.0, "apply_class_balancing": True}),
    "binary_focal_crossentropy": ("binary_logits", {"from_logits": True}),
    "CategoricalCrossentropy": ("logits", {"from_logits": True, "label_smoothing": 0.1}),
    "categorical_crossentropy": ("categorical", {}),
    "CategoricalFocalCrossentropy": ("categorical", {}), "categorical_focal_crossentropy": ("logits",
                                                                                         {"from_logits": True}),
    "SparseCategoricalCrossentropy": ("sparse_logits", {"from_logits": True}),
    "sparse_categorical_crossentropy": ("sparse", {}),
    "Dice": ("masks", {"axis": -1}), "dice": ("masks", {"axis": (1,)}),
    "Tversky": ("masks", {"alpha": 0.7, "beta": 0.3, "axis": -1}), "tversky": ("masks", {"alpha": 0.2, "beta": 0.8}),
    "Circle": ("embeddings", {"gamma": 16.0}), "circle": ("embeddings", {"gamma": 8.0, "margin": 0.25}),
    "CategoricalGeneralizedCrossEntropy": ("sparse", {"q": 0.3}),
    "categorical_generalized_cross_entropy": ("sparse", {"q": 0.7}),
    "CTC": ("sequences", {}), "ctc": ("sequences", {}),
}

#: metric class or function name -> (data kind, constructor keywords, takes sample weights)
METRIC_CASES: dict[str, tuple[str, dict[str, Any], bool]] = {
    "Mean": ("values", {}, True), "Sum": ("values", {}, True),
    "MeanMetricWrapper": ("regression", {"fn": "mean_squared_error"}, True),
    "MeanSquaredError": ("regression", {}, True), "RootMeanSquaredError": ("regression", {}, True),
    "MeanAbsoluteError": ("regression", {}, True), "MeanAbsolutePercentageError": ("positive", {}, True),
    "MeanSquaredLogarithmicError": ("positive", {}, True), "CosineSimilarity": ("regression", {}, True),
    "LogCoshError": ("regression", {}, True),
    "AUC": ("binary_flat", {"num_thresholds": 20}, True),
    "Precision": ("binary_flat", {}, True), "Recall": ("binary_flat", {"thresholds": [0.3, 0.7]}, True),
    "TruePositives": ("binary_flat", {}, True), "FalsePositives": ("binary_flat", {}, True),
    "TrueNegatives": ("binary_flat", {}, True), "FalseNegatives": ("binary_flat", {}, True),
    "Hinge": ("binary_logits", {}, True), "SquaredHinge": ("binary_logits", {}, True),
    "CategoricalHinge": ("logits", {}, True), "KLDivergence": ("distribution", {}, True),
    "Poisson": ("positive", {}, True), "BinaryCrossentropy": ("binary", {}, True),
    "CategoricalCrossentropy": ("categorical", {}, True),
    "SparseCategoricalCrossentropy": ("sparse_logits", {"from_logits": True}, True),
    "Accuracy": ("ids", {}, True), "BinaryAccuracy": ("binary", {}, True),
    "CategoricalAccuracy": ("categorical", {}, True), "SparseCategoricalAccuracy": ("sparse", {}, True),
    "TopKCategoricalAccuracy": ("categorical", {"k": 2}, True),
    "SparseTopKCategoricalAccuracy": ("sparse", {"k": 2}, True),
    "F1Score": ("multilabel", {"average": "macro", "threshold": 0.5}, True),
    "FBetaScore": ("multilabel", {"beta": 2.0}, True),
    "IoU": ("ids", {"num_classes": 3, "target_class_ids": [0, 2]}, True),
    "MeanIoU": ("ids", {"num_classes": 3}, True),
    "R2Score": ("regression", {"class_aggregation": "variance_weighted_average"}, True),
    "PearsonCorrelation": ("regression", {}, True), "ConcordanceCorrelation": ("regression", {}, True),
    "PrecisionAtRecall": ("binary_flat", {"recall": 0.5, "num_thresholds": 50}, True),
    "RecallAtPrecision": ("binary_flat", {"precision": 0.5}, True),
    "SensitivityAtSpecificity": ("binary_flat", {"specificity": 0.4}, True),
    "SpecificityAtSensitivity": ("binary_flat", {"sensitivity": 0.6, "num_thresholds": 20}, True),
    "BinaryIoU": ("binary_flat", {"threshold": 0.4}, True),
    "OneHotIoU": ("onehot_scores", {"num_classes": C, "target_class_ids": [0, 2]}, True),
    "OneHotMeanIoU": ("onehot_scores", {"num_classes": C}, True),
    "pearson_correlation": ("regression", {}, False), "concordance_correlation": ("regression", {}, False),
    "accuracy": ("ids", {}, False), "binary_accuracy": ("binary", {}, False),
    "categorical_accuracy": ("categorical", {}, False), "sparse_categorical_accuracy": ("sparse", {}, False),
    "top_k_categorical_accuracy": ("categorical", {"k": 2}, False),
    "sparse_top_k_categorical_accuracy": ("sparse", {"k": 2}, False),
}


def _numbers(x: Any) -> np.ndarray:
    from polykeras import ops

    return np.asarray(ops.to_numpy(x), np.float64)


def _loss_values(name: str, seed: int, draw: int) -> list[np.ndarray]:
    """The loss on the active engine: per-sample (functions) or reduced, plain
    and weighted (classes)."""
    from polykeras import losses, ops

    kind, kwargs = LOSS_CASES[name]
    rng = np.random.default_rng(seed + 97 * draw + len(name))
    y_true, y_pred = DATA[kind](rng)
    t, p = ops.convert_to_tensor(y_true), ops.convert_to_tensor(y_pred)
    if name[0].islower():
        return [_numbers(getattr(losses, name)(t, p, **kwargs))]
    loss = getattr(losses, name)(**kwargs)
    weights = ops.convert_to_tensor(rng.uniform(0.0, 2.0, N).astype("float32"))
    return [_numbers(loss(t, p)), _numbers(loss(t, p, sample_weight=weights))]


def _metric_values(name: str, seed: int, draw: int) -> list[np.ndarray]:
    """The metric on the active engine: function values, or class results
    after two updates and after a reset plus one update."""
    from polykeras import losses, metrics, ops

    kind, kwargs, weighted = METRIC_CASES[name]
    rng = np.random.default_rng(seed + 89 * draw + len(name))
    batches = [DATA[kind](rng) for _ in range(2)]
    if name[0].islower():
        return [_numbers(getattr(metrics, name)(*(ops.convert_to_tensor(a) for a in batches[0]), **kwargs))]
    if "fn" in kwargs:
        kwargs = {**kwargs, "fn": getattr(losses, kwargs["fn"])}
    metric = getattr(metrics, name)(**kwargs)
    weights = rng.uniform(0.0, 2.0, N).astype("float32")
    out = []
    for step, (y_true, y_pred) in enumerate(batches):
        args = [ops.convert_to_tensor(y_pred)] if name in ("Mean", "Sum") else [ops.convert_to_tensor(y_true),
                                                                              ops.convert_to_tensor(y_pred)]
        extra = {"sample_weight": ops.convert_to_tensor(weights)} if step == 1 and weighted else {}
        metric.update_state(*args, **extra)
        out.append(_numbers(metric.result()))
    metric.reset_state()
    out.append(_numbers(metric.result()))
    return out


def _loss_inputs(name: str, seed: int, draw: int) -> tuple[dict[str, Any], np.ndarray, np.ndarray, np.ndarray]:
    kind, kwargs = LOSS_CASES[name]
    rng = np.random.default_rng(seed + 97 * draw + len(name))
    y_true, y_pred = DATA[kind](rng)
    projection = np.random.default_rng(seed + 1).standard_normal(N).astype("float32")
    return kwargs, y_true, y_pred, projection


def _loss_of(name: str, kwargs: dict[str, Any], dtype: str) -> Callable[[Any, Any], Any]:
    """``(y_true, y_pred) -> scalar``: a class's reduced loss, or a function's
    per-sample values summed against a fixed projection (added by the caller)."""
    from polykeras import losses

    if name[0].islower():
        fn = getattr(losses, name)
        return lambda t, p: fn(t, p, **kwargs)
    loss = getattr(losses, name)(**kwargs, dtype=dtype)
    return lambda t, p: loss(t, p)


def _projected(values: Any, projection: np.ndarray) -> Any:
    from polykeras import ops

    if len(ops.shape(values)) == 0:
        return values
    weights = ops.convert_to_tensor(projection.astype(ops.dtype(values)))
    return ops.sum(ops.multiply(values, weights))


def _reference_loss_gradient(name: str, seed: int, draw: int) -> np.ndarray:
    """Central finite differences, in float64 on the NumPy engine, of the
    (projected) loss with respect to ``y_pred``."""
    from conformance import reference as ref
    from polykeras import ops

    kwargs, y_true, y_pred, projection = _loss_inputs(name, seed, draw)
    with B.use("numpy"):
        loss = _loss_of(name, kwargs, "float64")
        true64 = y_true.astype(np.float64) if y_true.dtype.kind == "f" else y_true

        def total(pred: np.ndarray) -> float:
            return float(ops.to_numpy(_projected(loss(true64, pred), projection)))

        return ref.numeric_grad(total, [y_pred.astype(np.float64)])[0]


def _loss_gradient(name: str, seed: int, draw: int) -> np.ndarray:
    """The engine's gradient of the (projected) loss with respect to ``y_pred``."""
    from polykeras import ops

    kwargs, y_true, y_pred, projection = _loss_inputs(name, seed, draw)
    loss = _loss_of(name, kwargs, "float32")
    t = ops.convert_to_tensor(y_true)
    _, grads = ops.value_and_grad(lambda params: _projected(loss(t, params[0]), projection))(
        [ops.convert_to_tensor(y_pred)])
    return np.asarray(ops.to_numpy(grads[0]), np.float64)


def _check(kind: str, name: str) -> Callable[[Context], str]:
    table = LOSS_CASES if kind == "loss" else METRIC_CASES
    compute = _loss_values if kind == "loss" else _metric_values

    def run(ctx: Context) -> str:
        if name not in table:
            raise AssertionError(f"no conformance case: add {name} to {kind.upper()}_CASES in "
                                 "conformance/checks/losses.py")
        for draw in range(ctx.profile.draws):
            key = (kind, name, ctx.seed, draw)
            if key not in ctx.cache:
                with B.use("numpy"):
                    ctx.cache[key] = compute(name, ctx.seed, draw)
            got = compute(name, ctx.seed, draw)
            for i, (a, b) in enumerate(zip(got, ctx.cache[key])):
                ctx.meter.compare(a, b, "loss", "float32", what=f"{kind} {name}: value {i} vs the numpy engine")
            if kind == "loss" and ctx.differentiable:
                grad_key = ("loss-grad", name, ctx.seed, draw)
                if grad_key not in ctx.cache:
                    ctx.cache[grad_key] = _reference_loss_gradient(name, ctx.seed, draw)
                ctx.meter.compare(_loss_gradient(name, ctx.seed, draw), ctx.cache[grad_key], "gradient", "float32",
                                  what=f"loss {name}: gradient w.r.t. y_pred vs finite differences (float64, numpy)")
        return "" if kind != "loss" or ctx.differentiable else "forward only: the engine does not differentiate"
    return run


def _builtin_names() -> tuple[set[str], set[str]]:
    from polykeras import losses, metrics

    loss_names = {cls.__name__ for cls in losses.LOSS_CLASSES} | {fn.__name__ for fn in losses.LOSS_FUNCTIONS}
    metric_names = {cls.__name__ for cls in metrics.METRIC_CLASSES} | {fn.__name__ for fn in metrics.METRIC_FUNCTIONS}
    return loss_names, metric_names


def loss_checks() -> list[Check]:
    """One row per built-in loss and metric (class or function); a built-in
    without a case is still a row, and fails."""
    loss_names, metric_names = _builtin_names()
    checks = [Check(f"loss.{n}", "losses", _check("loss", n), (n,)) for n in sorted(loss_names | set(LOSS_CASES))]
    checks += [Check(f"metric.{n}", "losses", _check("metric", n), (n,))
               for n in sorted(metric_names | set(METRIC_CASES))]
    return checks
