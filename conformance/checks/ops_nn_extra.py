"""Forward and gradient cases of the further ``keras.ops.nn`` ops
(``polykeras/ops/nn_extra.py``): each against a float64 NumPy reference
written here from the op's definition.

``CASES`` join :data:`conformance.checks.ops.FORWARD_CASES`; ``GRADIENTS``
and ``NOT_DIFFERENTIABLE`` join :mod:`conformance.checks.ops_gradients`.

Example:
    >>> sorted({case.op for case in CASES})[:2]
    ['celu', 'depth_to_space']
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from conformance import reference as ref
from conformance import strategies as cs
from conformance.checks.base import Profile
from conformance.checks.opcase import Example, OpCase, fixed, unary
from polykeras import ops

__all__ = ["CASES", "GRADIENTS", "NOT_DIFFERENTIABLE", "attention", "sparsemax"]

CASES: list[OpCase] = []
GRADIENTS: dict[str, tuple[Any, Any, Any]] = {}
NOT_DIFFERENTIABLE: dict[str, str] = {
    "multi_hot": "integer ids in, an indicator out: no gradient",
    "ctc_decode": "an argmax decoding: integer labels, piecewise-constant score",
}
EPS = 1e-7  # keras.config.epsilon(), the default epsilon of the normalisations


# ------------------------------------------------------------- references
def sparsemax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """The projection of ``x`` onto the probability simplex along ``axis``."""
    x = np.moveaxis(np.asarray(x, np.float64), axis, -1)
    z = -np.sort(-x, axis=-1)
    k = np.arange(1, x.shape[-1] + 1)
    cumulative = np.cumsum(z, axis=-1)
    support = 1 + k * z > cumulative
    count = support.sum(-1, keepdims=True)
    tau = (np.take_along_axis(cumulative, count - 1, -1) - 1) / count
    return np.moveaxis(np.maximum(x - tau, 0.0), -1, axis)


def attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, bias: Any = None, mask: Any = None,
              scale: float | None = None, is_causal: bool = False, attn_logits_soft_cap: float | None = None
              ) -> np.ndarray:
    """Scaled dot-product attention in float64 (BTNH layout, grouped heads)."""
    repeat = q.shape[2] // k.shape[2]
    k, v = np.repeat(k, repeat, axis=2), np.repeat(v, repeat, axis=2)
    scale = 1.0 / np.sqrt(q.shape[-1]) if scale is None else scale
    logits = np.einsum("btnh,bsnh->bnts", q, k) * scale
    if attn_logits_soft_cap is not None:
        logits = np.tanh(logits / attn_logits_soft_cap) * attn_logits_soft_cap
    if bias is not None:
        logits = logits + bias
    keep = np.ones(logits.shape, bool)
    if mask is not None:
        keep = keep & np.asarray(mask, bool)
    if is_causal:
        keep = keep & np.tril(np.ones(logits.shape[-2:], bool))
    logits = np.where(keep, logits, -0.7 * np.finfo(np.float32).max)
    weights = np.exp(logits - logits.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    return np.einsum("bnts,bsnh->btnh", weights, v)


def _space_to_depth(x: np.ndarray, b: int) -> np.ndarray:
    n, h, w, c = x.shape
    return x.reshape(n, h // b, b, w // b, b, c).transpose(0, 1, 3, 2, 4, 5).reshape(n, h // b, w // b, b * b * c)


def _depth_to_space(x: np.ndarray, b: int) -> np.ndarray:
    n, h, w, c = x.shape
    return x.reshape(n, h, w, b, b, c // (b * b)).transpose(0, 1, 3, 2, 4, 5).reshape(n, h * b, w * b, c // (b * b))


def _layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, epsilon: float = EPS) -> np.ndarray:
    mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + epsilon) * gamma + beta


def _rms_norm(x: np.ndarray, scale: np.ndarray, epsilon: float = EPS) -> np.ndarray:
    return x / np.sqrt(np.mean(x * x, -1, keepdims=True) + epsilon) * scale


def _normalize(x: np.ndarray, order: int = 2) -> np.ndarray:
    return x / np.maximum(np.sum(np.abs(x) ** order, -1, keepdims=True) ** (1.0 / order), EPS)


_ACTIVATIONS: list[tuple[str, Any, dict[str, Any]]] = [
    ("celu", lambda x: np.maximum(x, 0) + np.expm1(np.minimum(x, 0)), {}),
    ("glu", lambda x: np.split(x, 2, -1)[0] * ref.sigmoid(np.split(x, 2, -1)[1]), {}),
    ("log_sigmoid", lambda x: -ref.softplus(-x), {}),
    ("hard_tanh", lambda x: np.clip(x, -1, 1), {}),
    ("hard_shrink", lambda x: np.where(np.abs(x) > 0.5, x, 0.0), {}),
    ("soft_shrink", lambda x: np.where(x > 0.5, x - 0.5, np.where(x < -0.5, x + 0.5, 0.0)), {}),
    ("tanh_shrink", lambda x: x - np.tanh(x), {}),
    ("sparse_plus", lambda x: np.where(x <= -1, 0.0, np.where(x >= 1, x, (x + 1) ** 2 / 4)), {}),
    ("sparse_sigmoid", lambda x: np.clip((x + 1) / 2, 0, 1), {}),
    ("squareplus", lambda x: (x + np.sqrt(x * x + 4)) / 2, {}),
    ("sparsemax", sparsemax, {}),
    ("hard_swish", ref.hard_silu, {}),
    ("swish", ref.silu, {}),
]


def _even_last(dtype: str, profile: Profile) -> st.SearchStrategy[Example]:
    shape = cs.shapes(min_rank=1, max_rank=3, max_side=profile.max_side).map(lambda s: (*s[:-1], 2 * s[-1]))
    return cs.arrays(dtype, shape, min_value=-4.0, max_value=4.0).map(lambda x: Example((x,)))


for _name, _ref, _kw in _ACTIVATIONS:
    _example = _even_last if _name == "glu" else unary(min_rank=1, max_rank=3, min_value=-4.0, max_value=4.0)
    CASES.append(OpCase(_name, _example, getattr(ops, _name), _ref, "transcendental"))
CASES.append(OpCase("threshold", unary(min_value=-4.0, max_value=4.0), lambda x: ops.threshold(x, 0.5, -3.0),
                    lambda x: np.where(x > 0.5, x, -3.0), "elementwise", label="threshold(0.5, -3.0)"))
CASES.append(OpCase("celu", unary(min_value=-4.0, max_value=4.0), lambda x: ops.celu(x, alpha=0.5),
                    lambda x: np.maximum(x, 0) + 0.5 * np.expm1(np.minimum(x, 0) / 0.5), "transcendental",
                    label="celu(alpha=0.5)"))


def _vectors(dtype: str, profile: Profile) -> st.SearchStrategy[Example]:
    @st.composite
    def draw(d: Any) -> Example:
        shape = d(cs.shapes(min_rank=1, max_rank=3, max_side=profile.max_side).filter(lambda s: s[-1] > 1))
        x = d(cs.arrays(dtype, shape, min_value=-4.0, max_value=4.0))
        g = d(cs.arrays(dtype, (shape[-1],), min_value=-2.0, max_value=2.0))
        b = d(cs.arrays(dtype, (shape[-1],), min_value=-2.0, max_value=2.0))
        return Example((x, g, b))
    return draw()


CASES += [
    OpCase("layer_normalization", _vectors, lambda x, g, b: ops.layer_normalization(x, g, b, epsilon=1e-3),
           lambda x, g, b: _layer_norm(x, g, b, 1e-3), "nn"),
    OpCase("rms_normalization", _vectors, lambda x, g, b: ops.rms_normalization(x, g, epsilon=1e-3),
           lambda x, g, b: _rms_norm(x, g, 1e-3), "nn"),
    OpCase("normalize", unary(min_rank=1, max_rank=3, min_value=-4.0, max_value=4.0, min_magnitude=0.1),
           ops.normalize, _normalize, "nn"),
    OpCase("normalize", unary(min_rank=1, max_rank=3, min_value=-4.0, max_value=4.0, min_magnitude=0.1),
           lambda x: ops.normalize(x, order=1), lambda x: _normalize(x, 1), "nn", label="normalize(order=1)"),
    OpCase("psnr", fixed(np.linspace(0, 1, 12).reshape(3, 4), np.linspace(0, 1, 12).reshape(3, 4) ** 1.1),
           lambda a, b: ops.psnr(a, b, 1.0),
           lambda a, b: 20 * np.log10(1.0) - 10 * np.log10(np.mean((a - b) ** 2)), "transcendental"),
    OpCase("multi_hot", fixed(np.array([[1, 3, 3], [0, 4, 2]], np.int32)), lambda x: ops.multi_hot(x, 6),
           lambda x: np.stack([np.isin(np.arange(6), row) for row in x]).astype(np.float64), "elementwise",
           dtypes=("int32",), out="float32"),
]

_IMAGES = np.arange(2 * 4 * 6 * 3, dtype=np.float64).reshape(2, 4, 6, 3) / 10.0
CASES += [
    OpCase("space_to_depth", fixed(_IMAGES), lambda x: ops.space_to_depth(x, 2), lambda x: _space_to_depth(x, 2),
           "elementwise"),
    OpCase("depth_to_space", fixed(_IMAGES.reshape(2, 2, 3, 12)), lambda x: ops.depth_to_space(x, 2),
           lambda x: _depth_to_space(x, 2), "elementwise"),
    OpCase("separable_conv", fixed(_IMAGES, np.linspace(-1, 1, 27).reshape(3, 3, 3, 1),
                                   np.linspace(-1, 1, 12).reshape(1, 1, 3, 4)),
           lambda x, d, p: ops.separable_conv(x, d, p, padding="same"),
           lambda x, d, p: ref.conv(ref.depthwise_conv(x, d, 1, "same"), p, 1, "valid"), "conv"),
]


def adaptive_pool(x: np.ndarray, output_size: Any, largest: bool) -> np.ndarray:
    """Adaptive pooling (channels_last) in NumPy: bin ``i`` of length ``L``
    covers ``[floor(i L / n), ceil((i + 1) L / n))`` on every spatial axis."""
    import itertools

    rank = x.ndim - 2
    sizes = (output_size,) * rank if isinstance(output_size, int) else tuple(output_size)
    out = np.empty((x.shape[0], *sizes, x.shape[-1]))
    for cell in itertools.product(*[range(n) for n in sizes]):
        box = tuple(slice(i * x.shape[1 + a] // n, -(-(i + 1) * x.shape[1 + a] // n))
                    for a, (i, n) in enumerate(zip(cell, sizes)))
        region = x[(slice(None), *box, slice(None))].reshape(x.shape[0], -1, x.shape[-1])
        out[(slice(None), *cell, slice(None))] = region.max(1) if largest else region.mean(1)
    return out


for _name, _largest in (("adaptive_average_pool", False), ("adaptive_max_pool", True)):
    CASES.append(OpCase(_name, fixed(_IMAGES[:, :, :5]), lambda x, _n=_name: getattr(ops, _n)(x, (3, 2)),
                        lambda x, _l=_largest: adaptive_pool(x, (3, 2), _l), "pool"))
    CASES.append(OpCase(_name, fixed(_IMAGES[0]), lambda x, _n=_name: getattr(ops, _n)(x, 4),
                        lambda x, _l=_largest: adaptive_pool(x, 4, _l), "pool", label=f"{_name}(1d)"))


def ctc_loss(target: np.ndarray, logits: np.ndarray, target_length: np.ndarray, output_length: np.ndarray,
             blank: int = 0) -> np.ndarray:
    """CTC loss by brute force: the log-sum over every frame labelling that
    collapses (merge repeats, drop blanks) to the target. Tiny inputs only."""
    import itertools

    log_probs = logits - np.log(np.sum(np.exp(logits - logits.max(-1, keepdims=True)), -1,
                                       keepdims=True)) - logits.max(-1, keepdims=True)
    losses = []
    for b in range(len(logits)):
        frames, want = int(output_length[b]), [int(c) for c in target[b][:int(target_length[b])]]
        total = []
        for path in itertools.product(range(logits.shape[-1]), repeat=frames):
            collapsed = [c for i, c in enumerate(path) if c != blank and (i == 0 or c != path[i - 1])]
            if collapsed == want:
                total.append(sum(log_probs[b, t, c] for t, c in enumerate(path)))
        top = max(total)
        losses.append(-(top + np.log(np.sum(np.exp(np.array(total) - top)))))
    return np.array(losses)


_CTC = (np.array([[1, 2], [2, 2], [1, 0]], np.int32), np.random.default_rng(3).normal(size=(3, 5, 3)),
        np.array([2, 2, 1], np.int32), np.array([5, 5, 3], np.int32))
CASES.append(OpCase("ctc_loss", fixed(*_CTC), ops.ctc_loss, ctc_loss, "loss"))


def ctc_greedy(logits: np.ndarray, lengths: np.ndarray, blank: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Greedy CTC decoding in plain Python: per sample, the argmax labels
    with repeats merged and blanks dropped, padded with -1; score as Keras 3."""
    batch, steps, _ = logits.shape
    decoded = np.full((1, batch, steps), -1, np.int32)
    for b in range(batch):
        best = list(logits[b, :lengths[b]].argmax(-1))
        kept = [c for i, c in enumerate(best) if c != blank and (i == 0 or c != best[i - 1])]
        decoded[0, b, :len(kept)] = kept
    scores = np.array([[-logits[b, :lengths[b]].max(-1).sum()] for b in range(batch)])
    return decoded, scores


CASES.append(OpCase("ctc_decode", fixed(_CTC[1], _CTC[3]), ops.ctc_decode, ctc_greedy, "loss",
                    out=("int32", None)))


def _qkv(rng: np.random.Generator, t: int = 5, s: int = 6, heads: int = 4, kv_heads: int = 2) -> list[np.ndarray]:
    return [rng.normal(size=(2, t, heads, 8)), rng.normal(size=(2, s, kv_heads, 8)),
            rng.normal(size=(2, s, kv_heads, 8))]


_RNG = np.random.default_rng(7)
_Q, _K, _V = _qkv(_RNG)
_MASK = _RNG.uniform(size=(2, 1, 5, 6)) > 0.3
_BIAS = _RNG.normal(size=(1, 4, 5, 6))
for _label, _kw in [("dot_product_attention", {}), ("dot_product_attention(is_causal)", {"is_causal": True}),
                    ("dot_product_attention(mask, bias)", {"mask": _MASK, "bias": _BIAS}),
                    ("dot_product_attention(mask, causal, scale)", {"mask": _MASK, "is_causal": True, "scale": 0.2}),
                    ("dot_product_attention(soft_cap)", {"attn_logits_soft_cap": 1.5})]:
    CASES.append(OpCase(
        "dot_product_attention", fixed(_Q, _K, _V),
        lambda q, k, v, _kw=_kw: ops.dot_product_attention(
            q, k, v, **{n: (ops.convert_to_tensor(a) if n == "mask" else ops.convert_to_tensor(a, ops.dtype(q)))
                        if isinstance(a, np.ndarray) else a for n, a in _kw.items()}),
        lambda q, k, v, _kw=_kw: attention(q, k, v, **_kw), "matmul", label=_label))


# -------------------------------------------------------------- gradients
def _uniform(*shapes: tuple[int, ...], low: float = -2.0, high: float = 2.0) -> Any:
    return lambda rng: [rng.uniform(low, high, s) for s in shapes]


def _off_kinks(*kinks: float) -> Any:
    def make(rng: np.random.Generator) -> list[np.ndarray]:
        x = rng.uniform(-3, 3, (2, 4))
        for kink in kinks:
            x = np.where(np.abs(x - kink) < 0.1, x + 0.25, x)
        return [x]
    return make


for _name, _ref, _kw in _ACTIVATIONS:
    _kinks = {"celu": (0.0,), "hard_tanh": (-1.0, 1.0), "hard_shrink": (-0.5, 0.5), "soft_shrink": (-0.5, 0.5),
              "sparse_plus": (-1.0, 1.0), "sparse_sigmoid": (-1.0, 1.0), "hard_swish": (-3.0, 3.0)}.get(_name, ())
    if _name == "sparsemax":
        continue
    GRADIENTS[_name] = (getattr(ops, _name), _ref, _off_kinks(*_kinks))
GRADIENTS["sparsemax"] = (ops.sparsemax, sparsemax,
                          lambda rng: [np.array([[0.3, 1.1, -0.4, 0.9], [2.0, 0.1, 1.7, -1.0]])
                                       + rng.uniform(-0.02, 0.02, (2, 4))])
GRADIENTS["threshold"] = (lambda x: ops.threshold(x, 0.5, -3.0), lambda x: np.where(x > 0.5, x, -3.0), _off_kinks(0.5))
GRADIENTS["layer_normalization"] = (lambda x, g, b: ops.layer_normalization(x, g, b, epsilon=1e-3),
                                    lambda x, g, b: _layer_norm(x, g, b, 1e-3), _uniform((2, 5), (5,), (5,)))
GRADIENTS["rms_normalization"] = (lambda x, g: ops.rms_normalization(x, g, epsilon=1e-3),
                                  lambda x, g: _rms_norm(x, g, 1e-3), _uniform((2, 5), (5,)))
GRADIENTS["normalize"] = (ops.normalize, _normalize, _uniform((2, 5), low=0.2, high=2.0))
GRADIENTS["psnr"] = (lambda a, b: ops.psnr(a, b, 1.0), lambda a, b: -10 * np.log10(np.mean((a - b) ** 2)),
                     _uniform((3, 4), (3, 4)))
GRADIENTS["space_to_depth"] = (lambda x: ops.space_to_depth(x, 2), lambda x: _space_to_depth(x, 2),
                               _uniform((1, 4, 2, 2)))
GRADIENTS["depth_to_space"] = (lambda x: ops.depth_to_space(x, 2), lambda x: _depth_to_space(x, 2),
                               _uniform((1, 2, 1, 8)))
GRADIENTS["adaptive_average_pool"] = (lambda x: ops.adaptive_average_pool(x, (2, 3)),
                                      lambda x: adaptive_pool(x, (2, 3), False), _uniform((1, 5, 7, 2)))
GRADIENTS["adaptive_max_pool"] = (lambda x: ops.adaptive_max_pool(x, (2, 3)), lambda x: adaptive_pool(x, (2, 3), True),
                                  lambda rng: [rng.permutation(np.linspace(-2, 2, 70)).reshape(1, 5, 7, 2)])
GRADIENTS["ctc_loss"] = (lambda logits: ops.ctc_loss(ops.convert_to_tensor(_CTC[0]), logits,
                                                     ops.convert_to_tensor(_CTC[2]), ops.convert_to_tensor(_CTC[3])),
                         lambda logits: ctc_loss(_CTC[0], logits, _CTC[2], _CTC[3]), _uniform((3, 5, 3)))
GRADIENTS["separable_conv"] = (lambda x, d, p: ops.separable_conv(x, d, p, padding="same"),
                               lambda x, d, p: ref.conv(ref.depthwise_conv(x, d, 1, "same"), p, 1, "valid"),
                               _uniform((1, 4, 4, 2), (3, 3, 2, 1), (1, 1, 2, 3)))
GRADIENTS["dot_product_attention"] = (lambda q, k, v: ops.dot_product_attention(q, k, v, is_causal=True),
                                      lambda q, k, v: attention(q, k, v, is_causal=True),
                                      lambda rng: _qkv(rng, 3, 3, 2, 1))
# Every row keeps one key: a row with nothing to attend has a uniform output on
# every engine, but torch's fused kernel still sends gradient into its logits.
_GRAD_MASK = _MASK[:, :, :3, :4] | (np.arange(4) == 3)
GRADIENTS["dot_product_attention(mask)"] = (
    lambda q, k, v: ops.dot_product_attention(q, k, v, mask=ops.convert_to_tensor(_GRAD_MASK)),
    lambda q, k, v: attention(q, k, v, mask=_GRAD_MASK), lambda rng: _qkv(rng, 3, 4, 2, 2))
