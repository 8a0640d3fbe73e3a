"""``python -m bench [--quick] [--out docs/benchmarks.md] [--json results.json] [--only CASE ...]``."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from . import (
    app_cpu,
    checks,
    cold_start,
    concurrency,
    fitting,
    following,
    history,
    memory,
    polling,
    report,
    submitting,
    whole,
)
from .procs import ROOT, SimulatorProcess
from .results import FULL, QUICK, Context, Row

CASES: dict[str, Callable[[Context], list[Row]]] = {
    "checks": checks.run,
    "submit": submitting.run,
    "whole": whole.run,
    "autofit": fitting.run,
    "cold": cold_start.run,
    "app-cpu": app_cpu.run,
    "concurrency": concurrency.run,
    "memory": memory.run,
    "polling": polling.run,
    "following": following.run,
    "history": history.run,
}


def run_case(name: str, ctx: Context) -> list[Row]:
    """The case's rows; a case that breaks gives one failed row saying why, and the others still run."""
    try:
        return CASES[name](ctx)
    except Exception as exc:
        traceback.print_exc()
        why = f"{type(exc).__name__}: {exc}".replace("|", "/").splitlines()[0][:300]
        return [Row(name, "error", "—", float("nan"), 1.0, "—", checks_ok=False, detail=f"the case failed: {why}")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the CI variant: smaller images, fewer runs")
    parser.add_argument(
        "--out",
        type=Path,
        help="write the Markdown report here (default for the full run: "
        "docs/benchmarks.md; the quick run writes none unless asked)",
    )
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    parser.add_argument("--only", nargs="+", choices=sorted(CASES), help="run only these cases")
    args = parser.parse_args(argv)
    profile = QUICK if args.quick else FULL
    out = args.out if args.out is not None or args.quick else ROOT / "docs" / "benchmarks.md"
    names = args.only or list(CASES)
    rows: list[Row] = []
    load = os.getloadavg()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="vidu-bench-") as folder:
        work = Path(folder)
        with SimulatorProcess(work / "simulator.log") as simulator:
            ctx = Context(profile, work, simulator, work)
            for name in names:
                ctx.say(f"-- {name}")
                case_started = time.perf_counter()
                for row in run_case(name, ctx):
                    rows.append(row)
                    ctx.say(report.console_line(row))
                ctx.say(f"   ({time.perf_counter() - case_started:.1f} s)")
    elapsed = time.perf_counter() - started
    print(report.console_table(rows))
    print(f"{profile.name} run: {elapsed:.0f} s")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(report.markdown(rows, profile, elapsed, load), encoding="utf-8")
        print(f"wrote {out}")
    if args.json is not None:
        args.json.write_text(json.dumps([row.to_json() for row in rows], indent=2), encoding="utf-8")
    return 0 if all(row.passes_ci for row in rows) or not args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
