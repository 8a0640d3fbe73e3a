"""``reconcile``: the record written before the create leaves, and settling creates that had no answer, against
the simulator's task list (the real client, the real store)."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import exc as sa_exc
from typer.testing import CliRunner

from tests.fakes import FakeTime
from tests.images import photo, write
from vidu_ui import reconcile
from vidu_ui.cli import app
from vidu_ui.client import ViduClient
from vidu_ui.errors import APIStatusError, OutcomeUnknownError
from vidu_ui.follower import Follower
from vidu_ui.messages import EN, ZH, render_error
from vidu_ui.request import TaskOptions
from vidu_ui.settings import Settings
from vidu_ui.simulator import Fault, Simulator
from vidu_ui.store import Store
from vidu_ui.submit import PreparedRequest, new_reference, prepare

KEY = "sk-reconcile-test-31"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(api_key=KEY, queue_seconds=0.05, process_seconds=0.2) as simulator:
        yield simulator


def settings_for(sim: Simulator, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "api_key": KEY,
        "base_url": sim.base_url,
        "data_dir": tmp_path / "data",
        "read_timeout": 2.0,
        "deadline": 10.0,
        "settle_seconds": 0.0,
        **overrides,
    }
    return Settings.build(**values)


@pytest.fixture
def frames(tmp_path: Path) -> tuple[Path, Path]:
    return (
        write(tmp_path / "s.png", photo(320, 240, seed=1), "PNG"),
        write(tmp_path / "e.png", photo(320, 240, seed=2), "PNG"),
    )


def request_for(frames: tuple[Path, Path], **options: Any) -> PreparedRequest:
    return prepare(frames[0], frames[1], TaskOptions(**{"model": "viduq1", "prompt": "a slow dolly in", **options}))


def sent_payloads(sim: Simulator) -> list[str | None]:
    return [task.request.payload for task in sim.store.all()]


def test_the_record_exists_before_the_create_and_carries_the_reference(
    sim: Simulator, frames: tuple[Path, Path], tmp_path: Path
) -> None:
    settings = settings_for(sim, tmp_path)
    store = Store.open(settings)
    seen_before_send: list[tuple[str, tuple[str | None, str | None]]] = []
    original = ViduClient.create

    def create(client: ViduClient, body: bytes) -> Any:
        seen_before_send.extend((r.state, r.frame_sources) for r in store.list(unsent=True))
        return original(client, body)

    sources = (str(frames[0]), "data:image/png;base64,AAAA")  # a data URI is never kept
    with ViduClient(settings) as client:
        client.create = create.__get__(client)  # type: ignore[method-assign]
        ref, task = reconcile.send(client, store, request_for(frames), settings, user="ana", frame_sources=sources)
    assert seen_before_send == [("sending", (str(frames[0]), None))]
    record = store.get(task.task_id)
    assert record is not None and record.ref == ref and record.user == "ana"
    assert record.reference == f"vidu-ui:{ref}" and sent_payloads(sim) == [record.reference]
    assert record.options["payload"] == record.reference
    body = sim.requests[-1]
    assert body.call == "create"
    assert record.fingerprint is not None and len(record.fingerprint) == 64


def test_a_reference_is_never_put_over_the_users_payload_or_when_turned_off(
    sim: Simulator, frames: tuple[Path, Path], tmp_path: Path
) -> None:
    store = Store.open(settings_for(sim, tmp_path))
    for settings, payload in (
        (settings_for(sim, tmp_path), "mine"),
        (settings_for(sim, tmp_path, payload_reference=False), None),
    ):
        with ViduClient(settings) as client:
            _, task = reconcile.send(client, store, request_for(frames, payload=payload), settings)
        record = store.get(task.task_id)
        assert record is not None and record.reference is None
    assert [p or None for p in sent_payloads(sim)] == ["mine", None]


def test_fingerprint_is_of_the_exact_bytes_sent(sim: Simulator, frames: tuple[Path, Path], tmp_path: Path) -> None:
    settings = settings_for(sim, tmp_path)
    store = Store.open(settings)
    request = request_for(frames)
    with ViduClient(settings) as client:
        ref, task = reconcile.send(client, store, request, settings)
    sent = reconcile.tagged(request, f"vidu-ui:{ref}")
    assert orjson.loads(sent.content)["images"] == request.body["images"]
    assert store.get(task.task_id).fingerprint == hashlib.sha256(sent.content).hexdigest()  # type: ignore[union-attr]


def test_a_request_prepared_with_its_reference_is_sent_as_prepared_and_only_once(
    sim: Simulator, frames: tuple[Path, Path], tmp_path: Path
) -> None:
    settings = settings_for(sim, tmp_path)
    store = Store.open(settings)
    reference = new_reference(settings)
    assert reference is not None and new_reference(settings_for(sim, tmp_path, payload_reference=False)) is None
    request = prepare(*frames, TaskOptions(model="viduq1", prompt="a slow dolly in"), reference=reference)
    assert request.reference == reference and request.body["payload"] == reference
    sent: list[bytes] = []
    original = ViduClient.create

    def create(client: ViduClient, body: bytes) -> Any:
        sent.append(body)
        return original(client, body)

    with ViduClient(settings) as client:
        client.create = create.__get__(client)  # type: ignore[method-assign]
        ref, task = reconcile.send(client, store, request, settings)
        assert sent == [request.content] and sent[0] is request.content  # not encoded again
        record = store.get(task.task_id)
        assert record is not None and record.ref == ref and record.reference == reference == f"vidu-ui:{ref}"
        assert record.fingerprint == hashlib.sha256(request.content).hexdigest()
        with pytest.raises(sa_exc.IntegrityError):  # its row exists: the same request is never sent again
            reconcile.send(client, store, request, settings)
    assert len(sent) == 1 and sent_payloads(sim) == [reference]
    # The user's own payload stays: the reference is then not used
    mine = prepare(*frames, TaskOptions(model="viduq1", prompt="p", payload="mine"), reference=new_reference(settings))
    assert mine.reference is None and mine.body["payload"] == "mine"


def test_no_answer_but_created_is_found_by_its_reference(
    sim: Simulator, frames: tuple[Path, Path], tmp_path: Path
) -> None:
    settings = settings_for(sim, tmp_path)
    store = Store.open(settings)
    sim.inject(Fault(call="create", action="reset_after_body"))
    said: list[str] = []
    with ViduClient(settings) as client:
        ref, task = reconcile.send(client, store, request_for(frames), settings, on_unknown=said.append)
    assert said == [reconcile.CHECKING]
    assert sim.create_count == 1 and [t.id for t in sim.store.all()] == [task.task_id]
    assert store.get(task.task_id).ref == ref  # type: ignore[union-attr]
    assert store.unsettled() == []


def test_no_answer_and_not_created_is_settled_as_nothing_charged(
    sim: Simulator, frames: tuple[Path, Path], tmp_path: Path
) -> None:
    settings = settings_for(sim, tmp_path)
    store = Store.open(settings)
    sim.inject(Fault(call="create", status=500))  # answered 500 without making a task
    said: list[str] = []
    with ViduClient(settings) as client, pytest.raises(reconcile.NotCreated) as caught:
        reconcile.send(client, store, request_for(frames), settings, on_unknown=said.append, lang="zh-CN")
    [record] = store.list(unsent=True)
    assert (record.state, record.task_id, record.finished) == ("not_created", "", True)
    assert sim.create_count == 0
    assert said == [ZH["checking_created"]]  # the words in the reader's language, from messages.py
    title, happened, advice = render_error(caught.value, "zh-CN")
    assert title == ZH["title_not_created"] and ZH["settled_not_created"] in happened
    assert advice == [ZH["hint_not_created"]]


def test_not_created_waits_until_the_window_is_past(sim: Simulator, frames: tuple[Path, Path], tmp_path: Path) -> None:
    settings = settings_for(sim, tmp_path, settle_seconds=300.0)
    store = Store.open(settings)
    sim.inject(Fault(call="create", status=500))
    with ViduClient(settings) as client, pytest.raises(reconcile.Unsettled) as caught:
        reconcile.send(client, store, request_for(frames), settings)
    assert isinstance(caught.value, OutcomeUnknownError) and caught.value.settled.verdict == "pending"
    title, happened, advice = render_error(caught.value, "en", "visitor")
    assert title == EN["title_unknown"] and EN["settled_pending"] in happened
    assert advice == [EN["hint_unsettled_visitor"]]
    [record] = store.unsettled()
    assert record.state == "unknown"
    later = record.updated_at + 301.0
    [result] = reconcile.reconcile(store, settings, lambda: ViduClient(settings), now=lambda: later)
    assert result.verdict == "not_created" and store.unsettled() == []


def test_a_refusal_leaves_no_record(sim: Simulator, frames: tuple[Path, Path], tmp_path: Path) -> None:
    settings = settings_for(sim, tmp_path, api_key="sk-wrong")
    store = Store.open(settings)
    with ViduClient(settings) as client, pytest.raises(APIStatusError):
        reconcile.send(client, store, request_for(frames), settings)
    assert store.list(unsent=True) == []


def test_the_users_payload_matches_by_model_prompt_and_payload(
    sim: Simulator, frames: tuple[Path, Path], tmp_path: Path
) -> None:
    settings = settings_for(sim, tmp_path)
    store = Store.open(settings)
    request = request_for(frames, payload="job-7")
    sim.inject(Fault(call="create", status=502, create_task=True))
    with ViduClient(settings) as client:
        _, task = reconcile.send(client, store, request, settings)
        assert [t.id for t in sim.store.all()] == [task.task_id]
        # Twice more, identically, outside the app: now the service holds two more tasks that could be a third send.
        client.create(request.content)
        client.create(request.content)
        sim.inject(Fault(call="create", status=502))
        with pytest.raises(reconcile.Unsettled) as caught:
            reconcile.send(client, store, request, settings)
    look = caught.value.settled
    assert look.verdict == "needs_look"
    others = {t.id for t in sim.store.all()} - {task.task_id}
    assert {c["id"] for c in look.candidates} == others  # the task already adopted is never a candidate
    record = next(r for r in store.unsettled())
    assert record.state == "needs_look" and {c["id"] for c in record.candidates} == others


def test_reconcile_settles_what_a_dead_process_left(sim: Simulator, frames: tuple[Path, Path], tmp_path: Path) -> None:
    """Rows left ``sending`` (the process died mid-create): one whose create reached the service, one whose did
    not, one still within its deadline, one made with a visitor's key."""
    settings = settings_for(sim, tmp_path, deadline=30.0)
    store = Store.open(settings)
    request = request_for(frames)

    def written_ahead(ref: str, *, key_kind: Any = "server") -> PreparedRequest:
        sent = reconcile.tagged(request, f"vidu-ui:{ref}")
        store.begin(ref, body=sent.shortened_body(), reference=f"vidu-ui:{ref}", key_kind=key_kind)
        return sent

    with ViduClient(settings) as client:
        billed = client.create(written_ahead("reached").content)  # then the process died
    written_ahead("never-left")
    written_ahead("visitor", key_kind="visitor")
    factory = lambda: ViduClient(settings)  # noqa: E731

    now = store.get_ref("never-left").created_at + 5  # type: ignore[union-attr]
    results = {r.ref: r for r in reconcile.reconcile(store, settings, factory, now=lambda: now)}
    assert results["reached"].verdict == "created" and results["reached"].task_id == billed.task_id
    assert results["never-left"].verdict == "pending"  # may still be in flight: never "not created" yet
    assert store.get_ref("never-left").state == "sending"  # type: ignore[union-attr]
    assert results["visitor"].verdict == "needs_key"

    later = now + 60
    results = {r.ref: r for r in reconcile.reconcile(store, settings, factory, now=lambda: later)}
    assert results["never-left"].verdict == "not_created" and "reached" not in results
    assert [r.task_id for r in store.list()] == [billed.task_id]  # every billed task, none invented
    assert store.get(billed.task_id) in store.unfinished()  # followed from here on


def test_cli_submit_checks_instead_of_leaving_outcome_unknown(
    sim: Simulator, frames: tuple[Path, Path], tmp_path: Path
) -> None:
    env = {
        "VIDU_BASE_URL": sim.base_url,
        "VIDU_API_KEY": KEY,
        "VIDU_UI_DATA_DIR": str(tmp_path / "data"),
        "VIDU_UI_SETTLE_SECONDS": "0",
    }
    runner = CliRunner()
    sim.inject(Fault(call="create", action="reset_after_body"))
    result = runner.invoke(app, ["submit", str(frames[0]), str(frames[1]), "-p", "x"], env=env)
    assert result.exit_code == 0, result.stderr
    assert reconcile.CHECKING in result.stderr
    assert json.loads(result.stdout)["task_id"] == sim.store.all()[0].id
    sim.inject(Fault(call="create", status=500))
    result = runner.invoke(app, ["submit", str(frames[0]), str(frames[1]), "-p", "x"], env=env)
    assert result.exit_code == 1 and "nothing was charged" in result.stderr
    assert sim.create_count == 1
    result = runner.invoke(app, ["reconcile"], env=env)
    assert result.exit_code == 0 and result.stdout == ""
    store = Store.open(Settings.build(data_dir=tmp_path / "data"))
    assert [r.task_id for r in store.list()] == [sim.store.all()[0].id]


def test_a_running_follower_reconciles_at_start_and_every_interval(
    sim: Simulator, frames: tuple[Path, Path], tmp_path: Path
) -> None:
    """What the app and ``worker`` run: a follower with ``reconcile_every`` settles at start what a dead process
    left, and again once the interval has passed on its clock (a fake one: nothing else moves it)."""
    settings = settings_for(sim, tmp_path, deadline=30.0)
    store = Store.open(settings)
    request = request_for(frames)
    time = FakeTime()
    changed = threading.Event()
    store.on_change(lambda _ref: changed.set())

    def billed_without_answer(ref: str) -> str:
        sent = reconcile.tagged(request, f"vidu-ui:{ref}")
        store.begin(ref, body=sent.shortened_body(), reference=f"vidu-ui:{ref}")
        with ViduClient(settings) as client:
            return client.create(sent.content).task_id  # and the process that sent it died

    def adopted(ref: str, task_id: str) -> None:
        for _ in range(120):  # bounded: each round waits for the store's change event, a second at most
            record = store.get_ref(ref)
            if record is not None and record.task_id == task_id:
                return
            changed.wait(1.0)
            changed.clear()
        raise AssertionError(f"{ref} was not settled")

    first = billed_without_answer("before-start")
    with Follower(settings, store, clock=time.clock, keep_videos=False, reconcile_every=60.0) as follower:
        adopted("before-start", first)
        second = billed_without_answer("while-running")
        time.now += 61
        follower.wake()
        adopted("while-running", second)
    assert sorted(r.task_id or "" for r in store.list(unsent=True)) == sorted([first, second])
    store.close()
