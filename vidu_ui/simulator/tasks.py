"""Tasks and their timeline: states are computed from the clock, not advanced by a thread per task.

A task is ``created`` for the first half of ``queue_seconds``, then ``queueing`` until it may start and one
of the ``CONCURRENCY`` processing slots is free, then ``processing`` for ``process_seconds`` (times
``off_peak_factor`` for off-peak tasks), then ``success`` once its video is built (or ``failed`` when
``fail_next`` marked it). Credits are charged at creation and refunded when a task fails or is cancelled.
"""

from __future__ import annotations

import heapq
import math
import random
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .validate import CreateRequest

CONCURRENCY = 5
"""Tasks processing at once per key (the service's default); the rest wait in ``queueing``."""
UNFINISHED = ("created", "queueing", "processing")
# Indicative credits per second where the catalogue has no public figure.
_DEFAULT_PER_SECOND = {"360p": 4.0, "540p": 6.0, "720p": 10.0, "1080p": 16.0}


class Relay(BaseModel):
    """Switches that make the simulator behave like the relays in front of the API (``docs/contract.md``).

    - ``ids``: ``number`` (Vidu, kkiai: decimal strings), ``task`` (new-api: ``task_…``), ``uuid`` (octopusx);
    - ``extra_states``: a queued task reads ``scheduling`` for the second half of its wait and ``preparation``
      for the first fifth of its processing; a cancelled task reads ``canceled``; a cancel is refused once the
      task is scheduled ("task state is scheduled, can not cancel");
    - ``page_tokens``: the list call's ``next_page_token`` is an opaque token, not an offset;
    - ``max_open``: at most this many unfinished tasks (created, queueing, processing) at once; a create beyond
      them is refused with 429 ``QuotaExceeded`` (no task, nothing charged), as resellers that refuse rather
      than queue do; the credits call then says it as ``concurrency_limit`` (never above ``CONCURRENCY``, the
      slots that process at once). None: every create is queued.
    """

    model_config = ConfigDict(extra="forbid")

    ids: Literal["number", "task", "uuid"] = "number"
    extra_states: bool = False
    page_tokens: bool = False
    max_open: int | None = Field(None, ge=1)


def price(request: CreateRequest) -> int:
    """The credits a task costs: the catalogue's estimate (or a default rate), halved off-peak, +10 for is_rec."""
    model, duration, resolution = request.model, request.duration, request.resolution
    base = model.estimate_credits(duration, resolution)
    if base is None:
        base = round(_DEFAULT_PER_SECOND.get(resolution, 10.0) * duration)
    if request.off_peak:
        base = math.ceil(base / 2)
    return base + (10 if request.is_rec else 0)


def rfc3339(ts: float) -> str:
    """``2026-01-20T06:52:02.323137590Z``, the service's timestamp format."""
    dt = datetime.fromtimestamp(ts, tz=timezone.utc)
    nanos = round((ts - math.floor(ts)) * 1e9) % 1_000_000_000
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{nanos:09d}Z"


@dataclass(eq=False)
class Task:
    id: str
    creation_id: str
    request: CreateRequest
    created_at: float
    credits: int
    eligible: float
    """When it may leave the queue."""
    run_seconds: float
    fail_with: str | None = None
    """An err_code it fails with at the end of processing (``fail_next``)."""
    start: float | None = None
    failed_at: float | None = None
    err_code: str = ""
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    """Served results by name: content type and bytes."""
    media_ready: threading.Event = field(default_factory=threading.Event)
    notified: list[str] = field(default_factory=list)
    """States already sent to the callback URL."""
    callback_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def end(self) -> float | None:
        return None if self.start is None else self.start + self.run_seconds

    def state_at(self, now: float, queue_seconds: float) -> str:
        if self.failed_at is not None and now >= self.failed_at:
            return "failed"
        end = self.end
        if self.start is not None and end is not None and now >= self.start:
            if now < end:
                return "processing"
            if self.fail_with is not None:
                return "failed"
            return "success" if self.media_ready.is_set() else "processing"
        return "created" if now < self.created_at + queue_seconds / 2 else "queueing"

    def created_body(self, images: list[str]) -> dict[str, Any]:
        """The create call's answer: the task as accepted, every field echoed (the seed's example)."""
        r = self.request
        return {
            "task_id": self.id,
            "type": "headtailimg2video",
            "state": "created",
            "model": r.model.name,
            "style": "general",
            "prompt": r.prompt,
            "images": images,
            "duration": r.duration,
            "seed": r.seed,
            "aspect_ratio": "",
            "resolution": r.resolution,
            "movement_amplitude": r.movement_amplitude,
            "created_at": rfc3339(self.created_at),
            "credits": self.credits,
            "payload": r.payload,
            "cus_priority": 0,
            "off_peak": r.off_peak,
            "watermark": r.watermark,
            "is_rec": r.is_rec,
            "audio": r.audio,
            "bgm": r.bgm,
            "wm_position": r.wm_position,
            "wm_url": r.wm_url,
            "meta_data": r.meta_data,
            "client_request_id": "",
        }

    def error_at(self, now: float, queue_seconds: float) -> str:
        if self.state_at(now, queue_seconds) != "failed":
            return ""
        return self.err_code or self.fail_with or "InternalServiceFailure"


class TaskStore:
    """All tasks of the simulator's one key, the processing schedule and the credit balance."""

    def __init__(self, *, queue_seconds: float, process_seconds: float, off_peak_factor: float, credits: int) -> None:
        self.queue_seconds = queue_seconds
        self.process_seconds = process_seconds
        self.off_peak_factor = off_peak_factor
        self.lock = threading.RLock()
        self._granted = credits
        self._tasks: dict[str, Task] = {}
        self._next_id = random.randrange(900_000_000_000_000_000, 910_000_000_000_000_000)
        self.fail_next: list[str] = []
        self.relay = Relay()
        self._page_tokens: dict[str, int] = {}

    def _new_id(self) -> str:
        if self.relay.ids == "task":
            return "task_" + secrets.token_urlsafe(24).replace("-", "a").replace("_", "b")
        if self.relay.ids == "uuid":
            return str(uuid.uuid4())
        self._next_id += random.randrange(1_000, 1_000_000)
        return str(self._next_id)

    def reported_state(self, task: Task, now: float) -> str:
        """The state as this service (or relay) words it: with ``extra_states``, the states of Vidu's other API."""
        with self.lock:
            state = task.state_at(now, self.queue_seconds)
            if not self.relay.extra_states:
                return state
            if state == "failed" and task.err_code == "UserCancelled":
                return "canceled"
            if state == "queueing" and now >= task.created_at + self.queue_seconds * 0.75:
                return "scheduling"
            if state == "processing" and task.start is not None and now < task.start + task.run_seconds / 5:
                return "preparation"
            return state

    def cancellable(self, task: Task, now: float) -> bool:
        """Whether a cancel is accepted now: not once finished; with ``extra_states``, not once scheduled."""
        with self.lock:
            state = task.state_at(now, self.queue_seconds)
            if self.relay.extra_states:
                return state in ("created", "queueing") and self.reported_state(task, now) != "scheduling"
            return state in UNFINISHED

    def page_token(self, offset: int) -> str:
        """The token for the page starting at ``offset``: the offset itself, or an opaque one (``page_tokens``)."""
        if not self.relay.page_tokens:
            return str(offset)
        with self.lock:
            token = "pt_" + secrets.token_hex(8)
            self._page_tokens[token] = offset
            return token

    def page_offset(self, token: str) -> int | None:
        """The offset a token stands for; None for a token this service did not issue."""
        if not token:
            return 0
        if self.relay.page_tokens:
            with self.lock:
                return self._page_tokens.get(token)
        return int(token) if token.isdigit() else None

    def all(self) -> list[Task]:
        with self.lock:
            return list(self._tasks.values())

    def get(self, task_id: str) -> Task | None:
        with self.lock:
            return self._tasks.get(task_id)

    def state(self, task: Task, now: float) -> str:
        with self.lock:
            return task.state_at(now, self.queue_seconds)

    def spent(self, now: float) -> int:
        with self.lock:
            return sum(t.credits for t in self._tasks.values() if t.state_at(now, self.queue_seconds) != "failed")

    def balance(self, now: float) -> int:
        return self._granted - self.spent(now)

    def set_balance(self, credits: int, now: float) -> None:
        with self.lock:
            self._granted = credits + self.spent(now)

    def open_count(self, now: float) -> int:
        """Tasks not finished at ``now`` (what ``Relay.max_open`` bounds)."""
        with self.lock:
            return sum(1 for t in self._tasks.values() if t.state_at(now, self.queue_seconds) in UNFINISHED)

    def create(self, request: CreateRequest, cost: int, now: float) -> Task:
        """Record a task (the caller checked the balance under ``lock``) and schedule it."""
        with self.lock:
            run = self.process_seconds * (self.off_peak_factor if request.off_peak else 1.0)
            task = Task(
                id=self._new_id(),
                creation_id=self._new_id(),
                request=request,
                created_at=now,
                credits=cost,
                eligible=now + self.queue_seconds,
                run_seconds=run,
                fail_with=self.fail_next.pop(0) if self.fail_next else None,
            )
            self._tasks[task.id] = task
            self._plan(now)
            return task

    def fail(self, task: Task, err_code: str, now: float) -> bool:
        """End an unfinished task now as failed with ``err_code`` (refunding it); False when already finished."""
        with self.lock:
            if task.state_at(now, self.queue_seconds) not in UNFINISHED:
                return False
            task.failed_at, task.err_code = now, err_code
            self._plan(now)
            return True

    def finish(self, task: Task, now: float) -> bool:
        """End an unfinished task now, as if its time were up (a test control): one still waiting for a slot
        starts and ends at once; False when it has already ended."""
        with self.lock:
            if task.failed_at is not None or task.state_at(now, self.queue_seconds) not in UNFINISHED:
                return False
            if task.start is None or task.start > now:
                task.start = task.eligible = now
            task.run_seconds = now - task.start
            self._plan(now)
            return True

    def _plan(self, now: float) -> None:
        """(Re)assign processing start times of tasks not yet started, at most ``CONCURRENCY`` at once."""
        busy: list[float] = []
        waiting: list[Task] = []
        for task in self._tasks.values():
            if task.failed_at is not None:
                continue
            if task.start is not None and task.start <= now:
                end = task.start + task.run_seconds
                if end > now:
                    busy.append(end)
                continue
            waiting.append(task)
        free = [now] * max(0, CONCURRENCY - len(busy)) + busy
        heapq.heapify(free)
        for task in waiting:
            task.start = max(task.eligible, heapq.heappop(free), now)
            heapq.heappush(free, task.start + task.run_seconds)

    def clear(self, credits: int) -> None:
        with self.lock:
            self._tasks.clear()
            self._granted = credits
            self.fail_next.clear()
            self._page_tokens.clear()
