"""Layers inside ``tf.data`` pipelines, whatever the engine.

``dataset.map(layer)`` traces ``layer`` into a TensorFlow function graph (named
``Dataset_map_...``, ``Dataset_filter_...``): the layer receives symbolic TF
tensors, which no engine but TensorFlow could compute with, and the host-side
layers (lookups, hashing) not even TensorFlow. This module is the bridge: it
spots those tensors (only when TensorFlow is already imported; one dict lookup
otherwise) and runs the layer on the host through ``tf.numpy_function``: the
layer runs eagerly on NumPy inputs under the active engine (so the numbers are
that engine's), its outputs come back as NumPy, and the graph learns their
dtypes and static shapes from the layer's output spec, computed before the
trace is done. The TF engine's own traced steps (``tf.function`` graphs not
made by ``tf.data``) never take this path.

It knows nothing of layers: the layer floor hands it three callables (run on
NumPy, give the output spec, turn an output into NumPy).

Example:
    >>> import numpy as np, tensorflow as tf
    >>> from polykeras import layers
    >>> norm = layers.Normalization(mean=1.0, variance=4.0)
    >>> ds = tf.data.Dataset.from_tensor_slices(np.ones((4, 2), "float32")).batch(2).map(norm)
    >>> [b.shape for b in ds]
    [TensorShape([2, 2]), TensorShape([2, 2])]
"""

from __future__ import annotations

import contextvars
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from polykeras.backends.base import Spec

__all__ = ["in_data_pipeline", "run_on_host"]

#: tf.data names the function graphs it traces ``Dataset_<transformation>_<fn>``.
PIPELINE_GRAPH_PREFIX = "Dataset_"


def in_data_pipeline(args: tuple, kwargs: dict) -> bool:
    """True when an argument (or a leaf of a list/tuple/dict argument) is a
    symbolic TensorFlow tensor of a ``tf.data`` function graph.

    Costs one ``sys.modules`` lookup when TensorFlow is not imported.

    Example: ``in_data_pipeline((np.ones(2),), {})`` -> ``False``
    """
    if "tensorflow" not in sys.modules:
        return False
    for value in (*args, *kwargs.values()) if kwargs else args:
        if _pipeline_leaf(value):
            return True
    return False


def _pipeline_leaf(value: Any) -> bool:
    kind = type(value)
    if kind is list or kind is tuple:
        return any(_pipeline_leaf(v) for v in value)
    if kind is dict:
        return any(_pipeline_leaf(v) for v in value.values())
    if kind.__name__ != "SymbolicTensor" or not kind.__module__.startswith("tensorflow"):
        return False
    graph = getattr(value, "graph", None)
    while graph is not None:  # a tf.function called inside the map function nests its graph
        if getattr(graph, "name", "").startswith(PIPELINE_GRAPH_PREFIX):
            return True
        graph = getattr(graph, "outer_graph", None)
    return False


def run_on_host(name: str, call: Callable[..., Any], output_spec: Callable[[tuple, dict], Any],
                to_numpy: Callable[[Any], np.ndarray], args: tuple, kwargs: dict) -> Any:
    """Run ``call(*args, **kwargs)`` on the host, inside the ``tf.data`` graph
    that ``args`` belong to, through ``tf.numpy_function``.

    ``output_spec(arg_specs, kwarg_specs)`` gets the arguments with every
    tensor replaced by a :class:`~polykeras.backends.base.Spec` and returns the
    output structure with ``Spec``-like leaves (``shape``, ``dtype``); ``call``
    gets NumPy arrays (strings as ``bytes`` objects); ``to_numpy`` turns each
    output leaf into a NumPy array. ``name`` names the caller in errors.

    Example: ``run_on_host("norm", layer_on_numpy, spec_of, np.asarray, (x,), {})``
    """
    import tensorflow as tf

    flat = tf.nest.flatten((args, kwargs), expand_composites=False)
    where = [i for i, leaf in enumerate(flat) if isinstance(leaf, tf.Tensor)]
    tensors = [flat[i] for i in where]

    def spec_of(leaf: Any) -> Any:
        if isinstance(leaf, tf.Tensor):
            shape = tuple(leaf.shape.as_list()) if leaf.shape.rank is not None else None
            return Spec(shape, leaf.dtype.name)  # type: ignore[arg-type]
        return leaf

    arg_specs, kwarg_specs = tf.nest.pack_sequence_as((args, kwargs), [spec_of(leaf) for leaf in flat])
    try:
        with tf.init_scope():  # eager: a layer built here makes its variables outside the pipeline's graph
            spec = output_spec(tuple(arg_specs), dict(kwarg_specs))
    except Exception as err:  # noqa: BLE001 - rewrapped with the caller's name and the way out
        raise TypeError(
            f"{name}: cannot run inside a tf.data pipeline: its output dtype and shape must be known before the "
            f"data flows (from compute_output_spec or a symbolic call), and computing them failed with "
            f"{type(err).__name__}: {err}. Define compute_output_spec(inputs) on the layer, or apply the layer to "
            f"NumPy data outside the pipeline (or in a torch DataLoader).") from err
    leaves = tf.nest.flatten(spec)
    bad = [leaf for leaf in leaves if not (hasattr(leaf, "shape") and hasattr(leaf, "dtype"))]
    if bad:
        raise TypeError(f"{name}: cannot run inside a tf.data pipeline: its outputs must all be tensors, "
                        f"the output spec holds {bad[0]!r}.")
    dtypes = [tf.as_dtype("string" if str(leaf.dtype) in ("string", "str") else str(leaf.dtype)) for leaf in leaves]

    # tf.data calls ``host`` on its own threads: run it in the caller's context
    # (the active engine, the enclosing call's training flag), copied per call.
    captured = contextvars.copy_context()

    def host(*arrays: np.ndarray) -> list[np.ndarray]:
        return captured.copy().run(run, arrays)

    def run(arrays: tuple[np.ndarray, ...]) -> list[np.ndarray]:
        values = list(flat)
        for i, array in zip(where, arrays):
            values[i] = array
        a, k = tf.nest.pack_sequence_as((args, kwargs), values)
        outputs = tf.nest.flatten(call(*a, **k))
        if len(outputs) != len(dtypes):
            raise ValueError(f"{name}: returned {len(outputs)} outputs inside a tf.data pipeline, its output spec "
                             f"announced {len(dtypes)}.")
        return [_as_dtype(to_numpy(out), dtype, name) for out, dtype in zip(outputs, dtypes)]

    results = tf.numpy_function(host, tensors, dtypes, stateful=True, name=_op_name(name))
    for result, leaf in zip(results, leaves):
        if leaf.shape is not None:
            result.set_shape(tuple(leaf.shape))
    return tf.nest.pack_sequence_as(spec, results)


# AutoGraph converts a mapped function and what it calls; the bridge is plain
# Python that must run as written (its host function most of all): AutoGraph
# calls what carries this marker unconverted.
run_on_host.autograph_info__ = frozenset()  # type: ignore[attr-defined]


def _as_dtype(array: Any, dtype: Any, name: str) -> np.ndarray:
    array = np.asarray(array)
    if dtype.name == "string":
        if array.dtype.kind == "U":
            return np.vectorize(lambda s: s.encode("utf-8"), otypes=[object])(array) if array.size else \
                array.astype(object)
        return array.astype(object)
    wanted = dtype.as_numpy_dtype
    if array.dtype != wanted:
        if array.dtype.kind in "USO":
            raise TypeError(f"{name}: inside a tf.data pipeline it returned {array.dtype} data where its output "
                            f"spec announced {dtype.name}.")
        array = array.astype(wanted)
    return array


def _op_name(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "_." else "_" for c in name)
    return cleaned if cleaned[:1].isalpha() else f"layer_{cleaned}"
