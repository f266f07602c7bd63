"""Pooling layers on every engine: the standard layer checks, NumPy windows,
output shapes, masks in GlobalAveragePooling1D, bad arguments."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance import reference as ref
from conformance import strategies as cs
from conformance.tolerances import assert_close, tolerance
from polykeras import layers

from .helpers import check_layer, layer_outputs

POOL_TOL = dict(zip(("rtol", "atol"), tolerance("pool")))


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def numpy_pool(x, pool, strides, padding, mode):
    """Channels-last pooling in float64; ``same`` windows count real cells only."""
    rank = x.ndim - 2
    x = x.astype(np.float64)
    if padding == "same":
        pads = []
        for length, p, s in zip(x.shape[1:-1], pool, strides):
            out = -(-length // s)
            total = max((out - 1) * s + p - length, 0)
            pads.append((total // 2, total - total // 2))
        fill = -np.inf if mode == "max" else np.nan
        x = np.pad(x, [(0, 0), *pads, (0, 0)], constant_values=fill)
    sizes = [(length - p) // s + 1 for length, p, s in zip(x.shape[1:-1], pool, strides)]
    out = np.zeros((x.shape[0], *sizes, x.shape[-1]))
    for index in np.ndindex(*sizes):
        window = x[(slice(None), *(slice(i * s, i * s + p) for i, s, p in zip(index, strides, pool)))]
        axes = tuple(range(1, rank + 1))
        out[(slice(None), *index)] = np.max(window, axis=axes) if mode == "max" else np.nanmean(window, axis=axes)
    return out


CASES = [
    (layers.MaxPooling1D, dict(), (2, 7, 3), "max"),
    (layers.AveragePooling1D, dict(pool_size=3, strides=1, padding="same"), (2, 5, 2), "average"),
    (layers.MaxPooling2D, dict(pool_size=(3, 2), strides=(2, 1), padding="same"), (2, 5, 5, 2), "max"),
    (layers.AveragePooling2D, dict(pool_size=2), (2, 6, 6, 3), "average"),
    (layers.AveragePooling2D, dict(pool_size=3, strides=2, padding="same"), (2, 5, 6, 2), "average"),
]


@pytest.mark.parametrize("cls, kwargs, shape, mode", CASES, ids=lambda v: getattr(v, "__name__", str(v)))
def test_pooling_checks_and_numpy_reference(engine, cls, kwargs, shape, mode):
    x = _x(shape)
    layer = check_layer(lambda: cls(**kwargs), shape, **POOL_TOL)
    assert_close(layer_outputs(layer, x), numpy_pool(x, layer.pool_size, layer.strides, layer.padding, mode), "pool")


@settings(max_examples=6)
@given(config=cs.pool_configs(ranks=(1, 2, 3)), mode=st.sampled_from(["max", "average"]))
def test_pooling_layers_match_the_reference_on_random_geometries(engine, config, mode):
    name = f"{'Max' if mode == 'max' else 'Average'}Pooling{config.rank}D"
    layer = getattr(layers, name)(config.pool_size, strides=config.strides, padding=config.padding,
                                  data_format=config.data_format)
    x = _x(config.input_shape, seed=7)
    out = layer_outputs(layer, x)
    assert out.shape == layer.compute_output_shape(config.input_shape), f"{name} {config}"
    expected = getattr(ref, f"{mode}_pool")(x.astype(np.float64), **config.kwargs())
    assert_close(out, expected, "pool", err_msg=f"{name} {config}")


def test_pooling_defaults_config_and_channels_first(engine):
    pool = layers.MaxPooling2D()
    assert pool.pool_size == (2, 2) and pool.strides == (2, 2) and pool.padding == "valid"
    config = layers.AveragePooling1D(3, strides=1).get_config()
    assert config["pool_size"] == (3,) and config["strides"] == (1,) and config["data_format"] == "channels_last"
    x = _x((2, 3, 6, 4))  # channels first
    first = layer_outputs(layers.MaxPooling2D(data_format="channels_first"), x)
    last = layer_outputs(layers.MaxPooling2D(), np.transpose(x, (0, 2, 3, 1)))
    assert_close(first, np.transpose(last, (0, 3, 1, 2)), "pool")
    assert layers.MaxPooling2D(data_format="channels_first").compute_output_shape((None, 3, 6, 4)) == (None, 3, 3, 2)
    assert layers.MaxPooling1D(3, padding="same").compute_output_shape((None, None, 4)) == (None, None, 4)


GLOBAL = [
    (layers.GlobalMaxPooling1D, (2, 5, 3), np.max, False),
    (layers.GlobalAveragePooling1D, (2, 5, 3), np.mean, True),
    (layers.GlobalMaxPooling2D, (2, 4, 3, 2), np.max, True),
    (layers.GlobalAveragePooling2D, (2, 4, 3, 2), np.mean, False),
]


@pytest.mark.parametrize("cls, shape, reduce, keepdims", GLOBAL, ids=lambda v: getattr(v, "__name__", str(v)))
def test_global_pooling(engine, cls, shape, reduce, keepdims):
    x = _x(shape)
    layer = check_layer(lambda: cls(keepdims=keepdims), shape, **POOL_TOL)
    axes = tuple(range(1, len(shape) - 1))
    assert_close(layer_outputs(layer, x), reduce(x.astype(np.float64), axis=axes, keepdims=keepdims), "pool")
    first = layer_outputs(cls(data_format="channels_first", keepdims=keepdims), np.moveaxis(x, -1, 1))
    assert_close(first, np.moveaxis(reduce(x.astype(np.float64), axis=axes, keepdims=keepdims), -1, 1)
                 if keepdims else reduce(x.astype(np.float64), axis=axes), "pool")


def test_global_average_pooling_1d_uses_the_mask(engine):
    ids = np.array([[3, 1, 0, 0], [2, 0, 0, 0]])
    embedding = layers.Embedding(5, 3, mask_zero=True)
    pooled = layers.GlobalAveragePooling1D()(embedding(ids))
    table = embedding.get_weights()[0]
    expected = np.stack([table[[3, 1]].mean(0), table[[2]].mean(0)])
    assert_close(layer_outputs(layers.Identity(), pooled), expected, "pool")
    assert layers.get_mask(pooled) is None


def test_pooling_bad_arguments_name_the_layer(engine):
    with pytest.raises(ValueError, match=r"MaxPooling2D 'mp'.*padding.*'full'"):
        layers.MaxPooling2D(padding="full", name="mp")
    with pytest.raises(ValueError, match=r"AveragePooling1D.*pool_size"):
        layers.AveragePooling1D((2, 2))
    with pytest.raises(ValueError, match=r"GlobalMaxPooling2D.*data_format"):
        layers.GlobalMaxPooling2D(data_format="NHWC")
    with pytest.raises(ValueError, match=r"'pool_rank'.*expected ndim=4.*\(2, 5, 3\)"):
        layers.MaxPooling2D(name="pool_rank")(_x((2, 5, 3)))
