"""The launched app in demo mode, driven through ``gradio_client`` like any API user; the server key never leaks."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from gradio.queueing import Queue
from gradio_client import Client
from gradio_client.exceptions import ValidationError

from tests.support.apps import Running, arguments
from vidu_ui.studio import mcp_tools

CANARY = "sk-CANARY-c1e2n3t4-gradio-client"
# Every document the server hands to a browser or an API client without running an event.
PUBLIC_PATHS = ("/", "/config", "/gradio_api/info", "/gradio_api/openapi.json")

pytestmark = pytest.mark.app(api_key=CANARY)


def test_generate_through_gradio_client(
    running: Running, frames: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    summaries: list[object] = []  # the monitoring dashboard is off: no event is summarised for it (page.py)
    monkeypatch.setattr(Queue, "_get_df", staticmethod(summaries.append))
    client = Client(running.url, verbose=False)
    before = running.sim.create_count
    task_id, credits, response, changes, curl, python = client.predict(
        **arguments(frames["start"], frames["end"]), api_name="/generate"
    )
    assert task_id.isdigit() and response["task_id"] == task_id
    assert credits == f"{response['credits']:g}"
    assert "$VIDU_API_KEY" in curl and "httpx" in python
    assert running.sim.create_count == before + 1
    assert CANARY not in repr((task_id, credits, response, changes, curl, python))
    record = running.page.runtime.store.get(task_id)  # recorded, and followed without any page open
    assert record is not None and record.prompt == "A slow dolly shot from dawn to dusk" and record.user is None
    assert summaries == []


def test_an_invalid_pair_is_refused_before_queueing(running: Running, frames: dict[str, Path]) -> None:
    client = Client(running.url, verbose=False)
    before = running.sim.create_count
    with pytest.raises(ValidationError) as caught:
        client.predict(**arguments(frames["square"], frames["wide"], auto_fit=False), api_name="/generate")
    assert "end_image: " in str(caught.value) and "end_frame:" not in str(caught.value)  # at its input, no name
    assert running.sim.create_count == before


def test_the_server_key_is_in_no_public_document(running: Running) -> None:
    with httpx.Client(base_url=running.url, timeout=30) as http:
        for path in PUBLIC_PATHS:
            response = http.get(path)
            assert response.status_code == 200, path
            assert CANARY not in response.text, path
            assert "sk-CANARY" not in response.text, path
        assert http.get("/openapi.json").status_code == 404  # FastAPI's own schema page is off
        info = http.get("/gradio_api/info").json()
    assert sorted(info["named_endpoints"]) == sorted(f"/{name}" for name in ("generate", *mcp_tools.TOOLS))
    names = [p["parameter_name"] for p in info["named_endpoints"]["/generate"]["parameters"]]
    assert "api_key" not in names  # with a server key the page has no key field at all
