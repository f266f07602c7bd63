"""float16 and bfloat16 rows: a representative set of ops and layers computed
in half precision on each engine, against the float64 reference computed from
the same (already rounded) inputs, within the tolerance table's float16 and
bfloat16 rows (``conformance/tolerances.py``, where the reasoning is).

Ops run on tensors of the half dtype and must return it. Layers run under the
dtype policies ``float16``, ``bfloat16``, ``mixed_float16`` and
``mixed_bfloat16`` (weights set from the same float32 values; the reference is
the same layer in float64 on the NumPy engine with the weights as the policy
stores them) and must return the policy's compute dtype.

Example:
    >>> from conformance.checks.half_precision import op_checks, layer_checks
    >>> [c.name for c in op_checks()][:2]
    ['add@half', 'average_pool@half']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import polykeras.backends as B
from conformance.checks.base import Check, Context, Skip, supports

__all__ = ["HALF", "LAYER_CASES", "OP_CASES", "layer_checks", "op_checks"]

HALF = ("float16", "bfloat16")
POLICIES = ("float16", "bfloat16", "mixed_float16", "mixed_bfloat16")


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _conv2d(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    n, h, w, _ = x.shape
    kh, kw, _, o = k.shape
    out = np.zeros((n, h - kh + 1, w - kw + 1, o))
    for i in range(h - kh + 1):
        for j in range(w - kw + 1):
            out[:, i, j, :] = np.tensordot(x[:, i:i + kh, j:j + kw, :], k, axes=3)
    return out


def _pool(x: np.ndarray, reduce: Callable[..., np.ndarray]) -> np.ndarray:
    n, h, w, c = x.shape
    return reduce(x[:, :h // 2 * 2, :w // 2 * 2, :].reshape(n, h // 2, 2, w // 2, 2, c), axis=(2, 4))


#: name -> (polykeras call on tensors, float64 reference, tolerance family, input shapes, value range)
OP_CASES: dict[str, tuple[Callable[..., Any], Callable[..., Any], str, tuple[tuple[int, ...], ...], float]] = {
    "add": (lambda o, a, b: o.add(a, b), np.add, "elementwise", ((3, 4), (3, 4)), 4.0),
    "multiply": (lambda o, a, b: o.multiply(a, b), np.multiply, "elementwise", ((3, 4), (4,)), 4.0),
    "exp": (lambda o, a: o.exp(a), np.exp, "transcendental", ((3, 4),), 3.0),
    "tanh": (lambda o, a: o.tanh(a), np.tanh, "transcendental", ((3, 4),), 3.0),
    "sum": (lambda o, a: o.sum(a, axis=-1), lambda a: a.sum(-1), "reduction", ((3, 8),), 2.0),
    "mean": (lambda o, a: o.mean(a, axis=0), lambda a: a.mean(0), "reduction", ((8, 3),), 2.0),
    "matmul": (lambda o, a, b: o.matmul(a, b), np.matmul, "matmul", ((3, 8), (8, 2)), 1.0),
    "relu": (lambda o, a: o.relu(a), lambda a: np.maximum(a, 0), "nn", ((3, 4),), 4.0),
    "sigmoid": (lambda o, a: o.sigmoid(a), lambda a: 1 / (1 + np.exp(-a)), "nn", ((3, 4),), 4.0),
    "softmax": (lambda o, a: o.softmax(a), _softmax, "nn", ((3, 5),), 4.0),
    "log_softmax": (lambda o, a: o.log_softmax(a), lambda a: np.log(_softmax(a)), "nn", ((3, 5),), 4.0),
    "conv": (lambda o, a, k: o.conv(a, k), _conv2d, "conv", ((1, 5, 5, 2), (3, 3, 2, 3)), 1.0),
    "max_pool": (lambda o, a: o.max_pool(a, 2, 2), lambda a: _pool(a, np.max), "pool", ((1, 4, 4, 2),), 4.0),
    "average_pool": (lambda o, a: o.average_pool(a, 2, 2), lambda a: _pool(a, np.mean), "pool", ((1, 4, 4, 2),), 4.0),
}

#: class name -> (constructor arguments, input shape, call keywords)
LAYER_CASES: dict[str, tuple[dict[str, Any], tuple[int, ...], dict[str, Any]]] = {
    "Dense": ({"units": 3, "activation": "tanh"}, (2, 6), {}),
    "Conv2D": ({"filters": 3, "kernel_size": 2}, (1, 4, 4, 2), {}),
    "LayerNormalization": ({}, (3, 6), {}),
    "BatchNormalization": ({}, (6, 4), {"training": True}),
    "Softmax": ({}, (2, 5), {}),
    "MultiHeadAttention": ({"num_heads": 2, "key_dim": 3}, (2, 3, 4), {}),
}


def _rounded(engine_ops: Any, shape: tuple[int, ...], scale: float, dtype: str, rng: np.random.Generator
             ) -> tuple[Any, np.ndarray]:
    """An engine tensor of ``dtype`` and the float64 values it holds."""
    x = engine_ops.cast(engine_ops.convert_to_tensor((rng.uniform(-1, 1, shape) * scale).astype("float32")), dtype)
    return x, np.asarray(engine_ops.to_numpy(engine_ops.cast(x, "float32")), np.float64)


def _op_check(name: str) -> Callable[[Context], str]:
    call, reference, family, shapes, scale = OP_CASES[name]

    def run(ctx: Context) -> str:
        from polykeras import ops

        missing = [d for d in HALF if not supports(ctx.engine, d)]
        if len(missing) == len(HALF):
            raise Skip(f"the {ctx.engine} engine holds neither float16 nor bfloat16")
        with B.use(ctx.engine):
            for dtype in HALF:
                if dtype in missing:
                    continue
                rng = np.random.default_rng(ctx.seed + 7)
                pairs = [_rounded(ops, s, scale, dtype, rng) for s in shapes]
                out = call(ops, *[t for t, _ in pairs])
                if ops.dtype(out) != dtype:
                    raise AssertionError(f"{name} at {dtype}: returned {ops.dtype(out)}, expected {dtype}")
                ctx.meter.compare(np.asarray(ops.to_numpy(ops.cast(out, "float32"))),
                                  reference(*[r for _, r in pairs]), family, dtype, what=f"{name} at {dtype}")
        return f"{', '.join(missing)} not held by this engine" if missing else ""
    return run


def _layer_outputs(class_name: str, policy: str, engine: str, weights: list[np.ndarray] | None, x: np.ndarray
                   ) -> tuple[Any, list[np.ndarray], str]:
    from polykeras import layers, ops

    kwargs, _, call_kwargs = LAYER_CASES[class_name]
    with B.use(engine):
        layer = getattr(layers, class_name)(dtype=policy, **kwargs)
        args = (x, x) if class_name == "MultiHeadAttention" else (x,)
        layer(*args)
        if weights is not None:
            layer.set_weights(weights)
        stored = [np.asarray(w, np.float64) for w in layer.get_weights()]
        out = layer(*args, **call_kwargs)
        return np.asarray(ops.to_numpy(ops.cast(out, "float64" if policy == "float64" else "float32")),
                          np.float64), stored, ops.dtype(out)


def _layer_check(class_name: str) -> Callable[[Context], str]:
    _, shape, _ = LAYER_CASES[class_name]

    def run(ctx: Context) -> str:
        from polykeras import dtype_policies

        notes = []
        rng = np.random.default_rng(ctx.seed + 11)
        x32 = rng.uniform(-1.5, 1.5, shape).astype("float32")
        _, base, _ = _layer_outputs(class_name, "float32", "numpy", None, x32)
        weights = [(rng.uniform(0.5, 1.5, w.shape) if i >= 2 and class_name == "BatchNormalization"
                    else rng.standard_normal(w.shape) * 0.5).astype("float32") for i, w in enumerate(base)]
        for policy in POLICIES:
            compute = dtype_policies.get(policy).compute_dtype
            if not supports(ctx.engine, compute):
                notes.append(f"{compute} not held by this engine")
                continue
            x = np.asarray(x32.astype(np.float64).astype(np.float32))
            got, stored, dtype = _layer_outputs(class_name, policy, ctx.engine, weights, x)
            if dtype != compute:
                raise AssertionError(f"{class_name} under {policy}: returned {dtype}, expected {compute}")
            # The reference sees the inputs and weights as the policy rounds them.
            with B.use(ctx.engine):
                from polykeras import ops

                x_seen = np.asarray(ops.to_numpy(ops.cast(ops.cast(ops.convert_to_tensor(x), compute), "float32")))
            expected, _, _ = _layer_outputs(class_name, "float64", "numpy", [w.astype(np.float64) for w in stored],
                                            x_seen.astype(np.float64))
            ctx.meter.compare(got, expected, "layer", compute, what=f"{class_name} under {policy}")
        return "; ".join(sorted(set(notes)))
    return run


def op_checks() -> list[Check]:
    """One ``<op>@half`` row per op case (float16 and bfloat16)."""
    return [Check(f"{name}@half", "ops", _op_check(name), (name,)) for name in sorted(OP_CASES)]


def layer_checks() -> list[Check]:
    """One ``<Layer>@half`` row per layer case (the four half-precision policies)."""
    return [Check(f"{name}@half", "layers", _layer_check(name), (name,)) for name in sorted(LAYER_CASES)]
