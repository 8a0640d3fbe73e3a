"""The load tests (slow tier).

``test_the_queue_takes_its_bound_and_refuses_the_excess``: the queue bound, checked deterministically in this
process: Gradio's one slot (``max_threads=1``) is held by an event that waits until the test releases it, so every
Generate Gradio accepts provably waits in the queue; 3× the bound arrive one after another, the first ``bound``
are queued and the rest refused (503), none reaching the service; released, each queued one makes its task.

``python -m bench.load`` as its own process: users at once submitting and following their task on
``python app.py`` against the simulator process, then 3× a small queue bound pressing Generate while every Gradio
slot is taken; the assertions are on the counts it writes (``--json``). Its queue-bound half depends on the
machine's speed (whether the slots are all still taken when the crowd arrives), so both variants are ``soak``:
``python3 -m pytest -m soak``, the light one 8 users and a queue bound of 3, the full one 50 users.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import gradio as gr
import httpx
import pytest

import app
from tests.support.apps import CANARY, launched
from tests.support.report import Reliability
from vidu_ui.settings import Settings
from vidu_ui.simulator import Simulator
from vidu_ui.studio import FORM_FIELDS, StudioBlocks
from vidu_ui.studio.form import SAMPLE_VALUES

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
@pytest.mark.soak
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


BOUND = 3
"""The queue bound of the deterministic test: 3× this many Generates arrive."""


class Held:
    """An event that holds Gradio's one slot until released (async: it takes none of Gradio's worker threads)."""

    def __init__(self) -> None:
        self.holding = threading.Event()
        self.released = threading.Event()

    async def hold(self) -> str:
        self.holding.set()
        await asyncio.get_running_loop().run_in_executor(None, self.released.wait, 120.0)
        return "released"


def generate_data(url: str, frames: dict[str, Path], prompt: str) -> list[Any]:
    """Generate's values in the order of its inputs, the two frames uploaded (the API's ``data`` list; with the
    server's key the key is no input of the API)."""
    with open(frames["small_start"], "rb") as start, open(frames["small_end"], "rb") as end:
        uploaded = httpx.post(f"{url}/gradio_api/upload", files=[("files", start), ("files", end)], timeout=60)
    uploaded.raise_for_status()
    files = [{"path": path, "meta": {"_type": "gradio.FileData"}} for path in uploaded.json()]
    values = {**SAMPLE_VALUES, "start_image": files[0], "end_image": files[1], "prompt": prompt}
    return [values[name] for name in FORM_FIELDS if name != "api_key"]


def task_id_of(url: str, event_id: str) -> str:
    """The task id a queued Generate ends with, read from its event stream."""
    with httpx.stream("GET", f"{url}/gradio_api/call/generate/{event_id}", timeout=120) as stream:
        text = "".join(stream.iter_text())
    blocks = [block for block in text.split("\n\n") if block.startswith("event: complete")]
    assert blocks, text[-500:]
    data = json.loads(blocks[-1].split("data:", 1)[1])
    return str(data[0])


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_queue_takes_its_bound_and_refuses_the_excess(tmp_path: Path, frames: dict[str, Path]) -> None:
    held = Held()
    with Simulator(CANARY, queue_seconds=0.1, process_seconds=0.2) as sim:
        base = Settings.build(data_dir=tmp_path / "data")

        def build(port: int) -> StudioBlocks:
            settings = app.demo_settings(base, sim, CANARY, public_url=app.own_url("127.0.0.1", port))
            page = app.build_app(settings, demo=True, max_queue=BOUND)
            with page:
                gr.Button(visible=False).click(held.hold, None, gr.Textbox(visible=False), api_name="hold")
            return page

        with launched(build, gradio={"max_threads": 1}) as (_, url):
            url = url.rstrip("/")
            holder = httpx.post(f"{url}/gradio_api/call/hold", json={"data": []}, timeout=60)
            assert holder.status_code == 200
            assert held.holding.wait(120), "the holding event never started"
            try:
                answers = []
                for n in range(3 * BOUND):  # one after another: each is queued or refused before the next
                    data = generate_data(url, frames, f"user {n}")
                    answers.append(httpx.post(f"{url}/gradio_api/call/generate", json={"data": data}, timeout=60))
                statuses = [answer.status_code for answer in answers]
                assert statuses == [200] * BOUND + [503] * (2 * BOUND)  # the queue took its bound, no more
                assert all("queue" in answer.text.lower() for answer in answers[BOUND:])
                assert [r for r in sim.requests if r.call == "create"] == []  # nothing ran while the slot was held
            finally:
                held.released.set()
            task_ids = [task_id_of(url, answer.json()["event_id"]) for answer in answers[:BOUND]]
            assert all(task_id.isdigit() for task_id in task_ids) and len(set(task_ids)) == BOUND
            creates = [r for r in sim.requests if r.call == "create"]
            assert len(creates) == BOUND  # a refused Generate never reached the service
