"""Signed status callbacks, POSTed from background threads; ``success`` and ``failed`` are retried."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from .. import signing
from ..deadline import tls_context

FINAL_STATES = ("success", "failed")
_TIMEOUT = httpx.Timeout(3.0, connect=2.0)


class CallbackSender:
    """Delivers callbacks in order per task; a failed delivery of a final state is tried ``retries`` more times."""

    def __init__(self, api_key: str, *, retries: int = 3, backoff: float = 0.2) -> None:
        self._key = api_key
        self.retries = retries
        self.backoff = backoff
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="sim-callback")
        self._stopped = threading.Event()
        self.deliveries: list[tuple[str, str, int | None]] = []
        """(task id, state, HTTP status or None for no answer), one per attempt."""

    def submit(self, lock: threading.Lock, url: str, bodies: list[dict[str, Any]]) -> None:
        """Send each body to ``url`` in order, holding ``lock`` so one task's callbacks never cross."""
        self._pool.submit(self._run, lock, url, bodies)

    def _run(self, lock: threading.Lock, url: str, bodies: list[dict[str, Any]]) -> None:
        with lock:
            for body in bodies:
                attempts = 1 + (self.retries if body.get("state") in FINAL_STATES else 0)
                for attempt in range(attempts):
                    if self._stopped.is_set():
                        return
                    if self._send(url, body):
                        break
                    if attempt + 1 < attempts:
                        time.sleep(self.backoff * 2**attempt)

    def _send(self, url: str, body: dict[str, Any]) -> bool:
        headers = signing.signed_headers(self._key, "POST", url)
        headers["Content-Type"] = "application/json"
        status: int | None = None
        try:
            response = httpx.post(
                url, content=json.dumps(body).encode(), headers=headers, timeout=_TIMEOUT, verify=tls_context()
            )
            status = response.status_code
        except httpx.HTTPError:
            pass
        self.deliveries.append((str(body.get("id", "")), str(body.get("state", "")), status))
        return status is not None and 200 <= status < 300

    def close(self) -> None:
        self._stopped.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
