from __future__ import annotations

import http.server
import json
import logging
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Any, ClassVar

import httpcore
import httpx
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fakes import FakeTime
from tests.support.samples import SEED_RESPONSE, SUCCESS_STATUS
from vidu_ui import __version__, deadline
from vidu_ui.client import (
    BACKOFF_CAP,
    RETRY_AFTER_CAP,
    AsyncViduClient,
    ViduClient,
    backoff_delay,
    parse_retry_after,
    retry_wait,
)
from vidu_ui.errors import (
    APIConnectionError,
    APIError,
    APIResponseError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InvalidInput,
    NotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)
from vidu_ui.settings import Paths, Settings

CANARY = "sk-CANARY-123"
BODY = orjson.dumps({"model": "viduq1", "images": ["data:image/png;base64,AAAA", "https://x.test/b.png"]})
Handler = Callable[[httpx.Request], httpx.Response]


@dataclass
class Recorder:
    """A MockTransport handler answering from a script: responses, exceptions, or callables."""

    script: list[Any]
    time: FakeTime | None = None
    elapsed: float = 0.0
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.time is not None:
            self.time.now += self.elapsed
        item = self.script[min(len(self.requests), len(self.script)) - 1]
        if isinstance(item, BaseException):
            raise item
        if callable(item):
            result: httpx.Response = item(request)
            return result
        assert isinstance(item, httpx.Response)
        return item


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"api_key": CANARY, "base_url": "https://vidu.test", **overrides}
    return Settings.build(**values)


def make(script: list[Any], *, elapsed: float = 0.0, **overrides: Any) -> tuple[ViduClient, Recorder, FakeTime]:
    fake = FakeTime()
    recorder = Recorder(script, time=fake, elapsed=elapsed)
    client = ViduClient(
        settings(**overrides), transport=httpx.MockTransport(recorder), sleep=fake.sleep, clock=fake.clock
    )
    return client, recorder, fake


def ok(data: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=data)


def err(status: int, reason: str = "Oops", message: str = "it failed", trace: str = "t-1", **kw: Any) -> httpx.Response:
    body = {"code": status, "reason": reason, "message": message, "metadata": {"trace_id": trace}}
    return httpx.Response(status, json=body, **kw)


# --- auth, paths, headers ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("scheme", "base"), [("Bearer", "https://www.kkiai.com"), ("Token", "https://api.vidu.com")])
def test_auth_header_per_scheme(scheme: str, base: str) -> None:
    client, rec, _ = make([ok({"remains": []})], auth_scheme=scheme, base_url=base)
    client.credits()
    request = rec.requests[0]
    assert request.headers["authorization"] == f"{scheme} {CANARY}"
    assert request.headers["user-agent"] == f"vidu-ui/{__version__}"
    assert str(request.url) == f"{base}/ent/v2/credits"


def test_paths_configurable_and_task_id_filled() -> None:
    paths = Paths(
        create="/v9/make",
        query="/v9/t/{task_id}/status",
        cancel="/v9/t/{task_id}/stop",
        credits="/v9/money",
        tasks="/v9/all",
    )
    client, rec, _ = make(
        [ok(SEED_RESPONSE), ok({"state": "queueing"}), ok({}), ok({}), ok({"tasks": []})],
        paths=paths,
        base_url="https://proxy.test/prefix",
    )
    client.create(BODY)
    client.query("42")
    client.cancel("42")
    client.credits()
    client.list_tasks()
    got = [(r.method, r.url.path) for r in rec.requests]
    assert got == [
        ("POST", "/prefix/v9/make"),
        ("GET", "/prefix/v9/t/42/status"),
        ("POST", "/prefix/v9/t/42/stop"),
        ("GET", "/prefix/v9/money"),
        ("GET", "/prefix/v9/all"),
    ]
    assert orjson.loads(rec.requests[2].content) == {"id": "42"}


@pytest.mark.parametrize("key", [None, "", "   "])
def test_missing_key_raises_before_sending(key: str | None) -> None:
    client, rec, _ = make([ok({})], api_key=key)
    with pytest.raises(InvalidInput) as info:
        client.credits()
    assert info.value.problems[0].field == "api_key"
    assert rec.requests == []


def test_key_with_line_break_refused_without_echo() -> None:
    client, rec, _ = make([ok({})], api_key="sk-CANARY-\n123")
    with pytest.raises(InvalidInput) as info:
        client.credits()
    assert "CANARY" not in str(info.value)
    assert rec.requests == []


def test_create_sends_exact_bytes_as_json() -> None:
    client, rec, _ = make([ok(SEED_RESPONSE)])
    task = client.create(BODY)
    assert rec.requests[0].content == BODY
    assert rec.requests[0].headers["content-type"] == "application/json"
    assert task.task_id == "911088422699962368"
    assert task.wm_position == "unspecified"
    assert task.raw == SEED_RESPONSE


def test_timeouts_explicit_and_clipped_to_deadline() -> None:
    seen: list[dict[str, float]] = []

    def capture(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return ok({})

    client, _, _ = make([capture, capture], connect_timeout=5, read_timeout=60, deadline=100)
    client.credits()
    assert seen[0] == {"connect": 5, "read": 60, "write": 60, "pool": 5}


def test_each_attempt_clipped_to_time_left() -> None:
    seen: list[dict[str, float]] = []

    def slow_fail(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return err(500)

    client, _, _ = make([slow_fail], elapsed=30, read_timeout=60, deadline=50, query_retries=5)
    with pytest.raises(ServerError):
        client.credits()
    assert seen[0]["read"] == 50
    assert len(seen) == 2
    assert seen[1]["read"] < 20


# --- status errors ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (429, RateLimitError),
        (499, ServerError),
        (500, ServerError),
        (502, ServerError),
        (418, APIStatusError),
    ],
)
def test_status_maps_to_error_class(status: int, cls: type[APIStatusError]) -> None:
    client, rec, _ = make([err(status, "SomeReason", "went wrong", "trace-9")], query_retries=0)
    with pytest.raises(APIStatusError) as info:
        client.query("1")
    exc = info.value
    assert type(exc) is cls
    assert (exc.status_code, exc.reason, exc.service_message, exc.trace_id) == (
        status,
        "SomeReason",
        "went wrong",
        "trace-9",
    )
    assert exc.body["reason"] == "SomeReason"
    assert "trace-9" in str(exc)
    assert len(rec.requests) == 1


def test_credit_insufficient_hint() -> None:
    client, _, _ = make([err(400, "CreditInsufficient", "not enough credits")])
    with pytest.raises(BadRequestError) as info:
        client.create(BODY)
    assert "top up" in info.value.hint


def test_error_wrapped_in_http_200_is_an_error() -> None:
    client, rec, _ = make([ok({"code": 400, "reason": "FieldUnwanted", "message": "bgm"})])
    with pytest.raises(BadRequestError) as info:
        client.create(BODY)
    assert info.value.reason == "FieldUnwanted"
    assert len(rec.requests) == 1


@pytest.mark.parametrize(
    ("response", "needle"),
    [
        (
            httpx.Response(
                502,
                headers={"content-type": "text/html"},
                content=b"<html><head><title>502 Bad Gateway</title></head><body><h1>nginx</h1></body></html>",
            ),
            "HTML, not JSON: '502 Bad Gateway'",
        ),
        (httpx.Response(503, content=b""), "empty body"),
        (
            httpx.Response(500, headers={"content-type": "application/json"}, content=b'{"code": 500, "reas'),
            "truncated or malformed JSON",
        ),
        (httpx.Response(500, content=b"upstream connect error\n\x00 reset"), "plain text, not JSON"),
        (httpx.Response(500, json=[1, 2]), "JSON this app does not recognise"),
    ],
)
def test_unreadable_error_bodies(response: httpx.Response, needle: str) -> None:
    client, _, _ = make([response], query_retries=0)
    with pytest.raises(ServerError) as info:
        client.query("1")
    assert needle in str(info.value)
    assert "\x00" not in str(info.value)


def test_long_html_excerpt_is_short() -> None:
    page = b"<html><body>" + b"x" * 10_000 + b"</body></html>"
    client, _, _ = make([httpx.Response(404, headers={"content-type": "text/html"}, content=page)])
    with pytest.raises(NotFoundError) as info:
        client.query("1")
    assert len(str(info.value)) < 400


def test_2xx_query_not_json() -> None:
    client, _, _ = make([httpx.Response(200, headers={"content-type": "text/html"}, content=b"<html>hi</html>")])
    with pytest.raises(APIResponseError) as info:
        client.query("1")
    assert "HTML" in str(info.value)


def test_a_state_outside_the_documented_five_is_still_running() -> None:
    client, _, _ = make([ok({"state": "Preparation", "creations": [], "progress": 140})])
    status = client.query("1")
    assert (status.state, status.outcome, status.finished) == ("preparation", "running", False)
    assert status.progress == 100  # clamped to 0–100


@pytest.mark.parametrize("spelling", ["canceled", "cancelled"])
def test_a_cancelled_task_is_one_outcome(spelling: str) -> None:
    client, _, _ = make([ok({"state": spelling}), ok({"state": "failed", "err_code": "UserCancelled"})])
    for status in (client.query("task_1"), client.query("task_1")):
        assert status.finished and status.cancelled and (status.state, status.err_code) == ("failed", "UserCancelled")


def test_a_state_that_is_not_a_word_is_a_response_error() -> None:
    client, _, _ = make([ok({"state": "rm -rf /", "creations": []})])
    with pytest.raises(APIResponseError):
        client.query("1")


def test_blocked_resources_are_read() -> None:
    body = {
        "state": "failed",
        "err_code": "AuditSubmitIllegal",
        "blocked_resources": [{"content_type": "image", "index": 1}],
    }
    client, _, _ = make([ok(body)])
    blocked = client.query("1").blocked_resources
    assert [(b.content_type, b.index) for b in blocked] == [("image", 1)]


@pytest.mark.parametrize("task_id", ["task_5f2cAbC9", "3fa85f64-5717-4562-b3fc-2c963f66afa6"])
def test_non_numeric_task_ids_are_sent_as_they_are(task_id: str) -> None:
    client, rec, _ = make([ok({"state": "queueing"}), ok({"state": "canceled"})])
    client.query(task_id)
    client.cancel(task_id)
    assert [r.url.path for r in rec.requests] == [
        f"/ent/v2/tasks/{task_id}/creations",
        f"/ent/v2/tasks/{task_id}/cancel",
    ]
    assert json.loads(rec.requests[1].content) == {"id": task_id}


def test_query_parses_success() -> None:
    client, _, _ = make([ok(SUCCESS_STATUS)])
    status = client.query(" 911088422699962368 ")
    assert status.finished and status.video_url == "https://cdn.test/v.mp4?sig=1"


@pytest.mark.parametrize("bad", ["", "1 2", "١٢٣", "a/b", "..", "id?x=1", "1" * 129])
def test_bad_task_id_nothing_sent(bad: str) -> None:
    client, rec, _ = make([ok({})])
    for call in (client.query, client.cancel):
        with pytest.raises(InvalidInput) as info:
            call(bad)
        assert info.value.problems[0].field == "task_id"
    assert rec.requests == []


# --- create: never twice unless provably unsent or refused --------------------------------------------------------


def test_create_connect_error_then_success_sends_twice() -> None:
    client, rec, fake = make([httpx.ConnectError("refused"), ok(SEED_RESPONSE)])
    assert client.create(BODY).task_id == "911088422699962368"
    assert len(rec.requests) == 2
    assert len(fake.sleeps) == 1


@pytest.mark.parametrize("exc", [httpx.ConnectTimeout("slow"), httpx.PoolTimeout("busy")])
def test_create_retries_pre_send_timeouts(exc: Exception) -> None:
    client, rec, _ = make([exc, ok(SEED_RESPONSE)])
    client.create(BODY)
    assert len(rec.requests) == 2


def test_create_connect_errors_exhaust_retries() -> None:
    client, rec, _ = make([httpx.ConnectError("refused")], create_retries=2)
    with pytest.raises(APIConnectionError) as info:
        client.create(BODY)
    assert not isinstance(info.value, OutcomeUnknownError)
    assert len(rec.requests) == 3


def test_create_429_waits_retry_after_then_succeeds() -> None:
    client, rec, fake = make([err(429, "QuotaExceeded", headers={"Retry-After": "7"}), ok(SEED_RESPONSE)])
    client.create(BODY)
    assert fake.sleeps == [7.0]
    assert len(rec.requests) == 2


def test_create_retry_after_capped() -> None:
    client, _, fake = make([err(429, headers={"Retry-After": "3600"}), ok(SEED_RESPONSE)])
    client.create(BODY)
    assert fake.sleeps == [RETRY_AFTER_CAP]


def test_create_retry_after_beyond_deadline_not_waited() -> None:
    client, rec, fake = make([err(429, headers={"Retry-After": "20"}), ok(SEED_RESPONSE)], deadline=10)
    with pytest.raises(RateLimitError) as info:
        client.create(BODY)
    assert info.value.retry_after == 20
    assert fake.sleeps == []
    assert len(rec.requests) == 1


def test_create_503_bounded_retries_then_raises() -> None:
    client, rec, fake = make([err(503, "SystemThrottling")], create_retries=2)
    with pytest.raises(ServerError) as info:
        client.create(BODY)
    assert not isinstance(info.value, OutcomeUnknownError)
    assert len(rec.requests) == 3
    assert len(fake.sleeps) == 2


@pytest.mark.parametrize(
    ("failure", "cause_type"),
    [
        (httpx.ReadTimeout("slow"), APITimeoutError),
        (httpx.WriteTimeout("slow"), APITimeoutError),
        (httpx.RemoteProtocolError("Server disconnected without sending a response."), APIConnectionError),
        (httpx.ReadError("connection reset by peer"), APIConnectionError),
        (httpx.WriteError("broken pipe"), APIConnectionError),
        (err(500, "InternalServiceFailure"), ServerError),
        (err(502), ServerError),
        (err(504), ServerError),
        (err(499, "Canceled"), ServerError),
    ],
)
def test_create_outcome_unknown_sent_once(failure: Any, cause_type: type[APIError]) -> None:
    client, rec, fake = make([failure, ok(SEED_RESPONSE)], create_retries=5)
    with pytest.raises(OutcomeUnknownError) as info:
        client.create(BODY)
    assert type(info.value.cause) is cause_type
    assert "may have been created" in str(info.value)
    assert len(rec.requests) == 1
    assert fake.sleeps == []


@pytest.mark.parametrize(
    "response",
    [
        ok({"state": "created"}),
        ok({"task_id": ""}),
        httpx.Response(200, content=b'{"task_id": "9110884'),
        httpx.Response(200, content=b""),
        httpx.Response(200, headers={"content-type": "text/html"}, content=b"<html>ok</html>"),
        ok({"task_id": "123", "state": "not a state"}),
        ok({"task_id": "a/b", "state": "created"}),
    ],
)
def test_create_unreadable_2xx_is_outcome_unknown(response: httpx.Response) -> None:
    client, rec, _ = make([response, ok(SEED_RESPONSE)])
    with pytest.raises(OutcomeUnknownError) as info:
        client.create(BODY)
    assert isinstance(info.value.cause, APIResponseError)
    assert len(rec.requests) == 1


def test_create_unknown_state_keeps_task_id_in_message() -> None:
    client, _, _ = make([ok({"task_id": "123", "state": "not a state"})])
    with pytest.raises(OutcomeUnknownError) as info:
        client.create(BODY)
    assert "123" in str(info.value) and "'not a state'" in str(info.value)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_create_4xx_plain_error_one_send(status: int) -> None:
    client, rec, _ = make([err(status, "FieldInvalid")])
    with pytest.raises(APIStatusError) as info:
        client.create(BODY)
    assert not isinstance(info.value, OutcomeUnknownError)
    assert len(rec.requests) == 1


def test_create_bad_request_is_bad_request_error() -> None:
    client, rec, _ = make([err(400, "FieldUnwanted", "bgm is not allowed")])
    with pytest.raises(BadRequestError) as info:
        client.create(BODY)
    assert info.value.reason == "FieldUnwanted"
    assert len(rec.requests) == 1


def test_create_unsupported_protocol_not_outcome_unknown() -> None:
    client, rec, _ = make([httpx.UnsupportedProtocol("no")])
    with pytest.raises(APIConnectionError) as info:
        client.create(BODY)
    assert not isinstance(info.value, OutcomeUnknownError)
    assert len(rec.requests) == 1


# --- safe calls: retried with backoff -----------------------------------------------------------------------------


def test_query_retries_500_then_succeeds_with_growing_waits() -> None:
    client, rec, fake = make([err(500), err(500), ok(SUCCESS_STATUS)])
    assert client.query("1").succeeded
    assert len(rec.requests) == 3
    assert len(fake.sleeps) == 2
    assert fake.sleeps[0] < fake.sleeps[1] <= 1.25 * BACKOFF_CAP


@pytest.mark.parametrize(
    "failure",
    [httpx.ReadTimeout("slow"), httpx.ConnectError("refused"), httpx.RemoteProtocolError("reset"), err(429), err(503)],
)
def test_safe_calls_retry_transient_failures(failure: Any) -> None:
    for call in ("query", "cancel", "credits", "list"):
        client, rec, _ = make([failure, ok({"state": "processing"})])
        if call == "query":
            client.query("5")
        elif call == "cancel":
            client.cancel("5")
        elif call == "credits":
            client.credits()
        else:
            client.list_tasks()
        assert len(rec.requests) == 2, call


def test_query_honours_retry_after_http_date() -> None:
    when = format_datetime(datetime.now(timezone.utc).replace(microsecond=0), usegmt=True)
    client, _, fake = make([err(429, headers={"Retry-After": when}), ok(SUCCESS_STATUS)])
    client.query("1")
    assert len(fake.sleeps) == 1 and 0 <= fake.sleeps[0] <= 1


def test_query_retries_bounded() -> None:
    client, rec, _ = make([err(500)], query_retries=3)
    with pytest.raises(ServerError):
        client.query("1")
    assert len(rec.requests) == 4


def test_query_4xx_not_retried() -> None:
    client, rec, _ = make([err(404, "TaskNotFound")])
    with pytest.raises(NotFoundError) as info:
        client.query("1")
    assert "check the id" in info.value.hint
    assert len(rec.requests) == 1


def test_deadline_stops_retries() -> None:
    # Each attempt takes 4 s (then times out); the deadline is 10 s; 10 retries would be allowed.
    starts: list[tuple[float, float]] = []
    fake = FakeTime()

    def slow(request: httpx.Request) -> httpx.Response:
        read = request.extensions["timeout"]["read"]
        starts.append((fake.now, read))
        fake.now += min(4.0, read)
        raise httpx.ReadTimeout("slow", request=request)

    client = ViduClient(
        settings(deadline=10, query_retries=10),
        transport=httpx.MockTransport(slow),
        sleep=fake.sleep,
        clock=fake.clock,
    )
    with pytest.raises(APITimeoutError):
        client.query("1")
    assert 1 < len(starts) < 4
    for started, read in starts:
        assert started < 1010.0
        assert started + read <= 1010.0 + 1e-9
    assert fake.now <= 1010.0 + 1e-9


def test_cancel_empty_body_ok() -> None:
    client, _, _ = make([httpx.Response(200, content=b"")])
    assert client.cancel("9") == {}


def test_credits_must_be_object() -> None:
    client, _, _ = make([ok([1])])
    with pytest.raises(APIResponseError):
        client.credits()


def test_list_tasks_params() -> None:
    client, rec, _ = make([ok({"tasks": [], "next_page_token": ""})])
    client.list_tasks(
        task_ids=["1", "2"],
        states=["success", "failed"],
        created_from=datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
        created_to="2025-02-01T00:00:00Z",
        page_token="tok",
        page_size=100,
    )
    params = rec.requests[0].url.params
    assert params.get_list("task_ids") == ["1", "2"]
    assert params.get_list("states") == ["success", "failed"]
    assert params["created_at.from"] == "2025-01-02T03:04:05Z"
    assert params["created_at.to"] == "2025-02-01T00:00:00Z"
    assert params["pager.page_token"] == "tok"
    assert params["pager.pagesz"] == "100" and "pager.page_sz" not in params


def test_list_tasks_checks_before_sending() -> None:
    client, rec, _ = make([ok({})])
    with pytest.raises(InvalidInput) as info:
        client.list_tasks(task_ids=["a/b"], states=["paused"], page_size=101)
    assert {p.field for p in info.value.problems} == {"task_ids", "states", "page_size"}
    assert rec.requests == []


# --- the key never leaks --------------------------------------------------------------------------------------


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        cause = getattr(exc, "cause", None)
        if isinstance(cause, BaseException):
            yield from _chain(cause)
        exc = exc.__cause__ or exc.__context__


def test_canary_key_never_leaks(caplog: pytest.LogCaptureFixture) -> None:
    echo = f"<html><body>Bad header Authorization: Bearer {CANARY}</body></html>".encode()
    scenarios: list[tuple[list[Any], Callable[[ViduClient], object]]] = [
        ([err(401, "Unauthorized")], lambda c: c.credits()),
        ([httpx.Response(502, headers={"content-type": "text/html"}, content=echo)], lambda c: c.create(BODY)),
        ([httpx.Response(400, text=f"bad key {CANARY}")], lambda c: c.query("1")),
        ([err(400, message=f"key {CANARY} rejected")], lambda c: c.create(BODY)),
        ([httpx.ReadTimeout("slow")], lambda c: c.create(BODY)),
        ([httpx.ConnectError("refused")], lambda c: c.query("1")),
        ([httpx.RemoteProtocolError("reset")], lambda c: c.create(BODY)),
        ([ok({"state": "weird"})], lambda c: c.query("1")),
        ([err(500)], lambda c: c.list_tasks(page_size=5)),
        ([ok(SEED_RESPONSE)], lambda c: c.create(BODY)),
    ]
    texts: list[str] = []
    caplog.set_level(logging.DEBUG)
    for logger_name in ("httpx", "httpcore", "vidu_ui.client"):
        caplog.set_level(logging.DEBUG, logger=logger_name)
    for script, call in scenarios:
        client, _, _ = make(script, query_retries=1, create_retries=1)
        texts += [repr(client), str(client)]
        try:
            call(client)
        except Exception as exc:
            for link in _chain(exc):
                texts += [str(link), repr(link), repr(link.args)]
                if isinstance(link, APIError):
                    texts.append(link.hint)
                if isinstance(link, APIStatusError):
                    texts += [repr(link.body), link.service_message]
        client.close()
    assert caplog.records, "expected log records"
    for record in caplog.records:
        texts += [record.getMessage(), repr(record.args)]
    leaks = [t for t in texts if CANARY in t]
    assert leaks == []
    assert any("[api key]" in t for t in texts)


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = orjson.dumps({"seen_auth": self.headers.get("Authorization") == f"Bearer {CANARY}"})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_real_socket_no_leak_in_httpcore_logs(caplog: pytest.LogCaptureFixture) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    caplog.set_level(logging.DEBUG)
    for logger_name in ("httpx", "httpcore", "vidu_ui.client"):
        caplog.set_level(logging.DEBUG, logger=logger_name)
    try:
        with ViduClient(settings(base_url=f"http://127.0.0.1:{server.server_address[1]}")) as client:
            assert client.credits().raw == {"seen_auth": True}
    finally:
        server.shutdown()
        server.server_close()
    assert any(r.name.startswith("httpcore") for r in caplog.records)
    assert not [r for r in caplog.records if CANARY in r.getMessage() or CANARY in repr(r.args)]


def test_the_deadline_transport_answers_and_fails_as_httpx_does() -> None:
    """``deadline.transport`` is httpx's behaviour over httpcore's public pool: answers, and httpx's errors."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        with httpx.Client(transport=deadline.transport()) as http_client:
            assert http_client.get(url).json() == {"seen_auth": False}
        late = deadline.until(time.monotonic() - 1)
        with httpx.Client(transport=deadline.transport()) as http_client, late, pytest.raises(httpx.ConnectTimeout):
            http_client.get(url)
    finally:
        server.shutdown()
        server.server_close()
    with httpx.Client(transport=deadline.transport()) as http_client, pytest.raises(httpx.ConnectError):
        http_client.get(url)  # nothing listens there now


class _Recorder(httpcore.NetworkStream):
    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.writes.append(bytes(buffer))


@pytest.mark.parametrize("size", [0, 1, deadline.WRITE_CHUNK, deadline.WRITE_CHUNK + 1, 5 * deadline.WRITE_CHUNK + 7])
def test_a_large_body_is_written_in_slices_that_join_into_it(size: int) -> None:
    """A body goes to the socket layer a bounded slice at a time (httpcore copies the unsent rest of what it is
    given after each partial send): the same bytes, in order."""
    body = bytes(range(256)) * (size // 256) + bytes(size % 256)
    inner = _Recorder()
    deadline._DeadlineStream(inner).write(body)
    assert b"".join(inner.writes) == body
    assert all(len(piece) <= deadline.WRITE_CHUNK for piece in inner.writes)
    assert len(inner.writes) == max(1, -(-size // deadline.WRITE_CHUNK))


class _Echo(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_a_large_body_reaches_the_server_as_it_was() -> None:
    """Through a real socket, a body of many slices arrives byte for byte, with its length."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    body = random.Random(7).randbytes(3 * deadline.WRITE_CHUNK + 123)
    try:
        with httpx.Client(transport=deadline.transport()) as http_client:
            answer = http_client.post(f"http://127.0.0.1:{server.server_address[1]}/", content=body)
        assert answer.content == body
    finally:
        server.shutdown()
        server.server_close()


def test_real_refused_connection_create_is_not_outcome_unknown() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    fake = FakeTime()
    client = ViduClient(
        settings(base_url=f"http://127.0.0.1:{port}", create_retries=1), sleep=fake.sleep, clock=fake.clock
    )
    with client, pytest.raises(APIConnectionError) as info:
        client.create(BODY)
    assert not isinstance(info.value, OutcomeUnknownError)
    assert len(fake.sleeps) == 1


def test_context_manager_closes() -> None:
    with make([ok({})])[0] as client:
        client.credits()
    with pytest.raises(RuntimeError):
        client.credits()


# --- properties with ranges -----------------------------------------------------------------------------------


@given(st.integers(min_value=0, max_value=10**9))
def test_retry_after_seconds(n: int) -> None:
    assert parse_retry_after(str(n)) == n
    assert parse_retry_after(f" {n} ") == n


@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1)), st.floats(0, 4e9))
def test_retry_after_http_date(when: datetime, now: float) -> None:
    aware = when.replace(microsecond=0, tzinfo=timezone.utc)
    got = parse_retry_after(format_datetime(aware, usegmt=True), now=now)
    assert got is not None
    assert got == pytest.approx(max(0.0, aware.timestamp() - now), abs=1e-6)


@given(st.text(max_size=40))
def test_retry_after_garbage_never_raises(text: str) -> None:
    got = parse_retry_after(text, now=0)
    assert got is None or got >= 0


@given(
    retry=st.integers(min_value=0, max_value=1000),
    retry_after=st.none() | st.floats(min_value=-10, max_value=1e9, allow_nan=False),
    remaining=st.floats(min_value=-5, max_value=1e6, allow_nan=False),
    jitter=st.floats(min_value=0, max_value=0.999999),
)
def test_wait_never_exceeds_cap_or_deadline(
    retry: int, retry_after: float | None, remaining: float, jitter: float
) -> None:
    wait = retry_wait(retry, retry_after, remaining, jitter)
    if wait is not None:
        assert 0 <= wait < remaining
        assert wait <= max(RETRY_AFTER_CAP, 1.25 * BACKOFF_CAP)
    assert 0 < backoff_delay(retry, jitter) <= 1.25 * BACKOFF_CAP


@given(st.integers(min_value=0, max_value=3), st.floats(0, 0.999), st.floats(0, 0.999))
def test_backoff_grows_until_cap(retry: int, j1: float, j2: float) -> None:
    assert backoff_delay(retry, j1) < backoff_delay(retry + 1, j2)


def test_credits_in_the_documented_shape_and_the_older_flat_one() -> None:
    documented = {"remains": [{"type": "plan", "credit_remain": 120, "concurrency_limit": 5, "current_concurrency": 1,
                               "queue_count": 0}, {"type": "gift", "credit_remain": 30}], "packages": []}  # fmt: skip
    client, _, _ = make([ok(documented), ok({"credit_remain": 77}), ok({"remaining_credits": [{"credit_remain": 5}]})])
    first = client.credits()
    assert first.total == 150 and first.remains[0].concurrency_limit == 5 and first.raw == documented
    assert client.credits().total == 77
    assert client.credits().total == 5


def test_iter_tasks_follows_next_page_token_and_stops() -> None:
    pages = [
        ok({"tasks": [{"id": "a"}, {"id": "b"}], "next_page_token": "t1"}),
        ok({"tasks": [{"id": "c"}], "next_page_token": "t2"}),
        ok({"tasks": [], "next_page_token": ""}),
    ]
    client, rec, _ = make(pages)
    assert [t["id"] for t in client.iter_tasks(page_size=2)] == ["a", "b", "c"]
    tokens = [httpx.QueryParams(r.url.query).get("pager.page_token") for r in rec.requests]
    assert tokens == [None, "t1", "t2"]
    client, rec, _ = make([ok({"tasks": [{"id": "a"}], "next_page_token": "same"})] * 3)
    assert [t["id"] for t in client.iter_tasks()] == ["a", "a"]  # a token repeated is the end, not a loop
    client, _, _ = make(pages[:1])
    assert [t["id"] for t in client.iter_tasks(limit=1)] == ["a"]


class _KeepAliveHandler(_Handler):
    protocol_version = "HTTP/1.1"
    ports: ClassVar[set[int]] = set()

    def do_GET(self) -> None:
        self.ports.add(self.client_address[1])  # one port per connection the client opened
        state = "processing" if self.headers.get("Authorization") == f"Bearer {CANARY}" else "failed"
        body = orjson.dumps({"id": self.path.split("/")[-2], "state": state, "creations": []})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_the_async_transport_reuses_its_connections_and_keeps_the_deadline() -> None:
    """``deadline.async_transport``, the follower's long-lived pool: queries answered over connections kept open
    and reused (never more than its limit), httpx's errors, and each call's overall deadline on the event loop."""
    import asyncio

    _KeepAliveHandler.ports = set()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _KeepAliveHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"

    async def queries() -> list[str]:
        async with AsyncViduClient(settings(base_url=base), connections=3) as client:
            first = await asyncio.gather(*(client.query(str(100 + n)) for n in range(9)))
            second = [await client.query(str(200 + n)) for n in range(5)]
            return [status.state for status in first + second]

    async def past_deadline() -> None:
        late = deadline.async_until(time.monotonic() - 1)
        async with httpx.AsyncClient(transport=deadline.async_transport(2)) as http_client, late:
            await http_client.get(base)

    try:
        assert asyncio.run(queries()) == ["processing"] * 14  # the key sent with each
        assert 1 <= len(_KeepAliveHandler.ports) <= 3  # 14 calls over at most 3 connections
        with pytest.raises(httpx.TimeoutException):
            asyncio.run(past_deadline())
    finally:
        server.shutdown()
        server.server_close()

    async def refused() -> None:
        async with httpx.AsyncClient(transport=deadline.async_transport(2)) as http_client:
            await http_client.get(base)  # nothing listens there now

    with pytest.raises(httpx.ConnectError):
        asyncio.run(refused())


class _BarrierHandler(_KeepAliveHandler):
    """Answers no query until ``barrier`` has seen every query of the wave arrive: the wave must be written in
    full while none of it has been answered."""

    barrier: ClassVar[threading.Barrier]
    broken: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        try:
            self.barrier.wait()
        except threading.BrokenBarrierError:
            self.broken.append(self.path)
        super().do_GET()


def test_a_wave_of_queries_is_written_a_turn_at_a_time_and_all_before_any_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``AsyncViduClient._send``: at most ``SENDING`` queries are being built and written at once, and a turn
    ends when httpcore has written the request (its ``trace`` event ``WRITTEN``), not at the answer; so a wave
    larger than ``SENDING`` all reaches a service that answers none of it before it has all arrived. (Had httpcore
    renamed the event, each turn would last until its answer and the barrier would break.)"""
    import asyncio

    import vidu_ui.client

    monkeypatch.setattr(vidu_ui.client, "SENDING", 3)
    wave = 10
    _BarrierHandler.barrier = threading.Barrier(wave, timeout=5)
    _BarrierHandler.broken = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _BarrierHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    async def queries() -> list[str]:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        async with AsyncViduClient(settings(base_url=base), connections=wave) as client:
            return [status.state for status in await asyncio.gather(*(client.query(str(300 + n)) for n in range(wave)))]

    try:
        assert asyncio.run(queries()) == ["processing"] * wave
    finally:
        server.shutdown()
        server.server_close()
    assert _BarrierHandler.broken == []


def test_a_turn_ends_with_its_attempt_whatever_the_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    """A transport that reports no ``trace`` events (here httpx's ``MockTransport``), or an attempt that fails,
    still gives its turn back: with one turn, queries after a failed one are answered."""
    import asyncio

    import vidu_ui.client

    monkeypatch.setattr(vidu_ui.client, "SENDING", 1)
    calls: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        task_id = request.url.path.split("/")[-2]
        calls.append(task_id)
        if task_id == "401" and calls.count("401") == 1:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json={"id": task_id, "state": "processing", "creations": []})

    async def no_wait(seconds: float) -> None:
        return None

    async def queries() -> list[str]:
        client = AsyncViduClient(settings(), transport=httpx.MockTransport(answer), sleep=no_wait)
        async with client:
            wave = asyncio.gather(*(client.query(str(400 + n)) for n in range(4)))
            return [status.state for status in await asyncio.wait_for(wave, 10)]

    assert asyncio.run(queries()) == ["processing"] * 4
    assert sorted(calls) == ["400", "401", "401", "402", "403"]  # 401 failed once, then was retried


class _CreateHandler(_Handler):
    received: ClassVar[list[tuple[int, str | None]]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.received.append((len(self.rfile.read(length)), self.headers.get("Transfer-Encoding")))
        body = orjson.dumps({"task_id": "901", "state": "created"})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_a_create_lets_go_of_its_body_once_sent_without_the_cyclic_collector() -> None:
    """An httpx ``Response`` is in a reference cycle (with its stream) and refers to its ``Request``: freed only by
    Python's cyclic collector, which an idle app may not run for a long time. The body sent (20 MB for two 12 MP
    frames) must not be held by them once ``create`` returns; it is still sent whole, with its length."""
    import gc
    import sys

    _CreateHandler.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CreateHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    body = orjson.dumps({"model": "viduq1", "images": ["data:image/png;base64," + "A" * 2_000_000], "prompt": "p"})
    gc.disable()
    try:
        with ViduClient(settings(base_url=f"http://127.0.0.1:{server.server_address[1]}")) as client:
            before = sys.getrefcount(body)
            task = client.create(body)
            after = sys.getrefcount(body)
    finally:
        gc.enable()
        server.shutdown()
        server.server_close()
    assert task.task_id == "901"
    assert after == before
    assert _CreateHandler.received == [(len(body), None)]  # a Content-Length, not chunks
