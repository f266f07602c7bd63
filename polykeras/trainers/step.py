"""Compiling a step the engine's best way.

A step reads and assigns :class:`~polykeras.Variable` s. Engines whose
compiler handles in-place assignment (``Backend.jit_is_stateful``:
tf.function, eager torch) run it as is, compiled by ``engine.jit``. Where
compiled functions must be pure (JAX; ``torch.compile``) the step is
*functionalised*: the variables' values go in as arguments, a :class:`~polykeras.variables.StatelessScope`
redirects every read and assign, and the new values come out,

    pure_step(state, batch) -> (new_state, logs)

which ``engine.jit`` compiles with the old state donated; the new values are
written back to the variables after each call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from polykeras import backends
from polykeras.variables import StatelessScope, Variable


def compile_step(step: Callable[[Any], Any], state: Sequence[Variable], eager: bool = False,
                 jit_compile: Any = "auto", refresh_logs: Callable[[Any], Any] | None = None,
                 gather_outputs: bool = False) -> Callable[[Any], Any]:
    """``step(batch) -> logs`` compiled for the active engine.

    ``state`` lists every variable the step may read or assign. ``eager=True``
    runs ``step`` uncompiled (for debugging); ``jit_compile`` picks the
    engine's compiler (``Backend.jit``). The result runs data-parallel
    while a ``polykeras.distribution`` distribution is active
    (``Backend.distribute_step``: ``refresh_logs`` recomputes the logs after
    the replicas' metric state is reduced; ``gather_outputs=True``, for
    predict, concatenates the replicas' output rows).

    Example: ``train = compile_step(model.train_step, model.variables + optimizer.variables)``
    """
    engine = backends.active()
    if eager or not engine.differentiable:
        compiled = step
    elif engine.jit_is_stateful(jit_compile):
        compiled = engine.jit(step, jit_compile=jit_compile)
    else:
        compiled = _functionalised(step, list(state), engine, jit_compile)
    return engine.distribute_step(compiled, list(state), refresh_logs=refresh_logs, gather_outputs=gather_outputs)


def _functionalised(step: Callable[[Any], Any], state: list[Variable], engine: Any,
                    jit_compile: Any = "auto") -> Callable[[Any], Any]:
    keys: list[Any] = []  # the logs' keys, in the step's order (compilers sort dict keys)
    as_dict = [False]  # whether the step returned a dict (possibly empty)

    def pure_step(values: list[Any], batch: Any) -> tuple[list[Any], Any]:
        with StatelessScope(zip(state, values)) as scope:
            logs = step(batch)
            new_values = [scope.get_current_value(v) for v in state]
        as_dict[0] = isinstance(logs, dict)
        if as_dict[0]:
            keys[:] = list(logs)
            return new_values, [logs[k] for k in keys]
        keys.clear()
        return new_values, logs

    compiled = engine.jit(pure_step, donate_argnums=(0,), jit_compile=jit_compile)

    def run(batch: Any) -> Any:
        new_values, logs = compiled(_distinct([v.value for v in state], engine), batch)
        for variable, value in zip(state, new_values):
            variable.assign(value)
        return dict(zip(keys, logs)) if as_dict[0] else logs

    return run


def _distinct(values: list[Any], engine: Any) -> list[Any]:
    """``values`` with a copy in place of any value that an earlier entry
    already holds: a variable assigned another's value (tied weights) shares
    its buffer, and a compiled step cannot donate one buffer twice."""
    seen: set[int] = set()
    for i, value in enumerate(values):
        if id(value) in seen:
            values[i] = engine.convert_to_tensor(engine.to_numpy(value))
        seen.add(id(values[i]))
    return values
