"""Windows of a series with keras.utils.timeseries_dataset_from_array, fed to
a small recurrent forecaster."""
import numpy as np

import keras
from keras import layers

series = np.sin(np.arange(120, dtype="float32") / 6.0)[:, None]
window = 8
dataset = keras.utils.timeseries_dataset_from_array(series[:-window], series[window:, 0], sequence_length=window,
                                                    batch_size=16, shuffle=False)
first_x, first_y = next(iter(dataset))
model = keras.Sequential([keras.Input((window, 1)), layers.SimpleRNN(6), layers.Dense(1)])
rng = np.random.default_rng(10)
model.set_weights([rng.normal(0, 0.3, w.shape).astype("float32") for w in model.get_weights()])
model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
history = model.fit(dataset, epochs=2, verbose=0)
result = {"batches": sum(1 for _ in dataset), "first_x": np.asarray(first_x), "first_y": np.asarray(first_y),
          "loss": history.history["loss"], "prediction": model.predict(np.asarray(first_x)[:2], verbose=0)}
