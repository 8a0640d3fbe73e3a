"""A service that answers every task query "processing", a fixed time late, for the following case.

Run as ``python -m bench.slow_service PORT SECONDS`` (its own process, so that its work does not share the
follower's interpreter). HTTP/1.1 with keep-alive on one asyncio loop, so a thousand queries can wait at once.
``GET /health`` says it is up; ``GET /_stats`` gives what it saw: for each task the ``time.monotonic()`` of each
query's arrival and of its answer (the same clock as the bench's on Linux), and how many connections carried a
query.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import defaultdict

QUERY_PREFIX = "/ent/v2/tasks/"
_arrivals: dict[str, list[tuple[float, float]]] = defaultdict(list)
_connections = 0


def _response(status: str, body: bytes) -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


async def _answer(target: str, delay: float) -> tuple[bytes, str | None]:
    if target == "/health":
        return _response("200 OK", b'"ok"'), None
    if target == "/_stats":
        stats = {"arrivals": _arrivals, "connections": _connections}
        return _response("200 OK", json.dumps(stats).encode()), None
    if target.startswith(QUERY_PREFIX) and target.endswith("/creations"):
        arrived = time.monotonic()
        task_id = target[len(QUERY_PREFIX) :].split("/", 1)[0]
        await asyncio.sleep(delay)
        _arrivals[task_id].append((arrived, time.monotonic()))
        body = json.dumps({"id": task_id, "state": "processing", "creations": []}).encode()
        return _response("200 OK", body), task_id
    return _response("404 Not Found", b'{"code": 404, "reason": "NotFound", "message": "no such path"}'), None


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    global _connections
    counted = False
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            target = head.split(b" ", 2)[1].decode()
            answer, task_id = await _answer(target, delay)
            if task_id is not None and not counted:
                counted = True
                _connections += 1
            writer.write(answer)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, IndexError):
        pass
    finally:
        writer.close()


async def main(port: int, delay: float) -> None:
    server = await asyncio.start_server(
        lambda r, w: _serve(r, w, delay), "127.0.0.1", port, backlog=4096, limit=1 << 16
    )
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), float(sys.argv[2])))
