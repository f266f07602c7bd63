"""Preprocessing layers inside ``tf.data`` pipelines (``dataset.map(layer)``)
on every engine: the pipeline's outputs equal
the layer called directly on the same NumPy data, random layers draw from
their seed generator, a model fits on the mapped dataset, and traced training
steps keep the normal path (see :mod:`polykeras.backends.data_pipeline`)."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
tf = pytest.importorskip("tensorflow")

import polykeras  # noqa: E402
from polykeras import layers, ops  # noqa: E402
from polykeras.backends import data_pipeline  # noqa: E402
from polykeras.utils import FeatureSpace  # noqa: E402

X = np.arange(10, dtype="float32").reshape(5, 2)
WORDS = np.array([["lyon"], ["oslo"], ["kyiv"], ["lyon"], ["rome"]])


def _mapped(data: object, layer: object, batch: int = 2) -> list:
    ds = tf.data.Dataset.from_tensor_slices(data).batch(batch).map(layer)
    return ds, list(ds)


def _joined(batches: list) -> np.ndarray:
    return np.concatenate([b.numpy() for b in batches])


def _direct(layer: object, data: np.ndarray) -> np.ndarray:
    return np.asarray(ops.to_numpy(layer(data)))


@pytest.mark.parametrize("make, data", [
    (lambda: layers.Normalization(mean=[1.0, 2.0], variance=[4.0, 9.0]), X),
    (lambda: layers.Rescaling(0.5, offset=-1.0), X),
    (lambda: layers.StringLookup(vocabulary=["lyon", "oslo", "kyiv"]), WORDS),
    (lambda: layers.StringLookup(vocabulary=["lyon", "oslo", "kyiv"], output_mode="one_hot"), WORDS[:, 0]),
    (lambda: layers.Hashing(num_bins=7), WORDS),
    (lambda: layers.CategoryEncoding(num_tokens=5, output_mode="multi_hot"), np.array([[0, 1], [2, 4], [1, 1]])),
    (lambda: layers.Pipeline([layers.Rescaling(0.5), layers.Normalization(mean=1.0, variance=4.0)]), X),
], ids=["normalization", "rescaling", "string_lookup", "string_lookup_one_hot", "hashing", "category_encoding",
        "pipeline"])
def test_layer_in_dataset_map_equals_direct_call(engine, make, data):
    layer = make()
    ds, batches = _mapped(data, layer)
    expected = _direct(layer, data)
    got = _joined(batches)
    assert got.dtype.kind == expected.dtype.kind  # indices: int64 as announced (JAX without x64 computes int32)
    np.testing.assert_allclose(got, expected, rtol=1e-6)  # XLA may round batches of 2 and of 5 apart by 1 ulp
    assert ds.element_spec.shape.as_list() == [None, *expected.shape[1:]]  # static shape from the output spec


def test_text_vectorization_and_string_outputs(engine):
    text = np.array(["a b c", "b c d e f", "a", "f f"])
    vectorize = layers.TextVectorization(max_tokens=10, output_sequence_length=4)
    vectorize.adapt(text)
    ds, batches = _mapped(text, vectorize)
    np.testing.assert_array_equal(_joined(batches), _direct(vectorize, text))
    assert ds.element_spec.dtype == tf.int64 and ds.element_spec.shape.as_list() == [None, 4]
    invert = layers.StringLookup(vocabulary=["lyon", "oslo"], invert=True)
    ds, batches = _mapped(np.array([[1], [2], [0]]), invert)
    assert ds.element_spec.dtype == tf.string
    assert [w.decode() for w in _joined(batches)[:, 0]] == ["lyon", "oslo", "[UNK]"]


def test_random_flip_varies_across_batches_and_follows_its_seed(engine):
    image = np.arange(6, dtype="float32").reshape(1, 2, 3, 1)
    images = np.repeat(image, 12, axis=0)
    _, first = _mapped(images, layers.RandomFlip(seed=7), batch=1)
    _, again = _mapped(images, layers.RandomFlip(seed=7), batch=1)
    corners = [float(b.numpy()[0, 0, 0, 0]) for b in first]
    assert len(set(corners)) > 1  # training by default in a pipeline, a new draw per batch
    np.testing.assert_array_equal(_joined(first), _joined(again))
    direct = layers.RandomFlip(seed=7)
    expected = np.concatenate([_direct(direct, images[i:i + 1]) for i in range(12)])
    np.testing.assert_array_equal(_joined(first), expected)


def test_feature_space_in_dataset_map(engine):
    rng = np.random.default_rng(0)
    data = {"age": rng.uniform(20, 70, 12).astype("float32"), "city": rng.choice(["lyon", "oslo", "kyiv"], 12),
            "zone": rng.integers(0, 4, 12).astype("int32")}
    for mode in ("concat", "dict"):
        space = FeatureSpace({"age": "float_normalized", "city": "string_categorical", "zone": "integer_categorical"},
                             crosses=[("city", "zone")], crossing_dim=4, output_mode=mode)
        space.adapt(data)
        ds, batches = _mapped(data, space, batch=5)
        direct = space(data)
        if mode == "concat":
            np.testing.assert_allclose(_joined(batches), ops.to_numpy(direct), rtol=1e-6)
            assert ds.element_spec.shape.as_list() == [None, ops.shape(direct)[-1]]
        else:
            for key, value in direct.items():
                np.testing.assert_allclose(np.concatenate([b[key].numpy() for b in batches]), ops.to_numpy(value),
                                           rtol=1e-6)


def test_fit_on_a_mapped_dataset(diff_engine):
    y = X.sum(axis=1, keepdims=True)
    norm = layers.Normalization(mean=[4.0, 5.0], variance=[8.0, 8.0])
    ds = tf.data.Dataset.from_tensor_slices((X, y)).batch(2).map(lambda a, b: (norm(a), b))
    model = polykeras.Sequential([layers.Input((2,)), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(ds, epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_filter_and_unknown_output_dtype_error(engine):
    keep = layers.Rescaling(1.0)
    ds = tf.data.Dataset.from_tensor_slices(X).filter(lambda row: keep(row)[0] > 3.0)
    assert len(list(ds)) == 3

    class Opaque(layers.Layer):
        def call(self, x):
            return ops.convert_to_tensor(np.unique(ops.to_numpy(x)))  # data-dependent: no symbolic form

    with pytest.raises(TypeError, match=r"Layer 'opaque.*' \(Opaque\): cannot run inside a tf.data pipeline.*"
                                        r"compute_output_spec"):
        tf.data.Dataset.from_tensor_slices(X).batch(2).map(Opaque())


def test_only_tf_data_graphs_take_the_host_path(engine):
    seen = []

    @tf.function
    def user_graph(x):
        seen.append(data_pipeline.in_data_pipeline((x,), {}))
        return x

    user_graph(tf.constant(X))
    tf.data.Dataset.from_tensor_slices(X).map(lambda x: seen.append(data_pipeline.in_data_pipeline(([x],), {})) or x)
    assert seen == [False, True]
    assert not data_pipeline.in_data_pipeline((X, tf.constant(X)), {"mask": None})


def test_traced_training_steps_keep_the_normal_path(diff_engine, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a traced training step took the tf.data host path")

    monkeypatch.setattr(data_pipeline, "run_on_host", refuse)
    monkeypatch.setattr("polykeras.layers.host_calls.run_on_host", refuse)
    model = polykeras.Sequential([layers.Input((2,)), layers.Rescaling(0.1), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", jit_compile=True)
    before = [np.copy(w) for w in model.get_weights()]
    model.fit(X, X[:, :1], batch_size=2, epochs=1, verbose=0)
    assert any(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))  # gradients flowed
    values = NATIVE_GRADIENTS[diff_engine.name](model, X)  # the engine's own traced step
    assert len(values) == 2 and all(np.any(np.asarray(g) != 0) for g in values)


def _tf_tape(model, x):
    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(model(x, training=True))
        return tape.gradient(loss, model.trainable_weights)

    return [g.numpy() for g in step(tf.constant(x))]


def _jax_grad(model, x):
    import jax

    def loss(trainable):
        out, _ = model.stateless_call(trainable, [v.value for v in model.non_trainable_variables], x)
        return out.sum()

    return jax.jit(jax.grad(loss))([v.value for v in model.trainable_variables])


def _torch_backward(model, x):
    import torch

    model(torch.as_tensor(x)).sum().backward()
    return [p.grad.numpy() for p in model.parameters()]


NATIVE_GRADIENTS = {"tensorflow": _tf_tape, "jax": _jax_grad, "torch": _torch_backward}
