"""``follower``: several followers on one store share the tasks by leases; a dead one's tasks are taken over once
its lease lapses; each due query is made once, by one follower; threads stay bounded for 1,000 tasks.

The same tests run on SQLite and on a real PostgreSQL server (``tests/servers.py``)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa

from tests.support.tracking import FakeService, fake_async_client, fake_client, fake_settings
from vidu_ui.client import AsyncViduClient
from vidu_ui.follower import RESOLVERS, Follower, KeyOwner
from vidu_ui.store import Store, tasks

from .fakes import FakeTime


class Team:
    """Followers sharing one store, one fake service and one fake clock; each query says which follower made it."""

    opened: ClassVar[list[Store]] = []

    def __init__(self, tmp: Path, database_url: str | None, scripts: dict[str, list[Any]], **settings: Any) -> None:
        self.time = FakeTime()
        self.service = FakeService(scripts, self.time)
        extra = {"database_url": database_url} if database_url else {}
        self.settings = fake_settings(tmp, poll_interval=10.0, poll_max_interval=10.0, **extra, **settings)
        self.store = Store.open(self.settings)
        Team.opened.append(self.store)
        self.by: list[tuple[str, str, float]] = []  # (task id, follower, clock) of each query
        self.gate: Callable[[str], None] | None = None
        """Called with the follower's name as each query starts (a test holds one there)."""
        self._lock = threading.Lock()

    def follower(self, name: str, **kw: Any) -> Follower:
        def client(owner: KeyOwner) -> AsyncViduClient:
            team = self
            inner = fake_async_client(self.settings, self.service, self.time)
            original = inner.query

            async def query(task_id: str) -> Any:
                with team._lock:
                    team.by.append((task_id, name, team.time.now))
                if team.gate is not None:
                    team.gate(name)
                return await original(task_id)

            inner.query = query  # type: ignore[method-assign]
            return inner

        return Follower(
            self.settings,
            self.store,
            client_factory=lambda owner: fake_client(self.settings, self.service, self.time),
            async_client_factory=client,
            clock=self.time.clock,
            keep_videos=False,
            owner_id=name,
            **kw,
        )

    def record(self, *ids: str) -> None:
        for task_id in ids:
            self.store.record_submission(
                task_id=task_id, body={"model": "viduq1", "prompt": task_id}, response={"state": "created"}
            )


@pytest.fixture(autouse=True)
def _close_stores() -> Iterator[None]:
    """Each team's store is closed after its test (on PostgreSQL it holds a listening connection)."""
    yield
    while Team.opened:
        Team.opened.pop().close()


def test_a_dead_followers_tasks_are_taken_over_when_its_lease_lapses(tmp_path: Path, database: str | None) -> None:
    team = Team(tmp_path, database, {"1": ["processing", "success"], "2": ["processing", "success"]})
    team.record("1", "2")
    alive = team.follower("alive", lease_seconds=30)
    alive.track("1")
    alive.track("2")
    # A follower claimed task 1 and died mid-query: its lease stays until it lapses.
    with team.store.write() as conn:
        conn.execute(
            tasks.update().where(tasks.c.task_id == "1").values(lease_owner="dead", lease_until=team.time.now + 30)
        )
    alive.step()
    assert [t for t, _, _ in team.by] == ["2"]  # task 1 is the dead one's until its lease lapses
    team.time.now += 31
    for _ in range(5):
        alive.step()
        team.time.now += 10
    assert Counter(t for t, _, _ in team.by) == {"1": 2, "2": 2}
    assert {r.state for r in team.store.list()} == {"success"}
    assert not alive.is_following("1") and not alive.is_following("2")


def test_each_due_query_is_made_once_by_one_follower(tmp_path: Path, database: str | None) -> None:
    ids = [str(n) for n in range(1, 41)]
    team = Team(tmp_path, database, {i: ["processing", "processing", "success"] for i in ids})
    team.record(*ids)
    followers = [team.follower(name) for name in ("a", "b", "c")]
    for task_id in ids:
        followers[int(task_id) % 3].track(task_id)
    for _ in range(4):
        barrier = threading.Barrier(len(followers))

        def run(follower: Follower, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()  # all three claim at the same moment, a few rows at a time as a running follower does
            for _ in range(len(ids)):  # until nothing it could claim is due in this interval (bounded)
                due = follower.step(limit=2)
                if due is None or due > team.time.now:
                    break

        threads = [threading.Thread(target=run, args=(f,)) for f in followers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        team.time.now += 10
    per_interval = Counter((task_id, when) for task_id, _, when in team.by)
    assert set(per_interval.values()) == {1}  # never queried by two followers in the same interval
    assert Counter(t for t, _, _ in team.by) == dict.fromkeys(ids, 3)
    assert {r.state for r in team.store.list(limit=100)} == {"success"}
    assert len({name for _, name, _ in team.by}) > 1  # the work was shared


def test_a_callback_to_another_replica_during_a_query_is_not_lost(tmp_path: Path, database: str | None) -> None:
    """A callback reaches replica "other" while "holder" is in the middle of querying the task (the answer it will
    get may be from before the change): when the holder's job ends, the task is due at once, not after the next
    poll interval."""
    team = Team(tmp_path, database, {"1": ["processing", "success"]})
    team.record("1")
    holder, other = team.follower("holder"), team.follower("other")
    in_query, release = threading.Event(), threading.Event()
    now = team.time.now

    def gate(name: str) -> None:
        if name == "holder":
            in_query.set()
            assert release.wait(30)

    team.gate = gate
    job = threading.Thread(target=holder.step)
    job.start()
    assert in_query.wait(30)
    other.refresh("1", wait=False)  # the callback's hint, in another process
    release.set()
    job.join(30)
    team.gate = None
    assert other.step() is None  # due at once: queried now, finished, no longer followed
    assert [(name, when) for _, name, when in team.by] == [("holder", now), ("other", now)]
    record = team.store.get("1")
    assert record is not None and record.state == "success"


def test_a_visitors_task_is_followed_only_where_its_key_is_held(tmp_path: Path, database: str | None) -> None:
    team = Team(tmp_path, database, {"7": ["processing", "success"]})
    team.store.record_submission(task_id="7", body={}, response={}, key_kind="visitor")
    holder, other = team.follower("holder"), team.follower("other")
    holder.track("7", KeyOwner.visitor("sk-visitor-7"))
    other.step()
    assert team.by == []
    holder.step()
    assert [name for _, name, _ in team.by] == ["holder"]
    assert other.signing_key("7") is None and holder.signing_key("7") == "sk-visitor-7"


@pytest.mark.parametrize("count", [pytest.param(1000, marks=[pytest.mark.slow, pytest.mark.timeout(1500)]), 30])
def test_threads_stay_bounded_following_many_tasks(tmp_path: Path, count: int) -> None:
    """The figures in docs/benchmarks.md ("Following 1,000 tasks") come from this test (``-m slow -s``)."""
    ids = [str(n) for n in range(1, count + 1)]
    team = Team(tmp_path, None, {i: ["processing", "processing", "success"] for i in ids})
    team.record(*ids)
    before_threads, before_rss = threading.active_count(), _rss()
    follower = team.follower("one", download_workers=2)
    changed = threading.Event()
    team.store.on_change(lambda _ref: changed.set())

    def succeeded() -> int:
        with team.store.read() as conn:
            return int(conn.execute(sa.select(sa.func.count()).where(tasks.c.state == "success")).scalar() or 0)

    most = 0
    with follower:
        for task_id in ids:
            follower.track(task_id)
        for _ in range(10_000):
            most = max(most, threading.active_count())
            if succeeded() == count:
                break
            if not changed.wait(0.5):  # quiet: every due query was made; move the fake clock to the next ones
                team.time.now += 10
                follower.wake()
            changed.clear()
    assert succeeded() == count
    assert Counter(t for t, _, _ in team.by) == dict.fromkeys(ids, 3)
    assert most - before_threads <= 1 + 1 + 2 + RESOLVERS  # the loop, the store's, downloads, host-name lookups
    print(f"\nfollowing {count} tasks: {most - before_threads} threads, RSS +{(_rss() - before_rss) / 1e6:.1f} MB")


def _rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0
