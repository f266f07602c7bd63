"""The JAX engine in forked processes (polykeras/backends/jax/fork.py): a child
forked before JAX's runtime started computes normally; one forked after it
started refuses at once with an error saying why and what to do; the parent
is untouched."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

import polykeras.backends as B

pytestmark = pytest.mark.skipif("jax" not in B.installed(), reason="jax not installed")

# Runs in a fresh interpreter: this test process has long since started JAX.
SCRIPT = textwrap.dedent("""
    import os, warnings
    warnings.simplefilter("ignore")  # JAX's own RuntimeWarning when a process forks after it started
    import polykeras.backends as B
    from polykeras import ops

    def in_child(work):
        pid = os.fork()
        if pid == 0:
            try:
                print("child:", work(), flush=True)
            except RuntimeError as err:
                print("child refused:", type(err).__name__, err, flush=True)
            os._exit(0)
        os.waitpid(pid, 0)

    with B.use("jax"):
        total = lambda: float(ops.convert_to_numpy(ops.sum(ops.arange(4.0))))
        in_child(total)      # JAX not started here yet: the child starts its own runtime
        print("parent:", total(), flush=True)
        in_child(total)      # started now: the child refuses
        in_child(lambda: B.active().name)  # the engine's name stays readable
        print("parent:", total(), flush=True)
""")


def test_forked_child_refuses_jax_only_after_it_started():
    run = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "JAX_PLATFORMS": "cpu"})
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stdout.splitlines()
    assert len(lines) == 5 and lines[:2] == ["child: 6.0", "parent: 6.0"], run.stdout
    assert lines[2].startswith("child refused: EngineUnusableError The jax engine cannot run in this process: "
                               "it was forked"), lines[2]
    assert "asked for: 'arange'" in lines[2] and "multiprocessing_context='spawn'" in lines[2]
    assert "tf.data pipeline" in lines[2]
    assert lines[3:] == ["child: jax", "parent: 6.0"]
