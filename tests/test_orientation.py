"""One EXIF orientation rule: the app's checks, auto-fit and the simulator all take a frame at its displayed size."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.corpus import with_orientation
from tests.images import photo, write
from vidu_ui.client import ViduClient
from vidu_ui.errors import APIStatusError, InvalidInput
from vidu_ui.request import TaskOptions
from vidu_ui.settings import Settings
from vidu_ui.simulator import Simulator
from vidu_ui.submit import prepare, submit

KEY = "sk-orientation-test"
OPTIONS = TaskOptions(prompt="a door opens", model="viduq1")


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(api_key=KEY, queue_seconds=0.05, process_seconds=0.1) as simulator:
        yield simulator


def client_for(sim: Simulator) -> ViduClient:
    return ViduClient(Settings.build(api_key=KEY, base_url=sim.base_url, create_retries=0))


@pytest.fixture
def turned(tmp_path: Path) -> Path:
    """1600×1200 as stored, orientation 6: shown (and judged) as 1200×1600."""
    path = tmp_path / "turned.jpg"
    path.write_bytes(with_orientation(photo(1600, 1200, 1), 6))
    return path


def test_a_turned_photo_and_a_portrait_pass_both_the_app_and_the_simulator(
    sim: Simulator, turned: Path, tmp_path: Path
) -> None:
    portrait = write(tmp_path / "portrait.jpg", photo(1200, 1600, 2), "JPEG")
    request = prepare(turned, portrait, OPTIONS)
    assert request.start.size == (1200, 1600)
    with client_for(sim) as client:
        assert submit(client, request).task_id


def test_a_turned_photo_and_a_landscape_are_refused_by_both_and_auto_fit_satisfies_both(
    sim: Simulator, turned: Path, tmp_path: Path
) -> None:
    landscape = write(tmp_path / "landscape.jpg", photo(1600, 1200, 3), "JPEG")
    with pytest.raises(InvalidInput) as refused_here:
        prepare(turned, landscape, OPTIONS)
    assert [p.field for p in refused_here.value.problems] == ["end_frame"]
    # The same pair sent as it is, past the app's checks: the simulator refuses it too.
    request = prepare(landscape, landscape, OPTIONS)
    body = request.content.replace(
        request.start.image_value().encode(),
        f"data:image/jpeg;base64,{base64.b64encode(turned.read_bytes()).decode()}".encode(),
        1,
    )
    with client_for(sim) as client, pytest.raises(APIStatusError) as refused_there:
        client.create(body)
    assert refused_there.value.reason == "PageSizeOutOfRange"
    fitted = prepare(turned, landscape, OPTIONS, auto_fit=True)
    assert fitted.start.size == fitted.end.size == (1200, 1600)
    with client_for(sim) as client:
        assert submit(client, fitted).task_id


def test_the_hint_never_suggests_auto_fit_when_it_was_on(tmp_path: Path) -> None:
    start = write(tmp_path / "s.png", photo(640, 480, 4), "PNG")
    end = write(tmp_path / "e.png", photo(640, 480, 5), "PNG")
    refusal = {"code": 400, "reason": "PageSizeOutOfRange", "message": "page size out of range"}
    transport = httpx.MockTransport(lambda request: httpx.Response(400, json=refusal))
    settings = Settings.build(api_key=KEY, base_url="https://vidu.example", create_retries=0)
    hints = {}
    for auto_fit in (False, True):
        with ViduClient(settings, transport=transport) as client, pytest.raises(APIStatusError) as caught:
            submit(client, prepare(start, end, OPTIONS, auto_fit=auto_fit))
        hints[auto_fit] = caught.value.hint.lower()
    assert "auto-fit" in hints[False]
    assert "auto-fit on" not in hints[True] and "turn" not in hints[True] and "try with auto-fit" not in hints[True]
