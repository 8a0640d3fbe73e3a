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
    """Every plain value in ``message``, those of nested phrases included (its own first: an outer name wins)."""
    found: dict[str, Any] = {k: v for k, v in message.values.items() if not isinstance(v, Phrase)}
    for value in message.values.values():
        if isinstance(value, Phrase):
            found = {**values(value), **found}
    return found


def parts(message: Problem | Phrase) -> list[Problem | Phrase]:
    """``message`` and every phrase nested in its values."""
    nested = [part for v in message.values.values() if isinstance(v, Phrase) for part in parts(v)]
    return [message, *nested]


def means(message: Problem | Phrase, key: str, **expected: Any) -> bool:
    """Whether ``message``, or a phrase nested in it, is ``key`` with these values (its own or nested deeper)."""
    return any(
        part.key == key and all(values(part).get(name) == value for name, value in expected.items())
        for part in parts(message)
    )
