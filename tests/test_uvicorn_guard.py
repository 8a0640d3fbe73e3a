"""uvicorn's undocumented parts that ``vidu_ui/studio/uvicorn_guard.py`` relies on, asserted one by one, and what
the guarded protocol does with them on a real socket: these fail when a uvicorn upgrade changes them, before the
server's limits quietly stop working."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import h11
import pytest
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol, RequestResponseCycle
from uvicorn.server import ServerState

from vidu_ui.studio import limits, uvicorn_guard
from vidu_ui.studio.uvicorn_guard import GuardedH11Protocol

Message = MutableMapping[str, Any]


async def hello(
    scope: Message, receive: Callable[[], Awaitable[Message]], send: Callable[[Message], Awaitable[None]]
) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


def config() -> uvicorn.Config:
    return uvicorn.Config(hello, log_config=None, lifespan="off", http=GuardedH11Protocol)


def test_the_methods_have_the_parameters_the_guard_was_written_for() -> None:
    assert tuple(inspect.signature(H11Protocol.connection_made).parameters) == ("self", "transport")
    assert tuple(inspect.signature(H11Protocol.connection_lost).parameters) == ("self", "exc")
    assert tuple(inspect.signature(H11Protocol.handle_events).parameters) == ("self",)
    assert tuple(inspect.signature(H11Protocol.on_response_complete).parameters) == ("self",)
    uvicorn_guard.check()


def test_a_protocol_and_a_cycle_carry_the_attributes_the_guard_reads() -> None:
    loop = asyncio.new_event_loop()
    try:
        state = ServerState()
        protocol = GuardedH11Protocol(config(), state, {}, _loop=loop)
        assert protocol.loop is loop
        assert protocol.connections is state.connections  # the server's own set: the cap counts every connection
        assert protocol.cycle is None  # between requests
        assert hasattr(protocol, "transport")
        cycle = RequestResponseCycle(
            scope={},
            conn=h11.Connection(h11.SERVER),
            transport=None,
            flow=None,
            logger=protocol.logger,
            access_logger=protocol.access_logger,
            access_log=False,
            default_headers=[],
            message_event=asyncio.Event(),
            on_response=lambda: None,
        )
        assert cycle.response_complete is False
    finally:
        loop.close()


def test_a_changed_method_is_named_with_the_installed_version(monkeypatch: pytest.MonkeyPatch) -> None:
    def moved(self: H11Protocol, events: list[Any]) -> None:
        pass

    monkeypatch.setattr(H11Protocol, "handle_events", moved)
    with pytest.raises(uvicorn_guard.UvicornChanged) as info:
        uvicorn_guard.check()
    assert uvicorn.__version__ in str(info.value) and uvicorn_guard.WRITTEN_FOR in str(info.value)
    assert "handle_events" in str(info.value)
    monkeypatch.undo()
    monkeypatch.delattr(H11Protocol, "on_response_complete")
    with pytest.raises(uvicorn_guard.UvicornChanged, match="on_response_complete"):
        uvicorn_guard.check()


def test_an_attribute_no_longer_set_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    def renamed(self: RequestResponseCycle, *args: Any, **kwargs: Any) -> None:
        """Sets nothing: as if the attribute had been renamed."""

    monkeypatch.setattr(RequestResponseCycle, "__init__", renamed)
    with pytest.raises(uvicorn_guard.UvicornChanged, match="response_complete"):
        uvicorn_guard.check()


class Quick(GuardedH11Protocol):
    """The guarded protocol with a short header time, telling the test of each connection it accepts."""

    header_seconds = 0.3
    accepted: asyncio.Queue[None]

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self.accepted.put_nowait(None)


async def serve(body: Callable[[int, asyncio.Queue[None]], Awaitable[None]]) -> None:
    """A server on a free port speaking through ``Quick``; ``body`` gets the port and the accepted connections."""
    state = ServerState()
    accepted: asyncio.Queue[None] = asyncio.Queue()

    def make() -> Quick:
        made = Quick(config(), state, {})
        made.accepted = accepted
        return made

    server = await asyncio.get_running_loop().create_server(make, "127.0.0.1", 0)
    try:
        await body(server.sockets[0].getsockname()[1], accepted)
    finally:
        server.close()
        for protocol in list(state.connections):
            protocol.transport.close()
        await server.wait_closed()


async def closed(reader: asyncio.StreamReader) -> bool:
    """Whether the server closes the connection within a few seconds (the header time is a fraction of that)."""
    try:
        return await asyncio.wait_for(reader.read(), 5) == b""
    except TimeoutError:
        return False


def test_headers_that_never_end_are_cut_and_a_full_request_is_answered_then_timed_again() -> None:
    async def body(port: int, accepted: asyncio.Queue[None]) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        assert await closed(reader)
        writer.close()

        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = await asyncio.wait_for(reader.readuntil(b"ok"), 5)
        assert answer.startswith(b"HTTP/1.1 200")
        writer.write(b"GET / HTTP/1.1\r\n")  # the next request on the same connection has the same time
        assert await closed(reader)
        writer.close()

    asyncio.run(serve(body))


def test_past_the_cap_the_oldest_waiting_connection_is_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "max_connections", lambda: 2)
    monkeypatch.setattr(Quick, "header_seconds", 60.0)  # only the cap can close them here

    async def body(port: int, accepted: asyncio.Queue[None]) -> None:
        opened = []
        for _ in range(3):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET / HTTP/1.1\r\n")
            await writer.drain()
            await asyncio.wait_for(accepted.get(), 5)  # accepted (and timed) before the next one opens
            opened.append((reader, writer))
        # The third made room by closing the first; the second and third are still open.
        assert await closed(opened[0][0])
        reader, writer = opened[2]
        writer.write(b"Host: x\r\n\r\n")
        assert (await asyncio.wait_for(reader.readuntil(b"ok"), 5)).startswith(b"HTTP/1.1 200")
        for _, w in opened:
            w.close()

    asyncio.run(serve(body))
