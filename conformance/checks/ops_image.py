"""Forward cases of ``ops.image`` against float64 references written from
the definitions: channel weights and ``colorsys`` for the colour ops,
slicing and ``np.pad`` for crops and pads, ``np.interp`` at half-pixel
centres for bilinear resizing, per-patch slicing for ``extract_patches``, a
direct sum over kernel taps for ``gaussian_blur`` and per-point sampling for
``map_coordinates`` and ``affine_transform``.

Example:
    >>> "resize" in {case.op for case in CASES}
    True
"""

from __future__ import annotations

import colorsys
from typing import Any

import numpy as np
from hypothesis import strategies as st

from conformance import strategies as cs
from conformance.checks.base import Profile
from conformance.checks.opcase import FLOATS, Example, OpCase
from polykeras import ops
from polykeras.ops import image

__all__ = ["CASES"]

CASES: list[OpCase] = []


def _images(channels: int = 3, min_value: float = 0.0, max_value: float = 1.0) -> Any:
    @st.composite
    def draw(d: Any, dtype: str, p: Profile) -> Example:
        shape = (d(st.integers(1, 2)), d(st.integers(3, 6)), d(st.integers(3, 6)), channels)
        return Example((d(cs.arrays(dtype, shape, min_value=min_value, max_value=max_value, edges=False)),))
    return lambda dtype, p: draw(dtype, p)


def _with(draw_images: Any, **kwargs: Any) -> Any:
    return lambda dtype, p: draw_images(dtype, p).map(lambda ex: Example(ex.arrays, dict(kwargs)))


def _case(op: str, draw: Any, reference: Any, family: str = "elementwise", label: str | None = None) -> None:
    CASES.append(OpCase(f"image.{op}", draw, getattr(image, op), reference, family, FLOATS,
                        label=f"image.{label or op}"))


# ------------------------------------------------------------------ colour
_case("rgb_to_grayscale", _images(),
      lambda x: (x @ np.array([0.2989, 0.587, 0.114]))[..., None])


def _hsv(x: np.ndarray, inverse: bool = False) -> np.ndarray:
    convert = colorsys.hsv_to_rgb if inverse else colorsys.rgb_to_hsv
    flat = x.reshape(-1, 3)
    return np.array([convert(*pixel) for pixel in flat]).reshape(x.shape)


_case("rgb_to_hsv", _images(min_value=0.05, max_value=0.95), _hsv)
_case("hsv_to_rgb", _images(min_value=0.05, max_value=0.95), lambda x: _hsv(x, inverse=True))


# ------------------------------------------------------- crops and pads
_case("crop_images", _with(_images(), top_cropping=1, left_cropping=0, target_height=2, target_width=3),
      lambda x, top_cropping, left_cropping, target_height, target_width:
      x[:, top_cropping:top_cropping + target_height, left_cropping:left_cropping + target_width])
_case("pad_images", _with(_images(), top_padding=1, left_padding=2, bottom_padding=0, right_padding=1),
      lambda x, top_padding, left_padding, bottom_padding, right_padding:
      np.pad(x, [(0, 0), (top_padding, bottom_padding), (left_padding, right_padding), (0, 0)]))


# -------------------------------------------------------------- resizing
def _bilinear_axis(x: np.ndarray, axis: int, out_size: int) -> np.ndarray:
    in_size = x.shape[axis]
    source = np.clip((np.arange(out_size) + 0.5) * in_size / out_size - 0.5, 0, in_size - 1)
    moved = np.moveaxis(x, axis, -1)
    out = np.apply_along_axis(lambda row: np.interp(source, np.arange(in_size), row), -1, moved)
    return np.moveaxis(out, -1, axis)


def _resize(x: np.ndarray, size: tuple[int, int], interpolation: str = "bilinear") -> np.ndarray:
    if interpolation == "nearest":
        rows = np.minimum(np.floor((np.arange(size[0]) + 0.5) * x.shape[1] / size[0]), x.shape[1] - 1).astype(int)
        cols = np.minimum(np.floor((np.arange(size[1]) + 0.5) * x.shape[2] / size[1]), x.shape[2] - 1).astype(int)
        return x[:, rows][:, :, cols]
    return _bilinear_axis(_bilinear_axis(x, 1, size[0]), 2, size[1])


_case("resize", _with(_images(), size=(7, 4)), _resize, "conv", label="resize(bilinear)")
_case("resize", _with(_images(), size=(2, 8), interpolation="nearest"), _resize, "conv", label="resize(nearest)")


# --------------------------------------------------- patches and blurring
def _patches(x: np.ndarray, size: int) -> np.ndarray:
    rows, cols = x.shape[1] // size, x.shape[2] // size
    out = np.empty((x.shape[0], rows, cols, size * size * x.shape[3]))
    for i in range(rows):
        for j in range(cols):
            out[:, i, j] = x[:, i * size:(i + 1) * size, j * size:(j + 1) * size].reshape(x.shape[0], -1)
    return out


_case("extract_patches", _with(_images(), size=2), _patches, "conv")


def _blur(x: np.ndarray, kernel_size: tuple[int, int], sigma: tuple[float, float]) -> np.ndarray:
    def g(n: int, s: float) -> np.ndarray:
        t = np.arange(n) - (n - 1) / 2
        k = np.exp(-0.5 * (t / s) ** 2)
        return k / k.sum()

    kernel = np.outer(g(kernel_size[1], sigma[1]), g(kernel_size[0], sigma[0]))
    kh, kw = kernel.shape
    padded = np.pad(x, [(0, 0), ((kh - 1) // 2, kh - 1 - (kh - 1) // 2), ((kw - 1) // 2, kw - 1 - (kw - 1) // 2),
                        (0, 0)])
    out = np.zeros_like(x)
    for i in range(kh):
        for j in range(kw):
            out += kernel[i, j] * padded[:, i:i + x.shape[1], j:j + x.shape[2]]
    return out


_case("gaussian_blur", _with(_images(), kernel_size=(3, 5), sigma=(0.8, 1.3)), _blur, "conv")


# ----------------------------------------------------------- sampling
def _map_nearest_mode(values: np.ndarray, coordinates: np.ndarray, order: int, fill_mode: str) -> np.ndarray:
    out = np.empty(coordinates.shape[1:])
    for index in np.ndindex(*coordinates.shape[1:]):
        r, c = coordinates[(slice(None), *index)]
        if order == 0:
            out[index] = values[int(np.clip(np.round(r), 0, values.shape[0] - 1)),
                                int(np.clip(np.round(c), 0, values.shape[1] - 1))]
            continue
        r0, c0 = int(np.floor(r)), int(np.floor(c))
        total = 0.0
        for dr, wr in ((0, 1 - (r - r0)), (1, r - r0)):
            for dc, wc in ((0, 1 - (c - c0)), (1, c - c0)):
                rr = int(np.clip(r0 + dr, 0, values.shape[0] - 1))
                cc = int(np.clip(c0 + dc, 0, values.shape[1] - 1))
                total += wr * wc * values[rr, cc]
        out[index] = total
    return out


@st.composite
def _map_example(d: Any, dtype: str, p: Profile) -> Example:
    values = d(cs.arrays(dtype, (4, 5), min_value=-1, max_value=1, edges=False))
    coordinates = d(cs.arrays(dtype, (2, 3, 2), min_value=-1.7, max_value=5.3, edges=False))
    # keep nearest-order points off the .5 ties, where rounding may go either way
    coordinates = (np.floor(coordinates.astype(np.float64)) + 0.3).astype(dtype)
    return Example((values, coordinates), {"order": 1, "fill_mode": "nearest"})


CASES.append(OpCase("image.map_coordinates", lambda dtype, p: _map_example(dtype, p),
                    lambda v, c, order, fill_mode: image.map_coordinates(v, c, order, fill_mode=fill_mode),
                    _map_nearest_mode, "conv", FLOATS))

_SHIFT = np.array([1.0, 0.0, 0.3, 0.0, 1.0, -0.6, 0.0, 0.0])


def _shift_like(x: Any) -> Any:
    return ops.convert_to_tensor(_SHIFT, ops.dtype(x))  # at the images' precision


def _affine(x: np.ndarray) -> np.ndarray:
    """A shift of (-0.3, +0.6) pixels with edge filling, sampled per image and channel."""
    rows, cols = np.meshgrid(np.arange(x.shape[1]), np.arange(x.shape[2]), indexing="ij")
    coordinates = np.stack([rows + _SHIFT[5], cols + _SHIFT[2]])
    out = np.empty_like(x)
    for b in range(x.shape[0]):
        for c in range(x.shape[3]):
            out[b, :, :, c] = _map_nearest_mode(x[b, :, :, c], coordinates, 1, "nearest")
    return out


CASES.append(OpCase("image.affine_transform", _images(),
                    lambda x: image.affine_transform(x, _shift_like(x), fill_mode="nearest"),
                    _affine, "conv", FLOATS))


# ------------------------------------------- edges, similarity, volumes
def _sobel(x: np.ndarray) -> np.ndarray:
    """Sobel gradients ``[dy, dx]`` over edge-repeated borders, tap by tap."""
    p = np.pad(x, [(0, 0), (1, 1), (1, 1), (0, 0)], mode="symmetric")
    h, w = x.shape[1], x.shape[2]
    taps = np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=np.float64)
    dy = sum(taps[i, j] * p[:, i:i + h, j:j + w] for i in range(3) for j in range(3))
    dx = sum(taps[j, i] * p[:, i:i + h, j:j + w] for i in range(3) for j in range(3))
    return np.stack([dy, dx], axis=-1)


def _ssim(a: np.ndarray, b: np.ndarray, filter_size: int = 3, filter_sigma: float = 1.5) -> np.ndarray:
    """SSIM per window (float64 loops over the valid windows), averaged."""
    t = np.arange(filter_size) - (filter_size - 1) / 2
    g = np.exp(-0.5 * (t / filter_sigma) ** 2)
    w = np.outer(g, g) / np.outer(g, g).sum()
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    rows, cols = a.shape[1] - filter_size + 1, a.shape[2] - filter_size + 1
    out = np.zeros(a.shape[0])
    for i in range(rows):
        for j in range(cols):
            pa = a[:, i:i + filter_size, j:j + filter_size]
            pb = b[:, i:i + filter_size, j:j + filter_size]
            mean = lambda v: np.einsum("bhwc,hw->bc", v, w)  # noqa: E731
            ma, mb = mean(pa), mean(pb)
            va, vb, cov = mean(pa * pa) - ma * ma, mean(pb * pb) - mb * mb, mean(pa * pb) - ma * mb
            s = (2 * ma * mb + c1) * (2 * cov + c2) / ((ma * ma + mb * mb + c1) * (va + vb + c2))
            out += s.mean(axis=-1)
    return out / (rows * cols)


@st.composite
def _image_pair(d: Any, dtype: str, p: Profile) -> Example:
    shape = (d(st.integers(1, 2)), d(st.integers(3, 6)), d(st.integers(3, 6)), 2)
    return Example((d(cs.arrays(dtype, shape, min_value=0, max_value=1, edges=False)),
                    d(cs.arrays(dtype, shape, min_value=0, max_value=1, edges=False))), {"filter_size": 3})


def _patches_3d(v: np.ndarray, size: int = 2) -> np.ndarray:
    n = [s // size for s in v.shape[1:4]]
    out = np.empty((v.shape[0], *n, size ** 3 * v.shape[4]))
    for i, j, k in np.ndindex(*n):
        block = v[:, i * size:(i + 1) * size, j * size:(j + 1) * size, k * size:(k + 1) * size]
        out[:, i, j, k] = block.reshape(v.shape[0], -1)
    return out


@st.composite
def _volumes(d: Any, dtype: str, p: Profile) -> Example:
    shape = (d(st.integers(1, 2)), d(st.integers(2, 4)), d(st.integers(2, 5)), d(st.integers(2, 5)), 2)
    return Example((d(cs.arrays(dtype, shape, min_value=-1, max_value=1, edges=False)),))


_case("sobel_edges", _images(), _sobel, "conv")
_case("ssim", lambda dtype, p: _image_pair(dtype, p), _ssim, "conv")
_case("extract_patches_3d", _with(lambda dtype, p: _volumes(dtype, p), size=2), _patches_3d, "conv")


def _scale_translate(x: np.ndarray) -> np.ndarray:
    """Rows scaled by 1.5 and shifted by 0.4 pixels with the triangle kernel:
    output row ``o`` reads input point ``(o + 0.5 - 0.4) / 1.5 - 0.5``, the
    weights normalised to sum to 1 (rows reading outside the image are 0)."""
    out_rows = 7
    sample = (np.arange(out_rows) + 0.5 - 0.4) / 1.5 - 0.5
    weights = np.maximum(0.0, 1.0 - np.abs(sample[:, None] - np.arange(x.shape[1])[None, :]))
    weights = weights / weights.sum(axis=1, keepdims=True)
    weights[(sample < -0.5) | (sample > x.shape[1] - 0.5)] = 0.0
    return np.einsum("oi,bi...->bo...", weights, x)


def _scale_translate_call(x: Any) -> Any:
    shape = tuple(ops.shape(x))
    return image.scale_and_translate(x, (shape[0], 7, *shape[2:]), [1.5], [0.4], (1,), "linear")


CASES.append(OpCase("image.scale_and_translate", _images(), _scale_translate_call, _scale_translate, "conv", FLOATS,
                    label="image.scale_and_translate(linear)"))


_CORNERS = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 3.0], [4.0, 3.0]])
_MOVED = _CORNERS + np.array([0.3, -0.6])


def _perspective(x: np.ndarray) -> np.ndarray:
    """The corners moved by (+0.3, -0.6): output (row, col) reads input
    (row + 0.6, col - 0.3) bilinearly, zero outside, per image and channel."""
    out = np.zeros_like(x)
    h, w = x.shape[1], x.shape[2]
    for r, c in np.ndindex(h, w):
        y, xx = r + 0.6, c - 0.3
        r0, c0 = int(np.floor(y)), int(np.floor(xx))
        for dr, wr in ((0, 1 - (y - r0)), (1, y - r0)):
            for dc, wc in ((0, 1 - (xx - c0)), (1, xx - c0)):
                if 0 <= r0 + dr < h and 0 <= c0 + dc < w:
                    out[:, r, c] += wr * wc * x[:, r0 + dr, c0 + dc]
    return out


def _perspective_call(x: Any) -> Any:
    return image.perspective_transform(x, ops.convert_to_tensor(_CORNERS, ops.dtype(x)),
                                       ops.convert_to_tensor(_MOVED, ops.dtype(x)))


CASES.append(OpCase("image.perspective_transform", _images(), _perspective_call, _perspective, "conv", FLOATS))


def _elastic_still(x: Any) -> Any:
    """``elastic_transform`` with ``alpha=0``: the drawn field is scaled to
    nothing, so every pixel reads itself (the random field's spread is
    checked against Keras 3 in tests/ops/test_image_more.py)."""
    return image.elastic_transform(x, alpha=0.0, sigma=1.0, seed=0)


CASES.append(OpCase("image.elastic_transform", _images(), _elastic_still, lambda x: x, "conv", FLOATS,
                    label="image.elastic_transform(alpha=0)"))


# ------------------------------------------------------------ gradients
def _gradient_cases() -> None:
    """Gradient cases (w.r.t. the images) beside the other ops' in
    ``ops_gradients.CASES``, each at points clear of kinks."""
    from conformance.checks.ops_gradients import CASES as GRADIENTS
    from conformance.checks.ops_gradients import GradCase, uniform

    pixels = uniform((1, 4, 5, 3), low=0.1, high=0.9)

    def distinct_rgb(rng: np.random.Generator) -> list[np.ndarray]:
        base = rng.uniform(0.15, 0.85, (1, 3, 4, 1))
        return [np.concatenate([base, base + 0.05, base - 0.07], axis=-1)[..., rng.permutation(3)]]

    table = {
        "rgb_to_grayscale": (image.rgb_to_grayscale, CASES_BY_OP["image.rgb_to_grayscale"], pixels),
        "rgb_to_hsv": (image.rgb_to_hsv, _hsv, distinct_rgb),
        "hsv_to_rgb": (image.hsv_to_rgb, lambda x: _hsv(x, inverse=True),
                       lambda rng: [np.concatenate([rng.uniform(0.05, 0.12, (1, 3, 4, 1)),
                                                    rng.uniform(0.2, 0.9, (1, 3, 4, 2))], axis=-1)]),
        "crop_images": (lambda x: image.crop_images(x, 1, 0, target_height=2, target_width=3),
                        lambda x: x[:, 1:3, 0:3], pixels),
        "pad_images": (lambda x: image.pad_images(x, 1, 2, bottom_padding=0, right_padding=1),
                       lambda x: np.pad(x, [(0, 0), (1, 0), (2, 1), (0, 0)]), pixels),
        "resize": (lambda x: image.resize(x, (7, 3)), lambda x: _resize(x, (7, 3)), pixels),
        "extract_patches": (lambda x: image.extract_patches(x, 2), lambda x: _patches(x, 2), pixels),
        "gaussian_blur": (lambda x: image.gaussian_blur(x, (3, 5), (0.8, 1.3)),
                          lambda x: _blur(x, (3, 5), (0.8, 1.3)), pixels),
        "affine_transform": (lambda x: image.affine_transform(x, _shift_like(x), fill_mode="nearest"),
                             _affine, pixels),
        "map_coordinates": (lambda v: image.map_coordinates(v, _MAP_POINTS, 1, fill_mode="nearest"),
                            lambda v: _map_nearest_mode(v, _MAP_POINTS, 1, "nearest"), uniform((4, 5))),
        "sobel_edges": (image.sobel_edges, _sobel, pixels),
        "ssim": (lambda a, b: image.ssim(a, b, filter_size=3), _ssim,
                 lambda rng: [rng.uniform(0.1, 0.9, (2, 4, 5, 2)), rng.uniform(0.1, 0.9, (2, 4, 5, 2))]),
        "extract_patches_3d": (lambda v: image.extract_patches_3d(v, 2), _patches_3d, uniform((1, 2, 4, 4, 2))),
        "scale_and_translate": (_scale_translate_call, _scale_translate, pixels),
        "perspective_transform": (_perspective_call, _perspective, pixels),
        "elastic_transform": (_elastic_still, lambda x: x, pixels),
    }
    for name, (call, reference, inputs) in table.items():
        GRADIENTS[f"image.{name}"] = GradCase(f"image.{name}", call, reference, inputs)


_MAP_POINTS = np.array([[[0.3, 2.6], [-1.2, 4.7]], [[1.4, 0.2], [3.9, 5.8]]])
CASES_BY_OP = {case.op: case.reference for case in CASES}
_gradient_cases()
