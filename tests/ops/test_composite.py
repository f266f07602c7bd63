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
    "categorical_crossentropy": ("loss", lambda: ops.categorical_crossentropy(tensor(_HOT), tensor(_X[0]), from_logits=True)),
    "sparse_categorical_crossentropy": ("loss", lambda: ops.sparse_categorical_crossentropy(tensor(_IDS), tensor(_P))),
    "clip": ("elementwise", lambda: ops.clip(tensor(_X), -1.0, 2.0)),
    "dot": ("matmul", lambda: ops.dot(tensor(_X), tensor(_X[0].T))),
    "dropout": ("elementwise", lambda: ops.random.dropout(tensor(_X), 0.5, seed=1)),
    "elu": ("nn", lambda: ops.elu(tensor(_X), alpha=0.7)),
    "gelu": ("nn", lambda: ops.stack([ops.gelu(tensor(_X)), ops.gelu(tensor(_X), approximate=False)])),
    "hard_sigmoid": ("nn", lambda: ops.hard_sigmoid(tensor(_X))),
    "hard_silu": ("nn", lambda: ops.hard_silu(tensor(_X))),
    "isfinite": ("elementwise", lambda: ops.isfinite(tensor(np.array([1.0, np.inf, -np.inf, np.nan], np.float32)))),
    "leaky_relu": ("nn", lambda: ops.leaky_relu(tensor(_X), 0.1)),
    "logical_xor": ("elementwise", lambda: ops.logical_xor(tensor(_BOOL), tensor(np.ascontiguousarray(_BOOL[:, ::-1])))),
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

COVERED_COMPOSITES = set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_composite_matches_native(engine, name):
    family, call = CASES[name]
    native = call()
    with B.composite():
        assert B.active() is not engine, "composite() should swap in the portable view"
        portable = call()
    assert ops.dtype(portable) == ops.dtype(native), f"{name}: composite dtype {ops.dtype(portable)}, native {ops.dtype(native)}"
    assert_close(numpy(portable), numpy(native), family, ops.dtype(native),
                 err_msg=f"{name} on {engine.name}: composite vs native")


def test_every_composite_has_a_case():
    missing = set(B.protocol()["composites"]) - COVERED_COMPOSITES
    assert not missing, f"composites with no composite-vs-native case in {__file__}: {sorted(missing)}"


def test_composite_restores_the_engine(engine):
    with B.composite():
        pass
    assert B.active() is engine
