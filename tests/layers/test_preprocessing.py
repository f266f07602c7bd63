"""Preprocessing layers on every engine: the standard layer checks, NumPy
references, Keras 3's numbers (Resizing, CenterCrop, Normalization with
Keras' weights and Keras' adapt(), Discretization and the lookups' adapt()),
configs and saving, and bad inputs naming the layer. StringLookup works on
host strings, so it is checked directly rather than through ``check_layer``
(which feeds numeric tensors)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import polykeras
from conformance.tolerances import assert_close, tolerance
from polykeras import layers, ops
from polykeras.saving import load_model, model_from_json

from .helpers import check_layer, layer_outputs, run_keras

LAYER_TOL = dict(zip(("rtol", "atol"), tolerance("layer")))


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def _images(shape, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, shape).astype("float32")


# ----------------------------------------------------------- Keras reference
_KERAS_CODE = """
L = keras.layers
image, image_cf, small = data["image"], data["image_cf"], data["small"]
for name, kwargs in json.loads(spec)["resize"].items():
    source = image_cf if kwargs.get("data_format") == "channels_first" else image
    out["resize_" + name] = np.asarray(L.Resizing(**kwargs)(source))
out["resize_uint8"] = np.asarray(L.Resizing(5, 3)(data["image_u8"]))
out["resize_single"] = np.asarray(L.Resizing(3, 5, interpolation="nearest")(image[0]))
out["crop"] = np.asarray(L.CenterCrop(3, 4)(image))
out["crop_small"] = np.asarray(L.CenterCrop(6, 5)(small))
out["crop_cf"] = np.asarray(L.CenterCrop(2, 3, data_format="channels_first")(image_cf))
norm = L.Normalization(axis=(1, 2)); norm.adapt(data["features"])
out["norm_mean"], out["norm_var"] = [np.asarray(w) for w in norm.get_weights()[:2]]
out["norm_y"] = np.asarray(norm(data["features"]))
out["norm_mean_attr"], out["norm_var_attr"] = np.asarray(norm.mean), np.asarray(norm.variance)
disc = L.Discretization(num_bins=5); disc.adapt(data["numbers"])
out["disc_boundaries"] = list(map(float, disc.bin_boundaries))
strings = L.StringLookup(max_tokens=5, mask_token="", output_mode="int"); strings.adapt(data["words"])
out["str_vocab"] = [str(t) for t in strings.get_vocabulary()]
out["str_int"] = np.asarray(strings(data["queries"].tolist()))
tfidf = L.StringLookup(output_mode="tf_idf"); tfidf.adapt(data["words"])
out["tfidf_vocab"] = [str(t) for t in tfidf.get_vocabulary()]
out["tfidf_y"] = np.asarray(tfidf(data["queries"].tolist()))
ints = L.IntegerLookup(num_oov_indices=2, mask_token=0); ints.adapt(data["ids"])
out["int_vocab"] = [int(t) for t in ints.get_vocabulary()]
out["int_y"] = np.asarray(ints(data["id_queries"]))
out["int_multi"] = np.asarray(L.IntegerLookup(vocabulary=[7, 3, 9], output_mode="multi_hot")(data["id_queries"]))
"""
RESIZE_CASES = {
    "bilinear_up": dict(height=7, width=9),
    "bilinear_down": dict(height=3, width=2),
    "nearest_up": dict(height=7, width=9, interpolation="nearest"),
    "nearest_down": dict(height=3, width=4, interpolation="nearest"),
    "crop_aspect": dict(height=4, width=2, crop_to_aspect_ratio=True),
    "pad_aspect": dict(height=3, width=9, pad_to_aspect_ratio=True, fill_value=1.5),
    "channels_first": dict(height=5, width=4, data_format="channels_first"),
}
_KERAS_DATA = {
    "image": _images((2, 5, 6, 3)),
    "image_cf": _images((2, 3, 5, 6), seed=1),
    "image_u8": _images((1, 4, 4, 2), seed=2).astype("uint8"),
    "small": _images((2, 4, 3, 1), seed=3),
    "features": _x((6, 3, 2), seed=4) * 3 + 1,
    "numbers": np.random.default_rng(5).exponential(2.0, 300).astype("float32"),
    "words": np.array([["a", "b", "a", ""], ["c", "a", "d", "b"], ["e", "b", "c", "a"]]),
    "queries": np.array([["a", "z", "", "e"], ["d", "d", "c", "b"]]),
    "ids": np.array([[7, 3, 7, 0], [9, 7, 3, 5], [3, 3, 2, 0]]),
    "id_queries": np.array([[7, 11, 0, 2], [4, 3, 9, 9]]),
}
_KERAS_OUT: dict = {}


def keras_numbers() -> dict:
    """Keras 3's outputs for the cases above, computed once (in this process
    on Keras' NumPy backend when possible, else in a subprocess)."""
    if not _KERAS_OUT:
        code = f"import json\nspec = {json.dumps(json.dumps({'resize': RESIZE_CASES}))}\n{_KERAS_CODE}"
        _KERAS_OUT.update(run_keras(code, _KERAS_DATA, backend="numpy"))
    return _KERAS_OUT


# ------------------------------------------------------------------ Rescaling
def test_rescaling(engine):
    x = _images((2, 3, 3, 2))
    layer = check_layer(lambda: layers.Rescaling([0.5, 2.0], offset=-1.0), x.shape, **LAYER_TOL)
    assert_close(layer_outputs(layer, x), x.astype(np.float64) * [0.5, 2.0] - 1.0, "elementwise")
    out = layers.Rescaling(1 / 127.5, offset=-1)(np.array([0, 255], "uint8"))
    assert ops.dtype(out) == "float32"
    np.testing.assert_allclose(ops.to_numpy(out), [-1.0, 1.0], rtol=1e-6)
    assert layer.get_config()["scale"] == [0.5, 2.0] and layer.get_config()["offset"] == -1.0
    with pytest.raises(ValueError, match=r"Rescaling 'r'.*scale.*'big'"):
        layers.Rescaling("big", name="r")


# -------------------------------------------------------------- Normalization
def test_normalization_with_given_statistics(engine):
    x = _x((4, 3))
    layer = check_layer(lambda: layers.Normalization(mean=[1.0, 2.0, 3.0], variance=[4.0, 1.0, 0.25]), x.shape,
                        **LAYER_TOL)
    expected = (x - np.array([1.0, 2.0, 3.0])) / np.array([2.0, 1.0, 0.5])
    assert_close(layer_outputs(layer, x), expected, "elementwise")
    assert layer.weights == [] and layer.get_config()["mean"] == [1.0, 2.0, 3.0]
    inverse = layers.Normalization(mean=[1.0, 2.0, 3.0], variance=[4.0, 1.0, 0.25], invert=True)
    assert_close(layer_outputs(inverse, expected.astype("float32")), x, "elementwise")
    scalar = layers.Normalization(axis=None, mean=2.0, variance=4.0)
    assert_close(layer_outputs(scalar, x), (x - 2.0) / 2.0, "elementwise")


def test_normalization_adapt(engine):
    data = _KERAS_DATA["features"]
    ref = keras_numbers()

    def adapted():
        layer = layers.Normalization(axis=(1, 2))
        layer.adapt(data)
        return layer

    layer = check_layer(adapted, data.shape, **LAYER_TOL)
    mean, variance, count = layer.get_weights()
    assert [w.name for w in layer.weights] == ["mean", "variance", "count"] and int(count) == 6
    assert_close(mean, ref["norm_mean"], "reduction")
    assert_close(variance, ref["norm_var"], "reduction")
    assert_close(layer_outputs(layer, data), ref["norm_y"], "layer")
    # .mean / .variance in the inputs' broadcast shape, as Keras exposes them
    assert_close(ops.to_numpy(layer.mean), ref["norm_mean_attr"], "reduction")
    assert_close(ops.to_numpy(layer.variance), ref["norm_var_attr"], "reduction")
    assert layers.Normalization().mean is None
    # batches merge exactly; tensors and (x, y) pairs are accepted
    batched = layers.Normalization(axis=(1, 2))
    batched.adapt([(data[:2], None), (data[2:5], None), (data[5:], None)])
    assert_close(batched.get_weights()[1], variance, "reduction")
    from_tensor = layers.Normalization(axis=(1, 2))
    from_tensor.adapt(ops.convert_to_tensor(data))
    assert_close(from_tensor.get_weights()[0], mean, "reduction")
    # Keras' adapted weights in a fresh layer give Keras' outputs
    fresh = layers.Normalization(axis=(1, 2))
    fresh.build(data.shape)
    fresh.set_weights([ref["norm_mean"], ref["norm_var"], np.array(6, "int32")])
    assert_close(layer_outputs(fresh, data), ref["norm_y"], "layer")


def test_normalization_errors(engine):
    with pytest.raises(ValueError, match=r"Normalization 'n'.*both mean and variance"):
        layers.Normalization(mean=1.0, name="n")
    with pytest.raises(ValueError, match=r"Normalization 'n2'.*adapt.*shape \(4, 2\)"):
        layer = layers.Normalization(name="n2")
        layer.adapt(_x((4, 3)))
        layer.adapt(_x((4, 2)))
    with pytest.raises(ValueError, match=r"Normalization 'n3'.*nothing to adapt"):
        layers.Normalization(mean=0.0, variance=1.0, name="n3").adapt(_x((2, 2)))
    with pytest.raises(ValueError, match=r"Normalization 'n4'.*axis.*\(5,\)"):
        layer_outputs(layers.Normalization(axis=5, name="n4"), _x((2, 3)))


def test_preprocessing_inside_a_saved_model(engine, tmp_path):
    polykeras.random.set_seed(3)
    data = _x((8, 3)) * 5 + 2
    ids = np.array([[10, 30, 99], [20, 20, 10], [30, 10, 10], [20, 99, 30]] * 2)
    normalization = layers.Normalization()
    normalization.adapt(data)
    lookup = layers.IntegerLookup(output_mode="multi_hot")
    lookup.adapt(ids)
    buckets = layers.Discretization(num_bins=3, output_mode="one_hot")
    buckets.adapt(data)
    numbers, tokens = layers.Input((3,)), layers.Input((3,), dtype="int32")
    features = layers.Concatenate()([normalization(layers.Rescaling(0.5)(numbers)), lookup(tokens),
                                     layers.Flatten()(buckets(numbers))])
    model = polykeras.Model([numbers, tokens], layers.Dense(2)(features))
    before = model.predict([data, ids], verbose=0)
    model.save(tmp_path / "model.keras")
    loaded = load_model(tmp_path / "model.keras")
    assert_close(loaded.predict([data, ids], verbose=0), before, "layer")
    restored = loaded.get_layer(normalization.name)
    assert [w.name for w in restored.weights] == ["mean", "variance", "count"]
    assert loaded.get_layer(lookup.name).get_vocabulary() == lookup.get_vocabulary()
    assert loaded.get_layer(buckets.name).bin_boundaries == buckets.bin_boundaries


# ------------------------------------------------------------ image layers
@pytest.mark.parametrize("name", list(RESIZE_CASES))
def test_resizing_matches_keras(engine, name):
    kwargs = RESIZE_CASES[name]
    images = _KERAS_DATA["image_cf" if kwargs.get("data_format") == "channels_first" else "image"]
    layer = check_layer(lambda: layers.Resizing(**kwargs), images.shape, **LAYER_TOL)
    assert_close(layer_outputs(layer, images), keras_numbers()[f"resize_{name}"], "layer", err_msg=name)


def test_resizing_integer_and_single_images(engine):
    ref = keras_numbers()
    out = layers.Resizing(5, 3)(_KERAS_DATA["image_u8"])
    assert ops.dtype(out) == "uint8"
    np.testing.assert_allclose(ops.to_numpy(out).astype(float), ref["resize_uint8"].astype(float), atol=1)
    single = layer_outputs(layers.Resizing(3, 5, interpolation="nearest"), _KERAS_DATA["image"][0])
    np.testing.assert_array_equal(single, ref["resize_single"])
    with pytest.raises(ValueError, match=r"Resizing 'rs'.*interpolation.*'bicubic'"):
        layers.Resizing(2, 2, interpolation="bicubic", name="rs")
    with pytest.raises(ValueError, match=r"Resizing 'rs2'.*rank 3.*or 4.*\(2, 3\)"):
        layer_outputs(layers.Resizing(2, 2, name="rs2"), _x((2, 3)))


def test_center_crop(engine):
    ref = keras_numbers()
    images = _KERAS_DATA["image"]
    layer = check_layer(lambda: layers.CenterCrop(3, 4), images.shape, **LAYER_TOL)
    np.testing.assert_array_equal(layer_outputs(layer, images), images[:, 1:4, 1:5])
    assert_close(layer_outputs(layer, images), ref["crop"], "elementwise")
    small = _KERAS_DATA["small"]
    upscaled = check_layer(lambda: layers.CenterCrop(6, 5), small.shape, **LAYER_TOL)
    assert_close(layer_outputs(upscaled, small), ref["crop_small"], "layer")
    first = layers.CenterCrop(2, 3, data_format="channels_first")
    assert_close(layer_outputs(first, _KERAS_DATA["image_cf"]), ref["crop_cf"], "elementwise")
    assert first.compute_output_shape((None, 3, 8, 8)) == (None, 3, 2, 3)
    with pytest.raises(ValueError, match=r"CenterCrop 'cc'.*height.*0"):
        layers.CenterCrop(0, 2, name="cc")


# --------------------------------------------------------- CategoryEncoding
@pytest.mark.parametrize("mode, shape", [("one_hot", (6,)), ("one_hot", (3, 1)), ("one_hot", (2, 3)),
                                         ("multi_hot", (3, 4)), ("count", (3, 4)), ("multi_hot", (4,))])
def test_category_encoding(engine, mode, shape):
    layer = check_layer(lambda: layers.CategoryEncoding(5, output_mode=mode), shape, input_dtype="int32")
    ids = np.random.default_rng(1).integers(0, 5, shape)
    one_hot = np.eye(5)[ids]
    expected = {
        "one_hot": one_hot.reshape(*shape[:-1], 5) if len(shape) > 1 and shape[-1] == 1 else one_hot,
        "multi_hot": one_hot.max(axis=-2),
        "count": one_hot.sum(axis=-2),
    }[mode]
    np.testing.assert_array_equal(layer_outputs(layer, ids), expected)


def test_category_encoding_count_weights_and_errors(engine):
    ids = np.array([[0, 1, 1], [3, 3, 2]])
    weights = np.array([[0.5, 1.0, 2.0], [1.0, 1.0, 4.0]], "float32")
    out = layer_outputs(layers.CategoryEncoding(4, output_mode="count"), ids, count_weights=weights)
    np.testing.assert_allclose(out, [[0.5, 3.0, 0, 0], [0, 0, 4.0, 2.0]])
    with pytest.raises(ValueError, match=r"CategoryEncoding 'ce'.*num_tokens.*None"):
        layers.CategoryEncoding(name="ce")
    with pytest.raises(ValueError, match=r"CategoryEncoding 'ce2'.*rank 2 at most.*\(2, 2, 2\)"):
        layer_outputs(layers.CategoryEncoding(3, name="ce2"), np.zeros((2, 2, 2), "int32"))
    with pytest.raises(ValueError, match=r"CategoryEncoding 'ce3'.*count_weights.*'multi_hot'"):
        layer_outputs(layers.CategoryEncoding(4, name="ce3"), ids, count_weights=weights)
    assert layers.CategoryEncoding(3, output_mode="binary").output_mode == "multi_hot"


# ----------------------------------------------------------- Discretization
def test_discretization_with_boundaries(engine):
    x = _x((3, 4)) * 2
    boundaries = [-1.0, 0.0, 1.5]
    layer = check_layer(lambda: layers.Discretization(bin_boundaries=boundaries), x.shape, check_gradients=False)
    out = layer_outputs(layer, x)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, np.digitize(x, boundaries))
    one_hot = layer_outputs(layers.Discretization(bin_boundaries=boundaries, output_mode="one_hot"), x)
    np.testing.assert_array_equal(one_hot, np.eye(4)[np.digitize(x, boundaries)])
    count = layer_outputs(layers.Discretization(bin_boundaries=boundaries, output_mode="count"), x)
    np.testing.assert_array_equal(count, np.eye(4)[np.digitize(x, boundaries)].sum(1))


def test_discretization_adapt_matches_keras(engine):
    numbers = _KERAS_DATA["numbers"]
    layer = layers.Discretization(num_bins=5)
    layer.adapt(numbers)
    np.testing.assert_allclose(layer.bin_boundaries, keras_numbers()["disc_boundaries"], rtol=1e-6)
    clone = layers.Discretization.from_config(json.loads(json.dumps(layer.get_config())))
    np.testing.assert_array_equal(layer_outputs(clone, numbers), layer_outputs(layer, numbers))
    counts = np.bincount(layer_outputs(layer, numbers), minlength=5)
    assert counts.min() > 40  # roughly equal-mass bins
    with pytest.raises(ValueError, match=r"Discretization 'd'.*bin_boundaries or num_bins"):
        layers.Discretization(name="d")
    with pytest.raises(ValueError, match=r"Discretization 'd2'.*increasing.*\[2.0, 1.0\]"):
        layers.Discretization(bin_boundaries=[2.0, 1.0], name="d2")
    with pytest.raises(ValueError, match=r"Discretization 'd3'.*adapt"):
        layer_outputs(layers.Discretization(num_bins=3, name="d3"), numbers)


# ------------------------------------------------------------------- lookups
def test_string_lookup_vocabulary_modes_and_invert(engine):
    layer = layers.StringLookup(vocabulary=["a", "b", "c"])
    out = layer(np.array([["a", "c"], ["d", "b"]]))
    assert ops.is_tensor(out)
    np.testing.assert_array_equal(ops.to_numpy(out), [[1, 3], [0, 2]])
    assert layer.get_vocabulary() == ["[UNK]", "a", "b", "c"] and layer.vocabulary_size() == 4
    masked = layers.StringLookup(vocabulary=["a", "b"], mask_token="", output_mode="multi_hot")
    np.testing.assert_array_equal(ops.to_numpy(masked(np.array([["a", "z", ""], ["b", "b", ""]]))),
                                  [[1, 1, 0], [0, 0, 1]])
    counts = layers.StringLookup(vocabulary=["a", "b"], output_mode="count", pad_to_max_tokens=True, max_tokens=5)
    np.testing.assert_array_equal(ops.to_numpy(counts([b"a", b"a", b"q"])), [1, 2, 0, 0, 0])
    inverse = layers.StringLookup(vocabulary=["a", "b"], invert=True, mask_token="[MASK]")
    assert inverse(np.array([[0, 1, 2, 3, 9]])).tolist() == [["[MASK]", "[UNK]", "a", "b", "[UNK]"]]
    clone = layers.StringLookup.from_config(json.loads(json.dumps(masked.get_config())))
    assert clone.get_vocabulary() == masked.get_vocabulary()


def test_string_lookup_adapt_matches_keras(engine):
    ref = keras_numbers()
    layer = layers.StringLookup(max_tokens=5, mask_token="")
    layer.adapt(_KERAS_DATA["words"])
    assert layer.get_vocabulary() == list(ref["str_vocab"])
    np.testing.assert_array_equal(ops.to_numpy(layer(_KERAS_DATA["queries"])), ref["str_int"])
    tfidf = layers.StringLookup(output_mode="tf_idf")
    tfidf.adapt(_KERAS_DATA["words"])
    assert tfidf.get_vocabulary() == list(ref["tfidf_vocab"])
    assert_close(ops.to_numpy(tfidf(_KERAS_DATA["queries"])), ref["tfidf_y"], "transcendental")
    config = json.loads(json.dumps(tfidf.get_config()))  # the learned vocabulary and weights live in the config
    clone = layers.StringLookup.from_config(config)
    assert_close(ops.to_numpy(clone(_KERAS_DATA["queries"])), ref["tfidf_y"], "transcendental")


def test_string_lookup_refuses_paths_hashing_unknowns_and_symbols(engine):
    with pytest.raises(ValueError, match=r"StringLookup 'sl'.*path 'vocab.txt'.*never read"):
        layers.StringLookup(vocabulary="vocab.txt", name="sl")
    with pytest.raises(ValueError, match=r"StringLookup 'sl1'.*salt.*'pepper'"):  # hashed OOV: test_text_hashing
        layers.StringLookup(num_oov_indices=2, salt="pepper", name="sl1")
    with pytest.raises(ValueError, match=r"StringLookup 'sl2'.*num_oov_indices=0.*\['zz'\]"):
        layers.StringLookup(vocabulary=["a"], num_oov_indices=0, name="sl2")(np.array(["a", "zz"]))
    with pytest.raises(ValueError, match=r"StringLookup 'sl3'.*repeated.*'a'"):
        layers.StringLookup(vocabulary=["a", "b", "a"], name="sl3")
    with pytest.raises(TypeError, match=r"StringLookup 'sl4': expected a string input .*dtype int32"):
        layers.StringLookup(vocabulary=["a"], name="sl4")(layers.Input((2,), dtype="int32"))
    with pytest.raises(TypeError, match=r"StringLookup 'sl5'.*strings.*float32"):
        layers.StringLookup(vocabulary=["a"], name="sl5")(_x((2,)))


def test_integer_lookup_checks_and_numpy_reference(engine):
    vocabulary = [3, 1, 4]
    layer = check_layer(lambda: layers.IntegerLookup(vocabulary=vocabulary), (3, 4), input_dtype="int32")
    ids = np.random.default_rng(0).integers(0, 5, (3, 4))
    table = {3: 1, 1: 2, 4: 3}
    np.testing.assert_array_equal(layer_outputs(layer, ids), np.vectorize(lambda i: table.get(i, 0))(ids))
    floormod = layers.IntegerLookup(vocabulary=[12, 36], mask_token=0, num_oov_indices=3)
    np.testing.assert_array_equal(layer_outputs(floormod, np.array([[12, 0, 7, -1, 36]])), [[4, 0, 2, 3, 5]])
    inverse = layers.IntegerLookup(vocabulary=[12, 36], mask_token=0, invert=True)
    np.testing.assert_array_equal(layer_outputs(inverse, np.array([0, 1, 2, 3, 8])), [0, -1, 12, 36, -1])
    one_hot = check_layer(lambda: layers.IntegerLookup(vocabulary=vocabulary, output_mode="one_hot"), (4,),
                          input_dtype="int32")
    np.testing.assert_array_equal(layer_outputs(one_hot, np.array([3, 4, 0, 9])), np.eye(4)[[1, 3, 0, 0]])


def test_integer_lookup_adapt_matches_keras_and_compiles(diff_engine):
    ref = keras_numbers()
    layer = layers.IntegerLookup(num_oov_indices=2, mask_token=0)
    layer.adapt(_KERAS_DATA["ids"])
    assert layer.get_vocabulary() == list(ref["int_vocab"])
    np.testing.assert_array_equal(layer_outputs(layer, _KERAS_DATA["id_queries"]), ref["int_y"])
    compiled = ops.jit(lambda x: layer(x))
    np.testing.assert_array_equal(ops.to_numpy(compiled(ops.convert_to_tensor(_KERAS_DATA["id_queries"]))),
                                  ref["int_y"])
    multi = layers.IntegerLookup(vocabulary=[7, 3, 9], output_mode="multi_hot")
    np.testing.assert_array_equal(layer_outputs(multi, _KERAS_DATA["id_queries"]), ref["int_multi"])


def test_integer_lookup_in_a_model_and_errors(engine):
    polykeras.random.set_seed(4)
    ids = layers.Input((3,), dtype="int32")
    lookup = layers.IntegerLookup(vocabulary=[10, 20, 30], output_mode="multi_hot")
    model = polykeras.Model(ids, layers.Dense(2)(lookup(ids)))
    data = np.array([[10, 30, 99], [20, 20, 10]])
    before = model.predict(data, verbose=0)
    clone = model_from_json(model.to_json())
    clone.set_weights(model.get_weights())
    assert_close(clone.predict(data, verbose=0), before, "layer")
    with pytest.raises(ValueError, match=r"IntegerLookup 'il'.*num_oov_indices=0.*\[5\]"):
        layer_outputs(layers.IntegerLookup(vocabulary=[1, 2], num_oov_indices=0, name="il"), np.array([1, 5]))
    with pytest.raises(ValueError, match=r"IntegerLookup 'il2'.*invert=True.*'one_hot'"):
        layers.IntegerLookup(invert=True, output_mode="one_hot", name="il2")
    with pytest.raises(ValueError, match=r"IntegerLookup 'il3'.*4 entries.*max_tokens=3"):
        layers.IntegerLookup(vocabulary=[1, 2, 3], max_tokens=3, name="il3")
