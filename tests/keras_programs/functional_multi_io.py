"""A functional model with two inputs and two named outputs, trained with dict
losses, loss weights, metrics and targets."""
import numpy as np

import keras
from keras import layers

rng = np.random.default_rng(1)
title = keras.Input(shape=(8,), name="title")
body = keras.Input(shape=(12,), name="body")
features = layers.concatenate([layers.Dense(6, activation="relu")(title), layers.Dense(6, activation="relu")(body)])
priority = layers.Dense(1, name="priority")(features)
department = layers.Dense(3, activation="softmax", name="department")(features)
model = keras.Model(inputs=[title, body], outputs=[priority, department])
model.set_weights([rng.normal(0, 0.3, w.shape).astype("float32") for w in model.get_weights()])

model.compile(
    optimizer=keras.optimizers.RMSprop(1e-2),
    loss={"priority": "mean_squared_error", "department": "sparse_categorical_crossentropy"},
    loss_weights={"priority": 1.0, "department": 0.5},
    metrics={"department": ["accuracy"]},
)
x_title = rng.normal(size=(64, 8)).astype("float32")
x_body = rng.normal(size=(64, 12)).astype("float32")
y_priority = rng.normal(size=(64, 1)).astype("float32")
y_department = rng.integers(0, 3, size=(64,))
history = model.fit({"title": x_title, "body": x_body}, {"department": y_department, "priority": y_priority},
                    epochs=3, batch_size=16, shuffle=False, verbose=0)
priority_out, department_out = model.predict({"title": x_title[:3], "body": x_body[:3]}, verbose=0)

result = {"loss": history.history["loss"], "priority_loss": history.history["priority_loss"],
          "department_loss": history.history["department_loss"],
          "priority": priority_out, "department": department_out}
