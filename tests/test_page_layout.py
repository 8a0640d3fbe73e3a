"""The page as a person meets it on a phone and a desktop, in English and Chinese: nothing scrolls sideways in any
tab before or after a result, the History tab reads on a phone, Open and Reuse wait for a selection, a task's link
opens it for whoever may see it and for nobody else, and a Chinese page shows no English message in a refused form,
a failed task or a cancelled one.

The phone screenshots in ``docs/`` are taken here (the desktop one by ``test_browser.py``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.support.apps import CANARY, Running
from tests.support.pages import LOCALES, PHONE, generate, history_tab, sideways
from vidu_ui.messages import EN, ZH
from vidu_ui.settings import Settings
from vidu_ui.studio.history import STATE_FILTERS

# Tasks end when a test says so (``sim.finish``), or are cancelled.
pytestmark = [pytest.mark.browser, pytest.mark.app(queue_seconds=0.3, process_seconds=600.0)]

DOCS = Path(__file__).resolve().parent.parent / "docs"


def english_messages(text: str) -> list[str]:
    """The messages whose English words (their longest fixed part) appear in ``text`` though Chinese has its own."""
    found = []
    for key, english in EN.items():
        if english == ZH[key]:
            continue
        longest = max(re.split(r"\{[^}]*\}", english), key=len).strip(" .:;,")
        if len(longest) >= 12 and longest in text:
            found.append(key)
    return found


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_nothing_scrolls_sideways_on_a_phone(
    device: Callable[..., Page], running: Running, frames: dict[str, Path], lang: str
) -> None:
    page = device(running.url, PHONE, LOCALES[lang])
    assert sideways(page) == 0
    task_id = generate(page, frames)
    expect(page.locator("#vu-status")).to_be_in_viewport()  # scrolled into view after Generate
    assert running.sim.finish(task_id)
    expect(page.locator("#vu-download")).to_be_visible()
    expect(page.locator("#vu-response")).to_contain_text('"success"')  # the latest answer, not the create's
    assert sideways(page) == 0
    if lang == "zh-CN":
        page.screenshot(path=str(DOCS / "screenshot-phone.png"), full_page=True)

    history_tab(page, lang)
    card = page.locator("#vu-history-cards .vu-card").filter(has_text=task_id)  # a phone shows cards, not the table
    expect(card).to_be_visible()
    expect(card.locator("img").first).to_be_visible()  # the frames of each task
    assert sideways(page) == 0
    if lang == "zh-CN":
        page.screenshot(path=str(DOCS / "screenshot-phone-history.png"), full_page=True)
    page.get_by_role("tab", name=(EN if lang == "en" else ZH)["tab_batch"]).click()  # every tab
    expect(page.locator("#vu-tab-batch")).to_be_visible()
    assert sideways(page) == 0
    page.get_by_role("tab", name=(EN if lang == "en" else ZH)["tab_studio"]).click()
    assert sideways(page) == 0


def test_open_and_reuse_wait_for_a_selection(
    device: Callable[..., Page], running: Running, frames: dict[str, Path]
) -> None:
    page = device(running.url, {"width": 1400, "height": 1000})
    task_id = generate(page, frames, "Open me from the history")
    page.reload()

    def across() -> tuple[float, float]:
        box = page.locator("#vu-tabs").bounding_box()
        assert box is not None
        return box["x"], box["width"]

    studio = across()
    history_tab(page, "en")
    expect(page.locator("#vu-history-table")).to_be_visible()  # a wide screen shows the table
    assert across() == studio  # the page keeps its width from tab to tab
    for button in ("#vu-history-open", "#vu-history-reuse"):
        expect(page.locator(button)).to_be_disabled()
    page.locator("#vu-history-table").get_by_text(task_id, exact=True).last.click()
    for button in ("#vu-history-open", "#vu-history-reuse"):
        expect(page.locator(button)).to_be_enabled()
    expect(page.locator("#vu-history-summary a")).to_have_attribute("href", f"?task={task_id}")


def test_a_tasks_link_opens_it_for_its_owner_only(
    device: Callable[..., Page],
    launch_app: Callable[..., str],
    running: Running,
    frames: dict[str, Path],
    tmp_path: Path,
) -> None:
    settings = Settings.build(base_url=running.sim.base_url, api_key=CANARY, data_dir=tmp_path / "data")
    url = launch_app(settings, auth=(("ann", "pw-ann-1"), ("bob", "pw-bob-2")))
    ann = device(url, login=("ann", "pw-ann-1"))
    expect(ann.locator("#vu-sign-out a")).to_have_attribute("href", "logout")  # sign-in is on: a way out
    task_id = generate(ann, frames, "Only Ann's")
    link = f"{url.rstrip('/')}/?task={task_id}"

    again = device(link, login=("ann", "pw-ann-1"))
    expect(again.locator("#vu-task-id input, #vu-task-id textarea").first).to_have_value(task_id)
    expect(again.locator("#vu-status")).to_contain_text(EN["state_processing"])

    bob = device(link, login=("bob", "pw-bob-2"))
    expect(bob.get_by_text(EN["not_yours"].format(task_id=task_id)).first).to_be_visible()  # as an unknown id
    expect(bob.locator("#vu-task-id input, #vu-task-id textarea").first).to_have_value("")


def test_a_chinese_page_shows_no_english_message(
    device: Callable[..., Page], running: Running, frames: dict[str, Path]
) -> None:
    assert "cancelled_note" in english_messages(EN["cancelled_note"])  # the check can see English
    page = device(running.url, PHONE, "zh-CN")
    # A refused form: nothing uploaded, no prompt.
    page.locator("#vu-generate").click()
    expect(page.locator("#vu-prompt")).to_contain_text(ZH["problem_prompt_required"][:6])
    assert english_messages(page.locator("body").inner_text()) == []

    # A failed task.
    running.sim.fail_next("CreationPolicyViolation")
    failed = generate(page, frames, "一只纸船漂过湖面")
    assert running.sim.finish(failed)
    status = page.locator("#vu-status")
    expect(status).to_contain_text(ZH["state_failed"])
    expect(status).to_contain_text(ZH["hint_CreationPolicyViolation"])
    assert english_messages(page.locator("body").inner_text()) == []

    # A cancelled task.
    page.locator("#vu-generate").click()
    expect(status).to_contain_text(ZH["state_processing"])
    page.locator("#vu-cancel").click()
    expect(status).to_contain_text(ZH["state_cancelled"])
    expect(status).to_contain_text(ZH["cancelled_note"])
    assert english_messages(page.locator("body").inner_text()) == []

    # The History tab's state filter: every value in Chinese (none raw, cancelled among them).
    history_tab(page, "zh-CN")
    field = page.locator("#vu-history-state input")
    field.click()
    options = page.locator(f"#{field.get_attribute('aria-controls')} [role=option]")
    expect(options.first).to_be_visible()
    shown = [text.replace("✓", "").strip() for text in options.all_inner_texts()]
    assert shown == [ZH[f"filter_{name}"] for name in STATE_FILTERS]
    assert english_messages(page.locator("body").inner_text()) == []
