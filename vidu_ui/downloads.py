"""Fetching what the service names (a video, its watermarked copy, a cover) without trusting the name.

The service's answer says where a video is; a hostile or broken service (or whoever edits its answer) could
name anything. Every download goes through ``fetch``, under the rules of a ``DownloadPolicy``:

- ``https`` only; plain ``http`` only when the configured service itself is plain http on a loopback address
  (the simulator, a local test double).
- No loopback, private, link-local or otherwise non-public address, unless the service itself is on one of the
  same kind. The host is resolved here and every address checked; then the address actually connected to is
  checked again before the body is read, so a name that resolves differently a moment later gains nothing.
- Redirects are followed by hand, at most ``MAX_REDIRECTS``, each target checked by the same rules.
- At most ``max_bytes`` (for a cover, at most ``MAX_IMAGE_BYTES``): a larger ``Content-Length`` is refused before
  reading, a longer stream when it passes.
- The first bytes must be a video (MP4/MOV ``ftyp``, WebM's EBML) or, for a cover, a PNG, JPEG or WebP, before
  anything is written; the file appears under its final name only when whole (written aside, then renamed).

The page never points a visitor's browser at what the service names: the video, its watermarked copy and the
cover are kept beside each other (``vidu_ui.storage``) and served from the app's own file route.

A refusal raises ``DownloadRefused``, with a ``key`` saying which rule (for the messages) and its details.
Transport failures stay ``httpx.HTTPError`` (worth trying again, perhaps with a fresh link).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal
from urllib.parse import urljoin, urlsplit

import httpx

from . import deadline
from .errors import ViduError
from .frames import sniff_image
from .messages import say
from .settings import Settings

__all__ = ["MAX_IMAGE_BYTES", "DownloadPolicy", "DownloadRefused", "Kind", "fetch", "is_media"]

MAX_REDIRECTS = 5
MAX_IMAGE_BYTES = 10_000_000
"""Largest cover image kept: the service's cover is a JPEG the size of the video's frame (1080p: well under
1 MB), so ten times that is generous, and a "cover" of hundreds of MB is refused mid-stream."""
PART_SUFFIX = ".part"
_CHUNK = 1 << 16
_HEAD = 16  # bytes enough to tell a video or an image by its signature

Kind = Literal["video", "image"]
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]
RefusalKey = Literal["scheme", "address", "redirects", "too_large", "not_media", "status"]


class DownloadRefused(ViduError):
    """A download broke a rule; nothing was kept. ``key`` names the rule, ``host`` where it pointed; ``reason``
    is the message key (``download_<reason>`` in ``vidu_ui.messages``) saying how, filled in with ``values``."""

    def __init__(self, key: RefusalKey, host: str, reason: str, **values: Any) -> None:
        self.key = key
        self.host = host
        self.reason = reason
        self.values = values
        super().__init__(say("en", "download_refused", host=host or "?", detail=self.detail))

    @property
    def detail(self) -> str:
        """How the rule was broken, in English (the operator's log)."""
        return say("en", f"download_{self.reason}", **self.values)


def _category(address: Address) -> str:
    """Which kind of address this is; "public" is the only kind allowed by default."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _category(address.ipv4_mapped)
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_private or address.is_reserved or address.is_multicast or address.is_unspecified:
        return "private"
    return "public" if address.is_global else "private"


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class DownloadPolicy:
    """What may be downloaded: which schemes, which kinds of address, how many bytes."""

    max_bytes: int
    allow_http: bool = False
    allowed: frozenset[str] = frozenset({"public"})
    resolver: Resolver = _resolve

    @classmethod
    def for_settings(cls, settings: Settings, *, resolver: Resolver = _resolve) -> DownloadPolicy:
        """The rules for the configured service: what it is on (loopback, private) is allowed besides public."""
        url = urlsplit(settings.base_url)
        host = url.hostname or ""
        try:
            addresses = [ipaddress.ip_address(a) for a in resolver(host, url.port or 443)]
        except (OSError, ValueError):
            addresses = []
        kinds = {_category(a) for a in addresses}
        allow_http = url.scheme == "http" and bool(addresses) and kinds == {"loopback"}
        return cls(settings.max_video_bytes, allow_http, frozenset({"public"} | kinds), resolver)

    def check(self, url: str) -> str:
        """The URL's host once its scheme and every address it resolves to are allowed; or refuse."""
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError) as exc:
            raise DownloadRefused("scheme", "", "not_url", error=str(exc)) from None
        host = parsed.host
        if (parsed.scheme == "http" and not self.allow_http) or parsed.scheme not in ("http", "https"):
            raise DownloadRefused("scheme", host, "scheme", scheme=parsed.scheme or "-")
        if not host or parsed.userinfo:
            raise DownloadRefused("scheme", host, "no_host")
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        try:
            addresses = self.resolver(host, port)
        except (OSError, UnicodeError) as exc:
            raise DownloadRefused("address", host, "unresolved", error=str(exc)) from None
        if not addresses:
            raise DownloadRefused("address", host, "unresolved", error="-")
        for address in addresses:
            self.check_address(host, address)
        return host

    def check_address(self, host: str, address: str) -> None:
        """Refuse an address of a kind the service itself is not on (loopback, private, link-local…)."""
        try:
            parsed = ipaddress.ip_address(address.split("%")[0])
        except ValueError:
            raise DownloadRefused("address", host, "bad_address", address=address) from None
        kind = _category(parsed)
        if kind not in self.allowed:
            raise DownloadRefused("address", host, "address", kind=kind, address=str(parsed))


def is_media(head: bytes, kind: Kind) -> bool:
    """Whether the first bytes are a video (MP4/MOV, WebM) or, for ``"image"``, a PNG, JPEG or WebP."""
    if kind == "image":
        return sniff_image(head) is not None
    return head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free") or head.startswith(b"\x1a\x45\xdf\xa3")


def fetch(
    url: str,
    dest: Path,
    policy: DownloadPolicy,
    *,
    kind: Kind = "video",
    timeout: float = 120.0,
    transport: httpx.BaseTransport | None = None,
) -> Path:
    """Save ``url`` to ``dest`` under ``policy``; raise ``DownloadRefused`` (nothing kept) when a rule is broken."""
    max_bytes = policy.max_bytes if kind == "video" else min(policy.max_bytes, MAX_IMAGE_BYTES)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with (
        httpx.Client(
            timeout=httpx.Timeout(timeout, connect=10.0), transport=transport, verify=deadline.tls_context()
        ) as http,
        _response(http, url, policy) as (response, host),
        _partial(dest) as out,
    ):
        _check_length(response, host, max_bytes)
        head, written = b"", 0
        for chunk in response.iter_bytes(_CHUNK):
            written += len(chunk)
            if written > max_bytes:
                raise _too_large(host, max_bytes)
            if len(head) < _HEAD:
                head += chunk
                if len(head) < _HEAD:
                    continue
                _check_media(head, kind, host)
                chunk, head = head, head[:_HEAD]
            out.write(chunk)
        if len(head) < _HEAD:
            _check_media(head, kind, host)
            out.write(head)
    return dest


@contextmanager
def _response(http: httpx.Client, url: str, policy: DownloadPolicy) -> Iterator[tuple[httpx.Response, str]]:
    """The final response after checked redirects, streaming; and the host it came from."""
    for _ in range(MAX_REDIRECTS + 1):
        host = policy.check(url)
        response = http.send(http.build_request("GET", url), stream=True)
        try:
            _check_peer(response, host, policy)
            if response.is_redirect and "location" in response.headers:
                url = urljoin(url, response.headers["location"])
                continue
            if not response.is_success:
                raise DownloadRefused("status", host, "status", status=response.status_code)
            yield response, host
            return
        finally:
            response.close()
    raise DownloadRefused("redirects", urlsplit(url).hostname or "", "redirects", limit=MAX_REDIRECTS)


def _check_peer(response: httpx.Response, host: str, policy: DownloadPolicy) -> None:
    """The address actually connected to, checked again before a byte of the body is read: a name that
    resolved to a public address for ``check`` and to a private one for the connection gains nothing."""
    stream = response.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    if isinstance(peer, tuple) and peer:
        policy.check_address(host, str(peer[0]))


@contextmanager
def _partial(dest: Path) -> Iterator[IO[bytes]]:
    """A file written aside as ``.<name>.<pid>.<random>.part`` and renamed onto ``dest`` once whole and synced."""
    fd, partial = tempfile.mkstemp(prefix=f".{dest.name}.{os.getpid()}.", suffix=PART_SUFFIX, dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, dest)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


def _check_length(response: httpx.Response, host: str, max_bytes: int) -> None:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(host, max_bytes)


def _too_large(host: str, max_bytes: int) -> DownloadRefused:
    return DownloadRefused("too_large", host, "too_large", megabytes=f"{max_bytes / 1e6:,.0f}")


def _check_media(head: bytes, kind: Kind, host: str) -> None:
    if not is_media(head, kind):
        raise DownloadRefused("not_media", host, f"not_{kind}")
