"""More of ``keras.ops.nn``: ``polar`` (a complex tensor from magnitudes and
angles) and the patch rearrangements ``unfold`` (im2col: sliding blocks of a
channels-first image as columns) and ``fold`` (col2im: their sum back into an
image), as ``torch.nn.functional.unfold``/``fold``. ``unfold``/``fold``
dispatch to the engine (a portable composite in ``backends/long_tail.py``,
torch's own kernels); every op has a shape rule for symbolic tensors.

Example:
    >>> from polykeras import ops
    >>> ops.shape(ops.unfold(ops.ones((1, 2, 4, 4)), kernel_size=2, stride=2))
    (1, 8, 4)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polykeras.backends import active
from polykeras.backends.long_tail import pairs
from polykeras.backends.signal import COMPLEX_OF
from polykeras.ops._dispatch import OpError, OpSpec, check, describe, op

Tensor = Any
IntOrPair = int | Sequence[int]

__all__ = ["fold", "polar", "unfold"]


def _dtype_name(x: Any) -> str:
    dtype = getattr(x, "dtype", None)
    if isinstance(dtype, str):
        return dtype
    from polykeras.ops.core import dtype as dtype_of

    return dtype_of(x)


def _float_name(name: str) -> str:
    return name if name.startswith(("float", "bfloat")) else "float32"


def _polar_spec(abs_: Any, angle: Any) -> OpSpec:
    a, b = tuple(getattr(abs_, "shape", ())), tuple(getattr(angle, "shape", ()))
    rank = max(len(a), len(b))
    a, b = (1,) * (rank - len(a)) + a, (1,) * (rank - len(b)) + b
    check(all(x is None or y is None or x == y or 1 in (x, y) for x, y in zip(a, b)), "polar",
          "abs_ and angle whose shapes broadcast", f"{describe(abs_)}, {describe(angle)}")
    shape = tuple(y if x == 1 else x if y == 1 else (x if x is not None else y) for x, y in zip(a, b))
    source = abs_ if hasattr(abs_, "shape") else angle
    return OpSpec(shape, COMPLEX_OF[_float_name(_dtype_name(source))])


@op("magnitudes abs_ and angles (radians) whose shapes broadcast", body=True, spec=_polar_spec)
def polar(abs_: Tensor, angle: Tensor) -> Tensor:
    """The complex numbers ``abs_ * (cos(angle) + 1j * sin(angle))``
    (complex64 from float32), as ``torch.polar``.

    Example: ``z = ops.nn.polar(ops.ones((3,)), ops.zeros((3,)))``  # 1+0j
    """
    e = active()
    magnitude, angle = e.convert_to_tensor(abs_), e.convert_to_tensor(angle)
    dtype = _float_name(e.dtype(magnitude))
    magnitude, angle = e.cast(magnitude, dtype), e.cast(angle, dtype)
    real, imag = e.multiply(magnitude, e.cos(angle)), e.multiply(magnitude, e.sin(angle))
    shape = e.shape(e.add(real, imag))
    return e.view_as_complex(e.stack([e.broadcast_to(real, shape), e.broadcast_to(imag, shape)], axis=-1))


def _geometry(op_name: str, kernel_size: Any, dilation: Any, padding: Any, stride: Any) -> tuple[Any, ...]:
    try:
        kernel, dil, pad, step = (pairs(v, n, op_name) for v, n in ((kernel_size, "kernel_size"),
                                                                      (dilation, "dilation"), (padding, "padding"),
                                                                      (stride, "stride")))
    except ValueError as err:
        raise OpError(str(err)) from None
    check(min(*kernel, *dil, *step) >= 1 and min(pad) >= 0, op_name,
          "positive kernel_size, dilation and stride and a non-negative padding",
          f"kernel_size={kernel_size!r}, dilation={dilation!r}, padding={padding!r}, stride={stride!r}")
    return kernel, dil, pad, step


def _blocks(size: tuple[Any, Any], kernel: Any, dil: Any, pad: Any, step: Any) -> tuple[Any, Any]:
    return tuple(None if size[i] is None else (size[i] + 2 * pad[i] - dil[i] * (kernel[i] - 1) - 1) // step[i] + 1
                 for i in range(2))  # type: ignore[return-value]


def _unfold_spec(x: Any, kernel_size: IntOrPair, dilation: IntOrPair = 1, padding: IntOrPair = 0,
                 stride: IntOrPair = 1) -> OpSpec:
    kernel, dil, pad, step = _geometry("unfold", kernel_size, dilation, padding, stride)
    shape = tuple(x.shape)
    check(len(shape) == 4, "unfold", "a 4-D tensor (N, C, H, W)", describe(x))
    n, c, h, w = shape
    bh, bw = _blocks((h, w), kernel, dil, pad, step)
    check(bh is None or bw is None or (bh >= 1 and bw >= 1), "unfold", "an image at least as large as the "
          "dilated kernel (after padding)", f"{describe(x)}, kernel_size={kernel_size!r}")
    blocks = None if bh is None or bw is None else bh * bw
    return OpSpec((n, None if c is None else c * kernel[0] * kernel[1], blocks), _dtype_name(x))


@op("a 4-D tensor (N, C, H, W) and int or pair kernel_size, dilation, padding, stride", body=True,
    spec=_unfold_spec)
def unfold(x: Tensor, kernel_size: IntOrPair, dilation: IntOrPair = 1, padding: IntOrPair = 0,
           stride: IntOrPair = 1) -> Tensor:
    """Sliding local blocks of a channels-first image (im2col): ``(N, C *
    kh * kw, L)``, each column one block (channel-major, then the kernel's
    rows and columns), the ``L`` blocks in row-major order.

    Example: ``ops.unfold(images, kernel_size=3, padding=1)``  # (N, C * 9, H * W)
    """
    e = active()
    x = e.convert_to_tensor(x)
    _unfold_spec(x, kernel_size, dilation, padding, stride)
    kernel, dil, pad, step = _geometry("unfold", kernel_size, dilation, padding, stride)
    return e.unfold(x, kernel, dil, pad, step)


def _fold_spec(x: Any, output_size: IntOrPair, kernel_size: IntOrPair, dilation: IntOrPair = 1,
               padding: IntOrPair = 0, stride: IntOrPair = 1) -> OpSpec:
    kernel, dil, pad, step = _geometry("fold", kernel_size, dilation, padding, stride)
    try:
        out = pairs(output_size, "output_size", "fold")
    except ValueError as err:
        raise OpError(str(err)) from None
    shape = tuple(x.shape)
    check(len(shape) == 3, "fold", "a 3-D tensor (N, C * kh * kw, L)", describe(x))
    n, ckk, blocks = shape
    taps = kernel[0] * kernel[1]
    check(ckk is None or ckk % taps == 0, "fold", f"a second axis divisible by kh * kw = {taps}", describe(x))
    bh, bw = _blocks(out, kernel, dil, pad, step)
    check(bh >= 1 and bw >= 1 and (blocks is None or blocks == bh * bw), "fold",
          f"L = {max(bh, 0) * max(bw, 0)} blocks for output_size {out} (kernel_size={kernel_size!r}, "
          f"dilation={dilation!r}, padding={padding!r}, stride={stride!r})", describe(x))
    return OpSpec((n, None if ckk is None else ckk // taps, *out), _dtype_name(x))


@op("a 3-D tensor (N, C * kh * kw, L) whose L blocks tile output_size", body=True, spec=_fold_spec)
def fold(x: Tensor, output_size: IntOrPair, kernel_size: IntOrPair, dilation: IntOrPair = 1,
         padding: IntOrPair = 0, stride: IntOrPair = 1) -> Tensor:
    """The reverse of :func:`unfold` (col2im): columns of blocks summed into
    a ``(N, C, *output_size)`` image where the blocks overlap.

    Example: ``ops.fold(columns, output_size=(4, 4), kernel_size=2, stride=2)``
    """
    e = active()
    x = e.convert_to_tensor(x)
    _fold_spec(x, output_size, kernel_size, dilation, padding, stride)
    kernel, dil, pad, step = _geometry("fold", kernel_size, dilation, padding, stride)
    return e.fold(x, pairs(output_size, "output_size", "fold"), kernel, dil, pad, step)
