"""A layer's lifecycle around the user's code: argument capture before
``__init__``, the build after it when an input shape was given, the wrapper
that every ``build`` gets (name scope, ``built = True``, Keraflow's
``initial_weights``), and what ``__call__`` needs to know about ``call``'s
signature.

Example:
    >>> class Probe(Layer):
    ...     def build(self, input_shape):      # wrapped: sets built, opens the name scope
    ...         self.w = self.add_weight(shape=(input_shape[-1],))
    >>> Probe(input_shape=(3,)).built
    True
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from polykeras.layers.config import capture_init_args
from polykeras.variables import Variable, current_path, name_scope

__all__ = ["LayerMeta", "call_info", "input_shape_from", "is_shape", "shape_of", "spec_shapes", "tuples", "wrap_build"]

#: Keyword arguments every layer accepts to build right after construction.
SHAPE_KWARGS = ("input_shape", "input_dim", "batch_size", "batch_input_shape", "input_length")

_L = TypeVar("_L")


class LayerMeta(type):
    """Captures ``__init__`` arguments before construction, checks that
    ``Layer.__init__`` ran, and builds right after the most-derived
    ``__init__`` returns when an input shape was given.

    A class's signature is its constructor's, not this ``__call__``'s
    ``(*args, **kwargs)``: ``inspect.signature(Dense)`` (``help``, IPython,
    Jupyter) reads ``__signature__``, and the ``__call__`` annotation returns
    the class's own instance, so type checkers and IDEs read ``__init__``.
    """

    @property
    def __signature__(cls) -> inspect.Signature:
        # The constructor ``type.__call__`` would run: the first ``__new__`` or
        # ``__init__`` along the MRO (``Model`` has ``__new__``), less its first parameter.
        for base in cls.__mro__:
            for name in ("__new__", "__init__"):
                method = vars(base).get(name)
                method = method.__func__ if isinstance(method, staticmethod) else method
                if inspect.isfunction(method):
                    signature = inspect.signature(method)
                    return signature.replace(parameters=list(signature.parameters.values())[1:])
        return inspect.Signature()

    def __call__(cls: type[_L], *args: Any, **kwargs: Any) -> _L:
        captured = capture_init_args(cls, args, kwargs)
        layer = type.__call__(cls, *args, **kwargs)
        if "_pk_initialized" not in layer.__dict__:
            raise TypeError(f"{cls.__name__}.__init__ must call super().__init__(**kwargs) so the layer is set up.")
        layer.__dict__["_init_args"] = captured
        shape = layer.__dict__.get("_input_shape_arg")
        if shape is not None and not layer.built:
            layer.build(shape)
        return layer


def wrap_build(build: Callable[..., Any]) -> Callable[..., Any]:
    """``build`` inside the layer's name scope, then ``built = True``, the
    build shapes recorded and Keraflow's weight arguments applied. A
    ``super().build(...)`` inside ``build`` runs the parent's body only."""
    if getattr(build, "_pk_wrapped", False):
        return build

    @functools.wraps(build)
    def wrapped(self: Any, *args: Any, **kwargs: Any) -> None:
        if self.__dict__.get("_building"):
            return build(self, *args, **kwargs)
        self.__dict__["_building"] = True
        try:
            with name_scope(self.name):
                self.__dict__["_path"] = current_path()
                self._resolve_policy()  # a DTypePolicyMap's entry for the path
                build(self, *args, **kwargs)
        finally:
            self.__dict__["_building"] = False
        shapes: dict[int | str, Any] = dict(enumerate(args))
        shapes.update(kwargs)
        self.__dict__["_build_shapes"] = args[0] if len(args) == 1 and not kwargs else shapes
        self.built = True
        self._weight_options.after_build(self)

    wrapped._pk_wrapped = True  # type: ignore[attr-defined]
    return wrapped


@functools.lru_cache(maxsize=None)
def call_info(call: Callable[..., Any]) -> tuple[bool, bool, Any, str | None, int, int]:
    """For a ``call`` function: (takes ``training``, takes ``mask``, the
    default of ``training``, the name of the first parameter, and the
    positions of ``training`` and ``mask`` among the positional parameters,
    or a large number when they cannot be passed by position)."""
    params = list(inspect.signature(call).parameters.values())[1:]
    names = {p.name: p for p in params}
    training = names.get("training")
    default = training.default if training is not None and training.default is not inspect.Parameter.empty else None
    positional_kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    positional = [p.name for p in params if p.kind in positional_kinds]
    first = positional[0] if positional and params[0].kind in positional_kinds else None
    never = 1 << 30
    where = {name: positional.index(name) if name in positional else never for name in ("training", "mask")}
    return "training" in names, "mask" in names, default, first, where["training"], where["mask"]


@functools.lru_cache(maxsize=None)
def build_params(build: Callable[..., Any]) -> tuple[str, ...]:
    """The positional parameter names of a ``build`` function, less ``self``."""
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return tuple(p.name for p in list(inspect.signature(build).parameters.values())[1:] if p.kind in positional)


def shape_of(x: Any) -> Any:
    """A tensor's shape as a tuple (None for non-tensors)."""
    if isinstance(x, Variable):
        return x.shape
    shape = getattr(x, "shape", None)
    return tuple(None if d is None else int(d) for d in shape) if shape is not None else None


def input_shape_from(kwargs: dict[str, Any]) -> Any:
    """The build shape (with the batch axis) from ``input_shape``/``input_dim``/
    ``batch_size``/``batch_input_shape``, or None."""
    batch = kwargs.get("batch_size")
    if kwargs.get("batch_input_shape") is not None:
        return tuple(kwargs["batch_input_shape"])
    if kwargs.get("input_dim") is not None:
        shape: Any = (kwargs["input_dim"],)
        if kwargs.get("input_length") is not None:
            shape = (kwargs["input_length"], kwargs["input_dim"])
    else:
        shape = kwargs.get("input_shape")
    if shape is None:
        return None
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    if is_shape(shape):
        return (batch, *tuple(shape))
    return [(batch, *tuple(s)) for s in shape]


def is_shape(value: Any) -> bool:
    """True for a tuple/list of ints and Nones."""
    return isinstance(value, (tuple, list)) and all(d is None or isinstance(d, (int, np.integer)) for d in value)


def tuples(shape: Any) -> Any:
    """Shapes (lists from JSON) as tuples, in the same structure."""
    if is_shape(shape):
        return tuple(shape)
    if isinstance(shape, (list, tuple)):
        return [tuples(s) for s in shape]
    if isinstance(shape, dict):
        return {k: tuples(v) for k, v in shape.items()}
    return shape


def spec_shapes(spec: Any) -> Any:
    """Shapes from a traced output structure (``Spec`` leaves)."""
    if hasattr(spec, "shape") and hasattr(spec, "dtype") and not isinstance(spec, (list, tuple, dict)):
        return tuple(spec.shape)
    if isinstance(spec, tuple):
        return tuple(spec_shapes(s) for s in spec)
    if isinstance(spec, list):
        return [spec_shapes(s) for s in spec]
    if isinstance(spec, dict):
        return {k: spec_shapes(v) for k, v in spec.items()}
    return spec
