"""Attention layers on every engine: the standard layer checks, a NumPy
computation of each layer from its weights, Keras 3's numbers with Keras'
weights (MultiHeadAttention, GroupedQueryAttention, Attention,
AdditiveAttention), masks (riding and explicit), causal masks, attention
scores, dropout, functional models and bad inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest

import polykeras
from conformance.tolerances import assert_close, tolerance
from polykeras import layers, ops
from polykeras.saving import model_from_json

from .helpers import check_layer, layer_outputs, run_keras, to_numpy_tree
from .keras_reference import assert_matches_keras

LAYER_TOL = dict(zip(("rtol", "atol"), tolerance("layer")))


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def np_softmax(scores, mask=None, axes=(-1,)):
    scores = scores.astype(np.float64)
    if mask is not None:
        scores = np.where(mask, scores, -1e9)
    e = np.exp(scores - scores.max(axis=axes, keepdims=True))
    out = e / e.sum(axis=axes, keepdims=True)
    return out if mask is None else np.where(mask, out, 0.0)


def causal(tq, tv):
    return np.tril(np.ones((tq, tv), bool))


# ------------------------------------------------------------------ Attention
def np_attention(q, v, k=None, scale=None, concat_weight=None, q_mask=None, v_mask=None, use_causal=False,
                 additive_scale=None, additive=False):
    k = v if k is None else k
    q, v, k = (a.astype(np.float64) for a in (q, v, k))
    if additive:
        summed = np.tanh(q[:, :, None, :] + k[:, None, :, :])
        scores = (summed * (additive_scale if additive_scale is not None else 1.0)).sum(-1)
    elif concat_weight is not None:
        summed = q[:, :, None, :] + k[:, None, :, :]
        scores = concat_weight * np.tanh(summed * (scale if scale is not None else 1.0)).sum(-1)
    else:
        scores = q @ np.swapaxes(k, -1, -2) * (scale if scale is not None else 1.0)
    mask = None if v_mask is None else v_mask[:, None, :]
    if use_causal:
        c = causal(scores.shape[1], scores.shape[2])[None]
        mask = c if mask is None else mask & c
    weights = np_softmax(scores, mask)
    out = weights @ v
    if q_mask is not None:
        out = np.where(q_mask[..., None], out, 0.0)
    return out, weights


@pytest.mark.parametrize("kwargs, with_key", [
    (dict(), False), (dict(use_scale=True), True), (dict(score_mode="concat"), False),
    (dict(score_mode="concat", use_scale=True), True),
], ids=str)
def test_attention_checks_and_numpy_reference(engine, kwargs, with_key):
    shapes = [(2, 3, 4), (2, 5, 4)] + ([(2, 5, 4)] if with_key else [])
    inputs = [_x(s, seed=i) for i, s in enumerate(shapes)]
    layer = check_layer(lambda: layers.Attention(**kwargs), shapes, **LAYER_TOL)
    weights = dict(zip([w.name for w in layer.weights], layer.get_weights()))
    expected, _ = np_attention(*inputs, scale=weights.get("scale"), concat_weight=weights.get("concat_score_weight"))
    assert_close(layer_outputs(layer, inputs), expected, "layer")
    assert [w.name for w in layer.weights] == [n for n in ("scale", "concat_score_weight") if n in weights]


@pytest.mark.parametrize("use_scale", [True, False])
def test_additive_attention_checks_and_numpy_reference(engine, use_scale):
    shapes = [(2, 3, 4), (2, 5, 4)]
    inputs = [_x(s, seed=i) for i, s in enumerate(shapes)]
    layer = check_layer(lambda: layers.AdditiveAttention(use_scale=use_scale), shapes, **LAYER_TOL)
    scale = layer.get_weights()[0] if use_scale else None
    expected, _ = np_attention(*inputs, additive=True, additive_scale=scale)
    assert_close(layer_outputs(layer, inputs), expected, "layer")
    assert "score_mode" not in layer.get_config()
    assert [w.shape for w in layer.weights] == ([(4,)] if use_scale else [])


@pytest.mark.parametrize("name, kwargs", [
    ("Attention", dict(use_scale=True)), ("Attention", dict(score_mode="concat")),
    ("AdditiveAttention", dict()),
])
def test_attention_matches_keras(engine, name, kwargs):
    inputs = [_x((2, 3, 4)), _x((2, 5, 4), seed=1), _x((2, 5, 4), seed=2)]
    assert_matches_keras(lambda: getattr(layers, name)(**kwargs), name, kwargs, inputs)


def test_attention_masks_causal_and_scores(engine):
    q, v = _x((2, 4, 3)), _x((2, 4, 3), seed=1)
    q_mask = np.array([[True, True, True, False], [True, False, True, True]])
    v_mask = np.array([[True, False, True, True], [True, True, True, False]])
    layer = layers.Attention(use_scale=True)
    out, scores = layer_outputs(layer, [q, v], mask=[q_mask, v_mask], return_attention_scores=True,
                                use_causal_mask=True)
    scale = layer.get_weights()[0]
    expected, expected_scores = np_attention(q, v, scale=scale, q_mask=q_mask, v_mask=v_mask, use_causal=True)
    assert_close(out, expected, "layer")
    assert_close(scores, expected_scores, "layer")
    assert np.all(scores[:, :, 1][v_mask[:, 1] == False] == 0)  # noqa: E712  masked keys get no weight
    assert np.all(np.triu(scores, 1) == 0)  # causal: nothing from the future
    np.testing.assert_allclose(scores.sum(-1), 1.0, rtol=1e-5)
    # the query mask passes on to the outputs
    q_t = ops.convert_to_tensor(q)
    y = layer([q_t, ops.convert_to_tensor(v)], mask=[ops.convert_to_tensor(q_mask), None])
    np.testing.assert_array_equal(ops.to_numpy(layers.get_mask(y)), q_mask)


def test_attention_reads_riding_masks(engine):
    ids_q = np.array([[1, 2, 0], [3, 0, 0]])
    ids_v = np.array([[4, 0, 5, 6], [1, 1, 0, 0]])
    embedding = layers.Embedding(8, 4, mask_zero=True)
    q, v = embedding(ids_q), embedding(ids_v)
    layer = layers.Attention()
    riding = ops.to_numpy(layer([q, v]))
    explicit, _ = np_attention(ops.to_numpy(q), ops.to_numpy(v), q_mask=ids_q != 0, v_mask=ids_v != 0)
    assert_close(riding, explicit, "layer")
    np.testing.assert_array_equal(ops.to_numpy(layers.get_mask(layer([q, v]))), ids_q != 0)


def test_attention_dropout_only_in_training(engine):
    q = _x((2, 3, 4))
    layer = layers.Attention(dropout=0.5, seed=1)
    inference = layer_outputs(layer, [q, q])
    np.testing.assert_allclose(inference, layer_outputs(layer, [q, q], training=False))
    _, scores = layer_outputs(layers.Attention(), [q, q], return_attention_scores=True)
    assert not np.allclose(layer_outputs(layer, [q, q], training=True), inference)
    assert np.allclose(scores.sum(-1), 1.0)
    assert layer.get_config()["dropout"] == 0.5 and layer.get_config()["seed"] == 1


def test_attention_bad_inputs_name_the_layer(engine):
    q = _x((2, 3, 4))
    with pytest.raises(ValueError, match=r"Attention 'att'.*list of inputs.*\(2, 3, 4\)"):
        layer_outputs(layers.Attention(name="att"), q)
    with pytest.raises(ValueError, match=r"Attention 'att2'.*2 or 3 inputs.*4"):
        layer_outputs(layers.Attention(name="att2"), [q, q, q, q])
    with pytest.raises(ValueError, match=r"Attention .*score_mode.*'cosine'"):
        layers.Attention(score_mode="cosine")
    with pytest.raises(ValueError, match=r"AdditiveAttention 'add'.*same last dimension.*\(2, 5, 3\)"):
        layer_outputs(layers.AdditiveAttention(name="add"), [q, _x((2, 5, 3))])


# --------------------------------------------------------- MultiHeadAttention
def np_mha(weights, query, value, key=None, mask=None, key_dim=None, use_bias=True):
    """Rank-3 multi-head attention from Keras-ordered weights, in float64."""
    key = value if key is None else key
    w = [a.astype(np.float64) for a in weights]
    if use_bias:
        wq, bq, wk, bk, wv, bv, wo, bo = w
    else:
        (wq, wk, wv, wo), bq = w, 0.0
        bk = bv = bo = 0.0
    q = np.einsum("btd,dhk->bthk", query, wq) + bq
    k = np.einsum("bsd,dhk->bshk", key, wk) + bk
    v = np.einsum("bsd,dhk->bshk", value, wv) + bv
    scores = np.einsum("bshk,bthk->bhts", k, q / np.sqrt(key_dim or wq.shape[-1]))
    weights = np_softmax(scores, None if mask is None else mask[:, None])
    out = np.einsum("bhts,bshv->bthv", weights, v)
    return np.einsum("bthv,hvd->btd", out, wo) + bo, weights


@pytest.mark.parametrize("kwargs", [dict(num_heads=2, key_dim=3), dict(num_heads=1, key_dim=2, use_bias=False)],
                         ids=str)
def test_multi_head_attention_checks_and_numpy_reference(engine, kwargs):
    query, value = _x((2, 4, 6)), _x((2, 5, 6), seed=1)
    layer = check_layer(lambda: layers.MultiHeadAttention(**kwargs), query.shape, call_kwargs={"value": value},
                        **LAYER_TOL)
    expected, _ = np_mha(layer.get_weights(), query, value, use_bias=kwargs.get("use_bias", True))
    assert_close(layer_outputs(layer, query, value=value), expected, "layer")


def test_multi_head_attention_weights_layout(engine):
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=3, value_dim=4, output_shape=5, name="mha")
    layer_outputs(layer, _x((2, 4, 6)), value=_x((2, 5, 7)))
    assert [(w.path, w.shape) for w in layer.weights] == [
        ("mha/query/kernel", (6, 2, 3)), ("mha/query/bias", (2, 3)),
        ("mha/key/kernel", (7, 2, 3)), ("mha/key/bias", (2, 3)),
        ("mha/value/kernel", (7, 2, 4)), ("mha/value/bias", (2, 4)),
        ("mha/attention_output/kernel", (2, 4, 5)), ("mha/attention_output/bias", (5,)),
    ]
    assert layer.compute_output_shape((None, 4, 6), (None, 5, 7)) == (None, 4, 5)
    assert layer.count_params() == 6 * 6 + 6 + 7 * 6 + 6 + 7 * 8 + 8 + 8 * 5 + 5


def test_multi_head_attention_masks_and_causal(engine):
    query = _x((2, 4, 6))
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=3)
    attention_mask = np.ones((2, 4, 4), bool)
    attention_mask[0, :, 3] = False
    out, scores = layer_outputs(layer, query, value=query, attention_mask=attention_mask, use_causal_mask=True,
                                return_attention_scores=True)
    mask = attention_mask & causal(4, 4)[None]
    expected, expected_scores = np_mha(layer.get_weights(), query, query, mask=mask)
    assert_close(out, expected, "layer")
    assert_close(scores, expected_scores, "layer")
    assert scores.shape == (2, 2, 4, 4) and np.all(np.triu(scores, 1) == 0) and np.all(scores[0, :, :, 3] == 0)
    # padding masks riding with the inputs equal explicit query/value masks
    ids = np.array([[1, 2, 3, 0], [4, 5, 0, 0]])
    embedding = layers.Embedding(8, 6, mask_zero=True)
    x = embedding(ids)
    riding_out, riding_scores = to_numpy_tree(layer(x, x, return_attention_scores=True))
    plain = ops.convert_to_tensor(ops.to_numpy(x))
    explicit_out, explicit_scores = to_numpy_tree(layer(plain, plain, query_mask=ids != 0, value_mask=ids != 0,
                                                        return_attention_scores=True))
    assert_close(riding_out, explicit_out, "layer")
    assert_close(riding_scores, explicit_scores, "layer")
    padded = ids != 0
    pair_mask = padded[:, :, None] & padded[:, None]
    expected, _ = np_mha(layer.get_weights(), ops.to_numpy(x), ops.to_numpy(x), mask=pair_mask)
    assert_close(riding_out, expected, "layer")
    assert np.all(riding_scores[1, :, 2:] == 0)  # padded queries attend to nothing
    np.testing.assert_array_equal(ops.to_numpy(layers.get_mask(layer(x, x))), padded)


@pytest.mark.parametrize("axes", [(2,), (1, 2)])
def test_multi_head_attention_causal_mask_needs_attention_over_axis_1(engine, axes):
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=2, attention_axes=axes, name="mha")
    x = _x((2, 3, 4, 4))
    with pytest.raises(ValueError, match=r"mha.*use_causal_mask .*attention_axes=\(1,\).*received attention "
                                         rf"over axes \({axes[0]},"):
        layer(x, x, use_causal_mask=True)
    assert layer(x, x).shape == (2, 3, 4, 4)  # without the causal mask it attends over those axes


def test_multi_head_attention_attention_axes_and_dropout(engine):
    x = _x((2, 3, 2, 4))
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=2, attention_axes=(1, 2), dropout=0.5, seed=3)
    out, scores = layer_outputs(layer, x, value=x, return_attention_scores=True)
    assert out.shape == (2, 3, 2, 4) and scores.shape == (2, 2, 3, 2, 3, 2)
    np.testing.assert_allclose(scores.sum(axis=(-1, -2)), 1.0, rtol=1e-5)
    assert np.allclose(layer_outputs(layer, x, value=x), out)
    assert not np.allclose(layer_outputs(layer, x, value=x, training=True), out)


# Keras 3 reference: MultiHeadAttention / GroupedQueryAttention cases, run once.
# name -> (class, arguments, call arguments, input shapes; one shape = self-attention)
_KERAS_CASES = {
    "self_causal": ("MultiHeadAttention", dict(num_heads=2, key_dim=3), dict(use_causal_mask=True), [(2, 4, 6)]),
    "cross": ("MultiHeadAttention", dict(num_heads=2, key_dim=3, value_dim=2, output_shape=7), dict(),
              [(2, 3, 6), (2, 5, 4), (2, 5, 5)]),
    "masked": ("MultiHeadAttention", dict(num_heads=3, key_dim=2, use_bias=False), dict(attention_mask="mask"),
               [(2, 3, 6), (2, 5, 6)]),
    "gate": ("MultiHeadAttention", dict(num_heads=2, key_dim=2, use_gate=True), dict(), [(2, 3, 6), (2, 5, 6)]),
    "axes": ("MultiHeadAttention", dict(num_heads=2, key_dim=2, attention_axes=[1, 2]), dict(), [(2, 3, 2, 4)]),
    "gqa": ("GroupedQueryAttention", dict(head_dim=3, num_query_heads=4, num_key_value_heads=2),
            dict(use_causal_mask=True), [(2, 4, 6)]),
    "gqa_cross": ("GroupedQueryAttention", dict(head_dim=2, num_query_heads=2, num_key_value_heads=1,
                                                use_bias=False), dict(), [(2, 3, 6), (2, 4, 6)]),
}
_KERAS_CODE = """
for name, (cls, kwargs, call, shapes) in json.loads(spec).items():
    cls = getattr(keras.layers, "GroupQueryAttention" if cls == "GroupedQueryAttention" else cls)
    if "attention_axes" in kwargs:
        kwargs["attention_axes"] = tuple(kwargs["attention_axes"])
    layer = cls(**kwargs)
    inputs = [data[f"{name}_{i}"] for i in range(len(shapes))]
    inputs = inputs * 2 if len(inputs) == 1 else inputs
    call = {k: (data[f"{name}_mask"] if v == "mask" else v) for k, v in call.items()}
    layer(*inputs, **call)
    rng = np.random.default_rng(0)
    layer.set_weights([(rng.standard_normal(w.shape) * 0.5).astype("float32") for w in layer.weights])
    y, scores = layer(*inputs, return_attention_scores=True, **call)
    out[f"{name}_y"], out[f"{name}_scores"] = np.asarray(y), np.asarray(scores)
    for i, w in enumerate(layer.get_weights()):
        out[f"{name}_w{i}"] = np.asarray(w)
    out[f"{name}_names"] = [w.name for w in layer.weights]
"""
_KERAS_OUT: dict = {}


def _keras_inputs() -> dict[str, np.ndarray]:
    data = {}
    for i, (name, (_, _, call, shapes)) in enumerate(_KERAS_CASES.items()):
        for j, shape in enumerate(shapes):
            data[f"{name}_{j}"] = _x(shape, seed=10 * i + j)
        if "attention_mask" in call:
            mask = np.random.default_rng(i).random((shapes[0][0], shapes[0][1], shapes[1][1])) > 0.4
            mask[..., 0] = True  # every query sees at least one key
            data[f"{name}_mask"] = mask
    return data


def _keras_reference() -> dict:
    if not _KERAS_OUT:
        data = _keras_inputs()
        code = f"import json\nspec = {json.dumps(json.dumps(_KERAS_CASES))}\n{_KERAS_CODE}"
        _KERAS_OUT.update(run_keras(code, data, backend="numpy"), data=data)
    return _KERAS_OUT


@pytest.mark.parametrize("case", list(_KERAS_CASES))
def test_multi_head_and_grouped_attention_match_keras(engine, case):
    ref = _keras_reference()
    cls_name, kwargs, call, shapes = _KERAS_CASES[case]
    inputs = [ops.convert_to_tensor(ref["data"][f"{case}_{i}"]) for i in range(len(shapes))]
    inputs = inputs * 2 if len(inputs) == 1 else inputs
    call = {k: (ref["data"][f"{case}_mask"] if v == "mask" else v) for k, v in call.items()}
    layer = getattr(layers, cls_name)(**kwargs)
    layer(*inputs, **call)
    names = list(ref[f"{case}_names"])
    assert [w.name for w in layer.weights] == names, f"{case}: weight names/order differ from Keras 3's {names}"
    layer.set_weights([ref[f"{case}_w{i}"] for i in range(len(names))])
    y, scores = to_numpy_tree(layer(*inputs, return_attention_scores=True, **call))
    assert_close(y, ref[f"{case}_y"], "layer", err_msg=f"{case} outputs vs Keras 3")
    assert_close(scores, ref[f"{case}_scores"], "layer", err_msg=f"{case} scores vs Keras 3")
    # Without the weights asked for, unmasked cases run the fused dot_product_attention.
    assert_close(to_numpy_tree(layer(*inputs, **call)), ref[f"{case}_y"], "layer",
                 err_msg=f"{case} outputs without scores vs Keras 3")


@pytest.mark.parametrize("layer_name", ["MultiHeadAttention", "GroupedQueryAttention"])
def test_attention_runs_the_fused_op_only_where_it_gives_the_same_numbers(engine, monkeypatch, layer_name):
    from polykeras.layers.attention import projected

    calls = []
    fused = projected.ops.nn.dot_product_attention
    monkeypatch.setattr(projected.ops.nn, "dot_product_attention", lambda *a, **k: calls.append(1) or fused(*a, **k))
    x = _x((2, 4, 6))
    for rate, kwargs, runs_fused in [(0.0, {}, True), (0.5, {"training": False}, True),
                                     (0.0, {"return_attention_scores": True}, False),
                                     (0.0, {"use_causal_mask": True}, False), (0.5, {"training": True}, False)]:
        layer = (layers.MultiHeadAttention(2, 3, dropout=rate, seed=1) if layer_name == "MultiHeadAttention"
                 else layers.GroupedQueryAttention(3, 4, 2, dropout=rate, seed=1))
        explicit, _ = to_numpy_tree(layer(x, x, return_attention_scores=True))
        calls.clear()
        out = layer(x, x, **kwargs)
        assert bool(calls) == runs_fused, f"{layer_name} dropout={rate} {kwargs}: fused op run {len(calls)} times"
        if runs_fused:
            assert_close(to_numpy_tree(out), explicit, "layer", err_msg=f"{layer_name} fused vs explicit")


def test_multi_head_attention_in_a_functional_model(engine):
    polykeras.random.set_seed(1)
    ids = layers.Input((4,), dtype="int32")
    x = layers.Embedding(9, 6, mask_zero=True)(ids)
    y = layers.MultiHeadAttention(num_heads=2, key_dim=3, name="mha")(x, x, use_causal_mask=True)
    model = polykeras.Model(ids, layers.GlobalAveragePooling1D()(y))
    data = np.array([[1, 2, 3, 0], [4, 0, 0, 0]])
    before = model.predict(data, verbose=0)
    clone = model_from_json(model.to_json())
    clone.set_weights(model.get_weights())
    assert_close(clone.predict(data, verbose=0), before, "layer")
    assert model.get_layer("mha").weights[0].path.endswith("mha/query/kernel")
    # the padding id is masked: changing its embedding changes nothing
    table = model.get_weights()
    table[0][0] += 5.0
    clone.set_weights(table)
    assert_close(clone.predict(data, verbose=0), before, "layer")


def test_multi_head_attention_bad_inputs_name_the_layer(engine):
    with pytest.raises(ValueError, match=r"MultiHeadAttention 'm'.*key_dim.*0"):
        layers.MultiHeadAttention(2, 0, name="m")
    with pytest.raises(ValueError, match=r"MultiHeadAttention 'm2'.*value and key.*\(2, 5, 6\).*\(2, 4, 6\)"):
        layer_outputs(layers.MultiHeadAttention(2, 3, name="m2"), _x((2, 3, 6)), value=_x((2, 5, 6)),
                      key=_x((2, 4, 6)))
    with pytest.raises(ValueError, match=r"MultiHeadAttention 'm3'.*rank 3 or more.*\(2, 6\)"):
        layer_outputs(layers.MultiHeadAttention(2, 3, name="m3"), _x((2, 6)), value=_x((2, 6)))
    with pytest.raises(ValueError, match=r"MultiHeadAttention .*attention_axes.*'x'"):
        layers.MultiHeadAttention(2, 3, attention_axes="x")


# ------------------------------------------------------- GroupedQueryAttention
def test_grouped_query_attention_checks_and_numpy_reference(engine):
    query, value = _x((2, 4, 6)), _x((2, 5, 6), seed=1)
    layer = check_layer(lambda: layers.GroupedQueryAttention(head_dim=2, num_query_heads=4, num_key_value_heads=2),
                        query.shape, call_kwargs={"value": value}, **LAYER_TOL)
    wq, bq, wk, bk, wv, bv, wo, bo = (w.astype(np.float64) for w in layer.get_weights())
    assert wq.shape == (6, 4, 2) and wk.shape == (6, 2, 2) and wo.shape == (4, 2, 6)
    q = np.einsum("btd,dhk->bthk", query, wq) + bq
    k = np.repeat(np.einsum("bsd,dhk->bshk", value, wk) + bk, 2, axis=2)
    v = np.repeat(np.einsum("bsd,dhk->bshk", value, wv) + bv, 2, axis=2)
    weights = np_softmax(np.einsum("bthk,bshk->bhts", q / np.sqrt(2.0), k))
    expected = np.einsum("bthv,hvd->btd", np.einsum("bhts,bshv->bthv", weights, v), wo) + bo
    assert_close(layer_outputs(layer, query, value=value), expected, "layer")


def test_grouped_query_attention_errors(engine):
    with pytest.raises(ValueError, match=r"GroupedQueryAttention 'g'.*divisible.*num_query_heads=3"):
        layers.GroupedQueryAttention(2, 3, 2, name="g")
    with pytest.raises(ValueError, match=r"GroupedQueryAttention 'g2'.*same last dimension.*\(2, 4, 5\)"):
        layer_outputs(layers.GroupedQueryAttention(2, 2, 1, name="g2"), _x((2, 3, 6)), value=_x((2, 4, 5)))
    assert layers.GroupQueryAttention is layers.GroupedQueryAttention
