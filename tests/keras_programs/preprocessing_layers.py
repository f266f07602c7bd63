"""Preprocessing layers adapted to data: Normalization, Discretization,
CategoryEncoding, IntegerLookup, Rescaling, inside a model."""
import numpy as np

import keras
from keras import layers

rng = np.random.default_rng(8)
numeric = rng.normal(3.0, 2.0, size=(100, 3)).astype("float32")
codes = rng.integers(0, 5, size=(100, 1))

normalizer = layers.Normalization()
normalizer.adapt(numeric)
discretizer = layers.Discretization(num_bins=4)
discretizer.adapt(numeric[:, :1])
lookup = layers.IntegerLookup(vocabulary=[0, 1, 2, 3, 4], output_mode="one_hot")

numeric_in = keras.Input((3,), name="numeric")
code_in = keras.Input((1,), dtype="int64", name="code")
features = layers.concatenate([normalizer(numeric_in), lookup(code_in), layers.Rescaling(0.1)(numeric_in)])
model = keras.Model([numeric_in, code_in], layers.Dense(1)(features))
model.set_weights([w if w.ndim == 0 or i < 3 else rng.normal(0, 0.3, w.shape).astype("float32")
                   for i, w in enumerate(model.get_weights())])

result = {"mean": np.asarray(normalizer.mean), "variance": np.asarray(normalizer.variance),
          "bins": discretizer(numeric[:5, :1]), "onehot": lookup(codes[:3]),
          "encoded": layers.CategoryEncoding(num_tokens=5, output_mode="multi_hot")(np.array([[0, 1], [4, 4]])),
          "prediction": model.predict({"numeric": numeric[:4], "code": codes[:4]}, verbose=0)}
