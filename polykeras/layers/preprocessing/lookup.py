"""``StringLookup`` and ``IntegerLookup``: tokens to vocabulary indices (and
back with ``invert=True``), with Keras 3's special tokens, OOV buckets and
output modes. See :mod:`.index_lookup` for the index layout.

``IntegerLookup`` computes with ``ops`` (it runs on every engine, inside
models and compiled steps). ``StringLookup`` runs eagerly on host data: the
engines have no string tensors, so it maps strings with a Python dict over
NumPy arrays and returns an engine tensor of indices (or, inverted, a NumPy
array of strings). Apply it to your data before the model, in the input
pipeline, or in a functional model on an ``Input(dtype="string")``, which
runs it on the host before its compiled step.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from polykeras import ops
from polykeras.backends.base import Spec
from polykeras.layers.convolutional.arguments import describe_layer
from polykeras.layers.preprocessing.hashing import normalize_salt, require_strings
from polykeras.layers.preprocessing.index_lookup import _IndexLookup
from polykeras.layers.preprocessing.normalization import host_array
from polykeras.layers.preprocessing.string_hash import hash_bucket
from polykeras.symbolic import any_symbolic

__all__ = ["IntegerLookup", "StringLookup"]


class StringLookup(_IndexLookup):
    """Maps strings to integer indices of a vocabulary, on the host.

    It runs eagerly on host data (lists or NumPy arrays of ``str``/``bytes``;
    the engines have no string tensors) and returns an engine tensor of int64
    indices (float vectors in the encoding modes; NumPy strings when
    inverted). Use it on the data before the model, in the input pipeline,
    or on an ``Input(dtype="string")`` of a functional model (which runs it
    on the host before its compiled step); not inside a compiled step.

    Args:
        max_tokens: the largest vocabulary size (with the special tokens).
        num_oov_indices: OOV buckets: 1 (default) maps every unknown string to
            one index; 0 makes unknown strings an error; with more, an
            unknown string goes to bucket ``Fingerprint64(s) %
            num_oov_indices`` (FarmHash, Keras' buckets), or SipHash-2-4
            keyed by ``salt``.
        mask_token: a string that maps to index 0 (``output_mode="int"``) or
            encodes as zeros (other modes); None for no mask.
        oov_token: the token reported for OOV indices (default ``"[UNK]"``).
        vocabulary: the tokens, as a list or array (never a file path);
            or None and :meth:`adapt`.
        idf_weights: for ``output_mode="tf_idf"``, one weight per token.
        invert: map indices back to strings.
        output_mode: ``"int"`` (int64 indices), ``"one_hot"``,
            ``"multi_hot"``, ``"count"`` or ``"tf_idf"`` (float vectors in the
            layer's dtype).
        pad_to_max_tokens: encode vectors of length ``max_tokens``.
        encoding: the text encoding of byte strings.
        salt: None, an int or two ints: hash OOV strings with SipHash-2-4.
        oov_method: accepted for Keras' configs; strings are always hashed.

    Example:
        >>> layer = StringLookup(vocabulary=["a", "b", "c"])
        >>> ops.to_numpy(layer(np.array([["a", "c"], ["d", "b"]])))
        array([[1, 3],
               [0, 2]])
        >>> layer.get_vocabulary()
        ['[UNK]', 'a', 'b', 'c']
    """

    runs_on_host = True  # reads strings: a functional model runs it before its compiled step

    def __init__(self, max_tokens: int | None = None, num_oov_indices: int = 1, mask_token: str | None = None,
                 oov_token: str = "[UNK]", vocabulary: Any = None, idf_weights: Any = None, invert: bool = False,
                 output_mode: str = "int", pad_to_max_tokens: bool = False, sparse: bool = False,
                 encoding: str = "utf-8", name: str | None = None, salt: Any = None, oov_method: str = "floormod",
                 **kwargs: Any):
        self.encoding = encoding
        super().__init__(max_tokens, num_oov_indices, mask_token, oov_token, vocabulary=vocabulary,
                         idf_weights=idf_weights, invert=invert, output_mode=output_mode, sparse=sparse,
                         pad_to_max_tokens=pad_to_max_tokens, name=name, **kwargs)
        who = describe_layer(self)
        if oov_method not in ("floormod", "farmhash"):
            raise ValueError(f"{who}: expected oov_method 'floormod' or 'farmhash', received "
                             f"oov_method={oov_method!r}.")
        self.oov_method = oov_method  # strings are always hashed (FarmHash, or SipHash with a salt)
        self.salt = normalize_salt(salt, who)

    def _as_token(self, value: Any) -> str:
        if isinstance(value, bytes):
            return value.decode(self.encoding)
        if isinstance(value, str):
            return str(value)
        raise TypeError(f"{describe_layer(self)}: expected string tokens, received {type(value).__name__} "
                        f"{value!r}.")

    def _host_tokens(self, data: Any) -> np.ndarray:
        array = host_array(data) if not isinstance(data, (str, bytes)) else np.asarray(data)
        if array.dtype.kind == "S":
            array = np.char.decode(array, self.encoding)
        elif array.dtype.kind == "O":
            array = np.vectorize(self._as_token, otypes=[object])(array) if array.size else array
        elif array.dtype.kind != "U":
            raise TypeError(f"{describe_layer(self)}: expected strings (a list or array of str or bytes), "
                            f"received an array of dtype {array.dtype} and shape {array.shape}.")
        return array

    def _lookup(self, tokens: np.ndarray) -> np.ndarray:
        flat = tokens.reshape(-1).tolist()
        default = self._oov_start_index() if self.num_oov_indices == 1 else -1
        index = self._index
        out = np.fromiter((index.get(t, default) for t in flat), dtype=np.int64, count=len(flat))
        if self.num_oov_indices > 1:
            unknown = np.flatnonzero(out == -1)
            if unknown.size:
                salt = None if self.salt is None else (self.salt[0], self.salt[1])
                out[unknown] = self._oov_start_index() + hash_bucket(
                    [flat[i] for i in unknown.tolist()], self.num_oov_indices, salt, self.encoding)
        masked = np.zeros(len(flat), bool)
        if self.mask_token is not None:
            masked = np.fromiter((t == self.mask_token for t in flat), dtype=bool, count=len(flat))
            out[masked] = 0 if self.output_mode == "int" else -1
        if not self.num_oov_indices and np.any((out == -1) & ~masked):
            raise self._oov_error(sorted({t for t, o, m in zip(flat, out, masked) if o == -1 and not m}))
        return out.reshape(tokens.shape)

    def _invert(self, indices: np.ndarray) -> np.ndarray:
        vocabulary = self.get_vocabulary()
        start = self._token_start_index()
        flat = indices.reshape(-1).tolist()
        out = [vocabulary[i] if start <= i < len(vocabulary) else self.oov_token for i in flat]
        if self.mask_token is not None:
            out = [self.mask_token if i == 0 else t for i, t in zip(flat, out)]
        return np.array(out, dtype=str).reshape(indices.shape)

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        if any_symbolic(inputs):  # a string Input: the model runs this layer on the host
            if not self.invert:
                require_strings(self, inputs)
            return super().__call__(inputs, *args, **kwargs)
        kwargs.pop("training", None)
        if args or kwargs:
            raise TypeError(f"{describe_layer(self)}: expected only the inputs, received extra arguments "
                            f"{list(kwargs) or len(args)}.")
        self.built = True
        if self.invert:
            array = host_array(inputs)
            if array.dtype.kind not in "iu":
                raise TypeError(f"{describe_layer(self)}: invert=True expects integer indices, received an array "
                                f"of dtype {array.dtype}.")
            return self._invert(array.astype(np.int64))
        tokens = self._host_tokens(inputs)
        indices = self._lookup(tokens)
        if self.output_mode == "int":
            return ops.convert_to_tensor(indices, "int64")
        return self._encode(ops.convert_to_tensor(indices.astype(np.int32)))

    def compute_output_spec(self, inputs: Any) -> Spec:
        """Indices as for every lookup; inverted, the tokens (strings)."""
        spec = super().compute_output_spec(inputs)
        return Spec(spec.shape, "string") if self.invert else spec

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "encoding": self.encoding, "oov_method": self.oov_method, "salt": self.salt}


class IntegerLookup(_IndexLookup):
    """Maps integer ids to indices of a vocabulary, with ``ops`` (works in
    models and compiled steps on every engine).

    Args:
        max_tokens: the largest vocabulary size (with the special tokens).
        num_oov_indices: OOV buckets (default 1); with more, an unknown id
            ``x`` goes to bucket ``x mod num_oov_indices`` (``"floormod"``)
            or to its decimal text's FarmHash bucket (``"farmhash"``); 0
            makes unknown ids an error (checked when the values are known,
            i.e. outside compiled steps).
        mask_token: an id that maps to index 0 (``output_mode="int"``) or
            encodes as zeros; None for no mask.
        oov_token: the id reported for OOV indices when inverting (default -1).
        vocabulary: the ids as a list or array (never a file path); or adapt.
        vocabulary_dtype: ``"int64"`` (Keras' only choice).
        idf_weights, invert, output_mode, pad_to_max_tokens: as
            :class:`StringLookup`.
        oov_method: ``"floormod"`` (in ``ops``, compiled steps too) or
            ``"farmhash"`` (Keras' bins, hashed on the host: eager calls only).
        salt: with ``"farmhash"``, an int or two ints: SipHash-2-4 instead.

    The lookup compares every input with every vocabulary entry, so it costs
    ``inputs x vocabulary`` work: meant for vocabularies of up to some
    thousands of ids.

    Example:
        >>> layer = IntegerLookup(vocabulary=[12, 36, 1138, 42], mask_token=0)
        >>> ops.to_numpy(layer(np.array([[12, 1138, 0], [7, 42, 36]])))
        array([[2, 4, 0],
               [1, 5, 3]])
    """

    def __init__(self, max_tokens: int | None = None, num_oov_indices: int = 1, mask_token: int | None = None,
                 oov_token: int = -1, vocabulary: Any = None, vocabulary_dtype: str = "int64",
                 idf_weights: Any = None, invert: bool = False, output_mode: str = "int", sparse: bool = False,
                 pad_to_max_tokens: bool = False, oov_method: str = "floormod", salt: Any = None,
                 name: str | None = None, **kwargs: Any):
        super().__init__(max_tokens, num_oov_indices, mask_token, oov_token, vocabulary=vocabulary,
                         idf_weights=idf_weights, invert=invert, output_mode=output_mode, sparse=sparse,
                         pad_to_max_tokens=pad_to_max_tokens, name=name, **kwargs)
        who = describe_layer(self)
        if vocabulary_dtype != "int64":
            raise ValueError(f"{who}: expected vocabulary_dtype='int64', received vocabulary_dtype="
                             f"{vocabulary_dtype!r}.")
        if oov_method not in ("floormod", "farmhash"):
            raise ValueError(f"{who}: expected oov_method 'floormod' or 'farmhash', received "
                             f"oov_method={oov_method!r}.")
        if salt is not None and oov_method != "farmhash":
            raise ValueError(f"{who}: salt can only be used with oov_method='farmhash', received "
                             f"oov_method={oov_method!r}, salt={salt!r}.")
        self.vocabulary_dtype = vocabulary_dtype
        self.oov_method = oov_method
        self.salt = normalize_salt(salt, who)

    def _as_token(self, value: Any) -> int:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer, float, np.floating)) or \
                int(value) != value:
            raise TypeError(f"{describe_layer(self)}: expected integer tokens, received {type(value).__name__} "
                            f"{value!r}.")
        return int(value)

    def _host_tokens(self, data: Any) -> np.ndarray:
        array = host_array(data)
        if array.dtype.kind not in "iuf":
            raise TypeError(f"{describe_layer(self)}: expected integer ids, received an array of dtype "
                            f"{array.dtype} and shape {array.shape}.")
        return array.astype(np.int64)

    def _vocabulary_tensor(self) -> Any:
        return ops.convert_to_tensor(np.asarray(self._tokens, np.int64), "int64")

    def _lookup(self, inputs: Any) -> Any:
        start, n = self._oov_start_index(), self.num_oov_indices
        if n > 1 and self.oov_method == "farmhash":
            fallback = ops.convert_to_tensor(self._hashed_buckets(inputs) + start, ops.dtype(inputs))
        elif n > 1:
            fallback = ops.add(ops.mod(inputs, n), start)
        else:
            fallback = ops.full(ops.shape(inputs), start if n == 1 else -1, ops.dtype(inputs))
        if self._tokens:
            matches = ops.equal(ops.expand_dims(inputs, -1), self._vocabulary_tensor())
            position = ops.cast(ops.argmax(ops.cast(matches, "int32"), axis=-1), ops.dtype(inputs))
            out = ops.where(ops.any(matches, axis=-1), ops.add(position, self._token_start_index()), fallback)
        else:
            out = fallback
        if self.mask_token is not None:
            out = ops.where(ops.equal(inputs, self.mask_token), 0 if self.output_mode == "int" else -1, out)
        if n == 0:
            self._check_no_oov(inputs, out)
        return out

    def _hashed_buckets(self, inputs: Any) -> np.ndarray:
        """OOV buckets of ``oov_method="farmhash"``: the ids' decimal text
        hashed on the host (FarmHash Fingerprint64, SipHash-2-4 with a salt)."""
        try:
            values = np.asarray(ops.to_numpy(inputs))
        except Exception as err:  # a traced tensor inside a compiled step
            raise ValueError(f"{describe_layer(self)}: oov_method='farmhash' hashes on the host, so it cannot run "
                             "inside a compiled step; use oov_method='floormod' there, or apply the layer to the "
                             "data before the model.") from err
        salt = None if self.salt is None else (self.salt[0], self.salt[1])
        return hash_bucket(values.reshape(-1).tolist(), self.num_oov_indices, salt).reshape(values.shape)

    def _check_no_oov(self, inputs: Any, out: Any) -> None:
        try:
            values, found = ops.to_numpy(inputs), ops.to_numpy(out)
        except Exception:  # traced values (a compiled step) cannot be checked
            return
        unknown = values[found == -1]
        if self.mask_token is not None:
            unknown = unknown[unknown != self.mask_token]
        if unknown.size:
            raise self._oov_error(sorted(set(unknown.tolist())))

    def _invert(self, inputs: Any) -> Any:
        dtype = ops.dtype(inputs)
        out = ops.full(ops.shape(inputs), self.oov_token, dtype)
        if self._tokens:
            relative = ops.subtract(inputs, self._token_start_index())
            size = len(self._tokens)
            inside = ops.logical_and(ops.greater_equal(relative, 0), ops.less(relative, size))
            tokens = ops.take(ops.cast(self._vocabulary_tensor(), dtype), ops.clip(relative, 0, size - 1))
            out = ops.where(inside, tokens, out)
        if self.mask_token is not None:
            out = ops.where(ops.equal(inputs, 0), self.mask_token, out)
        return out

    def call(self, inputs: Any) -> Any:
        dtype = ops.dtype(inputs)
        if not dtype.startswith(("int", "uint")):
            if dtype == "bool" or dtype.startswith("complex"):
                raise TypeError(f"{describe_layer(self)}: expected integer ids, received a tensor of dtype {dtype}.")
            inputs = ops.cast(inputs, "int64")
        elif dtype != "int64":
            inputs = ops.cast(inputs, "int64")
        if self.invert:
            return ops.cast(self._invert(inputs), "int64")
        return self._encode(self._lookup(inputs))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "vocabulary_dtype": self.vocabulary_dtype, "oov_method": self.oov_method,
                "salt": self.salt}
