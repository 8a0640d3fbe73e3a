"""The studio as an MCP server (``--mcp``), driven by the ``mcp`` package's own client over streamable HTTP.

The app runs as ``--demo --mcp`` would run it (the built-in simulator, tasks waiting long enough in the queue to
be cancelled). The client sends the frames as MCP clients do for a Gradio image input: base64 data URIs.
"""

from __future__ import annotations

import ast
import asyncio
import base64
from pathlib import Path
from typing import Any

import pytest

from tests.images import encode, photo
from tests.support.apps import FORM, Running
from vidu_ui.studio import mcp_tools

mcp = pytest.importorskip("mcp", reason='the MCP client comes with "gradio[mcp]" (requirements.txt)')
from mcp.client.streamable_http import streamable_http_client  # noqa: E402 - after the skip above

CANARY = "sk-CANARY-m1c2p3-tools"
MCP_PATH = "/gradio_api/mcp/"


# Tasks wait a minute in the queue: long enough to be cancelled, whatever the machine's load.
pytestmark = [
    pytest.mark.app(api_key=CANARY, queue_seconds=60, process_seconds=1, serve={"mcp": True, "demo": True}),
    # As ``serve`` does with --mcp: Generate's one gr.State is its per-session guard against a double click.
    pytest.mark.filterwarnings("ignore:This MCP server includes a tool that has a gr.State input"),
]


def data_uri(fmt: str, seed: int) -> str:
    mime = {"PNG": "image/png", "JPEG": "image/jpeg"}[fmt]
    return f"data:{mime};base64," + base64.b64encode(encode(photo(640, 360, seed), fmt)).decode("ascii")


def texts(result: Any) -> list[str]:
    assert not result.isError, result.content
    return [item.text for item in result.content if item.type == "text"]


def generated(result: Any) -> list[Any]:
    """Generate's outputs (task id, credits, response, …), which Gradio's MCP server gives as one text: their repr."""
    (text,) = texts(result)
    outputs: list[Any] = ast.literal_eval(text)
    return outputs


async def session_calls(url: str, calls: list[tuple[str, dict[str, Any]]]) -> tuple[Any, list[Any]]:
    """List the tools, then make the calls in order in one MCP session; each call's arguments may refer to the
    task id the first call (generate) returned as ``{task}``."""
    async with streamable_http_client(url + MCP_PATH) as (read, write, _), mcp.ClientSession(read, write) as session:
        await session.initialize()
        tools = await session.list_tools()
        results: list[Any] = []
        for name, arguments in calls:
            if results:
                task = generated(results[0])[0]
                arguments = {k: (task if v == "{task}" else v) for k, v in arguments.items()}
            results.append(await session.call_tool(name, arguments))
        return tools, results


def test_an_agent_creates_follows_and_cancels_a_task(running: Running, tmp_path: Path) -> None:
    # Every option set, the whole numbers among them (duration, wm_position: described as integers, see layout.py).
    form = {**FORM, "duration": 5, "wm_position": 2, "watermark": True}
    arguments = {**form, "start_image": data_uri("PNG", 21), "end_image": data_uri("JPEG", 22)}
    tools, results = asyncio.run(
        session_calls(
            running.url.rstrip("/"),
            [
                ("generate", arguments),
                ("task_status", {"task_id": "{task}"}),
                ("cancel_task", {"task_id": "{task}"}),
            ],
        )
    )
    listed = {tool.name: tool for tool in tools.tools}
    assert {"generate", *mcp_tools.TOOLS} <= set(listed)
    for name in ("generate", *mcp_tools.TOOLS):
        assert listed[name].description and "task" in listed[name].description
    assert {"start_image", "end_image", "prompt", "model"} <= set(listed["generate"].inputSchema["properties"])
    assert "api_key" not in listed["generate"].inputSchema["properties"]  # the server's key is used
    properties = listed["generate"].inputSchema["properties"]
    for name in ("duration", "wm_position"):
        assert properties[name]["type"] == "integer" and all(isinstance(v, int) for v in properties[name]["enum"])

    task_id, credits, response, *_ = generated(results[0])
    assert task_id.isdigit() and response["task_id"] == task_id and credits == f"{response['credits']:g}"
    created = [r for r in running.sim.log.snapshot() if r.call == "create"]
    assert [r.status for r in created] == [200]  # the simulator decoded both images and accepted them
    assert [image.split(";")[0] for image in created[0].body["images"]] == ["data:image/png", "data:image/jpeg"]
    assert created[0].body["prompt"] == FORM["prompt"] and created[0].body["duration"] == 5
    assert created[0].body["wm_position"] == 2

    status = ast.literal_eval(texts(results[1])[0])
    assert status["task_id"] == task_id and status["state"] in ("created", "queueing")
    assert status["finished"] is False

    cancelled = ast.literal_eval(texts(results[2])[0])
    assert cancelled["task_id"] == task_id
    tracker, store = running.page.runtime.tracker, running.page.runtime.store
    record = store.get(task_id)
    assert record is not None
    while not record.finished:  # the tracker confirms the cancel with a query; wait for that row change
        changed = tracker.wait_for_change(task_id, record.version, 30)
        assert changed is not None, "the cancel was never confirmed"
        record = changed
    assert (record.state, record.err_code) == ("failed", "UserCancelled")

    _, (after,) = asyncio.run(session_calls(running.url.rstrip("/"), [("task_status", {"task_id": task_id})]))
    final = ast.literal_eval(texts(after)[0])
    assert final["finished"] is True and final["err_code"] == "UserCancelled" and final["reason"]
    assert CANARY not in repr([texts(r) for r in results])


def test_an_unknown_task_is_an_error_for_the_agent(running: Running) -> None:
    _, (result,) = asyncio.run(session_calls(running.url.rstrip("/"), [("task_status", {"task_id": "123456789"})]))
    assert result.isError


def test_building_the_page_writes_nothing_beside_the_code(running: Running) -> None:
    """Gradio writes a ``.pyi`` next to the module of any component subclass: the page has none."""
    import vidu_ui

    assert not sorted(Path(vidu_ui.__file__).parent.rglob("*.pyi"))
