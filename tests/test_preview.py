"""The request preview: cURL and Python text built from the real prepared body and settings."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.images import photo, write
from vidu_ui.options import TaskOptions
from vidu_ui.preview import create_url, curl_command, python_snippet
from vidu_ui.settings import Paths, Settings
from vidu_ui.simulator import Simulator
from vidu_ui.submit import PreparedRequest, prepare

CANARY = "sk-CANARY-0d9e8f7a6b5c"


@pytest.fixture(scope="module")
def request_(tmp_path_factory: pytest.TempPathFactory) -> PreparedRequest:
    folder = tmp_path_factory.mktemp("preview")
    start = write(folder / "start.png", photo(320, 180, 1), "PNG")
    end = write(folder / "end.jpg", photo(320, 180, 2), "JPEG")
    options = TaskOptions(model="viduq1", prompt='It\'s a "quoted" prompt with $HOME and `ticks`', duration=5)
    return prepare(start, end, options)


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(api_key=CANARY, port=0, queue_seconds=0.05, process_seconds=0.1) as simulator:
        yield simulator


def test_curl_uses_the_settings_url_scheme_and_the_key_variable(request_: PreparedRequest) -> None:
    settings = Settings.build(api_key=CANARY, base_url="https://api.vidu.cn", auth_scheme="Token")
    text = curl_command(request_.shortened_body(), settings)
    assert "curl -X POST https://api.vidu.cn/ent/v2/start-end2video" in text
    assert '-H "Authorization: Token $VIDU_API_KEY"' in text
    assert CANARY not in text
    heredoc = text.split("<<'JSON'\n", 1)[1].rsplit("\nJSON", 1)[0]
    assert json.loads(heredoc) == request_.shortened_body()
    assert text.startswith("# Image data is shortened")


def test_python_snippet_holds_the_same_body(request_: PreparedRequest) -> None:
    settings = Settings.build(api_key=CANARY, paths=Paths(create="/v1/custom/create"))
    text = python_snippet(request_.shortened_body(), settings)
    tree = ast.parse(text)
    assigned = next(n for n in tree.body if isinstance(n, ast.Assign) and ast.unparse(n.targets[0]) == "body")
    assert ast.literal_eval(assigned.value) == request_.shortened_body()
    assert '"https://www.kkiai.com/v1/custom/create",' in text
    assert "f\"Bearer {os.environ['VIDU_API_KEY']}\"" in text
    assert CANARY not in text


def test_url_frames_are_not_called_shortened() -> None:
    body = {"model": "viduq1", "images": ["https://example.com/a.png", "https://example.com/b.png"], "prompt": "p"}
    settings = Settings.build()
    assert "shortened" not in curl_command(body, settings)
    assert "shortened" not in python_snippet(body, settings)
    assert create_url(Settings.build(base_url="https://proxy.example/vidu/")) == (
        "https://proxy.example/vidu/ent/v2/start-end2video"
    )


def test_the_full_python_snippet_creates_a_task(request_: PreparedRequest, sim: Simulator, tmp_path: Path) -> None:
    script = tmp_path / "run.py"
    script.write_text(python_snippet(request_.body, Settings.build(base_url=sim.base_url)))
    env = {**os.environ, "VIDU_API_KEY": CANARY}
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().isdigit()
    assert sim.create_count == 1


@pytest.mark.skipif(shutil.which("curl") is None or shutil.which("bash") is None, reason="needs curl and bash")
def test_the_full_curl_command_creates_a_task(request_: PreparedRequest, sim: Simulator) -> None:
    command = curl_command(request_.body, Settings.build(base_url=sim.base_url))
    env = {**os.environ, "VIDU_API_KEY": CANARY}
    done = subprocess.run(["bash", "-c", command], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["prompt"] == request_.body["prompt"]
    assert sim.create_count == 1
