"""``TextVectorization``: text to token indices or token vectors, as Keras 3
computes them (TensorFlow's string ops, written for the host here):

- standardize: ``"lower"`` lowercases ASCII letters only (as
  ``tf.strings.lower``: ``"É"`` stays), ``"strip_punctuation"`` removes
  ASCII punctuation, ``"lower_and_strip_punctuation"`` both, or a callable
  that takes and returns a NumPy array of ``str`` (as Keras hands it on its
  engines other than TensorFlow);
- split: ``"whitespace"`` on runs of ASCII whitespace (`` \\t\\n\\v\\f\\r``;
  as ``tf.strings.split``: a no-break space does not split),
  ``"character"`` into Unicode code points, None (each string one token),
  or a callable from a 1-D NumPy array of ``str`` to one token sequence per
  string;
- ngrams: the unigrams, then the bigrams..., joined with a space
  (``tf.strings.ngrams``);
- then a ``StringLookup`` with mask token ``""`` maps tokens to indices.

It runs eagerly on host data (the engines have no strings) and returns an
engine tensor, like ``StringLookup``; on an ``Input(dtype="string")`` a
functional model runs it on the host before its compiled step.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from polykeras import ops
from polykeras.backends.base import Spec
from polykeras.layers.convolutional.arguments import describe_layer
from polykeras.layers.layer import Layer
from polykeras.layers.preprocessing.category_encoding import encode_categorical
from polykeras.layers.preprocessing.hashing import require_strings
from polykeras.layers.preprocessing.lookup import StringLookup
from polykeras.layers.preprocessing.normalization import host_array
from polykeras.registry import deserialize, serialize
from polykeras.symbolic import any_symbolic

__all__ = ["TextVectorization"]

STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
SPLIT = ("whitespace", "character")
_PUNCTUATION = re.compile(r'[!"#$%&()\*\+,\-\./:;<=>?@\[\\\]^_`{|}~\']')
_WHITESPACE = re.compile(r"[ \t\n\v\f\r]+")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


class TextVectorization(Layer):
    """Maps text to integer sequences or to multi-hot, count or TF-IDF
    vectors, with Keras 3's tokens, vocabulary and numbers.

    Args:
        max_tokens: the largest vocabulary, mask ``""`` and OOV ``"[UNK]"``
            included; None for no limit.
        standardize: ``"lower_and_strip_punctuation"`` (default),
            ``"lower"``, ``"strip_punctuation"``, None or a callable (see the
            module docstring).
        split: ``"whitespace"`` (default), ``"character"``, None or a callable.
        ngrams: None, an int ``n`` (all n-grams up to ``n``) or a tuple of
            widths.
        output_mode: ``"int"``, ``"multi_hot"``, ``"count"``, ``"tf_idf"``,
            or ``"one_hot"`` (one vector per token, sequences padded with
            zero vectors; Keras 3 accepts it but its call fails).
        output_sequence_length: ``"int"`` only: pad or cut every sequence to
            this length (else: padded to the batch's longest).
        pad_to_max_tokens: vector modes: vectors of length ``max_tokens``.
        vocabulary: a list of tokens (never a file path), or None and
            :meth:`adapt`.
        idf_weights: with ``"tf_idf"`` and a vocabulary, one weight per token.
        sparse, ragged: must be False (no engine here has sparse or ragged
            tensors; Keras allows them only on TensorFlow).
        encoding: the text encoding of byte strings.

    Example:
        >>> layer = TextVectorization(output_sequence_length=4)
        >>> layer.adapt(["The cat sat.", "The dog!"])
        >>> layer.get_vocabulary()
        ['', '[UNK]', 'the', 'sat', 'dog', 'cat']
        >>> ops.to_numpy(layer(["the dog sat down"])).tolist()
        [[2, 4, 3, 1]]
    """

    runs_on_host = True  # reads strings: a functional model runs it before its compiled step

    def __init__(self, max_tokens: int | None = None, standardize: Any = "lower_and_strip_punctuation",
                 split: Any = "whitespace", ngrams: Any = None, output_mode: str = "int",
                 output_sequence_length: int | None = None, pad_to_max_tokens: bool = False, vocabulary: Any = None,
                 idf_weights: Any = None, sparse: bool = False, ragged: bool = False, encoding: str = "utf-8",
                 name: str | None = None, **kwargs: Any):
        has_input_vocabulary = kwargs.pop("has_input_vocabulary", None)
        vocabulary_size = kwargs.pop("vocabulary_size", None)
        super().__init__(name=name, **kwargs)
        who = describe_layer(self)
        if not (standardize is None or callable(standardize) or standardize in STANDARDIZE):
            raise ValueError(f"{who}: expected standardize to be None, a callable or one of {STANDARDIZE}, "
                             f"received standardize={standardize!r}.")
        if not (split is None or callable(split) or split in SPLIT):
            raise ValueError(f"{who}: expected split to be None, a callable or one of {SPLIT}, received "
                             f"split={split!r}.")
        output_mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(output_mode, output_mode)
        if isinstance(ngrams, list):
            ngrams = tuple(ngrams)
        if not (ngrams is None or (isinstance(ngrams, int) and not isinstance(ngrams, bool) and ngrams > 0)
                or (isinstance(ngrams, tuple) and ngrams
                    and all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in ngrams))):
            raise ValueError(f"{who}: expected ngrams to be None, a positive int or a tuple of positive ints, "
                             f"received ngrams={ngrams!r}.")
        if output_sequence_length is not None:
            if output_mode != "int":
                raise ValueError(f"{who}: output_sequence_length is used only with output_mode='int', received "
                                 f"output_sequence_length={output_sequence_length!r} with output_mode="
                                 f"{output_mode!r}.")
            if isinstance(output_sequence_length, bool) or not isinstance(output_sequence_length, int) or \
                    output_sequence_length < 0:
                raise ValueError(f"{who}: expected output_sequence_length to be None or an int >= 0, received "
                                 f"output_sequence_length={output_sequence_length!r}.")
        if ragged:
            raise ValueError(f"{who}: ragged outputs are not supported (no engine here has ragged tensors); "
                             f"expected ragged=False, received ragged={ragged!r}.")
        self.standardize = standardize
        self.split = split
        self.ngrams = ngrams
        self._widths = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else ngrams
        self.output_mode = output_mode
        self.output_sequence_length = output_sequence_length
        self.ragged = False
        self.encoding = encoding
        self._lookup_layer = StringLookup(
            max_tokens=max_tokens, vocabulary=vocabulary, idf_weights=idf_weights,
            pad_to_max_tokens=pad_to_max_tokens, mask_token="", output_mode=output_mode, sparse=sparse,
            encoding=encoding, vocabulary_size=vocabulary_size, name=f"{self.name}_lookup",
            dtype=self.dtype if output_mode != "int" else None)
        self._has_input_vocabulary = vocabulary is not None if has_input_vocabulary is None else \
            bool(has_input_vocabulary)

    # ------------------------------------------------------------- text
    def _strings(self, data: Any) -> np.ndarray:
        """Host data as a NumPy array of ``str``."""
        who = describe_layer(self)
        array = np.asarray(data) if isinstance(data, (str, bytes)) else host_array(data)
        if array.dtype.kind == "S":
            return np.char.decode(array, self.encoding)
        if array.dtype.kind == "O":
            def text(value: Any) -> str:
                if isinstance(value, bytes):
                    return value.decode(self.encoding)
                if isinstance(value, str):
                    return value
                raise TypeError(f"{who}: expected strings, received {type(value).__name__} {value!r}.")
            return np.vectorize(text, otypes=[str])(array) if array.size else array.astype(str)
        if array.dtype.kind != "U":
            raise TypeError(f"{who}: expected strings (a list or array of str or bytes), received an array of "
                            f"dtype {array.dtype} and shape {array.shape}.")
        return array

    def _standardized(self, strings: np.ndarray) -> np.ndarray:
        mode = self.standardize
        if callable(mode):
            return self._strings(mode(strings))
        if mode is None:
            return strings
        flat = strings.reshape(-1).tolist()
        if mode in ("lower", "lower_and_strip_punctuation"):
            flat = [s.translate(_ASCII_LOWER) for s in flat]
        if mode in ("strip_punctuation", "lower_and_strip_punctuation"):
            flat = [_PUNCTUATION.sub("", s) for s in flat]
        return np.array(flat, dtype=str).reshape(strings.shape) if flat else strings

    def _split_rows(self, strings: np.ndarray) -> list[list[str]] | np.ndarray:
        """Token rows (ragged, a list of lists) or, without split, the strings' array."""
        if self.split is None:
            return strings
        if strings.ndim > 1:
            if strings.shape[-1] != 1:
                raise ValueError(f"{describe_layer(self)}: to split strings, expected inputs of rank 1 or with a "
                                 f"last axis of size 1, received inputs of shape {strings.shape}.")
            strings = strings[..., 0]
        if strings.ndim > 1:
            raise ValueError(f"{describe_layer(self)}: expected inputs of rank 1, or 2 with a last axis of size 1, "
                             f"received inputs of shape {strings.shape + (1,)}.")
        rows = strings.reshape(-1).tolist()
        if self.split == "whitespace":
            return [[t for t in _WHITESPACE.split(s) if t] for s in rows]
        if self.split == "character":
            return [list(s) for s in rows]
        split: Callable[[Any], Any] = self.split
        tokens = split(np.asarray(rows, dtype=str))
        return [[self._token(t) for t in row] for row in tokens]

    def _token(self, value: Any) -> str:
        if isinstance(value, bytes):
            return value.decode(self.encoding)
        if isinstance(value, (str, np.str_)):
            return str(value)
        raise TypeError(f"{describe_layer(self)}: split must give string tokens, received {type(value).__name__} "
                        f"{value!r}.")

    def _ngram_row(self, row: list[str]) -> list[str]:
        if self._widths is None:
            return row
        return [" ".join(row[i:i + n]) for n in self._widths for i in range(len(row) - n + 1)]

    def _tokens(self, data: Any) -> list[list[str]] | np.ndarray:
        """Standardized, split and n-grammed tokens: a list of rows, or an
        array of strings when ``split=None``."""
        rows = self._split_rows(self._standardized(self._strings(data)))
        if isinstance(rows, np.ndarray):
            if self._widths is None:
                return rows
            shape = rows.shape if rows.ndim else (1,)
            grams = [self._ngram_row(r) for r in rows.reshape(-1, shape[-1]).tolist()]
            return np.array(grams, dtype=str).reshape(*shape[:-1], -1)
        return [self._ngram_row(r) for r in rows]

    @staticmethod
    def _padded(rows: list[list[str]], length: int | None = None) -> np.ndarray:
        """Ragged rows as a ``(rows, length)`` array padded with ``""`` (the mask)."""
        width = max((len(r) for r in rows), default=0) if length is None else length
        out = np.full((len(rows), width), "", dtype=object)
        for i, row in enumerate(rows):
            row = row[:width]
            out[i, :len(row)] = row
        return out.astype(str) if out.size else np.zeros((len(rows), width), dtype=str)

    # ------------------------------------------------------------ adapt
    def adapt(self, data: Any, batch_size: int | None = None, steps: int | None = None) -> None:
        """Learn the vocabulary from ``data`` (a list or array of strings, a
        tensor, or an iterable of batches): tokens by decreasing frequency,
        ties by decreasing token, at most ``max_tokens`` with ``""`` and
        ``"[UNK]"``; ``tf_idf`` learns the inverse document frequencies too.
        Example: ``layer.adapt(["the cat", "the dog"])``"""
        single = isinstance(data, (list, tuple, np.ndarray, str, bytes)) or ops.is_tensor(data)
        if single:
            array = self._strings(data)
            if batch_size:
                batches: Any = [array[i:i + batch_size] for i in range(0, max(len(array), 1), batch_size)]
            else:
                batches = [array]
        else:
            batches = data

        def documents() -> Iterator[np.ndarray]:
            for i, batch in enumerate(batches):
                if steps is not None and i >= steps:
                    break
                batch = batch[0] if isinstance(batch, tuple) else batch
                strings = self._strings(batch)
                if strings.ndim == 0:
                    strings = strings.reshape(1)
                if strings.ndim == 1:
                    strings = strings.reshape(-1, 1)
                tokens = self._tokens(strings)
                yield self._padded(tokens) if isinstance(tokens, list) else tokens.reshape(tokens.shape[0], -1)

        self._lookup_layer.adapt(documents())

    # ------------------------------------------------------------- call
    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        who = describe_layer(self)
        if any_symbolic(inputs):  # a string Input: the model runs this layer on the host
            require_strings(self, inputs)
            return super().__call__(inputs, *args, **kwargs)
        kwargs.pop("training", None)
        if args or kwargs:
            raise TypeError(f"{who}: expected only the inputs, received extra arguments {list(kwargs) or len(args)}.")
        self.built = True
        return self.call(inputs)

    def call(self, inputs: Any) -> Any:
        lookup = self._lookup_layer
        if lookup._tokens is None:
            raise ValueError(f"{describe_layer(self)}: the layer has no vocabulary yet; call adapt() or pass a "
                             "vocabulary.")
        strings = self._strings(inputs)
        tokens = self._tokens(strings)
        if self.output_mode == "int":
            if isinstance(tokens, list):
                array = self._padded(tokens, self.output_sequence_length)
                return ops.convert_to_tensor(lookup._lookup(array), "int64")
            indices = lookup._lookup(tokens)
            if self.output_sequence_length is not None and indices.ndim:
                length = self.output_sequence_length
                indices = indices[..., :length]
                pad = [(0, 0)] * (indices.ndim - 1) + [(0, length - indices.shape[-1])]
                indices = np.pad(indices, pad)
            return ops.convert_to_tensor(indices, "int64")
        array = self._padded(tokens) if isinstance(tokens, list) else tokens  # rank 1 unsplit: one sample, as Keras
        indices = lookup._lookup(array)
        if self.output_mode == "one_hot":
            return encode_categorical(ops.convert_to_tensor(indices.astype(np.int32)), "one_hot", lookup._depth,
                                      lookup.dtype)
        return lookup._encode(ops.convert_to_tensor(indices.astype(np.int32)))

    def compute_output_shape(self, input_shape: Any) -> tuple:
        input_shape = tuple(input_shape)
        if self.output_mode == "int":
            return (input_shape[0] if input_shape else None, self.output_sequence_length)
        if self.split is None:
            if len(input_shape) <= 1:
                input_shape = input_shape + (1,)
        else:
            input_shape = input_shape + (None,)
        return self._lookup_layer.compute_output_shape(input_shape)

    def compute_output_spec(self, inputs: Any) -> Spec:
        return Spec(self.compute_output_shape(inputs.shape), "int64" if self.output_mode == "int" else self.dtype)

    # ------------------------------------------------------- vocabulary
    def get_vocabulary(self, include_special_tokens: bool = True) -> list[str]:
        """The vocabulary by index (``""`` and ``"[UNK]"`` first unless
        ``include_special_tokens=False``). Example: ``layer.get_vocabulary()``"""
        return self._lookup_layer.get_vocabulary(include_special_tokens)

    def vocabulary_size(self) -> int:
        """The vocabulary's size with ``""`` and ``"[UNK]"``. Example: ``layer.vocabulary_size()``"""
        return self._lookup_layer.vocabulary_size()

    def set_vocabulary(self, vocabulary: Any, idf_weights: Any = None) -> None:
        """Replace the vocabulary (and, for ``tf_idf``, its weights).
        Example: ``layer.set_vocabulary(["the", "cat"])``"""
        self._lookup_layer.set_vocabulary(vocabulary, idf_weights)

    # ------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        lookup = self._lookup_layer
        return {
            **super().get_config(),
            "max_tokens": lookup.max_tokens,
            "standardize": serialize(self.standardize, f"{describe_layer(self)} standardize"),
            "split": serialize(self.split, f"{describe_layer(self)} split"),
            "ngrams": self.ngrams,
            "output_mode": self.output_mode,
            "output_sequence_length": self.output_sequence_length,
            "pad_to_max_tokens": lookup.pad_to_max_tokens,
            "sparse": False,
            "ragged": False,
            "vocabulary": lookup._config_vocabulary,
            "idf_weights": lookup._config_idf,
            "encoding": self.encoding,
            "vocabulary_size": None if lookup._tokens is None else self.vocabulary_size(),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Mapping[str, Any] | None = None) -> TextVectorization:
        config = dict(config)
        for key, builtin in (("standardize", STANDARDIZE), ("split", SPLIT)):
            value = config.get(key)
            if value is not None and not (isinstance(value, str) and value in builtin):
                config[key] = deserialize(value, custom_objects, kind=f"TextVectorization {key} function")
        return cls(**config)
