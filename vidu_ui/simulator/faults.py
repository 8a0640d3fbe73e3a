"""Faults the simulator can inject, consumed in order: error answers, delays, resets, trickles and hangs."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Call = Literal["create", "query", "cancel", "credits", "tasks"]
Action = Literal["reset_before_body", "reset_after_body", "trickle", "hang"]


class Fault(BaseModel):
    """One injected misbehaviour for the next ``times`` matching calls.

    - ``status`` (with ``body``, ``content_type``, ``headers``): answer that instead of the real response.
      The body defaults to the service's error shape for that status. With ``create_task`` the call is
      carried out first (a create makes and bills the task), then the error is returned.
    - ``delay``: wait this long before answering; with ``trickle``, the pause between bytes.
    - ``action``: ``reset_before_body`` resets the connection without reading the request body (nothing
      happens); ``reset_after_body`` reads it, carries the call out (the task IS created), then resets;
      ``trickle`` sends the whole response one byte per ``delay``; ``hang`` never answers (the call is
      carried out only with ``create_task``) until the client goes away or the simulator stops.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    call: Call | Literal["*"] = "*"
    status: int | None = Field(None, ge=100, le=599)
    body: str | None = None
    content_type: str = "application/json"
    headers: dict[str, str] = Field(default_factory=dict)
    delay: float = Field(0.0, ge=0)
    action: Action | None = None
    times: int = Field(1, ge=1)
    create_task: bool = False

    def describe(self) -> str:
        """A short label for the request log."""
        parts = [self.action or (f"status {self.status}" if self.status is not None else "delay")]
        if self.action and self.status is not None:
            parts.append(f"status {self.status}")
        if self.delay:
            parts.append(f"delay {self.delay:g}s")
        if self.create_task:
            parts.append("task created")
        return ", ".join(parts)


@dataclass
class _Slot:
    fault: Fault
    remaining: int


class FaultQueue:
    """Thread-safe queue of faults; each is used ``times`` times by the calls it matches, in order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slots: list[_Slot] = []

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._slots.append(_Slot(fault, fault.times))

    def clear(self) -> None:
        with self._lock:
            self._slots.clear()

    def pending(self) -> list[Fault]:
        with self._lock:
            return [slot.fault for slot in self._slots]

    def take(self, call: str) -> Fault | None:
        """The first queued fault matching ``call`` (``"*"`` matches every API call), one use consumed."""
        with self._lock:
            for slot in self._slots:
                if slot.fault.call in ("*", call):
                    slot.remaining -= 1
                    if slot.remaining <= 0:
                        self._slots.remove(slot)
                    return slot.fault
        return None
