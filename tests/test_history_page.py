"""The result view and the History tab, handler by handler, against the in-process simulator: the states a
task goes through, why it failed (English and Chinese), Cancel, Look up, the history's list, filters, Open and
Reuse settings, and who sees what (sign-in, shared history, visitors' own keys)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import gradio as gr
import pytest
from gradio.utils import get_upload_folder

from tests.images import photo, write
from tests.support.apps import form_values
from vidu_ui.client import ViduClient
from vidu_ui.messages import EN, ZH, language_of, reason_hint
from vidu_ui.settings import Settings
from vidu_ui.simulator import Fault, Simulator
from vidu_ui.studio import Form, History, Results, Runtime, Studio, Watching
from vidu_ui.studio.access import key_fingerprint
from vidu_ui.studio.history import COLUMNS, REUSE_FIELDS, STATE_FILTERS, STUDIO_TAB, original_frame
from vidu_ui.studio.results import VIEW_FIELDS, timeline

KEY = "sk-CANARY-h1st0ry-page"

pytestmark = pytest.mark.simulator(api_key=KEY, queue_seconds=0.15, process_seconds=0.4)
ZH_HEADERS = {"accept-language": "zh-CN,zh;q=0.9,en;q=0.8"}
STATUS, VIDEO, COVER, DOWNLOAD = (VIEW_FIELDS.index(n) for n in ("status", "video", "cover", "download"))


@pytest.fixture(scope="module")
def frames(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("frames")
    return {
        "start": write(folder / "start.png", photo(320, 180, 31), "PNG"),
        "end": write(folder / "end.jpg", photo(320, 180, 32), "JPEG"),
    }


@dataclass
class Page:
    sim: Simulator
    runtime: Runtime
    studio: Studio
    results: Results
    history: History


def open_page(sim: Simulator, data_dir: Path, **settings: Any) -> Page:
    values: dict[str, Any] = {
        "api_key": KEY,
        "base_url": sim.base_url,
        "poll_interval": 0.05,
        "poll_max_interval": 0.1,
        "poll_max_wait": 30.0,
        "data_dir": data_dir,
        **settings,
    }
    runtime = Runtime.open(Settings.build(**values))
    runtime.start()
    studio = Studio(runtime)
    results = Results(runtime)
    return Page(sim, runtime, studio, results, History(studio, results))


def close_page(page: Page) -> None:
    page.runtime.stop(wait=True)
    page.runtime.store.close()


@pytest.fixture
def page(sim: Simulator, tmp_path: Path) -> Iterator[Page]:
    made = open_page(sim, tmp_path / "data")
    yield made
    close_page(made)


def form(frames: dict[str, Path], **changes: Any) -> dict[str, Any]:
    defaults = {"prompt": "A lantern drifts over the harbour at dusk", "duration": 5.0, "audio": True}
    return form_values(str(frames["start"]), str(frames["end"]), **{**defaults, **changes})


def request(
    user: str | None = None, headers: dict[str, str] | None = None, query: dict[str, str] | None = None
) -> gr.Request:
    return gr.Request(username=user, headers=headers or {"accept-language": "en-US,en;q=0.9"}, query_params=query or {})


def generate(page: Page, values: dict[str, Any], http: gr.Request | None = None) -> str:
    outputs = list(page.studio.run(Form.of(values), None, request=http or request()))
    task_id: str = outputs[-1][0]
    assert task_id
    return task_id


def follow(page: Page, task_id: str, http: gr.Request | None = None, api_key: str | None = None) -> list[Any]:
    async def run() -> list[Any]:
        return [out async for out in page.results.follow(task_id, api_key, Watching(), http or request())]

    return asyncio.run(run())


def statuses(shown: list[Any]) -> list[str]:
    return [out[STATUS] for out in shown if isinstance(out[STATUS], str)]


def states_seen(texts: list[str], messages: dict[str, str]) -> list[str]:
    """The state names in order of appearance, each once."""
    seen: list[str] = []
    for text in texts:
        for state in ("created", "queueing", "processing", "success", "failed", "cancelled"):
            if text.startswith(f"**{messages[f'state_{state}']}**") and state not in seen:
                seen.append(state)
    return seen


# --- following a task -----------------------------------------------------------------------------------------


# Processing lasts long enough to be seen by a poll every 0.1 s even on a loaded machine.
@pytest.mark.simulator(api_key=KEY, queue_seconds=0.15, process_seconds=2.0)
def test_the_page_shows_each_state_then_plays_the_local_copy(page: Page, frames: dict[str, Path]) -> None:
    task_id = generate(page, form(frames, watermark=True))
    shown = follow(page, task_id)
    texts = statuses(shown)
    seen = states_seen(texts, EN)
    assert seen[0] in ("created", "queueing") and seen[-2:] == ["processing", "success"]
    assert any(" s since it was sent" in text for text in texts)
    assert EN["video_local"] in texts[-1]
    record = page.runtime.store.get(task_id)
    assert record is not None and record.state == "success" and record.video_path
    final = [next(out[i] for out in reversed(shown) if not _skipped(out[i])) for i in range(len(VIEW_FIELDS))]
    video = final[VIDEO]
    assert video["path"] != record.video_path and Path(video["path"]).is_relative_to(page.runtime.stage.root)
    assert os.path.samefile(video["path"], record.video_path)  # the one file, published for Gradio
    assert "url" not in video  # a local file: Gradio serves it from its cache
    assert final[DOWNLOAD]["visible"] is True and final[DOWNLOAD]["value"]["path"] == video["path"]
    cover = final[COVER]["value"]  # kept beside the video, served by the app: never the service's URL
    assert final[COVER]["visible"] is True and "url" not in cover and record.cover_path
    assert Path(cover["path"]).is_relative_to(page.runtime.stage.root) and os.path.samefile(
        cover["path"], record.cover_path
    )
    assert Path(record.cover_path).parent == Path(record.video_path).parent
    watermarked = final[VIEW_FIELDS.index("download_watermarked")]
    assert watermarked["visible"] is True and record.watermarked_path
    assert os.path.samefile(watermarked["value"]["path"], record.watermarked_path)
    assert final[VIEW_FIELDS.index("credits")] == f"{record.credits:g}"
    assert final[VIEW_FIELDS.index("cancel")]["visible"] is False


def _skipped(value: Any) -> bool:
    return isinstance(value, dict) and value.get("__type__") == "update" and len(value) == 1


def test_states_and_time_in_chinese(page: Page, frames: dict[str, Path]) -> None:
    task_id = generate(page, form(frames))
    texts = statuses(follow(page, task_id, request(headers=ZH_HEADERS)))
    assert states_seen(texts, ZH)[-1] == "success"
    assert any("已提交" in text for text in texts)
    assert ZH["video_local"] in texts[-1]


def test_a_failed_task_says_why_and_what_to_try_in_both_languages(page: Page, frames: dict[str, Path]) -> None:
    page.sim.fail_next("CreditInsufficient")
    task_id = generate(page, form(frames))
    english = statuses(follow(page, task_id))[-1]
    assert english.startswith(f"**{EN['state_failed']}**")
    assert "`CreditInsufficient`" in english and EN["hint_CreditInsufficient"] in english
    chinese = statuses(follow(page, task_id, request(headers=ZH_HEADERS)))[-1]
    assert chinese.startswith(f"**{ZH['state_failed']}**") and ZH["hint_CreditInsufficient"] in chinese


def test_every_reason_has_a_chinese_hint_and_unknown_codes_are_handled() -> None:
    assert set(EN) == set(ZH)
    assert EN["failed_unknown_code"] in reason_hint("en", "SomethingNew")
    assert reason_hint("zh-CN", None) == ZH["failed_no_code"]
    assert language_of("zh-CN,zh;q=0.9") == language_of("zh") == "zh-CN"
    assert language_of("en-GB,zh;q=0.5") == language_of(None) == "en"


def test_cancel_stops_the_task_and_the_view_says_so(sim: Simulator, tmp_path: Path, frames: dict[str, Path]) -> None:
    sim.process_seconds = 30.0
    page = open_page(sim, tmp_path / "data")
    try:
        task_id = generate(page, form(frames))
        page.results.cancel(task_id, None, request())
        texts = statuses(follow(page, task_id))
        assert texts[-1].startswith(f"**{EN['state_cancelled']}**") and EN["cancelled_note"] in texts[-1]
        record = page.runtime.store.get(task_id)
        assert record is not None and (record.state, record.err_code) == ("failed", "UserCancelled")
        with pytest.raises(gr.Error, match="not in your history"):
            page.results.cancel(task_id, None, request("mallory"))  # sign-in on: someone else's task
    finally:
        close_page(page)


def test_a_refused_cancel_says_why(sim: Simulator, tmp_path: Path, frames: dict[str, Path]) -> None:
    sim.process_seconds = 30.0
    page = open_page(sim, tmp_path / "data")
    try:
        task_id = generate(page, form(frames))
        body = {"code": 400, "reason": "OperationInProcess", "message": "busy", "metadata": {"trace_id": "t-1"}}
        sim.inject(Fault(call="cancel", status=400, body=json.dumps(body)))
        with pytest.raises(gr.Error) as caught:
            page.results.cancel(task_id, None, request())
        message = caught.value.message
        assert EN["cancel_refused"].format(task_id=task_id) in message and EN["hint_OperationInProcess"] in message
    finally:
        close_page(page)


# --- look up --------------------------------------------------------------------------------------------------


def test_look_up_records_a_task_made_elsewhere_and_follows_it(page: Page, frames: dict[str, Path]) -> None:
    with ViduClient(page.runtime.settings) as client:
        from vidu_ui.request import TaskOptions
        from vidu_ui.submit import prepare, submit

        prepared = prepare(frames["start"], frames["end"], TaskOptions(model="viduq1", prompt="made by the CLI"))
        created = submit(client, prepared)
    assert page.runtime.store.get(created.task_id) is None
    assert page.results.lookup(f"  {created.task_id} ", None, request()) == created.task_id
    texts = statuses(follow(page, created.task_id))
    assert states_seen(texts, EN)[-1] == "success" and EN["video_local"] in texts[-1]
    record = page.runtime.store.get(created.task_id)
    assert record is not None and record.video_path and record.key_kind == "server"
    # Looking it up again just refreshes it.
    assert page.results.lookup(created.task_id, None, request()) == created.task_id


def test_look_up_refuses_bad_and_unknown_ids(page: Page) -> None:
    for bad in ("٣٣٣", "a/b", "x" * 129, "id with spaces"):
        with pytest.raises(gr.Error) as refused:
            page.results.lookup(bad, None, request())
        assert refused.value.message.startswith(EN["problem_task_id"].split("'")[0])
    with pytest.raises(gr.Error) as caught:
        page.results.lookup("123456789", None, request())
    assert "TaskNotFound" in caught.value.message and EN["hint_TaskNotFound"] in caught.value.message
    assert page.runtime.store.get("123456789") is None


# --- history ----------------------------------------------------------------------------------------------------


def test_history_lists_newest_first_and_filters(page: Page, frames: dict[str, Path]) -> None:
    first = generate(page, form(frames, prompt="A red kite over the dunes"))
    follow(page, first)
    second = generate(page, form(frames, prompt="Snow falls on a quiet street", model="viduq2", resolution="720p"))
    table, _cards, note = page.history.rows("all", "", None, request())
    rows = table["value"]["data"]
    assert [row[-1] for row in rows] == [second, first] and note == ""
    assert table["value"]["headers"] == [EN[f"col_{c}"] for c in COLUMNS]
    cell = dict(zip(COLUMNS, rows[1], strict=True))
    assert cell["state"] == EN["state_success"] and cell["prompt"] == "A red kite over the dunes"
    assert cell["frames"].count('<img src="data:image/jpeg;base64,') == 2  # the two frames, small
    assert [r[-1] for r in page.history.rows("success", "", None, request())[0]["value"]["data"]] == [first]
    assert [r[-1] for r in page.history.rows("all", "SNOW", None, request())[0]["value"]["data"]] == [second]
    assert [r[-1] for r in page.history.rows("all", "viduq2", None, request())[0]["value"]["data"]] == [second]
    empty, _cards, note = page.history.rows("failed", "", None, request(headers=ZH_HEADERS))
    assert empty["value"]["data"] == [] and note == ZH["history_none_match"]
    assert empty["value"]["headers"][COLUMNS.index("created")] == ZH["col_created"]


def test_select_open_and_reuse(page: Page, frames: dict[str, Path]) -> None:
    upload = Path(get_upload_folder()) / f"vidu-test-{os.getpid()}"
    upload.mkdir(parents=True, exist_ok=True)
    try:
        start, end = (Path(shutil.copy(frames[r], upload / frames[r].name)) for r in ("start", "end"))
        values = form(
            frames,
            start_image=str(start),
            end_image=str(end),
            model="viduq3-turbo",
            duration=8.0,
            resolution="1080p",
            seed=1234,
            audio=False,
            watermark=True,
            wm_position=1,
            meta_data='{"Label": "x"}',
            payload="p-1",
        )
        task_id = generate(page, values)
        row = next(r for r in page.history.rows("all", "", None, request())[0]["value"]["data"] if r[-1] == task_id)
        picked, line, start_thumb, end_thumb, open_, reuse = page.history.select(
            None, request(), gr.SelectData(None, _row(row))
        )
        assert picked == task_id and task_id in line and "viduq3-turbo" in line
        assert f"(?task={task_id})" in line  # the task's link
        assert open_ == reuse == gr.update(interactive=True)
        assert start_thumb is not None and max(start_thumb.size) <= 256 and end_thumb is not None

        before = len([r for r in page.sim.log.snapshot() if r.call == "query"])
        assert page.history.open(task_id, None, request()) == (task_id, gr.update(selected=STUDIO_TAB))
        assert len([r for r in page.sim.log.snapshot() if r.call == "query"]) > before  # re-queried

        filled = dict(zip([*REUSE_FIELDS, "tabs"], page.history.reuse(task_id, None, request()), strict=True))
        assert filled["prompt"] == values["prompt"] and filled["model"] == "viduq3-turbo"
        assert filled["duration"]["value"] == 8 and [v for _, v in filled["duration"]["choices"]] == list(range(1, 17))
        assert filled["resolution"]["value"] == "1080p" and filled["seed"] == 1234
        assert filled["audio"] == {"__type__": "update", "value": False, "visible": True}
        assert filled["watermark"] is True and filled["wm_position"]["value"] == 1
        assert filled["meta_data"] == '{"Label": "x"}' and filled["payload"] == "p-1"
        assert (filled["start_image"], filled["end_image"]) == (str(start), str(end))  # originals still here
        assert filled["estimate"].startswith("≈")

        start.unlink()  # an original gone: the frames are left as they are
        again = dict(zip([*REUSE_FIELDS, "tabs"], page.history.reuse(task_id, None, request()), strict=True))
        assert _skipped(again["start_image"]) and _skipped(again["end_image"])
        assert again["prompt"] == values["prompt"]
    finally:
        shutil.rmtree(upload, ignore_errors=True)


def _row(row: list[str]) -> dict[str, Any]:
    return {"index": [0, 0], "value": row[0], "row_value": row, "col_value": [row[0]]}


def test_what_counts_as_an_original_frame_still_available(tmp_path: Path) -> None:
    url = "https://example.com/frame.png"
    assert original_frame(url) == (None, url)
    assert original_frame(None) is None
    outside = write(tmp_path / "frame.png", photo(64, 64, 1), "PNG")
    assert original_frame(str(outside)) is None  # not an upload of this server: never handed back
    inside = Path(get_upload_folder()) / f"vidu-test-{os.getpid()}-frame.png"
    shutil.copy(outside, inside)
    try:
        assert original_frame(str(inside)) == (str(inside), "")
    finally:
        inside.unlink()
    assert original_frame(str(inside)) is None  # gone


# --- who sees what ------------------------------------------------------------------------------------------------


def test_with_sign_in_each_user_sees_only_their_own_tasks(page: Page, frames: dict[str, Path]) -> None:
    alice, bob = request("alice"), request("bob")
    mine = generate(page, form(frames), alice)
    theirs = generate(page, form(frames, prompt="Bob's boat"), bob)
    assert page.runtime.store.get(mine).user == "alice"  # type: ignore[union-attr]
    assert [r[-1] for r in page.history.rows("all", "", None, alice)[0]["value"]["data"]] == [mine]
    assert [r[-1] for r in page.history.rows("all", "", None, bob)[0]["value"]["data"]] == [theirs]
    for peek in (
        lambda: follow(page, mine, bob),
        lambda: page.history.open(mine, None, bob),
        lambda: page.history.reuse(mine, None, bob),
        lambda: page.results.lookup(mine, None, bob),
        lambda: page.history.select(None, bob, gr.SelectData(None, _row([""] * (len(COLUMNS) - 1) + [mine]))),
    ):
        with pytest.raises(gr.Error, match="not in your history"):
            peek()


def test_shared_history_lets_a_team_see_every_task(sim: Simulator, tmp_path: Path, frames: dict[str, Path]) -> None:
    page = open_page(sim, tmp_path / "data", shared_history=True)
    try:
        mine = generate(page, form(frames), request("alice"))
        listed = [r[-1] for r in page.history.rows("all", "", None, request("bob"))[0]["value"]["data"]]
        assert listed == [mine]
        assert statuses(follow(page, mine, request("bob")))
    finally:
        close_page(page)


def test_visitors_see_the_tasks_of_their_own_key(sim: Simulator, tmp_path: Path, frames: dict[str, Path]) -> None:
    page = open_page(sim, tmp_path / "data", api_key=None)
    try:
        task_id = generate(page, form(frames, api_key=KEY))
        record = page.runtime.store.get(task_id)
        assert record is not None and record.user == key_fingerprint(KEY) and record.key_kind == "visitor"
        assert KEY not in repr(record) and KEY not in (record.user or "")
        assert [r[-1] for r in page.history.rows("all", "", KEY, request())[0]["value"]["data"]] == [task_id]
        assert page.history.rows("all", "", "another-key", request())[0]["value"]["data"] == []
        table, _cards, note = page.history.rows("all", "", None, request())
        assert table["value"]["data"] == [] and note == EN["history_empty"]
        assert statuses(follow(page, task_id, api_key=KEY))
    finally:
        close_page(page)


# --- a task's link, the filters, the timeline ----------------------------------------------------------------------


def test_a_tasks_link_opens_it_for_its_owner_and_for_nobody_else(page: Page, frames: dict[str, Path]) -> None:
    mine = generate(page, form(frames), request("alice"))
    assert page.history.linked(request("alice", query={"task": mine})) == (mine, gr.skip())
    assert page.history.linked(request("alice")) == (gr.skip(), gr.skip())  # no link: nothing changes
    refusals = []
    for who, task_id in (("bob", mine), ("bob", "123456789"), ("alice", "123456789"), ("bob", "a/b")):
        with pytest.raises(gr.Error) as refused:
            page.history.linked(request(who, query={"task": task_id}))
        refusals.append(refused.value.message.replace(task_id, "<id>"))
    assert len(set(refusals)) == 1  # someone else's task reads exactly as an unknown id


def test_a_visitors_link_waits_for_their_key(sim: Simulator, tmp_path: Path, frames: dict[str, Path]) -> None:
    page = open_page(sim, tmp_path / "data", api_key=None)
    try:
        task_id = generate(page, form(frames, api_key=KEY))
        # The page has no key at load: the id goes to Look up, where the visitor's key opens it (theirs only).
        assert page.history.linked(request(query={"task": task_id})) == (gr.skip(), task_id)
        assert page.results.lookup(task_id, KEY, request()) == task_id
        with pytest.raises(gr.Error, match="not in your history"):
            page.results.lookup(task_id, "another-key", request())
    finally:
        close_page(page)


def test_the_cancelled_filter_and_every_filter_translated(
    sim: Simulator, tmp_path: Path, frames: dict[str, Path]
) -> None:
    sim.process_seconds = 30.0
    page = open_page(sim, tmp_path / "data")
    try:
        task_id = generate(page, form(frames))
        page.results.cancel(task_id, None, request())
        follow(page, task_id)
        listed = {
            name: [row[-1] for row in page.history.rows(name, "", None, request())[0]["value"]["data"]]
            for name in STATE_FILTERS
        }
        assert listed["cancelled"] == [task_id] and listed["failed"] == [] and listed["all"] == [task_id]
    finally:
        close_page(page)
    for name in STATE_FILTERS:
        assert EN[f"filter_{name}"] != ZH[f"filter_{name}"] and name not in ZH[f"filter_{name}"]


def test_the_status_shows_the_states_seen_and_no_invented_progress(page: Page, frames: dict[str, Path]) -> None:
    task_id = generate(page, form(frames))
    shown = follow(page, task_id)
    texts = statuses(shown)
    assert all("%" not in text for text in texts)  # the simulator reports no progress: none is shown
    steps = [out[VIEW_FIELDS.index("timeline")] for out in shown if isinstance(out[VIEW_FIELDS.index("timeline")], str)]
    assert all("%" not in text for text in steps)
    last = steps[-1]
    for state in ("created", "queueing", "processing", "success"):
        assert f"✓ {EN[f'state_{state}']}" in last
    record = page.runtime.store.get(task_id)
    assert record is not None
    halfway = replace(record, state="processing", last_status={"state": "processing", "progress": 40})
    line = timeline(halfway, {}, "zh-CN")
    assert ZH["progress"].format(progress=40) in line and f"● {ZH['state_processing']}" in line
    # The Response panel: the latest answer (the last query's), labelled with its time.
    response = [out[VIEW_FIELDS.index("response")] for out in shown if not _skipped(out[VIEW_FIELDS.index("response")])]
    assert response[-1]["value"]["state"] == "success"
    assert response[-1]["label"].startswith(EN["response_query"].split("{")[0])


def test_a_visitor_checks_their_key_without_spending(sim: Simulator, tmp_path: Path) -> None:
    page = open_page(sim, tmp_path / "data", api_key=None)
    try:
        before = (sim.credits, sim.create_count)
        checked = page.studio.check_key(f"  {KEY} ", request(headers=ZH_HEADERS))
        assert checked.startswith("✓") and ZH["key_ok"] in checked and f"{sim.credits:g}" in checked
        assert (sim.credits, sim.create_count) == before  # the credits call spends nothing
        refused = page.studio.check_key("sk-not-this-one", request())
        assert refused.startswith("⚠") and EN["hint_Unauthorized_visitor"] in refused
        assert "sk-not-this-one" not in refused
        assert page.studio.check_key("", request()).startswith("⚠")
    finally:
        close_page(page)
