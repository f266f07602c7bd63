"""The TensorFlow side of ``TFSMLayer``: a SavedModel loaded from a path, an
endpoint found by attribute or signature name, the variables it reads, and
calls to it: on the tensorflow engine directly on its tensors (``host=False``;
the endpoint's own ``tf.Variable``s are the layer's handles), on any other
engine through NumPy at the boundary (``host=True``: a copy of the inputs in
and the outputs out per call, no gradient).

Example:
    >>> bridge = engine.interop("tensorflow", "TFSMLayer 'sm'")
    >>> endpoint = bridge.load("/tmp/exported", "serve", "TFSMLayer 'sm'")
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from polykeras.backends.base import Spec

__all__ = ["SavedModelBridge", "bridge"]


class SavedModelBridge:
    """Loads SavedModel endpoints and calls them for a layer.

    Example: ``SavedModelBridge(host=True).load(path, "serve", "TFSMLayer 'sm'")``
    """

    def __init__(self, host: bool):
        self.host = host

    def load(self, filepath: str, endpoint: str, who: str) -> Any:
        """The loaded object (``tf.saved_model.load``). Loading runs the
        graphs the directory holds: callers refuse it in safe mode when the
        path comes from a config."""
        try:
            return tf.saved_model.load(str(filepath))
        except (OSError, ValueError, tf.errors.NotFoundError) as error:
            raise ValueError(f"{who}: expected filepath to be a TensorFlow SavedModel directory, received "
                             f"{str(filepath)!r} ({type(error).__name__}: {str(error).splitlines()[0]}).") from error

    def endpoint(self, loaded: Any, name: str, who: str, argument: str) -> Any:
        """The callable ``name``: an attribute of the loaded object, or one of its signatures."""
        found = getattr(loaded, name, None)
        if callable(found):
            return found
        if name in loaded.signatures:
            return loaded.signatures[name]
        raise ValueError(f"{who}: the endpoint {name!r} ({argument}) is neither an attribute of the SavedModel "
                         f"nor one of its signatures; available signatures: {sorted(loaded.signatures)}.")

    def variables(self, fns: list[Any]) -> tuple[list[Any], list[Any]]:
        """The trainable and non-trainable ``tf.Variable``s the endpoints read, each once."""
        trainable: dict[int, Any] = {}
        frozen: dict[int, Any] = {}
        for fn in fns:
            concrete = fn if hasattr(fn, "trainable_variables") else getattr(fn, "concrete_functions", [fn])[0]
            for v in getattr(concrete, "trainable_variables", ()):
                trainable.setdefault(id(v), v)
            for v in getattr(concrete, "variables", ()):
                if id(v) not in trainable:
                    frozen.setdefault(id(v), v)
        return list(trainable.values()), list(frozen.values())

    def describe(self, variable: Any) -> tuple[str, np.ndarray, bool]:
        """``(name, value, trainable)`` of a ``tf.Variable`` (slashes become underscores, as Keras)."""
        name = variable.name.split(":")[0].replace("/", "_")
        return name, variable.numpy(), bool(variable.trainable)

    def output_specs(self, fn: Any, batch: int | None) -> Any:
        """A :class:`Spec` per output, from the endpoint's traced outputs,
        an unknown leading size read as ``batch`` (None where unknown)."""
        concrete = fn if hasattr(fn, "structured_outputs") else (list(getattr(fn, "concrete_functions", [])) or
                                                                  [None])[0]
        if concrete is None:
            return None

        def spec(t: Any) -> Spec:
            shape = [batch if d is None and i == 0 else d for i, d in enumerate(t.shape.as_list())]
            return Spec(tuple(shape), t.dtype.name)

        return tf.nest.map_structure(spec, concrete.structured_outputs)

    def call(self, engine: Any, fn: Any, inputs: Any, kwargs: dict,
             weights: list[tuple[Any, Any]] | None = None) -> Any:
        """``fn(inputs, **kwargs)`` on the active engine's tensors. Through
        NumPy, ``weights`` (``(tf.Variable, the layer's value)`` pairs) are
        written into the endpoint's variables first, so the layer's weights
        are the ones computed with (a copy of each per call)."""
        if not self.host:
            return fn(inputs, **kwargs)
        flat = tf.nest.flatten(inputs)
        targets = [t for t, _ in weights or []]

        def run(*arrays: Any) -> Any:
            for target, value in zip(targets, arrays[len(flat):]):
                target.assign(value)
            tensors = [tf.convert_to_tensor(a) for a in arrays[:len(flat)]]
            result = fn(tf.nest.pack_sequence_as(inputs, tensors), **kwargs)
            return tf.nest.map_structure(lambda t: t.numpy(), result)

        batch = int(flat[0].shape[0]) if flat and len(flat[0].shape) else None
        return engine.run_on_host(run, [*flat, *(value for _, value in weights or [])],
                                  self.output_specs(fn, batch))


def bridge(host: bool) -> SavedModelBridge:
    """The SavedModel bridge (``host``: through NumPy). Example: ``bridge(host=True)``"""
    return SavedModelBridge(host)
