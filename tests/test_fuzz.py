"""The app's public API (``/gradio_api/openapi.json``) in demo mode: malformed calls get a 4xx, never a 500 or a
traceback in the log. The three cases schemathesis found are pinned here; the fuzzer itself runs in the slow tier."""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

import app
from tests.support.apps import launched
from tests.support.findings import Findings, Fuzz
from vidu_ui.settings import Settings
from vidu_ui.simulator import Simulator
from vidu_ui.studio import StudioBlocks

KEY = "sk-fuzz-test"


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def tracebacks(self) -> list[str]:
        return [r.getMessage() for r in self.records if r.exc_info or r.levelno >= logging.ERROR]


@dataclass
class Demo:
    url: str
    page: StudioBlocks
    log: Collect


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    log = Collect()
    server_log = logging.getLogger("uvicorn.error")
    server_log.addHandler(log)
    with Simulator(KEY, queue_seconds=0.1, process_seconds=0.2) as sim:
        base = Settings.build(data_dir=tmp_path_factory.mktemp("fuzz") / "data")

        def build(port: int) -> StudioBlocks:
            settings = app.demo_settings(base, sim, KEY, public_url=app.own_url("127.0.0.1", port))
            return app.build_app(settings, demo=True)

        try:
            with launched(build) as (page, url):
                yield Demo(url.rstrip("/"), page, log)
        finally:
            server_log.removeHandler(log)


def test_v2_call_without_its_arguments_is_a_400(demo: Demo) -> None:
    response = httpx.post(f"{demo.url}/gradio_api/call/v2/generate", json={}, timeout=30)
    assert response.status_code == 400 and "start_image" in response.text
    assert demo.log.tracebacks() == []


@pytest.mark.parametrize("query", ["", "?upload_id=abc"])
def test_a_text_part_where_a_file_belongs_is_a_400(demo: Demo, query: str) -> None:
    response = httpx.post(f"{demo.url}/gradio_api/upload{query}", files={"files": (None, "{}")}, timeout=30)
    assert response.status_code == 400
    assert demo.log.tracebacks() == []


@pytest.mark.parametrize(
    "path",
    [
        "/gradio_api/call/generate/no-such-event",
        "/gradio_api/call/v2/generate",  # a GET here is Gradio's event-stream route, event "generate"
        "/gradio_api/queue/data?session_hash=x",
    ],
)
def test_the_stream_of_an_unknown_event_is_a_404_before_it_starts(demo: Demo, path: str) -> None:
    response = httpx.get(f"{demo.url}{path}", timeout=30)
    assert response.status_code == 404
    assert demo.log.tracebacks() == []


def test_other_errors_on_those_routes_stay_errors(demo: Demo) -> None:
    """The 400s are for malformed calls on two routes only: elsewhere an exception is still a 500 (a bug)."""
    from starlette.requests import Request

    from vidu_ui.studio.gradio_guard import CLIENT_ERRORS

    scope = {"type": "http", "method": "GET", "path": "/gradio_api/info", "headers": [], "query_string": b""}
    with pytest.raises(TypeError):
        CLIENT_ERRORS[TypeError](Request(scope), TypeError("a bug"))


# Known to fail today (see docs/hostile.md): Gradio prints a traceback for a call with too few values (its own
# check, before any handler) and schemathesis sees broken chunked event streams on GET /gradio_api/call/*/{id}.
# Kept runnable on request (-m soak), out of CI's timing tier, until those are fixed at their cause.
@pytest.mark.slow
@pytest.mark.soak
def test_schemathesis_finds_no_5xx_and_the_log_no_traceback(
    demo: Demo, findings: Findings, capfd: pytest.CaptureFixture[str]
) -> None:
    schemathesis = shutil.which("schemathesis") or shutil.which("st")
    assert schemathesis, "schemathesis is pinned in requirements-dev.txt"
    command = [schemathesis, "run", f"{demo.url}/gradio_api/openapi.json", "--checks", "not_a_server_error"]
    command += ["--max-examples", "30", "--max-time", "120", "--request-timeout", "20", "--seed", "1"]
    capfd.readouterr()
    run = subprocess.run([*command, "--warnings", "off"], capture_output=True, text=True, timeout=600)
    # Gradio's queue prints a failed event's traceback to stderr rather than logging it: both are counted.
    printed = capfd.readouterr().err
    tracebacks = demo.log.tracebacks() + printed.split("Traceback (most recent call last)")[1:]
    summary = next((line.strip() for line in run.stdout.splitlines() if "generated" in line), "no summary")
    findings.fuzz = Fuzz(summary, run.returncode, len(tracebacks))
    assert run.returncode == 0, run.stdout[-3000:]
    assert "passed" in run.stdout and tracebacks == [], printed[-3000:]


def test_gradio_still_holds_its_queue_as_the_stream_guard_reads_it(demo: Demo) -> None:
    """``gradio_guard.StreamGuard`` reads three of the queue's private maps: this fails when Gradio renames them."""
    queue = demo.page._queue
    assert isinstance(queue.event_ids_to_events, dict)
    assert isinstance(queue.pending_event_ids_session, dict)
    assert isinstance(queue.pending_messages_per_session, dict)
