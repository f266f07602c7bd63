"""Small layers the Layer-base tests share."""

from __future__ import annotations

import numpy as np

from polykeras import ops
from polykeras.layers import InputSpec, Layer


class MyLayer(Layer):
    """The seed-003 custom layer, Python 3 form, unchanged otherwise."""

    def __init__(self, output_dim, **kwargs):
        self.output_dim = output_dim
        super(MyLayer, self).__init__(**kwargs)

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[1], self.output_dim),
                                      initializer="uniform", trainable=True)
        super(MyLayer, self).build(input_shape)

    def call(self, x):
        return ops.dot(x, self.kernel)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.output_dim)


class Linear(Layer):
    def __init__(self, units=3, use_bias=True, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.use_bias = use_bias
        self.input_spec = InputSpec(min_ndim=2)

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel",
                                      regularizer=None)
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")
        self.input_spec = InputSpec(min_ndim=2, axes={-1: input_shape[-1]})

    def call(self, x):
        y = ops.matmul(x, self.kernel)
        return y + self.bias if self.use_bias else y


class Counter(Layer):
    """BatchNormalization-like state: counts calls and keeps a moving mean."""

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="scale")
        self.count = self.add_weight(shape=(), initializer="zeros", trainable=False, name="count")
        self.moving_mean = self.add_weight(shape=(input_shape[-1],), initializer="zeros",
                                           trainable=False, name="moving_mean")

    def call(self, x, training=None):
        if training:
            self.count.assign_add(1.0)
            mean = ops.mean(x, axis=0)
            self.moving_mean.assign(self.moving_mean * 0.9 + mean * 0.1)
        return x * self.scale


class Block(Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.parts = [Linear(4, name=None), Linear(2)]
        self.table = {"extra": Linear(2, use_bias=False)}

    def call(self, x, training=None):
        h = self.parts[0](x)
        return self.parts[1](h) + self.table["extra"](h)


class TrainingProbe(Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen = []

    def call(self, x, training=False):
        self.seen.append(training)
        return x


class Outer(Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.probe = TrainingProbe()

    def call(self, x, training=None):
        return self.probe(x)


def sample(shape=(2, 5), seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")
