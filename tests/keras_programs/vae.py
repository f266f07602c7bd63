"""A small variational autoencoder: a sampling layer drawing from
keras.random with a SeedGenerator, the KL term through add_loss."""
import numpy as np

import keras
from keras import layers, ops


class Sampling(layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        epsilon = keras.random.normal(ops.shape(z_mean), seed=self.seed_generator)
        kl = -0.5 * ops.mean(ops.sum(1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var), axis=1))
        self.add_loss(kl * 0.01)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon


keras.utils.set_random_seed(0)
rng = np.random.default_rng(4)
encoder_inputs = keras.Input(shape=(16,))
h = layers.Dense(8, activation="relu")(encoder_inputs)
z_mean = layers.Dense(2, name="z_mean")(h)
z_log_var = layers.Dense(2, name="z_log_var")(h)
z = Sampling()([z_mean, z_log_var])
decoded = layers.Dense(16, activation="sigmoid")(layers.Dense(8, activation="relu")(z))
vae = keras.Model(encoder_inputs, decoded)
vae.set_weights([rng.normal(0, 0.3, w.shape).astype("float32") for w in vae.get_weights()])
vae.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy")
x = (rng.uniform(size=(256, 16)) > 0.5).astype("float32")
history = vae.fit(x, x, epochs=4, batch_size=32, shuffle=False, verbose=0)
encoder = keras.Model(encoder_inputs, z_mean)

result = {"first_loss": history.history["loss"][0], "last_loss": history.history["loss"][-1],
          "loss_fell": float(history.history["loss"][-1] < history.history["loss"][0])}
tolerances = {"first_loss": 0.05, "last_loss": 0.05}
