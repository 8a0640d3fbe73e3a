"""A service (or a proxy) echoing the Authorization header back: the key reaches no output, log, page or database.

Every answer passes the client's one redaction where it is received; these tests make the service echo the key
in each place an answer is read from: the reason, the message, the trace id, a success body, a header, a page.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from typer.testing import CliRunner

from tests.images import photo, write
from vidu_ui.cli import app
from vidu_ui.client import ViduClient
from vidu_ui.errors import APIStatusError, ViduError
from vidu_ui.settings import Settings
from vidu_ui.simulator import Fault, Simulator
from vidu_ui.store import Store
from vidu_ui.studio.handlers import service_error

KEY = "sk-ECHO/a+b=c-5e1f0d"


def echoing(key: str = KEY) -> dict[str, object]:
    """An error body repeating the Authorization header in every field the app reads."""
    return {
        "code": 401,
        "reason": f"Unauthorized: Bearer {key}",
        "message": f"invalid header Authorization: Bearer {key}",
        "metadata": {"trace_id": f"trace-{key}"},
    }


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(api_key=KEY, queue_seconds=0.05, process_seconds=0.2) as simulator:
        yield simulator


def test_a_401_echoing_the_key_shows_it_nowhere_in_the_cli_or_the_logs(
    sim: Simulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    start = write(tmp_path / "start.png", photo(640, 360, seed=1), "PNG")
    end = write(tmp_path / "end.png", photo(640, 360, seed=2), "PNG")
    env = {"VIDU_BASE_URL": sim.base_url, "VIDU_API_KEY": KEY, "VIDU_UI_DATA_DIR": str(tmp_path / "data")}
    sim.inject(Fault(call="create", status=401, body=json.dumps(echoing())))
    result = CliRunner().invoke(app, ["-v", "submit", str(start), str(end), "-p", "x"], env=env)
    assert result.exit_code != 0
    seen = [result.stdout, result.stderr, *(r.getMessage() for r in caplog.records)]
    seen += [p.read_bytes().decode("latin-1") for p in (tmp_path / "data").rglob("*") if p.is_file()]
    assert "401" in result.stderr and "trace-" in result.stderr  # the echo was shown, redacted
    assert not [s for s in seen if KEY in s]


def client_answering(handler: httpx.MockTransport) -> ViduClient:
    settings = Settings.build(api_key=KEY, base_url="https://vidu.example", query_retries=0, create_retries=0)
    return ViduClient(settings, transport=handler, sleep=lambda _: None)


@pytest.mark.parametrize(
    "spelled",
    [
        KEY,
        KEY.replace("/", "\\/"),  # JSON's escaped solidus
        "".join(f"\\u{ord(c):04x}" for c in KEY),  # every character \u-escaped
    ],
    ids=["plain", "escaped-solidus", "unicode-escapes"],
)
def test_the_page_error_never_holds_the_key_however_the_json_spells_it(spelled: str) -> None:
    body = json.dumps(echoing("@@")).replace("@@", spelled).encode()
    transport = httpx.MockTransport(lambda request: httpx.Response(401, content=body))
    with client_answering(transport) as client, pytest.raises(APIStatusError) as caught:
        client.credits()
    error = caught.value
    texts = [str(error), error.reason or "", error.trace_id or "", error.service_message, str(service_error(error))]
    texts += [json.dumps(error.body), error.response.text if error.response is not None else ""]
    assert error.reason and error.trace_id
    assert not [t for t in texts if KEY in t]


def test_a_key_cut_by_the_reasons_length_limit_leaves_no_part_of_it() -> None:
    body = {"reason": "x" * 190 + KEY, "message": "refused"}
    transport = httpx.MockTransport(lambda request: httpx.Response(403, json=body))
    with client_answering(transport) as client, pytest.raises(APIStatusError) as caught:
        client.credits()
    assert KEY[:8] not in (caught.value.reason or "")


def test_html_and_headers_echoing_the_key_are_redacted() -> None:
    page = f"<html><title>Forbidden: Bearer {KEY}</title></html>".encode()
    headers = {"content-type": "text/html", "x-echo": f"Bearer {KEY}"}
    transport = httpx.MockTransport(lambda request: httpx.Response(403, content=page, headers=headers))
    with client_answering(transport) as client, pytest.raises(ViduError) as caught:
        client.credits()
    error = caught.value
    assert isinstance(error, APIStatusError) and error.response is not None
    assert KEY not in str(error) and KEY not in error.response.text and KEY not in str(error.response.headers)


def test_answers_echoing_the_key_are_stored_without_it(tmp_path: Path) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        echo = request.headers["authorization"]
        if request.method == "POST":
            return httpx.Response(200, json={"task_id": "42", "state": "created", "echo": echo})
        status = {"id": "42", "state": "success", "err_code": echo, "creations": [], "debug": {"auth": echo}}
        return httpx.Response(200, json=status)

    store = Store(tmp_path / "history.db")
    with client_answering(httpx.MockTransport(answer)) as client:
        created = client.create(orjson.dumps({"model": "viduq1", "images": ["", ""]}))
        store.record_submission(task_id=created.task_id, body={"model": "viduq1"}, response=created.raw)
        status = client.query("42")
        store.update_status("42", status)
    assert created.raw["echo"].startswith("Bearer ") and status.err_code
    store.close()
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert b"Bearer" in stored and KEY.encode() not in stored
