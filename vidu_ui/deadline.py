"""An overall deadline for one HTTP call, enforced on every socket operation.

httpx's timeouts apply to each read or write separately, so a server that trickles a byte a second never trips
a 60 s read timeout and can hold a call for many minutes. ``DeadlineBackend`` wraps httpcore's network
backend: each connect, read and write gets at most the time left before the deadline set with ``until``, and
fails with httpcore's own timeout error once it has passed, which ``DeadlineTransport`` turns into the usual
``httpx.*Timeout``. On an event loop the same deadline is simpler: ``async_until`` cancels whatever the call
awaits once it passes (``asyncio.timeout_at``) and raises ``httpx.TimeoutException``. Everything here is httpx's
and httpcore's public API: a ``httpcore.ConnectionPool`` takes a network backend as an argument, and
``DeadlineTransport`` is an ``httpx.BaseTransport`` over such a pool.
"""

from __future__ import annotations

import contextlib
import functools
import ssl
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import Any

import httpcore
import httpx

_deadline: ContextVar[float | None] = ContextVar("vidu_ui_deadline", default=None)


@contextlib.contextmanager
def until(deadline: float) -> Iterator[None]:
    """Within this block, socket operations end by ``deadline`` (a ``time.monotonic()`` value)."""
    token = _deadline.set(deadline)
    try:
        yield
    finally:
        _deadline.reset(token)


def _clip(timeout: float | None, error: type[Exception]) -> float | None:
    deadline = _deadline.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the call's overall deadline passed")
    return left if timeout is None else min(timeout, left)


WRITE_CHUNK = 256 * 1024
"""The most bytes handed to the socket layer at once (``_DeadlineStream.write``)."""


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clip(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        """``buffer`` written a slice of at most ``WRITE_CHUNK`` bytes at a time: httpcore's stream copies the
        unsent rest of what it is given after each partial send, which for a 20 MB body meant a second body's
        worth of memory (and a copy per send)."""
        if len(buffer) <= WRITE_CHUNK:
            self._inner.write(buffer, _clip(timeout, httpcore.WriteTimeout))
            return
        view = memoryview(buffer)
        for at in range(0, len(view), WRITE_CHUNK):
            self._inner.write(bytes(view[at : at + WRITE_CHUNK]), _clip(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(ssl_context, server_hostname, _clip(timeout, httpcore.ConnectTimeout))
        return _DeadlineStream(inner)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's synchronous backend, with every operation clipped to the current deadline."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        clipped = _clip(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.connect_tcp(host, port, clipped, local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        clipped = _clip(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.connect_unix_socket(path, clipped, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context for the process: building one loads the CA bundle, about 16 ms of CPU each time."""
    return httpx.create_ssl_context()


_ERRORS: dict[type[Exception], type[httpx.TransportError]] = {
    httpcore.TimeoutException: httpx.TimeoutException,
    httpcore.ConnectTimeout: httpx.ConnectTimeout,
    httpcore.ReadTimeout: httpx.ReadTimeout,
    httpcore.WriteTimeout: httpx.WriteTimeout,
    httpcore.PoolTimeout: httpx.PoolTimeout,
    httpcore.NetworkError: httpx.NetworkError,
    httpcore.ConnectError: httpx.ConnectError,
    httpcore.ReadError: httpx.ReadError,
    httpcore.WriteError: httpx.WriteError,
    httpcore.ProxyError: httpx.ProxyError,
    httpcore.UnsupportedProtocol: httpx.UnsupportedProtocol,
    httpcore.ProtocolError: httpx.ProtocolError,
    httpcore.LocalProtocolError: httpx.LocalProtocolError,
    httpcore.RemoteProtocolError: httpx.RemoteProtocolError,
}
"""httpcore's errors as httpx names them (the most specific class of an error's own that is listed wins)."""


@contextlib.contextmanager
def _as_httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        mapped = next((_ERRORS[kind] for kind in type(exc).__mro__ if kind in _ERRORS), None)
        if mapped is None:
            raise
        raise mapped(str(exc)) from exc


class _Body(httpx.SyncByteStream):
    """A response body read from httpcore, its errors as httpx's."""

    def __init__(self, inner: Iterable[bytes]) -> None:
        self._inner = inner

    def __iter__(self) -> Iterator[bytes]:
        with _as_httpx_errors():
            yield from self._inner

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if close is not None:
            close()


class DeadlineTransport(httpx.BaseTransport):
    """What ``httpx.HTTPTransport`` does (HTTP/1.1, the same connection limits, one TLS context), over a
    ``httpcore.ConnectionPool`` whose network backend is ``DeadlineBackend``."""

    def __init__(self) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=tls_context(),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=DeadlineBackend(),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        url = httpcore.URL(
            scheme=request.url.raw_scheme, host=request.url.raw_host, port=request.url.port, target=request.url.raw_path
        )
        sent = httpcore.Request(
            request.method, url, headers=request.headers.raw, content=request.stream, extensions=request.extensions
        )
        with _as_httpx_errors():
            answer = self._pool.handle_request(sent)
        assert isinstance(answer.stream, Iterable)
        return httpx.Response(
            answer.status, headers=answer.headers, stream=_Body(answer.stream), extensions=answer.extensions
        )

    def close(self) -> None:
        self._pool.close()


def transport() -> httpx.BaseTransport:
    """The transport of every call to the service: httpx's behaviour, each socket operation within the deadline."""
    return DeadlineTransport()


@contextlib.asynccontextmanager
async def async_until(deadline: float) -> AsyncIterator[None]:
    """``until`` for an event loop: the block is cancelled at ``deadline`` (a ``time.monotonic()`` value), every
    connect, write and read it awaits included, and ``httpx.TimeoutException`` raised instead."""
    import asyncio

    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout_at(loop.time() + (deadline - time.monotonic())):
            yield
    except TimeoutError as exc:
        raise httpx.TimeoutException("the call's overall deadline passed") from exc


KEEPALIVE_SECONDS = 30.0
"""How long an idle pooled connection of a long-lived client is kept: the longest wait between two queries
without callbacks, so a followed task's next query usually finds one open."""


class _PooledBody(httpx.AsyncByteStream):
    """A response body read from a pooled connection; the connection goes back to the pool when it is closed."""

    def __init__(self, inner: AsyncIterable[bytes], release: Callable[[], None]) -> None:
        self._inner = inner
        self._release = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx_errors():
            async for chunk in self._inner:
                yield chunk

    async def aclose(self) -> None:
        try:
            close = getattr(self._inner, "aclose", None)
            if close is not None:
                await close()
        finally:
            self._release()


class AsyncPoolTransport(httpx.AsyncBaseTransport):
    """A long-lived client's connections: up to ``connections`` HTTP/1.1 connections (``httpcore``'s public
    ``AsyncHTTPConnection``), the idle ones kept per host for ``KEEPALIVE_SECONDS`` and reused newest first.

    httpcore's own pool looks at every connection it holds each time a request starts or ends (and asks the
    socket of each idle one whether it was closed): with hundreds of connections that costs more than the
    requests. Here a request takes the newest idle connection, checks that one alone, or opens one; a request
    beyond ``connections`` waits for one to come back.
    """

    def __init__(self, connections: int) -> None:
        import asyncio

        self._free = asyncio.Semaphore(connections)
        self._idle: dict[tuple[bytes, bytes, int], list[httpcore.AsyncHTTPConnection]] = {}
        self._busy: set[httpcore.AsyncHTTPConnection] = set()

    async def _take(self, origin: httpcore.Origin) -> httpcore.AsyncHTTPConnection:
        idle = self._idle.get(_key(origin), [])
        while idle:
            connection = idle.pop()
            if connection.is_idle() and not connection.has_expired():
                return connection
            await connection.aclose()
        tls = tls_context() if origin.scheme == b"https" else None
        return httpcore.AsyncHTTPConnection(origin, ssl_context=tls, keepalive_expiry=KEEPALIVE_SECONDS)

    def _give_back(self, origin: httpcore.Origin, connection: httpcore.AsyncHTTPConnection) -> None:
        if connection in self._busy:
            self._busy.discard(connection)
            if connection.is_idle():
                self._idle.setdefault(_key(origin), []).append(connection)
            self._free.release()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        origin = httpcore.Origin(request.url.raw_scheme, request.url.raw_host, request.url.port or _port(request))
        url = httpcore.URL(
            scheme=request.url.raw_scheme, host=request.url.raw_host, port=request.url.port, target=request.url.raw_path
        )
        sent = httpcore.Request(
            request.method, url, headers=request.headers.raw, content=request.stream, extensions=request.extensions
        )
        await self._free.acquire()
        connection: httpcore.AsyncHTTPConnection | None = None
        try:
            connection = await self._take(origin)
            self._busy.add(connection)
            with _as_httpx_errors():
                answer = await connection.handle_async_request(sent)
        except BaseException:
            if connection is not None:
                self._busy.discard(connection)
                await connection.aclose()
            self._free.release()
            raise
        assert isinstance(answer.stream, AsyncIterable)
        body = _PooledBody(answer.stream, functools.partial(self._give_back, origin, connection))
        return httpx.Response(answer.status, headers=answer.headers, stream=body, extensions=answer.extensions)

    async def aclose(self) -> None:
        connections = [c for idle in self._idle.values() for c in idle] + list(self._busy)
        self._idle.clear()
        self._busy.clear()
        for connection in connections:
            await connection.aclose()


def _key(origin: httpcore.Origin) -> tuple[bytes, bytes, int]:
    return (origin.scheme, origin.host, origin.port)


def _port(request: httpx.Request) -> int:
    return 443 if request.url.scheme == "https" else 80


def async_transport(connections: int) -> httpx.AsyncBaseTransport:
    """The transport of a long-lived ``AsyncViduClient``: ``AsyncPoolTransport`` (HTTP/1.1, the process's TLS
    context), up to ``connections`` open at once, kept alive between calls."""
    return AsyncPoolTransport(connections)
