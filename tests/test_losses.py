"""Losses on every engine: formulas against NumPy, a few values against Keras 3,
reductions, sample weights, masks, label smoothing, logits, ignore_class,
configs, gradients and bad inputs."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from polykeras import losses, ops

EPS = 1e-7


# ------------------------------------------------------------ NumPy references
def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _bce(t, p):
    p = np.clip(p, EPS, 1 - EPS)
    return -(t * np.log(p) + (1 - t) * np.log(1 - p))


def _cce(t, p, axis=-1):
    p = np.clip(p / p.sum(axis=axis, keepdims=True), EPS, 1 - EPS)
    return -(t * np.log(p)).sum(axis=axis)


def _l2n(x, axis=-1):
    return x / np.maximum(np.sqrt((x * x).sum(axis=axis, keepdims=True)), EPS)


def _hinge_labels(t):
    return 2 * t - 1 if np.all((t == 0) | (t == 1)) else t


def _focal(t, p, gamma=2.0, alpha=0.25, balance=False):
    pt = t * p + (1 - t) * (1 - p)
    out = (1 - pt) ** gamma * _bce(t, p)
    if balance:
        out = out * (t * alpha + (1 - t) * (1 - alpha))
    return out.mean(-1)


REFERENCE = {
    "mean_squared_error": lambda t, p: ((t - p) ** 2).mean(-1),
    "mean_absolute_error": lambda t, p: np.abs(t - p).mean(-1),
    "mean_absolute_percentage_error": lambda t, p: 100 * np.abs((t - p) / np.maximum(np.abs(t), EPS)).mean(-1),
    "mean_squared_logarithmic_error": lambda t, p: (
        (np.log(np.maximum(p, EPS) + 1) - np.log(np.maximum(t, EPS) + 1)) ** 2).mean(-1),
    "huber": lambda t, p: np.where(np.abs(p - t) <= 1.0, 0.5 * (p - t) ** 2, np.abs(p - t) - 0.5).mean(-1),
    "log_cosh": lambda t, p: np.log(np.cosh(p - t)).mean(-1),
    "cosine_similarity": lambda t, p: -(_l2n(t) * _l2n(p)).sum(-1),
    "kl_divergence": lambda t, p: (np.clip(t, EPS, 1) * np.log(np.clip(t, EPS, 1) / np.clip(p, EPS, 1))).sum(-1),
    "poisson": lambda t, p: (p - t * np.log(p + EPS)).mean(-1),
    "binary_crossentropy": lambda t, p: _bce(t, p).mean(-1),
    "binary_focal_crossentropy": _focal,
    "categorical_crossentropy": _cce,
    "categorical_focal_crossentropy": lambda t, p: (
        -t * np.log(np.clip(p / p.sum(-1, keepdims=True), EPS, 1 - EPS)) * 0.25
        * (1 - np.clip(p / p.sum(-1, keepdims=True), EPS, 1 - EPS)) ** 2).sum(-1),
    "sparse_categorical_crossentropy": lambda t, p: _cce(np.eye(p.shape[-1])[t.astype(int)], p),
    "hinge": lambda t, p: np.maximum(1 - _hinge_labels(t) * p, 0).mean(-1),
    "squared_hinge": lambda t, p: (np.maximum(1 - _hinge_labels(t) * p, 0) ** 2).mean(-1),
    "categorical_hinge": lambda t, p: np.maximum(((1 - t) * p).max(-1) - (t * p).sum(-1) + 1, 0),
}

#: function name -> its class (default arguments give the same per-sample values).
CLASSES = {
    "mean_squared_error": losses.MeanSquaredError,
    "mean_absolute_error": losses.MeanAbsoluteError,
    "mean_absolute_percentage_error": losses.MeanAbsolutePercentageError,
    "mean_squared_logarithmic_error": losses.MeanSquaredLogarithmicError,
    "huber": losses.Huber,
    "log_cosh": losses.LogCosh,
    "cosine_similarity": losses.CosineSimilarity,
    "kl_divergence": losses.KLDivergence,
    "poisson": losses.Poisson,
    "binary_crossentropy": losses.BinaryCrossentropy,
    "binary_focal_crossentropy": losses.BinaryFocalCrossentropy,
    "categorical_crossentropy": losses.CategoricalCrossentropy,
    "categorical_focal_crossentropy": losses.CategoricalFocalCrossentropy,
    "sparse_categorical_crossentropy": losses.SparseCategoricalCrossentropy,
    "hinge": losses.Hinge,
    "squared_hinge": losses.SquaredHinge,
    "categorical_hinge": losses.CategoricalHinge,
}

_ONE_HOT = ("categorical_crossentropy", "categorical_focal_crossentropy", "categorical_hinge")
_PROBS = ("kl_divergence", "binary_crossentropy", "binary_focal_crossentropy", "poisson",
          "mean_squared_logarithmic_error")


#: One batch shape for every test, so compiled kernels are reused across tests.
SHAPE = (6, 4)


def make_inputs(name: str, rng: np.random.Generator, shape=SHAPE):
    """y_true, y_pred (float32 NumPy) suited to the loss ``name``."""
    batch, classes = shape
    if name == "sparse_categorical_crossentropy":
        return rng.integers(0, classes, size=(batch,)), rng.dirichlet(np.ones(classes), batch).astype("float32")
    if name in _ONE_HOT:
        y_true = np.eye(classes, dtype="float32")[rng.integers(0, classes, size=batch)]
        return y_true, rng.dirichlet(np.ones(classes), batch).astype("float32")
    if name in ("hinge", "squared_hinge"):
        return rng.choice([-1.0, 1.0], size=shape).astype("float32"), rng.normal(size=shape).astype("float32")
    if name in _PROBS:
        y_true = rng.integers(0, 2, size=shape).astype("float32") if "binary" in name else \
            rng.uniform(0.05, 1, size=shape).astype("float32")
        return y_true, rng.uniform(0.05, 0.95, size=shape).astype("float32")
    return rng.normal(size=shape).astype("float32"), rng.normal(size=shape).astype("float32")


def close(actual, expected, rtol=1e-4, atol=1e-5):
    np.testing.assert_allclose(ops.to_numpy(actual), expected, rtol=rtol, atol=atol)


def keras_loss(name: str, *args, **kwargs) -> np.ndarray:
    """A Keras 3 loss class (NumPy backend) called on NumPy data."""
    os.environ.setdefault("KERAS_BACKEND", "numpy")
    import keras

    return np.asarray(getattr(keras.losses, name)(**kwargs)(*args))


# ----------------------------------------------------------------- formulas
@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_function_matches_numpy(engine, rng, name):
    y_true, y_pred = make_inputs(name, rng)
    out = getattr(losses, name)(ops.convert_to_tensor(y_true), ops.convert_to_tensor(y_pred))
    assert tuple(ops.shape(out)) == (6,)
    close(out, REFERENCE[name](y_true.astype("float64"), y_pred.astype("float64")))


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_class_reductions_and_sample_weight(engine, rng, name):
    y_true, y_pred = make_inputs(name, rng)
    per_sample = REFERENCE[name](y_true.astype("float64"), y_pred.astype("float64"))
    weight = rng.uniform(0, 2, size=(6,)).astype("float32")
    cls = CLASSES[name]
    close(cls()(y_true, y_pred), per_sample.mean())
    close(cls(reduction="sum")(y_true, y_pred, sample_weight=weight), (per_sample * weight).sum())
    close(cls(reduction="sum_over_batch_size")(y_true, y_pred, sample_weight=weight), (per_sample * weight).mean())
    close(cls(reduction="mean_with_sample_weight")(y_true, y_pred, sample_weight=weight),
          (per_sample * weight).sum() / weight.sum())
    for none in (None, "none"):
        close(cls(reduction=none)(y_true, y_pred, sample_weight=weight), per_sample * weight)


def test_keras_numbers(engine, rng):
    y_true = rng.integers(0, 2, size=SHAPE).astype("float32")
    probs = rng.uniform(0.02, 0.98, size=SHAPE).astype("float32")
    logits = rng.normal(size=SHAPE).astype("float32")
    weight = rng.uniform(0, 1, size=(6,)).astype("float32")
    one_hot = np.eye(4, dtype="float32")[[0, 2, 1, 3, 0, 2]]
    cases = [
        ("BinaryCrossentropy", (y_true, logits, weight), dict(from_logits=True, label_smoothing=0.2)),
        ("BinaryFocalCrossentropy", (y_true, probs), dict(apply_class_balancing=True, gamma=1.5)),
        ("CategoricalCrossentropy", (one_hot, logits, weight), dict(from_logits=True, label_smoothing=0.1)),
        ("SparseCategoricalCrossentropy", (np.array([0, 2, -1, 3, -1, 2]), logits),
         dict(from_logits=True, ignore_class=-1)),
        ("Huber", (y_true, logits, weight), dict(delta=0.5, reduction="sum")),
        ("LogCosh", (y_true, logits), {}),
        ("CosineSimilarity", (y_true + 0.1, logits), {}),
        ("Hinge", (y_true, logits), {}),
        ("CategoricalHinge", (one_hot, logits), {}),
        ("KLDivergence", (probs, probs[::-1].copy()), {}),
    ]
    for name, args, kwargs in cases:
        expected = keras_loss(name, *args, **kwargs)
        close(getattr(losses, name)(**kwargs)(*args), expected, rtol=2e-4)


# ------------------------------------------------- smoothing, logits, classes
def test_label_smoothing(engine, rng):
    y = np.eye(4, dtype="float32")[rng.integers(0, 4, size=6)]
    p = rng.dirichlet(np.ones(4), 6).astype("float32")
    close(losses.CategoricalCrossentropy(label_smoothing=0.2)(y, p), _cce(y * 0.8 + 0.05, p).mean())
    b = rng.integers(0, 2, size=SHAPE).astype("float32")
    q = rng.uniform(0.1, 0.9, size=SHAPE).astype("float32")
    close(losses.BinaryCrossentropy(label_smoothing=0.3)(b, q), _bce(b * 0.7 + 0.15, q).mean())


def test_from_logits_equals_probabilities(engine, rng):
    logits = rng.normal(size=SHAPE).astype("float32")
    ids = rng.integers(0, 4, size=(6,))
    one_hot = np.eye(4, dtype="float32")[ids]
    expected = _cce(one_hot, _softmax(logits.astype("float64"))).mean()
    close(losses.CategoricalCrossentropy(from_logits=True)(one_hot, logits), expected)
    close(losses.SparseCategoricalCrossentropy(from_logits=True)(ids, logits), expected)
    binary = rng.integers(0, 2, size=SHAPE).astype("float32")
    close(losses.BinaryCrossentropy(from_logits=True)(binary, logits),
          _bce(binary, 1 / (1 + np.exp(-logits.astype("float64")))).mean())
    close(losses.BinaryFocalCrossentropy(from_logits=True)(binary, logits),
          _focal(binary, 1 / (1 + np.exp(-logits.astype("float64")))).mean())


def test_sparse_ignore_class_and_shapes(engine, rng):
    logits = rng.normal(size=(2, 3, 4)).astype("float32")
    ids = np.array([[0, 255, 3], [255, 1, 2]])
    valid = ids != 255
    per_entry = _cce(np.eye(4)[np.where(valid, ids, 0)], _softmax(logits.astype("float64")))
    loss = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=255)
    close(loss(ids, logits), per_entry[valid].mean())
    close(loss(ids[..., None], logits), per_entry[valid].mean())  # trailing axis of 1
    none = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=255, reduction=None)
    close(none(ids, logits), np.where(valid, per_entry, 0.0))
    channels_first = losses.SparseCategoricalCrossentropy(from_logits=True, axis=1)
    close(channels_first(ids % 4, np.moveaxis(logits, -1, 1)),
          _cce(np.eye(4)[ids % 4], _softmax(logits.astype("float64"))).mean())


def test_huber_delta_and_cosine_axis(engine, rng):
    t, p = rng.normal(size=SHAPE).astype("float32"), rng.normal(size=SHAPE).astype("float32")
    err = np.abs(p - t).astype("float64")
    close(losses.Huber(delta=0.3)(t, p), np.where(err <= 0.3, 0.5 * err**2, 0.3 * err - 0.045).mean())
    close(losses.cosine_similarity(t, p, axis=0), -(_l2n(t, 0) * _l2n(p, 0)).sum(0))
    close(losses.cosine_similarity(np.zeros(SHAPE), np.ones(SHAPE)), np.zeros(6))


def test_hinge_converts_binary_labels(engine):
    close(losses.hinge([[0.0, 1.0]], [[0.5, 0.5]]), [1.0])  # {0,1} -> {-1,1}
    close(losses.hinge([[-1.0, 1.0]], [[0.5, 0.5]]), [1.0])


# ---------------------------------------------------- weights and masks
def test_sample_weight_broadcasts_over_timesteps(engine, rng):
    t, p = rng.normal(size=(2, 3, 4)).astype("float32"), rng.normal(size=(2, 3, 4)).astype("float32")
    per_step = ((t - p) ** 2).mean(-1)  # (2, 3)
    weight = np.array([0.0, 2.0], "float32")
    close(losses.MeanSquaredError()(t, p, sample_weight=weight), (per_step * weight[:, None]).mean())
    close(losses.MeanSquaredError()(t, p, sample_weight=weight[:, None]), (per_step * weight[:, None]).mean())
    close(losses.MeanSquaredError(reduction="sum")(t, p, sample_weight=2.0), 2 * per_step.sum())


def test_mask_averages_over_valid_entries(engine, rng):
    t, p = rng.normal(size=(2, 3, 4)).astype("float32"), rng.normal(size=(2, 3, 4)).astype("float32")
    per_step = ((t - p) ** 2).mean(-1)
    mask = rng.integers(0, 2, size=(2, 3)).astype(bool)
    mask[0, 0] = True
    weight = rng.uniform(0.5, 1.5, size=(2,)).astype("float32")
    close(losses.MeanSquaredError()(t, p, mask=mask), per_step[mask].mean())
    close(losses.MeanSquaredError(reduction="sum")(t, p, mask=mask), per_step[mask].sum())
    close(losses.MeanSquaredError()(t, p, sample_weight=weight, mask=mask),
          (per_step * weight[:, None])[mask].sum() / mask.sum())
    close(losses.MeanSquaredError()(t, p, mask=np.zeros((2, 3), bool)), 0.0)


# --------------------------------------------------------- configs and lookups
@pytest.mark.parametrize("cls", losses.classes.LOSS_CLASSES, ids=lambda c: c.__name__)
def test_config_round_trip(cls):
    default = cls()
    assert default.reduction == "sum_over_batch_size"
    config = default.get_config()
    assert json.loads(json.dumps(config)) == config
    again = cls.from_config(config)
    assert again.get_config() == config
    restored = losses.deserialize(json.loads(json.dumps(losses.serialize(cls(reduction="sum", name="x")))))
    assert type(restored) is cls and restored.reduction == "sum" and restored.name == "x"


def test_config_keeps_arguments():
    loss = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1, axis=1, reduction=None)
    again = losses.deserialize(losses.serialize(loss))
    assert (again.from_logits, again.ignore_class, again.axis, again.reduction) == (True, -1, 1, None)
    focal = losses.deserialize(losses.serialize(losses.BinaryFocalCrossentropy(alpha=0.4, gamma=3.0,
                                                                               apply_class_balancing=True)))
    assert (focal.alpha, focal.gamma, focal.apply_class_balancing) == (0.4, 3.0, True)
    wrapped = losses.LossFunctionWrapper(losses.huber, name="h", delta=2.0)
    again = losses.deserialize(json.loads(json.dumps(losses.serialize(wrapped))))
    assert again.fn is losses.huber and again.name == "h" and again.get_config()["delta"] == 2.0
    assert losses.serialize(losses.kl_divergence) == "kl_divergence"


def test_get_and_resolve():
    assert losses.get("mse") is losses.mean_squared_error
    assert losses.get("MAE") is losses.mean_absolute_error
    assert losses.get("kld") is losses.kl_divergence
    assert isinstance(losses.get("BinaryCrossentropy"), losses.BinaryCrossentropy)
    assert isinstance(losses.get({"class_name": "Huber", "config": {"delta": 3.0}}), losses.Huber)
    assert losses.get(None) is None
    instance = losses.Poisson()
    assert losses.get(instance) is instance
    assert losses.resolve("ce", (8,), (8, 5)).fn is losses.sparse_categorical_crossentropy
    assert losses.resolve("crossentropy", (8, 1), (8, 1)).fn is losses.binary_crossentropy
    assert losses.resolve("ce", (8, 5), (8, 5)).fn is losses.categorical_crossentropy
    assert losses.resolve("mse").name == "mse"
    with pytest.raises(ValueError, match="'not_a_loss'"):
        losses.get("not_a_loss")


# --------------------------------------------------------------- bad inputs
def test_bad_inputs_name_the_loss_and_shapes(engine):
    with pytest.raises(ValueError, match=r"MeanSquaredError.*\(2, 3\).*\(2, 4\)"):
        losses.MeanSquaredError()(np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"binary_crossentropy.*\(4, 2\).*\(4, 3\)"):
        losses.binary_crossentropy(np.ones((4, 2)), np.full((4, 3), 0.5))
    with pytest.raises(ValueError, match=r"categorical_crossentropy.*sparse_categorical_crossentropy"):
        losses.CategoricalCrossentropy()(np.array([0, 1]), np.full((2, 3), 0.3))
    with pytest.raises(ValueError, match=r"SparseCategoricalCrossentropy.*\(2,\).*\(3,\)"):
        losses.SparseCategoricalCrossentropy()(np.array([0, 1, 2]), np.full((2, 3), 0.3))
    with pytest.raises(ValueError, match=r"MeanAbsoluteError.*sample_weight.*\(3,\)"):
        losses.MeanAbsoluteError()(np.ones((2, 3)), np.ones((2, 3)), sample_weight=np.ones(3))
    with pytest.raises(ValueError, match=r"reduction.*'avg'"):
        losses.Huber(reduction="avg")
    with pytest.raises(ValueError, match=r"axis"):
        losses.BinaryCrossentropy(axis=3)(np.ones((2, 3)), np.full((2, 3), 0.5))


# ---------------------------------------------------------------- gradients
@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_gradients_are_finite(diff_engine, rng, name):
    y_true, y_pred = make_inputs(name, rng)
    loss = CLASSES[name]()
    value, (grad,) = ops.value_and_grad(lambda params: loss(y_true, params[0]))([ops.convert_to_tensor(y_pred)])
    grad = ops.to_numpy(grad)
    assert grad.shape == y_pred.shape and np.all(np.isfinite(grad)) and np.any(grad != 0)
    close(value, REFERENCE[name](y_true.astype("float64"), y_pred.astype("float64")).mean())


def test_gradient_of_mse_matches_formula_under_jit(diff_engine, rng):
    t, p = rng.normal(size=SHAPE).astype("float32"), rng.normal(size=SHAPE).astype("float32")
    step = ops.jit(ops.value_and_grad(lambda params, y: losses.MeanSquaredError()(y, params[0])))
    value, (grad,) = step([ops.convert_to_tensor(p)], ops.convert_to_tensor(t))
    close(value, ((t - p) ** 2).mean())
    close(grad, 2 * (p - t) / t.size)


def test_ignored_entries_get_no_gradient(diff_engine, rng):
    logits = ops.convert_to_tensor(rng.normal(size=SHAPE).astype("float32"))
    loss = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)
    _, (grad,) = ops.value_and_grad(lambda params: loss(np.array([1, -1, 2, 0, 3, 1]), params[0]))([logits])
    grad = ops.to_numpy(grad)
    assert np.all(grad[1] == 0) and np.all(np.isfinite(grad)) and np.any(grad[0] != 0)


# -------------------------------------------------------------- custom losses
class _Cubic(losses.Loss):
    def __init__(self, power: float = 3.0, **kwargs):
        super().__init__(**kwargs)
        self.power = power

    def call(self, y_true, y_pred):
        return ops.mean(ops.power(ops.abs(ops.subtract(y_pred, y_true)), self.power), axis=-1)

    def get_config(self):
        return {**super().get_config(), "power": self.power}


def test_custom_loss_subclass(engine, rng):
    t, p = rng.normal(size=SHAPE).astype("float32"), rng.normal(size=SHAPE).astype("float32")
    weight = rng.uniform(size=(6,)).astype("float32")
    loss = _Cubic(power=3.0, reduction="sum")
    assert loss.name.endswith("cubic")  # the snake-case class name
    close(loss(t, p, sample_weight=weight), ((np.abs(p - t) ** 3).mean(-1) * weight).sum())
    restored = losses.deserialize(json.loads(json.dumps(losses.serialize(loss))), custom_objects={"_Cubic": _Cubic})
    assert type(restored) is _Cubic and restored.power == 3.0 and restored.reduction == "sum"
    with pytest.raises(ValueError, match="_Cubic"):
        losses.deserialize(losses.serialize(loss))
