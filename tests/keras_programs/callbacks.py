"""Callbacks: EarlyStopping, ModelCheckpoint, ReduceLROnPlateau, CSVLogger,
LambdaCallback and a custom Callback seeing every hook."""
import os
import tempfile

import numpy as np

import keras
from keras import layers


class Recorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.events = []

    def on_train_begin(self, logs=None):
        self.events.append("train_begin")

    def on_epoch_end(self, epoch, logs=None):
        self.events.append(f"epoch_end {epoch}")

    def on_test_begin(self, logs=None):
        self.events.append("test_begin")

    def on_test_end(self, logs=None):
        self.events.append("test_end")

    def on_train_end(self, logs=None):
        self.events.append("train_end")


rng = np.random.default_rng(6)
model = keras.Sequential([keras.Input((3,)), layers.Dense(4, activation="relu"), layers.Dense(1)])
model.set_weights([rng.normal(0, 0.5, w.shape).astype("float32") for w in model.get_weights()])
model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
x = rng.normal(size=(40, 3)).astype("float32")
y = (x @ np.array([[1.0], [-2.0], [0.5]], "float32")).astype("float32")
folder = tempfile.mkdtemp()
recorder = Recorder()
seen_lr = []
history = model.fit(
    x, y, epochs=30, batch_size=10, shuffle=False, verbose=0, validation_data=(x[:10], y[:10]),
    callbacks=[
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, min_delta=1e-3, restore_best_weights=True),
        keras.callbacks.ModelCheckpoint(os.path.join(folder, "best.keras"), monitor="val_loss", save_best_only=True),
        keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=0.05),
        keras.callbacks.CSVLogger(os.path.join(folder, "log.csv")),
        keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen_lr.append(
            float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)))),
        recorder,
    ],
)
best = keras.saving.load_model(os.path.join(folder, "best.keras"))
with open(os.path.join(folder, "log.csv")) as f:
    csv_rows = len(f.read().strip().splitlines())

result = {"epochs": len(history.history["loss"]), "loss": history.history["loss"],
          "val_loss": history.history["val_loss"], "learning_rates": seen_lr, "events": recorder.events,
          "csv_rows": csv_rows, "best": best.predict(x[:2], verbose=0), "restored": model.predict(x[:2], verbose=0)}
