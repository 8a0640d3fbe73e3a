"""The page in a real Chromium (Playwright, Debian's /usr/bin/chromium), against the app in demo mode.

Never ``playwright install``: the system browser is used. Without it the tests skip, except in CI where they fail.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.support.apps import Running
from tests.support.browser import upload
from tests.support.pages import choose, listbox
from vidu_ui.catalogue import MODELS
from vidu_ui.messages import EN, ZH, model_key
from vidu_ui.settings import Settings

pytestmark = [
    pytest.mark.browser,
    # Tasks end when a test says so (``sim.finish``): a loaded machine never sees one end before its first view.
    pytest.mark.app(api_key="sk-CANARY-b7r0w5e3r-9x", queue_seconds=0.5, process_seconds=600.0),
]

CANARY = "sk-CANARY-b7r0w5e3r-9x"
SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "screenshot.png"
HISTORY_SCREENSHOT = SCREENSHOT.with_name("screenshot-history.png")
TASK_ID = re.compile(r"^\d{6,}$")


@pytest.fixture
def page(open_page: Callable[..., Page], running: Running) -> Page:
    tab = open_page(running.url)
    expect(tab.locator("#vu-generate")).to_be_visible()
    return tab


def options_of(page: Page, dropdown: str) -> list[str]:
    texts = [t.replace("✓", "").strip() for t in listbox(page, dropdown).all_inner_texts()]
    page.keyboard.press("Escape")
    page.locator(f"#{dropdown} input").blur()  # the next click opens the list again
    return texts


def assert_no_canary(page: Page) -> None:
    storage = page.evaluate("() => JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])")
    assert CANARY not in storage
    assert CANARY not in page.content()


def test_generate_in_the_browser(page: Page, running: Running, frames: dict[str, Path]) -> None:
    upload(page, "start", frames["start"])
    upload(page, "end", frames["end"])
    expect(page.locator("#vu-start-summary")).to_contain_text("PNG · 1280×720")
    expect(page.locator("#vu-end-summary")).to_contain_text("JPEG · 1280×720")
    page.get_by_role("button", name="⇄ Swap frames").click()
    expect(page.locator("#vu-start-summary")).to_contain_text("JPEG · 1280×720")
    expect(page.locator("#vu-end-summary")).to_contain_text("PNG · 1280×720")
    page.get_by_role("button", name="⇄ Swap frames").click()
    expect(page.locator("#vu-start-summary")).to_contain_text("PNG · 1280×720")
    prompt = "The camera glides forward as the sun sets behind the hills"
    page.locator("#vu-prompt textarea").fill(prompt)
    expect(page.locator("#vu-count")).to_contain_text(f"{len(prompt)} / 2,000")

    assert options_of(page, "vu-duration") == [str(d) for d in range(1, 17)]
    choose(page, "vu-model", "vidu2.0 — The 2.0 model: 4 s (up to 1080p) or 8 s (720p)")
    expect(page.locator("#vu-duration input")).to_have_value("4")
    assert options_of(page, "vu-duration") == ["4", "8"]
    assert options_of(page, "vu-resolution") == ["360p", "720p", "1080p"]
    choose(page, "vu-duration", "8")
    expect(page.locator("#vu-resolution input")).to_have_value("720p")
    expect(page.locator("#vu-resolution input")).to_be_disabled()  # one resolution at 8 s: shown fixed

    choose(page, "vu-model", "viduq3-turbo — Like viduq3-pro with sound, generated faster and cheaper")
    expect(page.locator("#vu-duration input")).to_have_value("8")  # still offered: kept
    choose(page, "vu-duration", "5")
    expect(page.locator("#vu-estimate input, #vu-estimate textarea").first).to_have_value("≈ 60")

    before = running.sim.create_count
    page.locator("#vu-generate").click()
    task_id = page.locator("#vu-task-id input, #vu-task-id textarea").first
    expect(task_id).to_have_value(TASK_ID)
    value = task_id.input_value()
    expect(page.locator("#vu-response")).to_contain_text(value)
    expect(page.locator("#vu-generate")).to_be_enabled()
    assert running.sim.create_count == before + 1

    # The page follows the task: its state, then the video from this server's own copy, playing.
    status = page.locator("#vu-status")
    expect(status).to_contain_text("Processing")
    expect(page.locator("#vu-cancel")).to_be_visible()
    assert running.sim.finish(value)
    expect(status).to_contain_text("Succeeded")
    expect(status).to_contain_text("Saved on this server")
    expect(page.locator("#vu-cancel")).to_be_hidden()
    assert_plays(page)
    expect(page.locator("#vu-download")).to_be_visible()
    expect(page.locator("#vu-credits input, #vu-credits textarea").first).not_to_have_value("")
    expect(page.locator("#vu-estimate input, #vu-estimate textarea").first).to_have_value("≈ 60")
    record = running.page.runtime.store.get(value)
    assert record is not None and record.state == "success" and record.video_path

    page.locator("#vu-request").get_by_text("Request preview").click()
    expect(page.locator("#vu-curl")).to_contain_text("$VIDU_API_KEY")
    assert_no_canary(page)
    page.locator("#vu-request").get_by_text("Request preview").click()  # closed again for the picture
    page.evaluate("() => { const v = document.querySelector('#vu-video video'); v.pause(); v.currentTime = 2.5; }")
    page.wait_for_function("() => { const v = document.querySelector('#vu-video video'); return !v.seeking; }")
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    # After a reload, the History tab lists it; opening it shows the same result.
    page.reload()
    page.get_by_role("tab", name="History").click()
    row = page.locator("#vu-history-table").get_by_text(value, exact=True).last
    expect(row).to_be_visible()
    expect(page.locator("#vu-history-table")).to_contain_text(prompt)
    row.click()
    expect(page.locator("#vu-history-selected-id input, #vu-history-selected-id textarea").first).to_have_value(value)
    expect(page.locator("#vu-thumb-start img")).to_be_visible()
    page.screenshot(path=str(HISTORY_SCREENSHOT), full_page=False)
    page.locator("#vu-history-open").click()
    expect(page.locator("#vu-status")).to_contain_text("Saved on this server")
    expect(task_id).to_have_value(value)
    assert_plays(page)
    assert_no_canary(page)


def assert_plays(page: Page) -> None:
    """The result's <video> plays this server's copy: it has data and its time advances."""
    video = page.locator("#vu-video video")
    expect(video).to_be_visible()
    expect(video).to_have_attribute("src", re.compile(r"/gradio_api/file=.*\.mp4$"))
    page.wait_for_function("() => document.querySelector('#vu-video video').readyState >= 2")
    page.evaluate("() => { const v = document.querySelector('#vu-video video'); v.muted = true; return v.play(); }")
    page.wait_for_function("() => document.querySelector('#vu-video video').currentTime > 0.2")


def test_an_invalid_pair_shows_its_message_at_the_frame(page: Page, running: Running, frames: dict[str, Path]) -> None:
    upload(page, "start", frames["square"])
    upload(page, "end", frames["wide"])
    page.locator("#vu-prompt textarea").fill("A square becomes a panorama")
    # What a person sees before pressing Generate: each frame's summary, auto-fit's preview, then, once it is
    # turned off, the preview gone. Gradio's page clears a message at an input whenever an event taking that input
    # starts, so Generate is pressed once these events (the frames are their inputs) are over.
    expect(page.locator("#vu-start-summary")).to_contain_text("1000×1000")
    expect(page.locator("#vu-end-summary")).to_contain_text("1400×700")
    preview = page.locator("#vu-fit-preview")
    expect(preview).to_be_visible()
    page.locator("#vu-autofit input").uncheck()
    expect(preview).to_be_hidden()
    before = len(running.sim.requests)
    page.locator("#vu-generate").click()
    expect(page.locator("#vu-end-image")).to_contain_text("is 1400×700")
    expect(page.locator("#vu-end-image")).not_to_contain_text("end_frame:")  # at its input: no internal name
    expect(page.locator("#vu-start-image")).not_to_contain_text("start_frame:")
    assert len(running.sim.requests) == before  # the message came from the validator: nothing was sent
    expect(page.locator("#vu-task-id input, #vu-task-id textarea").first).to_have_value("")
    assert_no_canary(page)


def test_chinese_browser_gets_chinese_labels(open_page: Callable[..., Page], running: Running) -> None:
    tab = open_page(running.url, locale="zh-CN")
    expect(tab.locator("#vu-generate")).to_have_text("生成")
    expect(tab.get_by_text("首帧", exact=True)).to_be_visible()
    expect(tab.get_by_text("演示模式", exact=False)).to_be_visible()
    expect(tab.get_by_role("tab", name="历史记录")).to_be_visible()
    expect(tab.locator("#vu-status")).to_contain_text(ZH["result_empty"][:8])
    choose(tab, "vu-model", ZH["model_viduq2"])
    expect(tab.locator("#vu-estimate input, #vu-estimate textarea").first).to_have_value(ZH["no_estimate"])


def test_a_visitors_key_stays_out_of_the_page_and_storage(
    open_page: Callable[..., Page],
    launch_app: Callable[..., str],
    running: Running,
    frames: dict[str, Path],
    tmp_path: Path,
) -> None:
    """The same simulator behind a page without a server key: each visitor pastes their own."""
    tab = open_page(launch_app(Settings.build(base_url=running.sim.base_url, data_dir=tmp_path / "data")))
    expect(tab.get_by_text("Your key: paste your own Vidu API key")).to_be_visible()
    upload(tab, "start", frames["start"])
    upload(tab, "end", frames["end"])
    tab.locator("#vu-prompt textarea").fill("Morning turns to night")
    tab.locator("#vu-generate").click()
    expect(tab.locator("#vu-api-key")).to_contain_text(EN["problem_no_key_visitor"])
    key_box = tab.locator("#vu-api-key input")
    expect(key_box).to_have_attribute("type", "password")
    key_box.fill(CANARY)
    tab.locator("#vu-generate").click()
    expect(tab.locator("#vu-task-id input, #vu-task-id textarea").first).to_have_value(TASK_ID)
    assert_no_canary(tab)


def test_reuse_settings_puts_a_tasks_options_and_frames_back(page: Page, frames: dict[str, Path]) -> None:
    upload(page, "start", frames["start"])
    upload(page, "end", frames["end"])
    page.locator("#vu-prompt textarea").fill("Reuse these settings")
    estimate = page.locator("#vu-estimate input, #vu-estimate textarea").first
    choose(page, "vu-model", "viduq3-turbo — Like viduq3-pro with sound, generated faster and cheaper")
    expect(estimate).to_have_value("≈ 60")  # the model's change has reached the page: the duration is its own now
    choose(page, "vu-duration", "8")
    expect(estimate).not_to_have_value("≈ 60")  # and the duration's change too, before the resolution is chosen
    choose(page, "vu-resolution", "1080p")
    expect(estimate).to_have_value("≈ 128")
    page.locator("#vu-generate").click()
    task_id = page.locator("#vu-task-id input, #vu-task-id textarea").first
    expect(task_id).to_have_value(TASK_ID)
    value = task_id.input_value()

    page.reload()  # a fresh form: default model, no frames
    expect(page.locator("#vu-model input")).not_to_have_value(re.compile("viduq3-turbo"))
    page.get_by_role("tab", name="History").click()
    page.locator("#vu-history-table").get_by_text(value, exact=True).last.click()
    # Reuse acts on the selected row: wait until the page holds the selection before pressing it.
    selected = page.locator("#vu-history-selected-id input, #vu-history-selected-id textarea").first
    expect(selected).to_have_value(value)
    page.locator("#vu-history-reuse").click()
    expect(page.locator("#vu-model input")).to_have_value(re.compile("^viduq3-turbo"))
    expect(page.locator("#vu-duration input")).to_have_value("8")
    expect(page.locator("#vu-resolution input")).to_have_value("1080p")
    expect(estimate).to_have_value("≈ 128")
    expect(page.locator("#vu-prompt textarea")).to_have_value("Reuse these settings")
    expect(page.locator("#vu-start-summary")).to_contain_text("PNG · 1280×720")  # the uploads still exist
    expect(page.locator("#vu-end-summary")).to_contain_text("JPEG · 1280×720")


@pytest.mark.slow  # every model × every duration through the page: 104 s under load, not well under a minute quiet
def test_every_model_and_duration_gives_a_valid_form(
    page: Page, running: Running, frames: dict[str, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    """Switch through every model and each of its durations: the durations, resolutions and options follow, a
    single duration is shown fixed, Preview finds the form valid, and the server logs no error."""
    upload(page, "start", frames["small_start"])
    upload(page, "end", frames["small_end"])
    page.locator("#vu-prompt textarea").fill("Every model, every duration")
    page.locator("#vu-request").get_by_text("Request preview").click()
    curl = page.locator("#vu-curl")
    page.locator("#vu-more").get_by_text(EN["more_options"]).first.click()
    duration, resolution = page.locator("#vu-duration input"), page.locator("#vu-resolution input")
    previous = 5
    for model in MODELS:
        choose(page, "vu-model", EN[model_key(model.name)])
        kept = previous if previous in model.durations else model.default_duration  # kept while still offered
        expect(duration).to_have_value(str(kept))
        if len(model.durations) == 1:
            expect(duration).to_be_disabled()  # fixed, not a 5-to-5 slider
        else:
            assert options_of(page, "vu-duration") == [str(d) for d in model.durations]
        for name in ("audio", "bgm"):
            shown = expect(page.locator(f"#vu-{name}"))
            shown.to_be_visible() if getattr(model, name) else shown.to_be_hidden()
        for seconds in model.durations:
            if len(model.durations) > 1:
                choose(page, "vu-duration", str(seconds))
            expect(resolution).to_have_value(re.compile("^(" + "|".join(model.resolutions_for(seconds)) + ")$"))
            page.get_by_role("button", name=EN["preview"]).click()
            expect(curl).to_contain_text(f'"model": "{model.name}"')
            expect(curl).to_contain_text(f'"duration": {seconds},')
            previous = seconds
    expect(page.locator("body")).not_to_contain_text("[object Object]")
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err and "ValueError" not in out + err
