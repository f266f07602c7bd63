"""Keras 3 configs -> polykeras configs (pure data to pure data).

polykeras follows Keras 3's class names, argument names and weight layout,
so translating is mostly checking: each Keras class must have a polykeras
twin (a built-in layer, or a class passed in ``custom_objects`` /
registered), dtype policies become dtype names, Keras tensors
(``__keras_tensor__`` with ``keras_history``) become polykeras tensor
references, and every argument must be one the twin accepts. Keras-only
arguments are dropped only when they are switched off (``None``/``False``
or the inert values in :data:`INERT`); any other is an error naming the
layer and the argument, so a translated model never silently computes
something else. Layer names are kept.

Nothing here constructs an object or imports a module: the output goes
through the same allow-listed deserializer as polykeras' own files.

Example:
    >>> ours, build_config = translate_model(json.loads(config_text), "model.keras")
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

__all__ = ["KerasConfigError", "translate_compile_config", "translate_model"]

#: Keras-only arguments and the values for which they change nothing. ``lora_rank``/``lora_alpha``
#: are not among them: the layers Keras 3 gives LoRA take them (a rank > 0 enables LoRA when built).
INERT: dict[str, tuple[Any, ...]] = {
    "quantization_config": (None,), "sparse": (False,),
    "ragged": (False,), "optional": (False,), "synchronized": (False,), "renorm": (False,),
    "input_axes": (None,), "output_axes": (None,), "loss_scale_factor": (None, 1, 1.0),
    "gradient_accumulation_steps": (None, 1), "groups": (1,), "seed": (None,),
}
#: Keys of Keras' serialized objects that carry no meaning for us.
_DROP_KEYS = ("shared_object_id", "build_config", "compile_config")
_MODELS = ("Functional", "Sequential", "Model")
#: Keras' op classes (graph nodes of ``ops.*`` and tensor operators) live here.
_KERAS_OPS = "keras.src.ops."


class KerasConfigError(ValueError):
    """A Keras config that has no faithful polykeras translation.

    Example:
        >>> try:
        ...     load_model("lstm_model.keras")
        ... except KerasConfigError as err:
        ...     print(err)   # "...: layer 'lstm' (Keras class LSTM) has no polykeras twin; ..."
    """


def _layer_table() -> dict[str, type]:
    import importlib

    from polykeras.layers.config import LAYER_CLASSES

    for package in ("polykeras.layers", "polykeras.models"):  # importing them registers the built-in classes
        importlib.import_module(package)
    return LAYER_CLASSES


def accepted_arguments(cls: type) -> set[str] | None:
    """Every keyword ``cls(...)`` accepts, following ``**kwargs`` up the bases;
    None when some ``__init__`` cannot be read (then anything is passed on).
    Example: ``"units" in accepted_arguments(Dense)`` -> ``True``"""
    from polykeras.layers.lifecycle import SHAPE_KWARGS

    names: set[str] = set(SHAPE_KWARGS)
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        try:
            params = list(inspect.signature(init).parameters.values())[1:]
        except (TypeError, ValueError):
            return None
        names |= {p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
        if klass is object:
            break
    names.discard("self")
    return names


def _inert(key: str, value: Any) -> bool:
    """Whether a Keras-only argument is switched off (so dropping it changes nothing)."""
    if value is None or value is False:
        return True
    return type(value) is not bool and value in INERT.get(key, ())


def _keep_arguments(config: Mapping[str, Any], cls: type, label: str) -> dict[str, Any]:
    allowed = accepted_arguments(cls)
    out = {}
    for key, value in config.items():
        if key in _DROP_KEYS:
            continue
        if allowed is None or key in allowed:
            out[key] = value
        elif not _inert(key, value):
            raise KerasConfigError(f"{label}: argument {key}={value!r} has no polykeras equivalent in "
                                   f"{cls.__name__}; the model cannot be translated faithfully.")
    return out


def _as_option(value: Any) -> Any:
    """An op's constructor option from JSON: lists back to tuples (``axis=(1, 2)``)."""
    if isinstance(value, list):
        return tuple(_as_option(v) for v in value)
    if isinstance(value, dict):
        return {k: _as_option(v) for k, v in value.items()}
    return value


def _same(value: Any, default: Any) -> bool:
    """Whether a Keras-only op option holds Keras' default (so dropping it changes nothing)."""
    if isinstance(value, bool) or isinstance(default, bool) or value is None or default is None:
        return value is default
    return isinstance(value, (int, float, str, tuple)) and type(value) is not bool and value == default


def _dtype(value: Any, label: str) -> Any:
    if isinstance(value, dict) and value.get("class_name") not in ("DTypePolicy", "FloatDTypePolicy"):
        return value  # a DTypePolicyMap or a quantized policy: the layer reads its config
    if isinstance(value, dict) and "DTypePolicy" in str(value.get("class_name", "")):
        name = (value.get("config") or {}).get("name")
        if not isinstance(name, str):
            raise KerasConfigError(f"{label}: field 'dtype' holds a dtype policy without a name: {value!r}.")
        return name
    return value


class Translator:
    """Translates one Keras model config; ``custom_objects`` may supply
    twins for Keras classes polykeras lacks.

    Example:
        >>> ours = Translator("model.keras", {"MyKerasLayer": MyLayer}).model(keras_config)
    """

    def __init__(self, where: str, custom_objects: Mapping[str, Any] | None = None):
        self.where = where
        self.custom_objects = dict(custom_objects or {})
        self.layers = _layer_table()

    # ------------------------------------------------------------ objects
    def _custom(self, registered: Any, name: str) -> Any:
        """A user's class for a Keras entry: from ``custom_objects`` (by
        registered or class name), else registered under Keras' registered
        name (``@register_keras_serializable(package)`` on either side)."""
        from polykeras.saving.registry import get_registered_object

        found = self.custom_objects.get(registered) or self.custom_objects.get(name)
        if found is None and isinstance(registered, str):
            found = get_registered_object(registered)
        return found

    def _family(self, module: str) -> tuple[str, dict[str, Any]]:
        from polykeras import activations, constraints, initializers, quantizers, regularizers

        for marker, table in (("initializers", initializers.ALL_OBJECTS_DICT),
                              ("regularizers", regularizers.ALL_OBJECTS_DICT),
                              ("constraints", constraints.ALL_OBJECTS_DICT),
                              ("activations", activations.ALL_OBJECTS_DICT),
                              ("quantizers", quantizers.ALL_OBJECTS_DICT)):
            if marker in module:
                return marker, table
        return "layers", self.layers

    def value(self, value: Any, label: str) -> Any:
        """A config value with nested Keras objects translated."""
        if isinstance(value, dict) and isinstance(value.get("class_name"), str) and "config" in value:
            return self.obj(value, label)
        if isinstance(value, dict):
            return {k: self.value(v, f"{label}.{k}") for k, v in value.items() if k not in _DROP_KEYS}
        if isinstance(value, list):
            return [self.value(v, f"{label}[{i}]") for i, v in enumerate(value)]
        return value

    def obj(self, value: dict[str, Any], label: str) -> Any:
        """A nested serialized object (initializer, regularizer, constraint, activation)."""
        name = value["class_name"]
        if name == "__lambda__" or name == "__keras_tensor__":
            raise KerasConfigError(f"{self.where}: {label} is a {name} entry (Python bytecode or a tensor); "
                                   "polykeras never loads code from a file.")
        if name == "function":  # a named function: Keras stores its name as the config
            function = value.get("registered_name") or value.get("config")
            if not isinstance(function, str):
                raise KerasConfigError(f"{self.where}: {label} names a function without a name: {value!r}.")
            return function.split(">")[-1] if function not in self.custom_objects else function
        if "distillation" in str(value.get("module") or "") and isinstance(value.get("config"), dict):
            # a Distiller's loss: Distiller.from_config builds it by class name, from its own table
            return {"module": "polykeras.distillation", "class_name": name, "registered_name": None,
                    "config": self.value(value["config"], f"{label}.config")}
        family, table = self._family(str(value.get("module") or ""))
        if family == "layers" and isinstance(value.get("config"), dict):  # a wrapped layer, a cell, a model
            translated = self.layer(value, label)
            translated.pop("build", None)  # a nested Sequential builds from its InputLayer
            return translated
        registered = value.get("registered_name")
        cls = self._custom(registered, name) or table.get(name)
        if cls is None:
            raise KerasConfigError(f"{self.where}: {label} is a Keras {family[:-1]} {name!r} with no polykeras "
                                   "equivalent; pass one in custom_objects.")
        inner = value["config"]
        if inspect.isclass(cls) and isinstance(inner, dict):
            inner = _keep_arguments({k: self.value(v, f"{label}.{k}") for k, v in inner.items()}, cls,
                                    f"{self.where}: {label} ({name})")
        return {"module": f"polykeras.{family}", "class_name": name, "config": inner,
                "registered_name": registered if self._custom(registered, name) is not None else None}

    # ------------------------------------------------------------- layers
    def layer(self, entry: dict[str, Any], label: str) -> dict[str, Any]:
        """One layer entry (a nested model included) of a Keras config."""
        if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str) \
                or not isinstance(entry.get("config"), dict):
            raise KerasConfigError(f"{self.where}: {label}: expected a layer entry with 'class_name' and "
                                   f"'config', received {str(entry)[:80]!r}.")
        name = entry["class_name"]
        layer_name = entry["config"].get("name", entry.get("name", "?"))
        where = f"{self.where}: layer {layer_name!r} (Keras class {name})"
        if name in _MODELS:
            return self.model(entry, where)
        registered = entry.get("registered_name")
        cls = self._custom(registered, name) or self.layers.get(name)
        if cls is None:
            raise KerasConfigError(f"{where} has no polykeras twin; pass one in custom_objects="
                                   f"{{{name!r}: ...}} or rebuild the model from built-in layers.")
        config = {k: (_dtype(v, where) if k == "dtype" else self.value(v, f"{where} argument {k!r}"))
                  for k, v in entry["config"].items()}
        if name == "Lambda":
            config = self._lambda(config, where)
        config = _keep_arguments(config, cls, where)
        return {"module": "polykeras.layers", "class_name": name, "config": config,
                "registered_name": registered if self._custom(registered, name) is not None else None}

    def feature_space(self, entry: dict[str, Any]) -> dict[str, Any]:
        """A Keras ``FeatureSpace`` (``feature_space.save``): its features'
        preprocessors translated as layers, its crosses and options kept."""
        config = entry.get("config")
        if not isinstance(config, dict) or not isinstance(config.get("features"), dict):
            raise KerasConfigError(f"{self.where}: a FeatureSpace config needs a 'features' object.")
        features = {}
        for key, feature in config["features"].items():
            inner = feature.get("config") if isinstance(feature, dict) else None
            if not isinstance(inner, dict) or feature.get("class_name") != "Feature":
                raise KerasConfigError(f"{self.where}: FeatureSpace feature {key!r}: expected a Feature entry, "
                                       f"received {str(feature)[:80]!r}.")
            preprocessor = self.layer(inner.get("preprocessor") or {}, f"feature {key!r} preprocessor")
            preprocessor.pop("build", None)
            features[key] = {"module": "polykeras.utils", "class_name": "Feature", "registered_name": None,
                             "config": {"dtype": self.value(inner.get("dtype"), f"feature {key!r} dtype"),
                                        "preprocessor": preprocessor, "output_mode": inner.get("output_mode")}}
        crosses = []
        for index, cross in enumerate(config.get("crosses") or []):
            inner = cross.get("config") if isinstance(cross, dict) else None
            if not isinstance(inner, dict) or cross.get("class_name") != "Cross":
                raise KerasConfigError(f"{self.where}: FeatureSpace cross {index}: expected a Cross entry, "
                                       f"received {str(cross)[:80]!r}.")
            crosses.append({"module": "polykeras.utils", "class_name": "Cross", "registered_name": None,
                            "config": {k: self.value(v, f"cross {index} {k!r}") for k, v in inner.items()}})
        options = {k: self.value(v, f"FeatureSpace argument {k!r}") for k, v in config.items()
                   if k in ("output_mode", "crossing_dim", "hashing_dim", "num_discretization_bins", "name")}
        return {"module": "polykeras.utils", "class_name": "FeatureSpace", "registered_name": None,
                "config": {**options, "features": features, "crosses": crosses}}

    def _lambda(self, config: dict[str, Any], where: str) -> dict[str, Any]:
        for key in ("function", "output_shape", "mask"):
            value = config.get(key)
            if isinstance(value, dict):
                raise KerasConfigError(f"{where}: its {key} is stored as Python bytecode; polykeras never loads "
                                       "code from a file. Register a function and rebuild the layer instead.")
        return config

    # ------------------------------------------------------------- models
    def model(self, entry: dict[str, Any], where: str | None = None) -> dict[str, Any]:
        """A Keras Functional or Sequential config (top level or nested)."""
        where = where or self.where
        name = entry["class_name"]
        config = entry.get("config")
        if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
            raise KerasConfigError(f"{where}: field 'config.layers' is missing; expected a Functional or "
                                   f"Sequential model, received class {name!r}.")
        layers = config["layers"]
        if name == "Sequential":
            ours: dict[str, Any] = {"name": config.get("name"), "trainable": config.get("trainable", True),
                                    "layers": [self.layer(e, f"layer {i}") for i, e in enumerate(layers)]}
            shape = config.get("build_input_shape")
            built = {"input_shape": shape} if isinstance(shape, list) else None
            return {"module": "polykeras.models", "class_name": "Sequential", "config": ours,
                    "registered_name": None, "build": built}
        if name == "Model" and "input_layers" not in config:
            raise KerasConfigError(f"{where}: a subclassed Keras model has no polykeras twin (its code is not in "
                                   "the file); rebuild it in polykeras and load the weights.")
        out_layers = []
        for i, e in enumerate(layers):
            if isinstance(e, dict) and str(e.get("module") or "").startswith(_KERAS_OPS):
                out_layers.append(self._op_node(e, f"{where}: op node {i}"))
                continue
            translated = self.layer(e, f"layer {i}")
            translated.pop("build", None)
            nodes = e.get("inbound_nodes", []) if isinstance(e, dict) else []
            if not isinstance(nodes, list):
                raise KerasConfigError(f"{where}: layer {i} field 'inbound_nodes' is not a list.")
            translated["name"] = translated["config"].get("name", e.get("name"))
            translated["inbound_nodes"] = [self._node(n, f"{where}: layer {translated['name']!r} call {j}")
                                           for j, n in enumerate(nodes)]
            out_layers.append(translated)
        # Keras 3 numbers a nested functional model's nodes from 1 in input_layers/output_layers (its own
        # construction counts as node 0 there, not in inbound nodes); polykeras numbers its calls from 0.
        nested = {e["name"] for e in out_layers if e.get("class_name") == "Functional"}
        ours = {"name": config.get("name"), "trainable": config.get("trainable", True), "layers": out_layers,
                "input_layers": self._endpoints(config.get("input_layers"), f"{where}: field 'input_layers'", nested),
                "output_layers": self._endpoints(config.get("output_layers"), f"{where}: field 'output_layers'",
                                                 nested)}
        return {"module": "polykeras.models", "class_name": "Functional", "config": ours, "registered_name": None}

    def _op_node(self, entry: dict[str, Any], label: str) -> dict[str, Any]:
        """A Keras op node (``x + 1``, ``ops.mean(x, axis=1)`` in a functional
        model: an Operation class of an allow-listed ``keras.src.ops.*``
        module, its options in ``config``, its call in each inbound node) as
        an :class:`~polykeras.layers.op_layer.OpLayer` entry. The class is
        looked up in :data:`~polykeras.saving.keras_ops.KERAS_OPS`, never
        imported."""
        from polykeras.layers.op_layer import arguments_to_json
        from polykeras.saving.keras_ops import KERAS_OP_MODULES, join_arguments, op_key

        name, module = entry.get("class_name"), entry.get("module")
        config = dict(entry.get("config") or {}) if isinstance(entry.get("config"), dict) else None
        layer_name = (config or {}).pop("name", entry.get("name"))
        label = f"{label} ({layer_name!r}, Keras op {module}.{name})"
        key = op_key(module, name)
        if key is None:
            modules = ", ".join(f"keras.src.ops.{m}" for m in KERAS_OP_MODULES)
            raise KerasConfigError(f"{label} has no polykeras twin: expected an Operation class of polykeras' ops "
                                   f"from {modules}.")
        nodes = entry.get("inbound_nodes")
        if config is None or not isinstance(nodes, list) or not nodes or not all(isinstance(n, dict) for n in nodes):
            raise KerasConfigError(f"{label}: expected a 'config' dict and recorded calls, received config "
                                   f"{str(entry.get('config'))[:60]!r} and inbound_nodes {str(nodes)[:80]!r}.")
        options = {k: _as_option(self._op_value(v, None, f"{label} option {k!r}")) for k, v in config.items()}
        arguments: dict[str, Any] | None = None
        calls = []
        for j, node in enumerate(nodes):
            refs: list[dict[str, Any]] = []
            args, kwargs = node.get("args") or [], node.get("kwargs") or {}
            if not isinstance(args, list) or not isinstance(kwargs, dict):
                raise KerasConfigError(f"{label}: call {j} expected 'args' list and 'kwargs' dict, received "
                                       f"{str(node)[:80]!r}.")
            joined = join_arguments(key, options, [self._op_value(v, refs, label) for v in args],
                                    {k: self._op_value(v, refs, label) for k, v in kwargs.items()}, label,
                                    KerasConfigError, same=_same)
            encoded = arguments_to_json(joined, label)
            if arguments is not None and encoded != arguments:
                raise KerasConfigError(f"{label}: its calls differ in more than their tensors; polykeras records "
                                       "one op node per call.")
            arguments = encoded
            calls.append({"args": refs, "kwargs": {}})
        return {"module": "polykeras.layers", "class_name": "OpLayer", "registered_name": None, "name": layer_name,
                "config": {"name": layer_name, "op": key, "arguments": arguments}, "inbound_nodes": calls}

    def _op_value(self, value: Any, refs: list[dict[str, Any]] | None, label: str) -> Any:
        """A Keras op argument as a Python value: a Keras tensor becomes an
        :class:`~polykeras.layers.op_layer.OpInput` (its reference collected
        in ``refs``; refused where ``refs`` is None: a constructor option),
        ``__tensor__``/``__numpy__`` a NumPy constant, ``__slice__`` and
        ``__ellipsis__`` themselves."""
        import numpy as np

        from polykeras.layers.op_layer import OpInput

        if isinstance(value, dict) and isinstance(value.get("class_name"), str) and "config" in value:
            kind, inner = value["class_name"], value.get("config") or {}
            if kind == "__keras_tensor__" and refs is not None:
                refs.append({"__tensor__": self._reference(inner.get("keras_history"), label)})
                return OpInput(len(refs) - 1)
            if kind in ("__tensor__", "__numpy__") and isinstance(inner, dict):
                try:
                    return np.asarray(inner.get("value"), dtype=str(inner.get("dtype")))
                except (TypeError, ValueError) as err:
                    raise KerasConfigError(f"{label}: a constant that is not a plain array ({err}).") from None
            if kind == "__slice__" and isinstance(inner, dict):
                return slice(*(self._op_value(inner.get(k), refs, label) for k in ("start", "stop", "step")))
            if kind == "__ellipsis__":
                return Ellipsis
            raise KerasConfigError(f"{label}: expected tensors, numbers, strings, slices or lists in an op's "
                                   f"arguments, received a {kind!r} entry.")
        if isinstance(value, dict):
            marked = [k for k in value if isinstance(k, str) and k.startswith("__") and k.endswith("__")]
            if marked:  # polykeras' own markers (__input__, __constant__, ...) never come from a Keras file
                raise KerasConfigError(f"{label}: expected plain data in an op's arguments, received a dict with "
                                       f"key {marked[0]!r}.")
            return {k: self._op_value(v, refs, label) for k, v in value.items()}
        if isinstance(value, list):
            return [self._op_value(v, refs, label) for v in value]
        return value

    def _node(self, node: Any, label: str) -> dict[str, Any]:
        if not isinstance(node, dict):
            raise KerasConfigError(f"{label}: expected {{'args', 'kwargs'}}, received {str(node)[:80]!r}.")
        kwargs = {k: v for k, v in (node.get("kwargs") or {}).items()
                  if not (k in ("training", "mask") and (v is None or isinstance(v, bool)))}
        return {"args": self._tensors(node.get("args", []), label), "kwargs": self._tensors(kwargs, label)}

    def _tensors(self, value: Any, label: str) -> Any:
        if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
            history = (value.get("config") or {}).get("keras_history")
            return {"__tensor__": self._reference(history, label)}
        if isinstance(value, dict):
            return {k: self._tensors(v, label) for k, v in value.items()}
        if isinstance(value, list):
            return [self._tensors(v, label) for v in value]
        return value

    @staticmethod
    def _reference(history: Any, label: str) -> list[Any]:
        if (isinstance(history, list) and len(history) == 3 and isinstance(history[0], str)
                and all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in history[1:])):
            return list(history)
        raise KerasConfigError(f"{label}: expected a tensor reference [layer name, node index, tensor index], "
                               f"received {history!r}.")

    def _endpoints(self, value: Any, label: str, nested: set[str]) -> Any:
        if isinstance(value, list) and len(value) == 3 and isinstance(value[0], str):
            reference = self._reference(value, label)
            if reference[0] in nested:
                if reference[1] == 0:
                    raise KerasConfigError(f"{label}: {value!r} names node 0 of the nested model {value[0]!r}, "
                                           "Keras' own node of a functional model; expected a call (node 1 or "
                                           "more).")
                reference[1] -= 1
            return {"__tensor__": reference}
        if isinstance(value, list):
            return [self._endpoints(v, label, nested) for v in value]
        if isinstance(value, dict):
            return {k: self._endpoints(v, label, nested) for k, v in value.items()}
        raise KerasConfigError(f"{label}: expected tensor references, received {value!r}.")


def translate_model(config: dict[str, Any], where: str,
                    custom_objects: Mapping[str, Any] | None = None) -> tuple[dict[str, Any], Any]:
    """``(polykeras model config, build input shape or None)`` for a Keras
    model config (``config.json`` of a ``.keras`` archive), or for a saved
    ``FeatureSpace`` (``(its config, its build config by feature)``).

    Example: ``ours, build = translate_model(json.loads(text), "model.keras")``
    """
    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str):
        raise KerasConfigError(f"{where}: member 'config.json' is not a Keras model config (no 'class_name').")
    if config["class_name"] == "FeatureSpace":  # built from its preprocessors' build configs, by feature
        top = config.get("build_config")
        return Translator(where, custom_objects).feature_space(config), top if isinstance(top, dict) else None
    translator = Translator(where, custom_objects)
    if config["class_name"] not in _MODELS:
        known = translator._custom(config.get("registered_name"), config["class_name"]) or \
            translator.layers.get(config["class_name"])  # a built-in model class (Distiller)
        if known is None:
            raise KerasConfigError(f"{where}: member 'config.json' describes a {config['class_name']!r}; expected "
                                   "a Keras Functional or Sequential model, a FeatureSpace, or a class registered "
                                   "(register_keras_serializable) or given in custom_objects.")
        translated = translator.layer(config, "the saved object")  # a registered subclassed model, a Distiller
    else:
        translated = translator.model(config)
    build = translated.pop("build", None)
    top_build = config.get("build_config")
    if build is None and isinstance(top_build, dict) and isinstance(top_build.get("input_shape"), list):
        build = top_build
    return translated, build


def translate_compile_config(config: Any, where: str) -> dict[str, Any] | None:
    """A Keras ``compile_config`` as polykeras' (optimizer arguments checked
    like layer arguments); None when there is none.

    Example: ``translate_compile_config(keras["compile_config"], "model.keras")``
    """
    from polykeras import optimizers

    if not isinstance(config, dict) or not config:
        return None
    optimizer = config.get("optimizer")
    if isinstance(optimizer, dict) and isinstance(optimizer.get("class_name"), str):
        cls = optimizers.BUILTINS.get(optimizer["class_name"])
        if cls is None:
            raise KerasConfigError(f"{where}: compile config optimizer {optimizer['class_name']!r} has no "
                                   "polykeras twin.")
        inner = _keep_arguments(optimizer.get("config") or {}, cls, f"{where}: optimizer {cls.__name__}")
        optimizer = {"module": "polykeras.optimizers", "class_name": cls.__name__, "config": inner,
                     "registered_name": None}
    return {"optimizer": optimizer, "loss": _plain(config.get("loss")), "loss_weights": config.get("loss_weights"),
            "metrics": _plain(config.get("metrics")), "weighted_metrics": _plain(config.get("weighted_metrics")),
            "run_eagerly": bool(config.get("run_eagerly", False)),
            "steps_per_execution": int(config.get("steps_per_execution") or 1), "jit_compile": "auto"}


def _plain(value: Any) -> Any:
    """Losses/metrics: names stay names; Keras objects keep class and config, minus Keras-only keys."""
    if isinstance(value, dict) and isinstance(value.get("class_name"), str):
        return {"module": "polykeras", "class_name": value["class_name"],
                "config": {k: v for k, v in (value.get("config") or {}).items() if k not in _DROP_KEYS},
                "registered_name": None}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
