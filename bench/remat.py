"""Memory saved by rematerialisation (``RematScope``) in one training step.

A deep MLP (``--depth`` Dense(``--width``, gelu) layers, batch ``--batch``)
takes one ``train_on_batch`` step (SGD, mse), built plainly and inside
``RematScope("full")``, with polykeras and with Keras 3 (same engine), each in
its own process. Two figures per run:

* ``peak MB``: the process's peak resident memory during the step above what
  it held before (``ru_maxrss``), on every engine;
* ``saved MB``: where the engine can say exactly what the backward pass
  keeps: the bytes torch saves for backward (``saved_tensors_hooks``,
  polykeras only) and the temporary buffers of the compiled JAX step
  (``memory_analysis``, polykeras's step function lowered with ``jax.jit``).

    python bench/remat.py [--engines jax,torch,tensorflow] [--impls polykeras,keras] [--depth 16]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _build(lib, remat: bool, depth: int, width: int):
    def make():
        inputs = lib.Input((width,))
        h = inputs
        for i in range(depth):
            h = lib.layers.Dense(width, activation="gelu", name=f"d{i}")(h)
        model = lib.Model(inputs, lib.layers.Dense(1, name="out")(h))
        model.compile(optimizer=lib.optimizers.SGD(1e-3), loss="mse")
        return model

    if not remat:
        return make()
    with lib.RematScope("full"):
        return make()


def _exact_saved_mb(engine: str, model, x, y) -> float | None:
    """Bytes the engine keeps for the backward pass, where it can say."""
    import polykeras as pk
    from polykeras import ops

    trainable = model.trainable_variables

    def loss_fn(params, xb, yb):
        pred, _ = model.stateless_call(params, [], xb)
        return ops.mean(ops.square(ops.subtract(pred, yb)))

    if engine == "torch":
        import torch

        total = [0]

        def pack(t):
            total[0] += t.numel() * t.element_size()
            return t

        params = [v.value for v in trainable]
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            loss = loss_fn(params, ops.convert_to_tensor(x), ops.convert_to_tensor(y))
        loss.backward()
        return total[0] / 2**20
    if engine == "jax":
        import jax

        grad = jax.jit(jax.grad(lambda p, xb, yb: loss_fn(p, xb, yb)))
        compiled = grad.lower([v.value for v in trainable], x, y).compile()
        analysis = compiled.memory_analysis()
        return None if analysis is None else analysis.temp_size_in_bytes / 2**20
    del pk
    return None


def worker(args: argparse.Namespace) -> None:
    import numpy as np

    if args.impl == "keras":
        os.environ["KERAS_BACKEND"] = args.engine
        import keras as lib
    else:
        os.environ["POLYKERAS_BACKEND"] = args.engine
        import polykeras as lib
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.batch, args.width)).astype("float32")
    y = rng.normal(size=(args.batch, 1)).astype("float32")
    model = _build(lib, args.remat, args.depth, args.width)
    model.train_on_batch(x[:8], y[:8])  # build and compile on a small batch first
    before = _rss_mb()
    model.train_on_batch(x, y)
    peak = _rss_mb() - before
    exact = _exact_saved_mb(args.engine, model, x, y) if args.impl == "polykeras" else None
    print(json.dumps({"peak": peak, "exact": exact}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="jax,torch,tensorflow")
    parser.add_argument("--impls", default="polykeras,keras")
    parser.add_argument("--depth", type=int, default=16)
    parser.add_argument("--width", type=int, default=512)
    parser.add_argument("--batch", type=int, default=2048)
    parser.add_argument("--worker", action="store_true")
    parser.add_argument("--engine")
    parser.add_argument("--impl")
    parser.add_argument("--remat", action="store_true")
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    activation_mb = args.batch * args.width * 4 / 2**20
    print(f"deep MLP: {args.depth} x Dense({args.width}, gelu), batch {args.batch} "
          f"(one activation = {activation_mb:.0f} MB); one train_on_batch step")
    print(f"{'engine':<11} {'impl':<10} {'peak MB plain':>14} {'peak MB remat':>14} {'ratio':>6} "
          f"{'saved MB plain':>15} {'saved MB remat':>15} {'ratio':>6}")
    for engine in args.engines.split(","):
        for impl in args.impls.split(","):
            results = []
            for remat in (False, True):
                command = [sys.executable, __file__, "--worker", "--engine", engine, "--impl", impl,
                           "--depth", str(args.depth), "--width", str(args.width), "--batch", str(args.batch)]
                run = subprocess.run(command + (["--remat"] if remat else []), capture_output=True, text=True)
                lines = [ln for ln in run.stdout.splitlines() if ln.startswith("{")]
                if run.returncode or not lines:
                    results.append(None)
                    print(f"  ({engine}/{impl}/remat={remat} failed: {run.stderr.strip().splitlines()[-1:]})")
                else:
                    results.append(json.loads(lines[-1]))

            def cell(r, key):
                return "-" if r is None or r.get(key) is None else f"{r[key]:.0f}"

            def ratio(key, results=results):
                a, b = results
                if a is None or b is None or not a.get(key) or b.get(key) is None:
                    return "-"
                return f"{b[key] / a[key]:.2f}"

            print(f"{engine:<11} {impl:<10} {cell(results[0], 'peak'):>14} {cell(results[1], 'peak'):>14} "
                  f"{ratio('peak'):>6} {cell(results[0], 'exact'):>15} {cell(results[1], 'exact'):>15} "
                  f"{ratio('exact'):>6}")


if __name__ == "__main__":
    main()
