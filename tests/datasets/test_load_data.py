"""Every ``polykeras.datasets`` loader, on small files in Keras' formats
served from 127.0.0.1, gives what Keras 3's own loader gives on the same
files; files that name anything but NumPy arrays are refused unread."""

from __future__ import annotations

import gzip
import importlib
import io
import json
import os
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
from utils._compare import params
from utils._serve import serve

from polykeras import datasets
from polykeras.datasets import DatasetFileError

NAMES = ["mnist", "fashion_mnist", "cifar10", "cifar100", "imdb", "reuters", "boston_housing", "california_housing"]


def _npz(path: Path, **arrays) -> None:
    np.savez(path, **arrays)


def _ragged(rng, count, vocab=40):
    out = np.empty(count, dtype=object)
    out[:] = [[int(w) for w in rng.integers(1, vocab, size=int(rng.integers(1, 12)))] for _ in range(count)]
    return out


def _tar_folder(path: Path, files: dict[str, bytes]) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def _cifar_batch(rng, count, **labels) -> bytes:
    content = {b"data": rng.integers(0, 256, (count, 3072), dtype=np.uint8)}
    content.update({k.encode(): list(map(int, v)) for k, v in labels.items()})
    return pickle.dumps(content, protocol=4)


@pytest.fixture(scope="module")
def www(tmp_path_factory):
    """The fixture files, named as at Keras' origins, and their extracted forms."""
    root = tmp_path_factory.mktemp("www")
    rng = np.random.default_rng(0)
    _npz(root / "mnist.npz", x_train=rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
         y_train=rng.integers(0, 10, 6, dtype=np.uint8), x_test=rng.integers(0, 256, (3, 28, 28), dtype=np.uint8),
         y_test=rng.integers(0, 10, 3, dtype=np.uint8))
    for name, count in (("train", 5), ("t10k", 2)):
        labels = rng.integers(0, 10, count, dtype=np.uint8)
        images = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
        (root / f"{name}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"\0" * 8 + labels.tobytes()))
        (root / f"{name}-images-idx3-ubyte.gz").write_bytes(gzip.compress(b"\0" * 16 + images.tobytes()))
    files10 = {f"cifar-10-batches-py/data_batch_{i}": _cifar_batch(rng, 2, labels=rng.integers(0, 10, 2))
               for i in range(1, 6)}
    files10["cifar-10-batches-py/test_batch"] = _cifar_batch(rng, 3, labels=rng.integers(0, 10, 3))
    _tar_folder(root / "cifar-10-python.tar.gz", files10)
    files100 = {f"cifar-100-python/{part}": _cifar_batch(rng, n, fine_labels=rng.integers(0, 100, n),
                                                         coarse_labels=rng.integers(0, 20, n))
                for part, n in (("train", 4), ("test", 2))}
    _tar_folder(root / "cifar-100-python.tar.gz", files100)
    _npz(root / "imdb.npz", x_train=_ragged(rng, 12), y_train=rng.integers(0, 2, 12),
         x_test=_ragged(rng, 8), y_test=rng.integers(0, 2, 8))
    _npz(root / "reuters.npz", x=_ragged(rng, 15), y=rng.integers(0, 46, 15))
    (root / "imdb_word_index.json").write_text(json.dumps({"good": 1, "bad": 2}))
    (root / "reuters_word_index.json").write_text(json.dumps({"oil": 1}))
    _npz(root / "boston_housing.npz", x=rng.normal(size=(20, 13)), y=rng.normal(size=20))
    _npz(root / "california_housing.npz", x=rng.normal(size=(700, 8)).astype("float32"),
         y=rng.normal(size=700).astype("float32"))
    extracted = tmp_path_factory.mktemp("extracted")
    for name in ("cifar-10-python.tar.gz", "cifar-100-python.tar.gz"):
        with tarfile.open(root / name) as tar:
            tar.extractall(extracted / name, filter="data")
    return root, extracted


@pytest.fixture
def mirror(www, tmp_path, monkeypatch):
    root, _ = www
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "home"))
    with serve(root) as (url, hits):
        monkeypatch.setenv("POLYKERAS_DATASETS_ORIGIN", url)
        yield hits


def _keras_loader(name, www, monkeypatch):
    """Keras' ``load_data`` of ``name`` with its download replaced by the fixture file."""
    pytest.importorskip("keras")
    module = importlib.import_module(f"keras.src.datasets.{name}")
    root, extracted = www

    def local(fname=None, origin=None, extract=False, **kwargs):
        base = os.path.basename(origin)
        return str(extracted / base) if extract else str(root / base)

    monkeypatch.setattr(module, "get_file", local)
    return module


CALLS = [("mnist", {}), ("fashion_mnist", {}), ("cifar100", {}), ("cifar100", {"label_mode": "coarse"}),
         ("imdb", {}), ("imdb", {"num_words": 20, "skip_top": 2, "maxlen": 8, "seed": 3}),
         ("imdb", {"start_char": None, "oov_char": None, "index_from": 0}), ("reuters", {}),
         ("reuters", {"num_words": 15, "test_split": 0.4, "maxlen": 10}), ("boston_housing", {}),
         ("boston_housing", {"test_split": 0.3, "seed": 1}), ("california_housing", {}),
         ("california_housing", {"version": "small", "test_split": 0.5})]


@pytest.mark.parametrize("name,kwargs", CALLS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CALLS)])
def test_matches_keras_on_the_same_files(www, mirror, monkeypatch, name, kwargs):
    ours = getattr(datasets, name).load_data(**kwargs)
    theirs = _keras_loader(name, www, monkeypatch).load_data(**kwargs)
    for mine, keras_part in zip((*ours[0], *ours[1]), (*theirs[0], *theirs[1])):
        assert mine.dtype == keras_part.dtype and mine.shape == keras_part.shape
        if mine.dtype == object:
            assert [list(s) for s in mine] == [list(s) for s in keras_part]
        else:
            np.testing.assert_array_equal(mine, keras_part)


def test_cifar10_matches_keras_batch_reader(www, mirror):
    # Keras' cifar10.load_data assumes 10,000 images per batch; its batch reader is compared instead.
    cifar = pytest.importorskip("keras.src.datasets.cifar")
    folder = www[1] / "cifar-10-python.tar.gz" / "cifar-10-batches-py"
    parts = [cifar.load_batch(str(folder / f"data_batch_{i}")) for i in range(1, 6)]
    x_test, y_test = cifar.load_batch(str(folder / "test_batch"))
    (x_train, y_train), (x_test_ours, y_test_ours) = datasets.cifar10.load_data()
    np.testing.assert_array_equal(x_train, np.concatenate([p[0] for p in parts]).transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(y_train, np.concatenate([p[1] for p in parts]).reshape(-1, 1))
    np.testing.assert_array_equal(x_test_ours, x_test.transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(y_test_ours, np.reshape(y_test, (-1, 1)))
    assert x_train.dtype == y_train.dtype == x_test_ours.dtype == y_test_ours.dtype == np.uint8
    assert x_train.shape == (10, 32, 32, 3) and y_test_ours.shape == (3, 1)


@pytest.mark.parametrize("name", NAMES)
def test_signatures_match_keras(name):
    keras = pytest.importorskip("keras")
    ours, theirs = getattr(datasets, name), getattr(keras.datasets, name)
    public = sorted(n for n in dir(theirs) if not n.startswith("_") and callable(getattr(theirs, n)))
    for function in public:
        assert params(getattr(ours, function)) == params(getattr(theirs, function)), function


def test_word_indexes_and_label_names(www, mirror, monkeypatch):
    assert datasets.imdb.get_word_index() == {"good": 1, "bad": 2}
    assert datasets.reuters.get_word_index() == {"oil": 1}
    keras = pytest.importorskip("keras")
    assert datasets.reuters.get_label_names() == keras.datasets.reuters.get_label_names()


def test_files_are_cached_under_keras_home(mirror, tmp_path):
    datasets.mnist.load_data()
    datasets.mnist.load_data()
    assert mirror.count("/mnist.npz") == 1
    assert (tmp_path / "home" / "datasets" / "mnist.npz").exists()
    datasets.cifar10.load_data()
    assert (tmp_path / "home" / "datasets" / "cifar-10-batches-py-target" / "cifar-10-batches-py").is_dir()
    datasets.fashion_mnist.load_data()
    assert (tmp_path / "home" / "datasets" / "fashion-mnist" / "t10k-images-idx3-ubyte.gz").exists()


def test_keras_origins_and_hashes_are_used_without_a_mirror(monkeypatch, tmp_path):
    monkeypatch.delenv("POLYKERAS_DATASETS_ORIGIN", raising=False)
    seen = []

    def record(fname, origin, file_hash=None, **kwargs):
        seen.append((origin, file_hash))
        raise RuntimeError("stop")

    monkeypatch.setattr("polykeras.datasets._common.get_file", record)
    for name in ("mnist", "imdb", "cifar10"):
        with pytest.raises(RuntimeError, match="stop"):
            getattr(datasets, name).load_data()
    assert seen[0] == ("https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
                       "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1")
    assert seen[1][0].endswith("/imdb.npz") and len(seen[1][1]) == 64
    assert seen[2][0] == "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    monkeypatch.setattr(datasets, "ORIGIN", "http://127.0.0.1:1/mirror/")
    with pytest.raises(RuntimeError, match="stop"):
        datasets.mnist.load_data()
    assert seen[-1] == ("http://127.0.0.1:1/mirror/mnist.npz", None)


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch pwned-by-dataset",))


def test_a_pickle_gadget_in_an_npz_is_refused(tmp_path, monkeypatch):
    www_evil = tmp_path / "evil"
    www_evil.mkdir()
    bad = np.empty(2, dtype=object)
    bad[:] = [[1, 2], _Evil()]
    _npz(www_evil / "imdb.npz", x_train=bad, y_train=np.zeros(2), x_test=bad, y_test=np.zeros(2))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "home"))
    with serve(www_evil) as (url, _):
        monkeypatch.setenv("POLYKERAS_DATASETS_ORIGIN", url)
        with pytest.raises(DatasetFileError, match=r"Refusing to load posix\.system"):
            datasets.imdb.load_data()
    assert not (tmp_path / "pwned-by-dataset").exists()


def test_a_pickle_gadget_in_a_cifar_batch_is_refused(tmp_path, monkeypatch):
    evil = pickle.dumps({b"data": _Evil(), b"labels": [0]}, protocol=2)
    files = {f"cifar-10-batches-py/data_batch_{i}": evil for i in range(1, 6)}
    files["cifar-10-batches-py/test_batch"] = evil
    www_evil = tmp_path / "evil"
    www_evil.mkdir()
    _tar_folder(www_evil / "cifar-10-python.tar.gz", files)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "home"))
    with serve(www_evil) as (url, _):
        monkeypatch.setenv("POLYKERAS_DATASETS_ORIGIN", url)
        with pytest.raises(DatasetFileError, match="Refusing to load"):
            datasets.cifar10.load_data()
    assert not (tmp_path / "pwned-by-dataset").exists()


def test_bad_arguments_are_clear(mirror):
    with pytest.raises(ValueError, match="label_mode 'fine' or 'coarse'"):
        datasets.cifar100.load_data(label_mode="medium")
    with pytest.raises(ValueError, match=r"test_split in \[0, 1\)"):
        datasets.boston_housing.load_data(test_split=1.0)
    with pytest.raises(ValueError, match="version 'large' or 'small'"):
        datasets.california_housing.load_data(version="tiny")
    with pytest.raises(ValueError, match="increase maxlen"):
        datasets.imdb.load_data(maxlen=1)
