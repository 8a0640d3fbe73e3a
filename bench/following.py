"""Following many tasks at once: 1,000 tasks, a service answering each query in 0.3 s, on real time.

One ``vidu_ui.follower.Follower`` (as one app process or ``python -m vidu_ui worker`` runs it: default settings,
``heap.settle`` once it is built) on a SQLite history whose rows say every task is due now. The service is
``bench.slow_service`` in its own process on 127.0.0.1, which waits 0.3 s before answering "processing" (the tasks
outlast the run) and counts the connections that carried queries. Each query's due time is rebuilt from the poll
policy: the first at the start, each next one the policy's wait after the previous answer; a query is on time when
it reaches the service within ``TOLERANCE`` of being due.
Also counted: the threads the process gained, and the clients (each one connection pool) built.
"""

from __future__ import annotations

import sys
import threading
import time
from itertools import islice

import httpx

from vidu_ui import tracking
from vidu_ui.client import AsyncViduClient
from vidu_ui.follower import QUERIES, Follower, KeyOwner, default_async_client_factory
from vidu_ui.heap import settle
from vidu_ui.settings import Settings
from vidu_ui.store import Store, tasks

from .procs import KEY, Service, clean_env, free_port
from .results import Context, Row

ANSWER_SECONDS = 0.3
TOLERANCE = 1.0
"""How late a query may reach the service and still count as on time."""
MAX_THREADS = 16


def _ids(count: int) -> list[str]:
    return [str(700_000_000_000_000_000 + i) for i in range(count)]


def run(ctx: Context) -> list[Row]:
    count, window = (1000, 40.0) if ctx.profile.name == "full" else (100, 12.0)
    folder = ctx.work / "following"
    port = free_port()
    args = [sys.executable, "-m", "bench.slow_service", str(port), str(ANSWER_SECONDS)]
    service = Service(args, clean_env(), port, ctx.work / "slow_service.log")
    service.ready_path = "/health"
    with service:
        settings = Settings.build(api_key=KEY, base_url=service.url, data_dir=folder)
        build = default_async_client_factory(settings, QUERIES)
        clients = 0
        clients_lock = threading.Lock()

        def async_client_factory(owner: KeyOwner) -> AsyncViduClient:
            nonlocal clients
            with clients_lock:
                clients += 1
            return build(owner)

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
        follower = Follower(settings, store, async_client_factory=async_client_factory, keep_videos=False)
        settle()  # as the worker and the page do once started
        started = time.monotonic()
        follower.start()
        try:
            while time.monotonic() - started < window:
                most = max(most, threading.active_count())
                time.sleep(0.05)
        finally:
            follower.stop(wait=True)
            store.close()
        stats = httpx.get(service.url + "/_stats", timeout=30.0).json()
    arrivals: dict[str, list[list[float]]] = stats["arrivals"]
    connections: int = stats["connections"]
    end = started + window
    waits = list(islice(tracking.intervals(settings), 64))
    scheduled = on_time = 0
    worst = 0.0
    for task_id in ids:
        due = started
        queries = arrivals.get(task_id, [])
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
    bounded = threads <= MAX_THREADS and clients <= 1 and connections <= follower.queries
    made = sum(len(q) for q in arrivals.values())
    return [
        Row(
            case="following tasks",  # one name at every size: its note (and accepted miss) is found by it
            measured=f"{on_time:,} of {scheduled:,} on time; {threads} threads, {clients:,} clients, "
            f"{connections:,} connections",
            floor="—",
            ratio=scheduled / max(1, on_time),
            target=1.0,
            target_text=f"every query on time (≤ {TOLERANCE:g} s late); ≤ {MAX_THREADS} threads; one client per key",
            checks_ok=bounded,
            detail=f"one `Follower` (default settings: up to {follower.queries:,} queries in flight on one event "
            f"loop) on a SQLite history of {count:,} tasks all due at the start, for {window:g} s of real time, "
            f"a service in another process (`bench/slow_service.py`, asyncio) answering each query "
            f"{ANSWER_SECONDS:g} s late; {made:,} queries made, {scheduled:,} were due within the run (a query's "
            f"due time: the poll policy's wait after the previous answer), {on_time:,} reached the service within "
            f"{TOLERANCE:g} s of it, the latest {worst:.2f} s late; the process gained {threads} threads; "
            f"{clients:,} clients (each one connection pool) were built for one key, and {connections:,} "
            "connections carried queries; the ratio is due ÷ on time",
        )
    ]
