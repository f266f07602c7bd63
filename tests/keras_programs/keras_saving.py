"""Saving and loading: a whole model in .keras (compiled, trained), weights in
.weights.h5, and the architecture as JSON."""
import os
import tempfile

import numpy as np

import keras
from keras import layers

rng = np.random.default_rng(7)
model = keras.Sequential([keras.Input((6,)), layers.Dense(5, activation="relu"), layers.Dropout(0.0),
                          layers.Dense(2)], name="saved")
model.set_weights([rng.normal(0, 0.3, w.shape).astype("float32") for w in model.get_weights()])
model.compile(optimizer="adam", loss="mse", metrics=["mae"])
x = rng.normal(size=(32, 6)).astype("float32")
y = rng.normal(size=(32, 2)).astype("float32")
model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)

folder = tempfile.mkdtemp()
model.save(os.path.join(folder, "model.keras"))
model.save_weights(os.path.join(folder, "model.weights.h5"))
restored = keras.models.load_model(os.path.join(folder, "model.keras"))
restored_prediction = restored.predict(x[:3], verbose=0)
restored_history = restored.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
twin = keras.models.model_from_json(model.to_json())
twin.load_weights(os.path.join(folder, "model.weights.h5"))

result = {"prediction": model.predict(x[:3], verbose=0), "restored": restored_prediction,
          "twin": twin.predict(x[:3], verbose=0),
          "resumed_loss": restored_history.history["loss"], "name": restored.name,
          "optimizer": type(restored.optimizer).__name__}
