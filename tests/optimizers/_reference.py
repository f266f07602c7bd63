"""NumPy (float64) statements of the Keras 3 optimizer rules, written from
their published formulas, and the case table the tests share.

Each rule takes ``(w, g, state, t, lr, **hyper)`` for one variable at the
1-based step ``t`` and returns the new ``w``; ``state`` (slot name -> array)
is updated in place. ``shared`` holds per-optimizer (not per-variable) state.

Example:
    >>> state = init_state("Adam", {}, np.zeros(3))
    >>> w = RULES["Adam"](np.zeros(3), np.ones(3), state, 1, 1e-3)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def sgd(w, g, s, t, lr, momentum=0.0, nesterov=False):
    if not momentum:
        return w - lr * g
    s["momentum"] = momentum * s["momentum"] - lr * g
    if nesterov:
        return w + momentum * s["momentum"] - lr * g
    return w + s["momentum"]


def adam(w, g, s, t, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, **_):
    s["momentum"] = s["momentum"] + (g - s["momentum"]) * (1 - beta_1)
    s["velocity"] = s["velocity"] + (g * g - s["velocity"]) * (1 - beta_2)
    v = s["velocity"]
    if amsgrad:
        s["velocity_hat"] = np.maximum(s["velocity_hat"], v)
        v = s["velocity_hat"]
    alpha = lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
    return w - s["momentum"] * alpha / (np.sqrt(v) + epsilon)


def adamax(w, g, s, t, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    s["momentum"] = s["momentum"] + (g - s["momentum"]) * (1 - beta_1)
    s["norm"] = np.maximum(beta_2 * s["norm"], np.abs(g))
    return w - lr * s["momentum"] / ((1 - beta_1**t) * (s["norm"] + epsilon))


def nadam(w, g, s, t, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7, shared=None):
    def u(step):
        return beta_1 * (1 - 0.5 * 0.96**step)  # Keras 3: no 0.004 factor

    product = shared["u_product"]  # already includes u(t) (updated once per step)
    s["momentum"] = s["momentum"] + (g - s["momentum"]) * (1 - beta_1)
    s["velocity"] = s["velocity"] + (g * g - s["velocity"]) * (1 - beta_2)
    m_hat = u(t + 1) * s["momentum"] / (1 - product * u(t + 1)) + (1 - u(t)) * g / (1 - product)
    v_hat = s["velocity"] / (1 - beta_2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + epsilon)


def rmsprop(w, g, s, t, lr, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False):
    s["velocity"] = rho * s["velocity"] + (1 - rho) * g * g
    denominator = s["velocity"] + epsilon
    if centered:
        s["average_gradient"] = rho * s["average_gradient"] + (1 - rho) * g
        denominator = denominator - s["average_gradient"] ** 2
    step = lr * g / np.sqrt(denominator)
    if momentum:
        s["momentum"] = momentum * s["momentum"] + step
        return w - s["momentum"]
    return w - step


def adagrad(w, g, s, t, lr, initial_accumulator_value=0.1, epsilon=1e-7):
    s["accumulator"] = s["accumulator"] + g * g
    return w - lr * g / np.sqrt(s["accumulator"] + epsilon)


def adadelta(w, g, s, t, lr, rho=0.95, epsilon=1e-7):
    s["accumulated_grad"] = rho * s["accumulated_grad"] + (1 - rho) * g * g
    delta = -np.sqrt(s["accumulated_delta_var"] + epsilon) * g / np.sqrt(s["accumulated_grad"] + epsilon)
    s["accumulated_delta_var"] = rho * s["accumulated_delta_var"] + (1 - rho) * delta * delta
    return w + lr * delta


def lion(w, g, s, t, lr, beta_1=0.9, beta_2=0.99):
    new_w = w - lr * np.sign(beta_1 * g + (1 - beta_1) * s["momentum"])
    s["momentum"] = beta_2 * s["momentum"] + (1 - beta_2) * g
    return new_w


RULES: dict[str, Callable[..., np.ndarray]] = {
    "SGD": sgd, "Adam": adam, "AdamW": adam, "Adamax": adamax, "Nadam": nadam, "RMSprop": rmsprop,
    "Adagrad": adagrad, "Adadelta": adadelta, "Lion": lion,
}

#: Keras 3 defaults, the reference's own copy (the tests check the classes against it).
DEFAULT_LR = {"SGD": 0.01}

SLOTS: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "SGD": lambda k: ["momentum"] if k.get("momentum") else [],
    "Adam": lambda k: ["momentum", "velocity"] + (["velocity_hat"] if k.get("amsgrad") else []),
    "AdamW": lambda k: ["momentum", "velocity"] + (["velocity_hat"] if k.get("amsgrad") else []),
    "Adamax": lambda k: ["momentum", "norm"],
    "Nadam": lambda k: ["momentum", "velocity"],
    "RMSprop": lambda k: (["velocity"] + (["momentum"] if k.get("momentum") else [])
                          + (["average_gradient"] if k.get("centered") else [])),
    "Adagrad": lambda k: ["accumulator"],
    "Adadelta": lambda k: ["accumulated_grad", "accumulated_delta_var"],
    "Lion": lambda k: ["momentum"],
}

#: (case id, class name, constructor kwargs). Every rule and branch appears.
CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("sgd", "SGD", {}),
    ("sgd-momentum", "SGD", {"learning_rate": 0.05, "momentum": 0.9}),
    ("sgd-nesterov", "SGD", {"learning_rate": 0.05, "momentum": 0.8, "nesterov": True}),
    ("adam", "Adam", {}),
    ("adam-amsgrad", "Adam", {"learning_rate": 0.01, "beta_1": 0.8, "amsgrad": True}),
    ("adamw", "AdamW", {"learning_rate": 0.01}),
    ("adamax", "Adamax", {"learning_rate": 0.01}),
    ("nadam", "Nadam", {"learning_rate": 0.01}),
    ("rmsprop", "RMSprop", {}),
    ("rmsprop-momentum-centered", "RMSprop", {"learning_rate": 0.01, "momentum": 0.5, "centered": True}),
    ("adagrad", "Adagrad", {"learning_rate": 0.05}),
    ("adadelta", "Adadelta", {"learning_rate": 1.0, "rho": 0.9}),
    ("lion", "Lion", {"learning_rate": 0.01}),
]


def init_state(name: str, kwargs: dict[str, Any], w: np.ndarray) -> dict[str, np.ndarray]:
    """Zero slots (Adagrad's accumulator at its initial value) for one variable."""
    fill = kwargs.get("initial_accumulator_value", 0.1) if name == "Adagrad" else 0.0
    return {slot: np.full(w.shape, fill, np.float64) for slot in SLOTS[name](kwargs)}


def run(name: str, kwargs: dict[str, Any], weights: list[np.ndarray], grads: list[list[np.ndarray]],
        weight_decay: float | None = None) -> list[tuple[list[np.ndarray], list[dict[str, np.ndarray]]]]:
    """Apply the rule for each step's gradients; returns (weights, slots) after each step."""
    hyper = {k: v for k, v in kwargs.items() if k not in ("learning_rate", "weight_decay")}
    lr = kwargs.get("learning_rate", DEFAULT_LR.get(name, 0.001))
    if weight_decay is None:
        weight_decay = kwargs.get("weight_decay", 0.004 if name == "AdamW" else None)
    ws = [np.asarray(w, np.float64) for w in weights]
    states = [init_state(name, kwargs, w) for w in ws]
    shared = {"u_product": 1.0}
    history = []
    for t, step_grads in enumerate(grads, start=1):
        if name == "Nadam":
            beta_1 = kwargs.get("beta_1", 0.9)
            shared["u_product"] *= beta_1 * (1 - 0.5 * 0.96**t)
            hyper["shared"] = shared
        if weight_decay:
            ws = [w - w * weight_decay * lr for w in ws]
        ws = [RULES[name](w, np.asarray(g, np.float64), s, t, lr, **hyper) for w, g, s in zip(ws, step_grads, states)]
        history.append(([w.copy() for w in ws], [{k: v.copy() for k, v in s.items()} for s in states]))
    return history


def run_averaged(name: str, kwargs: dict[str, Any], weights: list[np.ndarray], grads: list[list[np.ndarray]],
                 lr_at: Callable[[int], float] | None = None) -> list[dict[str, Any]]:
    """Keras 3's ``BaseOptimizer.apply`` with ``gradient_accumulation_steps``
    and ``use_ema`` (read from ``kwargs``) around the rule; ``lr_at(calls)``
    gives a schedule's rate. After each call: ``weights``, ``slots``,
    ``accumulators``, ``averages``, ``calls`` and ``updates`` (Keras'
    ``optimizer.iterations``: calls // n with accumulation).

    The counting rules: a call updates when ``(calls + 1) % n == 0``, with the
    mean of the n gradients; the rule's step ``t`` is ``updates + 1``; the
    schedule sees ``calls``; the EMA runs after every call with momentum 0
    while ``updates == 0``, and overwrites the weights when
    ``(updates + 1) % ema_overwrite_frequency == 0``.
    """
    extras = ("gradient_accumulation_steps", "use_ema", "ema_momentum", "ema_overwrite_frequency")
    rule_kwargs = {k: v for k, v in kwargs.items() if k not in extras}
    hyper = {k: v for k, v in rule_kwargs.items() if k not in ("learning_rate", "weight_decay")}
    base_lr = rule_kwargs.get("learning_rate", DEFAULT_LR.get(name, 0.001))
    lr_at = lr_at or (lambda calls: base_lr)
    weight_decay = rule_kwargs.get("weight_decay", 0.004 if name == "AdamW" else None)
    n = kwargs.get("gradient_accumulation_steps") or 1
    momentum, every = kwargs.get("ema_momentum", 0.99), kwargs.get("ema_overwrite_frequency")
    ws = [np.asarray(w, np.float64) for w in weights]
    states = [init_state(name, rule_kwargs, w) for w in ws]
    accumulators = [np.zeros_like(w) for w in ws]
    averages = [np.zeros_like(w) for w in ws]
    shared = {"u_product": 1.0}
    history = []
    for calls, step_grads in enumerate(grads):
        updates = calls // n
        gs = [np.asarray(g, np.float64) for g in step_grads]
        if (calls + 1) % n == 0:
            gs = [(g + a) / n for g, a in zip(gs, accumulators)]
            accumulators = [np.zeros_like(a) for a in accumulators]
            t, lr = updates + 1, lr_at(calls)
            if name == "Nadam":
                shared["u_product"] *= hyper.get("beta_1", 0.9) * (1 - 0.5 * 0.96**t)
                hyper["shared"] = shared
            if weight_decay:
                ws = [w - w * weight_decay * lr for w in ws]
            ws = [RULES[name](w, g, s, t, lr, **hyper) for w, g, s in zip(ws, gs, states)]
        else:
            accumulators = [a + g for a, g in zip(accumulators, gs)]
        if kwargs.get("use_ema"):
            m = 0.0 if updates == 0 else momentum
            averages = [m * a + (1 - m) * w for a, w in zip(averages, ws)]
            if every and (updates + 1) % every == 0:
                ws = [a.copy() for a in averages]
        history.append({"weights": [w.copy() for w in ws], "slots": [dict(s) for s in states],
                        "accumulators": list(accumulators), "averages": list(averages),
                        "calls": calls + 1, "updates": (calls + 1) // n})
    return history
