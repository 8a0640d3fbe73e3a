"""What browser tests do on the page, shared: a frame uploaded as a person drops it in."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect


def upload(page: Page, role: str, path: Path) -> None:
    """``path`` into the start or end frame's input; returns once the page shows it."""
    page.locator(f"#vu-{role}-image input[type=file]").set_input_files(str(path))
    expect(page.locator(f"#vu-{role}-image img").first).to_be_visible()
