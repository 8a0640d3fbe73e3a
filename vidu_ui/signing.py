"""Vidu's callback signature: HMAC-SHA256 over method, path, query, "vidu", Date and the signed headers.

The simulator signs its callbacks with :func:`signed_headers`; the app's callback receiver checks them with
:func:`verify`. The body is not signed (the service's design), so a verified callback is still only a hint.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import timezone
from email.utils import formatdate, parsedate_to_datetime
from urllib.parse import urlsplit

ALGORITHM = "hmac-sha256"
ACCESS_KEY = "vidu"
DEFAULT_SIGNED = ("Date", "x-request-nonce")
# Both must be signed: the Date bounds a replay in time and the nonce rules it out within that window.
_REQUIRED_SIGNED = ("date", "x-request-nonce")


class SignatureError(ValueError):
    """A callback failed its signature check; ``reason`` says which check, never the key."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def signing_string(method: str, path: str, query: str, date: str, signed_headers: list[tuple[str, str]]) -> str:
    """The exact text that is signed; it ends with a newline after the last signed header."""
    lines = [method.upper(), path or "/", query, ACCESS_KEY, date]
    return "\n".join(lines) + "\n" + "".join(f"{name}:{value}\n" for name, value in signed_headers)


def _path_query(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.path or "/", parts.query


def sign(key: str, method: str, url: str, headers_to_sign: list[tuple[str, str]], *, date: str | None = None) -> str:
    """``base64(HMAC-SHA256(key, signing_string))``. ``date`` defaults to the Date among ``headers_to_sign``."""
    if date is None:
        date = next((value for name, value in headers_to_sign if name.lower() == "date"), "")
    path, query = _path_query(url)
    text = signing_string(method, path, query, date, headers_to_sign)
    digest = hmac.new(key.encode(), text.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signed_headers(
    key: str, method: str, url: str, *, now: float | None = None, nonce: str | None = None
) -> dict[str, str]:
    """The headers of a signed request to ``url``: Date, nonce and the four X-HMAC-* headers."""
    date = formatdate(time.time() if now is None else now, usegmt=True)
    nonce = str(uuid.uuid4()) if nonce is None else nonce
    to_sign = [("Date", date), ("x-request-nonce", nonce)]
    return {
        "Date": date,
        "x-request-nonce": nonce,
        "X-HMAC-SIGNED-HEADERS": ";".join(DEFAULT_SIGNED),
        "X-HMAC-SIGNATURE": sign(key, method, url, to_sign, date=date),
        "X-HMAC-ALGORITHM": ALGORITHM,
        "X-HMAC-ACCESS-KEY": ACCESS_KEY,
    }


def verify(
    key: str,
    method: str,
    url: str,
    headers: Mapping[str, str],
    *,
    now: float,
    max_skew: float = 300,
    seen_nonce: Callable[[str], bool],
) -> None:
    """Check a signed request; raise :class:`SignatureError` saying why it fails.

    ``url`` is the URL the request was sent to (its path and raw query are signed). ``seen_nonce(nonce)``
    answers whether the nonce was seen before and should remember it; it is called only once the
    signature and the Date have passed, so forged requests cannot fill the nonce store.
    """
    lower = {name.lower(): value for name, value in headers.items()}
    algorithm = lower.get("x-hmac-algorithm")
    if algorithm is None:
        raise SignatureError("missing X-HMAC-ALGORITHM header")
    if algorithm.strip().lower() != ALGORITHM:
        raise SignatureError(f"unsupported signature algorithm {algorithm.strip()[:40]!r}")
    listed = lower.get("x-hmac-signed-headers", "").strip()
    if not listed:
        raise SignatureError("missing X-HMAC-SIGNED-HEADERS header")
    names = [name.strip() for name in listed.split(";") if name.strip()]
    missing = [name for name in _REQUIRED_SIGNED if name not in (n.lower() for n in names)]
    if missing:
        raise SignatureError(f"signed headers must include {', '.join(missing)}")
    absent = [name for name in names if name.lower() not in lower]
    if absent:
        raise SignatureError(f"missing signed header {', '.join(absent)}")
    signature = lower.get("x-hmac-signature")
    if not signature:
        raise SignatureError("missing X-HMAC-SIGNATURE header")
    date = lower["date"]
    expected = sign(key, method, url, [(name, lower[name.lower()]) for name in names], date=date)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise SignatureError("bad signature")
    try:
        parsed = parsedate_to_datetime(date)
    except (TypeError, ValueError, IndexError):
        raise SignatureError("unparsable Date header") from None
    sent = (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).timestamp()
    if abs(now - sent) > max_skew:
        raise SignatureError(f"Date is {abs(now - sent):.0f} s away from now (limit {max_skew:.0f} s)")
    if seen_nonce(lower["x-request-nonce"]):
        raise SignatureError("replayed nonce")
