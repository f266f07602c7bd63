"""Datasets from folders of files: ``image_dataset_from_directory``,
``text_dataset_from_directory``, ``audio_dataset_from_directory``.

Files are found, ordered, shuffled and split exactly as Keras 3 does (same
``file_paths``, ``class_names`` and training/validation membership for the
same ``seed``). Files are read lazily, batch by batch, and each batch is
NumPy: the result is an :class:`~polykeras.utils.IndexedDataset` (see
:mod:`polykeras.utils.dataset_utils`), which ``fit`` reads on every engine,
where Keras returns a ``tf.data.Dataset``. Images are decoded by Pillow;
WAV files by the standard library's ``wave`` module (PCM, 8/16/24/32-bit).
"""

from __future__ import annotations

import os
import wave
from collections.abc import Sequence
from typing import Any

import numpy as np

from polykeras.utils.dataset_utils import IndexedDataset
from polykeras.utils.image_utils import pil, resample_filter, resize_array, smart_resize

IMAGE_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
TEXT_FORMATS = (".txt",)
AUDIO_FORMATS = (".wav",)


# ----------------------------------------------------------- finding files
def _valid_files(directory: str, follow_links: bool, formats: tuple[str, ...]) -> list[tuple[str, str]]:
    walk = sorted(os.walk(directory, followlinks=follow_links), key=lambda entry: entry[0])
    return [(root, name) for root, _, files in walk for name in sorted(files) if name.lower().endswith(formats)]


def index_directory(directory: str | os.PathLike, labels: Any, formats: tuple[str, ...],
                    class_names: Sequence[str] | None = None, shuffle: bool = True, seed: int | None = None,
                    follow_links: bool = False, verbose: bool = True,
                    where: str = "index_directory") -> tuple[list[str], Any, list[str] | None]:
    """``(file_paths, labels, class_names)`` for the files under ``directory``
    with one of ``formats``: one class per subfolder (``labels="inferred"``),
    no labels (None), or the given list of labels in file order.

    Example: ``paths, labels, names = index_directory("photos", "inferred", (".png",))``
    """
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise ValueError(f"{where}: expected an existing folder as directory, received {directory!r}.")
    if labels == "inferred":
        subdirs = [d for d in sorted(os.listdir(directory))
                   if os.path.isdir(os.path.join(directory, d)) and not d.startswith(".")]
        if class_names is not None:
            if not set(class_names) <= set(subdirs):
                raise ValueError(f"{where}: class_names must name subfolders of {directory!r}: expected a subset of "
                                 f"{subdirs}, received {list(class_names)}.")
            subdirs = list(class_names)
    else:
        if class_names is not None:
            raise ValueError(f"{where}: class_names can only be given with labels='inferred', received labels="
                             f"{'None' if labels is None else 'a list'}.")
        subdirs = [""]
    filenames: list[str] = []
    found: list[int] = []
    for index, subdir in enumerate(subdirs):
        folder = os.path.join(directory, subdir)
        prefix = os.path.basename(folder)
        for root, name in _valid_files(folder, follow_links, formats):
            filenames.append(os.path.join(prefix, os.path.relpath(os.path.join(root, name), folder)))
            found.append(index)
    names: list[str] | None = list(subdirs)
    if labels == "inferred":
        label_array: Any = np.asarray(found, dtype="int32")
    elif labels is None:
        label_array, names = None, None
    else:
        if isinstance(labels, str):
            raise ValueError(f"{where}: expected labels 'inferred', None or a list of labels, received {labels!r}.")
        if len(labels) != len(filenames):
            raise ValueError(f"{where}: expected one label per file: {len(filenames)} files found in {directory!r}, "
                             f"received {len(labels)} labels.")
        label_array = np.asarray(labels)
        names = [str(label) for label in sorted(set(labels))]
    if verbose:
        print(f"Found {len(filenames)} files." if label_array is None
              else f"Found {len(filenames)} files belonging to {len(names or ())} classes.")
    paths = [os.path.join(directory, name) for name in filenames]
    if shuffle:
        seed = np.random.randint(1_000_000) if seed is None else seed
        np.random.RandomState(seed).shuffle(paths)
        if label_array is not None:
            np.random.RandomState(seed).shuffle(label_array)
    return paths, label_array, names


def _check_split(where: str, validation_split: float | None, subset: str | None, shuffle: bool,
                 seed: int | None) -> None:
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(f"{where}: expected validation_split between 0 and 1, received {validation_split!r}.")
    if bool(validation_split) != bool(subset):
        raise ValueError(f"{where}: give validation_split and subset together (or neither), received "
                         f"validation_split={validation_split!r}, subset={subset!r}.")
    if subset not in ("training", "validation", "both", None):
        raise ValueError(f"{where}: expected subset 'training', 'validation' or 'both', received {subset!r}.")
    if validation_split and shuffle and seed is None:
        raise ValueError(f"{where}: with validation_split and shuffle=True, give a seed so the training and "
                         "validation subsets do not overlap.")


def _split(paths: list[str], labels: Any, validation_split: float | None, subset: str) -> tuple[list[str], Any]:
    if not validation_split:
        return paths, labels
    held = int(validation_split * len(paths))
    if subset == "training":
        print(f"Using {len(paths) - held} files for training.")
        return paths[:len(paths) - held], None if labels is None else labels[:len(paths) - held]
    print(f"Using {held} files for validation.")
    return paths[len(paths) - held:], None if labels is None else labels[len(labels) - held:]


def _encode_labels(labels: np.ndarray, label_mode: str, num_classes: int) -> np.ndarray:
    if label_mode == "binary":
        return labels.astype("float32")[:, None]
    if label_mode == "categorical":
        return np.eye(num_classes, dtype="float32")[labels]
    return labels.astype("int32")


def _check_label_mode(where: str, labels: Any, label_mode: str | None, class_names: Any) -> str | None:
    if labels is None or label_mode is None:
        return None
    if label_mode not in ("int", "categorical", "binary"):
        raise ValueError(f"{where}: expected label_mode 'int', 'categorical', 'binary' or None, received "
                         f"{label_mode!r}.")
    if label_mode == "binary" and class_names is not None and len(class_names) != 2:
        raise ValueError(f"{where}: label_mode='binary' needs exactly 2 classes, found {len(class_names)}: "
                         f"{class_names}.")
    return label_mode


def _build(where: str, directory: Any, labels: Any, label_mode: str | None, class_names: Any, formats: tuple,
           batch_size: int | None, shuffle: bool, seed: int | None, validation_split: float | None,
           subset: str | None, follow_links: bool, verbose: bool, read: Any, collate: Any) -> Any:
    """The training/validation :class:`IndexedDataset`(s) over the files,
    reading each file with ``read(path)`` and joining samples with ``collate``."""
    if labels not in ("inferred", None) and isinstance(labels, str):
        raise ValueError(f"{where}: expected labels 'inferred', None or a list, received {labels!r}.")
    if labels is None or label_mode is None:  # as Keras: no labels means every file under directory
        labels, label_mode = None, None
    _check_split(where, validation_split, subset, shuffle, seed)
    if seed is None:
        seed = np.random.randint(1_000_000)
    paths, found, names = index_directory(directory, labels, formats, class_names, shuffle, seed, follow_links,
                                          verbose, where)
    label_mode = _check_label_mode(where, labels, label_mode, names)
    if not paths:
        raise ValueError(f"{where}: no files with an extension in {formats} found in {os.fspath(directory)!r}.")

    def dataset(part: str) -> IndexedDataset:
        part_paths, part_labels = _split(paths, found, validation_split, part)
        if not part_paths:
            raise ValueError(f"{where}: the {part} subset is empty ({len(paths)} files, validation_split="
                             f"{validation_split}).")
        encoded = None if label_mode is None else _encode_labels(np.asarray(part_labels), label_mode,
                                                                 len(names or ()))

        def fetch(indices: np.ndarray) -> Any:
            batch = collate([read(part_paths[int(i)]) for i in indices])
            return batch if encoded is None else (batch, encoded[indices])

        return IndexedDataset(fetch, len(part_paths), batch_size, shuffle=shuffle, seed=seed, class_names=names,
                              file_paths=list(part_paths))

    if subset == "both":
        return dataset("training"), dataset("validation")
    return dataset(subset or "all")


# ----------------------------------------------------------------- images
def image_dataset_from_directory(directory: Any, labels: Any = "inferred", label_mode: str | None = "int",
                                 class_names: Sequence[str] | None = None, color_mode: str = "rgb",
                                 batch_size: int | None = 32, image_size: tuple[int, int] = (256, 256),
                                 shuffle: bool = True, seed: int | None = None,
                                 validation_split: float | None = None, subset: str | None = None,
                                 interpolation: str = "bilinear", follow_links: bool = False,
                                 crop_to_aspect_ratio: bool = False, pad_to_aspect_ratio: bool = False,
                                 data_format: str | None = None, format: str = "tf", verbose: bool = True) -> Any:
    """Batches ``(images, labels)`` from image files in class subfolders:
    float32 images ``(batch, height, width, channels)`` resized to
    ``image_size`` (``"bilinear"``/``"nearest"`` as TF resizes; other methods
    by Pillow's filter of that name), labels int32 / one-hot float32 / ``(batch, 1)`` float32 for
    ``label_mode`` int / categorical / binary. Returns an
    :class:`~polykeras.utils.IndexedDataset` with ``class_names`` and
    ``file_paths``, or two with ``subset="both"``.

    Example:
        >>> train, val = image_dataset_from_directory("photos", image_size=(64, 64), validation_split=0.2,
        ...                                           subset="both", seed=1)
        >>> model.fit(train, validation_data=val)
    """
    where = "image_dataset_from_directory"
    modes = {"grayscale": ("L", 1), "rgb": ("RGB", 3), "rgba": ("RGBA", 4)}
    if color_mode not in modes:
        raise ValueError(f"{where}: expected color_mode 'grayscale', 'rgb' or 'rgba', received {color_mode!r}.")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError(f"{where}: give crop_to_aspect_ratio or pad_to_aspect_ratio, not both.")
    if format not in ("tf", "grain"):
        raise ValueError(f'{where}: expected format "tf" or "grain", received {format!r}.')
    if image_size is None or len(image_size) != 2:
        raise ValueError(f"{where}: expected image_size (height, width), received {image_size!r}.")
    from polykeras import config

    data_format = data_format or config.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{where}: expected data_format 'channels_last' or 'channels_first', received "
                         f"{data_format!r}.")
    height, width = int(image_size[0]), int(image_size[1])
    pil_mode, channels = modes[color_mode]
    resample_filter(interpolation)  # an unknown name fails here, before any file is read
    Image = pil()

    def read(path: str) -> np.ndarray:
        with Image.open(path) as img:
            img.seek(0)  # an animated GIF gives its first frame
            pixels = np.asarray(img.convert(pil_mode), dtype="float32").reshape(img.size[1], img.size[0], channels)
        if crop_to_aspect_ratio:
            pixels = smart_resize(pixels, (height, width), interpolation)
        elif pad_to_aspect_ratio:
            pixels = _pad_resize(pixels, height, width, interpolation)
        else:
            pixels = resize_array(pixels, height, width, interpolation)
        return np.transpose(pixels, (2, 0, 1)) if data_format == "channels_first" else pixels

    return _build(where, directory, labels, label_mode, class_names, IMAGE_FORMATS, batch_size, shuffle, seed,
                  validation_split, subset, follow_links, verbose, read, np.stack)


def _pad_resize(pixels: np.ndarray, height: int, width: int, interpolation: str) -> np.ndarray:
    """Resize keeping the aspect ratio, centered between black bars (as
    ``tf.image.resize_with_pad``)."""
    ratio = max(pixels.shape[1] / width, pixels.shape[0] / height)
    inner_h, inner_w = max(1, int(pixels.shape[0] / ratio)), max(1, int(pixels.shape[1] / ratio))
    canvas = np.zeros((height, width, pixels.shape[2]), dtype="float32")
    top, left = (height - inner_h) // 2, (width - inner_w) // 2
    canvas[top:top + inner_h, left:left + inner_w] = resize_array(pixels, inner_h, inner_w, interpolation)
    return canvas


# ------------------------------------------------------------------- text
def text_dataset_from_directory(directory: Any, labels: Any = "inferred", label_mode: str | None = "int",
                                class_names: Sequence[str] | None = None, batch_size: int | None = 32,
                                max_length: int | None = None, shuffle: bool = True, seed: int | None = None,
                                validation_split: float | None = None, subset: str | None = None,
                                follow_links: bool = False, format: str = "tf", verbose: bool = True) -> Any:
    """Batches ``(texts, labels)`` from ``.txt`` files in class subfolders:
    texts are a NumPy array of str decoded from UTF-8 (Keras yields bytes;
    ``max_length`` cuts each file to that many bytes, as Keras does).
    Returns an :class:`~polykeras.utils.IndexedDataset`.

    Example:
        >>> train = text_dataset_from_directory("reviews", batch_size=16)
        >>> texts, labels = train[0]
    """
    where = "text_dataset_from_directory"
    if format not in ("tf", "grain"):
        raise ValueError(f'{where}: expected format "tf" or "grain", received {format!r}.')

    def read(path: str) -> str:
        with open(path, "rb") as f:
            raw = f.read()
        if max_length is None:
            return raw.decode("utf-8", errors="replace")
        return raw[:max_length].decode("utf-8", errors="ignore")  # a character cut in two is dropped

    return _build(where, directory, labels, label_mode, class_names, TEXT_FORMATS, batch_size, shuffle, seed,
                  validation_split, subset, follow_links, verbose, read, lambda texts: np.asarray(texts, dtype=str))


# ------------------------------------------------------------------ audio
def read_wav(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """A PCM WAV file as float32 ``(samples, channels)`` in [-1, 1] and its
    sampling rate, read with the standard library. Example: ``audio, rate = read_wav("a.wav")``"""
    with wave.open(os.fspath(path), "rb") as f:
        channels, width, rate, frames = f.getnchannels(), f.getsampwidth(), f.getframerate(), f.getnframes()
        raw = f.readframes(frames)
    if width == 1:
        audio = (np.frombuffer(raw, dtype="uint8").astype("float32") - 128.0) / 128.0
    elif width == 2:
        audio = np.frombuffer(raw, dtype="<i2").astype("float32") / 32768.0
    elif width == 3:
        bytes3 = np.frombuffer(raw, dtype="uint8").reshape(-1, 3).astype("int32")
        values = bytes3[:, 0] | (bytes3[:, 1] << 8) | (bytes3[:, 2] << 16)
        audio = np.where(values >= 1 << 23, values - (1 << 24), values).astype("float32") / float(1 << 23)
    elif width == 4:
        audio = np.frombuffer(raw, dtype="<i4").astype("float32") / float(1 << 31)
    else:
        raise ValueError(f"read_wav: expected 8, 16, 24 or 32-bit PCM samples in {path}, received {8 * width}-bit.")
    return audio.reshape(-1, channels), rate


def _resample(audio: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Linear-interpolation resampling along time."""
    if rate_in == rate_out or len(audio) == 0:
        return audio
    length = max(1, int(round(len(audio) * rate_out / rate_in)))
    times = np.arange(length) * (rate_in / rate_out)
    source = np.arange(len(audio))
    return np.stack([np.interp(times, source, audio[:, c]) for c in range(audio.shape[1])], axis=1).astype("float32")


def _pad_stack(clips: list[np.ndarray]) -> np.ndarray:
    longest = max(len(c) for c in clips)
    out = np.zeros((len(clips), longest, clips[0].shape[1]), dtype="float32")
    for i, clip in enumerate(clips):
        if clip.shape[1] != out.shape[2]:
            raise ValueError(f"audio_dataset_from_directory: clips in one batch have {out.shape[2]} and "
                             f"{clip.shape[1]} channels; expected the same number.")
        out[i, :len(clip)] = clip
    return out


def audio_dataset_from_directory(directory: Any, labels: Any = "inferred", label_mode: str | None = "int",
                                 class_names: Sequence[str] | None = None, batch_size: int | None = 32,
                                 sampling_rate: int | None = None, output_sequence_length: int | None = None,
                                 ragged: bool = False, shuffle: bool = True, seed: int | None = None,
                                 validation_split: float | None = None, subset: str | None = None,
                                 follow_links: bool = False, verbose: bool = True) -> Any:
    """Batches ``(audio, labels)`` from ``.wav`` files in class subfolders:
    float32 ``(batch, time, channels)`` in [-1, 1], cut or zero-padded to
    ``output_sequence_length`` (else padded to the batch's longest clip),
    resampled linearly to ``sampling_rate`` when given. Returns an
    :class:`~polykeras.utils.IndexedDataset`.

    Example:
        >>> train = audio_dataset_from_directory("speech", output_sequence_length=16000)
    """
    where = "audio_dataset_from_directory"
    if ragged:
        raise NotImplementedError(f"{where}: ragged=True needs ragged tensors, which polykeras' engines do not "
                                  "share; clips are zero-padded instead (leave ragged=False).")
    if sampling_rate is not None and (isinstance(sampling_rate, bool) or int(sampling_rate) != sampling_rate
                                      or sampling_rate <= 0):
        raise ValueError(f"{where}: expected a positive integer sampling_rate, received {sampling_rate!r}.")
    if output_sequence_length is not None and (int(output_sequence_length) != output_sequence_length
                                               or output_sequence_length <= 0):
        raise ValueError(f"{where}: expected a positive integer output_sequence_length, received "
                         f"{output_sequence_length!r}.")

    def read(path: str) -> np.ndarray:
        audio, rate = read_wav(path)
        if sampling_rate is not None:
            audio = _resample(audio, rate, int(sampling_rate))
        if output_sequence_length is not None:
            fixed = np.zeros((int(output_sequence_length), audio.shape[1]), dtype="float32")
            kept = audio[:int(output_sequence_length)]
            fixed[:len(kept)] = kept
            audio = fixed
        return audio

    return _build(where, directory, labels, label_mode, class_names, AUDIO_FORMATS, batch_size, shuffle, seed,
                  validation_split, subset, follow_links, verbose, read, _pad_stack)
