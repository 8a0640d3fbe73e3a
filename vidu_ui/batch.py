"""Batches: many create requests planned together, each created exactly once, followed like any task.

A **job** is one full create request: two frames (a path or an http(s) URL each) and options by the request
model's field names (``request.FIELDS``; ``prompt`` among them), under a stable **key**: a hash of the batch's
identity, the frames' bytes (SHA-256 each), and the options, so the same manifest (or the same plan on the page)
gives the same keys again. A **plan** is the jobs with each one's checks (the request model's, as message keys)
and the total estimated credits (the catalogue's estimate: always shown as one).

The plan is saved in the store (``batches``, ``batch_jobs``) beside the single tasks. Running it sends each job
through the write-ahead path (``reconcile.send``), the row carrying the job's key before the create leaves, so:

- a job whose key has a task in the history (answered, or found by reconciliation, or still unsettled) is never
  sent again; only a key whose rows were all ``not_created`` (or that has none) is sent;
- at most ``max_in_flight`` of the batch's creates are open at once (created and unfinished, unsettled ones
  included);
- a 429 (``QuotaExceeded``, ``TooManyRequests``) or 503 refusal, or a create provably not sent, made no task and
  cost nothing: the job waits (doubling from ``retry_base`` up to ``retry_cap`` seconds, or until one of the
  batch's tasks finishes) and is tried again, never counted as failed;
- following is the follower's (``vidu_ui.follower``): the runner only reads rows and sends creates, in the thread
  that calls it; nothing is kept in memory that a restart would lose.

Manifests (read in, and written out beside the videos) are ``vidu_ui.manifest``'s.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import sqlalchemy as sa

from . import reconcile
from .catalogue import get_model
from .client import ViduClient
from .errors import APIConnectionError, APIStatusError, InvalidInput, OutcomeUnknownError, Problem, ViduError
from .frames import MAX_PIXELS
from .messages import Lang, render_error, render_problem, say
from .request import BY_NAME, TaskOptions, check, is_web_url, model_view
from .settings import Settings
from .store import FINAL_STATES, KeyKind, Store, batch_jobs, batches, tasks
from .submit import new_reference, prepare

__all__ = [
    "CANCELLABLE",
    "Job",
    "JobSpec",
    "JobStatus",
    "NotNow",
    "Plan",
    "Runner",
    "batch_id_for",
    "cancel_batch",
    "cancel_job",
    "estimate",
    "job_key",
    "job_status",
    "job_statuses",
    "plan",
    "retry_job",
    "save_plan",
]

log = logging.getLogger(__name__)

Outcome = Literal["waiting", "sending", "running", "success", "failed", "unknown", "held"]


# --- jobs and plans ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobSpec:
    """What one job asks for: the frames' sources (a path or an http(s) URL) and options by field name."""

    start: str
    end: str
    options: dict[str, Any]
    label: str = ""
    """Where it came from, for people (``line 3``, ``shot 2``)."""


@dataclass(frozen=True)
class Job:
    """A planned job: its spec, key and position, its checks, and its estimated credits (None: no public price)."""

    spec: JobSpec
    key: str
    position: int
    problems: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()
    estimate: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def checks(self, lang: Lang = "en") -> list[str]:
        """The job's problems then its warnings, in words (each with its field)."""
        return [render_problem(p, lang) for p in (*self.problems, *self.warnings)]


@dataclass(frozen=True)
class Plan:
    """Jobs with their checks and the total estimate, before anything is sent."""

    batch_id: str
    name: str
    jobs: tuple[Job, ...]

    @property
    def total_estimate(self) -> int:
        """The estimated credits of the jobs that pass their checks (an estimate: the service bills)."""
        return sum(j.estimate or 0 for j in self.jobs if j.ok)

    @property
    def unpriced(self) -> int:
        """Jobs passing their checks whose model has no public price (left out of the total)."""
        return sum(1 for j in self.jobs if j.ok and j.estimate is None)

    @property
    def ready(self) -> tuple[Job, ...]:
        return tuple(j for j in self.jobs if j.ok)

    def rows(self, lang: Lang = "en") -> list[dict[str, Any]]:
        """One row per job, for a table: position, key, frames, model, prompt, estimate and checks."""
        return [
            {
                "job": job.position + 1,
                "key": job.key[:12],
                "label": job.spec.label,
                "start": job.spec.start,
                "end": job.spec.end,
                **{name: job.spec.options.get(name) for name in ("model", "duration", "resolution", "seed")},
                "prompt": str(job.spec.options.get("prompt") or ""),
                "estimate": job.estimate,
                "checks": "; ".join(job.checks(lang)) or say(lang, "batch_checks_ok"),
            }
            for job in self.jobs
        ]

    def total_line(self, lang: Lang = "en") -> str:
        line = say(lang, "batch_total", jobs=len(self.jobs), ready=len(self.ready), credits=self.total_estimate)
        if self.unpriced:
            line += " " + say(lang, "batch_unpriced", count=self.unpriced)
        return line


def _digest(source: str) -> str:
    """The frame's identity: SHA-256 of its bytes; a URL stands for itself; an unreadable path is named."""
    if is_web_url(source):
        return "url:" + source
    try:
        hasher = hashlib.sha256()
        with open(source, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                hasher.update(chunk)
        return hasher.hexdigest()
    except OSError:
        return "missing:" + source


def _canonical(value: Any) -> str:
    """An option's value as text, so a CSV's ``5`` and a JSON line's ``5`` give the same key."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def job_key(batch_id: str, start_digest: str, end_digest: str, options: Mapping[str, Any], occurrence: int = 0) -> str:
    """The job's stable key: the batch, both frames' digests, the options set, and which copy of an identical job
    this is (a manifest may ask for the same request twice)."""
    content = {
        "batch": batch_id,
        "start": start_digest,
        "end": end_digest,
        "options": {k: _canonical(v) for k, v in sorted(options.items()) if v is not None and _canonical(v) != ""},
        "copy": occurrence,
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:32]


def batch_id_for(identity: str) -> str:
    """A batch id from what identifies it (a manifest's resolved path; the page's plan): the same one each time."""
    return "b" + hashlib.sha256(identity.encode()).hexdigest()[:15]


def estimate(options: Mapping[str, Any]) -> int | None:
    """The catalogue's estimated credits for options that pass their checks (None: no public price, or invalid)."""
    checked = check(TaskOptions.from_mapping(options))
    model = get_model(str(checked.fields.get("model")))
    if checked.problems or model is None:
        return None
    view = model_view(model.name, checked.fields.get("duration"), checked.fields.get("resolution"))
    return view.model.estimate_credits(view.duration, view.resolution, checked.fields.get("is_rec") is True)


def _checks(spec: JobSpec, max_pixels: int, auto_fit: bool) -> tuple[tuple[Problem, ...], tuple[Problem, ...]]:
    try:
        prepared = prepare(
            spec.start, spec.end, TaskOptions.from_mapping(spec.options), auto_fit=auto_fit, max_pixels=max_pixels
        )
    except InvalidInput as exc:
        return tuple(exc.problems), ()
    return (), prepared.warnings


def plan(
    batch_id: str,
    specs: Sequence[JobSpec],
    *,
    name: str = "",
    max_pixels: int = MAX_PIXELS,
    auto_fit: bool = False,
) -> Plan:
    """Key and check every job (frames loaded and checked as ``submit.prepare`` does; nothing is sent)."""
    seen: Counter[tuple[str, str, str]] = Counter()
    jobs = []
    for position, spec in enumerate(specs):
        start, end = _digest(spec.start), _digest(spec.end)
        options = {k: v for k, v in spec.options.items() if k in BY_NAME}
        identity = (start, end, json.dumps({k: _canonical(v) for k, v in sorted(options.items())}))
        occurrence = seen[identity]
        seen[identity] += 1
        problems, warnings = _checks(spec, max_pixels, auto_fit)
        jobs.append(
            Job(
                spec=JobSpec(spec.start, spec.end, options, spec.label),
                key=job_key(batch_id, start, end, options, occurrence),
                position=position,
                problems=problems,
                warnings=warnings,
                estimate=estimate(options),
            )
        )
    return Plan(batch_id, name, tuple(jobs))


# --- the store --------------------------------------------------------------------------------------------------


def save_plan(store: Store, plan_: Plan, *, user: str | None = None, clock: Callable[[], float] = time.time) -> None:
    """Record the batch and its jobs (those already recorded, by key, are kept as they are)."""
    now = clock()
    with store.write() as conn:
        if conn.execute(sa.select(batches.c.id).where(batches.c.id == plan_.batch_id)).first() is None:
            conn.execute(
                batches.insert().values(
                    id=plan_.batch_id, name=plan_.name, created_at=now, user=user, estimate=plan_.total_estimate
                )
            )
        known = set(conn.execute(sa.select(batch_jobs.c.key).where(batch_jobs.c.batch_id == plan_.batch_id)).scalars())
        for job in plan_.jobs:
            if job.key in known:
                continue
            conn.execute(
                batch_jobs.insert().values(
                    key=job.key,
                    batch_id=plan_.batch_id,
                    position=job.position,
                    label=job.spec.label,
                    start=job.spec.start,
                    end=job.spec.end,
                    options=json.dumps(job.spec.options, ensure_ascii=False, default=str),
                    estimate=job.estimate,
                    problems=json.dumps([render_problem(p) for p in job.problems]) if job.problems else None,
                    hold="invalid" if job.problems else None,
                    updated_at=now,
                )
            )


@dataclass(frozen=True)
class JobStatus:
    """A job as the store knows it now: its row in ``batch_jobs`` and its latest task (by ``job_key``)."""

    key: str
    position: int
    label: str
    start: str
    end: str
    options: dict[str, Any] = field(repr=False)
    estimate: float | None
    hold: str | None
    note: str | None
    next_try: float | None
    tries: int
    task_id: str | None
    state: str | None
    """The task row's state: the service's, or ``sending``/``unknown``/``not_created``/``needs_look``."""
    err_code: str | None
    credits: float | None
    video_path: str | None
    following: bool

    @property
    def outcome(self) -> Outcome:
        """Where the job stands: ``waiting`` to be sent, ``sending``/``unknown`` (created? being settled),
        ``running``, ``success``, ``failed`` (or cancelled), ``held`` (invalid, refused, cancelled unsent)."""
        if self.state is None or self.state == "not_created":
            return "held" if self.hold else "waiting"
        if self.state == "sending":
            return "sending"
        if self.state in ("unknown", "needs_look"):
            return "unknown"
        if self.state == "success":
            return "success"
        if self.state in FINAL_STATES:
            return "failed"
        return "running"

    @property
    def open(self) -> bool:
        """Created (or maybe created) and unfinished: what ``max_in_flight`` bounds."""
        return self.outcome in ("sending", "unknown", "running")

    @property
    def settled(self) -> bool:
        """Nothing more will happen to it without a person: finished (video saved if kept), held, or needs a look."""
        if self.outcome == "success":
            return not self.following
        return self.outcome in ("failed", "held") or self.state == "needs_look"


_current = tasks.c.id > sa.func.coalesce(batch_jobs.c.retired, 0)
"""A task of the job that a retry has not put behind it (joined with, or correlated to, its ``batch_jobs`` row)."""


def job_statuses(store: Store, batch_id: str) -> list[JobStatus]:
    """Every job of the batch in order, each with its latest task (an answered one before an unanswered one);
    tasks a retry put behind the job stay in the history but are not its outcome."""
    with store.read() as conn:
        jobs = conn.execute(
            sa.select(batch_jobs).where(batch_jobs.c.batch_id == batch_id).order_by(batch_jobs.c.position)
        ).all()
        rows = conn.execute(
            sa.select(
                tasks.c.job_key,
                tasks.c.task_id,
                tasks.c.state,
                tasks.c.err_code,
                tasks.c.credits,
                tasks.c.video_path,
                tasks.c.follow_at,
            )
            .join(batch_jobs, tasks.c.job_key == batch_jobs.c.key)
            .where(batch_jobs.c.batch_id == batch_id, _current)
            .order_by(tasks.c.created_at, tasks.c.id)
        ).all()
    by_key: dict[str, list[Any]] = {}
    for row in rows:
        by_key.setdefault(row.job_key, []).append(row)

    def latest(key: str) -> Any:
        """The job's task: the newest with an id, else the newest still unsettled, else the newest (not created)."""
        found = by_key.get(key, [])
        for wanted in (lambda r: r.task_id is not None, lambda r: r.state != "not_created", lambda r: True):
            chosen = [r for r in found if wanted(r)]
            if chosen:
                return chosen[-1]
        return None

    out = []
    for job in jobs:
        task = latest(job.key)
        out.append(
            JobStatus(
                key=job.key,
                position=job.position,
                label=job.label,
                start=job.start,
                end=job.end,
                options=json.loads(job.options),
                estimate=job.estimate,
                hold=job.hold,
                note=job.note,
                next_try=job.next_try,
                tries=job.tries,
                task_id=task.task_id if task else None,
                state=task.state if task else None,
                err_code=task.err_code if task else None,
                credits=task.credits if task else None,
                video_path=task.video_path if task else None,
                following=task is not None and task.follow_at is not None,
            )
        )
    return out


def _update_job(store: Store, key: str, **values: Any) -> None:
    with store.write() as conn:
        conn.execute(batch_jobs.update().where(batch_jobs.c.key == key).values(updated_at=time.time(), **values))
    store.notify(key)


CANCELLABLE = ("created", "queueing")
"""The task states in which the service accepts a cancel (``docs/contract.md``: not once it is scheduled)."""


class NotNow(Exception):
    """A job action (cancel, retry) the engine refuses for the job as it stands; ``key`` names why
    (``messages.py``: ``batch_cannot_<reason>``, said with the job's label)."""

    def __init__(self, key: str, status: JobStatus) -> None:
        super().__init__(key)
        self.key = key
        self.status = status

    def message(self, lang: Lang = "en") -> str:
        return say(lang, self.key, job=self.status.label or f"#{self.status.position + 1}")


_LIVE = tasks.c.state != "not_created"
"""A task that was (or may have been) created: while one of the job's current tasks is, it is never sent again."""
_OPEN = tasks.c.state.not_in(["not_created", "failed"])
"""A task that may still run or bill (created, running, succeeded, or not known yet): a job with one is never
retried."""


def _has(condition: sa.ColumnElement[bool]) -> sa.Exists:
    """Whether the ``batch_jobs`` row has a current task (``_current``) meeting ``condition``."""
    found = sa.select(tasks.c.id).where(tasks.c.job_key == batch_jobs.c.key, _current, condition)
    return sa.exists(found.correlate(batch_jobs))


def _unclaimed(now: float) -> sa.ColumnElement[bool]:
    return sa.or_(batch_jobs.c.claimed_until.is_(None), batch_jobs.c.claimed_until <= now)


def job_status(store: Store, batch_id: str, key: str) -> JobStatus:
    """One job of the batch as the store knows it now (``KeyError`` when the batch has no such job)."""
    for status in job_statuses(store, batch_id):
        if status.key == key:
            return status
    raise KeyError(key)


def cancel_job(
    store: Store,
    batch_id: str,
    key: str,
    cancel_task: Callable[[str], None],
    *,
    clock: Callable[[], float] = time.time,
) -> Literal["dropped", "asked"]:
    """Cancel one job, as far as the service allows: a job never sent is dropped from the run (held as
    ``cancelled``, in one statement that fails while a runner is sending it); a task still ``created`` or
    ``queueing`` (``CANCELLABLE``) is asked to cancel (``cancel_task(task_id)``, e.g. ``Follower.cancel``; the
    service's refusal is raised as it came). Anything else raises ``NotNow``: a task already processing or
    finished runs, and is billed, as the service decides; a create whose outcome is unknown has no task to ask."""
    status = job_status(store, batch_id, key)
    if status.outcome == "waiting":
        with store.write() as conn:
            dropped = conn.execute(
                batch_jobs.update()
                .where(batch_jobs.c.key == key, batch_jobs.c.hold.is_(None), _unclaimed(clock()), ~_has(_LIVE))
                .values(hold="cancelled", next_try=None, updated_at=clock())
            )
        store.notify(key)
        if dropped.rowcount != 1:
            raise NotNow("batch_cannot_cancel_sending", status)
        return "dropped"
    if status.outcome == "running" and status.task_id and status.state in CANCELLABLE:
        cancel_task(status.task_id)
        return "asked"
    reason = {"running": "started", "sending": "unknown", "unknown": "unknown"}.get(status.outcome, "ended")
    raise NotNow(f"batch_cannot_cancel_{reason}", status)


def cancel_batch(store: Store, batch_id: str, cancel_task: Callable[[str], None]) -> int:
    """Cancel every job of the batch that may still be (``cancel_job``); returns how many tasks were asked."""
    asked = 0
    for job in job_statuses(store, batch_id):
        if job.outcome not in ("waiting", "running"):
            continue
        try:
            asked += cancel_job(store, batch_id, job.key, cancel_task) == "asked"
        except NotNow as exc:
            log.info("job %s of batch %s was not cancelled: %s", job.key, batch_id, exc.key)
        except ViduError as exc:
            log.info("task %s of batch %s was not cancelled: %s", job.task_id, batch_id, exc)
    return asked


def retry_job(store: Store, batch_id: str, key: str, *, clock: Callable[[], float] = time.time) -> None:
    """Let a job be sent again: only one never created (held: refused, cancelled before sending, invalid) or
    whose tasks all definitely failed; never one with a task that may still run or bill, or whose create's
    outcome is unknown (``NotNow``). Checked and written in one statement: its failed tasks are put behind it
    (``retired``), its hold and refusal wait cleared; the next run sends it, once."""
    status = job_status(store, batch_id, key)
    now = clock()
    newest = sa.select(sa.func.max(tasks.c.id)).where(tasks.c.job_key == batch_jobs.c.key).scalar_subquery()
    with store.write() as conn:
        done = conn.execute(
            batch_jobs.update()
            .where(
                batch_jobs.c.key == key,
                batch_jobs.c.batch_id == batch_id,
                _unclaimed(now),
                ~_has(_OPEN),
                sa.or_(batch_jobs.c.hold.is_not(None), _has(tasks.c.state == "failed")),
            )
            .values(retired=newest.correlate(batch_jobs), hold=None, note=None, next_try=None, tries=0, updated_at=now)
        )
    if done.rowcount != 1:
        why = {
            "success": "succeeded",
            "waiting": "waiting",
            "running": "open",
            "sending": "unknown",
            "unknown": "unknown",
        }
        raise NotNow(f"batch_cannot_retry_{why.get(status.outcome, 'sending')}", status)  # else: just claimed
    store.notify(key)


# --- running ----------------------------------------------------------------------------------------------------


class Runner:
    """Sends a saved batch's jobs, at most ``max_in_flight`` open at once, each at most once (module docstring).

    ``client_factory()`` builds the client for a create (give it ``create_retries=0``: a refusal is waited out
    here, by job). ``clock`` is Unix time. Following is the follower's; ``run`` waits on the store's change
    hook (a follower in this process) and looks again at least every ``MAX_NAP`` seconds.
    """

    MAX_NAP = 1.0

    def __init__(
        self,
        store: Store,
        settings: Settings,
        batch_id: str,
        client_factory: Callable[[], ViduClient],
        *,
        max_in_flight: int = 5,
        user: str | None = None,
        key_kind: KeyKind = "server",
        auto_fit: bool = False,
        retry_base: float = 2.0,
        retry_cap: float = 60.0,
        clock: Callable[[], float] = time.time,
        on_event: Callable[[str], None] | None = None,
        lang: Lang = "en",
    ) -> None:
        self.store = store
        self.settings = settings
        self.batch_id = batch_id
        self.max_in_flight = max(1, max_in_flight)
        self._client_factory = client_factory
        self._user, self._key_kind, self._auto_fit = user, key_kind, auto_fit
        self._retry_base, self._retry_cap = retry_base, retry_cap
        self._clock = clock
        self._on_event = on_event or (lambda _line: None)
        self._lang = lang
        self._changed = threading.Event()
        self._open_last: int | None = None
        self.creates = 0
        """Creates sent by this runner that made a task."""
        self.refusals = 0
        """Creates refused for now (429/503, or not sent): no task, nothing billed."""

    def _wake(self, _ref: str) -> None:
        self._changed.set()

    def step(self) -> float | None:
        """Send what may be sent now. Returns when a refused job may be tried again (Unix time), or None: look
        again when something changes. A job refused for now is also tried again as soon as one of the batch's
        open tasks finishes (the account has room again)."""
        now = self._clock()
        statuses = job_statuses(self.store, self.batch_id)
        open_now = sum(1 for s in statuses if s.open)
        freed = self._open_last is not None and open_now < self._open_last
        self._open_last = open_now
        free = self.max_in_flight - open_now
        # A refusal means the account is full: the whole batch waits until the refused job's turn (or room frees).
        if not freed and any(s.outcome == "waiting" and (s.next_try or 0) > now for s in statuses):
            free = 0
        for status in statuses:
            if free <= 0:
                break
            if status.outcome != "waiting" or (status.next_try is not None and status.next_try > now and not freed):
                continue
            sent = self._send(status, early=freed)
            if sent is None:  # refused for now: the account is full, the others wait too
                break
            if sent:
                free -= 1
                self._open_last = (self._open_last or 0) + 1
        later = [
            s.next_try
            for s in job_statuses(self.store, self.batch_id)
            if s.outcome == "waiting" and s.next_try is not None and s.next_try > now
        ]
        return min(later) if later else None

    def claim(self, key: str, *, early: bool = False) -> bool:
        """Take the job for sending, in one statement: only when no runner holds it (``claimed_until``, a lease of
        ``settings.deadline`` + 60 s: longer than any create), no task of it exists but "not created", and its
        refusal wait is over (``early``: the batch's tasks freed room, so try at once). Two runners of one batch
        (two tabs, a page and a CLI) so never send a job twice; a dead runner's lease lapses."""
        now = self._clock()
        due = sa.true() if early else sa.or_(batch_jobs.c.next_try.is_(None), batch_jobs.c.next_try <= now)
        with self.store.write() as conn:
            taken = conn.execute(
                batch_jobs.update()
                .where(batch_jobs.c.key == key, batch_jobs.c.hold.is_(None), _unclaimed(now), due, ~_has(_LIVE))
                .values(claimed_until=now + self.settings.deadline + 60.0)
            )
        return taken.rowcount == 1

    def _send(self, status: JobStatus, *, early: bool = False) -> bool | None:
        """Create one job's task: True when a task was (or may have been) made, False when the job is held,
        None when it was refused for now (it waits)."""
        label = status.label or f"#{status.position + 1}"
        if not self.claim(status.key, early=early):
            return False  # another runner sends it, or a task of it appeared meanwhile
        try:
            prepared = prepare(
                status.start,
                status.end,
                TaskOptions.from_mapping(status.options),
                auto_fit=self._auto_fit,
                max_pixels=self.settings.max_pixels,
                reference=new_reference(self.settings),
            )
        except InvalidInput as exc:
            note = "; ".join(render_problem(p, self._lang) for p in exc.problems)
            _update_job(self.store, status.key, hold="invalid", note=note, claimed_until=None)
            self._on_event(say(self._lang, "batch_job_invalid", job=label, problems=note))
            return False
        client = self._client_factory()
        try:
            _ref, task = reconcile.send(
                client,
                self.store,
                prepared,
                self.settings,
                user=self._user,
                key_kind=self._key_kind,
                job_key=status.key,
                lang=self._lang,
            )
        except OutcomeUnknownError as exc:  # Unsettled: the row stays (it blocks a resend), reconciliation settles it
            _update_job(self.store, status.key, claimed_until=None)
            self._on_event(f"{label}: {render_error(exc, self._lang)[1]}")
            return True
        except (reconcile.NotCreated, APIConnectionError) as exc:
            self._later(status, label, exc)
            return None
        except APIStatusError as exc:
            if exc.status_code in (429, 503):
                self._later(status, label, exc)
                return None
            _title, happened, _advice = render_error(exc, self._lang)
            _update_job(self.store, status.key, hold="refused", note=happened, claimed_until=None)
            self._on_event(say(self._lang, "batch_job_refused", job=label, error=happened))
            return False
        finally:
            client.close()
        self.creates += 1
        _update_job(self.store, status.key, note=None, next_try=None, claimed_until=None)
        self._on_event(say(self._lang, "batch_job_created", job=label, task_id=task.task_id))
        return True

    def _later(self, status: JobStatus, label: str, exc: ViduError) -> None:
        """The job was refused for now (429/503), or provably not sent: no task, nothing billed; it waits."""
        self.refusals += 1
        wait = min(self._retry_cap, self._retry_base * 2.0 ** min(status.tries, 16))
        retry_after = getattr(exc, "retry_after", None)
        if isinstance(retry_after, int | float) and retry_after > wait:
            wait = min(float(retry_after), self._retry_cap)
        _update_job(
            self.store,
            status.key,
            tries=status.tries + 1,
            next_try=self._clock() + wait,
            note=str(exc),
            claimed_until=None,
        )
        self._on_event(say(self._lang, "batch_job_later", job=label, seconds=f"{wait:g}"))

    def run(
        self,
        *,
        until: Literal["sent", "settled"] = "sent",
        stop: threading.Event | None = None,
        reconcile_every: float = reconcile.RECHECK,
    ) -> list[JobStatus]:
        """Send every job (``until="sent"``), or also wait until each is settled (``"settled"``: finished and its
        video saved by the follower, held, or needing a look). Unsettled creates are reconciled every
        ``reconcile_every`` seconds meanwhile. ``stop`` ends it early; the jobs' rows stay for a rerun."""
        self.store.on_change(self._wake)
        next_reconcile = self._clock()
        try:
            while stop is None or not stop.is_set():
                self._changed.clear()
                due = self.step()
                statuses = job_statuses(self.store, self.batch_id)
                unsure = any(s.outcome in ("sending", "unknown") and s.state != "needs_look" for s in statuses)
                if unsure and self._clock() >= next_reconcile:
                    self._reconcile()
                    next_reconcile = self._clock() + reconcile_every
                    statuses = job_statuses(self.store, self.batch_id)
                waiting = any(s.outcome == "waiting" for s in statuses)
                unsure = any(s.outcome in ("sending", "unknown") and s.state != "needs_look" for s in statuses)
                if not waiting and not unsure and (until == "sent" or all(s.settled for s in statuses)):
                    return statuses
                nap = self.MAX_NAP if due is None else min(self.MAX_NAP, max(0.0, due - self._clock()))
                if nap > 0:
                    self._changed.wait(nap)
            return job_statuses(self.store, self.batch_id)
        finally:
            self.store.off_change(self._wake)

    def _reconcile(self) -> None:
        try:
            reconcile.reconcile(self.store, self.settings, self._client_factory, now=self._clock)
        except ViduError as exc:
            log.warning("batch %s: reconciliation failed, trying again later: %s", self.batch_id, exc)


def exit_outcome(statuses: Iterable[JobStatus]) -> Literal["ok", "failed", "unknown"]:
    """The run's outcome: ``unknown`` when some job's create is still unsettled after reconciliation, else
    ``failed`` when some job failed or was held, else ``ok``."""
    outcomes = [s.outcome for s in statuses]
    if any(o in ("unknown", "sending") for o in outcomes):
        return "unknown"
    if any(o in ("failed", "held") for o in outcomes):
        return "failed"
    return "ok"
