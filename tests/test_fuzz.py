"""The app's public API (``/gradio_api/openapi.json``) in demo mode: malformed calls get a 4xx (or the event's
error message), never a 500 or a traceback in the log or an answer. The cases schemathesis found are pinned here;
the fuzzer itself runs in the slow tier, bounded and deterministic."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

import app
from tests.support import fuzz_checks
from tests.support.apps import launched
from tests.support.findings import Findings, Fuzz
from vidu_ui.settings import Settings
from vidu_ui.simulator import Simulator
from vidu_ui.studio import StudioBlocks
from vidu_ui.studio.gradio_guard import QUEUE_MAPS

KEY = "sk-fuzz-test"
ROOT = Path(__file__).resolve().parent.parent


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


@pytest.mark.parametrize("name", ["task_status", "cancel_task", "generate"])
def test_too_few_values_are_the_callers_error_without_a_traceback(
    demo: Demo, name: str, capfd: pytest.CaptureFixture[str]
) -> None:
    """Gradio's own check raised a ValueError its queue printed with a traceback; now an endpoint checked before
    queueing (generate has a validator) answers 400, the others the event's error naming the counts."""
    capfd.readouterr()
    posted = httpx.post(f"{demo.url}/gradio_api/call/{name}", json={"data": []}, timeout=30)
    if posted.status_code == 200:
        event = posted.json()["event_id"]
        streamed = httpx.get(f"{demo.url}/gradio_api/call/{name}/{event}", timeout=30)
        assert streamed.status_code == 200 and "event: error" in streamed.text and "expected" in streamed.text
    else:
        assert posted.status_code == 400 and "expected" in posted.text
    assert "Traceback" not in capfd.readouterr().err
    assert demo.log.tracebacks() == []


def test_the_stream_of_a_delivered_event_is_a_404_not_a_stream_that_never_ends(demo: Demo) -> None:
    event = httpx.post(f"{demo.url}/gradio_api/call/task_status", json={"data": ["1", ""]}, timeout=30)
    stream = f"{demo.url}/gradio_api/call/task_status/{event.json()['event_id']}"
    first = httpx.get(stream, timeout=30)
    assert first.status_code == 200 and "event: " in first.text
    again = httpx.get(stream, timeout=30)  # Gradio kept the session: its stream waited for messages never sent
    assert again.status_code == 404
    assert demo.log.tracebacks() == []


def test_other_errors_on_those_routes_stay_errors(demo: Demo) -> None:
    """The 400s are for malformed calls on two routes only: elsewhere an exception is still a 500 (a bug)."""
    from starlette.requests import Request

    from vidu_ui.studio.gradio_guard import CLIENT_ERRORS

    scope = {"type": "http", "method": "GET", "path": "/gradio_api/info", "headers": [], "query_string": b""}
    with pytest.raises(TypeError):
        CLIENT_ERRORS[TypeError](Request(scope), TypeError("a bug"))


FUZZ_EXAMPLES = 25
"""Cases per API operation in the fuzzing phase, after the coverage phase's: generation is deterministic (the same
cases every run) and the run bounded by this count, not by time: about 500 cases, a minute or so on two loaded
cores. (schemathesis' ``--max-time`` would instead repeat the fuzzing until the time is spent.)"""
FUZZ_CHECKS = "not_a_server_error,no_traceback_text,readable_answer"
"""schemathesis' "no 5xx", and the meaning checks of ``tests/support/fuzz_checks.py``."""


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_schemathesis_finds_no_5xx_no_traceback_and_readable_answers(
    demo: Demo, findings: Findings, capfd: pytest.CaptureFixture[str]
) -> None:
    schemathesis = shutil.which("schemathesis") or shutil.which("st")
    assert schemathesis, "schemathesis is pinned in requirements-dev.txt"
    command = [schemathesis, "run", f"{demo.url}/gradio_api/openapi.json", "--checks", FUZZ_CHECKS]
    command += ["--phases", "coverage,fuzzing", "--max-examples", str(FUZZ_EXAMPLES), "--generation-deterministic"]
    command += ["--no-shrink", "--request-timeout", "20", "--workers", "1", "--warnings", "off"]
    environment = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.support.fuzz_checks", "PYTHONPATH": str(ROOT)}
    capfd.readouterr()
    run = subprocess.run(command, capture_output=True, text=True, timeout=240, cwd=ROOT, env=environment)
    # Gradio's queue prints a failed event's traceback to stderr rather than logging it: both are counted.
    printed = capfd.readouterr().err
    tracebacks = demo.log.tracebacks() + printed.split("Traceback (most recent call last)")[1:]
    summary = next((line.strip() for line in run.stdout.splitlines() if "generated" in line), "no summary")
    findings.fuzz = Fuzz(summary, run.returncode, len(tracebacks))
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    assert "passed" in summary and "failed" not in summary and "errored" not in summary, summary
    assert tracebacks == [], printed[-3000:]


def test_the_fuzzers_checks_catch_a_traceback_and_an_unreadable_body() -> None:
    def answer(kind: str, text: str) -> SimpleNamespace:
        return SimpleNamespace(text=text, headers={"content-type": [kind]})

    traceback = 'Traceback (most recent call last):\n  File "/a.py", line 1'
    with pytest.raises(AssertionError):
        fuzz_checks.no_traceback_text(None, answer("text/plain", traceback), None)
    with pytest.raises(ValueError):
        fuzz_checks.readable_answer(None, answer("application/json", '{"error": '), None)
    with pytest.raises(AssertionError):
        fuzz_checks.readable_answer(None, answer("text/event-stream", "<html>500</html>"), None)
    assert fuzz_checks.readable_answer(None, answer("text/event-stream", "event: error\ndata: null\n\n"), None) is None


def test_gradio_still_holds_its_queue_as_the_stream_guard_reads_it(demo: Demo) -> None:
    """``gradio_guard.StreamGuard`` reads two of the queue's private maps: this fails when Gradio renames them."""
    for name in QUEUE_MAPS:
        assert isinstance(getattr(demo.page._queue, name), dict), name
