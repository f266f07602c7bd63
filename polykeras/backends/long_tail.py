"""Protocol entries of Keras 3's further ops: the special functions
``erfinv`` and ``i0``, ``nextafter``, the bitwise ``view``, ``vectorize``,
the general eigendecomposition ``eig``, ``lu_factor``, and the patch
rearrangements ``unfold`` (im2col) and ``fold`` (col2im).

``erfinv``, ``vectorize``, ``unfold`` and ``fold`` have portable definitions
here, written with the primitives; the others need a kernel (LAPACK's
``geev``/``getrf``, the bit patterns of floats), so their defaults refuse by
name. Engines override with their own kernels (``jax.scipy.special.erfinv``,
``torch.nn.functional.unfold``...).

Example:
    >>> engine.unfold(images, (2, 2), (1, 1), (0, 0), (2, 2))   # (N, C * 4, L) patches of (N, C, H, W)
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

Tensor = Any
Pair2 = tuple[int, int]

_DIMS = re.compile(r"\(([^()]*)\)")


def parse_signature(signature: str) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    """The core dimensions of a generalized ufunc signature, inputs and
    outputs: ``"(m,n),(n)->(m)"`` -> ``([("m", "n"), ("n",)], [("m",)])``."""
    if "->" not in signature:
        raise ValueError(f"vectorize: expected a signature like '(m,n),(n)->(m)', received {signature!r}.")
    inputs, outputs = signature.replace(" ", "").split("->")

    def groups(text: str) -> list[tuple[str, ...]]:
        found = _DIMS.findall(text)
        if "".join(f"({g})" for g in found).replace(")(", "),(") != text:
            raise ValueError(f"vectorize: expected a signature like '(m,n),(n)->(m)', received {signature!r}.")
        return [tuple(d for d in g.split(",") if d) for g in found]

    return groups(inputs), groups(outputs)


class LongTailComposites:
    """The further ops' defaults: portable definitions, or a refusal by name."""

    name: str = ""

    # ------------------------------------------------------- special functions
    def erfinv(self, x: Tensor) -> Tensor:
        """The inverse error function on ``[-1, 1]`` (``+-inf`` at ``+-1``,
        NaN outside). Portable: Giles' single-precision approximation refined
        by two Newton steps on ``erf``, in float64 where the engine holds it."""
        e: Any = self
        x = e.convert_to_tensor(x)
        dtype = e.dtype(x)
        wide = "float64" if e._lt_holds("float64") else dtype
        z = e.cast(x, wide)
        inside = e.less(e.abs(z), 1.0)
        z, edges = e.where(inside, z, e.zeros_like(z)), z  # the kernel sees only (-1, 1)
        w = e.negative(e.log(e.multiply(e.subtract(1.0, z), e.add(1.0, z))))
        central = e.subtract(e.minimum(w, 5.0), 2.5)  # w < 5
        p = e.full((), 2.81022636e-08, wide)
        for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503, -0.00417768164,
                  0.246640727, 1.50140941):
            p = e.add(e.multiply(p, central), c)
        tail = e.subtract(e.sqrt(e.maximum(w, 5.0)), 3.0)  # w >= 5
        q = e.full((), -0.000200214257, wide)
        for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613, 0.00943887047,
                  1.00167406, 2.83297682):
            q = e.add(e.multiply(q, tail), c)
        y = e.multiply(e.where(e.less(w, 5.0), p, q), z)
        for _ in range(2):
            slope = e.multiply(e.exp(e.negative(e.square(y))), 2.0 / math.sqrt(math.pi))
            y = e.subtract(y, e.divide(e.subtract(e.erf(y), z), slope))
        infinite = e.where(e.greater(edges, 0.0), e.full((), float("inf"), wide), e.full((), float("-inf"), wide))
        edge = e.where(e.equal(e.abs(edges), 1.0), infinite, e.full((), float("nan"), wide))
        return e.cast(e.where(inside, y, edge), dtype)

    def _lt_holds(self, dtype: str) -> bool:
        e: Any = self
        try:
            return bool(e.dtype(e.zeros((), dtype)) == dtype)
        except Exception:  # noqa: BLE001 - any refusal means "not held"
            return False

    def i0(self, x: Tensor) -> Tensor:
        """The modified Bessel function of the first kind, order 0."""
        raise NotImplementedError(f"i0: the {self.name!r} engine has no Bessel function kernel (i0).")

    def nextafter(self, x1: Tensor, x2: Tensor) -> Tensor:
        """The next representable float after ``x1`` towards ``x2``."""
        raise NotImplementedError(f"nextafter: the {self.name!r} engine has no float-stepping kernel (nextafter).")

    def view(self, x: Tensor, dtype: str) -> Tensor:
        """The same bits read as ``dtype``; the last axis scales by the ratio
        of the item sizes, as NumPy's ``ndarray.view``."""
        raise NotImplementedError(f"view: the {self.name!r} engine has no bitwise reinterpretation (view).")

    # ------------------------------------------------------------- linalg
    def eig(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Eigenvalues and eigenvectors (columns) of general square matrices,
        complex (complex64 for float32)."""
        raise NotImplementedError(f"linalg.eig: the {self.name!r} engine has no general eigendecomposition (eig).")

    def lu_factor(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """LU with partial pivoting: ``L`` (unit diagonal, below) and ``U``
        packed in one matrix, and LAPACK's 0-based int32 pivots (row ``i``
        was swapped with row ``pivots[i]``)."""
        raise NotImplementedError(f"linalg.lu_factor: the {self.name!r} engine has no LU factorisation (lu_factor).")

    # ------------------------------------------------------------- vectorize
    def vectorize(self, pyfunc: Callable[..., Any], excluded: set[int] | None = None,
                  signature: str | None = None) -> Callable[..., Any]:
        """``pyfunc`` mapped over the broadcast loop axes of its arguments
        (all of them, or those before the core dimensions of ``signature``);
        arguments at the ``excluded`` positions pass unchanged. Portable: one
        call per loop index, the results stacked."""
        e: Any = self
        cores, out_cores = parse_signature(signature) if signature else (None, [()])
        skip = set(excluded or ())

        def mapped(*args: Any) -> Any:
            mapped_at = [i for i in range(len(args)) if i not in skip]
            tensors = {i: e.convert_to_tensor(args[i]) for i in mapped_at}
            if cores is not None and len(cores) != len(mapped_at):
                raise ValueError(f"vectorize: the signature {signature!r} names {len(cores)} inputs, received "
                                 f"{len(mapped_at)} vectorized arguments.")
            core_rank = {i: len(cores[k]) if cores is not None else 0 for k, i in enumerate(mapped_at)}
            loops = [tuple(e.shape(tensors[i]))[:len(e.shape(tensors[i])) - core_rank[i]] for i in mapped_at]
            loop = tuple(np.broadcast_shapes(*loops)) if loops else ()
            count = int(np.prod(loop)) if loop else 1
            flat = {}
            for i in mapped_at:
                core = tuple(e.shape(tensors[i]))[len(e.shape(tensors[i])) - core_rank[i]:]
                flat[i] = e.reshape(e.broadcast_to(tensors[i], loop + core), (count, *core))

            def call(k: int) -> Any:
                return pyfunc(*[flat[i][k] if i in flat else args[i] for i in range(len(args))])

            if count == 0:
                probe = pyfunc(*[e.zeros(tuple(e.shape(flat[i]))[1:], e.dtype(flat[i])) if i in flat else args[i]
                                 for i in range(len(args))])
                parts = probe if isinstance(probe, tuple) else (probe,)
                empty = tuple(e.zeros(loop + tuple(e.shape(p)), e.dtype(p)) for p in parts)
                return empty if isinstance(probe, tuple) else empty[0]
            results = [call(k) for k in range(count)]
            if isinstance(results[0], tuple):
                return tuple(e.reshape(e.stack([r[j] for r in results]), loop + tuple(e.shape(results[0][j])))
                             for j in range(len(results[0])))
            return e.reshape(e.stack(results), loop + tuple(e.shape(results[0])))

        return mapped

    # ------------------------------------------------------ patches (im2col)
    def _lt_patch_grid(self, size: Pair2, kernel: Pair2, dilation: Pair2, padding: Pair2,
                       stride: Pair2) -> tuple[Pair2, Pair2]:
        padded = (size[0] + 2 * padding[0], size[1] + 2 * padding[1])
        blocks = tuple((padded[i] - dilation[i] * (kernel[i] - 1) - 1) // stride[i] + 1 for i in range(2))
        return padded, (blocks[0], blocks[1])

    def unfold(self, x: Tensor, kernel_size: Pair2, dilation: Pair2, padding: Pair2, stride: Pair2) -> Tensor:
        """Sliding blocks of ``(N, C, H, W)`` as ``(N, C * kh * kw, L)``:
        channel-major, then the kernel's rows and columns; blocks in row-major
        order. Portable: one gather from the flattened, zero-padded image."""
        e: Any = self
        n, c, h, w = e.shape(x)
        (hp, wp), (bh, bw) = self._lt_patch_grid((h, w), kernel_size, dilation, padding, stride)
        kh, kw = kernel_size
        padded = e.pad(x, [(0, 0), (0, 0), (padding[0], padding[0]), (padding[1], padding[1])])
        rows = (np.arange(kh)[:, None, None, None] * dilation[0] + np.arange(bh)[None, None, :, None] * stride[0])
        cols = (np.arange(kw)[None, :, None, None] * dilation[1] + np.arange(bw)[None, None, None, :] * stride[1])
        index = (rows * wp + cols).reshape(-1).astype(np.int32)  # (kh, kw, bh, bw) flattened
        taken = e.take(e.reshape(padded, (n, c, hp * wp)), e.convert_to_tensor(index), axis=2)
        return e.reshape(taken, (n, c * kh * kw, bh * bw))

    def fold(self, x: Tensor, output_size: Pair2, kernel_size: Pair2, dilation: Pair2, padding: Pair2,
             stride: Pair2) -> Tensor:
        """The adjoint of :meth:`unfold`: ``(N, C * kh * kw, L)`` blocks summed
        into ``(N, C, *output_size)`` where they overlap. Portable: each
        kernel tap's blocks spread to their stride by padding, shifted into
        place and added."""
        e: Any = self
        n, ckk, _ = e.shape(x)
        kh, kw = kernel_size
        c = ckk // (kh * kw)
        (hp, wp), (bh, bw) = self._lt_patch_grid(output_size, kernel_size, dilation, padding, stride)
        taps = e.reshape(x, (n, c, kh * kw, bh, 1, bw, 1))
        sh, sw = stride
        total = None
        for tap in range(kh * kw):
            i, j = divmod(tap, kw)
            block = e.reshape(e.take(taps, e.convert_to_tensor(np.array([tap], np.int32)), axis=2),
                              (n, c, bh, 1, bw, 1))
            spread = e.reshape(e.pad(block, [(0, 0), (0, 0), (0, 0), (0, sh - 1), (0, 0), (0, sw - 1)]),
                               (n, c, bh * sh, bw * sw))
            top, left = i * dilation[0], j * dilation[1]
            rows, cols = min(bh * sh, hp - top), min(bw * sw, wp - left)
            spread = e.slice(spread, (0, 0, 0, 0), (n, c, rows, cols))
            placed = e.pad(spread, [(0, 0), (0, 0), (top, hp - top - rows), (left, wp - left - cols)])
            total = placed if total is None else e.add(total, placed)
        return e.slice(total, (0, 0, padding[0], padding[1]), (n, c, output_size[0], output_size[1]))


def pairs(value: int | Sequence[int], name: str, op: str) -> Pair2:
    """An int or a pair of ints as a pair. Example: ``pairs(2, "stride", "unfold")`` -> ``(2, 2)``"""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value), int(value)
    if (isinstance(value, (list, tuple)) and len(value) == 2
            and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value)):
        return int(value[0]), int(value[1])
    raise ValueError(f"{op}: expected an int or a pair of ints for {name}, received {value!r}.")
