"""``batch``: stable job keys, plans with checks and the total estimate, and the runner: bounded open creates, every
job created exactly once (history, reconciliation, reruns), 429 refusals waited out, never failures. The store
tests run on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import json
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes import FakeTime
from tests.images import photo, write
from tests.support.tracking import KEY, fake_settings, open_until_refused, sim_settings
from vidu_ui import batch, manifest
from vidu_ui.batch import JobSpec, Runner
from vidu_ui.client import ViduClient
from vidu_ui.follower import Follower
from vidu_ui.responses import TaskStatus
from vidu_ui.settings import Settings
from vidu_ui.simulator import Relay, Simulator
from vidu_ui.store import Store


@pytest.fixture
def pair(tmp_path: Path) -> tuple[str, str]:
    return (
        str(write(tmp_path / "a.png", photo(320, 180, seed=61), "PNG")),
        str(write(tmp_path / "b.png", photo(320, 180, seed=62), "PNG")),
    )


def specs(pair: tuple[str, str], count: int, **options: Any) -> list[JobSpec]:
    return [
        JobSpec(pair[0], pair[1], {"prompt": f"shot {i}", "model": "viduq1", **options}, f"#{i}") for i in range(count)
    ]


# --- keys and plans ---------------------------------------------------------------------------------------------


def test_keys_are_stable_and_follow_the_content(tmp_path: Path, pair: tuple[str, str]) -> None:
    first = batch.plan("b1", specs(pair, 3))
    assert [j.key for j in batch.plan("b1", specs(pair, 3)).jobs] == [j.key for j in first.jobs]
    assert len({j.key for j in first.jobs}) == 3
    assert not {j.key for j in batch.plan("b2", specs(pair, 3)).jobs} & {j.key for j in first.jobs}
    # the same request twice is two jobs; "5" in a CSV and 5 in a JSON line are the same option
    twice = batch.plan("b1", [JobSpec(*pair, {"prompt": "p", "duration": "5"}), JobSpec(*pair, {"prompt": "p"})])
    typed = batch.plan("b1", [JobSpec(*pair, {"prompt": "p", "duration": 5})])
    assert twice.jobs[0].key == typed.jobs[0].key != twice.jobs[1].key
    again = batch.plan("b1", [JobSpec(*pair, {"prompt": "p"}), JobSpec(*pair, {"prompt": "p"})])
    assert len({j.key for j in again.jobs}) == 2
    # another frame's bytes at the same path: another key
    write(Path(pair[1]), photo(320, 180, seed=63), "PNG")
    assert batch.plan("b1", specs(pair, 1)).jobs[0].key != first.jobs[0].key


def test_a_plan_has_each_jobs_checks_and_the_total_estimate(pair: tuple[str, str]) -> None:
    jobs = [*specs(pair, 2), JobSpec(pair[0], pair[1], {"prompt": "", "model": "viduq1", "duration": "9"}, "bad")]
    plan = batch.plan("b", jobs)
    assert [j.ok for j in plan.jobs] == [True, True, False]
    assert {p.field for p in plan.jobs[2].problems} == {"prompt", "duration"}
    assert all(p.key for p in plan.jobs[2].problems)  # message keys, rendered in either language
    one = batch.estimate({"model": "viduq1", "prompt": "x"})
    assert one and plan.total_estimate == 2 * one
    assert "estimate" in plan.total_line("en") and "估算" in plan.total_line("zh-CN")


def test_a_manifest_lists_columns_from_the_request_model() -> None:
    from vidu_ui.request import NAMES

    assert ("start", "end", *NAMES) == manifest.COLUMNS


def test_jsonl_paths_are_relative_to_the_manifest(tmp_path: Path, pair: tuple[str, str]) -> None:
    jobs = tmp_path / "jobs.jsonl"
    line = {"start": "a.png", "end": "https://example.com/b.png", "prompt": "p", "seed": 7, "audio": False}
    jobs.write_text(json.dumps(line) + "\n\n", encoding="utf-8")
    (spec,) = manifest.read_manifest(jobs)
    assert spec.start == str(tmp_path / "a.png") and spec.end == line["end"]
    assert spec.options == {"prompt": "p", "seed": 7, "audio": False}


# --- running ----------------------------------------------------------------------------------------------------


@pytest.fixture
def stores() -> Iterator[Callable[[Settings], Store]]:
    """``stores(settings)`` opens the history ``settings`` name; each is closed after the test."""
    opened: list[Store] = []

    def open_(settings: Settings) -> Store:
        opened.append(Store.open(settings))
        return opened[-1]

    yield open_
    for store in opened:
        store.close()


@pytest.mark.simulator(api_key=KEY, queue_seconds=0.1)
def test_a_batch_through_two_open_slots_is_created_once_and_a_rerun_sends_nothing(
    sim: Simulator, tmp_path: Path, pair: tuple[str, str], database: str | None, stores: Callable[[Settings], Store]
) -> None:
    sim.relay = Relay(max_open=2)
    extra = {"database_url": database} if database else {}
    settings = sim_settings(sim, tmp_path, create_retries=0, **extra)
    store = stores(settings)
    plan = batch.plan("run", specs(pair, 5))
    batch.save_plan(store, plan)
    batch.save_plan(store, plan)  # saving again keeps the jobs as they are
    with Follower(settings, store, keep_videos=False):
        runner = Runner(store, settings, "run", lambda: ViduClient(settings), max_in_flight=5, retry_base=0.05)
        with open_until_refused(sim):
            statuses = runner.run(until="settled")
        assert [s.outcome for s in statuses] == ["success"] * 5
        assert runner.creates == sim.create_count == 5
        assert runner.refusals > 0  # refused (429) creates were waited out, not failures
        again = Runner(store, settings, "run", lambda: ViduClient(settings), max_in_flight=5)
        again.run(until="settled")
    assert again.creates == 0 and sim.create_count == 5
    assert {r.job_key for r in store.list(limit=100)} == {j.key for j in plan.jobs}


class OneRefusal:
    """A service that refuses the first create with 429 QuotaExceeded, then accepts; counts the creates."""

    def __init__(self) -> None:
        self.creates = 0
        self.refused = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("start-end2video"):
            if not self.refused:
                self.refused += 1
                return httpx.Response(429, json={"code": 429, "reason": "QuotaExceeded", "message": "busy"})
            self.creates += 1
            return httpx.Response(200, json={"task_id": f"t{self.creates}", "state": "created", "credits": 80})
        return httpx.Response(200, json={"id": request.url.path.split("/")[-2], "state": "processing"})


@dataclass
class Faked:
    """A batch's history on a fake clock, with clients of the ``OneRefusal`` service (``faked``)."""

    time: FakeTime
    service: OneRefusal
    settings: Settings
    store: Store

    def client(self) -> ViduClient:
        return ViduClient(
            self.settings,
            transport=httpx.MockTransport(self.service),
            sleep=self.time.sleep,
            clock=self.time.clock,
        )


@pytest.fixture
def faked(tmp_path: Path, database: str | None, stores: Callable[[Settings], Store]) -> Callable[..., Faked]:
    """``faked(refusals=1, **settings)``: a fake clock, a service refusing the first ``refusals`` creates (0 or 1),
    settings on this test's engine and their history."""

    def make(refusals: int = 1, **changes: Any) -> Faked:
        service = OneRefusal()
        service.refused = 1 - refusals
        extra = {"database_url": database} if database else {}
        settings = fake_settings(tmp_path, **changes, **extra)
        return Faked(FakeTime(), service, settings, stores(settings))

    return make


def test_a_429_is_waited_out_and_leaves_no_task(pair: tuple[str, str], faked: Callable[..., Faked]) -> None:
    f = faked(create_retries=0)
    fake, service, settings, store = f.time, f.service, f.settings, f.store
    batch.save_plan(store, batch.plan("b", specs(pair, 2)))
    runner = Runner(store, settings, "b", f.client, max_in_flight=1, retry_base=10.0, clock=fake.clock)
    assert runner.step() == fake.now + 10.0  # refused: no task, the job waits 10 s
    first = batch.job_statuses(store, "b")
    assert [s.outcome for s in first] == ["waiting", "waiting"] and first[0].tries == 1
    assert store.list(unsent=True) == []
    fake.now += 5
    runner.step()
    assert service.creates == 0  # not yet due, and the other job waits behind it (the account is full)
    fake.now += 5
    runner.step()
    assert service.creates == 1  # sent; the second waits for a free slot (one open at most)
    assert [s.outcome for s in batch.job_statuses(store, "b")] == ["running", "waiting"]


def test_a_job_with_a_task_is_never_sent_and_one_not_created_is(
    pair: tuple[str, str], faked: Callable[..., Faked]
) -> None:
    f = faked(refusals=0)
    fake, service, settings, store = f.time, f.service, f.settings, f.store
    plan = batch.plan("b", specs(pair, 3))
    batch.save_plan(store, plan)
    done, unsure, gone = plan.jobs
    # job 1: created earlier (its answer recorded); job 2: sent, no answer yet (reconciliation will say);
    # job 3: reconciliation found no task, nothing was charged
    store.begin("r1", body={"model": "viduq1", "prompt": "shot 0"}, job_key=done.key)
    store.created("r1", "earlier", {"state": "success"})
    store.begin("r2", body={"model": "viduq1", "prompt": "shot 1"}, job_key=unsure.key)
    store.settle("r2", "unknown")
    store.begin("r3", body={"model": "viduq1", "prompt": "shot 2"}, job_key=gone.key)
    store.settle("r3", "not_created")

    Runner(store, settings, "b", f.client, max_in_flight=5, clock=fake.clock).step()
    assert service.creates == 1
    outcomes = {s.key: s.outcome for s in batch.job_statuses(store, "b")}
    assert outcomes == {done.key: "running", unsure.key: "unknown", gone.key: "running"}


def test_two_runners_of_one_batch_never_send_a_job_twice(pair: tuple[str, str], faked: Callable[..., Faked]) -> None:
    f = faked(refusals=0)
    fake, service, settings, store = f.time, f.service, f.settings, f.store
    plan = batch.plan("b", specs(pair, 1))
    batch.save_plan(store, plan)
    first, second = (Runner(store, settings, "b", f.client, clock=fake.clock) for _ in range(2))
    key = plan.jobs[0].key
    assert first.claim(key) and not second.claim(key)  # held by the first while it sends
    fake.now += settings.deadline + 61
    assert second.claim(key)  # a dead runner's claim lapses
    store.begin("r", body={"model": "viduq1"}, job_key=key)
    fake.now += settings.deadline + 61
    assert not first.claim(key)  # a task of the job exists (unanswered here): never again
    assert service.creates == 0


def test_cancel_all_holds_the_unsent_and_cancels_the_running(
    tmp_path: Path, pair: tuple[str, str], stores: Callable[[Settings], Store]
) -> None:
    settings = fake_settings(tmp_path)
    store = stores(settings)
    plan = batch.plan("b", specs(pair, 2))
    batch.save_plan(store, plan)
    store.begin("r1", body={"model": "viduq1"}, job_key=plan.jobs[0].key)
    store.created("r1", "t1", {"state": "queueing"})
    asked: list[str] = []
    assert batch.cancel_batch(store, "b", asked.append) == 1
    assert asked == ["t1"]
    assert [s.outcome for s in batch.job_statuses(store, "b")] == ["running", "held"]
    assert batch.exit_outcome(batch.job_statuses(store, "b")) == "failed"


def recorded(store: Store, ref: str, key: str, task_id: str | None = None, state: str | None = None) -> None:
    """A task of the job ``key`` in the history: written ahead, then answered (``task_id``) and queried
    (``state``), or settled as ``state`` without an answer (``unknown``, ``not_created``, ``needs_look``)."""
    store.begin(ref, body={"model": "viduq1", "prompt": ref}, job_key=key)
    if task_id is None:
        if state is not None:
            store.settle(ref, state)
        return
    store.created(ref, task_id, {"state": "created"})
    if state is not None:
        err_code = "TaskPromptPolicyViolation" if state == "failed" else None
        store.update_status(task_id, TaskStatus.from_json({"id": task_id, "state": state, "err_code": err_code}))


def test_a_job_is_retried_only_when_it_was_never_created_or_definitely_failed(
    tmp_path: Path, pair: tuple[str, str], database: str | None, stores: Callable[[Settings], Store]
) -> None:
    fake = FakeTime()
    service = OneRefusal()
    service.refused = 1  # accept every create
    extra = {"database_url": database} if database else {}
    settings = fake_settings(tmp_path, **extra)
    store = stores(settings)
    plan = batch.plan("b", specs(pair, 8))
    batch.save_plan(store, plan)
    failed, cancelled, held, running, unknown, look, succeeded, waiting = (j.key for j in plan.jobs)
    recorded(store, "r1", failed, "old1", "failed")
    recorded(store, "r2", cancelled, "old2", "cancelled")
    batch.cancel_job(store, "b", held, lambda _t: None)  # never sent: dropped
    recorded(store, "r4", running, "old4", "processing")
    recorded(store, "r5", unknown, None, "unknown")
    recorded(store, "r6", look, None, "needs_look")
    recorded(store, "r7", succeeded, "old7", "success")

    refusals = {}
    for key in (running, unknown, look, succeeded, waiting):
        with pytest.raises(batch.NotNow) as caught:
            batch.retry_job(store, "b", key)
        refusals[key] = caught.value.key
    assert refusals == {
        running: "batch_cannot_retry_open",
        unknown: "batch_cannot_retry_unknown",
        look: "batch_cannot_retry_unknown",
        succeeded: "batch_cannot_retry_succeeded",
        waiting: "batch_cannot_retry_waiting",
    }
    with pytest.raises(KeyError):
        batch.retry_job(store, "another batch", failed)
    for key in (failed, cancelled, held):
        batch.retry_job(store, "b", key)
    outcomes = {s.key: s.outcome for s in batch.job_statuses(store, "b")}
    assert [outcomes[k] for k in (failed, cancelled, held, running, unknown, look, succeeded, waiting)] == [
        "waiting", "waiting", "waiting", "running", "unknown", "unknown", "success", "waiting"
    ]  # fmt: skip

    def client() -> ViduClient:
        return ViduClient(settings, transport=httpx.MockTransport(service), sleep=fake.sleep, clock=fake.clock)

    runner = Runner(store, settings, "b", client, max_in_flight=20, clock=fake.clock)
    runner.step()
    assert service.creates == 4  # the three retried and the one never sent; nothing with a live or unknown task
    runner.step()
    assert service.creates == 4  # each once: the new task blocks the job again
    with pytest.raises(batch.NotNow):
        batch.retry_job(store, "b", failed)  # its new task is running
    rows = {r.ref: r for r in store.list(limit=100)}
    assert rows["r1"].job_key == failed and rows["r1"].state == "failed"  # the failed task stays in the history


def test_cancelling_one_job_drops_it_unsent_or_asks_only_while_created_or_queueing(
    tmp_path: Path, pair: tuple[str, str], stores: Callable[[Settings], Store]
) -> None:
    settings = fake_settings(tmp_path)
    store = stores(settings)
    plan = batch.plan("b", specs(pair, 6))
    batch.save_plan(store, plan)
    unsent, queued, processing, unknown, done, claimed = (j.key for j in plan.jobs)
    recorded(store, "r2", queued, "t2", "queueing")
    recorded(store, "r3", processing, "t3", "processing")
    recorded(store, "r4", unknown, None, "unknown")
    recorded(store, "r5", done, "t5", "success")
    fake = FakeTime()
    assert Runner(store, settings, "b", lambda: ViduClient(settings), clock=fake.clock).claim(claimed)  # being sent
    asked: list[str] = []

    assert batch.cancel_job(store, "b", unsent, asked.append) == "dropped"
    assert batch.cancel_job(store, "b", queued, asked.append) == "asked"
    assert asked == ["t2"]
    refused = {}
    for key in (processing, unknown, done, claimed, unsent):
        with pytest.raises(batch.NotNow) as caught:
            batch.cancel_job(store, "b", key, asked.append, clock=fake.clock)
        refused[key] = caught.value.key
    assert refused == {
        processing: "batch_cannot_cancel_started",
        unknown: "batch_cannot_cancel_unknown",
        done: "batch_cannot_cancel_ended",
        claimed: "batch_cannot_cancel_sending",
        unsent: "batch_cannot_cancel_ended",
    }
    assert asked == ["t2"]  # never a task the service would refuse, or one that may not exist
    statuses = {s.key: s for s in batch.job_statuses(store, "b")}
    assert statuses[unsent].outcome == "held" and statuses[unsent].hold == "cancelled"
    assert batch.NotNow("batch_cannot_cancel_sending", statuses[claimed]).message("zh-CN")


def test_a_refusal_holds_the_job_and_a_retry_sends_it_once_more(
    tmp_path: Path, pair: tuple[str, str], stores: Callable[[Settings], Store]
) -> None:
    """A 400 made no task (nothing billed): the job is held, not sent again on its own; a retry sends it."""
    fake = FakeTime()
    answers = [httpx.Response(400, json={"code": 400, "reason": "CreditInsufficient", "message": "no credits"})]

    def service(request: httpx.Request) -> httpx.Response:
        if answers:
            return answers.pop()
        return httpx.Response(200, json={"task_id": "t1", "state": "created", "credits": 80})

    settings = fake_settings(tmp_path, create_retries=0)
    store = stores(settings)
    batch.save_plan(store, batch.plan("b", specs(pair, 1)))

    def client() -> ViduClient:
        return ViduClient(settings, transport=httpx.MockTransport(service), sleep=fake.sleep, clock=fake.clock)

    runner = Runner(store, settings, "b", client, clock=fake.clock)
    runner.step()
    (job,) = batch.job_statuses(store, "b")
    assert job.outcome == "held" and job.hold == "refused" and store.list(limit=10) == []
    fake.now += settings.deadline + 61
    runner.step()
    assert runner.creates == 0  # held: never sent again by itself
    batch.retry_job(store, "b", job.key)
    runner.step()
    assert runner.creates == 1 and [s.task_id for s in batch.job_statuses(store, "b")] == ["t1"]


def app_threads() -> list[threading.Thread]:
    """This process's threads other than the in-process simulator's (its server starts one per connection)."""
    return [t for t in threading.enumerate() if not t.name.startswith(("sim-", "Thread-"))]


@pytest.mark.slow
@pytest.mark.simulator(api_key=KEY, queue_seconds=0.05, process_seconds=0.1)
def test_a_hundred_jobs_are_followed_without_a_thread_per_job(
    sim: Simulator, tmp_path: Path, pair: tuple[str, str], stores: Callable[[Settings], Store]
) -> None:
    """Threads and peak memory of a 100-job batch (the figures in docs/benchmarks.md, "Batches")."""
    settings = sim_settings(sim, tmp_path, create_retries=0)
    store = stores(settings)
    before = len(app_threads())
    tracemalloc.start()
    plan = batch.plan("hundred", specs(pair, 100))
    batch.save_plan(store, plan)
    peak_threads, peak_all = [0], [0]

    def sample(_line: str) -> None:
        peak_threads[0] = max(peak_threads[0], len(app_threads()))
        peak_all[0] = max(peak_all[0], threading.active_count())

    with Follower(settings, store, keep_videos=True):
        runner = Runner(store, settings, "hundred", lambda: ViduClient(settings), max_in_flight=10, on_event=sample)
        store.on_change(sample)
        statuses = runner.run(until="settled")
    _, peak_bytes = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert [s.outcome for s in statuses] == ["success"] * 100 and sim.create_count == 100
    assert all(s.video_path for s in statuses)
    extra = peak_threads[0] - before
    print(
        f"\nbatch of 100: {extra} app threads above the test's own at peak ({peak_all[0]} in the process, the "
        f"simulator's included); peak traced memory {peak_bytes / 1e6:.1f} MB"
    )
    assert extra <= 10  # the follower's scheduler and pools, a frame loader: never one per job


def test_the_batch_tables_match_the_migrations(tmp_path: Path) -> None:
    """``batch.batches``/``batch_jobs`` and ``tasks.job_key`` as the code describes them are what 0004 and 0006 make
    (tables and columns)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from vidu_ui.store import metadata

    store = Store(tmp_path / "history.sqlite3")
    try:
        with store.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        store.close()
    # indexes live in the migrations only (as the store's own)
    ours = [d for d in diff if ("batch" in repr(d) or "job_key" in repr(d)) and "index" not in str(d[0])]
    assert ours == []
