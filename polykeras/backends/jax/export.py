"""JAX's export hook: ``jax.export`` serialized StableHLO.

The endpoint is ``jax.jit``-ed with the weights closed over (constants of the
program, so the artifact is self-contained) and exported with symbolic
shapes: axis 0 of every input is one dimension ``batch``, every other
``None`` size a dimension of its own. The file holds
``Exported.serialize()``'s bytes: ``jax.export.deserialize(data).call(x)``.

Example:
    >>> engine.export_program("jax", [endpoint], weights, {}, "/tmp/model.jax", {})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from polykeras.backends.exporting import ExportEndpoint, ExportWeight

__all__ = ["JaxExport"]


class JaxExport:
    """``export_program`` for ``"jax"``."""

    export_formats = frozenset({"jax"})

    def export_program(self, format: str, endpoints: Sequence[ExportEndpoint], weights: Sequence[ExportWeight],
                       collections: Mapping[str, Sequence[int]], path: str, options: Mapping[str, Any]) -> None:
        if format not in self.export_formats:
            super().export_program(format, endpoints, weights, collections, path, options)  # type: ignore[misc]
        if len(endpoints) != 1:
            raise ValueError(f"export to {format!r}: expected one endpoint (a program has one function), "
                             f"received {[e.name for e in endpoints]}.")
        endpoint = endpoints[0]
        values = [jnp.asarray(w.value) for w in weights]
        scope = jax.export.SymbolicScope()
        leaves, tree = jax.tree.flatten(endpoint.signature)
        abstract = []
        for i, spec in enumerate(leaves):
            dims = ", ".join(("batch" if axis == 0 else f"input{i}_axis{axis}") if d is None else str(d)
                             for axis, d in enumerate(spec.shape))
            shape = jax.export.symbolic_shape(dims, scope=scope) if dims else ()
            abstract.append(jax.ShapeDtypeStruct(shape, jnp.dtype(spec.dtype)))
        args = jax.tree.unflatten(tree, abstract)

        def program(*inputs: Any) -> Any:
            return endpoint.fn(values, *inputs)

        exported = jax.export.export(jax.jit(program), platforms=options.get("platforms"))(*args)
        with open(path, "wb") as file:
            file.write(exported.serialize())
