"""Gradio's own front-end files, compressed once per process rather than on every page load.

Gradio compresses each response as it sends it (its ``BrotliMiddleware``, quality 4), the page's JavaScript
included: some 3 MB of it for every visitor who opens the page, the same files every time. Those files
(``/assets/``, ``/svelte/``, ``/static/``: Gradio's build) never change while the process runs, so ``AssetCache``,
a middleware inside Gradio's, compresses each one with Brotli the first time it is asked for and answers later
requests from memory (``SHARED``: one store for the process, as every app in it serves the same build). Gradio's
middleware passes an answer that already has a ``Content-Encoding`` as it is.

Only a whole, successful ``GET``/``HEAD`` of a text file from those folders, by a client that accepts Brotli, is
kept; a range, a conditional request (answered 304 by Gradio), an error or a file over ``MAX_FILE_BYTES`` goes
through untouched. The store holds at most ``LIMIT_BYTES`` of compressed files, the least recently used dropped.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from dataclasses import dataclass

import brotli  # type: ignore[import-untyped]
from starlette.datastructures import Headers, MutableHeaders

from .limits import ASGIApp, Message, Receive, Scope, Send

PREFIXES = ("/assets/", "/svelte/", "/static/")
"""Where Gradio serves its build: files named by their content, the same for the life of the process."""
TEXT_SUFFIXES = (".js", ".mjs", ".css", ".json", ".svg", ".html", ".txt", ".map")
MAX_FILE_BYTES = 16_000_000
LIMIT_BYTES = 64_000_000
QUALITY = 6
"""Brotli's quality for a file compressed once: some 8 % smaller than Gradio's per-response 4, for twice the time
once."""
_CONDITIONAL = ("range", "if-none-match", "if-modified-since", "if-range")


@dataclass(frozen=True)
class _Kept:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


class CompressedFiles:
    """Compressed answers by path, the least recently used dropped past ``limit_bytes``; safe across threads (each
    app's server runs its own event loop)."""

    def __init__(self, limit_bytes: int = LIMIT_BYTES) -> None:
        self.limit_bytes = limit_bytes
        self._kept: OrderedDict[str, _Kept] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.compressed = 0
        """How many files were compressed (each once while it is kept)."""

    def get(self, key: str) -> _Kept | None:
        with self._lock:
            kept = self._kept.get(key)
            if kept is not None:
                self._kept.move_to_end(key)
            return kept

    def put(self, key: str, kept: _Kept) -> None:
        with self._lock:
            self.compressed += 1
            if len(kept.body) > self.limit_bytes or key in self._kept:
                return
            self._kept[key] = kept
            self._bytes += len(kept.body)
            while self._bytes > self.limit_bytes:
                _, dropped = self._kept.popitem(last=False)
                self._bytes -= len(dropped.body)


SHARED = CompressedFiles()


class AssetCache:
    """ASGI middleware: Gradio's build files compressed once and served from memory (see the module)."""

    def __init__(self, app: ASGIApp, *, files: CompressedFiles = SHARED) -> None:
        self.app = app
        self.files = files

    def _eligible(self, scope: Scope) -> bool:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            return False
        path: str = scope["path"]
        if not path.startswith(PREFIXES) or not path.lower().endswith(TEXT_SUFFIXES):
            return False
        headers = Headers(scope=scope)
        return "br" in headers.get("accept-encoding", "") and not any(name in headers for name in _CONDITIONAL)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._eligible(scope):
            await self.app(scope, receive, send)
            return
        key = f"{scope['path']}?{scope.get('query_string', b'').decode('latin-1')}"
        kept = self.files.get(key)
        if kept is None:
            kept = await self._fetch(key, scope, receive, send)
            if kept is None:  # not kept: already sent as it came
                return
        await send({"type": "http.response.start", "status": kept.status, "headers": kept.headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else kept.body})

    async def _fetch(self, key: str, scope: Scope, receive: Receive, send: Send) -> _Kept | None:
        """Ask Gradio for the file; keep it compressed if it qualifies, else pass its answer on as it comes."""
        start: Message | None = None
        passing = False
        chunks: list[bytes] = []

        async def collect(message: Message) -> None:
            nonlocal start, passing
            if message["type"] == "http.response.start":
                headers = Headers(raw=message["headers"])
                length = headers.get("content-length")
                passing = (
                    message["status"] != 200
                    or "content-encoding" in headers
                    or length is None
                    or int(length) > MAX_FILE_BYTES
                    or scope["method"] == "HEAD"
                )
                if passing:
                    await send(message)
                else:
                    start = message
            elif passing:
                await send(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, collect)
        if passing or start is None:
            return None
        body = await asyncio.to_thread(brotli.compress, b"".join(chunks), quality=QUALITY, mode=brotli.MODE_TEXT)
        headers = MutableHeaders(raw=list(start["headers"]))
        headers["content-encoding"] = "br"
        headers["content-length"] = str(len(body))
        headers.add_vary_header("Accept-Encoding")
        kept = _Kept(start["status"], headers.raw, body)
        self.files.put(key, kept)
        return kept
