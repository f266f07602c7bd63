"""``Discretization``: bucket numbers by bin boundaries, given or learned by
``adapt`` (approximate quantiles, Keras 3's algorithm), kept in the config.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from polykeras import ops
from polykeras.backends.base import Spec
from polykeras.layers.convolutional.arguments import describe_layer
from polykeras.layers.layer import Layer
from polykeras.layers.preprocessing.category_encoding import encode_categorical
from polykeras.layers.preprocessing.normalization import host_array, iter_batches

__all__ = ["Discretization", "quantile_boundaries"]

OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count")


# Approximate quantiles: a summary is a (2, n) array of sorted values and
# their weights. A batch is summarised by every step-th sorted value; two
# summaries merge by sorting their union; a summary is compressed to ~1/eps
# points by interpolating the weighted empirical distribution.
def _summarize(values: np.ndarray, epsilon: float) -> np.ndarray:
    values = np.sort(values.reshape(-1))
    step = max(values.size * epsilon, 1.0)
    kept = values[int(step - 1)::int(step)]
    return np.stack([kept, np.full_like(kept, step)])


def _compress(summary: np.ndarray, epsilon: float) -> np.ndarray:
    if summary.shape[1] * epsilon < 1:
        return summary
    targets = epsilon + np.arange(0.0, 1.0, epsilon)
    cumulative = summary[1].cumsum()
    fractions = cumulative / cumulative[-1]
    values = np.interp(targets, fractions, summary[0])
    weights = np.diff(np.interp(targets, fractions, cumulative), prepend=0.0)
    return np.stack([values, weights]).astype(np.float32)


def _merge(first: np.ndarray, second: np.ndarray, epsilon: float) -> np.ndarray:
    both = np.concatenate([first, second], axis=1)
    return _compress(both[:, np.argsort(both[0], kind="stable")], epsilon)


def quantile_boundaries(summary: np.ndarray, num_bins: int) -> list[float]:
    """The ``num_bins - 1`` inner boundaries of equal-mass bins of a summary."""
    return _compress(summary, 1.0 / num_bins)[0, :-1].tolist()


class Discretization(Layer):
    """Maps each number to the index of its bucket: ``i`` when
    ``bin_boundaries[i - 1] <= x < bin_boundaries[i]`` (0 below the first
    boundary, ``len(bin_boundaries)`` from the last on).

    Args:
        bin_boundaries: sorted boundaries; or None with ``num_bins`` and
            :meth:`adapt` to learn equal-mass bins from data.
        num_bins: the number of bins to learn.
        epsilon: the quantile approximation's error bound (Keras' default 0.01).
        output_mode: ``"int"`` (int32 bucket ids) or ``"one_hot"``,
            ``"multi_hot"``, ``"count"`` (encoded as :class:`CategoryEncoding`).
        sparse: must be False.
        dtype: the dtype of the encoded outputs (``"int"`` gives int32
            whatever it is); ``name``: the layer's name.

    The boundaries, given or learned, are stored in the config, so a saved
    model rebuilds the same buckets.

    Example:
        >>> layer = Discretization(bin_boundaries=[0.0, 1.0, 2.0])
        >>> ops.to_numpy(layer(np.array([[-1.5, 1.0, 3.4, 0.5]], "float32")))
        array([[0, 2, 3, 1]], dtype=int32)
    """

    def __init__(self, bin_boundaries: Any = None, num_bins: int | None = None, epsilon: float = 0.01,
                 output_mode: str = "int", sparse: bool = False, dtype: Any = None, name: str | None = None,
                 **kwargs: Any):
        super().__init__(dtype=dtype, name=name, **kwargs)
        who = describe_layer(self)
        if output_mode not in OUTPUT_MODES:
            raise ValueError(f"{who}: expected output_mode to be one of {OUTPUT_MODES}, received "
                             f"output_mode={output_mode!r}.")
        if sparse:
            raise ValueError(f"{who}: sparse outputs are not supported; expected sparse=False, received "
                             f"sparse={sparse!r}.")
        if num_bins is not None and (isinstance(num_bins, bool) or not isinstance(num_bins, int) or num_bins < 0):
            raise ValueError(f"{who}: expected num_bins to be a non-negative int, received num_bins={num_bins!r}.")
        if bin_boundaries is None and num_bins is None:
            raise ValueError(f"{who}: expected either bin_boundaries or num_bins, received neither.")
        if bin_boundaries is not None:
            boundaries = host_array(bin_boundaries, np.float64).reshape(-1)
            if np.any(np.diff(boundaries) < 0) or not np.all(np.isfinite(boundaries)):
                raise ValueError(f"{who}: expected finite bin_boundaries in increasing order, received "
                                 f"bin_boundaries={bin_boundaries!r}.")
            bin_boundaries = boundaries.tolist()
            if num_bins is not None:
                raise ValueError(f"{who}: expected bin_boundaries or num_bins, not both; received "
                                 f"num_bins={num_bins} and bin_boundaries={bin_boundaries}.")
        if not 0.0 < epsilon < 1.0:
            raise ValueError(f"{who}: expected epsilon in (0, 1), received epsilon={epsilon!r}.")
        self.bin_boundaries = bin_boundaries
        self.num_bins = num_bins
        self.epsilon = epsilon
        self.output_mode = output_mode
        self.sparse = False

    def adapt(self, data: Any, steps: int | None = None) -> None:
        """Learn ``num_bins`` equal-mass bins from ``data`` (an array, a
        tensor, or an iterable of batches; at most ``steps`` batches).
        Runs on the host with NumPy. Example: ``layer.adapt(prices)``"""
        who = describe_layer(self)
        if self.num_bins is None:
            raise ValueError(f"{who}: the layer was created with bin_boundaries; create it with num_bins to learn "
                             "the bins by adapt().")
        batches, _ = iter_batches(data, who)
        summary = np.zeros((2, 0), np.float32)
        for i, batch in enumerate(batches):
            if steps is not None and i >= steps:
                break
            summary = _merge(_summarize(host_array(batch, np.float32), self.epsilon), summary, self.epsilon)
        if summary.shape[1] == 0:
            raise ValueError(f"{who}.adapt: the data holds no values; expected at least one number.")
        self.bin_boundaries = quantile_boundaries(summary, self.num_bins)

    @property
    def _depth(self) -> int:
        return len(self.bin_boundaries) + 1 if self.bin_boundaries is not None else int(self.num_bins or 0)

    def call(self, inputs: Any) -> Any:
        if self.bin_boundaries is None:
            raise ValueError(f"{describe_layer(self)}: no bin boundaries yet; pass bin_boundaries or call adapt() "
                             "before calling the layer.")
        inputs = ops.cast(inputs, "float32") if ops.dtype(inputs) != "float64" else inputs
        if self.bin_boundaries:
            boundaries = ops.convert_to_tensor(np.asarray(self.bin_boundaries), ops.dtype(inputs))
            above = ops.greater_equal(ops.expand_dims(inputs, -1), boundaries)
            indices = ops.sum(ops.cast(above, "int32"), axis=-1)
        else:
            indices = ops.zeros(ops.shape(inputs), "int32")
        dtype = "int32" if self.output_mode == "int" else self.dtype
        return encode_categorical(indices, self.output_mode, self._depth, dtype)

    def compute_output_spec(self, inputs: Any) -> Spec:
        """Indices are int32; the other modes give the layer's dtype."""
        return Spec(self.compute_output_shape(inputs.shape), "int32" if self.output_mode == "int" else self.dtype)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        input_shape = tuple(input_shape)
        if self.output_mode == "int":
            return input_shape
        depth = self._depth
        if self.output_mode == "one_hot":
            if len(input_shape) > 1 and input_shape[-1] == 1:
                return input_shape[:-1] + (depth,)
            return input_shape + (depth,)
        return (input_shape[0], *input_shape[2:], depth) if len(input_shape) >= 2 else (depth,)

    def get_config(self) -> dict[str, Any]:
        config = {**super().get_config(), "bin_boundaries": self.bin_boundaries, "num_bins": self.num_bins,
                  "epsilon": self.epsilon, "output_mode": self.output_mode, "sparse": self.sparse}
        config.pop("trainable", None)  # as Keras 3: no weights to train
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> Discretization:
        config = dict(config)
        boundaries = config.get("bin_boundaries")
        if boundaries is not None and config.get("num_bins") is not None:
            # learned boundaries: rebuild with num_bins, then restore them
            config.pop("bin_boundaries")
            layer = super().from_config(config, custom_objects)
            layer.bin_boundaries = [float(b) for b in boundaries]
            return layer
        return super().from_config(config, custom_objects)
