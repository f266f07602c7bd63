"""Small helpers shared by the callbacks: log conversion, messages, learning
rates, atomic file writes and who may write in a multi-process run. Private:
nothing here is public API."""

from __future__ import annotations

import math
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from typing import Any

import numpy as np

from polykeras import backends
from polykeras.variables import whole_values

Logs = dict[str, Any]


def to_float(value: Any) -> float:
    """``value`` (a Python number, NumPy scalar, 0-d array, engine tensor or
    :class:`~polykeras.variables.Variable`) as a Python float."""
    try:
        return float(value)
    except (TypeError, ValueError, RuntimeError):
        if not hasattr(value, "shape"):
            raise TypeError(f"expected a number or a one-element tensor, received {value!r}.") from None
        from polykeras import ops

        return float(np.asarray(ops.to_numpy(value)).reshape(()))


def _has_many_elements(value: Any) -> bool:
    try:
        return math.prod(int(d) for d in getattr(value, "shape", ())) != 1
    except (TypeError, ValueError):
        return True


def pythonify_logs(logs: Mapping[str, Any] | None) -> Logs:
    """A new dict with every scalar value made a Python float (nested dicts
    are flattened, other values are kept as they are). Key order is kept."""
    result: Logs = {}
    for key, value in (logs or {}).items():
        if isinstance(value, Mapping):
            result.update(pythonify_logs(value))
            continue
        if type(value) is float or isinstance(value, str) or value is None or _has_many_elements(value):
            result[key] = value  # floats as they are; batch outputs are never read
            continue
        try:
            result[key] = to_float(value)
        except (TypeError, ValueError, RuntimeError):
            result[key] = value
    return result


def is_chief() -> bool:
    """True on the process that prints and writes files (rank 0; True when alone)."""
    return backends.active().process_index() == 0


def whole_state(model: Any) -> Any:
    """A block inside which the model's and its optimizer's sharded variables
    (fully sharded data parallelism) read whole: entered by every process,
    since gathering is a collective, before the chief writes them."""
    optimizer = getattr(model, "optimizer", None)
    return whole_values([*getattr(model, "variables", ()), *getattr(optimizer, "variables", ())])


def barrier() -> None:
    """Wait until every process of a multi-process run gets here (no-op when alone)."""
    backends.active().distribution_barrier()


def print_msg(message: str) -> None:
    """Print a callback's message on stdout (shown above a live progress bar);
    in a multi-process run only the chief prints."""
    if is_chief():
        print(message, file=sys.stdout, flush=True)


def format_value(value: Any) -> str:
    """A log value as the progress bar and messages show it: 4 decimals, or
    scientific notation for tiny values (as Keras does)."""
    if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        value = float(value)
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return f"{value:.4f}" if abs(value) > 1e-3 else f"{value:.4e}"
    return str(value)


def format_logs(logs: Mapping[str, Any] | None) -> str:
    """``"loss: 0.1234 - accuracy: 0.9500"`` (empty string for no logs)."""
    return " - ".join(f"{key}: {format_value(value)}" for key, value in (logs or {}).items())


def format_duration(seconds: float) -> str:
    """``"2s"``, ``"350ms"`` or ``"40us"``."""
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms"
    return f"{seconds * 1e6:.0f}us"


def require_optimizer(model: Any, who: str) -> Any:
    """``model.optimizer``, or a clear error when the model has none."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not hasattr(optimizer, "learning_rate"):
        raise ValueError(f"{who}: expected a compiled model whose optimizer has a `learning_rate`, "
                         f"received model.optimizer={optimizer!r}. Call `model.compile(optimizer=...)` "
                         "before `fit`.")
    return optimizer


def get_learning_rate(optimizer: Any) -> float:
    """The optimizer's current learning rate as a Python float."""
    return to_float(optimizer.learning_rate)


def set_learning_rate(optimizer: Any, value: float) -> None:
    """Set the optimizer's learning rate to ``value``."""
    optimizer.learning_rate = float(value)


def temp_path_beside(path: str, suffix: str) -> str:
    """A new, unused path in ``path``'s folder, hidden, ending in ``suffix``
    (so savers that check the extension accept it)."""
    folder = os.path.dirname(path) or "."
    stem = os.path.basename(path)
    if suffix and stem.endswith(suffix):
        stem = stem[: -len(suffix)]
    fd, temp = tempfile.mkstemp(prefix=f".{stem}.", suffix=f".tmp{suffix}", dir=folder)
    os.close(fd)
    os.remove(temp)  # the saver creates it; we only reserve a unique name
    return temp


def remove_path(path: str) -> None:
    """Remove a file or folder if it exists; never raises for a missing path."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        try:
            os.remove(path)
        except OSError:
            pass


def atomic_write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader sees the old file or the new
    one, never a partial file."""
    folder = os.path.dirname(path) or "."
    fd, temp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        remove_path(temp)
        raise


def format_clock(seconds: float) -> str:
    """An ETA or elapsed time as Keras shows it: ``"7s"``, ``"2:05"``, ``"1:02:05"``.
    Example: ``format_clock(125)`` -> ``'2:05'``"""
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    if seconds >= 60:
        return f"{seconds // 60}:{seconds % 60:02d}"
    return f"{seconds}s"
