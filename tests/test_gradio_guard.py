"""Gradio's private parts that ``vidu_ui/studio/gradio_guard.py`` and ``vidu_ui/gradio_import.py`` use, asserted
one by one: these fail when a Gradio upgrade changes them, before the app misbehaves."""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import sys
import time
import types
from copy import copy
from pathlib import Path
from typing import Any, cast

import gradio as gr
import gradio.http_server as http_server
import httpx
import pytest
from gradio.blocks import Blocks
from gradio.queueing import Queue
from gradio.state_holder import SessionState

import app
from tests.support.apps import SKIP_SELF_PROBE, launched
from vidu_ui import gradio_import
from vidu_ui.settings import Settings
from vidu_ui.studio import gradio_guard
from vidu_ui.studio.runtime import StudioBlocks

SECRET = "sk-guard-secret"


def test_the_private_functions_have_the_parameters_the_guard_was_written_for() -> None:
    assert tuple(inspect.signature(SessionState._update_value_in_config).parameters) == ("self", "key", "value")
    assert tuple(inspect.signature(Blocks.preprocess_data).parameters) == (
        "self",
        "block_fn",
        "inputs",
        "state",
        "explicit_call",
    )
    assert isinstance(http_server.uvicorn, types.ModuleType)
    gradio_guard.check()


def test_the_launch_switch_the_tests_use_only_skips_the_self_probe() -> None:
    """``tests/support/apps.launched`` passes ``SKIP_SELF_PROBE`` to ``Blocks.launch``: its one use there is the
    condition of the "is localhost reachable" probe."""
    (name,) = SKIP_SELF_PROBE
    assert inspect.signature(Blocks.launch).parameters[name].default is True
    uses = [line.strip() for line in inspect.getsource(Blocks.launch).splitlines() if name in line]
    assert uses == [f"{name}: bool = True,", f"if {name} and not networking.url_ok(self.local_url) and not self.share:"]


def test_a_changed_function_is_named_with_the_installed_version(monkeypatch: pytest.MonkeyPatch) -> None:
    def moved(self: SessionState, key: int, value: Any, extra: bool = False) -> None:
        pass

    monkeypatch.setattr(SessionState, "_update_value_in_config", moved)
    with pytest.raises(gradio_guard.GradioChanged) as info:
        gradio_guard.check()
    assert gr.__version__ in str(info.value) and "_update_value_in_config" in str(info.value)
    monkeypatch.delattr(SessionState, "_update_value_in_config")
    with pytest.raises(gradio_guard.GradioChanged):
        gradio_guard.check()


def page_with_a_key() -> tuple[Blocks, gr.Textbox, Any]:
    with gr.Blocks() as page:
        key = gr.Textbox()
        prompt = gr.Textbox()
        gr.Button().click(lambda k, p: p, [key, prompt], prompt)
    block_fn = next(iter(page.fns.values()))
    return page, key, block_fn


def test_gradio_keeps_each_input_in_the_session_and_the_guard_blanks_the_secret_one() -> None:
    """What ``forget_inputs`` is for: Gradio's own ``preprocess_data`` keeps the key in the session's
    ``config_values`` (its deep links); after ``forget_inputs`` only the other input is kept."""
    page, key, block_fn = page_with_a_key()
    state = SessionState(page)
    asyncio.run(page.preprocess_data(block_fn, [SECRET, "a prompt"], state))
    kept = [config["props"].get("value") for config in state.config_values.values() if "props" in config]
    assert SECRET in kept and "a prompt" in kept
    assert gradio_guard.component_id(key) in state.config_values
    gradio_guard.forget_inputs(state, block_fn, {gradio_guard.component_id(key)})
    kept = [config["props"].get("value") for config in state.config_values.values() if "props" in config]
    assert SECRET not in kept and "a prompt" in kept


def test_a_session_of_a_page_with_configs_on_demand_works_out_only_what_its_events_keep() -> None:
    """Gradio works out every block's configuration for each new session; a ``configs_on_demand`` page's session
    (``StudioBlocks``) works out those its events keep, and its deep link still lists them all, as Gradio would."""
    gradio_guard.install()
    eager_page, _, eager_fn = page_with_a_key()
    page, _, block_fn = page_with_a_key()
    page.configs_on_demand = True  # type: ignore[attr-defined]
    eager, lazy = SessionState(eager_page), SessionState(page)
    assert len(eager.config_values) == len(page.blocks) and lazy.config_values == {}
    for state, fn, blocks in ((eager, eager_fn, eager_page), (lazy, block_fn, page)):
        asyncio.run(blocks.preprocess_data(fn, [SECRET, "a prompt"], state))
    assert set(lazy.config_values) == {gradio_guard.component_id(block) for block in block_fn.inputs}

    def shape(state: SessionState) -> list[tuple[str, Any]]:
        return [(config["type"], config.get("props", {}).get("value")) for config in state.components]

    assert shape(lazy) == shape(eager) and len(lazy.config_values) == len(page.blocks)


def test_a_session_init_that_reads_more_of_its_page_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    def reads_more(self: SessionState, blocks: Blocks) -> None:
        self.blocks_config = copy(blocks.default_config)
        self.config_values = {k: self.blocks_config.config_for_block(k, [], v) for k, v in blocks.fns.items()}

    monkeypatch.setattr(gradio_guard, "_gradio_session_init", reads_more)
    with pytest.raises(gradio_guard.GradioChanged, match=r"SessionState\.__init__"):
        gradio_guard.check()


def test_a_component_without_its_id_is_named() -> None:
    with pytest.raises(gradio_guard.GradioChanged, match=r"Block\._id"):
        gradio_guard.component_id(object())


def test_the_queue_holds_the_maps_the_stream_guard_reads() -> None:
    """``StreamGuard`` reads two maps of Gradio's queue (``Blocks._queue``) to tell a held event from an unknown
    one; a launched page's queue is checked too (``tests/test_fuzz.py``)."""
    page, _, _ = page_with_a_key()
    page.queue()
    assert isinstance(page._queue, Queue)
    for name in gradio_guard.QUEUE_MAPS:
        assert isinstance(getattr(page._queue, name), dict), name


def test_streaming_diffs_still_go_through_the_function_the_guard_replaces(monkeypatch: pytest.MonkeyPatch) -> None:
    """``install`` replaces ``gradio.utils.diff`` (``whole_diff``): that only works while Gradio's streaming diffs
    call it by that name."""
    assert gradio_guard.STREAMING_DIFF in inspect.getsource(Blocks.handle_streaming_diffs)
    original = Blocks.handle_streaming_diffs

    def inlined(
        self: Blocks, block_fn: Any, data: list[Any], session_hash: Any, run: Any, final: bool, simple_format: bool
    ) -> list[Any]:
        return list(data)

    monkeypatch.setattr(Blocks, "handle_streaming_diffs", inlined)
    with pytest.raises(gradio_guard.GradioChanged) as info:
        gradio_guard.check()
    assert "handle_streaming_diffs" in str(info.value)
    monkeypatch.setattr(Blocks, "handle_streaming_diffs", original)
    gradio_guard.check()


def _stream(http: httpx.Client, path: str, within: float = 60.0) -> str:
    """The event stream at ``path`` until it ends, or what came of it ``within`` seconds (heartbeats included)."""
    deadline, lines = time.monotonic() + within, []
    with http.stream("GET", path) as answer:
        for line in answer.iter_lines():
            lines.append(line)
            if time.monotonic() > deadline:
                break
    return "\n".join(lines)


def test_an_idle_queue_waits_until_an_event_wakes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """With nothing to do, the loops ``calm_queue`` gives a queue wait to be woken (here for an hour at most): a
    call is answered all the same, because pushing it wakes them, and they wait again a few times per call, not
    every few milliseconds."""
    monkeypatch.setattr(gradio_guard, "QUEUE_IDLE_WAIT", 3600.0)
    waits: list[asyncio.Event] = []
    idle = gradio_guard._idle

    async def counted(event: asyncio.Event) -> None:
        waits.append(event)
        await idle(event)

    monkeypatch.setattr(gradio_guard, "_idle", counted)
    with gr.Blocks() as blocks:
        said, shouted = gr.Textbox(), gr.Textbox()
        said.submit(str.upper, said, shouted, api_name="shout")
    blocks.queue()
    gradio_guard.calm_queue(blocks)
    words = ("fox", "heron", "kite")
    with launched(lambda _port: cast(StudioBlocks, blocks)) as (_, url), httpx.Client(base_url=url, timeout=30) as http:
        for word in words:
            event = http.post("/gradio_api/call/shout", json={"data": [word]}).json()["event_id"]
            stream = _stream(http, f"/gradio_api/call/shout/{event}")
            assert "event: complete" in stream and word.upper() in stream
    assert 2 <= len(waits) <= 2 + 4 * len(words)


def test_a_queue_loop_changed_in_gradio_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    """The loops ``calm_queue`` replaces are Gradio's as written for (their source's digest): any change to one
    is named, so the copy is reviewed against it."""
    assert set(gradio_guard.QUEUE_LOOPS) == {"start_processing", "start_progress_updates"}

    async def start_processing(self: Queue) -> None:
        pass

    monkeypatch.setattr(Queue, "start_processing", start_processing)
    with pytest.raises(gradio_guard.GradioChanged, match="start_processing"):
        gradio_guard.check()
    page, _, _ = page_with_a_key()
    monkeypatch.setattr(page, "_queue", None)
    with pytest.raises(gradio_guard.GradioChanged, match="_queue"):
        gradio_guard.calm_queue(page)


def test_the_page_alone_skips_the_server_app_its_with_would_build(tmp_path: Path) -> None:
    """Gradio builds a server app when a ``with Blocks()`` ends, and any other Blocks still does; the studio's
    page skips that one (``built_at_launch``): launch builds the one it serves (``tests/test_app.py``)."""
    page = app.build_app(Settings.build(data_dir=tmp_path / "data"))
    assert page.app is None
    with gr.Blocks() as plain:
        gr.Textbox()
    assert plain.app is not None


def test_a_with_that_no_longer_builds_the_server_app_so_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    def exit_(self: Blocks, *args: Any) -> None:
        pass

    monkeypatch.setattr(Blocks, "__exit__", exit_)
    with pytest.raises(gradio_guard.GradioChanged, match="__exit__"):
        gradio_guard.check()


def test_an_event_is_held_until_its_last_message_is_delivered_not_while_its_queue_still_lists_it() -> None:
    """Gradio lists a finished event among its events a moment after its completion was delivered: a stream opened
    then waited forever for messages never sent (seen once in a full run). Held means: still to be delivered."""
    page, _, _ = page_with_a_key()
    page.queue()
    queue = page._queue
    app = types.SimpleNamespace(get_blocks=lambda: page)
    scope = {"app": app}
    queue.event_ids_to_events["ev-1"] = types.SimpleNamespace(session_hash="s-1")
    queue.pending_messages_per_session["s-1"] = object()
    queue.pending_event_ids_session["s-1"] = {"ev-1"}
    assert gradio_guard.StreamGuard._held(scope, "event", "ev-1")
    queue.pending_event_ids_session["s-1"] = set()  # its completion delivered; the queue still lists the event
    assert not gradio_guard.StreamGuard._held(scope, "event", "ev-1")
    assert gradio_guard.StreamGuard._held(scope, "session", "s-1")
    assert not gradio_guard.StreamGuard._held(scope, "event", "ev-unknown")


def test_every_component_class_goes_through_the_stub_writer_which_this_process_skips(tmp_path: Path) -> None:
    from gradio import component_meta

    assert f"{gradio_import.FUNCTION}(component_class, name, events)" in inspect.getsource(
        component_meta.ComponentMeta.__new__
    )
    assert gradio_import.installed()  # vidu_ui was imported before Gradio (tests/conftest.py)
    # A component class made now writes no stub beside its source.
    source = tmp_path / "probe_component.py"
    source.write_text("import gradio as gr\n\n\nclass ProbeComponent(gr.components.Component):\n    EVENTS = []\n")
    spec = importlib.util.spec_from_file_location("probe_component", source)
    assert spec is not None and spec.loader is not None
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
    assert not source.with_suffix(".pyi").exists()


def test_a_gradio_imported_before_the_hook_is_left_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    from gradio import component_meta

    monkeypatch.setattr(component_meta, gradio_import.FUNCTION, lambda *args: None)
    assert not gradio_import.installed()
    gradio_import.install()  # Gradio is imported: no hook is added, the module is not touched
    assert not any(isinstance(finder, gradio_import._SkipStubs) for finder in sys.meta_path)
    assert not gradio_import.installed()
