"""``Model``: a layer with training, saving and inspection.

``Model(inputs, outputs)`` builds a functional graph (:class:`Functional`);
subclass ``Model`` and write ``call`` for anything a graph cannot say.

Example:
    >>> class TwoLayer(Model):
    ...     def __init__(self, **kwargs):
    ...         super().__init__(**kwargs)
    ...         self.hidden = layers.Dense(16, activation="relu")
    ...         self.out = layers.Dense(1)
    ...     def call(self, x):
    ...         return self.out(self.hidden(x))
    >>> model = TwoLayer()
    >>> model.build((None, 8))          # weights exist before any data
    >>> model.count_params()
    161
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from polykeras import ops
from polykeras.layers.layer import Layer
from polykeras.symbolic import SymbolicTensor, any_symbolic, map_structure
from polykeras.trainers.trainer import Trainer

if TYPE_CHECKING:
    from polykeras.models.functional import Functional


_GRAPH_CLASSES: dict[type, type[Functional]] = {}


def _with_graph(cls: type) -> type[Functional]:
    """``cls`` with :class:`Functional` behind it in the MRO (made once per class)."""
    from polykeras.models.functional import Functional

    if cls not in _GRAPH_CLASSES:
        _GRAPH_CLASSES[cls] = type(cls.__name__, (cls, Functional), {"__module__": cls.__module__,
                                                                    "__qualname__": cls.__qualname__})
    return _GRAPH_CLASSES[cls]


def _is_shape(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and all(d is None or isinstance(d, int) for d in value)


def _graph_arguments(args: tuple, kwargs: dict[str, Any]) -> bool:
    """True for ``(inputs, outputs)`` given as symbolic tensors, positionally or
    by name: a functional model. ``MyModel(4, 2)`` is a subclass's own arguments."""
    inputs = args[0] if args else kwargs.get("inputs")
    outputs = args[1] if len(args) > 1 else kwargs.get("outputs")
    if len(args) > 2 or inputs is None or outputs is None:
        return False
    return any_symbolic(inputs) and any_symbolic(outputs)


def _revivable_as_graph(cls: type) -> bool:
    """Whether ``cls(inputs, outputs, name=..., trainable=...)`` makes a graph
    model: ``Model`` itself, a subclass that keeps the inherited constructor,
    or one whose constructor takes ``(inputs, outputs, ...)`` or ``(*args, **kwargs)``."""
    import inspect

    owner = next(klass for klass in cls.__mro__ if "__init__" in vars(klass))
    if owner.__module__.startswith("polykeras."):
        return True
    params = list(inspect.signature(vars(owner)["__init__"]).parameters.values())[1:]
    kinds = {p.kind for p in params}
    variadic = kinds >= {inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD} and len(params) == 2
    return [p.name for p in params][:2] == ["inputs", "outputs"] or variadic


class Model(Trainer, Layer):
    """A trainable, saveable stack of layers.

    ``Model(inputs, outputs, name=None)`` makes a functional model; ``Model()``
    in a subclass makes a subclassed one. See the module docstring.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Model:
        from polykeras.models.functional import Functional

        if _graph_arguments(args, kwargs) and not issubclass(cls, Functional):
            # Model(inputs, outputs), or a subclass that only overrides steps
            # (train_step, ...) called the same way: a graph model of that class.
            return super().__new__(Functional if cls is Model else _with_graph(cls))
        return super().__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any):
        from polykeras.models.functional import Functional

        if _graph_arguments(args, kwargs) and not isinstance(self, Functional):
            # A subclass whose own constructor makes a graph and hands it on
            # (super().__init__(inputs, outputs)): it becomes a graph model.
            self.__class__ = _with_graph(type(self))
            Functional.__init__(self, *args, **kwargs)  # type: ignore[arg-type]
            return
        super().__init__(*args, **kwargs)

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Mapping[str, Any] | None = None) -> Any:
        """A model from its config. A functional model's config (``layers``,
        ``input_layers``, ``output_layers``) rebuilds the graph, as
        ``Functional.from_config`` does; any other config goes to the
        constructor. Example: ``Model.from_config(model.get_config())``"""
        from polykeras.models.functional import Functional

        if {"layers", "input_layers", "output_layers"} <= set(config) and _revivable_as_graph(cls):
            graph = Functional if cls is Model else _with_graph(cls)
            return graph.from_config(config, custom_objects)
        return super().from_config(config, custom_objects)

    # ------------------------------------------------------------- structure
    @property
    def run_eagerly(self) -> bool:
        """Whether ``fit``/``evaluate``/``predict`` run their steps uncompiled
        (``compile(run_eagerly=...)``; False before ``compile``), as Keras 3.
        Settable; steps made already are kept until they are made anew
        (``model.train_function = None``). Example: ``model.run_eagerly = True``"""
        return bool(self.__dict__.get("_run_eagerly", False))

    @run_eagerly.setter
    def run_eagerly(self, value: bool) -> None:
        self.__dict__["_run_eagerly"] = value

    @property
    def jit_compile(self) -> Any:
        """The compiler choice of the steps: ``compile(jit_compile=...)``,
        True, False or ``"auto"`` (the default, before ``compile`` too: the
        engine decides when the step is made; Keras 3 resolves ``"auto"`` to
        a bool here). Settable, as ``run_eagerly``. Example: ``model.jit_compile = False``"""
        return self.__dict__.get("_jit_compile", "auto")

    @jit_compile.setter
    def jit_compile(self, value: Any) -> None:
        self.__dict__["_jit_compile"] = value

    @property
    def layers(self) -> list[Layer]:
        """The model's direct sub-layers, in the order they were assigned."""
        return self._flatten_layers(include_self=False, recursive=False)

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """A sub-layer by name or by position in :attr:`layers`.

        Example: ``model.get_layer("dense_1")``
        """
        if (name is None) == (index is None):
            raise ValueError(f"get_layer on model {self.name!r}: expected exactly one of name= or index=, "
                             f"received name={name!r}, index={index!r}.")
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(f"get_layer on model {self.name!r}: expected an index below {len(layers)}, "
                                 f"received {index}.")
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f"get_layer on model {self.name!r}: no layer named {name!r}; "
                         f"the layers are {[layer.name for layer in layers]}.")

    @property
    def input(self) -> Any:
        """The model's input tensor(s) (functional and Sequential models)."""
        inputs = self._symbolic("inputs")
        return inputs[0] if len(inputs) == 1 else inputs

    @property
    def output(self) -> Any:
        """The model's output tensor(s) (functional and Sequential models)."""
        outputs = self._symbolic("outputs")
        return outputs[0] if len(outputs) == 1 else outputs

    @property
    def input_shape(self) -> Any:
        """Shape of the input, or a list of shapes for several inputs."""
        return map_structure(lambda t: t.shape, self.input)

    @property
    def output_shape(self) -> Any:
        """Shape of the output, or a list of shapes for several outputs."""
        return map_structure(lambda t: t.shape, self.output)

    def _symbolic(self, which: str) -> list[SymbolicTensor]:
        tensors = getattr(self, which, None)
        if not tensors:
            raise ValueError(f"Model {self.name!r} has no symbolic {which[:-1]}: it is a subclassed model, "
                             "or a Sequential model not built yet")
        return tensors

    # ------------------------------------------------------------- building
    def build(self, input_shape: Any = None) -> None:
        """Create every weight by running ``call`` once on zeros of
        ``input_shape`` (unknown sizes as 1), so ``summary()`` and weight
        saving work before any data is seen.

        Example: ``model.build((None, 28, 28, 1))``
        """
        if self.built:
            return
        if input_shape is None:
            raise ValueError(f"Model {self.name!r}: build() needs input_shape, e.g. model.build((None, 8)).")
        concrete = lambda shape: ops.zeros(tuple(1 if d is None else d for d in shape))  # noqa: E731
        if _is_shape(input_shape):
            self.call(concrete(input_shape))
        else:
            self.call([concrete(shape) for shape in input_shape])

    # --------------------------------------------------------------- saving
    def save(self, filepath: Any, overwrite: bool = True, zipped: bool | None = None, **kwargs: Any) -> None:
        """Save config, weights, optimizer state and compile config to one
        archive, atomically: ``.keras`` a Keras 3 archive, any other name
        polykeras' own (``.pkeras``). Example: ``model.save("model.keras")``"""
        from polykeras.saving.archive import save_model

        save_model(self, filepath, overwrite=overwrite, zipped=zipped, **kwargs)

    def save_weights(self, filepath: Any, overwrite: bool = True, max_shard_size: Any = None) -> None:
        """Save the weights to HDF5 by layer path (Keras 3's layout beside it).
        Example: ``model.save_weights("model.weights.h5")``"""
        from polykeras.saving.weights import save_weights

        save_weights(self, filepath, overwrite=overwrite, max_shard_size=max_shard_size)

    def load_weights(self, filepath: Any, skip_mismatch: bool = False, *, by_name: bool = False,
                     **kwargs: Any) -> None:
        """Load weights saved by :meth:`save_weights` (or a Keras 3
        ``.weights.h5``); nothing is assigned unless everything fits.
        Example: ``model.load_weights("model.weights.h5")``"""
        from polykeras.saving.weights import load_weights

        load_weights(self, filepath, skip_mismatch=skip_mismatch, by_name=by_name, **kwargs)

    def export(self, filepath: Any, format: str = "tf_saved_model", verbose: bool | None = None,
               input_signature: Any = None, **kwargs: Any) -> None:
        """Export for inference, from whatever engine trained the model:
        ``"tf_saved_model"`` (a folder with a ``serve`` endpoint), ``"onnx"``,
        ``"torch"`` (a ``torch.export`` ``.pt2``) or ``"jax"`` (``jax.export``
        serialized StableHLO). ``input_signature`` as Keras 3 (InputSpec,
        tensor specs or shapes); the batch axis stays dynamic. Written
        atomically. Example: ``model.export("model.onnx", format="onnx")``"""
        from polykeras.export.archive import export_model

        export_model(self, filepath, format=format, verbose=verbose, input_signature=input_signature, **kwargs)

    def quantize(self, mode: str | None = None, config: Any = None,  # type: ignore[override]  # Keras 3's order
                 filters: Any = None, **kwargs: Any) -> None:
        """Quantize the weights of every layer that supports it (``Dense``,
        ``EinsumDense``, ``Embedding``), in place: ``"int8"``, ``"int4"``,
        ``"float8"``, or a ``keras.quantizers.QuantizationConfig``. The model
        must be built; ``filters`` (a name regex, a list of them, or a
        callable on the layer) picks the layers. Example: ``model.quantize("int8")``"""
        from polykeras.layers.core.quantization import quantize_model

        quantize_model(self, mode, config=config, filters=filters, **kwargs)

    def to_json(self, **kwargs: Any) -> str:
        """The architecture as JSON. Example: ``text = model.to_json()``"""
        from polykeras.saving.serialization import to_json

        return to_json(self, **kwargs)

    def to_yaml(self) -> str:
        """The architecture as YAML. Example: ``text = model.to_yaml()``"""
        from polykeras.saving.serialization import to_yaml

        return to_yaml(self)

    def save_to_file(self, arch_fname: Any, weight_fname: Any = None) -> None:
        """Architecture to JSON/YAML (by extension) and optionally weights to HDF5.
        Example: ``model.save_to_file("arch.json", "weights.h5")``"""
        from polykeras.saving.serialization import save_to_file

        save_to_file(self, arch_fname, weight_fname)

    def to_backend(self, name: str) -> Model:
        """The same model (config, weights, compile config, optimizer state)
        rebuilt on engine ``name``, without a file: it computes the same
        predictions and resumes training where this one stopped. The new
        model belongs to ``name``; use it inside ``backends.use(name)``.

        Example: ``jax_model = model.to_backend("jax")``
        """
        from polykeras import backends
        from polykeras.saving.archive import archive_bytes, load_model_bytes

        data = archive_bytes(self)
        with backends.use(name):
            return load_model_bytes(data, where=f"model {self.name!r} moving to {name!r}")

    # -------------------------------------------------------------- summary
    def summary(self, line_length: int | None = None, positions: Sequence[float] | None = None,
                print_fn: Callable[[str], Any] | None = None, expand_nested: bool = False,
                show_trainable: bool = False, layer_range: Sequence[str] | None = None) -> None:
        """Print a table of the layers: name and type, output shape, parameter
        count, and for graphs the layers each is connected to. ``positions``
        sets the columns' right edges (fractions of ``line_length``, or
        characters); ``expand_nested`` lists a nested model's layers under
        it; ``layer_range`` (two layer names or regular expressions) prints
        the layers from the first to the second only.

        Example: ``model.summary(print_fn=lines.append, layer_range=["conv1", "pool.*"])``
        """
        from polykeras.models.summary import print_summary

        print_summary(self, line_length=line_length, print_fn=print_fn, expand_nested=expand_nested,
                      show_trainable=show_trainable, positions=positions, layer_range=layer_range)
