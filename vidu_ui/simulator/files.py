"""Result files: signed, expiring links to them, and fetching the image URLs a task was given."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from urllib.parse import urlencode

import httpx

from ..deadline import tls_context
from ..request import TASK_ID_RE
from .validate import MAX_IMAGE_BYTES
from .wire import Response, error_response

_DOWNLOAD_TIMEOUT = httpx.Timeout(5.0, connect=2.0)
_FILE_PATH = re.compile(rf"/_sim/files/({TASK_ID_RE.pattern})/([\w.-]+)")


class FileLinks:
    """Signs ``/_sim/files/<task_id>/<name>?expires=<unix>&sig=<hmac>`` links with a secret of its own."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._secret = secrets.token_bytes(32)

    def _sig(self, task_id: str, name: str, expires: int) -> str:
        text = f"{task_id}/{name}/{expires}".encode()
        return hmac.new(self._secret, text, hashlib.sha256).hexdigest()[:32]

    def url(self, origin: str, task_id: str, name: str, now: float) -> str:
        """A link to a task's file, valid for ``ttl`` seconds from ``now``."""
        expires = int(now + self.ttl)
        query = urlencode({"expires": expires, "sig": self._sig(task_id, name, expires)})
        return f"{origin}/_sim/files/{task_id}/{name}?{query}"

    def check(self, path: str, params: dict[str, list[str]], now: float) -> tuple[str, str] | Response:
        """The task id and file name a link points to, or the 404/403 answer for a bad or expired link."""
        match = _FILE_PATH.fullmatch(path)
        if match is None:
            return error_response(404, "NotFound", "no such file")
        task_id, name = match.groups()
        expires, sig = (params.get("expires") or [""])[0], (params.get("sig") or [""])[0]
        if not re.fullmatch(r"-?\d{1,12}", expires) or not hmac.compare_digest(
            sig.encode(), self._sig(task_id, name, int(expires)).encode()
        ):
            return error_response(403, "Forbidden", "the link's signature is invalid")
        if int(expires) < now:
            return error_response(403, "Forbidden", "the link has expired; query the task for a fresh one")
        return task_id, name


def download(url: str) -> bytes:
    """An image URL's bytes; raises on any failure (status, timeout, size)."""
    with httpx.stream("GET", url, timeout=_DOWNLOAD_TIMEOUT, follow_redirects=True, verify=tls_context()) as response:
        response.raise_for_status()
        data = bytearray()
        for chunk in response.iter_bytes():
            data += chunk
            if len(data) > MAX_IMAGE_BYTES:
                raise ValueError("image too large")
        return bytes(data)
