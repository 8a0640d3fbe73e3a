"""The validator's prepared request is reused by Generate: the frames are checked and decoded once per click."""

from __future__ import annotations

import os
from pathlib import Path

from tests.fakes import FakeTime
from tests.images import photo, write
from vidu_ui.request import TaskOptions
from vidu_ui.studio.prepared import PreparedCache, request_key
from vidu_ui.submit import prepare

OPTIONS = TaskOptions(model="viduq1", prompt="a slow dolly in")


def frames(tmp_path: Path) -> tuple[str, str]:
    start = write(tmp_path / "s.png", photo(160, 120, seed=1), "PNG")
    end = write(tmp_path / "e.png", photo(160, 120, seed=2), "PNG")
    return str(start), str(end)


def test_an_entry_is_taken_once(tmp_path: Path) -> None:
    start, end = frames(tmp_path)
    cache = PreparedCache()
    key = request_key(start, end, OPTIONS, True)
    request = prepare(start, end, OPTIONS, auto_fit=True)
    cache.put(key, request)
    assert cache.take(request_key(start, end, OPTIONS, True)) is request
    assert cache.take(key) is None


def test_other_options_frames_or_a_changed_file_miss(tmp_path: Path) -> None:
    start, end = frames(tmp_path)
    cache = PreparedCache()
    cache.put(request_key(start, end, OPTIONS, True), prepare(start, end, OPTIONS, auto_fit=True))
    assert cache.take(request_key(start, end, OPTIONS, False)) is None
    assert cache.take(request_key(end, start, OPTIONS, True)) is None
    assert cache.take(request_key(start, end, TaskOptions(model="viduq1", prompt="other"), True)) is None
    write(Path(start), photo(160, 120, seed=9), "PNG")
    os.utime(start, ns=(1, 1))
    assert cache.take(request_key(start, end, OPTIONS, True)) is None


def test_entries_expire_and_the_total_size_is_bounded(tmp_path: Path) -> None:
    start, end = frames(tmp_path)
    request = prepare(start, end, OPTIONS)
    time = FakeTime()
    cache = PreparedCache(ttl=60, max_bytes=request.size * 2, clock=time.clock)
    for n in range(3):
        cache.put(("k", n), request)
    assert len(cache) == 2  # the oldest went to keep the bodies under max_bytes
    time.sleep(61)
    assert cache.take(("k", 2)) is None and len(cache) == 0
