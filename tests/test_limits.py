"""Slow and greedy clients against the launched app: half-open connections, a connection flood, bodies too large
or too slow on every route, sign-in guessing; and the one guarded patch of Gradio that makes the server limits
possible."""

from __future__ import annotations

import asyncio
import inspect
import select
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import gradio.http_server
import httpx
import pytest
from starlette.types import Message, Receive, Scope, Send

import app
from tests.support.apps import launched
from tests.support.findings import Findings, Flood, Guessing
from vidu_ui.settings import Settings
from vidu_ui.studio import StudioBlocks, gradio_guard, limits
from vidu_ui.studio.limits import SignInGuard
from vidu_ui.studio.page import UPLOADS_KEPT
from vidu_ui.studio.uvicorn_guard import GuardedH11Protocol

HALF_OPEN = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "  # the headers never end
HEADER_SECONDS = 2.0
"""The running app's header limit (the real one is ``limits.HEADER_SECONDS``): the same rule, quicker."""
MAX_CONNECTIONS = 300


@dataclass
class Running:
    url: str
    port: int
    page: StudioBlocks


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    patch = pytest.MonkeyPatch()
    patch.setattr(GuardedH11Protocol, "header_seconds", HEADER_SECONDS)
    patch.setattr(limits, "max_connections", lambda: MAX_CONNECTIONS)
    settings = Settings.build(data_dir=tmp_path_factory.mktemp("limits") / "data", base_url="https://vidu.test")
    try:
        with launched(lambda port: app.build_app(settings)) as (page, url):
            yield Running(url.rstrip("/"), urlsplit(url).port or 0, page)
    finally:
        patch.undo()


def half_open(port: int, n: int) -> list[socket.socket]:
    sockets = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(HALF_OPEN)
        sockets.append(s)
    return sockets


def closed_by_server(s: socket.socket) -> bool:
    """Waits (up to the socket's timeout) for the server to close this connection."""
    try:
        return s.recv(1) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False


def test_the_server_uses_the_guarded_protocol(running: Running) -> None:
    assert gradio_guard.installed()
    assert running.page.server is not None and running.page.server.config.http is GuardedH11Protocol
    assert running.page.delete_cache == UPLOADS_KEPT  # Gradio's upload cache is cleaned


def test_healthz_answers_while_500_connections_hang_in_their_headers_and_they_are_closed(
    running: Running, findings: Findings
) -> None:
    sockets = half_open(running.port, 500)
    try:
        started = time.monotonic()
        response = httpx.get(f"{running.url}/healthz", timeout=10)
        answered = time.monotonic() - started
        assert response.status_code == 200
        # Past the cap the oldest waiting ones were closed at once; the rest after the header time.
        for s in sockets:
            s.settimeout(10)
        closed = sum(closed_by_server(s) for s in sockets)
        gone = time.monotonic() - started
        findings.flood = Flood(len(sockets), MAX_CONNECTIONS, HEADER_SECONDS, 200, answered, closed, gone)
        assert closed == len(sockets)
    finally:
        for s in sockets:
            s.close()


@pytest.mark.parametrize("path", ["/gradio_api/queue/join", "/gradio_api/call/generate", "/vidu/callback", "/login"])
def test_a_declared_300_mb_body_is_refused_before_it_is_sent(running: Running, path: str, findings: Findings) -> None:
    with socket.create_connection(("127.0.0.1", running.port), timeout=10) as s:
        started = time.monotonic()
        s.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {300_000_000}\r\n\r\n".encode()
        )
        answer = s.recv(200)
        findings.big_bodies[path] = (answer.split(b"\r\n")[0].decode(errors="replace"), time.monotonic() - started)
    assert answer.startswith(b"HTTP/1.1 413")


def test_an_undeclared_body_is_cut_off_at_the_cap(running: Running) -> None:
    """A chunked body (no length declared): answered 413 and closed once past the cap, not read to its end."""
    sent, answer = 0, b""
    with socket.create_connection(("127.0.0.1", running.port), timeout=10) as s:
        s.sendall(b"POST /gradio_api/queue/join HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n")
        piece = b"%x\r\n" % 1_000_000 + b" " * 1_000_000 + b"\r\n"
        try:
            while sent < 300_000_000 and not answer:
                s.sendall(piece)
                sent += 1_000_000
                if select.select([s], [], [], 0)[0]:
                    answer = s.recv(200)
        except (BrokenPipeError, ConnectionResetError):
            pass
        if not answer:
            answer = s.recv(200)
    assert answer.startswith(b"HTTP/1.1 413") and sent < 100_000_000


def test_an_upload_may_be_larger_than_a_form_but_not_without_bound(running: Running) -> None:
    cap = limits.LimitsMiddleware(lambda *a: None)  # type: ignore[arg-type, return-value]
    assert cap.cap_for("/gradio_api/upload") > cap.cap_for("/gradio_api/queue/join") >= 1_000_000
    with socket.create_connection(("127.0.0.1", running.port), timeout=10) as s:
        s.sendall(
            b"POST /gradio_api/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=x\r\n"
            + f"Content-Length: {cap.upload_bytes + 1}\r\n\r\n".encode()
        )
        assert s.recv(200).startswith(b"HTTP/1.1 413")


def test_a_stalled_body_is_refused(running: Running, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "BODY_IDLE_SECONDS", 1.0)
    # The middleware reads its idle time when built; the running app's instance is changed through its stack.
    middleware = _limits_middleware(running.page)
    monkeypatch.setattr(middleware, "idle_seconds", 1.0)
    with socket.create_connection(("127.0.0.1", running.port), timeout=15) as s:
        s.sendall(b"POST /gradio_api/queue/join HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{")
        assert s.recv(200).startswith(b"HTTP/1.1 408")


def test_a_streaming_answer_outlives_the_body_pause_limit() -> None:
    """The pause limit is for a body still arriving. Once it is in, a streaming answer (the page's heartbeat, an
    event stream) waits on ``receive`` for the client to leave, for as long as it runs: that wait is neither cut nor
    answered 408, and everything the answer sends reaches the client (a cut heartbeat made the page reload)."""
    sent: list[Message] = []
    left = asyncio.Event()

    async def streaming(scope: Scope, receive: Receive, send: Send) -> None:
        assert (await receive())["type"] == "http.request"
        await send({"type": "http.response.start", "status": 200, "headers": []})

        async def listen() -> None:
            await receive()
            left.set()

        listener = asyncio.ensure_future(listen())
        for _ in range(4):  # together well past the pause limit
            await asyncio.sleep(0.1)
            await send({"type": "http.response.body", "body": b"beat", "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        listener.cancel()

    async def receive() -> Message:
        if not sent:
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # the client stays
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)

    middleware = limits.LimitsMiddleware(streaming)
    middleware.idle_seconds = 0.05
    scope: Scope = {"type": "http", "path": "/gradio_api/heartbeat/abc", "headers": [], "client": ("127.0.0.1", 1)}
    asyncio.run(middleware(scope, receive, send))
    assert [m.get("status") for m in sent[:1]] == [200]
    assert sum(m.get("body") == b"beat" for m in sent) == 4 and not left.is_set()


def _limits_middleware(page: StudioBlocks) -> limits.LimitsMiddleware:
    stack = page.app.middleware_stack
    while stack is not None and not isinstance(stack, limits.LimitsMiddleware):
        stack = getattr(stack, "app", None)
    assert isinstance(stack, limits.LimitsMiddleware)
    return stack


# --- sign-in -----------------------------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def attempt(guard: SignInGuard, user: str, password: str, address: str = "10.0.0.1") -> bool:
    async def run() -> bool:
        token = limits.CLIENT_ADDRESS.set(address)
        try:
            return await guard.check(user, password)
        finally:
            limits.CLIENT_ADDRESS.reset(token)

    return asyncio.run(run())


def test_failed_sign_ins_are_slowed_per_user(findings: Findings) -> None:
    clock = Clock()
    guard = SignInGuard([("alice", "correct horse")], clock=clock.time, sleep=clock.sleep, free=3, cap=30)
    guesses = [f"guess-{n}" for n in range(300)]
    guesses[150] = "correct horse"  # found by the guesser, but never checked while the user is held back
    results = [attempt(guard, "alice", guess, address=f"10.0.{n // 250}.{n % 250}") for n, guess in enumerate(guesses)]
    # Checked: the free ones, then one after each wait; the rest were refused without a look at the password.
    findings.guessing = Guessing(len(guesses), guard.free + len(clock.slept), sum(clock.slept))
    assert not any(results)
    assert sum(clock.slept) >= 30 and len(clock.slept) < 10  # a handful checked, over simulated time
    assert guard.delay("user", "alice") > 0
    clock.now += 61
    assert attempt(guard, "alice", "correct horse")  # the user gets back in once the hold has passed


def test_failed_sign_ins_are_slowed_per_address_across_users() -> None:
    clock = Clock()
    guard = SignInGuard([("alice", "a"), ("bob", "b")], clock=clock.time, sleep=clock.sleep, free=2, cap=30)
    for n in range(6):
        attempt(guard, f"user{n}", "x", address="203.0.113.5")
    assert guard.delay("address", "203.0.113.5") > 0 and guard.delay("address", "198.51.100.1") == 0
    before = len(clock.slept)
    assert attempt(guard, "bob", "b", address="198.51.100.1")  # another address signs in at once
    assert len(clock.slept) == before


def test_a_success_clears_the_users_count() -> None:
    clock = Clock()
    guard = SignInGuard([("alice", "a")], clock=clock.time, sleep=clock.sleep, free=1, cap=30)
    for _ in range(3):
        attempt(guard, "alice", "wrong")
    assert guard.delay("user", "alice") > 0
    clock.now += 60
    assert attempt(guard, "alice", "a")
    assert guard.delay("user", "alice") == 0


def test_a_launched_login_is_slowed(tmp_path: Path) -> None:
    settings = Settings.build(data_dir=tmp_path / "data", base_url="https://vidu.test")
    with launched(lambda port: app.build_app(settings), auth=(("alice", "correct horse"),)) as (_, base):
        url = base.rstrip("/")
        with httpx.Client(timeout=60) as http:
            assert http.post(f"{url}/login", data={"username": "alice", "password": "correct horse"}).status_code == 200
            codes = [
                http.post(f"{url}/login", data={"username": "alice", "password": f"g{n}"}).status_code for n in range(5)
            ]
            started = time.monotonic()
            http.post(f"{url}/login", data={"username": "alice", "password": "g5"})
            slowed = time.monotonic() - started
    assert set(codes) == {400}
    assert slowed >= 1.0  # the fourth failure onwards waits: the guard's delay, not a timing of the machine


# --- the guarded patch fails loudly when Gradio changes --------------------------------------------------------


def test_gradio_still_builds_its_server_from_uvicorn_config() -> None:
    source = inspect.getsource(gradio.http_server.start_server)
    assert "uvicorn.Config(" in source and "Server(config" in source
    assert isinstance(getattr(gradio.http_server, "uvicorn", None), type(inspect))
    gradio_guard.install()
    config = gradio.http_server.uvicorn.Config(app=lambda *a: None)
    assert config.http is GuardedH11Protocol
