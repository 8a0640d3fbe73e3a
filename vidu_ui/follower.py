"""Following every task to its video, driven by the rows of the store, in one process or in several.

A task is followed while its row has ``follow_at`` (when its next job is due) and ``job`` (``query`` or
``download``). A follower claims due rows in one transaction — ``SELECT … FOR UPDATE SKIP LOCKED`` on
PostgreSQL, SQLite's single writer on one machine: the same statements — and marks them with its own id and a
lease (``lease_until``, ``settings.lease_seconds`` ahead). While it works on a row it renews the lease; when the
job is done it writes the next due time and lets the lease go. A follower that dies leaves its leases to lapse,
and then any other follower takes those tasks over. So each task is queried by one follower at a time, however
many processes run (each app process runs one; ``python -m vidu_ui worker`` runs one alone).

When to query next is ``tracking.PollPolicy`` (rebuilt from ``follow_since`` and ``polls``), the same policy as
the CLI's ``--wait``. A succeeded task's video (and watermarked copy) is downloaded with ``tracking.download``
(atomically) into ``vidu_ui.storage``: ``data_dir/videos/<task_id>.mp4`` by default, or a bucket. Its cover goes
the same way, beside it (``<task_id>.cover.jpg``, checked to be an image, at most ``downloads.MAX_IMAGE_BYTES``),
so that the page never shows the service's URL; a cover that cannot be kept is logged and left out (the page
shows none), without holding up the video.

Threads: one scheduler and ``workers`` + ``download_workers`` pool threads, whatever the number of tasks. The
page waits for a change (``wait_for_change``, ``watch``) on an in-process event fed by the store's change hook,
re-reading the row at least every second so that changes written by other processes are seen.

Keys. ``client_factory(owner)`` builds the client for a call. ``KeyOwner.server()`` stands for the server's key.
``KeyOwner.visitor(key)`` carries a visitor's own key: held in this process's memory only, while the task is
unfinished; only this process can query that task (a row with ``key_kind = visitor`` is claimed only by a
follower holding its key). The store records whose key it was, never a key.

Tests without threads or real time: do not call ``start``; call ``step``, which claims and runs every due job in
the calling thread at the injected ``clock`` and returns when the next one is due.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import httpx
import sqlalchemy as sa
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import SecretStr

from . import reconcile, tracking
from .client import ViduClient
from .downloads import DownloadPolicy, DownloadRefused
from .errors import APIError, ViduError
from .responses import TaskStatus
from .settings import Settings
from .storage import DirectoryStorage, S3Storage, open_storage
from .store import FINAL_STATES, CreatedLike, KeyKind, PreparedLike, Store, TaskRecord, tasks

__all__ = [
    "ClientFactory",
    "Downloader",
    "Follower",
    "KeyOwner",
    "MissingKey",
    "UnknownTask",
    "default_client_factory",
]

log = logging.getLogger(__name__)

MAX_DOWNLOAD_ATTEMPTS = 3
MAX_NAP = 1.0
"""Longest the scheduler sleeps without looking at the store: how soon it sees other processes' work."""
Job = Literal["query", "download"]


@dataclass(frozen=True)
class KeyOwner:
    """Whose API key follows a task. A visitor's key is held here, in memory only; it never prints."""

    kind: KeyKind
    api_key: SecretStr | None = field(default=None, repr=False, compare=False)

    @classmethod
    def server(cls) -> KeyOwner:
        """The server's configured key (``settings.api_key``)."""
        return cls("server")

    @classmethod
    def visitor(cls, api_key: str | SecretStr) -> KeyOwner:
        """A visitor's own key, pasted into the page."""
        key = api_key if isinstance(api_key, SecretStr) else SecretStr(api_key)
        return cls("visitor", key)

    @property
    def can_query(self) -> bool:
        """Whether a client can be built: the server's key, or a visitor's key still held."""
        return self.kind == "server" or self.api_key is not None

    def without_key(self) -> KeyOwner:
        return replace(self, api_key=None) if self.kind == "visitor" else self


ClientFactory = Callable[[KeyOwner], ViduClient]
"""Builds a client for one call; the follower closes it after the call."""
Downloader = Callable[[str, Path], Path]
"""Saves a URL to a path atomically (``tracking.download``)."""


def default_client_factory(settings: Settings) -> ClientFactory:
    """Clients on ``settings``: the server's key, or the visitor's key for ``KeyOwner.visitor``."""

    def build(owner: KeyOwner) -> ViduClient:
        if owner.kind == "visitor":
            key = owner.api_key.get_secret_value() if owner.api_key is not None else None
            return ViduClient(settings.with_key(key))
        return ViduClient(settings)

    return build


class UnknownTask(ViduError):
    """The task is not in the history; record it (``Store.record_submission``) before following it."""

    def __init__(self, task_id: str) -> None:
        super().__init__(f"task {task_id} is not in the history")
        self.task_id = task_id


class MissingKey(ViduError):
    """The task was created with a visitor's key that this server no longer holds."""

    def __init__(self, task_id: str) -> None:
        super().__init__(
            f"task {task_id} was created with a visitor's own API key, which this server does not keep; "
            "enter that key to check the task"
        )
        self.task_id = task_id


@dataclass(frozen=True)
class _Claimed:
    task_id: str
    job: Job
    follow_since: float
    polls: int
    download_attempts: int
    due: float
    """The row's ``follow_at`` when claimed: a later one when the job ends means a hint came meanwhile."""


def _wake_future(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def follower_id() -> str:
    """This process's follower id: host, pid and a random part (a restarted process is a new follower)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Follower:
    """Follows tasks from the rows of the store, keeps them up to date, saves the videos (module docstring).

    ``clock`` is Unix time (due times and leases are compared across processes); ``wall_clock`` is what the
    store records for fetched URLs. ``keep_videos`` turns downloading off (covers too); ``downloader`` replaces
    ``tracking.download`` for videos, ``cover_downloader`` for covers; ``reconcile_every`` (seconds; None:
    never) settles unanswered creates in the background (``vidu_ui.reconcile``).
    """

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        client_factory: ClientFactory | None = None,
        clock: Callable[[], float] = time.time,
        wall_clock: Callable[[], float] | None = None,
        downloader: Downloader | None = None,
        cover_downloader: Downloader | None = None,
        keep_videos: bool = True,
        workers: int = 4,
        download_workers: int = 2,
        lease_seconds: float | None = None,
        reconcile_every: float | None = None,
        owner_id: str | None = None,
        storage: DirectoryStorage | S3Storage | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.storage: DirectoryStorage | S3Storage = storage or open_storage(settings)
        self.video_dir = self.storage.staging
        self.keep_videos = keep_videos
        self.id = owner_id or follower_id()
        self.lease = lease_seconds if lease_seconds is not None else settings.lease_seconds
        self._client_factory = client_factory or default_client_factory(settings)
        self._clock = clock
        self._wall_clock = wall_clock or clock
        if downloader is None or cover_downloader is None:
            policy = DownloadPolicy.for_settings(settings)
            downloader = downloader or functools.partial(tracking.download, policy=policy)
            cover_downloader = cover_downloader or functools.partial(tracking.download, policy=policy, kind="image")
        self._downloader: Downloader = downloader
        self._cover_downloader: Downloader = cover_downloader
        self._workers = max(1, workers)
        self._download_workers = max(1, download_workers)
        self._reconcile_every = reconcile_every
        self._lock = threading.Lock()  # guards the fields below
        self._keys: dict[str, SecretStr] = {}  # visitor keys held, by task id
        self._working: set[str] = set()
        self._poked: set[str] = set()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._queries: ThreadPoolExecutor | None = None
        self._downloads: ThreadPoolExecutor | None = None
        self._changes = threading.Condition()  # wakes ``wait_for_change``
        self._generation = 0
        self._async_waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = set()
        store.on_change(self._on_store_change)

    # --- lifecycle ---------------------------------------------------------------------------------------------

    def start(self) -> Follower:
        """Start the scheduler thread and the worker pools. Returns self."""
        with self._lock:
            if self._thread is not None:
                return self
            self._stopping.clear()
            self._queries = ThreadPoolExecutor(self._workers, thread_name_prefix="vidu-query")
            self._downloads = ThreadPoolExecutor(self._download_workers, thread_name_prefix="vidu-download")
            self._thread = threading.Thread(target=self._loop, name="vidu-follower", daemon=True)
            self._thread.start()
        return self

    def stop(self, *, wait: bool = True) -> None:
        """Stop following here (the rows stay; this process's leases are let go, so another follower, or the next
        start, picks the tasks up at once)."""
        with self._lock:
            thread, self._thread = self._thread, None
            pools = (self._queries, self._downloads)
            self._queries = self._downloads = None
        self._stopping.set()
        self._wake.set()
        if thread is not None:
            thread.join()
        for pool in pools:
            if pool is not None:
                pool.shutdown(wait=wait, cancel_futures=True)
        with contextlib.suppress(Exception), self.store.write() as conn:
            conn.execute(
                tasks.update().where(tasks.c.lease_owner == self.id).values(lease_owner=None, lease_until=None)
            )

    def __enter__(self) -> Follower:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what the page, the CLI and the callbacks call ---------------------------------------------------------

    def add(
        self, request: PreparedLike, created: CreatedLike, owner: KeyOwner | None = None, *, user: str | None = None
    ) -> None:
        """Record a just-created task and start following it (for callers without write-ahead)."""
        owner = owner or KeyOwner.server()
        self.store.record_prepared(request, created, user=user, key_kind=owner.kind)
        self.track(created.task_id, owner)

    def track(self, task_id: str, owner: KeyOwner | None = None) -> None:
        """Follow a task of the history until it is finished and its video saved; a no-op if already followed
        (except that a visitor's key given again is taken). Raises ``UnknownTask`` if it is not in the store."""
        record = self.store.get(task_id)
        if record is None:
            raise UnknownTask(task_id)
        owner = owner or KeyOwner.server()
        self._hold(task_id, owner)
        job: Job = "download" if record.state == "success" else "query"
        if record.state in FINAL_STATES and not self._needs_video(record):
            return
        self._arm(task_id, job, only_if_idle=True)

    def resume(self) -> list[str]:
        """Pick up what was left when the app last stopped; returns the ids that wait for a visitor's key.

        Removes ``.part`` files of dead processes, follows every unfinished task created with the server's
        key, and saves the videos of succeeded tasks whose download did not complete. A task another live
        follower holds is left to it.
        """
        tracking.clean_partials(self.video_dir)
        now = self._clock()
        waiting: list[str] = []
        for record in self.store.unfinished():
            if record.key_kind == "server":
                self._arm(record.task_id, "query", only_if_idle=True)
            elif not self._holds_key(record.task_id):
                waiting.append(record.task_id)
        if self.keep_videos:
            for record in self.store.missing_videos():
                if record.key_kind == "server" or (record.video_url and record.urls_fresh(self._wall_clock())):
                    self._arm(record.task_id, "download", only_if_idle=True)
                elif not self._holds_key(record.task_id):
                    waiting.append(record.task_id)
        for task_id in waiting:
            # Nobody has queried it for a lease: no live follower holds its key. It waits for the visitor.
            with self.store.write() as conn:
                conn.execute(
                    tasks.update()
                    .where(
                        tasks.c.task_id == task_id,
                        sa.or_(tasks.c.follow_at.is_(None), tasks.c.follow_at < now - self.lease),
                    )
                    .values(follow_at=None)
                )
            self.store.set_problem(task_id, MissingKey(task_id).args[0])
        self._wake.set()
        return waiting

    def refresh(self, task_id: str, owner: KeyOwner | None = None, *, wait: bool = True) -> TaskRecord | None:
        """Query the task now: fresh result URLs, the confirmed state; follows it again if unfinished.

        ``wait=True`` (the page opening a task): query in this thread and return the updated record; raises
        the client's ``APIError``, ``UnknownTask``, or ``MissingKey`` for a visitor's task without its key.
        ``wait=False`` (a callback's hint): the task's next query is due now, for whichever follower holds it;
        a visitor's task whose key is not held here is left alone.
        """
        record = self.store.get(task_id)
        if record is None:
            raise UnknownTask(task_id)
        owner = self._owner_for(record, owner)
        if not wait:
            if owner is not None:
                self._poke(task_id)
            return None
        if owner is None:
            raise MissingKey(task_id)
        self._hold(task_id, owner)
        status = self._query(task_id, owner)
        self._save(task_id, status)
        if not status.finished:
            self._arm(task_id, "query", only_if_idle=True)
        else:
            self._drop_key(task_id)
            current = self.store.get(task_id)
            if current is not None and self._needs_video(current):
                self._arm(task_id, "download", only_if_idle=True)
        return self.store.get(task_id)

    def cancel(self, task_id: str, owner: KeyOwner | None = None) -> None:
        """Ask the service to cancel the task, then query it soon to confirm."""
        record = self.store.get(task_id)
        if record is None:
            raise UnknownTask(task_id)
        owner = self._owner_for(record, owner)
        if owner is None:
            raise MissingKey(task_id)
        self._hold(task_id, owner)
        client = self._client_factory(owner)
        try:
            client.cancel(task_id)
        finally:
            client.close()
        self._poke(task_id)

    def is_following(self, task_id: str) -> bool:
        """Whether the task is still being followed (polled, or its video being saved), by any follower."""
        with self.store.read() as conn:
            due = conn.execute(sa.select(tasks.c.follow_at).where(tasks.c.task_id == task_id)).scalar()
        return due is not None

    def signing_key(self, task_id: str) -> str | None:
        """The key that created the task, to check its callbacks: the server's key for a server task, a
        visitor's key only while this process holds it (the task unfinished); None otherwise."""
        record = self.store.get(task_id)
        if record is None:
            return None
        if record.key_kind == "server":
            key = self.settings.api_key
        else:
            with self._lock:
                key = self._keys.get(task_id)
        return key.get_secret_value() if key is not None else None

    def wait_for_change(self, task_id: str, after_version: int, timeout: float) -> TaskRecord | None:
        """The task's record once its ``version`` is above ``after_version``, or None after ``timeout`` real
        seconds (or if the task is unknown). Changes written by another process are seen within a second."""
        deadline = time.monotonic() + timeout
        while True:
            with self._changes:
                generation = self._generation
            record = self.store.get(task_id)
            if record is None or record.version > after_version:
                return record
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            with self._changes:
                if self._generation == generation:
                    self._changes.wait(min(remaining, 1.0))

    async def changed(self, task_id: str, after_version: int, timeout: float) -> TaskRecord | None:
        """``wait_for_change`` for an event loop (the page): no thread is held while waiting; the store's change
        event wakes it, and the row is read again at least every second."""
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + timeout
        while True:
            woken: asyncio.Future[None] = loop.create_future()
            with self._changes:
                self._async_waiters.add((loop, woken))
            try:
                record = await asyncio.to_thread(self.store.get, task_id)
                if record is None or record.version > after_version:
                    return record
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(woken, min(remaining, 1.0))
            finally:
                with self._changes:
                    self._async_waiters.discard((loop, woken))

    def watch(self, task_id: str, *, timeout: float | None = None) -> Iterator[TaskRecord]:
        """Yield the task's record now and after each change, until it is finished and no longer followed
        (its video saved), or ``timeout`` real seconds pass. For a Gradio generator handler."""
        deadline = None if timeout is None else time.monotonic() + timeout
        record = self.store.get(task_id)
        while record is not None:
            yield record
            if record.finished and not self.is_following(task_id):
                return
            version = record.version
            while True:
                left = 5.0 if deadline is None else deadline - time.monotonic()
                if left <= 0:
                    return
                changed = self.wait_for_change(task_id, version, min(left, 5.0))
                if changed is not None:
                    record = changed
                    break
                if not self.is_following(task_id):
                    current = self.store.get(task_id)
                    if current is None or current.version == version:
                        return
                    record = current
                    break

    def wake(self) -> None:
        """Look at the store now rather than within a second (after a change made elsewhere, or a clock moved)."""
        self._wake.set()

    def step(self, limit: int = 10_000) -> float | None:
        """Claim and run the jobs due now, up to ``limit`` (a running follower claims as many as it has free
        workers), in this thread (tests, without ``start``); return the ``clock`` time when the next job is due,
        or None when nothing this follower could run is followed."""
        for claimed in self._claim(self._clock(), limit=limit):
            self._run(claimed)
        return self._next_due()

    def video_path(self, task_id: str, *, watermarked: bool = False) -> str:
        """Where a task's video is saved: by default ``data_dir/videos/<task_id>.mp4`` (``.watermarked.mp4`` for
        the copy); ``s3://bucket/prefix/<task_id>.mp4`` with a bucket (``vidu_ui.storage``)."""
        return self.storage.location(task_id, watermarked=watermarked)

    # --- rows ----------------------------------------------------------------------------------------------------

    def _claimable(self, now: float) -> Any:
        with self._lock:
            held = sorted(self._keys)
        return sa.and_(
            tasks.c.follow_at.is_not(None),
            sa.or_(tasks.c.lease_until.is_(None), tasks.c.lease_until < now),
            sa.or_(tasks.c.key_kind == "server", tasks.c.job == "download", tasks.c.task_id.in_(held)),
        )

    def _claim(self, now: float, limit: int) -> list[_Claimed]:
        """Take up to ``limit`` due rows: this follower's until the lease lapses (one transaction)."""
        if limit <= 0:
            return []
        columns = (
            tasks.c.task_id,
            tasks.c.job,
            tasks.c.follow_since,
            tasks.c.polls,
            tasks.c.download_attempts,
            tasks.c.follow_at,
        )
        with self.store.write() as conn:
            rows = conn.execute(
                sa.select(*columns)
                .where(self._claimable(now), tasks.c.follow_at <= now)
                .order_by(tasks.c.follow_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            if not rows:
                return []
            conn.execute(
                tasks.update()
                .where(tasks.c.task_id.in_([row.task_id for row in rows]))
                .values(
                    lease_owner=self.id,
                    lease_until=now + self.lease,
                    follow_since=sa.func.coalesce(tasks.c.follow_since, now),  # recorded elsewhere: starts now
                )
            )
        claimed = [
            _Claimed(
                r.task_id,
                "download" if r.job == "download" else "query",
                r.follow_since or now,
                r.polls,
                r.download_attempts,
                r.follow_at,
            )
            for r in rows
        ]
        with self._lock:
            self._working.update(c.task_id for c in claimed)
        return claimed

    def _renew(self) -> None:
        """Push this follower's leases on the rows it is working on forward."""
        with self._lock:
            working = sorted(self._working)
        if not working:
            return
        with self.store.write() as conn:
            conn.execute(
                tasks.update()
                .where(tasks.c.task_id.in_(working), tasks.c.lease_owner == self.id)
                .values(lease_until=self._clock() + self.lease)
            )

    def _finish(self, claimed: _Claimed, delay: float | None, **values: Any) -> None:
        """Let the lease go; the next job ``delay`` seconds from now (None: no longer followed)."""
        with self._lock:
            self._working.discard(claimed.task_id)
            poked = claimed.task_id in self._poked
            self._poked.discard(claimed.task_id)
        query_next = delay is not None and values.get("job", claimed.job) == "query"
        if poked and query_next:
            delay = 0.0
        follow_at: Any = None if delay is None else self._clock() + max(0.0, delay)
        if query_next:
            # A hint poked the task in another process while this job ran (a callback reached another replica):
            # the row's due time moved since the claim. Keep the earlier time, so that the hint is not lost.
            follow_at = sa.case(
                (sa.and_(tasks.c.follow_at != claimed.due, tasks.c.follow_at < follow_at), tasks.c.follow_at),
                else_=follow_at,
            )
        with self.store.write() as conn:
            conn.execute(
                tasks.update()
                .where(tasks.c.task_id == claimed.task_id, tasks.c.lease_owner == self.id)
                .values(follow_at=follow_at, lease_until=None, **values)
            )
        if delay is None:
            self._drop_key(claimed.task_id)
        self._notify()

    def _arm(self, task_id: str, job: Job, *, only_if_idle: bool) -> None:
        """Make the task due now; with ``only_if_idle`` only when nobody follows it yet."""
        now = self._clock()
        where = [tasks.c.task_id == task_id]
        if only_if_idle:
            where.append(tasks.c.follow_at.is_(None))
        with self.store.write() as conn:
            conn.execute(
                tasks.update()
                .where(*where)
                .values(follow_at=now, follow_since=now, polls=0, job=job, download_attempts=0)
            )
        self._wake.set()
        self._notify()

    def _poke(self, task_id: str) -> None:
        """Query the task as soon as possible, whoever follows it; after the job in hand if this process has one."""
        with self._lock:
            if task_id in self._working:
                self._poked.add(task_id)
        now = self._clock()
        with self.store.write() as conn:
            conn.execute(
                tasks.update()
                .where(tasks.c.task_id == task_id)
                .values(
                    follow_at=now,
                    follow_since=sa.func.coalesce(tasks.c.follow_since, now),
                    job=sa.case((tasks.c.state == "success", tasks.c.job), else_="query"),
                )
            )
        self._wake.set()

    def _next_due(self) -> float | None:
        with self.store.read() as conn:
            due = conn.execute(sa.select(sa.func.min(tasks.c.follow_at)).where(self._claimable(self._clock()))).scalar()
            if due is None:  # all held by others: look again when the first lease lapses
                due = conn.execute(
                    sa.select(sa.func.min(tasks.c.lease_until)).where(tasks.c.follow_at.is_not(None))
                ).scalar()
        return None if due is None else float(due)

    # --- the loop ------------------------------------------------------------------------------------------------

    def _loop(self) -> None:
        next_renew = 0.0
        next_reconcile = self._clock() if self._reconcile_every is not None else None
        while not self._stopping.is_set():
            try:
                now = self._clock()
                if now >= next_renew:
                    self._renew()
                    next_renew = now + self.lease / 3
                if next_reconcile is not None and now >= next_reconcile and self._queries is not None:
                    self._queries.submit(self._reconcile)
                    next_reconcile = now + (self._reconcile_every or reconcile.INTERVAL)
                self._dispatch(now)
                due = self._next_due()
            except Exception:
                log.exception("the follower's loop failed; trying again")
                due = None
            nap = MAX_NAP if due is None else min(MAX_NAP, max(0.0, due - self._clock()))
            if nap > 0:
                self._wake.wait(nap)
            self._wake.clear()

    def _dispatch(self, now: float) -> None:
        queries, downloads = self._queries, self._downloads
        if queries is None or downloads is None:
            return
        with self._lock:
            free = self._workers + self._download_workers - len(self._working)
        for claimed in self._claim(now, limit=free):
            pool = downloads if claimed.job == "download" else queries
            try:
                pool.submit(self._run, claimed)
            except RuntimeError:  # shut down meanwhile: the lease lapses and the job is taken up again
                return

    def _reconcile(self) -> None:
        try:
            settled = reconcile.reconcile(self.store, self.settings, lambda: self._client_factory(KeyOwner.server()))
        except Exception:
            log.exception("reconciliation failed; trying again later")
            return
        for result in settled:
            if result.verdict == "created" and result.task_id:
                self._arm(result.task_id, "query", only_if_idle=True)

    def _run(self, claimed: _Claimed) -> None:
        try:
            if claimed.job == "download":
                self._download(claimed)
            else:
                self._poll(claimed)
        except Exception:
            log.exception("following task %s failed unexpectedly", claimed.task_id)
            with contextlib.suppress(Exception):
                self.store.set_problem(claimed.task_id, "stopped following after an unexpected error; see the log")
            with contextlib.suppress(Exception):
                self._finish(claimed, None)

    # --- the jobs ------------------------------------------------------------------------------------------------

    def _policy(self, claimed: _Claimed) -> tracking.PollPolicy:
        callbacks = self.settings.public_url is not None  # the app receives them: polling is a safety net
        return tracking.PollPolicy(
            claimed.task_id, self.settings, claimed.follow_since, callbacks=callbacks, queries=claimed.polls
        )

    def _poll(self, claimed: _Claimed) -> None:
        task_id = claimed.task_id
        record = self.store.get(task_id)
        owner = None if record is None else self._owner_for(record, None)
        if owner is None:
            self._finish(claimed, None)
            return
        if record is not None and record.state in FINAL_STATES and not claimed.download_attempts:
            # Finished before anyone followed it (not a retry after a failed download, which wants a fresh link).
            self._finish(claimed, 0.0 if self._needs_video(record) else None, job="download")
            return
        policy = self._policy(claimed)
        try:
            status = self._query(task_id, owner)
        except ViduError as exc:
            try:
                policy.failed(exc)
            except ViduError:
                hint = f" {exc.hint}" if isinstance(exc, APIError) else ""
                self.store.set_problem(task_id, f"stopped following: {exc}.{hint}")
                self._finish(claimed, None)
                return
            self._finish(claimed, self._next_wait(claimed, policy), polls=claimed.polls + 1)
            return
        self._save(task_id, status)
        if not policy.seen(status):
            self._finish(claimed, self._next_wait(claimed, policy), polls=claimed.polls + 1)
            return
        self._drop_key(task_id)  # finished: a visitor's key is no longer needed
        current = self.store.get(task_id)
        if status.succeeded and current is not None and self._needs_video(current):
            self._finish(claimed, 0.0, job="download")
        else:
            self._finish(claimed, None)

    def _next_wait(self, claimed: _Claimed, policy: tracking.PollPolicy) -> float | None:
        try:
            return policy.next_wait(self._clock())
        except tracking.WaitTimeout as exc:
            self.store.set_problem(claimed.task_id, f"stopped following: {exc}")
            return None

    def _download(self, claimed: _Claimed) -> None:
        task_id = claimed.task_id
        record = self.store.get(task_id)
        if record is None or not self.keep_videos:
            self._finish(claimed, None)
            return
        if not record.video_url:
            self.store.set_problem(
                task_id, "the task succeeded but the service gave no video URL; open it to query again"
            )
            self._finish(claimed, None)
            return
        try:
            if record.video_path is None:
                location = self.storage.save(record.video_url, task_id, downloader=self._downloader)
                self.store.set_video(task_id, location)
            if record.watermarked_url and record.watermarked_path is None:
                location = self.storage.save(
                    record.watermarked_url, task_id, watermarked=True, downloader=self._downloader
                )
                self.store.set_video(task_id, location, watermarked=True)
            self._keep_cover(record)
        except DownloadRefused as exc:  # the link breaks a rule: a retry would fetch the same; a query may not
            self.store.set_problem(task_id, f"{exc}; open the task to fetch a fresh link")
            self._finish(claimed, None)
            return
        except (httpx.HTTPError, OSError, BotoCoreError, ClientError) as exc:
            attempts = claimed.download_attempts + 1
            if attempts >= MAX_DOWNLOAD_ATTEMPTS:
                self.store.set_problem(
                    task_id, f"the video could not be saved ({exc}); open the task to fetch a fresh link and retry"
                )
                self._finish(claimed, None, download_attempts=attempts)
                return
            log.warning("download of task %s failed, will retry: %s", task_id, exc)
            owner = self._owner_for(record, None)
            job: Job = "query" if owner is not None else "download"  # the link may have expired: a fresh one first
            delay = self.settings.poll_interval * 2.0**attempts
            self._finish(claimed, delay, download_attempts=attempts, job=job)
            return
        if record.problem:
            self.store.set_problem(task_id, None)
        self._finish(claimed, None)

    def _keep_cover(self, record: TaskRecord) -> None:
        """Keep the task's cover beside its video; one that breaks a rule, or cannot be fetched, is logged and
        left out (the page then shows no cover; the video does not wait for it)."""
        if not record.cover_url or record.cover_path is not None:
            return
        try:
            location = self.storage.save(
                record.cover_url, record.task_id, cover=True, downloader=self._cover_downloader
            )
        except (DownloadRefused, httpx.HTTPError, OSError, BotoCoreError, ClientError) as exc:
            log.warning("the cover of task %s was not kept: %s", record.task_id, exc)
            return
        self.store.set_cover(record.task_id, location)

    # --- helpers -------------------------------------------------------------------------------------------------

    def _query(self, task_id: str, owner: KeyOwner) -> TaskStatus:
        client = self._client_factory(owner)
        try:
            return client.query(task_id)
        finally:
            client.close()

    def _save(self, task_id: str, status: TaskStatus) -> None:
        """Store a query's answer; an answer means following works again, so an old problem note goes."""
        self.store.update_status(task_id, status, self._wall_clock())
        record = self.store.get(task_id)
        if record is not None and record.problem is not None:
            self.store.set_problem(task_id, None)

    def _needs_video(self, record: TaskRecord) -> bool:
        if not self.keep_videos or record.state != "success":
            return False
        return record.video_path is None or (bool(record.watermarked_url) and record.watermarked_path is None)

    def _hold(self, task_id: str, owner: KeyOwner) -> None:
        if owner.kind == "visitor" and owner.api_key is not None:
            with self._lock:
                self._keys[task_id] = owner.api_key

    def _drop_key(self, task_id: str) -> None:
        with self._lock:
            self._keys.pop(task_id, None)

    def _holds_key(self, task_id: str) -> bool:
        with self._lock:
            return task_id in self._keys

    def _owner_for(self, record: TaskRecord, owner: KeyOwner | None) -> KeyOwner | None:
        if owner is not None and owner.can_query:
            return owner
        if record.key_kind == "server":
            return KeyOwner.server()
        with self._lock:
            key = self._keys.get(record.task_id)
        return KeyOwner("visitor", key) if key is not None else None

    def _on_store_change(self, _ref: str) -> None:
        self._notify()
        self._wake.set()  # a callback's hint, or a task armed by another process: look now

    def _notify(self) -> None:
        with self._changes:
            self._generation += 1
            self._changes.notify_all()
            waiters = list(self._async_waiters)
        for loop, woken in waiters:
            with contextlib.suppress(RuntimeError):  # its loop closed meanwhile
                loop.call_soon_threadsafe(_wake_future, woken)
