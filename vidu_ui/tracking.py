"""Following a task to its end, and keeping its video.

The polling policy lives in one place, :class:`PollPolicy`: query, then wait ``poll_interval``, doubling
after each query up to ``Settings.poll_ceiling``, until the task succeeds or fails, or ``poll_max_wait`` runs out.
Transient query failures (no answer, 429, 5xx) are waited out; a refusal (401, 404…) ends the wait at once.

``follow`` runs the policy in the calling thread (the CLI's ``--wait``); ``vidu_ui.follower.Follower`` runs the
same policy for many tasks from the rows of the store. ``download`` saves a video atomically, under the rules of
``downloads.py`` (where the service may point, how large, which bytes): a half-downloaded file
only ever exists under a temporary ``.<name>.<pid>.<random>.part`` name, which ``clean_partials`` removes once
the process that wrote it is gone.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from . import downloads
from .client import ViduClient
from .downloads import PART_SUFFIX
from .errors import APIConnectionError, APIStatusError, ServerError, ViduError
from .responses import TaskStatus
from .settings import Settings

log = logging.getLogger(__name__)

BACKOFF_FACTOR = 2.0


class WaitTimeout(ViduError):
    """The task did not finish within the maximum wait. It may still finish: query it later."""

    def __init__(self, task_id: str, waited: float, last: TaskStatus | None) -> None:
        self.task_id = task_id
        self.waited = waited
        self.last = last
        state = last.state if last else "unknown"
        super().__init__(
            f"task {task_id} was still {state} after {waited:.0f} s; "
            f"it may still finish: run `python -m vidu_ui status {task_id}` later"
        )


def intervals(settings: Settings, *, callbacks: bool = False) -> Iterator[float]:
    """The waits between queries: growing by ``BACKOFF_FACTOR`` up to ``settings.poll_ceiling``."""
    ceiling = settings.poll_ceiling(callbacks=callbacks)
    wait = min(settings.poll_interval, ceiling)
    while True:
        yield wait
        wait = min(wait * BACKOFF_FACTOR, ceiling)


def is_transient(exc: ViduError) -> bool:
    """Whether a failed query is worth trying again later: no answer, 429 or a server error."""
    if isinstance(exc, APIConnectionError | ServerError):
        return True
    return isinstance(exc, APIStatusError) and exc.status_code == 429


class PollPolicy:
    """When to query one task next, without doing any waiting: the caller sleeps or schedules.

    ``started`` is a reading of the caller's monotonic clock when following began; ``callbacks`` says the
    service's callbacks reach the caller, so polling may be sparser.
    """

    def __init__(
        self, task_id: str, settings: Settings, started: float, *, callbacks: bool = False, queries: int = 0
    ) -> None:
        """``queries``: how many waits have already been taken (a policy rebuilt from a stored row)."""
        self.task_id = task_id
        self.settings = settings
        self.started = started
        self.last: TaskStatus | None = None
        self._waits = intervals(settings, callbacks=callbacks)
        for _ in range(min(queries, 64)):  # the wait reaches its ceiling long before
            next(self._waits)

    def seen(self, status: TaskStatus) -> bool:
        """Note a query's answer; True when the task is finished (nothing more to poll)."""
        self.last = status
        return status.finished

    def failed(self, exc: ViduError) -> None:
        """Note a failed query: re-raise ``exc`` unless it is transient (then the next wait applies)."""
        if not is_transient(exc):
            raise exc
        log.warning("query of task %s failed, will retry: %s", self.task_id, exc)

    def next_wait(self, now: float) -> float:
        """Seconds until the next query; raises ``WaitTimeout`` once ``poll_max_wait`` has passed."""
        elapsed = now - self.started
        if elapsed >= self.settings.poll_max_wait:
            raise WaitTimeout(self.task_id, elapsed, self.last)
        return min(next(self._waits), self.settings.poll_max_wait - elapsed)


def follow(
    client: ViduClient,
    task_id: str,
    settings: Settings,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[TaskStatus]:
    """Yield the task's status after each query until it is finished; raise ``WaitTimeout`` past the maximum wait."""
    policy = PollPolicy(task_id, settings, clock())
    while True:
        try:
            status = client.query(task_id)
        except ViduError as exc:
            policy.failed(exc)
        else:
            yield status
            if policy.seen(status):
                return
        sleep(policy.next_wait(clock()))


download = downloads.fetch
"""Save a URL atomically under a ``DownloadPolicy`` (the address, redirect, size and content rules); a partial
file is never left under the final name. Raises ``DownloadRefused`` for a rule. One function: ``downloads.fetch``."""


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but another user's
        return True
    return True


def clean_partials(folder: Path) -> list[Path]:
    """Remove the ``.part`` files a dead process left in ``folder``; return what was removed.

    A ``.part`` file of a live process (this one or, say, a CLI run sharing the folder) is left alone: it is a
    download still under way. One without a readable pid is removed.
    """
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for path in folder.glob(f".*{PART_SUFFIX}"):
        parts = path.name[: -len(PART_SUFFIX)].rsplit(".", 2)
        pid = int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None
        if pid is not None and _pid_alive(pid):
            continue
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        removed.append(path)
    return removed
