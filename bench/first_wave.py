"""What one wave of queries due at once costs the HTTP client, apart from the follower: the floor of the *following
tasks* row's first wave (``bench/notes.py``).

``python -m bench.first_wave [COUNT]`` starts ``bench.slow_service`` (answering 0.3 s late), sends COUNT task
queries at once three ways, each on a fresh service, and prints for each the CPU a query cost this process and
how many reached the service within 1 s of the start:

- ``AsyncViduClient``: the follower's client (its own pool transport, ``deadline.AsyncPoolTransport``);
- ``httpx``: a bare ``httpx.AsyncClient`` with its own pool, as many connections as queries;
- ``raw``: asyncio sockets writing the same request line and headers, reading the answer's head (the least an
  HTTP/1.1 query can cost in Python).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import httpx

from vidu_ui.client import AsyncViduClient
from vidu_ui.settings import Settings

from .procs import Service, clean_env, free_port
from .slow_service import QUERY_PREFIX

ANSWER_SECONDS = 0.3
ON_TIME = 1.0


def _path(index: int) -> str:
    return f"{QUERY_PREFIX}{10**12 + index}/creations"


async def _ours(base: str, count: int) -> None:
    settings = Settings.build(api_key="sk-first-wave", base_url=base, data_dir=Path(tempfile.mkdtemp()))
    client = AsyncViduClient(settings, connections=count)
    try:
        await asyncio.gather(*(client.query(str(10**12 + i)) for i in range(count)))
    finally:
        await client.aclose()


async def _httpx(base: str, count: int) -> None:
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        await asyncio.gather(*(client.get(_path(i), headers={"Authorization": "Token x"}) for i in range(count)))


async def _raw(base: str, count: int) -> None:
    host, port = httpx.URL(base).host, httpx.URL(base).port

    async def one(index: int) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(f"GET {_path(index)} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Token x\r\n\r\n".encode())
        await writer.drain()
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    await asyncio.gather(*(one(i) for i in range(count)))


Way = Callable[[str, int], Coroutine[Any, Any, None]]
WAYS: dict[str, Way] = {"AsyncViduClient": _ours, "httpx": _httpx, "raw": _raw}


def measure(way: str, count: int, work: Path) -> str:
    port = free_port()
    args = [sys.executable, "-m", "bench.slow_service", str(port), str(ANSWER_SECONDS)]
    service = Service(args, clean_env(), port, work / f"slow_service-{way}.log")
    service.ready_path = "/health"
    with service:
        started, cpu = time.monotonic(), time.process_time()
        asyncio.run(WAYS[way](service.url, count))
        cpu = time.process_time() - cpu
        arrivals = httpx.get(service.url + "/_stats").json()["arrivals"]
    late = sorted(queries[0][0] - started for queries in arrivals.values())
    on_time = sum(1 for seconds in late if seconds <= ON_TIME)
    return (
        f"{way}: {cpu / count * 1000:.2f} ms of CPU a query; {on_time} of {count} reached the service within "
        f"{ON_TIME:g} s (the first after {late[0]:.2f} s, the last after {late[-1]:.2f} s)"
    )


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    work = Path(tempfile.mkdtemp(prefix="first-wave-"))
    for way in WAYS:
        print(measure(way, count, work), flush=True)


if __name__ == "__main__":
    main()
