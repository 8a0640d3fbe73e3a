"""A generator's outputs reach the page as Gradio streams them, on a slow page (``gradio_guard.whole_diff``).

Gradio sends each output of a generator as edits of the last value it sent, and its page applies edits inside a
dict in place, on the object a component was just given. The studio's follow loop shows a saved video, then,
a moment later, the cover kept beside it with the video "unchanged": on a page busy enough (Chromium's CPU
slowed 20x here, as a loaded CI machine or a cheap phone does), the video was never shown, though the status
beside it said it was saved. ``gradio_guard.install`` sends every changed output whole; this is the page-level
check of that, with the same outputs the follow loop gives (``Results.view``: values in the browser's form,
``postprocess=False``).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import gradio as gr
import pytest
from PIL import Image

from tests.support.machine import os_port
from vidu_ui.simulator import crossfade_mp4
from vidu_ui.studio import gradio_guard
from vidu_ui.studio.media import file_value

pytestmark = pytest.mark.browser

SLOWDOWN = 20
"""Chromium's CPU throttling rate (Chrome DevTools' ``Emulation.setCPUThrottlingRate``)."""


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("stream")
    start, end = Image.new("RGB", (160, 90), (200, 40, 40)), Image.new("RGB", (160, 90), (40, 40, 200))
    (folder / "task.mp4").write_bytes(crossfade_mp4(start, end, 1.0))
    start.save(folder / "task.cover.jpg")
    return {"video": folder / "task.mp4", "cover": folder / "task.cover.jpg"}


@pytest.fixture(scope="module")
def page_url(files: dict[str, Path]) -> Iterator[str]:
    """A page whose button streams what the follow loop streams once a task has succeeded: the status while the
    video is saved, then the video, then at once the cover with the rest unchanged (``gr.skip``)."""
    gradio_guard.install()

    async def follow() -> AsyncIterator[tuple[Any, ...]]:
        yield "processing", None, gr.update(visible=False, value=None)
        await asyncio.sleep(0.3)
        yield "saving the video", gr.skip(), gr.skip()
        await asyncio.sleep(0.3)
        yield "saved", file_value(str(files["video"]), "task.mp4", "video/mp4"), gr.skip()
        cover = file_value(str(files["cover"]), "task.jpg", "image/jpeg")
        yield gr.skip(), gr.skip(), gr.update(visible=True, value=cover)
        await asyncio.sleep(1.0)
        yield gr.skip(), gr.skip(), gr.skip()

    with gr.Blocks() as page:
        go = gr.Button("Follow", elem_id="go")
        status = gr.Textbox(elem_id="status")
        video = gr.Video(interactive=False, elem_id="video")
        cover = gr.Image(interactive=False, visible=False, elem_id="cover")
        go.click(follow, None, [status, video, cover], postprocess=False)
    port = os_port()
    page.launch(
        server_name="127.0.0.1",
        server_port=port,
        prevent_thread_lock=True,
        quiet=True,
        allowed_paths=[str(files["video"].parent)],
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        page.close()


def test_the_install_sends_a_changed_output_whole() -> None:
    gradio_guard.install()
    assert gradio_guard.installed() and gr.utils.diff is gradio_guard.whole_diff
    saved = {"path": "/v.mp4", "url": "http://h/v.mp4", "meta": {"_type": "gradio.FileData"}}
    assert gr.utils.diff({"__type__": "update"}, saved) == [["replace", [], saved]]
    assert gr.utils.diff(saved, {"__type__": "update"}) == [["replace", [], {"__type__": "update"}]]
    assert gr.utils.diff([saved], [saved, saved]) == [["replace", [], [saved, saved]]]
    assert gr.utils.diff(saved, dict(saved)) == []
    assert gr.utils.diff("Processing", "Processing · 2 s") == [["append", [], " · 2 s"]]
    assert gr.utils.diff("Processing", "Succeeded") == [["replace", [], "Succeeded"]]


def test_a_video_followed_at_once_by_its_cover_is_shown_on_a_slow_page(page_url: str, open_page: Any) -> None:
    from playwright.sync_api import expect

    tab = open_page(page_url)
    expect(tab.locator("#go")).to_be_enabled()  # the page is built before it is slowed
    tab.context.new_cdp_session(tab).send("Emulation.setCPUThrottlingRate", {"rate": SLOWDOWN})
    tab.locator("#go").click()
    expect(tab.locator("#cover img")).to_be_visible(timeout=60_000)
    expect(tab.locator("#status textarea")).to_have_value("saved")
    tab.wait_for_timeout(1500)  # the last "no change" and the event's end have come
    # Before the fix the video was lost here on every try (the player left empty).
    expect(tab.locator("#video video")).to_have_attribute("src", re.compile(r"task\.mp4$"))
