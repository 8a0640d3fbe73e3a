"""Limits for slow and greedy clients: connections, header and body time, body size, sign-in attempts.

Two layers, because a slow client is seen in two places:

- The connection (``uvicorn_guard.GuardedH11Protocol``, the server's HTTP protocol, installed by
  ``gradio_guard``): a request's headers must arrive within ``HEADER_SECONDS`` of the connection opening (or of
  the previous response); at most ``max_connections()`` connections are open.
- The request (``LimitsMiddleware``, ASGI): a body larger than its route's cap is refused with 413 before it is
  read when its length is declared, else as soon as it passes the cap; a body that stalls ``BODY_IDLE_SECONDS``
  between two pieces is refused with 408. Sign-in attempts (``POST …/login``) carry the client's address to
  ``SignInGuard``, Gradio's ``auth`` callable, which slows failures per user and per address.

``docs/deploy.md`` says what a reverse proxy in front should add (TLS, its own rates and timeouts).
"""

from __future__ import annotations

import asyncio
import contextvars
import hmac
import resource
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from ..frames import MAX_FILE_BYTES

HEADER_SECONDS = 10.0
"""Time a client has to send a request's headers (uvicorn itself waits forever)."""
BODY_IDLE_SECONDS = 30.0
"""Longest pause between two pieces of a request body."""
UPLOAD_BODY_BYTES = 2 * MAX_FILE_BYTES + 1_000_000
"""Gradio's upload route: two frames at the per-file limit, and the multipart framing."""
BODY_BYTES = 8_000_000
"""Every other route: a form's values (a 1 MB payload written as JSON at worst) and no files."""
UPLOAD_PATH_SUFFIX = "/gradio_api/upload"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CLIENT_ADDRESS: contextvars.ContextVar[str | None] = contextvars.ContextVar("vidu_client_address", default=None)
"""The address of the client whose request is being handled, for ``SignInGuard``."""


def max_connections() -> int:
    """Open connections allowed: half the process's file descriptors (the rest: files, the database, the
    service), between 64 and 4,096."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    limit = soft if soft != resource.RLIM_INFINITY else 8192
    return max(64, min(4096, limit // 2))


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message


class LimitsMiddleware:
    """Caps each request body by route (413) and its pauses (408); tells ``SignInGuard`` who is signing in."""

    def __init__(self, app: ASGIApp, *, body_bytes: int = BODY_BYTES, upload_bytes: int = UPLOAD_BODY_BYTES) -> None:
        self.app = app
        self.body_bytes = body_bytes
        self.upload_bytes = upload_bytes
        self.idle_seconds = BODY_IDLE_SECONDS

    def cap_for(self, path: str) -> int:
        return self.upload_bytes if path.rstrip("/").endswith(UPLOAD_PATH_SUFFIX) else self.body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.cap_for(str(scope.get("path", "")))
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        declared = headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared) > cap:
            await _answer(send, 413, f"the request body is over {cap:,} bytes")
            return
        client = scope.get("client")
        token = CLIENT_ADDRESS.set(str(client[0]) if client else None)
        state = {"received": 0, "started": False, "refused": False, "body_done": False}

        async def guarded_receive() -> Message:
            if state["refused"]:
                return {"type": "http.disconnect"}
            if state["body_done"]:
                # The body is in: what is left to receive is the client going away, which a streaming answer (the
                # page's heartbeat, an event stream) waits for as long as it runs. Not a stalled body.
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.idle_seconds)
            except TimeoutError:
                raise _Refused(408, "the request body stalled") from None
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > cap:
                    raise _Refused(413, f"the request body is over {cap:,} bytes")
                state["body_done"] = not message.get("more_body", False)
            return message

        async def guarded_send(message: Message) -> None:
            if state["refused"]:
                return
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        async def refusing_receive() -> Message:
            try:
                return await guarded_receive()
            except _Refused as refusal:
                state["refused"] = True  # before the answer: the app's own later messages are dropped
                if not state["started"]:
                    state["started"] = True
                    await _answer(send, refusal.status, refusal.message)
                return {"type": "http.disconnect"}

        try:
            await self.app(scope, refusing_receive, guarded_send)
        finally:
            CLIENT_ADDRESS.reset(token)


async def _answer(send: Send, status: int, message: str) -> None:
    body = ('{"error": "' + message.replace('"', "'") + '"}').encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),  # the rest of the body is never read: the connection cannot be reused
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class SignInGuard:
    """Gradio's ``auth`` (as ``check``): the ``user:password`` pairs, failures slowed per user and per address.

    After ``free`` failures, each further failure makes the next attempt for that user, and from that address,
    wait ``base`` seconds, doubling up to ``cap``; an attempt that would wait longer than ``cap`` is refused at
    once, without checking the password. A success clears the user's count (never the address's). Waiting is
    ``asyncio.sleep``: Gradio awaits an async ``auth``, so nothing blocks.
    """

    def __init__(
        self,
        pairs: Iterable[tuple[str, str]],
        *,
        free: int = 3,
        base: float = 1.0,
        cap: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        remembered: int = 10_000,
    ) -> None:
        self._pairs = dict(pairs)
        self.free, self.base, self.cap = free, base, cap
        self._clock, self._sleep = clock, sleep
        self._remembered = remembered
        self._failures: OrderedDict[tuple[str, str], tuple[int, float]] = OrderedDict()

    def __bool__(self) -> bool:
        return bool(self._pairs)

    @property
    def users(self) -> list[str]:
        return list(self._pairs)

    async def check(self, username: str, password: str) -> bool:
        """Gradio's ``auth``: pass ``guard.check`` (a coroutine function, which Gradio awaits; an object with an
        async ``__call__`` would be called without awaiting, and its coroutine taken for a yes)."""
        keys = [("user", username)]
        address = CLIENT_ADDRESS.get()
        if address is not None:
            keys.append(("address", address))
        wait = max(self._failures.get(key, (0, 0.0))[1] for key in keys) - self._clock()
        if wait > self.cap:
            return False
        if wait > 0:
            await self._sleep(wait)
        expected = self._pairs.get(username)
        ok = expected is not None and hmac.compare_digest(password.encode(), expected.encode())
        if ok:
            self._failures.pop(("user", username), None)
            return True
        for key in keys:
            self._failed(key)
        return False

    def delay(self, kind: str, name: str) -> float:
        """Seconds the next attempt for this user ("user") or from this address ("address") waits."""
        return max(0.0, self._failures.get((kind, name), (0, 0.0))[1] - self._clock())

    def _failed(self, key: tuple[str, str]) -> None:
        count = self._failures.pop(key, (0, 0.0))[0] + 1
        until = self._clock()
        if count > self.free:
            until += min(self.cap * 2, self.base * 2.0 ** (count - self.free - 1))
        self._failures[key] = (count, until)
        while len(self._failures) > self._remembered:
            self._failures.popitem(last=False)
