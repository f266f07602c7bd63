"""Control flow of the PyTorch engine: eager Python (the protocol's
composites in ``backends/control_flow.py``) differentiated by autograd, and
``custom_gradient`` as a ``torch.autograd.Function``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch


class TorchControlFlow:
    """``custom_gradient`` of the torch engine (see :class:`polykeras.backends.torch.TorchBackend`).

    Example: ``B.get("torch").custom_gradient(lambda x: (x, lambda g: 2 * g))(x)``
    """

    def custom_gradient(self, f: Callable[..., tuple[Any, Callable[..., Any]]]) -> Callable[..., Any]:
        class Custom(torch.autograd.Function):
            @staticmethod
            def forward(ctx: Any, *args: Any) -> Any:
                out, grad_fn = f(*args)
                ctx.grad_fn = grad_fn
                return out

            @staticmethod
            def backward(ctx: Any, *upstream: Any) -> Any:
                grads = ctx.grad_fn(*upstream)
                return tuple(grads) if isinstance(grads, (list, tuple)) else (grads,)

        return lambda *args: Custom.apply(*args)

    def jvp(self, fun: Callable[..., Any], primals: Any, tangents: Any, has_aux: bool = False) -> tuple[Any, ...]:
        return torch.func.jvp(fun, tuple(primals), tuple(tangents), has_aux=has_aux)
