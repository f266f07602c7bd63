"""Fuzzing the file formats polykeras reads (archives, Keras files, HDF5
weights, JSON and YAML architectures): see ``_fuzz_worker.py``. Each engine's
run is a child process with a bounded address space; the quick profile runs
25 corrupted files per format, ``HYPOTHESIS_PROFILE=full`` 500."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

WORKER = Path(__file__).with_name("_fuzz_worker.py")
EXAMPLES = {"quick": 25, "full": 500}
FORMATS = ["pkeras", "keras", "weights", "json", "yaml"]


def test_corrupt_files_end_in_polykeras_errors(engine, tmp_path):
    examples = EXAMPLES[os.environ.get("HYPOTHESIS_PROFILE") or "quick"]
    env = {**os.environ, "POLYKERAS_BACKEND": engine.name, "TF_CPP_MIN_LOG_LEVEL": "3", "JAX_PLATFORMS": "cpu",
           "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, str(WORKER), str(tmp_path), str(examples)], env=env,
                          capture_output=True, text=True, timeout=60 + 10 * examples)
    assert done.returncode == 0, f"a corrupt file escaped on {engine.name}:\n{done.stdout[-3000:]}\n" \
                                 f"{done.stderr[-6000:]}"
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    assert counts == {kind: examples for kind in FORMATS}
    assert list(tmp_path.iterdir()) == []
