"""Training: the engine-neutral step, its compilation, data adapters and
``compile``/``fit``/``evaluate``/``predict`` (the :class:`Trainer` mixin of
``Model``). It sits beside ``models/``: ``Model`` composes ``Trainer``, which
depends only on the floors below (ops, variables, losses, metrics, optimizers).
"""

from polykeras.trainers.step import compile_step
from polykeras.trainers.trainer import Trainer

__all__ = ["Trainer", "compile_step"]
