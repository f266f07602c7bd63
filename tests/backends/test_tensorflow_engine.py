"""What the TensorFlow engine promises beyond the shared op tests: its native
forms (``tf.Variable`` handles, ``tf.function`` without AutoGraph), the fused
``ResourceApply*`` optimizer kernels, the paths around kernels TF's CPU build
refuses (dilated/grouped convolutions outside oneDNN's dtypes, dilated
depthwise gradients), and that ``import polykeras`` leaves TensorFlow alone."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

import polykeras.backends as B  # noqa: E402
from polykeras import ops  # noqa: E402
from polykeras.backends.base import Backend  # noqa: E402


@pytest.fixture
def tf_engine():
    with B.use("tensorflow") as engine:
        yield engine


def test_import_polykeras_does_not_import_tensorflow():
    code = "import sys, polykeras, polykeras.ops, polykeras.backends as B; B.get('numpy'); " \
           "print('tensorflow' in sys.modules)"
    env = dict(os.environ, POLYKERAS_BACKEND="numpy")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "False"


def test_variables_are_tf_variables_and_assign_keeps_them(tf_engine):
    weight = tf_engine.variable(np.ones((2, 3)), "float32", True, "dense/kernel")
    count = tf_engine.variable([1, 2], "int32", False, "count")
    assert isinstance(weight, tf.Variable) and weight.trainable and weight.dtype == tf.float32
    assert isinstance(count, tf.Variable) and not count.trainable and count.dtype == tf.int32
    assert tf_engine.assign(weight, np.zeros((2, 3))) is weight
    np.testing.assert_array_equal(weight.numpy(), np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match=r"assign: expected a value of the variable's shape \(2, 3\)"):
        tf_engine.assign(weight, np.zeros((3, 3)))


def test_jit_is_tf_function_without_autograph(tf_engine):
    compiled = tf_engine.jit(lambda x: ops.add(x, 1.0))
    assert isinstance(compiled, tf.types.experimental.PolymorphicFunction)
    np.testing.assert_array_equal(ops.to_numpy(compiled(ops.ones((2,)))), [2.0, 2.0])

    def branches_on_a_traced_value(x):
        return x if ops.sum(x) > 0 else ops.negative(x)  # fine eagerly, refused under jax.jit too

    with pytest.raises(Exception, match="(?i)bool|python"):
        tf_engine.jit(branches_on_a_traced_value)(ops.ones((2,)))


def test_to_numpy_inside_jit_says_why(tf_engine):
    with pytest.raises(ValueError, match="to_numpy: expected a concrete tensor"):
        tf_engine.jit(lambda x: tf_engine.to_numpy(x))(ops.ones((1,)))


def test_random_with_a_traced_seed_matches_eager(tf_engine):
    draw = tf_engine.jit(lambda seed: tf_engine.random_normal((4,), seed))
    seed_a, seed_b = ops.convert_to_tensor(np.array([3, 4], "int32")), ops.convert_to_tensor(np.array([3, 5], "int32"))
    np.testing.assert_array_equal(ops.to_numpy(draw(seed_a)), ops.to_numpy(tf_engine.random_normal((4,), seed_a)))
    assert not np.array_equal(ops.to_numpy(draw(seed_a)), ops.to_numpy(draw(seed_b)))


def _slots(shapes, dtype, rng):
    return [tf.Variable(rng.standard_normal(s).astype(dtype)) for s in shapes]


@pytest.mark.parametrize("rule", ["sgd", "momentum", "adam", "amsgrad", "rmsprop"])
@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "jit"])
def test_fused_optimizer_kernels_update_handles_in_place(tf_engine, rule, compiled):
    shapes = [(3, 4), (5,)]

    def run(fused: bool) -> list[np.ndarray]:
        rng = np.random.default_rng(0)
        weights = _slots(shapes, "float32", rng)
        m, v, hat = (_slots(shapes, "float32", rng) for _ in range(3))
        for s in (m, v, hat):
            for slot in s:
                slot.assign(tf.abs(slot))
        engine = tf_engine if fused else None

        def update(grads, step):
            method = (lambda name: getattr(tf_engine, name)) if engine else \
                (lambda name: getattr(Backend, name).__get__(tf_engine))
            lr = tf.constant(0.01)
            if rule in ("sgd", "momentum"):
                out = method("sgd_update")(weights, grads, m, lr, momentum=0.9 if rule == "momentum" else 0.0,
                                           inplace=fused)
                groups = [weights, m]
            elif rule in ("adam", "amsgrad"):
                out = method("adam_update")(weights, grads, m, v, lr, step, inplace=fused,
                                            velocity_hats=hat if rule == "amsgrad" else None)
                groups = [weights, m, v, hat]
            else:
                out = method("rmsprop_update")(weights, grads, v, m, [], lr, momentum=0.5, inplace=fused)
                groups = [weights, v, m]
            for group, new in zip(groups, out):
                for handle, value in zip(group, new or ()):
                    if fused:
                        assert value is handle, "the fused kernels write the handles and return them"
                    else:
                        handle.assign(value)

        update_fn = tf_engine.jit(update) if compiled else update
        for step in range(1, 4):
            update_fn([tf.constant(rng.standard_normal(s).astype("float32")) for s in shapes], tf.constant(step))
        return [x.numpy() for x in weights + m + v]

    for got, want in zip(run(True), run(False)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def _value_and_grads(engine, fn, arrays, dtype):
    tensors = [ops.convert_to_tensor(a.astype(dtype)) for a in arrays]
    value, grads = engine.value_and_grad(lambda p: ops.sum(ops.square(fn(*p))))(tensors)
    return [ops.to_numpy(value)] + [ops.to_numpy(g) for g in grads]


CONVS = {
    "conv2d dilated grouped strided": (lambda x, k: ops.conv(x, k, (2, 1), "same", None, 2),
                                       (2, 7, 8, 4), (3, 2, 2, 6)),
    "conv3d dilated grouped": (lambda x, k: ops.conv(x, k, 1, "same", None, (2, 1, 2)),
                               (1, 5, 6, 5, 4), (2, 2, 2, 2, 4)),
    "depthwise dilated strided": (lambda x, k: ops.depthwise_conv(x, k, 2, "same", None, 2),
                                  (2, 7, 8, 4), (3, 2, 4, 2)),
    "depthwise 1d dilated": (lambda x, k: ops.depthwise_conv(x, k, 1, "valid", None, 3), (2, 9, 4), (2, 4, 3)),
    "conv_transpose dilated": (lambda x, k: ops.conv_transpose(x, k, 1, "valid", None, None, 2),
                               (2, 5, 6, 4), (3, 3, 2, 4)),
    "conv_transpose output_padding": (lambda x, k: ops.conv_transpose(x, k, 2, "same", 1), (2, 5, 6, 4), (3, 3, 2, 4)),
}


@pytest.mark.parametrize("name", sorted(CONVS))
def test_float64_convolutions_take_the_paths_eigen_supports(tf_engine, name):
    """oneDNN runs float32; float64 falls to Eigen, which refuses dilated and
    grouped gradients: the engine dilates kernels and splits groups itself."""
    fn, x_shape, k_shape = CONVS[name]
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(x_shape), rng.standard_normal(k_shape)]
    native = _value_and_grads(tf_engine, fn, arrays, "float32")
    fallback = _value_and_grads(tf_engine, fn, arrays, "float64")
    for got, want in zip(native, fallback):
        np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-4, err_msg=name)


def test_integer_convolution_is_exact_and_keeps_its_dtype(tf_engine):
    x = np.arange(2 * 6 * 3).reshape(2, 6, 3).astype("int32")
    k = np.arange(2 * 3 * 2).reshape(2, 3, 2).astype("int32") - 5
    out = ops.conv(ops.convert_to_tensor(x), ops.convert_to_tensor(k), dilation_rate=2)
    want = np.stack([np.einsum("btc,tcf->bf", x[:, i:i + 3:2], k) for i in range(4)], axis=1)
    assert ops.dtype(out) == "int32"
    np.testing.assert_array_equal(ops.to_numpy(out), want)
