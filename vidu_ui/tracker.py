"""Following every task to its video, in the background, for the page and the CLI alike.

One scheduler thread keeps a heap of tasks ordered by when each is next due; due queries run on a small pool
(``workers`` threads) and downloads on a second one (``download_workers``), so a thousand unfinished tasks
cost a thousand heap entries, not a thousand threads. When to query next is ``tracking.PollPolicy``, the same
policy the CLI's ``--wait`` uses.

Each answer goes to the store (``Store.update_status``) and wakes whoever waits on that task
(``wait_for_change`` / ``watch``), so the page streams updates without querying the service itself. A task
that succeeded has its video (and watermarked copy) saved to ``data_dir/videos/<task_id>.mp4`` with
``tracking.download``: atomically, so a half-downloaded file never appears under that name.

Keys. The client for each call is built by ``client_factory(owner)``. ``KeyOwner.server()`` stands for the
server's configured key. ``KeyOwner.visitor(key)`` carries a visitor's own key: it lives only in this object's
memory, only while the task is unfinished, and is dropped as soon as the task succeeds or fails (or following
stops). The store records only whose key it was (``key_kind``), never a key. So after a restart, ``resume``
picks up the server's tasks; a visitor's unfinished task waits until the visitor comes back with the key
(``track(task_id, KeyOwner.visitor(key))`` or ``refresh(task_id, KeyOwner.visitor(key))``).

Testing without threads or real time: do not call ``start``; call ``step`` instead, which runs every due job
in the calling thread against the injected ``clock`` and returns when the next one is due.
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import httpx
from pydantic import SecretStr

from . import tracking
from .client import ViduClient
from .downloads import DownloadPolicy, DownloadRefused
from .errors import APIError, ViduError
from .responses import TaskStatus
from .settings import Settings
from .store import CreatedLike, KeyKind, PreparedLike, Store, TaskRecord, private_dir

__all__ = [
    "ClientFactory",
    "Downloader",
    "KeyOwner",
    "MissingKey",
    "Tracker",
    "UnknownTask",
    "default_client_factory",
]

log = logging.getLogger(__name__)

MAX_DOWNLOAD_ATTEMPTS = 3
_SCHEDULER_NAP = 30.0  # longest the scheduler sleeps without a reason to wake: a safety net only


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
"""Builds a client for one call; the tracker closes it after the call."""
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


@dataclass(eq=False)
class _Followed:
    task_id: str
    owner: KeyOwner
    policy: tracking.PollPolicy
    job: Literal["query", "download"] = "query"
    seq: int = 0
    busy: bool = False
    poked: bool = False
    download_attempts: int = 0


class Tracker:
    """Follows tasks in the background, keeps the store up to date, saves the videos. See the module docstring.

    ``clock`` is monotonic (scheduling); ``wall_clock`` is Unix time (what the store records). ``keep_videos``
    turns downloading off. ``downloader`` replaces ``tracking.download`` (tests inject failures).
    """

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        client_factory: ClientFactory | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        downloader: Downloader | None = None,
        keep_videos: bool = True,
        workers: int = 4,
        download_workers: int = 2,
    ) -> None:
        self.settings = settings
        self.store = store
        self.video_dir = settings.data_dir / "videos"
        self.keep_videos = keep_videos
        self._client_factory = client_factory or default_client_factory(settings)
        self._clock = clock
        self._wall_clock = wall_clock
        self._downloader: Downloader = downloader or functools.partial(
            tracking.download, policy=DownloadPolicy.for_settings(settings)
        )
        self._workers = max(1, workers)
        self._download_workers = max(1, download_workers)
        self._cond = threading.Condition()  # guards the fields below and wakes the scheduler
        self._followed: dict[str, _Followed] = {}
        self._heap: list[tuple[float, int, str]] = []
        self._seq = itertools.count(1)
        self._thread: threading.Thread | None = None
        self._queries: ThreadPoolExecutor | None = None
        self._downloads: ThreadPoolExecutor | None = None
        self._stopping = False
        self._changes = threading.Condition()  # wakes ``wait_for_change``
        self._generation = 0

    # --- lifecycle ---------------------------------------------------------------------------------------------

    def start(self) -> Tracker:
        """Start the scheduler thread and the worker pools. Returns self."""
        with self._cond:
            if self._thread is not None:
                return self
            self._stopping = False
            self._queries = ThreadPoolExecutor(self._workers, thread_name_prefix="vidu-query")
            self._downloads = ThreadPoolExecutor(self._download_workers, thread_name_prefix="vidu-download")
            self._thread = threading.Thread(target=self._loop, name="vidu-tracker", daemon=True)
            self._thread.start()
        return self

    def stop(self, *, wait: bool = True) -> None:
        """Stop following (tasks stay unfinished in the store; ``resume`` picks them up next time)."""
        with self._cond:
            self._stopping = True
            thread, self._thread = self._thread, None
            pools = (self._queries, self._downloads)
            self._queries = self._downloads = None
            self._cond.notify_all()
        if thread is not None:
            thread.join()
        for pool in pools:
            if pool is not None:
                pool.shutdown(wait=wait, cancel_futures=True)

    def __enter__(self) -> Tracker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what the page and the CLI call ------------------------------------------------------------------------

    def add(
        self,
        request: PreparedLike,
        created: CreatedLike,
        owner: KeyOwner | None = None,
        *,
        user: str | None = None,
    ) -> None:
        """Record a just-created task (durably) and start following it: what to call after ``submit``."""
        owner = owner or KeyOwner.server()
        self.store.record_prepared(request, created, user=user, key_kind=owner.kind)
        self._notify()
        self.track(created.task_id, owner)

    def track(self, task_id: str, owner: KeyOwner | None = None) -> None:
        """Follow a task of the history until it is finished and its video saved; a no-op if already followed
        (except that a visitor's key given again is taken). Raises ``UnknownTask`` if it is not in the store."""
        if self.store.get(task_id) is None:
            raise UnknownTask(task_id)
        owner = owner or KeyOwner.server()
        with self._cond:
            followed = self._followed.get(task_id)
            if followed is not None:
                if owner.can_query and not followed.owner.can_query:
                    followed.owner = owner
                return
            self._follow(task_id, owner, "query")

    def resume(self) -> list[str]:
        """Pick up what was left when the app last stopped; returns the ids that wait for a visitor's key.

        Removes ``.part`` files of dead processes, follows every unfinished task created with the server's
        key, and saves the videos of succeeded tasks whose download did not complete.
        """
        tracking.clean_partials(self.video_dir)
        waiting: list[str] = []
        for record in self.store.unfinished():
            if record.key_kind == "server":
                self.track(record.task_id)
            else:
                waiting.append(record.task_id)
        if self.keep_videos:
            for record in self.store.missing_videos():
                if record.key_kind == "server":
                    self.track(record.task_id)
                elif record.video_url and record.urls_fresh(self._wall_clock()):
                    with self._cond:
                        if record.task_id not in self._followed:
                            self._follow(record.task_id, KeyOwner("visitor"), "download")
                else:
                    waiting.append(record.task_id)
        for task_id in waiting:
            if self._holds_key(task_id):
                continue
            self.store.set_problem(task_id, MissingKey(task_id).args[0])
        return waiting

    def refresh(self, task_id: str, owner: KeyOwner | None = None, *, wait: bool = True) -> TaskRecord | None:
        """Query the task now: fresh result URLs, the confirmed state; follows it again if unfinished.

        ``wait=True`` (the page opening a task): query in this thread and return the updated record; raises
        the client's ``APIError``, ``UnknownTask``, or ``MissingKey`` for a visitor's task without its key.
        ``wait=False`` (a callback's hint): schedule the query as soon as possible and return None at once;
        a visitor's task whose key is not held is left alone.
        """
        record = self.store.get(task_id)
        if record is None:
            raise UnknownTask(task_id)
        owner = self._owner_for(record, owner)
        if not wait:
            if owner is not None:
                self._poke(task_id, owner)
            return None
        if owner is None:
            raise MissingKey(task_id)
        status = self._query(task_id, owner)
        self._save(task_id, status)
        if not status.finished:
            self.track(task_id, owner)
        elif self._needs_video(task_id):
            with self._cond:
                if task_id not in self._followed:
                    self._follow(task_id, owner.without_key(), "download")
        return self.store.get(task_id)

    def cancel(self, task_id: str, owner: KeyOwner | None = None) -> None:
        """Ask the service to cancel the task, then query it soon to confirm."""
        record = self.store.get(task_id)
        if record is None:
            raise UnknownTask(task_id)
        owner = self._owner_for(record, owner)
        if owner is None:
            raise MissingKey(task_id)
        client = self._client_factory(owner)
        try:
            client.cancel(task_id)
        finally:
            client.close()
        self._poke(task_id, owner)

    def is_following(self, task_id: str) -> bool:
        """Whether the task is still being followed (polled, or its video being saved)."""
        with self._cond:
            return task_id in self._followed

    def signing_key(self, task_id: str) -> str | None:
        """The key that created the task, to check its callbacks: the server's key for a server task, a
        visitor's key only while it is held (the task unfinished); None otherwise or for an unknown task."""
        record = self.store.get(task_id)
        if record is None:
            return None
        if record.key_kind == "server":
            key = self.settings.api_key
        else:
            with self._cond:
                followed = self._followed.get(task_id)
                key = followed.owner.api_key if followed is not None else None
        return key.get_secret_value() if key is not None else None

    def wait_for_change(self, task_id: str, after_version: int, timeout: float) -> TaskRecord | None:
        """The task's record once its ``version`` is above ``after_version``, or None after ``timeout`` real
        seconds (or if the task is unknown). Also notices changes written by another process, within a second."""
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
                if not self.is_following(task_id):  # finished elsewhere, or following stopped
                    current = self.store.get(task_id)
                    if current is None or current.version == version:
                        return
                    record = current
                    break

    def step(self) -> float | None:
        """Run every job due now in this thread (tests, without ``start``); return the ``clock`` time when the
        next job is due, or None when nothing is followed."""
        for followed in self._take_due(self._clock()):
            self._run(followed)
        with self._cond:
            return self._next_due()

    # --- scheduling ----------------------------------------------------------------------------------------------

    def _follow(self, task_id: str, owner: KeyOwner, job: Literal["query", "download"]) -> None:
        # Called with ``_cond`` held.
        callbacks = self.settings.public_url is not None  # the app receives them: polling is a safety net
        policy = tracking.PollPolicy(task_id, self.settings, self._clock(), callbacks=callbacks)
        followed = _Followed(task_id, owner, policy, job)
        self._followed[task_id] = followed
        self._schedule(followed, 0.0)

    def _schedule(self, followed: _Followed, delay: float) -> None:
        # Called with ``_cond`` held.
        followed.seq = next(self._seq)
        heapq.heappush(self._heap, (self._clock() + max(0.0, delay), followed.seq, followed.task_id))
        self._cond.notify_all()

    def _poke(self, task_id: str, owner: KeyOwner) -> None:
        with self._cond:
            followed = self._followed.get(task_id)
            if followed is None:
                self._follow(task_id, owner, "query")
            elif followed.busy:
                followed.poked = True
            else:
                followed.job = "query"
                self._schedule(followed, 0.0)

    def _next_due(self) -> float | None:
        while self._heap:
            due, seq, task_id = self._heap[0]
            followed = self._followed.get(task_id)
            if followed is not None and followed.seq == seq and not followed.busy:
                return due
            heapq.heappop(self._heap)  # superseded
        return None

    def _take_due(self, now: float) -> list[_Followed]:
        taken: list[_Followed] = []
        with self._cond:
            while (due := self._next_due()) is not None and due <= now:
                _, _, task_id = heapq.heappop(self._heap)
                followed = self._followed[task_id]
                followed.busy = True
                taken.append(followed)
        return taken

    def _loop(self) -> None:
        while True:
            with self._cond:
                if self._stopping:
                    return
                queries, downloads = self._queries, self._downloads
            for followed in self._take_due(self._clock()):
                pool = downloads if followed.job == "download" else queries
                if pool is None:
                    return
                try:
                    pool.submit(self._run, followed)
                except RuntimeError:  # shut down meanwhile
                    return
            with self._cond:
                if self._stopping:
                    return
                due = self._next_due()
                nap = _SCHEDULER_NAP if due is None else min(_SCHEDULER_NAP, due - self._clock())
                if nap > 0:
                    self._cond.wait(nap)

    def _run(self, followed: _Followed) -> None:
        delay: float | None = None
        try:
            delay = self._download(followed) if followed.job == "download" else self._poll(followed)
        except Exception:
            log.exception("following task %s failed unexpectedly", followed.task_id)
            with contextlib.suppress(Exception):
                self._set_problem(followed.task_id, "stopped following after an unexpected error; see the log")
        with self._cond:
            followed.busy = False
            if followed.poked and followed.owner.can_query:
                followed.poked, followed.job, delay = False, "query", 0.0
            if delay is None:
                if self._followed.get(followed.task_id) is followed:
                    del self._followed[followed.task_id]  # the visitor's key, if any, goes with it
            else:
                self._schedule(followed, delay)
        self._notify()

    # --- the jobs ------------------------------------------------------------------------------------------------

    def _poll(self, followed: _Followed) -> float | None:
        """Query once; the delay before the next job, or None when done following."""
        task_id = followed.task_id
        try:
            status = self._query(task_id, followed.owner)
        except ViduError as exc:
            try:
                followed.policy.failed(exc)
            except ViduError:
                hint = f" {exc.hint}" if isinstance(exc, APIError) else ""
                self._set_problem(task_id, f"stopped following: {exc}.{hint}")
                return None
            return self._next_wait(followed)
        self._save(task_id, status)
        if not followed.policy.seen(status):
            return self._next_wait(followed)
        followed.owner = followed.owner.without_key()  # finished: a visitor's key is no longer needed
        if status.succeeded and self._needs_video(task_id):
            followed.job = "download"
            return 0.0
        return None

    def _next_wait(self, followed: _Followed) -> float | None:
        try:
            return followed.policy.next_wait(self._clock())
        except tracking.WaitTimeout as exc:
            self._set_problem(followed.task_id, f"stopped following: {exc}")
            return None

    def _download(self, followed: _Followed) -> float | None:
        task_id = followed.task_id
        record = self.store.get(task_id)
        if record is None or not self.keep_videos:
            return None
        if not record.video_url:
            self._set_problem(task_id, "the task succeeded but the service gave no video URL; open it to query again")
            return None
        try:
            private_dir(self.video_dir)
            if record.video_path is None:
                path = self._downloader(record.video_url, self.video_path(task_id))
                self.store.set_video(task_id, path)
            if record.watermarked_url and record.watermarked_path is None:
                path = self._downloader(record.watermarked_url, self.video_path(task_id, watermarked=True))
                self.store.set_video(task_id, path, watermarked=True)
        except DownloadRefused as exc:  # the link breaks a rule: a retry would fetch the same; a query may not
            self._set_problem(task_id, f"{exc}; open the task to fetch a fresh link")
            return None
        except (httpx.HTTPError, OSError) as exc:
            followed.download_attempts += 1
            if followed.download_attempts >= MAX_DOWNLOAD_ATTEMPTS:
                self._set_problem(
                    task_id, f"the video could not be saved ({exc}); open the task to fetch a fresh link and retry"
                )
                return None
            log.warning("download of task %s failed, will retry: %s", task_id, exc)
            if followed.owner.can_query:
                followed.job = "query"  # the link may have expired: fetch a fresh one first
            return self.settings.poll_interval * 2.0**followed.download_attempts
        if record.problem:
            self.store.set_problem(task_id, None)
        return None

    def video_path(self, task_id: str, *, watermarked: bool = False) -> Path:
        """Where a task's video is saved: ``data_dir/videos/<task_id>.mp4`` (``.watermarked.mp4`` for the copy)."""
        return self.video_dir / f"{task_id}{'.watermarked' if watermarked else ''}.mp4"

    # --- helpers -------------------------------------------------------------------------------------------------

    def _query(self, task_id: str, owner: KeyOwner) -> TaskStatus:
        client = self._client_factory(owner)
        try:
            return client.query(task_id)
        finally:
            client.close()

    def _save(self, task_id: str, status: TaskStatus) -> None:
        """Store a query's answer; an answer means following works again, so an old problem note goes."""
        changed = self.store.update_status(task_id, status, self._wall_clock())
        record = self.store.get(task_id)
        if record is not None and record.problem is not None:
            self.store.set_problem(task_id, None)
            changed = True
        if changed:
            self._notify()

    def _set_problem(self, task_id: str, problem: str | None) -> None:
        self.store.set_problem(task_id, problem)
        self._notify()

    def _needs_video(self, task_id: str) -> bool:
        record = self.store.get(task_id)
        if not self.keep_videos or record is None or record.state != "success":
            return False
        return record.video_path is None or (bool(record.watermarked_url) and record.watermarked_path is None)

    def _holds_key(self, task_id: str) -> bool:
        with self._cond:
            followed = self._followed.get(task_id)
            return followed is not None and followed.owner.can_query

    def _owner_for(self, record: TaskRecord, owner: KeyOwner | None) -> KeyOwner | None:
        if owner is not None and owner.can_query:
            return owner
        with self._cond:
            followed = self._followed.get(record.task_id)
            if followed is not None and followed.owner.can_query:
                return followed.owner
        return KeyOwner.server() if record.key_kind == "server" else None

    def _notify(self) -> None:
        with self._changes:
            self._generation += 1
            self._changes.notify_all()
