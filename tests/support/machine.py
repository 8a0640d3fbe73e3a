"""What this machine offers the tests, with nothing heavy imported (``tests/conftest.py`` reads it in every
process, pytest-xdist's controller included): whether this is CI, Debian's Chromium and its arguments, a free
port."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
"""Debian's Chromium: Playwright drives it; ``playwright install`` is never run."""
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def need_chromium() -> None:
    """Skip without Debian's Chromium, except under CI (``CI=true``), where that is a failure."""
    if CHROMIUM.exists():
        return
    if in_ci():
        pytest.fail(f"{CHROMIUM} is missing: CI must install Debian's chromium package", pytrace=False)
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium); browser tests skipped")


def os_port(host: str = "127.0.0.1") -> int:
    """A port the OS picks as free on ``host`` (bound to port 0, read back, released)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port
