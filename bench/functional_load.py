"""How long a functional model takes to come back from its config.

Builds a chain of ``--layers`` small ``Dense`` layers (2,000 by default),
takes its config and times ``from_config``: polykeras's with the layers
listed in graph order and listed backwards (rebuilding visits each call once,
so the order of the list must not matter), and Keras 3's
``keras.Model.from_config`` on the same chain, in its own process (Keras
fixes its engine at import; it walks graphs recursively, so its process gets a
deep recursion limit for the long chain).

    python bench/functional_load.py [--engines numpy,jax] [--layers 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _median_seconds(fn, rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def polykeras_seconds(engine: str, layers: int, rounds: int) -> dict[str, float]:
    """Median seconds of ``Functional.from_config`` for the chain, with its
    layers listed in order and backwards."""
    import polykeras as pk
    from polykeras import backends
    from polykeras.models import Functional

    with backends.use(engine):
        x = pk.Input((4,))
        h = x
        for _ in range(layers):
            h = pk.layers.Dense(4)(h)
        config = pk.Model(x, h).get_config()
        backwards = dict(config, layers=config["layers"][::-1])
        return {"in order": _median_seconds(lambda: Functional.from_config(config), rounds),
                "backwards": _median_seconds(lambda: Functional.from_config(backwards), rounds)}


def keras_seconds(engine: str, layers: int, rounds: int) -> float | None:
    """Median seconds of Keras 3's ``keras.Model.from_config`` for the same
    chain, measured in a fresh process on ``engine``."""
    code = f"""
import copy, json, statistics, sys, time, keras
sys.setrecursionlimit(100000)  # Keras walks the graph recursively: a long chain needs a deep stack
x = keras.Input((4,)); h = x
for _ in range({layers}):
    h = keras.layers.Dense(4)(h)
config = keras.Model(x, h).get_config()
samples = []
for _ in range({rounds}):
    fresh = copy.deepcopy(config)  # Keras consumes parts of the config it rebuilds from
    start = time.perf_counter(); keras.Model.from_config(fresh); samples.append(time.perf_counter() - start)
print(json.dumps({{"s": statistics.median(samples)}}))
"""
    env = dict(os.environ, KERAS_BACKEND=engine, TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=1800)
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)["s"]
    print(f"  keras/{engine} failed:\n{done.stderr[-2000:]}", file=sys.stderr)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="numpy")
    parser.add_argument("--layers", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-keras", action="store_true", help="skip the Keras 3 figure")
    args = parser.parse_args()
    print(f"{'engine':<11} {'layers':>6} {'pk in order s':>14} {'pk backwards s':>15} {'keras3 s':>9} {'pk/keras':>9}")
    for engine in args.engines.split(","):
        ours = polykeras_seconds(engine, args.layers, args.rounds)
        keras = None if args.no_keras else keras_seconds(engine, args.layers, args.rounds)
        ratio = f"{ours['in order'] / keras:.2f}x" if keras else "-"
        keras_text = f"{keras:.2f}" if keras else "-"
        print(f"{engine:<11} {args.layers:>6} {ours['in order']:>14.2f} {ours['backwards']:>15.2f} "
              f"{keras_text:>9} {ratio:>9}", flush=True)


if __name__ == "__main__":
    main()
