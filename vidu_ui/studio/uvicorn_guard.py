"""The one place this app reaches into uvicorn's undocumented parts: ``GuardedH11Protocol``, uvicorn's HTTP/1.1
protocol with a time limit on a request's headers and a cap on open connections. ``check`` runs at import and
raises ``UvicornChanged``, naming the installed version, when one of the parts it relies on is not as written
for (``WRITTEN_FOR``); ``tests/test_uvicorn_guard.py`` asserts each of them, so an upgrade of uvicorn fails there
first.

Why not uvicorn's public settings: ``timeout_keep_alive`` only runs between two requests, and the first byte of
the next one stops it (a client that sends one byte, then nothing, is held for ever); ``limit_concurrency``
answers 503 only once a request's headers have arrived, so connections that never finish their headers are
never refused and hold their descriptors; ``h11_max_incomplete_event_size`` bounds the headers' size (h11's 16 KB
default already does), not their time. Nothing public bounds the time a new connection may take to send its
headers, and an ASGI middleware only sees a request once its headers are in. So this class hooks uvicorn's
protocol, through ``Config(http=...)`` (public: a protocol class is accepted there), at four methods and four
attributes (``METHODS``, ``ATTRIBUTES``).

What it does: a request's headers must arrive within ``limits.HEADER_SECONDS`` of the connection opening (or of
the previous response), else the connection is closed; at most ``limits.max_connections()`` connections are
open, and when full the oldest one still waiting for its headers is closed to make room (a slow crowd cannot
keep ``/healthz`` or the page out), or, if none is waiting, the new one is closed at once (its descriptor freed:
no "Too many open files"). ``gradio_guard.install`` makes Gradio's server use it.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol, RequestResponseCycle

from . import limits

__all__ = ["ATTRIBUTES", "METHODS", "WRITTEN_FOR", "GuardedH11Protocol", "UvicornChanged", "check"]

WRITTEN_FOR = "0.54.0"
"""The uvicorn version this module was written for (requirements.txt pins it)."""

METHODS: dict[str, tuple[type, str, tuple[str, ...]]] = {
    "H11Protocol.connection_made": (H11Protocol, "connection_made", ("self", "transport")),
    "H11Protocol.connection_lost": (H11Protocol, "connection_lost", ("self", "exc")),
    "H11Protocol.handle_events": (H11Protocol, "handle_events", ("self",)),
    "H11Protocol.on_response_complete": (H11Protocol, "on_response_complete", ("self",)),
}
"""The methods overridden here (the first two are asyncio's protocol interface, the others uvicorn's own): their
owner, name and parameters."""
ATTRIBUTES: dict[str, tuple[type, tuple[str, ...]]] = {
    "H11Protocol": (H11Protocol, ("loop", "connections", "transport", "cycle")),
    "RequestResponseCycle": (RequestResponseCycle, ("response_complete",)),
}
"""The instance attributes read here, each set by its class's ``__init__``: the event loop, the server's set of
open connections, the connection's transport, the request being answered (None between requests) and whether
its response is complete."""


class UvicornChanged(RuntimeError):
    """uvicorn's undocumented parts are not as this module was written for."""


def changed(what: str) -> UvicornChanged:
    return UvicornChanged(
        f"uvicorn {uvicorn.__version__}: {what} is not as vidu_ui/studio/uvicorn_guard.py expects (written for "
        f"uvicorn {WRITTEN_FOR}); review that module, and tests/test_uvicorn_guard.py, before using this version"
    )


def check() -> None:
    """Raise ``UvicornChanged`` unless each method used here has the parameters expected and each attribute read
    here is still set by its class's ``__init__``."""
    for name, (owner, attribute, parameters) in METHODS.items():
        function = getattr(owner, attribute, None)
        if not callable(function) or tuple(inspect.signature(function).parameters) != parameters:
            raise changed(f"{name}{parameters}")
    for name, (owner, attributes) in ATTRIBUTES.items():
        code = getattr(vars(owner).get("__init__"), "__code__", None)
        assigned = set(code.co_names) if code is not None else set()
        missing = [a for a in attributes if a not in assigned]
        if missing:
            raise changed(f"{name}.{', '.join(missing)}")


check()


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a time limit on headers and a cap on open connections."""

    header_seconds = limits.HEADER_SECONDS

    def connection_made(self, transport: Any) -> None:  # the transport type uvicorn declares
        super().connection_made(transport)
        self._header_timer: asyncio.TimerHandle | None = None
        self._waiting_since = 0.0
        if len(self.connections) > limits.max_connections() and not self._evict_one():
            self.transport.close()
            return
        self._await_headers()

    def _await_headers(self) -> None:
        self._waiting_since = self.loop.time()
        self._header_timer = self.loop.call_later(self.header_seconds, self._headers_too_slow)

    def _headers_arrived(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _evict_one(self) -> bool:
        """Close the oldest connection still waiting for its headers; False when there is none."""
        waiting = [
            c
            for c in self.connections
            if c is not self and isinstance(c, GuardedH11Protocol) and c._header_timer is not None
        ]
        if not waiting:
            return False
        oldest = min(waiting, key=lambda c: c._waiting_since)
        oldest._headers_arrived()
        oldest.transport.close()
        return True

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.cycle is None or self.cycle.response_complete:
            self.transport.close()

    def handle_events(self) -> None:
        super().handle_events()
        if self.cycle is not None and not self.cycle.response_complete:
            self._headers_arrived()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self._header_timer is None:
            self._await_headers()  # the next request on this connection has the same time for its headers

    def connection_lost(self, exc: Exception | None) -> None:
        if getattr(self, "_header_timer", None) is not None:
            self._headers_arrived()
        super().connection_lost(exc)
