"""The flow as a new user meets it, recorded: pick an example, Generate, the timeline reaching success, the video.

The test always checks the flow's meaning (the example fills the form, every step of the timeline is passed, the
video is there, the recording holds the flow). ``--flow-recording PATH`` also keeps the animation for the README
(``docs/flow.webp``)::

    python3 -m pytest tests/test_recording.py -m slow -n 0 --flow-recording docs/flow.webp
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageChops
from playwright.sync_api import Page, expect

from tests.support.apps import Running
from tests.support.pages import TASK_ID
from tests.support.recording import animate, recorded
from vidu_ui.messages import EN
from vidu_ui.studio import examples
from vidu_ui.studio.results import STEPS

# The task runs by itself, slow enough for the timeline to show each state.
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.app(queue_seconds=1.5, process_seconds=2.5)]

DESKTOP = {"width": 1280, "height": 800}
MAX_BYTES = 400_000
"""The README's animation stays small."""


def test_the_flow_from_an_example_to_its_video_is_recorded(
    device: Callable[..., Page], running: Running, tmp_path: Path, pytestconfig: pytest.Config
) -> None:
    example = examples.load()[0]
    page = device(running.url, DESKTOP)
    with recorded(page, DESKTOP) as recording:
        page.locator("#vu-examples").get_by_text(example.prompt[:40]).first.click()
        expect(page.locator("#vu-prompt textarea")).to_have_value(example.prompt)
        for role in ("start", "end"):
            expect(page.locator(f"#vu-{role}-image img").first).to_be_visible()
        page.locator("#vu-generate").click()
        expect(page.locator("#vu-task-id input, #vu-task-id textarea").first).to_have_value(TASK_ID)

        steps = page.locator("#vu-timeline .vu-step")
        done = re.compile(rf"^\s*✓ {re.escape(EN['state_success'])}")  # passed, not "○ Succeeded" still to come
        expect(steps.last).to_have_text(done, timeout=60_000)
        expect(steps).to_have_count(len(STEPS) + 1)
        texts = steps.all_inner_texts()
        assert all(text.strip().startswith("✓") for text in texts), texts  # every step passed, success the last
        expect(page.locator("#vu-video video")).to_have_attribute("src", re.compile(r".+"))
        expect(page.locator("#vu-download")).to_be_visible()

    pictures = recording.pictures()
    assert len(pictures) >= 5  # a second or more of the flow
    assert ImageChops.difference(pictures[0], pictures[-1]).getbbox() is not None  # the page changed: a result

    animation = tmp_path / "flow.webp"
    frames = animate(pictures, animation)
    with Image.open(animation) as made:
        assert made.is_animated and 1 < made.n_frames <= frames  # (the encoder merges the nearly unchanged)
        assert made.width == pictures[0].width
    assert animation.stat().st_size <= MAX_BYTES
    keep: Path | None = pytestconfig.getoption("--flow-recording")
    if keep is not None:
        shutil.copyfile(animation, keep)
