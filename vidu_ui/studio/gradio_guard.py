"""The one place this app reaches into Gradio's private parts; ``tests/test_limits.py`` and
``tests/test_gradio_guard.py`` fail when they change.

Gradio builds its uvicorn server itself (``gradio.http_server.start_server``) from a fixed ``uvicorn.Config``:
no way to choose the HTTP protocol or its limits through ``launch()``. uvicorn, left alone, waits forever for a
request's headers and accepts connections until the process runs out of file descriptors. ``install`` makes
Gradio's server use ``limits.GuardedH11Protocol`` (a header time limit, a connection cap) by handing
``gradio.http_server`` a ``uvicorn`` whose ``Config`` sets ``http=`` to it; everything else is uvicorn's own.

Gradio's public API routes also answer some malformed requests with a 500 and a traceback in the log (found by
schemathesis, ``tests/test_fuzz.py``):

- ``POST /gradio_api/call/v2/<name>`` without a required argument: a ``TypeError`` from its argument matching;
- ``POST /gradio_api/upload`` with a text part where a file belongs: a ``TypeError`` (or, with an
  ``upload_id``, an ``AttributeError``) from its multipart handling;
- ``GET /gradio_api/call/<name>/<event id>`` (and ``/queue/data``) for an event it does not hold (or no longer
  holds, a moment after the stream started): a 404 raised after the event stream has started, so the client
  gets a broken stream and the log a traceback.

``CLIENT_ERRORS`` turns the first two into a 400 on those routes only (anywhere else the error stays a 500: a
bug); ``StreamGuard`` answers 404 before the stream starts when Gradio's queue does not hold the event, and
ends the stream cleanly when it goes away later.
"""

from __future__ import annotations

import types
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

import gradio.http_server as http_server
import uvicorn
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .limits import GuardedH11Protocol

__all__ = ["CLIENT_ERRORS", "StreamGuard", "install", "installed"]

API = "/gradio_api"
_MALFORMED_ON = (f"{API}/upload", f"{API}/call/v2/")


class _GuardedConfig(uvicorn.Config):
    """uvicorn's Config, serving HTTP/1.1 with ``GuardedH11Protocol``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["http"] = GuardedH11Protocol
        super().__init__(*args, **kwargs)


def installed() -> bool:
    """Whether Gradio's server is built with the guarded protocol."""
    return getattr(getattr(http_server, "uvicorn", None), "Config", None) is _GuardedConfig


def install() -> None:
    """Make every server Gradio starts from now on use ``GuardedH11Protocol``. Safe to call again."""
    if installed():
        return
    if not isinstance(getattr(http_server, "uvicorn", None), types.ModuleType):
        raise RuntimeError("gradio.http_server no longer uses uvicorn as this app expects; see gradio_guard.py")
    shim = types.ModuleType("uvicorn", "uvicorn, with Config serving HTTP through limits.GuardedH11Protocol")
    shim.__dict__.update({k: v for k, v in vars(uvicorn).items() if not k.startswith("__")})
    shim.Config = _GuardedConfig  # type: ignore[attr-defined]
    http_server.uvicorn = shim  # type: ignore[attr-defined]


def _malformed(request: Request, exc: Exception) -> Response:
    """A malformed call on the routes where Gradio lets one escape as an exception: 400, its reason, no trace."""
    path = request.url.path
    root = request.scope.get("root_path", "")
    path = path[len(root) :] if root and path.startswith(root) else path
    if not any(path.startswith(prefix) for prefix in _MALFORMED_ON):
        raise exc  # anywhere else it is a bug: a 500, logged
    reason = str(exc) if isinstance(exc, TypeError) else "a part of the upload is not a file"
    return JSONResponse({"error": f"malformed request: {reason[:200]}"}, status_code=400)


CLIENT_ERRORS: dict[type[Exception], Callable[[Request, Exception], Response]] = {
    TypeError: _malformed,
    AttributeError: _malformed,
}
"""Exception handlers for Gradio's app (``Runtime.app_kwargs``)."""

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class StreamGuard:
    """Answers 404 before an event stream starts when Gradio's queue holds no such event or session."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") == "GET":
            target = self._stream_target(scope)
            if target is not None:
                # With sign-in on, Gradio's own check answers first (401); the stream is still ended cleanly.
                if getattr(scope.get("app"), "auth", None) is None and not self._held(scope, *target):
                    await JSONResponse({"error": "no such event"}, status_code=404)(scope, receive, send)
                    return
                await self._stream(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _stream(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Gradio's stream, ended cleanly if the session goes away after it started (Gradio then raises a 404
        that can no longer be sent, and the server logs a traceback): the client sees the stream end."""
        state = {"started": False, "ended": False}

        async def watched(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                state["started"] = True
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                state["ended"] = True
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except (RuntimeError, HTTPException):
            if not state["started"]:
                raise
            if not state["ended"]:
                await send({"type": "http.response.body", "body": b"", "more_body": False})

    @staticmethod
    def _stream_target(scope: Scope) -> tuple[str, str] | None:
        """("session", hash) or ("event", id) for an event-stream route; None for any other route."""
        path = str(scope.get("path", ""))
        root = str(scope.get("root_path", ""))
        path = path[len(root) :] if root and path.startswith(root) else path
        if path.rstrip("/") == f"{API}/queue/data":
            query = parse_qs(bytes(scope.get("query_string", b"")).decode("latin-1"))
            return "session", str(query.get("session_hash", [""])[0])
        parts = path.strip("/").split("/")
        if len(parts) == 4 and parts[:2] == ["gradio_api", "call"]:
            return "event", parts[3]
        return None

    @staticmethod
    def _held(scope: Scope, kind: str, name: str) -> bool:
        """Whether Gradio's queue holds this session, or the session of this event (as its route finds it)."""
        app = scope.get("app")
        blocks = app.get_blocks() if app is not None and hasattr(app, "get_blocks") else None
        queue = getattr(blocks, "_queue", None)
        if queue is None:
            return True  # not Gradio's app as this module knows it: let Gradio answer
        session = name
        if kind == "event":
            event = queue.event_ids_to_events.get(name)
            if event is not None:
                session = event.session_hash
            else:
                pending = queue.pending_event_ids_session.items()
                session = next((s for s, ids in pending if name in ids), name)
        return session in queue.pending_messages_per_session
