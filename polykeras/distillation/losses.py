"""The distillation losses: what a :class:`~polykeras.distillation.Distiller`
minimises between the teacher's outputs (or features) and the student's.

A ``DistillationLoss`` takes ``compute_loss(teacher_outputs, student_outputs)``
and returns a scalar; its ``loss`` argument may be one loss or a structure of
them (one per output, ``None`` to skip one), a name, as Keras 3's
``keras.distillation`` losses, with the same numbers.

Example:
    >>> loss = LogitsDistillation(temperature=2.0, loss=losses.KLDivergence())
    >>> loss.compute_loss(teacher_logits, student_logits)   # a scalar tensor
"""

from __future__ import annotations

from typing import Any

from polykeras import losses as losses_module
from polykeras import ops, tree

__all__ = ["DistillationLoss", "FeatureDistillation", "LogitsDistillation"]


def _as_loss(item: Any, owner: str) -> Any:
    """A loss name becomes what ``losses.get`` gives (``"mse"`` the function,
    ``"MeanSquaredError"`` an instance); a callable or None stays."""
    if item is None or callable(item) and not isinstance(item, str):
        return item
    if isinstance(item, str):
        try:
            return losses_module.get(item)
        except ValueError as err:
            raise ValueError(f"{owner}: unknown loss {item!r} ({err}).") from None
    raise ValueError(f"{owner}: expected a loss (a name, a Loss or a function fn(y_true, y_pred)) or None, "
                     f"received {item!r}.")


def _losses(loss: Any, owner: str) -> Any:
    structure = tree.map_structure(lambda item: _as_loss(item, owner), loss)
    if all(item is None for item in tree.flatten(structure)):
        raise ValueError(f"{owner}: expected at least one loss that is not None, received loss={loss!r}.")
    return structure


def _sum(values: list[Any]) -> Any:
    total = ops.convert_to_tensor(0.0)
    for value in values:
        total = ops.add(total, value)
    return total


def _serialize(loss: Any) -> Any:
    return tree.map_structure(lambda item: None if item is None else losses_module.serialize(item), loss)


def _deserialize(config: Any) -> Any:
    if isinstance(config, (str, type(None))) or "class_name" in config:
        return None if config is None else losses_module.deserialize(config)
    if isinstance(config, dict):
        return {key: _deserialize(value) for key, value in config.items()}
    return [_deserialize(value) for value in config]


class DistillationLoss:
    """Base class: subclasses implement :meth:`compute_loss` (a scalar from
    the teacher's and the student's outputs or features).

    Example:
        >>> class L1(DistillationLoss):
        ...     def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
        ...         return ops.mean(ops.abs(teacher_outputs - student_outputs))
    """

    def compute_loss(self, teacher_outputs: Any, student_outputs: Any, **kwargs: Any) -> Any:
        """The distillation loss, a scalar tensor."""
        raise NotImplementedError(f"{type(self).__name__} must implement compute_loss(teacher_outputs, "
                                  "student_outputs).")

    def validate_outputs(self, teacher_outputs: Any, student_outputs: Any) -> None:
        """Refuse outputs of different structures (a ValueError naming both)."""
        try:
            tree.assert_same_structure(teacher_outputs, student_outputs)
        except (ValueError, TypeError) as err:
            raise ValueError(f"{type(self).__name__}: expected the teacher's and the student's outputs to have "
                             f"the same structure ({err}).") from None

    def validate_model_compatibility(self, teacher: Any, student: Any) -> None:
        """Refuse a teacher and student this loss cannot compare (default: none)."""

    def _check_loss_structure(self, outputs: Any) -> None:
        loss = getattr(self, "loss", None)
        try:
            tree.assert_same_structure(loss, outputs)
        except (ValueError, TypeError):
            raise ValueError(f"{type(self).__name__}: expected one loss per output, the losses {loss!r} do not "
                             f"match the outputs' structure ({_describe(outputs)}).") from None


def _describe(outputs: Any) -> str:
    return repr(tree.map_structure(lambda t: f"tensor{tuple(ops.shape(t))}", outputs))


class LogitsDistillation(DistillationLoss):
    """The student's logits against the teacher's, both divided by
    ``temperature``: ``mean(loss(teacher / T, student / T))`` per output,
    summed. A :class:`~polykeras.losses.KLDivergence` *instance* compares the
    softmax probabilities and is scaled by ``T**2`` (Hinton et al.); every
    other loss, a loss *name* included (``"kl_divergence"`` is the plain
    function, as in Keras 3), sees the scaled logits.

    Args:
        temperature: a positive number (default 3.0).
        loss: a loss, a name, or a structure of them matching the outputs
            (``None`` skips an output); default ``"kl_divergence"``.

    Example:
        >>> distiller = Distiller(teacher, student, LogitsDistillation(4.0, losses.KLDivergence()))
    """

    def __init__(self, temperature: float = 3.0, loss: Any = "kl_divergence"):
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
            raise ValueError(f"LogitsDistillation: expected a number temperature, received "
                             f"temperature={temperature!r}.")
        if temperature <= 0:
            raise ValueError(f"LogitsDistillation: expected a positive temperature, received "
                             f"temperature={temperature!r}.")
        self.temperature = temperature
        self.loss = _losses(loss, "LogitsDistillation")

    def validate_outputs(self, teacher_outputs: Any, student_outputs: Any) -> None:
        super().validate_outputs(teacher_outputs, student_outputs)
        self._check_loss_structure(teacher_outputs)

    def compute_loss(self, teacher_outputs: Any, student_outputs: Any, **kwargs: Any) -> Any:
        """``sum`` over outputs of ``mean(loss(teacher / T, student / T))``
        (softmax and ``T**2`` for a ``KLDivergence`` instance)."""
        t = self.temperature

        def one(loss: Any, teacher: Any, student: Any) -> Any:
            if loss is None:
                return None
            teacher, student = ops.divide(teacher, t), ops.divide(student, t)
            if isinstance(loss, losses_module.KLDivergence):
                value = ops.mean(loss(ops.softmax(teacher, axis=-1), ops.softmax(student, axis=-1)))
                return ops.multiply(value, float(t) ** 2)
            return ops.mean(loss(teacher, student))

        values = tree.flatten(tree.map_structure(one, self.loss, teacher_outputs, student_outputs))
        return _sum([v for v in values if v is not None])

    def get_config(self) -> dict[str, Any]:
        return {"temperature": self.temperature, "loss": _serialize(self.loss)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LogitsDistillation:
        config = dict(config)
        config["loss"] = _deserialize(config.get("loss", "kl_divergence"))
        return cls(**config)


class FeatureDistillation(DistillationLoss):
    """The student's features against the teacher's: the outputs of the
    layers named ``teacher_layer_name`` / ``student_layer_name`` (the models'
    final outputs where None), ``mean(loss(teacher, student))`` per output,
    summed. Naming layers needs functional or Sequential models.

    Args:
        loss: a loss, a name, or a structure of them (``None`` skips an
            output); default ``"mse"``.
        teacher_layer_name: the teacher's layer whose output is compared.
        student_layer_name: the student's layer whose output is compared.

    Example:
        >>> FeatureDistillation("mse", teacher_layer_name="features", student_layer_name="features")
    """

    def __init__(self, loss: Any = "mse", teacher_layer_name: str | None = None,
                 student_layer_name: str | None = None):
        for what, value in (("teacher_layer_name", teacher_layer_name), ("student_layer_name", student_layer_name)):
            if value is not None and not isinstance(value, str):
                raise ValueError(f"FeatureDistillation: expected a layer name or None, received {what}={value!r}.")
        self.teacher_layer_name = teacher_layer_name
        self.student_layer_name = student_layer_name
        self.loss = _losses(loss, "FeatureDistillation")

    def validate_model_compatibility(self, teacher: Any, student: Any) -> None:
        """Named layers need graph models that have them."""
        for role, model, layer_name in (("teacher", teacher, self.teacher_layer_name),
                                        ("student", student, self.student_layer_name)):
            if layer_name is None:
                continue
            if not getattr(model, "inputs", None):
                raise ValueError(f"FeatureDistillation: a {role}_layer_name needs a functional or Sequential "
                                 f"{role} with symbolic inputs; the {role} {model.name!r} has none (subclassed "
                                 "or not built). Compare the final outputs (no layer names) or use "
                                 "LogitsDistillation.")
            try:
                model.get_layer(name=layer_name)
            except ValueError as err:
                raise ValueError(f"FeatureDistillation: in the {role} model: {err}") from None

    def validate_outputs(self, teacher_outputs: Any, student_outputs: Any) -> None:
        super().validate_outputs(teacher_outputs, student_outputs)
        self._check_loss_structure(teacher_outputs)

    def compute_loss(self, teacher_outputs: Any, student_outputs: Any, **kwargs: Any) -> Any:
        """``sum`` over features of ``mean(loss(teacher, student))``."""

        def one(loss: Any, teacher: Any, student: Any) -> Any:
            return None if loss is None else ops.mean(loss(teacher, student))

        values = tree.flatten(tree.map_structure(one, self.loss, teacher_outputs, student_outputs))
        return _sum([v for v in values if v is not None])

    def get_config(self) -> dict[str, Any]:
        return {"loss": _serialize(self.loss), "teacher_layer_name": self.teacher_layer_name,
                "student_layer_name": self.student_layer_name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> FeatureDistillation:
        config = dict(config)
        config["loss"] = _deserialize(config.get("loss", "mse"))
        return cls(**config)
