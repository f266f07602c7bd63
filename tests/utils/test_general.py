"""The small keras.utils helpers: batch packing, graph sources, serialization
under Keras' names, Config, Progbar, image arrays, seeds and plotting."""

from __future__ import annotations

import json

import numpy as np
import pytest

import polykeras as pk
from polykeras import layers, utils


@pytest.fixture(scope="module")
def keras_utils():
    return pytest.importorskip("keras").utils


@pytest.mark.parametrize("args", [(1,), (1, 2), (1, 2, 3), ((1, 2),), ([1, 2],), (1, None, 3)])
def test_pack_matches_keras(keras_utils, args):
    assert utils.pack_x_y_sample_weight(*args) == keras_utils.pack_x_y_sample_weight(*args)


@pytest.mark.parametrize("data", [5, (5,), (5, 6), [5, 6], (5, 6, 7), {"a": 1}])
def test_unpack_matches_keras(keras_utils, data):
    assert utils.unpack_x_y_sample_weight(data) == keras_utils.unpack_x_y_sample_weight(data)
    with pytest.raises(ValueError, match="received a tuple of 4"):
        utils.unpack_x_y_sample_weight((1, 2, 3, 4))


def test_get_source_inputs(engine):
    a, b = pk.Input((3,), name="a"), pk.Input((3,), name="b")
    shared = layers.Dense(2)
    out = layers.Add()([shared(a), shared(b)])
    assert utils.get_source_inputs(out) == [a, b]
    assert utils.get_source_inputs(a) == [a]
    assert utils.is_keras_tensor(out) and not utils.is_keras_tensor(np.zeros(2))
    with pytest.raises(ValueError, match="expected a symbolic tensor"):
        utils.get_source_inputs(np.zeros(3))


def test_serialize_and_deserialize_keras_objects(engine):
    dense = layers.Dense(3, activation="relu", name="d")
    config = utils.serialize_keras_object(dense)
    assert config["class_name"] == "Dense" and json.loads(json.dumps(config)) == config
    again = utils.deserialize_keras_object(config)
    assert isinstance(again, layers.Dense) and again.units == 3 and again.name == "d"
    init = utils.deserialize_keras_object(utils.serialize_keras_object(pk.initializers.GlorotUniform(seed=2)))
    assert isinstance(init, pk.initializers.GlorotUniform) and init.seed == 2
    assert isinstance(utils.deserialize_keras_object({"class_name": "Dense", "config": {"units": 2}}), layers.Dense)
    with pytest.raises(ValueError, match="Unknown"):
        utils.deserialize_keras_object({"class_name": "Popen", "config": {}})


def test_registration_and_scopes():
    @utils.register_keras_serializable("utils_test", name="Twice")
    def twice(x):
        return x * 2

    assert utils.get_registered_name(twice) == "utils_test>Twice"
    assert utils.get_registered_object("utils_test>Twice") is twice
    assert utils.get_custom_objects()["utils_test>Twice"] is twice
    assert utils.serialize_keras_object(twice) == "utils_test>Twice"
    marker = object()
    with utils.custom_object_scope({"Marker": marker}):
        assert utils.get_registered_object("Marker") is marker
        assert "Marker" not in utils.get_custom_objects()  # as Keras 3: scoped objects are not global
    with utils.CustomObjectScope({"Marker": marker}):
        assert utils.get_registered_object("Marker") is marker
    assert utils.get_registered_object("Marker") is None


def test_config_behaves_as_keras(keras_utils):
    for cls in (utils.Config, keras_utils.Config):
        config = cls(learning_rate=0.1)
        config.seed = 3
        config["momentum"] = 0.9
        assert (config.learning_rate, config["seed"], "momentum" in config, len(config)) == (0.1, 3, True, 3)
        assert json.loads(config.to_json()) == config.as_dict() == {"learning_rate": 0.1, "seed": 3, "momentum": 0.9}
        assert repr(config) == "<Config {'learning_rate': 0.1, 'seed': 3, 'momentum': 0.9}>"
        config.freeze()
        assert config.frozen
        with pytest.raises(ValueError, match="frozen"):
            config.seed = 4
        config.unfreeze()
        assert config.pop("seed") == 3
        with pytest.raises(AttributeError, match="Unknown attribute"):
            config.missing  # noqa: B018


def test_progbar_averages_and_prints(capsys):
    bar = utils.Progbar(target=4, stateful_metrics=["acc"])
    bar.update(1, [("loss", 4.0), ("acc", 0.5)])
    bar.update(3, [("loss", 1.0), ("acc", 0.75)])  # 2 steps of 1.0: (4 + 2) / 3
    bar.add(1, [("loss", 2.0), ("acc", 1.0)])
    out = capsys.readouterr().out
    assert out.endswith("\n") and "4/4" in out and "loss: 1.7500" not in out
    assert bar._values["loss"] == (8.0, 4) and "loss: 2.0000 - acc: 1.0000" in out.splitlines()[-1]
    quiet = utils.Progbar(target=2, verbose=2)
    quiet.update(1, [("loss", 1.0)])
    quiet.update(2, [("loss", 3.0)])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and lines[0].startswith("2/2 - ") and lines[0].endswith("loss: 2.0000")
    utils.Progbar(target=None, verbose=0).update(5)
    assert capsys.readouterr().out == ""
    with pytest.raises(ValueError, match="not both"):
        utils.Progbar(3, stateful_metrics=["a"], stateless_metrics=["b"])


@pytest.mark.parametrize("mode", ["rgb", "grayscale", "rgba"])
def test_image_helpers_match_keras(keras_utils, tmp_path, mode):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (7, 9, {"rgb": 3, "grayscale": 1, "rgba": 4}[mode])).astype("float32")
    utils.save_img(tmp_path / "ours.png", pixels, scale=False)
    keras_utils.save_img(tmp_path / "theirs.png", pixels, scale=False)
    ours = utils.img_to_array(utils.load_img(tmp_path / "ours.png", color_mode=mode))
    theirs = keras_utils.img_to_array(keras_utils.load_img(tmp_path / "theirs.png", color_mode=mode))
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(ours, pixels)
    resized = [fn.img_to_array(fn.load_img(tmp_path / "ours.png", color_mode=mode, target_size=(4, 5),
                                           keep_aspect_ratio=True)) for fn in (utils, keras_utils)]
    np.testing.assert_array_equal(*resized)
    first = [fn.img_to_array(fn.array_to_img(pixels), data_format="channels_first") for fn in (utils, keras_utils)]
    np.testing.assert_array_equal(*first)


def test_image_helper_errors():
    with pytest.raises(ValueError, match="rank 3"):
        utils.array_to_img(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="color_mode"):
        utils.load_img("x.png", color_mode="cmyk")
    with pytest.raises(ValueError, match="1, 3 or 4 channels"):
        utils.array_to_img(np.zeros((2, 2, 2)))


def test_set_random_seed_repeats_initial_weights(engine):
    def weights():
        utils.set_random_seed(7)
        layer = layers.Dense(4)
        layer.build((None, 3))
        return [np.asarray(w) for w in layer.get_weights()]

    np.testing.assert_array_equal(weights()[0], weights()[0])


def test_plot_helpers_take_keras_defaults(engine, tmp_path):
    x = pk.Input((4,), name="features")
    model = pk.Model(x, layers.Dense(3, name="head")(x))
    assert "head (Dense)" in utils.model_to_dot(model) and "(None, 3)" not in utils.model_to_dot(model)
    assert "(None, 3)" in utils.model_to_dot(model, show_shapes=True, expand_nested=True, dpi=96)
    path = utils.plot_model(model, tmp_path / "model.dot", show_shapes=True)
    assert "(None, 3)" in path.read_text()


def test_preprocessing_names_match_keras():
    keras = pytest.importorskip("keras")
    from polykeras import preprocessing

    from ._compare import params

    for module, theirs in ((preprocessing, keras.preprocessing), (preprocessing.image, keras.preprocessing.image),
                           (preprocessing.sequence, keras.preprocessing.sequence)):
        names = sorted(n for n in dir(theirs) if not n.startswith("_"))
        assert names == sorted(n for n in dir(module) if not n.startswith("_") and n in names)
        for name in names:
            if callable(getattr(theirs, name)) and not isinstance(getattr(theirs, name), type(keras)):
                assert params(getattr(module, name)) == params(getattr(theirs, name)), name


@pytest.mark.parametrize("size,interpolation,data_format", [((4, 4), "bilinear", "channels_last"),
                                                            ((3, 7), "nearest", "channels_last"),
                                                            ((5, 2), "bilinear", "channels_first")])
def test_smart_resize_matches_keras(keras_utils, size, interpolation, data_format):
    keras = pytest.importorskip("keras")
    from polykeras.preprocessing.image import smart_resize

    rng = np.random.default_rng(0)
    for shape in ((7, 9, 3), (2, 7, 9, 3)):
        x = rng.uniform(0, 255, shape).astype("float32")
        if data_format == "channels_first":
            x = np.moveaxis(x, -1, -3)
        expected = keras.preprocessing.image.smart_resize(x, size, interpolation, data_format=data_format)
        np.testing.assert_allclose(smart_resize(x, size, interpolation, data_format=data_format), expected,
                                   atol=1e-3)
    with pytest.raises(ValueError, match="rank 3"):
        smart_resize(np.zeros((4, 4)), (2, 2))
