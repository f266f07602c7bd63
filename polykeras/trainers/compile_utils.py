"""What ``compile(loss=..., metrics=...)`` becomes: one loss and one metric set
per model output, matched by position (lists) or output name (dicts). Targets
and sample weights given as dicts are matched to the outputs by name too.
"""

from __future__ import annotations

from typing import Any

from polykeras import losses as losses_module
from polykeras import metrics as metrics_module
from polykeras import ops
from polykeras.symbolic import flatten


def _per_output(value: Any, names: list[str], what: str) -> list[Any]:
    """``value`` spread over the outputs: one entry per output name."""
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ValueError(f"compile: {what} names outputs {unknown}, but the model's outputs are {names}.")
        return [value.get(name) for name in names]
    if isinstance(value, (list, tuple)) and len(names) > 1:
        if len(value) != len(names):
            raise ValueError(f"compile: expected {len(names)} {what} (one per output: {names}), "
                             f"received {len(value)}.")
        return list(value)
    return [value] * len(names)


def align(values: Any, y_pred: Any, names: list[str], what: str = "targets") -> list[Any]:
    """``values`` (targets or sample weights) as a list lined up with the
    model's flat outputs: a dict by output name (the output layer's name, or
    the key of a dict of outputs; a missing name gives None), anything else by
    position.

    Example: ``align({"b": yb, "a": ya}, [out_a, out_b], ["a", "b"])`` -> ``[ya, yb]``
    """
    if not isinstance(values, dict):
        return flatten(values)
    keys = sorted(y_pred) if isinstance(y_pred, dict) else names
    unknown = [k for k in values if k not in keys]
    if unknown:
        raise ValueError(f"Expected {what} keyed by the model's output names {list(keys)}, received the keys "
                         f"{list(values)} ({unknown} name no output).")
    return [values.get(k) for k in keys]


def _shape(x: Any) -> tuple[int | None, ...]:
    return tuple(ops.shape(x))


class CompileLoss:
    """The weighted sum of one loss per output.

    Example:
        >>> total = CompileLoss({"label": "sparse_categorical_crossentropy"}, None, ["label"])
    """

    def __init__(self, loss: Any, loss_weights: Any, output_names: list[str]):
        self.output_names = output_names
        self._spec = _per_output(loss, output_names, "losses")
        weights = _per_output(loss_weights, output_names, "loss_weights") if loss_weights is not None else None
        self.weights = [1.0 if w is None else float(w) for w in (weights or [None] * len(output_names))]
        self.losses: list[Any] | None = None

    def build(self, y_true: Any, y_pred: Any) -> list[Any]:
        """The loss of each output (None where it has none), resolved for these shapes."""
        trues, preds = align(y_true, y_pred, self.output_names), flatten(y_pred)
        for name, spec, t in zip(self.output_names, self._spec, trues):
            if spec is not None and t is None:
                raise ValueError(f"Expected a target for output {name!r} (it has a loss), received none.")
        self.losses = [None if spec is None else losses_module.resolve(spec, _shape(t), _shape(p))
                       for spec, t, p in zip(self._spec, trues, preds)]
        return self.losses

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> tuple[Any, dict[str, Any]]:
        """(total loss, per-output losses by ``<output>_loss`` when several)."""
        losses = self.losses if self.losses is not None else self.build(y_true, y_pred)
        trues, preds = align(y_true, y_pred, self.output_names), flatten(y_pred)
        if len(trues) != len(preds):
            raise ValueError(f"Expected one target per model output ({len(preds)}: {self.output_names}), "
                             f"received {len(trues)} targets.")
        weights = (align(sample_weight, y_pred, self.output_names, "sample weights") if sample_weight is not None
                   else [None] * len(preds))
        if len(weights) == 1 and len(preds) > 1:
            weights = weights * len(preds)
        total = None
        parts: dict[str, Any] = {}
        for name, loss, weight, t, p, sw in zip(self.output_names, losses, self.weights, trues, preds, weights):
            if loss is None:
                continue
            value = loss(t, p, sw)
            if len(preds) > 1:
                parts[f"{name}_loss"] = value
            value = value if weight == 1.0 else ops.multiply(value, weight)
            total = value if total is None else ops.add(total, value)
        if total is None:
            raise ValueError("compile: no loss applies to any output; give loss= to compile().")
        return total, parts


def _metric_specs(metrics: Any, names: list[str], what: str) -> list[list[Any]]:
    """``metrics`` (one, a list for every output, a list of lists by output
    position, a dict by output name) as one list of metric specs per output."""
    if metrics is None:
        return [[] for _ in names]
    if isinstance(metrics, dict):
        return [list(m) if isinstance(m, (list, tuple)) else ([] if m is None else [m])
                for m in _per_output(metrics, names, what)]
    if len(names) > 1 and isinstance(metrics, (list, tuple)) and all(
            isinstance(m, (list, tuple)) or m is None for m in metrics):
        return [list(m or []) for m in _per_output(metrics, names, what)]
    single = list(metrics) if isinstance(metrics, (list, tuple)) else [metrics]
    return [single for _ in names]


class CompileMetrics:
    """The metrics of every output, named ``<output>_<metric>`` when several.

    As in Keras 3, ``metrics`` ignore sample weights (and class weights) and
    ``weighted_metrics`` apply them; a weighted metric whose name an output's
    unweighted one already has is named ``weighted_<name>``.
    """

    name = "compile_metrics"  # as Keras 3 lists it in model.metrics

    def __init__(self, metrics: Any, weighted_metrics: Any, output_names: list[str], loss: CompileLoss):
        self.output_names = output_names
        self._loss = loss
        self._specs = (_metric_specs(metrics, output_names, "metrics"),
                       _metric_specs(weighted_metrics, output_names, "weighted_metrics"))
        #: whether compile() named any metric (Keras lists this set only then)
        self.specified = any(row for specs in self._specs for row in specs)
        # per output, once built: (unweighted metrics, weighted metrics)
        self.metrics: list[tuple[list[Any], list[Any]]] | None = None

    def build(self, y_true: Any, y_pred: Any) -> None:
        trues, preds = align(y_true, y_pred, self.output_names), flatten(y_pred)
        losses = self._loss.losses or [None] * len(preds)
        built = []
        for index, (name, t, p, loss) in enumerate(zip(self.output_names, trues, preds, losses)):
            pair: tuple[list[Any], list[Any]] = ([], [])
            for weighted, specs in enumerate(self._specs):
                for spec in specs[index] if t is not None else []:
                    metric = metrics_module.resolve(spec, loss=loss, y_true_shape=_shape(t), y_pred_shape=_shape(p))
                    if weighted and metric.name in {m.name for m in pair[0]}:
                        metric.name = f"weighted_{metric.name}"
                    pair[weighted].append(metric)
            if len(self.output_names) > 1:  # "<output>_weighted_<name>"
                for metric in (*pair[0], *pair[1]):
                    metric.name = f"{name}_{metric.name}"
            built.append(pair)
        self.metrics = built

    def _all(self) -> list[Any]:
        """Every built metric, in Keras's order: the unweighted ones output by
        output, then the weighted ones."""
        rows = self.metrics or []
        return [m for unweighted, _ in rows for m in unweighted] + [m for _, weighted in rows for m in weighted]

    @property
    def variables(self) -> list[Any]:
        return [v for m in self._all() for v in m.variables]

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        weights = (align(sample_weight, y_pred, self.output_names, "sample weights") if sample_weight is not None
                   else [None])
        trues = align(y_true, y_pred, self.output_names)
        for index, ((unweighted, weighted), t, p) in enumerate(zip(self.metrics or [], trues, flatten(y_pred))):
            for metric in unweighted:
                metric.update_state(t, p)
            sw = weights[index] if len(weights) > 1 else weights[0]
            for metric in weighted:
                metric.update_state(t, p, sample_weight=sw)

    def results(self) -> dict[str, Any]:
        if self.metrics is None and self.specified:
            raise ValueError(f"Cannot get result() of {self.name!r}: its metrics are built on the first batch "
                             "(run fit, evaluate or train_on_batch first).")
        return {m.name: m.result() for m in self._all()}

    def reset_state(self) -> None:
        for metric in self._all():
            metric.reset_state()
