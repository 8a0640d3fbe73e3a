"""Secrets and exposure: one run of ``scripts/exposure.py`` (two app processes with canary keys, Chromium,
gradio_client, raw event streams), asserting that no place but the known issue holds a canary.

The file route and sign-in sweeps are ``tests/test_studio_routes.py``'s (this run repeats the file route on the
real app process, with a ``.env`` holding the canary, only as one more place to search). Without Chromium the
module skips, except under CI, where it fails.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from scripts.exposure import Exposure, find_secret, loggers, run_exposure
from tests.apphelpers import CHROMIUM
from vidu_ui.tracker import KeyOwner

pytestmark = pytest.mark.browser

if not CHROMIUM.exists():
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{CHROMIUM} is missing: CI must install Debian's chromium package", pytrace=False)
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium); secrets tests skipped", allow_module_level=True)


@pytest.fixture(scope="module")
def found() -> Iterator[Exposure]:
    yield run_exposure(auth_sweep=False)  # the sign-in sweep is test_studio_routes'


def test_every_path_ran_in_the_browser_through_gradio_client_and_as_raw_streams(found: Exposure) -> None:
    assert found.browser
    flows = "\n".join(found.flows)
    for side in ("server", "visitor"):
        for shown in ("'Succeeded' shown", "'Failed' shown", "'Outcome unknown' shown"):
            assert f"{side} · browser · " in flows and shown in flows
        assert f"{side} · gradio_client · success: task " in flows
        assert f"{side} · gradio_client · 401: AppError: HTTP 401" in flows
        assert f"{side} · gradio_client · 500: AppError: outcome unknown" in flows
        assert f"{side} · gradio_client · invalid seed: ValidationError" in flows
        assert f"{side} · httpx event stream · success: data: [" in flows
    assert "server · browser · 401: 'Unauthorized' shown" in flows


@pytest.mark.parametrize("where", ["server", "visitor"])
def test_no_response_stream_document_log_file_database_or_storage_holds_the_key(found: Exposure, where: str) -> None:
    searched = [p for p in found.places if p.where == where and p.known is None]
    assert len(searched) >= 9
    assert {p.place: p.hits for p in searched if p.hits} == {}
    responses = next(p for p in searched if p.place.startswith("every HTTP response the browser"))
    assert "0 of them" not in responses.note  # the event streams were recorded too


@pytest.mark.parametrize("where", ["server", "visitor"])
def test_the_logs_searched_were_written_at_debug(found: Exposure, where: str) -> None:
    logs = found.place("logs", where)
    assert {"httpx", "httpcore", "vidu_ui", "uvicorn"} <= set(logs.note.replace(",", "").split()), logs.note
    assert loggers("DEBUG httpx: HTTP Request\nINFO vidu_ui.tracker: x\n") == {"httpx": 1, "vidu_ui": 1}


def test_the_app_drops_a_visitors_key_once_its_tasks_are_finished(found: Exposure) -> None:
    assert found.place("runtime", "visitor").hits == 0


def test_uploads_over_the_limit_get_413_and_the_file_route_refuses_the_data(found: Exposure) -> None:
    assert [c for c in found.checks if not c.ok] == []
    assert any("50,000,001 bytes" in c.name and c.got == "413" for c in found.checks)


def test_gradio_saw_the_page_close(found: Exposure) -> None:
    store = found.place("session-store", "visitor")
    assert ", 0 closed" not in store.searched, store.searched


def test_a_visitors_key_is_gone_from_the_session_store_after_the_page_closed(found: Exposure) -> None:
    assert found.place("session-store", "visitor").hits == 0


def test_no_request_writes_a_visitors_key_to_disk(found: Exposure) -> None:
    assert found.place("deep-link", "visitor").hits == 0


def test_the_search_finds_a_key_held_in_state_like_the_trackers() -> None:
    """The instrument itself: a key inside a SecretStr inside a dataclass inside a dict is found."""
    owner = KeyOwner.visitor("sk-CANARY-instrument")
    assert find_secret({"session": [owner]}, "sk-CANARY-instrument") == ["['session'][0].KeyOwner.api_key<SecretStr>"]
    assert find_secret({"session": [KeyOwner.visitor("other")]}, "sk-CANARY-instrument") == []
