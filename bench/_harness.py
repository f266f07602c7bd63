"""What the benchmark scripts share: timing, one process per implementation
(Keras 3 fixes its engine at import), and the results table.

The implementations of one row run interleaved: each process warms up alone,
then the processes take their timed rounds in turn (native, polykeras, Keras,
native, ...), every other process blocked meanwhile. A change in the machine's
load during the row (another job, thermal limits) so falls on every
implementation alike instead of on whichever ran at that moment.

Every worker runs with glibc's heap neither trimmed nor grown by ``mmap``
(:data:`ALLOCATOR`). Otherwise whether a process page-faults on every step
depends on the history of its allocator: a step that frees and allocates
megabytes (fresh gradients, an optimizer's temporaries) then maps them anew,
and the same torch loop measured 1.2x to 1.6x slower from one process to the
next. With the setting, each implementation is timed on its kernels.

A process can still land in a slower regime than the next one (where its
buffers fall in memory, how the machine's host schedules it): the native
torch MLP step measured 3.1 to 3.8 ms from one process to another, and
on a busier day 3.75 to 6.70 ms.
``--processes N`` runs every implementation in N processes, all interleaved,
and reports the median over processes of each process's median, with the
lowest and highest of those medians on a line under the row.

Example (inside a script with ``RUNNERS = {"native": ..., "polykeras": ..., "keras": ...}``):
    >>> ms = measure(__file__, "torch", ["native", "polykeras"], "mlp", steps=20, rounds=5)
    >>> ms["polykeras"] / ms["native"]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence

INTERLEAVED = "POLYKERAS_BENCH_INTERLEAVED"  # set by the parent in the worker processes it runs in turn
READY, GO = "POLYKERAS_BENCH_READY", "GO"
DEADLINE_S = 900  # longest a worker may take to reach its next round (or finish)
#: glibc's malloc settings for every worker: big blocks from the heap, the heap never trimmed
ALLOCATOR = {"MALLOC_MMAP_THRESHOLD_": str(1 << 30), "MALLOC_TRIM_THRESHOLD_": str(1 << 32)}
COLUMNS = ("native", "polykeras", "keras")  # the table's order
_gated = False  # True in a worker that waits for the parent before each timed round


def _turn() -> None:
    """In an interleaved worker: wait until the parent hands this process its next round."""
    if _gated:
        print(READY, flush=True)
        if sys.stdin.readline().strip() != GO:
            raise SystemExit("benchmark: the parent process went away")


def timed(step: Callable[[], object], steps: int, rounds: int, sync: Callable[[], object] = lambda: None,
          warmup: int = 10) -> float:
    """Median milliseconds per ``step`` over ``rounds`` rounds, after ``warmup``
    warm-up calls. Under :func:`measure` each round waits for this process's turn."""
    for _ in range(warmup):
        step()
    sync()
    samples = []
    for _ in range(rounds):
        _turn()
        start = time.perf_counter()
        for _ in range(steps):
            step()
        sync()
        samples.append((time.perf_counter() - start) / steps * 1e3)
    return statistics.median(samples)


def polykeras_step_ms(model, x, y, batch_size: int, steps: int, rounds: int) -> float:
    """Milliseconds per compiled training step of a compiled polykeras
    ``model`` on one batch of ``(x, y)``: the step ``fit`` runs, without the
    loop around it (one ``train_on_batch`` first builds and compiles it)."""
    from polykeras import ops

    model.train_on_batch(x, y)
    batch = next(model._adapt(x, y, None, batch_size, False, None).epoch())
    train = model._function("train")
    last = {}

    def step():
        last["logs"] = train(batch)

    return timed(step, steps, rounds, lambda: ops.to_numpy(last["logs"]["loss"]))


def main(script: str, description: str, runners: dict[str, Callable[[str, str, int, int], float]],
         engines: str, models: str, steps: int) -> None:
    """The command line every benchmark script shares: ``--engines``,
    ``--models``, ``--impls``, ``--steps``, ``--rounds``; each implementation
    measured in its own process (interleaved, see :func:`measure`), one table
    row per model and engine."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--engines", default=engines)
    parser.add_argument("--models", default=models)
    parser.add_argument("--impls", default=",".join(runners))
    parser.add_argument("--steps", type=int, default=steps)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--processes", type=int, default=1,
                        help="processes per implementation (their medians' median is reported)")
    add_worker_arguments(parser)
    args = parser.parse_args()
    if args.worker:
        worker(runners, args)
        return
    impls = args.impls.split(",")
    print_header()
    for model in args.models.split(","):
        for engine in args.engines.split(","):
            each = measure_each(script, engine, [impl for impl in runners if impl in impls], model, args.steps,
                                args.rounds, args.processes)
            print_row(model, engine, _medians(each))
            if args.processes > 1:
                print_spread(each)


def add_worker_arguments(parser: argparse.ArgumentParser) -> None:
    """The hidden arguments a script passes to itself to run one measurement."""
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--engine", help=argparse.SUPPRESS)
    parser.add_argument("--impl", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)


def worker(runners: dict[str, Callable[[str, str, int, int], float]], args: argparse.Namespace) -> None:
    """Run one implementation in this process and print its figure as JSON
    (a second rank of a multi-process measurement, ``RANK`` > 0, prints nothing)."""
    global _gated
    _gated = os.environ.pop(INTERLEAVED, None) == "1"  # popped: processes this one starts run freely
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    if args.impl == "keras":
        os.environ["KERAS_BACKEND"] = args.engine
    ms = runners[args.impl](args.engine, args.model, args.steps, args.rounds)
    if os.environ.get("RANK", "0") == "0":
        print(json.dumps({"ms": ms}))


class _Run:
    """One implementation's worker process, driven round by round over its pipes."""

    def __init__(self, script: str, engine: str, impl: str, model: str, steps: int, rounds: int):
        self.name = f"{engine}/{impl}/{model}"
        self.stderr = tempfile.TemporaryFile("w+")
        command = [sys.executable, script, "--worker", "--engine", engine, "--impl", impl, "--model", model,
                   "--steps", str(steps), "--rounds", str(rounds)]
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **ALLOCATOR, **{INTERLEAVED: "1"})
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr,
                                     text=True, env=env)
        self.ms: float | None = None
        self.reported = False  # printed its figure (None: the implementation has no such row)
        self.waiting = False  # blocked before a timed round, waiting for GO

    def advance(self) -> None:
        """Let the worker run until it waits for its next round or exits."""
        if self.waiting:
            self.proc.stdin.write(GO + "\n")
            self.proc.stdin.flush()
        self.waiting = False
        watchdog = threading.Timer(DEADLINE_S, self.proc.kill)
        watchdog.start()
        try:
            for line in self.proc.stdout:
                if line.strip() == READY:
                    self.waiting = True
                    return
                if line.startswith("{"):
                    self.ms, self.reported = json.loads(line)["ms"], True
            self.proc.wait()
        finally:
            watchdog.cancel()
        if not self.reported:
            self.stderr.seek(0)
            print(f"  {self.name} failed (rc {self.proc.returncode}):\n{self.stderr.read()[-2000:]}",
                  file=sys.stderr)


def measure(script: str, engine: str, impls: Sequence[str], model: str, steps: int, rounds: int,
            processes: int = 1) -> dict[str, float | None]:
    """Milliseconds per step of each implementation: the median of its
    processes' medians (see :func:`measure_each`)."""
    return _medians(measure_each(script, engine, impls, model, steps, rounds, processes))


def _medians(each: dict[str, list[float]]) -> dict[str, float | None]:
    return {impl: statistics.median(figures) if figures else None for impl, figures in each.items()}


def measure_each(script: str, engine: str, impls: Sequence[str], model: str, steps: int, rounds: int,
                 processes: int = 1) -> dict[str, list[float]]:
    """Every process's milliseconds per step, per implementation, each
    implementation in ``processes`` fresh processes: they start (and warm up)
    one after another, then take their timed rounds in turn, so that all of
    them see the same machine."""
    runs = []
    for _ in range(processes):
        for impl in impls:
            run = _Run(script, engine, impl, model, steps, rounds)
            run.advance()  # imports, builds, compiles and warms up while the others wait
            runs.append((impl, run))
    while live := [run for _, run in runs if run.waiting]:
        for run in live:
            run.advance()
    return {impl: [run.ms for name, run in runs if name == impl and run.ms is not None] for impl in impls}


def print_header() -> None:
    print(f"{'model':<12} {'engine':<11} {'native ms':>10} {'polykeras ms':>13} {'keras3 ms':>10} "
          f"{'pk/native':>10} {'keras/native':>13} {'pk/keras':>9}")


def print_row(model: str, engine: str, times: dict[str, float | None]) -> None:
    """One table row with the ratios (``-`` where a figure is missing)."""
    native, ours, keras = times.get("native"), times.get("polykeras"), times.get("keras")

    def ratio(a: float | None, b: float | None) -> str:
        return f"{a / b:.2f}x" if a and b else "-"

    def ms(value: float | None) -> str:
        return f"{value:.2f}" if value else "-"

    print(f"{model:<12} {engine:<11} {ms(native):>10} {ms(ours):>13} {ms(keras):>10} "
          f"{ratio(ours, native):>10} {ratio(keras, native):>13} {ratio(ours, keras):>9}", flush=True)


def print_spread(each: dict[str, list[float]]) -> None:
    """Under a row measured in several processes, each implementation's
    lowest and highest process median: a ratio that moves less than that
    spread is within the machine's noise."""
    order = sorted(each, key=lambda impl: COLUMNS.index(impl) if impl in COLUMNS else len(COLUMNS))
    spans = [f"{impl} {min(each[impl]):.2f}-{max(each[impl]):.2f}" for impl in order if each[impl]]
    print(f"{'':<24} per process: {', '.join(spans)}", flush=True)
