"""The result side of the page: a task's live state, its video, Cancel and Look up.

The page never queries the service to follow a task: the tracker does (with backoff and a maximum wait), and
``Results.follow`` waits for the history row to change (``Tracker.wait_for_change``) in threads of its own, then
shows the new state. While a task runs, the elapsed time is refreshed each second.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import gradio as gr

from ..errors import InvalidInput, ViduError
from ..messages import Lang, Reader, reason_hint, render_error, render_problem, say, state_text
from ..request import task_id_problem
from ..responses import Credits, TaskStatus, outcome
from ..storage import is_bucket_location
from ..store import TaskRecord
from ..tracker import MissingKey, UnknownTask, default_client_factory
from .access import Viewer
from .media import file_value
from .runtime import Runtime

__all__ = ["VIEW_FIELDS", "Results", "Watching", "account_queue", "timeline"]

log = logging.getLogger("vidu_ui.studio")

VIEW_FIELDS = (
    "status",
    "timeline",
    "video",
    "cover",
    "download",
    "download_watermarked",
    "credits",
    "cancel",
    "response",
)
"""The outputs of every event that shows a task, in this order."""
TICK = 1.0
"""Seconds between refreshes of the elapsed time while a task runs."""
STEPS = ("created", "queueing", "processing")
"""The documented states a task goes through before its end, in order (``vidu-api.md``)."""
WAITING = ("created", "queueing")
"""The states in which a task waits for a place on the account: the account's queue is worth showing then."""


def _count(value: int | None) -> int | None:
    return value if value is not None and value >= 0 else None


def account_queue(answer: Credits, lang: Lang) -> str:
    """The account's queue as the credits call tells it (``current_concurrency``, ``concurrency_limit``,
    ``queue_count``), e.g. "3 of 5 running on this account, 2 queued": from the first line of the answer that
    gives any of them, each part only when the answer gives it; empty when it gives none."""
    for line in answer.remains:
        running, limit = _count(line.current_concurrency), _count(line.concurrency_limit)
        queued = _count(line.queue_count)
        if running is not None and limit is not None:
            first = say(lang, "account_queue", running=running, limit=limit)
        elif running is not None:
            first = say(lang, "account_queue_running", running=running)
        elif limit is not None:
            first = say(lang, "account_queue_limit", limit=limit)
        else:
            first = ""
        waiting = say(lang, "account_queue_waiting", count=queued) if queued is not None else ""
        if first and waiting:
            return say(lang, "account_queue_both", first=first, second=waiting)
        if first or waiting:
            return first or waiting
    return ""


def timeline(record: TaskRecord, seen: dict[str, float], lang: Lang, queue: str = "") -> str:
    """The task's states so far as a line: each documented step passed (✓), the one it is in (●), those to come
    (○), then its end; with the seconds since it was sent at which this view first saw each state (none for a
    state passed before the view began), the service's ``progress`` when it gave one, and while the task waits,
    the account's queue (``account_queue``) when the credits call told it. Nothing invented."""
    shown = outcome(record.state, record.err_code)
    current = STEPS.index(shown) if shown in STEPS else len(STEPS)
    parts = []
    for index, step in enumerate(STEPS):
        mark = "✓" if index < current else "●" if index == current else "○"
        text = f"{mark} {say(lang, f'state_{step}')}"
        if step in seen and index <= current:
            text += " " + say(lang, "seconds_short", seconds=max(0, round(seen[step] - record.created_at)))
        parts.append(text)
    if record.finished:
        end = "cancelled" if shown == "cancelled" else record.state if record.state in ("success", "failed") else ""
        if end:
            text = f"{'✓' if end == 'success' else '✕'} {say(lang, f'state_{end}')}"
            if end in seen:
                text += " " + say(lang, "seconds_short", seconds=max(0, round(seen[end] - record.created_at)))
            parts.append(text)
    elif shown == "running":
        parts.append("● " + state_text(lang, record.state))
    else:
        parts.append("○ " + say(lang, "state_success"))
    line = " → ".join(f'<span class="vu-step">{part}</span>' for part in parts)  # a step never breaks
    progress = (record.last_status or {}).get("progress")
    if not record.finished and isinstance(progress, int | float) and not isinstance(progress, bool):
        line += " · " + say(lang, "progress", progress=f"{min(max(progress, 0), 100):g}")
    if queue and shown in WAITING:
        line += " · " + f'<span class="vu-queue">{queue}</span>'
    return line


def latest_answer(record: TaskRecord, lang: Lang) -> dict[str, Any]:
    """The Response panel: the service's latest answer about the task (its last query, else the create's), labelled
    with when it came."""
    answer = record.last_status or record.create_response or None
    moment = time.strftime("%H:%M:%S", time.localtime(record.updated_at if record.last_status else record.created_at))
    key = "response_query" if record.last_status else "response_create"
    return gr.update(value=answer, label=say(lang, key, time=moment))


class Watching:
    """Which task this browser session shows (held in ``gr.State``): a newer view stops the older one's loop."""

    def __init__(self) -> None:
        self.task_id: str | None = None
        self._token = 0

    def __deepcopy__(self, memo: dict[int, Any]) -> Watching:
        return Watching()

    def show(self, task_id: str) -> int:
        self.task_id = task_id
        self._token += 1
        return self._token

    def current(self, token: int) -> bool:
        return token == self._token


class Results:
    """The handlers of the result view. Holds no per-user state; the runtime is the app's."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.store = runtime.store
        self.tracker = runtime.tracker

    def viewer(self, request: gr.Request | None, api_key: str | None = None) -> Viewer:
        return Viewer.of(self.settings, request, api_key)

    def reader(self) -> Reader:
        return "operator" if self.settings.api_key is not None else "visitor"

    def error_text(self, exc: Exception, viewer: Viewer) -> str:
        """An error in the viewer's words: what happened, and what to do."""
        _title, happened, advice = render_error(exc, viewer.lang, self.reader())
        return " ".join([happened.rstrip(".") + ".", *advice])

    # --- one task, as the page shows it ----------------------------------------------------------------------

    def local_copy(self, path: str | None) -> str | None:
        """The published (servable) path of a saved video, or None when there is none: a file is published by
        the app, a video in a bucket gets a short-lived presigned link (``vidu_ui.storage``)."""
        if path and is_bucket_location(path):
            return self.tracker.storage.link(path)
        return self.runtime.stage.publish(path) if path else None

    def status_text(
        self,
        record: TaskRecord,
        viewer: Viewer,
        following: bool,
        local: str | None,
        remote: str | None,
    ) -> str:
        """The state in words: elapsed time while running, why it failed, where the video plays from."""
        lang = viewer.lang
        lines = [f"**{state_text(lang, record.state, record.err_code)}**"]
        last = record.last_status or {}
        if not record.finished:
            seconds = max(0, round(time.time() - record.created_at))
            lines[0] += " · " + say(lang, "elapsed", seconds=seconds)
            lines.append(say(lang, "following" if following else "not_followed"))
        elif outcome(record.state, record.err_code) == "cancelled":
            lines.append(say(lang, "cancelled_note"))
        elif record.state == "failed":
            lines.append(reason_hint(lang, record.err_code))
        elif local is not None:
            lines.append(say(lang, "video_local"))
        elif remote is None:
            lines.append(say(lang, "video_expired"))
        else:
            if following and self.tracker.keep_videos:
                lines.append(say(lang, "saving_video"))
            else:
                lines.append(say(lang, "video_remote" if self.tracker.keep_videos else "video_not_kept"))
            lines.append(say(lang, "open_at_service", url=remote))
        blocked = [b for b in last.get("blocked_resources") or [] if isinstance(b, dict)]
        if blocked:
            what = ", ".join(
                say(lang, "blocked_item", kind=b.get("content_type", "?"), index=b.get("index")) for b in blocked
            )
            lines.append(say(lang, "blocked", what=what))
        if record.problem:
            lines.append(say(lang, "problem", problem=record.problem))
        return "  \n".join(lines)

    def view(
        self,
        record: TaskRecord,
        viewer: Viewer,
        *,
        following: bool | None = None,
        seen: dict[str, float] | None = None,
        queue: str = "",
    ) -> tuple[Any, ...]:
        """The outputs named in ``VIEW_FIELDS`` for ``record``, for an event with ``postprocess=False``.

        Call only once ``viewer.may_see(record)``: the saved video is published for Gradio to serve here. The
        player takes the service's URL only when no local copy is coming: Gradio's player loads it with CORS,
        which a service's storage may not allow; the status always links to it until the local copy is there.
        """
        if following is None:
            following = self.tracker.is_following(record.task_id)
        fresh = record.urls_fresh(time.time())
        local = self.local_copy(record.video_path)
        remote = record.video_url if fresh and record.video_url else None
        saving = following and self.tracker.keep_videos and record.state == "success"
        video = local or (None if saving else remote)
        watermarked = self.local_copy(record.watermarked_path)
        cover = self.local_copy(record.cover_path)  # kept beside the video; never the service's URL
        name = f"{record.task_id}.mp4"

        def shown(location: str | None, filename: str, mime_type: str) -> dict[str, Any]:
            value = file_value(location, filename, mime_type) if location else None
            return gr.update(value=value, visible=location is not None)

        return (
            self.status_text(record, viewer, following, local, remote),
            timeline(record, seen or {}, viewer.lang, queue),
            file_value(video, name, "video/mp4") if video else None,
            shown(cover, f"{record.task_id}.jpg", "image/jpeg"),
            shown(local, name, "video/mp4"),
            shown(watermarked, f"{record.task_id}.watermarked.mp4", "video/mp4"),
            "—" if record.credits is None else f"{record.credits:g}",
            gr.update(visible=not record.finished),
            latest_answer(record, viewer.lang),
        )

    # --- following ---------------------------------------------------------------------------------------------

    async def follow_linked(
        self, task_id: str | None, watching: Watching | None, request: gr.Request
    ) -> AsyncIterator[tuple[Any, ...]]:
        """``follow`` for the task of the page's link, at page load: the viewer by their sign-in, never by the key
        box. (Not taking the key box as an input matters: Gradio wipes an input's validation message whenever an
        event using it starts, and this one can start late, after a quick Generate refused for a missing key.)"""
        async for view in self.follow(task_id, None, watching, request):
            yield view

    async def follow(
        self,
        task_id: str | None,
        api_key: str | None,
        watching: Watching | None,
        request: gr.Request,
    ) -> AsyncIterator[tuple[Any, ...]]:
        """Show the task now and after each change until it is finished (and its video saved), or until the
        page shows another task. Waiting holds no thread: the store's change event wakes it."""
        if not task_id:  # no task to show (a page opened without a task's link): leave the view as it is
            yield (gr.skip(),) * len(VIEW_FIELDS)
            return
        viewer = self.viewer(request, api_key)
        record = viewer.visible(self.store, task_id)
        watching = watching or Watching()
        token = watching.show(task_id)
        deadline = time.monotonic() + self.settings.poll_max_wait + 120
        last: tuple[Any, ...] | None = None
        seen: dict[str, float] = {}  # when this view first saw each state (the timeline's times)
        queues: dict[str, str] = {}  # the account's queue, read once in each waiting state (``account_queue``)
        while True:
            if not watching.current(token):
                # The page shows another task now. Gradio shows an event's last output again when the event ends,
                # so the last one given is "no change", never this task's view over the newer one.
                yield (gr.skip(),) * len(VIEW_FIELDS)
                return
            following = self.tracker.is_following(task_id)
            if not following:
                # The tracker saves a task's last state before it stops following it: read that, not the record
                # taken before it finished (under load the two can cross).
                record = self.store.get(task_id) or record
            state = outcome(record.state, record.err_code)
            if state not in seen and (last is not None or state == "created"):  # reached before the view: no time
                seen[state] = record.created_at if state == "created" else record.updated_at
            shown = self.view(record, viewer, following=following, seen=seen, queue=queues.get(state, ""))
            yield shown if last is None else tuple(gr.skip() if a == b else a for a, b in zip(shown, last, strict=True))
            last = shown
            done = record.finished and not following
            if done or not following or time.monotonic() > deadline:
                return
            if state in WAITING and state not in queues and viewer.owner.can_query:
                # after the state is shown (a slow credits call never holds it back); shown at the next refresh
                queues[state] = await asyncio.to_thread(self.account_queue, viewer)
            version = record.version
            changed = await self.tracker.changed(task_id, version, TICK)  # no thread held while waiting
            record = changed or self.store.get(task_id) or record

    def account_queue(self, viewer: Viewer) -> str:
        """The account's queue in the viewer's words, from one credits call with the viewer's key (the server's,
        or a visitor's own); empty when the answer does not tell it or the call fails (it is only a hint)."""
        if not viewer.owner.can_query:
            return ""
        try:
            with default_client_factory(self.settings)(viewer.owner) as client:
                return account_queue(client.credits(), viewer.lang)
        except ViduError as exc:
            log.info("the credits call failed, so the account's queue is not shown: %s", type(exc).__name__)
            return ""

    # --- cancel and look up --------------------------------------------------------------------------------------

    def cancel(self, task_id: str | None, api_key: str | None, request: gr.Request) -> None:
        """Ask the service to cancel the task shown; the view follows the outcome."""
        if not task_id:
            return
        viewer = self.viewer(request, api_key)
        record = viewer.visible(self.store, task_id)
        if record.finished:
            return
        try:
            self.tracker.cancel(task_id, viewer.owner)
        except MissingKey:
            raise gr.Error(say(viewer.lang, "key_needed", task_id=task_id), print_exception=False) from None
        except ViduError as exc:
            message = f"{say(viewer.lang, 'cancel_refused', task_id=task_id)}: {self.error_text(exc, viewer)}"
            raise gr.Error(message, print_exception=False) from None
        gr.Info(say(viewer.lang, "cancel_sent", task_id=task_id))

    def refresh(self, record: TaskRecord, viewer: Viewer) -> None:
        """Query the task now (fresh links, the confirmed state); on failure say so and show what is stored."""
        try:
            self.tracker.refresh(record.task_id, viewer.owner, wait=True)
        except MissingKey:
            gr.Warning(say(viewer.lang, "key_needed", task_id=record.task_id))
        except (ViduError, UnknownTask) as exc:
            gr.Warning(say(viewer.lang, "refresh_failed", error=self.error_text(exc, viewer)))

    def lookup(self, text: str | None, api_key: str | None, request: gr.Request) -> str:
        """A pasted task id: the task from the history, or queried with this viewer's key and then recorded
        (minimally: no prompt, options or thumbnails) so it is followed, kept and listed like the others."""
        viewer = self.viewer(request, api_key)
        task_id = (text or "").strip()
        refused = task_id_problem(task_id)  # the one task-id rule: also the client's and the callbacks'
        if refused is not None:
            raise gr.Error(render_problem(refused, viewer.lang, with_field=False), print_exception=False)
        record = self.store.get(task_id)
        if record is not None:
            if not viewer.may_see(record):
                raise gr.Error(say(viewer.lang, "not_yours", task_id=task_id), print_exception=False)
            self.refresh(record, viewer)
            return task_id
        if not viewer.owner.can_query or (viewer.user is None and not viewer.everyone):
            raise gr.Error(say(viewer.lang, "no_viewer"), print_exception=False)
        status = self._query(task_id, viewer)
        if not self.store.record_submission(
            task_id=task_id, body={}, response=status.raw, user=viewer.user, key_kind=viewer.owner.kind
        ):  # recorded meanwhile (its creator's answer arrived): a look-up never takes a task over
            record = self.store.get(task_id)
            if record is not None and not viewer.may_see(record):
                raise gr.Error(say(viewer.lang, "not_yours", task_id=task_id), print_exception=False)
        self.store.update_status(task_id, status)
        if not status.finished or self.tracker.keep_videos:
            self.tracker.track(task_id, viewer.owner)
        return task_id

    def _query(self, task_id: str, viewer: Viewer) -> TaskStatus:
        client = self.runtime.client_factory(viewer.owner)
        try:
            return client.query(task_id)
        except (ViduError, InvalidInput) as exc:
            raise gr.Error(self.error_text(exc, viewer), print_exception=False) from None
        finally:
            client.close()
