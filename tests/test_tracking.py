"""``tracking``: the polling policy (backoff, maximum wait, transient faults), atomic downloads, stale ``.part`` files.

The helpers it shares with the tracker, store, callback and restart tests are in ``tests/support/tracking.py``.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.fakes import MP4_HEAD, FakeTime, cdn_policy
from tests.support.tracking import (
    KEY,
    FakeService,
    fake_client,
    fake_settings,
    frame_pair,
    mp4_ok,
    sim_body,
    sim_settings,
)
from vidu_ui import tracking
from vidu_ui.client import ViduClient
from vidu_ui.downloads import DownloadPolicy, DownloadRefused
from vidu_ui.errors import AuthenticationError, ViduError
from vidu_ui.settings import POLL_MAX_INTERVAL, Settings
from vidu_ui.simulator import Simulator

pytestmark = pytest.mark.simulator(api_key=KEY, queue_seconds=0.05, process_seconds=0.2)

# --- the polling policy ----------------------------------------------------------------------------------------


def test_intervals_double_up_to_the_cap(tmp_path: Path) -> None:
    settings = fake_settings(tmp_path, poll_interval=2, poll_max_interval=7)
    waits = tracking.intervals(settings)
    assert [next(waits) for _ in range(6)] == [2, 4, 7, 7, 7, 7]


def test_follow_yields_each_state_and_waits_with_backoff(tmp_path: Path) -> None:
    settings = fake_settings(tmp_path)
    fake = FakeTime()
    service = FakeService({"1": ["created", "queueing", "processing", "processing", "processing", "success"]}, fake)
    client = fake_client(settings, service, fake)
    states = [s.state for s in tracking.follow(client, "1", settings, sleep=fake.sleep, clock=fake.clock)]
    assert states == ["created", "queueing", "processing", "processing", "processing", "success"]
    assert fake.sleeps == [2.0, 4.0, 8.0, 15.0, 15.0]  # fake_settings: at most 15 s
    times = service.query_times("1")
    assert [b - a for a, b in itertools.pairwise(times)] == fake.sleeps


def test_follow_stops_at_the_maximum_wait(tmp_path: Path) -> None:
    settings = fake_settings(tmp_path, poll_max_wait=20)
    fake = FakeTime()
    client = fake_client(settings, FakeService({"1": ["processing"]}, fake), fake)
    seen: list[str] = []
    with pytest.raises(tracking.WaitTimeout) as info:
        for s in tracking.follow(client, "1", settings, sleep=fake.sleep, clock=fake.clock):
            seen.append(s.state)
    assert sum(fake.sleeps) == pytest.approx(20)  # the last wait is cut to end exactly at the limit
    assert fake.sleeps[-1] == pytest.approx(20 - 2 - 4 - 8)
    assert info.value.last is not None and info.value.last.state == "processing"
    assert "still processing" in str(info.value)
    assert len(seen) == len(fake.sleeps) + 1


def test_follow_survives_transient_faults(tmp_path: Path) -> None:
    settings = fake_settings(tmp_path)
    fake = FakeTime()
    script: list[Any] = [
        "created",
        httpx.Response(500, json={"code": 500, "reason": "InternalServiceFailure", "message": "x"}),
        httpx.ConnectError("refused"),
        httpx.Response(429, json={"code": 429, "reason": "TooManyRequests", "message": "x"}),
        httpx.Response(502, text="<html>bad gateway</html>"),
        "success",
    ]
    client = fake_client(settings, FakeService({"1": script}, fake), fake)
    states = [s.state for s in tracking.follow(client, "1", settings, sleep=fake.sleep, clock=fake.clock)]
    assert states == ["created", "success"]
    assert len(fake.sleeps) == 5


def test_follow_stops_at_once_on_a_refusal(tmp_path: Path) -> None:
    settings = fake_settings(tmp_path)
    fake = FakeTime()
    refused = httpx.Response(401, json={"code": 401, "reason": "Unauthorized", "message": "bad key"})
    client = fake_client(settings, FakeService({"1": ["created", refused]}, fake), fake)
    with pytest.raises(AuthenticationError):
        list(tracking.follow(client, "1", settings, sleep=fake.sleep, clock=fake.clock))
    assert fake.sleeps == [2.0]


def test_policy_is_usable_without_waiting(tmp_path: Path) -> None:
    policy = tracking.PollPolicy("1", fake_settings(tmp_path, poll_max_wait=5), started=100.0)
    assert policy.next_wait(100.0) == 2.0
    assert policy.next_wait(102.0) == 3.0  # 4 s, cut to the limit
    assert policy.next_wait(104.0) == 1.0
    with pytest.raises(tracking.WaitTimeout):
        policy.next_wait(105.0)
    with pytest.raises(ViduError):
        policy.failed(ViduError("not transient"))


# --- against the simulator -------------------------------------------------------------------------------------


def _create(sim: Simulator, settings: Settings, **extra: Any) -> str:
    with ViduClient(settings) as client:
        return client.create(orjson.dumps(sim_body(*frame_pair(), **extra))).task_id


def test_simulated_task_runs_to_success(sim: Simulator, tmp_path: Path) -> None:
    settings = sim_settings(sim, tmp_path)
    task_id = _create(sim, settings)
    with ViduClient(settings) as client:
        statuses = list(tracking.follow(client, task_id, settings))
    states = [s.state for s in statuses]
    assert states[-1] == "success"
    order = ["created", "queueing", "processing", "success"]
    assert [order.index(s) for s in states] == sorted(order.index(s) for s in states)
    url = statuses[-1].video_url
    assert url is not None
    path = tracking.download(url, tmp_path / "out" / f"{task_id}.mp4", DownloadPolicy.for_settings(settings))
    assert mp4_ok(path)


def test_simulated_failure_reason(sim: Simulator, tmp_path: Path) -> None:
    settings = sim_settings(sim, tmp_path)
    sim.fail_next("CreationPolicyViolation")
    task_id = _create(sim, settings)
    with ViduClient(settings) as client:
        last = list(tracking.follow(client, task_id, settings))[-1]
    assert last.state == "failed"
    assert last.err_code == "CreationPolicyViolation"
    assert last.video_url is None


def test_simulated_cancel(tmp_path: Path) -> None:
    with Simulator(KEY, queue_seconds=5, process_seconds=5) as slow:
        settings = sim_settings(slow, tmp_path)
        task_id = _create(slow, settings)
        with ViduClient(settings) as client:
            client.cancel(task_id)
            last = list(tracking.follow(client, task_id, settings))[-1]
    assert (last.state, last.err_code) == ("failed", "UserCancelled")


# --- downloads -------------------------------------------------------------------------------------------------


class _Broken(httpx.SyncByteStream):
    """Some bytes, then the connection drops."""

    def __iter__(self) -> Iterator[bytes]:
        yield b"\x00\x00\x00\x18ftypmp42" + b"x" * 50_000
        raise httpx.ReadError("connection reset")


def _transport(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.MockTransport:
    return httpx.MockTransport(handler)


def test_download_is_atomic(tmp_path: Path) -> None:
    dest = tmp_path / "videos" / "1.mp4"
    broken = _transport(lambda r: httpx.Response(200, stream=_Broken()))
    with pytest.raises(httpx.ReadError):
        tracking.download("https://cdn.test/1.mp4", dest, cdn_policy(), transport=broken)
    assert list(dest.parent.iterdir()) == []  # no partial file, under any name

    whole = _transport(lambda r: httpx.Response(200, content=MP4_HEAD + b"A"))
    tracking.download("https://cdn.test/1.mp4", dest, cdn_policy(), transport=whole)
    with pytest.raises(httpx.ReadError):  # a failed second download leaves the first one whole
        tracking.download("https://cdn.test/1.mp4", dest, cdn_policy(), transport=broken)
    assert dest.read_bytes() == MP4_HEAD + b"A"
    assert [p.name for p in dest.parent.iterdir()] == ["1.mp4"]

    with pytest.raises(DownloadRefused):
        tracking.download(
            "https://cdn.test/1.mp4", dest, cdn_policy(), transport=_transport(lambda r: httpx.Response(403))
        )
    assert dest.read_bytes() == MP4_HEAD + b"A"


def test_clean_partials_removes_only_dead_processes_files(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    folder = tmp_path / "videos"
    folder.mkdir()
    mine = folder / f".1.mp4.{os.getpid()}.abc_12.part"
    stale = folder / f".2.mp4.{dead_pid}.xyz.part"
    unnamed = folder / ".3.mp4.q.part"
    video = folder / "4.mp4"
    for path in (mine, stale, unnamed, video):
        path.write_bytes(b"x")
    removed = tracking.clean_partials(folder)
    assert sorted(removed) == sorted([stale, unnamed])
    assert mine.exists() and video.exists()
    assert tracking.clean_partials(tmp_path / "missing") == []


def test_polling_is_sparser_when_callbacks_reach_the_app() -> None:
    plain = Settings.build(poll_interval=2)
    with_callbacks = Settings.build(poll_interval=2, public_url="https://studio.example.com")
    assert max(itertools.islice(tracking.intervals(plain), 30)) == POLL_MAX_INTERVAL
    assert max(itertools.islice(tracking.intervals(with_callbacks, callbacks=True), 30)) == 60
    assert max(itertools.islice(tracking.intervals(Settings.build(poll_max_interval=5), callbacks=True), 30)) == 5
