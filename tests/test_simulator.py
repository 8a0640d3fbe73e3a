from __future__ import annotations

import base64
import io
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import av
import httpx
import pytest
from PIL import Image

from tests.images import encode, photo
from vidu_ui import signing
from vidu_ui.catalogue import DEFAULT_MODEL, MODELS, get_model
from vidu_ui.simulator import Fault, Relay, Simulator, serve
from vidu_ui.simulator.tasks import CONCURRENCY, Task
from vidu_ui.simulator.validate import validate_create

KEY = "sim-secret-key-123"
CREATE = "/ent/v2/start-end2video"
START_PNG = encode(photo(320, 180, 1), "PNG")
END_JPEG = encode(photo(320, 180, 2), "JPEG")
_model = get_model(DEFAULT_MODEL)
assert _model is not None
MODEL = _model
DROP = object()


def data_uri(data: bytes, kind: str) -> str:
    return f"data:image/{kind};base64,{base64.b64encode(data).decode()}"


START, END = data_uri(START_PNG, "png"), data_uri(END_JPEG, "jpeg")

pytestmark = pytest.mark.simulator(api_key=KEY, queue_seconds=0.05, process_seconds=0.1, callback_backoff=0.01)


def create_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": DEFAULT_MODEL,
        "images": [START, END],
        "prompt": "a walk in the park",
        "duration": 2,
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not DROP}


class Receiver:
    """A tiny HTTP server standing in for a callback endpoint and an image host."""

    def __init__(self, status: int = 200, files: dict[str, bytes] | None = None) -> None:
        self.status = status
        self.files = files or {}
        self.calls: list[tuple[str, str, dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.calls.append(("POST", self.path, dict(self.headers.items()), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:
                content = receiver.files.get(self.path)
                self.send_response(200 if content is not None else 404)
                self.send_header("Content-Length", str(len(content or b"")))
                self.end_headers()
                self.wfile.write(content or b"")

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def client(sim: Simulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.base_url, headers={"Authorization": f"Bearer {KEY}"}, timeout=30) as c:
        yield c


@pytest.fixture
def callback_host() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def create(client: httpx.Client, **changes: Any) -> dict[str, Any]:
    response = client.post(CREATE, json=create_body(**changes))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def query(client: httpx.Client, task_id: str) -> dict[str, Any]:
    response = client.get(f"/ent/v2/tasks/{task_id}/creations")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def wait_until(check: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.02)
    raise AssertionError("timed out waiting")


def wait_final(client: httpx.Client, task_id: str) -> dict[str, Any]:
    result: dict[str, Any] = wait_until(lambda: (q := query(client, task_id))["state"] in ("success", "failed") and q)
    return result


# -- authentication -----------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["Bearer", "Token", "bearer"])
def test_both_schemes_are_accepted(sim: Simulator, scheme: str) -> None:
    response = httpx.get(f"{sim.base_url}/ent/v2/credits", headers={"Authorization": f"{scheme} {KEY}"})
    assert response.status_code == 200
    assert response.json()["remains"][0]["credit_remain"] == 10000


@pytest.mark.parametrize("header", [f"Bearer {KEY}x", "Bearer", f"Basic {KEY}", KEY, None])
def test_anything_else_is_unauthorized(sim: Simulator, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = httpx.post(f"{sim.base_url}{CREATE}", json=create_body(), headers=headers)
    assert response.status_code == 401
    body = response.json()
    assert (body["code"], body["reason"]) == (401, "Unauthorized")
    assert body["metadata"]["trace_id"]
    assert sim.create_count == 0
    assert KEY not in json.dumps([r.to_json() for r in sim.requests])


# -- a task from create to video ----------------------------------------------------------------------


def test_create_answers_like_the_service(client: httpx.Client) -> None:
    task = create(client, payload="mine", seed=42)
    assert task["task_id"].isdigit() and len(task["task_id"]) >= 18
    assert (task["type"], task["state"], task["model"]) == ("headtailimg2video", "created", DEFAULT_MODEL)
    assert (task["duration"], task["seed"], task["payload"], task["prompt"]) == (2, 42, "mine", "a walk in the park")
    assert task["resolution"] == MODEL.default_resolution_for(2)
    assert task["created_at"].endswith("Z")
    assert task["credits"] > 0
    assert len(task["images"]) == 2 and all(i.startswith("http://") for i in task["images"])
    rec = create(client, is_rec=True)
    assert rec["credits"] == task["credits"] + 10


def test_task_moves_to_success_and_serves_a_real_mp4(client: httpx.Client) -> None:
    task_id = create(client)["task_id"]
    seen = [query(client, task_id)["state"]]
    final = wait_final(client, task_id)
    seen.append(final["state"])
    assert seen[0] in ("created", "queueing", "processing") and seen[-1] == "success"
    assert final["err_code"] == "" and final["credits"] > 0
    (creation,) = final["creations"]
    assert creation["id"].isdigit() and "watermarked_url" not in creation

    video = httpx.get(creation["url"])
    assert video.status_code == 200
    assert video.headers["content-type"] == "video/mp4"
    assert video.headers["accept-ranges"] == "bytes"
    with av.open(io.BytesIO(video.content), mode="r") as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert (stream.width, stream.height) == (320, 180)
        assert len(list(container.decode(video=0))) >= 1

    part = httpx.get(creation["url"], headers={"Range": "bytes=0-99"})
    assert part.status_code == 206
    assert part.content == video.content[:100]
    assert part.headers["content-range"] == f"bytes 0-99/{len(video.content)}"
    tail = httpx.get(creation["url"], headers={"Range": "bytes=-50"})
    assert (tail.status_code, tail.content) == (206, video.content[-50:])
    beyond = httpx.get(creation["url"], headers={"Range": f"bytes={len(video.content)}-"})
    assert beyond.status_code == 416

    cover = httpx.get(creation["cover_url"])
    assert cover.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(cover.content)).format == "JPEG"


def test_states_pass_through_queueing_and_processing() -> None:
    with (
        Simulator(KEY, queue_seconds=0.2, process_seconds=0.3) as sim,
        httpx.Client(base_url=sim.base_url, headers={"Authorization": f"Token {KEY}"}) as client,
    ):
        task_id = create(client)["task_id"]
        states: list[str] = []
        while not states or states[-1] not in ("success", "failed"):
            state = query(client, task_id)["state"]
            if not states or states[-1] != state:
                states.append(state)
            time.sleep(0.02)
        assert states == ["created", "queueing", "processing", "success"]


def test_watermarked_copy_when_asked(client: httpx.Client) -> None:
    final = wait_final(client, create(client, watermark=True, wm_position=1)["task_id"])
    url = final["creations"][0]["watermarked_url"]
    with av.open(io.BytesIO(httpx.get(url).content), mode="r") as container:
        assert container.streams.video[0].codec_context.name == "h264"


def test_expired_or_tampered_link_is_forbidden(sim: Simulator, client: httpx.Client) -> None:
    url = wait_final(client, create(client)["task_id"])["creations"][0]["url"]
    tampered = httpx.get(url.replace("sig=", "sig=0"))
    assert tampered.status_code == 403
    sim.url_ttl = -1
    expired_url = query(client, url.split("/")[-2])["creations"][0]["url"]
    expired = httpx.get(expired_url)
    assert expired.status_code == 403
    assert expired.json()["reason"] == "Forbidden" and "expired" in expired.json()["message"]


# -- validation ---------------------------------------------------------------------------------------

ALL_RESOLUTIONS = sorted({r for m in MODELS for d in m.durations for r in m.resolutions_for(d)})
NARROW = next((m, r) for m in MODELS for r in ALL_RESOLUTIONS if r not in m.resolutions_for(m.default_duration))
WIDE = data_uri(encode(photo(500, 100, 3), "PNG"), "png")
SQUARE = data_uri(encode(photo(180, 180, 3), "PNG"), "png")
BIGGER = data_uri(encode(photo(400, 225, 3), "PNG"), "png")


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"style": "general"}, "FieldUnwanted"),
        ({"model": DROP}, "FieldLacking"),
        ({"images": DROP}, "FieldLacking"),
        ({"prompt": DROP}, "FieldLacking"),
        ({"images": [START]}, "FieldItemCountOutOfRange"),
        ({"images": [START, END, END]}, "FieldItemCountOutOfRange"),
        ({"model": "vidu-nonexistent"}, "FieldInvalid"),
        ({"duration": max(MODEL.durations) + 1}, "FieldInvalid"),
        ({"resolution": "4k"}, "FieldInvalid"),
        ({"model": NARROW[0].name, "duration": NARROW[0].default_duration, "resolution": NARROW[1]}, "FieldInvalid"),
        ({"prompt": "x" * 2001}, "FieldInvalid"),
        ({"seed": -1}, "FieldInvalid"),
        ({"seed": 2147483648}, "FieldInvalid"),
        ({"wm_position": 5}, "FieldInvalid"),
        ({"wm_position": 0}, "FieldInvalid"),
        ({"movement_amplitude": "huge"}, "FieldInvalid"),
        ({"images": [data_uri(START_PNG, "gif"), END]}, "ImageFormatInvalid"),
        ({"images": [data_uri(END_JPEG, "png"), END]}, "ImageFormatInvalid"),
        ({"images": [data_uri(b"not an image at all", "png"), END]}, "ImageFormatInvalid"),
        ({"images": ["ftp://example.com/a.png", END]}, "ImageFormatInvalid"),
        ({"images": [WIDE, END]}, "PageSizeOutOfRange"),
        ({"images": [START, SQUARE]}, "PageSizeOutOfRange"),
        ({"images": [START, BIGGER]}, "PageSizeOutOfRange"),
    ],
)
def test_create_rejects_like_the_service(
    sim: Simulator, client: httpx.Client, changes: dict[str, Any], reason: str
) -> None:
    response = client.post(CREATE, json=create_body(**changes))
    assert response.status_code == 400, response.text
    body = response.json()
    assert (body["code"], body["reason"]) == (400, reason)
    assert body["message"] and body["metadata"]["trace_id"]
    assert sim.create_count == 0


def test_create_accepts_a_pair_within_the_ratio_limits(client: httpx.Client) -> None:
    close = data_uri(encode(photo(336, 189, 4), "WEBP"), "webp")  # 1.1× the pixels, same aspect
    assert create(client, images=[START, close])["state"] == "created"


def test_create_rejects_non_json_and_oversized_bodies(sim: Simulator, client: httpx.Client) -> None:
    not_json = client.post(CREATE, content=b"model=viduq1", headers={"Content-Type": "application/json"})
    assert (not_json.status_code, not_json.json()["reason"]) == (400, "BadRequest")
    huge = client.post(CREATE, content=b"{" + b" " * 20_000_000 + b"}")
    assert (huge.status_code, huge.json()["reason"]) == (400, "PageSizeOutOfRange")
    assert sim.create_count == 0
    assert sim.requests[-1].body_size == 20_000_002


def test_credits_decrease_and_run_out(sim: Simulator, client: httpx.Client) -> None:
    cost = create(client)["credits"]
    assert client.get("/ent/v2/credits").json()["remains"][0]["credit_remain"] == 10000 - cost
    sim.credits = cost - 1
    response = client.post(CREATE, json=create_body())
    assert (response.status_code, response.json()["reason"]) == (400, "CreditInsufficient")
    assert sim.create_count == 1


# -- cancel, lookups and the list ---------------------------------------------------------------------


def test_cancel_ends_the_task_and_refunds(sim: Simulator, client: httpx.Client) -> None:
    task_id = create(client)["task_id"]
    response = client.post(f"/ent/v2/tasks/{task_id}/cancel", json={"id": task_id})
    assert response.status_code == 200
    after = query(client, task_id)
    assert (after["state"], after["err_code"], after["credits"]) == ("failed", "UserCancelled", 0)
    assert sim.credits == 10000
    again = client.post(f"/ent/v2/tasks/{task_id}/cancel", json={"id": task_id})
    assert again.status_code == 400 and "already finished" in again.json()["message"]
    wrong = client.post(f"/ent/v2/tasks/{task_id}/cancel", json={"id": "1"})
    assert (wrong.status_code, wrong.json()["reason"]) == (400, "FieldInvalid")


def test_a_finished_task_cannot_be_cancelled(client: httpx.Client) -> None:
    task_id = create(client)["task_id"]
    wait_final(client, task_id)
    response = client.post(f"/ent/v2/tasks/{task_id}/cancel", json={"id": task_id})
    assert response.status_code == 400 and "success" in response.json()["message"]


def test_unknown_and_malformed_ids_and_paths(client: httpx.Client) -> None:
    missing = client.get("/ent/v2/tasks/123456789/creations")
    assert (missing.status_code, missing.json()["reason"]) == (404, "TaskNotFound")
    assert client.get("/ent/v2/tasks/task_abc/creations").status_code == 404  # a task id, just not known
    malformed = client.get("/ent/v2/tasks/a%20b/creations")
    assert malformed.status_code == 400
    assert client.post("/ent/v2/tasks/123/cancel", json={"id": "123"}).status_code == 404
    assert client.get("/ent/v2/nowhere").status_code == 404


def test_list_filters_and_pages(client: httpx.Client) -> None:
    ids = [create(client)["task_id"] for _ in range(3)]
    client.post(f"/ent/v2/tasks/{ids[1]}/cancel", json={"id": ids[1]})

    def listed(**params: Any) -> dict[str, Any]:
        response = client.get("/ent/v2/tasks", params=params)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    assert [t["id"] for t in listed()["tasks"]] == ids[::-1]
    assert {t["id"] for t in listed(task_ids=f"{ids[0]},{ids[2]}")["tasks"]} == {ids[0], ids[2]}
    assert [t["id"] for t in listed(states="failed")["tasks"]] == [ids[1]]
    first = listed(**{"pager.pagesz": 2})
    assert len(first["tasks"]) == 2 and first["next_page_token"]
    second = listed(**{"pager.pagesz": 2, "pager.page_token": first["next_page_token"]})
    assert [t["id"] for t in second["tasks"]] == [ids[0]] and second["next_page_token"] == ""
    assert listed(**{"created_at.from": str(int(time.time()) + 60)})["tasks"] == []
    unwanted = client.get("/ent/v2/tasks", params={"pager.page_sz": 2})  # the service's answer to a misspelling
    assert (unwanted.status_code, unwanted.json()["reason"]) == (400, "FieldUnwanted")
    assert (
        len(listed(**{"created_at.from": "2020-01-01T00:00:00Z", "created_at.to": "2099-01-01T00:00:00Z"})["tasks"])
        == 3
    )
    for size in ("101", "0"):
        response = client.get("/ent/v2/tasks", params={"pager.pagesz": size})
        assert (response.status_code, response.json()["reason"]) == (400, "PageSizeOutOfRange")


def test_at_most_five_process_at_once_and_off_peak_takes_longer() -> None:
    with (
        Simulator(KEY, queue_seconds=0.02, process_seconds=1.0, off_peak_factor=3) as sim,
        httpx.Client(base_url=sim.base_url, headers={"Authorization": f"Bearer {KEY}"}) as client,
    ):
        normal = create(client)
        off_peak = create(client, off_peak=True)
        assert off_peak["credits"] < normal["credits"]
        for _ in range(5):
            create(client)
        time.sleep(0.15)
        states = [t["state"] for t in client.get("/ent/v2/tasks").json()["tasks"]]
        assert states.count("processing") == 5 and states.count("queueing") == 2
        remains = client.get("/ent/v2/credits").json()["remains"][0]
        assert (remains["current_concurrency"], remains["queue_count"]) == (5, 2)
        tasks = {t.id: t for t in sim.store.all()}
        assert tasks[off_peak["task_id"]].run_seconds == 3 * tasks[normal["task_id"]].run_seconds


@pytest.mark.parametrize("max_open", [None, 3, 8])
def test_the_credits_call_tells_the_accounts_queue_as_the_tasks_stand(max_open: int | None) -> None:
    """``concurrency_limit`` is what may run at once (the five slots, fewer when ``max_open`` allows fewer unfinished
    tasks, never more); running and queued add up to the unfinished tasks, and never more run than the limit."""
    with (
        Simulator(KEY, queue_seconds=0, process_seconds=30.0, relay=Relay(max_open=max_open)) as sim,
        httpx.Client(base_url=sim.base_url, headers={"Authorization": f"Bearer {KEY}"}) as client,
    ):
        made = [create(client) for _ in range(min(7, max_open or 7))]
        limit = min(max_open or CONCURRENCY, CONCURRENCY)  # no queue time: each task takes a free slot at once
        remains = client.get("/ent/v2/credits").json()["remains"][0]
        running, queued = remains["current_concurrency"], remains["queue_count"]
        assert remains["concurrency_limit"] == limit
        assert running == min(len(made), limit) and running + queued == sim.store.open_count(time.time())


def test_fail_next_fails_one_task_with_that_code(sim: Simulator, client: httpx.Client) -> None:
    sim.fail_next("CreationPolicyViolation")
    failed = wait_final(client, create(client)["task_id"])
    assert (failed["state"], failed["err_code"], failed["creations"]) == ("failed", "CreationPolicyViolation", [])
    assert wait_final(client, create(client)["task_id"])["state"] == "success"


def test_image_urls_are_fetched_by_the_task(client: httpx.Client, callback_host: Receiver) -> None:
    callback_host.files = {"/a.png": START_PNG, "/b.jpg": END_JPEG}
    urls = [callback_host.url("/a.png"), callback_host.url("/b.jpg")]
    task = create(client, images=urls)
    assert task["images"] == urls
    assert wait_final(client, task["task_id"])["state"] == "success"
    broken = wait_final(client, create(client, images=[urls[0], callback_host.url("/gone.png")])["task_id"])
    assert (broken["state"], broken["err_code"]) == ("failed", "ImageDownloadFailure")


# -- callbacks ----------------------------------------------------------------------------------------


def _verified(callback_host: Receiver) -> list[dict[str, Any]]:
    bodies = []
    seen: set[str] = set()
    for method, path, headers, body in callback_host.calls:
        signing.verify(KEY, method, callback_host.url(path), headers, now=time.time(), seen_nonce=lambda n: n in seen)
        seen.add(headers["x-request-nonce"])
        bodies.append(json.loads(body))
    return bodies


def test_callbacks_arrive_signed_in_order(client: httpx.Client, callback_host: Receiver) -> None:
    task_id = create(client, callback_url=callback_host.url("/hook?user=7"))["task_id"]
    wait_final(client, task_id)
    wait_until(lambda: len(callback_host.calls) >= 2)
    bodies = _verified(callback_host)
    assert [b["state"] for b in bodies] == ["processing", "success"]
    assert all(b["id"] == task_id for b in bodies)
    assert bodies[1]["creations"][0]["url"]
    assert callback_host.calls[0][1] == "/hook?user=7"


def test_final_callbacks_are_retried(sim: Simulator, client: httpx.Client, callback_host: Receiver) -> None:
    callback_host.status = 500
    task_id = create(client, callback_url=callback_host.url("/hook"))["task_id"]
    client.post(f"/ent/v2/tasks/{task_id}/cancel", json={"id": task_id})
    wait_until(lambda: sum(b["state"] == "failed" for b in _verified(callback_host)) >= 4)
    bodies = _verified(callback_host)
    failed = [b for b in bodies if b["state"] == "failed"]
    assert len(failed) == 4, "one delivery and three retries"
    assert all(b["err_code"] == "UserCancelled" for b in failed)
    assert len(bodies) - len(failed) <= 1, "a processing callback, if any, is not retried"


# -- faults -------------------------------------------------------------------------------------------


def test_status_fault_answers_its_body_then_is_used_up(sim: Simulator, client: httpx.Client) -> None:
    task_id = create(client)["task_id"]
    sim.inject(Fault(call="query", status=503, body='{"code": 503}', headers={"Retry-After": "1"}))
    response = client.get(f"/ent/v2/tasks/{task_id}/creations")
    assert (response.status_code, response.text, response.headers["retry-after"]) == (503, '{"code": 503}', "1")
    assert client.get(f"/ent/v2/tasks/{task_id}/creations").status_code == 200


def test_html_and_truncated_bodies_and_default_error_body(sim: Simulator, client: httpx.Client) -> None:
    sim.inject(Fault(call="create", status=502, body="<html><h1>502 Bad Gateway</h1></html>", content_type="text/html"))
    sim.inject(Fault(call="create", status=200, body='{"task_id": "91108'))
    sim.inject(Fault(call="credits", status=429))
    html = client.post(CREATE, json=create_body())
    assert (html.status_code, html.headers["content-type"]) == (502, "text/html")
    assert client.post(CREATE, json=create_body()).text == '{"task_id": "91108'
    assert client.get("/ent/v2/credits").json()["reason"] == "TooManyRequests"
    assert sim.create_count == 0


def test_error_after_creation(sim: Simulator, client: httpx.Client) -> None:
    sim.inject(Fault(call="create", status=500, create_task=True))
    assert client.post(CREATE, json=create_body()).status_code == 500
    assert sim.create_count == 1
    assert len(client.get("/ent/v2/tasks").json()["tasks"]) == 1


def test_reset_before_body_creates_nothing(sim: Simulator, client: httpx.Client) -> None:
    sim.inject(Fault(call="create", action="reset_before_body"))
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
        client.post(CREATE, json=create_body())
    assert sim.create_count == 0
    assert client.get("/ent/v2/credits").status_code == 200


def test_reset_after_body_creates_the_task(sim: Simulator, client: httpx.Client) -> None:
    sim.inject(Fault(call="create", action="reset_after_body"))
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        client.post(CREATE, json=create_body())
    assert sim.create_count == 1
    assert len(client.get("/ent/v2/tasks").json()["tasks"]) == 1


def test_delay_trickle_and_hang(sim: Simulator, client: httpx.Client) -> None:
    sim.inject(Fault(call="credits", delay=0.3))
    started = time.monotonic()
    assert client.get("/ent/v2/credits").status_code == 200
    assert time.monotonic() - started >= 0.3

    sim.inject(Fault(call="credits", delay=0.3))
    with pytest.raises(httpx.ReadTimeout):
        client.get("/ent/v2/credits", timeout=0.1)

    sim.inject(Fault(call="credits", action="trickle", delay=0.001))
    started = time.monotonic()
    trickled = client.get("/ent/v2/credits", timeout=5)  # each byte comes well within the read timeout
    assert trickled.json()["remains"]
    assert time.monotonic() - started >= 0.001 * len(trickled.content)

    sim.inject(Fault(call="credits", action="hang"))
    with pytest.raises(httpx.ReadTimeout):
        client.get("/ent/v2/credits", timeout=0.2)
    assert client.get("/ent/v2/credits").status_code == 200


def test_faults_are_consumed_in_order(sim: Simulator, client: httpx.Client) -> None:
    sim.inject(Fault(call="credits", status=500, times=2))
    sim.inject(Fault(status=429))
    statuses = [client.get("/ent/v2/credits").status_code for _ in range(4)]
    assert statuses == [500, 500, 429, 200]
    sim.inject(Fault(status=500))
    sim.clear_faults()
    assert client.get("/ent/v2/credits").status_code == 200


def test_admin_endpoints(sim: Simulator, client: httpx.Client) -> None:
    admin = httpx.Client(base_url=f"{sim.base_url}/_sim")
    assert admin.get("/health").json()["ok"] is True
    assert admin.post("/faults", json={"call": "credits", "status": 418}).status_code == 200
    assert client.get("/ent/v2/credits").status_code == 418
    admin.post("/faults", json=[{"call": "credits", "status": 500}])
    assert admin.delete("/faults").status_code == 200
    assert client.get("/ent/v2/credits").status_code == 200
    assert admin.post("/faults", json={"call": "everything"}).status_code == 400
    assert admin.post("/fail_next", json={"err_code": "AuditSubmitIllegal"}).status_code == 200
    assert wait_final(client, create(client)["task_id"])["err_code"] == "AuditSubmitIllegal"
    logged = admin.get("/requests").json()
    assert [r["call"] for r in logged][:2] == ["credits", "credits"]
    assert admin.post("/reset").status_code == 200
    assert admin.get("/requests").json() == [] and sim.store.all() == []


def test_request_log_records_what_was_sent_never_the_key(sim: Simulator, client: httpx.Client) -> None:
    sim.inject(Fault(call="query", status=503))
    content = json.dumps(create_body(payload="p")).encode()
    task_id = client.post(CREATE, content=content, headers={"Content-Type": "application/json"}).json()["task_id"]
    client.get(f"/ent/v2/tasks/{task_id}/creations")
    httpx.get(f"{sim.base_url}/ent/v2/credits", headers={"Authorization": "Token wrong"})
    created, queried, refused = sim.requests[:3]
    assert (created.method, created.path, created.call, created.auth, created.auth_ok) == (
        "POST",
        CREATE,
        "create",
        "Bearer",
        True,
    )
    assert created.body_size == len(content)
    assert created.status == 200 and created.body["payload"] == "p"
    assert all(len(image) < 80 and image.startswith("data:image/") for image in created.body["images"])
    assert (queried.call, queried.status, queried.fault) == ("query", 503, "status 503")
    assert (refused.auth, refused.auth_ok, refused.status) == ("Token", False, 401)
    assert KEY not in json.dumps([r.to_json() for r in sim.requests]) and KEY not in repr(sim)


def test_a_request_is_settled_once_carried_out_even_if_its_answer_is_still_held(sim: Simulator) -> None:
    """``settled`` says when the simulator has done what it will with a request: not while its body is still
    coming, and as soon as the task is made even though a fault still holds the answer back."""
    sim.inject(Fault(call="create", action="trickle", delay=60))
    content = json.dumps(create_body()).encode()
    head = f"POST {CREATE} HTTP/1.1\r\nHost: x\r\nAuthorization: Token {KEY}\r\nContent-Length: {len(content)}\r\n\r\n"
    with socket.create_connection((sim.host, sim.port)) as wire:
        wire.sendall(head.encode() + content[:10])
        wait_until(lambda: sim.requests)  # arrived, its body cut short
        assert not sim.settled(timeout=0.2) and sim.create_count == 0
        wire.sendall(content[10:])
        assert sim.settled(timeout=10)
        assert sim.create_count == 1 and sim.requests[0].status == 200  # the answer still trickles, a byte a minute


def test_serve_runs_until_stopped() -> None:
    stop = threading.Event()
    ready: list[Simulator] = []
    thread = threading.Thread(target=serve, args=("127.0.0.1", 0, KEY), kwargs={"on_ready": ready.append, "stop": stop})
    thread.start()
    try:
        wait_until(lambda: ready)
        assert httpx.get(f"{ready[0].base_url}/_sim/health").json()["ok"] is True
        credits = httpx.get(f"{ready[0].base_url}/ent/v2/credits", headers={"Authorization": f"Token {KEY}"})
        assert credits.status_code == 200
    finally:
        stop.set()
        thread.join(timeout=5)
    assert not thread.is_alive()


def test_finish_ends_a_processing_task_at_once(sim: Simulator, client: httpx.Client) -> None:
    sim.process_seconds = 3600
    assert sim.store.process_seconds == 3600  # the task times can be changed on a running simulator
    task_id = create(client)["task_id"]
    wait_until(lambda: query(client, task_id)["state"] == "processing")
    admin = httpx.Client(base_url=f"{sim.base_url}/_sim")
    assert admin.post("/finish", json={"task_id": task_id}).json() == {"finished": True}
    wait_until(lambda: query(client, task_id)["state"] == "success")  # once its video is made
    assert admin.post("/finish", json={"task_id": task_id}).json() == {"finished": False}
    assert admin.post("/finish", json={"task_id": 7}).status_code == 400
    assert not sim.finish("404")


def test_finish_ends_a_task_still_queued_at_once(sim: Simulator, client: httpx.Client) -> None:
    sim.queue_seconds, sim.process_seconds = 3600, 3600
    waiting = create(client)["task_id"]
    assert query(client, waiting)["state"] in ("created", "queueing")
    assert sim.finish(waiting)
    wait_until(lambda: query(client, waiting)["state"] == "success")  # once its video is made
    sim.fail_next("CreationPolicyViolation")
    failing = create(client)["task_id"]
    assert sim.finish(failing)
    assert query(client, failing)["state"] == "failed"
    assert not sim.finish(failing)


# --- relay modes ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("ids", "pattern"), [("task", r"task_[A-Za-z0-9]+"), ("uuid", r"[0-9a-f-]{36}")])
def test_relay_ids(ids: str, pattern: str) -> None:
    relay = Relay.model_validate({"ids": ids})
    sim = Simulator(api_key=KEY, queue_seconds=0.05, process_seconds=0.1, relay=relay).start()
    try:
        with httpx.Client(base_url=sim.base_url, headers={"Authorization": f"Token {KEY}"}) as client:
            task_id = client.post(CREATE, json=create_body()).json()["task_id"]
            assert re.fullmatch(pattern, task_id)
            assert client.get(f"/ent/v2/tasks/{task_id}/creations").json()["id"] == task_id
    finally:
        sim.stop()


def test_relay_extra_states_and_canceled() -> None:
    sim = Simulator(api_key=KEY, queue_seconds=10, process_seconds=10, relay=Relay(extra_states=True))
    task = _task_for(sim)
    created = task.created_at
    assert sim.store.reported_state(task, created + 1) == "created"
    assert sim.store.reported_state(task, created + 8) == "scheduling"
    start = task.start or 0
    assert sim.store.reported_state(task, start + 1) == "preparation"
    assert sim.store.reported_state(task, start + 5) == "processing"
    assert sim.store.cancellable(task, created + 1) and not sim.store.cancellable(task, created + 8)
    sim.store.fail(task, "UserCancelled", created + 1)
    assert sim.store.reported_state(task, created + 2) == "canceled"


def test_relay_page_tokens_are_opaque_and_checked() -> None:
    sim = Simulator(api_key=KEY, queue_seconds=0.05, process_seconds=0.1, relay=Relay(page_tokens=True)).start()
    try:
        with httpx.Client(base_url=sim.base_url, headers={"Authorization": f"Token {KEY}"}) as client:
            ids = [client.post(CREATE, json=create_body()).json()["task_id"] for _ in range(3)]
            first = client.get("/ent/v2/tasks", params={"pager.pagesz": 2}).json()
            assert first["next_page_token"].startswith("pt_")
            token = first["next_page_token"]
            second = client.get("/ent/v2/tasks", params={"pager.pagesz": 2, "pager.page_token": token})
            assert [t["id"] for t in second.json()["tasks"]] == ids[:1]
            forged = client.get("/ent/v2/tasks", params={"pager.page_token": "2"})
            assert (forged.status_code, forged.json()["reason"]) == (400, "FieldInvalid")
    finally:
        sim.stop()


def test_relay_switches_over_the_admin_route() -> None:
    with Simulator(api_key=KEY) as sim, httpx.Client(base_url=sim.base_url) as client:
        answer = client.post("/_sim/relay", json={"ids": "uuid", "extra_states": True})
        assert answer.json() == {"ids": "uuid", "extra_states": True, "page_tokens": False, "max_open": None}
        assert sim.relay.ids == "uuid"
        assert client.post("/_sim/relay", json={"ids": "emoji"}).status_code == 400


def _task_for(sim: Simulator) -> Task:
    """A task in the simulator's store, scheduled from now (the server need not run)."""
    return sim.store.create(validate_create(create_body()), 0, time.time())


def test_max_open_refuses_creates_beyond_n_unfinished_tasks_with_429() -> None:
    """A reseller that refuses rather than queues: 429 QuotaExceeded, no task made, nothing charged."""
    with (
        Simulator(api_key=KEY, queue_seconds=30, relay=Relay(max_open=2)) as sim,
        httpx.Client(base_url=sim.base_url, headers={"Authorization": f"Token {KEY}"}) as http,
    ):
        balance = sim.credits
        assert [http.post(CREATE, json=create_body()).status_code for _ in range(3)] == [200, 200, 429]
        refused = http.post(CREATE, json=create_body())
        assert (refused.status_code, refused.json()["reason"]) == (429, "QuotaExceeded")
        assert sim.create_count == 2 and len(sim.store.all()) == 2
        assert balance - sim.credits == 2 * sim.store.all()[0].credits
        assert http.get("/ent/v2/credits").json()["remains"][0]["concurrency_limit"] == 2
        first = sim.store.all()[0]
        assert http.post(f"/ent/v2/tasks/{first.id}/cancel", json={"id": first.id}).status_code == 200
        assert http.post(CREATE, json=create_body()).status_code == 200  # a slot freed
        assert http.post("/_sim/relay", json={"max_open": None}).json()["max_open"] is None
        assert http.post(CREATE, json=create_body()).status_code == 200
