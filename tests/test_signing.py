from __future__ import annotations

import base64
import hashlib
import hmac
from email.utils import formatdate
from typing import NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vidu_ui.signing import SignatureError, sign, signed_headers, signing_string, verify

KEY = "test-key"
URL = "http://127.0.0.1:8080/vidu/callback?name=james&age=36"
DATE = "Tue, 06 May 2025 12:09:42 GMT"
NOW = 1746533382.0  # DATE as Unix seconds
NONCE = "123e4567-e89b-12d3-a456-426614174000"
SIGNED = [("Date", DATE), ("x-request-nonce", NONCE)]


def _never_seen(nonce: str) -> bool:
    return False


def _headers(**changes: str) -> dict[str, str]:
    headers = signed_headers(KEY, "POST", URL, now=NOW, nonce=NONCE)
    headers.update(changes)
    return headers


def test_worked_example_signing_string_matches_byte_for_byte() -> None:
    expected = (
        "POST\n/vidu/callback\nname=james&age=36\nvidu\nTue, 06 May 2025 12:09:42 GMT\n"
        "Date:Tue, 06 May 2025 12:09:42 GMT\nx-request-nonce:123e4567-e89b-12d3-a456-426614174000\n"
    )
    text = signing_string(
        "post", "/vidu/callback", "name=james&age=36", DATE, [("Date", DATE), ("x-request-nonce", NONCE)]
    )
    assert text == expected


def test_signature_is_base64_hmac_sha256_of_the_signing_string() -> None:
    text = signing_string(
        "POST", "/vidu/callback", "name=james&age=36", DATE, [("Date", DATE), ("x-request-nonce", NONCE)]
    )
    expected = base64.b64encode(hmac.new(KEY.encode(), text.encode(), hashlib.sha256).digest()).decode()
    assert sign(KEY, "POST", URL, [("Date", DATE), ("x-request-nonce", NONCE)]) == expected


def test_empty_path_signs_as_slash_and_missing_query_as_empty() -> None:
    assert signing_string("GET", "", "", DATE, []) == f"GET\n/\n\nvidu\n{DATE}\n"
    headers = [("Date", DATE)]
    assert sign(KEY, "GET", "http://host", headers) == sign(KEY, "GET", "http://host/", headers)


def test_signed_headers_shape() -> None:
    headers = _headers()
    assert headers["Date"] == DATE
    assert headers["x-request-nonce"] == NONCE
    assert headers["X-HMAC-SIGNED-HEADERS"] == "Date;x-request-nonce"
    assert headers["X-HMAC-ALGORITHM"] == "hmac-sha256"
    assert headers["X-HMAC-ACCESS-KEY"] == "vidu"
    assert headers["X-HMAC-SIGNATURE"] == sign(KEY, "POST", URL, [("Date", DATE), ("x-request-nonce", NONCE)])
    assert KEY not in str(headers)


def test_fresh_headers_use_a_new_nonce_each_time() -> None:
    assert signed_headers(KEY, "POST", URL)["x-request-nonce"] != signed_headers(KEY, "POST", URL)["x-request-nonce"]


def test_verify_accepts_the_genuine_request_and_any_header_case() -> None:
    verify(KEY, "POST", URL, _headers(), now=NOW, seen_nonce=_never_seen)
    lower = {name.lower(): value for name, value in _headers().items()}
    verify(KEY, "post", URL, lower, now=NOW + 299, seen_nonce=_never_seen)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"Date": "Tue, 06 May 2025 12:09:43 GMT"}, "bad signature"),
        ({"x-request-nonce": "00000000-e89b-12d3-a456-426614174000"}, "bad signature"),
        ({"X-HMAC-SIGNATURE": base64.b64encode(b"x" * 32).decode()}, "bad signature"),
        ({"X-HMAC-ALGORITHM": "hmac-sha1"}, "algorithm"),
        ({"X-HMAC-SIGNED-HEADERS": "Date"}, "x-request-nonce"),
        ({"X-HMAC-SIGNED-HEADERS": "x-request-nonce;Date"}, "bad signature"),
        ({"X-HMAC-SIGNED-HEADERS": "Date;x-request-nonce;X-Extra"}, "X-Extra"),
    ],
)
def test_verify_rejects_a_tampered_header(changes: dict[str, str], reason: str) -> None:
    with pytest.raises(SignatureError, match=reason):
        verify(KEY, "POST", URL, _headers(**changes), now=NOW, seen_nonce=_never_seen)


@pytest.mark.parametrize(
    "missing", ["X-HMAC-ALGORITHM", "X-HMAC-SIGNED-HEADERS", "X-HMAC-SIGNATURE", "Date", "x-request-nonce"]
)
def test_verify_rejects_a_missing_header(missing: str) -> None:
    headers = _headers()
    del headers[missing]
    with pytest.raises(SignatureError, match="missing"):
        verify(KEY, "POST", URL, headers, now=NOW, seen_nonce=_never_seen)


@pytest.mark.parametrize(
    ("method", "url", "key"),
    [
        ("GET", URL, KEY),
        ("POST", "http://127.0.0.1:8080/vidu/callback2?name=james&age=36", KEY),
        ("POST", "http://127.0.0.1:8080/vidu/callback?name=james&age=37", KEY),
        ("POST", "http://127.0.0.1:8080/vidu/callback", KEY),
        ("POST", URL, "another-key"),
    ],
)
def test_verify_rejects_another_method_path_query_or_key(method: str, url: str, key: str) -> None:
    with pytest.raises(SignatureError, match="bad signature"):
        verify(key, method, url, _headers(), now=NOW, seen_nonce=_never_seen)


def test_verify_rejects_a_stale_or_future_date() -> None:
    for now in (NOW + 301, NOW - 301):
        with pytest.raises(SignatureError, match="away from now"):
            verify(KEY, "POST", URL, _headers(), now=now, seen_nonce=_never_seen)
    verify(KEY, "POST", URL, _headers(), now=NOW + 10, max_skew=10, seen_nonce=_never_seen)


def test_verify_rejects_an_unparsable_date_even_when_signed() -> None:
    headers = _headers(Date="yesterday")
    headers["X-HMAC-SIGNATURE"] = sign(KEY, "POST", URL, [("Date", "yesterday"), ("x-request-nonce", NONCE)])
    with pytest.raises(SignatureError, match="unparsable"):
        verify(KEY, "POST", URL, headers, now=NOW, seen_nonce=_never_seen)


def test_verify_rejects_a_replayed_nonce_and_only_records_valid_ones() -> None:
    seen: set[str] = set()

    def seen_nonce(nonce: str) -> bool:
        if nonce in seen:
            return True
        seen.add(nonce)
        return False

    with pytest.raises(SignatureError):
        verify("wrong", "POST", URL, _headers(), now=NOW, seen_nonce=seen_nonce)
    assert not seen
    verify(KEY, "POST", URL, _headers(), now=NOW, seen_nonce=seen_nonce)
    with pytest.raises(SignatureError, match="replayed"):
        verify(KEY, "POST", URL, _headers(), now=NOW, seen_nonce=seen_nonce)


class Req(NamedTuple):
    key: str
    method: str
    path: str
    query: str
    now: float
    nonce: str

    @property
    def url(self) -> str:
        return f"https://example.test{self.path}" + (f"?{self.query}" if self.query else "")


_text = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=12)
_requests = st.builds(
    Req,
    key=st.text(min_size=1, max_size=40),
    method=st.sampled_from(["POST", "GET", "PUT"]),
    path=st.lists(_text, max_size=3).map(lambda parts: "/" + "/".join(parts)),
    query=st.lists(st.tuples(_text, _text), max_size=3).map(lambda q: "&".join(f"{a}={b}" for a, b in q)),
    now=st.integers(min_value=0, max_value=4_000_000_000).map(float),
    nonce=st.uuids().map(str),
)


@settings(max_examples=60, deadline=None)
@given(_requests)
def test_signing_then_verifying_always_succeeds(req: Req) -> None:
    headers = signed_headers(req.key, req.method, req.url, now=req.now, nonce=req.nonce)
    verify(req.key, req.method, req.url, headers, now=req.now, seen_nonce=_never_seen)


@settings(max_examples=80, deadline=None)
@given(_requests, st.sampled_from(["key", "method", "path", "query", "date", "nonce", "signature"]))
def test_any_single_change_fails(req: Req, change: str) -> None:
    headers = signed_headers(req.key, req.method, req.url, now=req.now, nonce=req.nonce)
    key, method, url = req.key, req.method, req.url
    if change == "key":
        key += "x"
    elif change == "method":
        method = "DELETE"
    elif change == "path":
        url = url.replace("https://example.test/", "https://example.test/x", 1)
    elif change == "query":
        url += "&x=1" if "?" in url else "?x=1"
    elif change == "date":
        headers["Date"] = formatdate(req.now + 1, usegmt=True)
    elif change == "nonce":
        headers["x-request-nonce"] = req.nonce[::-1]
    else:
        raw = bytearray(base64.b64decode(headers["X-HMAC-SIGNATURE"]))
        raw[0] ^= 1
        headers["X-HMAC-SIGNATURE"] = base64.b64encode(raw).decode()
    with pytest.raises(SignatureError, match="bad signature"):
        verify(key, method, url, headers, now=req.now, seen_nonce=_never_seen)
