"""The validator's prepared requests, kept briefly so that Generate sends what was checked instead of checking
(and decoding the frames) all over again.

Gradio runs the validator just before it queues the event, with the same input values, so the entry is normally
taken within a moment. An entry is found only for the same options and the same frame files (path, size and
modification time), is taken once, and expires after ``ttl`` seconds; the entries together hold at most
``max_bytes`` of request bodies. A miss only costs a second ``prepare``.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

from ..request import TaskOptions
from ..submit import PreparedRequest

Key = tuple[Hashable, ...]


def _source_key(source: str | None) -> Hashable:
    if source is None or source.startswith(("http://", "https://")):
        return source
    try:
        info = os.stat(source)
    except OSError:
        return None
    return (source, info.st_size, info.st_mtime_ns)


def request_key(start: str | None, end: str | None, options: TaskOptions, auto_fit: bool) -> Key:
    """What makes two prepares give the same request: the frames' files as they are now, and every option."""
    return (_source_key(start), _source_key(end), repr(options), auto_fit)


class PreparedCache:
    def __init__(
        self, *, ttl: float = 60.0, max_bytes: int = 200_000_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl
        self._max_bytes = max_bytes
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[Key, tuple[float, PreparedRequest]] = OrderedDict()

    def put(self, key: Key, request: PreparedRequest) -> None:
        with self._lock:
            self._entries[key] = (self._clock(), request)
            self._entries.move_to_end(key)
            self._trim()

    def take(self, key: Key) -> PreparedRequest | None:
        with self._lock:
            self._trim()
            entry = self._entries.pop(key, None)
        return entry[1] if entry is not None else None

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def _trim(self) -> None:
        oldest = self._clock() - self._ttl
        total = sum(request.size for _, request in self._entries.values())
        while self._entries:
            key, (at, request) = next(iter(self._entries.items()))
            if at >= oldest and total <= self._max_bytes:
                break
            del self._entries[key]
            total -= request.size
