"""Training from a keras.utils.PyDataset subclass (batches built in
__getitem__, reshuffled by on_epoch_end)."""
import numpy as np

import keras
from keras import layers


class Batches(keras.utils.PyDataset):
    def __init__(self, x, y, batch_size, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.batch_size = x, y, batch_size
        self.epochs_seen = 0

    def __len__(self):
        return int(np.ceil(len(self.x) / self.batch_size))

    def __getitem__(self, index):
        part = slice(index * self.batch_size, (index + 1) * self.batch_size)
        return self.x[part], self.y[part]

    def on_epoch_end(self):
        self.epochs_seen += 1


rng = np.random.default_rng(9)
x = rng.normal(size=(50, 4)).astype("float32")
y = (x.sum(axis=1, keepdims=True) > 0).astype("float32")
model = keras.Sequential([keras.Input((4,)), layers.Dense(6, activation="relu"), layers.Dense(1, activation="sigmoid")])
model.set_weights([rng.normal(0, 0.4, w.shape).astype("float32") for w in model.get_weights()])
model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy", metrics=["accuracy"])
data = Batches(x, y, batch_size=16)
history = model.fit(data, epochs=3, shuffle=False, verbose=0)
result = {"loss": history.history["loss"], "batches": len(data), "epochs_seen": data.epochs_seen,
          "eval": model.evaluate(Batches(x, y, batch_size=25), verbose=0),
          "prediction": model.predict(Batches(x[:5], y[:5], batch_size=5), verbose=0)}
tolerances = {"eval": "model"}
