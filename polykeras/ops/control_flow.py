"""Keras 3's core control flow and tensor utilities: ``cond``, ``switch``,
``while_loop``, ``fori_loop``, ``scan``, ``associative_scan``, ``map``,
``vectorized_map``, ``unstack``, ``saturate_cast`` and ``custom_gradient``.

Each engine runs them with its own primitive inside its compiled step
(``jax.lax.*`` under ``jax.jit``, ``tf.cond``/``tf.while_loop`` under
``tf.function``, Python on torch and NumPy); see
``polykeras/backends/control_flow.py`` and the engines' ``control_flow.py``.

Example:
    >>> from polykeras import ops
    >>> ops.to_numpy(ops.fori_loop(0, 4, lambda i, s: s + ops.cast(i, "float32"), ops.zeros(())))
    array(6., dtype=float32)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from polykeras.backends import active
from polykeras.ops._dispatch import check, describe, op

Tensor = Any

__all__ = ["associative_scan", "cond", "custom_gradient", "fori_loop", "map", "saturate_cast", "scan", "switch",
           "unstack", "vectorized_map", "while_loop"]


@op("a boolean scalar predicate and two functions of no argument returning the same structure")
def cond(pred: Any, true_fn: Callable[[], Any], false_fn: Callable[[], Any]) -> Any:
    """``true_fn()`` if ``pred`` else ``false_fn()``, traceable by each engine.

    Example: ``ops.cond(ops.greater(x, 0), lambda: x, lambda: -x)``
    """


@op("an integer scalar index, a list of functions and their operands", body=True)
def switch(index: Any, branches: Sequence[Callable[..., Any]], *operands: Any) -> Any:
    """``branches[index](*operands)``; ``index`` is clamped to ``[0, len(branches) - 1]``.

    Example: ``ops.switch(1, [lambda x: x + 1, lambda x: x * 2], x)``
    """
    check(isinstance(branches, (list, tuple)) and len(branches) > 0 and all(callable(b) for b in branches),
          "switch", "a non-empty list of callables as branches", describe(branches))
    return active().switch(index, list(branches), *operands)


@op("a predicate function, a body function and loop variables of one structure", body=True)
def while_loop(cond: Callable[..., Any], body: Callable[..., Any], loop_vars: Any,
               maximum_iterations: int | None = None) -> Any:
    """Repeat ``loop_vars = body(*loop_vars)`` while ``cond(*loop_vars)``;
    a single tensor or a tuple/list of them, returned in the same form.

    Example: ``ops.while_loop(lambda i: i < 10, lambda i: i + 1, 0)``
    """
    check(callable(cond) and callable(body), "while_loop", "callables cond and body",
          f"cond={describe(cond)}, body={describe(body)}")
    return active().while_loop(cond, body, loop_vars, maximum_iterations)


@op("integer bounds, a body function (i, value) -> value and an initial value")
def fori_loop(lower: Any, upper: Any, body_fun: Callable[[Any, Any], Any], init_val: Any) -> Any:
    """``value = body_fun(i, value)`` for ``i`` in ``range(lower, upper)``;
    differentiable with Python-int bounds on every differentiating engine.

    Example: ``ops.fori_loop(0, 3, lambda i, x: x * 2.0, x)``
    """


@op("a step function (carry, x) -> (carry, y), an initial carry and xs or a length", body=True)
def scan(f: Callable[[Any, Any], tuple[Any, Any]], init: Any, xs: Any = None, length: int | None = None,
         reverse: bool = False, unroll: int | bool = 1) -> tuple[Any, Any]:
    """Loop ``carry, y = f(carry, x)`` over the leading axis of ``xs`` (or
    ``length`` times with ``x = None``); returns the last carry and the
    stacked ``y``. Differentiable on every differentiating engine.

    Example: ``total, running = ops.scan(lambda c, x: (c + x, c + x), 0.0, xs)``
    """
    engine = active()
    if xs is None:
        check(isinstance(length, (int, np.integer)) and length > 0, "scan",
              "xs, or a positive int length when xs is None", f"xs=None, length={length!r}")
        assert length is not None  # checked above
        step, xs = (lambda carry, _: f(carry, None)), engine.arange(int(length), dtype="int32")
    else:
        step = f
    if not engine.is_tensor(init) and not isinstance(init, (list, tuple)):
        init = engine.convert_to_tensor(init)
    return engine.scan(step, init, xs, reverse=reverse, unroll=unroll is True or (unroll not in (1, False)))


@op("an associative function of two structures and elems with a common length along axis")
def associative_scan(f: Callable[[Any, Any], Any], elems: Any, reverse: bool = False, axis: int = 0) -> Any:
    """Inclusive prefix scan of ``elems`` along ``axis`` with the associative ``f``
    (``ops.cumsum`` is ``associative_scan(ops.add, x)``).

    Example: ``ops.associative_scan(ops.add, ops.arange(1.0, 5.0))`` -> ``[1, 3, 6, 10]``
    """


@op("a function and xs with a leading axis")
def map(f: Callable[[Any], Any], xs: Any) -> Any:  # noqa: A001 - Keras 3's name
    """``f`` over the leading axis of ``xs``, the results stacked.

    Example: ``ops.map(lambda x: x * 2, ops.arange(3))``
    """


@op("a function and elements with a leading (batch) axis")
def vectorized_map(function: Callable[[Any], Any], elements: Any) -> Any:
    """``function`` applied to each slice of ``elements`` along the leading
    axis, vectorised where the engine can (``jax.vmap``, ``tf.vectorized_map``).

    Example: ``ops.vectorized_map(lambda row: ops.sum(row), x)``
    """


@op("a tensor and an axis within its rank", body=True)
def unstack(x: Tensor, num: int | None = None, axis: int = 0) -> list[Tensor]:
    """The slices of ``x`` along ``axis`` as a list (``num`` must equal that size).

    Example: ``a, b = ops.unstack(ops.ones((2, 3)))``
    """
    engine = active()
    shape = engine.shape(x)
    check(-len(shape) <= axis < len(shape), "unstack", f"axis within rank {len(shape)}", f"axis={axis}")
    size = shape[axis]
    check(num is None or num == size, "unstack", f"num equal to the size {size} of axis {axis}", f"num={num}")
    return engine.unstack(x, axis % len(shape))


def _np_name(dtype: str) -> str:
    return "float32" if dtype == "bfloat16" else dtype


def _limits(dtype: np.dtype) -> tuple[Any, Any]:
    info = np.iinfo(dtype) if dtype.kind in "iu" else np.finfo(dtype)
    if dtype.kind in "iu":
        return int(info.min), int(info.max)
    return float(info.min), float(info.max)


@op("a tensor and a known dtype", body=True)
def saturate_cast(x: Tensor, dtype: str) -> Tensor:
    """``x`` as ``dtype``, values first clipped to the range ``dtype`` holds
    (no wrap-around: ``saturate_cast(300.0, "uint8")`` is 255).

    Example: ``ops.saturate_cast(ops.convert_to_tensor([-1.0, 300.0]), "uint8")``
    """
    engine = active()
    x = engine.convert_to_tensor(x)
    source, target = np.dtype(_np_name(engine.dtype(x))), np.dtype(_np_name(dtype))
    if source.kind != "b" and target.kind != "b":
        src, dst = _limits(source), _limits(target)
        low, high = max(src[0], dst[0]), min(src[1], dst[1])
        if (low, high) != src:
            if source.kind == "f":  # bounds the source floats hold, not beyond the target's range
                low_f, high_f = np.asarray(low, source), np.asarray(high, source)
                low = float(np.nextafter(low_f, np.inf) if float(low_f) < low else low_f)
                high = float(np.nextafter(high_f, -np.inf) if float(high_f) > high else high_f)
            x = engine.clip(x, low, high)
    return engine.cast(x, dtype)


def custom_gradient(f: Callable[..., tuple[Any, Callable[..., Any]]]) -> Callable[..., Any]:
    """Decorate ``f(*args) -> (output, grad_fn)`` so that differentiating its
    output calls ``grad_fn(upstream)`` (one gradient per tensor argument)
    instead of differentiating ``f``'s body.

    Example:
        >>> @ops.custom_gradient
        ... def clipped_identity(x):
        ...     return x, lambda upstream: ops.clip(upstream, -1.0, 1.0)
    """
    if not callable(f):
        raise TypeError(f"custom_gradient: expected a callable returning (output, grad_fn), received {describe(f)}.")

    def wrapped(*args: Any) -> Any:
        return active().custom_gradient(f)(*args)

    wrapped.__name__ = getattr(f, "__name__", "custom_gradient")
    wrapped.__doc__ = f.__doc__
    return wrapped
