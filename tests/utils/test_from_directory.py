"""image/text/audio_dataset_from_directory and timeseries/split datasets:
the same files, classes, splits and values as Keras 3 (run beside them with
TensorFlow), batches that fit reads on every engine, clear errors."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

import polykeras as pk
from polykeras import layers
from polykeras.utils import (
    IndexedDataset, audio_dataset_from_directory, image_dataset_from_directory, split_dataset,
    text_dataset_from_directory, timeseries_dataset_from_array,
)

PIL = pytest.importorskip("PIL.Image")


@pytest.fixture(scope="module")
def keras_utils():
    keras = pytest.importorskip("keras")
    pytest.importorskip("tensorflow")  # Keras' loaders return tf.data datasets
    return keras.utils


def _png(path: Path, rng, mode="RGB") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    shape = {"RGB": (6, 5, 3), "L": (6, 5), "RGBA": (6, 5, 4)}[mode]
    PIL.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(path)


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for i in range(5):
        _png(root / "cats" / f"cat{i}.png", rng)
    _png(root / "cats" / "nested" / "deep.png", rng, "L")
    _png(root / "dogs" / "dog0.png", rng)
    for i in range(1, 4):
        _png(root / "dogs" / f"dog{i}.png", rng, "RGBA")
    (root / "dogs" / "notes.txt").write_text("not an image")
    _png(root / ".hidden" / "skip.png", rng)
    return root


def _keras_batches(dataset):
    return [tuple(np.asarray(t) for t in batch) if isinstance(batch, tuple) else np.asarray(batch)
            for batch in dataset]


SETTINGS = [
    {"shuffle": False},
    {"shuffle": False, "color_mode": "grayscale", "label_mode": "categorical", "batch_size": 3},
    {"shuffle": False, "color_mode": "rgba", "label_mode": "binary", "batch_size": 4},
    {"shuffle": False, "label_mode": None},
    {"shuffle": False, "class_names": ["dogs", "cats"], "data_format": "channels_first"},
    {"shuffle": False, "labels": [i % 3 for i in range(11)], "batch_size": 5},  # every file, .hidden too
    {"shuffle": False, "batch_size": None, "validation_split": 0.3, "subset": "validation"},
]


@pytest.mark.parametrize("settings", SETTINGS)
def test_images_match_keras(keras_utils, images, settings):
    kwargs = dict(image_size=(6, 5), verbose=False, **settings)
    theirs = keras_utils.image_dataset_from_directory(str(images), **kwargs)
    ours = image_dataset_from_directory(str(images), **kwargs)
    assert isinstance(ours, IndexedDataset)
    assert ours.file_paths == theirs.file_paths and ours.class_names == theirs.class_names
    expected = _keras_batches(theirs)
    got = list(ours)
    assert len(got) == len(expected)
    for mine, keras_batch in zip(got, expected):
        mine = mine if isinstance(mine, tuple) else (mine,)
        keras_batch = keras_batch if isinstance(keras_batch, tuple) else (keras_batch,)
        for a, b in zip(mine, keras_batch):
            assert a.dtype == b.dtype and a.shape == b.shape
            # colour files read as grayscale: Pillow's and libpng's luma weights round apart by 1 at most
            np.testing.assert_allclose(a, b, atol=1 if settings.get("color_mode") == "grayscale" else 0)


@pytest.mark.parametrize("split", [{}, {"validation_split": 0.25, "subset": "both"}])
def test_shuffled_files_and_splits_match_keras(keras_utils, images, split):
    kwargs = dict(image_size=(6, 5), seed=3, verbose=False, **split)
    theirs = keras_utils.image_dataset_from_directory(str(images), **kwargs)
    ours = image_dataset_from_directory(str(images), **kwargs)
    if split:
        assert [o.file_paths for o in ours] == [t.file_paths for t in theirs]
        assert set(ours[0].file_paths).isdisjoint(ours[1].file_paths)
    else:
        assert ours.file_paths == theirs.file_paths
        assert sorted(ours.file_paths) != ours.file_paths


@pytest.mark.parametrize("resize", [dict(image_size=(12, 10)), dict(image_size=(4, 3)),
                                    dict(image_size=(9, 4), interpolation="nearest"),
                                    dict(image_size=(4, 4), crop_to_aspect_ratio=True),
                                    dict(image_size=(5, 3), crop_to_aspect_ratio=True, interpolation="nearest"),
                                    dict(image_size=(4, 8), pad_to_aspect_ratio=True)])
def test_resized_images_match_keras(keras_utils, images, resize):
    kwargs = dict(shuffle=False, label_mode=None, verbose=False, **resize)
    theirs = np.concatenate(_keras_batches(keras_utils.image_dataset_from_directory(str(images), **kwargs)))
    ours = np.concatenate(list(image_dataset_from_directory(str(images), **kwargs)))
    assert ours.shape == theirs.shape == (11, *resize["image_size"], 3)  # label_mode=None reads .hidden too
    np.testing.assert_allclose(ours, theirs, atol=2e-3)


def test_other_filters_resize_through_pillow(images):
    data = image_dataset_from_directory(images, image_size=(3, 3), interpolation="lanczos3", shuffle=False,
                                        verbose=False)
    assert data[0][0].shape == (10, 3, 3, 3) and np.isfinite(data[0][0]).all()
    with pytest.raises(ValueError, match="interpolation"):
        image_dataset_from_directory(images, interpolation="sinc", verbose=False)


def test_fit_reads_an_image_dataset(diff_engine, images):
    train, val = image_dataset_from_directory(images, image_size=(6, 5), batch_size=4, validation_split=0.2,
                                              subset="both", seed=1, verbose=False)
    model = pk.Sequential([pk.Input((6, 5, 3)), layers.Rescaling(1 / 255), layers.Flatten(), layers.Dense(2)])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    history = model.fit(train.map(lambda x, y: (x, y)).prefetch(2).cache(), validation_data=val, epochs=2,
                        verbose=0)
    assert len(history.history["val_loss"]) == 2
    assert model.predict(val, verbose=0).shape == (2, 2)


def test_image_errors(images, tmp_path):
    with pytest.raises(ValueError, match="expected an existing folder"):
        image_dataset_from_directory(tmp_path / "missing")
    with pytest.raises(ValueError, match="color_mode"):
        image_dataset_from_directory(images, color_mode="cmyk", verbose=False)
    with pytest.raises(ValueError, match="give a seed"):
        image_dataset_from_directory(images, validation_split=0.2, subset="training", verbose=False)
    with pytest.raises(ValueError, match="together"):
        image_dataset_from_directory(images, validation_split=0.2, verbose=False)
    with pytest.raises(ValueError, match="exactly 2 classes"):
        (images / "birds").mkdir(exist_ok=True)
        try:
            image_dataset_from_directory(images, label_mode="binary", verbose=False)
        finally:
            (images / "birds").rmdir()
    with pytest.raises(ValueError, match="class_names must name subfolders"):
        image_dataset_from_directory(images, class_names=["cats", "cows"], verbose=False)
    with pytest.raises(ValueError, match="one label per file"):
        image_dataset_from_directory(images, labels=[0, 1], verbose=False)
    (tmp_path / "empty" / "a").mkdir(parents=True)
    with pytest.raises(ValueError, match="no files with an extension"):
        image_dataset_from_directory(tmp_path / "empty", verbose=False)


@pytest.fixture(scope="module")
def texts(tmp_path_factory):
    root = tmp_path_factory.mktemp("texts")
    for label, words in (("neg", ["bad", "awful film", "no"]), ("pos", ["great", "lovely\nfilm", "yes!", "é ok"])):
        (root / label).mkdir()
        for i, text in enumerate(words):
            (root / label / f"{i}.txt").write_text(text, encoding="utf-8")
    return root


@pytest.mark.parametrize("settings", [{"shuffle": False}, {"shuffle": False, "max_length": 3, "batch_size": 2},
                                      {"shuffle": False, "label_mode": "categorical"}])
def test_texts_match_keras(keras_utils, texts, settings):
    theirs = keras_utils.text_dataset_from_directory(str(texts), verbose=False, **settings)
    ours = text_dataset_from_directory(str(texts), verbose=False, **settings)
    assert ours.class_names == theirs.class_names and len(ours.file_paths) == 7
    for (x, y), (tx, ty) in zip(ours, _keras_batches(theirs)):
        assert [s.encode() for s in x] == list(tx)
        np.testing.assert_array_equal(y, ty)


def _wav(path: Path, samples: np.ndarray, rate=8000) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as f:
        f.setnchannels(samples.shape[1])
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(samples.astype("<i2").tobytes())


@pytest.fixture(scope="module")
def sounds(tmp_path_factory):
    root = tmp_path_factory.mktemp("sounds")
    rng = np.random.default_rng(0)
    for label, lengths in (("no", (30, 41)), ("yes", (25, 60, 12))):
        for i, n in enumerate(lengths):
            _wav(root / label / f"{i}.wav", rng.integers(-32768, 32767, (n, 1)))
    return root


@pytest.mark.parametrize("settings", [{"shuffle": False, "output_sequence_length": 35},
                                      {"shuffle": False, "batch_size": 2}])
def test_audio_matches_keras(keras_utils, sounds, settings):
    theirs = keras_utils.audio_dataset_from_directory(str(sounds), verbose=False, **settings)
    ours = audio_dataset_from_directory(str(sounds), verbose=False, **settings)
    assert ours.class_names == theirs.class_names and len(ours.file_paths) == 5
    for (x, y), (tx, ty) in zip(ours, _keras_batches(theirs)):
        assert x.dtype == tx.dtype == np.float32 and x.shape == tx.shape
        np.testing.assert_allclose(x, tx, atol=1e-7)
        np.testing.assert_array_equal(y, ty)


def test_audio_resampling_and_errors(sounds):
    data = audio_dataset_from_directory(sounds, sampling_rate=4000, batch_size=None, shuffle=False, verbose=False)
    assert data[0][0].shape == (15, 1)  # 30 samples at 8 kHz -> 15 at 4 kHz
    with pytest.raises(NotImplementedError, match="ragged=True"):
        audio_dataset_from_directory(sounds, ragged=True, verbose=False)
    with pytest.raises(ValueError, match="positive integer sampling_rate"):
        audio_dataset_from_directory(sounds, sampling_rate=0, verbose=False)


TIMESERIES = [dict(sequence_length=5), dict(sequence_length=4, sequence_stride=3, sampling_rate=2, batch_size=3),
              dict(sequence_length=3, start_index=4, end_index=30, batch_size=None),
              dict(sequence_length=6, targets=None, batch_size=7)]


@pytest.mark.parametrize("settings", TIMESERIES)
def test_timeseries_matches_keras(keras_utils, settings):
    data = np.arange(100 * 2, dtype="float32").reshape(100, 2)
    settings = dict(settings)
    targets = settings.pop("targets", np.arange(100) * 10)
    theirs = _keras_batches(keras_utils.timeseries_dataset_from_array(data, targets, **settings))
    ours = list(timeseries_dataset_from_array(data, targets, **settings))
    assert len(ours) == len(theirs)
    for mine, keras_batch in zip(ours, theirs):
        for a, b in zip(mine if targets is not None else (mine,), keras_batch if targets is not None
                        else (keras_batch,)):
            np.testing.assert_array_equal(a, b)


def test_timeseries_shuffle_and_errors():
    data = np.arange(50)
    shuffled = timeseries_dataset_from_array(data, None, 5, shuffle=True, seed=0, batch_size=None)
    windows = [tuple(w) for w in shuffled]
    assert sorted(windows) == [tuple(range(i, i + 5)) for i in range(46)] and windows != sorted(windows)
    with pytest.raises(ValueError, match="positive integer sequence_length"):
        timeseries_dataset_from_array(data, None, 0)
    with pytest.raises(ValueError, match="end_index"):
        timeseries_dataset_from_array(data, None, 5, start_index=10, end_index=5)
    with pytest.raises(ValueError, match='format "tf" or "grain"'):
        timeseries_dataset_from_array(data, None, 5, format="torch")


@pytest.mark.parametrize("sizes", [dict(left_size=0.8), dict(right_size=3), dict(left_size=4, right_size=5),
                                   dict(left_size=0.25, shuffle=True, seed=2)])
def test_split_dataset_sizes_match_keras(keras_utils, sizes):
    x, y = np.arange(20).reshape(10, 2), np.arange(10)
    left, right = split_dataset((x, y), **sizes)
    theirs = keras_utils.split_dataset((x, y), **sizes)
    assert (len(left), len(right)) == tuple(len(list(t)) for t in theirs)
    rows = lambda ds: {tuple(np.asarray(a).tolist()) for a, _ in ds}  # noqa: E731
    assert rows(left).isdisjoint(rows(right))
    if not sizes.get("shuffle"):
        assert [np.asarray(e[1]).item() for e in theirs[0]] == [int(e[1]) for e in left]


def test_split_dataset_batches_and_errors(diff_engine):
    x = np.random.default_rng(0).normal(size=(30, 3)).astype("float32")
    train, test = split_dataset((x, x.sum(1, keepdims=True)), left_size=0.8)
    model = pk.Sequential([pk.Input((3,)), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    assert len(model.fit(train.batch(8).shuffle(100, seed=0), epochs=2, verbose=0).history["loss"]) == 2
    assert train.batch(8)[0][0].shape == (8, 3) and len(test.batch(4)) == 2
    assert next(test.take(1).as_numpy_iterator())[0].shape == (3,) and test.cardinality() == 6
    with pytest.raises(ValueError, match="already batched"):
        train.batch(4).batch(2)
    with pytest.raises(ValueError, match=r"left_size in \(0, 1\)"):
        split_dataset(x, left_size=1.5)
    with pytest.raises(ValueError, match="exceeds"):
        split_dataset(x, left_size=20, right_size=20)


def test_every_keras_image_format_is_read(tmp_path):
    rng = np.random.default_rng(1)
    smooth = np.stack([*np.meshgrid(np.linspace(0, 250, 6), np.linspace(0, 250, 4)), np.full((4, 6), 99.0)], -1)
    frames = [PIL.fromarray(smooth.astype(np.uint8)), PIL.fromarray(rng.integers(0, 256, (4, 6, 3), dtype=np.uint8))]
    (tmp_path / "a").mkdir()
    frames[0].save(tmp_path / "a" / "anim.gif", save_all=True, append_images=frames[1:])
    frames[0].save(tmp_path / "a" / "photo.JPG", quality=95)
    frames[0].save(tmp_path / "a" / "plain.bmp")
    frames[0].save(tmp_path / "a" / "lossless.png")
    frames[0].save(tmp_path / "a" / "skipped.tiff")
    data = image_dataset_from_directory(tmp_path, image_size=(4, 6), shuffle=False, verbose=False)
    assert [Path(p).name for p in data.file_paths] == ["anim.gif", "lossless.png", "photo.JPG", "plain.bmp"]
    images, labels = data[0]
    assert images.shape == (4, 4, 6, 3) and labels.tolist() == [0, 0, 0, 0]
    np.testing.assert_array_equal(images[1], images[3])  # png and bmp: lossless
    for index, name in ((0, "anim.gif"), (2, "photo.JPG")):  # a GIF gives its first frame, through its palette
        with PIL.open(tmp_path / "a" / name) as img:
            np.testing.assert_array_equal(images[index], np.asarray(img.convert("RGB"), dtype="float32"))
