"""Output shapes of every built-in layer on symbolic inputs with unknown
sizes in any position, against Keras 3's ``compute_output_shape`` for the same
config: the symbolic call (``layer(Input(...)).shape``) and
``compute_output_shape`` both answer what Keras answers, on every engine.

A recipe is ``(class name, kwargs, input templates[, call kwargs])``; a
template holds ints (sizes the layer needs to build) and letters: one letter
is one size, drawn as unknown (``None``) or known, the same wherever the
letter appears. Where Keras's layer has no ``compute_output_shape`` (the RNN
cells, ``Pipeline``) its symbolic call on ``KerasTensor`` inputs answers.

Every public layer class of ``polykeras.layers`` has a recipe
(:func:`test_every_layer_class_has_a_recipe`), except those in
:data:`NO_RECIPE`, which say why.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import polykeras as pk
from polykeras import layers, ops

from .keras_reference import import_keras

Recipe = tuple[Any, ...]  # (class name, kwargs, templates) or (..., call kwargs)


def _wrapped(name: str, **kwargs: Any) -> Any:
    """A kwargs value that is a layer, built per library by name."""
    return ("layer", name, kwargs)


def _function(name: str) -> Any:
    """A kwargs value that is a function of :data:`FUNCTIONS`, written with each library's ops."""
    return ("function", name)


#: Functions for Lambda recipes: ``name -> (library -> function)``.
FUNCTIONS: dict[str, Any] = {
    "halves": lambda lib: lambda x: lib.ops.concatenate([x[:, ::2], x[:, 1::2] * 2.0], axis=1),
    "pair": lambda lib: lambda x: [lib.ops.mean(x, axis=1), lib.ops.max(x, axis=-1)],
    "row_shape": lambda lib: lambda shape: (shape[0], 7),
}


RECIPES: list[Recipe] = [
    # core
    ("Dense", {"units": 3}, ("b", "t", 5)),
    ("EinsumDense", {"equation": "ab,bc->ac", "output_shape": 3}, ("b", 5)),
    ("Embedding", {"input_dim": 10, "output_dim": 3}, ("b", "t")),
    ("Activation", {"activation": "relu"}, ("b", "t", 4)),
    ("Identity", {}, ("b", "t", 4)),
    ("Masking", {}, ("b", "t", 4)),
    ("TimeDistributed", {"layer": _wrapped("Dense", units=3)}, ("b", "t", 4)),
    # convolutions
    ("Conv1D", {"filters": 3, "kernel_size": 3, "strides": 2}, ("b", "t", 2)),
    ("Conv1D", {"filters": 3, "kernel_size": 2, "dilation_rate": 2, "padding": "causal"}, ("b", "t", 2)),
    ("Conv2D", {"filters": 3, "kernel_size": (3, 2), "strides": (2, 1), "padding": "same"}, ("b", "h", "w", 2)),
    ("Conv2D", {"filters": 3, "kernel_size": 3, "data_format": "channels_first"}, ("b", 2, "h", "w")),
    ("Conv3D", {"filters": 2, "kernel_size": 2}, ("b", "h", "w", "d", 2)),
    ("Conv1DTranspose", {"filters": 3, "kernel_size": 3, "strides": 2}, ("b", "t", 2)),
    ("Conv2DTranspose", {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"}, ("b", "h", "w", 2)),
    ("Conv3DTranspose", {"filters": 2, "kernel_size": 2, "strides": 2}, ("b", "h", "w", "d", 2)),
    ("DepthwiseConv1D", {"kernel_size": 3, "strides": 2}, ("b", "t", 2)),
    ("DepthwiseConv2D", {"kernel_size": 3, "depth_multiplier": 2}, ("b", "h", "w", 2)),
    ("SeparableConv1D", {"filters": 3, "kernel_size": 3}, ("b", "t", 2)),
    ("SeparableConv2D", {"filters": 3, "kernel_size": 3, "strides": 2}, ("b", "h", "w", 2)),
    # pooling
    ("MaxPooling1D", {"pool_size": 2}, ("b", "t", 4)),
    ("MaxPooling2D", {"pool_size": 2, "strides": 1}, ("b", "h", "w", 3)),
    ("MaxPooling3D", {}, ("b", "h", "w", "d", 2)),
    ("AveragePooling1D", {"pool_size": 3, "strides": 2, "padding": "same"}, ("b", "t", 4)),
    ("AveragePooling2D", {"pool_size": 2, "data_format": "channels_first"}, ("b", 3, "h", "w")),
    ("AveragePooling3D", {"pool_size": 2}, ("b", "h", "w", "d", 2)),
    ("GlobalMaxPooling1D", {}, ("b", "t", 4)),
    ("GlobalAveragePooling1D", {"data_format": "channels_first"}, ("b", 4, "t")),
    ("GlobalAveragePooling2D", {"keepdims": True}, ("b", "h", "w", 3)),
    ("GlobalMaxPooling2D", {}, ("b", "h", "w", 3)),
    ("GlobalMaxPooling3D", {}, ("b", "h", "w", "d", 2)),
    ("GlobalAveragePooling3D", {}, ("b", "h", "w", "d", 2)),
    ("AdaptiveAveragePooling1D", {"output_size": 3}, ("b", "t", 4)),
    ("AdaptiveMaxPooling1D", {"output_size": 2, "data_format": "channels_first"}, ("b", 4, "t")),
    ("AdaptiveAveragePooling2D", {"output_size": (2, 3)}, ("b", "h", "w", 3)),
    ("AdaptiveMaxPooling2D", {"output_size": 2}, ("b", "h", "w", 3)),
    ("AdaptiveAveragePooling3D", {"output_size": 2, "data_format": "channels_first"}, ("b", 2, "h", "w", "d")),
    ("AdaptiveMaxPooling3D", {"output_size": (1, 2, 3)}, ("b", "h", "w", "d", 2)),
    # merging
    ("Add", {}, [("b", "t", 4), ("b", "t", 4)]),
    ("Subtract", {}, [("b", "t", 4), ("b", "t", 4)]),
    ("Multiply", {}, [("b", "t", 4), ("b", "t", 4)]),
    ("Average", {}, [("b", "t", 4), ("b", "t", 4)]),
    ("Maximum", {}, [("b", "t", 4), ("b", "t", 4)]),
    ("Minimum", {}, [("b", "t", 4), ("b", "t", 4)]),
    ("Concatenate", {"axis": -1}, [("b", "t", 4), ("b", "t", 3)]),
    ("Concatenate", {"axis": 1}, [("b", "t", 4), ("b", "u", 4)]),
    ("Dot", {"axes": (2, 2)}, [("b", "t", 4), ("b", "u", 4)]),
    # normalization
    ("BatchNormalization", {}, ("b", "t", 4)),
    ("LayerNormalization", {}, ("b", "t", 4)),
    ("GroupNormalization", {"groups": 2}, ("b", "t", 4)),
    ("UnitNormalization", {}, ("b", "t", 4)),
    # regularization
    ("Dropout", {"rate": 0.5}, ("b", "t", 4)),
    ("SpatialDropout1D", {"rate": 0.5}, ("b", "t", 4)),
    ("SpatialDropout2D", {"rate": 0.5}, ("b", "h", "w", 3)),
    ("SpatialDropout3D", {"rate": 0.5}, ("b", "h", "w", "d", 2)),
    ("GaussianNoise", {"stddev": 0.1}, ("b", "t", 4)),
    ("GaussianDropout", {"rate": 0.2}, ("b", "t", 4)),
    ("AlphaDropout", {"rate": 0.2}, ("b", "t", 4)),
    ("ActivityRegularization", {"l1": 0.01}, ("b", "t", 4)),
    # reshaping
    ("Flatten", {}, ("b", "h", 3, 2)),
    ("Reshape", {"target_shape": (-1, 2)}, ("b", "t", 4)),
    ("Permute", {"dims": (2, 1)}, ("b", "t", 4)),
    ("RepeatVector", {"n": 3}, ("b", 4)),
    ("UpSampling1D", {"size": 2}, ("b", "t", 4)),
    ("UpSampling2D", {"size": (2, 3)}, ("b", "h", "w", 3)),
    ("UpSampling3D", {}, ("b", "h", "w", "d", 2)),
    ("ZeroPadding1D", {"padding": 2}, ("b", "t", 4)),
    ("ZeroPadding2D", {"padding": ((1, 2), (0, 1))}, ("b", "h", "w", 3)),
    ("ZeroPadding3D", {}, ("b", "h", "w", "d", 2)),
    ("Cropping1D", {"cropping": (1, 2)}, ("b", "t", 4)),
    ("Cropping2D", {"cropping": ((1, 0), (2, 1))}, ("b", "h", "w", 3)),
    ("Cropping3D", {}, ("b", "h", "w", "d", 2)),
    # recurrent
    ("SimpleRNN", {"units": 3}, ("b", "t", 4)),
    ("LSTM", {"units": 3, "return_sequences": True}, ("b", "t", 4)),
    ("GRU", {"units": 3, "return_state": True}, ("b", "t", 4)),
    ("Bidirectional", {"layer": _wrapped("LSTM", units=3, return_sequences=True)}, ("b", "t", 4)),
    ("RNN", {"cell": _wrapped("SimpleRNNCell", units=3), "return_sequences": True}, ("b", "t", 4)),
    ("ConvLSTM1D", {"filters": 2, "kernel_size": 3}, ("b", "t", "w", 2)),
    ("ConvLSTM1D", {"filters": 2, "kernel_size": 3, "strides": 2, "return_state": True}, ("b", "t", "w", 2)),
    ("ConvLSTM2D", {"filters": 2, "kernel_size": 3, "return_sequences": True, "padding": "same"},
     ("b", "t", "h", "w", 2)),
    ("ConvLSTM2D", {"filters": 2, "kernel_size": 3, "data_format": "channels_first"}, ("b", "t", 2, "h", "w")),
    ("ConvLSTM3D", {"filters": 2, "kernel_size": 2, "return_sequences": True}, ("b", "t", "h", "w", "d", 1)),
    # cells: (inputs, states) -> (output, new states)
    ("SimpleRNNCell", {"units": 3}, [("b", 4), ("b", 3)]),
    ("LSTMCell", {"units": 3}, [("b", 4), ("b", 3), ("b", 3)]),
    ("GRUCell", {"units": 3}, [("b", 4), ("b", 3)]),
    ("StackedRNNCells", {"cells": [_wrapped("SimpleRNNCell", units=3), _wrapped("GRUCell", units=2)]},
     [("b", 4), ("b", 3), ("b", 2)]),
    ("ConvLSTMCell", {"rank": 2, "filters": 2, "kernel_size": 3},
     [("b", "h", "w", 2), ("b", "h", "w", 2), ("b", "h", "w", 2)]),
    # attention
    ("Attention", {}, [("b", "t", 4), ("b", "u", 4)]),
    ("AdditiveAttention", {}, [("b", "t", 4), ("b", "u", 4)]),
    ("MultiHeadAttention", {"num_heads": 2, "key_dim": 3}, [("b", "t", 4), ("b", "u", 5)]),
    ("GroupQueryAttention", {"head_dim": 3, "num_query_heads": 2, "num_key_value_heads": 1},
     [("b", "t", 4), ("b", "u", 4)]),
    # preprocessing
    ("Rescaling", {"scale": 0.5}, ("b", "t", 4)),
    ("Resizing", {"height": 4, "width": 5}, ("b", "h", "w", 3)),
    ("CenterCrop", {"height": 4, "width": 5}, ("b", "h", "w", 3)),
    ("Normalization", {"mean": 0.5, "variance": 2.0}, ("b", "t", 4)),
    ("Discretization", {"bin_boundaries": [0.0, 1.0]}, ("b", "t")),
    ("CategoryEncoding", {"num_tokens": 5, "output_mode": "multi_hot"}, ("b", 3)),
    ("IntegerLookup", {"vocabulary": [3, 5, 7]}, ("b", "t")),
    ("IntegerLookup", {"vocabulary": [3, 5, 7], "output_mode": "one_hot"}, ("b", 1)),
    ("STFTSpectrogram", {"frame_length": 4, "frame_step": 2}, ("b", "t", 2)),
    ("STFTSpectrogram", {"mode": "stft", "frame_length": 4, "padding": "same", "expand_dims": True,
                         "data_format": "channels_first"}, ("b", 2, "t")),
    # a stride past every drawn length: Keras's formula, 1 + (samples + 1) // stride, counts one frame more than
    # its call gives when (samples + 1) % stride == 0; polykeras's counts the frames the call gives
    ("MelSpectrogram", {"fft_length": 8, "sequence_stride": 13, "num_mel_bins": 5}, ("b", "t")),
    # activation layers
    ("ReLU", {"max_value": 6.0}, ("b", "t", 4)),
    ("LeakyReLU", {"negative_slope": 0.1}, ("b", "t", 4)),
    ("ELU", {}, ("b", "t", 4)),
    ("Softmax", {"axis": -1}, ("b", "t", 4)),
    ("PReLU", {"shared_axes": [1]}, ("b", "t", 4)),
    # normalization and embeddings
    ("RMSNormalization", {}, ("b", "t", 4)),
    ("SpectralNormalization", {"layer": _wrapped("Dense", units=3)}, ("b", 4)),
    # image augmentation
    ("RandomFlip", {"seed": 1}, ("b", "h", "w", 3)),
    ("RandomRotation", {"factor": 0.1, "seed": 1}, ("b", "h", "w", 3)),
    ("RandomZoom", {"height_factor": 0.1, "seed": 1}, ("b", "h", "w", 3)),
    ("RandomTranslation", {"height_factor": 0.1, "width_factor": 0.1, "seed": 1}, ("b", "h", "w", 3)),
    ("RandomCrop", {"height": 2, "width": 3, "seed": 1}, ("b", "h", "w", 3)),
    ("RandomContrast", {"factor": 0.2, "seed": 1}, ("b", "h", "w", 3)),
    ("RandomBrightness", {"factor": 0.2, "seed": 1}, ("b", "h", "w", 3)),
    ("RandomGrayscale", {"seed": 1}, ("b", "h", "w", 3)),
    ("RandomInvert", {"seed": 1}, ("b", "h", "w", 3)),
    ("RandomPosterization", {"factor": (1, 4), "seed": 1}, ("b", "h", "w", 3)),
    ("Solarization", {"addition_factor": 0.1, "seed": 1}, ("b", "h", "w", 3)),
    ("AutoContrast", {}, ("b", "h", "w", 3)),
    ("MixUp", {"seed": 1}, ("b", "h", "w", 3)),
    ("RandomColorDegeneration", {"factor": 0.5, "seed": 1}, ("b", "h", "w", 3)),
    ("RandomSaturation", {"factor": 0.5, "seed": 1}, ("b", "h", "w", 3)),
    ("RandomHue", {"factor": 0.5, "seed": 1}, ("b", "h", "w", 3)),
    ("RandomSharpness", {"factor": 0.5, "seed": 1}, ("b", "h", "w", 3)),
    ("RandomColorJitter", {"brightness_factor": 0.2, "seed": 1}, ("b", "h", "w", 3)),
    ("RandomGaussianBlur", {"seed": 1}, ("b", "h", "w", 3)),
    ("Equalization", {}, ("b", "h", "w", 3)),
    ("RandomShear", {"x_factor": 0.2, "seed": 1}, ("b", "h", "w", 3)),
    ("RandomPerspective", {"seed": 1}, ("b", "h", "w", 3)),
    ("RandomElasticTransform", {"seed": 1}, ("b", "h", "w", 3)),
    ("RandomErasing", {"seed": 1}, ("b", "h", "w", 3)),
    ("CutMix", {"seed": 1}, ("b", "h", "w", 3)),
    ("MaxNumBoundingBoxes", {"max_number": 3}, ("b", "h", "w", 3)),
    ("ContrastLimitedAdaptiveHistogramEqualization", {}, ("b", "h", "w", 3)),
    ("RandAugment", {"seed": 1}, ("b", "h", "w", 3)),
    ("AugMix", {"seed": 1}, ("b", "h", "w", 3)),
    ("Pipeline", {"layers": [_wrapped("Rescaling", scale=2.0), _wrapped("CenterCrop", height=2, width=3)]},
     ("b", "h", "w", 3)),
    # lookups and embeddings
    ("StringLookup", {"vocabulary": ["a", "b", "c"]}, ("b", "t")),
    ("StringLookup", {"vocabulary": ["a", "b", "c"], "output_mode": "multi_hot"}, ("b", "t")),
    # hashing and text (Keras's one_hot shape for Hashing holds for a trailing axis of 1 only: there its
    # compute_output_shape drops the last axis, while its call keeps it and adds the bins)
    ("Hashing", {"num_bins": 5}, ("b", "t")),
    ("Hashing", {"num_bins": 5, "output_mode": "multi_hot"}, ("b", "t")),
    ("Hashing", {"num_bins": 5, "output_mode": "one_hot", "salt": 3}, ("b", 1)),
    ("HashedCrossing", {"num_bins": 5}, [("b", 1), ("b", 1)]),
    ("HashedCrossing", {"num_bins": 5, "output_mode": "one_hot"}, [("b",), ("b",)]),
    ("TextVectorization", {"vocabulary": ["a", "b"], "output_sequence_length": 4}, ("b", 1)),
    ("TextVectorization", {"vocabulary": ["a", "b"], "output_mode": "count"}, ("b",)),
    ("ReversibleEmbedding", {"input_dim": 10, "output_dim": 3}, ("b", "t")),
    ("ReversibleEmbedding", {"input_dim": 10, "output_dim": 3}, ("b", "t", 3), {"reverse": True}),
    # core
    ("Lambda", {"function": _function("halves")}, ("b", "t", 4)),
    ("Lambda", {"function": _function("pair")}, ("b", "t", 4)),
    ("Lambda", {"function": _function("halves"), "output_shape": (5, 4)}, ("b", "t", 4)),
    ("Lambda", {"function": _function("halves"), "output_shape": _function("row_shape")}, ("b", "t", 4)),
    ("Wrapper", {"layer": _wrapped("Dense", units=3)}, ("b", "t", 4)),
    ("InputLayer", {}, ("b", "t", 4)),
    ("OpLayer", {"op": "mean", "arguments": {"x": {"__input__": 0}, "axis": 1, "keepdims": True}}, ("b", "t", 4)),
    ("OpLayer", {"op": "concatenate", "arguments": {"xs": [{"__input__": 0}, {"__input__": 1}], "axis": 1}},
     [("b", "t", 4), ("b", "u", 4)]),
]

#: Public layer classes of ``polykeras.layers`` without a recipe, and why.
NO_RECIPE = {
    "Layer": "the abstract base: its call is the subclass's (Keras 3's raises NotImplementedError too)",
    "JaxLayer": "Keras 3 builds it on its JAX or TensorFlow backend only, not the NumPy one answering here; "
                "shapes against Keras on the jax engine: tests/interop/test_native_in.py",
    "FlaxLayer": "as JaxLayer (Keras 3: JAX or TensorFlow backend only); tests/interop/test_native_in.py",
    "TorchModuleWrapper": "Keras 3 builds it on its torch backend only (its NumPy backend, answering here, cannot "
                          "hold the module's parameters); against Keras on torch: tests/interop/test_native_in.py",
    "TFSMLayer": "Keras 3 builds it on its TensorFlow backend only, and it needs a SavedModel on disk; shapes "
                 "are the endpoint's: tests/interop/test_native_in.py",
}
#: Layers whose inputs are integer ids.
INT_INPUTS = {"Embedding", "CategoryEncoding", "IntegerLookup", "Hashing", "HashedCrossing"}
#: Keras layers that take the first input and the rest as separate call
#: arguments (``layer(query, value)``).
SEPARATE_INPUTS = {"MultiHeadAttention", "GroupQueryAttention", "OpLayer"}
#: Cells: ``cell(inputs, [states])``, ``compute_output_shape(inputs_shape, states_shapes)``.
CELLS = {"SimpleRNNCell", "LSTMCell", "GRUCell", "StackedRNNCells", "ConvLSTMCell"}
#: Recipes whose symbolic call polykeras cannot make, and why (their
#: ``compute_output_shape`` is still checked).
NO_SYMBOLIC_CALL = {
    "StringLookup": "symbolic tensors hold numbers (there is no 'string' dtype for Input)",
    "TextVectorization": "symbolic tensors hold numbers (there is no 'string' dtype for Input)",
}


def _keras_class(keras: Any, name: str, kwargs: dict[str, Any]) -> Any:
    """The Keras 3 layer that answers for recipe ``name``: Keras's own class,
    or, where Keras has none to call, the layer with the same contract."""
    if name == "ConvLSTMCell":  # not exported by Keras 3, which has it as the ConvLSTM*D layers' cell
        from keras.src.layers.rnn.conv_lstm import ConvLSTMCell

        return ConvLSTMCell(**kwargs)
    if name == "Wrapper":  # Keras's Wrapper is abstract; polykeras's runs the wrapped layer
        return kwargs["layer"]
    if name == "OpLayer":  # no Keras layer: the op on KerasTensors
        def call(*tensors: Any) -> Any:
            arguments = {k: tensors[v["__input__"]] if isinstance(v, dict) else v
                         for k, v in kwargs["arguments"].items()}
            if isinstance(arguments.get("xs"), list):
                arguments["xs"] = [tensors[v["__input__"]] for v in arguments["xs"]]
            return getattr(keras.ops, kwargs["op"])(**arguments)

        return call
    return getattr(keras.layers, name)(**kwargs)


def _recipe_id(recipe: Recipe) -> str:
    name, kwargs = recipe[0], recipe[1]
    extra = ",".join(f"{k}={v}" for k, v in kwargs.items() if not isinstance(v, (tuple, list, dict)))
    call = "".join(f",{k}={v}" for k, v in (recipe[3] if len(recipe) > 3 else {}).items())
    return f"{name}({extra}{call})"


def _resolve(library: Any, value: Any) -> Any:
    if isinstance(value, tuple) and value[:1] == ("layer",):
        return getattr(library.layers, value[1])(**value[2])
    if isinstance(value, tuple) and value[:1] == ("function",):
        return FUNCTIONS[value[1]](library)
    if isinstance(value, list):
        return [_resolve(library, v) for v in value]
    return value


def _build_kwargs(library: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    return {key: _resolve(library, value) for key, value in kwargs.items()}


def _call_kwargs(index: int) -> dict[str, Any]:
    return RECIPES[index][3] if len(RECIPES[index]) > 3 else {}


def _arguments(name: str, inputs: Any) -> tuple:
    """The positional arguments of a call (or of ``compute_output_shape``)
    on ``inputs``, one per template, in the recipe's calling convention."""
    if name in SEPARATE_INPUTS and isinstance(inputs, list):
        return tuple(inputs)
    if name in CELLS:
        return (inputs[0], list(inputs[1:]))
    return (inputs,)


def _shapes_of(structure: Any) -> Any:
    if isinstance(structure, (list, tuple)):
        return [_shapes_of(s) for s in structure]
    return _plain(structure.shape)


def _letters(template: Any) -> list[str]:
    templates = template if isinstance(template, list) else [template]
    return sorted({d for t in templates for d in t if isinstance(d, str)})


def _fill(template: Any, sizes: dict[str, int | None]) -> Any:
    if isinstance(template, list):
        return [_fill(t, sizes) for t in template]
    return tuple(sizes[d] if isinstance(d, str) else d for d in template)


def _plain(shapes: Any) -> Any:
    """Shapes as nested lists of tuples of ints/None (one shape: a tuple)."""
    if isinstance(shapes, (tuple, list)) and all(d is None or isinstance(d, (int, np.integer)) for d in shapes):
        return tuple(None if d is None else int(d) for d in shapes)
    return [_plain(s) for s in shapes]


@functools.lru_cache(maxsize=None)
def _keras_layer(index: int) -> Any:
    keras = import_keras()
    name, kwargs = RECIPES[index][:2]
    return _keras_class(keras, name, _build_kwargs(keras, kwargs))


def keras_output_shape(index: int, shapes: Any) -> Any:
    """Keras 3's ``compute_output_shape`` for recipe ``index`` on ``shapes``,
    or, where Keras's layer has none, the shapes of its symbolic call."""
    keras = import_keras()
    name = RECIPES[index][0]
    if name == "InputLayer":
        return _plain(keras.layers.InputLayer(batch_shape=shapes).output.shape)
    layer = _keras_layer(index)
    with np.errstate(all="ignore"):  # Keras's NumPy backend evaluates calls on placeholder arrays
        if hasattr(layer, "compute_output_shape"):
            try:
                return _plain(layer.compute_output_shape(*_arguments(name, shapes), **_call_kwargs(index)))
            except NotImplementedError:
                pass
        tensors = [keras.KerasTensor(s) for s in shapes] if isinstance(shapes, list) else keras.KerasTensor(shapes)
        return _shapes_of(layer(*_arguments(name, tensors), **_call_kwargs(index)))


def _ours(index: int) -> Any:
    name, kwargs = RECIPES[index][:2]
    return getattr(layers, name)(**_build_kwargs(pk, kwargs))


def _symbolic_shapes(index: int, shapes: Any) -> Any:
    name = RECIPES[index][0]
    if name == "InputLayer":
        return _plain(layers.InputLayer(batch_shape=shapes).output.shape)
    dtype = "int32" if name in INT_INPUTS else "float32"
    inputs = [pk.Input(batch_shape=s, dtype=dtype) for s in shapes] if isinstance(shapes, list) else \
        pk.Input(batch_shape=shapes, dtype=dtype)
    return _shapes_of(_ours(index)(*_arguments(name, inputs), **_call_kwargs(index)))


_sizes = st.one_of(st.none(), st.integers(6, 11))


@pytest.mark.parametrize("index", range(len(RECIPES)), ids=[_recipe_id(r) for r in RECIPES])
@settings(max_examples=max(4, settings.default.max_examples // 4))
@given(data=st.data())
def test_output_shape_matches_keras(engine, index, data):
    name, template = RECIPES[index][0], RECIPES[index][2]
    sizes = {letter: data.draw(_sizes, label=letter) for letter in _letters(template)}
    shapes = _fill(template, sizes)
    expected = keras_output_shape(index, shapes)
    if name not in NO_SYMBOLIC_CALL:
        assert _symbolic_shapes(index, shapes) == expected, f"{name} symbolic call on {shapes}"
    layer = layers.InputLayer(batch_shape=shapes) if name == "InputLayer" else _ours(index)
    computed = layer.compute_output_shape(*_arguments(name, shapes), **_call_kwargs(index))
    assert _plain(computed) == expected, f"{name}.compute_output_shape({shapes})"


def test_every_layer_class_has_a_recipe():
    """A public layer class of ``polykeras.layers`` (aliases count as their
    class) has a recipe above, or is in :data:`NO_RECIPE` with its reason."""
    covered = {getattr(layers, recipe[0]) for recipe in RECIPES}
    missing = sorted(
        name for name in dir(layers)
        if not name.startswith("_") and isinstance(getattr(layers, name), type)
        and issubclass(getattr(layers, name), layers.Layer)
        and getattr(layers, name) not in covered and name not in NO_RECIPE
    )
    assert not missing, f"layer classes without an output-shape recipe: {missing}"
    stale = sorted(name for name in NO_RECIPE if getattr(layers, name, None) in covered)
    assert not stale, f"NO_RECIPE lists classes that have a recipe: {stale}"


def test_max_pooling_keeps_an_unknown_length_unknown(engine):
    x = pk.Input((None, 4))
    pooled = layers.MaxPooling1D(2)(x)
    assert pooled.shape == (None, None, 4)
    dense = layers.Dense(3)
    y = dense(layers.Flatten()(layers.MaxPooling1D(2)(pk.Input((8, 4)))))
    assert y.shape == (None, 3) and dense.kernel.shape == (16, 3)
    model = pk.Model(x, layers.Dense(2)(pooled))
    assert tuple(ops.shape(model(np.ones((2, 7, 4), "float32")))) == (2, 3, 2)


class _Pairs(layers.Layer):
    """No compute_output_shape: its shape comes from an abstract evaluation."""

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="scale")

    def call(self, x):
        pooled = ops.max_pool(x * self.scale, 3, 3, "valid", "channels_last")
        return {"pooled": pooled, "count": ops.cast(ops.sum(x, axis=-1), "int32"), "none": None}


def test_a_layer_without_compute_output_shape_is_evaluated_abstractly(engine):
    x = pk.Input((None, 5))
    layer = _Pairs()
    out = layer(x)
    assert layer.scale.shape == (5,) and layer.built
    assert out["pooled"].shape == (None, None, 5) and out["pooled"].dtype == "float32"
    assert out["count"].shape == (None, None) and out["count"].dtype == "int32"
    assert out["none"] is None
    assert layer.losses == [] and layer.scale.numpy().tolist() == [1.0] * 5  # state untouched
    fixed = layer(pk.Input((9, 5), batch_size=2))
    assert fixed["pooled"].shape == (2, 3, 5)


def test_build_sees_unknown_sizes(engine):
    seen = []

    class Probe(layers.Layer):
        def build(self, input_shape):
            seen.append(tuple(input_shape))

        def call(self, x):
            return x

    Probe()(pk.Input((None, 3)))
    assert seen == [(None, None, 3)]


def test_a_bad_input_is_named_before_any_evaluation(engine):
    with pytest.raises(ValueError, match="dense"):
        layers.Dense(3, name="dense_in_test")(pk.Input(()))


def test_dtypes_follow_the_call(engine):
    ids = pk.Input((6, 4), dtype="int32")
    assert layers.Flatten()(ids).dtype == "int32"  # shape from compute_output_shape, dtype kept
    assert layers.Concatenate()([ids, ids]).dtype == "int32"
    assert layers.Embedding(10, 3)(ids).dtype == "float32"
    assert layers.Dense(2)(pk.Input((4,))).dtype == "float32"
    assert layers.Discretization(bin_boundaries=[0.0, 1.0])(pk.Input((4,))).dtype == "int32"


def test_conv_lstm_with_unknown_spatial_sizes_runs_on_any_size(engine):
    x = pk.Input((None, None, None, 2))
    layer = layers.ConvLSTM2D(3, 3, padding="same", return_sequences=True)
    assert layer(x).shape == (None, None, None, None, 3)
    model = pk.Model(x, layer(x))
    for size in ((5, 6), (7, 4)):
        out = model(np.ones((2, 3, *size, 2), "float32"))
        assert tuple(ops.shape(out)) == (2, 3, *size, 3)
    with pytest.raises(ValueError, match=r"conv_lstm_cell.*known spatial sizes.*spatial_dims="):
        layer.cell.get_initial_state(2)
    assert [tuple(ops.shape(s)) for s in layer.cell.get_initial_state(2, spatial_dims=(5, 6))] == [(2, 5, 6, 3)] * 2
