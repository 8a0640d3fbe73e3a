"""The console lines and ``docs/benchmarks.md``: machine, versions, date, the table, then the notes."""

from __future__ import annotations

import os
import platform
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version

from .notes import MEASURED_ELSEWHERE, NOTES
from .results import Profile, Row

LIBRARIES = ("gradio", "gradio_client", "pillow", "httpx", "av", "orjson")


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _met(row: Row) -> str:
    return "yes" if row.met else "**no**"


def console_line(row: Row) -> str:
    return (
        f"   {row.case}: {row.measured} vs floor {row.floor} → {row.ratio:.2f} (target {row.target_text}) "
        f"{'met' if row.met else 'MISSED'}"
    )


def console_table(rows: list[Row]) -> str:
    width = max([len(row.case) for row in rows] + [4])
    lines = [f"{'case':<{width}}  {'measured':>12}  {'floor':>12}  {'ratio':>6}  {'target':<22}  met"]
    for row in rows:
        lines.append(
            f"{row.case:<{width}}  {row.measured:>12}  {row.floor:>12}  {row.ratio:>6.2f}  "
            f"{row.target_text:<22}  {'yes' if row.met else 'NO'}"
        )
    return "\n".join(lines)


def markdown(
    rows: list[Row],
    profile: Profile,
    elapsed: float,
    load: tuple[float, float, float],
    started: datetime | None = None,
    load_at_end: float | None = None,
) -> str:
    """The report. ``started`` and ``load_at_end``: when the run began and the load average when it ended (now,
    if not given: the report written as the run ends)."""
    now = (started or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
    end_load = os.getloadavg()[0] if load_at_end is None else load_at_end
    libraries = ", ".join(f"{name} {_version(name)}" for name in LIBRARIES)
    lines = [
        "# Benchmarks",
        "",
        "<!-- Written by `python -m bench`; do not edit by hand: notes live in `bench/notes.py`. -->",
        "",
        f"Run `python -m bench` ({profile.name} variant: {profile.runs} timed rounds per case after a warm-up, "
        f"{profile.cold_runs} for cold start, {profile.crowd_runs} for concurrency; {elapsed:.0f} s) on {now}.",
        "",
        f"- Machine: {os.cpu_count()} CPUs, {platform.machine()}, {platform.system()} {platform.release()}; "
        f"load average {load[0]:.1f} at the start, {end_load:.1f} at the end (a shared machine)",
        f"- Python {platform.python_version()} ({platform.python_implementation()})",
        f"- Libraries: {libraries}",
        "",
        "Every time is the median of the runs. The floor is measured in the same run, each round running the "
        "floor and the measured work back to back (the order swapping every round); the ratio is the median of "
        "the rounds' measured ÷ floor, unless the target says otherwise. CI runs "
        "`python -m bench --quick` (smaller images, fewer runs and clients: `tests/test_bench.py`, the `bench` tier, "
        "after the behaviour tests) and reports each row's ratio against its limit: 1.5× its target, or, for a "
        "known miss (`accepted` in `bench/notes.py`), 1.5× the ratio accepted until its fix lands. As timing on a "
        "shared machine is noisy, that tier fails only on a gross regression: a ratio past 3× its limit.",
        "",
        "| case | measured (median) | floor (median) | ratio | target | met? |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row.case} | {row.measured} | {row.floor} | {row.ratio:.2f} | {row.target_text} | {_met(row)} |"
        )
    lines += ["", "## What each row measures, and notes", ""]
    for row in rows:
        lines.append(f"**{row.case}.** {row.detail}")
        note = NOTES.get(row.case)
        if note is not None:
            lines += ["", f"*Note:* {note.text}"]
        lines.append("")
    lines.append(MEASURED_ELSEWHERE)
    return "\n".join(lines).rstrip() + "\n"
