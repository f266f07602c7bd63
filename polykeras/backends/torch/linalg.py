"""Products and linear algebra for the PyTorch engine (NumPy semantics)."""

from __future__ import annotations

from typing import Any

import torch

from polykeras.backends.torch.core import T, floating, pair, tensors, to_int


def _axes_list(value: Any, ndim: int) -> list[int]:
    items = [value] if isinstance(value, int) else list(value)
    return [to_int(a) + ndim if to_int(a) < 0 else to_int(a) for a in items]


class LinalgMixin:
    """Matrix products and decompositions of :class:`TorchBackend`.

    Example: ``B.get("torch").einsum("ij,jk->ik", a, b)``
    """

    def matmul(self, x1: Any, x2: Any) -> T:
        if type(x1) is T and type(x2) is T and x1.dtype is x2.dtype:
            return torch.matmul(x1, x2)
        x1, x2 = pair(x1, x2, scalars=False)
        return torch.matmul(x1, x2)

    def matmul_bias(self, x: Any, kernel: Any, bias: Any) -> T:
        if (type(x) is T and type(kernel) is T and type(bias) is T and x.dtype is kernel.dtype is bias.dtype
                and x.is_floating_point() and x.ndim >= 2 and kernel.ndim == 2 and bias.ndim == 1):
            return torch.nn.functional.linear(x, kernel.t(), bias)  # addmm: the bias added in the product
        return super().matmul_bias(x, kernel, bias)  # type: ignore[misc]

    def tensordot(self, x1: Any, x2: Any, axes: Any = 2) -> T:
        x1, x2 = pair(x1, x2, scalars=False)
        if isinstance(axes, int):
            return torch.tensordot(x1, x2, dims=axes)
        first, second = axes
        return torch.tensordot(x1, x2, dims=(_axes_list(first, x1.ndim), _axes_list(second, x2.ndim)))

    def einsum(self, subscripts: str, *operands: Any, optimize: Any = None) -> T:
        # ``optimize``: torch orders contractions itself (with opt_einsum where installed); the result is the same
        return torch.einsum(subscripts, *tensors(operands))

    def inv(self, x: Any) -> T:
        return torch.linalg.inv(floating(x))

    def solve(self, a: Any, b: Any) -> T:
        a, b = pair(floating(a), floating(b), scalars=False)
        if b.ndim == 1:
            return torch.linalg.solve(a, b.unsqueeze(-1)).squeeze(-1)
        # NumPy >= 2 reads a b of rank >= 2 as matrices, never as a batch of
        # vectors; broadcasting b's batch axes explicitly keeps torch from
        # guessing "vectors" when b.shape == a.shape[:-1].
        batch = torch.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        return torch.linalg.solve(a.expand(*batch, *a.shape[-2:]), b.expand(*batch, *b.shape[-2:]))

    def cholesky(self, x: Any) -> T:
        return torch.linalg.cholesky(floating(x))

    def eigh(self, x: Any) -> tuple[T, T]:
        w, v = torch.linalg.eigh(floating(x))
        return w, v

    def qr(self, x: Any, mode: str = "reduced") -> tuple[T, T]:
        if mode not in ("reduced", "complete"):
            raise ValueError(f"qr: expected mode 'reduced' or 'complete', received {mode!r}")
        q, r = torch.linalg.qr(floating(x), mode=mode)
        return q, r

    def svd(self, x: Any, full_matrices: bool = True, compute_uv: bool = True) -> Any:
        x = floating(x)
        if not compute_uv:
            return torch.linalg.svdvals(x)
        u, s, vh = torch.linalg.svd(x, full_matrices=full_matrices)
        return u, s, vh

    def det(self, x: Any) -> T:
        return torch.linalg.det(floating(x))
