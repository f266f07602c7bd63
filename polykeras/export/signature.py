"""Input signatures, as Keras 3 takes them: one entry per positional argument
of the exported function, each a nest of specs. A spec is a ``keras.InputSpec``,
a symbolic tensor (``keras.Input``), anything with ``shape`` and ``dtype``
(``tf.TensorSpec``, ``jax.ShapeDtypeStruct``, a tensor) or a bare shape tuple
(dtype float32). Axis 0 is the batch: it stays dynamic in every format.

Example:
    >>> signature([(None, 8)])
    [Spec(shape=(None, 8), dtype='float32')]
"""

from __future__ import annotations

from typing import Any

from polykeras.backends.base import Spec
from polykeras.backends.dtypes import standardize_dtype

__all__ = ["check_against_model", "default_signature", "signature"]


def _is_shape(value: Any) -> bool:
    return isinstance(value, (tuple, list)) and all(d is None or isinstance(d, int) for d in value)


def _spec(value: Any, where: str, dtype: str = "float32") -> Spec:
    if isinstance(value, Spec):
        shape, dtype = value.shape, value.dtype
    elif _is_shape(value):
        shape = tuple(value)
    elif getattr(value, "shape", None) is not None:
        raw = value.shape
        try:
            shape = tuple(None if d is None else int(d) for d in raw)
        except TypeError as err:
            raise ValueError(f"{where}: expected a spec of known rank, received {value!r}.") from err
        if getattr(value, "dtype", None) is not None:
            dtype = standardize_dtype(value.dtype)
    else:
        raise TypeError(f"{where}: expected an InputSpec, a tensor spec (shape and dtype) or a shape tuple, "
                        f"received {value!r} of type {type(value).__name__}.")
    if not shape:
        raise ValueError(f"{where}: expected inputs with a batch axis (rank 1 or more), received shape {shape}.")
    return Spec((None, *shape[1:]), dtype)


def _nest(value: Any, where: str) -> Any:
    if isinstance(value, dict):
        return {k: _nest(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, (list, tuple)) and not _is_shape(value):
        return type(value)(_nest(v, f"{where}[{i}]") for i, v in enumerate(value))
    return _spec(value, where)


def signature(input_signature: Any, where: str = "export") -> list[Any]:
    """``input_signature`` as a list (one entry per positional argument) of
    nests of :class:`Spec`, the batch axis made dynamic.

    Example: ``signature([InputSpec(shape=(None, 8))])``
    """
    if _is_shape(input_signature) or not isinstance(input_signature, (list, tuple)):
        input_signature = [input_signature]
    return [_nest(arg, f"{where}: input_signature[{i}]") for i, arg in enumerate(input_signature)]


def default_signature(model: Any) -> tuple[list[Any], list[str] | None]:
    """The signature of ``model``'s inputs (and their names): a graph model's
    ``inputs``, else the shapes its ``build`` was given. Example: ``default_signature(model)``"""
    inputs = getattr(model, "inputs", None)
    if inputs:
        specs = [Spec((None, *t.shape[1:]), t.dtype) for t in inputs]
        return ([specs[0]] if len(specs) == 1 else [specs]), [t.name for t in inputs]
    config = model.get_build_config() if hasattr(model, "get_build_config") else None
    shapes = (config or {}).get("input_shape")
    if shapes is None:
        raise ValueError(f"export of model {model.name!r}: expected a model whose input shape is known (a "
                         "functional or Sequential model, or one built with build(input_shape)), or an "
                         "input_signature, received neither. Pass input_signature=[InputSpec(shape=...)].")
    dtype = getattr(model, "compute_dtype", None) or "float32"
    if _is_shape(shapes):
        return [Spec((None, *tuple(shapes)[1:]), dtype)], None
    return [[Spec((None, *tuple(s)[1:]), dtype) for s in shapes]], None


def check_against_model(model: Any, specs: list[Any]) -> None:
    """Refuse a signature a graph model's inputs cannot take: the wrong
    number of inputs, a rank or a fixed size that differs. Example: ``check_against_model(model, specs)``"""
    inputs = getattr(model, "inputs", None)
    if not inputs:
        return
    from polykeras import tree

    given = tree.flatten(specs)
    if len(given) != len(inputs):
        raise ValueError(f"export of model {model.name!r}: expected {len(inputs)} input spec(s) for inputs "
                         f"{[t.name for t in inputs]}, received {len(given)}: {given}.")
    for spec, tensor in zip(given, inputs):
        fits = len(spec.shape) == len(tensor.shape) and all(
            a is None or b is None or a == b for a, b in zip(spec.shape[1:], tensor.shape[1:]))
        if not fits:
            raise ValueError(f"export of model {model.name!r}: input {tensor.name!r} expects shape "
                             f"{tensor.shape}, but input_signature gives {spec.shape}.")
