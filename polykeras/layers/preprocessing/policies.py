"""Augmentation policies built from the other augmentation layers, with
Keras 3's arguments: ``RandAugment`` (``num_ops`` operations drawn per call
from eleven) and ``AugMix`` (chains of random operations mixed with
Dirichlet weights, then blended with the original).

Both hold their operations as sub-layers configured from ``factor`` the way
Keras 3 configures them; each sub-layer draws from its own seed generator
(seeded from ``seed``), so the same seed repeats the same augmentations.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from polykeras import ops
from polykeras.layers.convolutional.arguments import describe_layer
from polykeras.layers.preprocessing.augmentation import (
    AutoContrast, RandomBrightness, RandomContrast, RandomPosterization, Solarization,
)
from polykeras.layers.preprocessing.color import Equalization, RandomColorDegeneration, RandomSharpness
from polykeras.layers.preprocessing.data_augmentation import _DataAugmentation
from polykeras.layers.preprocessing.geometric import RandomRotation, RandomTranslation
from polykeras.layers.preprocessing.warps import RandomShear

__all__ = ["AugMix", "RandAugment"]

#: The geometric and the colour operations, in Keras 3's order.
_GEOMETRIC = ("random_shear", "random_translation", "random_rotation")
_BASIC = _GEOMETRIC + ("random_posterization", "solarization", "auto_contrast", "equalization")
_COLOR = ("random_brightness", "random_color_degeneration", "random_contrast", "random_sharpness")


def _sub_seed(seed: int | None, index: int) -> int | None:
    return None if seed is None else int(seed) * 1009 + index


def _run(layer: Any, images: Any) -> Any:
    """One sub-layer's augmentation of a rank-4 float batch."""
    if isinstance(layer, _DataAugmentation):
        return layer._apply(images, layer._transformation(images))
    if isinstance(layer, AutoContrast):
        return layer.call(images)
    return layer._augment(images)


class _Policy(_DataAugmentation):
    _FACTOR_BOUNDS = (0.0, 1.0)

    def _build_operations(self, value_range: Any, interpolation: str, names: Sequence[str]) -> None:
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError(f"{describe_layer(self)}: expected interpolation 'nearest' or 'bilinear', received "
                             f"interpolation={interpolation!r}.")
        f, seed, data_format = self.factor, self.seed, self.data_format
        low, high = self._parse_value_range(value_range)
        makers = {
            "random_shear": lambda s: RandomShear(f, f, interpolation=interpolation, seed=s, data_format=data_format),
            "random_translation": lambda s: RandomTranslation(f, f, interpolation=interpolation, seed=s,
                                                              data_format=data_format),
            "random_rotation": lambda s: RandomRotation(f, interpolation=interpolation, seed=s,
                                                        data_format=data_format),
            "random_brightness": lambda s: RandomBrightness(f, value_range=(low, high), seed=s),
            "random_color_degeneration": lambda s: RandomColorDegeneration(f, value_range=(low, high), seed=s,
                                                                           data_format=data_format),
            "random_contrast": lambda s: RandomContrast(f, value_range=(low, high), seed=s),
            "random_sharpness": lambda s: RandomSharpness(f, value_range=(low, high), seed=s,
                                                          data_format=data_format),
            "random_posterization": lambda s: RandomPosterization(max(1, int(8 * f[1])), value_range=(low, high),
                                                                  seed=s, data_format=data_format),
            "solarization": lambda s: Solarization(f, f, value_range=(low, high), seed=s),
            "auto_contrast": lambda s: AutoContrast(value_range=(low, high)),
            "equalization": lambda s: Equalization(value_range=(low, high), data_format=data_format),
        }
        self._names = list(names)
        self.operations = [makers[name](_sub_seed(seed, i)) for i, name in enumerate(self._names)]
        self._range = (low, high)


class RandAugment(_Policy):
    """RandAugment (Cubuk et al., 2019): ``num_ops`` times per call, one of
    eleven operations (shear, translation, rotation, brightness, colour
    degeneration, contrast, sharpness, posterization, solarization,
    auto-contrast, equalization) is drawn and applied to the batch, each at
    strength ``factor`` (in ``[0, 1]``).

    Example:
        >>> y = RandAugment(num_ops=2, factor=0.3, seed=1)(np.random.rand(2, 16, 16, 3).astype("float32") * 255)
    """

    def __init__(self, value_range: Sequence[float] = (0, 255), num_ops: int = 2, factor: float | Sequence[float] = 0.5,
                 interpolation: str = "bilinear", seed: int | None = None, data_format: str | None = None,
                 **kwargs: Any):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if isinstance(num_ops, bool) or not isinstance(num_ops, (int, np.integer)) or num_ops < 0:
            raise ValueError(f"{describe_layer(self)}: expected num_ops to be a non-negative int, received "
                             f"num_ops={num_ops!r}.")
        self.value_range = list(value_range) if isinstance(value_range, (list, tuple)) else value_range
        self.num_ops = int(num_ops)
        self.factor = self._factor_range(factor)
        self.interpolation = interpolation
        self._build_operations(value_range, interpolation, _GEOMETRIC + _COLOR + _BASIC[3:])

    def _apply(self, images: Any, transformation: Any) -> Any:
        self._check_channels(images)
        for _ in range(self.num_ops):
            choice = ops.random.randint((), 0, len(self.operations), seed=self.generator)
            out = images
            for index, operation in enumerate(self.operations):
                out = ops.where(ops.equal(choice, index), _run(operation, images), out)
            images = out
        return images

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "value_range": self.value_range, "num_ops": self.num_ops,
                "factor": self.factor, "interpolation": self.interpolation}


class AugMix(_Policy):
    """AugMix (Hendrycks et al., 2020): ``num_chains`` chains of up to
    ``chain_depth`` random operations (each link may be skipped), the chain
    results mixed with ``Dirichlet(alpha)`` weights and blended with the
    original by ``w ~ Beta(alpha, alpha)``, clipped to ``value_range``. With
    ``all_ops=False`` only the seven operations that leave colour intensities
    alone (shear, translation, rotation, posterization, solarization,
    auto-contrast, equalization) are used. The chains' operations are chosen
    on the host (as Keras 3 does), seeded by ``seed``.

    Example:
        >>> y = AugMix(seed=1)(np.random.rand(2, 16, 16, 3).astype("float32") * 255)
    """

    def __init__(self, value_range: Sequence[float] = (0, 255), num_chains: int = 3, chain_depth: int = 3,
                 factor: float | Sequence[float] = 0.3, alpha: float = 1.0, all_ops: bool = True,
                 interpolation: str = "bilinear", seed: int | None = None, data_format: str | None = None,
                 **kwargs: Any):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        who = describe_layer(self)
        for name, value in (("num_chains", num_chains), ("chain_depth", chain_depth)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{who}: expected {name} to be a positive int, received {name}={value!r}.")
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or alpha <= 0:
            raise ValueError(f"{who}: expected alpha to be a positive number, received alpha={alpha!r}.")
        self.value_range = list(value_range) if isinstance(value_range, (list, tuple)) else value_range
        self.num_chains = int(num_chains)
        self.chain_depth = int(chain_depth)
        self.factor = self._factor_range(factor)
        self.alpha = float(alpha)
        self.all_ops = bool(all_ops)
        self.interpolation = interpolation
        self._build_operations(value_range, interpolation, _BASIC + (_COLOR if all_ops else ()))
        self._chooser = np.random.default_rng(seed)

    def _apply(self, images: Any, transformation: Any) -> Any:
        self._check_channels(images)
        gammas = ops.random.gamma((self.num_chains,), self.alpha, seed=self.generator)
        weights = ops.cast(ops.divide(gammas, ops.sum(gammas)), self.dtype)
        blend = ops.cast(ops.random.beta((), self.alpha, self.alpha, seed=self.generator), self.dtype)
        mixed = ops.zeros_like(images)
        for chain in range(self.num_chains):
            out = images
            for _ in range(self.chain_depth):
                pick = int(self._chooser.integers(0, len(self.operations) + 1))
                if pick < len(self.operations):  # the last choice skips the link
                    out = _run(self.operations[pick], out)
            mixed = ops.add(mixed, ops.multiply(out, weights[chain]))
        out = ops.add(ops.multiply(blend, images), ops.multiply(ops.subtract(1.0, blend), mixed))
        return ops.clip(out, self._range[0], self._range[1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "value_range": self.value_range, "num_chains": self.num_chains,
                "chain_depth": self.chain_depth, "factor": self.factor, "alpha": self.alpha,
                "all_ops": self.all_ops, "interpolation": self.interpolation}
