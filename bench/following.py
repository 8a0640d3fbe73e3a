"""Following many tasks at once: 1,000 tasks, a service answering each query in 0.3 s, on real time.

One ``vidu_ui.follower.Follower`` (as one app process runs it) on a SQLite history whose rows say every task is
due now. The service is an ``httpx.MockTransport`` that waits 0.3 s before answering "processing" (the
tasks outlast the run). Each query's due time is rebuilt from the poll policy: the first at the start, each
next one the policy's wait after the previous answer; a query is on time when it starts within ``TOLERANCE`` of
being due. Also counted: the threads the process gained, and the clients (each one connection pool) built.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from itertools import islice

import httpx

from vidu_ui import tracking
from vidu_ui.client import ViduClient
from vidu_ui.follower import Follower, KeyOwner
from vidu_ui.settings import Settings
from vidu_ui.store import Store, tasks

from .procs import KEY
from .results import Context, Row

ANSWER_SECONDS = 0.3
TOLERANCE = 1.0
"""How late a query may start and still count as on time (the follower looks at the store every second)."""
MAX_THREADS = 16


class SlowService:
    """Answers every query ``ANSWER_SECONDS`` late; notes when each query arrived and when its answer left."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.arrivals: dict[str, list[tuple[float, float]]] = defaultdict(list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        arrived = time.monotonic()
        task_id = request.url.path.rstrip("/").rsplit("/", 2)[-2]
        time.sleep(ANSWER_SECONDS)
        with self.lock:
            self.arrivals[task_id].append((arrived, time.monotonic()))
        return httpx.Response(200, json={"id": task_id, "state": "processing", "creations": []})


def _ids(count: int) -> list[str]:
    return [str(700_000_000_000_000_000 + i) for i in range(count)]


def run(ctx: Context) -> list[Row]:
    count, window = (1000, 40.0) if ctx.profile.name == "full" else (100, 12.0)
    folder = ctx.work / "following"
    settings = Settings.build(api_key=KEY, base_url="https://vidu.test", data_dir=folder)
    service = SlowService()
    transport = httpx.MockTransport(service.handle)
    clients = 0
    clients_lock = threading.Lock()

    def client_factory(owner: KeyOwner) -> ViduClient:
        nonlocal clients
        with clients_lock:
            clients += 1
        return ViduClient(settings, transport=transport)

    store = Store.open(settings)
    ids = _ids(count)
    now = time.time()
    rows = [
        {
            "ref": f"task:{task_id}",
            "task_id": task_id,
            "created_at": now,
            "prompt": "following",
            "state": "created",
            "updated_at": now,
            "follow_at": 0.0,
        }
        for task_id in ids
    ]
    with store.write() as conn:
        conn.execute(tasks.insert(), rows)
    before = threading.active_count()
    most = before
    follower = Follower(settings, store, client_factory=client_factory, keep_videos=False)
    started = time.monotonic()
    follower.start()
    try:
        while time.monotonic() - started < window:
            most = max(most, threading.active_count())
            time.sleep(0.05)
    finally:
        follower.stop(wait=True)
        store.close()
    end = started + window
    waits = list(islice(tracking.intervals(settings), 64))
    scheduled = on_time = 0
    worst = 0.0
    for task_id in ids:
        due = started
        queries = service.arrivals.get(task_id, [])
        for n in range(len(queries) + 1):
            if due > end - TOLERANCE:
                break
            scheduled += 1
            if n == len(queries):  # due, never made within the run
                worst = max(worst, end - due)
                break
            arrived, answered = queries[n]
            late = arrived - due
            worst = max(worst, late)
            on_time += late <= TOLERANCE
            due = answered + waits[min(n, len(waits) - 1)]
    threads = most - before
    bounded = threads <= MAX_THREADS and clients <= 1
    made = sum(len(q) for q in service.arrivals.values())
    return [
        Row(
            case="following tasks",  # one name at every size: its note (and accepted miss) is found by it
            measured=f"{on_time:,} of {scheduled:,} on time; {threads} threads, {clients:,} clients",
            floor="—",
            ratio=scheduled / max(1, on_time),
            target=1.0,
            target_text=f"every query on time (≤ {TOLERANCE:g} s late); ≤ {MAX_THREADS} threads; one client per key",
            checks_ok=bounded,
            detail=f"one `Follower` (default settings: {follower._workers} query workers) on a SQLite history of "
            f"{count:,} tasks all due at the start, for {window:g} s of real time, the service answering each "
            f"query {ANSWER_SECONDS:g} s late (`httpx.MockTransport`); {made:,} queries made, {scheduled:,} "
            f"were due within the run (a query's due time: the poll policy's wait after the previous answer), "
            f"{on_time:,} started within {TOLERANCE:g} s of it, the latest {worst:.1f} s late; the process "
            f"gained {threads} threads; {clients:,} clients (each its own connection pool) were built for one key; "
            "the ratio is due ÷ on time",
        )
    ]
