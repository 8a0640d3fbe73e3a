"""The receiver of the service's status callbacks: ``POST /vidu/callback``.

A callback is only a hint. Its body is not signed (the service's design), so nothing in it is written to the
history: a callback that passes every check makes the task's next query due now (``Follower.refresh(task_id,
wait=False)``), whichever replica follows it, and only that query's answer changes the stored state.

Checks, in order, each failing with a 4xx and no change anywhere:

====  ==========================================================================================
413   a body over 64 KB (``MAX_BODY``)
400   no ``X-HMAC-ALGORITHM`` header, or one other than ``hmac-sha256``; a body that is not a JSON
      object with the task id (``id``, or ``task_id``)
401   one answer (``REFUSED``), whatever the task: a task id not in the history; a task created with a
      visitor's own key that this server no longer holds (below); a signature that does not verify (any
      signed header, the path or the query changed), or signed headers missing; a ``Date`` more than 300 s
      away from now. An unauthenticated caller learns nothing about which tasks exist or whose key made
      them (the reason is logged); an unknown task is checked against a throwaway key, so it takes as long.
409   a nonce already seen (a replay), by this replica or another (nonces live in the database), told only
      to a caller whose signature verified
====  ==========================================================================================

The key. A callback is signed with the API key that created the task: the server's key for tasks made with
it. A visitor's key is held in memory only while its task is unfinished (see ``vidu_ui.tracker``); a callback
for a visitor's task is checked with that key while it is held and refused once it is not, for then
nothing can tell a forged callback from a real one. Nothing is lost: the tracker polls such tasks anyway, and
the visitor's next visit with the key refreshes them.

The URL signed is the one the service posted to. Behind a proxy that rewrites paths the app may see another
path, so the signature is also tried against ``callback_url_for(settings)`` (with the request's query).
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import sqlalchemy as sa
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from . import signing
from .request import task_id_problem
from .settings import Settings
from .store import Store, callback_nonces

__all__ = [
    "CALLBACK_PATH",
    "MAX_BODY",
    "MAX_SKEW",
    "CallbackReceiver",
    "NonceCache",
    "StoreNonces",
    "callback_router",
    "callback_url_for",
    "mount_callback_route",
]

log = logging.getLogger(__name__)

CALLBACK_PATH = "/vidu/callback"
MAX_BODY = 64 * 1024
"""Largest callback body accepted; a query-shaped body is a few hundred bytes."""
MAX_SKEW = 300.0
"""Largest distance, in seconds, between a callback's Date and now."""
REFUSED = (401, "not accepted")
"""The one answer to a callback that does not authenticate, whatever its task: no oracle of which tasks exist."""


def callback_url_for(settings: Settings) -> str | None:
    """The callback URL to send with each task when the app is reachable from the internet, else None.

    ``settings.public_url`` + ``/vidu/callback``; without a public URL the app relies on polling alone.
    A callback URL the user typed in goes to the service as typed; this is only the app's own receiver.
    """
    if not settings.public_url:
        return None
    return settings.public_url.rstrip("/") + CALLBACK_PATH


class NonceCache:
    """Nonces seen in the last ``ttl`` seconds, at most ``capacity`` of them; thread-safe.

    A nonce older than ``ttl`` need not be remembered: its Date is then out of the accepted window, so the
    callback fails that check anyway (``ttl`` is twice the skew to cover a Date in the future). When full,
    the oldest are forgotten first; only callbacks that passed the signature check get here, so a forger
    cannot fill it.
    """

    def __init__(self, ttl: float = 2 * MAX_SKEW, capacity: int = 100_000) -> None:
        self.ttl = ttl
        self.capacity = capacity
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def seen(self, nonce: str, now: float) -> bool:
        """True if ``nonce`` was seen within ``ttl``; remembers it either way."""
        with self._lock:
            while self._seen:
                oldest, when = next(iter(self._seen.items()))
                if now - when < self.ttl and len(self._seen) < self.capacity:
                    break
                del self._seen[oldest]
            if nonce in self._seen:
                return True
            self._seen[nonce] = now
            return False

    def __len__(self) -> int:
        return len(self._seen)


class StoreNonces:
    """Nonces seen in the last ``ttl`` seconds, kept in the history database (``callback_nonces``), so that a
    callback replayed to another replica of the app is refused there too. Only callbacks whose signature
    verified get here; rows older than ``ttl`` are deleted as new ones come."""

    def __init__(self, store: Store, ttl: float = 2 * MAX_SKEW) -> None:
        self.store = store
        self.ttl = ttl

    def seen(self, nonce: str, now: float) -> bool:
        """True if ``nonce`` was seen within ``ttl`` (by any replica); remembers it either way."""
        table = callback_nonces
        try:
            with self.store.write() as conn:
                conn.execute(table.delete().where(table.c.seen_at < now - self.ttl))
                if conn.execute(sa.select(table.c.nonce).where(table.c.nonce == nonce)).first() is not None:
                    return True
                conn.execute(table.insert().values(nonce=nonce, seen_at=now))
        except sa.exc.IntegrityError:  # another replica recorded it in the same instant
            return True
        return False

    def __len__(self) -> int:
        with self.store.read() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(callback_nonces)).scalar() or 0)


class Refresher(Protocol):
    """What the receiver needs of ``tracker.Tracker``."""

    def signing_key(self, task_id: str) -> str | None: ...
    def refresh(self, task_id: str, owner: Any = None, *, wait: bool = True) -> Any: ...


class CallbackReceiver:
    """Checks callbacks and passes the good ones on to the tracker as a hint. See the module docstring.

    ``now`` is Unix time (injectable for tests); the nonces seen live in the history database (``StoreNonces``:
    shared by every replica), unless ``nonces`` gives an in-memory ``NonceCache``.
    """

    def __init__(
        self,
        settings: Settings,
        store: Store,
        tracker: Refresher,
        *,
        now: Callable[[], float] = time.time,
        nonces: NonceCache | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.tracker = tracker
        self._now = now
        self.nonces: NonceCache | StoreNonces = nonces or StoreNonces(store)

    def handle_callback(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> tuple[int, str]:
        """Check one request to the callback URL; returns the HTTP status and a short message.

        ``url`` is the full URL requested (its path and raw query are signed); ``headers`` any mapping
        (names are matched case-insensitively). Only a 200 has an effect: the task is queried soon.
        """
        if method.upper() != "POST":
            return 405, "only POST"
        if len(body) > MAX_BODY:
            return 413, f"body over {MAX_BODY} bytes"
        lower = {name.lower(): value for name, value in headers.items()}
        algorithm = lower.get("x-hmac-algorithm")
        if algorithm is None:
            return 400, "missing X-HMAC-ALGORITHM header"
        if algorithm.strip().lower() != signing.ALGORITHM:
            return 400, "unsupported signature algorithm"
        task_id = _task_id(body)
        if task_id is None:
            return 400, "the body is not a task status with an id"
        key = self.tracker.signing_key(task_id) if self.store.get(task_id) is not None else None
        if key is None:
            # Unknown task, or a visitor's key no longer held: verify against a throwaway key all the same.
            self._verify(secrets.token_urlsafe(32), method.upper(), url, lower, remember=False)
            log.info("callback for task %s refused: unknown task, or no key held to check it", task_id)
            return REFUSED
        error = self._verify(key, method.upper(), url, lower)
        if error is not None:
            log.info("callback for task %s refused: %s", task_id, error.reason)
            return (409, error.reason) if error.reason == "replayed nonce" else REFUSED
        self.tracker.refresh(task_id, wait=False)
        return 200, "ok"

    def _verify(
        self, key: str, method: str, url: str, headers: Mapping[str, str], *, remember: bool = True
    ) -> signing.SignatureError | None:
        now = self._now()
        candidates = [url]
        public = callback_url_for(self.settings)
        if public is not None:
            parts = urlsplit(public)
            alternative = urlunsplit((parts.scheme, parts.netloc, parts.path, urlsplit(url).query, ""))
            if urlsplit(alternative).path != urlsplit(url).path:
                candidates.append(alternative)
        error: signing.SignatureError | None = None
        for candidate in candidates:
            try:
                signing.verify(
                    key,
                    method,
                    candidate,
                    headers,
                    now=now,
                    max_skew=MAX_SKEW,
                    seen_nonce=lambda nonce: self.nonces.seen(nonce, now) if remember else False,
                )
            except signing.SignatureError as exc:
                error = exc
                if exc.reason != "bad signature":
                    return exc
            else:
                return None
        return error


def _task_id(body: bytes) -> str | None:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    value = data.get("id") or data.get("task_id")
    if task_id_problem(value) is not None:  # the one task-id rule: opaque, 1–128 of [A-Za-z0-9_.-]
        return None
    return str(value).strip()


async def _read_limited(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it is longer than ``limit`` (never read a huge body into memory)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def callback_router(receiver: CallbackReceiver) -> APIRouter:
    """An ``APIRouter`` with ``POST /vidu/callback`` answering from ``receiver.handle_callback``."""
    router = APIRouter()

    @router.post(CALLBACK_PATH, include_in_schema=False)
    async def vidu_callback(request: Request) -> JSONResponse:
        body = await _read_limited(request, MAX_BODY)
        if body is None:
            status, message = 413, f"body over {MAX_BODY} bytes"
        else:
            status, message = await run_in_threadpool(
                receiver.handle_callback, request.method, str(request.url), dict(request.headers), body
            )
        return JSONResponse({"ok": status == 200, "message": message}, status_code=status)

    return router


def mount_callback_route(app: FastAPI, receiver: CallbackReceiver) -> None:
    """Add ``POST /vidu/callback`` to ``app`` (the FastAPI app Gradio serves, or one it is mounted in)."""
    app.include_router(callback_router(receiver))
