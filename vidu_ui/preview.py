"""The exact create request as cURL and as Python (httpx), for a person to read, copy and run.

Built from the real prepared body (``PreparedRequest.shortened_body()``: image data cut short) and the real
settings (URL, auth scheme). The key is always written as ``$VIDU_API_KEY``; the settings' key is never read.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from .settings import Settings

KEY_VARIABLE = "VIDU_API_KEY"


def create_url(settings: Settings) -> str:
    """The create call's full URL: the base URL and the configured path."""
    return settings.base_url.rstrip("/") + "/" + settings.paths.create.lstrip("/")


def _shortened_note(body: dict[str, Any]) -> bool:
    return any(isinstance(v, str) and "more characters]" in v for v in body.get("images", []))


def curl_command(body: dict[str, Any], settings: Settings) -> str:
    """A cURL command sending ``body`` (already shortened) to the create URL; the body goes through a heredoc."""
    lines = []
    if _shortened_note(body):
        lines.append("# Image data is shortened here; paste the full data URIs (or use image URLs) to run it.")
    lines += [
        f"curl -X POST {shlex.quote(create_url(settings))} \\",
        f'  -H "Authorization: {settings.auth_scheme} ${KEY_VARIABLE}" \\',
        "  -H 'Content-Type: application/json' \\",
        "  --data-binary @- <<'JSON'",
        json.dumps(body, indent=2, ensure_ascii=False),
        "JSON",
    ]
    return "\n".join(lines)


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


def python_snippet(body: dict[str, Any], settings: Settings) -> str:
    """The same request with httpx, the key read from the environment."""
    literal = python_literal(body)
    note = (
        "# Image data is shortened here; paste the full data URIs (or use image URLs) to run it.\n"
        if _shortened_note(body)
        else ""
    )
    return (
        "import os\n\nimport httpx\n\n"
        f"{note}body = {literal}\n\n"
        "response = httpx.post(\n"
        f"    {json.dumps(create_url(settings))},\n"
        f'    headers={{"Authorization": f"{settings.auth_scheme} {{os.environ[{KEY_VARIABLE!r}]}}"}},\n'
        "    json=body,\n"
        "    timeout=httpx.Timeout(60.0, connect=10.0),\n"
        ")\n"
        "response.raise_for_status()\n"
        'print(response.json()["task_id"])\n'
    )
