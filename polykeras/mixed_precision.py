"""``keras.mixed_precision``: the global dtype policy and loss scaling.

Example:
    >>> from polykeras import mixed_precision
    >>> mixed_precision.set_global_policy("mixed_bfloat16")   # new layers compute in bfloat16
    >>> mixed_precision.global_policy().compute_dtype
    'bfloat16'
    >>> mixed_precision.set_global_policy("float32")
"""

from __future__ import annotations

from polykeras.dtype_policies.policy import DTypePolicy, dtype_policy, set_dtype_policy
from polykeras.optimizers.loss_scale_optimizer import LossScaleOptimizer

__all__ = ["DTypePolicy", "LossScaleOptimizer", "Policy", "dtype_policy", "global_policy", "set_dtype_policy",
           "set_global_policy"]

#: Keras 3's older name for :class:`DTypePolicy`.
Policy = DTypePolicy
#: Keras 3's older names for the global policy's getter and setter.
global_policy = dtype_policy
set_global_policy = set_dtype_policy

