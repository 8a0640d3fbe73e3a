"""The launched app in demo mode, driven through ``gradio_client`` like any API user; the server key never leaks."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import ValidationError

import app
from tests.apphelpers import arguments
from tests.images import photo, write
from vidu_ui.settings import Settings
from vidu_ui.simulator import Simulator
from vidu_ui.studio import StudioBlocks, mcp_tools

CANARY = "sk-CANARY-c1e2n3t4-gradio-client"
# Every document the server hands to a browser or an API client without running an event.
PUBLIC_PATHS = ("/", "/config", "/gradio_api/info", "/gradio_api/openapi.json")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Running:
    url: str
    simulator: Simulator
    page: StudioBlocks


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    simulator, key = app.start_simulator(CANARY)
    port = free_port()
    base = Settings.build(data_dir=tmp_path_factory.mktemp("client") / "data")
    page = app.build_app(app.demo_settings(base, simulator, key, public_url=app.own_url(None, port)), demo=True)
    options = app.ServeOptions(host="127.0.0.1", port=port)
    page.launch(**options.launch_kwargs(), prevent_thread_lock=True, quiet=True)
    try:
        yield Running(page.local_url or "", simulator, page)
    finally:
        page.close()
        simulator.stop()


@pytest.fixture(scope="module")
def frames(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("client")
    return {
        "start": write(folder / "start.png", photo(640, 360, 11), "PNG"),
        "end": write(folder / "end.jpg", photo(640, 360, 12), "JPEG"),
        "square": write(folder / "square.png", photo(1000, 1000, 13), "PNG"),
        "wide": write(folder / "wide.png", photo(1400, 700, 14), "PNG"),
    }


def test_generate_through_gradio_client(running: Running, frames: dict[str, Path]) -> None:
    client = Client(running.url, verbose=False)
    before = running.simulator.create_count
    task_id, credits, response, changes, curl, python = client.predict(
        **arguments(frames["start"], frames["end"]), api_name="/generate"
    )
    assert task_id.isdigit() and response["task_id"] == task_id
    assert credits == f"{response['credits']:g}"
    assert "$VIDU_API_KEY" in curl and "httpx" in python
    assert running.simulator.create_count == before + 1
    assert CANARY not in repr((task_id, credits, response, changes, curl, python))
    record = running.page.runtime.store.get(task_id)  # recorded, and followed without any page open
    assert record is not None and record.prompt == "A slow dolly shot from dawn to dusk" and record.user is None


def test_an_invalid_pair_is_refused_before_queueing(running: Running, frames: dict[str, Path]) -> None:
    client = Client(running.url, verbose=False)
    before = running.simulator.create_count
    with pytest.raises(ValidationError) as caught:
        client.predict(**arguments(frames["square"], frames["wide"], auto_fit=False), api_name="/generate")
    assert "end_image: end_frame:" in str(caught.value)
    assert running.simulator.create_count == before


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
