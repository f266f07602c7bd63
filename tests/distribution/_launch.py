"""Start worker processes with a hard deadline: every process is SIGKILLed
(its whole process group) when the deadline passes, since TF/torch workers
waiting for peers may ignore SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

WORKERS = Path(__file__).parent / "workers"
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A port nobody listens on now (bind port 0, read it, release it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"OMP_NUM_THREADS": "1", "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)})
    env.update(extra)
    return env


def run_workers(script: str, envs: list[dict[str, str]], args: list[str] = (), deadline: float = 120.0
                ) -> list[tuple[int, str, str]]:
    """Run ``workers/<script>`` once per env; returns ``(returncode, stdout, stderr)``
    each. Processes still alive at ``deadline`` seconds are killed (rc -9)."""
    procs = [subprocess.Popen([sys.executable, str(WORKERS / script), *args], env=_env(env), cwd=str(ROOT),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
             for env in envs]
    end = time.monotonic() + deadline
    results = []
    try:
        for proc in procs:
            try:
                out, err = proc.communicate(timeout=max(0.1, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                _kill(proc)
                out, err = proc.communicate()
            results.append((proc.returncode, out, err))
    finally:
        for proc in procs:
            _kill(proc)
    return results


def run_ok(script: str, envs: list[dict[str, str]], args: list[str] = (), deadline: float = 120.0,
           what: str = "worker") -> list[tuple[dict, str]]:
    """:func:`run_workers`, requiring every process to succeed (the failure
    shows every failed process's stderr); returns ``(result JSON, stdout)``
    per process."""
    runs = run_workers(script, envs, args, deadline)
    failed = [f"process {i} (rc {rc}):\n{err[-3000:]}" for i, (rc, _, err) in enumerate(runs) if rc != 0]
    assert not failed, f"{what} {script} failed:\n" + "\n".join(failed)
    return [(last_json(out), out) for _, out, _ in runs]


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def last_json(stdout: str) -> dict:
    """The worker's result: its last stdout line, JSON."""
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    assert lines, f"worker printed no JSON result; stdout:\n{stdout}"
    return json.loads(lines[-1])
