"""dot_product_attention, forward + backward: polykeras vs each framework's
own call vs Keras 3.

Batch 8, 8 heads, sequence 512, head dim 64, float32, causal; the step is
the gradient of ``sum(attention(q, k, v) * w)`` w.r.t. ``q, k, v``.

Native: torch ``F.scaled_dot_product_attention`` + autograd; JAX
``jax.nn.dot_product_attention`` under ``jax.jit(jax.grad)``; TensorFlow the
einsum-softmax-einsum under ``tf.function`` + ``GradientTape`` (it has no
fused attention call). polykeras: ``ops.dot_product_attention`` under
``ops.jit(ops.value_and_grad)``. Each implementation runs in its own
process; the median of ``--rounds`` rounds of ``--steps`` steps is reported.

    python bench/attention.py [--engines torch,jax,tensorflow] [--models causal,full] [--steps 5]
"""

from __future__ import annotations

import numpy as np
from _harness import main, timed

BATCH, SEQ, HEADS, DIM = 8, 512, 8, 64


def data() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.standard_normal((BATCH, SEQ, HEADS, DIM)).astype("float32") for _ in range(4)]


def run_polykeras(engine: str, model: str, steps: int, rounds: int) -> float:
    import polykeras.backends as B
    from polykeras import ops

    causal = model == "causal"
    with B.use(engine):
        q, k, v, w = (ops.convert_to_tensor(a) for a in data())

        def loss(params):
            return ops.sum(ops.dot_product_attention(*params, is_causal=causal) * w)

        step_fn = ops.jit(ops.value_and_grad(loss))
        last = {}

        def step():
            last["out"] = step_fn([q, k, v])

        return timed(step, steps, rounds, lambda: ops.to_numpy(last["out"][1][0]))


def run_native(engine: str, model: str, steps: int, rounds: int) -> float:
    return {"torch": _torch, "jax": _jax, "tensorflow": _tf}[engine](model == "causal", steps, rounds)


def _torch(causal, steps, rounds):
    import torch
    import torch.nn.functional as F

    q, k, v, w = (torch.from_numpy(a).transpose(1, 2).contiguous() for a in data())
    for t in (q, k, v):
        t.requires_grad_(True)

    def step():
        for t in (q, k, v):
            t.grad = None
        (F.scaled_dot_product_attention(q, k, v, is_causal=causal) * w).sum().backward()

    return timed(step, steps, rounds)


def _jax(causal, steps, rounds):
    import jax
    import jax.numpy as jnp

    q, k, v, w = (jnp.asarray(a) for a in data())
    grad = jax.jit(jax.value_and_grad(
        lambda p: jnp.sum(jax.nn.dot_product_attention(*p, is_causal=causal) * w)))
    last = {}

    def step():
        last["out"] = grad((q, k, v))

    return timed(step, steps, rounds, lambda: jax.block_until_ready(last["out"]))


def _tf(causal, steps, rounds):
    import tensorflow as tf

    q, k, v, w = (tf.constant(a) for a in data())
    mask = tf.linalg.band_part(tf.ones((SEQ, SEQ), tf.bool), -1, 0) if causal else None

    @tf.function
    def grad(q, k, v):
        with tf.GradientTape() as tape:
            tape.watch([q, k, v])
            logits = tf.einsum("btnh,bsnh->bnts", q, k) / DIM ** 0.5
            if mask is not None:
                logits = tf.where(mask, logits, -0.7 * tf.float32.max)
            out = tf.einsum("bnts,bsnh->btnh", tf.nn.softmax(logits, -1), v)
            loss = tf.reduce_sum(out * w)
        return loss, tape.gradient(loss, [q, k, v])

    last = {}

    def step():
        last["out"] = grad(q, k, v)

    return timed(step, steps, rounds, lambda: last["out"][0].numpy())


def run_keras(engine: str, model: str, steps: int, rounds: int) -> float:
    import keras

    causal = model == "causal"
    q, k, v, w = (keras.ops.convert_to_tensor(a) for a in data())
    if engine == "jax":
        import jax
        grad = jax.jit(jax.value_and_grad(
            lambda p: keras.ops.sum(keras.ops.dot_product_attention(*p, is_causal=causal) * w)))
        last = {}

        def step():
            last["out"] = grad((q, k, v))

        return timed(step, steps, rounds, lambda: jax.block_until_ready(last["out"]))
    if engine == "torch":
        params = [t.clone().requires_grad_(True) for t in (q, k, v)]

        def step():
            for t in params:
                t.grad = None
            keras.ops.sum(keras.ops.dot_product_attention(*params, is_causal=causal) * w).backward()

        return timed(step, steps, rounds)
    import tensorflow as tf

    @tf.function
    def grad(q, k, v):
        with tf.GradientTape() as tape:
            tape.watch([q, k, v])
            loss = keras.ops.sum(keras.ops.dot_product_attention(q, k, v, is_causal=causal) * w)
        return loss, tape.gradient(loss, [q, k, v])

    last = {}

    def step():
        last["out"] = grad(q, k, v)

    return timed(step, steps, rounds, lambda: last["out"][0].numpy())


RUNNERS = {"native": run_native, "polykeras": run_polykeras, "keras": run_keras}

if __name__ == "__main__":
    main(__file__, __doc__.splitlines()[0], RUNNERS, "torch,jax,tensorflow", "causal", 3)
