"""An MLP on scikit-learn's digits: to_categorical, Sequential, validation_split, evaluate."""
import numpy as np
from sklearn.datasets import load_digits

import keras
from keras import layers

keras.utils.set_random_seed(0)
digits = load_digits()
x = (digits.data / 16.0).astype("float32")
y = keras.utils.to_categorical(digits.target, num_classes=10)
x_train, y_train, x_test, y_test = x[:1400], y[:1400], x[1400:], y[1400:]

model = keras.Sequential([
    keras.Input(shape=(64,)),
    layers.Dense(32, activation="relu"),
    layers.Dense(10, activation="softmax"),
])
rng = np.random.default_rng(0)
model.set_weights([rng.normal(0, 0.2, w.shape).astype("float32") for w in model.get_weights()])
model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
history = model.fit(x_train, y_train, batch_size=64, epochs=3, validation_split=0.1, shuffle=False, verbose=0)
test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0)

result = {"loss": history.history["loss"], "val_loss": history.history["val_loss"],
          "test_loss": test_loss, "test_accuracy": test_accuracy,
          "prediction": model.predict(x_test[:4], verbose=0)}
tolerances = {"test_accuracy": 0.03}
