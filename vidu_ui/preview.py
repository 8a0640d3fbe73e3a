"""The exact create request as runnable cURL, Python (httpx) and JavaScript (Node 20 ``fetch``) for a person to read,
copy and run.

Built from the real prepared body and settings (URL, auth scheme). The snippets read the two frames from disk and
build their data URIs themselves, so the body shown is complete and the snippets run as they are (next to the two
files, or with their paths changed). Frames given as URLs stay URLs. The key is always read from the environment
variable ``VIDU_API_KEY``; the settings' key is never read. The app's own callback receiver (filled in when the
Callback URL field is empty) is left out: it is this app's internal address, not the person's.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable, Sequence
from pathlib import PurePath
from typing import Any

from .callbacks import callback_url_for
from .settings import Settings

KEY_VARIABLE = "VIDU_API_KEY"
LANGUAGES = ("curl", "python", "javascript")
_DATA_URI = re.compile(r"^data:(image/[a-z0-9.+-]+);base64,", re.IGNORECASE)
_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}
ROLES = ("start", "end")


def create_url(settings: Settings) -> str:
    """The create call's full URL: the base URL and the configured path."""
    return settings.base_url.rstrip("/") + "/" + settings.paths.create.lstrip("/")


class Image:
    """One entry of the body's ``images``: a URL (kept as text) or a file the snippet reads into a data URI."""

    def __init__(self, value: str, role: str, path: str | None) -> None:
        match = _DATA_URI.match(value)
        self.url = None if match else value
        self.media_type = match.group(1).lower() if match else ""
        self.path = path or f"{role}.{_EXTENSIONS.get(self.media_type, 'png')}"
        self.variable = f"{role.upper()}_IMAGE"


def _images(body: dict[str, Any], paths: Sequence[str | None]) -> list[Image]:
    values = body.get("images") or []
    return [Image(str(v), role, path) for v, role, path in zip(values, ROLES, paths, strict=False)]


def _public_body(body: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """``body`` without the app's own callback receiver."""
    own = callback_url_for(settings)
    return {k: v for k, v in body.items() if not (k == "callback_url" and own is not None and v == own)}


def _object(body: dict[str, Any], value: Callable[[Any], str], images: str, indent: str = "    ") -> str:
    """``body`` as an object literal, one field a line, ``images`` replaced by the given expression."""
    lines = [
        f"{indent}{json.dumps(key, ensure_ascii=False)}: {images if key == 'images' else value(item)},"
        for key, item in body.items()
    ]
    return "{\n" + "\n".join(lines) + "\n}"


def _needs_files(images: list[Image]) -> bool:
    return any(image.url is None for image in images)


def curl_command(body: dict[str, Any], settings: Settings, paths: Sequence[str | None] = (None, None)) -> str:
    """A shell script: data URIs from the two files (``base64``, GNU or macOS), then cURL with the body on stdin."""
    body = _public_body(body, settings)
    images = _images(body, paths)
    lines = ["# Run next to the two frames (or change their paths). The key is read from $VIDU_API_KEY."]
    for image in images:
        if image.url is None:
            lines.append(
                f'{image.variable}="data:{image.media_type};base64,$(base64 < {shlex.quote(image.path)} | tr -d '
                "'\\n')\""
            )
    entries = ", ".join(f'"${i.variable}"' if i.url is None else _heredoc(json.dumps(i.url)) for i in images)
    text = _object(body, lambda v: _heredoc(_json(v)), f"[{entries}]", indent="  ")
    lines += [
        "",
        f"curl -X POST {shlex.quote(create_url(settings))} \\",
        f'  -H "Authorization: {settings.auth_scheme} ${KEY_VARIABLE}" \\',
        "  -H 'Content-Type: application/json' \\",
        "  --data-binary @- <<JSON",
        text.replace(",\n}", "\n}"),  # JSON allows no trailing comma
        "JSON",
    ]
    return "\n".join(lines) + "\n"


def _json(value: Any) -> str:
    """A JSON value as source text (JSON is also JavaScript)."""
    return json.dumps(value, ensure_ascii=False)


def _heredoc(text: str) -> str:
    """``text`` as it must appear in an unquoted heredoc to come out unchanged: ``\\``, ``$`` and ````` escaped."""
    return re.sub(r"([\\$`])", r"\\\1", text)


def python_literal(value: Any, indent: int = 0) -> str:
    """``value`` (JSON data) as Python source, one item a line; a JSON string is also a valid Python literal."""
    pad, inner = "    " * indent, "    " * (indent + 1)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [
            f"{inner}{json.dumps(str(k), ensure_ascii=False)}: {python_literal(v, indent + 1)},"
            for k, v in value.items()
        ]
        return "{\n" + "\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list):
        if not value:
            return "[]"
        return "[\n" + "\n".join(f"{inner}{python_literal(v, indent + 1)}," for v in value) + f"\n{pad}]"
    if isinstance(value, bool) or value is None:
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


def python_snippet(body: dict[str, Any], settings: Settings, paths: Sequence[str | None] = (None, None)) -> str:
    """The same request with httpx: the frames read from disk, the key from the environment."""
    body = _public_body(body, settings)
    images = _images(body, paths)
    entries = ", ".join(_python_image(i) for i in images)
    helper = (
        "def data_uri(path: str, media_type: str) -> str:\n"
        '    """A local image file as the data URI the service takes."""\n'
        '    return f"data:{media_type};base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")\n\n\n'
        if _needs_files(images)
        else ""
    )
    imports = "import base64\nimport os\nfrom pathlib import Path\n" if helper else "import os\n"
    return (
        "# Run next to the two frames (or change their paths). The key is read from VIDU_API_KEY.\n"
        f"{imports}\nimport httpx\n\n\n"
        f"{helper}"
        f"body = {_object(body, lambda v: python_literal(v, 1), f'[{entries}]')}\n\n"
        "response = httpx.post(\n"
        f"    {json.dumps(create_url(settings))},\n"
        f'    headers={{"Authorization": f"{settings.auth_scheme} {{os.environ[{KEY_VARIABLE!r}]}}"}},\n'
        "    json=body,\n"
        "    timeout=httpx.Timeout(60.0, connect=10.0),\n"
        ")\n"
        "response.raise_for_status()\n"
        'print(response.json()["task_id"])\n'
    )


def _python_image(image: Image) -> str:
    if image.url is not None:
        return json.dumps(image.url)
    return f"data_uri({json.dumps(image.path, ensure_ascii=False)}, {json.dumps(image.media_type)})"


def javascript_snippet(body: dict[str, Any], settings: Settings, paths: Sequence[str | None] = (None, None)) -> str:
    """The same request with ``fetch`` for Node 20 (an ES module: save as ``create.mjs``, run ``node create.mjs``)."""
    body = _public_body(body, settings)
    images = _images(body, paths)
    entries = ", ".join(
        json.dumps(i.url)
        if i.url is not None
        else f"await dataUri({json.dumps(i.path, ensure_ascii=False)}, {json.dumps(i.media_type)})"
        for i in images
    )
    helper = (
        'import { readFile } from "node:fs/promises";\n\n'
        "// A local image file as the data URI the service takes.\n"
        "async function dataUri(path, mediaType) {\n"
        '  return `data:${mediaType};base64,${(await readFile(path)).toString("base64")}`;\n'
        "}\n\n"
        if _needs_files(images)
        else ""
    )
    return (
        "// Node 20: save as create.mjs next to the two frames (or change their paths), then run\n"
        "// `node create.mjs`. The key is read from VIDU_API_KEY.\n"
        f"{helper}"
        f"const body = {_object(body, _json, f'[{entries}]', indent='  ')};\n\n"
        f"const response = await fetch({json.dumps(create_url(settings))}, {{\n"
        '  method: "POST",\n'
        "  headers: {\n"
        f"    Authorization: `{settings.auth_scheme} ${{process.env.{KEY_VARIABLE}}}`,\n"
        '    "Content-Type": "application/json",\n'
        "  },\n"
        "  body: JSON.stringify(body),\n"
        "  signal: AbortSignal.timeout(60_000),\n"
        "});\n"
        "if (!response.ok) {\n"
        "  throw new Error(`HTTP ${response.status}: ${await response.text()}`);\n"
        "}\n"
        "console.log((await response.json()).task_id);\n"
    )


def file_name(source: str | None) -> str | None:
    """What a snippet shown on the page calls a frame: the uploaded file's own name (the page keeps it), as the
    person has it; None for a URL, which the body carries as it is."""
    if source is None or re.match(r"^https?://", source, re.IGNORECASE):
        return None
    return PurePath(source).name


FITTED_NOTE = (
    "Auto-fit changed the frames for this request; these lines send the files as they are, which the service may "
    "refuse: fix the files the same way, or send from the app."
)


def snippets(
    body: dict[str, Any],
    settings: Settings,
    start_path: str | None = None,
    end_path: str | None = None,
    *,
    fitted: bool = False,
) -> dict[str, str]:
    """The request as cURL, Python and JavaScript (keys ``LANGUAGES``), reading the frames from these paths.

    ``body`` is the prepared body (full or shortened: only each image's type is read from a data URI). A path left
    None is written as ``start.png`` / ``end.jpg`` (after the frame's type). ``fitted``: auto-fit changed a frame,
    so the files differ from what the app sends; each snippet then opens with ``FITTED_NOTE``.
    """
    paths = (start_path, end_path)
    code = {
        "curl": curl_command(body, settings, paths),
        "python": python_snippet(body, settings, paths),
        "javascript": javascript_snippet(body, settings, paths),
    }
    if fitted:
        code = {k: ("// " if k == "javascript" else "# ") + FITTED_NOTE + "\n" + v for k, v in code.items()}
    return code
