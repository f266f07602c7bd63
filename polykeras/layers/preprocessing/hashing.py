"""``Hashing`` and ``HashedCrossing``: categorical features (strings or
integers) hashed into a fixed number of bins, with the same bins as Keras 3
(FarmHash Fingerprint64, SipHash-2-4 with a salt, TensorFlow's
``cross_hashed`` folding), computed on the host by :mod:`.string_hash`.

Both run eagerly on host data like ``StringLookup`` (the engines have no
string tensors): lists or NumPy arrays of ``str``/``bytes``, NumPy integers,
or engine tensors of integers (read back to the host). On symbolic inputs
they give their output shape, so they sit in functional models (on
``Input(dtype="string")`` too), which run them on the host before the
compiled step; called inside a compiled step they refuse.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from polykeras import ops
from polykeras.backends.base import Spec
from polykeras.backends.dtypes import floatx
from polykeras.layers.convolutional.arguments import describe_layer
from polykeras.layers.layer import Layer
from polykeras.layers.preprocessing.category_encoding import encode_categorical, encoded_shape
from polykeras.layers.preprocessing.normalization import host_array
from polykeras.layers.preprocessing.string_hash import fingerprint64, fingerprint_cat64, hash_bucket, to_bytes
from polykeras.symbolic import STRING, SymbolicTensor, any_symbolic, flatten

__all__ = ["HashedCrossing", "Hashing", "host_values", "normalize_salt", "require_strings"]

#: ``tf.sparse.cross_hashed``'s default key, the first value folded.
_CROSS_SEED = 0xDECAFCAFFE


def normalize_salt(salt: Any, who: str) -> list[int] | None:
    """Keras' salt: None, one int (used for both halves of the key) or two ints.
    Example: ``normalize_salt(133, "Hashing 'h'")`` -> ``[133, 133]``"""
    if salt is None:
        return None
    if isinstance(salt, (tuple, list)) and len(salt) == 2 and all(
            isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in salt):
        return [int(s) for s in salt]
    if isinstance(salt, (int, np.integer)) and not isinstance(salt, bool):
        return [int(salt), int(salt)]
    raise ValueError(f"{who}: expected salt to be None, an int or a tuple of 2 ints, received salt={salt!r}.")


def require_strings(layer: Layer, inputs: Any) -> None:
    """Refuse a symbolic input that is not a string tensor, for the layers
    that read only text. Example: ``require_strings(lookup, Input((1,), dtype="string"))``"""
    for tensor in flatten(inputs):
        if isinstance(tensor, SymbolicTensor) and tensor.dtype != STRING:
            raise TypeError(f"{describe_layer(layer)}: expected a string input (Input(dtype='string')), received "
                            f"the symbolic tensor {tensor.name!r} of dtype {tensor.dtype}.")


def host_values(layer: Layer, data: Any, encoding: str = "utf-8") -> np.ndarray:
    """``data`` as a NumPy array of ``str`` (text, decoded) or integers
    (floats truncated to int64, as Keras casts them), for hashing on the host.
    Example: ``host_values(layer, [["a"], ["b"]]).dtype.kind`` -> ``'U'``"""
    who = describe_layer(layer)
    try:
        array = np.asarray(data) if isinstance(data, (str, bytes)) else host_array(data)
    except Exception as err:  # a traced tensor inside a compiled step
        raise ValueError(f"{who} hashes on the host, so it cannot run inside a compiled step; apply it to the "
                         f"data before the model (received {type(data).__name__}).") from err
    kind = array.dtype.kind
    if kind == "S":
        return np.char.decode(array, encoding)
    if kind == "O":
        def text(value: Any) -> str:
            if isinstance(value, bytes):
                return value.decode(encoding)
            if isinstance(value, str):
                return value
            raise TypeError(f"{who}: expected strings or integers, received {type(value).__name__} {value!r}.")
        return np.vectorize(text, otypes=[str])(array) if array.size else array.astype(str)
    if kind in "iuU":
        return array
    if kind == "f":
        return array.astype(np.int64)
    raise TypeError(f"{who}: expected strings or integers, received an array of dtype {array.dtype} and shape "
                    f"{array.shape}.")


class Hashing(Layer):
    """Hashes strings or integers into ``num_bins`` bins, with Keras 3's bins.

    Without ``salt`` a value goes to ``Fingerprint64(value) % num_bins``
    (FarmHash, as ``tf.strings.to_hash_bucket_fast``); with a salt, SipHash-2-4
    keyed by it. Integers are hashed as their decimal text, floats truncated
    to integers first. With ``mask_value``, that value goes to bin 0 and the
    rest to ``1 + hash % (num_bins - 1)``.

    Args:
        num_bins: the number of bins, the mask's included.
        mask_value: a value mapped to bin 0, or None.
        salt: None (FarmHash), an int or a pair of ints (SipHash-2-4's key).
        output_mode: ``"int"`` (bin indices), ``"one_hot"``, ``"multi_hot"``
            or ``"count"`` (vectors of ``num_bins``).
        sparse: must be False.

    Runs eagerly on host data (see the module docstring).

    Example:
        >>> layer = Hashing(num_bins=3)
        >>> ops.to_numpy(layer([["A"], ["B"], ["C"], ["D"], ["E"]])).ravel().tolist()
        [1, 0, 1, 1, 2]
    """

    runs_on_host = True  # reads strings: a functional model runs it before its compiled step

    def __init__(self, num_bins: int, mask_value: Any = None, salt: Any = None, output_mode: str = "int",
                 sparse: bool = False, **kwargs: Any):
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = "int64" if output_mode == "int" else floatx()
        super().__init__(**kwargs)
        who = describe_layer(self)
        if isinstance(num_bins, bool) or not isinstance(num_bins, (int, np.integer)) or num_bins <= 0:
            raise ValueError(f"{who}: expected num_bins to be a positive int, received num_bins={num_bins!r}.")
        if output_mode not in ("int", "one_hot", "multi_hot", "count"):
            raise ValueError(f"{who}: expected output_mode to be one of ('int', 'one_hot', 'multi_hot', 'count'), "
                             f"received output_mode={output_mode!r}.")
        if output_mode == "int" and self.dtype not in ("int32", "int64"):
            raise ValueError(f"{who}: output_mode='int' needs an integer dtype, 'int32' or 'int64'; received "
                             f"dtype={self.dtype!r}.")
        if sparse:
            raise ValueError(f"{who}: sparse outputs are not supported; expected sparse=False, received "
                             f"sparse={sparse!r}.")
        self.num_bins = int(num_bins)
        self.mask_value = mask_value
        self.salt = normalize_salt(salt, who)
        self.strong_hash = self.salt is not None
        self.output_mode = output_mode
        self.sparse = False

    def _bins(self, values: np.ndarray) -> np.ndarray:
        bins = self.num_bins
        mask = None
        if self.mask_value is not None and bins > 1:
            bins -= 1
            target = self.mask_value
            if isinstance(target, bytes):
                target = target.decode()
            mask = values == (str(target) if values.dtype.kind == "U" else target)
        salt = None if self.salt is None else (self.salt[0], self.salt[1])
        out = hash_bucket(values.reshape(-1).tolist(), bins, salt).reshape(values.shape)
        if mask is not None:
            out = np.where(mask, 0, out + 1)
        return out

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        if any_symbolic(inputs):
            return super().__call__(inputs, *args, **kwargs)
        kwargs.pop("training", None)
        if args or kwargs:
            raise TypeError(f"{describe_layer(self)}: expected only the inputs, received extra arguments "
                            f"{list(kwargs) or len(args)}.")
        self.built = True
        return self.call(inputs)

    def call(self, inputs: Any) -> Any:
        values = host_values(self, inputs)
        if self.output_mode == "one_hot" and values.ndim > 1 and values.shape[-1] == 1:
            values = values[..., 0]
        indices = self._bins(values)
        if self.output_mode == "int":
            return ops.convert_to_tensor(indices, self.dtype)
        return encode_categorical(ops.convert_to_tensor(indices.astype(np.int32)), self.output_mode,
                                  self.num_bins, self.dtype)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return encoded_shape(tuple(input_shape), self.output_mode, self.num_bins)

    def compute_output_spec(self, inputs: Any) -> Spec:
        return Spec(self.compute_output_shape(inputs.shape), self.dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_bins": self.num_bins, "salt": self.salt, "mask_value": self.mask_value,
                "output_mode": self.output_mode, "sparse": self.sparse}


class HashedCrossing(Layer):
    """Crosses two or more categorical features into ``num_bins`` bins, with
    Keras 3's bins (``tf.sparse.cross_hashed``): each sample's feature values
    (strings by FarmHash Fingerprint64, integers as they are) are folded with
    ``FingerprintCat64`` from TensorFlow's fixed seed, then taken modulo
    ``num_bins``.

    Args:
        num_bins: the number of bins.
        output_mode: ``"int"`` (bin indices) or ``"one_hot"``.
        sparse: must be False.

    The inputs are a list of two or more features of one shape, ``()``,
    ``(batch,)`` or ``(batch, 1)``, each of strings or integers. Runs eagerly
    on host data (see the module docstring).

    Example:
        >>> layer = HashedCrossing(num_bins=5)
        >>> out = layer([np.array([1, 2, 3]), np.array(["A", "B", "C"])])
        >>> ops.to_numpy(out).shape
        (3,)
    """

    runs_on_host = True  # reads strings: a functional model runs it before its compiled step

    def __init__(self, num_bins: int, output_mode: str = "int", sparse: bool = False, name: str | None = None,
                 dtype: Any = None, **kwargs: Any):
        if output_mode == "int" and dtype is None:
            dtype = "int64"
        super().__init__(name=name, dtype=dtype, **kwargs)
        who = describe_layer(self)
        if isinstance(num_bins, bool) or not isinstance(num_bins, (int, np.integer)) or num_bins <= 0:
            raise ValueError(f"{who}: expected num_bins to be a positive int, received num_bins={num_bins!r}.")
        if output_mode not in ("int", "one_hot"):
            raise ValueError(f"{who}: expected output_mode to be one of ('int', 'one_hot'), received "
                             f"output_mode={output_mode!r}.")
        if sparse:
            raise ValueError(f"{who}: sparse outputs are not supported; expected sparse=False, received "
                             f"sparse={sparse!r}.")
        self.num_bins = int(num_bins)
        self.output_mode = output_mode
        self.sparse = False

    def _check_shapes(self, shapes: list[tuple]) -> None:
        who = describe_layer(self)
        first = shapes[0]
        if len(first) > 2 or (len(first) == 2 and first[-1] != 1):
            raise ValueError(f"{who}: expected inputs of shape (), (batch_size,) or (batch_size, 1), received "
                             f"shapes {shapes}.")
        if any(tuple(s) != tuple(first) for s in shapes[1:]):
            raise ValueError(f"{who}: expected inputs of one shape, received shapes {shapes}.")

    def _check_list(self, inputs: Any) -> None:
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError(f"{describe_layer(self)}: expected a list or tuple of at least two inputs, received "
                             f"{type(inputs).__name__} {inputs!r:.200}.")

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        if any_symbolic(inputs):
            return super().__call__(inputs, *args, **kwargs)
        kwargs.pop("training", None)
        if args or kwargs:
            raise TypeError(f"{describe_layer(self)}: expected only the inputs, received extra arguments "
                            f"{list(kwargs) or len(args)}.")
        self.built = True
        return self.call(inputs)

    def call(self, inputs: Any) -> Any:
        self._check_list(inputs)
        values = [host_values(self, x) for x in inputs]
        self._check_shapes([v.shape for v in values])
        shape = values[0].shape
        crossed = np.full(values[0].size, _CROSS_SEED, np.uint64)
        for value in values:
            flat = value.reshape(-1)
            if flat.dtype.kind == "U":
                feature = fingerprint64(to_bytes(flat.tolist()))
            else:
                feature = flat.astype(np.int64).astype(np.uint64)
            crossed = fingerprint_cat64(crossed, feature)
        indices = (crossed % np.uint64(self.num_bins)).astype(np.int64).reshape(shape)
        if self.output_mode == "int":
            return ops.convert_to_tensor(indices, self.dtype)
        return encode_categorical(ops.convert_to_tensor(indices.astype(np.int32)), "one_hot", self.num_bins,
                                  self.dtype)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) < 2 or \
                not all(isinstance(s, (list, tuple)) for s in input_shape):
            raise ValueError(f"{describe_layer(self)}: expected the shapes of a list of at least two inputs, "
                             f"received input_shape={input_shape!r}.")
        shapes = [tuple(s) for s in input_shape]
        self._check_shapes(shapes)
        return encoded_shape(shapes[0], self.output_mode, self.num_bins)

    def compute_output_spec(self, inputs: Any) -> Spec:
        self._check_list(inputs)
        return Spec(self.compute_output_shape([tuple(x.shape) for x in inputs]), self.dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_bins": self.num_bins, "output_mode": self.output_mode,
                "sparse": self.sparse}
