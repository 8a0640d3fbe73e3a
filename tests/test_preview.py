"""The request preview: cURL, Python and JavaScript that read the frames from disk and run as they are.

The run tests execute each snippet against the simulator (curl through bash, Python, Node) and check that the
service received exactly the body the app would have sent.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.images import photo, write
from vidu_ui.preview import FITTED_NOTE, LANGUAGES, create_url, file_name, snippets
from vidu_ui.request import TaskOptions
from vidu_ui.settings import Paths, Settings
from vidu_ui.simulator import Simulator
from vidu_ui.simulator.log import shorten
from vidu_ui.submit import PreparedRequest, prepare

CANARY = "sk-CANARY-0d9e8f7a6b5c"
PROMPT = 'It\'s a "quoted" prompt with $HOME, `ticks`, a \\ backslash and 中文'

pytestmark = pytest.mark.simulator(api_key=CANARY, queue_seconds=0.05, process_seconds=0.1)


@pytest.fixture(scope="module")
def frames(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("preview") / "my frames"  # a space: paths must be quoted
    folder.mkdir()
    start = write(folder / "start 1.png", photo(320, 180, 1), "PNG")
    end = write(folder / "end.jpg", photo(320, 180, 2), "JPEG")
    return start, end


@pytest.fixture(scope="module")
def request_(frames: tuple[Path, Path]) -> PreparedRequest:
    options = TaskOptions(model="viduq1", prompt=PROMPT, duration=5, meta_data='{"Label": "x"}')
    return prepare(frames[0], frames[1], options)


def code_for(request: PreparedRequest, settings: Settings, frames: tuple[Path, Path]) -> dict[str, str]:
    return snippets(request.shortened_body(), settings, str(frames[0]), str(frames[1]))


def test_every_snippet_names_the_url_and_the_key_variable_never_the_key(
    request_: PreparedRequest, frames: tuple[Path, Path]
) -> None:
    settings = Settings.build(
        api_key=CANARY, base_url="https://api.vidu.cn", auth_scheme="Token", paths=Paths(create="/v1/custom/create")
    )
    code = code_for(request_, settings, frames)
    assert set(code) == set(LANGUAGES)
    assert create_url(settings) == "https://api.vidu.cn/v1/custom/create"
    for text in code.values():
        assert create_url(settings) in text and "Token " in text and "VIDU_API_KEY" in text
        assert CANARY not in text
        assert "more characters" not in text  # nothing shortened: the data comes from the files
        assert frames[0].name in text and frames[1].name in text
    assert '"Authorization: Token $VIDU_API_KEY"' in code["curl"]
    assert "os.environ['VIDU_API_KEY']" in code["python"]
    assert "process.env.VIDU_API_KEY" in code["javascript"]


def test_the_apps_own_callback_receiver_is_left_out_a_typed_one_kept(frames: tuple[Path, Path]) -> None:
    settings = Settings.build(public_url="https://studio.example/")
    own = prepare(
        frames[0],
        frames[1],
        TaskOptions(model="viduq1", prompt="p", callback_url="https://studio.example/vidu/callback"),
    )
    typed = prepare(
        frames[0], frames[1], TaskOptions(model="viduq1", prompt="p", callback_url="https://hooks.example/x")
    )
    for text in code_for(own, settings, frames).values():
        assert "studio.example" not in text and "callback_url" not in text
    for text in code_for(typed, settings, frames).values():
        assert "https://hooks.example/x" in text


def test_url_frames_stay_urls_and_no_file_is_read() -> None:
    body = {"model": "viduq1", "images": ["https://example.com/a.png", "https://example.com/b.png"], "prompt": "p"}
    code = snippets(body, Settings.build())
    for text in code.values():
        assert "https://example.com/a.png" in text and "https://example.com/b.png" in text
    assert "base64" not in code["curl"] and "base64" not in code["python"] and "readFile" not in code["javascript"]


def test_the_page_names_a_frame_by_its_uploaded_file_name() -> None:
    assert file_name("/tmp/gradio/3f2a/holiday photo.jpg") == "holiday photo.jpg"
    assert file_name("https://example.com/a.png") is None
    assert file_name(None) is None


def run_and_check(
    command: list[str], request: PreparedRequest, sim: Simulator, cwd: Path, extra_env: dict[str, str] | None = None
) -> None:
    """Run a snippet with the key in the environment; the simulator must have created one task from the same body."""
    env = {**os.environ, "VIDU_API_KEY": CANARY, **(extra_env or {})}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, cwd=cwd, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert sim.create_count == 1
    created = [r for r in sim.log.snapshot() if r.call == "create"]
    assert [r.status for r in created] == [200]
    assert created[0].body == shorten(request.body)  # same fields; the images decoded (the simulator checks)
    assert CANARY not in done.stdout + done.stderr


def test_the_python_snippet_runs_and_creates_the_task(
    request_: PreparedRequest, frames: tuple[Path, Path], sim: Simulator, tmp_path: Path
) -> None:
    script = tmp_path / "create.py"
    script.write_text(code_for(request_, Settings.build(base_url=sim.base_url), frames)["python"], encoding="utf-8")
    run_and_check([sys.executable, str(script)], request_, sim, tmp_path)


@pytest.mark.skipif(shutil.which("curl") is None or shutil.which("bash") is None, reason="needs curl and bash")
def test_the_curl_script_runs_and_creates_the_task(
    request_: PreparedRequest, frames: tuple[Path, Path], sim: Simulator, tmp_path: Path
) -> None:
    script = tmp_path / "create.sh"
    script.write_text(code_for(request_, Settings.build(base_url=sim.base_url), frames)["curl"], encoding="utf-8")
    run_and_check(["bash", str(script)], request_, sim, tmp_path)


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node (20 or later)")
def test_the_javascript_snippet_runs_and_creates_the_task(
    request_: PreparedRequest, frames: tuple[Path, Path], sim: Simulator, tmp_path: Path
) -> None:
    script = tmp_path / "create.mjs"
    script.write_text(code_for(request_, Settings.build(base_url=sim.base_url), frames)["javascript"], encoding="utf-8")
    run_and_check(["node", str(script)], request_, sim, tmp_path)


def test_a_snippet_run_next_to_the_frames_finds_them_by_name(
    request_: PreparedRequest, frames: tuple[Path, Path], sim: Simulator
) -> None:
    """The page's snippets name the frames by file name only: run in their folder, they find them."""
    start, end = frames
    code = snippets(
        request_.shortened_body(), Settings.build(base_url=sim.base_url), file_name(str(start)), file_name(str(end))
    )
    assert str(start.parent) not in code["python"]
    script = start.parent / "create-here.py"
    script.write_text(code["python"], encoding="utf-8")
    try:
        run_and_check([sys.executable, script.name], request_, sim, start.parent)
    finally:
        script.unlink()


def test_fitted_frames_are_flagged_in_every_snippet(request_: PreparedRequest, frames: tuple[Path, Path]) -> None:
    plain = code_for(request_, Settings.build(), frames)
    fitted = snippets(request_.shortened_body(), Settings.build(), str(frames[0]), str(frames[1]), fitted=True)
    for language in LANGUAGES:
        assert FITTED_NOTE not in plain[language]
        assert fitted[language].splitlines()[0].endswith(FITTED_NOTE)
        assert fitted[language].endswith(plain[language])
