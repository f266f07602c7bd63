"""The vocabulary logic shared by ``StringLookup`` and ``IntegerLookup``
(Keras 3's ``IndexLookup`` rules): special tokens, out-of-vocabulary (OOV)
buckets, ``adapt`` by token frequency, TF-IDF weights, and the config that
carries the vocabulary.

Index layout for ``output_mode="int"``: ``[mask] [oov x num_oov_indices]
[tokens...]`` — the mask token (when set) is index 0, then the OOV buckets,
then the vocabulary. In the other modes there is no mask slot (masked inputs
encode as zeros).

The vocabulary is always plain data in the config: the list given (as
Keras 3 stores it) or, after ``adapt``, the learned tokens (Keras would write
them to an asset file instead), with the TF-IDF weights likewise; so a saved
model rebuilds it without reading any file, and a path is refused.
"""

from __future__ import annotations

import collections
from typing import Any

import numpy as np

from polykeras import ops
from polykeras.backends.base import Spec
from polykeras.layers.convolutional.arguments import describe_layer
from polykeras.layers.layer import Layer
from polykeras.layers.preprocessing.category_encoding import encode_categorical, encoded_shape
from polykeras.layers.preprocessing.normalization import host_array

__all__ = ["OUTPUT_MODES"]

OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")


class _IndexLookup(Layer):
    """Maps tokens to indices in a vocabulary (see the module docstring).

    Example:
        >>> StringLookup(vocabulary=["a", "b"])   # see the subclasses
    """

    def __init__(self, max_tokens: int | None, num_oov_indices: int, mask_token: Any, oov_token: Any,
                 vocabulary: Any = None, idf_weights: Any = None, invert: bool = False, output_mode: str = "int",
                 sparse: bool = False, pad_to_max_tokens: bool = False, vocabulary_size: int | None = None,
                 has_input_vocabulary: bool | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        who = describe_layer(self)
        if max_tokens is not None and (isinstance(max_tokens, bool) or not isinstance(max_tokens, int)
                                       or max_tokens <= 1):
            raise ValueError(f"{who}: expected max_tokens to be None or an int greater than 1, received "
                             f"max_tokens={max_tokens!r}.")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(f"{who}: pad_to_max_tokens=True needs max_tokens; received max_tokens=None.")
        if isinstance(num_oov_indices, bool) or not isinstance(num_oov_indices, int) or num_oov_indices < 0:
            raise ValueError(f"{who}: expected num_oov_indices to be an int >= 0, received "
                             f"num_oov_indices={num_oov_indices!r}.")
        output_mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(output_mode, output_mode)
        if output_mode not in OUTPUT_MODES:
            raise ValueError(f"{who}: expected output_mode to be one of {OUTPUT_MODES}, received "
                             f"output_mode={output_mode!r}.")
        if invert and output_mode != "int":
            raise ValueError(f"{who}: invert=True needs output_mode='int', received output_mode={output_mode!r}.")
        if sparse:
            raise ValueError(f"{who}: sparse outputs are not supported; expected sparse=False, received "
                             f"sparse={sparse!r}.")
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(f"{who}: idf_weights are used only with output_mode='tf_idf', received "
                             f"output_mode={output_mode!r}.")
        if isinstance(vocabulary, (str, bytes)):
            raise ValueError(f"{who}: expected the vocabulary as a list of tokens, received the path "
                             f"{vocabulary!r}. Vocabulary files are never read (a saved model must not read "
                             "files outside it); load the file yourself and pass the list.")
        self.max_tokens = max_tokens
        self.num_oov_indices = num_oov_indices
        self.mask_token = None if mask_token is None else self._as_token(mask_token)
        self.oov_token = None if oov_token is None else self._as_token(oov_token)
        self.invert = invert
        self.output_mode = output_mode
        self.sparse = False
        self.pad_to_max_tokens = pad_to_max_tokens
        self._tokens: list[Any] | None = None
        self._index: dict[Any, int] = {}
        self._idf: np.ndarray | None = None
        self._learned = False
        self._config_vocabulary: list[Any] | None = None
        self._config_idf: list[float] | None = None
        if vocabulary is not None:
            if output_mode == "tf_idf" and idf_weights is None:
                raise ValueError(f"{who}: output_mode='tf_idf' with a vocabulary needs idf_weights too.")
            self.set_vocabulary(vocabulary, idf_weights)
        if vocabulary_size is not None and self._tokens is not None and vocabulary_size != self.vocabulary_size():
            raise ValueError(f"{who}: vocabulary_size={vocabulary_size} does not match the vocabulary, which has "
                             f"{self.vocabulary_size()} entries with the special tokens.")

    # ------------------------------------------------------------ tokens
    def _as_token(self, value: Any) -> Any:
        """One token as a plain Python value (subclasses: str or int)."""
        return value

    def _oov_start_index(self) -> int:
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start_index(self) -> int:
        return self._oov_start_index() + self.num_oov_indices

    def vocabulary_size(self) -> int:
        """Special tokens plus learned/given tokens. Example: ``layer.vocabulary_size()``"""
        return self._token_start_index() + len(self._tokens or [])

    def get_vocabulary(self, include_special_tokens: bool = True) -> list[Any]:
        """The vocabulary by index (mask and OOV tokens first unless
        ``include_special_tokens=False``). Example: ``layer.get_vocabulary()``"""
        tokens = list(self._tokens or [])
        if not include_special_tokens:
            return tokens
        return [self.mask_token] * self._oov_start_index() + [self.oov_token] * self.num_oov_indices + tokens

    def set_vocabulary(self, vocabulary: Any, idf_weights: Any = None) -> None:
        """Replace the vocabulary with ``vocabulary`` (a list of tokens,
        optionally starting with the special tokens in index order) and, for
        ``tf_idf``, its ``idf_weights``. Example: ``layer.set_vocabulary(["a", "b"])``"""
        who = describe_layer(self)
        if isinstance(vocabulary, (str, bytes)):
            raise ValueError(f"{who}: expected the vocabulary as a list of tokens, received the path "
                             f"{vocabulary!r}; vocabulary files are never read.")
        if self.output_mode == "tf_idf" and idf_weights is None:
            raise ValueError(f"{who}: output_mode='tf_idf' needs idf_weights with the vocabulary.")
        if idf_weights is not None and self.output_mode != "tf_idf":
            raise ValueError(f"{who}: idf_weights are used only with output_mode='tf_idf', received "
                             f"output_mode={self.output_mode!r}.")
        tokens = [self._as_token(t) for t in host_array(vocabulary).reshape(-1).tolist()]
        if not tokens:
            raise ValueError(f"{who}: expected a non-empty vocabulary, received {vocabulary!r}.")
        start = self._token_start_index()
        special = self.get_vocabulary()[:start]
        found_special = tokens[:start] == special
        if found_special:
            tokens = tokens[start:]
        repeated = [t for t, n in collections.Counter(tokens).items() if n > 1]
        if repeated:
            raise ValueError(f"{who}: expected unique tokens in the vocabulary, received repeated tokens {repeated}.")
        if self.mask_token is not None and self.mask_token in tokens:
            raise ValueError(f"{who}: the mask token {self.mask_token!r} appears in the vocabulary; leave the "
                             f"special tokens out, or put exactly {special} at its start.")
        if self.invert and self.oov_token is not None and self.oov_token in tokens:
            raise ValueError(f"{who}: the OOV token {self.oov_token!r} appears in the vocabulary; leave the "
                             f"special tokens out, or put exactly {special} at its start.")
        if self.max_tokens is not None and start + len(tokens) > self.max_tokens:
            raise ValueError(f"{who}: the vocabulary has {start + len(tokens)} entries with the special tokens, "
                             f"more than max_tokens={self.max_tokens}.")
        idf = None
        if idf_weights is not None:
            idf = host_array(idf_weights, np.float64).reshape(-1)
            expected = start + len(tokens) if found_special else len(tokens)
            if idf.size != expected:
                raise ValueError(f"{who}: expected {expected} idf_weights (one per vocabulary entry), received "
                                 f"{idf.size}.")
            if not found_special:
                idf = np.concatenate([np.full(start, idf.mean()), idf])
        self._set_tokens(tokens, idf)
        self._learned = False
        self._config_vocabulary = [self._as_token(t) for t in host_array(vocabulary).reshape(-1).tolist()]
        self._config_idf = None if idf_weights is None else host_array(idf_weights, np.float64).reshape(-1).tolist()

    def _set_tokens(self, tokens: list[Any], idf: np.ndarray | None) -> None:
        start = self._token_start_index()
        self._tokens = tokens
        self._index = {t: start + i for i, t in enumerate(tokens)}
        if idf is not None and self.pad_to_max_tokens and self.max_tokens is not None:
            idf = np.concatenate([idf, np.zeros(self.max_tokens - idf.size)])
        self._idf = idf
        self._tables = None

    # ------------------------------------------------------------- adapt
    def adapt(self, data: Any, steps: int | None = None) -> None:
        """Learn the vocabulary from ``data``: tokens by decreasing frequency
        (ties: the larger token first), at most ``max_tokens`` entries with
        the special tokens; ``tf_idf`` also learns the inverse document
        frequencies. ``data`` is a list or array (each entry of a rank-1
        array is a document), a tensor, or an iterable of batches. Runs on
        the host with NumPy. Example: ``layer.adapt(["a", "b", "a"])``"""
        who = describe_layer(self)
        if self._tokens is not None and not self._learned:
            raise ValueError(f"{who}: cannot adapt a layer whose vocabulary was given; create it without a "
                             "vocabulary to learn one.")
        single = isinstance(data, (list, tuple, np.ndarray)) or ops.is_tensor(data)
        batches = [data] if single else data
        counts: collections.Counter[Any] = collections.Counter()
        doc_counts: collections.Counter[Any] = collections.Counter()
        documents = 0
        for i, batch in enumerate(batches):
            if steps is not None and i >= steps:
                break
            array = self._host_tokens(batch[0] if isinstance(batch, tuple) and not single else batch)
            if array.ndim == 0:
                array = array.reshape(1, 1)
            elif array.ndim == 1:
                array = array.reshape(-1, 1) if single else array.reshape(1, -1)
            rows = array.reshape(array.shape[0], -1)
            counts.update(self._as_token(t) for t in rows.reshape(-1).tolist())
            if self.output_mode == "tf_idf":
                for row in rows:
                    doc_counts.update({self._as_token(t) for t in row.tolist()})
                documents += rows.shape[0]
        for special in (self.mask_token, self.oov_token):
            counts.pop(special, None)
        ordered = sorted(counts.items(), key=lambda item: (item[1], item[0]), reverse=True)
        if self.max_tokens is not None:
            ordered = ordered[:max(self.max_tokens - self._token_start_index(), 0)]
        tokens = [t for t, _ in ordered]
        idf = None
        if self.output_mode == "tf_idf":
            learned = np.log1p(documents / (1.0 + np.array([doc_counts[t] for t in tokens], np.float64)))
            fill = learned.mean() if learned.size else 0.0
            idf = np.concatenate([np.full(self._token_start_index(), fill), learned])
        self._set_tokens(tokens, idf)
        self._learned = True
        self._config_vocabulary = list(tokens)
        self._config_idf = None if idf is None else idf[self._token_start_index():].tolist()

    def _host_tokens(self, data: Any) -> np.ndarray:
        """Data as a NumPy array of tokens (subclasses convert)."""
        return host_array(data)

    # --------------------------------------------------------- encoding
    @property
    def _depth(self) -> int:
        return self.max_tokens if self.pad_to_max_tokens and self.max_tokens is not None else self.vocabulary_size()

    def _encode(self, indices: Any) -> Any:
        """Integer indices (a tensor) in the layer's output mode."""
        if self.output_mode == "int":
            return ops.cast(indices, "int64")
        if self.output_mode != "tf_idf":
            return encode_categorical(indices, self.output_mode, self._depth, self.dtype)
        counts = encode_categorical(indices, "count", self._depth, self.dtype)
        idf = self._idf if self._idf is not None else np.zeros(self._depth)
        return ops.multiply(counts, ops.convert_to_tensor(idf, self.dtype))

    def compute_output_spec(self, inputs: Any) -> Spec:
        """Indices are int64; the other modes give the layer's dtype."""
        return Spec(self.compute_output_shape(inputs.shape), "int64" if self.output_mode == "int" else self.dtype)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        mode = "count" if self.output_mode == "tf_idf" else self.output_mode
        return encoded_shape(input_shape, mode, self._depth)

    def _oov_error(self, values: list[Any]) -> ValueError:
        return ValueError(f"{describe_layer(self)}: with num_oov_indices=0 every input must be in the vocabulary; "
                          f"received out-of-vocabulary values {values[:10]}. Set num_oov_indices=1 to map them to "
                          "an OOV index.")

    # ------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "invert": self.invert,
            "max_tokens": self.max_tokens,
            "num_oov_indices": self.num_oov_indices,
            "oov_token": self.oov_token,
            "mask_token": self.mask_token,
            "output_mode": self.output_mode,
            "sparse": self.sparse,
            "pad_to_max_tokens": self.pad_to_max_tokens,
            "vocabulary": self._config_vocabulary,
            "idf_weights": self._config_idf,
            "vocabulary_size": None if self._tokens is None else self.vocabulary_size(),
        }
