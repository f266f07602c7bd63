"""Text and hashing preprocessing against Keras 3 (which computes them with
TensorFlow's string ops): the string hashes themselves (FarmHash
Fingerprint64, SipHash-2-4, cross_hashed's folding) on random strings of
every length branch, ``Hashing``, ``HashedCrossing``, the hashed OOV buckets
of ``StringLookup``/``IntegerLookup`` and ``TextVectorization`` (vocabulary
from adapt, tokens, ngrams, every output mode), on every engine; configs
round trip; bad inputs name the layer."""

from __future__ import annotations

import json
import os
import sys
import tempfile

import numpy as np
import pytest

import polykeras as pk
from polykeras import layers, ops
from polykeras.layers.preprocessing.string_hash import fingerprint64, hash_bucket, siphash24, to_bytes
from polykeras.registry import register_serializable

from .helpers import run_keras
from .keras_reference import import_keras  # also selects Keras' NumPy backend for in-process runs


def _random_strings(count: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    alphabet = list("abcXYZ019 ,.!-'\t") + ["é", "ß", "漢", "字", "😀", "\u00a0"]
    strings = ["".join(rng.choice(alphabet, size=int(n))) for n in rng.integers(0, 160, count)]
    return [""] + strings + ["x" * n for n in range(0, 140)]  # every length branch of Fingerprint64


TEXTS = ["The cat sat on the mat.", "THE DOG! ate: the cat's food", "École  Straße\u00a0x\tY\nz", "",
         "a b c a b a", "hello,world--foo", "dog dog dog cat"]
QUERIES = ["the cat ate the dog", "unknown words here", "", "École dog", "a b"]
TEXT_CASES: dict[str, dict] = {
    "default": {},
    "max_tokens": {"max_tokens": 6},
    "lower": {"standardize": "lower"},
    "strip": {"standardize": "strip_punctuation"},
    "no_split": {"standardize": None, "split": None},
    "character": {"split": "character", "max_tokens": 10},
    "bigrams": {"ngrams": 2},
    "ngrams_1_3": {"ngrams": (1, 3)},
    "sequence": {"output_sequence_length": 4},
    "sequence_bigrams": {"output_sequence_length": 9, "ngrams": 2},
    "multi_hot": {"output_mode": "multi_hot"},
    "count_padded": {"output_mode": "count", "max_tokens": 8, "pad_to_max_tokens": True},
    "tf_idf": {"output_mode": "tf_idf"},
    "tf_idf_bigrams": {"output_mode": "tf_idf", "ngrams": 2, "max_tokens": 12},
    "no_split_multi_hot": {"split": None, "output_mode": "multi_hot"},
    "no_split_bigrams": {"split": None, "ngrams": 2},
    "no_split_sequence": {"split": None, "output_sequence_length": 3},
    "character_bigrams": {"split": "character", "ngrams": (2,)},
    "sequence_of_one": {"output_sequence_length": 1},
}
HASH_CASES: dict[str, dict] = {
    "plain": {"num_bins": 7},
    "mask": {"num_bins": 5, "mask_value": "b"},
    "salt_pair": {"num_bins": 9, "salt": [133, 137]},
    "salt_int": {"num_bins": 4, "salt": 133},
    "multi_hot": {"num_bins": 6, "output_mode": "multi_hot"},
    "count": {"num_bins": 6, "output_mode": "count", "salt": 5},
    "one_hot": {"num_bins": 4, "output_mode": "one_hot"},
}
LOOKUP_CASES: dict[str, dict] = {
    "str_3": {"num_oov_indices": 3},
    "str_mask": {"num_oov_indices": 4, "mask_token": ""},
    "str_salt": {"num_oov_indices": 5, "salt": [1, 2]},
    "str_count": {"num_oov_indices": 3, "salt": 7, "output_mode": "count"},
    "int_floormod": {"num_oov_indices": 3},
    "int_farmhash": {"num_oov_indices": 3, "oov_method": "farmhash"},
    "int_salt": {"num_oov_indices": 3, "oov_method": "farmhash", "salt": 5, "mask_token": 0},
}
_DATA = {
    "strings": np.array(_random_strings(1500, 0)),
    "ints": np.random.default_rng(1).integers(-2**62, 2**62, 500),
    "words": np.array([["a"], ["b"], ["zz"], ["é"], [""], ["quux"]]),
    "ids": np.array([[7, 11, 0, -2], [4, 3, 9, 1009]]),
    "floats": np.array([[1.7, -2.2, 3.0]], "float32"),
    "cross_a": np.random.default_rng(2).integers(-1000, 1000, (20, 1)),
    "cross_b": np.array([[s] for s in np.random.default_rng(3).choice(["x", "yy", "é", "", "hello world"], 20)]),
    "file_x": np.array([[7, 2, 9], [5, 6, 1]], "int32"),
    "lookup_words": np.array([["a", "zz", "", "e", "é", "quux"], ["d", "d", "c", "b", "x", "y"]]),
}

_KERAS_CODE = """
import tensorflow as tf
spec = json.loads(spec)
strings = [str(s) for s in data["strings"]]
big = 2**62 + 13
out["fast"] = tf.strings.to_hash_bucket_fast(strings, big).numpy()
out["strong"] = tf.strings.to_hash_bucket_strong(strings, big, key=[133, 2**63 - 1]).numpy()
out["int_fast"] = tf.strings.to_hash_bucket_fast(tf.strings.as_string(data["ints"]), 97).numpy()
L = keras.layers
words = [[str(w) for w in row] for row in data["words"]]
for name, kwargs in spec["hash"].items():
    out["hash_" + name] = np.asarray(L.Hashing(**kwargs)(words))
    if "mask_value" not in kwargs:
        out["hash_ids_" + name] = np.asarray(L.Hashing(**kwargs)(data["ids"]))
out["hash_ids_mask"] = np.asarray(L.Hashing(num_bins=5, mask_value=3)(data["ids"]))
out["hash_floats"] = np.asarray(L.Hashing(num_bins=11)(data["floats"]))
cross_b = [[str(w) for w in row] for row in data["cross_b"]]
cross_a = data["cross_a"].tolist()
out["cross_int"] = np.asarray(L.HashedCrossing(num_bins=13)([cross_a, cross_b]))
out["cross_three"] = np.asarray(L.HashedCrossing(num_bins=1000)([cross_b, cross_a, cross_b]))
out["cross_one_hot"] = np.asarray(L.HashedCrossing(num_bins=5, output_mode="one_hot")(
    [data["cross_a"][:, 0], data["cross_a"][:, 0] * 3]))
lookup_words = [[str(w) for w in row] for row in data["lookup_words"]]
for name, kwargs in spec["lookup"].items():
    if name.startswith("str"):
        layer = L.StringLookup(vocabulary=["a", "b", "c"], **kwargs)
        out["lookup_" + name] = np.asarray(layer(lookup_words))
    else:
        out["lookup_" + name] = np.asarray(L.IntegerLookup(vocabulary=[7, 3, 9], **kwargs)(data["ids"]))
inp = keras.Input((3,), dtype="int32")
ids = L.IntegerLookup(output_mode="multi_hot", name="ids")
ids.adapt(np.array([[7, 3, 7], [9, 7, 1]]))
twice = L.IntegerLookup(num_oov_indices=2, name="twice")
twice.adapt(np.array([[5, 5, 6]]))
hashed = keras.ops.cast(L.Hashing(5, salt=3)(inp), "float32")
model = keras.Model(inp, L.Concatenate()([ids(inp), hashed, keras.ops.cast(twice(inp), "float32")]))
model.save(spec["keras_file"])
out["file_y"] = np.asarray(model(data["file_x"]))
def strip_a(x):
    return np.char.replace(x, "a", "")
spec["text"]["callable"] = {"standardize": strip_a}
for name, kwargs in spec["text"].items():
    if isinstance(kwargs.get("ngrams"), list):
        kwargs["ngrams"] = tuple(kwargs["ngrams"])
    layer = L.TextVectorization(**kwargs)
    layer.adapt(spec["texts"])
    out["text_vocab_" + name] = [str(t) for t in layer.get_vocabulary()]
    out["text_" + name] = np.asarray(layer(spec["queries"]))
    if kwargs.get("split", "") is None:
        out["text_column_" + name] = np.asarray(layer([[q] for q in spec["queries"]]))
"""
_KERAS_OUT: dict = {}
KERAS_FILE = os.path.join(tempfile.mkdtemp(prefix="polykeras_text_hashing_"), "lookups.keras")


def keras_numbers() -> dict:
    """Keras 3's (and TensorFlow's) numbers for the cases above, computed once."""
    if not _KERAS_OUT:
        spec = json.dumps({"keras_file": KERAS_FILE, "hash": HASH_CASES, "lookup": LOOKUP_CASES, "text": TEXT_CASES,
                           "texts": TEXTS, "queries": QUERIES})
        code = f"import json\nspec = {spec!r}\n{_KERAS_CODE}"
        keras = sys.modules.get("keras")
        if keras is None or keras.backend.backend() == "numpy":
            pytest.importorskip("tensorflow")
            keras = import_keras()
            out: dict = {}
            exec(compile(code, "keras_text_hashing", "exec"), {"keras": keras, "np": np, "data": _DATA, "out": out})
        else:
            out = run_keras(code, _DATA, backend="numpy")
        _KERAS_OUT.update(out)
    return _KERAS_OUT


def _np(x):
    return np.asarray(ops.to_numpy(x))


def _int64() -> str:
    """The engine's int64 (JAX without x64 keeps int32)."""
    return ops.dtype(ops.convert_to_tensor(np.zeros(1, np.int64), "int64"))


# ------------------------------------------------------------------- hashes
def test_string_hashes_match_tensorflow():
    ref = keras_numbers()
    strings = [str(s) for s in _DATA["strings"]]
    big = 2**62 + 13
    np.testing.assert_array_equal(hash_bucket(strings, big), ref["fast"])
    np.testing.assert_array_equal(hash_bucket(strings, big, (133, 2**63 - 1)), ref["strong"])
    np.testing.assert_array_equal(hash_bucket(_DATA["ints"].tolist(), 97), ref["int_fast"])


def test_string_hashes_known_values():
    # FarmHash's empty-string fingerprint is its constant k2; SipHash-2-4's reference vector (key 00..0f,
    # message 00..0e) from the SipHash paper.
    assert int(fingerprint64([b""])[0]) == 0x9AE16A3B2F90404F
    key = (int.from_bytes(bytes(range(8)), "little"), int.from_bytes(bytes(range(8, 16)), "little"))
    assert int(siphash24([bytes(range(15))], key)[0]) == 0xA129CA6149BE45E5
    assert to_bytes(["é", b"x", 12, -3]) == [b"\xc3\xa9", b"x", b"12", b"-3"]


# ------------------------------------------------------------------ Hashing
def test_hashing_known_values(engine):
    inputs = [["A"], ["B"], ["C"], ["D"], ["E"]]  # Keras' docstring examples
    assert _np(layers.Hashing(num_bins=3)(inputs)).ravel().tolist() == [1, 0, 1, 1, 2]
    assert _np(layers.Hashing(num_bins=3, mask_value="")([["A"], ["B"], [""], ["C"], ["D"]])).ravel().tolist() == \
        [1, 1, 0, 2, 2]
    assert _np(layers.Hashing(num_bins=3, salt=[133, 137])(inputs)).ravel().tolist() == [1, 2, 1, 0, 2]
    assert _np(layers.Hashing(num_bins=3, salt=133)(inputs)).ravel().tolist() == [0, 0, 2, 1, 0]


@pytest.mark.parametrize("case", sorted(HASH_CASES))
def test_hashing_matches_keras(engine, case):
    ref = keras_numbers()
    kwargs = HASH_CASES[case]
    words = _DATA["words"]
    out = layers.Hashing(**kwargs)(words)
    assert ops.dtype(out) == (_int64() if kwargs.get("output_mode", "int") == "int" else "float32")
    np.testing.assert_array_equal(_np(out), ref["hash_" + case])
    id_kwargs = {**kwargs, "mask_value": 3} if "mask_value" in kwargs else kwargs
    np.testing.assert_array_equal(_np(layers.Hashing(**id_kwargs)(ops.convert_to_tensor(_DATA["ids"]))),
                                  ref["hash_ids_" + case])
    layer = layers.Hashing(**kwargs)
    clone = layers.Hashing.from_config(json.loads(json.dumps(layer.get_config())))
    assert clone.get_config() == layer.get_config()
    np.testing.assert_array_equal(_np(clone(np.char.encode(words, "utf-8"))), ref["hash_" + case])


def test_hashing_floats_bytes_and_a_model(engine):
    ref = keras_numbers()
    np.testing.assert_array_equal(_np(layers.Hashing(num_bins=11)(_DATA["floats"])), ref["hash_floats"])
    inputs = pk.Input((4,), dtype="int32")
    outputs = layers.Hashing(num_bins=6, output_mode="count", salt=5)(inputs)
    assert tuple(outputs.shape) == (None, 6)
    model = pk.Model(inputs, outputs)
    np.testing.assert_array_equal(_np(model(_DATA["ids"].astype("int32"))), ref["hash_ids_count"])


def test_hashing_errors(engine):
    with pytest.raises(ValueError, match=r"Hashing 'h'.*num_bins.*0"):
        layers.Hashing(num_bins=0, name="h")
    with pytest.raises(ValueError, match=r"Hashing 'h'.*salt.*'pepper'"):
        layers.Hashing(num_bins=3, salt="pepper", name="h")
    with pytest.raises(ValueError, match=r"Hashing 'h'.*output_mode.*'tf_idf'"):
        layers.Hashing(num_bins=3, output_mode="tf_idf", name="h")
    with pytest.raises(ValueError, match=r"Hashing 'h'.*integer dtype.*float32"):
        layers.Hashing(num_bins=3, dtype="float32", name="h")
    with pytest.raises(ValueError, match=r"Hashing 'h'.*sparse"):
        layers.Hashing(num_bins=3, output_mode="count", sparse=True, name="h")
    with pytest.raises(TypeError, match=r"Hashing 'h'.*strings or integers.*bool"):
        layers.Hashing(num_bins=3, name="h")(np.array([True, False]))


# ----------------------------------------------------------- HashedCrossing
def test_hashed_crossing_matches_keras(engine):
    ref = keras_numbers()
    a, b = _DATA["cross_a"], _DATA["cross_b"]
    out = layers.HashedCrossing(num_bins=13)([ops.convert_to_tensor(a), b])
    assert ops.dtype(out) == _int64()
    np.testing.assert_array_equal(_np(out), ref["cross_int"])
    np.testing.assert_array_equal(_np(layers.HashedCrossing(num_bins=1000)([b, a, b])), ref["cross_three"])
    layer = layers.HashedCrossing(num_bins=5, output_mode="one_hot")
    np.testing.assert_array_equal(_np(layer([a[:, 0], a[:, 0] * 3])), ref["cross_one_hot"])
    clone = layers.HashedCrossing.from_config(json.loads(json.dumps(layer.get_config())))
    assert clone.get_config() == layer.get_config()
    x, y = pk.Input((1,), dtype="int32"), pk.Input((1,), dtype="int32")
    assert tuple(layers.HashedCrossing(num_bins=5, output_mode="one_hot")([x, y]).shape) == (None, 5)
    assert _np(layers.HashedCrossing(num_bins=4)([np.array(3), np.array("a")])).shape == ()


def test_hashed_crossing_errors(engine):
    with pytest.raises(ValueError, match=r"HashedCrossing 'c'.*at least two inputs"):
        layers.HashedCrossing(num_bins=3, name="c")(np.array([1, 2]))
    with pytest.raises(ValueError, match=r"HashedCrossing 'c'.*one shape.*\(2,\).*\(3,\)"):
        layers.HashedCrossing(num_bins=3, name="c")([np.array([1, 2]), np.array([1, 2, 3])])
    with pytest.raises(ValueError, match=r"HashedCrossing 'c'.*\(batch_size, 1\).*\(2, 2\)"):
        layers.HashedCrossing(num_bins=3, name="c")([np.ones((2, 2), int), np.ones((2, 2), int)])
    with pytest.raises(ValueError, match=r"HashedCrossing 'c'.*output_mode.*'count'"):
        layers.HashedCrossing(num_bins=3, output_mode="count", name="c")


def test_keras_file_with_adapted_lookups_and_hashing(engine):
    """Keras writes an adapted lookup's vocabulary as an asset of the layer
    (its config says vocabulary=None); loading puts it back in the config."""
    ref = keras_numbers()
    model = pk.saving.load_model(KERAS_FILE)
    np.testing.assert_array_equal(_np(model(_DATA["file_x"])), ref["file_y"])
    assert model.get_layer("ids").get_vocabulary() == [-1, 7, 9, 3, 1]


def test_keras_reads_a_file_with_hashing_layers_written_here(engine, tmp_path):
    inputs = pk.Input((3,), dtype="int32")
    lookup = layers.IntegerLookup(output_mode="multi_hot", name="ids")
    lookup.adapt(np.array([[7, 3, 7], [9, 7, 1]]))
    hashed = ops.cast(layers.Hashing(5, salt=3, name="h")(inputs), "float32")
    crossed = ops.cast(layers.HashedCrossing(7, name="hc")([inputs[:, :1], inputs[:, 1:2]]), "float32")
    model = pk.Model(inputs, layers.Concatenate()([lookup(inputs), hashed, crossed]))
    path = str(tmp_path / "hashing.keras")
    model.save(path)
    code = "out['y'] = np.asarray(keras.saving.load_model(data['path'].item())(data['x']))"
    data = {"path": np.array(path), "x": _DATA["file_x"]}
    keras = sys.modules.get("keras")
    if keras is None or keras.backend.backend() == "numpy":
        out: dict = {}
        exec(code, {"keras": import_keras(), "np": np, "data": data, "out": out})
    else:
        out = run_keras(code, data, backend="numpy")
    np.testing.assert_array_equal(_np(model(_DATA["file_x"])), out["y"])


# ------------------------------------------------------------ lookups' OOV
@pytest.mark.parametrize("case", sorted(LOOKUP_CASES))
def test_hashed_oov_buckets_match_keras(engine, case):
    ref = keras_numbers()
    kwargs = LOOKUP_CASES[case]
    if case.startswith("str"):
        layer = layers.StringLookup(vocabulary=["a", "b", "c"], **kwargs)
        out = layer(_DATA["lookup_words"])
    else:
        layer = layers.IntegerLookup(vocabulary=[7, 3, 9], **kwargs)
        out = layer(ops.convert_to_tensor(_DATA["ids"]))
    np.testing.assert_array_equal(_np(out), ref["lookup_" + case])
    clone = type(layer).from_config(json.loads(json.dumps(layer.get_config())))
    assert clone.get_config()["salt"] == layer.get_config()["salt"]


def test_hashed_oov_errors(engine):
    with pytest.raises(ValueError, match=r"IntegerLookup 'i'.*salt.*oov_method='floormod'"):
        layers.IntegerLookup(num_oov_indices=2, salt=3, name="i")
    with pytest.raises(ValueError, match=r"StringLookup 's'.*salt.*\[1, 2, 3\]"):
        layers.StringLookup(num_oov_indices=2, salt=[1, 2, 3], name="s")


# -------------------------------------------------------- TextVectorization
def _strip_a(x):
    return np.char.replace(x, "a", "")


register_serializable("text_tests")(_strip_a)
TEXT_CASES_HERE = {**TEXT_CASES, "callable": {"standardize": _strip_a}}


@pytest.mark.parametrize("case", sorted(TEXT_CASES_HERE))
def test_text_vectorization_matches_keras(engine, case):
    ref = keras_numbers()
    kwargs = TEXT_CASES_HERE[case]
    layer = layers.TextVectorization(**kwargs)
    layer.adapt(TEXTS)
    assert layer.get_vocabulary() == ref["text_vocab_" + case]
    out = layer(QUERIES)
    expected = ref["text_" + case]
    assert tuple(ops.shape(out)) == expected.shape
    np.testing.assert_allclose(_np(out), expected, rtol=1e-6, atol=1e-6)
    if "text_column_" + case in ref:
        np.testing.assert_array_equal(_np(layer([[q] for q in QUERIES])), ref["text_column_" + case])
    # the config carries the learned vocabulary (and IDF weights): a clone gives the same numbers
    config = json.loads(json.dumps(layer.get_config()))
    clone = layers.TextVectorization.from_config(config)
    assert clone.get_vocabulary() == layer.get_vocabulary()
    np.testing.assert_allclose(_np(clone(np.char.encode(np.array(QUERIES), "utf-8"))), expected, rtol=1e-6, atol=1e-6)


def test_text_vectorization_vocabulary_batches_and_callable_split(engine):
    layer = layers.TextVectorization(vocabulary=["the", "cat"], output_sequence_length=3)
    assert layer.get_vocabulary() == ["", "[UNK]", "the", "cat"] and layer.vocabulary_size() == 4
    np.testing.assert_array_equal(_np(layer(["The dog"])),
                                  [[2, 1, 0]])
    batched = layers.TextVectorization()
    batched.adapt(iter([TEXTS[:3], TEXTS[3:]]))
    whole = layers.TextVectorization()
    whole.adapt(TEXTS, batch_size=2)
    assert batched.get_vocabulary() == whole.get_vocabulary()
    split = layers.TextVectorization(split=lambda strings: [s.split("-") for s in strings.tolist()],
                                     standardize=None, vocabulary=["x", "y"])
    np.testing.assert_array_equal(_np(split(["x-y-z", "y"])), [[2, 3, 1], [3, 0, 0]])


def test_text_vectorization_errors(engine):
    with pytest.raises(ValueError, match=r"TextVectorization 't'.*standardize.*'upper'"):
        layers.TextVectorization(standardize="upper", name="t")
    with pytest.raises(ValueError, match=r"TextVectorization 't'.*split.*'comma'"):
        layers.TextVectorization(split="comma", name="t")
    with pytest.raises(ValueError, match=r"TextVectorization 't'.*output_sequence_length.*multi_hot"):
        layers.TextVectorization(output_mode="multi_hot", output_sequence_length=3, name="t")
    with pytest.raises(ValueError, match=r"TextVectorization 't'.*ngrams.*'2'"):
        layers.TextVectorization(ngrams="2", name="t")
    with pytest.raises(ValueError, match=r"TextVectorization 't'.*ragged"):
        layers.TextVectorization(ragged=True, name="t")
    with pytest.raises(ValueError, match=r"TextVectorization 't'.*no vocabulary"):
        layers.TextVectorization(name="t")(["a"])
    with pytest.raises(ValueError, match=r"TextVectorization 't'.*\(2, 2\)"):
        layers.TextVectorization(vocabulary=["a"], name="t")([["a", "b"], ["c", "d"]])
    with pytest.raises(TypeError, match=r"TextVectorization 't'.*strings.*float32"):
        layers.TextVectorization(vocabulary=["a"], name="t")(np.ones(2, "float32"))
    with pytest.raises(TypeError, match=r"TextVectorization 't': expected a string input .*dtype float32"):
        layers.TextVectorization(vocabulary=["a"], name="t")(pk.Input((1,)))
