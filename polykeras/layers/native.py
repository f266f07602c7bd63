"""What a layer offers engine-native training loops (Keras 3's "writing a
training loop from scratch" guides): :func:`stateless_call` for JAX-style
pure steps, and the engine's own module object over the layer's weights
(:func:`native_module`; torch: an ``nn.Module``), from which a layer lends
the attributes its engine names (``model.parameters()``,
``model.zero_grad()``).

The engine supplies the module through its ``native_module`` hook; nothing
here asks which engine is active.

Example:
    >>> y, non_trainable = model.stateless_call(trainable_values, non_trainable_values, x, training=True)
    >>> optimizer = torch.optim.Adam(model.parameters())    # torch engine
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polykeras import backends
from polykeras.variables import StatelessScope

__all__ = ["lent_attribute", "native_module", "stateless_call"]


def stateless_call(layer: Any, trainable_variables: Sequence[Any], non_trainable_variables: Sequence[Any],
                   args: tuple, kwargs: dict, return_losses: bool = False) -> tuple[Any, ...]:
    """Call ``layer`` with its variables reading the given values; returns
    ``(outputs, new non-trainable values)`` (and the losses with
    ``return_losses``). The layer's own variables are untouched.

    Example: ``y, nt = stateless_call(model, tv, ntv, (x,), {"training": True})``
    """
    who = f"Layer '{layer.name}'.stateless_call"
    if not layer.built:
        raise ValueError(f"{who}: expected a built layer (its variables created), received an unbuilt one. "
                         "Call it on data or build() it first.")
    trainable, non_trainable = layer.trainable_variables, layer.non_trainable_variables
    for kind, given, own in (("trainable", trainable_variables, trainable),
                             ("non-trainable", non_trainable_variables, non_trainable)):
        if not isinstance(given, (list, tuple)) or len(given) != len(own):
            count = len(given) if isinstance(given, (list, tuple)) else type(given).__name__
            raise ValueError(f"{who}: expected {len(own)} {kind} values (one per variable of "
                             f"layer.{kind.replace('-', '_')}_variables), received {count}.")
    mapping = [*zip(trainable, trainable_variables), *zip(non_trainable, non_trainable_variables)]
    with StatelessScope(mapping, collect_losses=return_losses) as scope:
        outputs = layer(*args, **kwargs)
        losses = layer.losses if return_losses else None
    new_values = [scope.get_current_value(v) for v in non_trainable]
    return (outputs, new_values, losses) if return_losses else (outputs, new_values)


def native_module(layer: Any, engine: Any = None) -> Any:
    """The engine's own module object over ``layer``'s weights (the engine's
    ``native_module`` hook), made once per layer and engine.

    Example: ``torch.nn.Sequential(native_module(model), torch.nn.Softmax(-1))``
    """
    engine = engine or backends.active()
    cache = layer.__dict__.setdefault("_native_modules", {})
    module = cache.get(engine.name)
    if module is None:
        module = cache[engine.name] = engine.native_module(layer)
    return module


def lent_attribute(layer: Any, name: str) -> Any:
    """``layer.<name>`` when the layer has no such attribute: the engine's
    native module lends the names it declares (``native_module_names``);
    anything else is an ``AttributeError``, as for any object."""
    if not name.startswith("_") and "_pk_initialized" in layer.__dict__:
        engine = backends.active()
        if name in engine.native_module_names:
            return getattr(native_module(layer, engine), name)
    raise AttributeError(f"{type(layer).__name__!r} object has no attribute {name!r}", name=name, obj=layer)
