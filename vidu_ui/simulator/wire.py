"""HTTP plumbing on the raw connection: bodies, responses, Range requests, resets, trickles and hangs."""

from __future__ import annotations

import contextlib
import json
import re
import select
import socket
import struct
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

_CHUNK = 1 << 16
_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    416: "RangeNotSatisfiable",
    429: "TooManyRequests",
    499: "Canceled",
    500: "InternalServiceFailure",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(data: Any, status: int = 200) -> Response:
    return Response(status, json.dumps(data, ensure_ascii=False).encode())


def error_response(status: int, reason: str | None = None, message: str = "") -> Response:
    """The service's error shape: ``{"code", "reason", "message", "metadata": {"trace_id"}}``."""
    reason = reason or _REASONS.get(status, "Error")
    body = {"code": status, "reason": reason, "message": message or reason, "metadata": {"trace_id": uuid.uuid4().hex}}
    return json_response(body, status)


def read_body(handler: BaseHTTPRequestHandler, limit: int) -> tuple[bytes | None, int]:
    """The request body and its size; None (the body read and dropped) when it is larger than ``limit``."""
    if "chunked" in handler.headers.get("Transfer-Encoding", "").lower():
        return _read_chunked(handler, limit)
    try:
        length = max(0, int(handler.headers.get("Content-Length") or 0))
    except ValueError:
        length = 0
    if length <= limit:
        return handler.rfile.read(length), length
    left = length
    while left > 0:
        got = handler.rfile.read(min(_CHUNK, left))
        if not got:
            break
        left -= len(got)
    return None, length


def _read_chunked(handler: BaseHTTPRequestHandler, limit: int) -> tuple[bytes | None, int]:
    parts: list[bytes] = []
    size = 0
    while True:
        line = handler.rfile.readline(1024)
        length = int(line.split(b";")[0].strip() or b"0", 16)
        if length == 0:
            while handler.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                pass
            break
        chunk = handler.rfile.read(length)
        handler.rfile.readline(1024)
        size += len(chunk)
        if size <= limit:
            parts.append(chunk)
    return (b"".join(parts) if size <= limit else None), size


def encode(handler: BaseHTTPRequestHandler, response: Response, head_only: bool = False) -> bytes:
    """The whole response as bytes (status line, headers, body)."""
    phrase = handler.responses.get(response.status, ("",))[0]
    lines = [f"{handler.protocol_version} {response.status} {phrase}"]
    headers = {
        "Server": "vidu-simulator",
        "Date": handler.date_time_string(),
        "Content-Type": response.content_type,
        "Content-Length": str(len(response.body)),
        **response.headers,
    }
    lines += [f"{name}: {value}" for name, value in headers.items()]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head if head_only else head + response.body


def send(handler: BaseHTTPRequestHandler, response: Response, head_only: bool = False) -> None:
    handler.wfile.write(encode(handler, response, head_only))
    handler.wfile.flush()


def trickle(handler: BaseHTTPRequestHandler, response: Response, interval: float, stop: threading.Event) -> None:
    """Send the response one byte at a time, ``interval`` seconds apart."""
    handler.close_connection = True
    response.headers.setdefault("Connection", "close")
    for i, byte in enumerate(encode(handler, response)):
        if stop.is_set():
            return
        if i and interval:
            time.sleep(interval)
        handler.wfile.write(bytes((byte,)))
        handler.wfile.flush()


def reset(handler: BaseHTTPRequestHandler) -> None:
    """Close the connection with an RST (SO_LINGER 0) instead of an orderly FIN."""
    handler.close_connection = True
    sock: socket.socket = handler.connection
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.rfile.close()  # the socket's file descriptor closes only once its reader is closed
    sock.close()


def hang(handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
    """Answer nothing until the client goes away or the simulator stops; then close."""
    handler.close_connection = True
    sock: socket.socket = handler.connection
    while not stop.is_set():
        readable, _, _ = select.select([sock], [], [], 0.05)
        if readable:
            try:
                if not sock.recv(1, socket.MSG_PEEK):
                    return
            except OSError:
                return
            time.sleep(0.05)


_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def ranged(content: bytes, content_type: str, range_header: str | None) -> Response:
    """A file response honouring a single-range ``Range`` header (206, or 416 when unsatisfiable)."""
    size = len(content)
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "private, max-age=3600"}
    match = _RANGE.fullmatch(range_header.strip()) if range_header else None
    if match is None or (not match.group(1) and not match.group(2)):
        return Response(200, content, content_type, headers)
    first, last = match.group(1), match.group(2)
    if first:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    else:
        start, end = max(0, size - int(last)), size - 1
    if start >= size or start > end:
        return Response(416, b"", content_type, {**headers, "Content-Range": f"bytes */{size}"})
    headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return Response(206, content[start : end + 1], content_type, headers)
