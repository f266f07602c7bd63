"""The conformance tools checked on their own (no engine): the reference's
convolutions against direct per-output sums and the adjoint identity, the
tolerance table's contract, and the strategies' configurations."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

from conformance import reference as ref
from conformance import strategies as cs
from conformance.tolerances import FAMILIES, assert_close, tolerance


def _naive_conv1d(x, k, stride, dilation, pad_before, out_len):
    """One output at a time, channels_last, no groups: the textbook sum."""
    out = np.zeros((x.shape[0], out_len, k.shape[-1]))
    for b in range(x.shape[0]):
        for o in range(out_len):
            for t in range(k.shape[0]):
                i = o * stride + t * dilation - pad_before
                if 0 <= i < x.shape[1]:
                    out[b, o] += x[b, i] @ k[t]
    return out


@given(config=cs.conv_configs("conv", ranks=(1,), groups=False))
def test_reference_conv_matches_the_textbook_sum(config):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(config.input_shape)
    k = rng.standard_normal(config.kernel_shape)
    got = ref.conv(x, k, **config.kwargs())
    if config.data_format == "channels_first":
        x, got = np.moveaxis(x, 1, -1), np.moveaxis(got, 1, -1)
    n, s, d = config.spatial[0], config.strides[0], config.dilation_rate[0]
    k_eff = (config.kernel_size[0] - 1) * d + 1
    before = ref.same_padding(n, k_eff, s)[0] if config.padding == "same" else 0
    out_len = -(-n // s) if config.padding == "same" else (n - k_eff) // s + 1
    np.testing.assert_allclose(got, _naive_conv1d(x, k, s, d, before, out_len), rtol=1e-12, atol=1e-12)


@given(config=cs.conv_configs("transpose"))
def test_reference_conv_transpose_is_the_adjoint_of_conv(config):
    """<conv(y, k), x> == <y, conv_transpose(x, k)> for every y of the
    transposed output's shape."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal(config.input_shape)
    k = rng.standard_normal(config.kernel_shape)
    kwargs = config.kwargs()
    y_t = ref.conv_transpose(x, k, **kwargs)
    y = rng.standard_normal(y_t.shape)
    forward = ref.conv(y, k, config.strides, config.padding, config.data_format, config.dilation_rate)
    assert forward.shape == x.shape, (forward.shape, x.shape)
    np.testing.assert_allclose(np.sum(forward * x), np.sum(y * y_t), rtol=1e-10)


@given(config=cs.pool_configs())
def test_reference_pools_constant_input(config):
    x = np.full(config.input_shape, 3.0)
    assert np.all(ref.average_pool(x, **config.kwargs()) == 3.0), "average_pool must average valid cells only"
    assert np.all(ref.max_pool(x, **config.kwargs()) == 3.0), "max_pool windows always hold a valid cell"


def test_reference_activation_identities():
    x = np.linspace(-6, 6, 49)
    np.testing.assert_allclose(ref.silu(x), x * ref.sigmoid(x))
    np.testing.assert_allclose(ref.softplus(x) - ref.softplus(-x), x, atol=1e-12)
    np.testing.assert_allclose(ref.gelu(x, False), x * 0.5 * (1 + ref.erf(x / np.sqrt(2))))
    assert abs(ref.gelu(1.0, True) - ref.gelu(1.0, False)) < 1e-3
    np.testing.assert_allclose(np.exp(ref.log_softmax(x)), ref.softmax(x), rtol=1e-12)
    np.testing.assert_allclose(ref.logsumexp(x), np.log(np.sum(np.exp(x))), rtol=1e-12)


def test_numeric_grad():
    grads = ref.numeric_grad(lambda a, b: np.sum(a**2 * b), [np.array([1.0, -2.0]), np.array([3.0, 0.5])])
    np.testing.assert_allclose(grads[0], [6.0, -2.0], rtol=1e-8)
    np.testing.assert_allclose(grads[1], [1.0, 4.0], rtol=1e-8)


def test_tolerance_table():
    for family in FAMILIES:
        for dtype in ("float16", "bfloat16", "float32", "float64"):
            rtol, atol = tolerance(family, dtype)
            assert 0 <= rtol < 1 and 0 <= atol < 1, (family, dtype)
        assert tolerance(family, "int32") == (0.0, 0.0) and tolerance(family, "bool") == (0.0, 0.0)
        # narrower dtypes never get a tighter tolerance
        assert tolerance(family, "float64")[0] <= tolerance(family, "float32")[0] <= tolerance(family, "float16")[0]
    with pytest.raises(ValueError, match="Unknown tolerance family 'conv2d'.*elementwise"):
        tolerance("conv2d", "float32")
    with pytest.raises(ValueError, match="complex64"):
        tolerance("conv", "complex64")


def test_assert_close_reports_the_worst_entry():
    expected = np.zeros((2, 3))
    actual = np.zeros((2, 3), np.float32)
    actual[1, 2] = 0.5
    actual[0, 1] = 0.1
    with pytest.raises(AssertionError,
                       match=r"(?s)conv on x: 2 of 6 entries.*'conv'.*float32.*index \(1, 2\).*actual 0\.5"):
        assert_close(actual, expected, "conv", err_msg="conv on x")
    with pytest.raises(AssertionError, match="shape mismatch"):
        assert_close(np.zeros(3), np.zeros(4), "elementwise")
    with pytest.raises(AssertionError, match="1 of 2"):
        assert_close(np.array([np.nan, 1.0]), np.array([1.0, 1.0]), "elementwise")
    assert_close(np.array([np.nan, np.inf]), np.array([np.nan, np.inf]), "elementwise")
    assert_close(np.int32([1, 2]), np.array([1, 2]), "matmul")
