"""``callbacks``: the contract's worked example, every rejection (4xx, nothing changes), a valid callback as a
hint confirmed by a query, the FastAPI route, and the simulator sending real signed callbacks to a receiver."""

from __future__ import annotations

import time
from email.utils import formatdate
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.support.tracking import KEY, Rig, frame_pair, sim_body, sim_settings, status
from vidu_ui import signing
from vidu_ui.callbacks import (
    CALLBACK_PATH,
    MAX_BODY,
    REFUSED,
    CallbackReceiver,
    NonceCache,
    callback_url_for,
    mount_callback_route,
)
from vidu_ui.client import ViduClient
from vidu_ui.simulator import Simulator
from vidu_ui.store import Store
from vidu_ui.tracker import KeyOwner, Tracker

NOW = 1_746_533_382.0  # Tue, 06 May 2025 12:09:42 GMT
URL = "http://127.0.0.1:8080/vidu/callback?name=james&age=36"


def test_worked_example_signing_string() -> None:
    text = signing.signing_string(
        "post",
        "/vidu/callback",
        "name=james&age=36",
        "Tue, 06 May 2025 12:09:42 GMT",
        [("Date", "Tue, 06 May 2025 12:09:42 GMT"), ("x-request-nonce", "123e4567-e89b-12d3-a456-426614174000")],
    )
    assert text.encode() == (
        b"POST\n/vidu/callback\nname=james&age=36\nvidu\nTue, 06 May 2025 12:09:42 GMT\n"
        b"Date:Tue, 06 May 2025 12:09:42 GMT\nx-request-nonce:123e4567-e89b-12d3-a456-426614174000\n"
    )
    headers = signing.signed_headers(KEY, "POST", URL, now=NOW, nonce="123e4567-e89b-12d3-a456-426614174000")
    assert headers["Date"] == "Tue, 06 May 2025 12:09:42 GMT"
    assert headers["X-HMAC-SIGNED-HEADERS"] == "Date;x-request-nonce"
    assert headers["X-HMAC-ALGORITHM"] == "hmac-sha256" and headers["X-HMAC-ACCESS-KEY"] == "vidu"
    import base64
    import hashlib
    import hmac

    expected = base64.b64encode(hmac.new(KEY.encode(), text.encode(), hashlib.sha256).digest()).decode()
    assert headers["X-HMAC-SIGNATURE"] == expected


def test_callback_url_for(tmp_path: Path) -> None:
    rig = Rig(tmp_path, {})
    assert callback_url_for(rig.settings) is None
    assert callback_url_for(rig.settings.model_copy(update={"public_url": "https://studio.test/app/"})) == (
        "https://studio.test/app/vidu/callback"
    )


# --- the checks --------------------------------------------------------------------------------------------------


class Case:
    """A receiver over a real tracker (not started) on a fake service; the task ``1`` is processing."""

    def __init__(self, tmp: Path, **settings: Any) -> None:
        self.rig = Rig(tmp, {"1": ["processing"], "2": ["processing"]}, **settings)
        self.rig.record("1")
        self.rig.store.update_status("1", _status("1", "processing"))
        self.tracker = self.rig.make_tracker(keep_videos=False)
        self.tracker.step()  # the first query of a recorded task, due at once; the next is 2 s away
        self.rig.service.queries.clear()
        self.receiver = CallbackReceiver(self.rig.settings, self.rig.store, self.tracker, now=lambda: NOW + 5)

    def body(self, task_id: str = "1", state: str = "success") -> bytes:
        return orjson.dumps(status(task_id, state))

    def send(self, headers: dict[str, str], body: bytes | None = None, url: str = URL) -> tuple[int, str]:
        before = self.rig.store.get("1")
        result = self.receiver.handle_callback("POST", url, headers, self.body() if body is None else body)
        if result[0] != 200:
            assert self.rig.store.get("1") == before  # no state change
            queries = len(self.rig.service.queries)
            self.tracker.step()
            assert len(self.rig.service.queries) == queries  # and no query made due
        return result


def _status(task_id: str, state: str) -> Any:
    from vidu_ui.responses import TaskStatus

    return TaskStatus.from_json(status(task_id, state))


def signed(key: str = KEY, url: str = URL, *, now: float = NOW, nonce: str = "n-1") -> dict[str, str]:
    return signing.signed_headers(key, "POST", url, now=now, nonce=nonce)


def test_valid_callback_is_only_a_hint_confirmed_by_a_query(tmp_path: Path) -> None:
    case = Case(tmp_path)
    version = case.rig.store.version("1")
    assert case.send(signed()) == (200, "ok")
    # The body said success; nothing was written from it.
    assert case.rig.store.get("1").state == "processing"  # type: ignore[union-attr]
    assert case.rig.store.version("1") == version
    assert case.rig.service.queries == []
    case.tracker.step()  # the hint made a query due at once
    assert [t for t, _ in case.rig.service.queries] == ["1"]
    assert case.rig.store.get("1").state == "processing"  # type: ignore[union-attr]
    case.rig.service.scripts["1"] = ["success"]
    assert case.send(signed(nonce="n-2")) == (200, "ok")
    case.tracker.step()
    assert case.rig.store.get("1").state == "success"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("Date", "Tue, 06 May 2025 12:09:43 GMT"),
        ("x-request-nonce", "n-other"),
        ("X-HMAC-SIGNATURE", "AAAA" + signed()["X-HMAC-SIGNATURE"][4:]),
        ("X-HMAC-SIGNED-HEADERS", "x-request-nonce;Date"),
        ("X-HMAC-SIGNED-HEADERS", "x-request-nonce"),
    ],
)
def test_tampered_headers_are_rejected(tmp_path: Path, header: str, value: str) -> None:
    case = Case(tmp_path)
    headers = {**signed(), header: value}
    status_code, _ = case.send(headers)
    assert status_code == 401


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/vidu/callbacks?name=james&age=36",
        "http://127.0.0.1:8080/vidu/callback?name=james&age=37",
        "http://127.0.0.1:8080/vidu/callback",
    ],
)
def test_tampered_path_or_query_is_rejected(tmp_path: Path, url: str) -> None:
    assert Case(tmp_path).send(signed(), url=url) == REFUSED


def test_wrong_key_is_rejected(tmp_path: Path) -> None:
    assert Case(tmp_path).send(signed("sk-someone-else")) == REFUSED


def test_stale_or_future_date_is_rejected(tmp_path: Path) -> None:
    case = Case(tmp_path)
    assert case.send(signed(now=NOW - 400))[0] == 401
    assert case.send(signed(now=NOW + 400, nonce="n-3"))[0] == 401
    assert case.send(signed(now=NOW - 290, nonce="n-4"))[0] == 200


def test_replay_is_rejected(tmp_path: Path) -> None:
    case = Case(tmp_path)
    headers = signed()
    assert case.send(headers)[0] == 200
    case.tracker.step()
    assert case.send(headers) == (409, "replayed nonce")


def test_unknown_task_is_rejected(tmp_path: Path) -> None:
    case = Case(tmp_path)
    assert case.send(signed(), body=case.body("2")) == REFUSED  # known to the service, not to this app
    assert case.send(signed(), body=b"not json")[0] == 400
    assert case.send(signed(), body=b'{"state": "success"}')[0] == 400


def test_oversized_body_is_rejected(tmp_path: Path) -> None:
    case = Case(tmp_path)
    body = orjson.dumps({**status("1", "success"), "payload": "x" * MAX_BODY})
    assert case.send(signed(), body=body)[0] == 413


@pytest.mark.parametrize("algorithm", [None, "hmac-sha1", "", "none"])
def test_missing_or_wrong_algorithm_is_rejected(tmp_path: Path, algorithm: str | None) -> None:
    headers = signed()
    del headers["X-HMAC-ALGORITHM"]
    if algorithm is not None:
        headers["X-HMAC-ALGORITHM"] = algorithm
    assert Case(tmp_path).send(headers)[0] == 400


def test_only_post(tmp_path: Path) -> None:
    case = Case(tmp_path)
    assert case.receiver.handle_callback("GET", URL, signed(), case.body())[0] == 405


def test_visitor_task_is_checked_with_the_held_key_then_rejected(tmp_path: Path) -> None:
    case = Case(tmp_path)
    case.rig.record("5", key_kind="visitor")
    case.rig.service.scripts["5"] = ["processing", "success"]
    assert case.send(signed("sk-visitor"), body=case.body("5")) == REFUSED  # no key held: cannot check
    case.tracker.track("5", KeyOwner.visitor("sk-visitor"))
    case.tracker.step()
    assert case.send(signed(KEY, nonce="v-2"), body=case.body("5"))[0] == 401  # the server's key is not it
    assert case.send(signed("sk-visitor", nonce="v-1"), body=case.body("5"))[0] == 200
    case.rig.run(case.tracker)
    assert case.rig.store.get("5").state == "success"  # type: ignore[union-attr]
    assert case.send(signed("sk-visitor", nonce="v-3"), body=case.body("5")) == REFUSED  # key dropped


def test_signature_against_the_public_url_behind_a_proxy(tmp_path: Path) -> None:
    case = Case(tmp_path)
    settings = case.rig.settings.model_copy(update={"public_url": "https://studio.test/app"})
    receiver = CallbackReceiver(settings, case.rig.store, case.tracker, now=lambda: NOW)
    headers = signed(url="https://studio.test/app/vidu/callback?x=1")
    # The proxy strips /app: the app sees /vidu/callback, the service signed /app/vidu/callback.
    assert receiver.handle_callback("POST", "http://10.0.0.5:7860/vidu/callback?x=1", headers, case.body())[0] == 200


def test_nonce_cache_is_bounded_and_expires() -> None:
    cache = NonceCache(ttl=10, capacity=3)
    assert not cache.seen("a", 0) and cache.seen("a", 1)
    assert not cache.seen("b", 2) and not cache.seen("c", 3) and not cache.seen("d", 4)
    assert len(cache) == 3
    assert not cache.seen("a", 5)  # forgotten first when full
    assert not cache.seen("b", 20)  # expired
    assert len(cache) == 1


# --- over HTTP ------------------------------------------------------------------------------------------------


def test_route_with_testclient(tmp_path: Path) -> None:
    case = Case(tmp_path)
    real_now = time.time()
    receiver = CallbackReceiver(case.rig.settings, case.rig.store, case.tracker)
    app = FastAPI()
    mount_callback_route(app, receiver)
    client = TestClient(app, base_url="http://app.test")
    url = f"http://app.test{CALLBACK_PATH}?k=v"
    response = client.post(url, content=case.body(), headers=signed(url=url, now=real_now))
    assert (response.status_code, response.json()) == (200, {"ok": True, "message": "ok"})
    response = client.post(url, content=case.body(), headers=signed(url=url, now=real_now))
    assert response.status_code == 409
    response = client.post(url, content=b"x" * (MAX_BODY + 1), headers=signed(url=url, now=real_now, nonce="z"))
    assert response.status_code == 413
    assert client.get(CALLBACK_PATH).status_code == 405


@pytest.mark.simulator(api_key=KEY, queue_seconds=0.05, process_seconds=0.3)
def test_simulator_callbacks_drive_the_tracker(sim: Simulator, tmp_path: Path, receiver: tuple[FastAPI, str]) -> None:
    web, base = receiver
    # Polling so slow that only the callbacks can bring the news in time.
    settings = sim_settings(sim, tmp_path, poll_interval=600, poll_max_interval=600, public_url=base)
    store = Store.open(settings)
    with Tracker(settings, store) as tracker:
        callbacks = CallbackReceiver(settings, store, tracker)
        mount_callback_route(web, callbacks)
        callback_url = callback_url_for(settings)
        assert callback_url == f"{base}/vidu/callback"
        start, end = frame_pair()
        body = sim_body(start, end, callback_url=callback_url)
        with ViduClient(settings) as client:
            created = client.create(orjson.dumps(body))
        store.record_submission(task_id=created.task_id, body=body, response=created.raw)
        tracker.track(created.task_id)
        seen = list(tracker.watch(created.task_id, timeout=60))  # until finished and its video saved
    record = store.get(created.task_id)
    assert seen and record is not None and record.state == "success" and record.video_path is not None
    assert callbacks.nonces  # each accepted callback is one nonce
    queries = [r for r in sim.requests if r.call == "query"]
    # The first poll, then a query per callback (polling every 600 s never comes); one more where a callback lands
    # just as a query ends (seen once under load: 4 queries for 2 callbacks).
    assert 2 <= len(queries) <= 2 + len(callbacks.nonces)


def test_formatdate_matches_contract_example() -> None:
    assert formatdate(NOW, usegmt=True) == "Tue, 06 May 2025 12:09:42 GMT"


def test_an_unauthenticated_callback_gets_one_answer_whatever_the_task(tmp_path: Path) -> None:
    """No oracle: a forger cannot tell an unknown task from a known one, nor the server's key from a visitor's."""
    case = Case(tmp_path)
    case.rig.record("5", key_kind="visitor")  # a visitor's task whose key is not held
    forged = signed("sk-forger")
    answers = {
        task_id: case.send({**forged, "x-request-nonce": f"n-{task_id}"}, body=case.body(task_id))
        for task_id in ("1", "5", "2", "999999")  # the server's task, a visitor's, unknown, unknown
    }
    assert set(answers.values()) == {REFUSED}
    assert REFUSED[0] == 401


@pytest.mark.parametrize("task_id", ["task_5f2cAbC9", "3fa85f64-5717-4562-b3fc-2c963f66afa6"])
def test_a_relays_task_id_is_taken(tmp_path: Path, task_id: str) -> None:
    """The one task-id rule: a relay's id reaches the history's look-up: recorded, its callback is taken;
    unknown, it gets the one refusal (401), not the malformed-body answer (400)."""
    case = Case(tmp_path)
    assert case.send(signed(), body=case.body(task_id)) == REFUSED
    case.rig.record(task_id)
    assert case.send(signed(nonce="relay-2"), body=case.body(task_id))[0] == 200


@pytest.mark.parametrize("task_id", ["٣٣٣", "a/b", "x" * 129, 12.5, True])
def test_anything_else_is_not_a_task_id(tmp_path: Path, task_id: object) -> None:
    case = Case(tmp_path)
    body = orjson.dumps({"id": task_id, "state": "success"})
    assert case.send(signed(), body=body)[0] == 400


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_a_replay_to_another_replica_is_refused(tmp_path: Path, engine: str, request: pytest.FixtureRequest) -> None:
    """Two replicas (each its own store connection and follower) on one history: the nonce is shared."""
    from vidu_ui.tracker import Tracker

    overrides = {"database_url": request.getfixturevalue("postgres_url")} if engine == "postgresql" else {}
    case = Case(tmp_path, **overrides)
    other_store = Store.open(case.rig.settings)
    other = CallbackReceiver(
        case.rig.settings, other_store, Tracker(case.rig.settings, other_store), now=lambda: NOW + 5
    )
    headers = signed(nonce="n-replayed")
    assert case.send(headers) == (200, "ok")
    assert other.handle_callback("POST", URL, headers, case.body()) == (409, "replayed nonce")
    assert other.handle_callback("POST", URL, signed(nonce="n-fresh"), case.body()) == (200, "ok")
    assert len(case.receiver.nonces) == 2
    other_store.close()
    case.rig.store.close()
