"""The layer side of running a layer inside a ``tf.data`` pipeline.

:mod:`polykeras.backends.data_pipeline` spots the pipeline's graph tensors and
runs the layer on the host; this module hands it what only the layer floor
knows: how to call the layer on NumPy data, its output spec (the layer's
``compute_output_spec`` when it has one, else a symbolic call) and how to turn
its outputs into NumPy. ``Layer.__call__`` asks :func:`in_data_pipeline` first;
subclasses that override ``__call__`` get the same check through
:func:`guard_call` (``Layer.__init_subclass__``).

Example:
    >>> import numpy as np, tensorflow as tf
    >>> from polykeras import layers
    >>> lookup = layers.StringLookup(vocabulary=["a", "b"])
    >>> ds = tf.data.Dataset.from_tensor_slices(np.array([["a"], ["c"]])).batch(2).map(lookup)
    >>> next(iter(ds)).numpy().tolist()
    [[1], [0]]
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from polykeras import ops
from polykeras.backends.base import Spec
from polykeras.backends.data_pipeline import in_data_pipeline, run_on_host

__all__ = ["guard_call", "in_data_pipeline", "output_spec", "pipeline_call"]


def pipeline_call(layer: Any, args: tuple, kwargs: dict) -> Any:
    """Run ``layer(*args, **kwargs)`` on the host inside the ``tf.data`` graph
    the arguments belong to (see :mod:`polykeras.backends.data_pipeline`).

    Example: ``ds.map(lambda x: pipeline_call(norm, (x,), {}))`` (what ``ds.map(norm)`` does)
    """
    name = f"Layer '{layer.name}' ({type(layer).__name__})"
    return run_on_host(name, layer, functools.partial(output_spec, layer), _to_numpy, args, kwargs)


def guard_call(method: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a subclass's own ``__call__`` so that ``tf.data`` graph tensors go
    through :func:`pipeline_call` like they do in ``Layer.__call__``.

    Example: ``cls.__call__ = guard_call(cls.__dict__["__call__"])``
    """
    @functools.wraps(method)
    def __call__(self: Any, *args: Any, **kwargs: Any) -> Any:
        if in_data_pipeline(args, kwargs):
            return pipeline_call(self, args, kwargs)
        return method(self, *args, **kwargs)

    __call__.__dict__["_pipeline_guarded"] = True
    return __call__


def output_spec(layer: Any, arg_specs: tuple, kwarg_specs: dict) -> Any:
    """The output structure of ``layer(*arg_specs, **kwarg_specs)`` with
    ``shape``/``dtype`` leaves, the tensors given as
    :class:`~polykeras.backends.base.Spec`: the layer's own
    ``compute_output_spec`` for one input, else a symbolic call (no kernel runs).

    Example: ``output_spec(layers.Rescaling(2.0), (Spec((None, 3), "float32"),), {})``
    """
    from polykeras.layers.layer import Layer
    from polykeras.symbolic import SymbolicTensor, map_structure

    tensors = [s for s in (*arg_specs, *kwarg_specs.values()) if isinstance(s, (Spec, dict, list, tuple))]
    own = type(layer).compute_output_spec
    if own is not Layer.compute_output_spec and len(tensors) == 1:
        return own(layer, tensors[0])

    def symbolic(leaf: Any) -> Any:
        if isinstance(leaf, Spec):
            if leaf.shape is None:
                raise ValueError("an input of unknown rank")
            return SymbolicTensor(leaf.shape, leaf.dtype)
        return leaf

    args = tuple(map_structure(symbolic, a) for a in arg_specs)
    kwargs = {k: map_structure(symbolic, v) for k, v in kwarg_specs.items()}
    return layer(*args, **kwargs)


def _to_numpy(value: Any) -> np.ndarray:
    if isinstance(value, np.ndarray):
        return value
    return np.asarray(ops.convert_to_numpy(value))
