"""The simulator's request log: what each request carried (never the key), and how it was answered."""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, replace
from typing import Any

IMAGE_PREFIX = 40


@dataclass
class RequestRecord:
    """One request as the simulator saw it."""

    time: float
    method: str
    path: str
    query: str
    call: str | None
    """``create``, ``query``, ``cancel``, ``credits``, ``tasks``, ``file``, or None for an unknown path."""
    auth: str | None
    """The scheme used: ``Bearer``, ``Token``, ``other``, or None when there was no Authorization header."""
    auth_ok: bool
    body_size: int = 0
    body: Any = None
    """The JSON body with each image string cut to its first 40 characters; None when not JSON."""
    status: int | None = None
    fault: str | None = None
    """The injected fault applied to this request, if any."""
    settled: bool = False
    """The simulator has done all it will with this request (a task made, queried or cancelled, or not); only its
    answer may still be on the way (a trickle, a delay, a hang)."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def shorten(body: Any) -> Any:
    """A copy of a create body safe and small enough to log: image strings keep their first characters."""
    if isinstance(body, dict) and isinstance(body.get("images"), list):
        images = [
            f"{item[:IMAGE_PREFIX]}…({len(item)} chars)" if isinstance(item, str) and len(item) > IMAGE_PREFIX else item
            for item in body["images"]
        ]
        return {**body, "images": images}
    return body


def loggable_body(raw: bytes | None) -> Any:
    if not raw:
        return None
    try:
        return shorten(json.loads(raw))
    except (ValueError, UnicodeDecodeError):
        return None


class RequestLog:
    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._records: list[RequestRecord] = []

    def add(self, record: RequestRecord) -> RequestRecord:
        with self._changed:
            self._records.append(record)
            self._changed.notify_all()
        return record

    def update(self, record: RequestRecord, **changes: Any) -> None:
        with self._changed:
            for name, value in changes.items():
                setattr(record, name, value)
            self._changed.notify_all()

    def wait_settled(self, since: int, timeout: float, *, arrived: int = 0) -> bool:
        """Wait until at least ``arrived`` requests from the ``since``-th on are in and every one of them is settled;
        False if that is not so within ``timeout``."""

        def done() -> bool:
            records = self._records[since:]
            return len(records) >= arrived and all(r.settled for r in records)

        with self._changed:
            return self._changed.wait_for(done, timeout)

    def snapshot(self) -> list[RequestRecord]:
        """Copies of the records, oldest first."""
        with self._changed:
            return [replace(r) for r in self._records]

    def clear(self) -> None:
        with self._changed:
            self._records.clear()
