"""The service-fault matrix: create, query and cancel against each fault, and polling through transient faults.

This is the one place the matrix is defined: ``tests/test_faults.py`` runs each cell (``run_cell``) as a test and
asserts that it keeps the contract (``shared/vidu-api.md``, "Errors"; ``violations``), and ``service_faults``
renders the "Service faults" section of ``docs/reliability.md`` from the same results
(``tests/support/report.py``). Everything runs on 127.0.0.1 against the built-in simulator and a few real sockets.
"""

from __future__ import annotations

import base64
import contextlib
import io
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

import httpx
import orjson
from PIL import Image

from vidu_ui import deadline, tracking
from vidu_ui.cli import EXIT_SERVICE, EXIT_UNKNOWN, error_lines, exit_code
from vidu_ui.client import ViduClient
from vidu_ui.errors import APIError, OutcomeUnknownError, ViduError
from vidu_ui.settings import Settings
from vidu_ui.simulator import Fault, RequestRecord, Simulator

Call = Literal["create", "query", "cancel"]
CALLS: tuple[Call, ...] = ("create", "query", "cancel")
KEY = "sk-reliability-sim"

# The client's settings for every cell: timeouts a local answer always beats, even on a loaded machine (a 409 came
# later than 0.2 s in CI, with the browser tests beside it); a fault may override some.
BASE_SETTINGS: dict[str, Any] = {
    "connect_timeout": 5.0,
    "read_timeout": 5.0,
    "deadline": 5.0,
    "create_retries": 2,
    "query_retries": 2,
}
SHORT_TIMEOUTS: dict[str, Any] = {"connect_timeout": 0.5, "read_timeout": 0.5}
"""The timeouts of the cells whose fault is a timeout (the call waits them out on every attempt), and of what else
waits one out (polling under faults, the command line's lost create): short, so a run takes seconds."""
WATCHDOG_GRACE = 0.5
"""A call still running this long past its deadline is stopped (the simulator is shut down under it)."""
SLOW_ANSWER = 1.0
"""Seconds the simulator waits before answering in the read-timeout cell: well past the read timeout."""
TRICKLE_SLOW = 0.8
"""Seconds between bytes when each byte comes later than the read timeout."""
TRICKLE_FAST = 0.02
"""Seconds between bytes when each byte beats the read timeout but the whole answer cannot beat the deadline."""
TRICKLE_FAST_DEADLINE = 0.6


@dataclass(frozen=True)
class Expect:
    """What the contract says a caller gets: an error class (``None``: success), whether it is "outcome
    unknown" (then ``cause`` is the class of the failure behind it), and whether the call is retried."""

    error: str | None
    unknown: bool = False
    cause: str | None = None
    retried: bool = False


@dataclass(frozen=True)
class FaultCase:
    """One row of the matrix: how the fault is produced, what the message must say, what each call must do."""

    key: str
    label: str
    how: str
    says: str
    """A phrase the error message must contain, so the person knows what happened."""
    create: Expect
    safe: Expect
    """The expectation for query and cancel, which are safe to repeat."""
    fault: dict[str, Any] | None = None
    """``Fault`` arguments (besides ``call`` and ``times``); ``None`` for the socket-level faults."""
    socket: Literal["refused", "connect_timeout"] | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    retry_after: float | None = None
    once: bool = True
    """Also run it as a fault that happens once and then clears."""

    def expect(self, call: Call) -> Expect:
        return self.create if call == "create" else self.safe


def _refusal(key: str, status: int, error: str, says: str, label: str | None = None, **fault: Any) -> FaultCase:
    """A 4xx the service means: one request, a plain error, never retried (429 aside)."""
    return FaultCase(
        key=key,
        label=label or f"HTTP {status}",
        how=f"simulator answers HTTP {status}" + (f" ({fault.pop('how')})" if "how" in fault else ""),
        says=says,
        create=Expect(error),
        safe=Expect(error),
        fault={"status": status, **fault},
    )


def _throttled(key: str, label: str, status: int, headers: dict[str, str], retry_after: float | None) -> FaultCase:
    """An explicit refusal (429, 503): every call retries it, then reports a plain error."""
    error = "RateLimitError" if status == 429 else "ServerError"
    return FaultCase(
        key=key,
        label=label,
        how=f"simulator answers HTTP {status}" + (f" with Retry-After: {headers['Retry-After']}" if headers else ""),
        says=f"HTTP {status}",
        create=Expect(error, retried=True),
        safe=Expect(error, retried=True),
        fault={"status": status, "headers": headers},
        retry_after=retry_after,
    )


def _server_error(status: int) -> FaultCase:
    """A 5xx other than 503: a create may have been carried out (outcome unknown); the others retry it."""
    return FaultCase(
        key=str(status),
        label=f"HTTP {status}",
        how=f"simulator answers HTTP {status} with the service's error body",
        says=f"HTTP {status}",
        create=Expect("OutcomeUnknownError", unknown=True, cause="ServerError"),
        safe=Expect("ServerError", retried=True),
        fault={"status": status},
    )


def _lost_answer(key: str, label: str, how: str, says: str, cause: str, **case: Any) -> FaultCase:
    """No usable answer after the request was sent: outcome unknown for a create, retried otherwise.

    ``case`` may override ``create`` for a fault that provably happens before anything is sent."""
    case.setdefault("create", Expect("OutcomeUnknownError", unknown=True, cause=cause))
    case.setdefault("safe", Expect(cause, retried=True))
    return FaultCase(key=key, label=label, how=how, says=says, **case)


JSON_400 = (
    '{"code": 400, "reason": "FieldInvalid", "message": "duration 7 is not allowed for viduq1", '
    '"metadata": {"trace_id": "0123456789abcdef0123456789abcdef"}}'
)
HTML_400 = "<html><head><title>400 Bad Request</title></head><body><center>nginx</center></body></html>"

FAULTS: tuple[FaultCase, ...] = (
    _refusal(
        "400-json",
        400,
        "BadRequestError",
        "FieldInvalid",
        "HTTP 400, JSON error body",
        body=JSON_400,
        how="the service's error shape, reason FieldInvalid",
    ),
    _refusal(
        "400-html",
        400,
        "BadRequestError",
        "HTML",
        "HTTP 400, HTML body",
        body=HTML_400,
        content_type="text/html",
        how="an nginx error page",
    ),
    _refusal("400-empty", 400, "BadRequestError", "empty body", "HTTP 400, empty body", body="", how="no body"),
    _refusal(
        "400-truncated",
        400,
        "BadRequestError",
        "truncated or malformed JSON",
        "HTTP 400, truncated JSON",
        body=JSON_400[:40],
        how="JSON cut off mid-way",
    ),
    _refusal("401", 401, "AuthenticationError", "HTTP 401 Unauthorized"),
    _refusal("403", 403, "PermissionDeniedError", "HTTP 403 Forbidden"),
    _refusal("404", 404, "NotFoundError", "HTTP 404 NotFound"),
    _refusal("409", 409, "ConflictError", "HTTP 409 Conflict"),
    _throttled("429-retry-after", "HTTP 429 with Retry-After", 429, {"Retry-After": "1"}, 1.0),
    _throttled("429", "HTTP 429 without Retry-After", 429, {}, None),
    _server_error(500),
    _server_error(502),
    _throttled("503", "HTTP 503", 503, {}, None),
    _server_error(504),
    _lost_answer(
        "refused",
        "connection refused",
        "real socket: a closed port on 127.0.0.1",
        "could not connect",
        "APIConnectionError",
        socket="refused",
        create=Expect("APIConnectionError", retried=True),
    ),
    _lost_answer(
        "connect-timeout",
        "connect timeout",
        "real socket: a listener on 127.0.0.1 whose accept queue is full, so the kernel drops the SYN",
        "timed out connecting",
        "APITimeoutError",
        socket="connect_timeout",
        create=Expect("APITimeoutError", retried=True),
        settings=SHORT_TIMEOUTS,
    ),
    _lost_answer(
        "reset-before-body",
        "reset before the body is read",
        "simulator resets the connection (RST) after the headers, before reading the body: nothing is done",
        "broke before the answer arrived",
        "APIConnectionError",
        fault={"action": "reset_before_body"},
    ),
    _lost_answer(
        "reset-after-body",
        "reset after the body is read",
        "simulator reads the body, carries the call out (a create makes the task), then resets",
        "broke before the answer arrived",
        "APIConnectionError",
        fault={"action": "reset_after_body"},
    ),
    _lost_answer(
        "read-timeout",
        "read timeout (slow answer)",
        f"simulator carries the call out, then answers after {SLOW_ANSWER:g} s; read timeout "
        f"{SHORT_TIMEOUTS['read_timeout']:g} s",
        "did not answer in time",
        "APITimeoutError",
        fault={"delay": SLOW_ANSWER},
        settings=SHORT_TIMEOUTS,
    ),
    _lost_answer(
        "hang",
        "read timeout (no answer)",
        "simulator reads the request and never answers (a create makes no task)",
        "did not answer in time",
        "APITimeoutError",
        fault={"action": "hang"},
        settings=SHORT_TIMEOUTS,
    ),
    _lost_answer(
        "trickle-slow",
        "trickle, each byte later than the read timeout",
        f"simulator carries the call out, then sends one byte every {TRICKLE_SLOW:g} s; read timeout "
        f"{SHORT_TIMEOUTS['read_timeout']:g} s",
        "did not answer in time",
        "APITimeoutError",
        fault={"action": "trickle", "delay": TRICKLE_SLOW},
        settings=SHORT_TIMEOUTS,
    ),
    _lost_answer(
        "trickle-fast",
        "trickle, each byte in time, the whole answer past the deadline",
        f"simulator carries the call out, then sends one byte every {TRICKLE_FAST:g} s (1 byte/s against the "
        f"default 60 s read timeout, scaled down); read timeout {SHORT_TIMEOUTS['read_timeout']:g} s, deadline "
        f"{TRICKLE_FAST_DEADLINE:g} s, so the call must give up at the deadline (a call still running "
        f"{WATCHDOG_GRACE:g} s past it is stopped by shutting the simulator down: the message shown is what "
        "followed that)",
        "did not answer in time",
        "APITimeoutError",
        fault={"action": "trickle", "delay": TRICKLE_FAST},
        settings={**SHORT_TIMEOUTS, "deadline": TRICKLE_FAST_DEADLINE},
        safe=Expect("APITimeoutError"),  # the deadline is spent in the first attempt: no time is left to retry
        once=False,  # one slow answer is the whole story; a second run would only repeat it
    ),
)
FAULTS_BY_KEY = {case.key: case for case in FAULTS}


# --- running one cell -----------------------------------------------------------------------------------------


@dataclass
class CellResult:
    """What one call met under one fault, and what the simulator saw."""

    call: Call
    case: FaultCase
    once: bool
    settings: Settings
    error: BaseException | None
    value: Any
    attempts: int
    """Requests the client started (including those that never reached the simulator)."""
    arrived: list[RequestRecord]
    """The simulator's log of requests for this call, oldest first."""
    creates_arrived: int
    tasks_created: int
    waits: list[float]
    """The waits the client asked for between attempts (taken instantly on a virtual clock)."""
    elapsed: float
    overran: bool
    credits_initial: int
    credits_after: int
    """The simulator's balance at its start and after the call: refunds can never take it above the start."""

    @property
    def expected(self) -> Expect:
        exp = self.case.expect(self.call)
        return Expect(None) if self.once and exp.retried else exp

    @property
    def error_class(self) -> str | None:
        return type(self.error).__name__ if self.error is not None else None

    @property
    def cause_class(self) -> str | None:
        return type(self.error.cause).__name__ if isinstance(self.error, OutcomeUnknownError) else None

    @property
    def outcome_unknown(self) -> bool:
        return isinstance(self.error, OutcomeUnknownError)

    @property
    def lines(self) -> list[str]:
        """What the command line prints for the error (``error_lines``)."""
        return error_lines(self.error) if isinstance(self.error, ViduError) else []

    @property
    def exit_code(self) -> int:
        if self.error is None:
            return 0
        return exit_code(self.error) if isinstance(self.error, ViduError) else -1

    @property
    def retries(self) -> int:
        return max(0, self.attempts - 1)

    @property
    def max_retries(self) -> int:
        return self.settings.create_retries if self.call == "create" else self.settings.query_retries


class _CountingTransport(httpx.BaseTransport):
    """The client's own transport (deadline included), counting the requests it starts for each call."""

    def __init__(self) -> None:
        self._inner = deadline.transport()
        self.paths: list[str] = []
        self.connected: list[str] = []
        """The paths of the requests whose connection opened: the simulator reads each of them, sooner or later."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        try:
            answer = self._inner.handle_request(request)
        except (httpx.ConnectError, httpx.ConnectTimeout):
            raise
        except Exception:
            self.connected.append(request.url.path)
            raise
        self.connected.append(request.url.path)
        return answer

    def close(self) -> None:
        self._inner.close()

    def count(self, call: Call, *, connected: bool = False) -> int:
        """The requests started for ``call``; with ``connected``, only those whose connection opened."""
        suffix = {"create": "/start-end2video", "query": "/creations", "cancel": "/cancel"}[call]
        return sum(path.endswith(suffix) for path in (self.connected if connected else self.paths))


class _VirtualTime:
    """The client's clock and sleep: a wait is recorded and added to the clock instead of slept.

    ``on_first_sleep`` runs once, before the first retry: a socket fault "heals" there in the once-mode runs.
    """

    def __init__(self) -> None:
        self.offset = 0.0
        self.waits: list[float] = []
        self.on_first_sleep: Callable[[], None] | None = None

    def clock(self) -> float:
        return time.monotonic() + self.offset

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.offset += seconds
        heal, self.on_first_sleep = self.on_first_sleep, None
        if heal is not None:
            heal()


@cache
def create_body() -> bytes:
    """A valid create body: two small PNG frames drawn here, as data URIs."""
    images = []
    for colour in ((200, 60, 40), (40, 90, 200)):
        buf = io.BytesIO()
        Image.new("RGB", (96, 64), colour).save(buf, "PNG")
        images.append("data:image/png;base64," + base64.b64encode(buf.getvalue()).decode())
    return orjson.dumps({"model": "viduq1", "images": images, "prompt": "a slow dolly in"})


def settings_for(base_url: str, **overrides: Any) -> Settings:
    return Settings.build(api_key=KEY, base_url=base_url, **{**BASE_SETTINGS, **overrides})


@contextlib.contextmanager
def full_backlog(port: int) -> Iterator[Callable[[], None]]:
    """Listen on ``port`` with a full accept queue and never accept: connecting times out, for real.

    Yields a function that closes the listener (and the connections filling its queue), freeing the port.
    """
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(0)
    fillers: list[socket.socket] = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    time.sleep(0.05)  # let the handshakes complete so the queue is full

    def close() -> None:
        for sock in (*fillers, listener):
            sock.close()

    try:
        yield close
    finally:
        close()


def _nothing() -> None:
    return None


def _make_task(sim: Simulator) -> str:
    """A queued task to query or cancel, created with the default (generous) timeouts: setup must not flake."""
    with ViduClient(Settings.build(api_key=KEY, base_url=sim.base_url), transport=_CountingTransport()) as client:
        return client.create(create_body()).task_id


def _invoke(client: ViduClient, call: Call, task_id: str) -> Any:
    if call == "create":
        return client.create(create_body())
    if call == "query":
        return client.query(task_id)
    return client.cancel(task_id)


def run_cell(call: Call, case: FaultCase, *, once: bool = False) -> CellResult:
    """Make ``call`` once (one click) against ``case``'s fault, persistent or (``once``) happening one time."""
    sim = Simulator(api_key=KEY, queue_seconds=60, process_seconds=60)
    with contextlib.ExitStack() as stack:
        sim.start()
        stack.callback(sim.stop)
        task_id = _make_task(sim) if call != "create" else "0"
        vtime = _VirtualTime()
        if case.socket is not None:
            sim.stop()  # its port is now closed: connection refused
            release: Callable[[], None] = _nothing
            if case.socket == "connect_timeout":
                release = stack.enter_context(full_backlog(sim.port))
            if once:

                def heal() -> None:
                    release()
                    sim.start()

                vtime.on_first_sleep = heal
        else:
            assert case.fault is not None
            sim.inject(Fault(call=call, times=1 if once else 99, **case.fault))
        settings = settings_for(sim.base_url, **case.settings)
        before, created_before = len(sim.requests), sim.create_count
        transport = _CountingTransport()
        client = stack.enter_context(ViduClient(settings, transport=transport, sleep=vtime.sleep, clock=vtime.clock))
        outcome: dict[str, Any] = {}

        def work() -> None:
            try:
                outcome["value"] = _invoke(client, call, task_id)
            except Exception as exc:  # anything, typed or not, is the result being measured
                outcome["error"] = exc

        started = time.monotonic()
        worker = threading.Thread(target=work, name=f"cell-{call}-{case.key}", daemon=True)
        worker.start()
        worker.join(settings.deadline + WATCHDOG_GRACE)
        overran = worker.is_alive()
        if overran:
            sim.stop()  # releases a trickle or a hang; the client then fails fast
            worker.join(10)
        elapsed = time.monotonic() - started
        # A client that gave up at its read timeout may be back before the simulator handled, or even read, the
        # request: wait for every request whose connection opened.
        arrived = sum(transport.count(c, connected=True) for c in ("create", "query", "cancel")) if case.fault else 0
        assert sim.settled(before, arrived=arrived), "the simulator never settled the cell's requests"
        records = sim.requests[before:]
        return CellResult(
            call=call,
            case=case,
            once=once,
            settings=settings,
            error=outcome.get("error"),
            value=outcome.get("value"),
            attempts=transport.count(call),
            arrived=[r for r in records if r.call == call],
            creates_arrived=sum(r.call == "create" for r in records),
            tasks_created=sim.create_count - created_before,
            waits=list(vtime.waits),
            elapsed=elapsed,
            overran=overran,
            credits_initial=sim.initial_credits,
            credits_after=sim.credits,
        )
    raise AssertionError("unreachable")  # pragma: no cover  (the ExitStack never swallows)


def violations(result: CellResult) -> list[str]:
    """How ``result`` departs from the contract; empty when it keeps it."""
    limit = result.settings.deadline + WATCHDOG_GRACE
    if result.overran:  # what follows the watchdog's shutdown of the simulator is not the client's doing
        return [
            f"still receiving after {result.elapsed:.1f} s, past its {result.settings.deadline:g} s deadline "
            "(stopped by the watchdog)"
        ]
    found: list[str] = []
    exp = result.expected
    got = result.error_class
    if exp.error is None and got is not None:
        found.append(f"expected success, got {got}: {result.error}")
    elif exp.error is not None and got != exp.error:
        found.append(f"expected {exp.error}, got {got or 'success'}")
    if exp.cause is not None and result.outcome_unknown and result.cause_class != exp.cause:
        found.append(f"outcome unknown caused by {result.cause_class}, expected {exp.cause}")
    if result.outcome_unknown and result.call != "create":
        found.append("outcome unknown on a call that is safe to repeat")
    wanted = (2 if result.once else result.max_retries + 1) if result.case.expect(result.call).retried else 1
    if result.attempts != wanted:
        found.append(f"{result.attempts} attempt(s), expected {wanted}")
    refusals = [r for r in result.arrived[:-1] if r.status not in (429, 503)]
    if result.call == "create" and refusals:
        found.append(f"{result.creates_arrived} creates arrived though an earlier one may have been carried out")
    if result.tasks_created > 1:
        found.append(f"{result.tasks_created} tasks created by one click")
    if result.call != "create" and result.creates_arrived:
        found.append(f"{result.creates_arrived} create request(s) arrived during a {result.call}")
    if result.credits_after > result.credits_initial:
        found.append(f"the balance rose from {result.credits_initial} to {result.credits_after}: refunded twice")
    if result.elapsed > limit:
        found.append(f"took {result.elapsed:.1f} s, past its {result.settings.deadline:g} s deadline")
    if isinstance(result.error, APIError):
        text = str(result.error)
        if exp.error is not None and result.case.says not in text:
            found.append(f"the message does not say {result.case.says!r}")
        if result.outcome_unknown and "outcome unknown" not in text:
            found.append("the message does not say the outcome is unknown")
        lines = result.lines
        if len(lines) != 2 or not lines[0].startswith("error: ") or not lines[1].startswith("what to do: "):
            found.append(f"the command line prints {lines!r}")
        if result.exit_code != (EXIT_UNKNOWN if exp.unknown else EXIT_SERVICE):
            found.append(f"exit code {result.exit_code}")
    elif result.error is not None:
        found.append(f"an untyped {got} escaped: {result.error}")
    retry_after = result.case.retry_after
    if (
        not result.once
        and exp.retried
        and retry_after is not None
        and any(abs(w - retry_after) > 1e-6 for w in result.waits)
    ):
        found.append(f"waited {result.waits}, not the Retry-After of {result.case.retry_after:g} s")
    return found


def pairs(results: list[CellResult]) -> list[tuple[CellResult, CellResult | None]]:
    """The results as ``(persistent, once)`` pairs in the matrix's order (calls, then faults)."""
    by_cell = {(r.call, r.case.key, r.once): r for r in results}
    out = []
    for call in CALLS:
        for case in FAULTS:
            persistent = by_cell.get((call, case.key, False))
            if persistent is not None:
                out.append((persistent, by_cell.get((call, case.key, True))))
    return out


# --- polling under transient faults ------------------------------------------------------------------------------

POLLING_FAULTS: tuple[dict[str, Any], ...] = (
    {"status": 500},
    {"status": 503, "headers": {"Retry-After": "0"}},
    {"action": "reset_before_body"},
    {"action": "hang"},
    {"status": 502},
)


@dataclass
class PollingResult:
    states: list[str]
    final: str
    queries: list[RequestRecord]
    elapsed: float
    error: BaseException | None


def run_polling() -> PollingResult:
    """Follow a task with ``tracking.follow`` while its first queries meet ``POLLING_FAULTS``.

    The client makes no retries of its own (``query_retries=0``), so every fault reaches ``follow``.
    """
    with Simulator(api_key=KEY, queue_seconds=0.2, process_seconds=0.8) as sim:
        task_id = _make_task(sim)
        for fault in POLLING_FAULTS:
            sim.inject(Fault(call="query", **fault))
        settings = settings_for(
            sim.base_url,
            **SHORT_TIMEOUTS,  # its hang is waited out
            query_retries=0,
            poll_interval=0.02,
            poll_max_interval=0.05,
            poll_max_wait=20,
        )
        states: list[str] = []
        error: BaseException | None = None
        started = time.monotonic()
        with ViduClient(settings) as client:
            try:
                states = [status.state for status in tracking.follow(client, task_id, settings)]
            except Exception as exc:
                error = exc
        elapsed = time.monotonic() - started
        queries = [r for r in sim.requests if r.call == "query"]
    return PollingResult(states, states[-1] if states else "none", queries, elapsed, error)


# --- the document ------------------------------------------------------------------------------------------------

_TRACE = re.compile(r"\b[0-9a-f]{32}\b")
_PORT = re.compile(r"127\.0\.0\.1:\d+")
_TASK_ID = re.compile(r"\b\d{15,20}\b")


def _clean(text: str, limit: int = 110) -> str:
    """A message as the reader should see it here: no run-specific ports, ids or trace ids, shortened."""
    text = _PORT.sub("127.0.0.1:PORT", text)
    text = _TRACE.sub("…", _TASK_ID.sub("<task id>", text))
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("|", "\\|")


def _retries(result: CellResult) -> str:
    if not result.waits:
        return str(result.retries)
    return f"{result.retries} (waits {', '.join(f'{w:.1f}' for w in result.waits)} s)"


def _once(result: CellResult | None) -> str:
    if result is None:
        return "—"
    tasks = f", {_tasks(result.tasks_created)}" if result.call == "create" else ""
    if result.error is None:
        return f"done after {result.retries} retr{'y' if result.retries == 1 else 'ies'}{tasks}"
    if result.outcome_unknown:
        return f"outcome unknown{tasks}"
    return f"{result.error_class}{tasks}"


def _tasks(n: int) -> str:
    return f"{n} task" + ("" if n == 1 else "s")


def _error_name(result: CellResult) -> str:
    if result.error is None:
        return "none (success)"
    return f"{result.error_class} ← {result.cause_class}" if result.cause_class else str(result.error_class)


def _table(call: Call, rows: list[tuple[CellResult, CellResult | None]]) -> list[str]:
    arrived = "Creates arrived (tasks made)" if call == "create" else f"{call.capitalize()} requests arrived"
    out = [
        f"| Fault | The user sees | What to do | Error | Outcome unknown? | Exit | {arrived} | Retries "
        "| If it happens once | Contract |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for persistent, once in rows:
        lines = persistent.lines
        sees = _clean(lines[0].removeprefix("error: ")) if lines else "(no error)"
        todo = _clean(lines[1].removeprefix("what to do: "), 160) if len(lines) > 1 else ""
        count = str(len(persistent.arrived))
        if call == "create":
            count += f" ({persistent.tasks_created})"
        problems = violations(persistent) + (violations(once) if once is not None else [])
        if once is not None:
            problems = [p if p in violations(persistent) else f"once: {p}" for p in problems]
        verdict = "✓" if not problems else "✗ " + "; ".join(_clean(p, 160) for p in problems)
        out.append(
            f"| {persistent.case.label} | {sees} | {todo} | {_error_name(persistent)} "
            f"| {'yes' if persistent.outcome_unknown else 'no'} | {persistent.exit_code} | {count} "
            f"| {_retries(persistent)} | {_once(once)} | {verdict} |"
        )
    return out


def service_faults(cells: list[CellResult], polling: PollingResult | None) -> str:
    """The "Service faults" section: the fault matrix for create, query and cancel, and polling under faults."""
    results = pairs(cells)
    base = BASE_SETTINGS
    out = [
        "## Service faults",
        "",
        "Each cell is one click: one `ViduClient` call (create, query or cancel) against a local simulator that "
        "injects the fault on **every** attempt; the column *If it happens once* repeats the call with the fault "
        "injected once only (for the socket faults, the port starts answering before the first retry). "
        f"Client settings: connect and read timeout {base['connect_timeout']:g} s ("
        f"{SHORT_TIMEOUTS['read_timeout']:g} s where the fault is a timeout), deadline {base['deadline']:g} s "
        f"(unless the fault says otherwise), {base['create_retries']} create retries (only for failures before "
        f"sending and for 429/503), {base['query_retries']} retries of a query or cancel. Waits between retries "
        "run on a virtual clock (recorded, not slept), so *Retries* shows the waits the client chose: the "
        "`Retry-After` value when the service sends one, else the exponential backoff with jitter.",
        "",
        "*The user sees* and *What to do* are the two lines the command line prints (`error_lines`; the web page "
        "shows the same error and hint), shortened; ports, task ids and trace ids are elided. *Outcome unknown* "
        "means the create may have made (and billed) a task: the command line exits 3 and says to look for it "
        "before resubmitting. *Arrived* counts requests the simulator received for that call; *tasks made* "
        'counts tasks it created. *Contract* is ✓ when the cell keeps `shared/vidu-api.md` ("Errors"): the '
        "expected error class; outcome unknown exactly where a create may have been carried out; creates retried "
        "only after a failure before sending or an explicit 429/503; query and cancel retried; no second create "
        "after one that may have arrived; the call over within its deadline; a message naming what happened and "
        "a hint. Each cell is a test of `tests/test_faults.py`, asserting these checks.",
        "",
    ]
    for call in CALLS:
        out += [f"### {call.capitalize()}", "", *_table(call, [r for r in results if r[0].call == call]), ""]
    unknown = [p.case.label for p, _ in results if p.outcome_unknown]
    creates_elsewhere = sum(
        p.creates_arrived + (o.creates_arrived if o else 0) for p, o in results if p.call != "create"
    )
    most = max((p.tasks_created for p, _ in results if p.call == "create"), default=0)
    broken = [(r, v) for pair in results for r in pair if r is not None and (v := violations(r))]
    out += [
        "### What the matrix shows",
        "",
        f"- Outcome unknown (create only): {'; '.join(unknown)}.",
        f"- Most tasks one create click made: {most}. Creates that arrived during query and cancel runs: "
        f"{creates_elsewhere}.",
        "- A create is sent again only after connection refused or connect timeout (it never arrived) and after "
        "429/503 (each arrival refused, no task made); a reset before the body is read cannot be told apart from "
        "one after it on the client's side, so it is outcome unknown, and the simulator confirms no task was made.",
    ]
    if broken:
        out.append("- Cells that break the contract:")
        for result, problems in broken:
            mode = "once" if result.once else "every attempt"
            out.append(f"  - {result.call} × {result.case.label} ({mode}): {_clean('; '.join(problems), 300)}")
    else:
        out.append("- Every cell keeps the contract.")
    out += [
        "",
        "### How each fault is produced",
        "",
        *(f"- **{case.label}**: {case.how}." for case in FAULTS),
        "",
    ]
    if polling is not None:
        out += ["### Polling through transient query faults", "", _polling_summary(polling), ""]
    return "\n".join(out)


def _polling_summary(result: PollingResult) -> str:
    faults = [r.fault for r in result.queries if r.fault]
    text = (
        f"`tracking.follow` with the client's own retries off (`query_retries=0`), so each fault reaches the "
        f"poller: the first {len(POLLING_FAULTS)} queries met {', '.join(f or '' for f in faults)}. "
    )
    if result.error is not None:
        return text + f"It stopped with {type(result.error).__name__}: {_clean(str(result.error))}."
    return text + (
        f"It waited each out and followed the task to **{result.final}** after {len(result.queries)} queries "
        f"in {result.elapsed:.1f} s (states seen: {' → '.join(dict.fromkeys(result.states))})."
    )
