"""A subclassed Model that customises what fit minimises by overriding
compute_loss (Keras 3's engine-neutral hook) and tracks its own metric."""
import numpy as np

import keras
from keras import layers, ops


class PenalisedModel(keras.Model):
    def __init__(self, units, classes, **kwargs):
        super().__init__(**kwargs)
        self.hidden = layers.Dense(units, activation="tanh")
        self.head = layers.Dense(classes)
        self.penalty_tracker = keras.metrics.Mean(name="penalty")

    def call(self, inputs):
        return self.head(self.hidden(inputs))

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        loss = super().compute_loss(x, y, y_pred, sample_weight, training=training)
        penalty = 0.1 * ops.mean(ops.square(y_pred))
        self.penalty_tracker.update_state(penalty)
        return loss + penalty

    @property
    def metrics(self):
        return [*super().metrics, self.penalty_tracker]


rng = np.random.default_rng(2)
model = PenalisedModel(8, 1)
x = rng.normal(size=(48, 5)).astype("float32")
y = rng.normal(size=(48, 1)).astype("float32")
model(x[:1])  # creates the weights (Keras' build() of a subclassed model without build() creates none)
model.set_weights([rng.normal(0, 0.3, w.shape).astype("float32") for w in model.get_weights()])
model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
history = model.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
result = {"loss": history.history["loss"], "penalty": history.history["penalty"],
          "prediction": model.predict(x[:2], verbose=0)}
