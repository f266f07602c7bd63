"""``Distiller``: a model that trains a student on the labels and on a frozen
teacher's outputs (knowledge distillation), Keras 3's ``keras.distillation``.

It is an ordinary subclassed :class:`~polykeras.Model`: ``call`` is the
student's, and ``compute_loss`` (which the one training step asks) combines

    total = w * student_loss + (1 - w) * sum_i(weight_i * distillation_loss_i)

with ``w = student_loss_weight``, the student loss being the compiled
``loss`` on ``(y, y_pred)`` and each distillation loss comparing the teacher's
outputs (or a named layer's features) with the student's. The teacher is
frozen, so its weights are non-trainable and only the student learns; the
three parts are reported as ``student_loss``, ``distillation_loss`` and
``total_loss``.

Example:
    >>> distiller = Distiller(teacher, student, LogitsDistillation(temperature=3.0))
    >>> distiller.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    >>> distiller.fit(x, y, epochs=3)
    >>> distiller.student.predict(x)            # the trained student, on its own
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from polykeras import layers as layers_module
from polykeras import losses as losses_module
from polykeras import ops, tree
from polykeras.distillation.losses import DistillationLoss, FeatureDistillation, LogitsDistillation, _as_loss
from polykeras.metrics import Mean
from polykeras.models import Model, Sequential
from polykeras.saving import registry

__all__ = ["Distiller"]

_FINAL = "final_output"
#: The distillation losses a config may name besides registered ones.
_LOSS_CLASSES = {"DistillationLoss": DistillationLoss, "LogitsDistillation": LogitsDistillation,
                 "FeatureDistillation": FeatureDistillation}


def _shapes_fit(teacher: Sequence[Any], student: Sequence[Any], what: str) -> None:
    if len(teacher) != len(student):
        raise ValueError(f"Distiller: expected the teacher and the student to have as many {what}s, received "
                         f"{len(teacher)} and {len(student)}.")
    for t, s in zip(teacher, student):
        t_shape, s_shape = tuple(t.shape), tuple(s.shape)
        if len(t_shape) != len(s_shape) or any(a is not None and b is not None and a != b
                                               for a, b in zip(t_shape, s_shape)):
            raise ValueError(f"Distiller: expected teacher and student {what} shapes that match, received "
                             f"teacher {t_shape} and student {s_shape}.")
        if t.dtype != s.dtype:
            raise ValueError(f"Distiller: expected teacher and student {what} dtypes that match, received "
                             f"teacher {t.dtype} and student {s.dtype}.")


class Distiller(Model):
    """Train ``student`` on the labels and on the frozen ``teacher``.

    Args:
        teacher: a trained model; frozen (``trainable = False``) here.
        student: the model trained; ``distiller.student`` afterwards.
        distillation_losses: a :class:`DistillationLoss` or a list of them.
        distillation_loss_weights: one weight per loss in the list (default
            1.0 each; a single loss, not in a list, weighs 1.0, as in Keras 3).
        student_loss_weight: ``w`` in ``[0, 1]``: the share of the student's
            own loss; the distillation losses get ``1 - w``.
        name: the model's name.

    Compile it with the student's ``loss`` (required) and ``metrics`` (a
    list); the metrics compare the labels with the student's predictions.
    As in Keras 3 the student loss ignores ``sample_weight`` and the model's
    own losses (regularizers). One difference: the student's features for a
    named layer are computed in the step's mode (Keras 3 computes them in
    training mode in ``evaluate`` too, so dropout or batch statistics
    differ there); ``fit`` gives the same numbers.

    Example:
        >>> distiller = Distiller(teacher, student,
        ...                       [LogitsDistillation(3.0), FeatureDistillation("mse", "t_feat", "s_feat")],
        ...                       distillation_loss_weights=[1.0, 0.5], student_loss_weight=0.3)
        >>> distiller.compile(optimizers.SGD(0.1), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    """

    def __init__(self, teacher: Model, student: Model, distillation_losses: Any,
                 distillation_loss_weights: Sequence[float] | None = None, student_loss_weight: float = 0.5,
                 name: str = "distiller", **kwargs: Any):
        super().__init__(name=name, **kwargs)
        for role, model in (("teacher", teacher), ("student", student)):
            if not isinstance(model, Model):
                raise ValueError(f"Distiller: expected the {role} to be a Model, received {type(model).__name__}.")
        if getattr(teacher, "inputs", None) and getattr(student, "inputs", None):
            _shapes_fit(teacher.inputs, student.inputs, "input")
        if getattr(teacher, "outputs", None) and getattr(student, "outputs", None):
            _shapes_fit(teacher.outputs, student.outputs, "output")
        if isinstance(student_loss_weight, bool) or not isinstance(student_loss_weight, (int, float)) \
                or not 0.0 <= student_loss_weight <= 1.0:
            raise ValueError(f"Distiller: expected a student_loss_weight between 0.0 and 1.0, received "
                             f"{student_loss_weight!r}.")
        if distillation_losses is None:
            raise ValueError("Distiller: expected a DistillationLoss (LogitsDistillation, FeatureDistillation) "
                             "or a list of them as distillation_losses, received None.")
        if isinstance(distillation_losses, (list, tuple)):
            losses = list(distillation_losses)
            weights = [1.0] * len(losses) if distillation_loss_weights is None else list(distillation_loss_weights)
            if len(weights) != len(losses):
                raise ValueError(f"Distiller: expected one distillation_loss_weight per distillation loss "
                                 f"({len(losses)}), received {len(weights)}.")
        else:
            losses, weights = [distillation_losses], [1.0]
        for loss in losses:
            if not isinstance(loss, DistillationLoss):
                raise ValueError(f"Distiller: expected DistillationLoss instances as distillation_losses, "
                                 f"received {loss!r}.")
            loss.validate_model_compatibility(teacher, student)
        self.teacher, self.student = teacher, student
        self.student_loss_weight = student_loss_weight
        self.distillation_losses, self.distillation_loss_weights = losses, weights
        self._teacher_feature_extractor = _feature_extractor(teacher, losses, "teacher_layer_name")
        self._student_feature_extractor = _feature_extractor(student, losses, "student_layer_name")
        teacher.trainable = False
        self.student_loss_tracker = Mean(name="student_loss")
        self.distillation_loss_tracker = Mean(name="distillation_loss")
        self.total_loss_tracker = Mean(name="total_loss")

    def compile(self, optimizer: Any = "adam", loss: Any = None, metrics: Any = None,  # type: ignore[override]
                **kwargs: Any) -> None:
        """Choose the optimizer, the student's loss (required) and metrics (a
        list or tuple). Example: ``distiller.compile("adam", "sparse_categorical_crossentropy")``"""
        if loss is None:
            raise ValueError(f"Distiller {self.name!r}: compile() needs the student's loss, received loss=None.")
        if metrics is not None and not isinstance(metrics, (list, tuple)):
            raise ValueError(f"Distiller {self.name!r}: expected metrics as a list or tuple, received {metrics!r}.")
        self._student_loss = tree.map_structure(lambda item: _as_loss(item, f"Distiller {self.name!r}"), loss)
        super().compile(optimizer=optimizer, loss=None, metrics=metrics, **kwargs)

    def call(self, inputs: Any, training: Any = None, **kwargs: Any) -> Any:
        """The student's outputs."""
        return self.student(inputs, training=training, **kwargs)

    def compute_loss(self, x: Any = None, y: Any = None, y_pred: Any = None, sample_weight: Any = None,
                     training: bool = True) -> Any:
        """``w * student_loss + (1 - w) * distillation_loss``; updates the
        three trackers. Example: ``distiller.compute_loss(x, y, distiller(x))``"""
        if not hasattr(self, "_student_loss"):
            raise RuntimeError(f"Distiller {self.name!r}: call compile() before compute_loss().")
        if y_pred is None:
            y_pred = self(x, training=training)
        w = self.student_loss_weight
        student_loss: Any = 0.0
        if w > 0.0 and y is not None:
            parts = tree.flatten(tree.map_structure(lambda fn, true, pred: fn(true, pred), self._student_loss, y,
                                                    y_pred))
            student_loss = parts[0] if len(parts) == 1 else ops.sum(ops.stack(parts))
            if len(ops.shape(student_loss)) > 0:
                student_loss = ops.mean(student_loss)
        distillation_loss: Any = 0.0
        if w < 1.0:
            teacher_features = self._features(self._teacher_feature_extractor, self.teacher, x, False, None)
            student_features = self._features(self._student_feature_extractor, None, x, training, y_pred)
            for loss, weight in zip(self.distillation_losses, self.distillation_loss_weights):
                teacher_out = teacher_features[getattr(loss, "teacher_layer_name", None) or _FINAL]
                named = getattr(loss, "teacher_layer_name", None) is not None
                student_out = student_features[getattr(loss, "student_layer_name", None) or _FINAL] if named \
                    else y_pred
                loss.validate_outputs(teacher_out, student_out)
                value = loss.compute_loss(teacher_out, student_out)
                if len(ops.shape(value)) > 0:
                    raise ValueError(f"Distiller {self.name!r}: {type(loss).__name__}.compute_loss must return a "
                                     f"scalar, returned shape {tuple(ops.shape(value))}.")
                distillation_loss = ops.add(distillation_loss, ops.multiply(weight, value))
        total = ops.add(ops.multiply(w, student_loss), ops.multiply(1.0 - w, distillation_loss))
        self.student_loss_tracker.update_state(student_loss)
        self.distillation_loss_tracker.update_state(distillation_loss)
        self.total_loss_tracker.update_state(total)
        return total

    def _features(self, extractor: Model | None, model: Model | None, x: Any, training: Any, y_pred: Any) -> dict:
        if extractor is not None:
            return extractor(x, training=training)
        return {_FINAL: model(x, training=training) if model is not None else y_pred}

    def reset_metrics(self) -> None:
        """Reset the compiled metrics and the three loss trackers."""
        super().reset_metrics()
        for tracker in (self.student_loss_tracker, self.distillation_loss_tracker, self.total_loss_tracker):
            tracker.reset_state()

    def get_compile_config(self) -> dict[str, Any] | None:
        """The compile config with the student's loss (``compile`` keeps it
        apart from the trainer's), so a saved distiller reloads compiled."""
        config = super().get_compile_config()
        if config is not None and hasattr(self, "_student_loss"):
            config["loss"] = tree.map_structure(losses_module.serialize, self._student_loss)
        return config

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "trainable": self.trainable, "dtype": self.dtype,
                "teacher": registry.serialize(self.teacher), "student": registry.serialize(self.student),
                "distillation_losses": [registry.serialize(loss) for loss in self.distillation_losses],
                "distillation_loss_weights": list(self.distillation_loss_weights),
                "student_loss_weight": self.student_loss_weight}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Mapping[str, Any] | None = None) -> Distiller:
        config = dict(config)
        custom_objects = dict(custom_objects or {})
        config["teacher"] = layers_module.deserialize(config["teacher"], custom_objects)
        config["student"] = layers_module.deserialize(config["student"], custom_objects)
        config["distillation_losses"] = [registry.deserialize(loss, custom_objects, _LOSS_CLASSES,
                                                              kind="distillation loss")
                                         for loss in config["distillation_losses"]]
        return cls(**config)


def _feature_extractor(model: Model, losses: list[DistillationLoss], attribute: str) -> Model | None:
    """One graph model giving the final output and every named layer's
    output in a single pass (None when no loss names a layer)."""
    names: list[str] = []
    for loss in losses:
        name = getattr(loss, attribute, None)
        if name and name not in names:
            names.append(name)
    if not names:
        return None
    if not getattr(model, "inputs", None):
        raise ValueError(f"Distiller: cannot extract the features of {model.name!r}: it has no symbolic inputs "
                         "(a subclassed or unbuilt model).")
    final = model.layers[-1].output if isinstance(model, Sequential) else model.output
    outputs = {_FINAL: final, **{name: model.get_layer(name=name).output for name in names}}
    return Model(inputs=model.inputs, outputs=outputs, name=f"{model.name}_multi_feature_extractor")
