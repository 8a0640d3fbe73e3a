"""The API calls (create, query, cancel, credits, list), the result files and the background work behind them."""

from __future__ import annotations

import abc
import json
import logging
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from ..request import task_id_problem
from .callbacks import FINAL_STATES, CallbackSender
from .files import FileLinks, download
from .tasks import CONCURRENCY, Task, TaskStore, price, rfc3339
from .validate import Rejection, check_pair, image_size, parse_body, sniff, validate_create
from .video import task_media
from .wire import Response, error_response, json_response, ranged

logger = logging.getLogger("vidu_ui.simulator")
_STATES = ("created", "queueing", "processing", "success", "failed")
_LIST_PARAMS = frozenset({"task_ids", "states", "created_at.from", "created_at.to", "pager.pagesz", "pager.page_token"})
_LABELS = ("the start image", "the end image")


class Api(abc.ABC):
    """Everything behind the routes; :class:`~.server.Simulator` adds the HTTP server around it."""

    def __init__(
        self,
        api_key: str,
        *,
        queue_seconds: float,
        process_seconds: float,
        off_peak_factor: float,
        credits: int,
        url_ttl: float,
        callback_retries: int,
        callback_backoff: float,
    ) -> None:
        self._key = api_key
        self.links = FileLinks(url_ttl)
        self.initial_credits = credits
        self.callback_retries, self.callback_backoff = callback_retries, callback_backoff
        self.store = TaskStore(
            queue_seconds=queue_seconds,
            process_seconds=process_seconds,
            off_peak_factor=off_peak_factor,
            credits=credits,
        )
        self._stop = threading.Event()
        self._media = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sim-media")
        self.callbacks = CallbackSender(api_key, retries=callback_retries, backoff=callback_backoff)
        self._ticker: threading.Thread | None = None
        self._workers_closed = False
        self.create_count = 0
        """Tasks created (successful create calls, including those a fault hid) since the last reset."""

    def __repr__(self) -> str:  # never show the key
        return f"<{type(self).__name__} {self.base_url}>"

    @property
    @abc.abstractmethod
    def base_url(self) -> str:
        """Where the server answers: the files' signed URLs hang off it (the server subclass knows its port)."""

    @property
    def queue_seconds(self) -> float:
        """Seconds a new task waits in ``created``/``queueing`` before it may start."""
        return self.store.queue_seconds

    @queue_seconds.setter
    def queue_seconds(self, value: float) -> None:
        self.store.queue_seconds = value

    @property
    def process_seconds(self) -> float:
        """Seconds a new task spends ``processing`` (one already created keeps its own)."""
        return self.store.process_seconds

    @process_seconds.setter
    def process_seconds(self, value: float) -> None:
        self.store.process_seconds = value

    @property
    def credits(self) -> int:
        """The balance now: refunds of failed and cancelled tasks included."""
        return self.store.balance(time.time())

    @credits.setter
    def credits(self, value: int) -> None:
        self.store.set_balance(value, time.time())

    # -- workers -------------------------------------------------------------------------------------

    def _start_ticker(self) -> None:
        if self._workers_closed:
            self._workers_closed = False
            self._media = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sim-media")
            self.callbacks = CallbackSender(self._key, retries=self.callback_retries, backoff=self.callback_backoff)
        self._ticker = threading.Thread(target=self._tick_loop, name="sim-ticker", daemon=True)
        self._ticker.start()

    def _close_workers(self) -> None:
        self._workers_closed = True
        self.callbacks.close()
        self._media.shutdown(wait=False, cancel_futures=True)
        if self._ticker is not None:
            self._ticker.join(timeout=2)
            self._ticker = None

    def _tick_loop(self) -> None:
        while not self._stop.wait(0.02):
            try:
                self._tick(time.time())
            except Exception:
                logger.exception("simulator ticker failed")

    def _tick(self, now: float) -> None:
        """Send the callbacks due: ``processing`` once a task started, then its final state."""
        for task in self.store.all():
            if not task.request.callback_url or any(s in task.notified for s in FINAL_STATES):
                continue
            state = self.store.state(task, now)
            due: list[dict[str, Any]] = []
            started = task.start is not None and task.start <= now
            ran = started and (task.failed_at is None or task.failed_at > (task.start or 0))
            if ran and "processing" not in task.notified:
                task.notified.append("processing")
                body = self._task_body(task, now, self.base_url)
                due.append({**body, "state": "processing", "err_code": "", "creations": []})
            if state in FINAL_STATES and state not in task.notified:
                task.notified.append(state)
                due.append(self._task_body(task, now, self.base_url))
            if due:
                self.callbacks.submit(task.callback_lock, task.request.callback_url, due)

    def _build_media(self, task: Task) -> None:
        """Fetch URL images, check them, then encode the video, the cover and the watermarked copy."""
        try:
            frames: list[bytes] = []
            for source, data in zip(task.request.images, task.request.image_bytes, strict=True):
                if data is None:
                    try:
                        data = download(source)
                    except Exception:
                        self.store.fail(task, "ImageDownloadFailure", time.time())
                        return
                frames.append(data)
            try:
                check_pair(image_size(frames[0], _LABELS[0]), image_size(frames[1], _LABELS[1]))
            except Rejection as rejection:
                self.store.fail(task, rejection.reason, time.time())
                return
            if task.fail_with is not None or self.store.state(task, time.time()) == "failed":
                return
            request = task.request
            position = request.wm_position if request.watermark else None
            files = task_media(frames[0], frames[1], request.duration, position)
            task.files.update(files)
        except Exception:
            logger.exception("simulator could not build task %s", task.id)
            self.store.fail(task, "InternalServiceFailure", time.time())
        finally:
            task.media_ready.set()

    # -- calls ---------------------------------------------------------------------------------------

    def _call(
        self, call: str, task_id: str | None, raw: bytes | None, size: int, params: dict[str, list[str]], origin: str
    ) -> Response:
        try:
            if call == "create":
                if raw is None:
                    raise Rejection("PageSizeOutOfRange", f"the request body is {size:,} bytes; the limit is 20 MB")
                return self._create(raw, origin)
            if call == "credits":
                return self._credits()
            if call == "tasks":
                return self._list(params, origin)
            task = self._find(task_id or "")
            if call == "cancel":
                return self._cancel(task, raw or b"", origin)
            return json_response(self._task_body(task, time.time(), origin))
        except Rejection as rejection:
            return error_response(rejection.status, rejection.reason, rejection.message)

    def _create(self, raw: bytes, origin: str) -> Response:
        request = validate_create(parse_body(raw))
        cost = price(request)
        now = time.time()
        with self.store.lock:
            balance = self.store.balance(now)
            if balance < cost:
                raise Rejection("CreditInsufficient", f"this task costs {cost} credits; the balance is {balance}")
            limit = self.store.relay.max_open
            if limit is not None and self.store.open_count(now) >= limit:
                raise Rejection("QuotaExceeded", f"at most {limit} unfinished tasks at once; try again later", 429)
            task = self.store.create(request, cost, now)
            self.create_count += 1
        echoed: list[str] = []
        for label, source, data in zip(("start", "end"), request.images, request.image_bytes, strict=True):
            if data is None:
                echoed.append(source)
            else:
                name = f"{label}.{sniff(data)}"
                task.files[name] = (f"image/{sniff(data)}", data)
                echoed.append(self.file_url(origin, task.id, name, now))
        self._media.submit(self._build_media, task)
        return json_response(task.created_body(echoed))

    def _find(self, task_id: str) -> Task:
        if task_id_problem(task_id) is not None:
            raise Rejection("BadRequest", f"task id {task_id[:40]!r} is not a task id")
        task = self.store.get(task_id)
        if task is None:
            raise Rejection("TaskNotFound", f"no task {task_id}", status=404)
        return task

    def _cancel(self, task: Task, raw: bytes, origin: str) -> Response:
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            raise Rejection("BadRequest", "the request body is not valid JSON") from None
        if not isinstance(body, dict) or "id" not in body:
            raise Rejection("FieldLacking", 'the body must be {"id": "<task_id>"}')
        if str(body["id"]) != task.id:
            raise Rejection("FieldInvalid", "the body's id is not the task id in the path")
        now = time.time()
        if self.store.relay.extra_states and not self.store.cancellable(task, now):
            raise Rejection("BadRequest", "task state is scheduled, can not cancel")
        if not self.store.fail(task, "UserCancelled", now):
            state = self.store.state(task, now)
            raise Rejection("BadRequest", f"task {task.id} already finished ({state}); it can no longer be cancelled")
        return json_response(self._task_body(task, now, origin))

    def _credits(self) -> Response:
        now = time.time()
        states = [self.store.state(t, now) for t in self.store.all()]
        remain = {
            "type": "simulator",
            "credit_remain": self.store.balance(now),
            # what runs at once: the processing slots, fewer when the relay allows fewer unfinished tasks
            "concurrency_limit": min(self.store.relay.max_open or CONCURRENCY, CONCURRENCY),
            "current_concurrency": states.count("processing"),
            "queue_count": states.count("queueing") + states.count("created"),
        }
        return json_response({"remains": [remain], "packages": []})

    def _list(self, params: dict[str, list[str]], origin: str) -> Response:
        def values(name: str) -> set[str]:
            return {v.strip() for raw in params.get(name, []) for v in raw.split(",") if v.strip()}

        unknown = sorted(set(params) - _LIST_PARAMS)
        if unknown:  # the service refuses a parameter it does not know (``pager.page_sz`` among them)
            raise Rejection("FieldUnwanted", f"unknown parameter(s): {', '.join(unknown)[:200]}")
        ids, states = values("task_ids"), values("states")
        if states - set(_STATES):
            raise Rejection("FieldInvalid", f"states must be among {', '.join(_STATES)}")
        low, high = _time_param(params, "created_at.from"), _time_param(params, "created_at.to")
        size_text = (params.get("pager.pagesz") or ["20"])[0]
        if not size_text.isdigit() or not 1 <= int(size_text) <= 100:
            raise Rejection("PageSizeOutOfRange", "pager.pagesz must be within 1–100")
        offset = self.store.page_offset((params.get("pager.page_token") or [""])[0])
        if offset is None:
            raise Rejection("FieldInvalid", "pager.page_token is not a token this service issued")
        now = time.time()
        found = [
            t
            for t in reversed(self.store.all())
            if (not ids or t.id in ids)
            and (not states or self.store.state(t, now) in states)
            and (low is None or t.created_at >= low)
            and (high is None or t.created_at <= high)
        ]
        size = int(size_text)
        page = found[offset : offset + size]
        tasks = [
            {
                **self._task_body(t, now, origin),
                "type": "headtailimg2video",
                "model": t.request.model.name,
                "created_at": rfc3339(t.created_at),
            }
            for t in page
        ]
        following = self.store.page_token(offset + size) if offset + size < len(found) else ""
        return json_response({"tasks": tasks, "next_page_token": following})

    def _task_body(self, task: Task, now: float, origin: str) -> dict[str, Any]:
        """The query call's answer (also each callback's body), its state as the relay words it."""
        state = self.store.state(task, now)
        reported = self.store.reported_state(task, now)
        creations: list[dict[str, str]] = []
        if state == "success":
            creation = {
                "id": task.creation_id,
                "url": self.file_url(origin, task.id, "video.mp4", now),
                "cover_url": self.file_url(origin, task.id, "cover.jpg", now),
            }
            if task.request.watermark:
                creation["watermarked_url"] = self.file_url(origin, task.id, "video-wm.mp4", now)
            creations.append(creation)
        return {
            "id": task.id,
            "state": reported,
            "err_code": "" if reported == "canceled" else task.error_at(now, self.store.queue_seconds),
            "credits": 0 if state == "failed" else task.credits,
            "payload": task.request.payload,
            "bgm": task.request.bgm,
            "off_peak": task.request.off_peak,
            "creations": creations,
        }

    # -- result files --------------------------------------------------------------------------------

    @property
    def url_ttl(self) -> float:
        """Seconds a result link stays valid (the service: 24 hours)."""
        return self.links.ttl

    @url_ttl.setter
    def url_ttl(self, value: float) -> None:
        self.links.ttl = value

    def file_url(self, origin: str, task_id: str, name: str, now: float) -> str:
        return self.links.url(origin, task_id, name, now)

    def file_response(self, path: str, params: dict[str, list[str]], range_header: str | None) -> Response:
        checked = self.links.check(path, params, time.time())
        if isinstance(checked, Response):
            return checked
        task = self.store.get(checked[0])
        if task is None or checked[1] not in task.files:
            return error_response(404, "NotFound", "no such file")
        content_type, content = task.files[checked[1]]
        return ranged(content, content_type, range_header)


def _time_param(params: dict[str, list[str]], name: str) -> float | None:
    text = (params.get(name) or [""])[0].strip()
    if not text:
        return None
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    iso = re.sub(r"(\.\d{6})\d+", r"\1", text).replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(iso).timestamp()
    except ValueError:
        raise Rejection("FieldInvalid", f"{name} must be an RFC 3339 time or Unix seconds") from None
