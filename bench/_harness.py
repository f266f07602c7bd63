"""What the benchmark scripts share: timing, one process per implementation
(Keras 3 fixes its engine at import), and the results table.

Example (inside a script with ``RUNNERS = {"native": ..., "polykeras": ..., "keras": ...}``):
    >>> ms = measure(__file__, "torch", "polykeras", "mlp", steps=20, rounds=5)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable


def timed(step: Callable[[], object], steps: int, rounds: int, sync: Callable[[], object] = lambda: None,
          warmup: int = 10) -> float:
    """Median milliseconds per ``step`` over ``rounds`` rounds, after ``warmup`` warm-up calls."""
    for _ in range(warmup):
        step()
    sync()
    samples = []
    for _ in range(rounds):
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
    measured in its own process, one table row per model and engine."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--engines", default=engines)
    parser.add_argument("--models", default=models)
    parser.add_argument("--impls", default=",".join(runners))
    parser.add_argument("--steps", type=int, default=steps)
    parser.add_argument("--rounds", type=int, default=5)
    add_worker_arguments(parser)
    args = parser.parse_args()
    if args.worker:
        worker(runners, args)
        return
    impls = args.impls.split(",")
    print_header()
    for model in args.models.split(","):
        for engine in args.engines.split(","):
            times = {impl: measure(script, engine, impl, model, args.steps, args.rounds) if impl in impls else None
                     for impl in runners}
            print_row(model, engine, times)


def add_worker_arguments(parser: argparse.ArgumentParser) -> None:
    """The hidden arguments a script passes to itself to run one measurement."""
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--engine", help=argparse.SUPPRESS)
    parser.add_argument("--impl", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)


def worker(runners: dict[str, Callable[[str, str, int, int], float]], args: argparse.Namespace) -> None:
    """Run one implementation in this process and print its figure as JSON
    (a second rank of a multi-process measurement, ``RANK`` > 0, prints nothing)."""
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    if args.impl == "keras":
        os.environ["KERAS_BACKEND"] = args.engine
    ms = runners[args.impl](args.engine, args.model, args.steps, args.rounds)
    if os.environ.get("RANK", "0") == "0":
        print(json.dumps({"ms": ms}))


def measure(script: str, engine: str, impl: str, model: str, steps: int, rounds: int) -> float | None:
    """Milliseconds per step of one implementation, measured in a fresh process."""
    command = [sys.executable, script, "--worker", "--engine", engine, "--impl", impl, "--model", model,
               "--steps", str(steps), "--rounds", str(rounds)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)["ms"]
    print(f"  {engine}/{impl}/{model} failed:\n{done.stderr[-2000:]}", file=sys.stderr)
    return None


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
