"""The Batch tab in a real Chromium: a plan built the way a person builds one (``tests/test_batch_page*.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Page


def plan_on_page(page: Page, frames: dict[str, Path], prompts: list[str], seeds: int, model: str = "viduq1") -> None:
    """Open the Batch tab, put the small pair in, write ``prompts`` (one per line), choose ``model`` alone and
    ``seeds`` seeds per prompt, and press Plan; returns once the plan's total is shown."""
    from playwright.sync_api import expect

    page.locator("#vu-tab-batch-button, button[role=tab]:has-text('Batch')").first.click()
    expect(page.locator("#vu-batch-plan")).to_be_visible()
    for role, name in (("start", "small_start"), ("end", "small_end")):
        page.locator(f"#vu-batch-{role} input[type=file]").set_input_files(str(frames[name]))
        expect(page.locator(f"#vu-batch-{role} img").first).to_be_visible()
    page.locator("#vu-batch-prompts textarea").fill("\n".join(prompts))
    models = page.locator("#vu-batch-models")
    for box in models.locator("input[type=checkbox]").all():
        if box.is_checked():
            box.uncheck()
    models.get_by_label(model, exact=True).check()
    page.locator("#vu-batch-seeds input").fill(str(seeds))
    page.locator("#vu-batch-plan").click()
    jobs = len(prompts) * seeds
    expect(page.locator("#vu-batch-total")).to_contain_text(f"{jobs} job(s), {jobs} ready")
