"""An overall deadline for one HTTP call, enforced on every socket operation.

httpx's timeouts apply to each read or write separately, so a server that trickles a byte a second never trips
a 60 s read timeout and can hold a call for many minutes. ``DeadlineBackend`` wraps httpcore's network
backend: each connect, read and write gets at most the time left before the deadline set with ``until``, and
fails with httpcore's own timeout error once it has passed, which httpx maps to the usual ``httpx.*Timeout``.
"""

from __future__ import annotations

import contextlib
import functools
import ssl
import time
from collections.abc import Iterable, Iterator
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


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clip(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clip(timeout, httpcore.WriteTimeout))

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


def transport() -> httpx.HTTPTransport:
    """httpx's own transport, its connection pool using ``DeadlineBackend``.

    httpx 0.28 takes no network backend argument, so the pool's backend is set after construction; the test
    suite's trickle cases fail loudly if a future httpx moves it.
    """
    result = httpx.HTTPTransport(verify=tls_context())
    pool = result._pool
    if not hasattr(pool, "_network_backend"):
        raise RuntimeError("this httpx/httpcore version keeps no _network_backend on its pool")
    pool._network_backend = DeadlineBackend()
    return result
