"""A spectrogram from Conv1D kernels set by the STFT initializer, and a
custom keras.Operation (the magnitude of real and imaginary parts) recorded
in a functional model and called eagerly."""
import numpy as np

import keras
from keras import layers, ops


class Magnitude(keras.Operation):
    def __init__(self, floor=1e-6, name=None):
        super().__init__(name=name)
        self.floor = floor

    def call(self, real, imag):
        return ops.sqrt(ops.square(real) + ops.square(imag) + self.floor)

    def compute_output_spec(self, real, imag):
        return keras.KerasTensor(real.shape, real.dtype)


frame, bins = 16, 9
signal = keras.Input((64, 1))
parts = [layers.Conv1D(bins, frame, strides=8, use_bias=False, name=side,
                       kernel_initializer=keras.initializers.STFT(side, "hann", "density", periodic=True))(signal)
         for side in ("real", "imag")]
model = keras.Model(signal, Magnitude(name="magnitude")(*parts))
t = np.arange(64, dtype="float32")
x = np.stack([np.sin(2 * np.pi * t / 8), np.cos(2 * np.pi * t / 5)])[..., None].astype("float32")
result = {
    "spectrogram": model.predict(x, verbose=0),
    "eager": ops.convert_to_numpy(Magnitude()(np.ones((2, 3), "float32"), np.zeros((2, 3), "float32"))),
    "config": Magnitude(0.5, name="m").get_config(),
    "kernel": model.get_layer("imag").get_weights()[0][:, 0, :3],
}
