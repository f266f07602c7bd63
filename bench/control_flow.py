"""ops.scan of 1,000 steps inside a compiled step: polykeras vs each
framework's own loop vs Keras 3.

The step is ``carry = carry * 0.99 + x_t`` (carry of 64 float32, ``xs``
``(1000, 64)``), returning the last carry and the stacked carries.

Native: JAX ``jax.lax.scan`` under ``jax.jit``; TensorFlow ``tf.scan`` under
``tf.function``; torch a Python loop (model ``loop``) or that loop under
``torch.compile`` (model ``compiled``; the loop unrolls, so compiling takes
a while). polykeras: ``ops.scan`` under ``ops.jit``; Keras 3:
``keras.ops.scan`` under its engine's compiler (``jax.jit``,
``tf.function``; eager on torch). Each implementation runs in its own
process; the median of ``--rounds`` rounds of ``--steps`` steps is reported.

    python bench/control_flow.py [--engines torch,jax,tensorflow] [--models loop] [--steps 20]
"""

from __future__ import annotations

import numpy as np
from _harness import main, timed

STEPS, WIDTH, DECAY = 1000, 64, 0.99


def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return np.zeros((WIDTH,), "float32"), rng.standard_normal((STEPS, WIDTH)).astype("float32")


def run_polykeras(engine: str, model: str, steps: int, rounds: int) -> float:
    import polykeras.backends as B
    from polykeras import ops

    with B.use(engine):
        init, xs = (ops.convert_to_tensor(a) for a in data())

        def body(carry, x):
            carry = carry * DECAY + x
            return carry, carry

        run = ops.jit(lambda c, x: ops.scan(body, c, x))
        last = {}

        def step():
            last["out"] = run(init, xs)

        return timed(step, steps, rounds, lambda: ops.to_numpy(last["out"][0]))


def run_native(engine: str, model: str, steps: int, rounds: int) -> float:
    return {"torch": _torch, "jax": _jax, "tensorflow": _tf}[engine](model, steps, rounds)


def _torch(model, steps, rounds):
    import torch

    init, xs = (torch.from_numpy(a) for a in data())

    def loop(carry, xs):
        ys = []
        for x in xs:
            carry = carry * DECAY + x
            ys.append(carry)
        return carry, torch.stack(ys)

    run = torch.compile(loop) if model == "compiled" else loop

    def step():
        with torch.no_grad():
            run(init, xs)

    return timed(step, steps, rounds)


def _jax(model, steps, rounds):
    import jax

    init, xs = (jax.numpy.asarray(a) for a in data())

    def body(carry, x):
        carry = carry * DECAY + x
        return carry, carry

    run = jax.jit(lambda c, x: jax.lax.scan(body, c, x))
    last = {}

    def step():
        last["out"] = run(init, xs)

    return timed(step, steps, rounds, lambda: jax.block_until_ready(last["out"]))


def _tf(model, steps, rounds):
    import tensorflow as tf

    init, xs = (tf.constant(a) for a in data())

    @tf.function
    def run(c, x):
        ys = tf.scan(lambda carry, x_t: carry * DECAY + x_t, x, initializer=c)
        return ys[-1], ys

    last = {}

    def step():
        last["out"] = run(init, xs)

    return timed(step, steps, rounds, lambda: last["out"][0].numpy())


def run_keras(engine: str, model: str, steps: int, rounds: int) -> float:
    import keras

    init, xs = (keras.ops.convert_to_tensor(a) for a in data())

    def body(carry, x):
        carry = carry * DECAY + x
        return carry, carry

    if engine == "jax":
        import jax
        run = jax.jit(lambda c, x: keras.ops.scan(body, c, x))
        sync = jax.block_until_ready
    elif engine == "tensorflow":
        import tensorflow as tf
        run = tf.function(lambda c, x: keras.ops.scan(body, c, x))

        def sync(out):
            return out[0].numpy()
    else:
        def run(c, x):
            return keras.ops.scan(body, c, x)

        def sync(out):
            return out[0].cpu().numpy()
    last = {}

    def step():
        last["out"] = run(init, xs)

    return timed(step, steps, rounds, lambda: sync(last["out"]))


RUNNERS = {"native": run_native, "polykeras": run_polykeras, "keras": run_keras}

if __name__ == "__main__":
    main(__file__, __doc__.splitlines()[0], RUNNERS, "torch,jax,tensorflow", "loop", 20)
