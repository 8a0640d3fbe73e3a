"""Load: many users at once pressing Generate on ``python app.py`` and following their task to its video; then
three times as many users as a small queue holds, to see the excess refused as "busy" rather than left waiting.

``python -m bench.load`` runs both (50 users; ``--light`` for the CI variant) and prints the figures (the "## Load"
section of ``docs/reliability.md``); ``--json`` also writes the counts. ``tests/test_load.py`` (the slow tier) runs
it as a separate process and asserts on those counts. Traffic goes only to 127.0.0.1; every wait is
bounded in count and time.

The app and the simulator run as processes (``bench.procs``). Each user is a ``gradio_client`` client, built
before the clock starts like an open tab, that calls the page's Generate endpoint (``bench.concurrency``) with a
prompt of its own, then follows the task the way the page does: on Generate's success the page runs its follow
event, which is private to the page (``gradio_client`` cannot call it), so it is joined as the browser joins
it, over Gradio's queue HTTP API in the same session, and streamed until it completes with the video saved; the
video is then fetched once. Duplicate creates are read from the simulator's request log: each click's prompt
must arrive exactly once, and no other.
"""

# ruff: noqa: E402  (the repository root goes on sys.path before the package is imported)

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx
import orjson
from gradio_client import Client
from gradio_client.utils import apply_diff

import app
from bench.concurrency import Users, arguments
from bench.images import photo, write_jpeg
from bench.procs import KEY, AppProcess, Service, SimulatorProcess, clean_env, free_port
from vidu_ui.settings import Settings

PROMPT = "A slow dolly shot from dawn to dusk"
BUSY = "Queue is full"
"""What a refused request says: ``gradio_client``'s ``QueueError`` for the server's HTTP 503 "queue_full"."""
BROWSER_BUSY = "This application is currently busy. Please try again."
"""What Gradio's page shows for the same 503 (its front end's text; the app cannot reword it)."""
GRADIO_SLOTS = 40
"""Gradio's default ``max_threads``: events running at once; only past these does an event wait in the queue."""
MB = 1024 * 1024


@dataclass(frozen=True)
class Plan:
    """The sizes and times of the load run and of the queue-bound run."""

    users: int = 50
    latency: float = 1.0
    """Seconds the simulator waits before answering each create (the create is carried out first)."""
    queue_seconds: float = 1.0
    process_seconds: float = 2.0
    """The simulator's task times (it processes 5 tasks at once per key, as the service does)."""
    queue_bound: int = 4
    """The app's ``max_queue`` in the queue-bound run, where 3× this many users press Generate."""
    hold: float = 600.0
    """Seconds the long task may run at most in the queue-bound run, while pages following it hold every slot:
    it is ended (``/_sim/finish``) once the users past the queue's bound have been refused, so a slow machine
    never frees a slot early, and the queued ones then run."""
    gap: float = 0.25
    """Seconds between two users' arrivals in the queue-bound run."""
    id_timeout: float = 90.0
    """Longest wait for one Generate's task id before it counts as a timeout."""
    follow_timeout: float = 240.0
    """Longest wait for one follow (task finished, video saved and fetched) before it counts as a timeout."""


FULL = Plan()
LIGHT = Plan(
    users=8,
    latency=0.3,
    queue_seconds=0.2,
    process_seconds=0.5,
    queue_bound=3,
    id_timeout=30.0,
    follow_timeout=40.0,
)


# --- one user ----------------------------------------------------------------------------------------------------


@dataclass
class UserRun:
    """What one user saw: the task id and when, whether the follow ended with the video, or what went wrong."""

    prompt: str
    task_id: str | None = None
    to_task_id: float | None = None
    to_video: float | None = None
    video_bytes: int = 0
    error: str | None = None
    timed_out: bool = False
    ended: float = 0.0
    """Seconds from the click to the last outcome (task id, video, refusal or error)."""

    @property
    def completed(self) -> bool:
        return self.error is None and self.video_bytes > 0

    @property
    def refused(self) -> bool:
        return self.error is not None and BUSY in self.error


@dataclass(frozen=True)
class FollowEvent:
    """The page's follow event: its id, and where the status and the video are among its outputs."""

    id: int
    status: int
    video: int


def follow_event(url: str) -> FollowEvent:
    """The page's follow event chained on Generate's success: of those, the one that shows the status."""
    config = httpx.get(f"{url}/config", timeout=30.0).json()
    elem_ids = {c["id"]: c.get("props", {}).get("elem_id") for c in config["components"]}
    generate = [d["id"] for d in config["dependencies"] if d.get("api_name") == "generate"]
    found = [
        d["id"]
        for d in config["dependencies"]
        if d.get("trigger_after") in generate
        and d.get("trigger_only_on_success")
        and "vu-status" in (elem_ids.get(o) for o in d["outputs"])
    ]
    if len(found) != 1:
        raise LookupError(f"expected one follow event after Generate, found {found}")
    (event,) = (d for d in config["dependencies"] if d["id"] == found[0])
    shown = [elem_ids.get(o) for o in event["outputs"]]
    return FollowEvent(found[0], shown.index("vu-status"), shown.index("vu-video"))


def _messages(response: httpx.Response, until: float) -> Iterator[dict[str, Any]]:
    for line in response.iter_lines():
        if time.monotonic() > until:
            raise TimeoutError("the follow did not complete in time")
        if line.startswith("data:"):
            message: dict[str, Any] = orjson.loads(line[5:])
            yield message


class View:
    """The outputs of a follow event as the page shows them: generator outputs after the first arrive as diffs
    against the previous ones, and an output the handler left unchanged (``gr.skip()``) is a bare update."""

    def __init__(self) -> None:
        self.raw: list[Any] | None = None
        self.shown: list[Any] = []

    def take(self, message: dict[str, Any]) -> None:
        data = list((message.get("output") or {}).get("data") or [])
        if message.get("msg") == "process_generating" and self.raw is not None:
            data = [apply_diff(old, diff) for old, diff in zip(self.raw, data, strict=True)]
        if message.get("msg") == "process_generating":
            self.raw = data
        self.shown += [None] * (len(data) - len(self.shown))
        for i, value in enumerate(data):
            if isinstance(value, dict) and value.get("__type__") == "update":
                if "value" in value:
                    self.shown[i] = value["value"]
            else:
                self.shown[i] = value


def follow(
    url: str,
    event: FollowEvent,
    session_hash: str,
    task_id: str,
    timeout: float,
    started: threading.Semaphore | None = None,
) -> int:
    """Run the page's follow event for ``task_id`` to its end, as the browser does; the saved video's size.

    ``started`` is released once the event runs (it holds one of Gradio's slots until it ends). Raises
    ``TimeoutError`` past ``timeout``, ``RuntimeError`` when the event fails or ends without a video.
    """
    until = time.monotonic() + timeout
    limits = httpx.Timeout(min(timeout, 60.0), connect=5.0)
    view = View()
    with httpx.Client(base_url=f"{url}/gradio_api", timeout=limits) as http:
        body = {"data": [task_id, None, None], "fn_index": event.id, "session_hash": session_hash}
        joined = http.post("/queue/join", json={**body, "trigger_id": None, "event_data": None})
        if joined.status_code != 200:
            raise RuntimeError(f"follow refused: HTTP {joined.status_code} {joined.text[:200]}")
        event_id = joined.json()["event_id"]
        with http.stream("GET", "/queue/data", params={"session_hash": session_hash}) as stream:
            for message in _messages(stream, until):
                kind = message.get("msg")
                if kind == "close_stream":
                    break
                if message.get("event_id") != event_id:
                    continue
                if kind == "process_starts" and started is not None:
                    started.release()
                if kind not in ("process_generating", "process_completed"):
                    continue
                if not message.get("success", True):
                    error = (message.get("output") or {}).get("error")
                    raise RuntimeError(f"follow failed: {str(error)[:200]}")
                view.take(message)
                if kind == "process_completed":
                    status, video = view.shown[event.status], view.shown[event.video]
                    if not str(status).startswith("**Succeeded**") or not isinstance(video, dict):
                        raise RuntimeError(f"follow ended without a video: {str(status)[:120]}")
                    return _fetch_video(http, str(video["url"]))
    raise RuntimeError("the follow's stream closed before its event completed")


def _fetch_video(http: httpx.Client, url: str) -> int:
    response = http.get(url)
    response.raise_for_status()
    if response.content[4:8] != b"ftyp":
        raise RuntimeError("the video served is not an MP4")
    return len(response.content)


def generate(users: Users, client: Client, prompt: str, timeout: float) -> str:
    """Press Generate through the API with this prompt; the task id. ``TimeoutError`` past ``timeout``."""
    job = client.submit(**{**arguments(users.start, users.end), "prompt": prompt}, api_name=users.endpoint)
    try:
        result = job.result(timeout=timeout)
    except TimeoutError:
        job.cancel()
        raise
    task_id: str = result[0]
    if not task_id.isdigit():
        raise RuntimeError(f"Generate gave no task id: {result!r}")
    return task_id


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"


@dataclass(frozen=True)
class Crowd:
    """Users of one app, released together; each arrives ``gap × its number`` seconds later."""

    url: str
    users: Users
    plan: Plan
    event: FollowEvent | None = None
    """The follow event; None: the users only press Generate."""
    gap: float = 0.0
    ended: threading.Semaphore | None = None
    """Released as each user's run ends (task id and follow, refusal, timeout or error)."""

    def one(self, index: int, ready: threading.Barrier) -> UserRun:
        client = self.users.clients[index]
        run = UserRun(prompt=f"{PROMPT} (user {index + 1})")
        ready.wait(timeout=60.0)
        time.sleep(index * self.gap)
        started = time.monotonic()
        try:
            run.task_id = generate(self.users, client, run.prompt, self.plan.id_timeout)
            run.to_task_id = time.monotonic() - started
            if self.event is not None:
                args = (self.url, self.event, client.session_hash, run.task_id, self.plan.follow_timeout)
                run.video_bytes = follow(*args)
                run.to_video = time.monotonic() - started
        except TimeoutError as exc:
            run.error, run.timed_out = _describe(exc), True
        except Exception as exc:
            run.error = _describe(exc)
        run.ended = time.monotonic() - started
        if self.ended is not None:
            self.ended.release()
        return run

    def run(self) -> list[UserRun]:
        """Every user's run; each is bounded by the plan's timeouts, so the whole is too."""
        count = len(self.users.clients)
        ready = threading.Barrier(count)
        with ThreadPoolExecutor(count, thread_name_prefix="load-user") as pool:
            return list(pool.map(lambda i: self.one(i, ready), range(count)))


# --- the processes -------------------------------------------------------------------------------------------


def app_process(simulator: SimulatorProcess, work: Path) -> AppProcess:
    """``python app.py`` on the simulator, receiving its callbacks as demo mode does (the tracker polls too)."""
    process = AppProcess(simulator, work / "data-load", work / "app-load.log")
    process.env["VIDU_UI_PUBLIC_URL"] = process.url
    return process


class SmallQueueApp(Service):
    """The page ``app.py`` serves, built with ``build_app(max_queue=...)`` by this script's ``--serve-app``
    (``app.py`` has no flag for the queue bound)."""

    def __init__(self, simulator: SimulatorProcess, data_dir: Path, log: Path, *, max_queue: int) -> None:
        port = free_port()
        env = clean_env(VIDU_BASE_URL=simulator.url, VIDU_API_KEY=KEY, VIDU_UI_DATA_DIR=str(data_dir))
        env["VIDU_UI_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
        args = [sys.executable, "-m", "bench.load", "--serve-app", str(port)]
        args += ["--max-queue", str(max_queue)]
        super().__init__(args, env, port, log)


def serve_app(port: int, max_queue: int) -> None:
    """What ``SmallQueueApp`` runs: ``app.py``'s page and launch options, with a smaller queue bound."""
    page = app.build_app(Settings.from_env(), max_queue=max_queue)
    page.launch(**app.ServeOptions(host="127.0.0.1", port=port).launch_kwargs(), quiet=True)


def _frames(work: Path) -> tuple[Path, Path]:
    return (
        write_jpeg(work / "load-start.jpg", photo(1280, 720, 21)),
        write_jpeg(work / "load-end.jpg", photo(1280, 720, 22)),
    )


def _create_prompts(simulator: SimulatorProcess, since: float) -> list[str]:
    """The prompt of each create request that reached the simulator since ``since``."""
    return [
        str((record.get("body") or {}).get("prompt"))
        for record in simulator.admin("GET", "requests")
        if record.get("call") == "create" and record["time"] >= since
    ]


def _tasks(simulator: SimulatorProcess) -> int:
    tasks: int = simulator.admin("GET", "health")["tasks"]
    return tasks


def _percentile(values: list[float], q: int) -> float:
    data = sorted(values)
    if len(data) < 2:
        return data[0] if data else float("nan")
    return statistics.quantiles(data, n=100, method="inclusive")[q - 1]


# --- the load run ----------------------------------------------------------------------------------------------


@dataclass
class LoadResult:
    plan: Plan
    runs: list[UserRun]
    creates: list[str]
    """The prompt of each create that reached the simulator during the run."""
    tasks_made: int
    memory_idle: int
    memory_peak: int
    elapsed: float

    @property
    def errors(self) -> list[str]:
        return [r.error for r in self.runs if r.error is not None]

    @property
    def completed(self) -> int:
        return sum(r.completed for r in self.runs)

    @property
    def duplicates(self) -> int:
        """Creates beyond one per click: a click's prompt arriving twice, or a create no click accounts for."""
        clicks = {r.prompt for r in self.runs}
        counts = Counter(self.creates)
        return sum(n - 1 if p in clicks else n for p, n in counts.items())

    def to_task_id(self, q: int) -> float:
        return _percentile([r.to_task_id for r in self.runs if r.to_task_id is not None], q)

    def to_video(self, q: int) -> float:
        return _percentile([r.to_video for r in self.runs if r.to_video is not None], q)


def run_load(plan: Plan, work: Path) -> LoadResult:
    """``plan.users`` users on ``python app.py`` as it ships, each submitting and following one task."""
    start, end = _frames(work)
    with (
        SimulatorProcess(
            work / "simulator.log", queue_seconds=plan.queue_seconds, process_seconds=plan.process_seconds
        ) as simulator,
        app_process(simulator, work) as process,
    ):
        users = Users(process.url, plan.users, start, end)
        try:
            crowd = Crowd(process.url, users, plan, follow_event(process.url))
            memory_idle = process.peak_rss()
            tasks_before, since = _tasks(simulator), time.time()
            simulator.delay_creates(plan.latency, plan.users)
            began = time.monotonic()
            runs = crowd.run()
            elapsed = time.monotonic() - began
            memory_peak = process.peak_rss()
            creates, tasks_made = _create_prompts(simulator, since), _tasks(simulator) - tasks_before
        finally:
            for client in users.clients:
                client.close()
    return LoadResult(plan, runs, creates, tasks_made, memory_idle, memory_peak, elapsed)


# --- the queue-bound run ---------------------------------------------------------------------------------------


@dataclass
class BusyResult:
    runs: list[UserRun]
    creates: int
    """Creates of the crowd's prompts that reached the service."""
    holders: int
    """Pages following one long task meanwhile, each holding one of Gradio's slots."""
    holders_completed: int

    @property
    def users(self) -> int:
        return len(self.runs)

    @property
    def accepted(self) -> int:
        return sum(r.task_id is not None for r in self.runs)

    @property
    def refused(self) -> int:
        return sum(r.refused for r in self.runs)

    @property
    def timeouts(self) -> int:
        return sum(r.timed_out for r in self.runs)

    @property
    def other_errors(self) -> list[str]:
        return [r.error for r in self.runs if r.error is not None and not r.refused and not r.timed_out]

    @property
    def busy_text(self) -> str:
        return next((r.error.partition(": ")[2] for r in self.runs if r.refused and r.error), "")

    @property
    def slowest_refusal(self) -> float:
        return max((r.ended for r in self.runs if r.refused), default=0.0)


def _hold_slots(url: str, event: FollowEvent, task_id: str, plan: Plan, pool: ThreadPoolExecutor) -> list[Future[int]]:
    """``GRADIO_SLOTS`` pages following ``task_id``, each in a session of its own, opened one after another (a
    burst would overflow the small queue); returns once all of them run."""
    started = threading.Semaphore(0)
    holders: list[Future[int]] = []
    until = time.monotonic() + 60.0
    for _ in range(GRADIO_SLOTS):
        holder = pool.submit(follow, url, event, uuid.uuid4().hex[:11], task_id, plan.hold, started)
        holders.append(holder)
        while not started.acquire(timeout=0.05):
            if holder.done():
                raise RuntimeError(f"a page following the long task did not start: {holder.exception()}")
            if time.monotonic() > until:
                raise TimeoutError("the pages following the long task did not all start within 60 s")
    return holders


def _wait_for_refusals(crowd: Crowd, count: int, timeout: float) -> None:
    """Until ``count`` of the crowd's users are done (while every slot is held, only the refused can be), or
    ``timeout`` seconds: an app that queued more than its bound shows it as fewer refusals."""
    assert crowd.ended is not None
    until = time.monotonic() + timeout
    for _ in range(count):
        if not crowd.ended.acquire(timeout=max(0.0, until - time.monotonic())):
            return


def run_busy(plan: Plan, work: Path) -> BusyResult:
    """3 × ``plan.queue_bound`` users pressing Generate on an app whose queue holds ``queue_bound``, while
    every one of Gradio's slots is taken.

    Generate has no concurrency limit: Gradio starts an event as soon as one of its slots is free, so a request
    waits in the queue only when every slot runs an event. Here ``GRADIO_SLOTS`` pages follow one long task (an
    open page following a task holds a slot until the task ends); the users arrive ``plan.gap`` apart.
    """
    start, end = _frames(work)
    bound = plan.queue_bound
    with (
        SimulatorProcess(work / "simulator-busy.log", process_seconds=plan.hold) as simulator,
        SmallQueueApp(simulator, work / "data-busy", work / "app-busy.log", max_queue=bound) as process,
    ):
        owner = Users(process.url, 1, start, end)
        users = Users(process.url, 3 * bound, start, end)
        try:
            long_task = generate(owner, owner.clients[0], f"{PROMPT} (the long task)", plan.id_timeout)
            with ThreadPoolExecutor(GRADIO_SLOTS, thread_name_prefix="load-holder") as pool:
                holders = _hold_slots(process.url, follow_event(process.url), long_task, plan, pool)
                since = time.time()
                crowd = Crowd(process.url, users, plan, gap=plan.gap, ended=threading.Semaphore(0))
                with ThreadPoolExecutor(1, thread_name_prefix="load-crowd") as single:
                    running = single.submit(crowd.run)
                    _wait_for_refusals(crowd, len(users.clients) - bound, plan.id_timeout / 2)
                    simulator.admin("POST", "finish", {"task_id": long_task})  # the slots free: the queue runs
                    runs = running.result()
                held = [h.exception() is None for h in holders]
            creates = len([p for p in _create_prompts(simulator, since) if p in {r.prompt for r in runs}])
        finally:
            for client in owner.clients + users.clients:
                client.close()
    return BusyResult(runs, creates, len(holders), sum(held))


# --- both, and what they show ----------------------------------------------------------------------------------


@contextmanager
def _folder(work: Path | None) -> Iterator[Path]:
    if work is not None:
        work.mkdir(parents=True, exist_ok=True)
        yield work
        return
    with tempfile.TemporaryDirectory(prefix="vidu-load-") as folder:
        yield Path(folder)


def run_all(plan: Plan, work: Path | None = None) -> tuple[LoadResult, BusyResult]:
    """The load run, then the queue-bound run."""
    with _folder(work) as folder:
        return run_load(plan, folder), run_busy(plan, folder)


def _s(seconds: float) -> str:
    return f"{seconds:.1f} s"


def _mb(size: int) -> str:
    return f"{size / MB:.0f} MB"


def markdown(loaded: LoadResult, busy: BusyResult) -> str:
    """The "## Load" section for these results."""
    plan, n = loaded.plan, len(loaded.runs)
    errors = loaded.errors
    error_text = str(len(errors)) + (f" ({'; '.join(sorted(set(errors)))[:300]})" if errors else "")
    bound = plan.queue_bound
    said = busy.busy_text or "Queue is full! Please try again."
    refusal = _s(busy.slowest_refusal) if busy.refused else "—"
    return "\n".join(
        [
            "## Load",
            "",
            f"**{n} users at once** on `python app.py` as it ships (queue bound {app.MAX_QUEUE}), against the "
            f"simulator in its own process, which answers each create **{plan.latency:g} s** late "
            '(`Fault(call="create", delay=…)`: carried out, then answered) and runs each task '
            f"{plan.queue_seconds:g} s queued + {plan.process_seconds:g} s processing, 5 at once; the app receives "
            "the simulator's callbacks. Each user is a `gradio_client` client (connected before the clock starts) "
            "that presses Generate with a prompt of its own (two 1280×720 JPEGs, auto-fit on), then follows the task "
            "as the page does: the page's follow event, joined over Gradio's queue API in the same session, until "
            f"it ends with the video saved; the video is then fetched. All on 127.0.0.1, on {os.cpu_count()} CPUs "
            f"shared by the app, the simulator and the {n} clients.",
            "",
            "| Measure | Result |",
            "|---|---|",
            f"| Errors | {error_text} |",
            f"| Time to task id, p50 / p95 | {_s(loaded.to_task_id(50))} / {_s(loaded.to_task_id(95))} |",
            f"| Time to the video (saved, served), p50 / p95 | {_s(loaded.to_video(50))} / {_s(loaded.to_video(95))} |",
            f"| Tasks completed | {loaded.completed} of {n} |",
            f"| Creates that reached the service / tasks made | {len(loaded.creates)} / {loaded.tasks_made} "
            f"(for {n} clicks) |",
            f"| Duplicate creates | {loaded.duplicates} |",
            f"| App peak memory (VmHWM) | {_mb(loaded.memory_peak)} ({_mb(loaded.memory_idle)} before the load) |",
            f"| Whole run | {_s(loaded.elapsed)} |",
            "",
            f"**{busy.users} users at 3× a queue bound of {bound}**: the same page built with `build_app(max_queue="
            f"{bound})`, every one of Gradio's {GRADIO_SLOTS} slots taken. Generate has no concurrency limit, so a "
            "request waits in the queue only when every slot runs an event, and a page following a task holds one "
            f"until the task ends: here {busy.holders} pages follow one task that runs until the users past the "
            "bound are refused. (With the shipped "
            f"settings, requests queue past {GRADIO_SLOTS} events in flight and are refused past "
            f"{GRADIO_SLOTS} + {app.MAX_QUEUE}.) The users arrive {plan.gap:g} s apart: Gradio checks the bound "
            "before it runs Generate's validator, so requests arriving within that time of each other can all pass "
            "the check and overshoot it.",
            "",
            "| Users | Accepted (task id) | Refused, busy | Timeouts | Other errors | Creates arrived "
            "| Slowest refusal |",
            "|---|---|---|---|---|---|---|",
            f"| {busy.users} | {busy.accepted} | {busy.refused} | {busy.timeouts} | {len(busy.other_errors)} "
            f"| {busy.creates} | {refusal} |",
            "",
            "A refused request gets Gradio's answer at once: HTTP 503 `queue_full` from `/gradio_api/queue/join`, "
            f'which `gradio_client` raises as `QueueError("{said}")` and the page shows as "{BROWSER_BUSY}" '
            "(Gradio's words: the app cannot set its own for this answer). Nothing reaches the service for it. The "
            "accepted requests waited in the queue until the long task ended, freeing the slots; "
            f"{busy.holders_completed} of {busy.holders} following pages saw its video.",
            "",
        ]
    )


def counts(loaded: LoadResult, busy: BusyResult) -> dict[str, Any]:
    """What the load test asserts on (``--json``): counts, and the slowest refusal in seconds."""
    return {
        "plan": {"users": loaded.plan.users, "queue_bound": loaded.plan.queue_bound},
        "load": {
            "users": len(loaded.runs),
            "errors": loaded.errors,
            "completed": loaded.completed,
            "duplicates": loaded.duplicates,
            "creates": len(loaded.creates),
            "tasks_made": loaded.tasks_made,
        },
        "busy": {
            "users": busy.users,
            "accepted": busy.accepted,
            "refused": busy.refused,
            "timeouts": busy.timeouts,
            "other_errors": busy.other_errors,
            "busy_text": busy.busy_text,
            "slowest_refusal": busy.slowest_refusal,
            "creates": busy.creates,
            "holders": busy.holders,
            "holders_completed": busy.holders_completed,
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--light", action="store_true", help="the CI variant: 8 users, short times, a queue of 3")
    parser.add_argument("--json", type=Path, help="also write the counts the load test asserts on here")
    parser.add_argument("--markdown", type=Path, help="write the section here instead of printing it")
    parser.add_argument("--serve-app", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--max-queue", type=int, default=app.MAX_QUEUE, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_app is not None:
        serve_app(args.serve_app, args.max_queue)
        return 0
    started = time.monotonic()
    loaded, busy = run_all(LIGHT if args.light else FULL)
    if args.json is not None:
        args.json.write_text(orjson.dumps(counts(loaded, busy), option=orjson.OPT_INDENT_2).decode())
    if args.markdown is not None:
        args.markdown.write_text(markdown(loaded, busy), encoding="utf-8")
    else:
        print(markdown(loaded, busy))
    print(f"ran in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
