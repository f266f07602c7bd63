"""The ``optimizers`` family: every built-in optimizer, from the same weights
and the same gradients, makes the same update on every engine as on the
NumPy engine: weights, every slot and the iteration count after each of a
few ``apply`` calls ("transcendental" tolerance: an update is a few
multiplies, a square root and a division). Also once eagerly and once inside
the engine's compiled function (``ops.jit`` + ``stateless_apply``). Rows with
``gradient_accumulation_steps`` / ``use_ema`` compare the accumulators and
averages too (they are slots), and both counters.

A built-in optimizer class (``polykeras.optimizers.BUILTINS``) without a case
is a failing "no conformance case" row.

Example:
    >>> [c.name for c in optimizer_checks()][:2]
    ['Adadelta', 'Adagrad']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import polykeras.backends as B
from conformance.checks.base import Check, Context

__all__ = ["OPTIMIZER_CASES", "optimizer_checks"]

STEPS = 3
SHAPES = [(3, 2), (2,), (4,)]

#: row name -> (class name, constructor arguments)
OPTIMIZER_CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "SGD": ("SGD", {"learning_rate": 0.05}),
    "SGD(momentum, nesterov)": ("SGD", {"learning_rate": 0.05, "momentum": 0.8, "nesterov": True}),
    "SGD(clipvalue)": ("SGD", {"learning_rate": 0.05, "momentum": 0.9, "clipvalue": 0.5}),
    "Adam": ("Adam", {"learning_rate": 0.01}),
    "Adam(amsgrad, clipnorm)": ("Adam", {"learning_rate": 0.01, "beta_1": 0.8, "amsgrad": True, "clipnorm": 1.0}),
    "Adam(schedule, global_clipnorm)": ("Adam", {"learning_rate": {"class_name": "ExponentialDecay", "config": {
        "initial_learning_rate": 0.02, "decay_steps": 2, "decay_rate": 0.5}}, "global_clipnorm": 1.5}),
    "AdamW": ("AdamW", {"learning_rate": 0.01, "weight_decay": 0.05}),
    "Adamax": ("Adamax", {"learning_rate": 0.01}),
    "Nadam": ("Nadam", {"learning_rate": 0.01}),
    "RMSprop": ("RMSprop", {"learning_rate": 0.01}),
    "RMSprop(momentum, centered)": ("RMSprop", {"learning_rate": 0.01, "momentum": 0.5, "centered": True}),
    "Adagrad": ("Adagrad", {"learning_rate": 0.05}),
    "Adadelta": ("Adadelta", {"learning_rate": 1.0, "rho": 0.9}),
    "Lion": ("Lion", {"learning_rate": 0.01, "weight_decay": 0.01}),
    "Ftrl": ("Ftrl", {"learning_rate": 0.05, "l1_regularization_strength": 0.01,
                      "l2_regularization_strength": 0.01}),
    "Lamb": ("Lamb", {"learning_rate": 0.01}),
    "Adafactor": ("Adafactor", {"learning_rate": 0.01}),
    "ScheduleFreeAdamW": ("ScheduleFreeAdamW", {"learning_rate": 0.01}),
    "ScheduleFreeAdamW(warmup_steps)": ("ScheduleFreeAdamW", {"learning_rate": 0.01, "warmup_steps": 2}),
    "Muon": ("Muon", {"learning_rate": 0.01}),
    "RMSprop(momentum, gradient_accumulation_steps)": ("RMSprop", {"learning_rate": 0.01, "momentum": 0.9,
                                                                   "gradient_accumulation_steps": 2}),
    "Adam(use_ema, ema_overwrite_frequency)": ("Adam", {"learning_rate": 0.01, "use_ema": True, "ema_momentum": 0.8,
                                                        "ema_overwrite_frequency": 2}),
    "LossScaleOptimizer(SGD momentum)": ("LossScaleOptimizer", {
        "inner_optimizer": ("SGD", {"learning_rate": 0.05, "momentum": 0.9}), "initial_scale": 8.0,
        "dynamic_growth_steps": 2}),
    "MultiOptimizer(SGD, Adam for w0)": ("MultiOptimizer", {"optimizer_map": (
        ("SGD", {"learning_rate": 0.05, "momentum": 0.9}), {"w0": ("Adam", {"learning_rate": 0.01})})}),
    "AdamW(gradient_accumulation_steps, use_ema)": ("AdamW", {"learning_rate": 0.01, "weight_decay": 0.05,
                                                              "gradient_accumulation_steps": 2, "use_ema": True,
                                                              "ema_momentum": 0.5}),
}


def _data(seed: int) -> tuple[list[np.ndarray], list[list[np.ndarray]]]:
    rng = np.random.default_rng(seed + 31)
    weights = [rng.uniform(-1.0, 1.0, s).astype("float32") for s in SHAPES]
    # Kept away from 0 so Lion's sign(...) is not decided by rounding.
    grads = [[(rng.choice([-1.0, 1.0], s) * rng.uniform(0.2, 2.0, s)).astype("float32") for s in SHAPES]
             for _ in range(STEPS)]
    return weights, grads


def _make(label: str) -> Any:
    from polykeras import optimizers

    cls_name, kwargs = OPTIMIZER_CASES[label]
    kwargs = dict(kwargs)
    if isinstance(kwargs.get("learning_rate"), dict):
        schedule = kwargs["learning_rate"]
        kwargs["learning_rate"] = getattr(optimizers.schedules, schedule["class_name"])(**schedule["config"])
    if isinstance(kwargs.get("inner_optimizer"), tuple):  # a wrapper: (class name, arguments) of the inner one
        inner_name, inner_kwargs = kwargs["inner_optimizer"]
        kwargs["inner_optimizer"] = optimizers.BUILTINS[inner_name](**inner_kwargs)
    if isinstance(kwargs.get("optimizer_map"), tuple):  # (default, {variable path pattern: optimizer}), each a pair
        (default_name, default_kwargs), chosen = kwargs["optimizer_map"]
        kwargs["optimizer_map"] = optimizers.OptimizerMap(
            optimizers.BUILTINS[default_name](**default_kwargs),
            {pattern: optimizers.BUILTINS[name](**args) for pattern, (name, args) in chosen.items()})
    return optimizers.BUILTINS[cls_name](**kwargs)


def _trajectory(label: str, engine: str, seed: int, compiled: bool) -> list[dict[str, np.ndarray]]:
    """Weights, slots and iterations after each step, on ``engine``."""
    from polykeras import ops
    from polykeras.variables import Variable

    weights, grads = _data(seed)
    out = []
    with B.use(engine):
        variables = [Variable(w, name=f"w{i}") for i, w in enumerate(weights)]
        opt = _make(label)
        opt.build(variables)
        def pure_step(opt_values: list[Any], grads: list[Any], values: list[Any]) -> tuple[list[Any], list[Any]]:
            return opt.stateless_apply(opt_values, grads, values)

        step = ops.jit(pure_step) if compiled else None
        for step_grads in grads:
            tensors = [ops.convert_to_tensor(g) for g in step_grads]
            if step is None:
                opt.apply(tensors, variables)
            else:
                new_values, new_opt = step([v.value for v in opt.variables], tensors, [v.value for v in variables])
                for v, value in zip(variables, new_values):
                    v.assign(value)
                for v, value in zip(opt.variables, new_opt):
                    v.assign(value)
            state = {f"w{i}": np.asarray(v.numpy()) for i, v in enumerate(variables)}
            for i, v in enumerate(variables):
                for slot, var in sorted(opt.slots_for(v).items()):
                    state[f"{slot} of w{i}"] = np.asarray(var.numpy())
            # With gradient accumulation ``iterations`` counts updates (a tensor); the calls are variables[0].
            state["iterations"] = np.asarray(ops.to_numpy(opt.iterations.value if isinstance(opt.iterations, Variable)
                                                          else opt.iterations))
            state["calls"] = np.asarray(opt.variables[0].numpy())
            out.append(state)
    return out


def _optimizer_check(label: str) -> Callable[[Context], str]:
    def run(ctx: Context) -> str:
        from polykeras import optimizers

        cls_name = OPTIMIZER_CASES[label][0] if label in OPTIMIZER_CASES else label
        if label not in OPTIMIZER_CASES:
            raise AssertionError(f"no conformance case: add {cls_name} to OPTIMIZER_CASES in "
                                 "conformance/checks/optimizers.py")
        if cls_name not in optimizers.BUILTINS:
            raise AssertionError(f"{cls_name} is not a built-in optimizer")
        key = ("optimizer", label, ctx.seed)
        if key not in ctx.cache:
            ctx.cache[key] = _trajectory(label, "numpy", ctx.seed, compiled=False)
        expected = ctx.cache[key]
        modes = [False] + ([True] if ctx.differentiable else [])
        for compiled in modes:
            got = _trajectory(label, ctx.engine, ctx.seed, compiled)
            how = "compiled" if compiled else "eager"
            for step, (mine, want) in enumerate(zip(got, expected), start=1):
                if sorted(mine) != sorted(want):
                    raise AssertionError(f"{label} ({how}): state {sorted(mine)}, numpy engine {sorted(want)}")
                for name in sorted(want):
                    ctx.meter.compare(mine[name], want[name], "transcendental",
                                      "float32" if name not in ("iterations", "calls") else mine[name].dtype.name,
                                      what=f"{label} ({how}) step {step}: {name} vs numpy")
        return "" if ctx.differentiable else "eager only: the engine has no compiler"
    return run


def optimizer_checks() -> list[Check]:
    """One row per case, plus a failing row per built-in class without one."""
    from polykeras import optimizers

    covered = {cls for cls, _ in OPTIMIZER_CASES.values()}
    labels = sorted(OPTIMIZER_CASES) + sorted(set(optimizers.BUILTINS) - covered)
    return [Check(label, "optimizers", _optimizer_check(label), (OPTIMIZER_CASES.get(label, (label,))[0],))
            for label in labels]
