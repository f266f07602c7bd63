"""TensorFlow engine, part 7: the optimizer rules on TF's fused training kernels.

The protocol's ``sgd_update`` / ``adam_update`` / ``rmsprop_update`` are Keras
3's rules over lists of tensors. When the optimizer allows it (``inplace=True``:
outside any StatelessScope, the values being the variables' own ``tf.Variable``
handles) and every handle shares one float dtype, each variable is updated by
one ``ResourceApply*`` kernel (``ApplyAdam``, ``ApplyKerasMomentum``,
``ApplyRMSProp``...), which compute exactly these rules, instead of a dozen
elementwise ops. Otherwise the portable definitions in
:class:`~polykeras.backends.base.Backend` run.

Example:
    >>> engine = B.get("tensorflow")
    >>> w = [tf.Variable([1.0, 1.0])]
    >>> engine.sgd_update(w, [tf.ones(2)], [], tf.constant(0.5), inplace=True)[0][0] is w[0]
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import tensorflow as tf

from polykeras.backends.tensorflow.core import R, convert, in_place

Tensors = Sequence[Any]
#: dtypes TF's CPU training kernels are registered for.
_FUSED = frozenset({tf.float16, tf.bfloat16, tf.float32, tf.float64})


def _handles(*groups: Tensors | None) -> bool:
    """True when every entry of the groups is a ``tf.Variable`` of the first
    one's float dtype that a kernel may update in place (see :func:`in_place`)."""
    first = groups[0][0] if groups[0] else None
    if not isinstance(first, tf.Variable) or first.dtype not in _FUSED:
        return False
    dtype = first.dtype
    for group in groups:
        for v in group or ():
            if not isinstance(v, tf.Variable) or v.dtype != dtype or not in_place(v) or not hasattr(v, "handle"):
                return False
    return True


def _dense(grads: Tensors, dtype: tf.DType) -> list[Any]:
    """Gradients as dense tensors of ``dtype`` (IndexedSlices from a gather densified)."""
    out = []
    for g in grads:
        if isinstance(g, tf.IndexedSlices):
            g = tf.convert_to_tensor(g)
        out.append(convert(g, dtype))
    return out


class TensorflowOptimizers:
    """Fused optimizer kernels of the TensorFlow engine (see
    :class:`polykeras.backends.tensorflow.TensorflowBackend`)."""

    def sgd_update(self, variables: Tensors, grads: Tensors, momentums: Tensors, learning_rate: Any,
                   momentum: float = 0.0, nesterov: bool = False, inplace: bool = False) -> Any:
        if not (inplace and _handles(variables, momentums if momentum else None)):
            return super().sgd_update(variables, grads, momentums, learning_rate,  # type: ignore[misc]
                                      momentum=momentum, nesterov=nesterov, inplace=inplace)
        dtype = variables[0].dtype
        lr = convert(learning_rate, dtype)
        grads = _dense(grads, dtype)
        if not momentum:
            for w, g in zip(variables, grads):
                R.ResourceApplyGradientDescent(var=w.handle, alpha=lr, delta=g, use_locking=False)
            return list(variables), []
        mu = convert(float(momentum), dtype)
        for w, m, g in zip(variables, momentums, grads):
            R.ResourceApplyKerasMomentum(var=w.handle, accum=m.handle, lr=lr, grad=g, momentum=mu,
                                         use_locking=False, use_nesterov=bool(nesterov))
        return list(variables), list(momentums)

    def adam_update(self, variables: Tensors, grads: Tensors, momentums: Tensors, velocities: Tensors,
                    learning_rate: Any, step: Any, beta_1: float = 0.9, beta_2: float = 0.999,
                    epsilon: float = 1e-7, velocity_hats: Tensors | None = None, inplace: bool = False) -> Any:
        if not (inplace and _handles(variables, momentums, velocities, velocity_hats)):
            return super().adam_update(variables, grads, momentums, velocities, learning_rate, step,  # type: ignore[misc]
                                       beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                                       velocity_hats=velocity_hats, inplace=inplace)
        dtype = variables[0].dtype
        t = convert(step, dtype)
        b1, b2 = convert(float(beta_1), dtype), convert(float(beta_2), dtype)
        b1_power, b2_power = R.Pow(x=b1, y=t), R.Pow(x=b2, y=t)
        lr, eps = convert(learning_rate, dtype), convert(float(epsilon), dtype)
        grads = _dense(grads, dtype)
        if velocity_hats is None:
            for w, m, v, g in zip(variables, momentums, velocities, grads):
                R.ResourceApplyAdam(var=w.handle, m=m.handle, v=v.handle, beta1_power=b1_power,
                                    beta2_power=b2_power, lr=lr, beta1=b1, beta2=b2, epsilon=eps, grad=g,
                                    use_locking=False, use_nesterov=False)
            return list(variables), list(momentums), list(velocities), None
        for w, m, v, h, g in zip(variables, momentums, velocities, velocity_hats, grads):
            R.ResourceApplyAdamWithAmsgrad(var=w.handle, m=m.handle, v=v.handle, vhat=h.handle,
                                           beta1_power=b1_power, beta2_power=b2_power, lr=lr, beta1=b1,
                                           beta2=b2, epsilon=eps, grad=g, use_locking=False)
        return list(variables), list(momentums), list(velocities), list(velocity_hats)

    def rmsprop_update(self, variables: Tensors, grads: Tensors, velocities: Tensors, momentums: Tensors,
                       average_gradients: Tensors, learning_rate: Any, rho: float = 0.9, momentum: float = 0.0,
                       epsilon: float = 1e-7, centered: bool = False, inplace: bool = False) -> Any:
        # TF's kernels always carry a momentum accumulator: without one, the portable rule.
        if not (inplace and momentum > 0
                and _handles(variables, velocities, momentums, average_gradients if centered else None)):
            return super().rmsprop_update(variables, grads, velocities, momentums,  # type: ignore[misc]
                                          average_gradients, learning_rate, rho=rho, momentum=momentum,
                                          epsilon=epsilon, centered=centered, inplace=inplace)
        dtype = variables[0].dtype
        lr, decay = convert(learning_rate, dtype), convert(float(rho), dtype)
        mu, eps = convert(float(momentum), dtype), convert(float(epsilon), dtype)
        grads = _dense(grads, dtype)
        for i, (w, v, m, g) in enumerate(zip(variables, velocities, momentums, grads)):
            if centered:
                R.ResourceApplyCenteredRMSProp(var=w.handle, mg=average_gradients[i].handle, ms=v.handle,
                                               mom=m.handle, lr=lr, rho=decay, momentum=mu, epsilon=eps,
                                               grad=g, use_locking=False)
            else:
                R.ResourceApplyRMSProp(var=w.handle, ms=v.handle, mom=m.handle, lr=lr, rho=decay, momentum=mu,
                                       epsilon=eps, grad=g, use_locking=False)
        return list(variables), list(velocities), list(momentums), list(average_gradients) if centered else []
