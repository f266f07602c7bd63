"""get_file: download from a local server into the cache, hash checks,
Keras' paths, and extraction that refuses any member escaping its folder."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import zipfile
from pathlib import Path

import pytest

from polykeras.utils import UnsafeArchiveError, extract_archive, get_file, validate_file

from ._serve import serve

PAYLOAD = b"polykeras data file\n" * 50


@pytest.fixture
def served(tmp_path):
    folder = tmp_path / "www"
    folder.mkdir()
    (folder / "data.bin").write_bytes(PAYLOAD)
    _tar(folder / "bundle.tar.gz", {"bundle/a.txt": b"alpha", "bundle/sub/b.txt": b"beta"})
    with zipfile.ZipFile(folder / "pack.zip", "w") as z:
        z.writestr("pack/c.txt", b"gamma")
    with serve(folder) as (url, hits):
        yield url, hits, tmp_path / "cache"


def _tar(path: Path, files: dict[str, bytes], extra: list[tarfile.TarInfo] = ()) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info in extra:
            tar.addfile(info)


def test_download_is_cached_and_reused(served):
    url, hits, cache = served
    path = get_file(origin=f"{url}/data.bin", cache_dir=str(cache))
    assert path == str(cache / "datasets" / "data.bin")
    assert Path(path).read_bytes() == PAYLOAD
    assert get_file("data.bin", f"{url}/data.bin", cache_dir=str(cache)) == path
    assert hits == ["/data.bin"]  # the second call read the cache
    get_file("data.bin", f"{url}/data.bin", cache_dir=str(cache), force_download=True)
    assert len(hits) == 2
    assert not [p for p in (cache / "datasets").iterdir() if p.name.startswith(".")]  # no partial files left


def test_keras_home_is_the_default_cache(served, monkeypatch):
    url, _, cache = served
    monkeypatch.setenv("KERAS_HOME", str(cache / "home"))
    path = get_file(origin=f"{url}/data.bin", cache_subdir="mine")
    assert path == str(cache / "home" / "mine" / "data.bin")


@pytest.mark.parametrize("algorithm", ["sha256", "md5"])
def test_hash_is_checked(served, algorithm):
    url, _, cache = served
    good = hashlib.new(algorithm, PAYLOAD).hexdigest()
    path = get_file("data.bin", f"{url}/data.bin", file_hash=good, cache_dir=str(cache))
    assert validate_file(path, good) and validate_file(path, good, algorithm)
    with pytest.raises(ValueError, match="hash does not match"):
        get_file("other.bin", f"{url}/data.bin", file_hash="0" * len(good), cache_dir=str(cache))
    assert not (cache / "datasets" / "other.bin").exists()  # a bad download is not kept


def test_stale_cache_is_downloaded_again_and_md5_hash_still_works(served):
    url, hits, cache = served
    (cache / "datasets").mkdir(parents=True)
    (cache / "datasets" / "data.bin").write_bytes(b"old")
    path = get_file("data.bin", f"{url}/data.bin", md5_hash=hashlib.md5(PAYLOAD).hexdigest(), cache_dir=str(cache))
    assert Path(path).read_bytes() == PAYLOAD and hits == ["/data.bin"]


def test_extract_tar_and_zip_with_keras_paths(served):
    url, _, cache = served
    root = get_file("bundle.tar.gz", f"{url}/bundle.tar.gz", extract=True, cache_dir=str(cache))
    assert root == str(cache / "datasets" / "bundle_extracted")
    assert (Path(root) / "bundle" / "sub" / "b.txt").read_bytes() == b"beta"
    root = get_file("pack", f"{url}/pack.zip", extract=True, cache_dir=str(cache))
    assert root == str(cache / "datasets" / "pack")
    assert (cache / "datasets" / "pack_archive").exists()
    assert (Path(root) / "pack" / "c.txt").read_bytes() == b"gamma"
    root = get_file(origin=f"{url}/bundle.tar.gz", untar=True, cache_dir=str(cache))
    assert (Path(root) / "bundle" / "a.txt").read_bytes() == b"alpha"


def test_paths_match_keras(served, tmp_path):
    keras = pytest.importorskip("keras")
    url, _, cache = served
    (tmp_path / "keras").mkdir()  # Keras writes to /tmp/.keras when cache_dir does not exist yet
    calls = [dict(origin=f"{url}/data.bin"), dict(fname="x.bin", origin=f"{url}/data.bin"),
             dict(fname="bundle.tar.gz", origin=f"{url}/bundle.tar.gz", extract=True),
             dict(fname="bundle", origin=f"{url}/bundle.tar.gz", extract=True),
             dict(origin=f"{url}/pack.zip", extract=True)]
    for call in calls:
        theirs = keras.utils.get_file(cache_dir=str(tmp_path / "keras"), **call)
        ours = get_file(cache_dir=str(cache), **call)
        assert os.path.relpath(ours, cache) == os.path.relpath(theirs, tmp_path / "keras"), call
        if os.path.isdir(theirs):
            listing = lambda root: sorted(str(p.relative_to(root)) for p in Path(root).rglob("*"))  # noqa: E731
            assert listing(ours) == listing(theirs)


def _link(name: str, target: str, kind: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


@pytest.mark.parametrize("case", ["dotdot", "absolute", "symlink", "hardlink", "fifo", "symlink_then_write"])
def test_unsafe_tar_is_refused_and_nothing_is_written(tmp_path, case):
    archive, outside = tmp_path / "evil.tar.gz", tmp_path / "outside.txt"
    files, extra = {"ok/fine.txt": b"fine"}, []
    if case == "dotdot":
        files["ok/../../outside.txt"] = b"owned"
    elif case == "absolute":
        files[str(outside)] = b"owned"
    elif case == "symlink":
        extra.append(_link("ok/link", str(tmp_path), tarfile.SYMTYPE))
    elif case == "hardlink":
        extra.append(_link("ok/hard", str(outside), tarfile.LNKTYPE))
    elif case == "fifo":
        info = tarfile.TarInfo("ok/pipe")
        info.type = tarfile.FIFOTYPE
        extra.append(info)
    else:  # a link to the outside, then a file written "through" it
        extra.append(_link("escape", "..", tarfile.SYMTYPE))
    _tar(archive, files, extra)
    if case == "symlink_then_write":
        with tarfile.open(tmp_path / "evil2.tar", "w") as tar:
            tar.addfile(_link("escape", "..", tarfile.SYMTYPE))
            info = tarfile.TarInfo("escape/outside.txt")
            info.size = 5
            tar.addfile(info, io.BytesIO(b"owned"))
        archive = tmp_path / "evil2.tar"
    with pytest.raises(UnsafeArchiveError, match="Refusing to extract"):
        extract_archive(archive, tmp_path / "target")
    assert not outside.exists()
    assert not (tmp_path / "target").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".extract")] == []


@pytest.mark.parametrize("name", ["../escape.txt", "/tmp/escape.txt", "a/../../escape.txt", "C:/escape.txt"])
def test_unsafe_zip_is_refused(tmp_path, name):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("fine.txt", b"fine")
        z.writestr(zipfile.ZipInfo(name), b"owned")
    with pytest.raises(UnsafeArchiveError):
        extract_archive(archive, tmp_path / "target")
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "target").exists()


def test_zip_symlink_member_is_refused(tmp_path):
    archive = tmp_path / "link.zip"
    info = zipfile.ZipInfo("link")
    info.external_attr = (0o120777 << 16)  # S_IFLNK
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(info, "/etc/passwd")
    with pytest.raises(UnsafeArchiveError, match="link or special"):
        extract_archive(archive, tmp_path / "target")


def test_unsafe_archive_through_get_file(served, tmp_path):
    url, _, cache = served
    _tar(tmp_path / "www" / "evil.tar.gz", {"../../../escaped.txt": b"owned"})
    with pytest.raises(UnsafeArchiveError):
        get_file("evil.tar.gz", f"{url}/evil.tar.gz", extract=True, cache_dir=str(cache))
    assert not list(tmp_path.rglob("escaped.txt"))


def test_bad_arguments_are_clear(served):
    url, _, cache = served
    with pytest.raises(ValueError, match='specify the "origin"'):
        get_file("data.bin")
    with pytest.raises(ValueError, match="expected a file name as fname"):
        get_file("sub/data.bin", f"{url}/data.bin", cache_dir=str(cache))
    with pytest.raises(ValueError, match="hash_algorithm"):
        get_file("data.bin", f"{url}/data.bin", file_hash="ab", hash_algorithm="sha1", cache_dir=str(cache))
    with pytest.raises(OSError, match="404"):
        get_file("missing.bin", f"{url}/missing.bin", cache_dir=str(cache))
    with pytest.raises(ValueError, match="cannot be extracted"):
        get_file("data.bin", f"{url}/data.bin", extract=True, cache_dir=str(cache))
