"""Following in the page when tasks overlap: a task generated while the last one is still followed is shown."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.support.apps import Running
from vidu_ui.messages import EN

# Tasks never end on their own here: the test ends each one with ``sim.finish``.
pytestmark = [pytest.mark.browser, pytest.mark.app(queue_seconds=0.2, process_seconds=600.0)]


def test_a_new_task_is_followed_while_the_last_one_still_runs(
    open_page: Callable[..., Page], running: Running, frames: dict[str, Path]
) -> None:
    page = open_page(running.url)
    for role in ("start", "end"):
        page.locator(f"#vu-{role}-image input[type=file]").set_input_files(str(frames[role]))
        expect(page.locator(f"#vu-{role}-image img").first).to_be_visible()
    page.locator("#vu-prompt textarea").fill("Two tasks, one after the other")
    task_id = page.locator("#vu-task-id input, #vu-task-id textarea").first
    status = page.locator("#vu-status")

    page.locator("#vu-generate").click()
    expect(task_id).to_have_value(re.compile(r"\S"))
    first = task_id.input_value()
    expect(status).to_contain_text(EN["state_processing"])  # the first task is being followed, and stays unfinished

    running.sim.fail_next("CreationPolicyViolation")
    expect(page.locator("#vu-generate")).to_be_enabled()
    page.locator("#vu-generate").click()
    expect(task_id).to_have_value(re.compile(rf"^(?!{re.escape(first)}$)\S+$"))  # the page empties it first
    second = task_id.input_value()
    assert running.sim.finish(second)
    expect(status).to_contain_text(EN["state_failed"])  # the second task's end, not the first task's state

    # The first one ending later (its record saved as finished) does not take the page back.
    runtime = running.page.runtime
    assert running.sim.finish(first)
    record = runtime.store.get(first)
    for _ in range(60):  # each wait ends at the record's next change (or after 1 s)
        if record is None or (record.finished and not runtime.tracker.is_following(first)):
            break
        record = runtime.tracker.wait_for_change(first, record.version, 1.0) or record
    assert record is not None and record.state == "success"
    expect(status).to_contain_text(EN["state_failed"])
    expect(task_id).to_have_value(second)
