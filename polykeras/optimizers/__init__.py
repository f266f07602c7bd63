"""Optimizers and learning-rate schedules (Keras 3 names, defaults and rules).

Every optimizer keeps its state in Variables named after the variables it
trains (``adam/dense_kernel_momentum``, as Keras 3 names them) and updates
them only through ops, so one ``apply`` runs eagerly, under ``tf.function``
and under ``jax.jit`` (see ``optimizer.py`` and README.md).

Example:
    >>> from polykeras import optimizers
    >>> opt = optimizers.get("adam")                      # Adam(learning_rate=0.001)
    >>> opt = optimizers.deserialize(optimizers.serialize(opt))
"""

from __future__ import annotations

from typing import Any

from polykeras.optimizers import schedules
from polykeras.optimizers.adafactor import Adafactor
from polykeras.optimizers.adagrad import Adadelta, Adagrad
from polykeras.optimizers.adam import Adam, Adamax, AdamW, Nadam
from polykeras.optimizers.ftrl import Ftrl
from polykeras.optimizers.lamb import Lamb
from polykeras.optimizers.lion import Lion
from polykeras.optimizers.loss_scale_optimizer import LossScaleOptimizer
from polykeras.optimizers.muon import Muon
from polykeras.optimizers.multi_optimizer import MultiOptimizer, OptimizerMap
from polykeras.optimizers.clipping import clip_by_global_norm, clip_by_norm, global_norm
from polykeras.optimizers.optimizer import Optimizer
from polykeras.optimizers.rmsprop import RMSprop
from polykeras.optimizers.schedule_free import ScheduleFreeAdamW
from polykeras.optimizers.schedules import LearningRateSchedule
from polykeras.optimizers.sgd import SGD

__all__ = [
    "SGD",
    "Adadelta",
    "Adafactor",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "Ftrl",
    "Lamb",
    "LearningRateSchedule",
    "Lion",
    "LossScaleOptimizer",
    "Muon",
    "MultiOptimizer",
    "Nadam",
    "Optimizer",
    "OptimizerMap",
    "RMSprop",
    "ScheduleFreeAdamW",
    "clip_by_global_norm",
    "clip_by_norm",
    "deserialize",
    "get",
    "global_norm",
    "schedules",
    "serialize",
]

#: Built-in optimizers by class name; :func:`get` also accepts these lowercased.
BUILTINS: dict[str, type[Optimizer]] = {
    cls.__name__: cls for cls in (SGD, Adam, AdamW, Adamax, Nadam, RMSprop, Adagrad, Adadelta, Lion, Ftrl, Lamb,
                                    Adafactor, ScheduleFreeAdamW, Muon)
}
_LOWER = {name.lower(): cls for name, cls in BUILTINS.items()}
# Found by class name in configs, never by a bare name: they need arguments.
BUILTINS["MultiOptimizer"] = MultiOptimizer
BUILTINS["LossScaleOptimizer"] = LossScaleOptimizer


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    """JSON-safe ``{"module", "class_name", "config", "registered_name"}``.

    Example: ``serialize(Adam())["class_name"]`` -> ``'Adam'``
    """
    from polykeras import registry

    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizers.serialize: expected an Optimizer, received {optimizer!r}.")
    return registry.serialize(optimizer)


def deserialize(config: dict[str, Any] | str, custom_objects: dict[str, Any] | None = None) -> Optimizer:
    """An optimizer from :func:`serialize`'s output or a name (``"adam"``).
    Only built-ins, registered classes and ``custom_objects`` are found.

    Example: ``deserialize({"class_name": "SGD", "config": {"learning_rate": 0.1}})``
    """
    from polykeras import registry

    if isinstance(config, str):
        # A built-in (every one has a default learning rate) or any registered callable.
        cls: Any = _LOWER.get(config.lower()) or registry.get_registered_object(config, custom_objects)
        if cls is None:
            raise ValueError(f"Unknown optimizer {config!r}. Expected one of: "
                             f"{', '.join(sorted(_LOWER))}, or a registered/custom optimizer name.")
        return cls()
    if isinstance(config, dict) and isinstance(config.get("class_name"), str) and "config" in config:
        name = config.get("registered_name") or config["class_name"]
        cls = (registry.get_registered_object(name, custom_objects, BUILTINS)
               or _LOWER.get(config["class_name"].lower()))
        if cls is None:
            raise ValueError(f"Unknown optimizer {name!r}: expected a built-in ({', '.join(BUILTINS)}), a "
                             "registered class or one in custom_objects.")
        with registry.custom_object_scope(custom_objects or {}):
            return cls.from_config(dict(config["config"] or {}))
    raise ValueError(f"optimizers.deserialize: expected a name or a dict with 'class_name' and 'config', "
                     f"received {config!r}.")


def get(identifier: Any) -> Optimizer:
    """An optimizer from an instance (returned as is), a name (``"adam"``,
    ``"SGD"``) or a config dict.

    Example: ``get("rmsprop").learning_rate``
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    raise ValueError(f"Could not interpret optimizer identifier: expected an Optimizer, a name such as "
                     f"'adam' or a config dict, received {identifier!r}.")
