"""``FeatureSpace``: one object that turns a dict of structured-data columns
(numbers, integer and string categories) into model-ready features, as
Keras 3's ``keras.utils.FeatureSpace``.

Each feature names how it is encoded (a :class:`Feature`: its input dtype,
its preprocessing layer and its output mode); ``crosses`` hash pairs (or
more) of categorical features together. ``adapt`` fits every preprocessor
that learns from data (normalization statistics, vocabularies, bin
boundaries); calling the space on a dict of columns gives one concatenated
float tensor (``output_mode="concat"``) or a dict of encoded features, in
Keras's order: features by sorted name, then crosses by sorted name.

The preprocessors are polykeras's own layers, so string columns work on
every engine (they are read as NumPy arrays, as the lookup layers read them),
called directly, in a ``tf.data`` map, or in a functional model built on
:meth:`FeatureSpace.get_inputs` (string inputs, computed on the host before
the model's compiled step).

Example:
    >>> space = FeatureSpace({"age": "float_normalized", "city": "string_categorical",
    ...                       "zone": "integer_categorical"}, crosses=[("city", "zone")], crossing_dim=16)
    >>> space.adapt({"age": ages, "city": cities, "zone": zones})
    >>> features = space({"age": ages[:2], "city": cities[:2], "zone": zones[:2]})   # (2, width)
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from polykeras import ops, registry
from polykeras.layers.layer import Layer

__all__ = ["Cross", "Feature", "FeatureSpace", "set_archive_writer"]

_FEATURE_KINDS = ("float", "float_normalized", "float_rescaled", "float_discretized", "integer_categorical",
                  "string_categorical", "integer_hashed", "string_hashed")


class Feature:
    """How one column is encoded: its input ``dtype``, the ``preprocessor``
    layer and ``output_mode`` (``"one_hot"``, ``"int"`` or ``"float"``).

    Example: ``FeatureSpace.feature("float32", layers.Rescaling(0.1), "float")``
    """

    def __init__(self, dtype: str, preprocessor: Any, output_mode: str) -> None:
        if output_mode not in ("int", "one_hot", "float"):
            raise ValueError(f"Feature: expected output_mode one of 'int', 'one_hot', 'float', received "
                             f"{output_mode!r}.")
        self.dtype = dtype
        self.preprocessor = _layers().deserialize(preprocessor) if isinstance(preprocessor, dict) else preprocessor
        self.output_mode = output_mode

    def get_config(self) -> dict[str, Any]:
        return {"dtype": self.dtype, "preprocessor": registry.serialize(self.preprocessor),
                "output_mode": self.output_mode}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Feature:
        return cls(**config)


class Cross:
    """A hashed cross of categorical features (``feature_names``) into
    ``crossing_dim`` bins, named ``"a_X_b"``.

    Example: ``FeatureSpace.cross(("city", "zone"), crossing_dim=64)``
    """

    def __init__(self, feature_names: Sequence[str], crossing_dim: int, output_mode: str = "one_hot") -> None:
        if output_mode not in ("int", "one_hot"):
            raise ValueError(f"Cross: expected output_mode 'int' or 'one_hot', received {output_mode!r}.")
        self.feature_names = tuple(feature_names)
        self.crossing_dim = crossing_dim
        self.output_mode = output_mode

    @property
    def name(self) -> str:
        return "_X_".join(self.feature_names)

    def get_config(self) -> dict[str, Any]:
        return {"feature_names": list(self.feature_names), "crossing_dim": self.crossing_dim,
                "output_mode": self.output_mode}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Cross:
        return cls(**config)


#: What a FeatureSpace config may name besides layers.
_OBJECTS = {"Feature": Feature, "Cross": Cross}


def _layers() -> Any:
    from polykeras import layers

    return layers


class FeatureSpace(Layer):
    """Preprocessing and encoding of structured data, as Keras 3's
    ``keras.utils.FeatureSpace`` (same arguments, feature kinds, order of the
    output and errors).

    Args:
        features: ``{name: kind}``, a kind being a :class:`Feature` (see the
            class methods ``float``, ``float_rescaled``, ``float_normalized``,
            ``float_discretized``, ``integer_categorical``,
            ``string_categorical``, ``integer_hashed``, ``string_hashed``,
            ``feature``) or one of their names as a string.
        output_mode: ``"concat"`` (one float tensor) or ``"dict"``.
        crosses: tuples of feature names (or :class:`Cross`) hashed together.
        crossing_dim: bins of a cross given as a tuple.
        hashing_dim: bins of ``"integer_hashed"``/``"string_hashed"`` strings.
        num_discretization_bins: bins of ``"float_discretized"`` strings.

    Example:
        >>> space = FeatureSpace({"x": "float_normalized", "kind": "string_categorical"}, output_mode="concat")
        >>> space.adapt({"x": np.array([1.0, 3.0]), "kind": np.array(["a", "b"])})
        >>> space({"x": np.array([2.0]), "kind": np.array(["b"])})   # [[0., 0., 0., 1.]]
    """

    # ---------------------------------------------------------- feature kinds
    @classmethod
    def cross(cls, feature_names: Sequence[str], crossing_dim: int, output_mode: str = "one_hot") -> Cross:
        """A hashed cross. Example: ``FeatureSpace.cross(("a", "b"), crossing_dim=32)``"""
        return Cross(feature_names, crossing_dim, output_mode=output_mode)

    @classmethod
    def feature(cls, dtype: str, preprocessor: Any, output_mode: str) -> Feature:
        """A feature with your own preprocessor. Example: ``FeatureSpace.feature("float32", layer, "float")``"""
        return Feature(dtype, preprocessor, output_mode)

    @classmethod
    def float(cls, name: str | None = None) -> Feature:  # noqa: A003 - Keras's name
        """A float column, as it is. Example: ``FeatureSpace.float()``"""
        return Feature("float32", _layers().Identity(dtype="float32", name=_named(name, "float")), "float")

    @classmethod
    def float_rescaled(cls, scale: builtins.float = 1.0, offset: builtins.float = 0.0,
                       name: str | None = None) -> Feature:
        """``x * scale + offset``. Example: ``FeatureSpace.float_rescaled(scale=0.1)``"""
        layer = _layers().Rescaling(scale=scale, offset=offset, name=_named(name, "float_rescaled"))
        return Feature("float32", layer, "float")

    @classmethod
    def float_normalized(cls, name: str | None = None) -> Feature:
        """Standardised with the mean and variance ``adapt`` finds. Example: ``FeatureSpace.float_normalized()``"""
        return Feature("float32", _layers().Normalization(axis=-1, name=_named(name, "float_normalized")), "float")

    @classmethod
    def float_discretized(cls, num_bins: int, bin_boundaries: Sequence[builtins.float] | None = None,
                          output_mode: str = "one_hot", name: str | None = None) -> Feature:
        """Bucketed into ``num_bins`` (quantiles from ``adapt``, or ``bin_boundaries``).
        Example: ``FeatureSpace.float_discretized(num_bins=8)``"""
        layer = _layers().Discretization(num_bins=num_bins, bin_boundaries=bin_boundaries,
                                         name=_named(name, "float_discretized"))
        return Feature("float32", layer, output_mode)

    @classmethod
    def integer_categorical(cls, max_tokens: int | None = None, num_oov_indices: int = 1,
                            output_mode: str = "one_hot", name: str | None = None) -> Feature:
        """Integer categories, indexed by the vocabulary ``adapt`` finds.
        Example: ``FeatureSpace.integer_categorical(max_tokens=100)``"""
        layer = _layers().IntegerLookup(name=_named(name, "integer_categorical"), max_tokens=max_tokens,
                                        num_oov_indices=num_oov_indices)
        return Feature("int32", layer, output_mode)

    @classmethod
    def string_categorical(cls, max_tokens: int | None = None, num_oov_indices: int = 1,
                           output_mode: str = "one_hot", name: str | None = None) -> Feature:
        """String categories, indexed by the vocabulary ``adapt`` finds.
        Example: ``FeatureSpace.string_categorical()``"""
        layer = _layers().StringLookup(name=_named(name, "string_categorical"), max_tokens=max_tokens,
                                       num_oov_indices=num_oov_indices)
        return Feature("string", layer, output_mode)

    @classmethod
    def string_hashed(cls, num_bins: int, output_mode: str = "one_hot", name: str | None = None) -> Feature:
        """Strings hashed into ``num_bins``. Example: ``FeatureSpace.string_hashed(num_bins=64)``"""
        return Feature("string", _layers().Hashing(name=_named(name, "string_hashed"), num_bins=num_bins),
                       output_mode)

    @classmethod
    def integer_hashed(cls, num_bins: int, output_mode: str = "one_hot", name: str | None = None) -> Feature:
        """Integers hashed into ``num_bins``. Example: ``FeatureSpace.integer_hashed(num_bins=64)``"""
        return Feature("int32", _layers().Hashing(name=_named(name, "integer_hashed"), num_bins=num_bins),
                       output_mode)

    # ------------------------------------------------------------- building
    def __init__(self, features: Mapping[str, Any], output_mode: str = "concat", crosses: Any = None,
                 crossing_dim: int = 32, hashing_dim: int = 32, num_discretization_bins: int = 32,
                 name: str | None = None, **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        if not features:
            raise ValueError(f"FeatureSpace '{self.name}': expected a non-empty dict of features, received "
                             f"{features!r}.")
        if output_mode not in ("dict", "concat"):
            raise ValueError(f"FeatureSpace '{self.name}': expected output_mode 'dict' or 'concat', received "
                             f"{output_mode!r}.")
        self.output_mode = output_mode
        self.crossing_dim, self.hashing_dim = crossing_dim, hashing_dim
        self.num_discretization_bins = num_discretization_bins
        self.features = {key: self._standardize(key, value) for key, value in features.items()}
        self.crosses = [self._cross(cross) for cross in crosses or []]
        self.crosses_by_name = {cross.name: cross for cross in self.crosses}
        self.preprocessors = {key: feature.preprocessor for key, feature in self.features.items()}
        self.crossers = {cross.name: _layers().HashedCrossing(cross.crossing_dim, name=cross.name)
                         for cross in self.crosses}
        self.one_hot_encoders: dict[str, Any] = {}
        self._is_adapted = False

    def _standardize(self, key: str, feature: Any) -> Feature:
        if isinstance(feature, Feature):
            return feature
        if isinstance(feature, dict):
            return registry.deserialize(feature, module_objects=_OBJECTS, kind="feature")
        if feature == "float_discretized":
            return self.float_discretized(num_bins=self.num_discretization_bins, name=key)
        if feature in ("integer_hashed", "string_hashed"):
            return getattr(self, feature)(self.hashing_dim, name=key)
        if feature in _FEATURE_KINDS:
            return getattr(self, feature)(name=key)
        raise ValueError(f"FeatureSpace '{self.name}': feature {key!r}: expected a Feature or one of "
                         f"{', '.join(_FEATURE_KINDS)}, received {feature!r}.")

    def _cross(self, cross: Any) -> Cross:
        if isinstance(cross, dict):
            cross = registry.deserialize(cross, module_objects=_OBJECTS, kind="cross")
        if not isinstance(cross, Cross):
            if not self.crossing_dim:
                raise ValueError(f"FeatureSpace '{self.name}': crosses need a crossing_dim, received "
                                 f"crossing_dim={self.crossing_dim!r}.")
            cross = Cross(cross, crossing_dim=self.crossing_dim)
        unknown = [key for key in cross.feature_names if key not in self.features]
        if unknown:
            raise ValueError(f"FeatureSpace '{self.name}': every feature of a cross must be in features; cross "
                             f"{cross.feature_names} names unknown {unknown} (features: {sorted(self.features)}).")
        return cross

    def _adaptable(self) -> list[str]:
        layers = _layers()
        names = []
        for key, layer in self.preprocessors.items():
            if isinstance(layer, layers.Normalization) and getattr(layer, "input_mean", None) is not None:
                continue  # given its statistics
            if hasattr(layer, "adapt"):
                names.append(key)
        return names

    def adapt(self, dataset: Any) -> None:
        """Fit every preprocessor that learns from data, on a dict of arrays
        (or lists) or a ``tf.data.Dataset`` of dicts, batched or not.

        Example: ``space.adapt({"age": ages, "city": cities})``
        """
        columns = _columns(dataset, self.name)
        missing = [key for key in self._adaptable() if key not in columns]
        if missing:
            raise ValueError(f"FeatureSpace '{self.name}'.adapt: expected data for every feature, missing "
                             f"{missing} (received {sorted(columns)}).")
        for key in self._adaptable():
            self.preprocessors[key].adapt(_as_column(columns[key]))
        self._is_adapted = True
        self._build_encoders()

    def _check_adapted(self) -> None:
        if not self._is_adapted:
            if self._adaptable():
                raise ValueError(f"FeatureSpace '{self.name}': call .adapt(data) before using it: features "
                                 f"{self._adaptable()} learn from data.")
            self._is_adapted = True
            self._build_encoders()

    def _cardinality(self, key: str) -> int:
        layers = _layers()
        layer = self.preprocessors.get(key) or self.crossers[key]
        if isinstance(layer, (layers.IntegerLookup, layers.StringLookup)):
            return int(layer.vocabulary_size())
        if isinstance(layer, layers.CategoryEncoding):
            return int(layer.num_tokens)
        if isinstance(layer, (layers.Discretization, layers.Hashing, layers.HashedCrossing)):
            return int(layer.num_bins)
        raise ValueError(f"FeatureSpace '{self.name}': feature {key!r} has output_mode='one_hot', but the size of "
                         f"its {type(layer).__name__} output space is not known: use output_mode='int'.")

    def _build_encoders(self) -> None:
        specs: dict[str, Any] = {**self.features, **self.crosses_by_name}
        self.one_hot_encoders = {
            key: _layers().CategoryEncoding(num_tokens=self._cardinality(key), output_mode="multi_hot")
            for key in self._order() if specs[key].output_mode == "one_hot"}
        self.built = True

    def _order(self) -> list[str]:
        return sorted(self.features) + sorted(self.crosses_by_name)

    # -------------------------------------------------------------- calling
    def get_inputs(self) -> dict[str, Any]:
        """A symbolic ``Input`` of shape ``(1,)`` per feature, for a model
        that takes the raw columns (string features get ``dtype="string"``
        inputs: the model runs their lookups and hashes on the host before
        its compiled step, on every engine).

        Example:
            >>> inputs = space.get_inputs()
            >>> model = Model(inputs, layers.Dense(1)(space.get_encoded_features()))
            >>> model.fit({"age": ages, "city": cities}, labels)   # raw columns, strings included
        """
        from polykeras.layers.input_layer import Input

        self._check_adapted()
        if "_symbolic_inputs" not in self.__dict__:  # made once: a model's inputs are these very tensors
            self.__dict__["_symbolic_inputs"] = {key: Input(shape=(1,), dtype=feature.dtype, name=key)
                                                 for key, feature in self.features.items()}
        return dict(self.__dict__["_symbolic_inputs"])

    def get_encoded_features(self) -> Any:
        """The encoded features of :meth:`get_inputs`, symbolic, to build a
        model on. Example: ``outputs = layers.Dense(1)(space.get_encoded_features())``"""
        if "_symbolic_outputs" not in self.__dict__:
            self.__dict__["_symbolic_outputs"] = self._encode(self.get_inputs())
        return self.__dict__["_symbolic_outputs"]

    def _encode(self, data: dict[str, Any]) -> Any:
        encoded = {key: self.preprocessors[key](data[key]) for key in self.features}
        for cross in self.crosses:
            encoded[cross.name] = self.crossers[cross.name]([encoded[key] for key in cross.feature_names])
        for key, encoder in self.one_hot_encoders.items():
            encoded[key] = encoder(encoded[key])
        if self.output_mode == "dict":
            return {key: encoded[key] for key in self._order()}
        parts = []
        for key in self._order():
            dtype = ops.dtype(encoded[key]) if not isinstance(encoded[key], np.ndarray) else str(encoded[key].dtype)
            if not str(dtype).startswith(("float", "bfloat")):
                raise ValueError(f"FeatureSpace '{self.name}': cannot concatenate feature {key!r}: it is not "
                                 f"encoded (dtype {dtype}); use output_mode='dict' or a one_hot/float feature.")
            parts.append(encoded[key])
        return ops.concatenate(parts, axis=-1)

    def __call__(self, data: Any, **kwargs: Any) -> Any:
        if not isinstance(data, Mapping):
            raise ValueError(f"FeatureSpace '{self.name}': expected a dict of columns, received "
                             f"{type(data).__name__}.")
        self._check_adapted()
        missing = [key for key in self.features if key not in data]
        if missing:
            raise ValueError(f"FeatureSpace '{self.name}': expected a column for every feature, missing {missing} "
                             f"(received {sorted(data)}).")
        columns, single = {}, False
        for key, feature in self.features.items():
            value = data[key]
            value = np.asarray(value) if feature.dtype == "string" or not hasattr(value, "shape") else value
            rank = len(np.shape(value)) if isinstance(value, np.ndarray) else len(ops.shape(value))
            if rank == 0:
                single = True
                value = ops.reshape(value, (1, 1)) if feature.dtype != "string" else np.reshape(value, (1, 1))
            elif rank == 1:
                value = ops.expand_dims(value, -1) if feature.dtype != "string" else value[:, None]
            if feature.dtype != "string" and isinstance(value, np.ndarray):
                value = value.astype(feature.dtype)
            columns[key] = value
        out = self._encode(columns)
        if single:  # one example in, one out (without the batch axis)
            out = ops.squeeze(out, 0) if self.output_mode == "concat" else \
                {key: ops.squeeze(value, 0) for key, value in out.items()}
        return out

    def call(self, inputs: Any) -> Any:
        return self(inputs)

    def compute_output_spec(self, inputs: Any) -> Any:
        """The encoded output's shape and dtype (a dict of them for
        ``output_mode="dict"``) for a dict of column specs, computed from the
        preprocessors' own output specs (so a ``tf.data`` map knows them ahead).

        Example: ``space.compute_output_spec({"age": Spec((None,), "float32")})``
        """
        from polykeras.backends.base import Spec
        from polykeras.layers.host_calls import output_spec

        self._check_adapted()
        columns, single = {}, False
        for key, feature in self.features.items():
            shape = tuple(inputs[key].shape)
            single = single or len(shape) == 0
            columns[key] = Spec((1, 1) if not shape else (shape[0], 1) if len(shape) == 1 else shape, feature.dtype)
        encoded = {key: output_spec(self.preprocessors[key], (columns[key],), {}) for key in self.features}
        for cross in self.crosses:
            encoded[cross.name] = self.crossers[cross.name].compute_output_spec(
                [encoded[key] for key in cross.feature_names])
        for key, encoder in self.one_hot_encoders.items():
            encoded[key] = output_spec(encoder, (encoded[key],), {})

        def unbatched(spec: Any) -> Spec:
            shape = tuple(spec.shape)
            return Spec(shape[1:] if single else shape, str(spec.dtype))

        if self.output_mode == "dict":
            return {key: unbatched(encoded[key]) for key in self._order()}
        parts = [encoded[key] for key in self._order()]
        widths = [tuple(part.shape)[-1] for part in parts]
        width = None if any(w is None for w in widths) else builtins.sum(widths)
        return unbatched(Spec((tuple(parts[0].shape)[0], width), str(parts[0].dtype)))

    # -------------------------------------------------------------- saving
    def get_config(self) -> dict[str, Any]:
        return {"name": self.name,
                "features": {key: registry.serialize(feature) for key, feature in self.features.items()},
                "output_mode": self.output_mode, "crosses": [registry.serialize(c) for c in self.crosses],
                "crossing_dim": self.crossing_dim, "hashing_dim": self.hashing_dim,
                "num_discretization_bins": self.num_discretization_bins}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Mapping[str, Any] | None = None) -> FeatureSpace:
        return cls(**config)

    def get_build_config(self) -> dict[str, Any]:
        """Each preprocessor's build config, by feature (Keras 3's layout);
        a space rebuilt from it counts as adapted, as in Keras."""
        return {key: layer.get_build_config() for key, layer in self.preprocessors.items()}

    def build_from_config(self, config: dict[str, Any] | None) -> None:
        """Build the preprocessors (their statistics then load as weights) and
        the encoders. Example: ``space.build_from_config(other.get_build_config())``"""
        for key, build in (config or {}).items():
            layer = self.preprocessors.get(key)
            if layer is not None and build and not layer.built:
                layer.build_from_config(build)
        self._is_adapted = True
        self._build_encoders()

    def save(self, filepath: str) -> None:
        """Save the adapted space (its config, vocabularies and statistics) to
        one archive, as Keras 3's ``FeatureSpace.save``; ``load_model`` returns
        it ready to use. A ``.keras`` path gets Keras 3's format.

        Example:
            >>> space.save("features.keras")
            >>> same = polykeras.saving.load_model("features.keras")
        """
        if _ARCHIVE_WRITER is None:
            raise RuntimeError(f"FeatureSpace '{self.name}'.save: the saving floor is not loaded; import "
                               "polykeras.saving (polykeras.utils does) before saving.")
        _ARCHIVE_WRITER(self, filepath)


#: Writes an object to an archive (``polykeras.saving.save_model``): the
#: saving floor sits above this one and installs it when it loads (as
#: ``polykeras.utils``, where FeatureSpace is public, loads it).
_ARCHIVE_WRITER: Any = None


def set_archive_writer(writer: Any) -> None:
    """Install the function ``FeatureSpace.save`` writes with (``writer(space, filepath)``).
    Example: ``set_archive_writer(polykeras.saving.save_model)``"""
    global _ARCHIVE_WRITER
    _ARCHIVE_WRITER = writer


def _named(name: str | None, kind: str) -> str | None:
    """Keras's name for a feature's preprocessor (``"<feature>_preprocessor"``)."""
    return None if name is None else f"{name}_preprocessor"


def _columns(dataset: Any, who: str) -> dict[str, Any]:
    """``{feature: all its values}`` from a dict of arrays or an iterable of dicts."""
    if isinstance(dataset, Mapping):
        return dict(dataset)
    if hasattr(dataset, "as_numpy_iterator"):  # tf.data: batched or not, gathered whole
        dataset = dataset.as_numpy_iterator()
    if isinstance(dataset, Iterable) and not isinstance(dataset, (str, bytes)):
        chunks: dict[str, list[Any]] = {}
        for element in dataset:
            if not isinstance(element, Mapping):
                break
            for key, value in element.items():
                chunks.setdefault(key, []).append(np.atleast_1d(np.asarray(value)))
        else:
            return {key: np.concatenate(values) for key, values in chunks.items()}
    raise ValueError(f"FeatureSpace '{who}'.adapt: expected a dict of arrays/lists or a tf.data.Dataset of "
                     f"dicts, received {type(dataset).__name__}.")


def _as_column(values: Any) -> Any:
    """Values as a ``(n, 1)`` column (rank-0 and rank-1 data get an axis)."""
    values = np.asarray(values) if not hasattr(values, "shape") else values
    if len(values.shape) <= 1:
        values = np.reshape(np.asarray(values), (-1, 1))
    return values
