"""The Batch tab: build a plan from what people have, see its checks and total estimate, run it, collect the videos.

A thin layer over ``vidu_ui.batch``: the plans, keys, runs and cancels are the engine's; this module turns the
tab's inputs into ``JobSpec``s (``specs_for``, plain Python), and the engine's job rows into a table, a gallery
and a zip. Ways to build a plan, all × the chosen models × a number of seeds:

- **prompts**: one pair, several prompts (one per line); "loop" makes the end frame the start frame;
- **storyboard**: frames in order (by file name), shot *i* from frame *i* to frame *i+1*; "loop" adds a shot from
  the last frame back to the first;
- **pairs**: many pairs at once, matched by file name (``shot3_start.png`` with ``shot3_end.png``; also
  ``-first``/``-last``, ``_a``/``_b``), or else by order (1st with 2nd, 3rd with 4th…).

Prompts for storyboards and pairs: line *i* for shot *i* (the last line for the rest). The plan lives in the
tab's ``gr.State`` (its batch id, jobs and their keys); the batch id comes from the viewer and the plan's content,
so the same plan run again sends only what was never created. Runs use the server's key (a visitor's own key is
not held for a batch).

A row selected in the jobs table can be cancelled, retried or reused (the buttons stay disabled until then):
cancel and retry are the engine's (``batch.cancel_job``, ``batch.retry_job``: only what the service allows, and
never a second create of a job that may have a billable task), and a retried job is sent by the run that follows;
reuse fills the Studio form as History's "Reuse settings" does (``History.fill``).
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import gradio as gr
from gradio.utils import get_upload_folder

from .. import batch, manifest
from ..batch import JobSpec, JobStatus, NotNow
from ..catalogue import DEFAULT_MODEL, MODEL_NAMES
from ..client import ViduClient
from ..errors import ViduError
from ..follower import KeyOwner
from ..messages import Lang, render_error, say
from .access import Viewer
from .layout import I18N
from .runtime import Runtime

__all__ = ["MODES", "BatchTab", "Fill", "batch_tab", "pairs_by_name", "specs_for", "storyboard_pairs"]

MODES = ("prompts", "storyboard", "pairs")
MAX_SEEDS = 20
MAX_JOBS = 200
"""The largest plan the page builds (a manifest on the command line has no such bound)."""
TABLE_COLUMNS = ("job", "label", "model", "seed", "prompt", "estimate", "checks")
"""The plan table's columns; while running, the last one says each job's state and task id."""
Fill = Callable[[Mapping[str, Any], Sequence[str | None], Lang, str], tuple[Any, ...]]
"""Puts options and frames in the Studio form ("Reuse settings": ``History.fill``), saying the message given."""
_ROLE = re.compile(r"^(?P<stem>.*?)[-_ ]?(?P<role>start|end|first|last|a|b)$", re.IGNORECASE)
_FIRST = {"start", "first", "a"}


def _natural(path: str) -> list[Any]:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", Path(path).name)]


def storyboard_pairs(frames: Sequence[str], loop: bool = False) -> list[tuple[str, str]]:
    """Shot *i* from frame *i* to frame *i+1*, frames ordered by file name; ``loop``: and back to the first."""
    ordered = sorted(frames, key=_natural)
    shots = list(itertools.pairwise(ordered))
    if loop and len(ordered) > 1:
        shots.append((ordered[-1], ordered[0]))
    return shots


def pairs_by_name(files: Sequence[str]) -> list[tuple[str, str]]:
    """Pairs matched by name (``shot3_start``/``shot3_end``…) when every file has a partner, else by order."""
    found: dict[str, dict[str, str]] = {}
    for path in files:
        match = _ROLE.match(Path(path).stem)
        if match is None:
            break
        role = "start" if match["role"].lower() in _FIRST else "end"
        found.setdefault(match["stem"].lower(), {})[role] = path
    else:
        if found and all(len(roles) == 2 for roles in found.values()):
            return [(found[k]["start"], found[k]["end"]) for k in sorted(found, key=_natural)]
    return [(files[i], files[i + 1]) for i in range(0, len(files) - 1, 2)]


def specs_for(
    mode: str,
    *,
    start: str | None,
    end: str | None,
    files: Sequence[str],
    prompts: Sequence[str],
    models: Sequence[str],
    seeds: int,
    first_seed: int,
    loop: bool,
) -> list[JobSpec]:
    """The jobs the tab's inputs describe (module docstring); raises ``ValueError`` with a message key."""
    lines = [p.strip() for p in prompts if p.strip()]
    if not lines:
        raise ValueError("batch_need_prompt")
    if not models:
        raise ValueError("batch_need_model")
    if mode == "prompts":
        if not start or not (end or loop):
            raise ValueError("batch_need_pair")
        shots = [((start, start if loop else end or start), prompt) for prompt in lines]
    else:
        pairs = storyboard_pairs(files, loop) if mode == "storyboard" else pairs_by_name(files)
        if not pairs:
            raise ValueError("batch_need_files")
        shots = [(pair, lines[min(i, len(lines) - 1)]) for i, pair in enumerate(pairs)]
    count = max(1, min(int(seeds), MAX_SEEDS))
    specs = [
        JobSpec(pair[0], pair[1], {"prompt": prompt, "model": model, "seed": first_seed + n}, f"shot {i + 1}")
        for i, (pair, prompt) in enumerate(shots)
        for model in models
        for n in range(count)
    ]
    if len(specs) > MAX_JOBS:
        raise ValueError("batch_too_many")
    return specs


def _paths(value: Any) -> list[str]:
    if not value:
        return []
    items = value if isinstance(value, list) else [value]
    return [str(getattr(item, "path", None) or getattr(item, "name", None) or item) for item in items]


class BatchTab:
    """The tab's handlers over one runtime (its store, follower and video stage). Holds no per-user state."""

    def __init__(self, runtime: Runtime, fill: Fill) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self._fill = fill

    # --- plan ------------------------------------------------------------------------------------------------

    def plan(
        self,
        mode: str,
        start: str | None,
        end: str | None,
        loop: bool,
        prompts: str,
        seeds: float | None,
        first_seed: float | None,
        models: list[str] | None,
        files: Any,
        request: gr.Request,
    ) -> tuple[Any, ...]:
        """Build the plan: one row per job with its checks, and the total estimate. Nothing is sent; no job is
        selected."""
        viewer = Viewer.of(self.settings, request)
        try:
            specs = specs_for(
                mode,
                start=start,
                end=end,
                files=_paths(files),
                prompts=(prompts or "").splitlines(),
                models=models or [],
                seeds=int(seeds or 1),
                first_seed=int(first_seed or 0),
                loop=bool(loop),
            )
        except ValueError as exc:
            raise gr.Error(say(viewer.lang, str(exc), limit=MAX_JOBS), print_exception=False) from None
        identity = repr((viewer.user, [dataclasses.astuple(s) for s in specs]))
        plan = batch.plan(batch.batch_id_for(identity), specs, name="page", max_pixels=self.settings.max_pixels)
        state = {
            "batch_id": plan.batch_id,
            "specs": [dataclasses.asdict(s) for s in specs],
            "keys": [job.key for job in plan.jobs],
        }
        off = gr.update(interactive=False)
        picked = say(viewer.lang, "batch_pick")
        return state, self._table(plan.rows(viewer.lang)), plan.total_line(viewer.lang), None, picked, off, off, off

    def _saved(self, state: dict[str, Any] | None, viewer: Viewer) -> batch.Plan:
        """The tab's plan, saved in the store (as it was, when it was already): what a run and a job's action
        need. Batches use the server's key."""
        if not state or not state.get("specs"):
            raise gr.Error(say(viewer.lang, "batch_plan_first"), print_exception=False)
        if self.settings.api_key is None:
            raise gr.Error(say(viewer.lang, "batch_server_key"), print_exception=False)
        specs = [JobSpec(**s) for s in state["specs"]]
        plan = batch.plan(state["batch_id"], specs, name="page", max_pixels=self.settings.max_pixels)
        batch.save_plan(self.runtime.store, plan, user=viewer.user)
        return plan

    @staticmethod
    def _table(rows: list[dict[str, Any]]) -> list[list[Any]]:
        return [["" if row[c] is None else row[c] for c in TABLE_COLUMNS] for row in rows]

    # --- run -------------------------------------------------------------------------------------------------

    def run(self, state: dict[str, Any] | None, request: gr.Request) -> Iterator[tuple[Any, ...]]:
        """Save the plan and send its jobs (at most the account's concurrency open at once); the gallery fills as
        jobs finish. The run is the engine's; closing the page stops sending, and running the plan again goes
        on from where it stopped."""
        viewer = Viewer.of(self.settings, request)
        lang = viewer.lang
        plan = self._saved(state, viewer)
        store = self.runtime.store
        once = self.settings.model_copy(update={"create_retries": 0})
        stop, changed = threading.Event(), threading.Event()

        def wake(_ref: str) -> None:
            changed.set()

        def start() -> tuple[threading.Thread, set[str]]:
            """A runner sending the plan's unsent jobs, and the jobs that were waiting when it began."""
            waiting = {s.key for s in batch.job_statuses(store, plan.batch_id) if s.outcome == "waiting"}
            runner = batch.Runner(
                store,
                self.settings,
                plan.batch_id,
                lambda: ViduClient(once),
                max_in_flight=self._max_in_flight(),
                user=viewer.user,
                lang=lang,
            )
            thread = threading.Thread(
                target=runner.run, kwargs={"until": "settled", "stop": stop}, name="vidu-batch", daemon=True
            )
            thread.start()
            return thread, waiting

        store.on_change(wake)
        worker, waiting = start()
        deadline: float | None = None
        try:
            while True:
                changed.clear()
                statuses = batch.job_statuses(store, plan.batch_id)
                shown = self._progress(statuses, lang)
                yield shown
                if not worker.is_alive():
                    if any(s.outcome == "waiting" and s.key not in waiting for s in statuses):
                        # A job retried while this run went on, after its runner had passed it: sent in this run
                        # (a job that was waiting when the runner began and is still waiting, it chose not to send).
                        worker, waiting = start()
                        deadline = None
                        continue
                    # The runner has stopped; what it settled last may have come after the statuses just shown
                    # (read them again), and the follower may still be saving the last videos.
                    deadline = deadline or time.monotonic() + self.settings.poll_max_wait + 120
                    if self._all_shown(statuses, shown[0]) or time.monotonic() > deadline:
                        return
                changed.wait(1.0)
        finally:
            stop.set()
            store.off_change(wake)

    @staticmethod
    def _all_shown(statuses: list[JobStatus], gallery: list[Any]) -> bool:
        """Every job is settled (ended, its video saved), and every succeeded one's video is in the gallery."""
        return all(s.settled for s in statuses) and len(gallery) == sum(s.outcome == "success" for s in statuses)

    def _max_in_flight(self) -> int:
        """The account's ``concurrency_limit`` when the credits call says it, else 5."""
        try:
            with ViduClient(self.settings) as client:
                limits = [r.concurrency_limit for r in client.credits().remains if r.concurrency_limit]
        except ViduError:
            limits = []
        return min(limits) if limits else 5

    def _progress(self, statuses: list[JobStatus], lang: Lang) -> tuple[Any, ...]:
        gallery = []
        for status in statuses:
            video = manifest.local_video(status, self.runtime.tracker.storage.link)
            if video is None:
                continue
            shown = self.runtime.stage.publish(video) if isinstance(video, Path) else video
            if shown:
                prompt = " ".join(str(status.options.get("prompt") or "").split())[:50]
                gallery.append((shown, f"{status.position + 1}. {prompt} · seed {status.options.get('seed')}"))
        rows = [
            [status.position + 1, status.label, status.options.get("model"), status.options.get("seed"),
             status.options.get("prompt"), "" if status.estimate is None else f"{status.estimate:g}",
             " · ".join(filter(None, (say(lang, f"batch_outcome_{status.outcome}"), status.task_id, status.note)))]
            for status in statuses
        ]  # fmt: skip
        outcomes = [s.outcome for s in statuses]
        summary = say(
            lang,
            "batch_summary",
            success=outcomes.count("success"),
            failed=outcomes.count("failed") + outcomes.count("held"),
            unknown=outcomes.count("unknown") + outcomes.count("sending"),
            running=outcomes.count("running") + outcomes.count("waiting"),
        )
        return gallery, rows, summary

    # --- one job: select, cancel, retry, reuse ------------------------------------------------------------------

    def select(self, state: dict[str, Any] | None, request: gr.Request, evt: gr.SelectData) -> tuple[Any, ...]:
        """A clicked row: its job's key (kept in the tab's state), a line saying which job and where it stands,
        and Cancel job, Retry job and Reuse settings enabled."""
        lang = Viewer.of(self.settings, request).lang
        row = evt.row_value if isinstance(evt.row_value, list) else []
        keys = (state or {}).get("keys") or []
        try:
            position = int(row[0]) - 1
            key = keys[position] if position >= 0 else None
        except (IndexError, TypeError, ValueError):
            key = None
        if key is None:
            off = gr.update(interactive=False)
            return None, say(lang, "batch_pick"), off, off, off
        try:
            outcome = batch.job_status(self.runtime.store, state["batch_id"], key).outcome if state else "waiting"
        except KeyError:  # not saved yet: nothing was sent
            outcome = "waiting"
        line = say(lang, "batch_selected", job=position + 1, state=say(lang, f"batch_outcome_{outcome}"))
        on = gr.update(interactive=True)
        return key, line, on, on, on

    def cancel_job(self, state: dict[str, Any] | None, key: str | None, request: gr.Request) -> None:
        """Cancel the selected job as far as the service allows (``batch.cancel_job``). Outputs nothing: a refusal
        is a message, not an error on the table (``show`` follows a success)."""
        viewer = Viewer.of(self.settings, request)
        plan = self._saved(state, viewer)
        status = self._status(plan, key, viewer.lang)
        tracker = self.runtime.tracker
        try:
            done = batch.cancel_job(
                self.runtime.store, plan.batch_id, status.key, lambda t: tracker.cancel(t, KeyOwner.server())
            )
        except NotNow as exc:
            raise gr.Error(exc.message(viewer.lang), print_exception=False) from None
        except ViduError as exc:
            _title, happened, _advice = render_error(exc, viewer.lang)
            message = f"{say(viewer.lang, 'cancel_refused', task_id=status.task_id)}: {happened}"
            raise gr.Error(message, print_exception=False) from None
        job = status.label or f"#{status.position + 1}"
        if done == "dropped":
            gr.Info(say(viewer.lang, "batch_job_dropped", job=job))
        else:
            gr.Info(say(viewer.lang, "batch_job_cancel_asked", job=job, task_id=status.task_id))

    def retry_job(self, state: dict[str, Any] | None, key: str | None, request: gr.Request) -> None:
        """Let the selected job be sent again (``batch.retry_job``: only never created or definitely failed); the
        run that follows a success sends it."""
        viewer = Viewer.of(self.settings, request)
        plan = self._saved(state, viewer)
        status = self._status(plan, key, viewer.lang)
        try:
            batch.retry_job(self.runtime.store, plan.batch_id, status.key)
        except NotNow as exc:
            raise gr.Error(exc.message(viewer.lang), print_exception=False) from None
        gr.Info(say(viewer.lang, "batch_job_retried", job=status.label or f"#{status.position + 1}"))

    def show(self, state: dict[str, Any] | None, request: gr.Request) -> tuple[Any, ...]:
        """The gallery, the table and the summary as the store has them now."""
        lang = Viewer.of(self.settings, request).lang
        if not state:
            return gr.skip(), gr.skip(), gr.skip()
        return self._progress(batch.job_statuses(self.runtime.store, state["batch_id"]), lang)

    def reuse(self, state: dict[str, Any] | None, key: str | None, request: gr.Request) -> tuple[Any, ...]:
        """The selected job's settings and frames in the Studio form, as History's "Reuse settings" puts a
        task's."""
        lang = Viewer.of(self.settings, request).lang
        keys = (state or {}).get("keys") or []
        if not state or key not in keys:
            raise gr.Error(say(lang, "batch_pick"), print_exception=False)
        position = keys.index(key)
        spec = JobSpec(**state["specs"][position])
        return self._fill(spec.options, (spec.start, spec.end), lang, say(lang, "batch_reuse_done", job=position + 1))

    def _status(self, plan: batch.Plan, key: str | None, lang: Lang) -> JobStatus:
        """The selected job of the tab's own plan (a key from elsewhere is not one of its jobs)."""
        try:
            if key is None:
                raise KeyError(key)
            return batch.job_status(self.runtime.store, plan.batch_id, key)
        except KeyError:
            raise gr.Error(say(lang, "batch_pick"), print_exception=False) from None

    # --- cancel and download -----------------------------------------------------------------------------------

    def cancel(self, state: dict[str, Any] | None, request: gr.Request) -> str:
        """Cancel all: jobs not sent are held, unfinished tasks are asked to cancel."""
        lang = Viewer.of(self.settings, request).lang
        if not state:
            raise gr.Error(say(lang, "batch_plan_first"), print_exception=False)
        tracker = self.runtime.tracker
        asked = batch.cancel_batch(
            self.runtime.store, state["batch_id"], lambda t: tracker.cancel(t, KeyOwner.server())
        )
        return say(lang, "batch_cancelled", count=asked)

    def download(self, state: dict[str, Any] | None, request: gr.Request) -> str:
        """A zip of the saved videos with ``manifest.json`` and ``manifest.csv`` (every job's settings, task id,
        state, credits and file name)."""
        lang = Viewer.of(self.settings, request).lang
        if not state:
            raise gr.Error(say(lang, "batch_plan_first"), print_exception=False)
        statuses = batch.job_statuses(self.runtime.store, state["batch_id"])
        folder = Path(tempfile.mkdtemp(prefix="vidu-batch-", dir=get_upload_folder()))
        target = folder / f"batch-{state['batch_id']}.zip"
        files: dict[str, str] = {}
        with zipfile.ZipFile(target, "w") as archive:
            for status in statuses:
                video = manifest.local_video(status)
                if isinstance(video, Path):
                    name = manifest.video_name(status)
                    archive.write(video, name, compress_type=zipfile.ZIP_STORED)  # MP4 is compressed already
                    files[status.key] = name
            rows = manifest.manifest_rows(statuses, files)
            archive.writestr("manifest.json", manifest.manifest_json(rows), compress_type=zipfile.ZIP_DEFLATED)
            archive.writestr("manifest.csv", manifest.manifest_csv(rows), compress_type=zipfile.ZIP_DEFLATED)
        return str(target)


def batch_tab() -> dict[str, Any]:
    """The tab's inputs, plan table, and results."""
    c: dict[str, Any] = {}
    with gr.Row(equal_height=False):
        with gr.Column(scale=5, min_width=380):
            c["mode"] = gr.Radio(
                [(I18N(f"batch_mode_{m}"), m) for m in MODES], value="prompts", label=I18N("batch_mode"),
                elem_id="vu-batch-mode",
            )  # fmt: skip
            with gr.Row():
                c["start"] = gr.Image(type="filepath", label=I18N("start_frame"), height=160, elem_id="vu-batch-start")
                c["end"] = gr.Image(type="filepath", label=I18N("end_frame"), height=160, elem_id="vu-batch-end")
            c["files"] = gr.File(
                file_count="multiple", file_types=["image"], label=I18N("batch_files"), elem_id="vu-batch-files"
            )
            c["loop"] = gr.Checkbox(label=I18N("batch_loop"), info=I18N("batch_loop_info"), elem_id="vu-batch-loop")
        with gr.Column(scale=5, min_width=380):
            c["prompts"] = gr.Textbox(
                lines=5, label=I18N("batch_prompts"), info=I18N("batch_prompts_info"), elem_id="vu-batch-prompts"
            )
            c["models"] = gr.CheckboxGroup(
                list(MODEL_NAMES), value=[DEFAULT_MODEL], label=I18N("batch_models"), elem_id="vu-batch-models"
            )
            with gr.Row():
                c["seeds"] = gr.Number(
                    1, precision=0, minimum=1, maximum=MAX_SEEDS, label=I18N("batch_seeds"), elem_id="vu-batch-seeds"
                )
                c["first_seed"] = gr.Number(
                    1, precision=0, minimum=0, label=I18N("batch_first_seed"), elem_id="vu-batch-first-seed"
                )
            c["plan"] = gr.Button(I18N("batch_plan"), elem_id="vu-batch-plan")
    c["total"] = gr.Markdown(elem_id="vu-batch-total")
    c["table"] = gr.Dataframe(
        headers=[say("en", f"batch_col_{name}") for name in TABLE_COLUMNS],
        datatype="str",
        interactive=False,
        wrap=True,
        max_height=360,
        label=I18N("batch_jobs"),
        elem_id="vu-batch-table",
    )
    with gr.Row(equal_height=True):
        c["selected_text"] = gr.Markdown(I18N("batch_pick"), elem_id="vu-batch-selected")
        # Enabled once a row is selected (``BatchTab.select``): never a button that does nothing.
        c["cancel_job"] = gr.Button(I18N("batch_cancel_job"), interactive=False, elem_id="vu-batch-cancel-job")
        c["retry_job"] = gr.Button(I18N("batch_retry_job"), interactive=False, elem_id="vu-batch-retry-job")
        c["reuse_job"] = gr.Button(I18N("batch_reuse_job"), interactive=False, elem_id="vu-batch-reuse-job")
    with gr.Row():
        c["run"] = gr.Button(I18N("batch_run"), variant="primary", elem_id="vu-batch-run")
        c["cancel"] = gr.Button(I18N("batch_cancel"), variant="stop", elem_id="vu-batch-cancel")
        c["zip"] = gr.Button(I18N("batch_download"), elem_id="vu-batch-zip")
    c["summary"] = gr.Markdown(elem_id="vu-batch-summary")
    c["gallery"] = gr.Gallery(label=I18N("batch_results"), columns=3, height="auto", elem_id="vu-batch-gallery")
    c["archive"] = gr.File(label=I18N("batch_archive"), interactive=False, elem_id="vu-batch-archive")
    return c


def wire(tab: BatchTab, c: dict[str, Any], state: gr.State, reuse_outputs: Sequence[Any]) -> None:
    """The tab's events: plan, run (a generator: the gallery fills as jobs finish), a selected job's cancel, retry
    (then a run that sends it) and reuse (into ``reuse_outputs``: the form's fields, then the tabs), cancel all,
    download."""
    waits: dict[str, Any] = {"concurrency_limit": None, "api_visibility": "private"}
    selected = gr.State(None)
    buttons = [c["cancel_job"], c["retry_job"], c["reuse_job"]]
    inputs = [c[n] for n in ("mode", "start", "end", "loop", "prompts", "seeds", "first_seed", "models", "files")]
    c["plan"].click(tab.plan, inputs, [state, c["table"], c["total"], selected, c["selected_text"], *buttons], **waits)
    progress = [c["gallery"], c["table"], c["summary"]]
    c["run"].click(tab.run, state, progress, trigger_mode="once", **waits)
    c["table"].select(tab.select, state, [selected, c["selected_text"], *buttons], show_progress="hidden", **waits)
    c["cancel_job"].click(tab.cancel_job, [state, selected], None, **waits).success(tab.show, state, progress, **waits)
    # A retry's run waits for a run still showing the last retry (Gradio's default, "once", dropped it: the job
    # retried stayed unsent).
    retried = c["retry_job"].click(tab.retry_job, [state, selected], None, **waits)
    retried.success(tab.run, state, progress, trigger_mode="always_last", **waits)
    c["reuse_job"].click(tab.reuse, [state, selected], list(reuse_outputs), **waits)
    c["cancel"].click(tab.cancel, state, c["summary"], **waits)
    c["zip"].click(tab.download, state, c["archive"], **waits)
