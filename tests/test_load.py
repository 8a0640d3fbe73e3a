"""The load test (slow tier): ``python -m bench.load`` as its own process, users at once submitting and following
their task on ``python app.py`` against the simulator process, then 3× a small queue bound pressing Generate while
every Gradio slot is taken; the assertions are on the counts it writes (``--json``).

``-m slow`` runs the light variant (8 users, a queue bound of 3); the full one (50 users) is also ``soak``:
``python3 -m pytest -m soak``. Neither is in the default run. The one bound on time here is generous and is about
"refused at once, not left to wait": a loaded machine makes the run slower, never wrong.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.report import Reliability

ROOT = Path(__file__).resolve().parent.parent
BUSY = "Queue is full"
"""What a refused request says: ``gradio_client``'s ``QueueError`` for the server's HTTP 503 "queue_full"."""
REFUSED_AT_ONCE = 30.0
"""Seconds a refusal may take at most: the queue is full, so the answer must not wait for a slot (seconds)."""


def run_load(tmp_path: Path, *flags: str, timeout: float) -> tuple[dict[str, Any], str]:
    counts, section = tmp_path / "load.json", tmp_path / "load.md"
    done = subprocess.run(
        [sys.executable, "-m", "bench.load", *flags, "--json", str(counts), "--markdown", str(section)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0 and counts.exists(), done.stderr[-4000:]
    found: dict[str, Any] = json.loads(counts.read_text())
    return found, section.read_text(encoding="utf-8")


def check(found: dict[str, Any]) -> None:
    users, bound = found["plan"]["users"], found["plan"]["queue_bound"]
    load, busy = found["load"], found["busy"]
    assert load["errors"] == []
    assert load["completed"] == load["users"] == users  # every task followed until its video was saved and served
    assert load["duplicates"] == 0
    assert load["creates"] == load["tasks_made"] == users  # one create per click, as the log shows
    assert busy["users"] == 3 * bound
    assert busy["timeouts"] == 0 and busy["other_errors"] == []
    assert bound <= busy["accepted"] < busy["users"]  # the queue took its bound, the excess was refused
    assert busy["refused"] == busy["users"] - busy["accepted"]
    assert BUSY in busy["busy_text"]
    assert busy["slowest_refusal"] < REFUSED_AT_ONCE
    assert busy["creates"] == busy["accepted"]  # a refused request never reaches the service
    assert busy["holders_completed"] == busy["holders"]  # the pages holding the slots saw their video


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_light_load_and_queue_bound(tmp_path: Path, reliability: Reliability) -> None:
    found, section = run_load(tmp_path, "--light", timeout=840)
    reliability.load = section
    check(found)


@pytest.mark.slow
@pytest.mark.soak
@pytest.mark.timeout(1800)
def test_full_load_and_queue_bound(tmp_path: Path, reliability: Reliability) -> None:
    found, section = run_load(tmp_path, timeout=1740)
    reliability.load = section
    check(found)
