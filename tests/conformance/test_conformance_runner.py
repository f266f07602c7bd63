"""The runner: the command line, the matrix and summaries, reports, the exit
status, and the checks' own bookkeeping (results, the meter)."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import numpy as np
import pytest

import conformance.checks as checks_module
from conformance.checks import PROFILES, Check, Context, Meter, Result, Skip, execute
from conformance.runner import main, print_rich, render_markdown, summarize


def _failing(ctx):
    ctx.meter.compare(np.float32([1.0]), np.float64([1.5]), "elementwise", what="deliberate")


def _skipping(ctx):
    raise Skip("not here")


def test_matrix_summary_and_exit_status(capsys):
    code = main(["--backends", "numpy", "--only", "optimizers", "--select", "SGD*", "--plain"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "== optimizers ==" in out and "SGD(momentum, nesterov)" in out
    assert "optimizers: 3 checks, 3 pass, 0 fail, 0 skip" in out


def test_a_failure_exits_non_zero_and_is_reported(monkeypatch, capsys, tmp_path):
    fake = [Check("deliberate", "ops", _failing), Check("elsewhere", "ops", _skipping)]
    monkeypatch.setattr(checks_module, "collect", lambda families, engines=None: fake)
    report = tmp_path / "report.json"
    code = main(["--backends", "numpy", "--only", "ops", "--report", str(report)])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL deliberate (ops) on numpy" in out and "ops: 2 checks, 0 pass, 1 fail, 1 skip" in out
    data = json.loads(report.read_text())
    assert [r["status"] for r in data["results"]] == ["fail", "skip"]
    assert data["summary"][0]["failed"] == 1 and data["meta"]["profile"] == "quick"


def test_markdown_report(tmp_path, capsys):
    report = tmp_path / "out" / "report.md"
    assert main(["--backends", "numpy", "--only", "losses", "--select", "loss.huber", "--report", str(report)]) == 0
    text = report.read_text()
    assert text.startswith("# polykeras conformance report")
    assert "| losses | 1 | 1 | 0 | 0 |" in text and "| loss.huber | ok" in text and "None." in text


def test_rich_matrix():
    results = [Result("add", "ops", "numpy", True, 0.0, 0.0), Result("add", "ops", "jax", False, 0.5, 9.0, "bad"),
               Result("exp", "ops", "numpy", False, None, None, "skipped", skipped=True)]
    out = io.StringIO()
    print_rich(results, ["numpy", "jax"], out)
    text = out.getvalue()
    assert "add" in text and "FAIL" in text and "skip" in text
    summary = summarize(results)["ops"]
    assert (summary.checks, summary.passed, summary.failed, summary.skipped) == (2, 1, 1, 1)
    assert "## Failures" in render_markdown(results, ["numpy", "jax"], {"profile": "quick"})


def test_bad_arguments_are_refused():
    with pytest.raises(SystemExit, match="unknown famil"):
        main(["--only", "nonsense", "--backends", "numpy"])
    with pytest.raises(SystemExit, match="unknown engine"):
        main(["--backends", "no_such_engine"])


def test_python_dash_m_conformance_runs():
    result = subprocess.run([sys.executable, "-m", "conformance", "--help"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0 and "--profile" in result.stdout


def test_meter_keeps_the_largest_error_and_fails_beyond_tolerance():
    meter = Meter()
    meter.compare(np.float32([1.0, 100.0]), np.float64([1.0, 100.0 + 1e-5]), "elementwise")
    assert meter.error == pytest.approx(1e-7) and meter.ratio <= 1.0
    with pytest.raises(AssertionError, match="beyond the 'elementwise' tolerance"):
        meter.compare(np.float32([2.0]), np.float64([2.1]), "elementwise", what="x")
    assert meter.error == pytest.approx(0.1 / 2.1)


def test_execute_turns_exceptions_into_results():
    def broken(ctx):
        raise KeyError("missing")

    result = execute(Check("broken", "ops", broken), Context("numpy", PROFILES["quick"]))
    assert result.status == "fail" and "KeyError" in result.message
    assert execute(Check("s", "ops", _skipping), Context("numpy", PROFILES["quick"])).status == "skip"
