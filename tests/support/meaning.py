"""What a message means, for assertions: its keys and values, nested ``Phrase`` values walked, never its words."""

from __future__ import annotations

from typing import Any

from vidu_ui.errors import Problem
from vidu_ui.messages import Phrase


def keys(message: Problem | Phrase) -> set[str]:
    """Every message key in ``message``: its own and those of the phrases among its values."""
    own = {message.key} if message.key else set()
    return own | {key for value in message.values.values() if isinstance(value, Phrase) for key in keys(value)}


def values(message: Problem | Phrase) -> dict[str, Any]:
    """Every plain value in ``message``, those of nested phrases included (an inner name wins)."""
    found: dict[str, Any] = {}
    for name, value in message.values.items():
        if isinstance(value, Phrase):
            found.update(values(value))
        else:
            found[name] = value
    return found


def means(message: Problem | Phrase, key: str, **expected: Any) -> bool:
    """Whether ``message`` holds ``key`` and these values."""
    got = values(message)
    return key in keys(message) and all(got.get(name) == value for name, value in expected.items())
