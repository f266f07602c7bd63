"""MultiOptimizer / OptimizerMap: the same variables, gradients and steps as
Keras 3 (NumPy backend, in this process) give the same weights and state;
bad maps are refused with clear errors; the wrapper trains through fit."""

from __future__ import annotations

import numpy as np
import pytest

import polykeras as pk
from conformance.tolerances import assert_close
from polykeras import ops, optimizers

keras = pytest.importorskip("keras")

SHAPES = {"enc/kernel": (3, 4), "enc/bias": (4,), "dec/kernel": (4, 2), "dec/bias": (2,)}
STEPS = 4


def _data() -> tuple[dict[str, np.ndarray], list[dict[str, np.ndarray]]]:
    rng = np.random.default_rng(0)
    weights = {k: rng.normal(size=s).astype("float32") for k, s in SHAPES.items()}
    grads = [{k: rng.normal(size=s).astype("float32") for k, s in SHAPES.items()} for _ in range(STEPS)]
    return weights, grads


def _run(lib, variables, grads) -> object:
    o = lib.optimizers
    opt = o.MultiOptimizer(o.OptimizerMap(o.SGD(0.1, momentum=0.9), {".*enc/.*": o.Adam(0.01)}),
                           loss_scale_factor=2.0)
    for step in grads:
        opt.apply([lib.ops.convert_to_tensor(step[k]) for k in SHAPES], variables)
    return opt


def test_multi_optimizer_matches_keras(engine):
    weights, grads = _data()
    ours = [pk.Variable(weights[k], name=k.split("/")[1]) for k in SHAPES]
    for v, k in zip(ours, SHAPES):  # paths as a layer would give them
        v._path = k
    theirs = [keras.Variable(weights[k], name=k.replace("/", "_")) for k in SHAPES]
    for v, k in zip(theirs, SHAPES):
        v._path = k
    opt = _run(pk, ours, grads)
    ref = _run(keras, theirs, grads)
    for a, b in zip(ours, theirs):
        assert_close(a.numpy(), np.asarray(b.numpy()), "model", err_msg=f"weight {a.path}")
    assert [o.name for o in opt.optimizers] == ["adam", "sgd"]  # Keras numbers repeated names: adam_1...
    assert [type(o).__name__ for o in opt.optimizers] == [type(o).__name__ for o in ref.optimizers]
    assert len(opt.variables) == len(ref.variables)
    for a, b in zip(opt.variables, ref.variables):
        assert_close(np.asarray(a.numpy(), "float32"), np.asarray(b.numpy(), "float32"), "model",
                     err_msg=f"optimizer variable {a.path}")
    assert int(opt.iterations.numpy()) == STEPS
    assert [int(o.iterations.numpy()) for o in opt.optimizers] == [STEPS, STEPS]
    assert opt.optimizers[0].loss_scale_factor == 2.0


def test_callable_map_and_config_round_trip(engine):
    adam, sgd = optimizers.Adam(0.01), optimizers.SGD(0.1)
    opt = optimizers.MultiOptimizer(lambda v: adam if "enc" in v.path else sgd)
    variables = [pk.Variable(np.ones(s, "float32"), name=k.replace("/", "_")) for k, s in SHAPES.items()]
    opt.build(variables)
    assert [o.name for o in opt.optimizers] == ["adam", "sgd"]
    with pytest.raises(AttributeError, match="no single learning rate"):
        opt.learning_rate  # noqa: B018
    mapped = optimizers.MultiOptimizer(optimizers.OptimizerMap(optimizers.SGD(0.2), {"enc/.*": optimizers.Adam()}),
                                       name="multi")
    again = optimizers.deserialize(optimizers.serialize(mapped))
    assert isinstance(again, optimizers.MultiOptimizer) and again.name == "multi"
    assert [o.name for o in again.optimizers] == [o.name for o in mapped.optimizers] == ["adam_1", "sgd_1"]
    assert float(again.optimizers[1].learning_rate.numpy()) == pytest.approx(0.2)


def test_bad_maps_are_refused(engine):
    omap = optimizers.OptimizerMap(optimizers.SGD(), {"enc/.*": optimizers.Adam(), ".*/kernel": optimizers.Adam()})
    variable = pk.Variable(np.ones((2,), "float32"), name="kernel")
    variable._path = "enc/kernel"
    with pytest.raises(ValueError, match="at most one pattern to match the variable 'enc/kernel'"):
        optimizers.MultiOptimizer(omap).build([variable])
    with pytest.raises(ValueError, match="expected an Optimizer instance for variable 'enc/kernel'"):
        optimizers.MultiOptimizer(lambda v: None).build([variable])
    with pytest.raises(ValueError, match="mapped already"):
        omap["enc/.*"] = optimizers.SGD()
    with pytest.raises(ValueError, match="do not nest"):
        omap["x"] = optimizers.MultiOptimizer(lambda v: optimizers.SGD())
    with pytest.raises(TypeError, match="default_optimizer"):
        optimizers.OptimizerMap("sgd")
    with pytest.raises(ValueError, match="expected each variable once"):
        optimizers.MultiOptimizer(lambda v: optimizers.SGD()).build([variable, variable])


def test_multi_optimizer_trains_through_fit(diff_engine):
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(32, 3)).astype("float32"), rng.normal(size=(32, 1)).astype("float32")
    model = pk.Sequential([pk.Input((3,)), pk.layers.Dense(4, name="enc"), pk.layers.Dense(1, name="dec")])
    before = [w.copy() for w in model.get_weights()]
    adam, sgd = optimizers.Adam(0.01), optimizers.SGD(0.0)
    model.compile(optimizer=optimizers.MultiOptimizer(optimizers.OptimizerMap(sgd, {"enc/.*": adam})), loss="mse")
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    after = model.get_weights()
    assert not np.allclose(after[0], before[0])  # enc: Adam moved it
    np.testing.assert_array_equal(after[2], before[2])  # dec: SGD at rate 0 kept it
    assert int(ops.convert_to_numpy(adam.iterations)) == 8
