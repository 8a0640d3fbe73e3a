"""Driving the page in Chromium: Generate (a frame uploaded: ``tests/support/browser.py``), open the History tab,
pick from a dropdown, and measure whether the page scrolls sideways. The browser and its tabs are
``tests/conftest.py``'s fixtures."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from tests.support.browser import upload
from vidu_ui.messages import EN, ZH

PHONE = {"width": 390, "height": 844}
"""A phone's viewport (CSS pixels)."""
LOCALES = {"en": "en-US", "zh-CN": "zh-CN"}
"""The page's languages and the browser locale that asks for each."""
TASK_ID = re.compile(r"^\d{6,}$")


def sideways(page: Page) -> int:
    """How many pixels the page scrolls sideways (0: it fits its window)."""
    return int(page.evaluate("() => document.scrollingElement.scrollWidth - window.innerWidth"))


def generate(page: Page, frames: dict[str, Path], prompt: str = "Dawn turns to dusk over the bay") -> str:
    """Upload the start and end frames, type the prompt, press Generate; the new task's id."""
    upload(page, "start", frames["start"])
    upload(page, "end", frames["end"])
    page.locator("#vu-prompt textarea").fill(prompt)
    task_id = page.locator("#vu-task-id input, #vu-task-id textarea").first
    before = task_id.input_value()  # a task shown already: the new one's id replaces it
    page.locator("#vu-generate").click()
    expect(task_id).not_to_have_value(before)
    expect(task_id).to_have_value(TASK_ID)
    return task_id.input_value()


def history_tab(page: Page, lang: str) -> None:
    """Open the History tab (its name in the page's language ``lang``, a key of ``LOCALES``)."""
    page.get_by_role("tab", name=(EN if lang == "en" else ZH)["tab_history"]).click()
    expect(page.locator("#vu-tab-history")).to_be_visible()


def listbox(page: Page, dropdown: str) -> Locator:
    """The open option list of one dropdown (each list is tied to its input by ``aria-controls``)."""
    field = page.locator(f"#{dropdown} input")
    field.click()
    options = page.locator(f"#{field.get_attribute('aria-controls')} [role=option]")
    expect(options.first).to_be_visible()
    return options


def choose(page: Page, dropdown: str, option: str) -> None:
    exact = re.compile(rf"^\W*{re.escape(option)}\s*$")  # "1" is not "10"; a leading ✓ marks the chosen one
    listbox(page, dropdown).filter(has_text=exact).click()
    expect(page.locator(f"#{dropdown} input")).to_have_value(option)
