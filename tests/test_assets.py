"""``vidu_ui.studio.assets``: Gradio's build files compressed once per process, served from memory after, and every
other answer passed on untouched. The launched app's own use of it is in ``tests/test_studio_routes.py``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import brotli  # type: ignore[import-untyped]
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route

from vidu_ui.studio import assets
from vidu_ui.studio.assets import AssetCache, CompressedFiles

SCRIPT = b"export const greeting = 'hello';\n" * 400
BR = {"accept-encoding": "gzip, deflate, br"}


class Build:
    """A Starlette app serving files as Gradio serves its build (``FileResponse``), counting what it is asked."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.asked: list[str] = []
        (folder / "index.js").write_bytes(SCRIPT)
        (folder / "other.js").write_bytes(SCRIPT[::-1])
        (folder / "logo.png").write_bytes(b"\x89PNG" + bytes(2000))

    async def file(self, request: Request) -> Response:
        name = request.path_params["name"]
        self.asked.append(name)
        path = self.folder / name
        return FileResponse(path) if path.exists() else PlainTextResponse("nope", status_code=404)

    def client(self, files: CompressedFiles) -> httpx.AsyncClient:
        routes = [Route("/assets/{name}", self.file), Route("/file/{name}", self.file)]
        app = AssetCache(Starlette(routes=routes), files=files)
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app")


def fetch(build: Build, files: CompressedFiles, *requests: tuple[str, dict[str, str]]) -> list[httpx.Response]:
    async def run() -> list[httpx.Response]:
        async with build.client(files) as client:
            return [await client.get(path, headers=headers) for path, headers in requests]

    return asyncio.run(run())


@pytest.fixture
def build(tmp_path: Path) -> Build:
    return Build(tmp_path)


def test_a_build_file_is_compressed_once_then_served_from_memory(build: Build) -> None:
    files = CompressedFiles()
    answers = fetch(build, files, ("/assets/index.js", BR), ("/assets/index.js", BR), ("/assets/other.js", BR))
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.headers["content-encoding"] for a in answers] == ["br", "br", "br"]
    assert answers[0].content == answers[1].content == SCRIPT  # httpx decodes Brotli
    assert answers[2].content == SCRIPT[::-1]
    assert build.asked == ["index.js", "other.js"] and files.compressed == 2
    assert answers[1].headers["content-type"] == answers[0].headers["content-type"]
    assert "javascript" in answers[1].headers["content-type"]
    assert answers[1].headers["etag"] == answers[0].headers["etag"]
    assert "accept-encoding" in answers[1].headers["vary"].lower()
    assert int(answers[1].headers["content-length"]) < len(SCRIPT) / 10


def test_every_other_answer_passes_through_untouched(build: Build) -> None:
    files = CompressedFiles()
    answers = fetch(
        build,
        files,
        ("/assets/index.js", {"accept-encoding": "gzip"}),  # no Brotli: Gradio's own middleware decides
        ("/assets/index.js", {**BR, "range": "bytes=0-9"}),
        ("/assets/index.js", {**BR, "if-none-match": '"x"'}),
        ("/assets/logo.png", BR),  # not text
        ("/assets/missing.js", BR),
        ("/file/index.js", BR),  # not Gradio's build
    )
    assert [a.status_code for a in answers] == [200, 206, 200, 200, 404, 200]
    assert all("content-encoding" not in a.headers for a in answers)
    assert answers[1].content == SCRIPT[:10]
    assert len(build.asked) == 6 and files.compressed == 0


def test_the_least_recently_used_file_goes_past_the_limit(build: Build) -> None:
    size = len(brotli.compress(SCRIPT, quality=assets.QUALITY, mode=brotli.MODE_TEXT))
    files = CompressedFiles(limit_bytes=size + size // 2)  # room for one of the two files
    fetch(build, files, ("/assets/index.js", BR), ("/assets/other.js", BR), ("/assets/index.js", BR))
    assert build.asked == ["index.js", "other.js", "index.js"]
    assert files.compressed == 3
