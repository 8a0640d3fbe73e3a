"""Following every task to its video, driven by the rows of the store, in one process or in several.

A task is followed while its row has ``follow_at`` (when its next job is due) and ``job`` (``query`` or
``download``). A follower claims due rows in one transaction — ``SELECT … FOR UPDATE SKIP LOCKED`` on
PostgreSQL, SQLite's single writer on one machine: the same statements — and marks them with its own id and a
lease (``lease_until``, ``settings.lease_seconds`` ahead). While it works on a row it renews the lease; when the
job is done it writes the job's result, the next due time and the lease's release **in one commit** (a crash
leaves either the row as claimed, to be taken up again when the lease lapses, or everything written). A follower
that dies leaves its leases to lapse, and then any other follower takes those tasks over. So each task is queried
by one follower at a time, however many processes run (each app process runs one; ``python -m vidu_ui worker``
runs one alone).

Queries run on one asyncio event loop, in one thread, with one long-lived ``AsyncViduClient`` (one connection
pool) per key: up to ``queries`` of them in flight at once, each with the client's overall deadline. The loop
claims the rows due within the next ``CLAIM_AHEAD`` seconds and starts each query at its row's due time. The
store is used from one thread beside the loop (claims, lease renewals, and the answers, committed in batches:
each answer with its task's release). Downloads (and the periodic reconciliation) run in ``download_workers``
threads. Threads, whatever the number of tasks: the loop, the store's, the download workers, and at most
``RESOLVERS`` for host-name lookups.

When to query next is ``tracking.PollPolicy`` (rebuilt from ``follow_since`` and ``polls``), the same policy as
the CLI's ``--wait``. A succeeded task's video (and watermarked copy) is downloaded with ``tracking.download``
(atomically) into ``vidu_ui.storage``: ``data_dir/videos/<task_id>.mp4`` by default, or a bucket. Its cover goes
the same way, beside it (``<task_id>.cover.jpg``, checked to be an image, at most ``downloads.MAX_IMAGE_BYTES``),
so that the page never shows the service's URL; a cover that cannot be kept is logged and left out (the page
shows none), without holding up the video.

The page waits for a change (``wait_for_change``, ``changed``, ``watch``) on an in-process event fed by the
store's change hook, re-reading the row at least every second so that changes written by other processes are
seen.

Keys. ``async_client_factory(owner)`` builds the follower's client for a key (kept while that key's tasks are
followed); ``client_factory(owner)`` builds a client for one call made in the caller's thread (``refresh`` with
``wait=True``, ``cancel``). ``KeyOwner.server()`` stands for the server's key. ``KeyOwner.visitor(key)`` carries
a visitor's own key: held in this process's memory only, while the task is unfinished; only this process can query
that task (a row with ``key_kind = visitor`` is claimed only by a follower holding its key). The store records
whose key it was, never a key.

Tests without threads or real time: do not call ``start``; call ``step``, which claims every due job and runs
it in the calling thread (the queries on an event loop of the step's own) at the injected ``clock``, and returns
when the next one is due.
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
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

import anyio
import httpx
import sqlalchemy as sa
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import SecretStr

from . import reconcile, tracking
from .client import AsyncViduClient, ViduClient
from .downloads import DownloadPolicy, DownloadRefused
from .errors import APIError, ViduError
from .responses import TaskStatus
from .settings import Settings
from .storage import DirectoryStorage, S3Storage, open_storage
from .store import FINAL_STATES, CreatedLike, KeyKind, PreparedLike, Store, TaskRecord, tasks

__all__ = [
    "AsyncClientFactory",
    "ClientFactory",
    "Downloader",
    "Follower",
    "KeyOwner",
    "MissingKey",
    "UnknownTask",
    "default_async_client_factory",
    "default_client_factory",
]

log = logging.getLogger(__name__)

MAX_DOWNLOAD_ATTEMPTS = 3
MAX_NAP = 1.0
"""Longest the loop sleeps without looking at the store: how soon it sees other processes' work."""
CLAIM_AHEAD = 0.25
"""Rows due within this many seconds are claimed together; each query still starts at its own due time."""
QUERIES = 1000
"""Queries one follower has in flight at once (and the connections of each key's pool): 1,000 tasks due at the
same moment, on a service answering in 0.3 s, all start within a second."""
READY_SECONDS = 30.0
"""Longest ``start`` waits for the loop to be ready (a bound for a machine under load)."""
COMMIT_BATCH = 100
"""Most answers written in one commit: the history's write lock is never held long (SQLite has one writer)."""
RESOLVERS = 2
"""Threads for host-name lookups (the event loop's default executor; a lookup is made per new connection)."""
Job = Literal["query", "download"]
_T = TypeVar("_T")


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
"""Builds a client for one call in the caller's thread; the follower closes it after the call."""
AsyncClientFactory = Callable[[KeyOwner], AsyncViduClient]
"""Builds the follower's client for a key; the follower keeps it while it follows that key's tasks."""
Downloader = Callable[[str, Path], Path]
"""Saves a URL to a path atomically (``tracking.download``)."""


def _settings_for(settings: Settings, owner: KeyOwner) -> Settings:
    if owner.kind == "visitor":
        return settings.with_key(owner.api_key.get_secret_value() if owner.api_key is not None else None)
    return settings


def default_client_factory(settings: Settings) -> ClientFactory:
    """Clients on ``settings``: the server's key, or the visitor's key for ``KeyOwner.visitor``."""

    def build(owner: KeyOwner) -> ViduClient:
        return ViduClient(_settings_for(settings, owner))

    return build


def default_async_client_factory(settings: Settings, connections: int = QUERIES) -> AsyncClientFactory:
    """The follower's clients on ``settings``, each a pool of up to ``connections`` kept-alive connections."""

    def build(owner: KeyOwner) -> AsyncViduClient:
        return AsyncViduClient(_settings_for(settings, owner), connections=connections)

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


class _Row(Protocol):
    """What the follower reads of a row to decide a job: a ``TaskRecord``, or a claimed row."""

    @property
    def task_id(self) -> str: ...
    @property
    def key_kind(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def video_path(self) -> str | None: ...
    @property
    def watermarked_url(self) -> str | None: ...
    @property
    def watermarked_path(self) -> str | None: ...


@dataclass(frozen=True)
class _Claimed:
    task_id: str
    job: Job
    follow_since: float
    polls: int
    download_attempts: int
    due: float
    """The row's ``follow_at`` when claimed: a later one when the job ends means a hint came meanwhile."""
    key_kind: str
    state: str
    video_path: str | None
    watermarked_url: str | None
    watermarked_path: str | None
    problem: str | None


_CLAIMED_COLUMNS = (
    tasks.c.task_id,
    tasks.c.job,
    tasks.c.follow_since,
    tasks.c.polls,
    tasks.c.download_attempts,
    tasks.c.follow_at,
    tasks.c.key_kind,
    tasks.c.state,
    tasks.c.video_path,
    tasks.c.watermarked_url,
    tasks.c.watermarked_path,
    tasks.c.problem,
)


_RELEASE = (
    tasks.update()
    .where(tasks.c.task_id == sa.bindparam("b_task_id"), tasks.c.lease_owner == sa.bindparam("b_owner"))
    .values(
        # A hint poked the task in another process while the job ran (a callback reached another replica): the
        # row's due time moved since the claim. The earlier time is kept, so that the hint is not lost.
        follow_at=sa.case(
            (
                sa.and_(
                    sa.bindparam("b_query_next", type_=sa.Boolean),
                    tasks.c.follow_at != sa.bindparam("b_due", type_=sa.Float),
                    tasks.c.follow_at < sa.bindparam("b_follow_at", type_=sa.Float),
                ),
                tasks.c.follow_at,
            ),
            else_=sa.bindparam("b_follow_at", type_=sa.Float),
        ),
        lease_until=None,
        job=sa.bindparam("b_job"),
        polls=sa.bindparam("b_polls"),
        download_attempts=sa.bindparam("b_download_attempts"),
    )
)
"""Ends a job (one row's parameters from ``Follower._release``): the next due time, the lease let go."""


@dataclass
class _Outcome:
    """What a query job ended with, to be written in one commit: its answer, a problem note, the next job."""

    claimed: _Claimed
    delay: float | None
    """Seconds from ``at`` to the next job; None: no longer followed."""
    at: float
    values: dict[str, Any] = field(default_factory=dict)
    """Columns the release writes too (``polls``, ``job``, ``download_attempts``)."""
    status: TaskStatus | None = None
    problem: str | None = None
    clear_problem: bool = False
    """An answer came: following works again, so an old problem note goes."""
    finished: bool = False
    """The task is finished: a visitor's key is no longer needed."""


class _Clients:
    """The follower's clients on one event loop: one per key, kept while its tasks are followed."""

    def __init__(self, factory: AsyncClientFactory) -> None:
        self._factory = factory
        self._clients: dict[str | None, AsyncViduClient] = {}
        self._users: dict[str | None, int] = {}

    @staticmethod
    def _slot(owner: KeyOwner) -> str | None:
        """The server's key is None; a visitor's key its value (in memory only, like the key itself)."""
        return owner.api_key.get_secret_value() if owner.kind == "visitor" and owner.api_key is not None else None

    @contextlib.asynccontextmanager
    async def using(self, owner: KeyOwner) -> AsyncIterator[AsyncViduClient]:
        slot = self._slot(owner)
        client = self._clients.get(slot)
        if client is None:
            client = self._clients[slot] = self._factory(owner)
        self._users[slot] = self._users.get(slot, 0) + 1
        try:
            yield client
        finally:
            self._users[slot] -= 1

    async def prune(self, held: set[str]) -> None:
        """Close the clients of visitor keys no longer held and not in use."""
        for slot in [s for s in self._clients if s is not None and s not in held and not self._users.get(s)]:
            self._users.pop(slot, None)
            await self._clients.pop(slot).aclose()

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            with contextlib.suppress(Exception):
                await client.aclose()

    def __len__(self) -> int:
        return len(self._clients)


def follower_id() -> str:
    """This process's follower id: host, pid and a random part (a restarted process is a new follower)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _wake_future(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class Follower:
    """Follows tasks from the rows of the store, keeps them up to date, saves the videos (module docstring).

    ``clock`` is Unix time (due times and leases are compared across processes); ``wall_clock`` is what the
    store records for fetched URLs. ``keep_videos`` turns downloading off (covers too); ``downloader`` replaces
    ``tracking.download`` for videos, ``cover_downloader`` for covers; ``reconcile_every`` (seconds; None:
    never) settles unanswered creates in the background (``vidu_ui.reconcile``). ``queries``: how many queries
    are in flight at once, at most.
    """

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        client_factory: ClientFactory | None = None,
        async_client_factory: AsyncClientFactory | None = None,
        clock: Callable[[], float] = time.time,
        wall_clock: Callable[[], float] | None = None,
        downloader: Downloader | None = None,
        cover_downloader: Downloader | None = None,
        keep_videos: bool = True,
        queries: int = QUERIES,
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
        self.queries = max(1, queries)
        self._client_factory = client_factory or default_client_factory(settings)
        self._async_client_factory = async_client_factory or default_async_client_factory(settings, self.queries)
        self._clock = clock
        self._wall_clock = wall_clock or clock
        if downloader is None or cover_downloader is None:
            policy = DownloadPolicy.for_settings(settings)
            downloader = downloader or functools.partial(tracking.download, policy=policy)
            cover_downloader = cover_downloader or functools.partial(tracking.download, policy=policy, kind="image")
        self._downloader: Downloader = downloader
        self._cover_downloader: Downloader = cover_downloader
        self._download_workers = max(1, download_workers)
        self._reconcile_every = reconcile_every
        self._lock = threading.Lock()  # guards the fields below
        self._keys: dict[str, SecretStr] = {}  # visitor keys held, by task id
        self._working: set[str] = set()
        self._poked: set[str] = set()
        self._downloading = 0
        self._wake_pending = False
        self._stopping = threading.Event()
        self._ready = threading.Event()
        self._stop_waits = True
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._store_pool: ThreadPoolExecutor | None = None
        self._downloads: ThreadPoolExecutor | None = None
        self._changes = threading.Condition()  # wakes ``wait_for_change``
        self._generation = 0
        self._async_waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = set()
        store.on_change(self._on_store_change)

    # --- lifecycle ---------------------------------------------------------------------------------------------

    def start(self) -> Follower:
        """Start the event loop's thread, the store's thread and the download workers. Returns self."""
        with self._lock:
            if self._thread is not None:
                return self
            self._stopping.clear()
            self._stop_waits = True
            self._loop = asyncio.new_event_loop()
            self._loop.set_default_executor(ThreadPoolExecutor(RESOLVERS, thread_name_prefix="vidu-resolve"))
            self._wake = asyncio.Event()
            self._wake_pending = False
            self._ready = threading.Event()
            self._store_pool = ThreadPoolExecutor(1, thread_name_prefix="vidu-store")
            self._downloads = ThreadPoolExecutor(self._download_workers, thread_name_prefix="vidu-download")
            self._thread = threading.Thread(
                target=self._run_loop, args=(self._loop,), name="vidu-follower", daemon=True
            )
            self._thread.start()
            ready = self._ready
        ready.wait(READY_SECONDS)
        return self

    def stop(self, *, wait: bool = True) -> None:
        """Stop following here (the rows stay; this process's leases are let go, so another follower, or the next
        start, picks the tasks up at once). ``wait``: let the queries and downloads in flight end and be written;
        else they are dropped (and simply made again)."""
        with self._lock:
            thread, self._thread = self._thread, None
            pools = (self._downloads, self._store_pool)
            self._stop_waits = wait
        self._stopping.set()
        self._wake_up()
        if thread is not None:
            thread.join()
        for pool in pools:
            if pool is not None:
                pool.shutdown(wait=wait, cancel_futures=True)
        with self._lock:
            self._loop = self._wake = None
            self._downloads = self._store_pool = None
            self._working.clear()
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
        self._wake_up()
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
        self._wake_up()

    def step(self, limit: int = 10_000) -> float | None:
        """Claim and run the jobs due now, up to ``limit``, in this thread (tests, without ``start``): the queries
        at once on an event loop of this step's own, then the downloads; return the ``clock`` time when the next
        job is due, or None when nothing this follower could run is followed."""
        claimed = self._claim(self._clock(), queries=limit, downloads=limit, ahead=0.0)
        asked = [c for c in claimed if c.job == "query"]
        if asked:
            self._commit(asyncio.run(self._step_queries(asked)))
        for job in claimed:
            if job.job == "download":
                self._run_download(job)
        return self._next_due()

    async def _step_queries(self, claimed: list[_Claimed]) -> list[_Outcome]:
        clients = _Clients(self._async_client_factory)
        try:
            return list(await asyncio.gather(*(self._query_job(c, clients) for c in claimed)))
        finally:
            await clients.aclose()

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

    def _claim(self, now: float, *, queries: int, downloads: int, ahead: float) -> list[_Claimed]:
        """Take up to ``queries`` query rows and ``downloads`` download rows due by ``now + ahead``: this
        follower's until the lease lapses (one transaction)."""
        wanted = [(job, limit) for job, limit in (("query", queries), ("download", downloads)) if limit > 0]
        if not wanted:
            return []
        rows: list[Any] = []
        with self.store.write() as conn:
            for job, limit in wanted:
                job_is = tasks.c.job == "download" if job == "download" else sa.or_(tasks.c.job != "download")
                rows += conn.execute(
                    sa.select(*_CLAIMED_COLUMNS)
                    .where(self._claimable(now), tasks.c.follow_at <= now + ahead, job_is)
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
                    lease_until=now + ahead + self.lease,
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
                r.key_kind,
                r.state,
                r.video_path,
                r.watermarked_url,
                r.watermarked_path,
                r.problem,
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

    def _release(self, claimed: _Claimed, follow_at: float | None, values: dict[str, Any]) -> dict[str, Any]:
        """The parameters of ``_RELEASE`` that end a job: the next due time (None: no longer followed)."""
        with self._lock:
            self._working.discard(claimed.task_id)
            poked = claimed.task_id in self._poked
            self._poked.discard(claimed.task_id)
        job = values.get("job", claimed.job)
        query_next = follow_at is not None and job == "query"
        if query_next and poked:  # a hint came to this process while the job ran: query again at once
            follow_at = min(self._clock(), follow_at or 0.0)
        return {
            "b_task_id": claimed.task_id,
            "b_owner": self.id,
            "b_follow_at": follow_at,
            "b_query_next": query_next,
            "b_due": claimed.due,
            "b_job": job,
            "b_polls": values.get("polls", claimed.polls),
            "b_download_attempts": values.get("download_attempts", claimed.download_attempts),
        }

    def _finish(
        self,
        claimed: _Claimed,
        delay: float | None,
        *,
        problem: str | None = None,
        clear_problem: bool = False,
        **values: Any,
    ) -> None:
        """End a job in this thread: a problem note set (or cleared), the next job ``delay`` seconds from now (None:
        no longer followed) and the lease let go, in one commit."""
        follow_at = None if delay is None else self._clock() + max(0.0, delay)
        with self.store.changes() as changes:
            if problem is not None or clear_problem:
                changes.set_problem(claimed.task_id, problem)
            changes.conn.execute(_RELEASE, [self._release(claimed, follow_at, values)])
        if delay is None:
            self._drop_key(claimed.task_id)
        self._notify()
        self._wake_up()

    def _commit(self, outcomes: list[_Outcome]) -> None:
        """Write the query jobs' outcomes: each answer, note and release together, all in one commit."""
        if not outcomes:
            return
        fetched = self._wall_clock()
        releases = []
        with self.store.changes() as changes:
            changes.statuses([(o.claimed.task_id, o.status) for o in outcomes if o.status is not None], fetched)
            for outcome in outcomes:
                task_id = outcome.claimed.task_id
                if outcome.problem is not None:
                    changes.set_problem(task_id, outcome.problem)
                elif outcome.clear_problem:
                    changes.set_problem(task_id, None)
                follow_at = None if outcome.delay is None else outcome.at + max(0.0, outcome.delay)
                releases.append(self._release(outcome.claimed, follow_at, outcome.values))
            changes.conn.execute(_RELEASE, releases)
        for outcome in outcomes:
            if outcome.delay is None or outcome.finished:
                self._drop_key(outcome.claimed.task_id)
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
        self._wake_up()
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
        self._wake_up()

    def _next_due(self) -> float | None:
        with self.store.read() as conn:
            due = conn.execute(sa.select(sa.func.min(tasks.c.follow_at)).where(self._claimable(self._clock()))).scalar()
            if due is None:  # all held by others: look again when the first lease lapses
                due = conn.execute(
                    sa.select(sa.func.min(tasks.c.lease_until)).where(tasks.c.follow_at.is_not(None))
                ).scalar()
        return None if due is None else float(due)

    # --- the loop ------------------------------------------------------------------------------------------------

    def _run_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._main())
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    async def _in_store(self, call: Callable[..., _T], *args: Any) -> _T:
        """Run a store call in the store's thread: the loop never waits on the database itself."""
        return await asyncio.get_running_loop().run_in_executor(self._store_pool, call, *args)

    async def _main(self) -> None:
        try:
            await anyio.sleep(0)  # loads httpcore's async backend now (0.5 s), not when the first query is due
        finally:
            self._ready.set()
        clients = _Clients(self._async_client_factory)
        jobs: set[asyncio.Task[None]] = set()
        outcomes: list[_Outcome] = []
        written = asyncio.Event()
        writer = asyncio.create_task(self._writer(outcomes, written))
        in_flight = 0

        async def query(claimed: _Claimed) -> None:
            nonlocal in_flight
            try:
                wait = claimed.due - self._clock()
                if wait > 0:  # claimed a little ahead: start at its due time
                    await asyncio.sleep(wait)
                outcome = await self._query_job(claimed, clients)
                outcomes.append(outcome)
                written.set()
            finally:
                in_flight -= 1

        next_renew = 0.0
        next_reconcile = self._clock() if self._reconcile_every is not None else None
        try:
            while not self._stopping.is_set():
                self._woken()
                try:
                    now = self._clock()
                    if now >= next_renew:
                        await self._in_store(self._renew)
                        next_renew = now + self.lease / 3
                    if next_reconcile is not None and now >= next_reconcile:
                        self._in_background(self._reconcile)
                        next_reconcile = now + (self._reconcile_every or reconcile.INTERVAL)
                    with self._lock:
                        free_downloads = self._download_workers - self._downloading
                    claim = functools.partial(
                        self._claim, now, queries=self.queries - in_flight, downloads=free_downloads, ahead=CLAIM_AHEAD
                    )
                    claimed = await self._in_store(claim)
                    for job in claimed:
                        if job.job == "download":
                            with self._lock:
                                self._downloading += 1
                            self._in_background(self._run_download, job)
                        else:
                            in_flight += 1
                            task = asyncio.create_task(query(job))
                            jobs.add(task)
                            task.add_done_callback(jobs.discard)
                    with self._lock:
                        held = {key.get_secret_value() for key in self._keys.values()}
                    await clients.prune(held)
                    due = await self._in_store(self._next_due)
                except Exception:
                    log.exception("the follower's loop failed; trying again")
                    due = None
                if due is not None and self.queries - in_flight > 0:
                    due -= CLAIM_AHEAD
                nap = MAX_NAP if due is None else min(MAX_NAP, max(0.0, due - self._clock()))
                if nap > 0 and self._wake is not None:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), nap)
        finally:
            if self._stop_waits:
                await asyncio.gather(*jobs, return_exceptions=True)
            else:
                for task in jobs:
                    task.cancel()
                await asyncio.gather(*jobs, return_exceptions=True)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            if outcomes:
                await self._write(outcomes)
            await clients.aclose()

    async def _writer(self, outcomes: list[_Outcome], written: asyncio.Event) -> None:
        """Commit the answers as they come: all those that arrived while the last commit ran, in one commit."""
        while True:
            await written.wait()
            written.clear()
            await self._write(outcomes)

    async def _write(self, outcomes: list[_Outcome]) -> None:
        while outcomes:
            await self._write_batch(outcomes)

    async def _write_batch(self, outcomes: list[_Outcome]) -> None:
        batch = outcomes[:COMMIT_BATCH]
        del outcomes[: len(batch)]
        try:
            await self._in_store(self._commit, batch)
        except Exception:
            log.exception("writing %d answers failed; their tasks are queried again when the lease lapses", len(batch))
            with self._lock:
                self._working.difference_update(o.claimed.task_id for o in batch)

    def _in_background(self, call: Callable[..., None], *args: Any) -> None:
        pool = self._downloads
        if pool is None:
            return
        with contextlib.suppress(RuntimeError):  # shut down meanwhile: a claimed job's lease lapses, it is redone
            pool.submit(call, *args)

    def _wake_up(self) -> None:
        """Wake the loop (from any thread); wakes asked for before it looks again count as one."""
        with self._lock:
            loop = self._loop
            if loop is None or self._wake_pending:
                return
            self._wake_pending = True
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(self._set_wake)

    def _set_wake(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def _woken(self) -> None:
        """The loop is about to look at the store: wakes asked for from now on count."""
        with self._lock:
            self._wake_pending = False
        if self._wake is not None:
            self._wake.clear()

    def _reconcile(self) -> None:
        try:
            settled = reconcile.reconcile(self.store, self.settings, lambda: self._client_factory(KeyOwner.server()))
        except Exception:
            log.exception("reconciliation failed; trying again later")
            return
        for result in settled:
            if result.verdict == "created" and result.task_id:
                self._arm(result.task_id, "query", only_if_idle=True)

    def _run_download(self, claimed: _Claimed) -> None:
        try:
            self._download(claimed)
        except Exception:
            log.exception("saving the video of task %s failed unexpectedly", claimed.task_id)
            with contextlib.suppress(Exception):
                self._finish(claimed, None, problem="stopped following after an unexpected error; see the log")
        finally:
            with self._lock:
                self._downloading = max(0, self._downloading - 1)
            self._wake_up()

    # --- the jobs ------------------------------------------------------------------------------------------------

    def _policy(self, claimed: _Claimed) -> tracking.PollPolicy:
        callbacks = self.settings.public_url is not None  # the app receives them: polling is a safety net
        return tracking.PollPolicy(
            claimed.task_id, self.settings, claimed.follow_since, callbacks=callbacks, queries=claimed.polls
        )

    async def _query_job(self, claimed: _Claimed, clients: _Clients) -> _Outcome:
        """Query one task (if it still needs it) and say what to write; never raises."""
        try:
            return await self._poll(claimed, clients)
        except Exception:
            log.exception("following task %s failed unexpectedly", claimed.task_id)
            problem = "stopped following after an unexpected error; see the log"
            return _Outcome(claimed, None, self._clock(), problem=problem)

    async def _poll(self, claimed: _Claimed, clients: _Clients) -> _Outcome:
        owner = self._owner_for(claimed, None)
        if owner is None:
            return _Outcome(claimed, None, self._clock())
        if claimed.state in FINAL_STATES and not claimed.download_attempts:
            # Finished before anyone followed it (not a retry after a failed download, which wants a fresh link).
            delay = 0.0 if self._needs_video(claimed) else None
            return _Outcome(claimed, delay, self._clock(), values={"job": "download"})
        policy = self._policy(claimed)
        polled = {"polls": claimed.polls + 1}
        try:
            async with clients.using(owner) as client:
                status = await client.query(claimed.task_id)
        except ViduError as exc:
            now = self._clock()
            try:
                policy.failed(exc)
            except ViduError:
                hint = f" {exc.hint}" if isinstance(exc, APIError) else ""
                return _Outcome(claimed, None, now, problem=f"stopped following: {exc}.{hint}")
            delay, problem = self._next_wait(policy, now)
            return _Outcome(claimed, delay, now, values=polled, problem=problem)
        now = self._clock()
        noted = claimed.problem is not None  # an answer came: following works again, an old note goes
        if not policy.seen(status):
            delay, problem = self._next_wait(policy, now)
            return _Outcome(claimed, delay, now, polled, status, problem, clear_problem=noted)
        urls = replace(claimed, state=status.state, watermarked_url=status.watermarked_url or claimed.watermarked_url)
        if status.succeeded and self._needs_video(urls):
            return _Outcome(claimed, 0.0, now, {"job": "download"}, status, clear_problem=noted, finished=True)
        return _Outcome(claimed, None, now, status=status, clear_problem=noted, finished=True)

    def _next_wait(self, policy: tracking.PollPolicy, now: float) -> tuple[float | None, str | None]:
        """Seconds to the next query, or None with the reason once the maximum wait has passed."""
        try:
            return policy.next_wait(now), None
        except tracking.WaitTimeout as exc:
            return None, f"stopped following: {exc}"

    def _download(self, claimed: _Claimed) -> None:
        task_id = claimed.task_id
        record = self.store.get(task_id)
        if record is None or not self.keep_videos:
            self._finish(claimed, None)
            return
        if not record.video_url:
            problem = "the task succeeded but the service gave no video URL; open it to query again"
            self._finish(claimed, None, problem=problem)
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
            self._finish(claimed, None, problem=f"{exc}; open the task to fetch a fresh link")
            return
        except (httpx.HTTPError, OSError, BotoCoreError, ClientError) as exc:
            attempts = claimed.download_attempts + 1
            if attempts >= MAX_DOWNLOAD_ATTEMPTS:
                problem = f"the video could not be saved ({exc}); open the task to fetch a fresh link and retry"
                self._finish(claimed, None, problem=problem, download_attempts=attempts)
                return
            log.warning("download of task %s failed, will retry: %s", task_id, exc)
            owner = self._owner_for(record, None)
            job: Job = "query" if owner is not None else "download"  # the link may have expired: a fresh one first
            delay = self.settings.poll_interval * 2.0**attempts
            self._finish(claimed, delay, download_attempts=attempts, job=job)
            return
        self._finish(claimed, None, clear_problem=bool(record.problem))

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
        """A query in the caller's thread (``refresh``), with a client for this call."""
        client = self._client_factory(owner)
        try:
            return client.query(task_id)
        finally:
            client.close()

    def _save(self, task_id: str, status: TaskStatus) -> None:
        """Store a query's answer; an answer means following works again, so an old problem note goes."""
        with self.store.changes() as changes:
            changes.status(task_id, status, self._wall_clock())
            changes.set_problem(task_id, None)

    def _needs_video(self, record: _Row) -> bool:
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

    def _owner_for(self, record: _Row, owner: KeyOwner | None) -> KeyOwner | None:
        if owner is not None and owner.can_query:
            return owner
        if record.key_kind == "server":
            return KeyOwner.server()
        with self._lock:
            key = self._keys.get(record.task_id)
        return KeyOwner("visitor", key) if key is not None else None

    def _on_store_change(self, _ref: str) -> None:
        self._notify()
        self._wake_up()  # a callback's hint, or a task armed by another process: look now

    def _notify(self) -> None:
        with self._changes:
            self._generation += 1
            self._changes.notify_all()
            waiters = list(self._async_waiters)
        for loop, woken in waiters:
            with contextlib.suppress(RuntimeError):  # its loop closed meanwhile
                loop.call_soon_threadsafe(_wake_future, woken)
