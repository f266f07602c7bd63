"""``Progbar``: Keras' text progress bar, for users' own loops."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from typing import Any

import numpy as np

from polykeras.callbacks._utils import format_clock


def _format_value(value: Any) -> str:
    value = float(np.mean(value)) if not isinstance(value, (int, float)) else value
    return f"{value:.4f}" if abs(value) > 1e-3 or value == 0 else f"{value:.4e}"


class Progbar:
    """A progress bar: ``update(current, values)`` or ``add(n, values)``.

    ``values`` is a list of ``(name, value)``; values of names not in
    ``stateful_metrics`` are averaged over the steps seen (weighted by the
    steps each covers), stateful ones are shown as given. ``verbose=1``
    redraws one line (``\\r``), ``verbose=2`` prints one line when done,
    ``verbose=0`` prints nothing.

    Example:
        >>> bar = Progbar(target=10)
        >>> for step in range(10):
        ...     bar.update(step + 1, values=[("loss", 0.5)])
    """

    def __init__(self, target: int | None, width: int = 20, verbose: int = 1, interval: float = 0.05,
                 stateful_metrics: Iterable[str] | None = None, stateless_metrics: Iterable[str] | None = None,
                 unit_name: str = "step"):
        if stateful_metrics and stateless_metrics:
            raise ValueError("Progbar: give stateful_metrics or stateless_metrics, not both.")
        if verbose not in (0, 1, 2):
            raise ValueError(f"Progbar: expected verbose 0, 1 or 2, received {verbose!r}.")
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self.stateful_metrics = set(stateful_metrics or ())
        self.stateless_metrics = set(stateless_metrics) if stateless_metrics else None
        self._values: dict[str, Any] = {}
        self._values_order: list[str] = []
        self._seen_so_far = 0
        self._start = time.time()
        self._last_update = 0.0
        self._total_width = 0

    def _is_stateful(self, name: str) -> bool:
        if self.stateless_metrics is not None:
            return name not in self.stateless_metrics
        return name in self.stateful_metrics

    def update(self, current: int, values: Iterable[tuple[str, Any]] | None = None,
               finalize: bool | None = None) -> None:
        """Move to step ``current`` and record ``values``. Example: ``bar.update(3, [("loss", 0.2)])``"""
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        for name, value in values or ():
            if name not in self._values_order:
                self._values_order.append(name)
            if self._is_stateful(name):
                self._values[name] = value
            else:
                steps = max(current - self._seen_so_far, 1)
                total, count = self._values.get(name, (0.0, 0))
                self._values[name] = (total + float(np.mean(value)) * steps, count + steps)
        self._seen_so_far = current
        now = time.time()
        if self.verbose == 1:
            if not finalize and now - self._last_update < self.interval:
                return
            self._write("\r" + self._line(current, now, finalize) + ("\n" if finalize else ""))
        elif self.verbose == 2 and finalize:
            self._write(self._line(current, now, True, bar=False) + "\n")
        self._last_update = now

    def add(self, n: int, values: Iterable[tuple[str, Any]] | None = None) -> None:
        """Advance by ``n`` steps. Example: ``bar.add(1, [("loss", 0.2)])``"""
        self.update(self._seen_so_far + n, values)

    def _shown(self, name: str) -> Any:
        value = self._values[name]
        if isinstance(value, tuple):
            total, count = value
            return total / max(count, 1)
        return value

    def _line(self, current: int, now: float, finalize: bool, bar: bool = True) -> str:
        parts = []
        if bar:
            if self.target is not None:
                digits = len(str(self.target))
                done = int(self.width * min(current / self.target, 1.0)) if self.target else self.width
                parts.append(f"{current:>{digits}}/{self.target} " + "━" * done + " " * (self.width - done))
            else:
                parts.append(f"{current:>7}/Unknown")
        elapsed = now - self._start
        per_unit = elapsed / current if current else 0.0
        if finalize or self.target is None:
            timing = f"{format_clock(elapsed)} {_per(per_unit, self.unit_name)}"
        else:
            timing = f"{format_clock(per_unit * (self.target - current))}"
        parts.append(timing)
        parts.extend(f"{name}: {_format_value(self._shown(name))}" for name in self._values_order)
        if bar:
            line = " - ".join([parts[0] + " " + parts[1]] + parts[2:])
        else:  # verbose=2: "32/32 - 1s 3ms/step - loss: 0.1234"
            line = " - ".join([f"{current}/{self.target if self.target is not None else current}"] + parts)
        padding = max(self._total_width - len(line), 0)
        self._total_width = len(line)
        return line + " " * padding

    @staticmethod
    def _write(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()


def _per(seconds: float, unit: str) -> str:
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/{unit}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit}"
    return f"{seconds * 1e6:.0f}us/{unit}"
