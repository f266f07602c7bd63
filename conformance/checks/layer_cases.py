"""The layer table: for each built-in layer class (by registry name), one or
more small cases: constructor arguments, input shapes, how to call it.

A class of ``polykeras.layers.config.LAYER_CLASSES`` without an entry here is
a failing "no conformance case" row, never skipped. Entries for classes not
(yet) registered are ignored. Adding a layer = adding a line.

Example:
    >>> CASES["Dense"][0].input_shape
    (2, 4)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from polykeras import ops
from polykeras.saving.registry import register_serializable

__all__ = ["CASES", "LayerCase"]

Shape = tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class LayerCase:
    """One way to build and call a layer class.

    ``kwargs`` go to the class (or ``make(cls, dtype)`` builds the layer, for
    layers wrapping others and for models); ``input_shape`` is a shape or a
    list of shapes (several inputs); ``invoke(layer, inputs, **call_kwargs)``
    replaces ``layer(inputs)`` for layers called another way (cells,
    attention). ``mask`` feeds a ``(batch, steps)`` mask with each input;
    ``int_inputs`` draws ids in ``[0, high)``; ``prepare`` edits the drawn
    inputs; ``input_grad=False`` where the inputs are not differentiable
    points (ids, masks computed from values); ``unsafe`` loads the config
    outside safe mode (Lambda); ``called=False`` for layers never called on
    tensors (InputLayer); ``data(rng)`` draws the inputs instead of ``input_shape`` (vocabularies),
    ``raw`` passes them as NumPy arrays (string inputs: no engine holds strings);
    ``engines`` names the engines that run the layer (a native-module wrapper:
    its framework's engine and NumPy), the others must refuse it with a
    NotImplementedError naming the class.

    Example: ``LayerCase({"units": 3}, (2, 4))``
    """

    kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    input_shape: Shape | list[Shape] = (2, 3)
    call_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    make: Callable[[type, str], Any] | None = None
    invoke: Callable[..., Any] | None = None
    mask: bool = False
    int_inputs: int | None = None
    prepare: Callable[[list[np.ndarray]], list[np.ndarray]] | None = None
    input_grad: bool = True
    unsafe: bool = False
    called: bool = True
    check_shape: bool = True
    data: Callable[[np.random.Generator], list[np.ndarray]] | None = None
    raw: bool = False
    engines: tuple[str, ...] | None = None

    def build(self, cls: type, dtype: str = "float32") -> Any:
        """A new layer of ``cls`` computing in ``dtype``."""
        if self.make is not None:
            return self.make(cls, dtype)
        return cls(**self.kwargs, dtype=dtype)


@register_serializable("polykeras_conformance")
def scale_and_shift(x: Any, factor: float = 2.0) -> Any:
    """``x * factor + 1`` (the Lambda case's function, registered so its config loads)."""
    return ops.add(ops.multiply(x, factor), 1.0)


def _with_zero_steps(xs: list[np.ndarray]) -> list[np.ndarray]:
    x = xs[0].copy()
    x[0, 1] = 0.0
    x[-1, -1] = 0.0
    return [x]


def _wrapped(inner: str, **inner_kwargs: Any) -> Callable[[type, str], Any]:
    def make(cls: type, dtype: str) -> Any:
        from polykeras.layers.config import LAYER_CLASSES

        return cls(LAYER_CLASSES[inner](**inner_kwargs, dtype=dtype), dtype=dtype)
    return make


def _embed_and_reverse(layer: Any, inputs: Any, **kwargs: Any) -> Any:
    return layer(layer(inputs, **kwargs), reverse=True)


def _pipeline(cls: type, dtype: str) -> Any:
    from polykeras.layers.config import LAYER_CLASSES

    rescaling = LAYER_CLASSES["Rescaling"]
    return cls([rescaling(2.0, offset=-1.0, dtype=dtype), rescaling(0.5, dtype=dtype)], dtype=dtype)


def _sequential(cls: type, dtype: str) -> Any:
    from polykeras import layers
    from polykeras.models import Input

    return cls([Input((4,), dtype=dtype), layers.Dense(3, activation="tanh", dtype=dtype),
                layers.Dense(2, dtype=dtype)], dtype=dtype)


def _functional(cls: type, dtype: str) -> Any:
    from polykeras import layers
    from polykeras.models import Input

    a, b = Input((3,), dtype=dtype), Input((2,), dtype=dtype)
    joined = layers.Concatenate(dtype=dtype)([layers.Dense(4, activation="relu", dtype=dtype)(a), b])
    return cls([a, b], layers.Dense(2, dtype=dtype)(layers.LayerNormalization(dtype=dtype)(joined)), dtype=dtype)


@register_serializable("polykeras_conformance")
def _distiller(cls: type, dtype: str) -> Any:
    from polykeras import distillation, layers
    from polykeras.models import Input, Model

    def net(name: str, width: int) -> Any:
        x = Input((3,), dtype=dtype)
        return Model(x, layers.Dense(2, dtype=dtype)(layers.Dense(width, activation="tanh", dtype=dtype)(x)),
                     name=name, dtype=dtype)  # a model casts its inputs to its own dtype, as in Keras 3

    return cls(net("teacher", 5), net("student", 3), distillation.LogitsDistillation(temperature=2.0), dtype=dtype)


def _operation(cls: type, dtype: str) -> Any:
    return _halved_softplus_class(cls)(dtype=dtype)


def _halved_softplus_class(base: type) -> type:
    """A user ``Operation``: a weightless computation with its own shape rule."""

    @register_serializable("polykeras_conformance")
    class HalvedSoftplus(base):  # type: ignore[valid-type, misc]
        def call(self, x: Any) -> Any:
            return ops.multiply(ops.softplus(x), 0.5)

        def compute_output_spec(self, x: Any) -> Any:
            from polykeras import KerasTensor

            return KerasTensor(x.shape, x.dtype)

    return HalvedSoftplus


def _subclassed(cls: type, dtype: str) -> Any:
    return _two_dense_model_class(cls)(units=3, dtype=dtype)


_SUBCLASSES: dict[type, type] = {}


def _two_dense_model_class(base: type) -> type:
    """A subclassed model of ``base`` (``Model``): two Dense layers in ``call``."""
    if base not in _SUBCLASSES:
        from polykeras import layers

        class TwoDense(base):  # type: ignore[misc, valid-type]
            def __init__(self, units: int = 3, **kwargs: Any):
                super().__init__(**kwargs)
                self.units = units
                self.hidden = layers.Dense(units, activation="sigmoid", dtype=kwargs.get("dtype"))
                self.out = layers.Dense(2, dtype=kwargs.get("dtype"))

            def call(self, x: Any) -> Any:
                return self.out(self.hidden(x))

        _SUBCLASSES[base] = TwoDense
    return _SUBCLASSES[base]


def _cell(layer: Any, xs: list[Any], **kwargs: Any) -> Any:
    out, states = layer(xs[0], list(xs[1:]), **kwargs)
    return [out, *states]


def _stacked_cells(cls: type, dtype: str) -> Any:
    from polykeras.layers.config import LAYER_CLASSES

    return cls([LAYER_CLASSES["SimpleRNNCell"](2, dtype=dtype), LAYER_CLASSES["GRUCell"](3, dtype=dtype)], dtype=dtype)


def _rnn(cls: type, dtype: str) -> Any:
    from polykeras.layers.config import LAYER_CLASSES

    return cls(LAYER_CLASSES["LSTMCell"](3, dtype=dtype), return_sequences=True, go_backwards=True, dtype=dtype)


def _query_value(layer: Any, xs: list[Any], **kwargs: Any) -> Any:
    return layer(xs[0], xs[1], **kwargs)


def _input_layer(cls: type, dtype: str) -> Any:
    return cls(shape=(3,), dtype=dtype)


def _adapted_normalization(cls: type, dtype: str) -> Any:
    layer = cls(axis=-1, dtype=dtype)
    layer.adapt(np.random.default_rng(5).standard_normal((20, 3)) * [1.0, 3.0, 0.5] + [0.0, 1.0, -2.0])
    return layer


def _tokens(rng: np.random.Generator) -> list[np.ndarray]:
    return [rng.choice(np.array(["a", "b", "c", "zz", ""]), (2, 4))]


def _integer_tokens(rng: np.random.Generator) -> list[np.ndarray]:
    return [rng.choice(np.array([12, 36, 1138, 42, 7], np.int32), (2, 4))]


def _crossed_features(rng: np.random.Generator) -> list[np.ndarray]:
    return [rng.integers(0, 50, (4,)).astype("int64"), rng.choice(np.array(["a", "b", "zz"]), (4,))]


def _feature_space(cls: type, dtype: str) -> Any:
    # the numeric features (string ones have no engine tensors: tests/utils/test_feature_space.py), their
    # preprocessors in the case's dtype (the named kinds make float32 layers, as Keras's do)
    from polykeras.layers.config import LAYER_CLASSES

    rescaled = cls.feature(dtype, LAYER_CLASSES["Rescaling"](0.5, offset=1.0, dtype=dtype), "float")
    return cls({"a": rescaled, "b": cls.feature(dtype, LAYER_CLASSES["Identity"](dtype=dtype), "float")}, dtype=dtype)


def _hashing_to_ids(cls: type, dtype: str) -> Any:
    return cls(num_bins=5)  # its output is int64 ids whatever the case's float dtype (Keras refuses a float one)


def _sentences(rng: np.random.Generator) -> list[np.ndarray]:
    words = np.array(["the", "cat", "Sat", "on", "a", "mat!", "dog"])
    return [np.array([" ".join(rng.choice(words, int(rng.integers(1, 6)))) for _ in range(3)])]


def _pixels(xs: list[np.ndarray]) -> list[np.ndarray]:
    """Image values inside (0, 255), away from the clipping bounds (the colour augmentations)."""
    return [(np.abs(x) * 40.0 + 20.0).astype(x.dtype) for x in xs]


@register_serializable("polykeras_conformance")
def jax_affine_tanh(params: Any, inputs: Any) -> Any:
    """``tanh(inputs @ w + b)`` in JAX (the JaxLayer case's ``call_fn``)."""
    import jax.numpy as jnp

    return jnp.tanh(inputs @ params["w"] + params["b"])


@register_serializable("polykeras_conformance")
def jax_affine_init(rng: Any, inputs: Any) -> Any:
    """Params for :func:`jax_affine_tanh` from a JAX key (the JaxLayer case's ``init_fn``)."""
    import jax

    w_key, b_key = jax.random.split(rng)
    return {"w": jax.random.normal(w_key, (inputs.shape[-1], 2)) * 0.5, "b": jax.random.normal(b_key, (2,)) * 0.1}


def _torch_module(cls: type, dtype: str) -> Any:
    import torch

    torch.manual_seed(0)
    return cls(torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)), dtype=dtype)


_FLAX: dict[str, Any] = {}


def flax_module_class() -> type:
    """A registered linen module (Dense, tanh, Dense) with a config, so a FlaxLayer over it saves."""
    if "class" not in _FLAX:
        import flax.linen as nn

        class ConformanceFlaxMLP(nn.Module):
            features: int = 2

            @nn.compact
            def __call__(self, inputs: Any) -> Any:
                return nn.Dense(self.features)(nn.tanh(nn.Dense(4)(inputs)))

            def get_config(self) -> dict[str, Any]:
                return {"features": self.features}

        _FLAX["class"] = register_serializable("polykeras_conformance")(ConformanceFlaxMLP)
    return _FLAX["class"]


def _flax_layer(cls: type, dtype: str) -> Any:
    return cls(flax_module_class()(features=2), dtype=dtype)


_SAVED_MODEL: dict[str, str] = {}


def saved_model_path() -> str:
    """A SavedModel (Dense(2, tanh) on 3 features, endpoint ``serve``) written once per process."""
    if "path" not in _SAVED_MODEL:
        import tempfile

        import tensorflow as tf

        import polykeras.backends as B
        from polykeras import layers
        from polykeras.layers.native import native_module
        from polykeras.models import Input, Sequential

        path = tempfile.mkdtemp(prefix="polykeras_tfsm_") + "/model"
        with B.use("tensorflow"):
            model = Sequential([Input((3,)), layers.Dense(2, activation="tanh")])
            rng = np.random.default_rng(11)
            model.set_weights([rng.standard_normal((3, 2)).astype("float32"), np.full(2, 0.1, "float32")])
            module = native_module(model)
            tf.saved_model.save(module, path, signatures=module.serving_function(tf.TensorSpec([None, 3], "float32")))
        _SAVED_MODEL["path"] = path
    return _SAVED_MODEL["path"]


def _tfsm_layer(cls: type, dtype: str) -> Any:
    return cls(saved_model_path(), call_endpoint="serve", trainable=False, dtype=dtype)


C = LayerCase
_SEQ = (2, 4, 3)  # (batch, steps, features)

CASES: dict[str, list[LayerCase]] = {
    # ---------------------------------------------------------------- core
    "Dense": [C({"units": 3, "activation": "tanh"}, (2, 4)), C({"units": 2, "use_bias": False}, (2, 3, 4))],
    "EinsumDense": [C({"equation": "ab,bc->ac", "output_shape": 3, "bias_axes": "c"}, (2, 4)),
                    C({"equation": "abc,cd->abd", "output_shape": (None, 2), "activation": "relu"}, (2, 3, 4))],
    "Embedding": [C({"input_dim": 6, "output_dim": 3, "mask_zero": True}, (2, 4), int_inputs=6, input_grad=False)],
    "Lambda": [C({"function": scale_and_shift, "arguments": {"factor": 1.5}}, (2, 3), unsafe=True)],
    "TorchModuleWrapper": [C(make=_torch_module, input_shape=(2, 3), unsafe=True, engines=("torch", "numpy"))],
    "JaxLayer": [C(make=lambda cls, dtype: cls(jax_affine_tanh, init_fn=jax_affine_init, dtype=dtype),
                   input_shape=(2, 3), engines=("jax", "numpy"))],
    "FlaxLayer": [C(make=_flax_layer, input_shape=(2, 3), engines=("jax", "numpy"))],
    "TFSMLayer": [C(make=_tfsm_layer, input_shape=(2, 3), unsafe=True, input_grad=False)],
    # The node an op on symbolic tensors records (x * 2 + 1 would be two of them).
    "OpLayer": [C({"op": "multiply", "arguments": {"x1": {"__input__": 0}, "x2": 2.0}}, (2, 3)),
                C({"op": "mean", "arguments": {"x": {"__input__": 0}, "axis": -1, "keepdims": True}}, (2, 3, 4))],
    "Activation": [C({"activation": "gelu"}, (2, 5)), C({"activation": "softmax"}, (2, 4))],
    "Identity": [C({}, _SEQ, mask=True)],
    "ReLU": [C({"max_value": 2.0, "negative_slope": 0.1, "threshold": 0.3}, (2, 5))],
    "LeakyReLU": [C({"negative_slope": 0.2}, _SEQ, mask=True)],
    "PReLU": [C({"alpha_initializer": "ones", "shared_axes": [1]}, _SEQ)],
    "ELU": [C({"alpha": 0.7}, (2, 5))],
    "Softmax": [C({}, (2, 5)), C({"axis": [1, 2]}, _SEQ)],
    "Masking": [C({"mask_value": 0.0}, _SEQ, prepare=_with_zero_steps, input_grad=False)],
    "ReversibleEmbedding": [C({"input_dim": 6, "output_dim": 3, "mask_zero": True}, (2, 4), int_inputs=6,
                              input_grad=False),
                            C({"input_dim": 6, "output_dim": 3, "tie_weights": False, "logit_soft_cap": 2.0}, (2, 4),
                              int_inputs=6, input_grad=False, invoke=_embed_and_reverse, check_shape=False)],
    "Wrapper": [C(input_shape=(2, 4), make=_wrapped("Dense", units=3))],
    "TimeDistributed": [C(input_shape=_SEQ, make=_wrapped("Dense", units=2), mask=True)],
    # -------------------------------------------------------- convolution
    "Conv1D": [C({"filters": 3, "kernel_size": 2, "padding": "causal", "dilation_rate": 2}, (2, 5, 2)),
               C({"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same", "activation": "relu"}, (1, 6, 3))],
    "Conv2D": [C({"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same", "activation": "relu"}, (1, 5, 5, 2)),
               C({"filters": 4, "kernel_size": 2, "groups": 2, "data_format": "channels_first"}, (1, 4, 3, 3))],
    "Conv3D": [C({"filters": 2, "kernel_size": 2}, (1, 3, 3, 3, 2))],
    "DepthwiseConv1D": [C({"kernel_size": 2, "depth_multiplier": 2}, (1, 5, 2))],
    "DepthwiseConv2D": [C({"kernel_size": 3, "padding": "same"}, (1, 4, 4, 2))],
    "SeparableConv1D": [C({"filters": 3, "kernel_size": 2, "depth_multiplier": 2}, (1, 5, 2))],
    "SeparableConv2D": [C({"filters": 3, "kernel_size": 2}, (1, 4, 4, 2))],
    "Conv1DTranspose": [C({"filters": 2, "kernel_size": 3, "strides": 2}, (1, 4, 2))],
    "Conv2DTranspose": [C({"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"}, (1, 3, 3, 2))],
    "Conv3DTranspose": [C({"filters": 2, "kernel_size": 2, "strides": 2}, (1, 2, 2, 2, 2))],
    # ------------------------------------------------------------ pooling
    "MaxPooling1D": [C({"pool_size": 2}, (2, 6, 3))],
    "MaxPooling2D": [C({"pool_size": 2, "strides": 1, "padding": "same"}, (1, 4, 4, 2))],
    "MaxPooling3D": [C({"pool_size": 2}, (1, 4, 4, 4, 2))],
    "AveragePooling1D": [C({"pool_size": 3, "strides": 2, "padding": "same"}, (2, 6, 3))],
    "AveragePooling2D": [C({"pool_size": 2, "data_format": "channels_first"}, (1, 2, 4, 4))],
    "AveragePooling3D": [C({"pool_size": 2, "padding": "same"}, (1, 3, 3, 3, 2))],
    "GlobalMaxPooling1D": [C({}, _SEQ)],
    "GlobalMaxPooling2D": [C({"keepdims": True}, (2, 3, 3, 2))],
    "GlobalMaxPooling3D": [C({}, (1, 2, 2, 2, 2))],
    "GlobalAveragePooling1D": [C({}, _SEQ, mask=True)],
    "GlobalAveragePooling2D": [C({}, (2, 3, 3, 2))],
    "GlobalAveragePooling3D": [C({"keepdims": True}, (1, 2, 2, 2, 2))],
    "AdaptiveAveragePooling1D": [C({"output_size": 3}, (2, 7, 2))],
    "AdaptiveAveragePooling2D": [C({"output_size": (2, 3), "data_format": "channels_first"}, (1, 2, 5, 4))],
    "AdaptiveAveragePooling3D": [C({"output_size": 2}, (1, 3, 4, 5, 2))],
    "AdaptiveMaxPooling1D": [C({"output_size": 4}, (2, 6, 2))],
    "AdaptiveMaxPooling2D": [C({"output_size": 2}, (1, 5, 5, 2))],
    "AdaptiveMaxPooling3D": [C({"output_size": (1, 2, 2), "data_format": "channels_first"}, (1, 2, 3, 4, 4))],
    # -------------------------------------------------------------- audio
    "STFTSpectrogram": [C({"frame_length": 8, "frame_step": 4}, (2, 32, 2)),
                        C({"mode": "stft", "frame_length": 6, "fft_length": 8, "padding": "same",
                           "expand_dims": True, "data_format": "channels_first"}, (1, 2, 20))],
    "MelSpectrogram": [C({"fft_length": 16, "sequence_stride": 8, "num_mel_bins": 4, "sampling_rate": 8000,
                          "power_to_db": False}, (2, 40))],
    # ------------------------------------------------------ normalization
    # training: the batch's statistics, through an engine's training kernel with the features last
    "BatchNormalization": [C({}, (4, 3)), C({"axis": 1, "momentum": 0.9}, (4, 3, 2), call_kwargs={"training": True}),
                           C({"epsilon": 1e-5}, (3, 2, 2, 3), call_kwargs={"training": True})],
    "LayerNormalization": [C({}, _SEQ, mask=True), C({"axis": (1, 2), "scale": False}, _SEQ)],
    "GroupNormalization": [C({"groups": 2}, (2, 3, 4))],
    "UnitNormalization": [C({}, (2, 5))],
    "RMSNormalization": [C({}, _SEQ, mask=True), C({"axis": [1, 2], "epsilon": 1e-3}, _SEQ)],
    # inference only: a training call normalises the kernel with stopped power-iteration vectors, so its
    # gradient is not the finite difference (tests/layers compare the training call with Keras 3)
    "SpectralNormalization": [C(input_shape=(2, 4), make=_wrapped("Dense", units=3))],
    # ------------------------------------------------------------ merging
    "Add": [C({}, [_SEQ, _SEQ], mask=True)],
    "Subtract": [C({}, [(2, 3), (2, 3)])],
    "Multiply": [C({}, [(2, 3), (2, 3), (2, 3)])],
    "Average": [C({}, [(2, 3), (2, 3)])],
    "Maximum": [C({}, [_SEQ, _SEQ], mask=True)],
    "Minimum": [C({}, [(2, 3), (2, 3)])],
    "Concatenate": [C({"axis": -1}, [(2, 3), (2, 2)]), C({"axis": 1}, [_SEQ, (2, 2, 3)], mask=True)],
    "Dot": [C({"axes": 1}, [(2, 3), (2, 3)]), C({"axes": (2, 2), "normalize": True}, [(2, 3, 4), (2, 2, 4)])],
    # ----------------------------------------------------- regularization
    "Dropout": [C({"rate": 0.5}, (2, 3))],
    "SpatialDropout1D": [C({"rate": 0.3}, _SEQ)],
    "SpatialDropout2D": [C({"rate": 0.3}, (1, 3, 3, 2))],
    "SpatialDropout3D": [C({"rate": 0.3}, (1, 2, 2, 2, 2))],
    "GaussianNoise": [C({"stddev": 0.1}, (2, 3))],
    "GaussianDropout": [C({"rate": 0.3}, (2, 3))],
    "AlphaDropout": [C({"rate": 0.2}, (2, 3))],
    "ActivityRegularization": [C({"l1": 0.01, "l2": 0.02}, (2, 3))],
    # ---------------------------------------------------------- reshaping
    "Flatten": [C({}, (2, 3, 2))],
    "Reshape": [C({"target_shape": (3, 2)}, (2, 6)), C({"target_shape": (-1, 2)}, (2, 2, 2))],
    "Permute": [C({"dims": (2, 1)}, (2, 3, 4))],
    "RepeatVector": [C({"n": 3}, (2, 4))],
    "ZeroPadding1D": [C({"padding": 2}, (2, 3, 2))],
    "ZeroPadding2D": [C({"padding": ((1, 0), (2, 1))}, (1, 3, 3, 2))],
    "ZeroPadding3D": [C({"padding": 1}, (1, 2, 2, 2, 1))],
    "UpSampling1D": [C({"size": 2}, (2, 3, 2))],
    "UpSampling2D": [C({"size": (2, 2)}, (1, 3, 3, 2)), C({"size": 2, "interpolation": "bilinear"}, (1, 3, 3, 2))],
    "UpSampling3D": [C({"size": 2}, (1, 2, 2, 2, 1))],
    "Cropping1D": [C({"cropping": (1, 1)}, (2, 5, 2))],
    "Cropping2D": [C({"cropping": ((1, 0), (0, 1))}, (1, 4, 4, 2))],
    "Cropping3D": [C({"cropping": 1}, (1, 4, 4, 4, 1))],
    # ---------------------------------------------------------- recurrent
    "SimpleRNN": [C({"units": 3}, _SEQ)],
    "LSTM": [C({"units": 3, "return_sequences": True}, _SEQ, mask=True)],
    "GRU": [C({"units": 3, "return_state": True}, _SEQ)],
    "SimpleRNNCell": [C({"units": 3}, [(2, 2), (2, 3)], invoke=_cell, check_shape=False)],
    "LSTMCell": [C({"units": 3}, [(2, 2), (2, 3), (2, 3)], invoke=_cell, check_shape=False)],
    "GRUCell": [C({"units": 3}, [(2, 2), (2, 3)], invoke=_cell, check_shape=False)],
    "Bidirectional": [C(input_shape=_SEQ, make=_wrapped("LSTM", units=2))],
    "RNN": [C(input_shape=_SEQ, make=_rnn, mask=True)],
    "StackedRNNCells": [C(input_shape=[(2, 2), (2, 2), (2, 3)], make=_stacked_cells, invoke=_cell, check_shape=False)],
    "ConvLSTM1D": [C({"filters": 2, "kernel_size": 2, "return_sequences": True}, (2, 3, 5, 2), mask=True)],
    "ConvLSTM2D": [C({"filters": 2, "kernel_size": 2, "padding": "same", "return_state": True}, (1, 3, 3, 3, 2))],
    "ConvLSTM3D": [C({"filters": 2, "kernel_size": 2}, (1, 2, 3, 3, 3, 1))],
    "ConvLSTMCell": [C({"rank": 1, "filters": 2, "kernel_size": 2, "padding": "same"},
                       [(2, 4, 2), (2, 4, 2), (2, 4, 2)],
                       invoke=_cell, check_shape=False)],
    # ---------------------------------------------------------- attention
    "MultiHeadAttention": [C({"num_heads": 2, "key_dim": 3}, [(2, 3, 4), (2, 2, 4)], invoke=_query_value)],
    "GroupedQueryAttention": [C({"head_dim": 2, "num_query_heads": 2, "num_key_value_heads": 1},
                                [(2, 3, 4), (2, 2, 4)], invoke=_query_value)],
    "Attention": [C({}, [(2, 3, 4), (2, 2, 4)])],
    "AdditiveAttention": [C({}, [(2, 3, 4), (2, 2, 4)])],
    # ------------------------------------------------------- preprocessing
    "CategoryEncoding": [C({"num_tokens": 5, "output_mode": "multi_hot"}, (2, 3), int_inputs=5, input_grad=False),
                         C({"num_tokens": 4, "output_mode": "count"}, (3, 4), int_inputs=4, input_grad=False)],
    "Discretization": [C({"bin_boundaries": [-0.5, 0.0, 0.5]}, (2, 3), input_grad=False)],
    "Normalization": [C({"mean": [0.1, -0.2, 0.3], "variance": [1.0, 2.0, 0.5]}, (2, 3)),
                      C(input_shape=(4, 3), make=_adapted_normalization)],
    "Pipeline": [C(input_shape=(2, 3), make=_pipeline)],
    "FeatureSpace": [C(input_shape=[(3, 1), (3, 1)], make=_feature_space, check_shape=False,
                       invoke=lambda layer, inputs, **kw: layer({"a": inputs[0], "b": inputs[1]}))],
    # the random augmentations at inference (identity): the engines' random streams differ, so a training
    # call's numbers are engine-specific; tests/layers/test_augmentation.py checks what training may do
    "RandomFlip": [C({"seed": 1}, (2, 4, 5, 3), call_kwargs={"training": False})],
    "RandomContrast": [C({"factor": 0.5, "seed": 1}, (2, 4, 5, 3), call_kwargs={"training": False})],
    "RandomBrightness": [C({"factor": 0.2, "seed": 1}, (2, 4, 5, 3), call_kwargs={"training": False})],
    "RandomInvert": [C({"seed": 1}, (2, 4, 5, 3), call_kwargs={"training": False})],
    "RandomGrayscale": [C({"seed": 1}, (2, 4, 5, 3), call_kwargs={"training": False})],
    "AutoContrast": [C({"value_range": (-4.0, 4.0)}, (2, 4, 5, 3))],
    "Solarization": [C({"threshold_factor": 0.5, "seed": 1}, (2, 4, 5, 3), call_kwargs={"training": False}),
                     C({"value_range": (-10.0, 10.0)}, (2, 4, 5, 3))],
    "MixUp": [C({"seed": 1}, (2, 4, 5, 3), call_kwargs={"training": False})],
    # colour augmentations: inference (identity) and fixed factors (deterministic, differentiable)
    "RandomColorDegeneration": [C({"factor": 0.5, "seed": 1}, (2, 4, 5, 3), call_kwargs={"training": False}),
                                C({"factor": (0.3, 0.3)}, (2, 4, 5, 3), prepare=_pixels)],
    "RandomSaturation": [C({"factor": 0.5, "seed": 1}, (2, 4, 5, 3), call_kwargs={"training": False}),
                         C({"factor": (0.6, 0.6)}, (2, 4, 5, 3), prepare=_pixels)],
    "RandomHue": [C({"factor": 0.5, "seed": 1}, (2, 4, 5, 3), call_kwargs={"training": False}),
                  C({"factor": 0.0}, (2, 4, 5, 3), prepare=_pixels)],
    "RandomSharpness": [C({"factor": 0.5, "seed": 1}, (2, 4, 5, 3), call_kwargs={"training": False}),
                        C({"factor": (0.8, 0.8)}, (2, 4, 5, 3), prepare=_pixels)],
    "RandomColorJitter": [C({"brightness_factor": 0.2, "hue_factor": 0.2, "seed": 1}, (2, 4, 5, 3),
                            call_kwargs={"training": False}),
                          C({"brightness_factor": (0.1, 0.1), "saturation_factor": (0.6, 0.6)}, (2, 4, 5, 3),
                            prepare=_pixels)],
    "RandomGaussianBlur": [C({"seed": 1}, (2, 4, 5, 3), call_kwargs={"training": False}),
                           C({"factor": (1.0, 1.0), "sigma": (0.7, 0.7)}, (2, 4, 5, 3), prepare=_pixels)],
    # deterministic, piecewise constant (a lookup table): forward only
    "Equalization": [C({}, (2, 4, 5, 3), prepare=_pixels, input_grad=False)],
    # warps and regions: inference (identity) and draws that fix the transformation (zero factors, probability 0)
    "RandomShear": [C({"x_factor": 0.2, "seed": 1}, (2, 4, 5, 3), call_kwargs={"training": False}),
                    C({"x_factor": 0.0, "y_factor": 0.0, "fill_mode": "constant"}, (2, 4, 5, 3))],
    "RandomPerspective": [C({"seed": 1}, (2, 4, 5, 3), call_kwargs={"training": False}),
                          C({"scale": 0.0, "seed": 1}, (2, 4, 5, 3))],
    "RandomElasticTransform": [C({"seed": 1}, (2, 4, 5, 3), call_kwargs={"training": False}),
                               C({"factor": 0.0, "seed": 1}, (2, 4, 5, 3), prepare=_pixels)],
    "RandomErasing": [C({"seed": 1}, (2, 4, 5, 3), call_kwargs={"training": False}),
                      C({"factor": 0.0, "fill_value": 0.0, "seed": 1}, (2, 4, 5, 3))],
    "CutMix": [C({"seed": 1}, (2, 4, 5, 3), call_kwargs={"training": False}),
               C({"seed": 1}, (4, 5, 3))],  # a single image: unchanged
    "MaxNumBoundingBoxes": [C({"max_number": 3}, (2, 4, 5, 3))],  # images alone pass unchanged
    # deterministic, piecewise-linear lookups: forward only
    "ContrastLimitedAdaptiveHistogramEqualization": [C({"tile_grid_size": (2, 2)}, (2, 6, 7, 3), prepare=_pixels,
                                                       input_grad=False)],
    "RandAugment": [C({"seed": 1}, (2, 4, 5, 3), call_kwargs={"training": False})],
    "AugMix": [C({"seed": 1}, (2, 4, 5, 3), call_kwargs={"training": False})],
    "RandomPosterization": [C({"factor": 4, "seed": 1}, (2, 4, 5, 3), call_kwargs={"training": False})],
    "RandomRotation": [C({"factor": 0.2, "seed": 1}, (2, 4, 5, 3), call_kwargs={"training": False}),
                       C({"factor": (0.1, 0.1), "fill_mode": "constant"}, (2, 4, 5, 3))],
    "RandomTranslation": [C({"height_factor": 0.2, "width_factor": 0.2, "seed": 1}, (2, 4, 5, 3),
                            call_kwargs={"training": False}),
                          C({"height_factor": (0.1, 0.1), "width_factor": (-0.15, -0.15)}, (2, 4, 5, 3))],
    "RandomCrop": [C({"height": 5, "width": 6}, (2, 4, 5, 3))],  # not larger than the target: deterministic
    "RandomZoom": [C({"height_factor": 0.2, "seed": 1}, (2, 4, 5, 3), call_kwargs={"training": False}),
                   C({"height_factor": (0.3, 0.3), "fill_mode": "nearest"}, (2, 4, 5, 3))],
    "Rescaling": [C({"scale": 1.0 / 255, "offset": -1.0}, (2, 3))],
    "Resizing": [C({"height": 4, "width": 5}, (1, 3, 3, 2)),
                 C({"height": 2, "width": 2, "interpolation": "nearest"}, (2, 4, 4, 1))],
    "CenterCrop": [C({"height": 2, "width": 3}, (1, 4, 5, 2))],
    "IntegerLookup": [C({"vocabulary": [12, 36, 1138, 42]}, data=_integer_tokens, input_grad=False)],
    "StringLookup": [C({"vocabulary": ["a", "b", "c"], "mask_token": ""}, data=_tokens, raw=True, input_grad=False,
                       check_shape=False)],
    "Hashing": [C(make=_hashing_to_ids, data=_integer_tokens, input_grad=False),
                C({"num_bins": 3, "salt": 7, "output_mode": "one_hot"}, data=_tokens, raw=True, input_grad=False,
                  check_shape=False)],
    "HashedCrossing": [C({"num_bins": 6}, [(4,), (4,)], data=_crossed_features, raw=True, input_grad=False,
                         check_shape=False)],
    "TextVectorization": [C({"vocabulary": ["the", "cat", "sat", "mat"], "output_sequence_length": 5},
                            data=_sentences, raw=True, input_grad=False, check_shape=False),
                          C({"vocabulary": ["the", "cat", "sat"], "output_mode": "count", "ngrams": 2},
                            data=_sentences, raw=True, input_grad=False, check_shape=False)],
    # ------------------------------------------------------------- models
    "InputLayer": [C(make=_input_layer, called=False)],
    "Sequential": [C(input_shape=(2, 4), make=_sequential)],
    "Functional": [C(input_shape=[(2, 3), (2, 2)], make=_functional)],
    "Model": [C(input_shape=(2, 3), make=_subclassed)],
    "Distiller": [C(input_shape=(2, 3), make=_distiller)],
    "Operation": [C(input_shape=(2, 3), make=_operation)],
}
