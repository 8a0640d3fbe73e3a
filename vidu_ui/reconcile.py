"""Write-ahead creates, and settling the ones that ended without an answer.

A create spends credits and is not idempotent, so a create whose answer never came (the process killed, a read
timeout, a reset, a 5xx: ``OutcomeUnknownError``) may or may not have made a task. Two halves make sure no
billed task is lost:

``send`` writes the record first (state ``sending``: a client reference ``ref``, the body's fingerprint, the
time), then sends. When the user left ``payload`` empty the app puts its own reference there,
``vidu-ui:<uuid>`` (``REFERENCE_PREFIX``; ``VIDU_UI_PAYLOAD_REFERENCE=0`` turns it off), so the service's own
task list can tell this task from any other. The answer gives the row its task id; a refusal removes the row
(nothing was created); no answer leaves it ``unknown``.

``settle`` lists the account's tasks around the record's time (``created_at.from``/``to``, pages of 100) and
looks for it: by the reference, or, where the user set the payload (or references are off), by model, prompt
and payload. Exactly one match not already in the history: the row adopts its id and is followed like any
task. None, once the window is safely past (``settings.settle_seconds`` after the create ended):
``not_created`` (nothing charged). Several: ``needs_look``, listing the candidates for a person. A ``sending``
row whose create may still be in flight in another process (``settings.deadline`` after it was written) is
adopted only by its reference, never declared not created.

``reconcile`` settles every such row (``python -m vidu_ui reconcile``; the app and the worker call it at start
and every ``INTERVAL`` seconds). Rows made with a visitor's key wait for that key (it is never stored).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Literal

from .client import ViduClient
from .errors import APIError, OutcomeUnknownError, ViduError
from .messages import Lang, say
from .responses import CreatedTask
from .settings import Settings
from .store import Conflict, KeyKind, Store, TaskRecord, fingerprint
from .submit import REFERENCE_PREFIX, PreparedRequest, encode_body

__all__ = [
    "CHECKING",
    "INTERVAL",
    "REFERENCE_PREFIX",
    "NotCreated",
    "Settled",
    "Unsettled",
    "reconcile",
    "send",
    "settle",
    "tagged",
]

log = logging.getLogger(__name__)

SKEW = 120.0
"""Seconds added on both sides of the listed window (clocks differ)."""
INTERVAL = 60.0
"""How often the app and the worker settle what is unsettled."""
RECHECK = 5.0
"""Seconds between looks at the task list while the CLI waits for an answer."""
CHECKING = say("en", "checking_created")
"""The note a record carries while it is being checked (the history keeps one language)."""

Verdict = Literal["created", "not_created", "needs_look", "pending", "needs_key"]


@dataclass(frozen=True)
class Settled:
    """What ``settle`` found for one record."""

    ref: str
    verdict: Verdict
    task_id: str | None = None
    candidates: list[dict[str, Any]] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.verdict in ("created", "not_created")

    def message(self, lang: Lang = "en") -> str:
        """One line for a person, the same on the page and in the CLI (``messages.py``: ``settled_<verdict>``)."""
        ids = ", ".join(str(c.get("id")) for c in self.candidates)
        return say(lang, f"settled_{self.verdict}", task_id=self.task_id or "", ids=ids)


class NotCreated(APIError):
    """A create ended without an answer, and the service's task list shows no such task: nothing was charged."""

    def __init__(self, unknown: OutcomeUnknownError, settled: Settled) -> None:
        super().__init__(f"{unknown.message}; {settled.message()}", request=unknown.request)
        self.unknown = unknown
        self.settled = settled

    @property
    def hint(self) -> str:
        return say("en", "hint_not_created")


class Unsettled(OutcomeUnknownError):
    """A create ended without an answer, and the service's task list did not settle it (yet, or not alone)."""

    def __init__(self, unknown: OutcomeUnknownError, settled: Settled) -> None:
        super().__init__(unknown.cause)
        self.unknown = unknown
        self.message = f"{self.message}; {settled.message()}"
        self.args = (self.message,)
        self.settled = settled

    @property
    def hint(self) -> str:
        return say("en", "hint_unsettled")


def tagged(request: PreparedRequest, reference: str) -> PreparedRequest:
    """The request with ``payload`` set to ``reference``: the body encoded a second time, with the same frames,
    while the caller still holds the first. ``prepare(reference=submit.new_reference(settings))`` avoids it."""
    fields = {**request.fields, "payload": reference}
    content = encode_body(fields, request.start, request.end)
    return replace(request, fields=fields, content=content, reference=reference)


def send(
    client: ViduClient,
    store: Store,
    request: PreparedRequest,
    settings: Settings,
    *,
    user: str | None = None,
    key_kind: KeyKind = "server",
    on_unknown: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] | None = None,
    now: Callable[[], float] = time.time,
    lang: Lang = "en",
    job_key: str | None = None,
    frame_sources: tuple[str | None, str | None] | None = None,
) -> tuple[str, CreatedTask]:
    """Write the record ahead, send the create once, record its answer; returns the row's ``ref`` and the task.

    On ``OutcomeUnknownError``, ``on_unknown`` is called with "checking whether the task was created…" (in
    ``lang``) and the service's list is read: a task found is returned as if the create had answered. With
    ``sleep`` (the CLI) the list is read again every few seconds until the answer is known: ``NotCreated`` when
    no task was made, ``Unsettled`` when several could be it. Without ``sleep`` (the page) one look is taken and
    ``Unsettled`` raised if it did not settle; the row stays for ``reconcile``. Any other error means nothing
    was created: the row is removed, the error raised. ``job_key`` ties the row to a batch job (``vidu_ui.batch``);
    ``frame_sources`` are where the page got the frames (``Store.begin``).
    """
    reference = request.reference
    if reference is not None:  # prepared with its reference (``submit.new_reference``): the row's ref is its UUID
        ref = reference.removeprefix(REFERENCE_PREFIX)
    else:
        ref = uuid.uuid4().hex
        if settings.payload_reference and not request.fields.get("payload"):
            reference = REFERENCE_PREFIX + ref
            request = tagged(request, reference)
    store.begin(
        ref,
        body=request.shortened_body(),
        content_fingerprint=fingerprint(request.content),
        reference=reference,
        start_image=request.start.thumbnail or request.start.data,  # the check's thumbnail: no second decode
        end_image=request.end.thumbnail or request.end.data,
        user=user,
        key_kind=key_kind,
        job_key=job_key,
        frame_sources=frame_sources,
    )
    try:
        task = client.create(request.content)
    except OutcomeUnknownError as exc:
        store.settle(ref, "unknown", note=str(exc))
        if on_unknown is not None:
            on_unknown(say(lang, "checking_created"))
        found = _settle_waiting(store, ref, client, settings, sleep=sleep, now=now)
        if found.verdict == "created" and found.task_id:
            record = store.get(found.task_id)
            return ref, CreatedTask.from_json({**(record.create_response if record else {}), "task_id": found.task_id})
        if found.verdict == "not_created":
            raise NotCreated(exc, found) from None
        raise Unsettled(exc, found) from None
    except ViduError:
        store.discard(ref)  # refused, or provably never sent: nothing was created
        raise
    # Anything else (the process interrupted mid-send) leaves the row "sending": ``reconcile`` settles it.
    store.created(ref, task.task_id, task.raw)
    return ref, task


def _settle_waiting(
    store: Store,
    ref: str,
    client: ViduClient,
    settings: Settings,
    *,
    sleep: Callable[[float], None] | None,
    now: Callable[[], float],
) -> Settled:
    while True:
        try:
            found = settle(store, ref, client, settings, now=now)
        except ViduError as exc:
            log.warning("record %s could not be settled now: %s", ref, exc)
            return Settled(ref, "pending")
        if found.verdict != "pending" or sleep is None:
            return found
        sleep(RECHECK)


def _window(record: TaskRecord, settings: Settings) -> tuple[float, float]:
    """When the service may have received the create: from the write-ahead to its end (or its deadline)."""
    end = record.created_at + settings.deadline  # no create lasts longer
    if record.state == "unknown":
        end = min(end, record.updated_at)  # ``send`` marks it the moment the create ended
    return record.created_at, max(end, record.created_at)


def _listed(client: ViduClient, start: float, end: float) -> Iterator[dict[str, Any]]:
    """The account's tasks created around ``start``–``end``, every page (the client's ``iter_tasks``)."""
    yield from client.iter_tasks(
        created_from=datetime.fromtimestamp(start - SKEW, timezone.utc),
        created_to=datetime.fromtimestamp(end + SKEW, timezone.utc),
    )


def _matches(record: TaskRecord, task: dict[str, Any]) -> bool:
    if record.reference:
        return task.get("payload") == record.reference
    sent = record.options
    if (task.get("payload") or None) != (sent.get("payload") or None):
        return False
    return all(task.get(name) in (None, sent.get(name)) for name in ("model", "prompt") if sent.get(name) is not None)


def _task_id(task: dict[str, Any]) -> str:
    return str(task.get("id") or task.get("task_id") or "")


def settle(
    store: Store,
    ref: str,
    client: ViduClient,
    settings: Settings,
    *,
    now: Callable[[], float] = time.time,
) -> Settled:
    """Look for the record ``ref``'s task in the service's list and record what was found (module docstring)."""
    record = store.get_ref(ref)
    if record is None:
        return Settled(ref, "not_created")
    if record.task_id:
        return Settled(ref, "created", record.task_id)
    if record.state == "not_created":
        return Settled(ref, "not_created")
    start, end = _window(record, settings)
    in_flight = record.state == "sending" and now() < end  # the create may still be on its way, elsewhere
    if in_flight and not record.reference:
        return Settled(ref, "pending")
    found = [
        t
        for t in _listed(client, start, end)
        if _matches(record, t) and _task_id(t) and not _adopted(store, _task_id(t), ref)
    ]
    if len(found) == 1:
        task_id = _task_id(found[0])
        try:
            store.created(ref, task_id, {**found[0], "task_id": task_id})
        except Conflict:
            return Settled(ref, "pending")
        log.info("record %s: found task %s in the service's list", ref, task_id)
        return Settled(ref, "created", task_id)
    if in_flight:
        return Settled(ref, "pending")
    if len(found) > 1:
        candidates = [
            {"id": _task_id(t), **{k: t.get(k) for k in ("state", "created_at", "model", "payload")}} for t in found
        ]
        store.settle(
            ref, "needs_look", note=Settled(ref, "needs_look", candidates=candidates).message(), candidates=candidates
        )
        return Settled(ref, "needs_look", candidates=candidates)
    if now() >= end + settings.settle_seconds:
        store.settle(ref, "not_created", note=Settled(ref, "not_created").message())
        return Settled(ref, "not_created")
    if record.state == "sending":
        store.settle(ref, "unknown", note=CHECKING)
    return Settled(ref, "pending")


def _adopted(store: Store, task_id: str, ref: str) -> bool:
    owner = store.get(task_id)
    return owner is not None and owner.ref != ref


def reconcile(
    store: Store,
    settings: Settings,
    client_factory: Callable[[], ViduClient],
    *,
    now: Callable[[], float] = time.time,
) -> list[Settled]:
    """Settle every unsettled record made with the server's key; a visitor's wait for their key."""
    results: list[Settled] = []
    client: ViduClient | None = None
    try:
        for record in store.unsettled():
            if record.key_kind != "server":
                results.append(Settled(record.ref, "needs_key"))
                continue
            if client is None:
                client = client_factory()
            try:
                results.append(settle(store, record.ref, client, settings, now=now))
            except ViduError as exc:
                log.warning("record %s could not be settled yet: %s", record.ref, exc)
                results.append(Settled(record.ref, "pending"))
    finally:
        if client is not None:
            client.close()
    return results
