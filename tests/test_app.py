"""app.py: flags, auth files, demo settings and launch options; nothing here launches a server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr
import pytest
from typer.testing import CliRunner

from tests.support.apps import launched
from vidu_ui import serve as app
from vidu_ui.frames import MAX_FILE_BYTES
from vidu_ui.settings import Paths, Settings, SettingsError
from vidu_ui.studio import gradio_guard, mcp_tools

CANARY = "sk-CANARY-5e4d3c2b1a"


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> list[app.ServeOptions]:
    calls: list[app.ServeOptions] = []
    monkeypatch.setattr(app, "serve", calls.append)
    for name in ("GRADIO_SERVER_NAME", "GRADIO_SERVER_PORT", "GRADIO_ROOT_PATH", "VIDU_DEMO", "VIDU_UI_AUTH_FILE"):
        monkeypatch.delenv(name, raising=False)
    return calls


def invoke(args: list[str], env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(app.cli, args, env=env)


def test_no_flags_means_gradio_defaults(captured: list[app.ServeOptions]) -> None:
    assert invoke([]).exit_code == 0
    assert captured == [app.ServeOptions()]
    kwargs = captured[0].launch_kwargs()
    assert (kwargs["server_name"], kwargs["server_port"], kwargs["auth"], kwargs["mcp_server"]) == (
        None,
        None,
        None,
        False,
    )


def test_every_flag(captured: list[app.ServeOptions], tmp_path: Path) -> None:
    auth_file = tmp_path / "users.txt"
    auth_file.write_text("# team\n\ncarol:pa:ss\n")
    result = invoke(
        [
            "--host",
            "0.0.0.0",
            "--port",
            "8080",
            "--share",
            "--auth",
            "alice:secret",
            "--auth",
            "bob:x:y",
            "--auth-file",
            str(auth_file),
            "--root-path",
            "/vidu",
            "--mcp",
            "--demo",
        ]
    )
    assert result.exit_code == 0, result.output
    assert captured == [
        app.ServeOptions(
            host="0.0.0.0",
            port=8080,
            share=True,
            auth=(("alice", "secret"), ("bob", "x:y"), ("carol", "pa:ss")),
            root_path="/vidu",
            mcp=True,
            demo=True,
        )
    ]
    kwargs = captured[0].launch_kwargs()
    assert kwargs["auth"].__self__.users == ["alice", "bob", "carol"]  # SignInGuard.check over the three pairs
    assert kwargs["mcp_server"] is True and kwargs["root_path"] == "/vidu"


def test_gradio_and_vidu_environment_variables(captured: list[app.ServeOptions], tmp_path: Path) -> None:
    auth_file = tmp_path / "users.txt"
    auth_file.write_text("dave:pw\n")
    env = {
        "GRADIO_SERVER_NAME": "0.0.0.0",
        "GRADIO_SERVER_PORT": "7999",
        "GRADIO_ROOT_PATH": "/studio",
        "VIDU_DEMO": "1",
        "VIDU_UI_AUTH_FILE": str(auth_file),
    }
    assert invoke([], env=env).exit_code == 0
    assert captured == [
        app.ServeOptions(host="0.0.0.0", port=7999, root_path="/studio", demo=True, auth=(("dave", "pw"),))
    ]


def test_a_bad_auth_value_is_refused_without_echoing_it(captured: list[app.ServeOptions]) -> None:
    result = invoke(["--auth", "just-a-password-S3CRET"])
    assert result.exit_code == 2
    assert "user:password" in result.output
    assert "S3CRET" not in result.output
    assert captured == []


def test_auth_file_parsing(tmp_path: Path) -> None:
    good = tmp_path / "good.txt"
    good.write_text("  # comment\nann:one\n\n  ben : two:three  \n")
    assert app.read_auth_file(good) == [("ann", "one"), ("ben", " two:three")]
    bad = tmp_path / "bad.txt"
    bad.write_text("ann:one\nHUNTER2-no-colon\n")
    with pytest.raises(Exception, match="line 2") as caught:
        app.read_auth_file(bad)
    assert "HUNTER2" not in str(caught.value)
    empty = tmp_path / "empty.txt"
    empty.write_text("# nobody\n")
    with pytest.raises(Exception, match="no user:password line"):
        app.read_auth_file(empty)
    with pytest.raises(Exception, match="cannot read"):
        app.read_auth_file(tmp_path / "missing.txt")


def test_parse_auth() -> None:
    assert app.parse_auth("u:p") == ("u", "p")
    assert app.parse_auth("u:p:q") == ("u", "p:q")
    for value in ("u", ":p", "u:", ""):
        with pytest.raises(Exception, match="user:password"):
            app.parse_auth(value)


def test_demo_settings_point_at_the_simulator() -> None:
    base = Settings.build(
        api_key="real-key-never-sent-to-the-simulator",
        base_url="https://api.vidu.com",
        auth_scheme="Token",
        paths=Paths(create="/custom"),
        read_timeout=12,
    )
    simulator, key = app.start_simulator()
    try:
        other, other_key = app.start_simulator(CANARY)
        other.stop()
        assert other_key == CANARY
        assert key.startswith("demo-") and len(key) > 30
        settings = app.demo_settings(base, simulator, key, public_url="http://127.0.0.1:7860")
        assert settings.public_url == "http://127.0.0.1:7860"
        assert settings.base_url == simulator.base_url and settings.base_url.startswith("http://127.0.0.1:")
        assert settings.api_key is not None and settings.api_key.get_secret_value() == key
        assert (settings.auth_scheme, settings.paths, settings.demo, settings.read_timeout) == (
            "Bearer",
            Paths(),
            True,
            12,
        )
        assert key not in repr(settings)
    finally:
        simulator.stop()


def test_two_demo_starts_get_different_keys() -> None:
    first, first_key = app.start_simulator()
    second, second_key = app.start_simulator()
    first.stop()
    second.stop()
    assert first_key != second_key


def test_mcp_without_the_extra_exits_with_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app, "mcp_available", lambda: False)
    launched: list[object] = []
    monkeypatch.setattr(app, "build_app", lambda *a, **k: launched.append(a))
    monkeypatch.delenv("VIDU_DEMO", raising=False)
    result = CliRunner().invoke(app.cli, ["--mcp"])
    assert result.exit_code == 2
    assert 'pip install "gradio[mcp]"' in result.output
    assert launched == []


def test_the_page_settles_once_launched(monkeypatch: pytest.MonkeyPatch) -> None:
    """What start built is left out of Python's full collections (``heap.settle``) once the page is launched,
    before it blocks: each full collection walked Gradio's objects again, 0.13 s with the page standing still."""
    steps: list[str] = []

    class Page:
        def launch(self, **kwargs: Any) -> None:
            steps.append("launch")

        def block_thread(self) -> None:
            steps.append("block")

    monkeypatch.setattr(app, "build_app", lambda *a, **k: Page())
    monkeypatch.setattr(app, "launch_lines", lambda *a: [])
    monkeypatch.setattr(app, "settle", lambda: steps.append("settle"))
    monkeypatch.setattr(app.signal, "signal", lambda *a: None)
    monkeypatch.delenv("VIDU_DEMO", raising=False)
    result = invoke([])
    assert result.exit_code == 0, result.output
    assert steps == ["launch", "settle", "block"]


def test_bad_settings_exit_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIDU_BASE_URL", "ftp://nowhere")
    result = CliRunner().invoke(app.cli, [])
    assert result.exit_code == 2
    assert "base_url" in result.output


def test_the_server_app_is_built_over_its_events_at_launch_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Gradio builds its server app over every event in ``queue()`` and at the end of a ``with Blocks()``, then
    once more at launch, the one it serves: each build done before was thrown away at every start (issue 15's
    cold start). The page sets its queue while still empty and skips the ``with``'s build
    (``gradio_guard.built_at_launch``), so launch's is the only one over the events."""
    built: list[int] = []
    create_app = gradio_guard._create_app

    def counting(blocks: gr.Blocks, *args: Any, **kwargs: Any) -> Any:
        built.append(len(blocks.fns))
        return create_app(blocks, *args, **kwargs)

    monkeypatch.setattr(gradio_guard, "_create_app", counting)
    page = app.build_app(Settings.build(api_key=CANARY, data_dir=tmp_path / "data"), max_queue=7)
    assert page.fns
    assert [fns for fns in built if fns] == []
    with launched(lambda _port: page):
        assert [fns for fns in built if fns] == [len(page.fns)]


def test_build_app_bounds_the_queue_and_never_makes_generate_wait(tmp_path: Path) -> None:
    page = app.build_app(Settings.build(api_key=CANARY, data_dir=tmp_path / "data"), max_queue=7)
    assert isinstance(page, gr.Blocks)
    assert page._queue.max_size == 7
    generate = next(fn for fn in page.fns.values() if fn.api_name == "generate")
    assert generate.concurrency_limit is None and generate.validator is not None
    public = sorted(fn.api_name or "" for fn in page.fns.values() if fn.api_visibility == "public")
    assert public == sorted(["generate", *mcp_tools.TOOLS])  # generate, and the MCP tools' status and cancel
    # Every event that may wait (on the service or on a task's next change) waits alone.
    waiting = [fn for fn in page.fns.values() if fn.queue]
    assert len(waiting) >= 10 and all(fn.concurrency_limit is None for fn in waiting)
    follow = [fn for fn in page.fns.values() if getattr(fn.fn, "__name__", "").startswith("follow")]
    assert len(follow) >= 2 and all(not fn.postprocess for fn in follow)  # service URLs go as they are


def test_nothing_that_starts_at_page_load_takes_the_key_box(tmp_path: Path) -> None:
    """Gradio clears an input's validation message whenever an event taking that input starts. An event started
    by the page's load (or chained after one) that took the visitor's key box could start late and wipe "no API
    key", just shown after a quick Generate (a CI run saw the message never appear)."""
    page = app.build_app(Settings.build(data_dir=tmp_path / "data"))  # no server key: each visitor brings theirs
    key_box = next(block for block in page.blocks.values() if getattr(block, "elem_id", None) == "vu-api-key")
    fns = list(page.fns.values())
    at_load = {fn._id for fn in fns if any(block_id == page._id and event == "load" for block_id, event in fn.targets)}
    assert at_load
    grown = True
    while grown:  # what runs after those (``then``, ``success``), transitively
        chained = {fn._id for fn in fns if fn.trigger_after in at_load}
        grown = not chained <= at_load
        at_load |= chained
    takes_key = [getattr(fn.fn, "__name__", fn.name) for fn in fns if fn._id in at_load and key_box in fn.inputs]
    assert takes_key == []


def test_build_app_opens_its_own_history_and_starts_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = app.build_app(Settings.build(api_key=CANARY, data_dir=data))
    second = app.build_app(Settings.build(api_key=CANARY, data_dir=tmp_path / "other"))
    assert first.runtime is not second.runtime and first.runtime.tracker is not second.runtime.tracker
    assert (data / "history.sqlite3").stat().st_mode & 0o777 == 0o600
    assert not first.runtime.running  # the tracker starts with the server (launch), not at build time
    kwargs = first.runtime.app_kwargs({"docs_url": None})
    assert [route.path for route in kwargs["routes"]] == ["/healthz", "/gradio_api/deep_link", "/vidu/callback"]
    assert kwargs["openapi_url"] is None and kwargs["docs_url"] is None and callable(kwargs["lifespan"])


def test_demo_public_url_is_the_apps_own_loopback_address() -> None:
    assert app.own_url(None, 7860) == "http://127.0.0.1:7860"
    assert app.own_url("0.0.0.0", 7861) == "http://127.0.0.1:7861"
    assert app.own_url("192.168.1.5", 80) == "http://192.168.1.5:80"
    assert app.own_url("::1", 7860) == "http://[::1]:7860"
    port = app.free_port("127.0.0.1", 7870)
    assert 7870 <= port < 7970


def test_launch_options_keep_secrets_out_of_the_browser() -> None:
    kwargs = app.ServeOptions().launch_kwargs()
    assert kwargs["run_history"] is False
    assert kwargs["enable_monitoring"] is False
    assert kwargs["show_error"] is False
    # Gradio's refusal prints the limit in MiB: the same figure as the frames' limit in MB (the README's 50 MB).
    assert kwargs["max_file_size"] / 2**20 == MAX_FILE_BYTES / 10**6
    assert "allowed_paths" not in kwargs and "blocked_paths" not in kwargs
    assert isinstance(kwargs["i18n"], gr.I18n)
    assert set(kwargs["i18n"].translations_dict) == {"en", "zh-CN"}


def test_history_settings_from_the_environment() -> None:
    default = Settings.from_env({})
    assert default.keep_videos is True and default.shared_history is False
    chosen = Settings.from_env({"VIDU_UI_KEEP_VIDEOS": "0", "VIDU_UI_SHARED_HISTORY": "1"})
    assert chosen.keep_videos is False and chosen.shared_history is True
    assert Settings.from_env({"VIDU_UI_KEEP_VIDEOS": "off", "VIDU_UI_SHARED_HISTORY": "yes"}).shared_history
    with pytest.raises(SettingsError, match="keep_videos"):
        Settings.from_env({"VIDU_UI_KEEP_VIDEOS": "sometimes"})
