"""The command line: ``python -m vidu_ui …``. It calls the same functions as the web page and prints the same words.

Exit codes: 0 done; 1 the service refused or failed; 2 invalid input (nothing was sent); 3 outcome unknown
(the task may have been created: look before resubmitting).
"""

import inspect
import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

# Only what every command needs is imported here; each command imports the rest (the history's database layer,
# the HTTP client, Pillow…), so `check` never loads the network or the database and `--help` starts fast.
from . import __version__, catalogue, request
from .errors import InvalidInput, OutcomeUnknownError, Problem, ViduError
from .messages import Lang, cli_language, reason_hint, render_error, render_problem, state_text
from .messages import say as text
from .request import TASK_STATES, TaskOptions

if TYPE_CHECKING:
    from .client import ViduClient
    from .downloads import DownloadPolicy
    from .responses import TaskStatus
    from .settings import Settings
    from .store import Store
    from .submit import PreparedRequest

EXIT_OK, EXIT_SERVICE, EXIT_INVALID, EXIT_UNKNOWN = 0, 1, 2, 3

app = typer.Typer(
    name="vidu_ui",
    help="Check frames and submit Vidu start–end frame videos. Settings come from VIDU_* variables (see README).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: rich's panels print a type (<bool>, <str>) after every flag
)


def say(text: str) -> None:
    """A message for the person (stderr), so stdout stays machine-readable."""
    typer.echo(text, err=True)


def emit(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def fail(code: int, *lines: str) -> NoReturn:
    for line in lines:
        say(line)
    raise typer.Exit(code)


_CHOSEN: dict[str, Lang] = {}
"""``--lang`` of this invocation (set by ``main`` for each one, and forgotten when it ends: a command line is one
reader, and a process that runs several, such as a test, must not carry one's language into the next)."""


def lang() -> Lang:
    """The reader's language: ``--lang``, else ``LC_ALL``/``LC_MESSAGES``/``LANG`` (``zh_CN.UTF-8`` → Chinese)."""
    return _CHOSEN.get("lang") or cli_language()


def problem_lines(problems: list[Problem], prefix: str = "error") -> list[str]:
    """Problems in the reader's language, each with its field's name (``prompt: is required``)."""
    return [f"{prefix}: {render_problem(p, lang())}" for p in problems]


def error_lines(exc: ViduError) -> list[str]:
    """What the person reads for an error: what happened, then what to do (the operator's advice)."""
    if isinstance(exc, InvalidInput):
        return problem_lines(exc.problems)
    _title, happened, advice = render_error(exc, lang(), "operator")
    return [f"error: {happened}", *(f"what to do: {line}" for line in advice)]


def exit_code(exc: ViduError) -> int:
    if isinstance(exc, InvalidInput):
        return EXIT_INVALID
    if isinstance(exc, OutcomeUnknownError):
        return EXIT_UNKNOWN
    return EXIT_SERVICE


def load_settings() -> "Settings":
    from .settings import Settings, SettingsError

    try:
        return Settings.from_env()
    except SettingsError as exc:
        fail(EXIT_INVALID, *(f"error: setting {p}" for p in exc.problems))


def open_client(settings: "Settings") -> "ViduClient":
    from .client import ViduClient

    if settings.api_key is None:
        fail(EXIT_INVALID, "error: VIDU_API_KEY is not set; export your key (or run the simulator and use its key)")
    return ViduClient(settings)


Start = Annotated[str, typer.Argument(help="Start frame: a PNG/JPEG/WebP file or an http(s) URL", show_default=False)]
End = Annotated[str, typer.Argument(help="End frame: a PNG/JPEG/WebP file or an http(s) URL", show_default=False)]


def _frames(start: Start, end: End) -> None:
    """The two frames, before the options."""


def _run_options(
    auto_fit: Annotated[
        bool, typer.Option("--auto-fit/--no-auto-fit", help="Fix frames the service would refuse")
    ] = False,
    wait: Annotated[bool, typer.Option("--wait", help="Follow the task to the end and download the video")] = False,
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the video with --wait")] = Path("."),
) -> None:
    """How ``check``/``submit`` run, after the request's own options."""


def _task_signature(*, send: bool) -> inspect.Signature:
    """The frames, every option of the create request (from ``request.FIELDS``), then how the command runs."""
    run = [p for p in inspect.signature(_run_options).parameters.values() if send or p.name == "auto_fit"]
    return inspect.Signature(
        [
            *inspect.signature(_frames).parameters.values(),
            *request.cli_parameters(),
            *(p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in run),
        ]
    )


def _task_command(*, send: bool) -> Callable[..., None]:
    """``submit`` (send=True) or ``check``: the same options, one code path."""

    def command(
        start: str, end: str, auto_fit: bool, wait: bool = False, output: Path = Path("."), **values: Any
    ) -> None:
        settings = load_settings()
        from .submit import new_reference

        reference = new_reference(settings) if send else None  # the body is encoded once, with it
        prepared = _prepare_or_exit(start, end, TaskOptions(**values), auto_fit, settings.max_pixels, reference)
        if not send:
            language = lang()
            start, end = prepared.start.summary(language), prepared.end.summary(language)
            say(text(language, "check_ok", start=start, end=end, size=prepared.size))
            return
        from . import reconcile
        from .submit import submit

        with open_client(settings) as client:
            history = _open_history(settings)
            try:
                if history is None:
                    task = submit(client, prepared)
                else:  # written ahead: a create without an answer is settled from the service's task list
                    _, task = reconcile.send(
                        client, history, prepared, settings, on_unknown=say, sleep=time.sleep, lang=lang()
                    )
            except ViduError as exc:
                fail(exit_code(exc), *error_lines(exc))
            emit(task.raw)
            say(f"Task ID: {task.task_id}")
            if wait:
                _wait_and_download(client, settings, task.task_id, output, history)

    command.__signature__ = _task_signature(send=send)  # type: ignore[attr-defined]
    return command


app.command("check", help="Check frames and options without any network call. Exit 0 when valid, 2 when not.")(
    _task_command(send=False)
)
app.command("submit", help="Check, then create the task; prints the service's JSON response and the task id.")(
    _task_command(send=True)
)


def _prepare_or_exit(
    start: str, end: str, options: TaskOptions, auto_fit: bool, max_pixels: int, reference: str | None = None
) -> "PreparedRequest":
    from .submit import prepare

    try:
        prepared = prepare(start, end, options, auto_fit=auto_fit, max_pixels=max_pixels, reference=reference)
    except InvalidInput as exc:
        fail(EXIT_INVALID, *problem_lines(exc.problems), text(lang(), "nothing_sent"))
    for line in problem_lines(list(prepared.warnings), "warning"):
        say(line)
    for change in prepared.changes:
        say(f"auto-fit: {change.render(lang())}")
    return prepared


def _open_history(settings: "Settings") -> "Store | None":
    """The history, to record the task in before it is sent; a failure is only a warning: the task can be sent."""
    from .store import HISTORY_ERRORS, Store

    try:
        return Store.open(settings)
    except HISTORY_ERRORS as exc:
        say(f"warning: the task will not be in the local history ({exc}); keep its id")
        return None


def _history_exists(settings: "Settings") -> bool:
    """Whether there is a history to read or update: a database URL is set, or the data folder has one."""
    from .store import DB_NAME

    return settings.database_url is not None or (settings.data_dir / DB_NAME).exists()


def _wait_and_download(
    client: "ViduClient", settings: "Settings", task_id: str, output: Path, history: "Store | None" = None
) -> None:
    import httpx

    from . import tracking
    from .downloads import DownloadPolicy, DownloadRefused

    started = time.monotonic()
    last_state = ""
    status = None
    try:
        for status in tracking.follow(client, task_id, settings):
            if history is not None:
                history.update_status(task_id, status)
            if status.state != last_state:
                say(f"state: {status_line(status)} ({time.monotonic() - started:.0f} s)")
                last_state = status.state
    except ViduError as exc:
        fail(EXIT_SERVICE, *error_lines(exc))
    assert status is not None
    if status.cancelled:
        fail(EXIT_SERVICE, f"error: {state_text(lang(), status.state, status.err_code)}")
    if status.state == "failed":
        fail(EXIT_SERVICE, f"error: {state_text(lang(), 'failed')}: {reason_hint(lang(), status.err_code)}")
    url = status.video_url
    if not url:
        fail(EXIT_SERVICE, "error: the task succeeded but the service gave no video URL; query it again later")
    try:
        path = tracking.download(url, output / f"{task_id}.mp4", DownloadPolicy.for_settings(settings))
    except DownloadRefused as exc:
        fail(EXIT_SERVICE, *error_lines(exc))
    except (httpx.HTTPError, OSError) as exc:
        fail(
            EXIT_SERVICE,
            f"error: the video could not be downloaded: {exc}",
            f"what to do: run `status {task_id}` for a fresh link",
        )
    if history is not None:
        history.set_video(task_id, path.resolve())
    say(f"video: {path}")


@app.command("check-image")
def check_image(files: Annotated[list[Path], typer.Argument(help="Image files to check", show_default=False)]) -> None:
    """One JSON line per file: format, size, and the problem if any. Exit 2 when any file fails."""
    from . import frames

    failed = False
    settings = load_settings()
    for path in files:
        line: dict[str, Any] = {
            "file": str(path),
            "ok": False,
            "format": None,
            "width": None,
            "height": None,
            "error": None,
        }
        try:
            frame = frames.load_frame(str(path), "start", max_pixels=settings.max_pixels)
            problems = frames.check_frame(frame)
            line.update(format=frame.format, width=frame.width, height=frame.height)
        except InvalidInput as exc:
            problems = exc.problems
        line["ok"] = not problems
        line["error"] = "; ".join(render_problem(p, lang(), with_field=False) for p in problems) or None
        failed = failed or bool(problems)
        typer.echo(json.dumps(line, ensure_ascii=False))
    if failed:
        raise typer.Exit(EXIT_INVALID)


TaskId = Annotated[str, typer.Argument(help="The task id (1–128 letters, digits, '_', '.' or '-')", show_default=False)]


def status_line(status: "TaskStatus") -> str:
    """A task's state for a person: the state (Cancelled, or "still running (service says: …)"), its progress,
    what the moderation blocked, and why it failed."""
    language = lang()
    parts = [state_text(language, status.state, status.err_code)]
    if status.progress is not None and not status.finished:
        parts.append(text(language, "progress", progress=f"{status.progress:g}"))
    if status.blocked_resources:
        what = ", ".join(
            text(language, "blocked_item", kind=b.content_type or "?", index=b.index) for b in status.blocked_resources
        )
        parts.append(text(language, "blocked", what=what))
    if status.state == "failed" and not status.cancelled:
        parts.append(reason_hint(language, status.err_code))
    return " · ".join(parts)


def _call(action: Callable[["ViduClient"], Any]) -> Any:
    settings = load_settings()
    with open_client(settings) as client:
        try:
            return action(client)
        except ViduError as exc:
            fail(exit_code(exc), *error_lines(exc))


def _remember(task_id: str, status: "TaskStatus") -> None:
    """A task's fresh state into the local history, when the task is there (``history`` then shows it)."""
    from .store import HISTORY_ERRORS, Store

    settings = load_settings()
    if not _history_exists(settings):
        return
    try:
        with Store.open(settings) as history_store:
            history_store.update_status(task_id, status)
    except HISTORY_ERRORS as exc:
        say(f"warning: the local history was not updated ({exc})")


@app.command()
def status(task_id: TaskId) -> None:
    """Query a task: its state, credits and result URLs (fresh ones: old links expire)."""
    result = _call(lambda c: c.query(task_id))
    _remember(task_id, result)
    emit(result.raw)
    say(f"state: {status_line(result)}")


@app.command()
def cancel(task_id: TaskId) -> None:
    """Cancel a task that has not finished."""
    emit(_call(lambda c: c.cancel(task_id)))
    # The cancel's answer carries no state: a query says whether it worked, and the history keeps that. The cancel
    # was sent either way, so a failed query is only a warning.
    try:
        with open_client(load_settings()) as client:
            _remember(task_id, client.query(task_id))
    except ViduError as exc:
        say(f"warning: the task's state after the cancel could not be read ({exc}); `status {task_id}` shows it")


@app.command()
def credits() -> None:
    """The account's remaining credits (the service's answer; a summary line on stderr)."""
    answer = _call(lambda c: c.credits())
    emit(answer.raw)
    for line in answer.remains:
        say(
            f"{line.type or 'credits'}: {line.credit_remain if line.credit_remain is not None else '?'} remaining"
            + (f"; running {line.current_concurrency}/{line.concurrency_limit}" if line.concurrency_limit else "")
            + (f"; queued {line.queue_count}" if line.queue_count else "")
        )


@app.command()
def tasks(
    state: Annotated[list[str] | None, typer.Option("--state", help="Only tasks in this state (repeatable)")] = None,
    page_size: Annotated[int, typer.Option(help="How many tasks a page (1–100)")] = 20,
    page_token: Annotated[str | None, typer.Option(help="The page after this token (next_page_token)")] = None,
    all_pages: Annotated[
        bool, typer.Option("--all", help="Follow next_page_token through every page; prints one JSON list")
    ] = False,
) -> None:
    """List the account's recent tasks (the last 7 days), as the service reports them."""
    if all_pages:
        emit(_call(lambda c: list(c.iter_tasks(states=state, page_size=page_size))))
        return
    emit(_call(lambda c: c.list_tasks(states=state, page_size=page_size, page_token=page_token)))


HISTORY_STATES = (*TASK_STATES, "unfinished")


@app.command()
def history(
    state: Annotated[
        str | None, typer.Option("--state", help=f"Only tasks in this state: {', '.join(HISTORY_STATES)}")
    ] = None,
    search: Annotated[str | None, typer.Option("--search", help="Text in the prompt, the model or the task id")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="How many tasks, newest first")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list instead of a table")] = False,
) -> None:
    """Tasks submitted from this app (the page or `submit`), newest first, from the local history."""
    if state is not None and state not in HISTORY_STATES:
        fail(EXIT_INVALID, f"error: --state must be one of {', '.join(HISTORY_STATES)}")
    from .store import HISTORY_ERRORS, Store

    settings = load_settings()
    rows: list[dict[str, Any]] = []
    if _history_exists(settings):
        try:
            with Store.open(settings) as history_store:
                rows = [r.summary() for r in history_store.list(state=state, text=search, limit=limit)]
        except HISTORY_ERRORS as exc:
            fail(EXIT_SERVICE, f"error: the history at {settings.data_dir} cannot be read: {exc}")
    if as_json:
        emit(rows)
        return
    if not rows:
        say("no tasks in the history" + (" match" if state or search else ""))
        return
    typer.echo(f"{'TASK ID':20} {'CREATED':19} {'MODEL':14} {'STATE':10} {'CREDITS':>7}  PROMPT")
    indent = " " * 75
    for row in rows:
        credits = "" if row["credits"] is None else f"{row['credits']:g}"
        typer.echo(
            f"{row['task_id']:20} {row['created_at']:19} {row['model'] or '':14} {row['state']:10} {credits:>7}  "
            f"{row['prompt']}"
        )
        for label, value in (("reason", row["err_code"]), ("video", row["video_path"]), ("note", row["problem"])):
            if value:
                typer.echo(f"{indent}{label}: {value}")


@app.command("reconcile")
def reconcile_command() -> None:
    """Settle every task whose create ended without an answer, from the service's task list (one JSON line each).

    Exit 0 when every one is settled (created, or not created and nothing charged), 3 when some still are not.
    """
    from . import reconcile
    from .client import ViduClient
    from .store import HISTORY_ERRORS, Store

    settings = load_settings()
    open_client(settings).close()  # the key is needed to read the task list
    try:
        with Store.open(settings) as history:
            results = reconcile.reconcile(history, settings, lambda: ViduClient(settings))
    except HISTORY_ERRORS as exc:
        fail(EXIT_SERVICE, f"error: the history cannot be read: {exc}")
    for result in results:
        line: dict[str, Any] = {
            "ref": result.ref,
            "verdict": result.verdict,
            "task_id": result.task_id,
            "message": result.message(lang()),
        }
        if result.candidates:
            line["candidates"] = result.candidates
        typer.echo(json.dumps(line, ensure_ascii=False))
    if not all(result.done for result in results):
        raise typer.Exit(EXIT_UNKNOWN)


@app.command()
def worker() -> None:
    """Follow tasks without the page: claim due tasks from the history, query them, save their videos, settle
    unanswered creates. Run as many as you like against one PostgreSQL history; SIGTERM or Ctrl-C stops it."""
    import signal
    import threading

    from . import reconcile
    from .follower import Follower
    from .heap import settle
    from .store import HISTORY_ERRORS, Store

    settings = load_settings()
    open_client(settings).close()  # the server's key is needed to query
    try:
        history = Store.open(settings)
    except HISTORY_ERRORS as exc:
        fail(EXIT_SERVICE, f"error: the history cannot be opened: {exc}")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    follower = Follower(settings, history, keep_videos=settings.keep_videos, reconcile_every=reconcile.INTERVAL)
    settle()  # what start built, left out of Python's full collections while the follower runs
    follower.start()
    waiting = follower.resume()
    say(f"worker {follower.id} following; {len(waiting)} task(s) wait for a visitor's key")
    while not stop.wait(1.0):  # woken by the signal handler
        pass
    follower.stop(wait=True)
    history.close()


@app.command("batch")
def batch_command(
    manifest: Annotated[
        Path,
        typer.Argument(
            help="CSV (header row) or JSONL: start, end, prompt, and any option of the create call by its field name; "
            "frame paths relative to the manifest's folder",
            show_default=False,
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan and the total estimate; send nothing")
    ] = False,
    max_in_flight: Annotated[
        int | None,
        typer.Option(
            "--max-in-flight",
            min=1,
            help="Most tasks open at once (default: the account's concurrency_limit from the credits call, else 5)",
        ),
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Follow every job to the end and save each video")] = False,
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the videos with --wait")] = Path("."),
    auto_fit: Annotated[
        bool, typer.Option("--auto-fit/--no-auto-fit", help="Fix frames the service would refuse")
    ] = False,
) -> None:
    """Plan and run many tasks from a manifest, each created exactly once (a rerun sends only what never was).

    Exit 0 when every job succeeded (without --wait: was created), 1 when some failed or were not sent, 2 when the
    manifest is invalid (line and column named), 3 when some outcome is unknown after reconciliation."""
    from . import batch
    from . import manifest as files
    from .client import ViduClient
    from .downloads import DownloadPolicy
    from .follower import Follower
    from .store import HISTORY_ERRORS, Store

    settings = load_settings()
    try:
        specs = files.read_manifest(manifest)
    except files.ManifestError as exc:
        fail(EXIT_INVALID, *(f"error: {line}" for line in exc.lines(lang())), text(lang(), "nothing_sent"))
    plan = batch.plan(
        batch.batch_id_for(str(manifest.resolve())),
        specs,
        name=manifest.name,
        max_pixels=settings.max_pixels,
        auto_fit=auto_fit,
    )
    show = typer.echo if dry_run else say  # the plan is a dry run's output; a run's is the JSON of its jobs
    for row in plan.rows(lang()):
        show(
            f"{row['job']:>4} {row['key']} {row['label']:10} {row['model'] or '':14} {row['estimate'] or '-':>6}  "
            f"{row['checks']}  {' '.join(row['prompt'].split())[:60]}"
        )
    show(plan.total_line(lang()))
    if dry_run:
        say(text(lang(), "batch_dry_run"))
        return
    with open_client(settings) as client:
        if max_in_flight is None:
            try:
                limits = [r.concurrency_limit for r in client.credits().remains if r.concurrency_limit]
            except ViduError:
                limits = []
            max_in_flight = min(limits) if limits else 5
    try:
        history = Store.open(settings)
    except HISTORY_ERRORS as exc:
        fail(EXIT_SERVICE, f"error: the history cannot be opened: {exc}")
    once = settings.model_copy(update={"create_retries": 0})  # a refusal is waited out by job, in batch.Runner
    batch.save_plan(history, plan)
    follower = Follower(settings, history, keep_videos=settings.keep_videos or wait).start()
    follower.resume()
    runner = batch.Runner(
        history,
        settings,
        plan.batch_id,
        lambda: ViduClient(once),
        max_in_flight=max_in_flight,
        auto_fit=auto_fit,
        on_event=say,
        lang=lang(),
    )
    say(text(lang(), "batch_running", jobs=len(plan.jobs), count=max_in_flight))
    try:
        statuses = runner.run(until="settled" if wait else "sent")
    finally:
        follower.stop()
    # A bucket's presigned link points at the operator's own storage (possibly on a private address).
    own = DownloadPolicy(
        settings.max_video_bytes, allow_http=True, allowed=frozenset({"public", "private", "loopback"})
    )
    saved = _save_batch_videos(statuses, output, follower.storage.link, own) if wait else {}
    rows = files.manifest_rows(statuses, saved)
    if wait:
        (output / "manifest.json").write_text(files.manifest_json(rows), encoding="utf-8")
        (output / "manifest.csv").write_text(files.manifest_csv(rows), encoding="utf-8")
    history.close()
    emit(rows)
    outcomes = [s.outcome for s in statuses]
    say(
        text(
            lang(),
            "batch_summary",
            success=outcomes.count("success"),
            failed=outcomes.count("failed") + outcomes.count("held"),
            unknown=outcomes.count("unknown") + outcomes.count("sending"),
            running=outcomes.count("running") + outcomes.count("waiting"),
        )
    )
    verdict = batch.exit_outcome(statuses)
    if verdict == "unknown":
        raise typer.Exit(EXIT_UNKNOWN)
    if verdict == "failed" or (wait and any(o != "success" for o in outcomes)):
        raise typer.Exit(EXIT_SERVICE)


def _save_batch_videos(
    statuses: list[Any], output: Path, link: Callable[[str], str | None], policy: "DownloadPolicy"
) -> dict[str, str]:
    """Copy each succeeded job's saved video into ``output``; returns the file names by job key."""
    import shutil

    import httpx

    from . import manifest as files
    from . import tracking
    from .downloads import DownloadRefused

    output.mkdir(parents=True, exist_ok=True)
    saved: dict[str, str] = {}
    for status in statuses:
        if status.outcome != "success":
            continue
        label = status.label or f"#{status.position + 1}"
        source = files.local_video(status, link)
        target = output / files.video_name(status)
        try:
            if isinstance(source, Path):
                shutil.copyfile(source, target)
            elif isinstance(source, str):
                tracking.download(source, target, policy)
            else:
                say(text(lang(), "batch_no_video", job=label, note="-"))
                continue
        except (httpx.HTTPError, OSError, DownloadRefused) as exc:
            say(text(lang(), "batch_no_video", job=label, note=str(exc)))
            continue
        saved[status.key] = target.name
        say(text(lang(), "batch_video", job=label, path=target))
    return saved


@app.command()
def models() -> None:
    """The model catalogue: durations, resolutions and which options apply."""
    for m in catalogue.MODELS:
        options = [name for name in ("movement_amplitude", "audio", "bgm") if getattr(m, name)]
        rules = "; ".join(
            f"{'/'.join(map(str, r.durations)) if len(r.durations) < 3 else m.describe_durations()} s: "
            f"{', '.join(r.choices)} (default {r.default})"
            for r in m.resolution_rules
        )
        typer.echo(f"{m.name:16} {rules}; options: {', '.join(options) or 'none'}  — {m.description}")


@app.command()
def simulator(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8765,
    api_key: Annotated[str, typer.Option(envvar="VIDU_SIM_KEY", help="The key it accepts")] = "sim-key",
    queue_seconds: Annotated[float, typer.Option(help="Seconds a task waits before processing")] = 1.0,
    process_seconds: Annotated[float, typer.Option(help="Seconds a task spends processing")] = 4.0,
    ids: Annotated[str, typer.Option(help="Task ids like: number (Vidu), task (new-api task_…), uuid")] = "number",
    extra_states: Annotated[
        bool, typer.Option("--extra-states", help="Report scheduling/preparation/canceled, as Vidu's other API")
    ] = False,
    page_tokens: Annotated[bool, typer.Option("--page-tokens", help="Opaque list page tokens")] = False,
    max_open: Annotated[
        int | None, typer.Option("--max-open", min=1, help="Refuse creates beyond N unfinished tasks with 429")
    ] = None,
) -> None:
    """Run the local Vidu-compatible simulator: no credits, no network. Ctrl-C stops it."""
    from pydantic import ValidationError

    from .simulator import Relay, Simulator, serve

    try:
        relay = Relay.model_validate(
            {"ids": ids, "extra_states": extra_states, "page_tokens": page_tokens, "max_open": max_open}
        )
    except ValidationError:
        fail(EXIT_INVALID, "error: --ids must be number, task or uuid")

    def ready(sim: Simulator) -> None:
        say(f"simulator listening on {sim.base_url}")
        say(f"use it with: VIDU_BASE_URL={sim.base_url} VIDU_API_KEY=<the key given with --api-key>")

    serve(
        host,
        port,
        api_key,
        queue_seconds=queue_seconds,
        process_seconds=process_seconds,
        relay=relay,
        on_ready=ready,
    )


def _print_version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback(invoke_without_command=False)
def main(
    ctx: typer.Context,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log each request (never the key)")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit")
    ] = False,
    language: Annotated[
        str | None, typer.Option("--lang", help="Messages in en or zh-CN (default: from LC_ALL/LANG)")
    ] = None,
) -> None:
    _CHOSEN.clear()
    if language:
        _CHOSEN["lang"] = cli_language(language)
        ctx.call_on_close(_CHOSEN.clear)
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )


def run(prog_name: str = "vidu-ui") -> None:
    """The ``vidu-ui`` console command (``python -m vidu_ui`` names itself)."""
    # Pydantic looks for plugins in every installed package's entry points when it builds its first model:
    # a tenth of a second of a command's start, for plugins a command line never uses.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    app(prog_name=prog_name)
