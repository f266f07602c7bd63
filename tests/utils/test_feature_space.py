"""``polykeras.utils.FeatureSpace`` against Keras 3's on the same data and
engine: every feature kind, crosses, both output modes, single examples, the
config round trip, and the errors."""

from __future__ import annotations

import numpy as np
import pytest

import polykeras
from polykeras import ops
from polykeras.utils import FeatureSpace

from layers.helpers import run_keras  # tests/ is on sys.path (no __init__.py)


def _data(n: int = 60) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    return {"age": rng.uniform(20, 70, n).astype("float32"), "city": rng.choice(["lyon", "oslo", "kyiv"], n),
            "zone": rng.integers(0, 5, n).astype("int32"), "tag": rng.choice(["x", "y", "z", "w"], n),
            "score": rng.normal(size=n).astype("float32"), "raw": rng.normal(size=n).astype("float32"),
            "code": rng.integers(0, 100, n).astype("int32")}


def _space(keras, output_mode: str):
    fs = keras.utils.FeatureSpace
    return fs({"age": "float_normalized", "city": "string_categorical", "zone": "integer_categorical",
               "tag": "string_hashed", "score": fs.float_discretized(num_bins=4),
               "raw": fs.float_rescaled(scale=0.5, offset=1.0), "code": "integer_hashed"},
              crosses=[("city", "zone")], crossing_dim=8, hashing_dim=6, output_mode=output_mode)


KERAS_CODE = """
import numpy as np
fs = keras.utils.FeatureSpace
space = fs({"age": "float_normalized", "city": "string_categorical", "zone": "integer_categorical",
            "tag": "string_hashed", "score": fs.float_discretized(num_bins=4),
            "raw": fs.float_rescaled(scale=0.5, offset=1.0), "code": "integer_hashed"},
           crosses=[("city", "zone")], crossing_dim=8, hashing_dim=6, output_mode="concat")
columns = {k: data[k] for k in ("age", "city", "zone", "tag", "score", "raw", "code")}
space.adapt(columns)
out["concat"] = np.asarray(keras.ops.convert_to_numpy(space({k: v[:10] for k, v in columns.items()})))
out["single"] = np.asarray(keras.ops.convert_to_numpy(space({k: v[0] for k, v in columns.items()})))
"""


def test_matches_keras(engine):
    data = _data()
    space = _space(polykeras, "concat")
    space.adapt(data)
    ours = ops.to_numpy(space({k: v[:10] for k, v in data.items()}))
    single = ops.to_numpy(space({k: v[0] for k, v in data.items()}))
    theirs = run_keras(KERAS_CODE, data, backend=engine.name)
    assert ours.shape == theirs["concat"].shape == (10, 1 + 4 + 6 + 1 + 4 + 6 + 6 + 8)
    np.testing.assert_allclose(ours, theirs["concat"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(single, theirs["single"], rtol=1e-5, atol=1e-5)


def test_dict_mode_and_tf_data(engine):
    import tensorflow as tf

    data = _data()
    space = _space(polykeras, "dict")
    space.adapt(tf.data.Dataset.from_tensor_slices(data).batch(7))  # batches gathered whole
    concat = _space(polykeras, "concat")
    concat.adapt(data)
    encoded = space({k: v[:5] for k, v in data.items()})
    assert list(encoded) == ["age", "city", "code", "raw", "score", "tag", "zone", "city_X_zone"]
    assert ops.shape(encoded["city"]) == (5, 4) and ops.shape(encoded["city_X_zone"]) == (5, 8)
    joined = np.concatenate([ops.to_numpy(v) for v in encoded.values()], axis=-1)
    np.testing.assert_allclose(joined, ops.to_numpy(concat({k: v[:5] for k, v in data.items()})), rtol=1e-6)


def test_config_round_trip_and_symbolic_inputs(engine):
    data = _data()
    numeric = FeatureSpace({"age": "float_rescaled", "zone": FeatureSpace.integer_categorical(output_mode="int")},
                           output_mode="dict")
    numeric.adapt(data)
    clone = FeatureSpace.from_config(numeric.get_config())
    assert clone.get_config() == numeric.get_config()
    inputs = numeric.get_inputs()
    assert sorted(inputs) == ["age", "zone"] and inputs["zone"].dtype == "int32"
    encoded = numeric.get_encoded_features()
    model = polykeras.Model(inputs, encoded["age"])
    np.testing.assert_allclose(ops.to_numpy(model({"age": data["age"][:3, None], "zone": data["zone"][:3, None]})),
                               data["age"][:3, None], rtol=1e-6)


def test_errors(engine):
    with pytest.raises(ValueError, match="expected a non-empty dict of features"):
        FeatureSpace({})
    with pytest.raises(ValueError, match="expected output_mode 'dict' or 'concat', received 'stack'"):
        FeatureSpace({"a": "float"}, output_mode="stack")
    with pytest.raises(ValueError, match="feature 'a': expected a Feature or one of .*received 'floaty'"):
        FeatureSpace({"a": "floaty"})
    with pytest.raises(ValueError, match=r"cross \('a', 'b'\) names unknown \['b'\]"):
        FeatureSpace({"a": "integer_categorical"}, crosses=[("a", "b")])
    space = FeatureSpace({"a": "float_normalized", "s": "string_categorical"})
    with pytest.raises(ValueError, match="call .adapt\\(data\\) before using it"):
        space({"a": np.ones(2), "s": np.array(["u", "v"])})
    with pytest.raises(ValueError, match="expected a dict of arrays/lists or a tf.data.Dataset of dicts"):
        space.adapt(np.ones(3))
    space.adapt({"a": np.ones(3), "s": np.array(["u", "v", "u"])})
    with pytest.raises(ValueError, match=r"missing \['s'\]"):
        space({"a": np.ones(2)})
    assert space.get_inputs()["s"].dtype == "string"  # string features have symbolic inputs
    ints = FeatureSpace({"z": FeatureSpace.integer_categorical(output_mode="int")})
    ints.adapt({"z": np.arange(3)})
    with pytest.raises(ValueError, match="cannot concatenate feature 'z': it is not encoded"):
        ints({"z": np.arange(2)})
