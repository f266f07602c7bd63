"""A custom layer registered for serialization, saved in a .keras file and
loaded back (by registration and with custom_objects)."""
import os
import tempfile

import numpy as np

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="demo")
class Scale(layers.Layer):
    def __init__(self, factor=1.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.gain = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="gain")

    def call(self, inputs):
        return ops.multiply(inputs, self.gain) * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


rng = np.random.default_rng(3)
inputs = keras.Input((4,))
model = keras.Model(inputs, layers.Dense(2)(Scale(2.0, name="scale")(inputs)))
model.set_weights([rng.normal(size=w.shape).astype("float32") for w in model.get_weights()])
x = rng.normal(size=(3, 4)).astype("float32")
path = os.path.join(tempfile.mkdtemp(), "scaled.keras")
model.save(path)
loaded = keras.saving.load_model(path)
again = keras.models.load_model(path, custom_objects={"Scale": Scale})

result = {"registered_name": keras.saving.get_registered_name(Scale),
          "prediction": model.predict(x, verbose=0), "loaded": loaded.predict(x, verbose=0),
          "again": again.predict(x, verbose=0), "factor": loaded.get_layer("scale").factor}
