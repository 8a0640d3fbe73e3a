"""Auto-fit you can see, and the account's queue in the progress.

- The frames auto-fit will send are auto-fit's own plan (``autofit.plan_pair``, which ``auto_fit`` applies), drawn
  from a reduced-size decode; a large PNG is never decoded for it; nothing shows when auto-fit is off or changes
  nothing.
- The account's queue comes from the credits call's ``current_concurrency``, ``concurrency_limit`` and
  ``queue_count``, each part only when the answer gives it; read with the viewer's key, never without one.
- In the browser: the frames as sent appear beside the originals and go with auto-fit; a waiting task's timeline
  shows the account's queue, read once while it waits.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from tests.images import photo, write
from tests.support.apps import Running
from tests.support.browser import upload
from vidu_ui import frames
from vidu_ui.autofit import plan_pair
from vidu_ui.messages import EN, ZH, say
from vidu_ui.responses import Credits
from vidu_ui.settings import Settings
from vidu_ui.simulator import Simulator
from vidu_ui.studio import Studio, media
from vidu_ui.studio.access import Viewer
from vidu_ui.studio.results import Results, account_queue, timeline

SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "screenshot-autofit.png"
"""The README's picture of auto-fit's preview, taken by the browser test."""

# The module's app (the browser test): a task waits in the queue until the test cancels it.
pytestmark = pytest.mark.app(queue_seconds=600.0, process_seconds=600.0)

NEW_KEYS = (
    "account_queue",
    "account_queue_running",
    "account_queue_limit",
    "account_queue_waiting",
    "account_queue_both",
    "fit_preview_title",
    "fit_preview_start",
    "fit_preview_end",
    "fit_preview_size",
    "fit_preview_unchanged",
    "fit_preview_no_picture",
)


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A large JPEG start with a tiny PNG end (pixel counts far apart); a square with a 2:1 end (shapes apart)."""
    folder = tmp_path_factory.mktemp("pairs")
    return {
        "big": write(folder / "big.jpg", photo(2400, 2000, 31), "JPEG", quality=90),
        "tiny": write(folder / "tiny.png", photo(240, 200, 32), "PNG"),
        "square": write(folder / "square.png", photo(1000, 1000, 33), "PNG"),
        "wide": write(folder / "wide.png", photo(1400, 700, 34), "PNG"),
        "matched": write(folder / "matched.jpg", photo(2400, 2000, 35), "JPEG"),
    }


def studio(tmp_path: Path) -> Studio:
    """The page's handlers; the preview reads only the settings."""
    settings = Settings.build(api_key="sk-test", data_dir=tmp_path / "data")
    return Studio(SimpleNamespace(settings=settings))  # type: ignore[arg-type]


def load(path: Path, role: str) -> frames.Frame:
    return frames.load_frame(str(path), role)


def preview(made: Studio, start: Path | None, end: Path | None, **changes: Any) -> tuple[Any, ...]:
    values: dict[str, Any] = {"model": "viduq3-pro", "duration": 5, "resolution": "1080p", "auto_fit": True, **changes}
    payload = lambda p: {"path": str(p)} if p is not None else None  # noqa: E731 - Gradio's payload
    return made.fit_preview(payload(start), payload(end), **values)


# --- the plan is auto-fit's own -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("start", "end"), [("big", "tiny"), ("square", "wide")])
def test_the_frames_shown_are_the_ones_auto_fit_sends(pairs: dict[str, Path], start: str, end: str) -> None:
    first, second = load(pairs[start], "start"), load(pairs[end], "end")
    plan = plan_pair(first, second, "1080p")
    assert plan is not None
    fitted = frames.auto_fit(first, second, frames.MAX_BODY_BYTES, "1080p")
    assert (fitted.start.size, fitted.end.size) == (plan.start.after, plan.end.after)
    assert fitted.changes[: len(plan.changes)] == list(plan.changes)
    assert set(plan.changes) == {*plan.start.changes, *plan.end.changes}
    assert plan.end.cropped == (start == "square")  # a crop only where the shapes differ, and only the end frame
    assert not plan.start.cropped


def test_a_pair_auto_fit_leaves_alone_has_no_plan(pairs: dict[str, Path]) -> None:
    assert plan_pair(load(pairs["big"], "start"), load(pairs["matched"], "end"), "1080p") is None
    assert plan_pair(load(pairs["big"], "start"), frames.load_frame("https://example.com/e.png", "end")) is None


# --- the page's preview -------------------------------------------------------------------------------------------


def test_the_preview_shows_both_frames_as_sent_with_what_changed(pairs: dict[str, Path], tmp_path: Path) -> None:
    shown = preview(studio(tmp_path), pairs["big"], pairs["tiny"])
    plan = plan_pair(load(pairs["big"], "start"), load(pairs["tiny"], "end"), "1080p")
    assert plan is not None and shown[0]["visible"] is True
    for picture, words, reshape in ((shown[1], shown[2], plan.start), (shown[3], shown[4], plan.end)):
        assert isinstance(picture, Image.Image)
        assert max(picture.size) == frames.THUMBNAIL_SIDE
        assert abs(picture.width / picture.height - reshape.after[0] / reshape.after[1]) < 0.02  # the shape sent
        after, before = (f"{w}×{h}" for w, h in (reshape.after, reshape.before))
        assert after in words and before in words
        assert words.count("\n- ") == len(reshape.changes) > 0  # each change, naming its frame


def test_a_crop_is_drawn_as_the_part_kept(pairs: dict[str, Path], tmp_path: Path) -> None:
    shown = preview(studio(tmp_path), pairs["square"], pairs["wide"])
    assert shown[0]["visible"] is True
    start, end = shown[1], shown[3]
    assert start.size == end.size == (frames.THUMBNAIL_SIDE, frames.THUMBNAIL_SIDE)  # the 2:1 end cut to a square
    assert "1000×1000" in shown[2] and "700×700" in shown[4]


@pytest.mark.parametrize(
    ("start", "end", "changes"),
    [
        ("big", "tiny", {"auto_fit": False}),  # auto-fit off: nothing extra
        ("big", "matched", {}),  # nothing to change
        ("big", None, {}),  # the end frame missing, or given as a URL (the service fetches it)
    ],
)
def test_nothing_shows_when_auto_fit_changes_nothing(
    pairs: dict[str, Path], tmp_path: Path, start: str, end: str | None, changes: dict[str, Any]
) -> None:
    shown = preview(studio(tmp_path), pairs[start], pairs[end] if end else None, **changes)
    assert shown[0]["visible"] is False and shown[1] is None and shown[3] is None


def test_the_resolution_asked_sizes_the_preview(pairs: dict[str, Path], tmp_path: Path) -> None:
    made = studio(tmp_path)
    small, large = (preview(made, pairs["big"], pairs["tiny"], resolution=r) for r in ("540p", "1080p"))
    assert small[2] != large[2]  # a 540p video needs fewer pixels than a 1080p one: another size is sent


class CountingBudget:
    """Stands for ``frames.DECODES``: records the pixels each full or draft decode asked for."""

    def __init__(self) -> None:
        self.held: list[int] = []

    @contextlib.contextmanager
    def hold(self, pixels: int) -> Iterator[None]:
        self.held.append(pixels)
        yield


def test_a_large_png_is_not_decoded_again_and_a_large_jpeg_uses_its_reduced_decode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    budget = CountingBudget()
    monkeypatch.setattr(media, "DECODES", budget)
    side = 4200  # 17.6 MP: above what the preview decodes in full
    big_png = write(tmp_path / "big.png", Image.new("RGB", (side, side), (40, 90, 160)), "PNG")
    tiny = write(tmp_path / "tiny.png", photo(200, 200, 41), "PNG")
    shown = preview(studio(tmp_path), big_png, tiny)
    assert shown[0]["visible"] is True
    assert shown[1] is None and say("en", "fit_preview_no_picture") in shown[2]  # words only
    assert isinstance(shown[3], Image.Image)
    assert budget.held == [200 * 200] and max(budget.held) <= media.PREVIEW_DECODE_PIXELS
    budget.held.clear()
    big_jpeg = write(tmp_path / "big.jpg", photo(4000, 4000, 42), "JPEG")
    assert load(big_jpeg, "start").thumbnail is not None
    shown = preview(studio(tmp_path), big_jpeg, tiny)
    assert isinstance(shown[1], Image.Image) and budget.held == [200 * 200]  # the check's thumbnail: no decode


# --- the account's queue ------------------------------------------------------------------------------------------


def words(**line: Any) -> str:
    return account_queue(Credits.model_validate({"remains": [{"type": "plan", "credit_remain": 100, **line}]}), "en")


def test_the_queue_in_words_says_what_the_credits_answer_gives() -> None:
    running, waiting = say("en", "account_queue", running=3, limit=5), say("en", "account_queue_waiting", count=2)
    assert words(current_concurrency=3, concurrency_limit=5, queue_count=2) == say(
        "en", "account_queue_both", first=running, second=waiting
    )
    assert words(current_concurrency=3, concurrency_limit=5) == running
    assert words(queue_count=2) == waiting
    assert words(current_concurrency=3) == say("en", "account_queue_running", running=3)
    assert words(concurrency_limit=5, queue_count=-1) == say("en", "account_queue_limit", limit=5)
    assert words() == ""  # only credits: nothing about the queue
    assert account_queue(Credits.model_validate({"credit_remain": 7}), "en") == ""  # the older flat answer
    assert account_queue(Credits.model_validate({}), "en") == ""
    later = {"remains": [{"type": "gift", "credit_remain": 5}, {"type": "plan", "queue_count": 4}]}
    assert account_queue(Credits.model_validate(later), "en") == say("en", "account_queue_waiting", count=4)


def record(state: str) -> Any:
    """What ``timeline`` reads of a history row."""
    finished = state in ("success", "failed")
    return SimpleNamespace(state=state, err_code="", finished=finished, created_at=0.0, last_status={})


def test_the_timeline_shows_the_queue_only_while_the_task_waits() -> None:
    queue = words(current_concurrency=5, concurrency_limit=5, queue_count=1)
    for state, shown in (("created", True), ("queueing", True), ("processing", False), ("success", False)):
        assert (queue in timeline(record(state), {}, "en", queue)) is shown, state


@pytest.mark.simulator(api_key="sk-queue", queue_seconds=600, process_seconds=600)
def test_the_queue_is_read_with_the_viewers_key_and_never_without_one(sim: Simulator, tmp_path: Path) -> None:
    def results(api_key: str | None) -> tuple[Results, Viewer]:
        settings = Settings.build(api_key=api_key, base_url=sim.base_url, data_dir=tmp_path / "data")
        runtime = SimpleNamespace(settings=settings, store=None, tracker=None)
        return Results(runtime), Viewer.of(settings, None, None)  # type: ignore[arg-type]

    server, viewer = results("sk-queue")
    running, waiting = say("en", "account_queue", running=0, limit=5), say("en", "account_queue_waiting", count=0)
    assert server.account_queue(viewer) == say("en", "account_queue_both", first=running, second=waiting)
    calls = [r for r in sim.requests if r.call == "credits"]
    assert len(calls) == 1 and calls[0].auth_ok
    visitor, nobody = results(None)
    assert visitor.account_queue(nobody) == ""  # a visitor without a key: no call at all
    assert len([r for r in sim.requests if r.call == "credits"]) == 1
    settings = Settings.build(api_key=None, base_url=sim.base_url, data_dir=tmp_path / "data")
    assert visitor.account_queue(Viewer.of(settings, None, "sk-queue")) != ""  # with their own key: theirs


# --- zh-CN --------------------------------------------------------------------------------------------------------


def test_the_new_words_are_translated(pairs: dict[str, Path], tmp_path: Path) -> None:
    english = re.compile(r"[A-Za-z]{3,}")
    for key in NEW_KEYS:
        assert key in ZH and ZH[key] != EN[key] and not english.search(ZH[key].format_map(_Blank())), key
    answer = Credits.model_validate({"remains": [{"current_concurrency": 2, "concurrency_limit": 5, "queue_count": 3}]})
    assert not english.search(account_queue(answer, "zh-CN"))
    plan = plan_pair(load(pairs["square"], "start"), load(pairs["wide"], "end"), "720p")
    assert plan is not None
    for reshape in (plan.start, plan.end):
        text = Studio.sent_words(reshape, "zh-CN", drawn=False)
        assert not english.search(text), text


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


# --- in the browser -----------------------------------------------------------------------------------------------


@pytest.mark.browser
def test_the_page_shows_the_frames_as_sent_and_the_queue_while_waiting(
    open_page: Callable[..., Page], running: Running, pairs: dict[str, Path]
) -> None:
    page = open_page(running.url)
    expect(page.locator("#vu-generate")).to_be_visible()
    box = page.locator("#vu-fit-preview")
    upload(page, "start", pairs["big"])
    upload(page, "end", pairs["tiny"])
    expect(box).to_be_visible()
    resolution = page.locator("#vu-resolution input").first.input_value()
    plan = plan_pair(load(pairs["big"], "start"), load(pairs["tiny"], "end"), resolution)
    assert plan is not None
    for role in ("start", "end"):
        expect(page.locator(f"#vu-{role}-sent img")).to_be_visible()
        after = plan.of(role).after
        expect(page.locator(f"#vu-{role}-sent-note")).to_contain_text(f"{after[0]}×{after[1]}")
    # beside the originals: in the form, above the prompt, not down the result column
    shown, prompt = box.bounding_box(), page.locator("#vu-prompt").bounding_box()
    original = page.locator("#vu-end-image").bounding_box()
    assert shown is not None and prompt is not None and original is not None
    assert original["y"] < shown["y"] < prompt["y"]
    page.screenshot(path=str(SCREENSHOT), full_page=False)
    page.locator("#vu-autofit input").uncheck()
    expect(box).to_be_hidden()
    page.locator("#vu-autofit input").check()
    expect(box).to_be_visible()

    # The task waits (created): the timeline says how the account's queue stands, from one credits call.
    page.locator("#vu-prompt textarea").fill("The light moves across the room")
    page.locator("#vu-generate").click()
    running_words = say("en", "account_queue", running=0, limit=5)
    queue = say("en", "account_queue_both", first=running_words, second=say("en", "account_queue_waiting", count=1))
    expect(page.locator("#vu-timeline")).to_contain_text(queue)
    later = re.escape(EN["elapsed"]).replace(re.escape("{seconds}"), r"([3-9]|\d\d+)")
    expect(page.locator("#vu-status")).to_contain_text(re.compile(later))  # several refreshes later
    assert len([r for r in running.sim.requests if r.call == "credits"]) == 1  # once while created
    page.locator("#vu-cancel").click()
    expect(page.locator("#vu-status")).to_contain_text(EN["state_cancelled"])
