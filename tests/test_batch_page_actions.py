"""The Batch tab's per-job actions in a real Chromium, on a two-job plan: a job cancelled before the run is
dropped (never sent), a job that failed is retried and sent once more, the cancelled one retried too, a job
that succeeded is not retried, and a job's settings go back into the Studio form. The rules themselves are the
engine's (``tests/test_batch.py``); this checks that the page reaches them and shows what they did."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support.apps import Running
from tests.support.batch_page import plan_on_page
from vidu_ui import batch
from vidu_ui.messages import say
from vidu_ui.store import DB_NAME, Store

CANARY = "sk-CANARY-b4tch-4ct10ns"
pytestmark = [
    pytest.mark.app(api_key=CANARY, queue_seconds=0.2, process_seconds=0.5),
    pytest.mark.browser,
]
PROMPTS = ["a slow dolly in", "the camera pans left"]


def outcomes(running: Running) -> list[str]:
    """The page's batch, job by job, as the store knows it (the module's app has this one batch)."""
    with Store(running.data_dir / DB_NAME) as store:
        with store.read() as conn:
            (batch_id,) = conn.execute(sa.select(batch.batches.c.id)).scalars().all()
        return [s.outcome for s in batch.job_statuses(store, batch_id)]


def test_cancel_retry_and_reuse_one_job(
    open_page: Callable[..., object], running: Running, frames: dict[str, Path]
) -> None:
    from playwright.sync_api import Page, expect

    page = open_page(running.url)
    assert isinstance(page, Page)
    plan_on_page(page, frames, PROMPTS, seeds=1)
    table, gallery = page.locator("#vu-batch-table"), page.locator("#vu-batch-gallery .thumbnail-item")
    buttons = {name: page.locator(f"#vu-batch-{name}-job") for name in ("cancel", "retry", "reuse")}
    for button in buttons.values():
        expect(button).to_be_disabled()  # nothing selected yet

    def pick(job: int, outcome: str) -> None:
        table.get_by_text(PROMPTS[job - 1], exact=True).last.click()  # the first is a hidden copy
        state = say("en", f"batch_outcome_{outcome}")
        expect(page.locator("#vu-batch-selected")).to_contain_text(say("en", "batch_selected", job=job, state=state))

    sim = running.sim
    before = sim.create_count
    pick(2, "waiting")
    buttons["cancel"].click()
    expect(table).to_contain_text(say("en", "batch_outcome_held"))
    assert outcomes(running) == ["waiting", "held"] and sim.create_count == before  # dropped, never sent

    sim.fail_next("TaskPromptPolicyViolation")  # the first task created fails at the end of its processing
    page.locator("#vu-batch-run").click()
    expect(table).to_contain_text(say("en", "batch_outcome_failed"))
    expect(page.locator("#vu-batch-run")).to_be_enabled()
    assert sim.create_count == before + 1

    pick(1, "failed")
    buttons["retry"].click()  # definitely failed: sent once more, by the run that follows
    expect(gallery).to_have_count(1, timeout=60_000)
    pick(2, "held")
    buttons["retry"].click()  # never created: sent now
    expect(gallery).to_have_count(2, timeout=60_000)
    expect(table).not_to_contain_text(say("en", "batch_outcome_held"))
    assert sim.create_count == before + 3
    assert outcomes(running) == ["success", "success"]

    pick(1, "success")
    buttons["retry"].click()  # succeeded: refused by the engine
    expect(page.get_by_text(say("en", "batch_cannot_retry_succeeded", job="shot 1"))).to_be_visible()
    assert sim.create_count == before + 3

    pick(2, "success")
    buttons["reuse"].click()
    expect(page.locator("#vu-prompt textarea")).to_have_value(PROMPTS[1])
    expect(page.locator("#vu-model input")).to_have_value(re.compile("^viduq1"))
    expect(page.locator("#vu-start-summary")).to_contain_text("PNG · 320×180")  # the uploaded frames, back
