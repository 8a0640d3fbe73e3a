"""schemathesis checks of meaning for ``tests/test_fuzz.py`` (loaded with ``SCHEMATHESIS_HOOKS``): beyond "not a
5xx", no answer carries a traceback or Python's own error text, and every answer is readable: a JSON body where
one is declared, an event stream made of events."""

from __future__ import annotations

import json
from typing import Any

import schemathesis

TRACE_MARKS = ("Traceback (most recent call last)", 'File "/', "site-packages", "Error(")
"""Text found in a traceback or an exception's repr, never in an answer meant for a caller."""


@schemathesis.check
def no_traceback_text(ctx: Any, response: Any, case: Any) -> bool | None:
    body = response.text or ""
    found = [mark for mark in TRACE_MARKS if mark in body]
    if found:
        raise AssertionError(f"the answer carries traceback text {found}: {body[:300]!r}")
    return None


@schemathesis.check
def readable_answer(ctx: Any, response: Any, case: Any) -> bool | None:
    kind = response.headers.get("content-type", [""])
    kind = (kind[0] if isinstance(kind, list) else str(kind)).split(";")[0].strip()
    body = response.text or ""
    if kind == "application/json":
        json.loads(body)  # raises on a broken body
    elif kind == "text/event-stream":
        events = [block for block in body.split("\n\n") if block.strip()]
        if not all(
            line.split(":", 1)[0] in ("event", "data", "id", "retry", "") for e in events for line in e.splitlines()
        ):
            raise AssertionError(f"not an event stream: {body[:300]!r}")
    return None
