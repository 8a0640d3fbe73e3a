"""Test doubles shared across the suite."""

from __future__ import annotations

from dataclasses import dataclass, field

from vidu_ui.downloads import DownloadPolicy


@dataclass
class FakeTime:
    """A monotonic clock that moves only when someone sleeps (or a test says so)."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00"
"""The first bytes of an MP4 file: what a download must start with to be kept as a video."""


def cdn_policy(max_bytes: int = 10_000_000) -> DownloadPolicy:
    """Download rules for a fake CDN served by ``httpx.MockTransport``: its names resolve to a public address."""
    return DownloadPolicy(max_bytes=max_bytes, resolver=lambda host, port: ["93.184.216.34"])
