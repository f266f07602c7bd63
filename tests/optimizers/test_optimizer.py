"""The Optimizer base on every engine: clipping, decoupled weight decay,
constraints after the update, state paths, learning rates, configs and the
errors for bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conformance.tolerances import assert_close
from polykeras import ops, optimizers
from polykeras.optimizers import schedules
from polykeras.variables import Variable, name_scope

from ._reference import CASES


def tensors(*arrays):
    return [ops.convert_to_tensor(np.asarray(a, "float32")) for a in arrays]


def close(actual, expected, what=""):
    assert_close(actual, np.asarray(expected, np.float64), "transcendental", "float32", err_msg=what)


# ------------------------------------------------------------------ clipping
def test_clipnorm_clips_each_gradient_to_its_norm(engine):
    a, b = Variable(np.zeros((2,), "float32"), name="a"), Variable(np.zeros((2,), "float32"), name="b")
    opt = optimizers.SGD(learning_rate=1.0, clipnorm=1.0)
    opt.apply(tensors([3.0, 4.0], [0.3, 0.4]), [a, b])
    close(a.numpy(), [-0.6, -0.8], "norm 5 scaled to 1")
    close(b.numpy(), [-0.3, -0.4], "norm 0.5 kept")


def test_clipnorm_keeps_a_zero_gradient_finite(engine):
    w = Variable(np.ones((3,), "float32"), name="w")
    optimizers.SGD(learning_rate=1.0, clipnorm=1.0).apply(tensors(np.zeros(3)), [w])
    np.testing.assert_array_equal(w.numpy(), np.ones(3, "float32"))


def test_global_clipnorm_scales_all_gradients_together(engine):
    a, b = Variable(np.zeros((2,), "float32"), name="a"), Variable(np.zeros((1,), "float32"), name="b")
    opt = optimizers.SGD(learning_rate=1.0, global_clipnorm=2.0)
    opt.apply(tensors([3.0, 4.0], [12.0]), [a, b])  # global norm 13
    close(a.numpy(), [-6 / 13, -8 / 13])
    close(b.numpy(), [-24 / 13])


def test_global_clipnorm_below_threshold_is_identity(engine):
    w = Variable(np.zeros((2,), "float32"), name="w")
    optimizers.SGD(learning_rate=1.0, global_clipnorm=10.0).apply(tensors([3.0, 4.0]), [w])
    close(w.numpy(), [-3.0, -4.0])


def test_clipvalue_clips_each_entry(engine):
    w = Variable(np.zeros((3,), "float32"), name="w")
    optimizers.SGD(learning_rate=1.0, clipvalue=0.5).apply(tensors([-2.0, 0.25, 9.0]), [w])
    close(w.numpy(), [0.5, -0.25, -0.5])


def test_only_one_clipping_argument():
    with pytest.raises(ValueError, match="at most one of .*received clipnorm, clipvalue"):
        optimizers.SGD(clipnorm=1.0, clipvalue=1.0)


def test_loss_scale_factor_divides_gradients(engine):
    w = Variable(np.zeros((2,), "float32"), name="w")
    optimizers.SGD(learning_rate=1.0, loss_scale_factor=4.0).apply(tensors([4.0, 8.0]), [w])
    close(w.numpy(), [-1.0, -2.0])


# -------------------------------------------------------------- weight decay
def test_weight_decay_is_decoupled_and_applied_before_the_update(engine):
    w = Variable(np.array([2.0, -4.0], "float32"), name="kernel")
    optimizers.SGD(learning_rate=0.5, weight_decay=0.1).apply(tensors([1.0, 1.0]), [w])
    # w - w * wd * lr, then - lr * g
    close(w.numpy(), [2.0 - 2.0 * 0.05 - 0.5, -4.0 + 4.0 * 0.05 - 0.5])


def test_weight_decay_uses_the_scheduled_learning_rate(engine):
    w = Variable(np.array([1.0], "float32"), name="kernel")
    lr = schedules.PiecewiseConstantDecay([0], [0.5, 0.1])
    opt = optimizers.SGD(learning_rate=lr, weight_decay=0.2)
    opt.apply(tensors([0.0]), [w])  # step 0: lr 0.5
    opt.apply(tensors([0.0]), [w])  # step 1: lr 0.1
    close(w.numpy(), [(1 - 0.1) * (1 - 0.02)])


def test_exclude_from_weight_decay_by_name_and_by_variable(engine):
    with name_scope("dense"):
        kernel = Variable(np.ones((2,), "float32"), name="kernel")
        bias = Variable(np.ones((2,), "float32"), name="bias")
        gamma = Variable(np.ones((2,), "float32"), name="gamma")
    opt = optimizers.AdamW(learning_rate=0.1, weight_decay=0.5)
    opt.exclude_from_weight_decay(var_names=["bias"])
    opt.exclude_from_weight_decay(var_list=[gamma])
    zero = tensors(np.zeros(2))[0]
    opt.apply([zero, zero, zero], [kernel, bias, gamma])  # zero grads: Adam moves nothing
    close(kernel.numpy(), [0.95, 0.95])
    np.testing.assert_array_equal(bias.numpy(), np.ones(2, "float32"))
    np.testing.assert_array_equal(gamma.numpy(), np.ones(2, "float32"))
    with pytest.raises(ValueError, match="before the optimizer is built"):
        opt.exclude_from_weight_decay(var_names=["kernel"])


def test_adamw_requires_weight_decay():
    with pytest.raises(ValueError, match="AdamW: expected `weight_decay` to be a float, received weight_decay=None"):
        optimizers.AdamW(weight_decay=None)


# --------------------------------------------------------------- constraints
def test_constraint_is_applied_after_the_update(engine):
    non_negative = lambda x: ops.maximum(x, 0.0)  # noqa: E731
    w = Variable(np.array([0.5, 2.0], "float32"), name="w", constraint=non_negative)
    free = Variable(np.array([0.5, 2.0], "float32"), name="free")
    optimizers.SGD(learning_rate=1.0).apply(tensors([1.0, 1.0], [1.0, 1.0]), [w, free])
    close(w.numpy(), [0.0, 1.0])  # before the update it would be [-0.5, 1.0]
    close(free.numpy(), [-0.5, 1.0])


# --------------------------------------------------------------- state paths
def _dense_variables():
    with name_scope("dense"):
        kernel = Variable(np.ones((3, 2), "float32"), name="kernel")
        bias = Variable(np.zeros((2,), "float32"), name="bias")
    return [kernel, bias]


def test_state_variables_have_stable_paths(engine):
    """Keras 3's paths: the optimizer's name (snake case, numbered after the
    first: adam, adam_1), then the variable's path with _ for /, then the kind."""
    variables = _dense_variables()
    paths = []
    for _ in range(2):
        opt = optimizers.Adam(amsgrad=True)
        opt.build(variables)
        paths.append([v.path for v in opt.variables])
    assert paths[0] == [
        "adam/iteration", "adam/learning_rate",
        "adam/dense_kernel_momentum", "adam/dense_kernel_velocity",
        "adam/dense_bias_momentum", "adam/dense_bias_velocity",
        "adam/dense_kernel_velocity_hat", "adam/dense_bias_velocity_hat",
    ]
    assert paths[1] == [path.replace("adam/", "adam_1/") for path in paths[0]]
    assert [optimizers.RMSprop().name, optimizers.AdamW().name, optimizers.AdamW(name="w").name] == [
        "rm_sprop", "adam_w", "w"]
    opt = optimizers.Adam(amsgrad=True, name="adam")
    opt.build(variables)
    slots = opt.slots_for(variables[0])
    assert {k: v.path for k, v in slots.items()} == {
        "momentum": "adam/dense_kernel_momentum", "velocity": "adam/dense_kernel_velocity",
        "velocity_hat": "adam/dense_kernel_velocity_hat"}
    assert all(not v.trainable for v in opt.variables)
    assert slots["momentum"].shape == (3, 2) and slots["momentum"].dtype == "float32"
    assert opt.iterations.dtype == "int32" and opt.iterations.shape == ()


def test_paths_do_not_depend_on_the_enclosing_name_scope(engine):
    variables = _dense_variables()
    with name_scope("model"):
        opt = optimizers.SGD(momentum=0.9, name="sgd")
        opt.build(variables)
    assert [v.path for v in opt.variables] == [
        "sgd/iteration", "sgd/learning_rate", "sgd/dense_kernel_momentum", "sgd/dense_bias_momentum"]


def test_nadam_keeps_u_product_and_adagrad_starts_its_accumulator(engine):
    variables = _dense_variables()
    nadam = optimizers.Nadam()
    nadam.build(variables)
    assert nadam.variables[-1].path == "nadam/u_product"
    adagrad = optimizers.Adagrad(initial_accumulator_value=0.25)
    adagrad.build(variables)
    np.testing.assert_array_equal(adagrad.slots_for(variables[1])["accumulator"].numpy(), np.full(2, 0.25, "f4"))


def test_slots_for_an_unknown_variable_is_an_error(engine):
    opt = optimizers.Adam()
    opt.build(_dense_variables())
    stranger = Variable(np.zeros(2, "float32"), name="stranger")
    with pytest.raises(ValueError, match=r"adam.slots_for: expected a variable the optimizer was built with, "
                                         r"received Variable 'stranger'"):
        opt.slots_for(stranger)


# ------------------------------------------------------------- learning rate
def test_learning_rate_is_settable_without_new_state(engine):
    w = Variable(np.zeros((1,), "float32"), name="w")
    opt = optimizers.SGD(learning_rate=0.1)
    opt.apply(tensors([1.0]), [w])
    before = [v.path for v in opt.variables]
    opt.learning_rate = 0.5
    opt.apply(tensors([1.0]), [w])
    close(w.numpy(), [-0.6])
    assert [v.path for v in opt.variables] == before
    close(opt.learning_rate.numpy(), 0.5)


def test_schedule_learning_rate_follows_iterations_and_is_not_settable(engine):
    w = Variable(np.zeros((1,), "float32"), name="w")
    opt = optimizers.SGD(learning_rate=schedules.ExponentialDecay(1.0, decay_steps=1, decay_rate=0.5))
    for _ in range(3):
        opt.apply(tensors([1.0]), [w])
    close(w.numpy(), [-(1.0 + 0.5 + 0.25)])
    close(ops.to_numpy(opt.learning_rate), 0.125)
    assert [v.path for v in opt.variables] == ["sgd/iteration"]
    with pytest.raises(TypeError, match="ExponentialDecay schedule, so it cannot be set to 0.1"):
        opt.learning_rate = 0.1


def test_callable_learning_rate(engine):
    w = Variable(np.zeros((1,), "float32"), name="w")
    opt = optimizers.SGD(learning_rate=lambda: 0.25)
    opt.apply(tensors([1.0]), [w])
    close(w.numpy(), [-0.25])
    with pytest.raises(ValueError, match="cannot be saved as data"):
        opt.get_config()


def test_bad_learning_rate():
    with pytest.raises(TypeError, match="expected `learning_rate` to be a float, a LearningRateSchedule or a "
                                        "callable with no arguments, received 'fast'"):
        optimizers.Adam(learning_rate="fast")


# -------------------------------------------------------------------- config
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_config_round_trip(engine, case):
    _, name, kwargs = case
    opt = getattr(optimizers, name)(**kwargs, clipnorm=2.0)
    config = opt.get_config()
    json.dumps(config)
    clone = type(opt).from_config(config)
    assert clone.get_config() == config
    again = optimizers.deserialize(json.loads(json.dumps(optimizers.serialize(opt))))
    assert type(again) is type(opt) and again.get_config() == config


def test_config_round_trip_with_a_schedule(engine):
    lr = schedules.CosineDecay(0.0, decay_steps=10, warmup_target=0.1, warmup_steps=5)
    opt = optimizers.Adam(learning_rate=lr)
    data = json.loads(json.dumps(optimizers.serialize(opt)))
    assert data["config"]["learning_rate"]["class_name"] == "CosineDecay"
    clone = optimizers.deserialize(data)
    assert isinstance(clone._learning_rate, schedules.CosineDecay)
    assert clone._learning_rate.get_config() == lr.get_config()


def test_get_accepts_names_dicts_and_instances(engine):
    assert type(optimizers.get("adam")) is optimizers.Adam
    assert type(optimizers.get("SGD")) is optimizers.SGD
    assert type(optimizers.get("rmsprop")) is optimizers.RMSprop
    opt = optimizers.Lion()
    assert optimizers.get(opt) is opt
    made = optimizers.get({"class_name": "SGD", "config": {"learning_rate": 0.3, "momentum": 0.5}})
    assert made.momentum == 0.5 and float(made.learning_rate.numpy()) == pytest.approx(0.3)
    with pytest.raises(ValueError, match="Unknown optimizer 'adamm'"):
        optimizers.get("adamm")
    with pytest.raises(ValueError, match="Could not interpret optimizer identifier.*received 3"):
        optimizers.get(3)


def test_custom_optimizer_through_custom_objects(engine):
    class Halve(optimizers.Optimizer):
        def __init__(self, learning_rate=0.5, **kwargs):
            super().__init__(learning_rate=learning_rate, **kwargs)

        def update_step(self, gradient, variable, learning_rate):
            self.assign_sub(variable, ops.multiply(gradient, learning_rate))

    config = optimizers.serialize(Halve(learning_rate=0.25))
    opt = optimizers.deserialize(config, custom_objects={"Halve": Halve})
    w = Variable(np.ones((1,), "float32"), name="w")
    opt.apply(tensors([1.0]), [w])
    close(w.numpy(), [0.75])


def test_unknown_and_bad_arguments():
    with pytest.raises(ValueError, match=r"Adam: argument\(s\) not recognized: \['lr'\]"):
        optimizers.Adam(lr=0.1)
    with pytest.raises(ValueError,
                       match="expected `clipnorm` to be a non-negative float or None, received clipnorm=-1"):
        optimizers.SGD(clipnorm=-1)


# ---------------------------------------------------------------- bad input
def test_gradient_count_mismatch_names_optimizer_expected_and_received(engine):
    variables = _dense_variables()
    opt = optimizers.Adam(name="adam")
    with pytest.raises(ValueError, match=r"adam.apply: expected one gradient per variable \(2 variables\), "
                                         r"received 1 gradients"):
        opt.apply(tensors(np.ones((3, 2))), variables)


def test_gradient_shape_mismatch_names_variable_and_shapes(engine):
    variables = _dense_variables()
    opt = optimizers.RMSprop()
    with pytest.raises(ValueError, match=r"rm_sprop.apply: expected a gradient of shape \(2,\) for variable "
                                         r"'dense/bias', received a gradient of shape \(3,\)"):
        opt.apply(tensors(np.ones((3, 2)), np.ones(3)), variables)


def test_unknown_variable_after_build(engine):
    variables = _dense_variables()
    opt = optimizers.SGD()
    opt.build(variables)
    other = Variable(np.zeros((2,), "float32"), name="other")
    with pytest.raises(ValueError, match=r"sgd.apply: expected variables the optimizer was built with \(2 variables\), "
                                         r"received the unknown variable Variable 'other'"):
        opt.apply(tensors(np.ones((3, 2)), np.ones(2)), [variables[0], other])


def test_apply_without_variables_needs_a_built_optimizer(engine):
    with pytest.raises(ValueError, match="expected `trainable_variables` or a built optimizer"):
        optimizers.SGD().apply(tensors([1.0]))
    variables = _dense_variables()
    opt = optimizers.SGD(learning_rate=1.0)
    opt.build(variables)
    opt.apply(tensors(np.ones((3, 2)), np.ones(2)))
    close(variables[1].numpy(), [-1.0, -1.0])


def test_none_gradients_skip_their_variable(engine):
    variables = _dense_variables()
    opt = optimizers.SGD(learning_rate=1.0)
    with pytest.warns(UserWarning, match=r"no gradients for variables \['dense/kernel'\]"):
        opt.apply([None, *tensors(np.ones(2))], variables)
    np.testing.assert_array_equal(variables[0].numpy(), np.ones((3, 2), "float32"))
    close(variables[1].numpy(), [-1.0, -1.0])
    with pytest.raises(ValueError, match="expected at least one gradient, received None for every variable"):
        opt.apply([None, None], variables)


def test_empty_gradient_list_is_a_no_op(engine):
    opt = optimizers.SGD()
    opt.apply([], [])
    assert int(opt.iterations.numpy()) == 0


# ------------------------------------------------------------ mixed dtypes
@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Nadam", "Adagrad", "Lion"])
def test_float16_variables_keep_their_dtype_beside_float32_ones(engine, name):
    half = Variable(np.ones((3,), "float32"), dtype="float16", name="half")
    full = Variable(np.ones((3,), "float32"), name="full")
    opt = getattr(optimizers, name)(learning_rate=0.1)
    grad = ops.convert_to_tensor(np.float32([0.5, -1.0, 2.0]))
    for _ in range(2):
        opt.apply([grad, grad], [half, full])
    assert half.dtype == "float16" and ops.dtype(half.value) == "float16"
    assert all(slot.dtype == "float16" for slot in opt.slots_for(half).values())
    assert_close(half.numpy(), full.numpy().astype(np.float64), "transcendental", "float16",
                 err_msg=f"{name}: float16 variable vs float32 variable")
