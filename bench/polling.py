"""Polling: how many queries following a 5-minute task costs, and how late its end is noticed.

On a fake clock with the project's own code (``tracking.follow``, ``Tracker``, ``ViduClient`` on an
``httpx.MockTransport``): polling alone with the default settings; with the service's callbacks (each one makes
the tracker query once, as ``CallbackReceiver`` does); and with callbacks and the longer poll interval proposed
for when callbacks are on. Then the real callback path, on real time: the simulator process signs and sends
its callbacks to ``vidu_ui.callbacks``' receiver, which has the tracker query the task.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvicorn
from fastapi import FastAPI

from vidu_ui import tracking
from vidu_ui.callbacks import CallbackReceiver, callback_url_for, mount_callback_route
from vidu_ui.client import AsyncViduClient, ViduClient
from vidu_ui.settings import Settings
from vidu_ui.store import Store
from vidu_ui.tracker import Tracker

from .images import photo, write_jpeg
from .procs import KEY
from .results import Context, Row
from .submitting import OPTIONS, data_uri

TASK_SECONDS = 300.0
MAX_QUERIES = 15
MAX_NOTICE = 30.0
STARTS_AT = 1.0  # the task leaves the queue (the "processing" callback) one second in
TASK_ID = "900000000000000001"


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


@dataclass
class Outcome:
    queries: int
    noticed: float  # seconds after the task ended

    @property
    def ratio(self) -> float:
        return max(self.queries / MAX_QUERIES, self.noticed / MAX_NOTICE)

    def text(self) -> str:
        return f"{self.queries} queries, noticed {self.noticed:.1f} s late"


class FakeService:
    """Answers the query call from the fake clock: processing until ``TASK_SECONDS``, then success."""

    def __init__(self, time_: FakeTime) -> None:
        self.time = time_
        self.queries = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.queries += 1
        done = self.time.now >= TASK_SECONDS
        creations = [{"id": "c1", "url": "https://cdn.test/v.mp4", "cover_url": "https://cdn.test/v.jpg"}]
        body = {"id": TASK_ID, "state": "success" if done else "processing", "creations": creations if done else []}
        return httpx.Response(200, json=body)

    def client(self, settings: Settings) -> ViduClient:
        transport = httpx.MockTransport(self.handle)
        return ViduClient(settings, transport=transport, sleep=self.time.sleep, clock=self.time.clock)

    def async_client(self, settings: Settings) -> AsyncViduClient:
        """The follower's client (queries on its event loop) on the same answers and the same fake clock."""

        async def sleep(seconds: float) -> None:
            self.time.sleep(seconds)

        transport = httpx.MockTransport(self.handle)
        return AsyncViduClient(settings, transport=transport, sleep=sleep, clock=self.time.clock)


def _settings(data_dir: Path, **changes: Any) -> Settings:
    return Settings.build(api_key=KEY, base_url="https://vidu.test", data_dir=data_dir, **changes)


def follow_only(data_dir: Path) -> Outcome:
    """``tracking.follow`` (the CLI's ``--wait``) with the default policy."""
    time_ = FakeTime()
    service = FakeService(time_)
    with service.client(_settings(data_dir)) as client:
        for status in tracking.follow(client, TASK_ID, client.settings, sleep=time_.sleep, clock=time_.clock):
            if status.finished:
                break
    return Outcome(service.queries, time_.now - TASK_SECONDS)


def tracker_run(data_dir: Path, *, callbacks: bool, **changes: Any) -> Outcome:
    """The page's ``Tracker`` on the fake clock; with ``callbacks``, the service's two callbacks (processing at
    ``STARTS_AT``, success at the end) each poke the tracker, as the receiver does once a callback verifies."""
    time_ = FakeTime()
    service = FakeService(time_)
    if callbacks:  # the app's callback receiver is reachable: what makes the service send callbacks at all
        changes.setdefault("public_url", "https://studio.example.com")
    settings = _settings(data_dir, **changes)
    with Store.open(settings) as store:
        store.record_submission(task_id=TASK_ID, body={"model": "viduq1"}, response={"task_id": TASK_ID})
        tracker = Tracker(
            settings,
            store,
            client_factory=lambda owner: service.client(settings),
            async_client_factory=lambda owner: service.async_client(settings),
            clock=time_.clock,
            keep_videos=False,
        )
        pokes = [STARTS_AT, TASK_SECONDS] if callbacks else []
        tracker.track(TASK_ID)
        noticed: float | None = None
        while noticed is None:
            due = tracker.step()
            record = store.get(TASK_ID)
            if record is not None and record.state == "success":
                noticed = time_.now
                break
            if due is None:
                raise RuntimeError("the tracker stopped following an unfinished task")
            if pokes and pokes[0] <= due:
                time_.now = max(time_.now, pokes.pop(0))
                tracker.refresh(TASK_ID, wait=False)
            else:
                time_.now = max(time_.now, due)
    return Outcome(service.queries, noticed - TASK_SECONDS)


# --- the real callback path --------------------------------------------------------------------------------


@contextmanager
def receiver_server() -> Iterator[tuple[FastAPI, str]]:
    """A FastAPI app served by uvicorn on 127.0.0.1, in a thread of this process."""
    app = FastAPI()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        try:
            yield app, f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            thread.join(timeout=5)


@dataclass
class RealPath:
    latency: float  # the success callback's arrival → the success stored
    queries: int  # queries of this task the simulator answered
    callbacks: int


def real_callback(ctx: Context) -> RealPath:
    """One task on the simulator process with the app's callback URL; polling set so slow only callbacks count."""
    start = write_jpeg(ctx.work / "poll-start.jpg", photo(640, 360, 41))
    end = write_jpeg(ctx.work / "poll-end.jpg", photo(640, 360, 42))
    with receiver_server() as (app, base):
        settings = Settings.build(
            api_key=KEY,
            base_url=ctx.simulator.url,
            auth_scheme="Bearer",
            data_dir=ctx.work / "callbacks",
            public_url=base,
            poll_interval=600,
            poll_max_interval=600,
        )
        with Store.open(settings) as store, Tracker(settings, store, keep_videos=False) as tracker:
            receiver = CallbackReceiver(settings, store, tracker)
            arrivals: list[tuple[float, bytes]] = []
            handle = receiver.handle_callback

            def timed(method: str, url: str, headers: Any, body: bytes) -> tuple[int, str]:
                arrivals.append((time.perf_counter(), body))
                return handle(method, url, headers, body)

            receiver.handle_callback = timed  # type: ignore[method-assign]
            mount_callback_route(app, receiver)
            body = {
                "model": OPTIONS.model,
                "images": [data_uri(start), data_uri(end)],
                "prompt": OPTIONS.prompt,
                "callback_url": callback_url_for(settings),
            }
            with ViduClient(settings) as client:
                created = client.create(orjson.dumps(body))
            store.record_submission(task_id=created.task_id, body=body, response=created.raw)
            before = ctx.simulator.requests("query")
            tracker.track(created.task_id)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                record = store.get(created.task_id)
                if record is not None and record.state == "success":
                    stored = time.perf_counter()
                    break
                time.sleep(0.002)
            else:
                raise TimeoutError("the task's success was not stored within 30 s")
            time.sleep(0.2)  # late duplicate deliveries, if any, are counted too
    success = [at for at, raw in arrivals if b'"success"' in raw]
    return RealPath(stored - success[0], ctx.simulator.requests("query") - before, len(arrivals))


def run(ctx: Context) -> list[Row]:
    folder = ctx.work / "polling"
    plain = follow_only(folder / "a")
    hinted = tracker_run(folder / "b", callbacks=True)
    real = real_callback(ctx)
    target = f"≤ {MAX_QUERIES} queries, ≤ {MAX_NOTICE:g} s late"
    defaults = Settings.build()
    return [
        Row(
            case="polling (defaults, no callbacks)",
            measured=plain.text(),
            floor="—",
            ratio=plain.ratio,
            target=1.0,
            target_text=target,
            detail=f"`tracking.follow` (its `PollPolicy`) with the default settings (first wait "
            f"{defaults.poll_interval:g} s, ×{tracking.BACKOFF_FACTOR:g}, at most "
            f"{defaults.poll_ceiling(callbacks=False):g} s) on a fake clock, against a task that succeeds at "
            f"{TASK_SECONDS:g} s; the ratio is the larger of queries ÷ {MAX_QUERIES} and lateness ÷ "
            f"{MAX_NOTICE:g} s",
        ),
        Row(
            case="polling (defaults, with callbacks)",
            measured=hinted.text(),
            floor="—",
            ratio=hinted.ratio,
            target=1.0,
            target_text=target,
            detail="the page's `Tracker` with the default settings and a public URL (so the service's callbacks "
            "reach the app, and polling waits up to 60 s: a safety net) on a fake clock; the two callbacks "
            f"(processing at {STARTS_AT:g} s, success at {TASK_SECONDS:g} s) each make it query once. The real "
            f"path, on real time: the simulator process signed and sent {real.callbacks} callbacks to "
            f"`vidu_ui.callbacks`' receiver (uvicorn in the bench process), the tracker stored the success "
            f"{real.latency * 1000:.0f} ms after the success callback arrived, with {real.queries} queries in all",
        ),
    ]
