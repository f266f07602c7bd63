"""PyTorch's training hooks: ``torch.utils.checkpoint``. No profiler: Keras 3
offers none on torch either, so ``TensorBoard(profile_batch=...)`` is refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch.utils.checkpoint


class TorchTraining:
    """Gradient checkpointing with non-reentrant ``torch.utils.checkpoint``."""

    def remat(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def checkpointed(*args: Any) -> Any:
            # No early stop: torch stops a recomputation by raising inside it, which
            # polykeras's op dispatch would report as the op's error.
            with torch.utils.checkpoint.set_checkpoint_early_stop(False):
                return torch.utils.checkpoint.checkpoint(fn, *args, use_reentrant=False)

        return checkpointed
