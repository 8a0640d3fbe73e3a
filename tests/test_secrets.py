"""Secrets and exposure: one run of ``tests/support/exposure.py`` (two app processes with canary keys, Chromium,
gradio_client, raw event streams), asserting that no place but the known issue holds a canary.

The file route and sign-in sweeps are ``tests/test_studio_routes.py``'s (this run repeats the file route on the
real app process, with a ``.env`` holding the canary, only as one more place to search; the sign-in sweep runs
here only when the run writes ``docs/reliability.md``). Without Chromium the module skips, except under CI, where
it fails.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from tests.support.exposure import UPLOAD_LIMIT, Exposure, find_secret, loggers, run_exposure
from tests.support.report import Reliability
from vidu_ui.messages import EN
from vidu_ui.tracker import KeyOwner

# The module's one run (two apps, every flow, in a browser too) is its first test's set-up: 40 s on a quiet machine,
# over 250 s on a loaded one, so that test gets more than the suite's 300 s bound.
pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]

SIDES = ("server", "visitor")


@pytest.fixture(scope="module")
def found(browser: Browser, pytestconfig: pytest.Config, reliability: Reliability) -> Iterator[Exposure]:
    exposure = run_exposure(browser=browser, auth_sweep=pytestconfig.getoption("--reliability-doc") is not None)
    reliability.exposure = exposure
    yield exposure


def test_every_path_ran_in_the_browser_through_gradio_client_and_as_raw_streams(found: Exposure) -> None:
    assert found.browser
    for side in SIDES:
        ended: dict[str, dict[str, str]] = {}
        for channel in ("browser", "gradio_client", "httpx event stream"):
            ended[channel] = {k: v for flow in found.flows for k, v in flow.ended(side, channel).items()}
        # By message key: the status line's state, the error toast's title (messages.py's words).
        browser = {"success": EN["state_success"], "task fails": EN["state_failed"], "500": EN["title_not_created"]}
        if side == "server":
            browser["401"] = "Unauthorized"
        assert ended["browser"] == browser
        assert ended["gradio_client"] == {
            "success": "task",
            "task fails": "task",  # the task is made, then fails: the page follows it
            "401": "AppError",
            "500": "AppError",
            "invalid seed": "ValidationError",
        }
        assert ended["httpx event stream"] == {"success": "task", "500": "error", "invalid seed": "refused"}


@pytest.mark.parametrize("where", ["server", "visitor"])
def test_no_response_stream_document_log_file_database_or_storage_holds_the_key(found: Exposure, where: str) -> None:
    searched = [p for p in found.places if p.where == where and p.known is None]
    assert len(searched) >= 9
    assert {p.place: p.hits for p in searched if p.hits} == {}
    assert found.event_streams[where] > 0  # the event streams were recorded too


@pytest.mark.parametrize("where", ["server", "visitor"])
def test_the_logs_searched_were_written_at_debug(found: Exposure, where: str) -> None:
    assert {"httpx", "httpcore", "vidu_ui", "uvicorn"} <= set(found.loggers[where]), found.loggers[where]
    assert loggers("DEBUG httpx: HTTP Request\nINFO vidu_ui.tracker: x\n") == {"httpx": 1, "vidu_ui": 1}


def test_the_app_drops_a_visitors_key_once_its_tasks_are_finished(found: Exposure) -> None:
    assert found.place("runtime", "visitor").hits == 0


def test_uploads_over_the_limit_get_413_and_the_file_route_refuses_the_data(found: Exposure) -> None:
    assert [c for c in found.checks if not c.ok] == []
    assert any(f"{UPLOAD_LIMIT + 1:,} bytes" in c.name and c.got == "413" for c in found.checks)


def test_gradio_saw_the_page_close(found: Exposure) -> None:
    assert found.sessions_closed > 0


def test_a_visitors_key_is_gone_from_the_session_store_after_the_page_closed(found: Exposure) -> None:
    assert found.place("session-store", "visitor").hits == 0


def test_no_request_writes_a_visitors_key_to_disk(found: Exposure) -> None:
    assert found.place("deep-link", "visitor").hits == 0


def test_the_search_finds_a_key_held_in_state_like_the_trackers() -> None:
    """The instrument itself: a key inside a SecretStr inside a dataclass inside a dict is found."""
    owner = KeyOwner.visitor("sk-CANARY-instrument")
    assert find_secret({"session": [owner]}, "sk-CANARY-instrument") == ["['session'][0].KeyOwner.api_key<SecretStr>"]
    assert find_secret({"session": [KeyOwner.visitor("other")]}, "sk-CANARY-instrument") == []
