"""Seeded random draws for the PyTorch engine.

Every draw builds a ``torch.Generator`` seeded from the two values of the seed
tensor, so the same seed gives the same numbers and the global torch RNG is
never touched. (``jit`` is eager on this engine, so a "traced" seed is simply a
tensor whose values are read on the host.)
"""

from __future__ import annotations

import math
from typing import Any

import torch

from polykeras.backends.base import in_abstract_evaluation
from polykeras.backends.torch.core import (
    FLOATS, T, _device, floating, shape_tuple, to_tensor, torch_dtype,
)

_SQRT2 = math.sqrt(2.0)
_MASK32 = 0xFFFFFFFF
_MASK64 = 0xFFFFFFFFFFFFFFFF


def generator(seed: Any, device: torch.device | None = None) -> torch.Generator:
    """A torch generator seeded from a seed of two int32 values.

    Example: ``torch.rand(3, generator=generator(torch.tensor([1, 2])))``
    """
    if in_abstract_evaluation():  # shapes only: the seed's values (a fake tensor's) are never read
        return torch.Generator(device=device or _device.get() or "cpu")
    values = seed.tolist() if isinstance(seed, T) else list(to_tensor(seed).tolist())
    if isinstance(values, int) or len(values) != 2:
        raise ValueError(f"expected a seed tensor of two int32 values, received {values!r}")
    high, low = (int(v) & _MASK32 for v in values)
    gen = torch.Generator(device=device or _device.get() or "cpu")
    gen.manual_seed(_mix((high << 32) | low))
    return gen


def _mix(word: int) -> int:
    """SplitMix64's finaliser folded to 32 bits: torch's CPU generator
    (mt19937) keeps only the low 32 bits of a seed, so both seed words must
    reach them; nearby seeds give unrelated streams."""
    word = (word + 0x9E3779B97F4A7C15) & _MASK64
    word = ((word ^ (word >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    word = ((word ^ (word >> 27)) * 0x94D049BB133111EB) & _MASK64
    word ^= word >> 31
    return (word ^ (word >> 32)) & _MASK32


def _float(dtype: Any, op: str) -> torch.dtype:
    dtype = torch_dtype(dtype)
    if dtype not in FLOATS:
        raise ValueError(f"{op}: expected a float dtype, received {str(dtype).removeprefix('torch.')}")
    return dtype


def _device_of() -> torch.device | None:
    return _device.get()


class RandomMixin:
    """Random draws of :class:`TorchBackend`.

    Example: ``B.get("torch").random_normal((2, 3), seed)`` (``seed``: two int32 values)
    """

    def random_normal(self, shape: Any, seed: Any, mean: float = 0.0, stddev: float = 1.0,
                      dtype: str = "float32") -> T:
        native = _float(dtype, "random_normal")
        # Drawn in float32 (or float64) so half-precision draws match their
        # float32 counterparts rounded.
        work = torch.float64 if native is torch.float64 else torch.float32
        out = torch.randn(shape_tuple(shape), generator=generator(seed), dtype=work, device=_device_of())
        return (out * stddev + mean).to(native)

    def random_uniform(self, shape: Any, seed: Any, minval: float = 0.0, maxval: float = 1.0,
                       dtype: str = "float32") -> T:
        native = _float(dtype, "random_uniform")
        shape = shape_tuple(shape)
        work = torch.float64 if native is torch.float64 else torch.float32
        out = torch.rand(shape, generator=generator(seed), dtype=work, device=_device_of())
        out = (out * (maxval - minval) + minval).to(native)
        # Rounding of the affine map may land on maxval; keep the interval half-open.
        bounds = torch.tensor([maxval, minval], dtype=native, device=out.device)
        return torch.minimum(out, torch.nextafter(bounds[0], bounds[1]))

    def truncated_normal(self, shape: Any, seed: Any, mean: float = 0.0, stddev: float = 1.0,
                         dtype: str = "float32") -> T:
        native = _float(dtype, "truncated_normal")
        # Inverse-CDF sampling of the normal restricted to [-2, 2]: one draw per
        # value, no rejection loop, reproducible for a seed.
        low, high = (0.5 * (1.0 + math.erf(bound / _SQRT2)) for bound in (-2.0, 2.0))
        u = torch.rand(shape_tuple(shape), generator=generator(seed), dtype=torch.float64, device=_device_of())
        p = low + u * (high - low)
        z = torch.clamp(_SQRT2 * torch.erfinv(2.0 * p - 1.0), -2.0, 2.0)
        return (z * stddev + mean).to(native)

    def categorical(self, logits: Any, num_samples: int, seed: Any, dtype: str = "int32") -> T:
        logits = floating(logits)
        probs = torch.softmax(logits.double(), dim=-1)
        draws = torch.multinomial(probs, int(num_samples), replacement=True,
                                  generator=generator(seed, logits.device))
        return draws.to(torch_dtype(dtype))

    def shuffle(self, x: Any, seed: Any, axis: int = 0) -> T:
        x = to_tensor(x)
        order = torch.randperm(x.shape[axis], generator=generator(seed, x.device), device=x.device)
        return torch.index_select(x, axis, order)

    def randint(self, shape: Any, seed: Any, minval: int, maxval: int, dtype: str = "int32") -> T:
        out = torch.randint(int(minval), int(maxval), shape_tuple(shape), generator=generator(seed),
                            dtype=torch.int64, device=_device_of())
        return out.to(torch_dtype(dtype))

    def random_gamma(self, shape: Any, seed: Any, alpha: Any, dtype: str = "float32") -> T:
        native = _float(dtype, "random_gamma")
        work = torch.float64 if native is torch.float64 else torch.float32
        alpha = to_tensor(alpha).to(work).broadcast_to(shape_tuple(shape)).contiguous()
        # torch.distributions' own sampler; it takes a generator, so the global RNG stays untouched.
        return torch._standard_gamma(alpha, generator=generator(seed, alpha.device)).to(native)

    def random_binomial(self, shape: Any, seed: Any, counts: Any, probabilities: Any, dtype: str = "float32") -> T:
        shape = shape_tuple(shape)
        work = torch.float64 if torch_dtype(dtype) is torch.float64 else torch.float32
        counts = to_tensor(counts).to(work).broadcast_to(shape).contiguous()
        probabilities = to_tensor(probabilities).to(device=counts.device, dtype=work).broadcast_to(shape).contiguous()
        out = torch.binomial(counts, probabilities, generator=generator(seed, counts.device))
        return out.to(torch_dtype(dtype))
