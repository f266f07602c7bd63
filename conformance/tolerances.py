"""THE tolerance table: how close two engines' numbers must be, by op family and
dtype. Every numeric comparison in the test suite goes through
:func:`assert_close`, so a number changes here and nowhere else.

The numbers assume what the strategies generate: inputs of order 1 to 100,
small tensors (reductions over at most ~100 entries, contractions over at most
~50), well-conditioned matrices. They compare an engine's result with a float64
reference computed from the *same* (already rounded) inputs, so only the op's own
rounding counts. A comparison passes where ``|actual - expected| <= atol + rtol *
|expected|`` (NumPy's ``isclose``), NaNs and infinities matching exactly.

Where a gradient is undefined the engines agree on one subgradient (abs and
leaky_relu at 0, clip and relu6 at their bounds, max/sort/top_k/max_pool on
ties), with one documented exception: at a tie of ``maximum``/``minimum``
TensorFlow's kernel gives the whole gradient to the first input while PyTorch
and JAX split it in half; every engine passes on the whole upstream gradient
(tests/ops/test_gradients.py pins both facts). Matching them would put a
custom gradient on every TensorFlow ``maximum``; a model trains the same unless
its inputs tie exactly.

Example:
    >>> import numpy as np
    >>> assert_close(np.float32([1.0, 2.0]), np.array([1.0, 2.0 + 1e-7]), "elementwise")
    >>> tolerance("matmul", "float32")
    (1e-05, 1e-05)
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["FAMILIES", "TOLERANCES", "assert_close", "tolerance"]

Tol = tuple[float, float]

# float16 and bfloat16 (the half-precision rows of conformance/checks/half_precision.py: ops on half
# tensors, layers under the float16, bfloat16, mixed_float16 and mixed_bfloat16 policies). The reference
# sees the inputs (and a layer's weights) already rounded to the half dtype, so what counts is the op's
# own rounding plus the rounding of its result: eps16 = 9.8e-4 (11 bits), eps_bf16 = 7.8e-3 (8 bits).
# Engines accumulate half-precision contractions and reductions in float32 (oneDNN, Eigen, XLA) or in
# the half dtype itself (NumPy with ml_dtypes), so matmul, conv and reductions get several ulp of room;
# a layer chains a contraction, a bias and an activation (each rounded), and under a mixed policy also
# the cast of the float32 weights, hence ~10 ulp at the layer level.
#: family -> dtype -> (rtol, atol). Integer and bool results compare exactly.
TOLERANCES: dict[str, dict[str, Tol]] = {
    # Correctly rounded IEEE ops (+, -, *, /, min, max, floor, casts). A few ulp
    # of slack: XLA and Eigen may divide by multiplying with a reciprocal.
    "elementwise": {
        "float16": (2e-3, 1e-5),     # eps16 = 9.8e-4: two ulp
        "bfloat16": (1.6e-2, 1e-5),  # eps_bf16 = 7.8e-3: two ulp
        "float32": (1e-6, 1e-7),     # eps32 = 1.2e-7: ~8 ulp for reciprocal-multiply division
        "float64": (1e-14, 0.0),     # eps64 = 2.2e-16: ~40 ulp, relative only
    },
    # exp, log, sin, tanh, erf, power, arctan2...: each library has its own
    # polynomial approximations (SLEEF/MKL in torch, Eigen in TF, XLA's own),
    # documented to within a few ulp; erf and tan are the loosest (~4-8 ulp
    # before the condition number of the input).
    "transcendental": {
        "float16": (4e-3, 1e-4),
        "bfloat16": (3e-2, 1e-3),
        "float32": (1e-5, 1e-6),     # ~80 ulp: XLA's fast tanh/erf are ~few ulp, tan is ill-conditioned near pi/2
        "float64": (1e-12, 1e-14),   # libm differences and range reduction
    },
    # sum, mean, var, prod, cumsum, logsumexp: float32 accumulation order
    # differs (pairwise in NumPy/torch, tree reductions in XLA/Eigen), so the
    # error grows like eps * sqrt(n) * sum|x| and atol must absorb cancellation.
    "reduction": {
        "float16": (5e-3, 5e-3),
        "bfloat16": (4e-2, 4e-2),
        "float32": (1e-5, 1e-5),     # n <= ~100 terms of order 1: eps32 * n * max|x| ~ 1e-5
        "float64": (1e-12, 1e-12),
    },
    # matmul, dot, tensordot, einsum: the inner product is accumulated in
    # float32 in a BLAS-, oneDNN- or XLA-specific blocking order (FMA or not).
    "matmul": {
        "float16": (1e-2, 1e-2),
        "bfloat16": (5e-2, 5e-2),
        "float32": (1e-5, 1e-5),     # K <= ~50 products of order-1 values
        "float64": (1e-12, 1e-12),
    },
    # conv, depthwise_conv, conv_transpose: like matmul, plus algorithm choice
    # (oneDNN/XNNPACK may pick Winograd or FFT-like tilings that round differently).
    "conv": {
        "float16": (1e-2, 1e-2),
        "bfloat16": (5e-2, 5e-2),
        "float32": (1e-4, 1e-5),     # Winograd transforms lose ~1-2 decimal digits over direct conv
        "float64": (1e-11, 1e-12),
    },
    # max_pool is exact; average_pool sums a window (<= 27 cells) then divides.
    "pool": {
        "float16": (4e-3, 1e-3),
        "bfloat16": (3e-2, 1e-2),
        "float32": (1e-5, 1e-6),     # window sum of <= 27 terms, order differs
        "float64": (1e-13, 1e-14),
    },
    # inv, solve, cholesky, qr, svd, det on well-conditioned (cond < ~100)
    # matrices: LAPACK (NumPy, torch), Eigen (TF) and XLA pivot and block differently.
    "linalg": {
        "float16": (5e-2, 5e-2),
        "bfloat16": (1e-1, 1e-1),
        "float32": (1e-4, 1e-5),     # eps32 * cond * n with cond <= ~100, n <= 5
        "float64": (1e-10, 1e-12),
    },
    # Activations, softmax, log_softmax, normalisation, one_hot: one or two
    # transcendentals plus a division or a small reduction.
    "nn": {
        "float16": (5e-3, 1e-3),
        "bfloat16": (4e-2, 1e-2),
        "float32": (1e-5, 2e-6),     # a transcendental (~few ulp) times a small reduction
        "float64": (1e-12, 1e-13),
    },
    # Cross-entropies: log of clipped or softmaxed probabilities summed over
    # classes; the clip at 1e-7 makes values of up to ~16.
    "loss": {
        "float16": (1e-2, 1e-2),
        "bfloat16": (5e-2, 5e-2),
        "float32": (1e-5, 1e-5),     # log + class sum; values up to -log(1e-7) = 16
        "float64": (1e-12, 1e-12),
    },
    # An engine's gradient against central finite differences of the float64
    # reference (step ~1e-6 relative: truncation ~1e-12, round-off ~1e-10).
    # The float32 backward pass chains several roundings, reordered by each
    # engine's autodiff, so it is looser than the forward pass.
    "gradient": {
        "float16": (5e-2, 5e-2),
        "bfloat16": (1e-1, 1e-1),
        "float32": (2e-4, 2e-5),     # forward eps32 amplified through a few chained rules
        "float64": (1e-6, 1e-7),     # dominated by the finite-difference error itself
    },
    # A layer's call: a matmul or conv plus bias and activation, weights of
    # order 1 / sqrt(fan_in).
    "layer": {
        "float16": (2e-2, 2e-2),
        "bfloat16": (8e-2, 8e-2),
        "float32": (1e-4, 1e-5),     # one conv-class contraction plus an activation
        "float64": (1e-10, 1e-12),
    },
    # A whole model, or a few training steps: per-layer errors compound and
    # optimizer updates feed them back.
    "model": {
        "float16": (5e-2, 5e-2),
        "bfloat16": (1e-1, 1e-1),
        "float32": (1e-3, 1e-4),     # ~10 chained layers / steps of layer-level error
        "float64": (1e-8, 1e-10),
    },
}

FAMILIES: tuple[str, ...] = tuple(TOLERANCES)
_EXACT: Tol = (0.0, 0.0)


def _dtype_name(dtype: Any) -> str:
    if isinstance(dtype, str):
        return dtype
    return getattr(dtype, "name", None) or str(dtype)


def tolerance(family: str, dtype: Any = "float32") -> Tol:
    """``(rtol, atol)`` for an op family at a dtype; exact for ints and bool.

    Example:
        >>> tolerance("conv", "float32")
        (0.0001, 1e-05)
        >>> tolerance("reduction", "int32")
        (0.0, 0.0)
    """
    if family not in TOLERANCES:
        raise ValueError(f"Unknown tolerance family {family!r}. Expected one of: {', '.join(FAMILIES)}.")
    name = _dtype_name(dtype)
    table = TOLERANCES[family]
    if name in table:
        return table[name]
    if name == "bool" or name.startswith(("int", "uint")):
        return _EXACT
    raise ValueError(f"No {family!r} tolerance for dtype {name!r}. Expected one of: "
                     f"{', '.join(table)}, an integer dtype or bool.")


def _as_array(x: Any) -> np.ndarray:
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "detach"):  # a torch tensor, possibly requiring grad
        x = x.detach().cpu()
    if hasattr(x, "numpy") and not isinstance(x, np.generic):
        return np.asarray(x.numpy())
    return np.asarray(x)


def assert_close(
    actual: Any, expected: Any, family: str, dtype: Any = None, *, err_msg: str = "",
) -> None:
    """Assert ``actual`` matches ``expected`` within the family's tolerance at
    ``dtype`` (default: ``actual``'s dtype). Shapes must be equal (no
    broadcasting); NaN and infinities must sit at the same places.

    On failure the message gives the family, dtype and tolerance, how many
    entries differ, and the worst one: index, actual, expected, abs and rel error.

    Example:
        >>> assert_close(np.float32([0.5]), np.float64([0.5]), "nn")
    """
    a = _as_array(actual)
    e = _as_array(expected)
    dtype_name = _dtype_name(dtype if dtype is not None else a.dtype)
    rtol, atol = tolerance(family, dtype_name)
    prefix = f"{err_msg}: " if err_msg else ""
    if a.shape != e.shape:
        raise AssertionError(f"{prefix}shape mismatch: actual {a.shape}, expected {e.shape}.")
    if a.dtype == bool or e.dtype == bool:
        a, e = a.astype(np.int8), e.astype(np.int8)
    if np.iscomplexobj(a) or np.iscomplexobj(e):
        a64, e64 = a.astype(np.complex128), e.astype(np.complex128)
    else:
        a64, e64 = a.astype(np.float64), e.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        ok = np.isclose(a64, e64, rtol=rtol, atol=atol, equal_nan=True)
        # isclose treats inf == inf; make sure signs of infinities agree too.
        ok &= ~(np.isinf(e64) & (a64 != e64))
    if ok.all():
        return
    bad = ~ok
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.abs(a64 - e64)
        err = np.where(bad, np.nan_to_num(err, nan=np.inf, posinf=np.inf), 0.0)
        rel = err / np.maximum(np.abs(e64), np.finfo(np.float64).tiny)
    worst = np.unravel_index(int(np.argmax(err)), a.shape) if a.ndim else ()
    worst_rel = float(np.nanmax(np.where(np.isnan(rel), np.inf, rel))) if rel.size else 0.0
    raise AssertionError(
        f"{prefix}{int(bad.sum())} of {bad.size} entries differ beyond the {family!r} tolerance at "
        f"{dtype_name} (rtol={rtol:g}, atol={atol:g}); shape {a.shape}.\n"
        f"  worst at index {tuple(int(i) for i in worst)}: actual {a64[worst].item()!r}, "
        f"expected {e64[worst].item()!r}, "
        f"abs error {float(err[worst]):.3g}, max rel error {worst_rel:.3g}."
    )
