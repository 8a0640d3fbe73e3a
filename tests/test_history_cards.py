"""History on a phone and by batch: at 390 px each task is a card (both frames, the state in the page's language,
the prompt wrapped, the whole id, when, and the task's link) instead of a table scrolling sideways, a card selects
its task as a row does; and a batch filter shows one batch's tasks, each viewer seeing only their own batches."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import Page, expect

from tests.support.apps import Running
from tests.support.pages import LOCALES, PHONE, choose, generate, history_tab, sideways
from vidu_ui import batch
from vidu_ui.batch import JobSpec
from vidu_ui.follower import KeyOwner
from vidu_ui.messages import EN, ZH, state_text
from vidu_ui.store import Store, tasks
from vidu_ui.studio.access import Viewer
from vidu_ui.studio.history import History, batch_label, card

# Tasks end when a test says so (``sim.finish``): a card shows a task still processing.
pytestmark = pytest.mark.app(queue_seconds=0.3, process_seconds=600.0)


def specs(frames: dict[str, Path], count: int) -> list[JobSpec]:
    start, end = str(frames["small_start"]), str(frames["small_end"])
    return [JobSpec(start, end, {"prompt": f"shot {i}", "model": "viduq1"}, f"#{i}") for i in range(count)]


def record_task(
    store: Store, task_id: str, *, user: str | None = None, job_key: str | None = None, **body: Any
) -> None:
    """A task as the app records it: the write-ahead row (with its batch job's key), then the create's answer."""
    ref = f"ref-{task_id}"
    store.begin(ref, body={"model": "viduq1", "prompt": "a shot", **body}, user=user, job_key=job_key)
    store.created(ref, task_id, {"task_id": task_id, "state": "created"})


def ids(records: list[Any]) -> list[str]:
    return [getattr(r, "task_id", None) or getattr(r, "batch_id", "") for r in records]


def test_a_viewer_sees_their_own_batches_newest_first_and_a_batchs_tasks(
    tmp_path: Path, frames: dict[str, Path]
) -> None:
    now = [1000.0]
    store = Store(tmp_path / "history.sqlite3", clock=lambda: now[0])
    try:
        planned = {}
        for at, (batch_id, user, count) in enumerate([("b-old", "ann", 2), ("b-new", "ann", 1), ("b-bob", "bob", 2)]):
            planned[batch_id] = batch.plan(batch_id, specs(frames, count), name=f"{batch_id}.csv")
            batch.save_plan(store, planned[batch_id], user=user, clock=lambda at=at: 100.0 * (at + 1))
        for number, (batch_id, position, user) in enumerate(
            [("b-old", 0, "ann"), ("b-old", 1, "ann"), ("b-new", 0, "ann"), ("b-bob", 0, "bob"), (None, 0, "ann")]
        ):
            now[0] += 1
            key = planned[batch_id].jobs[position].key if batch_id else None
            record_task(store, f"9000{number}", user=user, job_key=key)

        assert ids(store.batches(user="ann")) == ["b-new", "b-old"]
        assert [b.jobs for b in store.batches(user="ann")] == [1, 2]
        assert ids(store.batches(shared=True)) == ["b-bob", "b-new", "b-old"]
        assert ids(store.list(user="ann", batch="b-old")) == ["90001", "90000"]  # that batch's, newest first
        assert ids(store.list(user="ann", batch="b-bob")) == []  # another's batch shows none of their tasks
        assert ids(store.list(user="ann")) == ["90004", "90002", "90001", "90000"]  # every task: singles too
        assert ids(store.list(shared=True, batch="b-bob")) == ["90003"]

        bob = Viewer("bob", False, KeyOwner.server())
        assert ids(bob.batches(store)) == ["b-bob"]
        assert ids(bob.tasks(store, batch="b-old")) == []
        assert ids(Viewer(None, True, KeyOwner.server()).batches(store)) == ["b-bob", "b-new", "b-old"]
        assert Viewer(None, False, KeyOwner("visitor")).batches(store) == []  # a visitor without a key: nothing
    finally:
        store.close()


class Card(HTMLParser):
    """What a card's HTML is made of: its tags with their attributes, and the text inside each class."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: dict[str, str] = {}
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag != "img":
            self._open.append(dict(attrs).get("class") or "")

    def handle_endtag(self, tag: str) -> None:
        self._open.pop()

    def handle_data(self, data: str) -> None:
        if self._open:
            self.text[self._open[-1]] = self.text.get(self._open[-1], "") + data


def test_a_card_escapes_what_users_wrote(tmp_path: Path) -> None:
    prompt = '<img src=x onerror="alert(1)"> & a </li> "boat"'
    task_id = '123"><script>alert(2)</script>'
    with Store(tmp_path / "history.sqlite3") as store:
        record_task(store, task_id, prompt=prompt)
        record = store.get(task_id)
    assert record is not None
    viewer = Viewer(None, True, KeyOwner.server(), "zh-CN")
    parsed = Card()
    parsed.feed(card(History._cells(record, viewer), record, viewer.lang))
    parsed.close()
    tags = [tag for tag, _ in parsed.tags]
    # no tag of theirs: the card's own (the details: when and the model, each kept on one line)
    assert tags == ["li", "button", "span", "span", "span", "span", "span", "span", "span", "span", "code", "a"]
    attributes = dict(parsed.tags)
    assert attributes["button"]["data-task"] == task_id
    assert attributes["a"]["href"] == "?task=" + quote(task_id, safe="")
    assert parsed.text["vu-card-prompt"] == prompt
    assert parsed.text["vu-card-id"] == task_id
    assert parsed.text["vu-card-state vu-state-created"] == ZH["state_created"]
    assert parsed.text["vu-card-link"] == ZH["history_link"]


# --- in the browser -------------------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_on_a_phone_each_task_is_a_card_that_selects_it(
    device: Callable[..., Page], running: Running, frames: dict[str, Path], lang: str
) -> None:
    page = device(running.url, PHONE, LOCALES[lang])
    prompt = f"A paper boat <b>crosses</b> the lake at dawn while gulls circle the mast ({lang})"
    task_id = generate(page, frames, prompt)
    history_tab(page, lang)
    cards = page.locator("#vu-history-cards .vu-card")
    mine = cards.filter(has_text=task_id)
    expect(mine).to_be_visible()
    expect(page.locator("#vu-history-table")).to_be_hidden()  # one view at a time: cards on a phone
    expect(mine.locator(".vu-card-id")).to_have_text(task_id)  # the whole id
    expect(mine.locator(".vu-card-prompt")).to_have_text(prompt)  # escaped: shown as written
    # The state in the page's words (which one depends on how far the follower got: the list is not live).
    words = "en" if lang == "en" else "zh-CN"
    waiting = "|".join(re.escape(state_text(words, s)) for s in ("created", "queueing", "processing"))
    expect(mine.locator(".vu-card-state")).to_have_text(re.compile(rf"^\s*({waiting})\s*$"))
    expect(mine.locator("img")).to_have_count(2)  # both frames
    assert sideways(page) == 0

    for button in ("#vu-history-open", "#vu-history-reuse"):
        expect(page.locator(button)).to_be_disabled()
    mine.locator(".vu-card-prompt").click()
    expect(page.locator("#vu-history-selected-id input, #vu-history-selected-id textarea").first).to_have_value(task_id)
    for button in ("#vu-history-open", "#vu-history-reuse"):
        expect(page.locator(button)).to_be_enabled()
    expect(mine.locator(".vu-card-pick")).to_have_attribute("aria-pressed", "true")
    assert sideways(page) == 0

    link = mine.locator("a.vu-card-link")
    expect(link).to_have_attribute("href", f"?task={task_id}")
    page.locator("#vu-history-open").click()  # as with a row: the task on the Studio tab
    expect(page.locator("#vu-task-id input, #vu-task-id textarea").first).to_have_value(task_id)

    page.goto(f"{running.url.rstrip('/')}/?task={task_id}")  # the card's link: a new page load opens the task
    expect(page.locator("#vu-task-id input, #vu-task-id textarea").first).to_have_value(task_id)
    assert sideways(page) == 0


@pytest.mark.browser
def test_the_history_shows_one_batchs_tasks(
    device: Callable[..., Page], running: Running, frames: dict[str, Path]
) -> None:
    page = device(running.url, PHONE)
    single = generate(page, frames, "A task of its own")
    batched = generate(page, frames, "A task of the batch")
    assert batched != single
    # The batch as a run would leave it (``batch.save_plan``, the task carrying its job's key), in the app's store.
    with Store(running.data_dir / "history.sqlite3") as store:
        plan = batch.plan("b-history-filter", specs(frames, 1), name="shots.csv")
        batch.save_plan(store, plan)
        with store.write() as conn:
            conn.execute(tasks.update().where(tasks.c.task_id == batched).values(job_key=plan.jobs[0].key))
        (saved,) = [b for b in store.batches(shared=True) if b.batch_id == plan.batch_id]

    history_tab(page, "en")
    cards = page.locator("#vu-history-cards .vu-card")
    expect(cards.filter(has_text=single)).to_have_count(1)
    choose(page, "vu-history-batch", batch_label(saved, "en"))
    expect(cards.filter(has_text=batched)).to_have_count(1)
    expect(cards.filter(has_text=single)).to_have_count(0)  # a single task is in no batch
    expect(page.locator("#vu-history-batch input")).to_have_value(batch_label(saved, "en"))  # still chosen
    assert sideways(page) == 0
    choose(page, "vu-history-batch", EN["history_batch_all"])
    expect(cards.filter(has_text=single)).to_have_count(1)
    expect(cards.filter(has_text=batched)).to_have_count(1)
