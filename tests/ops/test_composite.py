"""Composite vs native: under ``polykeras.backends.composite()`` every
composite op runs its portable definition from ``Backend``; it must give the
numbers of the engine's own kernel (where the engine has one)."""

from __future__ import annotations

import numpy as np
import pytest

import polykeras.backends as B
from conformance.tolerances import assert_close
from polykeras import ops

from ._helpers import numpy, tensor

_RNG = np.random.default_rng(0)
_X = _RNG.uniform(-4.0, 4.0, (3, 4, 5)).astype(np.float32)
_P = (_RNG.uniform(0.0, 1.0, (4, 5)) + 1e-3).astype(np.float32)
_HOT = np.eye(5, dtype=np.float32)[[0, 3, 1, 4]]
_IDS = np.array([0, 3, 1, 4], np.int32)
_BOOL = _X > 0

# composite name -> (family, call building the op from inputs)
CASES = {
    "batch_normalization": ("nn", lambda: ops.batch_normalization(
        tensor(_X), tensor(_P[0]), tensor(_P[1] + 0.5), axis=-1, offset=tensor(_P[2]), scale=tensor(_P[3]))),
    "binary_crossentropy": ("loss", lambda: ops.binary_crossentropy(tensor(_HOT), tensor(_P))),
    "categorical_crossentropy": ("loss", lambda: ops.categorical_crossentropy(tensor(_HOT), tensor(_X[0]),
                                                                              from_logits=True)),
    "sparse_categorical_crossentropy": ("loss", lambda: ops.sparse_categorical_crossentropy(tensor(_IDS), tensor(_P))),
    "clip": ("elementwise", lambda: ops.clip(tensor(_X), -1.0, 2.0)),
    "ctc_beam_search_decode": ("elementwise", lambda: ops.ctc_decode(
        tensor(_X), tensor(np.array([4, 2, 3], np.int32)), strategy="beam_search", beam_width=3, top_paths=2)),
    "dot": ("matmul", lambda: ops.dot(tensor(_X), tensor(_X[0].T))),
    "dropout": ("elementwise", lambda: ops.random.dropout(tensor(_X), 0.5, seed=1)),
    "elu": ("nn", lambda: ops.elu(tensor(_X), alpha=0.7)),
    "gelu": ("nn", lambda: ops.stack([ops.gelu(tensor(_X)), ops.gelu(tensor(_X), approximate=False)])),
    "hard_sigmoid": ("nn", lambda: ops.hard_sigmoid(tensor(_X))),
    "hard_silu": ("nn", lambda: ops.hard_silu(tensor(_X))),
    "isfinite": ("elementwise", lambda: ops.isfinite(tensor(np.array([1.0, np.inf, -np.inf, np.nan], np.float32)))),
    "leaky_relu": ("nn", lambda: ops.leaky_relu(tensor(_X), 0.1)),
    "logical_xor": ("elementwise",
                    lambda: ops.logical_xor(tensor(_BOOL), tensor(np.ascontiguousarray(_BOOL[:, ::-1])))),
    "layer_normalization": ("nn", lambda: ops.stack([
        ops.layer_normalization(tensor(_X), tensor(_P[0]), tensor(_P[1]), epsilon=1e-3),
        ops.layer_normalization(tensor(_X), tensor(_P[0, :3].reshape(3, 1, 1)), None, axis=(0, 2)),
        ops.layer_normalization(tensor(_X), tensor(_P[None]), tensor(_P), axis=(1, 2)),
        ops.layer_normalization(tensor(_X), None, tensor(_P[:, :1]), axis=(1, 2))])),
    "logsumexp": ("reduction", lambda: ops.logsumexp(tensor(_X), axis=(0, 2))),
    "mish": ("nn", lambda: ops.mish(tensor(_X))),
    "moments": ("reduction", lambda: ops.stack(list(ops.moments(tensor(_X), (0, 1))))),
    "moveaxis": ("elementwise", lambda: ops.moveaxis(tensor(_X), 0, -1)),
    "one_hot": ("elementwise", lambda: ops.one_hot(tensor(_IDS), 5, axis=0)),
    "ones_like": ("elementwise", lambda: ops.ones_like(tensor(_IDS))),
    "zeros_like": ("elementwise", lambda: ops.zeros_like(tensor(_X), dtype="int32")),
    "reciprocal": ("elementwise", lambda: ops.reciprocal(tensor(_P))),
    "relu6": ("nn", lambda: ops.relu6(tensor(_X * 3))),
    "rsqrt": ("transcendental", lambda: ops.rsqrt(tensor(_P))),
    "selu": ("nn", lambda: ops.selu(tensor(_X))),
    "silu": ("nn", lambda: ops.silu(tensor(_X))),
    "softsign": ("nn", lambda: ops.softsign(tensor(_X))),
    "square": ("elementwise", lambda: ops.square(tensor(_X))),
    "std": ("reduction", lambda: ops.std(tensor(_X), axis=1, keepdims=True)),
    "var": ("reduction", lambda: ops.var(tensor(_X), axis=(0, 2))),
}



def _rules(out):
    """An optimizer rule's outputs (lists of tensors, None for unused) as one flat tensor."""
    return ops.concatenate([ops.reshape(t, (-1,)) for group in out if group for t in group])


def _rule(name, *lists, **scalars):
    """Run ``{name}_update`` on fresh tensors; ``inplace=True`` lets an engine's fused kernel run."""
    args = [[tensor(a) for a in group] if isinstance(group, list) else tensor(group) for group in lists]
    return _rules(getattr(B.active(), f"{name}_update")(*args, inplace=True, **scalars))


_LR, _T = np.float32(0.1), np.int32(3)
CASES.update({
    "sgd_update": ("transcendental", lambda: _rule(
        "sgd", [_X[0]], [_X[1]], [_X[2]], _LR, momentum=0.9, nesterov=True)),
    "adam_update": ("transcendental", lambda: _rule(
        "adam", [_X[0], _P], [_X[1], _P], [_X[2], _P], [_P, _P * 3], _LR, _T, velocity_hats=[_P * 2, _P])),
    "rmsprop_update": ("transcendental", lambda: _rule(
        "rmsprop", [_X[0]], [_X[1]], [_P], [_X[2]], [_P * 0], _LR, momentum=0.5, centered=True)),
})


def _engine():
    return B.active()


def _params(*shapes):
    """The same arrays on every call (native and composite see equal inputs)."""
    rng = np.random.default_rng(2)
    return [tensor(rng.uniform(-1.0, 1.0, shape).astype(np.float32)) for shape in shapes]


_RNG_FIXED = np.random.default_rng(1)
_W = [_RNG_FIXED.uniform(-1, 1, s).astype(np.float32) for s in [(3, 2), (2,)]]
_G = [_RNG_FIXED.uniform(-1, 1, s).astype(np.float32) for s in [(3, 2), (2,)]]
_S = [_RNG_FIXED.uniform(0, 1, s).astype(np.float32) for s in [(3, 2), (2,)]]


def _fresh(arrays):
    return [tensor(a.copy()) for a in arrays]


# Protocol composites with no public op (optimizers and recurrent layers call
# the engine directly): compared through the engine method.
CASES.update({
    "sgd_update": ("elementwise", lambda: _engine().sgd_update(
        _fresh(_W), _fresh(_G), _fresh(_S), tensor(np.float32(0.1)), momentum=0.9, nesterov=True)),
    "adam_update": ("transcendental", lambda: _engine().adam_update(
        _fresh(_W), _fresh(_G), _fresh(_S), _fresh(_S), tensor(np.float32(0.01)), tensor(np.int32(3)),
        velocity_hats=_fresh(_S))),
    "rmsprop_update": ("transcendental", lambda: _engine().rmsprop_update(
        _fresh(_W), _fresh(_G), _fresh(_S), _fresh(_S), _fresh(_G), tensor(np.float32(0.01)), momentum=0.5,
        centered=True)),
    "scan": ("reduction", lambda: _engine().scan(
        lambda carry, x: (ops.add(ops.multiply(carry, 0.5), x), ops.square(carry)),
        tensor(np.zeros((2,), np.float32)), tensor(_X[:, 0, :2]), reverse=True)),
    "unstack": ("elementwise", lambda: _engine().unstack(tensor(_X[:, :2, 0]), 1)),
    "conv_bias": ("conv", lambda: ops.stack([
        _engine().conv_bias(tensor(_X[..., None]), *_params((3, 2, 1, 4), (4,)), (1, 2), "same", "channels_last",
                            (1, 1)),
        ops.moveaxis(_engine().conv_bias(tensor(_X[:, None]), *_params((3, 2, 1, 4), (4,)), (1, 2), "same",
                                         "channels_first", (1, 1)), 1, -1)])),
    "matmul_bias": ("matmul", lambda: ops.stack([
        _engine().matmul_bias(tensor(_X[:, :2, :3]), *_params((3, 4), (4,)))[:, :, :2],
        _engine().matmul_bias(tensor(_X[:, :2, :3]), *_params((3, 2), (2,)))])),
    "lstm": ("layer", lambda: _engine().lstm(
        tensor(_X[:2, :, :3] / 4), *_params((2, 2), (2, 2), (3, 8), (2, 8), (8,)), go_backwards=True)),
    "gru": ("layer", lambda: _engine().gru(tensor(_X[:2, :, :3] / 4), *_params((2, 2), (3, 6), (2, 6), (2, 6)))),
})



def _fused_batch_normalization():
    """Outputs, statistics and (on a differentiable engine) the gradients of a
    weighted sum of the outputs (x, scale, offset), for the features last and second."""
    engine = _engine()
    found = []
    for axis, features in ((-1, 5), (1, 4)):
        params = [tensor(_X), *_params((features,), (features,))]
        found += engine.fused_batch_normalization(params[0], axis, params[2], params[1], 1e-3)

        def weighted(values, axis=axis):
            outputs = engine.fused_batch_normalization(values[0], axis, values[2], values[1], 1e-3)[0]
            return ops.sum(ops.multiply(outputs, tensor(_X[::-1].copy())))

        if engine.differentiable:
            found += engine.value_and_grad(weighted)(params)[1]
    return found


CASES["fused_batch_normalization"] = ("nn", _fused_batch_normalization)

_SEED = np.array([1, 2], np.int32)

# Random draws: a composite and an engine's kernel draw different streams, so
# they are compared by what every draw must be (shape, dtype, range) instead
# of by value. Gamma and binomial have no portable definition: the portable
# view refuses them by name (and beta, built on gamma, with them).
DRAWS = {
    "randint": lambda: _engine().randint((2000,), tensor(_SEED), 3, 9, "int32"),
    "random_gamma": lambda: _engine().random_gamma((2000,), tensor(_SEED), 2.0, "float32"),
    "random_beta": lambda: _engine().random_beta((2000,), tensor(_SEED), 2.0, 3.0, "float32"),
    "random_binomial": lambda: _engine().random_binomial((2000,), tensor(_SEED), 5.0, 0.3, "float32"),
}
_DRAW_RANGES = {"randint": (3, 8), "random_gamma": (0.0, np.inf), "random_beta": (0.0, 1.0),
                "random_binomial": (0.0, 5.0)}

COVERED_COMPOSITES = set(CASES) | set(DRAWS)


@pytest.mark.parametrize("name", sorted(DRAWS))
def test_random_draw_composites(engine, name):
    low, high = _DRAW_RANGES[name]
    views = [("native", DRAWS[name])]
    if name == "randint":
        views.append(("composite", DRAWS[name]))
    for view, draw in views:
        if view == "composite":
            with B.composite():
                values = numpy(draw())
        else:
            values = numpy(draw())
        assert values.shape == (2000,), f"{name} ({view}): shape {values.shape}"
        assert values.min() >= low and values.max() <= high, f"{name} ({view}): values outside [{low}, {high}]"
        if name == "randint":
            assert values.dtype == np.int32 and set(np.unique(values)) == set(range(3, 9)), f"{name} ({view})"
    if name != "randint":
        with B.composite(), pytest.raises(NotImplementedError, match=r"random_gamma|random_binomial"):
            DRAWS[name]()


def _leaves(tree):
    if isinstance(tree, (list, tuple)):
        return [leaf for item in tree for leaf in _leaves(item)]
    return [] if tree is None else [tree]


@pytest.mark.parametrize("name", sorted(CASES))
def test_composite_matches_native(engine, name):
    family, call = CASES[name]
    native = _leaves(call())
    with B.composite():
        assert B.active() is not engine, "composite() should swap in the portable view"
        portable = _leaves(call())
    assert len(portable) == len(native), f"{name}: composite gave {len(portable)} tensors, native {len(native)}"
    for i, (a, b) in enumerate(zip(portable, native)):
        assert ops.dtype(a) == ops.dtype(b), f"{name}[{i}]: composite dtype {ops.dtype(a)}, native {ops.dtype(b)}"
        assert_close(numpy(a), numpy(b), family, ops.dtype(b),
                     err_msg=f"{name}[{i}] on {engine.name}: composite vs native")


def test_every_composite_has_a_case():
    missing = set(B.protocol()["composites"]) - COVERED_COMPOSITES
    assert not missing, f"composites with no composite-vs-native case in {__file__}: {sorted(missing)}"


def test_composite_restores_the_engine(engine):
    with B.composite():
        pass
    assert B.active() is engine
