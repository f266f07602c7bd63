"""The conformance runner: every check on every chosen engine, printed as a
matrix (rows: checks grouped by family; columns: engines; cells: pass/fail and
the largest error), a summary line per family, optional Markdown or JSON
report; exit status 1 on any failure.

Example:
    $ polykeras-conformance --backends torch,jax --profile quick --only ops,layers
    $ python -m conformance --profile full --report report.md
"""

from __future__ import annotations

import argparse
import dataclasses
import fnmatch
import json
import logging
import os
import platform
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

from conformance.checks.base import FAMILIES, PROFILES, Result

__all__ = ["Summary", "main", "parse_args", "render_markdown", "run", "summarize"]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line. Example: ``parse_args(["--only", "ops", "--backends", "numpy"])``"""
    parser = argparse.ArgumentParser(
        prog="polykeras-conformance",
        description="Check that polykeras engines agree: ops, layers, models, optimizers, losses and saving.")
    parser.add_argument("--backends", default=None,
                        help="comma-separated engine names (default: every installed engine)")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="quick",
                        help="quick: few small examples (CI); full: many, larger ones (default: quick)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every draw (default: 0)")
    parser.add_argument("--report", default=None,
                        help="also write the results to report.md and/or report.json (comma-separated)")
    parser.add_argument("--only", default=None, help=f"comma-separated families among {', '.join(FAMILIES)}")
    parser.add_argument("--select", default=None,
                        help="comma-separated shell patterns on check names, e.g. 'conv*,Dense,mlp'")
    parser.add_argument("--plain", action="store_true", help="plain text even in a terminal")
    return parser.parse_args(argv)


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()] if text else []


def _quiet_frameworks() -> None:
    """Hide framework start-up chatter (set before any engine is imported)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)


@dataclasses.dataclass
class Summary:
    """Counts and the largest error of one family."""

    family: str
    checks: int = 0
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    largest: float | None = None
    where: str = ""

    def line(self) -> str:
        """One summary line.

        Example: ``ops: 255 checks, 1020 pass, 0 fail, 0 skip; largest error 1e-06 (exp on jax); 40.1 s``"""
        largest = ("no numeric comparison" if self.largest is None
                   else f"largest error {self.largest:.3g} ({self.where})")
        return (f"{self.family}: {self.checks} checks, {self.passed} pass, {self.failed} fail, {self.skipped} skip; "
                f"{largest}; {self.seconds:.1f} s")


def summarize(results: Sequence[Result]) -> dict[str, Summary]:
    """One :class:`Summary` per family present, in family order."""
    out: dict[str, Summary] = {}
    seen: dict[str, set[str]] = {}
    for r in results:
        s = out.setdefault(r.family, Summary(r.family))
        seen.setdefault(r.family, set()).add(r.name)
        s.passed += r.status == "pass"
        s.failed += r.status == "fail"
        s.skipped += r.status == "skip"
        s.seconds += r.seconds
        if r.error is not None and r.status == "pass" and (s.largest is None or r.error > s.largest):
            s.largest, s.where = r.error, f"{r.name} on {r.engine}"
    for family, s in out.items():
        s.checks = len(seen[family])
    return {f: out[f] for f in FAMILIES if f in out}


def _cell(r: Result | None) -> str:
    if r is None:
        return "-"
    if r.status == "skip":
        return "skip"
    error = "" if r.error is None else f" {r.error:.1e}"
    return ("ok" if r.passed else "FAIL") + error


def _matrix(results: Sequence[Result], engines: Sequence[str]) -> dict[str, list[tuple[str, list[Result | None]]]]:
    """family -> [(check name, one result per engine)]."""
    by_key = {(r.family, r.name, r.engine): r for r in results}
    rows: dict[str, list[tuple[str, list[Result | None]]]] = {}
    for r in results:
        family_rows = rows.setdefault(r.family, [])
        if not family_rows or family_rows[-1][0] != r.name:
            if all(name != r.name for name, _ in family_rows):
                family_rows.append((r.name, [by_key.get((r.family, r.name, e)) for e in engines]))
    return rows


def print_plain(results: Sequence[Result], engines: Sequence[str], out: TextIO) -> None:
    """The matrix as aligned plain text."""
    width = max([len(r.name) for r in results] + [5]) + 2
    for family, rows in _matrix(results, engines).items():
        out.write(f"\n== {family} ==\n")
        out.write("check".ljust(width) + "".join(e.ljust(16) for e in engines) + "\n")
        for name, cells in rows:
            out.write(name.ljust(width) + "".join(_cell(c).ljust(16) for c in cells) + "\n")


def print_rich(results: Sequence[Result], engines: Sequence[str], out: TextIO) -> None:
    """The matrix as rich tables (one per family), coloured."""
    from rich.console import Console
    from rich.table import Table

    console = Console(file=out)
    for family, rows in _matrix(results, engines).items():
        table = Table(title=family, title_justify="left", show_lines=False)
        table.add_column("check", style="bold")
        for engine in engines:
            table.add_column(engine, justify="right")
        for name, cells in rows:
            styled = []
            for c in cells:
                text = _cell(c)
                colour = "dim" if c is None or c.status == "skip" else ("green" if c.passed else "bold red")
                styled.append(f"[{colour}]{text}[/]")
            table.add_row(name, *styled)
        console.print(table)


def _failures(results: Sequence[Result]) -> list[Result]:
    return [r for r in results if r.status == "fail"]


def render_markdown(results: Sequence[Result], engines: Sequence[str], meta: dict[str, Any]) -> str:
    """A Markdown report: how it ran, the summary per family, the matrix and the failures."""
    lines = ["# polykeras conformance report", ""]
    lines += [f"- {key}: {value}" for key, value in meta.items()]
    lines += ["", "## Summary", "", "| family | checks | pass | fail | skip | largest error | where | seconds |",
              "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for s in summarize(results).values():
        largest = "-" if s.largest is None else f"{s.largest:.3g}"
        lines.append(f"| {s.family} | {s.checks} | {s.passed} | {s.failed} | {s.skipped} | {largest} | {s.where} | "
                     f"{s.seconds:.1f} |")
    for family, rows in _matrix(results, engines).items():
        lines += ["", f"## {family}", "", "| check | " + " | ".join(engines) + " |",
                  "| --- |" + " --- |" * len(engines)]
        lines += [f"| {name} | " + " | ".join(_cell(c) for c in cells) + " |" for name, cells in rows]
    failures = _failures(results)
    lines += ["", "## Failures", ""]
    lines += [f"- **{r.name}** ({r.family}) on **{r.engine}**: {r.message}".replace("\n", " ") for r in failures] \
        or ["None."]
    notes = [r for r in results if r.message and r.status != "fail"]
    if notes:
        lines += ["", "## Notes (skips and partial checks)", ""]
        lines += [f"- {r.name} on {r.engine} ({r.status}): {r.message}" for r in notes]
    return "\n".join(lines) + "\n"


def _write_report(path: str, results: Sequence[Result], engines: Sequence[str], meta: dict[str, Any]) -> None:
    if path.endswith(".json"):
        data = {"meta": meta, "summary": [dataclasses.asdict(s) for s in summarize(results).values()],
                "results": [r.to_dict() for r in results]}
        text = json.dumps(data, indent=1, default=float)
    elif path.endswith(".md"):
        text = render_markdown(results, engines, meta)
    else:
        raise ValueError(f"--report: expected a path ending in .md or .json, received {path!r}.")
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def _engines(chosen: list[str]) -> list[str]:
    import polykeras.backends as B

    known = B.names()
    unknown = [e for e in chosen if e not in known]
    if unknown:
        raise SystemExit(f"polykeras-conformance: unknown engine(s) {', '.join(unknown)}; known: {', '.join(known)}.")
    missing = [e for e in chosen if e not in B.installed()]
    if missing:
        raise SystemExit(f"polykeras-conformance: engine(s) {', '.join(missing)} not installed; "
                         f"installed: {', '.join(B.installed())}.")
    return chosen or B.installed()


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Run the checks ``args`` select and print the matrix to ``out``
    (default: standard output); the exit status."""
    out = out or sys.stdout
    _quiet_frameworks()
    import polykeras.backends as B
    from conformance.checks import collect, run_checks

    families = _split(args.only) or list(FAMILIES)
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        raise SystemExit(f"polykeras-conformance: unknown famil(ies) {', '.join(unknown)}; "
                         f"expected {', '.join(FAMILIES)}.")
    engines = _engines(_split(args.backends))
    checks = collect(families, engines)
    patterns = _split(args.select)
    if patterns:
        checks = [c for c in checks if any(fnmatch.fnmatchcase(c.name, p) for p in patterns)]
    profile = PROFILES[args.profile]
    fancy = out.isatty() and not args.plain
    start = time.perf_counter()
    total = len(checks) * len(engines)
    done = [0]

    def progress(result: Result) -> None:
        done[0] += 1
        if fancy:
            out.write(f"\r{done[0]}/{total} {result.family}: {result.name} on {result.engine}".ljust(80)[:100])
            out.flush()

    results = run_checks(checks, engines, profile, args.seed, on_result=progress)
    elapsed = time.perf_counter() - start
    if fancy:
        out.write("\r" + " " * 100 + "\r")
        print_rich(results, engines, out)
    else:
        print_plain(results, engines, out)
    out.write("\n")
    for summary in summarize(results).values():
        out.write(summary.line() + "\n")
    failures = _failures(results)
    for r in failures:
        out.write(f"FAIL {r.name} ({r.family}) on {r.engine}: {r.message}\n")
    out.write(f"{len(results)} results, {len(failures)} failures, profile {profile.name}, seed {args.seed}, "
              f"{elapsed:.1f} s\n")
    for path in _split(args.report):
        meta = {"profile": profile.name, "seed": args.seed, "engines": ", ".join(
            f"{e} ({B.get(e).version()})" for e in engines), "families": ", ".join(families),
            "runtime": f"{elapsed:.1f} s", "python": platform.python_version(), "machine": platform.machine()}
        _write_report(path, results, engines, meta)
        out.write(f"report written to {path}\n")
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    """The ``polykeras-conformance`` entry point. Example: ``main(["--only", "ops", "--backends", "numpy"])``"""
    return run(parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
