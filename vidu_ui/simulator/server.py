"""The simulator's HTTP server: routing, authentication, fault injection and the ``/_sim/`` admin endpoints.

The API calls themselves live in :mod:`.api`; this module decides what reaches them and how the answer
leaves (or fails to leave) the socket.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import re
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs, unquote, urlsplit

from ..settings import Paths
from . import wire
from .admin import admin
from .api import Api
from .faults import Fault, FaultQueue
from .log import RequestLog, RequestRecord, loggable_body
from .tasks import Relay
from .validate import MAX_BODY_BYTES
from .wire import Response, error_response

logger = logging.getLogger("vidu_ui.simulator")
_ADMIN_BODY_LIMIT = 1_000_000


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64
    sim: Simulator


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    server_version = "vidu-simulator"

    def _dispatch(self) -> None:
        try:
            self.server.sim._dispatch(self)
        except ConnectionError:  # the client went away: nothing left to answer
            self.close_connection = True
        except Exception:
            logger.exception("simulator failed on %s %s", self.command, urlsplit(self.path).path)
            self.close_connection = True
            with contextlib.suppress(Exception):
                wire.send(self, error_response(500, "InternalServiceFailure", "the simulator failed"))

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _dispatch

    def log_message(self, format: str, *args: object) -> None:  # silence the per-request stderr line
        return


def _route_pattern(template: str) -> re.Pattern[str]:
    return re.compile(re.escape(template).replace(re.escape("{task_id}"), r"(?P<task_id>[^/]+)"))


class Simulator(Api):
    """A local Vidu-compatible service, in-process (``start``/``stop`` or ``with``) or standalone (:func:`serve`).

    States advance with the clock: ``queue_seconds`` in ``created``/``queueing``, ``process_seconds`` in
    ``processing`` (× ``off_peak_factor`` off-peak), at most 5 processing at once. Results are served from
    ``/_sim/files/<task_id>/<name>?expires=…&sig=…`` (signed, valid ``url_ttl`` seconds, Range requests).
    Unauthenticated admin calls: ``GET /_sim/health``, ``GET /_sim/requests``, ``GET|POST|DELETE /_sim/faults``,
    ``POST /_sim/fail_next`` (``{"err_code": …}``), ``POST /_sim/finish`` (``{"task_id": …}``),
    ``POST /_sim/credits`` (``{"credits": n}``), ``POST /_sim/reset``, ``POST /_sim/relay`` (``{"ids": "uuid",
    "extra_states": true, "page_tokens": true, "max_open": 2}``: behave like the relays in front of the API, see
    ``tasks.Relay``). The key is compared, never logged or shown.
    """

    def __init__(
        self,
        api_key: str = "sim-key",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        queue_seconds: float = 1.0,
        process_seconds: float = 4.0,
        off_peak_factor: float = 3.0,
        credits: int = 10000,
        url_ttl: float = 86400,
        callback_retries: int = 3,
        callback_backoff: float = 0.2,
        paths: Paths | None = None,
        public_url: str | None = None,
        relay: Relay | None = None,
    ) -> None:
        super().__init__(
            api_key,
            queue_seconds=queue_seconds,
            process_seconds=process_seconds,
            off_peak_factor=off_peak_factor,
            credits=credits,
            url_ttl=url_ttl,
            callback_retries=callback_retries,
            callback_backoff=callback_backoff,
        )
        self.host, self.port = host, port
        self.store.relay = relay or Relay()
        self.paths = paths or Paths()
        self.public_url = public_url.rstrip("/") if public_url else None
        self.faults = FaultQueue()
        self.log = RequestLog()
        self._routes: list[tuple[str, re.Pattern[str], str]] = [
            ("POST", _route_pattern(self.paths.create), "create"),
            ("GET", _route_pattern(self.paths.query), "query"),
            ("POST", _route_pattern(self.paths.cancel), "cancel"),
            ("GET", _route_pattern(self.paths.credits), "credits"),
            ("GET", _route_pattern(self.paths.tasks), "tasks"),
        ]
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------------

    def start(self) -> Simulator:
        """Listen and serve from a background thread; returns self."""
        if self._server is not None:
            return self
        self._stop.clear()
        server = _Server((self.host, self.port), _Handler)
        server.sim = self
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="sim-http", daemon=True)
        self._thread.start()
        self._start_ticker()
        return self

    def stop(self) -> None:
        """Stop serving; hanging connections are released, background work is abandoned."""
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._close_workers()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host  # noqa: S104 (a comparison, not a bind)
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    # -- test controls -----------------------------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        """The request log, oldest first (admin calls under ``/_sim/`` are not logged)."""
        return self.log.snapshot()

    def settled(self, since: int = 0, timeout: float = 10.0, *, arrived: int = 0) -> bool:
        """Wait until the simulator has carried out (or refused) every request from the ``since``-th on, as
        ``RequestRecord.settled``, and at least ``arrived`` of them are in: a client that gave up early (a read
        timeout) may be back before its request was handled, or even read. False if that is not so after
        ``timeout`` seconds."""
        return self.log.wait_settled(since, timeout, arrived=arrived)

    @property
    def relay(self) -> Relay:
        """The relay switches in force (``tasks.Relay``); assign a new one to switch (tasks already made keep
        their ids)."""
        return self.store.relay

    @relay.setter
    def relay(self, value: Relay) -> None:
        self.store.relay = value

    def inject(self, fault: Fault) -> None:
        self.faults.add(fault)

    def clear_faults(self) -> None:
        self.faults.clear()

    def fail_next(self, err_code: str = "InternalServiceFailure") -> None:
        """The next created task ends ``failed`` with ``err_code`` instead of ``success``."""
        with self.store.lock:
            self.store.fail_next.append(err_code)

    def finish(self, task_id: str) -> bool:
        """The task, queued or processing, ends at once as its time were up (success, or its ``fail_next`` code);
        False for an unknown task or one already ended. For tests that hold a task unfinished until told: a task
        just created may still wait in the queue, and ending it must not depend on when the test asks."""
        task = self.store.get(task_id)
        return task is not None and self.store.finish(task, time.time())

    def reset(self) -> None:
        """Forget tasks, faults, ``fail_next`` codes and the log; restore the credits and ``create_count``."""
        self.faults.clear()
        self.log.clear()
        self.store.clear(self.initial_credits)
        self.create_count = 0

    # -- dispatch ----------------------------------------------------------------------------------------

    def _dispatch(self, handler: BaseHTTPRequestHandler) -> None:
        url = urlsplit(handler.path)
        method = handler.command
        if url.path.startswith("/_sim/files/"):
            self._serve_file(handler, url.path, url.query)
            return
        if url.path.startswith("/_sim/"):
            body, _ = wire.read_body(handler, _ADMIN_BODY_LIMIT)
            wire.send(handler, admin(self, method, url.path, body or b""))
            return
        call, task_id = self._route(method, url.path)
        task_id = unquote(task_id) if task_id is not None else None
        scheme, auth_ok = self._auth(handler.headers.get("Authorization"))
        record = self.log.add(RequestRecord(time.time(), method, url.path, url.query, call, scheme, auth_ok))
        try:
            fault = self.faults.take(call) if call else None
            if fault is not None:
                self.log.update(record, fault=fault.describe())
            if fault is not None and fault.action == "reset_before_body":
                wire.reset(handler)
                return
            raw, size = wire.read_body(handler, MAX_BODY_BYTES)
            self.log.update(record, body_size=size, body=loggable_body(raw))

            def handle() -> Response:
                if call is None:
                    return error_response(404, "NotFound", f"no such path: {method} {url.path}")
                if not auth_ok:
                    return error_response(401, "Unauthorized", "missing or invalid API key")
                return self._call(call, task_id, raw, size, parse_qs(url.query), self._origin(handler))

            self._respond(handler, fault, handle, record)
        finally:  # however it ended: a reset, a body cut short, an answer sent
            self.log.update(record, settled=True)

    def _respond(
        self,
        handler: BaseHTTPRequestHandler,
        fault: Fault | None,
        handle: Callable[[], Response],
        record: RequestRecord,
    ) -> None:
        """Apply ``fault`` around ``handle``. The status is logged before the answer leaves, so a client that
        has its answer always finds it in the log."""
        if fault is None:
            response: Response = handle()
            self.log.update(record, status=response.status, settled=True)
            wire.send(handler, response, head_only=handler.command == "HEAD")
            return
        carried_out = (
            fault.create_task or fault.action == "reset_after_body" or (fault.status is None and fault.action != "hang")
        )
        result: Response | None = handle() if carried_out else None
        self.log.update(record, settled=True)  # whatever the fault does next, the call is carried out or not
        if fault.action == "reset_after_body":
            wire.reset(handler)
            return
        if fault.action == "hang":
            wire.hang(handler, self._stop)
            return
        if fault.status is not None:
            body = fault.body.encode() if fault.body is not None else wire.error_response(fault.status).body
            result = Response(fault.status, body, fault.content_type, dict(fault.headers))
        elif result is not None:
            result.headers.update(fault.headers)
        assert result is not None
        if fault.action == "trickle":
            self.log.update(record, status=result.status)
            wire.trickle(handler, result, fault.delay, self._stop)
            return
        if fault.delay and self._stop.wait(fault.delay):
            return
        self.log.update(record, status=result.status)
        wire.send(handler, result)

    def _route(self, method: str, path: str) -> tuple[str | None, str | None]:
        for want, pattern, call in self._routes:
            match = pattern.fullmatch(path)
            if match and method == want:
                return call, match.groupdict().get("task_id")
        return None, None

    def _auth(self, header: str | None) -> tuple[str | None, bool]:
        """The scheme used (never the key) and whether the key is right."""
        if not header:
            return None, False
        scheme, _, token = header.strip().partition(" ")
        name = {"bearer": "Bearer", "token": "Token"}.get(scheme.lower())
        if name is None or not token.strip():
            return "other", False
        return name, hmac.compare_digest(token.strip().encode(), self._key.encode())

    def _origin(self, handler: BaseHTTPRequestHandler) -> str:
        host = handler.headers.get("Host")
        return self.public_url or (f"http://{host}" if host else self.base_url)

    # -- files and admin ---------------------------------------------------------------------------------

    def _serve_file(self, handler: BaseHTTPRequestHandler, path: str, query: str) -> None:
        wire.read_body(handler, _ADMIN_BODY_LIMIT)
        record = self.log.add(RequestRecord(time.time(), handler.command, path, query, "file", None, True))
        response = self.file_response(path, parse_qs(query), handler.headers.get("Range"))
        self.log.update(record, status=response.status)
        wire.send(handler, response, head_only=handler.command == "HEAD")


def serve(
    host: str = "127.0.0.1",
    port: int = 8765,
    api_key: str = "sim-key",
    *,
    queue_seconds: float = 1.0,
    process_seconds: float = 4.0,
    credits: int = 10000,
    url_ttl: float = 86400,
    public_url: str | None = None,
    paths: Paths | None = None,
    relay: Relay | None = None,
    on_ready: Callable[[Simulator], None] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Run a :class:`Simulator` in the foreground until Ctrl-C (or until ``stop`` is set).

    ``on_ready(sim)`` is called once it listens (``sim.base_url`` says where); the key is never printed.
    """
    sim = Simulator(
        api_key,
        host=host,
        port=port,
        queue_seconds=queue_seconds,
        process_seconds=process_seconds,
        credits=credits,
        url_ttl=url_ttl,
        public_url=public_url,
        paths=paths,
        relay=relay,
    )
    stop = stop or threading.Event()
    sim.start()
    logger.info("Vidu simulator listening on %s (admin under /_sim/)", sim.base_url)
    try:
        if on_ready is not None:
            on_ready(sim)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
