"""Fused LSTM and GRU sequence kernels for the PyTorch engine.

``lstm`` and ``gru`` run ``torch._VF.lstm`` / ``torch._VF.gru``, the kernels
behind ``torch.nn.LSTM`` / ``torch.nn.GRU``: the whole time loop runs in
ATen (on CPU with every step's input projection computed at once), with
autograd through it. Only Keras' weight layout has to be mapped:

* LSTM: torch's gate order i, f, g, o is Keras' i, f, c, o, so
  ``weight_ih = kernel.T`` and ``weight_hh = recurrent_kernel.T``; Keras has
  one bias, torch two (the second is given as zeros).
* GRU: torch's equations are Keras' ``reset_after=True`` ones, with the gates
  in the order r, z, n against Keras' z, r, h: the gate blocks are reordered
  in the same copy that transposes the kernels.

The transposed weights are made contiguous (a small copy, through which the
gradients flow) and ``train`` is set while autograd records: then torch may
pick its oneDNN kernel, which keeps what its backward pass needs, as
``nn.LSTM`` does. The time loop itself (``scan``) stays the protocol's
Python loop: eager torch runs it as fast as anything would.
"""

from __future__ import annotations

import functools
from typing import Any

import torch

from polykeras.backends.torch.core import T, to_tensor


def _prepare(inputs: Any, go_backwards: bool) -> T:
    x = to_tensor(inputs)
    if x.ndim != 3:
        raise ValueError(f"lstm/gru: expected inputs of shape (batch, time, features), "
                         f"received shape {tuple(x.shape)}.")
    return x.flip(1) if go_backwards else x


@functools.lru_cache(maxsize=None)
def _gate_order(device: torch.device) -> T:
    """The index putting Keras's GRU gate blocks z, r, h in torch's order r,
    z, n: made once per device, not on every step."""
    return torch.tensor([1, 0, 2], device=device)


def _gru_weight(w: T, units: int) -> T:
    """A Keras GRU kernel ``(n, 3 * units)`` as torch's ``(3 * units, n)``,
    gates reordered, in one copy (a transpose then a reorder would make two;
    ``index_select``'s gradient is also cheaper than advanced indexing's)."""
    n = w.shape[0]
    return w.t().reshape(3, units, n).index_select(0, _gate_order(w.device)).reshape(3 * units, n)


class RecurrentMixin:
    """Fused ``lstm``/``gru`` of :class:`TorchBackend`.

    Example: ``outputs, h, c = B.get("torch").lstm(x, h0, c0, kernel, recurrent_kernel, bias)``
    """

    def lstm(self, inputs: Any, initial_h: Any, initial_c: Any, kernel: Any, recurrent_kernel: Any,
             bias: Any = None, go_backwards: bool = False, unroll: bool = False,
             return_sequences: bool = True) -> tuple[T, T, T]:
        x = _prepare(inputs, go_backwards)
        kernel, recurrent_kernel = to_tensor(kernel), to_tensor(recurrent_kernel)
        params = [kernel.t().contiguous(), recurrent_kernel.t().contiguous()]
        if bias is not None:
            bias = to_tensor(bias)
            params += [bias, torch.zeros_like(bias)]
        hidden = (to_tensor(initial_h).unsqueeze(0), to_tensor(initial_c).unsqueeze(0))
        outputs, h, c = torch._VF.lstm(x, hidden, params, bias is not None, 1, 0.0, torch.is_grad_enabled(), False,
                                       True)
        return (outputs if return_sequences else h[0].unsqueeze(1)), h[0], c[0]

    def gru(self, inputs: Any, initial_h: Any, kernel: Any, recurrent_kernel: Any, bias: Any = None,
            go_backwards: bool = False, unroll: bool = False, return_sequences: bool = True) -> tuple[T, T]:
        x = _prepare(inputs, go_backwards)
        units = int(to_tensor(recurrent_kernel).shape[0])
        params = [_gru_weight(to_tensor(kernel), units), _gru_weight(to_tensor(recurrent_kernel), units)]
        if bias is not None:
            bias = to_tensor(bias)
            bias = bias.reshape(2, 3, units).index_select(1, _gate_order(bias.device)).reshape(2, 3 * units)
            params += [bias[0], bias[1]]
        outputs, h = torch._VF.gru(x, to_tensor(initial_h).unsqueeze(0), params, bias is not None, 1, 0.0,
                                   torch.is_grad_enabled(), False, True)
        return (outputs if return_sequences else h[0].unsqueeze(1)), h[0]
