"""``tracker``: following tasks in the background: states into the store, backoff without sleeping, the maximum
wait, refusals, downloads (retried, atomic), resume after a restart, visitor keys, waiting for changes."""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import sqlalchemy as sa

from tests.fakes import MP4_HEAD
from tests.support.tracking import KEY, Rig, frame_pair, mp4_ok, sim_body, sim_settings, status
from vidu_ui.client import AsyncViduClient, ViduClient
from vidu_ui.follower import RESOLVERS
from vidu_ui.responses import CreatedTask, TaskStatus
from vidu_ui.settings import Settings
from vidu_ui.simulator import Simulator
from vidu_ui.store import Changes, Store
from vidu_ui.tracker import KeyOwner, MissingKey, Tracker, UnknownTask

pytestmark = pytest.mark.simulator(api_key=KEY, queue_seconds=0.05, process_seconds=0.2)

# --- the sequence of states, timing, faults --------------------------------------------------------------------


def test_states_go_to_the_store_with_backoff(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rig = Rig(tmp_path, {"1": ["created", "queueing", "processing", "processing", "success"]})
    rig.record("1")
    versions: list[tuple[str, bool]] = []
    original = Changes.statuses

    def spy(self: Changes, answers: Sequence[tuple[str, TaskStatus]], fetched_at: float | None = None) -> None:
        before = len(self.refs)
        original(self, answers, fetched_at)
        versions.extend((s.state, len(self.refs) > before) for _, s in answers)  # one task: one answer a commit

    monkeypatch.setattr(Changes, "statuses", spy)
    rig.tracker = rig.make_tracker(keep_videos=False)
    rig.tracker.track("1")
    assert rig.tracker.is_following("1")
    rig.run()
    assert [state for state, _ in versions] == ["created", "queueing", "processing", "processing", "success"]
    assert versions[3] == ("processing", False)  # the same answer again changes nothing
    times = rig.service.query_times("1")
    assert [b - a for a, b in itertools.pairwise(times)] == [2.0, 4.0, 8.0, 15.0]
    record = rig.store.get("1")
    assert record is not None and record.state == "success" and record.video_url == "https://cdn.test/1.mp4"
    assert not rig.tracker.is_following("1")


def test_transient_faults_are_survived(tmp_path: Path) -> None:
    script: list[Any] = [
        "processing",
        httpx.Response(503, json={"code": 503, "reason": "SystemThrottling", "message": "busy"}),
        httpx.ReadTimeout("slow"),
        "success",
    ]
    rig = Rig(tmp_path, {"1": script})
    rig.record("1")
    rig.tracker = rig.make_tracker(keep_videos=False)
    rig.tracker.track("1")
    rig.run()
    record = rig.store.get("1")
    assert record is not None and record.state == "success" and record.problem is None


def test_a_refusal_stops_following_with_a_reason(tmp_path: Path) -> None:
    refused = httpx.Response(401, json={"code": 401, "reason": "Unauthorized", "message": "bad key"})
    rig = Rig(tmp_path, {"1": ["processing", refused]})
    rig.record("1")
    rig.tracker.track("1")
    rig.run()
    record = rig.store.get("1")
    assert record is not None and record.state == "processing"
    assert record.problem is not None and "Unauthorized" in record.problem and "VIDU_API_KEY" in record.problem
    assert not rig.tracker.is_following("1")


def test_maximum_wait(tmp_path: Path) -> None:
    rig = Rig(tmp_path, {"1": ["processing"]}, poll_max_wait=60)
    rig.record("1")
    rig.tracker.track("1")
    rig.run()
    times = rig.service.query_times("1")
    assert times[-1] - times[0] == pytest.approx(60)
    record = rig.store.get("1")
    assert record is not None and record.state == "processing"
    assert record.problem is not None and "still processing after 60 s" in record.problem


def test_failure_reason_is_stored_and_nothing_downloaded(tmp_path: Path) -> None:
    rig = Rig(tmp_path, {"1": ["processing", status("1", "failed", err_code="CreationPolicyViolation", credits=0)]})
    rig.record("1")
    rig.tracker.track("1")
    rig.run()
    record = rig.store.get("1")
    assert record is not None
    assert (record.state, record.err_code, record.credits, record.video_path) == (
        "failed",
        "CreationPolicyViolation",
        0,
        None,
    )
    assert not (rig.settings.data_dir / "videos").exists()


def test_unknown_task_is_refused(tmp_path: Path) -> None:
    rig = Rig(tmp_path, {})
    with pytest.raises(UnknownTask):
        rig.tracker.track("404")
    with pytest.raises(UnknownTask):
        rig.tracker.refresh("404")


def test_cancel(tmp_path: Path) -> None:
    rig = Rig(tmp_path, {"1": ["queueing"]})
    rig.record("1")
    rig.tracker.track("1")
    rig.tracker.step()
    rig.tracker.cancel("1")
    rig.run()
    assert rig.service.cancelled == ["1"]
    record = rig.store.get("1")
    assert record is not None and (record.state, record.err_code) == ("failed", "UserCancelled")


# --- downloads -------------------------------------------------------------------------------------------------


def test_success_downloads_video_and_watermarked_copy(tmp_path: Path) -> None:
    rig = Rig(tmp_path, {"19": ["processing", "success"]})  # ids ending in 9 have a watermarked copy
    rig.record("19")
    tracker = rig.make_tracker(downloader=rig.download_with({"19.mp4": b"VIDEO", "19-wm.mp4": b"MARKED"}))
    tracker.track("19")
    rig.run(tracker)
    record = rig.store.get("19")
    assert record is not None
    videos = rig.settings.data_dir / "videos"
    assert record.video_path == str(videos / "19.mp4") and Path(record.video_path).read_bytes() == MP4_HEAD + b"VIDEO"
    assert record.watermarked_path == str(videos / "19.watermarked.mp4")
    assert Path(record.watermarked_path).read_bytes() == MP4_HEAD + b"MARKED"
    assert sorted(p.name for p in videos.iterdir()) == ["19.mp4", "19.watermarked.mp4"]


def test_downloads_can_be_turned_off(tmp_path: Path) -> None:
    rig = Rig(tmp_path, {"1": ["success"]})
    rig.record("1")
    tracker = rig.make_tracker(keep_videos=False, downloader=rig.download_with({"1.mp4": b"V"}))
    tracker.track("1")
    rig.run(tracker)
    assert rig.downloads == []
    assert rig.store.get("1").video_path is None  # type: ignore[union-attr]


def test_a_broken_download_is_retried_with_a_fresh_link_and_never_shown_partial(tmp_path: Path) -> None:
    rig = Rig(tmp_path, {"1": ["success"]})
    rig.record("1")
    tracker = rig.make_tracker(downloader=rig.download_with({"1.mp4": b"WHOLE"}, fail=1))
    tracker.track("1")
    seen: list[str | None] = []
    while (due := tracker.step()) is not None:
        record = rig.store.get("1")
        seen.append(record.video_path if record else None)
        assert list((rig.settings.data_dir / "videos").glob("*.part")) == []
        rig.time.now = max(rig.time.now, due)
    assert len(rig.downloads) == 2
    assert len(rig.service.query_times("1")) == 2  # a fresh link was fetched before trying again
    record = rig.store.get("1")
    assert record is not None and record.video_path is not None
    assert Path(record.video_path).read_bytes() == MP4_HEAD + b"WHOLE" and record.problem is None
    assert [p.name for p in (rig.settings.data_dir / "videos").iterdir()] == ["1.mp4"]


def test_a_download_that_keeps_failing_leaves_a_reason_and_no_file(tmp_path: Path) -> None:
    rig = Rig(tmp_path, {"1": ["success"]})
    rig.record("1")
    tracker = rig.make_tracker(downloader=rig.download_with({"1.mp4": b"WHOLE"}, fail=10))
    tracker.track("1")
    rig.run(tracker)
    record = rig.store.get("1")
    assert record is not None and record.video_path is None
    assert record.problem is not None and "could not be saved" in record.problem
    assert list((rig.settings.data_dir / "videos").iterdir()) == []
    # Opening the task later (refresh) fetches a fresh link and saves the video.
    rig.downloads.clear()
    tracker2 = rig.make_tracker(downloader=rig.download_with({"1.mp4": b"WHOLE"}))
    refreshed = tracker2.refresh("1")
    assert refreshed is not None and refreshed.state == "success"
    rig.run(tracker2)
    record = rig.store.get("1")
    assert record is not None and record.video_path is not None and record.problem is None


# --- resume, keys ------------------------------------------------------------------------------------------------


def test_resume_picks_up_unfinished_tasks_and_missing_videos(tmp_path: Path) -> None:
    rig = Rig(tmp_path, {"1": ["processing", "success"], "2": ["success"], "3": ["success"], "4": ["success"]})
    for task_id in "1234":
        rig.record(task_id, key_kind="visitor" if task_id == "3" else "server")
    rig.store.update_status("1", TaskStatus.from_json(status("1", "queueing")))
    rig.store.update_status("2", TaskStatus.from_json(status("2", "success")))  # succeeded, video never saved
    rig.store.update_status("4", TaskStatus.from_json(status("4", "success")))
    rig.store.set_video("4", "/already/4.mp4")
    videos = rig.settings.data_dir / "videos"
    videos.mkdir(parents=True)
    stale = videos / ".2.mp4.999999999.abc.part"  # no such pid: a dead process's leftover
    stale.write_bytes(b"half")

    tracker = rig.make_tracker(downloader=rig.download_with({"1.mp4": b"1", "2.mp4": b"2"}))
    waiting = tracker.resume()
    assert waiting == ["3"]  # a visitor's task: its key is not kept
    assert not stale.exists()
    rig.run(tracker)
    by_id = {r.task_id: r for r in rig.store.list()}
    assert by_id["1"].state == "success" and by_id["1"].video_path == str(videos / "1.mp4")
    assert by_id["2"].video_path == str(videos / "2.mp4")
    assert by_id["3"].state == "created" and by_id["3"].problem is not None and "visitor" in by_id["3"].problem
    assert by_id["4"].video_path == "/already/4.mp4"
    assert "3" not in [t for t, _ in rig.service.queries] and "4" not in [t for t, _ in rig.service.queries]
    # The visitor comes back with the key: the task is followed again.
    tracker.track("3", KeyOwner.visitor("sk-visitor"))
    rig.run(tracker)
    assert rig.store.get("3").state == "success"  # type: ignore[union-attr]


def test_visitor_key_held_only_while_unfinished(tmp_path: Path) -> None:
    rig = Rig(tmp_path, {"1": ["processing", "processing", "success"], "2": ["processing"]})
    rig.record("1", key_kind="visitor")
    rig.record("2")
    tracker = rig.make_tracker(keep_videos=False)
    tracker.track("1", KeyOwner.visitor("sk-visitor-1"))
    tracker.track("2")
    tracker.step()
    assert tracker.signing_key("1") == "sk-visitor-1"
    assert tracker.signing_key("2") == KEY
    assert tracker.signing_key("nope") is None
    assert "sk-visitor-1" not in repr(KeyOwner.visitor("sk-visitor-1"))
    for _ in range(5):
        rig.time.now += 100
        tracker.step()
    assert rig.store.get("1").state == "success"  # type: ignore[union-attr]
    assert tracker.signing_key("1") is None  # dropped once finished
    assert any(o.api_key is not None and o.api_key.get_secret_value() == "sk-visitor-1" for o in rig.owners)
    with pytest.raises(MissingKey):
        tracker.refresh("1")
    assert tracker.refresh("1", wait=False) is None  # a hint without a key is ignored
    assert tracker.refresh("1", KeyOwner.visitor("sk-visitor-1")) is not None


def test_refresh_fetches_fresh_urls(tmp_path: Path) -> None:
    first = status("1", "success")
    second = status("1", "success")
    second["creations"][0]["url"] = "https://cdn.test/1.mp4?fresh"
    rig = Rig(tmp_path, {"1": [first, second]})
    rig.record("1")
    tracker = rig.make_tracker(keep_videos=False)
    tracker.track("1")
    rig.run(tracker)
    rig.time.now += 90_000
    record = tracker.refresh("1")
    assert record is not None and record.video_url == "https://cdn.test/1.mp4?fresh"


def test_refresh_hint_while_polling_queries_soon(tmp_path: Path) -> None:
    rig = Rig(tmp_path, {"1": ["processing", "processing", "success"]}, poll_interval=100, poll_max_interval=100)
    rig.record("1")
    tracker = rig.make_tracker(keep_videos=False)
    tracker.track("1")
    tracker.step()
    assert len(rig.service.queries) == 1
    tracker.refresh("1", wait=False)  # a callback: query now rather than in 100 s
    tracker.step()
    assert len(rig.service.queries) == 2


def test_threads_are_bounded(tmp_path: Path) -> None:
    rig = Rig(tmp_path, {str(i): ["processing"] for i in range(1, 61)}, poll_interval=0.01, poll_max_interval=0.01)
    for i in range(1, 61):
        rig.record(str(i))
    before = threading.active_count()
    tracker = Tracker(
        rig.settings,
        rig.store,
        client_factory=rig.client,
        async_client_factory=rig.async_client,
        queries=3,
        download_workers=1,
    ).start()
    try:
        for i in range(1, 61):
            tracker.track(str(i))
        deadline = time.monotonic() + 60  # a bound for a stuck tracker, not a speed check
        while len({t for t, _ in rig.service.queries}) < 60 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len({t for t, _ in rig.service.queries}) == 60
        assert threading.active_count() <= before + 1 + 1 + 1 + RESOLVERS  # loop, store, download, lookups
    finally:
        tracker.stop()


# --- with real threads, against the simulator -------------------------------------------------------------------


def _create(settings: Settings, store: Store, tracker: Tracker, seed: int = 0, **extra: Any) -> str:
    start, end = frame_pair(seed)
    body = sim_body(start, end, prompt=f"task {seed}", **extra)
    with ViduClient(settings) as client:
        created: CreatedTask = client.create(orjson.dumps(body))
    store.record_submission(task_id=created.task_id, body=body, response=created.raw, start_image=start, end_image=end)
    tracker.track(created.task_id)
    return created.task_id


def _wait_until_done(tracker: Tracker, store: Store, ids: list[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(not tracker.is_following(i) for i in ids):
            return
        time.sleep(0.02)
    raise AssertionError([store.get(i) for i in ids])


def test_simulated_tasks_end_to_end(sim: Simulator, tmp_path: Path) -> None:
    settings = sim_settings(sim, tmp_path)
    store = Store.open(settings)
    with Tracker(settings, store) as tracker:
        ok = _create(settings, store, tracker, 1, watermark=True)
        sim.fail_next("CreationPolicyViolation")
        bad = _create(settings, store, tracker, 2)
        # A page waiting on the task sees each change without querying the service itself.
        first = store.get(ok)
        assert first is not None
        changed = tracker.wait_for_change(ok, first.version, timeout=10)
        assert changed is not None and changed.version > first.version
        seen = [r.state for r in tracker.watch(ok, timeout=20)]
        assert seen[-1] == "success"
        _wait_until_done(tracker, store, [ok, bad])
    good, failed = store.get(ok), store.get(bad)
    assert good is not None and failed is not None
    assert good.video_path is not None and mp4_ok(Path(good.video_path))
    assert good.watermarked_path is not None and mp4_ok(Path(good.watermarked_path))
    assert (failed.state, failed.err_code, failed.video_path) == ("failed", "CreationPolicyViolation", None)
    assert tracker.wait_for_change(ok, good.version, timeout=0.05) is None


# --- one client per key, one commit per answer ------------------------------------------------------------------


def test_one_client_per_key_for_as_long_as_its_tasks_are_followed(tmp_path: Path) -> None:
    """A running follower builds one client (one connection pool) per key and keeps it across queries and tasks;
    a visitor's client is closed once that visitor's tasks are finished, the server's when the follower stops."""
    ids = [str(i) for i in range(1, 13)]
    rig = Rig(tmp_path, {i: ["processing", "processing", "success"] for i in ids}, poll_interval=0.01)
    built: Counter[str] = Counter()
    closed: Counter[str] = Counter()

    def factory(owner: KeyOwner) -> AsyncViduClient:
        name = owner.api_key.get_secret_value() if owner.api_key is not None else "server"
        built[name] += 1
        client = rig.async_client(owner)
        original = client.aclose

        async def aclose() -> None:
            closed[name] += 1
            await original()

        client.aclose = aclose  # type: ignore[method-assign]
        return client

    owners = {i: KeyOwner.server() for i in ids[:6]}
    owners.update({i: KeyOwner.visitor("sk-visitor-a") for i in ids[6:9]})
    owners.update({i: KeyOwner.visitor("sk-visitor-b") for i in ids[9:]})
    for task_id, owner in owners.items():
        rig.record(task_id, key_kind=owner.kind)
    changed = threading.Event()
    rig.store.on_change(lambda _ref: changed.set())
    tracker = Tracker(rig.settings, rig.store, client_factory=rig.client, async_client_factory=factory)
    with tracker:
        for task_id, owner in owners.items():
            tracker.track(task_id, owner)
        for _ in range(600):  # a bound for a stuck follower, not a speed check
            if all(not tracker.is_following(i) for i in ids):
                break
            changed.wait(0.1)
            changed.clear()
        assert {r.state for r in rig.store.list(limit=100)} == {"success"}
    assert Counter(t for t, _ in rig.service.queries) == dict.fromkeys(ids, 3)
    assert built == {"server": 1, "sk-visitor-a": 1, "sk-visitor-b": 1}
    assert closed == built  # each closed once: the visitors' when their tasks ended, the server's at stop
    assert {f"Bearer {k}" for k in built if k != "server"} <= set(rig.service.keys)


def test_an_answer_and_the_lease_release_are_written_in_one_commit(tmp_path: Path) -> None:
    """A crash between writing a query's answer and letting the task's lease go cannot leave one without the
    other: the release fails here, and the answer is not in the history either (the row stays claimed, to be
    queried again when its lease lapses)."""
    rig = Rig(tmp_path, {"1": ["processing", "success"]}, lease_seconds=30)
    rig.record("1")
    tracker = rig.make_tracker(keep_videos=False)
    tracker.track("1")
    before = rig.store.get("1")
    assert before is not None and before.state == "created"

    def crash(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().startswith("UPDATE tasks SET") and "follow_at=CASE" in statement:  # the release
            raise RuntimeError("the process dies between the answer and the release")

    sa.event.listen(rig.store.engine, "before_cursor_execute", crash)
    with pytest.raises(RuntimeError, match="dies"):
        tracker.step()
    sa.event.remove(rig.store.engine, "before_cursor_execute", crash)
    assert len(rig.service.queries) == 1  # the service answered "processing"…
    after = rig.store.get("1")
    assert after is not None and (after.state, after.version) == ("created", before.version)  # …and nothing of it
    assert tracker.step() is not None and len(rig.service.queries) == 1  # still leased: nobody queries it now
    rig.time.now += 31  # the lease lapses: the task is taken up again, answer and release together
    rig.run(tracker)
    done = rig.store.get("1")
    assert done is not None and done.state == "success" and not tracker.is_following("1")
