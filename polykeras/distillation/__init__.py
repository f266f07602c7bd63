"""``keras.distillation``: train a small student model on a frozen teacher.

Example:
    >>> from polykeras.distillation import Distiller, LogitsDistillation
    >>> distiller = Distiller(teacher, student, LogitsDistillation(temperature=3.0))
    >>> distiller.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    >>> distiller.fit(x, y)
"""

from polykeras.distillation.distiller import Distiller
from polykeras.distillation.losses import DistillationLoss, FeatureDistillation, LogitsDistillation

__all__ = ["DistillationLoss", "Distiller", "FeatureDistillation", "LogitsDistillation"]
