"""A subclassed model built from layers, called on data, summarised, trained
with fit and evaluate, and run eagerly through __call__."""
import numpy as np

import keras
from keras import layers, ops


class ResidualMLP(keras.Model):
    def __init__(self, hidden, outputs, **kwargs):
        super().__init__(**kwargs)
        self.inner = layers.Dense(hidden, activation="gelu")
        self.skip = layers.Dense(hidden)
        self.norm = layers.LayerNormalization()
        self.out = layers.Dense(outputs)

    def call(self, inputs, training=False):
        h = self.norm(self.inner(inputs) + self.skip(inputs))
        return self.out(ops.relu(h))


rng = np.random.default_rng(11)
model = ResidualMLP(8, 3)
x = rng.normal(size=(40, 5)).astype("float32")
y = rng.integers(0, 3, size=(40,))
model(x[:2])
model.set_weights([rng.normal(0, 0.3, w.shape).astype("float32") if "gamma" not in w.name
                   else np.ones(w.shape, "float32")
                   for w in model.weights])
model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=[keras.metrics.SparseCategoricalAccuracy()])
history = model.fit(x, y, epochs=3, batch_size=10, shuffle=False, verbose=0)
result = {"loss": history.history["loss"], "weights": len(model.weights), "trainable": len(model.trainable_weights),
          "call": ops.convert_to_numpy(model(x[:2])), "eval": model.evaluate(x, y, verbose=0)}
tolerances = {"eval": 0.03}
