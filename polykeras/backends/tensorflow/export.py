"""TensorFlow's export hook: a SavedModel, written as Keras 3 writes one.

The weights become ``tf.Variable``s of a ``tf.Module`` (listed again as
``variables``, ``trainable_variables``, ``non_trainable_variables`` and each
named collection); each endpoint is a ``tf.function`` with its input
signature (``None`` sizes stay dynamic), saved under its name and as a
signature of the same name; ``serving_default`` is the ``serve`` endpoint
(else the first), so ``tf.saved_model.load(path).serve(x)``, TF Serving
and ``TFSMLayer(path, call_endpoint="serve")`` all read it.

Example:
    >>> engine.export_program("tf_saved_model", [endpoint], weights, {}, "/tmp/model", {})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import tensorflow as tf

from polykeras.backends.exporting import ExportEndpoint, ExportWeight

__all__ = ["TensorflowExport"]


def _tensor_spec(spec: Any, name: str | None) -> tf.TensorSpec:
    return tf.TensorSpec(tuple(spec.shape), tf.as_dtype(spec.dtype), name=name)


def _bound(fn: Any, handles: list[tf.Variable]) -> Any:
    def serve(*args: Any) -> Any:
        return fn(handles, *args)
    return serve


class TensorflowExport:
    """``export_program`` for ``"tf_saved_model"``."""

    export_formats = frozenset({"tf_saved_model"})

    def export_program(self, format: str, endpoints: Sequence[ExportEndpoint], weights: Sequence[ExportWeight],
                       collections: Mapping[str, Sequence[int]], path: str, options: Mapping[str, Any]) -> None:
        if format not in self.export_formats:
            super().export_program(format, endpoints, weights, collections, path, options)  # type: ignore[misc]
        module = tf.__internal__.tracking.AutoTrackable()
        handles = [tf.Variable(w.value, trainable=w.trainable, name=w.path.replace("/", "_"))
                   for w in weights]
        module.variables = handles
        module.trainable_variables = [h for h, w in zip(handles, weights) if w.trainable]
        module.non_trainable_variables = [h for h, w in zip(handles, weights) if not w.trainable]
        for name, indices in collections.items():
            setattr(module, name, [handles[i] for i in indices])
        signatures: dict[str, Any] = {}
        for endpoint in endpoints:
            leaves = tf.nest.flatten(endpoint.signature)
            names = list(endpoint.names or ()) + [None] * len(leaves)
            signature = tf.nest.pack_sequence_as(
                endpoint.signature, [_tensor_spec(s, n) for s, n in zip(leaves, names)])

            function = tf.function(_bound(endpoint.fn, handles), input_signature=signature, autograph=False)
            setattr(module, endpoint.name, function)
            signatures[endpoint.name] = function.get_concrete_function()
        default = "serve" if "serve" in signatures else endpoints[0].name
        signatures["serving_default"] = signatures[default]
        tf.saved_model.save(module, path, signatures=signatures, options=options.get("options"))
