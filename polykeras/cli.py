"""The ``polykeras`` command.

``polykeras info`` lists the installed engines with their versions and devices
and runs a tiny forward pass (a dense layer's matmul + bias + relu) on each,
checking that every engine gives the NumPy engine's numbers.

``polykeras keras-compat`` counts, per namespace, the installed Keras 3's
public names that polykeras has at the same path with a compatible signature
(see :mod:`conformance.keras_compat`).

Example:
    $ polykeras info
    $ polykeras keras-compat --missing
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import TextIO

import numpy as np

from polykeras import backends


def _forward_pass(name: str, x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    from polykeras import ops

    with backends.use(name):
        return ops.to_numpy(ops.relu(ops.add(ops.matmul(x, w), b)))


def info(out: TextIO = sys.stdout) -> int:
    """Print every installed engine, its version and devices, and check a tiny
    forward pass on each against the NumPy engine. Returns an exit code."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 8)).astype("float32")
    w = rng.standard_normal((8, 3)).astype("float32")
    b = rng.standard_normal((3,)).astype("float32")
    reference = _forward_pass("numpy", x, w, b)
    print(f"polykeras {__import__('polykeras').__version__}; default engine: {backends.default_name()}", file=out)
    failures = 0
    for name in backends.installed():
        try:
            engine = backends.get(name)
            start = time.perf_counter()
            result = _forward_pass(name, x, w, b)
            ms = (time.perf_counter() - start) * 1e3
            err = float(np.max(np.abs(result - reference)))
            status = "ok" if err <= 1e-5 else "MISMATCH"
            failures += status != "ok"
            print(f"  {name:<11} {engine.version():<12} devices={','.join(engine.list_devices())}  "
                  f"forward pass {status} (max |diff| {err:.1e}, {ms:.1f} ms)", file=out)
        except Exception as err:  # noqa: BLE001 - reported, not hidden
            failures += 1
            print(f"  {name:<11} FAILED: {type(err).__name__}: {err}", file=out)
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``polykeras`` command."""
    parser = argparse.ArgumentParser(prog="polykeras", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("info", help="installed engines, versions, devices and a forward-pass check")
    sub.add_parser("keras-compat", add_help=False,
                   help="coverage of Keras 3's public names (python -m conformance.keras_compat --help)")
    args, rest = parser.parse_known_args(argv)
    if args.command == "keras-compat":
        from conformance import keras_compat  # reads Keras in a child interpreter, only when run

        return keras_compat.main(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.command in (None, "info"):
        return info()
    return 2


if __name__ == "__main__":
    sys.exit(main())
