"""Who is looking: which tasks of the history a request may see, whose key queries for it, and its language.

- Sign-in on (``--auth``): a user sees the tasks they submitted (``gr.Request.username``), or every task with
  ``VIDU_UI_SHARED_HISTORY=1``.
- Sign-in off, server key: one shared page; everyone sees every task (the command line's too).
- Sign-in off, each visitor's own key: a visitor sees the tasks made with the key they entered. Tasks are filed
  under ``key:`` and the first 16 hex digits of the key's SHA-256, never the key; without a key, nothing.

A video, a thumbnail or a frame is returned from a handler only after ``Viewer.may_see`` said yes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from ..messages import Lang, language_of, say
from ..settings import Settings
from ..store import BatchRecord, Store, TaskRecord
from ..tracker import KeyOwner

__all__ = ["Viewer", "header", "key_fingerprint"]


def key_fingerprint(api_key: str) -> str:
    return "key:" + hashlib.sha256(api_key.encode()).hexdigest()[:16]


def header(request: gr.Request | None, name: str) -> str | None:
    """A request header, or None (also for a ``gr.Request`` built without headers, as tests do)."""
    if request is None:
        return None
    try:
        headers: Any = request.headers
    except AttributeError:
        return None
    value = headers.get(name) if headers is not None else None
    return str(value) if value is not None else None


@dataclass(frozen=True)
class Viewer:
    """One request's view of the history."""

    user: str | None
    """What a task this viewer submits is filed under (None: sign-in off with the server's key)."""
    everyone: bool
    """Sees every task of the history."""
    owner: KeyOwner = field(repr=False)
    """Whose key queries and cancels for this viewer."""
    lang: Lang = "en"

    @classmethod
    def of(cls, settings: Settings, request: gr.Request | None, api_key: object = None) -> Viewer:
        username = getattr(request, "username", None) if request is not None else None
        key = api_key.strip() if isinstance(api_key, str) else ""  # an API call may send any JSON value: no key
        visitor = settings.api_key is None
        owner = (KeyOwner.visitor(key) if key else KeyOwner("visitor")) if visitor else KeyOwner.server()
        if username:
            user: str | None = str(username)
        elif visitor and key:
            user = key_fingerprint(key)
        else:
            user = None
        everyone = settings.shared_history or (not username and not visitor)
        return cls(user, everyone, owner, language_of(header(request, "accept-language")))

    def may_see(self, record: TaskRecord) -> bool:
        return self.everyone or (self.user is not None and record.user == self.user)

    def tasks(
        self,
        store: Store,
        *,
        state: str | None = None,
        text: str | None = None,
        batch: str | None = None,
        limit: int = 200,
    ) -> list[TaskRecord]:
        """The history this viewer sees, newest first (``batch``: only that batch's tasks)."""
        if self.everyone:
            return store.list(shared=True, state=state, text=text, batch=batch, limit=limit)
        if self.user is None:
            return []
        return store.list(user=self.user, state=state, text=text, batch=batch, limit=limit)

    def batches(self, store: Store, limit: int = 100) -> list[BatchRecord]:
        """The batches this viewer sees (the ones they ran, or every one when they see every task), newest first."""
        if self.everyone:
            return store.batches(shared=True, limit=limit)
        if self.user is None:
            return []
        return store.batches(user=self.user, limit=limit)

    def visible(self, store: Store, task_id: str) -> TaskRecord:
        """The task's record if this viewer may see it; ``gr.Error`` otherwise (the same words either way)."""
        record = store.get(task_id)
        if record is None or not self.may_see(record):
            if self.user is None and not self.everyone:
                raise gr.Error(say(self.lang, "no_viewer"), print_exception=False)
            raise gr.Error(say(self.lang, "not_yours", task_id=task_id), print_exception=False)
        return record
